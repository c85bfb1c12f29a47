#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/ from files already in the repository (the apksig
test APKs and hand-written handoff links). The fuzzers add what they find beside the seeds;
every file is replayed by the stable test `fuzz_targets::replay`. Frames and result links
captured from `smartpos demo --frames FILE` are added when FILE is given:
    python3 fuzz/make_seeds.py [FRAMES.jsonl]"""
import io
import json
import pathlib
import struct
import sys
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent
CORPUS = ROOT / "corpus"
APKS = ROOT.parent / "tests" / "data" / "apksig-corpus"
PICK = ["v2-only-empty.apk", "v1-only-empty.apk", "v2-only-with-rsa-pkcs1-sha256-2048.apk",
        "v2-only-truncated-cd.apk", "v2-only-garbage-between-cd-and-eocd.apk",
        "unsigned-targetSandboxVersion-2.apk", "v2-only-apk-sig-block-size-mismatch.apk"]


def put(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def signing_block(apk):
    eocd = apk.rfind(b"PK\x05\x06")
    cd = struct.unpack_from("<I", apk, eocd + 16)[0]
    if apk[cd - 16:cd] != b"APK Sig Block 42":
        return None
    size = struct.unpack_from("<Q", apk, cd - 24)[0]
    return apk[cd - size - 8:cd]


for name in PICK:
    apk = (APKS / name).read_bytes()
    stem = name[:-4]
    put("apk_zip", stem, apk)
    block = signing_block(apk)
    if block:
        put("signing_block", stem, block)
    try:
        put("binary_manifest", stem, zipfile.ZipFile(io.BytesIO(apk)).read("AndroidManifest.xml"))
    except Exception:
        pass

LINKS = {
    "sale": "smartpos://pay/v1?v=1&type=sale&amount=1234&currency=CNY&order=A1&nonce=0123456789abcdef&expires=1700000100&callback=shop%3A%2F%2Fdone",
    "void": "smartpos://pay/v1?v=1&type=void&order=A2&orig_ref=000000000001&nonce=0123456789abcdeg&expires=1700000100&callback=shop%3A%2F%2Fdone",
    "qr-refund": "smartpos://pay/v1?v=1&type=refund&amount=5&currency=CNY&order=A3&orig_ref=QT00000000000001&nonce=0123456789abcdeh&expires=1700000100&callback=shop%3A%2F%2Fdone",
    "extension": "smartpos://pay/v1?v=1&type=query&order=A4&x-shop-note=%E5%92%96&nonce=0123456789abcdei&expires=1700000100&callback=shop%3A%2F%2Fdone",
    "bad-percent": "smartpos://pay/v1?v=1&type=sale&amount=1%2&currency=CNY",
    "intent-extras": "v=1\ntype=balance\norder=B1\nnonce=0123456789abcdef\nexpires=1700000100",
}
for k, v in LINKS.items():
    put("handoff_request", k, v.encode())

if len(sys.argv) > 1:
    for i, line in enumerate(pathlib.Path(sys.argv[1]).read_text().splitlines()):
        frame = json.loads(line)
        put("iso8583_frame", f"demo-{i}-{frame['dir']}", bytes.fromhex(frame["hex"]))
put("iso8583_frame", "empty", b"")
put("iso8583_frame", "tpdu-only", bytes.fromhex("6000030000"))
SIGNED = ("shop://paid?v=1&code=APPROVED&status=approved&request_hash=" + "a" * 64 +
          "&caller=com.example.merchant&order=K-1&type=sale&amount=1234&currency=CNY"
          "&masked_pan=622202%2A%2A%2A%2A%2A%2A%2A%2A%2A0123&auth_code=015838&reference=000000000002"
          "&trace=000002&batch=000001&terminal_id=10000001&merchant_id=898310048990001&time=1795385147"
          "&message=approved&host_code=00&balance=&method=card&wallet=&sig=7e80637e8c4a8f2dd3303fb03c"
          "07530bf0b4c51b117483f4031d26acb1ca66de1d792575a65c8367fdeddca7f6485b3a577ec095093f44e9ec7a6"
          "fd9d152bd07")
put("result_link", "signed-approved", SIGNED.encode())
put("result_link", "empty-query", b"shop://done?v=1&code=APPROVED")
put("result_link", "extras", b"v=1\ncode=DECLINED\nsig=00")
print("seeds written to", CORPUS)

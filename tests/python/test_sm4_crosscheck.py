"""The SM4 acquirer profile, checked by independent code: the host simulator and the terminal
both run on a profile with `key_algorithm: sm4`; pyiso8583 decodes every frame with a CUP spec
whose F52 is 16 bytes; gmssl (PyPI, an independent SM4) unwraps the working keys from each
0810's F62 under the documented test master key and checks their SM4 check values, recomputes
every F64 with the UnionPay ECB MAC on 16-byte blocks, and decrypts every F52 to the 16-byte
ANSI X9.8 block built here from the test PIN and card number."""

import copy
import json
import subprocess

import iso8583
from gmssl import sm4

from cup_spec import CUP_SPEC
from test_pyiso8583_crosscheck import normalise_ours

TEST_TMK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
TEST_PIN = "123456"  # the standard test cards' PIN (sdk-docs: simulator test cards)

SM4_SPEC = copy.deepcopy(CUP_SPEC)
SM4_SPEC["52"]["max_len"] = 16

PROFILE = {
    "name": "SM4 acquirer (test)",
    "tpdu_hex": "6000030000",
    "header_hex": "603100311001",
    "key_layout": "double",
    "mac_key_use": "full",
    "key_algorithm": "sm4",
    "pin_block": "with_pan",
    "acquirer_id": "48020000",
}


def sm4_ecb(key, data, encrypt):
    mode = sm4.SM4_ENCRYPT if encrypt else sm4.SM4_DECRYPT
    c = sm4.CryptSM4(mode, padding_mode=-1)  # neither PKCS7 nor zero padding: whole blocks
    c.set_key(key, mode)
    assert len(data) % 16 == 0
    return c.crypt_ecb(data)


def xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


def sm4_cup_mac(key, mab):
    mab = mab + b"\x00" * (-len(mab) % 16)
    acc = bytes(16)
    for i in range(0, len(mab), 16):
        acc = xor(acc, mab[i:i + 16])
    h = acc.hex().upper().encode()
    left = xor(sm4_ecb(key, h[:16], True), h[16:])
    return sm4_ecb(key, left, True).hex().upper()[:8].encode()


def pin_block_16(pin, pan):
    pin_field = ("0%X%s" % (len(pin), pin)).ljust(32, "F")
    pan_field = pan[-13:-1].rjust(32, "0")
    return xor(bytes.fromhex(pin_field), bytes.fromhex(pan_field))


def test_sm4_profile_frames_decode_and_every_mac_and_pin_block_checks_out(smartpos_bin, tmp_path):
    profile = tmp_path / "sm4.json"
    profile.write_text(json.dumps(PROFILE))
    frames = tmp_path / "frames.jsonl"
    state = tmp_path / "host"
    host = subprocess.Popen([smartpos_bin, "host-sim", "--bind", "127.0.0.1:0", "--state", str(state),
                             "--frames", str(frames), "--profile", str(profile)],
                            stdout=subprocess.PIPE, text=True)
    try:
        url = host.stdout.readline().split("listening on ")[1].strip()
        term = [smartpos_bin, "terminal", "--data-dir", str(tmp_path / "t"), "--host", url,
                "--ca", str(state / "ca.pem"), "--profile", str(profile)]

        def run(*args):
            p = subprocess.run(term + list(args), capture_output=True, text=True, timeout=60)
            assert p.returncode == 0, (args, p.stdout, p.stderr)
            return json.loads(p.stdout) if "--json" in args else p.stdout

        ref = run("sale", "--amount", "12.34", "--order", "S-1", "--json")["reference"]
        run("void", "--orig-ref", ref, "--order", "S-1-void")
        run("balance", "--order", "S-B", "--json")
        run("sale", "--amount", "8.00", "--order", "S-2")
        run("settle")
    finally:
        host.terminate()
        host.wait(timeout=10)

    keys = None
    macs = pins = 0
    mtis = set()
    for rec in (json.loads(line) for line in frames.read_text().splitlines()):
        frame = bytes.fromhex(rec["hex"])
        assert int.from_bytes(frame[:2], "big") == len(frame) - 2
        doc, _ = iso8583.decode(frame[2:], SM4_SPEC)
        fields = {k: v for k, v in doc.items() if k not in ("h", "t", "p")}
        mine = json.loads(subprocess.run(
            [smartpos_bin, "iso8583", "decode", "--unmasked", "--profile", str(profile), rec["hex"]],
            check=True, capture_output=True, text=True).stdout)
        assert set(fields) == set(mine["fields"]), (doc["t"], set(fields) ^ set(mine["fields"]))
        for n, v in mine["fields"].items():
            assert fields[n] == normalise_ours(n, v), (doc["t"], n)
        mtis.add(doc["t"])
        if doc["t"] == "0810" and fields["39"] == "00" and fields["60"][8:11] in ("001", "003", "004"):
            f62 = bytes.fromhex(fields["62"])
            pin_key = sm4_ecb(TEST_TMK, f62[0:16], False)
            mac_key = sm4_ecb(TEST_TMK, f62[20:36], False)
            assert sm4_ecb(pin_key, bytes(16), True)[:4] == f62[16:20], "PIN key SM4 check value"
            assert sm4_ecb(mac_key, bytes(16), True)[:4] == f62[36:40], "MAC key SM4 check value"
            keys = (pin_key, mac_key)
        if "64" in fields:
            assert keys is not None
            assert sm4_cup_mac(keys[1], frame[13:-8]) == bytes.fromhex(fields["64"]), (doc["t"], "MAC")
            macs += 1
        if "52" in fields:
            block = bytes.fromhex(fields["52"])
            assert len(block) == 16
            assert fields["53"] == "2400000000000000"
            assert sm4_ecb(keys[0], block, False) == pin_block_16(TEST_PIN, fields["2"]), "PIN block"
            pins += 1
    assert {"0800", "0810", "0200", "0210", "0500", "0510"} <= mtis, mtis
    assert pins == 3, "two sales and the inquiry carry PIN blocks"
    assert macs >= 10

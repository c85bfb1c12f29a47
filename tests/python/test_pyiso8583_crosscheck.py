"""The terminal's and simulator's frames, decoded by pyiso8583 with an independent CUP spec,
give the same fields as smartpos' own decoder."""

import json
import subprocess

import iso8583

from cup_spec import CUP_SPEC

TEXT_BCD = {"2", "3", "4", "11", "12", "13", "14", "15", "22", "23", "25", "26", "32", "48", "53", "60", "61"}


def peer_decode(frame: bytes):
    assert int.from_bytes(frame[:2], "big") == len(frame) - 2, "length prefix"
    doc, _ = iso8583.decode(frame[2:], CUP_SPEC)
    fields = {k: v for k, v in doc.items() if k not in ("h", "t", "p")}
    return doc["h"], doc["t"], fields


def ours(smartpos_bin, frame_hex):
    out = subprocess.run([smartpos_bin, "iso8583", "decode", "--unmasked", frame_hex],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def normalise_ours(n, v):
    if n in ("35", "36"):
        return v.replace("=", "D")
    if n in ("52", "55", "62", "64"):
        return v  # already hex
    return v


# 60.3 of the EMV parameter downloads that follow a first sign-in (list, fetch, end).
DOWNLOAD_CODES = {"372", "370", "371", "382", "380", "381"}


def test_every_demo_frame_decodes_identically(smartpos_bin, demo_frames):
    mtis = []
    codes = []
    for rec in demo_frames:
        frame = bytes.fromhex(rec["hex"])
        header, mti, peer_fields = peer_decode(frame)
        mine = ours(smartpos_bin, rec["hex"])
        assert header == mine["tpdu"] + mine["header"]
        assert mti == mine["mti"]
        mtis.append(mti)
        assert set(peer_fields) == set(mine["fields"]), (mti, set(peer_fields) ^ set(mine["fields"]))
        for n, v in mine["fields"].items():
            assert peer_fields[n] == normalise_ours(n, v), (mti, n, peer_fields[n], v)
        codes.append(peer_fields["60"][8:11])
    # Sign-in, then the EMV parameter downloads (request and answer each), then the sale.
    assert mtis[:2] == ["0800", "0810"] and mtis[-2:] == ["0200", "0210"], mtis
    assert len(mtis) > 4 and set(codes[2:-2]) <= DOWNLOAD_CODES, codes
    assert set(mtis[2:-2]) == {"0820", "0830", "0800", "0810"}, mtis


def test_sale_request_carries_the_cup_essentials(demo_frames):
    sale = bytes.fromhex(demo_frames[-2]["hex"])
    _, mti, f = peer_decode(sale)
    assert mti == "0200"
    assert f["3"] == "000000" and f["4"] == "000000001234" and f["49"] == "156"
    assert f["22"] == "021", "magstripe with PIN, left-aligned"
    assert f["53"] == "2600000000000000"
    assert f["60"].startswith("22"), "60.1 = 22 sale"
    assert len(bytes.fromhex(f["52"])) == 8 and len(bytes.fromhex(f["64"])) == 8


def test_codec_bench_peer_reproduces_real_frames(demo_frames):
    """The peer timed by `smartpos bench --codec` must do the same work: decode and re-encode
    the terminal's sale frames byte for byte."""
    import bench_pyiso8583
    req, resp = (bytes.fromhex(r["hex"]) for r in demo_frames[-2:])
    a_raw, z_raw = bench_pyiso8583.one_pair(req, resp)
    assert bytes(a_raw) == req[2:]
    assert bytes(z_raw) == resp[2:]

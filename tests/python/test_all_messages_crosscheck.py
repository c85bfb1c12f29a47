"""Every message type the terminal sends and the simulator answers (sign-in, sale, void, refund,
reversal, settlement), decoded field for field by pyiso8583 with the independent CUP spec, and
every MAC checked by an independent implementation: the MAC key is taken from each 0810's F62,
decrypted under the simulator's documented test master key with psec."""

import json
import subprocess

import psec
from pyemv import tools

from cup_spec import CUP_SPEC
from test_pyiso8583_crosscheck import TEXT_BCD, normalise_ours, ours, peer_decode  # noqa: F401

TEST_TMK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")


def cup_mac(key, mab):
    mab = mab + b"\x00" * (-len(mab) % 8)
    acc = bytes(8)
    for i in range(0, len(mab), 8):
        acc = tools.xor(acc, mab[i:i + 8])
    h = acc.hex().upper().encode()
    left = tools.xor(psec.des.encrypt_tdes_ecb(key, h[:8]), h[8:])
    return psec.des.encrypt_tdes_ecb(key, left).hex().upper()[:8].encode()


def test_every_message_type_decodes_and_every_mac_verifies(smartpos_bin, tmp_path):
    frames = tmp_path / "frames.jsonl"
    state = tmp_path / "host"
    # Financial requests in order: sale, sale, void, refund, pre-auth, completion, completion void,
    # balance inquiry, sale (its answer lost), reversal, settlement.
    host = subprocess.Popen([smartpos_bin, "host-sim", "--bind", "127.0.0.1:0", "--state", str(state),
                             "--frames", str(frames), "--faults", "none,none,none,none,none,none,none,none,drop-after-commit"],
                            stdout=subprocess.PIPE, text=True)
    try:
        url = host.stdout.readline().split("listening on ")[1].strip()
        term = [smartpos_bin, "terminal", "--data-dir", str(tmp_path / "t"), "--host", url,
                "--ca", str(state / "ca.pem")]

        def run(*args, ok=True):
            p = subprocess.run(term + list(args), capture_output=True, text=True, timeout=60)
            if ok:
                assert p.returncode == 0, (args, p.stdout, p.stderr)
            return p.stdout

        ref1 = json.loads(run("sale", "--amount", "12.34", "--order", "M-1", "--json"))["reference"]
        ref2 = json.loads(run("sale", "--amount", "20.00", "--order", "M-2", "--json"))["reference"]
        run("void", "--orig-ref", ref1, "--order", "M-1-void")
        run("refund", "--orig-ref", ref2, "--amount", "5.00", "--order", "M-2-refund")
        pre = json.loads(run("preauth", "--amount", "50.00", "--order", "M-P", "--json"))["reference"]
        done = json.loads(run("preauth-complete", "--orig-ref", pre, "--amount", "55.00", "--order", "M-P-c", "--json"))["reference"]
        run("complete-void", "--orig-ref", done, "--order", "M-P-cv")
        balance = json.loads(run("balance", "--order", "M-B", "--json"))
        run("sale", "--amount", "1.00", "--order", "M-3", ok=False)  # unknown: answer dropped
        run("recover")
        run("settle")
    finally:
        host.terminate()
        host.wait(timeout=10)

    records = [json.loads(line) for line in frames.read_text().splitlines()]
    mac_key = None
    mtis = set()
    macs_checked = 0
    for rec in records:
        frame = bytes.fromhex(rec["hex"])
        header, mti, fields = peer_decode(frame)
        mine = ours(smartpos_bin, rec["hex"])
        assert mti == mine["mti"] and header == mine["tpdu"] + mine["header"]
        assert set(fields) == set(mine["fields"]), (mti, set(fields) ^ set(mine["fields"]))
        for n, v in mine["fields"].items():
            assert fields[n] == normalise_ours(n, v), (mti, n, fields[n], v)
        mtis.add(mti)
        # Sign-in answers (60.3 001/003/004) carry the keys; the EMV parameter fetches' 0810s
        # carry records.
        if mti == "0810" and fields["39"] == "00" and fields["60"][8:11] in ("001", "003", "004"):
            f62 = bytes.fromhex(fields["62"])
            mac_key = psec.des.decrypt_tdes_ecb(TEST_TMK, f62[20:36])
            assert psec.des.generate_kcv(mac_key, 4) == f62[36:40], "MAC key check value"
        if "64" in fields:
            assert mac_key is not None
            mab = frame[13:-8]
            assert cup_mac(mac_key, mab) == bytes.fromhex(fields["64"]), (mti, "MAC")
            macs_checked += 1
    assert {"0800", "0810", "0100", "0110", "0200", "0210", "0220", "0230", "0400", "0410", "0500", "0510"} <= mtis, mtis
    assert macs_checked >= 20
    # The balance inquiry: F3 310000, no amount; the answer's F54 is what the terminal reported.
    inquiries = [peer_decode(bytes.fromhex(r["hex"]))[2] for r in records]
    inquiries = [f for f in inquiries if f.get("3") == "310000"]
    assert len(inquiries) == 2 and "4" not in inquiries[0], "request without field 4"
    f54 = inquiries[1]["54"]
    assert f54[:4] == "1002" and f54[4:7] == "156" and f54[7] == "C"
    assert int(f54[8:]) == balance["balance"]["amount"]["minor"]

"""Independent EMV cryptograms for the simulated chip card and issuer, by PyPI pyemv.

Reads JSON cases on stdin: [{"imk", "pan", "psn", "atc", "data", "arc"}] (hex where binary) and
writes, for each, the card master key (option A), the common session key, the application
cryptogram (ISO/IEC 9797-1 algorithm 3, padding method 2) and ARPC method 1, as hex."""

import json
import sys

from pyemv import ac, kd, tlv

out = []
for case in json.load(sys.stdin):
    mk = kd.derive_icc_mk_a(bytes.fromhex(case["imk"]), case["pan"], case["psn"])
    r = int(case["atc"]).to_bytes(2, "big") + bytes(6)
    sk = kd.derive_common_sk(mk, r)
    cryptogram = ac.generate_ac(sk, bytes.fromhex(case["data"]), ac.PaddingType.EMV)
    arpc = ac.generate_arpc_1(sk, cryptogram, bytes.fromhex(case["arc"]))
    decoded = {}
    if case.get("tlv"):
        decoded = {k: v.hex().upper() for k, v in tlv.decode(bytes.fromhex(case["tlv"]), flatten=True).items()}
    out.append({
        "card_master_key": mk.hex().upper(),
        "session_key": sk.hex().upper(),
        "cryptogram": cryptogram.hex().upper(),
        "arpc": arpc.hex().upper(),
        "tlv": decoded,
    })
json.dump(out, sys.stdout)

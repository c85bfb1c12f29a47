"""The codec benchmark's peer: pyiso8583 decodes and re-encodes the same sale request and
response frames `smartpos bench --codec` measures, with the independent CUP spec.

Usage: bench_pyiso8583.py PAIRS REQUEST_HEX RESPONSE_HEX  ->  JSON on stdout.
"""

import json
import sys
import time

import iso8583

from cup_spec import CUP_SPEC


def one_pair(req: bytes, resp: bytes):
    a, _ = iso8583.decode(req[2:], CUP_SPEC)
    z, _ = iso8583.decode(resp[2:], CUP_SPEC)
    a_raw, _ = iso8583.encode(a, CUP_SPEC)
    z_raw, _ = iso8583.encode(z, CUP_SPEC)
    return a_raw, z_raw


def main(argv):
    pairs, req, resp = int(argv[1]), bytes.fromhex(argv[2]), bytes.fromhex(argv[3])
    a_raw, z_raw = one_pair(req, resp)
    # the peer must do the same work correctly before its speed means anything
    if bytes(a_raw) != req[2:] or bytes(z_raw) != resp[2:]:
        print(json.dumps({"error": "pyiso8583 does not reproduce the frames"}))
        return 1
    start = time.perf_counter()
    for _ in range(pairs):
        one_pair(req, resp)
    elapsed = time.perf_counter() - start
    print(json.dumps({"pairs": pairs, "seconds": elapsed, "pairs_per_sec": pairs / elapsed,
                      "pyiso8583": getattr(iso8583, "__version__", "unknown")}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""A handoff result verified by an independent Ed25519 implementation (pyca/cryptography),
written only from sdk-docs/src/merchant/handoff-protocol.md."""

import hashlib
import subprocess
import time
import urllib.parse

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FIELDS = ["v", "code", "status", "request_hash", "caller", "order", "type", "amount", "currency",
          "masked_pan", "auth_code", "reference", "trace", "batch", "terminal_id", "merchant_id",
          "time", "message", "host_code", "balance", "method", "wallet"]
SAMPLE_CERT = "3967fb7852caa93cadb5613e0c475c7560293e96d7c9b801314c2869570351aa"


def canonical(tag, pairs):
    out = tag.encode() + b"\n"
    for k, v in pairs:
        vb = v.encode()
        out += k.encode() + b":" + str(len(vb)).encode() + b":" + vb + b"\n"
    return out


def parse_result(uri):
    query = uri.split("?", 1)[1]
    pairs = [p.split("=", 1) for p in query.split("&") if p]
    got = {}
    for k, v in pairs:
        assert k not in got, f"duplicate {k}"
        got[k] = urllib.parse.unquote(v, errors="strict")
    return got


def verify(result, public_key_hex):
    msg = canonical("smartpos-result-v1", [(f, result[f]) for f in FIELDS])
    Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex)).verify(bytes.fromhex(result["sig"]), msg)


@pytest.fixture(scope="module")
def host(smartpos_bin, tmp_path_factory):
    state = tmp_path_factory.mktemp("host")
    proc = subprocess.Popen([smartpos_bin, "host-sim", "--bind", "127.0.0.1:0", "--state", str(state)],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert "listening on" in line, line
    yield line.split("listening on ")[1].strip(), state / "ca.pem"
    proc.terminate()
    proc.wait(timeout=10)


def test_signed_result_verifies_with_an_independent_ed25519(smartpos_bin, host, tmp_path):
    url, ca = host
    data = tmp_path / "terminal"
    pairs = [("v", "1"), ("type", "sale"), ("amount", "1234"), ("currency", "CNY"), ("order", "PY-1"),
             ("nonce", "py-nonce-0000000001"), ("expires", str(int(time.time()) + 120)),
             ("memo", "咖啡 + tea"), ("callback", "shop://paid")]
    uri = "smartpos://pay/v1?" + "&".join(f"{k}={urllib.parse.quote(v, safe='')}" for k, v in pairs)
    ret = subprocess.run([smartpos_bin, "terminal", "--data-dir", str(data), "--host", url, "--ca", str(ca),
                          "handle-request", "--uri", uri, "--caller-package", "com.example.merchant",
                          "--caller-cert-sha256", SAMPLE_CERT], check=True, capture_output=True, text=True).stdout.strip()
    pk = subprocess.run([smartpos_bin, "terminal", "--data-dir", str(data), "public-key"],
                        check=True, capture_output=True, text=True).stdout.strip()
    assert ret.startswith("shop://paid?")
    result = parse_result(ret)
    verify(result, pk)
    assert result["code"] == "APPROVED" and result["status"] == "approved"
    assert result["order"] == "PY-1" and result["amount"] == "1234" and result["currency"] == "CNY"
    assert result["masked_pan"] == "622202*********0123"
    expected_hash = hashlib.sha256(canonical("smartpos-request-v1", sorted(pairs, key=lambda p: (p[0].encode(), p[1].encode())))).hexdigest()
    assert result["request_hash"] == expected_hash

    for field in FIELDS:
        forged = dict(result)
        forged[field] = forged[field] + "0"
        with pytest.raises(InvalidSignature):
            verify(forged, pk)

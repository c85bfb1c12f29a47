"""QR payments checked by peers: the terminal's customer-scans-merchant codes are accepted by an
independent EMVCo parser and validator (PyPI cemacqr), their CRC matches the EMVCo example's
algorithm, and the PNG images decode with zbarimg (Debian zbar-tools) to the exact payload. A
displayed code is then paid end to end through the simulated gateway, and the handoff's QR
types work through the CLI."""

import json
import shutil
import subprocess
import time

import cemacqr
import pytest

EMVCO_EXAMPLE = ("00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678520441115802CN"
                 "5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京540523.7253031565502016233030412340603***"
                 "0708A60086670902ME91320016A0112233449988770708123456786304A13A")


@pytest.fixture()
def host(smartpos_bin, tmp_path):
    state = tmp_path / "host"
    proc = subprocess.Popen([smartpos_bin, "host-sim", "--bind", "127.0.0.1:0", "--state", str(state)],
                            stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().split("listening on ")[1].strip()
        yield url, state / "ca.pem"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def terminal(smartpos_bin, tmp_path, host):
    url, ca = host
    return [smartpos_bin, "terminal", "--data-dir", str(tmp_path / "t"), "--host", url, "--ca", str(ca)]


def zbar(png):
    zbarimg = shutil.which("zbarimg")
    assert zbarimg, "zbarimg missing: install Debian zbar-tools (scripts/test.sh does)"
    return subprocess.run([zbarimg, "--raw", "-q", str(png)], check=True, capture_output=True,
                          text=True).stdout.strip()


def test_the_peer_agrees_on_the_emvco_example():
    qr = cemacqr.parse_payload(EMVCO_EXAMPLE)
    assert qr.crc_ok and qr.stated_crc.upper() == "A13A"
    tampered = cemacqr.parse_payload(EMVCO_EXAMPLE.replace("BEIJING", "BEIJINH"))
    assert not cemacqr.validate(tampered, cemacqr.EMVCO).ok, "the peer does reject a wrong CRC"


def test_generated_codes_pass_the_independent_validator_and_decode_from_png(smartpos_bin, tmp_path, host):
    t = terminal(smartpos_bin, tmp_path, host)
    png = tmp_path / "code.png"
    payload = subprocess.run(t + ["qr-code", "--amount", "12.99", "--order", "PY-QR-1", "--png", str(png)],
                             check=True, capture_output=True, text=True, timeout=60).stdout.strip()
    qr = cemacqr.parse_payload(payload)
    assert qr.crc_ok, "CRC-16/CCITT-FALSE as the independent parser computes it"
    report = cemacqr.validate(qr, cemacqr.EMVCO)
    assert report.ok and not report.violations, str(report)
    assert qr.point_of_initiation == "12", "dynamic: one order"
    assert qr.amount == "12.99" and qr.currency == "156" and qr.country_code == "CN"
    assert zbar(png) == payload, "the image decodes to the exact payload"
    # the open order is queryable: unknown (not failed) while nobody has paid
    q = json.loads(subprocess.run(t + ["query", "--order", "PY-QR-1", "--json"], check=True,
                                  capture_output=True, text=True, timeout=60).stdout)
    assert q["state"] == "unknown" and q["method"] == "qr_display"


def test_scan_and_display_sales_through_the_cli(smartpos_bin, tmp_path, host):
    t = terminal(smartpos_bin, tmp_path, host)
    scan = subprocess.run(t + ["sale", "--method", "qr-scan", "--code", "281234567890123456", "--amount", "5.00",
                               "--order", "PY-QR-2", "--json"], capture_output=True, text=True, timeout=60)
    assert scan.returncode == 0, scan.stderr
    r = json.loads(scan.stdout)
    assert r["outcome"]["status"] == "approved" and r["wallet"] == "alipay" and r["method"] == "qr_scan"
    bad = subprocess.run(t + ["sale", "--method", "qr-scan", "--code", "991234567890123456", "--amount", "5.00",
                              "--order", "PY-QR-3"], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "no wallet" in bad.stderr
    png = tmp_path / "shown.png"
    slip = tmp_path / "slip.png"
    started = time.monotonic()
    shown = subprocess.run(t + ["sale", "--method", "qr-display", "--amount", "6.00", "--order", "PY-QR-4",
                                "--qr-png", str(png), "--slip-png", str(slip), "--json"],
                           capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["outcome"]["status"] == "approved"
    assert time.monotonic() - started >= 4, "the simulated customer pays 4 s after the code appears"
    payload = shown.stderr.split("show this code: ")[1].splitlines()[0]
    assert zbar(png) == payload and cemacqr.parse_payload(payload).crc_ok
    assert zbar(slip) == payload, "the printed slip (384 dots) carries the same code"
    totals = subprocess.run(t + ["totals"], check=True, capture_output=True, text=True, timeout=60).stdout
    assert "qr:alipay" in totals

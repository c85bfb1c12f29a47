"""The demo's receipt PNG: the QR code decodes with zbarimg (Debian zbar-tools) to the exact
payload the terminal printed, and the image has the printer's width."""

import re
import shutil
import struct
import subprocess


def test_receipt_qr_decodes_with_zbarimg(demo_run):
    out, stdout = demo_run
    zbarimg = shutil.which("zbarimg")
    assert zbarimg, "zbarimg missing: install Debian zbar-tools (scripts/test.sh does)"
    expected = re.search(r"^\[QR (.+)\]$", stdout, re.M).group(1)
    png = out / "receipt.png"
    decoded = subprocess.run([zbarimg, "--raw", "-q", str(png)], check=True, capture_output=True, text=True).stdout.strip()
    assert decoded == expected


def test_receipt_is_printer_width_and_masks_the_pan(demo_run):
    out, stdout = demo_run
    data = (out / "receipt.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width == 384 and height > 600
    assert "622202*********0123" in stdout
    assert "6222021234567890123" not in stdout
    assert "商户存根 MERCHANT COPY" in stdout and "银行存根 ACQUIRER COPY" in stdout

import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def smartpos_bin():
    path = pathlib.Path(os.environ.get("SMARTPOS_BIN", ROOT / "target" / "debug" / "smartpos"))
    if not path.exists():
        pytest.fail(f"smartpos binary not found at {path}: build it first (scripts/test.sh does)")
    return str(path)


@pytest.fixture(scope="session")
def demo_frames(smartpos_bin, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    frames = out / "frames.jsonl"
    subprocess.run([smartpos_bin, "demo", "--out", str(out), "--frames", str(frames)],
                   check=True, capture_output=True, timeout=120)
    import json
    return [json.loads(line) for line in frames.read_text().splitlines()]

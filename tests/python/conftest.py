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
def demo_run(smartpos_bin, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    frames = out / "frames.jsonl"
    proc = subprocess.run([smartpos_bin, "demo", "--out", str(out), "--frames", str(frames)],
                          check=True, capture_output=True, text=True, timeout=120)
    return out, proc.stdout


@pytest.fixture(scope="session")
def demo_frames(demo_run):
    import json
    out, _ = demo_run
    return [json.loads(line) for line in (out / "frames.jsonl").read_text().splitlines()]

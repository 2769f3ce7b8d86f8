"""The test suite itself: it never writes to the user's home (a fresh HOME stays empty)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_collecting_and_running_tests_leaves_home_untouched(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("GPT2BUDGET_CACHE_DIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME")}
    env["HOME"] = str(home)
    # collection imports every test module (some load the catalogues at import time); then a few real tests
    for args in (["--collect-only", "-q"], ["-q", "-x", "tests/test_specs.py", "tests/test_check_json.py"]):
        r = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert list(home.iterdir()) == [], list(home.rglob("*"))

"""Issue #31 item 8: a sweep into a pipe stopped by Ctrl-C (SIGINT) or SIGTERM writes whole rows only, then the
"incomplete" marker on a line of its own with the right count of rows."""

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest

GRID = ["--gpu", "all", "--model", "all", "--micro-batch", ",".join(str(i) for i in range(1, 49))]


def _interrupted(fmt: str, jobs: int, signum: int):
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("GPT2BUDGET_CONFIG_PATH", None)
    proc = subprocess.Popen([sys.executable, "-m", "gpt2budget", "sweep", *GRID, "--format", fmt, "--jobs", str(jobs)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.read(200_000)  # the sweep is well under way...
    time.sleep(0.5)  # ...and blocked writing into the full pipe, in the middle of a chunk of rows
    proc.send_signal(signum)
    rest = proc.stdout.read()
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=60)
    return first + rest, code, err


@pytest.mark.slow
@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_an_interrupted_sweep_writes_whole_rows_and_counts_them(fmt, signum, jobs):
    out, code, err = _interrupted(fmt, jobs, signum)
    assert code == 128 + signum, err
    assert "Traceback" not in err
    text = out.decode()
    assert text.endswith("\n")
    lines = text.splitlines()
    marker, body = lines[-1], lines[:-1]
    how = "interrupted" if signum == signal.SIGINT else "terminated"
    if fmt == "csv":
        header, *rows = list(csv.reader(io.StringIO("\n".join(body) + "\n")))
        assert rows and all(len(r) == len(header) for r in rows)
        assert marker == f"# incomplete: {how} after {len(rows)} rows"
    else:
        rows = [json.loads(line) for line in body]
        assert rows and all("inputs.gpu" in r for r in rows)
        assert json.loads(marker) == {"incomplete": True, "rows": len(rows)}
    assert f"Error: sweep incomplete: {how} after {len(rows)} rows; the output is incomplete" in err

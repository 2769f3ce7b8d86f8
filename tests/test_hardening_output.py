"""Issue #31 items 12 and 16 (part): --output /dev/stdout writes through (`>> log` appends, `| cat` works), FIFOs
are not truncated, and the JSON written to a file ends with a newline."""

import json
import os
import shlex
import subprocess
import sys
import threading

import pytest

CHECK = [sys.executable, "-m", "gpt2budget", "check", "--gpu", "4090", "--model", "gpt2", "--format", "json"]


def _shell(command: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("GPT2BUDGET_CONFIG_PATH", None)
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env)


@pytest.mark.slow
def test_output_dev_stdout_appended_to_a_log_keeps_the_log(tmp_path):
    log = tmp_path / "log"
    log.write_text("earlier line\n")
    cmd = " ".join(shlex.quote(a) for a in CHECK)
    r = _shell(f"{cmd} --output /dev/stdout >> {shlex.quote(str(log))}")
    assert r.returncode == 0, r.stderr
    first, rest = log.read_text().split("\n", 1)
    assert first == "earlier line"
    assert json.loads(rest)["inputs"]["gpu"] == "rtx-4090"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"])
def test_output_dev_stdout_into_a_pipe(name):
    cmd = " ".join(shlex.quote(a) for a in CHECK)
    r = _shell(f"set -o pipefail; {cmd} --output {name} | cat")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["inputs"]["model"] == "gpt2"
    assert r.stdout.endswith("}\n")


def test_a_fifo_is_written_through_not_truncated(tmp_path):
    from gpt2budget.output.report import write_output

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    write_output(str(fifo), "hello\n")
    reader.join(timeout=30)
    assert got == ["hello\n"] and fifo.exists()


def test_the_json_file_ends_with_a_newline(cli, tmp_path):
    out = tmp_path / "res.json"
    r = cli("check", "--gpu", "4090", "--model", "gpt2", "--format", "json", "--output", str(out))
    assert r.code == 0, r.err
    text = out.read_text()
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert json.loads(text)["inputs"]["gpu"] == "rtx-4090"

"""What a person at a terminal sees: nothing cut short at any width, nothing that crashes a non-UTF-8 locale."""

import os
import subprocess
import sys

import pytest

COMMANDS = [
    ["gpus"],
    ["models"],
    ["compare", "--model", "gpt2-xl"],
    ["check", "--gpu", "4070ti", "--model", "gpt2-xl"],
    ["check", "--gpu", "4070ti", "--model", "gpt2", "--explain"],
    ["plan", "--gpu", "4070ti"],
]


def run(args, **env):
    full = {**os.environ, "NO_COLOR": "1", **env}
    return subprocess.run([sys.executable, "-m", "gpt2budget", *args], capture_output=True, text=True,
                          env=full, timeout=120, errors="replace")


@pytest.mark.slow  # a subprocess per command and width
@pytest.mark.parametrize("width", [60, 80, 120])
@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a))
def test_no_number_id_or_flag_is_cut_short(args, width):
    r = run(args, COLUMNS=str(width))
    assert r.returncode in (0, 4), r.stderr
    lines = r.stdout.splitlines()
    assert "…" not in r.stdout
    assert max(len(line) for line in lines) <= width
    if args[0] == "check" and "gpt2-xl" in args:
        # every flag the advisor suggests appears whole (on one line), ready to paste
        assert any("--checkpointing" in line for line in lines)
        assert not any(line.rstrip().endswith("--checkpoi") for line in lines)
    if args[0] == "compare":
        assert "h100-sxm" in r.stdout  # ids are never shortened


@pytest.mark.slow  # a subprocess per command
@pytest.mark.parametrize("args", [*COMMANDS, ["check", "--gpu", "4090", "--model", "gpt2", "--svg", "SVG"]],
                         ids=lambda a: " ".join(a))
def test_a_non_utf8_terminal_gets_ascii_not_a_traceback(args, tmp_path):
    args = [str(tmp_path / "out.svg") if a == "SVG" else a for a in args]
    env = {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0", "PYTHONIOENCODING": ""}
    full = {k: v for k, v in {**os.environ, "NO_COLOR": "1", **env}.items() if v != ""}
    full.pop("PYTHONIOENCODING", None)
    r = subprocess.run([sys.executable, "-m", "gpt2budget", *args], capture_output=True, env=full, timeout=120)
    assert b"Traceback" not in r.stderr and r.returncode in (0, 4), r.stderr.decode(errors="replace")
    assert r.stdout.decode("ascii")  # every byte printable in the C locale
    if "--svg" in args:
        assert "gpt2" in (tmp_path / "out.svg").read_text(encoding="utf-8")

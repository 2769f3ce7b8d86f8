"""Hostile input and hostile places (issue 18): no traceback, no hang, no wrong number."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gpt2budget.specs.files import builtin_config_dir


def run(*args, cwd=None, timeout=30):
    return subprocess.run([sys.executable, "-m", "gpt2budget", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env={**os.environ, "NO_COLOR": "1"})


@pytest.mark.parametrize("args", [["check", "--gpu", "4090", "--model", "gpt2"], ["gpus"], ["models"],
                                  ["plan", "--gpu", "4090"], ["compare", "--model", "gpt2"], ["schema", "check"],
                                  ["check", "--gpu", "4090", "--model", "gpt2", "--format", "json"]],
                         ids=lambda a: " ".join(a))
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_failing_stdout_is_one_line_not_a_traceback(args):
    with open("/dev/full", "w") as full:
        r = subprocess.run([sys.executable, "-m", "gpt2budget", *args], stdout=full, stderr=subprocess.PIPE,
                           text=True, timeout=60)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().startswith("Error: cannot write the output") and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args,option", [
    (["check", "--gpu", "4090", "--model", "gpt2", "--duration", "1e300y"], "--duration"),
    (["check", "--gpu", "4090", "--model", "gpt2", "--tokens", "1e300"], "--tokens"),
    (["check", "--gpu", "4090", "--model", "gpt2", "--batch-tokens", "1e300"], "--batch-tokens"),
    (["plan", "--gpu", "4090", "--budget-usd", "0"], "--budget-usd"),
])
def test_absurd_numbers_are_usage_errors(args, option):
    r = run(*args)
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.startswith(f"Error: {option}")


def _user_card(folder: Path, name: str = "My card") -> Path:
    text = (builtin_config_dir() / "gpus" / "rtx-4090.yaml").read_text()
    text = text.replace('id: "rtx-4090"', 'id: "my-card"').replace('aliases: ["4090", "rtx4090"]', "aliases: []")
    text = text.replace('name: "NVIDIA GeForce RTX 4090"', f'name: "{name}"')
    (folder / "gpus").mkdir(parents=True, exist_ok=True)
    path = folder / "gpus" / "mine.yaml"
    path.write_text(text)
    return path


@pytest.mark.slow  # subprocesses
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_special_files_and_editor_artefacts_never_hang_or_break(tmp_path):
    _user_card(tmp_path)
    gpus = tmp_path / "gpus"
    os.mkfifo(gpus / "fifo.yaml")
    os.symlink("nowhere", gpus / ".#mine.yaml")  # an Emacs lock link
    (gpus / "._mine.yaml").write_bytes(b"\x00\x05\x16\x07")  # macOS resource fork
    (gpus / "mine.yaml~").write_text("junk")
    r = run("gpus", "--config-dir", str(tmp_path), "--format", "csv")
    assert r.returncode == 0 and "my-card" in r.stdout and r.stderr == ""
    r = run("validate", str(gpus / "fifo.yaml"))
    assert r.returncode == 3 and "not a regular file" in r.stdout + r.stderr
    r = run("validate", str(tmp_path))
    assert r.returncode == 0 and "fifo.yaml: skipped (not a regular file)" in r.stdout and "mine.yaml: ok" in r.stdout


@pytest.mark.slow  # subprocesses
def test_control_characters_never_reach_the_terminal(tmp_path):
    path = _user_card(tmp_path, name="Evil \\e[31mRED\\e[0m card")
    r = run("validate", str(path))
    assert r.returncode == 3 and "control character" in r.stdout + r.stderr
    for fmt in ("table", "csv", "markdown"):
        out = run("gpus", "--config-dir", str(tmp_path), "--format", fmt)
        assert "\x1b" not in out.stdout + out.stderr


@pytest.mark.slow  # subprocesses
def test_output_files_are_written_as_a_user_expects(tmp_path):
    base = ["check", "--gpu", "4090", "--model", "gpt2", "--no-advice", "--format", "json"]
    # a new file honours the umask (not 0600)
    new = tmp_path / "new.json"
    assert run(*base, "--output", str(new)).returncode == 0
    mask = os.umask(0)
    os.umask(mask)
    assert oct(new.stat().st_mode & 0o777) == oct(0o666 & ~mask)
    # a symlink is followed: the target is replaced and the link stays a link
    target, link = tmp_path / "target.json", tmp_path / "link.json"
    target.write_text("old")
    link.symlink_to(target)
    assert run(*base, "--output", str(link)).returncode == 0
    assert link.is_symlink() and target.read_text().startswith("{")
    # a read-only file is refused, untouched, with the option named
    ro = tmp_path / "ro.json"
    ro.write_text("keep")
    ro.chmod(0o444)
    r = run(*base, "--output", str(ro))
    assert r.returncode == 2 and "--output" in r.stderr and "read-only" in r.stderr and ro.read_text() == "keep"
    # a FIFO is written through (a reader gets the document), never replaced by a regular file
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE, text=True)
    assert run(*base, "--output", str(fifo)).returncode == 0
    assert reader.communicate(timeout=30)[0].startswith("{") and not fifo.is_file()
    # a failed write leaves no hidden temporary file; a bad --svg path names --svg
    r = run("check", "--gpu", "4090", "--model", "gpt2", "--svg", str(tmp_path / "no" / "such" / "x.svg"))
    assert r.returncode == 2 and r.stderr.startswith("Error: --svg")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_sweep_is_lazy_bounded_and_caps_its_workers():
    from gpt2budget.output.sweep import CHUNK_ROWS, grid, jobs_for
    from gpt2budget.specs.catalog import load_specs

    specs = load_specs()
    axes = {"gpu": ["all"], "model": ["all"], "stack": ["hf"], "precision": ["default"], "optimizer": ["default"],
            "checkpointing": ["none", "full"], "micro_batch": [str(i) for i in range(1, 5001)], "seq": ["default"],
            "gpus": ["1", "2", "4", "8"], "zero": ["0", "1", "2", "3"], "attention": ["default"]}
    g = grid(specs, axes)
    assert len(g) > 3 * 10**7  # counted from the axes, not by listing them
    first = next(iter(g))  # generated lazily: the first row exists without the other tens of millions
    assert first[6] == 1
    assert jobs_for(256, 3 * CHUNK_ROWS) == 3 and jobs_for(0, 10) == 1
    r = run("sweep", "--gpu", "all", "--model", "all", "--micro-batch", "1,2", "--max-rows", "10")
    assert r.returncode == 2 and "--max-rows" in r.stderr and "rows" in r.stderr and r.stdout == ""


def _alive_in_group(pgid):
    """Processes (zombies aside) of the process group pgid, read from /proc: only the group the test made."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # it ended while being read
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process group from /proc (Linux)")
def test_a_closed_reader_ends_a_parallel_sweep_promptly_with_no_orphans():
    """The pipeline runs in a session of its own, so its process group holds the sweep and its workers and nothing
    of anyone else's: once the pipeline has ended, no process of that group may be left."""
    import contextlib
    import signal
    import time

    cmd = (f"{sys.executable} -m gpt2budget sweep --gpu all --model all --micro-batch 1,2,3,4,5,6,7,8 --gpus 1,2,4 "
           "--jobs 2 | head -n 3")
    for _ in range(4):
        proc = subprocess.Popen(["bash", "-c", cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "NO_COLOR": "1"}, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=120)  # a hang fails here
            assert len(out.splitlines()) == 3 and "Traceback" not in err, err[-2000:]
            for _ in range(50):  # a worker that has seen its pipe close may take a moment to exit
                if not _alive_in_group(proc.pid):
                    break
                time.sleep(0.1)
            assert _alive_in_group(proc.pid) == []
        finally:
            with contextlib.suppress(ProcessLookupError):  # only the group this test started, whatever is left
                os.killpg(proc.pid, signal.SIGKILL)


def test_an_interrupted_sweep_marks_its_output(monkeypatch):
    import io

    from gpt2budget.output import sweep as sw
    from gpt2budget.specs.catalog import load_specs

    specs = load_specs()
    axes = {"gpu": ["4090"], "model": ["gpt2"], "stack": ["hf"], "precision": ["default"], "optimizer": ["default"],
            "checkpointing": ["none"], "micro_batch": [str(i) for i in range(1, 40)], "seq": ["default"],
            "gpus": ["1"], "zero": ["0"], "attention": ["default"]}
    monkeypatch.setattr(sw, "CHUNK_ROWS", 10)
    calls = {"n": 0}
    real = sw.RowEncoder.encode

    def encode(self, chunk):
        calls["n"] += 1
        if calls["n"] > 1:  # Ctrl-C while the second chunk is being encoded
            raise KeyboardInterrupt
        return real(self, chunk)

    monkeypatch.setattr(sw.RowEncoder, "encode", encode)
    for fmt, last in (("csv", "# incomplete: interrupted after 10 rows"), ("jsonl", '{"incomplete": true, "rows": 10}')):
        calls["n"] = 0
        out = io.StringIO()
        with pytest.raises(KeyboardInterrupt):
            sw.run_sweep(specs, sw.grid(specs, axes), 86400.0, fmt, out, jobs=1)
        assert out.getvalue().splitlines()[-1] == last

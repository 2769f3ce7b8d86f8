"""Growing work: sweep rows/s and peak RSS at 10^5 and 10^6 rows; `check` time with 1,000 user GPU specs; `plan`
with 1,000 models.

Usage: python benchmarks/scale.py [--million]   (10^6 rows takes a few minutes on two cores)
Peak RSS is the sweep process's own (os.wait4 on it: the largest of it and its workers), so it measures streaming,
not this script.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gpt2budget.specs.files import builtin_config_dir

CLI = [sys.executable, "-m", "gpt2budget"]


def sweep(micro_batches: int) -> tuple[int, float, float]:
    """Rows, seconds, peak RSS in MB of one sweep, its output streamed and counted here (never held in memory).
    The peak is what os.wait4 reports for the sweep process: the largest of it and its workers."""
    mb = ",".join(str(i) for i in range(1, micro_batches + 1))
    cmd = [*CLI, "sweep", "--gpu", "all", "--model", "all", "--micro-batch", mb, "--checkpointing", "none,full",
           "--gpus", "1,2,4,8", "--zero", "0,3", "--max-rows", "100000000"]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    lines = 0
    while chunk := proc.stdout.read(1 << 20):
        lines += chunk.count(b"\n")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    secs = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"sweep failed with exit code {proc.returncode}")
    return lines - 1, secs, usage.ru_maxrss / 1024


def check_with_user_gpus(n: int, runs: int = 7) -> tuple[float, float]:
    """Median `check` seconds with the built-in catalogue and with `n` extra user GPU files (warm cache)."""
    folder = Path(tempfile.mkdtemp(prefix="g2b-scale-"))
    (folder / "gpus").mkdir()
    text = (builtin_config_dir() / "gpus" / "rtx-4090.yaml").read_text()
    for i in range(n):
        (folder / "gpus" / f"card-{i}.yaml").write_text(
            text.replace('id: "rtx-4090"', f'id: "card-{i}"').replace('aliases: ["4090", "rtx4090"]', "aliases: []"))
    env = {**os.environ, "GPT2BUDGET_CACHE_DIR": str(folder / "cache")}
    base = [*CLI, "check", "--gpu", "4090", "--model", "gpt2", "--format", "json"]
    times: dict[str, list[float]] = {"built-in": [], "user": []}
    for cmd in (base, [*base, "--config-dir", str(folder)]):
        subprocess.run(cmd, capture_output=True, env=env, check=True)  # warm the cache
    for _ in range(runs):
        for cmd, key in ((base, "built-in"), ([*base, "--config-dir", str(folder)], "user")):
            t = time.perf_counter()
            subprocess.run(cmd, capture_output=True, env=env, check=True)
            times[key].append(time.perf_counter() - t)
    shutil.rmtree(folder, ignore_errors=True)
    return statistics.median(times["built-in"]), statistics.median(times["user"])


def plan_with_models(n: int, runs: int = 5) -> float:
    """Median seconds of `plan` in process over `n` GPT-2-shaped model specs (a user's big model catalogue)."""
    import dataclasses

    from gpt2budget.api import configure, load, plan

    specs = load()
    ci = configure(specs, gpu="4070ti", model="gpt2", duration="30d")
    base = specs.models.items["gpt2"]
    models = [dataclasses.replace(base, id=f"m{i}", aliases=(), name=f"M {i}", n_layer=4 + i % 40,
                                  n_head=4 + i % 20, n_embd=64 * (4 + i % 20)) for i in range(n)]
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        plan(ci, models, None)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    sizes = [27] + ([270] if "--million" in sys.argv else [])
    for n in sizes:
        rows, secs, rss = sweep(n)
        print(f"sweep: {rows:,} rows in {secs:.1f} s ({rows / secs:,.0f} rows/s), peak RSS {rss:.0f} MB")
    builtin, user = check_with_user_gpus(1000)
    print(f"check: {1000 * builtin:.0f} ms with the built-in catalogue, {1000 * user:.0f} ms with 1,000 user GPUs "
          f"({user / builtin:.2f}x)")
    print(f"plan: {1000 * plan_with_models(1000):.0f} ms in process with 1,000 models")


if __name__ == "__main__":
    main()

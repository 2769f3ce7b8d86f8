"""Speed figures: start-up vs importing the dependencies, configurations/s, sweep, plan and advisor time.

Usage: python benchmarks/speed.py   (medians of repeated runs; ratios measured in the same run)
       python benchmarks/speed.py --startup [--runs N] [--venv DIR]   (start-up only, as a new user installs it)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Subprocesses may write bytecode, as an installed package has it (pip compiles on install); with
# PYTHONDONTWRITEBYTECODE set, an editable checkout would recompile every module on every run.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def interleaved(cmds: dict[str, list[str]], n: int = 21, cwd: str | None = None) -> dict[str, float]:
    """Median wall time of each command, run in turns so that machine noise hits them alike.
    A key ending in "cold" runs with the spec cache off (as the first run after installing or editing a spec)."""
    envs = {k: {**ENV, "GPT2BUDGET_NO_CACHE": "1"} if k.endswith("cold") else ENV for k in cmds}
    for k, cmd in cmds.items():  # warm-up: bytecode, the spec cache and the OS file cache
        subprocess.run(cmd, capture_output=True, check=False, env=envs[k], cwd=cwd)
    times: dict[str, list[float]] = {k: [] for k in cmds}
    for _ in range(n):
        for k, cmd in cmds.items():
            t = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=False, env=envs[k], cwd=cwd)
            times[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


FLOOR = "import typer, rich.console, rich.table, pydantic, yaml"  # what check's start-up is measured against (#28)


def startup_ratio(venv: str | None, runs: int) -> None:
    """`check`'s start-up against importing its dependencies, measured as the project's before-stop hook does and
    as a user gets it: a fresh virtualenv with `pip install .` (not editable; bytecode written, as pip compiles on
    install), each command run once first (bytecode, the spec cache), then medians of `runs` runs taken in turns,
    from /tmp. The goal (#28 item 6) is a ratio <= 1.2."""
    root = Path(__file__).resolve().parents[1]
    made = None
    if venv is None:
        made = tempfile.mkdtemp(prefix="g2b-startup-")
        venv = made
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([f"{venv}/bin/pip", "install", "-q", str(root)], check=True)
    try:
        check = [f"{venv}/bin/gpt2budget", "check", "--gpu", "4070ti", "--model", "gpt2-xl"]
        med = interleaved({"floor": [f"{venv}/bin/python", "-c", FLOOR], "check": check}, n=runs, cwd="/tmp")
        print(f"start-up ({runs} runs each, in turns): check {med['check'] * 1000:.1f} ms, importing its dependencies "
              f"{med['floor'] * 1000:.1f} ms: ratio {med['check'] / med['floor']:.3f} (goal <= 1.2)")
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--startup", action="store_true", help="only check's start-up ratio, in a fresh non-editable install")
    ap.add_argument("--runs", type=int, default=21, help="runs of each command (median)")
    ap.add_argument("--venv", help="with --startup: an existing virtualenv with gpt2budget installed, not a new one")
    args = ap.parse_args()
    if args.startup:
        startup_ratio(args.venv, args.runs)
        return
    py = sys.executable
    exe = shutil.which("gpt2budget") or os.path.join(os.path.dirname(py), "gpt2budget")
    check = [exe, "check", "--gpu", "4070ti", "--model", "gpt2-xl"]
    med = interleaved({
        "floor": [py, "-c", FLOOR],
        "table": check,
        "json": [*check, "--format", "json"],
        "table cold": check,
        "plan": [exe, "plan", "--gpu", "4070ti", "--duration", "30d"],
    })
    floor = med["floor"]
    print(f"start-up: dependencies import {floor * 1000:.0f} ms; check (table) {med['table'] * 1000:.0f} ms "
          f"(ratio {med['table'] / floor:.2f}); check (json) {med['json'] * 1000:.0f} ms (ratio {med['json'] / floor:.2f}); "
          f"plan command {med['plan'] * 1000:.0f} ms; check (table) with no spec cache {med['table cold'] * 1000:.0f} ms")

    from gpt2budget.core.advisor import advise
    from gpt2budget.core.check import CheckInputs, evaluate
    from gpt2budget.core.memory import memory
    from gpt2budget.core.planner import plan
    from gpt2budget.core.shape import Shape
    from gpt2budget.options import RunOptions
    from gpt2budget.specs.catalog import load_specs

    sp = load_specs()
    g, m, s = sp.gpus.get("4070ti", "g"), sp.models.get("gpt2-xl", "m"), sp.stacks.get("hf", "s")
    shapes = {mm.id: Shape.of(mm, 1024) for mm in sp.models}
    opts = [RunOptions(micro_batch=b, checkpointing=c) for b in range(1, 65) for c in (False, True)]
    n = 0
    t = time.perf_counter()
    while time.perf_counter() - t < 1.0:
        for o in opts:
            for sh in shapes.values():
                memory(sh, s, o, g.usable_bytes)
                n += 1
    core = n / (time.perf_counter() - t)
    n = 0
    t = time.perf_counter()
    while time.perf_counter() - t < 1.0:
        for o in opts[:32]:
            evaluate(CheckInputs(g, m, s, o))
            n += 1
    full = n / (time.perf_counter() - t)
    print(f"throughput: memory core {core:,.0f} configurations/s; full check evaluation {full:,.0f}/s")

    ci = CheckInputs(g, m, s, RunOptions())
    base = evaluate(ci)
    adv = statistics.median([_timed(lambda: advise(ci, sp.models.of_family(m.family), base)) for _ in range(7)])
    pl = statistics.median([_timed(lambda: plan(CheckInputs(g, sp.models.get("gpt2", "m"), s, RunOptions(),
                                                            duration_s=30 * 86400), sp.models, None)) for _ in range(7)])
    print(f"advisor {adv * 1000:.0f} ms; plan {pl * 1000:.0f} ms (in process)")
    # ~100,000 rows whatever the catalogue's size: GPUs x models x micro-batches x 5 precisions x 2 x 2 x 2
    per_mb = len(sp.gpus.items) * len(sp.models.items) * 5 * 2 * 2 * 2
    mbs = max(1, round(100_000 / per_mb))
    cmd = [exe, "sweep", "--gpu", "all", "--model", "all", "--micro-batch", ",".join(str(i) for i in range(1, mbs + 1)),
           "--precision", "fp32,amp-bf16,bf16,amp-fp16,tf32", "--checkpointing", "none,full",
           "--optimizer", "adamw,adamw-fused", "--seq", "512,1024", "--zero", "0"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=ENV).stdout  # also the warm-up
    rows = out.count("\n") - 1  # less the header (58 GPUs x 4 models x 11 micro-batches x 40 = 102,080)
    ts = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=False, env=ENV)
        ts.append(time.perf_counter() - t0)
    print(f"sweep: {rows:,} rows in {statistics.median(ts):.2f} s end to end (median of 3)")


def _timed(f: object) -> float:
    t = time.perf_counter()
    f()  # type: ignore[operator]
    return time.perf_counter() - t


if __name__ == "__main__":
    main()

"""Speed figures: start-up vs importing the dependencies, configurations/s, sweep, plan and advisor time.

Usage: python benchmarks/speed.py   (medians of repeated runs; ratios measured in the same run)
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time


def med(cmd: list[str], n: int = 7) -> float:
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=False)
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main() -> None:
    py = sys.executable
    exe = shutil.which("gpt2budget") or os.path.join(os.path.dirname(py), "gpt2budget")
    floor = med([py, "-c", "import typer, rich.console, rich.table, pydantic, yaml"])
    table = med([exe, "check", "--gpu", "4070ti", "--model", "gpt2-xl"])
    js = med([exe, "check", "--gpu", "4070ti", "--model", "gpt2-xl", "--format", "json"])
    print(f"start-up: dependencies import {floor * 1000:.0f} ms; check (table) {table * 1000:.0f} ms "
          f"(ratio {table / floor:.2f}); check (json) {js * 1000:.0f} ms (ratio {js / floor:.2f})")

    from gpt2budget.advisor import advise
    from gpt2budget.check import CheckInputs, evaluate
    from gpt2budget.loader import load_specs
    from gpt2budget.memory import memory
    from gpt2budget.options import RunOptions
    from gpt2budget.planner import plan
    from gpt2budget.shape import Shape

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
    adv = statistics.median([_timed(lambda: advise(ci, sp.models, base)) for _ in range(7)])
    pl = statistics.median([_timed(lambda: plan(CheckInputs(g, sp.models.get("gpt2", "m"), s, RunOptions(),
                                                            duration_s=30 * 86400), sp.models, None)) for _ in range(7)])
    print(f"advisor {adv * 1000:.0f} ms; plan {pl * 1000:.0f} ms (in process)")
    cmd = [exe, "sweep", "--gpu", "all", "--model", "all", "--micro-batch", ",".join(str(i) for i in range(1, 33)),
           "--precision", "fp32,amp-bf16,bf16,amp-fp16,tf32", "--checkpointing", "none,full",
           "--optimizer", "adamw,adamw-fused", "--seq", "512,1024", "--zero", "0"]
    rows = 19 * 4 * 32 * 5 * 2 * 2 * 2
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=False)
    print(f"sweep: {rows:,} rows in {time.perf_counter() - t:.2f} s end to end")
    t = time.perf_counter()
    subprocess.run([exe, "plan", "--gpu", "4070ti", "--duration", "30d"], stdout=subprocess.DEVNULL, check=False)
    print(f"plan command end to end: {(time.perf_counter() - t) * 1000:.0f} ms")


def _timed(f: object) -> float:
    t = time.perf_counter()
    f()  # type: ignore[operator]
    return time.perf_counter() - t


if __name__ == "__main__":
    main()

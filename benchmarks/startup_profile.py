"""Where `check`'s start-up goes: each stage timed in a fresh process, in the order the command runs them.

Usage: python benchmarks/startup_profile.py   (medians of 15 fresh processes)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys

STAGES = r'''
import time, io
t = [time.perf_counter()]
import typer, rich.console, rich.table, pydantic, yaml
t.append(time.perf_counter())
from pydantic import BaseModel, Field
t.append(time.perf_counter())
import gpt2budget.specs
t.append(time.perf_counter())
import typer.main
from gpt2budget.cli import app_for
cmd = typer.main.get_command(app_for(["check"]))
t.append(time.perf_counter())
from gpt2budget.loader import load_specs
specs = load_specs()
t.append(time.perf_counter())
from gpt2budget.advisor import advise, needs_advice
from gpt2budget.check import CheckInputs, evaluate
from gpt2budget.options import RunOptions
ci = CheckInputs(specs.gpus.get("4070ti", ""), specs.models.get("gpt2-xl", ""), specs.stacks.get("hf", ""), RunOptions())
r = evaluate(ci)
r["advice"] = advise(ci, specs.models, r) if needs_advice(r) else []
t.append(time.perf_counter())
from gpt2budget.explain import component_words
from gpt2budget.render import render_check
con = rich.console.Console(file=io.StringIO(), width=200, no_color=True, color_system=None)
render_check(con, r, component_words(ci.options, ci.stack.mixed_precision_layout), None, True)
t.append(time.perf_counter())
print(" ".join(f"{b - a:.6f}" for a, b in zip(t, t[1:])))
'''
NAMES = ["dependencies (typer, rich.console/table, pydantic, yaml)", "pydantic's model machinery (BaseModel, Field)",
         "spec models (gpt2budget.specs)", "the check command built by Typer", "26 spec files read and validated",
         "core imports, evaluate and advisor", "Rich rendering of the tables"]


def main() -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-c", STAGES], env=env, capture_output=True, check=True)  # write bytecode
    runs = [[float(x) for x in subprocess.run([sys.executable, "-c", STAGES], env=env, capture_output=True,
                                              text=True, check=True).stdout.split()] for _ in range(15)]
    for i, name in enumerate(NAMES):
        print(f"{statistics.median(r[i] for r in runs) * 1000:6.1f} ms  {name}")


if __name__ == "__main__":
    main()

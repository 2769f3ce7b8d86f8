"""Where `check`'s start-up goes: each stage timed in a fresh process, in the order the command runs them.

Usage: python benchmarks/startup_profile.py   (medians of 15 fresh processes; spec cache warm)
The ratio to importing the dependencies, as a user installs it: python benchmarks/speed.py --startup
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys

STAGES = r'''
import time, io
t = [time.perf_counter()]
import typer, rich.console, rich.table
t.append(time.perf_counter())
import typer.main
from gpt2budget.cli.app import app_for
t.append(time.perf_counter())
cmd = typer.main.get_command(app_for(["check"]))
t.append(time.perf_counter())
from gpt2budget.specs.catalog import load_specs
specs = load_specs()
t.append(time.perf_counter())
from gpt2budget.core.advisor import advise, needs_advice
from gpt2budget.core.check import CheckInputs, evaluate
from gpt2budget.options import RunOptions
t.append(time.perf_counter())
ci = CheckInputs(specs.gpus.get("4070ti", ""), specs.models.get("gpt2-xl", ""), specs.stacks.get("hf", ""), RunOptions())
r = evaluate(ci)
r = r._replace(advice=advise(ci, specs.models.of_family(ci.model.family), r) if needs_advice(r) else ())
t.append(time.perf_counter())
from gpt2budget.output.explain import component_words
from gpt2budget.output.render import make_console, render_check
t.append(time.perf_counter())
con = make_console(no_color=True)
con.file = io.StringIO()
render_check(con, r, component_words(ci.options, ci.stack.mixed_precision_layout), None, True)
t.append(time.perf_counter())
import sys
print(" ".join(f"{b - a:.6f}" for a, b in zip(t, t[1:])), "pydantic" in sys.modules, "yaml" in sys.modules)
'''
NAMES = ["dependencies used (typer, rich.console/table)", "the CLI module", "the check command built by Typer",
         "the catalogue from the spec cache (spec types)", "core imports (check, memory, advisor)",
         "decoding the specs used, evaluate and advisor", "render imports", "Rich rendering of the tables"]


def main() -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-c", STAGES], env=env, capture_output=True, check=True)  # bytecode, cache
    outs = [subprocess.run([sys.executable, "-c", STAGES], env=env, capture_output=True, text=True,
                           check=True).stdout.split() for _ in range(15)]
    for i, name in enumerate(NAMES):
        print(f"{statistics.median(float(o[i]) for o in outs) * 1000:6.1f} ms  {name}")
    print(f"pydantic imported: {outs[-1][-2]}; yaml imported: {outs[-1][-1]}")


if __name__ == "__main__":
    main()

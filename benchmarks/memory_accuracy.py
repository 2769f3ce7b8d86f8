"""Compare predicted peak memory with every measured point; print median and worst error by group.

Usage: python benchmarks/memory_accuracy.py [DATA.jsonl]   (default: ../shared/data, else tests/data)
Prints a Markdown table (the README's accuracy table is this output).
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

from gpt2budget.core.memory import memory
from gpt2budget.core.shape import Shape
from gpt2budget.options import RunOptions
from gpt2budget.specs.catalog import load_specs

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    default = ROOT.parent / "shared" / "data" / "h100_gpt2_training_memory.jsonl"
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else default if default.exists() else ROOT / "tests" / "data" / default.name
    sp = load_specs()
    stack, gpu = sp.stacks.get("hf", "--stack"), sp.gpus.get("h100-sxm", "--gpu")
    groups: dict[str, list[float]] = defaultdict(list)
    oom_total = oom_caught = 0
    for line in path.read_text().splitlines():
        r = json.loads(line)
        if r.get("kind", "point") != "point":
            continue
        m = sp.models.get(r["model"], "--model")
        o = RunOptions(precision=r["precision"], checkpointing=r["ckpt"], optimizer=r["optimizer"],
                       attention="flash" if r["attn"] == "sdpa" else "eager", dropout=r["dropout"], seq=r["seq"],
                       micro_batch=r["batch"])
        res = memory(Shape.of(m, r["seq"]), stack, o, gpu.usable_bytes)
        if r["status"] == "oom":
            oom_total += 1
            oom_caught += not res.fits
            continue
        err = res.allocator_peak_bytes / r["peak_alloc_bytes"] - 1
        key = f"{r['precision']}, {'checkpointing' if r['ckpt'] else 'no checkpointing'}"
        groups[key].append(err)
        groups["all"].append(err)
    print("| group | points | median abs. error | worst abs. error | mean signed error |")
    print("|---|---|---|---|---|")
    for key in sorted(groups, key=lambda k: (k == "all", k)):
        e = groups[key]
        a = [abs(x) for x in e]
        print(f"| {key} | {len(e)} | {statistics.median(a):.2%} | {max(a):.2%} | {statistics.mean(e):+.2%} |")
    print(f"\nOut-of-memory points predicted not to fit: {oom_caught} of {oom_total}.")


if __name__ == "__main__":
    main()

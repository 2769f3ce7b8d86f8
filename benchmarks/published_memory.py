"""Published GPU memory of training runs (benchmarks/data/published_memory.yaml, issue #30 finding 5) next to the
model's answer: whether the card holds the run, what it needs, and, for a stack whose code moves parts of the run to
host memory by itself when the card is full (llm.c's m, v and master weights: StackSpec.host_fallback), what the
card needs then. Held out: no constant is fitted to these runs.

Usage: python benchmarks/published_memory.py
Prints a Markdown table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gpt2budget.core.memory import GIB, MemoryResult, memory
from gpt2budget.core.shape import Shape
from gpt2budget.options import RunOptions
from gpt2budget.specs.catalog import load_specs
from gpt2budget.specs.loader import read_yaml_file

RUNS = Path(__file__).resolve().parent / "data" / "published_memory.yaml"


def runs() -> list[dict[str, Any]]:
    return list(read_yaml_file(RUNS)["runs"])


def predict(specs: Any, run: dict[str, Any]) -> MemoryResult:
    """The run as published (its stack's padded vocabulary, the stack's default optimizer and precision, its
    gradient accumulation steps)."""
    stack = specs.stacks.get(run["stack"], "--stack")
    model = specs.models.get(run["model"], "--model")
    accum = run.get("grad_accum_steps", 1)
    o = RunOptions(micro_batch=run["micro_batch"], gpus=run["gpus"], zero=run["zero"], seq=run["seq"],
                   checkpointing=run["checkpointing"] != "none", optimizer=run.get("optimizer", stack.default_optimizer),
                   precision=stack.default_precision, step_sequences=run["micro_batch"] * accum if accum > 1 else 0)
    return memory(Shape.of(model, run["seq"], stack.vocab_multiple), stack, o,
                  specs.gpus.get(run["gpu"], "--gpu").usable_bytes)


def modelled_gib(m: MemoryResult, run: dict[str, Any]) -> float:
    """The model's figure to set beside the published one: its allocator peak where the run printed
    torch.cuda.max_memory_allocated() (reported_measure: allocator_peak), else what it says the card needs."""
    peak = run.get("reported_measure") == "allocator_peak"
    return (m.allocator_peak_bytes if peak else m.required_bytes) / GIB


def table() -> list[str]:
    specs = load_specs()
    out = ["| run | published | card (GiB) | required (GiB) | card holds it | with host fallback (GiB) | trust |",
           "|---|---|---|---|---|---|---|"]
    for run in runs():
        m = predict(specs, run)
        published = run["outcome"] + (f", ~{run['reported_gib']:g} GiB" if run["reported_gib"] is not None else "")
        if run.get("reported_measure") == "allocator_peak":
            published += (f" allocated (model's allocator peak {modelled_gib(m, run):.2f}, "
                          f"{modelled_gib(m, run) / run['reported_gib'] - 1:+.1%})")
        fallback = (f"{m.host_fallback_required_bytes / GIB:.2f} ({m.host_fallback_bytes / GIB:.2f} to host)"
                    if m.host_fallback_required_bytes else "-")
        out.append(f"| {run['id']} | {published} | {m.available_bytes / GIB:.2f} | {m.required_bytes / GIB:.2f} | "
                   f"{'yes' if m.fits else 'no'} | {fallback} | {run['trust']} |")
    return out


def main() -> None:
    print("\n".join(table()))


if __name__ == "__main__":
    main()

"""`sweep`: a grid of configurations streamed as CSV or JSON lines, one row each."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import IO, Any

from gpt2budget.check import CheckInputs, default_precision, evaluate
from gpt2budget.errors import Gpt2BudgetError, UsageError
from gpt2budget.loader import Specs
from gpt2budget.options import ATTENTION_CHOICES, OPTIMIZER_CHOICES, PRECISION_CHOICES, RunOptions
from gpt2budget.report import _clean, flatten


def _ints(values: list[str], option: str, low: int, high: int) -> list[int]:
    out = []
    for v in values:
        try:
            i = int(v)
        except ValueError:
            raise UsageError(option, f"expected whole numbers, got {v!r}") from None
        if not low <= i <= high:
            raise UsageError(option, f"{i} is outside {low}..{high}")
        out.append(i)
    return out


def _choices(values: list[str], option: str, allowed: tuple[str, ...]) -> list[str]:
    for v in values:
        if v != "default" and v not in allowed:
            raise UsageError(option, f"expected one of {', '.join(allowed)}, got {v!r}")
    return values


def grid(specs: Specs, axes: dict[str, list[str]]) -> list[tuple[Any, ...]]:
    """Validate every axis up front (so a bad value fails before any output), then list the configurations."""
    gpus = [g.id for g in specs.gpus] if axes["gpu"] in (["all"], []) else [specs.gpus.get(g, "--gpu").id for g in axes["gpu"]]
    models = [m.id for m in specs.models] if axes["model"] in (["all"], []) else [
        specs.models.get(m, "--model").id for m in axes["model"]]
    stacks = [specs.stacks.get(s, "--stack").id for s in axes["stack"]]
    precisions = _choices(axes["precision"], "--precision", PRECISION_CHOICES)
    optimizers = _choices(axes["optimizer"], "--optimizer", OPTIMIZER_CHOICES)
    attentions = _choices(axes["attention"], "--attention", ATTENTION_CHOICES)
    ckpts = _choices(axes["checkpointing"], "--checkpointing", ("none", "full"))
    mbs = _ints(axes["micro_batch"], "--micro-batch", 1, 1_000_000)
    seqs = [None if s == "default" else s for s in axes["seq"]]
    seq_ints = [None if s is None else _ints([s], "--seq", 1, 1_048_576)[0] for s in seqs]
    ngpus = _ints(axes["gpus"], "--gpus", 1, 100_000)
    zeros = _ints(axes["zero"], "--zero", 0, 3)
    return list(itertools.product(gpus, models, stacks, precisions, optimizers, ckpts, mbs, seq_ints, ngpus, zeros,
                                  attentions))


def rows(specs: Specs, configs: list[tuple[Any, ...]], duration_s: float) -> Iterator[dict[str, Any]]:
    for gid, mid, sid, prec, opt, ck, mb, seq, ng, z, attn in configs:
        g, m, s = specs.gpus.items[gid], specs.models.items[mid], specs.stacks.items[sid]
        p = default_precision(g, s) if prec == "default" else prec
        opts = RunOptions(precision=p, optimizer=s.default_optimizer if opt == "default" else opt,
                          checkpointing=ck == "full", attention=s.default_attention if attn == "default" else attn,
                          seq=seq or m.n_ctx, micro_batch=mb, gpus=ng, zero=z)
        try:
            r = evaluate(CheckInputs(g, m, s, opts, duration_s=duration_s))
            row = flatten(r)
            row["error"] = None
        except Gpt2BudgetError as exc:
            row = {"inputs.gpu": gid, "inputs.model": mid, "inputs.stack": sid, "inputs.precision": p,
                   "error": str(exc)}
        yield row


def run_sweep(specs: Specs, configs: list[tuple[Any, ...]], duration_s: float, fmt: str, out: IO[str]) -> int:
    import csv

    n = 0
    writer: Any = None
    for row in rows(specs, configs, duration_s):
        if fmt == "jsonl":
            out.write(json.dumps(_clean(row)) + "\n")
        else:
            if writer is None:
                writer = csv.DictWriter(out, fieldnames=list(row) if row.get("error") is None else _columns(specs),
                                        extrasaction="ignore", lineterminator="\n")
                writer.writeheader()
            writer.writerow(row)
        n += 1
    return n


def _columns(specs: Specs) -> list[str]:
    g, m, s = next(iter(specs.gpus)), next(iter(specs.models)), next(iter(specs.stacks))
    r = evaluate(CheckInputs(g, m, s, RunOptions(precision=default_precision(g, s), optimizer=s.default_optimizer)))
    return [*flatten(r), "error"]

"""The make-it-fit advisor: which changes make a run fit, what each costs in time, ranked by time to train."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from gpt2budget.core.check import (
    CheckInputs,
    default_precision,
    evaluate,
    largest_fitting_micro_batch,
    unsupported,
)
from gpt2budget.core.result import Advice, AdviceMemory, CheckResult, Inputs
from gpt2budget.core.shape import Shape, n_params
from gpt2budget.errors import Gpt2BudgetError
from gpt2budget.options import RunOptions
from gpt2budget.specs.definitions import ModelSpec, StackSpec
from gpt2budget.specs.torch_versions import known_versions, stack_for_torch
from gpt2budget.units import fmt_bytes, fmt_hours

SMALL_MICRO_BATCH = 4  # advice is also offered when at most this micro-batch fits


def candidates(ci: CheckInputs, models: Iterable[ModelSpec]) -> Iterator[tuple[RunOptions, ModelSpec]]:
    o = ci.options
    opt_changes: list[dict[str, Any]] = [{}]
    if o.optimizer == "adamw":
        opt_changes += [{"optimizer": "adamw-fused"}, {"optimizer": "adamw-8bit"}]
    elif o.optimizer in ("adamw-fused",):
        opt_changes += [{"optimizer": "adamw-8bit"}]
    prec_changes: list[dict[str, Any]] = [{}]
    if o.precision != "bf16" and ci.gpu.peak_flops("bf16") is not None and o.finetune == "none":
        prec_changes.append({"precision": "bf16"})
    ckpt_changes: list[dict[str, Any]] = [{}] if o.checkpointing else [{}, {"checkpointing": True}]
    shard_changes: list[dict[str, Any]] = [{}]
    if o.gpus > 1:
        shard_changes += [{"zero": z} for z in (1, 2, 3) if z > o.zero]
    offload_changes: list[dict[str, Any]] = [{}]
    if o.offload == "none":
        offload_changes.append({"offload": "optimizer"})
        offload_changes.append({"offload": "params", **({"zero": 3} if o.gpus > 1 else {})})
    for ck in ckpt_changes:
        for oc in opt_changes:
            for pc in prec_changes:
                for sc in shard_changes:
                    for off in offload_changes:
                        if off and (oc or pc):
                            continue  # offload replaces the optimizer's GPU footprint: no need to combine
                        change = {**ck, **oc, **pc, **sc, **off}
                        if change and unsupported(ci.stack, o.with_(**change)) is None:
                            yield o.with_(**change), ci.model
    # a large vocabulary's logits can decide the fit: a fused linear cross-entropy never holds them whole
    if o.loss == "full" and "fused-linear" in ci.stack.losses:
        yield o.with_(loss="fused-linear"), ci.model
        if not o.checkpointing:
            yield o.with_(loss="fused-linear", checkpointing=True), ci.model
    zeros = ci.stack.supported_zero
    shard = 3 if zeros is None or 3 in zeros else max(zeros)  # the deepest sharding the stack's code has
    for g in (2, 4, 8):
        if g > o.gpus:
            for change in ({"gpus": g, "zero": shard}, {"gpus": g, "zero": shard, "checkpointing": True}):
                yield o.with_(**change), ci.model
    own = n_params(Shape.of(ci.model, ci.model.n_ctx))
    for m in models:  # a smaller model of the same family (the stack and the recipe are the family's)
        if m.family == ci.model.family and n_params(Shape.of(m, m.n_ctx)) < own:
            yield o, m
            if not o.checkpointing:
                yield o.with_(checkpointing=True), m


# the fields of a configuration the advisor changes (what its suggestions differ in)
CHANGED = ("model", "checkpointing", "optimizer", "precision", "micro_batch", "zero", "offload", "gpus", "loss")


def _suggestion(base: CheckResult, r: CheckResult, b_max: int | None = None) -> Advice:
    mem = r.memory
    hours = r.target_requirement.wall_time_hours
    base_hours = base.target_requirement.wall_time_hours
    return Advice(
        inputs=r.inputs,
        # the settings the suggestion changes (flags a user can give), not what follows from them (utilization)
        changes={k: v for k, v in zip(r.inputs._fields, r.inputs, strict=True)
                 if v != getattr(base.inputs, k) and k in CHANGED},
        memory=AdviceMemory(mem.allocator_peak_bytes, mem.required_bytes,
                            mem.max_micro_batch if b_max is None else b_max, mem.host_bytes),
        fits=True, wall_time_hours=hours, time_factor=hours / base_hours if base_hours else None,
        model=r.model.id)


def _key(i: Inputs) -> tuple[Any, ...]:
    return tuple(getattr(i, f) for f in CHANGED)


def advise(ci: CheckInputs, models: Iterable[ModelSpec], base: CheckResult, limit: int = 8) -> tuple[Advice, ...]:
    """Changes that make the run fit (or, for a run that fits, train faster), ranked by time to train: the
    minimal change (the largest micro-batch that fits, nothing else changed) where it helps; for a run that fits
    no row slower than now; rows that print the same memory and time once (the fewest changes); at most
    MAX_PURE_BF16 pure-bf16 rows, so that the mixed-precision fixes are not crowded out."""
    base_hours = base.target_requirement.wall_time_hours
    seen: set[tuple[Any, ...]] = {_key(base.inputs)}
    out: list[Advice] = []
    mem0 = base.memory
    # the minimal change: the largest micro-batch that fits with nothing else changed (the same tokens per
    # optimizer step through gradient accumulation: a launch-bound step runs fewer, larger micro-steps)
    if mem0.max_micro_batch >= 1:
        b = largest_fitting_micro_batch(ci)
        if b != ci.options.micro_batch:
            r = evaluate(ci._replace(options=ci.options.with_(micro_batch=b)), with_cost=False)
            if r.memory.fits and (not mem0.fits or r.target_requirement.wall_time_hours < base_hours):
                seen.add(_key(r.inputs))
                out.append(_suggestion(base, r))
    if not (mem0.fits and mem0.max_micro_batch > SMALL_MICRO_BATCH):  # else it fits with room to spare
        for opts, model in candidates(ci, list(models)):
            trial = ci._replace(options=opts, model=model)
            try:
                r = evaluate(trial, with_cost=False)
            except Gpt2BudgetError:
                continue
            b_max = r.memory.max_micro_batch
            if b_max < 1:
                continue
            if not r.memory.fits:
                # fits only at a smaller micro-batch: the same tokens per step through gradient accumulation
                opts = opts.with_(micro_batch=b_max)
                r = evaluate(trial._replace(options=opts), with_cost=False)
                if not r.memory.fits:
                    continue
            elif mem0.fits and b_max <= mem0.max_micro_batch:
                continue  # for a run that already fits, advice must buy a larger micro-batch
            key = _key(r.inputs)
            if key in seen:
                continue
            seen.add(key)
            out.append(_suggestion(base, r, b_max))
    if mem0.fits:
        # the run fits: time is what advice can improve, so nothing slower than now
        out = [a for a in out if a.wall_time_hours < base_hours]
    # same hardware and model first, then more GPUs, then a smaller model; each group by time to train, then
    # the fewest changes
    out.sort(key=lambda a: (a.model != ci.model.id, a.inputs.gpus != base.inputs.gpus, a.wall_time_hours,
                            _n_changes(base.inputs, a.inputs)))
    return tuple(_pick(out, base.inputs, limit))


MAX_PURE_BF16 = 2  # pure-bf16 rows shown at most (see PURE_BF16_CAVEAT): the mixed-precision fixes come next


def _pick(rows: list[Advice], base: Inputs, limit: int) -> list[Advice]:
    """Rows as ranked, less near-duplicates (the same group, memory and time to the printed precision: the
    one with the fewest changes stays, in the place of the first) and pure-bf16 rows beyond MAX_PURE_BF16."""
    best: dict[tuple[Any, ...], Advice] = {}
    order: list[tuple[Any, ...]] = []
    for a in rows:
        shown = (a.model, a.inputs.gpus, fmt_bytes(a.memory.required_bytes), fmt_hours(a.wall_time_hours))
        if shown not in best:
            order.append(shown)
            best[shown] = a
        elif _n_changes(base, a.inputs) < _n_changes(base, best[shown].inputs):
            best[shown] = a
    out: list[Advice] = []
    pure_bf16 = 0
    for shown in order:
        a = best[shown]
        if a.inputs.precision == "bf16" and base.precision != "bf16":
            pure_bf16 += 1
            if pure_bf16 > MAX_PURE_BF16:
                continue
        out.append(a)
    return out[:limit]


def _n_changes(a: Inputs, b: Inputs) -> int:
    return sum(getattr(a, f) != getattr(b, f) for f in CHANGED)


def needs_advice(result: CheckResult) -> bool:
    mem = result.memory
    launch_bound = result.throughput.bound == "cpu dispatch" and mem.max_micro_batch > result.inputs.micro_batch
    return not mem.fits or mem.max_micro_batch <= SMALL_MICRO_BATCH or launch_bound


def advice_situation(result: CheckResult) -> str:
    """What the advice is for: "fit" (the run does not fit), "launch-bound" (it fits, and a larger micro-batch
    would keep the GPU busy), "time" (it fits but does not finish in the duration) or "faster" (it fits with
    little room: what would train faster)."""
    mem = result.memory
    if not mem.fits:
        return "fit"
    if result.throughput.bound == "cpu dispatch" and mem.max_micro_batch > result.inputs.micro_batch:
        return "launch-bound"
    return "faster" if result.target_requirement.fits_in_duration else "time"


# pure bf16 keeps the weights and optimizer states in bf16: an update smaller than half a unit in the last place
# of a weight (8 significant bits) rounds away, which stalls training without fp32 master weights or
# stochastic rounding / Kahan summation (Zamirai et al. 2020, "Revisiting BFloat16 Training", arXiv:2010.06192)
PURE_BF16_CAVEAT = ("pure bf16 (weights and optimizer states in bf16, no fp32 master copy or Kahan summation) can "
                    "stall convergence: small updates round away (Zamirai et al. 2020, \"Revisiting BFloat16 "
                    "Training\"); amp-bf16 keeps fp32 weights")


MUCH_FASTER = 1.5  # issue 31: say in one line when another stack or setting trains at least this much faster


class Alternative(NamedTuple):
    """A run on the same hardware and model that trains `speedup` times faster than the one asked."""

    result: CheckResult
    speedup: float


def faster_alternative(ci: CheckInputs, stacks: Iterable[StackSpec], base: CheckResult,
                       at_least: float = MUCH_FASTER) -> Alternative | None:
    """The fastest of: the run asked at the largest micro-batch that fits, and each other stack (its own
    precision, optimizer, attention and checkpointing defaults) at its largest micro-batch that fits; when it
    trains at least `at_least` times faster than the run asked (which must fit), else None. Not under
    --utilization (one flat rate for every stack)."""
    if not base.memory.fits or ci.utilization is not None:
        return None
    o = ci.options
    trials = [ci]
    for s in stacks:
        if s.id == ci.stack.id or (s.families is not None and ci.model.family not in s.families):
            continue
        if ci.torch is not None:  # --torch holds for the suggestion too: only stacks with that version's profile
            if ci.torch not in known_versions(s):
                continue
            s = stack_for_torch(s, ci.torch)
        opts = o.with_(precision=default_precision(ci.gpu, s), optimizer=s.default_optimizer,
                       attention=s.default_attention, checkpointing=s.default_checkpointing != "none")
        if unsupported(s, opts) is None:
            trials.append(ci._replace(stack=s, options=opts))
    best: Alternative | None = None
    for trial in trials:
        try:
            trial = trial._replace(options=trial.options.with_(micro_batch=largest_fitting_micro_batch(trial)))
            if trial.options == o and trial.stack is ci.stack:
                continue
            r = evaluate(trial, with_cost=False)
        except Gpt2BudgetError:
            continue
        if not r.memory.fits:
            continue
        speedup = r.compute.tokens_per_second / base.compute.tokens_per_second
        if best is None or speedup > best.speedup:
            best = Alternative(r, speedup)
    return best if best is not None and best.speedup >= at_least else None

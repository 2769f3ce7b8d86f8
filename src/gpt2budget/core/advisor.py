"""The make-it-fit advisor: which changes make a run fit, what each costs in time, ranked by time to train."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from gpt2budget.core.check import CheckInputs, evaluate, unsupported
from gpt2budget.core.result import Advice, AdviceMemory, CheckResult, Inputs
from gpt2budget.core.shape import Shape, n_params
from gpt2budget.errors import Gpt2BudgetError
from gpt2budget.options import RunOptions
from gpt2budget.specs.definitions import ModelSpec

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
    zeros = ci.stack.supported_zero
    shard = 3 if zeros is None or 3 in zeros else max(zeros)  # the deepest sharding the stack's code has
    for g in (2, 4, 8):
        if g > o.gpus:
            for change in ({"gpus": g, "zero": shard}, {"gpus": g, "zero": shard, "checkpointing": True}):
                yield o.with_(**change), ci.model
    own = n_params(Shape.of(ci.model, ci.model.n_ctx))
    for m in models:
        if n_params(Shape.of(m, m.n_ctx)) < own:
            yield o, m
            if not o.checkpointing:
                yield o.with_(checkpointing=True), m


# the fields of a configuration the advisor changes (what its suggestions differ in)
CHANGED = ("model", "checkpointing", "optimizer", "precision", "micro_batch", "zero", "offload", "gpus")


def _suggestion(base: CheckResult, r: CheckResult, b_max: int | None = None) -> Advice:
    mem = r.memory
    hours = r.target_requirement.wall_time_hours
    base_hours = base.target_requirement.wall_time_hours
    return Advice(
        inputs=r.inputs,
        changes={k: v for k, v in zip(r.inputs._fields, r.inputs, strict=True)
                 if v != getattr(base.inputs, k)},
        memory=AdviceMemory(mem.allocator_peak_bytes, mem.required_bytes,
                            mem.max_micro_batch if b_max is None else b_max, mem.host_bytes),
        fits=True, wall_time_hours=hours, time_factor=hours / base_hours if base_hours else None,
        model=r.model.id)


def _key(i: Inputs) -> tuple[Any, ...]:
    return tuple(getattr(i, f) for f in CHANGED)


def advise(ci: CheckInputs, models: Iterable[ModelSpec], base: CheckResult, limit: int = 8) -> tuple[Advice, ...]:
    """Changes that make the run fit (or fit a larger micro-batch), ranked by time to train."""
    base_hours = base.target_requirement.wall_time_hours
    seen: set[tuple[Any, ...]] = {_key(base.inputs)}
    out: list[Advice] = []
    mem0 = base.memory
    if mem0.fits and base.throughput.bound == "cpu dispatch" and mem0.max_micro_batch > ci.options.micro_batch:
        # a launch-bound step: the GPU waits for the CPU to issue kernels, so a larger micro-batch (the same
        # tokens per optimizer step, fewer micro-steps) trains faster per token (gpt2budget.core.steptime)
        # the largest power of two that fits: the usual choice, with headroom left for fragmentation
        opts = ci.options.with_(micro_batch=1 << (mem0.max_micro_batch.bit_length() - 1))
        r = evaluate(ci._replace(options=opts), with_cost=False)
        if r.target_requirement.wall_time_hours < base_hours:
            seen.add(_key(r.inputs))
            out.append(_suggestion(base, r))
    if mem0.fits and mem0.max_micro_batch > SMALL_MICRO_BATCH:
        return tuple(out)  # it fits with room to spare: only the speed-up is advice
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
    # same hardware and model first, then more GPUs, then a smaller model; each group by time to train, then
    # the fewest changes
    out.sort(key=lambda a: (a.model != ci.model.id, a.inputs.gpus != base.inputs.gpus, a.wall_time_hours,
                            _n_changes(base.inputs, a.inputs)))
    return tuple(out[:limit])


def _n_changes(a: Inputs, b: Inputs) -> int:
    return sum(getattr(a, f) != getattr(b, f) for f in CHANGED)


def needs_advice(result: CheckResult) -> bool:
    mem = result.memory
    launch_bound = result.throughput.bound == "cpu dispatch" and mem.max_micro_batch > result.inputs.micro_batch
    return not mem.fits or mem.max_micro_batch <= SMALL_MICRO_BATCH or launch_bound

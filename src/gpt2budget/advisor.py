"""The make-it-fit advisor: which changes make a run fit, what each costs in time, ranked by time to train."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from gpt2budget.check import CheckInputs, evaluate
from gpt2budget.errors import Gpt2BudgetError
from gpt2budget.options import RunOptions
from gpt2budget.shape import Shape, n_params
from gpt2budget.specs import ModelSpec

SMALL_MICRO_BATCH = 4  # advice is also offered when at most this micro-batch fits


def flag_text(base: RunOptions, new: RunOptions, model: str | None, base_model: str, level: str = "full",
              nodes: int = 1) -> str:
    """The flags that turn `base` into `new`, as `check` reads them: RunOptions carry the total GPU count, while
    --gpus is per node, so a GPU count is written per node (or with --nodes 1 when it does not divide)."""
    parts = []
    if model and model != base_model:
        parts.append(f"--model {model}")
    names = {"checkpointing": "--checkpointing", "optimizer": "--optimizer", "precision": "--precision",
             "micro_batch": "--micro-batch", "zero": "--zero", "offload": "--offload", "gpus": "--gpus"}
    for field_name, flag in names.items():
        a, b = getattr(base, field_name), getattr(new, field_name)
        if a != b:
            if field_name == "gpus":
                parts.append(f"--gpus {b // nodes}" if b % nodes == 0 else f"--gpus {b} --nodes 1")
                continue
            value = (level if b else "none") if field_name == "checkpointing" else b
            parts.append(f"{flag} {value}")
    return " ".join(parts)


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
                        if change:
                            yield o.with_(**change), ci.model
    for g in (2, 4, 8):
        if g > o.gpus:
            for change in ({"gpus": g, "zero": 3}, {"gpus": g, "zero": 3, "checkpointing": True}):
                yield o.with_(**change), ci.model
    own = n_params(Shape.of(ci.model, ci.model.n_ctx))
    for m in models:
        if n_params(Shape.of(m, m.n_ctx)) < own:
            yield o, m
            if not o.checkpointing:
                yield o.with_(checkpointing=True), m


def advise(ci: CheckInputs, models: Iterable[ModelSpec], base: dict[str, Any], limit: int = 8) -> list[dict[str, Any]]:
    """Changes that make the run fit (or fit a larger micro-batch), ranked by time to train."""
    target = base["target"]
    base_hours = base["requirements"][target]["wall_time_hours"]
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    mem0 = base["memory"]
    if mem0["fits"] and base["throughput"]["bound"] == "cpu dispatch" and mem0["max_micro_batch"] > ci.options.micro_batch:
        # a launch-bound step: the GPU waits for the CPU to issue kernels, so a larger micro-batch (the same
        # tokens per optimizer step, fewer micro-steps) trains faster per token (gpt2budget.steptime)
        # the largest power of two that fits: the usual choice, with headroom left for fragmentation
        opts = ci.options.with_(micro_batch=1 << (mem0["max_micro_batch"].bit_length() - 1))
        r = evaluate(ci._replace(options=opts), with_cost=False)
        hours = r["requirements"][target]["wall_time_hours"]
        if hours < base_hours:
            flags = flag_text(ci.options, opts, ci.model.id, ci.model.id, ci.stack.checkpointing_level, ci.nodes)
            seen.add(flags)
            mem = r["memory"]
            out.append({"flags": flags, "changes": {"micro_batch": opts.micro_batch},
                        "memory": {"allocator_peak_bytes": mem["allocator_peak_bytes"],
                                   "required_bytes": mem["required_bytes"], "max_micro_batch": mem["max_micro_batch"],
                                   "host_bytes": mem["host_bytes"]},
                        "fits": True, "wall_time_hours": hours, "time_factor": hours / base_hours if base_hours else None,
                        "model": ci.model.id})
    if mem0["fits"] and mem0["max_micro_batch"] > SMALL_MICRO_BATCH:
        return out  # it fits with room to spare: only the speed-up is advice
    for opts, model in candidates(ci, list(models)):
        trial = ci._replace(options=opts, model=model)
        try:
            r = evaluate(trial, with_cost=False)
        except Gpt2BudgetError:
            continue
        mem = r["memory"]
        b_max = mem["max_micro_batch"]
        if b_max < 1:
            continue
        if not mem["fits"]:
            # fits only at a smaller micro-batch: the same tokens per step through gradient accumulation
            opts = opts.with_(micro_batch=b_max)
            r = evaluate(trial._replace(options=opts), with_cost=False)
            mem = r["memory"]
            if not mem["fits"]:
                continue
        elif base["memory"]["fits"] and b_max <= base["memory"]["max_micro_batch"]:
            continue  # for a run that already fits, advice must buy a larger micro-batch
        flags = flag_text(ci.options, opts, model.id, ci.model.id, ci.stack.checkpointing_level, ci.nodes)
        if not flags or flags in seen:
            continue
        seen.add(flags)
        hours = r["requirements"][target]["wall_time_hours"]
        out.append({
            "flags": flags,
            "changes": {k: v for k, v in r["inputs"].items() if v != base["inputs"].get(k)},
            "memory": {"allocator_peak_bytes": mem["allocator_peak_bytes"], "required_bytes": mem["required_bytes"],
                       "max_micro_batch": b_max, "host_bytes": mem["host_bytes"]},
            "fits": True,
            "wall_time_hours": hours,
            "time_factor": hours / base_hours if base_hours else None,
            "model": model.id,
        })
    # same hardware and model first, then more GPUs, then a smaller model; each group by time to train
    out.sort(key=lambda a: (a["model"] != ci.model.id, "--gpus" in a["flags"], a["wall_time_hours"], len(a["flags"])))
    return out[:limit]


def needs_advice(result: dict[str, Any]) -> bool:
    mem = result["memory"]
    launch_bound = (result.get("throughput", {}).get("bound") == "cpu dispatch"
                    and mem["max_micro_batch"] > result["inputs"]["micro_batch"])
    return not mem["fits"] or mem["max_micro_batch"] <= SMALL_MICRO_BATCH or launch_bound

"""`plan`: the GPT-2-family model with the lowest predicted loss that fits and finishes in the time (and money)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from gpt2budget.advisor import candidates
from gpt2budget.check import CheckInputs, evaluate
from gpt2budget.cost import cost as run_cost
from gpt2budget.errors import Gpt2BudgetError
from gpt2budget.scaling import optimal_for_compute, predicted_loss
from gpt2budget.shape import Shape, n_params
from gpt2budget.specs import ModelSpec
from gpt2budget.units import fmt_count, fmt_hours

# (n_layer, n_head) of extra shapes that keep GPT-2's proportions: head size 64, n_embd = 64·n_head,
# depth growing with width roughly as in Radford et al. 2019 Table 2.
CUSTOM_SHAPES = ((6, 6), (8, 8), (10, 10), (16, 14), (20, 16), (30, 18), (42, 22), (56, 28), (64, 32), (72, 36))


def custom_models(base: ModelSpec) -> list[ModelSpec]:
    out = []
    for layers, heads in CUSTOM_SHAPES:
        h = 64 * heads
        out.append(replace(base, id=f"gpt2-l{layers}-h{h}", name=f"GPT-2-shaped, {layers} layers x {h}", aliases=(),
                           n_layer=layers, n_head=heads, n_embd=h))
    return out


def plan(ci: CheckInputs, models: Iterable[ModelSpec], budget_usd: float | None) -> dict[str, Any]:
    """Search models x memory-saving options; the best plan has the lowest predicted loss."""
    rule = ci.optimal_rule
    options_tried = 0
    best: dict[str, Any] | None = None
    considered = []
    for model in sorted(models, key=lambda m: n_params(Shape.of(m, m.n_ctx))):
        base = ci._replace(model=model)
        configs = [(base.options, model)] + [c for c in candidates(base, []) if c[0].gpus == ci.options.gpus]
        choice: dict[str, Any] | None = None
        for opts, _ in configs:
            options_tried += 1
            try:
                r = evaluate(base._replace(options=opts), with_cost=True)
            except Gpt2BudgetError:
                continue
            mem = r["memory"]
            if not mem["fits"]:
                if mem["max_micro_batch"] < 1:
                    continue
                opts = opts.with_(micro_batch=mem["max_micro_batch"])
                r = evaluate(base._replace(options=opts), with_cost=True)
            else:
                # use the largest micro-batch that fits (up to 16): fewer, larger steps
                b = min(16, mem["max_micro_batch"])
                if b > opts.micro_batch:
                    opts = opts.with_(micro_batch=b)
                    r = evaluate(base._replace(options=opts), with_cost=True)
            tps = r["compute"]["tokens_per_second"]
            if choice is None or tps > choice["compute"]["tokens_per_second"]:
                choice = r
        if choice is None:
            considered.append({"model": model.id, "n_params": int(n_params(Shape.of(model, model.n_ctx))),
                               "fits": False, "reason": "no option we model makes it fit"})
            continue
        tps = choice["compute"]["tokens_per_second"]
        tokens = tps * ci.duration_s
        reason = "uses the whole duration"
        cost = choice.get("cost", {})
        rate = None
        if budget_usd is not None and cost.get("rent_usd") is not None and cost["gpu_hours"] > 0:
            rate = cost["rent_usd"] / cost["gpu_hours"] * ci.options.gpus  # USD per wall-clock hour
        elif budget_usd is not None and cost.get("electricity_usd") is not None and cost["gpu_hours"] > 0:
            rate = cost["electricity_usd"] / cost["gpu_hours"] * ci.options.gpus
        if rate is not None and budget_usd is not None and rate > 0:
            affordable = budget_usd / rate * 3600 * tps
            if affordable < tokens:
                tokens, reason = affordable, "limited by --budget-usd"
        n = float(choice["model"]["n_params"])
        loss = predicted_loss(n, tokens, rule)
        entry = {
            "model": model.id, "n_params": int(n), "fits": True, "tokens": tokens, "predicted_loss": loss,
            "flags": _flags(choice), "micro_batch": choice["inputs"]["micro_batch"],
            "tokens_per_second": tps, "wall_time_hours": tokens / tps / 3600, "limit": reason,
            "tokens_per_param": tokens / n,
        }
        considered.append(entry)
        if best is None or loss < best["predicted_loss"]:
            best = {**entry, "check": choice}
    sustained = ci.options.gpus * (ci.gpu.peak_flops(ci.options.precision) or 0.0)
    c_avail = best["check"]["compute"]["available_flops"] if best else sustained * ci.duration_s
    if best and best["limit"] == "limited by --budget-usd":
        # the compute the money buys: the hours it pays for at the plan's sustained FLOP/s, not the whole duration
        c_avail *= best["wall_time_hours"] * 3600 / ci.duration_s
    n_opt, d_opt = optimal_for_compute(c_avail, rule)
    result: dict[str, Any] = {"best": None, "considered": considered, "options_tried": options_tried,
                              "compute_optimal": {"rule": rule, "available_flops": c_avail, "n_params": n_opt,
                                                  "tokens": d_opt}}
    if best:
        check = best.pop("check")
        g = ci.gpu
        plan_cost = {"for": "plan", **run_cost(ci.options.gpus, best["wall_time_hours"], g.board_power_w,
                                              g.rent_usd_per_hour, g.launch_price_usd, ci.cost_inputs)}
        result["best"] = {**best, "cost": plan_cost, "memory": check["memory"], "inputs": check["inputs"]}
        binding = "memory" if n_opt > best["n_params"] * 1.5 and any(
            (not c["fits"]) for c in considered) else "compute"
        result["binding_limit"] = binding
        result["reason"] = (
            f"{best['model']} has the lowest predicted loss ({best['predicted_loss']:.3f}) of the models that fit: "
            f"{fmt_count(best['tokens'])} tokens ({best['tokens_per_param']:.0f} per parameter) in "
            f"{fmt_hours(best['wall_time_hours'])}; the compute-optimal size for this budget is {fmt_count(n_opt)} parameters"
            + ("; memory, not compute, is the binding limit" if binding == "memory" else "")
        )
    return result


def _flags(r: dict[str, Any]) -> str:
    i = r["inputs"]
    parts = [f"--model {i['model']}", f"--precision {i['precision']}", f"--optimizer {i['optimizer']}",
             f"--micro-batch {i['micro_batch']}"]
    if i["checkpointing"] != "none":
        parts.append(f"--checkpointing {i['checkpointing']}")
    if i["zero"]:
        parts.append(f"--zero {i['zero']}")
    if i["offload"] != "none":
        parts.append(f"--offload {i['offload']}")
    return " ".join(parts)

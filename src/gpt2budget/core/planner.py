"""`plan`: the GPT-2-family model with the lowest predicted loss that fits and finishes in the time (and money)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from gpt2budget.core.advisor import candidates
from gpt2budget.core.check import CheckInputs, evaluate, fit_of, tokens_per_second
from gpt2budget.core.cost import cost as run_cost
from gpt2budget.core.result import CheckResult, ComputeOptimal, Cost, PlanEntry, PlanResult
from gpt2budget.core.scaling import optimal_for_compute, predicted_loss
from gpt2budget.core.shape import Shape, n_params
from gpt2budget.errors import Gpt2BudgetError, UsageError
from gpt2budget.specs.definitions import FAMILIES, ModelSpec, StackSpec

# (n_layer, n_head) of extra shapes that keep GPT-2's proportions: head size 64, n_embd = 64·n_head,
# depth growing with width roughly as in Radford et al. 2019 Table 2.
CUSTOM_SHAPES = ((6, 6), (8, 8), (10, 10), (16, 14), (20, 16), (30, 18), (42, 22), (56, 28), (64, 32), (72, 36))


def family_models(models: Iterable[ModelSpec], family: str, stack: StackSpec | None = None) -> list[ModelSpec]:
    """The models `plan` ranks: those of one family (`plan --family`), or every model the stack can train for
    "all"."""
    if family != "all" and family not in FAMILIES:
        raise UsageError("--family", f"expected all or one of {', '.join(FAMILIES)}, got {family!r}")
    allowed = stack.families if stack is not None and stack.families is not None else FAMILIES
    if family != "all" and family not in allowed and stack is not None:
        raise UsageError("--family", f"the {stack.id} stack trains {', '.join(allowed)} models only; model family "
                                     f"{family} needs --stack hf or nanogpt")
    return [m for m in models if (family == "all" and m.family in allowed) or m.family == family]


def custom_models(base: ModelSpec) -> list[ModelSpec]:
    return [shaped(base, layers, 64 * heads) for layers, heads in CUSTOM_SHAPES]


def shaped(base: ModelSpec, layers: int, width: int) -> ModelSpec:
    """`base` (GPT-2) with another depth and width, head size 64, named by its shape (gpt2-l16-h896)."""
    return replace(base, id=f"gpt2-l{layers}-h{width}", name=f"GPT-2-shaped, {layers} layers x {width}",
                   aliases=(), n_layer=layers, n_head=width // 64, n_embd=width)


SHAPE_ID = re.compile(r"gpt2-l(\d{1,4})-h(\d{2,6})")


def custom_model(base: ModelSpec, name: str) -> ModelSpec | None:
    """A GPT-2-proportioned model named by its shape, as `plan --custom-shapes` names them (gpt2-l16-h896:
    16 layers of width 896, head size 64), so that the plan's suggestion can be checked as it stands."""
    m = SHAPE_ID.fullmatch(name.strip().lower())
    if not m:
        return None
    layers, width = int(m.group(1)), int(m.group(2))
    if not (1 <= layers <= 1024 and width % 64 == 0 and 64 <= width <= 65536):
        return None
    return shaped(base, layers, width)


def plan(ci: CheckInputs, models: Iterable[ModelSpec], budget_usd: float | None, own_seq: bool = False) -> PlanResult:
    """Search models x memory-saving options; the best plan has the lowest predicted loss. `own_seq`: each model
    trains at its own context (no --seq given), not at the first request's."""
    rule = ci.optimal_rule
    options_tried = 0
    best: tuple[PlanEntry, CheckResult] | None = None
    considered = []
    for model in sorted(models, key=lambda m: n_params(Shape.of(m, m.n_ctx))):
        base = ci._replace(model=model, options=ci.options.with_(seq=model.n_ctx)) if own_seq else \
            ci._replace(model=model)
        configs = [(base.options, model)] + [c for c in candidates(base, []) if c[0].gpus == ci.options.gpus]
        # screen each option on memory and speed alone; evaluate only the fastest in full. Mixed precision (fp32
        # master weights) wins over pure bf16 wherever one fits: pure bf16 can stall convergence
        # (gpt2budget.core.advisor.PURE_BF16_CAVEAT), so it is chosen only for a model nothing else fits
        chosen: tuple[tuple[bool, float], CheckInputs] | None = None
        for opts, _ in configs:
            options_tried += 1
            trial = base._replace(options=opts)
            try:
                fits, b_max, trainable = fit_of(trial)
                if not fits:
                    if b_max < 1:
                        continue
                    trial = trial._replace(options=opts.with_(micro_batch=b_max))
                elif min(16, b_max) > opts.micro_batch:
                    # use the largest micro-batch that fits (up to 16): fewer, larger steps
                    trial = trial._replace(options=opts.with_(micro_batch=min(16, b_max)))
                tps = tokens_per_second(trial, trainable)
            except Gpt2BudgetError:
                continue
            rank = (trial.options.precision != "bf16" or ci.options.precision == "bf16", tps)
            if chosen is None or rank > chosen[0]:
                chosen = (rank, trial)
        choice = evaluate(chosen[1], with_cost=True) if chosen is not None else None
        n_model = int(n_params(Shape.of(model, model.n_ctx)))
        if choice is None:
            considered.append(PlanEntry(model.id, n_model, False))
            continue
        tps = choice.compute.tokens_per_second
        tokens = tps * ci.duration_s
        limit = "uses the whole duration"
        k = choice.cost
        rate = None
        if budget_usd is not None and k is not None and k.gpu_hours:
            if k.rent_usd is not None:
                rate = k.rent_usd / k.gpu_hours * ci.options.gpus  # USD per wall-clock hour
            elif k.electricity_usd is not None:
                rate = k.electricity_usd / k.gpu_hours * ci.options.gpus
        if rate is not None and budget_usd is not None and rate > 0:
            affordable = budget_usd / rate * 3600 * tps
            if affordable < tokens:
                tokens, limit = affordable, "limited by --budget-usd"
        n = float(choice.model.n_params)
        # the run as planned: the tokens it trains on (so `check` with the same flags answers for this run)
        planned = choice.inputs._replace(tokens=tokens)
        entry = PlanEntry(model=model.id, n_params=int(n), fits=True, inputs=planned, tokens=tokens,
                          predicted_loss=predicted_loss(n, tokens, rule), micro_batch=choice.inputs.micro_batch,
                          tokens_per_second=tps, wall_time_hours=tokens / tps / 3600, limit=limit,
                          tokens_per_param=tokens / n)
        considered.append(entry)
        if best is None or (entry.predicted_loss or 0.0) < (best[0].predicted_loss or 0.0):
            best = (entry, choice)
    sustained = ci.options.gpus * (ci.gpu.peak_flops(ci.options.precision) or 0.0)
    c_avail = best[1].compute.available_flops if best else sustained * ci.duration_s
    if best and best[0].limit == "limited by --budget-usd":
        # the compute the money buys: the hours it pays for at the plan's sustained FLOP/s, not the whole duration
        c_avail *= (best[0].wall_time_hours or 0.0) * 3600 / ci.duration_s
    n_opt, d_opt = optimal_for_compute(c_avail, rule)
    optimal = ComputeOptimal(rule, c_avail, n_opt, d_opt)
    if best is None:
        return PlanResult(None, tuple(considered), options_tried, optimal, None, None, None)
    entry, check = best
    g = ci.gpu
    plan_cost = Cost("plan", **run_cost(ci.options.gpus, entry.wall_time_hours or 0.0, g.board_power_w,
                                         g.rent_usd_per_hour, g.launch_price_usd, ci.cost_inputs))
    binding = "memory" if n_opt > entry.n_params * 1.5 and any(not c.fits for c in considered) else "compute"
    return PlanResult(entry, tuple(considered), options_tried, optimal, plan_cost, check.memory, binding)

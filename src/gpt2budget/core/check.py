"""`check`: one configuration evaluated end to end (compute, requirements, memory, cost, verdict).

Pure: takes loaded specs and options, returns a typed result (gpt2budget.core.result). No printing, no I/O, no
sentences: the output layer words the result.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from gpt2budget import SCHEMA_VERSION
from gpt2budget.core.calibration import Calibration
from gpt2budget.core.cost import CostInputs, cost
from gpt2budget.core.flops import (
    SECONDS_PER_HOUR,
    attention_flops_per_token,
    flops_per_token,
    recompute_factor,
    sustained_flops_per_s,
)
from gpt2budget.core.memory import MemoryResult, fit_at, lora_params, memory
from gpt2budget.core.result import (
    CheckResult,
    Compute,
    Cost,
    GpuInfo,
    Inputs,
    Memory,
    ModelInfo,
    Requirement,
    Requirements,
    Throughput,
    Verdict,
)
from gpt2budget.core.scaling import LOSS_CAVEAT, MODERN_RECIPES, optimal_tokens, predicted_loss
from gpt2budget.core.shape import Shape, flops_params, n_params
from gpt2budget.core.step_constants import DEFAULT_STEP_CONSTANTS, StepConstants
from gpt2budget.core.steptime import StepTime, step_time
from gpt2budget.errors import UsageError
from gpt2budget.options import (
    DEFAULT_BATCH_TOKENS,
    DEFAULT_FLOPS_FORMULA,
    DEFAULT_HOST_MEMORY_GIB,
    DEFAULT_OPTIMAL_RULE,
    RunOptions,
)
from gpt2budget.specs.definitions import GpuSpec, ModelSpec, StackSpec

GIB = 2**30
DEFAULT_PARALLEL_EFFICIENCY = 0.9  # see README "Several GPUs": 8-GPU data-parallel runs keep ~90% per GPU


class CheckInputs(NamedTuple):
    """Everything one `check` evaluates: the hardware, model and stack specs, the run options and the budget."""

    gpu: GpuSpec
    model: ModelSpec
    stack: StackSpec
    options: RunOptions
    duration_s: float = 365 * 86400.0
    utilization: float | None = None
    tokens: float | None = None
    flops_formula: str = DEFAULT_FLOPS_FORMULA
    parallel_efficiency: float | None = None  # None: the step-time model's communication term decides
    optimal_rule: str = DEFAULT_OPTIMAL_RULE
    batch_tokens: float = DEFAULT_BATCH_TOKENS
    host_memory_gib: float = DEFAULT_HOST_MEMORY_GIB
    nodes: int = 1
    host_adam_params_per_s: float | None = None  # the host's CPU Adam rate (offload); None: the GPU class's estimate
    cost_inputs: CostInputs = CostInputs()
    calibration: Calibration | None = None  # measured on this GPU by `gpt2budget measure --calibrate`
    micro_batch_auto: bool = False  # --micro-batch auto chose options.micro_batch (largest_fitting_micro_batch)
    torch: str | None = None  # --torch: the PyTorch version whose profile `stack` carries (None: the stack's own)
    step_constants: StepConstants = DEFAULT_STEP_CONSTANTS  # the step-time model's constants (a variant: benchmarks)


def default_precision(gpu: GpuSpec, stack: StackSpec) -> str:
    """The stack's default, falling back to amp-fp16 (no bf16) and then fp32 (no tensor path)."""
    p = stack.default_precision
    if gpu.peak_flops(p) is None and p in ("amp-bf16", "bf16"):
        p = "amp-fp16"
    if gpu.peak_flops(p) is None:
        p = "fp32"
    return p


def unsupported(stack: StackSpec, o: RunOptions) -> tuple[str, str, str, tuple[str, ...]] | None:
    """The first option the stack's code cannot run (its spec's supported_* lists): (flag, value asked, the spec's
    key, what the stack has), or None when it can run them all."""
    for flag, value, key, have in (
            ("--optimizer", o.optimizer, "supported_optimizers", stack.supported_optimizers),
            ("--offload", o.offload, "supported_offload", stack.supported_offload),
            ("--finetune", o.finetune, "supported_finetune", stack.supported_finetune),
            ("--zero", o.zero, "supported_zero", stack.supported_zero)):
        if have is not None and value not in have:
            return flag, str(value), key, tuple(str(h) for h in have)
    return None


def check_options(ci: CheckInputs) -> None:
    o = ci.options
    if ci.stack.families is not None and ci.model.family not in ci.stack.families:
        raise UsageError("--stack", f"{ci.stack.id} trains {', '.join(ci.stack.families)} models only (its code "
                         f"has no other block); model {ci.model.id} is {ci.model.family}: use --stack hf or nanogpt, "
                         "which train every family")
    refused = unsupported(ci.stack, o)
    if refused is not None:
        flag, value, key, have = refused
        raise UsageError(flag, f"the {ci.stack.id} stack's code cannot run {flag} {value}: it has "
                               f"{', '.join(have)} ({key} in its stack spec); use one of those, or another stack")
    if ci.gpu.peak_flops(o.precision) is None:
        raise UsageError("--precision", f"{ci.gpu.name} has no {o.precision} tensor path in its spec "
                         f"(try amp-fp16 or fp32)")
    if o.offload == "params" and o.zero < 3 and o.gpus > 1:
        raise UsageError("--offload", "params offload shards weights: it needs --zero 3 with several GPUs")
    if o.loss not in ci.stack.losses:
        raise UsageError("--loss", f"the {ci.stack.id} stack computes the loss as {', '.join(ci.stack.losses)}, not "
                                   f"{o.loss}")
    if o.finetune == "qlora" and o.precision not in ("amp-bf16", "amp-fp16", "bf16"):
        raise UsageError("--precision", "QLoRA computes in 16 bits: use amp-bf16, amp-fp16 or bf16")


class Timing(NamedTuple):
    """How fast tokens go: sustained FLOP/s over all GPUs, FLOPs per token and any offload transfer time.
    With the step-time model, `sustained` is tokens/s x FLOPs/token x recompute and the offload time is
    inside it (offload_s_per_token is then only reported)."""

    sustained: float  # FLOP/s over all GPUs
    flops_per_token: float
    offload_s_per_token: float

    counted_offload: bool = True

    def seconds(self, tokens: float, hw_factor: float) -> float:
        offload = self.offload_s_per_token if self.counted_offload else 0.0
        return tokens * (self.flops_per_token * hw_factor / self.sustained + offload)


def compute_flops_per_token(ci: CheckInputs, shape: Shape, n: float) -> float:
    o = ci.options
    if o.adapters:
        # Frozen weights skip their weight gradients: forward 2N + input-gradient 2N = 4N per token, plus the
        # adapters' own 6·N_adapter (Hu et al. 2021 §4.2; the backward of a frozen matmul is half its cost).
        base = 4.0 * n + 6.0 * lora_params(shape, o.lora_rank, o.lora_targets)
        if ci.flops_formula == "6n+attention":
            base += attention_flops_per_token(shape.n_layer, shape.q_width, o.seq)
        return base
    return flops_per_token(n, shape.n_layer, shape.q_width, o.seq, ci.flops_formula)


def scratch_costs(ci: CheckInputs, shape: Shape, n: float, per_token: float, timing: Timing, hw: float,
                  peak: float) -> tuple[float, Timing]:
    """FLOPs per token and speed of training this model from scratch (all weights trained), for the recipe rows
    shown beside a LoRA/QLoRA run (full fine-tuning already trains every weight)."""
    o = ci.options
    if not o.adapters:
        return per_token, timing
    full = o._replace(finetune="none", precision="amp-bf16" if o.precision == "bf16" and o.finetune == "qlora"
                      else o.precision)
    n_flop = float(flops_params(Shape.of(ci.model, ci.model.n_ctx)))
    fpt = flops_per_token(n_flop, shape.n_layer, shape.q_width, o.seq, ci.flops_formula)
    if ci.utilization is not None:
        return fpt, Timing(sustained_flops_per_s(o.gpus, peak, ci.utilization, 1.0), fpt, 0.0)
    st = step_time(shape, n, ci.gpu, ci.stack, full, batch_tokens=ci.batch_tokens, nodes=ci.nodes, cal=ci.calibration,
                   host_adam=ci.host_adam_params_per_s, constants=ci.step_constants)
    return fpt, Timing(st.tokens_per_second * fpt * hw, fpt, 0.0, counted_offload=False)


def requirement(tokens: float, per_token: float, timing: Timing, hw: float, duration_s: float, model_n: float,
                rule: str, loss: bool = True, show_rule: bool = False) -> Requirement:
    flops = tokens * per_token
    secs = timing.seconds(tokens, hw)
    return Requirement(
        tokens=tokens, flops=flops, flops_6nd=6.0 * model_n * tokens, hardware_flops=flops * hw,
        ratio=duration_s / secs if secs > 0 else math.inf, wall_time_hours=secs / SECONDS_PER_HOUR,
        fits_in_duration=secs <= duration_s,
        # a from-scratch scaling law says nothing about fine-tuning an already trained model
        predicted_loss=predicted_loss(model_n, tokens, rule) if loss else None, rule=rule if show_rule else None)


class Speed(NamedTuple):
    sustained: float  # FLOP/s over all GPUs, recomputation included
    utilization: float
    utilization_source: str
    parallel_efficiency: float
    timing: Timing


def speed_of(ci: CheckInputs, shape: Shape, n: float, peak: float, per_token: float, hw: float,
             trainable: float) -> tuple[StepTime, Speed]:
    """How fast the run trains: the step-time model's step, and the speed the times follow from (the model's,
    or the old flat formula under --utilization)."""
    o = ci.options
    st = step_time(shape, n, ci.gpu, ci.stack, o, batch_tokens=ci.batch_tokens, nodes=ci.nodes,
                   trainable=trainable, cal=ci.calibration, host_adam=ci.host_adam_params_per_s,
                   constants=ci.step_constants)
    if ci.utilization is not None:
        # --utilization: the old formula, peak x utilization (x parallel efficiency), as the user asked
        eff = (DEFAULT_PARALLEL_EFFICIENCY if ci.parallel_efficiency is None else ci.parallel_efficiency) \
            if o.gpus > 1 else 1.0
        sustained = sustained_flops_per_s(o.gpus, peak, ci.utilization, eff)
        # offload is not FLOPs: its transfer and CPU-Adam time come from the step model's offload term
        return st, Speed(sustained, ci.utilization, "--utilization", eff,
                         Timing(sustained, per_token, st.breakdown["offload"] / st.tokens_per_step))
    # the step-time model (gpt2budget.core.steptime): tokens/s from one optimizer step's seconds
    tps = st.tokens_per_second
    comm = st.breakdown["communication"]
    eff = 1.0 if o.gpus == 1 else (1.0 - comm / st.step_seconds)
    if ci.parallel_efficiency is not None and o.gpus > 1:  # --parallel-efficiency overrides communication
        tps = st.tokens_per_step / ((st.step_seconds - comm) / ci.parallel_efficiency)
        eff = ci.parallel_efficiency
    sustained = tps * per_token * hw
    util = sustained / (o.gpus * peak) if peak > 0 else 0.0
    source = "calibration" if ci.calibration is not None else "step-time model"
    return st, Speed(sustained, util, source, eff,
                     Timing(sustained, per_token, st.breakdown["offload"] / st.tokens_per_step, counted_offload=False))


def fit_of(ci: CheckInputs) -> tuple[bool, int, int]:
    """Whether the run fits (card and host memory), the largest micro-batch that does, and the parameters it
    trains: the memory model alone, for searches (plan) that evaluate in full only what they keep. Raises as
    evaluate does."""
    check_options(ci)
    o = run_options(ci)
    fits, best, pm = fit_at(Shape.of(ci.model, o.seq, ci.stack.vocab_multiple), ci.stack, o, ci.gpu.usable_bytes)
    host_fits = pm.host_bytes <= ci.host_memory_gib * GIB * ci.nodes
    return fits and host_fits, best if host_fits else 0, pm.trainable


def run_options(ci: CheckInputs) -> RunOptions:
    """The run's options with its step sequences, ceil(batch tokens / (seq x GPUs)): whether a micro-batch
    accumulates gradients (micro-steps as gpt2budget.core.steptime.step_time counts them)."""
    o = ci.options
    return o.with_(step_sequences=max(1, math.ceil(ci.batch_tokens / (o.seq * o.gpus))))


def reserved_gpu(g: GpuSpec, reserve_gib: float) -> GpuSpec:
    """The GPU with `reserve_gib` less usable memory (a desktop, another process: --reserve-gib); at least 1 GiB
    must be left. The one definition: check (gpt2budget.api.reserved), plan, compare and sweep use it."""
    import dataclasses

    usable = g.usable_bytes / 2**30
    if usable - reserve_gib < 1:
        raise UsageError("--reserve-gib", f"{reserve_gib:g} GiB leaves {usable - reserve_gib:.2f} GiB of the "
                                          f"{usable:.2f} GiB usable on {g.id}; expected at least 1 GiB left")
    return dataclasses.replace(g, usable_memory_gib=usable - reserve_gib, sources={
        **g.sources, "usable_memory_gib": f"{usable:.2f} GiB usable less --reserve-gib {reserve_gib:g}"})


def largest_fitting_micro_batch(ci: CheckInputs) -> int:
    """`--micro-batch auto`: the largest micro-batch that fits (card memory less any --reserve-gib, and host
    memory), at most the batch's sequences per GPU (batch tokens / seq / GPUs: a larger micro-batch would not
    fill one step), at least 1 (when even 1 does not fit, the verdict says so at 1). Raises as evaluate does."""
    _, best, _ = fit_of(ci)
    o = ci.options
    per_gpu = int(ci.batch_tokens // (o.seq * o.gpus))
    return max(1, min(best, per_gpu))


def tokens_per_second(ci: CheckInputs, trainable: int) -> float:
    """check's compute.tokens_per_second without the rest of the evaluation (`trainable` from fit_of)."""
    o, model, stack = ci.options, ci.model, ci.stack
    shape = Shape.of(model, o.seq, stack.vocab_multiple)
    n = float(n_params(Shape.of(model, model.n_ctx)))
    n_flop = float(flops_params(Shape.of(model, model.n_ctx)))
    hw = recompute_factor(o.checkpointing, stack.checkpointing_level)
    _, speed = speed_of(ci, shape, n, ci.gpu.peak_flops(o.precision) or 0.0,
                        compute_flops_per_token(ci, shape, n_flop), hw, float(trainable))
    return 1.0 / speed.timing.seconds(1.0, hw)


def evaluate(ci: CheckInputs, *, with_cost: bool = True) -> CheckResult:
    check_options(ci)
    o, gpu, model, stack = ci.options, ci.gpu, ci.model, ci.stack
    shape = Shape.of(model, o.seq, stack.vocab_multiple)
    n = float(n_params(Shape.of(model, model.n_ctx)))  # the published model's parameters
    n_flop = float(flops_params(Shape.of(model, model.n_ctx)))  # those that multiply (an untied wte does not)
    peak = gpu.peak_flops(o.precision) or 0.0
    mem, memory_doc, fits = memory_part(ci, shape)
    per_token = compute_flops_per_token(ci, shape, n_flop)
    hw = recompute_factor(o.checkpointing, stack.checkpointing_level)
    st, speed = speed_of(ci, shape, n, peak, per_token, hw, float(mem.trainable_params))
    sustained, util, util_source, eff, timing = speed
    available = sustained * ci.duration_s
    rule = ci.optimal_rule

    finetune_req = custom_req = None
    if o.finetune != "none":
        if ci.tokens is None:
            raise UsageError("--tokens", "fine-tuning needs the size of the fine-tuning set, e.g. --tokens 100M")
        finetune_req = requirement(ci.tokens, per_token, timing, hw, ci.duration_s, n, rule, loss=False)
    # the from-scratch recipes train every weight, whatever the fine-tuning method: their own FLOPs and step
    scratch_per_token, scratch_timing = scratch_costs(ci, shape, n, per_token, timing, hw, peak)
    original = requirement(model.original_tokens, scratch_per_token, scratch_timing, hw, ci.duration_s, n, rule)
    optimal = requirement(optimal_tokens(n, rule), scratch_per_token, scratch_timing, hw, ci.duration_s, n,
                          rule, show_rule=True)
    if ci.tokens is not None and o.finetune == "none":
        custom_req = requirement(ci.tokens, per_token, timing, hw, ci.duration_s, n, rule)
    recipe = MODERN_RECIPES.get(model.id)
    modern = None if recipe is None else requirement(
        recipe.tokens, scratch_per_token, scratch_timing, hw, ci.duration_s, n, rule, loss=False)._replace(
        rule=recipe.name)
    reqs = Requirements(finetune_req, original, optimal, modern, custom_req)
    target = "finetune" if finetune_req else "custom" if custom_req else "original"
    req = reqs.get(target)
    run_cost = None
    if with_cost:
        run_cost = Cost(target, **cost(o.gpus, req.wall_time_hours, gpu.board_power_w, gpu.rent_usd_per_hour,
                                      gpu.launch_price_usd, ci.cost_inputs))
    return CheckResult(
        schema_version=SCHEMA_VERSION,
        inputs=inputs_of(ci, util),
        gpu=GpuInfo(gpu.id, gpu.name, gpu.memory_gib, round(gpu.usable_bytes), peak / 1e12, gpu.segment),
        model=ModelInfo(model.id, model.name, int(n), int(n_params(shape)), model.n_layer, model.n_head,
                        model.n_embd, mem.trainable_params),
        compute=Compute(
            peak_flops_per_gpu=peak, utilization=util, utilization_source=util_source, parallel_efficiency=eff,
            gpus=o.gpus, sustained_flops_per_s=sustained, available_flops=available,
            duration_hours=ci.duration_s / SECONDS_PER_HOUR, flops_per_token=per_token,
            flops_formula=ci.flops_formula, recompute_factor=hw, tokens_per_second=1.0 / timing.seconds(1.0, hw),
            offload_seconds_per_token=timing.offload_s_per_token,
            calibration=ci.calibration.source if ci.calibration is not None else None),
        throughput=throughput_of(st, ci.utilization is not None),
        requirements=reqs,
        memory=memory_doc,
        target=target,
        loss_caveat=LOSS_CAVEAT,
        cost=run_cost,
        verdict=Verdict(bool(fits and req.fits_in_duration), bool(fits), bool(req.fits_in_duration)),
    )


def throughput_of(st: StepTime, overridden: bool) -> Throughput:
    """The step-time model's answer (JSON `throughput`); with --utilization it is shown but not used."""
    return Throughput("utilization override (--utilization)" if overridden else "step-time", st.step_seconds,
                      st.micro_steps, st.tokens_per_step, st.tokens_per_second, st.mfu, st.bound, dict(st.breakdown),
                      st.terms)


def memory_part(ci: CheckInputs, shape: Shape) -> tuple[MemoryResult, Memory, bool]:
    """The memory model's result, its report, and whether the run fits (on the card and in host memory)."""
    return memory_section(ci, memory(shape, ci.stack, run_options(ci), ci.gpu.usable_bytes))


def memory_section(ci: CheckInputs, mem: MemoryResult) -> tuple[MemoryResult, Memory, bool]:
    host_available = ci.host_memory_gib * GIB * ci.nodes
    host_fits = mem.host_bytes <= host_available
    doc = memory_report(mem, ci.options.gpus > 1, host_available, host_fits, ci.stack)
    return mem, doc, mem.fits and host_fits


def memory_report(mem: MemoryResult, per_gpu: bool, host_available: float, host_fits: bool,
                  stack: StackSpec) -> Memory:
    # byte counts are whole bytes in every format (the model's arithmetic is in floats)
    return Memory(
        per_gpu=per_gpu,
        allocator_peak_bytes=round(mem.allocator_peak_bytes),
        required_bytes=round(mem.required_bytes),
        available_bytes=round(mem.available_bytes),
        fits=mem.fits and host_fits,
        max_micro_batch=mem.max_micro_batch if host_fits else 0,
        peak_phase=mem.peak_phase,
        breakdown={k: round(v) for k, v in mem.breakdown.items()},
        phases={k: round(v) for k, v in mem.phases.items()},
        runtime_overhead_bytes=round(mem.runtime_overhead_bytes),
        fragmentation_bytes=round(mem.fragmentation_bytes),
        fragmentation=stack.fragmentation,
        host_bytes=round(mem.host_bytes),
        host_available_bytes=round(host_available),
        host_fits=host_fits,
        host_fallback_required_bytes=round(mem.host_fallback_required_bytes),
    )


def inputs_of(ci: CheckInputs, util: float) -> Inputs:
    o, k = ci.options, ci.cost_inputs
    return Inputs(
        gpu=ci.gpu.id, model=ci.model.id, stack=ci.stack.id, gpus=o.gpus, nodes=ci.nodes,
        precision=o.precision, optimizer=o.optimizer,
        checkpointing=ci.stack.checkpointing_level if o.checkpointing else "none",
        attention=o.attention, dropout=o.dropout, seq=o.seq, micro_batch=o.micro_batch,
        zero=o.zero, offload=o.offload, utilization=util, duration_hours=ci.duration_s / 3600,
        tokens=ci.tokens, flops_formula=ci.flops_formula, parallel_efficiency=ci.parallel_efficiency,
        optimal_rule=ci.optimal_rule, batch_tokens=ci.batch_tokens, host_memory_gib=ci.host_memory_gib,
        host_adam_params_per_s=ci.host_adam_params_per_s,
        finetune=o.finetune, lora_rank=o.lora_rank, lora_targets=o.lora_targets, lora_dropout=o.lora_dropout,
        loss=o.loss,
        average_draw=k.average_draw, pue=k.pue, price_per_kwh=k.price_per_kwh,
        grid_gco2_per_kwh=k.grid_gco2_per_kwh, rent_usd_per_hour=k.rent_usd_per_hour, torch=ci.torch,
    )

"""The formulas behind a result, in words and with the numbers substituted (for the table and --explain)."""

from __future__ import annotations

import math

from gpt2budget.core.check import CheckInputs, run_options
from gpt2budget.core.memory import lora_params, param_bytes, run_phase_model
from gpt2budget.core.result import CheckResult, Requirement
from gpt2budget.core.shape import Shape, flops_params, layer_gemms, layer_params
from gpt2budget.core.trace import Term
from gpt2budget.options import RunOptions
from gpt2budget.units import fmt_bytes, fmt_sci, fmt_seconds


def component_words(opts: RunOptions, stack_layout: str) -> dict[str, str]:
    amp = opts.prec.autocast
    wb = "2 B (bf16)" if opts.prec.pure16 or (amp and stack_layout != "autocast") else "4 B (fp32)"
    opt_words = opts.opt.words
    return {
        "weights": weights_words(opts, wb),
        "master_weights": "fp32 master copy x 4 B (16-bit parameter stacks)",
        "gradients": f"parameters x {wb} (fp32 under autocast)" + (
            f", kept across {opts.micro_steps} micro-steps (accumulation)" if opts.accumulates else ""),
        "optimizer_states": f"{opts.optimizer}: {opt_words} per parameter",
        "optimizer_temporaries": "foreach AdamW: one parameter-sized buffer in step()",
        "weight_casts": "autocast's 16-bit copies of matmul weights, kept for backward",
        "activations": ("per layer: the tensors the stack's checkpointing keeps + one recomputed layer"
                        if opts.checkpointing else "per layer x tokens: tensors saved for backward"),
        "logits": "micro-batch x seq x vocab: logits, fp32 log-softmax and its gradients",
        "communication_buffers": "data-parallel gradient buckets",
    }


def weights_words(opts: RunOptions, wb: str) -> str:
    """What the weights row holds, as memory.param_bytes counts it."""
    if opts.finetune == "lora":
        base = "frozen base x 2 B (bf16) + adapters x 4 B (fp32)"
    elif opts.finetune == "qlora":
        base = "frozen matmul weights x 4.127 bits (NF4 + double quant), the rest x 2 B (bf16) + adapters x 4 B"
    elif opts.offload == "params":
        return "the gathered current and prefetched layer, 16-bit (ZeRO-Infinity keeps the rest in host memory)"
    elif opts.offload == "optimizer":
        base = "parameters x 2 B (16-bit; the fp32 master copy lives in host memory)"
    else:
        base = f"parameters x {wb}"
    if opts.zero >= 3 and opts.gpus > 1:
        base += f", sharded over {opts.gpus} GPUs (ZeRO-3) + the gathered current and prefetched layer"
    return base + ", rounded per tensor by the caching allocator"


def explain_lines(ci: CheckInputs, r: CheckResult) -> list[str]:
    o, c, mem = ci.options, r.compute, r.memory
    shape = Shape.of(ci.model, o.seq, ci.stack.vocab_multiple)
    pb = param_bytes(shape, ci.stack, o.with_(micro_batch=1, gpus=1, zero=0, offload="none"))
    pm = run_phase_model(shape, ci.stack, run_options(ci))
    # --utilization: sustained = GPUs x peak x utilization x efficiency; from the step-time model, the utilization is
    # sustained / (GPUs x peak), communication already in it
    eff = c.utilization_source == "--utilization" and o.gpus > 1
    lines = [
        params_line(shape, r.model.n_params_trained),
        flops_line(ci, shape, c.flops_per_token),
        f"available = GPUs x peak x utilization x duration{' x efficiency' if eff else ''} = {o.gpus} x "
        f"{fmt_sci(c.peak_flops_per_gpu)} x {c.utilization:.3g} x {c.duration_hours * 3600:.4g} s"
        f"{' x ' + format(c.parallel_efficiency, '.2f') if eff else ''} = {fmt_sci(c.available_flops)}",
    ]
    if ci.stack.torch_version is not None:  # the PyTorch the stack's step-time profile describes (--torch)
        lines.append(f"profile = {ci.stack.id}'s step time for PyTorch {ci.stack.torch_version} "
                     f"({ci.stack.sources.get('torch_version', '')})")
    lines += step_time_lines(ci, r)
    duration_s = c.duration_hours * 3600
    for name, req in r.requirements.items():
        lines.append(requirement_line(name, req, duration_s))
    lines.append(f"weights = {fmt_bytes(pb.weights)}, gradients = {fmt_bytes(pb.grads)}, optimizer states = "
                 f"{fmt_bytes(pb.states)}, step temporaries = {fmt_bytes(pb.temps)}, autocast copies = "
                 f"{fmt_bytes(pb.casts_all)} (before sharding)")
    ro = run_options(ci)
    if ro.accumulates and not ci.stack.gradients_persistent:
        lines.append(f"gradients kept across {ro.micro_steps} micro-steps: micro-steps 2..{ro.micro_steps} run their "
                     "forward and backward with every gradient held (AccumulateGrad adds into .grad; zero_grad "
                     "runs after optimizer.step())")
    for ph in pm.fixed:
        fixed = math.fsum(pm.fixed[ph].values())
        slope = math.fsum(pm.per_sample[ph].values())
        lines.append(f"phase {ph}: {fmt_bytes(fixed)} + micro-batch x {fmt_bytes(slope)} = {fmt_bytes(mem.phases[ph])}"
                     f"{'  <- peak' if ph == mem.peak_phase else ''}")
    lines.append(
        f"required = peak x (1 + {mem.fragmentation:.2f} fragmentation) + "
        f"{fmt_bytes(mem.runtime_overhead_bytes)} runtime = "
        f"{fmt_bytes(mem.allocator_peak_bytes)} x {1 + mem.fragmentation:.2f} + "
        f"{fmt_bytes(mem.runtime_overhead_bytes)} = {fmt_bytes(mem.required_bytes)} vs {fmt_bytes(mem.available_bytes)}")
    return lines


def params_line(shape: Shape, n: int) -> str:
    """N with its terms: GPT-2's closed form, or the block's tensors summed (gpt2budget.core.shape)."""
    h, L = shape.n_embd, shape.n_layer
    if shape.family == "gpt2" and shape.n_pos and shape.tied and shape.bias == "all":
        return (f"N = V·h + P·h + L·(12h² + 13h) + 2h = {shape.vocab}·{h} + {shape.n_pos}·{h} + "
                f"{L}·(12·{h}² + 13·{h}) + 2·{h} = {n:,}")
    tables = f"{shape.vocab}·{h}" + ("" if shape.tied else f" + {shape.vocab}·{h} (untied head)")
    final = n - shape.vocab * h * (1 if shape.tied else 2) - shape.n_pos * h - L * layer_params(shape)
    gemms = ", ".join(f"{g.name.split('.')[-1]} {g.k}x{g.n}" for g in layer_gemms(shape))
    return (f"N = embeddings + L x layer + final norm = {tables} + {L} x {layer_params(shape):,} + {final:,} = {n:,}"
            f"  (a layer's matrices: {gemms}; {shape.kv_heads} key/value heads of {shape.hd})")


def flops_line(ci: CheckInputs, shape: Shape, per_token: float) -> str:
    """FLOPs per token as check counts them: 6·N (+ attention), or a frozen base's 4·N + 6·N_adapter."""
    o, attn = ci.options, ci.flops_formula != "6n"
    n_flop = flops_params(Shape.of(ci.model, ci.model.n_ctx))
    untied = "" if shape.tied else "; N without the untied input embedding, a lookup"
    attention = f" + 12 x {shape.n_layer} x {shape.q_width} x {o.seq}" if attn else ""
    if o.adapters:
        adapters = lora_params(shape, o.lora_rank, o.lora_targets)
        return (f"FLOPs/token = 4·N + 6·N_adapter{' + 12·L·h·s' if attn else ''} = 4 x {fmt_sci(n_flop)} + 6 x "
                f"{fmt_sci(adapters)}{attention} = {fmt_sci(per_token)}  (a frozen base runs its forward and its "
                f"input gradients, no weight gradients: Hu et al. 2021{untied})")
    if not untied:
        return (f"FLOPs/token = {'6·N' if not attn else '6·N + 12·L·h·s'} = {fmt_sci(per_token)}"
                f"  (Kaplan et al. 2020{'; PaLM App. B' if attn else ''})")
    return (f"FLOPs/token = {'6·N' if not attn else '6·N + 12·L·h·s'} = 6 x {fmt_sci(n_flop)}{attention} = "
            f"{fmt_sci(per_token)}  (Kaplan et al. 2020{'; PaLM App. B' if attn else ''}{untied})")


def requirement_line(name: str, req: Requirement, duration_s: float) -> str:
    """One recipe's FLOPs and time from its own numbers: a recipe trains at its own speed (a LoRA run's
    from-scratch recipes train every weight), recomputation and any counted offload included."""
    secs = req.wall_time_hours * 3600
    per_token = req.flops / req.tokens if req.tokens else 0.0
    hw = req.hardware_flops / req.flops if req.flops else 1.0
    rate = req.hardware_flops / secs if secs > 0 else 0.0
    return (f"{name}: FLOPs = tokens x FLOPs/token = {fmt_sci(req.tokens)} x {fmt_sci(per_token)} = "
            f"{fmt_sci(req.flops)}; x {hw:.3g} (recompute) = {fmt_sci(req.hardware_flops)} on the GPUs; time = "
            f"{fmt_sci(req.hardware_flops)} / {fmt_sci(rate)} FLOP/s = {fmt_sci(secs)} s = {req.wall_time_hours:.4g} h; "
            f"ratio = duration / time = {duration_s:.4g} s / {fmt_sci(secs)} s = {req.ratio:.3g}")


# How a trace input prints, by its unit (the numbers are the trace's: nothing here works the model out again)
_UNITS = {
    "s": lambda v: fmt_seconds(v),
    "B/s": lambda v: f"{v / 1e9:,.4g} GB/s",
    "FLOP/s": lambda v: f"{v / 1e12:.4g} TFLOP/s",
    "FLOP": lambda v: f"{fmt_sci(v)} FLOPs",
    "share": lambda v: f"{v:.3g}",
    "x": lambda v: f"{v:g}x",
    "count": lambda v: f"{v:,.0f}" if float(v).is_integer() else f"{v:,.4g}",
    "parameters/s": lambda v: f"{fmt_sci(v)} parameters/s",
}


def input_text(name: str, value: float, unit: str) -> str:
    """One trace input as `name value unit`."""
    fmt = _UNITS.get(unit)
    return f"{name} {fmt(value)}" if fmt is not None else f"{name} {value:g} {unit}"


def term_line(t: Term) -> str:
    """A step-time term from its trace: its seconds, its formula, the inputs that went in and their sources."""
    tr = t.trace
    inputs = ", ".join(input_text(*i) for i in tr.inputs)
    return f"{t.name.replace('_', ' ')} = {fmt_seconds(t.seconds)} = {tr.formula}; with {inputs}  ({tr.source})"


def step_time_lines(ci: CheckInputs, r: CheckResult) -> list[str]:
    """The step-time model's terms as its traces give them (gpt2budget.core.steptime); they sum to the step."""
    o, th, c = ci.options, r.throughput, r.compute
    lines = [
        f"micro-steps = ceil(batch tokens / (micro-batch x seq x GPUs)) = ceil({ci.batch_tokens:.0f} / ({o.micro_batch} x "
        f"{o.seq} x {o.gpus})) = {th.micro_steps}",
    ]
    # every term but those that do not apply to the run (one GPU: no communication; no offload), whose trace says so
    lines += [term_line(t) for t in th.terms if t.seconds > 0 or not t.trace.formula.startswith("0:")]
    terms = " + ".join(fmt_seconds(t.seconds) for t in th.terms if t.seconds > 0)
    lines.append(f"step = {terms} = {fmt_seconds(th.step_seconds)}; "
                 f"tokens/s = {th.tokens_per_step:.0f} / {th.step_seconds:.4g} s = {th.tokens_per_second:,.0f}; "
                 f"bound by {th.bound}; MFU = 6·N x tokens/s / (peak x GPUs) = {th.mfu:.1%}")
    if c.utilization_source == "--utilization":
        lines.append("(--utilization given: the times below use peak x utilization instead of this step)")
    return lines

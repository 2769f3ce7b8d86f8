"""The formulas behind a result, in words and with the numbers substituted (for the table and --explain)."""

from __future__ import annotations

import math

from gpt2budget.core.check import CheckInputs, run_options
from gpt2budget.core.memory import lora_params, param_bytes, run_phase_model
from gpt2budget.core.result import CheckResult, Requirement
from gpt2budget.core.shape import Shape, flops_params, layer_gemms, layer_params
from gpt2budget.core.steptime import (
    K_TILE_BYTES,
    UNALIGNED_GEMM_FACTOR_TMA,
    accesses_bytes,
    alignment,
    autocasts,
    bandwidth,
    clock_fraction,
    dim_speeds,
    dispatch_us_of,
    flash_efficiency,
    gemm_ceiling,
    gemm_rate_of,
    host_adam_rate,
    layer_ops,
    operand_bytes,
    ops_per_micro_step,
    padded_dim,
    sm_rate_cap,
    tile_fill,
    uses_tma_gemms,
)
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


def rate_words(ci: CheckInputs) -> str:
    """The GEMM rate and where it comes from (gemm_rate_of's order)."""
    rate, origin = gemm_rate_of(ci.gpu, ci.options.precision, ci.calibration)
    words = {"calibration": "measured by gpt2budget measure --calibrate",
             "sustained": f"the spec's sustained_gemm_tflops, {ci.gpu.sustained_gemm_origin}: power and clock limits "
                          "included",
             "ceiling": f"peak x {gemm_ceiling(ci.gpu, ci.options.precision):.2f}, the fraction GPUs of its kind "
                        f"achieve: Bekman, gpu-fryer, crowd benchmarks"}[origin]
    return f"{rate / 1e12:.4g} TFLOP/s ({words})"


def flash_words(ci: CheckInputs) -> str:
    """Fused attention's FLOPs and the fractions of peak they run at, with their source (steptime.flash_efficiency)."""
    o, kernel = ci.options, ci.stack.step_time.flash_kernel
    fwd, bwd, origin = flash_efficiency(ci.gpu, kernel, o.precision, o.seq)
    name = {"flash1": "FlashAttention-2", "flash2": "FlashAttention-2", "cudnn": "cuDNN"}[kernel]
    source = {"other": "cuDNN's fused attention at head dim 64 on an A100, llm.c PR #378, taken for every GPU but Hopper "
                       "and datacenter Blackwell",
              "fp32": "fp32 runs SDPA's memory-efficient kernel: FlashAttention-2's 35% on an H100, FA3 paper",
              "hopper": f"{name} at head dim 64 and seq {o.seq:,} on an H100, FA3 paper, Figures 5-6",
              "blackwell": f"{name} at head dim 64 and seq {o.seq:,} on a B200, flash-attention #1589 and PR #2605"
              }[origin]
    if kernel == "flash1" and flash_efficiency(ci.gpu, "flash2", o.precision, o.seq).forward != fwd:
        source += ("; x FlashAttention-1 / FlashAttention-2 at this length (PyTorch 2.0-2.1's SDPA kernel; "
                   "flash-attention's FA2 benchmark figures)")
    clock = clock_fraction(ci.gpu, o.precision)
    if clock < 1.0:
        source += f"; at the card's sustained clock, {clock:.2f} of what the fractions assume"
    return (f"causal 2·B·s²·h FLOPs per layer at {fwd:.1%} of peak forward, x2.5 backward at {bwd:.1%} "
            f"({source})")


def dispatch_words(ci: CheckInputs, shape: Shape) -> str:
    """The kernels one micro-step issues and what each costs the CPU (steptime.layer_ops, dispatch_us_of)."""
    o, prof = ci.options, ci.stack.step_time
    ops = layer_ops(ci.stack, o.precision, shape.family)
    recompute = f" + {ops.recompute:g} recompute" if o.checkpointing and ops.recompute else ""
    casts = (f"; {o.precision} runs none of autocast's casts ({prof.autocast_ops_per_layer:g} kernels' worth per pass)"
             if prof.autocast_ops_per_layer and not autocasts(ci.stack, o.precision) else "")
    us, measured = dispatch_us_of(ci.stack, ci.calibration)
    origin = "measured by gpt2budget measure --calibrate" if measured else f"{ci.stack.id}'s profile"
    return (f"{ops_per_micro_step(shape, ci.stack, o):,.0f} kernels per micro-step ({shape.n_layer} layers x "
            f"({ops.forward:g} forward + {ops.backward:g} backward{recompute}) + {prof.ops_fixed:g}{casts}) x "
            f"{us:g} us per kernel ({origin})")


def per_sm_words(ci: CheckInputs) -> str:
    """Whether the stack's kernels run at their rate per SM on this GPU (a stack profile's
    elementwise_gb_per_s_per_sm), in words; empty for stacks whose kernels reach the bandwidth."""
    per_sm, gpu, stack = ci.stack.step_time.elementwise_gb_per_s_per_sm, ci.gpu, ci.stack.id
    if not per_sm:
        return ""
    cap = sm_rate_cap(gpu, ci.stack)
    if cap is None:
        return f"; {stack}'s rate per SM ({per_sm:g} GB/s) is not applied: the GPU spec has no sm_count"
    capped, bw = cap / 1e9, bandwidth(gpu, ci.calibration) / 1e9
    clock = clock_fraction(gpu)
    at = f" x {clock:.2f} sustained clock" if clock < 1.0 else ""
    if capped < bw:
        return (f"; {stack}'s kernels run at {per_sm:g} GB/s per SM: {gpu.sm_count} SMs x {per_sm:g}{at} = {capped:,.0f} "
                f"GB/s, below the {bw:,.0f} GB/s achieved bandwidth (llm.c PRs #600, #378)")
    return (f"; {stack}'s {per_sm:g} GB/s per SM x {gpu.sm_count} SMs{at} = {capped:,.0f} GB/s: the bandwidth "
            f"({bw:,.0f}) binds first")


def step_time_lines(ci: CheckInputs, r: CheckResult) -> list[str]:
    """The step-time model's terms with their numbers (gpt2budget.core.steptime); they sum to the step."""
    o, th, c = ci.options, r.throughput, r.compute
    b = th.breakdown
    prof = ci.stack.step_time
    shape = Shape.of(ci.model, o.seq, ci.stack.vocab_multiple)
    pads, tma_gpu = ci.stack.step_time.matmul_shape_padding, uses_tma_gemms(ci.gpu)
    speeds = [(what, dim, speed, alignment(padded_dim(dim, o.precision, pads), o.precision, tma_gpu))
              for (what, dim), speed in zip((("h", shape.n_embd), ("vocabulary", shape.vocab)),
                                            dim_speeds(ci.gpu, ci.stack, o.precision, shape, ci.calibration),
                                            strict=True)]
    slow = [f"{what} {dim:,} at {speed:.3g}" for what, dim, speed, _ in speeds if speed < 1.0]
    padded = f", padded to 16 bytes by {ci.stack.id} (torch.compile's pad_mm)" if pads and slow else ""
    tma = ("; off 16 bytes, Hopper-class GPUs fall back to Ampere-style kernels: kestrel #143, fitted on our H100 "
           "steps" if tma_gpu and any(tier == UNALIGNED_GEMM_FACTOR_TMA for *_, tier in speeds) else "")
    # under TF32 a dimension whose tier is slower than plain fp32 runs at fp32's rate (dim_speed's floor)
    floor = ("; under TF32 no slower than the fp32 kernel cuBLAS may pick instead"
             if any(speed > tier for _, _, speed, tier in speeds) else "")
    aligned = (f"; dimensions not a multiple of 128 bytes run slower: {', '.join(slow)}{padded} (Bekman; nanoGPT "
               f"77e7e04c{tma}){floor}" if slow else "")
    unfilled = [f"{what} {dim:,} fills {tile_fill(dim):.1%}" for what, dim in (("h", shape.n_embd), ("vocabulary", shape.vocab))
                if tile_fill(dim) < 1.0]
    tiles = (f"; output tiles are 128 wide, so {', '.join(unfilled)} of its tiles (tile quantization: NVIDIA's GEMM "
             f"guide)" if unfilled else "")
    recompute = ""
    if o.checkpointing and ci.stack.checkpointing_level == "full":
        recompute = ("; checkpointing re-runs each layer's forward GEMMs but its last (MLP c_proj: the recompute "
                     "stops once backward's tensors are rebuilt)" if prof.checkpoint_early_stop
                     else "; checkpointing re-runs each layer's forward GEMMs")
    if o.attention == "flash":
        attention = flash_words(ci)
    else:
        fwd, bwd = (accesses_bytes(a, o.precision) for a in (prof.eager_attention_forward, prof.eager_attention_backward))
        attention = (f"eager: QK^T and AV as full GEMMs (x2 backward) + {fwd:g} B forward and {bwd:g} B backward per "
                     f"s x s score element ({ci.stack.id}'s profile) / elementwise bandwidth")
    issue = (f"; eager kernels also pay SM issue time: s/B = 1/bandwidth + 1/({prof.eager_bytes_per_fp32_flop:g} B/FLOP x "
             f"FP32 peak)" if prof.eager_bytes_per_fp32_flop else "")
    acc = accesses_bytes(prof.grad_accumulation, o.precision)
    accumulation = (f", + {th.micro_steps - 1} x gradient accumulation ({acc:g} B per parameter: "
                    f"{ci.stack.id}'s grad_accumulation)" if th.micro_steps > 1 and acc else "")
    lines = [
        f"micro-steps = ceil(batch tokens / (micro-batch x seq x GPUs)) = ceil({ci.batch_tokens:.0f} / ({o.micro_batch} x "
        f"{o.seq} x {o.gpus})) = {th.micro_steps}",
        f"matmul = Σ GEMMs max(2·m·k·n x (1 + {K_TILE_BYTES / operand_bytes(o.precision):g}/k) / (GEMM rate x tile "
        f"fill), bytes / bandwidth) x micro-steps (a k-step per output tile: llm.c PR #378); GEMM rate "
        f"{rate_words(ci)}{aligned}{tiles}{recompute} = "
        f"{fmt_seconds(b['matmul'])}  (roofline)",
        f"attention = {attention} = {fmt_seconds(b['attention'])}",
        f"memory-bound = bytes of {ci.stack.id}'s non-matmul kernels / (bandwidth x S/(S + 1.6 MB), >= 2.5 us each)"
        f"{issue}{per_sm_words(ci)}{accumulation} = {fmt_seconds(b['memory_bound'])}  (cccl #7391)",
        f"cpu dispatch (exposed) = micro-steps x (max over phases of CPU issue + GPU work - GPU work); "
        f"{dispatch_words(ci, shape)} = {fmt_seconds(b['cpu_dispatch'])}",
        f"optimizer = {o.opt.update_bytes:g} B per parameter ({o.optimizer}) / bandwidth = "
        f"{fmt_seconds(b['optimizer'])}",
    ]
    if o.gpus > 1:
        overlap = prof.grad_comm_overlap
        hidden = (f"less the {overlap:.0%} {ci.stack.id} overlaps with backward" if overlap > 0
                  else f"none of it hidden ({ci.stack.id} runs it after the backward)")
        lines.append(f"communication = ring all-reduce 2(g-1)/g x gradient bytes / bus bandwidth, {hidden}"
                     f"{'; ZeRO-3 all-gathers weights per pass' if o.zero >= 3 else ''} = "
                     f"{fmt_seconds(b['communication'])}")
    if o.offload != "none":
        streamed = " + 16-bit weights streamed per pass" if o.offload == "params" else ""
        rate = host_adam_rate(ci.gpu, ci.host_adam_params_per_s)
        source = ("--host-adam-params-per-s" if ci.host_adam_params_per_s else
                  f"a {ci.gpu.segment} host's estimate: DeepSpeed PR #735, #1635")
        lines.append(f"offload = 4 B per parameter over PCIe + CPU Adam at {fmt_sci(rate)} parameters/s ({source})"
                     f"{streamed} = {fmt_seconds(b['offload'])}")
    lines.append(f"step = {' + '.join(fmt_seconds(v) for v in b.values() if v > 0)} = {fmt_seconds(th.step_seconds)}; "
                 f"tokens/s = {th.tokens_per_step:.0f} / {th.step_seconds:.4g} s = {th.tokens_per_second:,.0f}; "
                 f"bound by {th.bound}; MFU = 6·N x tokens/s / (peak x GPUs) = {th.mfu:.1%}")
    if c.utilization_source == "--utilization":
        lines.append("(--utilization given: the times below use peak x utilization instead of this step)")
    return lines

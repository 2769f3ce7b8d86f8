"""Time of one optimizer step from the spec sheet: matmuls, attention, memory-bound passes, CPU dispatch,
the optimizer, communication and offload, each a named term; the terms sum to the step.

One optimizer step is `micro_steps` forward+backward passes (gradient accumulation) and one optimizer
update. Within a micro-step the CPU issues kernels and the GPU runs them asynchronously; the GPU starts a
kernel once the CPU has issued it and the previous kernel has finished, so the micro-step takes the longest
of (CPU time to issue the kernels of the phases before a point + GPU time of the phases after it) over the
points between phases (a tandem queue; the phases are forward layers, the head and loss, backward layers).
Where the CPU part wins the step is dispatch-bound: eager PyTorch at small micro-batches.

Constants and their sources (see also ../shared/reference/throughput_constants.md):
- GEMM rates: what large matmuls sustain, power and clock limits included, per GPU where published (the spec's
  sustained_gemm_tflops: huggingface/gpu-fryer's table, crowd-sourced and MAMF benchmark tables) or derived for a
  power-limited card from a measured one of the same die (StepConstants.sustained_derate_exponent), else a fraction of the dense
  peak (Bekman, *ML Engineering*, "Maximum Achievable Matmul FLOPS"; gpu-fryer's H100; this project's H100 fp32:
  51 TFLOP/s). A card that sustains less than that fraction runs its attention and per-SM-rate kernels slower by
  the same clock derate (clock_fraction).
- GEMM alignment: a dimension off 128 bytes runs at 0.69 (Bekman), off 16 bytes at 0.375 (nanoGPT 77e7e04c), and
  at 0.15 on Hopper-class GPUs, whose TMA kernels then fall back to Ampere-style ones (kestrel #143; fitted on our
  H100 steps); torch.compile pads such dimensions to 16 bytes (the stack's matmul_shape_padding). An output
  dimension off the 128-wide tile grid computes its last tile whole (tile quantization: NVIDIA's GEMM guide).
- memory-bound kernels: 90% of the memory bandwidth for large tensors, half of that at ~1.6 MB
  (NVIDIA/cccl #7391: 2^20 elements ~50%, 2^24 ~84%, 2^28 ~90%), and no kernel under 2.5 us (cccl #7391:
  the smallest kernel's GPU time is 2-4 us); llm.c's own kernels at most ~9.4 GB/s per SM (its layernorm
  kernels on an RTX 3090, an A100 and an H100: llm.c PRs #600 and #378).
- attention: at GPT-2's head dim 64, fused causal attention on Hopper runs at what the FlashAttention-3 paper
  measured on an H100 by sequence length (FlashAttention-2 at 1,024 tokens: 23% of peak forward), on datacenter
  Blackwell at what FlashAttention-2 and cuDNN were measured at on a B200 (flash-attention #1589, PR #2605:
  FlashAttention-2 ~12% of its peak causal forward at 1,024), and at ~37% of an A100's peak forward + backward
  elsewhere (llm.c PR #378's kernel table; the FA2 paper's 50-73% is for larger
  head dims); causal masking halves the work; the backward is 2.5x the forward (five matmuls against two).
- collectives: ring all-reduce moves 2(g-1)/g of the data (Patarasuk & Yuan 2009) at ~80% of NVLink's
  bandwidth (Bekman: A100 235 of 300 GB/s, H100 368 of 450); GeForce cards without peer-to-peer stage
  through host memory at ~12.7 GB/s on PCIe 4.0 (tinygrad open-gpu-kernel-modules PR #22).
- CPU Adam: ~1.4e9 parameters/s on a server (DeepSpeed PR #735: 11.6B parameters in 8.2 s), far less on a
  desktop (DeepSpeed #1635).
- per-stack kernel counts, memory passes and the CPU cost per kernel: configs/stacks/*.yaml (`step_time`).

The constants themselves, each with its source, are fields of one frozen object passed into the model
(gpt2budget.core.step_constants: StepConstants, DEFAULT_STEP_CONSTANTS); the caches are keyed on it.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple

from gpt2budget.core.calibration import Calibration
from gpt2budget.core.shape import Shape, layer_gemms, tensors
from gpt2budget.core.step_constants import DEFAULT_STEP_CONSTANTS, StepConstants
from gpt2budget.core.trace import Term, term
from gpt2budget.options import PRECISIONS, RunOptions
from gpt2budget.specs.definitions import DTYPE_BYTES, FIXED_BYTES, GpuSpec, StackSpec, StepTimeProfile


def tile_fill(d: float, c: StepConstants = DEFAULT_STEP_CONSTANTS) -> float:
    """Share of the tiles along one GEMM output dimension that holds real elements (tile quantization: the
    gemm_tile comment in step_constants)."""
    t = c.gemm_tile if d >= c.gemm_tile else c.gemm_tile / 2
    return d / (math.ceil(d / t) * t)


BOUND_OF_TERM = {"matmul": "compute", "attention": "compute", "memory_bound": "bandwidth",
                 "cpu_dispatch": "cpu dispatch", "optimizer": "bandwidth", "communication": "communication",
                 "offload": "offload"}


class StepTime(NamedTuple):
    """One optimizer step: its seconds, the terms that sum to them, and what bounds it."""

    step_seconds: float
    micro_steps: int
    tokens_per_step: float
    tokens_per_second: float
    mfu: float  # 6·N·tokens / (seconds x peak x GPUs)
    bound: str
    breakdown: dict[str, float]  # seconds per optimizer step by term; the terms sum to step_seconds
    terms: tuple[Term, ...]  # the same terms, each with its trace (formula, inputs, sources)


def host_adam_rate(gpu: GpuSpec, given: float | None, c: StepConstants = DEFAULT_STEP_CONSTANTS) -> float:
    """CPU Adam parameters per second: the user's figure for their host, else the estimate for the host a GPU of
    this kind usually sits in (StepConstants.host_adam_params_per_s)."""
    return given if given else c.host_adam_params_per_s[gpu.segment]


def gemm_ceiling(gpu: GpuSpec, precision: str, c: StepConstants = DEFAULT_STEP_CONSTANTS) -> float:
    path = {"fp32": "fp32", "tf32": "tf32"}.get(precision, "tensor")
    if gpu.vendor == "amd" and path != "fp32":
        return c.amd_tensor_ceiling
    if path == "tensor" and gpu.segment == "datacenter" and gpu.architecture.lower().startswith("ampere"):
        return c.ampere_datacenter_tensor_ceiling
    return c.gemm_ceiling[gpu.segment][path]


def gemm_rate_of(gpu: GpuSpec, precision: str, cal: Calibration | None,
                 c: StepConstants = DEFAULT_STEP_CONSTANTS) -> tuple[float, str]:
    """Achieved FLOP/s of a large GEMM and where it comes from: a rate measured on this machine ("calibration"),
    else one measured for this GPU over minutes ("sustained": the spec's sustained_gemm_tflops), else peak x
    ceiling ("ceiling")."""
    key = PRECISIONS[precision].peak_key
    if cal is not None and cal.gemm_tflops.get(key):
        k_step = 1.0 + c.k_tile_bytes / (operand_bytes(precision) * c.calibration_gemm_shape[1])
        return cal.gemm_tflops[key] * 1e12 * k_step, "calibration"
    sustained = getattr(gpu.sustained_gemm_tflops, key, None) if gpu.sustained_gemm_tflops is not None else None
    if sustained:
        return float(sustained) * 1e12, "sustained"
    # a card measured on another math path runs this one at the same derated clock
    return ((gpu.peak_flops(precision) or 0.0) * gemm_ceiling(gpu, precision, c) * clock_fraction(gpu, precision, c),
            "ceiling")


def clock_fraction(gpu: GpuSpec, precision: str = "amp-bf16", c: StepConstants = DEFAULT_STEP_CONSTANTS) -> float:
    """Share of the clock the model's fractions of peak assume that this card holds under load: its sustained GEMM rate
    (this precision's, else its 16-bit or TF32 one) over peak x the class ceiling gemm_ceiling would otherwise use
    (within StepConstants.ceiling_rounding), at most 1. Power-limited cards (L4 0.79, H100 PCIe 0.90, RTX A6000 0.90) come out
    below 1; GeForce cards, which boost above their rated clock, and the cards the ceilings were measured on, at 1.
    Attention (flash_efficiency) and per-SM-rate kernels (sm_rate_cap) run slower by it, as the GEMMs do."""
    s = gpu.sustained_gemm_tflops
    if s is None:
        return 1.0
    key = PRECISIONS[precision].peak_key
    for k in ((key,) if key != "fp32" else ()) + ("bf16", "fp16", "tf32"):
        rate, peak = getattr(s, k), getattr(gpu.peak_tflops, k)
        if rate and peak:
            expected = peak * gemm_ceiling(gpu, "tf32" if k == "tf32" else "amp-bf16", c) * c.ceiling_rounding
            return min(1.0, float(rate) / float(expected))
    return 1.0


def gemm_rate(gpu: GpuSpec, precision: str, cal: Calibration | None, c: StepConstants = DEFAULT_STEP_CONSTANTS) -> float:
    return gemm_rate_of(gpu, precision, cal, c)[0]


def bandwidth(gpu: GpuSpec, cal: Calibration | None, c: StepConstants = DEFAULT_STEP_CONSTANTS) -> float:
    """Achieved bytes/s of a large memory-bound kernel."""
    if cal is not None and cal.memory_bandwidth_gb_per_s:
        return cal.memory_bandwidth_gb_per_s * 1e9
    return gpu.memory_bandwidth_gb_per_s * 1e9 * c.bandwidth_ceiling


def memory_kernel_s(nbytes: float, bw: float, c: StepConstants = DEFAULT_STEP_CONSTANTS) -> float:
    # cccl #7391: achieved bandwidth falls for small tensors as S / (S + 1.6 MB); a floor of 2.5 us per kernel
    return max(c.kernel_floor_s, (nbytes + c.bandwidth_half_bytes) / bw)


def operand_bytes(precision: str) -> float:
    """Bytes per matmul operand element: fp32 and tf32 keep 4-byte operands, the 16-bit paths 2."""
    return PRECISIONS[precision].operand_bytes


def uses_tma_gemms(gpu: GpuSpec) -> bool:
    """Hopper and datacenter Blackwell: GEMM kernels fed by TMA, which need 16-byte-aligned operands."""
    arch = gpu.architecture.lower()
    return gpu.vendor != "amd" and (arch.startswith("hopper") or "gb100" in arch)


def padded_dim(dim: int, precision: str, pads: bool) -> int:
    """A GEMM dimension as the stack runs it: torch.compile (Inductor's pad_mm, on by default since PyTorch 2.1,
    pytorch/pytorch #101915) zero-pads one that is not a multiple of 16 bytes before calling cuBLAS."""
    if not pads:
        return dim
    vec = 16 // int(operand_bytes(precision))
    return -(-dim // vec) * vec


def alignment(dim: int, precision: str, tma: bool = False, c: StepConstants = DEFAULT_STEP_CONSTANTS) -> float:
    """Speed of a GEMM with this dimension relative to an aligned one: 1.0 on multiples of 128 bytes (and in plain
    fp32, which runs no tensor-core tiles), MISALIGNED on multiples of 16 bytes, else UNALIGNED (the TMA figure
    on Hopper-class GPUs)."""
    if precision == "fp32":
        return 1.0
    nbytes = dim * operand_bytes(precision)
    if nbytes % 128 == 0:
        return 1.0
    if nbytes % 16 == 0:
        return c.misaligned_gemm_factor
    return c.unaligned_gemm_factor_tma if tma else c.unaligned_gemm_factor


def dim_speed(dim: int, gpu: GpuSpec, stack: StackSpec, precision: str, rate: float, fp32_rate: float,
              c: StepConstants = DEFAULT_STEP_CONSTANTS) -> float:
    """alignment() of a dimension as the stack runs it on this GPU. Under TF32 cuBLAS may still pick a plain fp32
    kernel, so a misaligned TF32 GEMM is never slower than fp32 (fp32_rate / rate)."""
    speed = alignment(padded_dim(dim, precision, stack.step_time.matmul_shape_padding), precision,
                      uses_tma_gemms(gpu), c)
    if precision == "tf32" and rate > 0:
        speed = max(speed, min(1.0, fp32_rate / rate))
    return speed


def dim_speeds(gpu: GpuSpec, stack: StackSpec, precision: str, shape: Shape, cal: Calibration | None,
               rate: float | None = None, c: StepConstants = DEFAULT_STEP_CONSTANTS) -> tuple[float, float]:
    """dim_speed of h and of the vocabulary for this GPU, stack and precision (rate: the GEMM rate, if known)."""
    rate = gemm_rate(gpu, precision, cal, c) if rate is None else rate
    fp32_rate = gemm_rate(gpu, "fp32", cal, c) if precision == "tf32" else 0.0
    return (dim_speed(shape.n_embd, gpu, stack, precision, rate, fp32_rate, c),
            dim_speed(shape.vocab, gpu, stack, precision, rate, fp32_rate, c))


def gemm_s(m: float, k: float, n: float, rate: float, bw: float, elem: float, aligned: float,
           c: StepConstants = DEFAULT_STEP_CONSTANTS) -> float:
    """One GEMM (m x k) @ (k x n): the larger of its FLOPs at the achieved rate and its bytes at the achieved
    bandwidth (roofline, Williams et al. 2009), no less than a kernel's floor, slowed by `aligned` (alignment).
    Each output tile also pays about one k-step of fixed cost (pipeline fill, epilogue), so a short reduction
    runs at k / (k + one k-tile) of the rate (StepConstants.k_tile_bytes), and the tiles' unfilled part is computed too
    (tile_fill)."""
    flops_s = 2.0 * m * k * n * (1.0 + c.k_tile_bytes / (elem * k)) / (rate * tile_fill(m, c) * tile_fill(n, c))
    bytes_s = elem * (m * k + k * n + m * n) / bw
    t = max(flops_s, bytes_s, c.kernel_floor_s)
    return t if aligned == 1.0 else t / aligned


class LayerOps(NamedTuple):
    """Kernels one layer launches: forward, backward, and a checkpointed layer's recompute."""

    forward: float
    backward: float
    recompute: float


def autocasts(stack: StackSpec, precision: str) -> bool:
    """Whether the run trains under torch.autocast: an amp precision over fp32 weights."""
    return PRECISIONS[precision].autocast and stack.mixed_precision_layout == "autocast"


_FAMILY_FIELDS = ("ops_per_layer_forward", "ops_per_layer_backward", "recompute_ops_per_layer", "autocast_ops_per_layer",
                  "elementwise_forward", "elementwise_backward")


@lru_cache(maxsize=256)
def profile_for(stack: StackSpec, family: str) -> StepTimeProfile:
    """The stack's step-time profile for a model family: its GPT-2 values with the family's own where it gives them
    (a stack YAML's step_time.families)."""
    import dataclasses

    prof = stack.step_time
    for fp in prof.families:
        if family in fp.families:
            changes = {k: getattr(fp, k) for k in _FAMILY_FIELDS if getattr(fp, k) is not None}
            return dataclasses.replace(prof, **changes)
    return prof


def family_ff_accesses(stack: StackSpec, family: str) -> tuple[dict[str, float], dict[str, float]]:
    """Element accesses over the MLP's hidden width, forward and backward, for a family the stack profiles apart
    (GPT-2's GELU passes are counted in units of h within elementwise_forward/backward)."""
    for fp in stack.step_time.families:
        if family in fp.families:
            return fp.elementwise_ff_forward or {}, fp.elementwise_ff_backward or {}
    return {}, {}


@lru_cache(maxsize=256)
def layer_ops(stack: StackSpec, precision: str, family: str = "gpt2") -> LayerOps:
    """The stack profile's kernels per layer, less autocast's casts where the run does not autocast: an fp32,
    TF32 or pure 16-bit run launches no 16-bit copies of its matmul inputs, weights and biases, nor their casts
    back in backward (PyTorch autocast casts each fp32 operand of an autocast op, caching weights only within
    one forward, so a checkpointed layer's recompute casts again)."""
    prof = profile_for(stack, family)
    drop = 0.0 if autocasts(stack, precision) else prof.autocast_ops_per_layer
    return LayerOps(prof.ops_per_layer_forward - drop, prof.ops_per_layer_backward - drop,
                    max(0.0, prof.recompute_ops_per_layer - drop))


class _Layer(NamedTuple):
    gemm_fwd: float
    gemm_recompute: float  # the forward GEMMs a checkpointed layer's recompute runs
    gemm_bwd: float
    attn_fwd: float
    attn_bwd: float
    mem_fwd: float
    mem_bwd: float


class _Setup(NamedTuple):
    """What a configuration's step time needs that does not change with the micro-batch (cached per group)."""

    rate: float  # achieved GEMM FLOP/s
    bw: float  # achieved bandwidth
    ebw: float  # bandwidth of the stack's elementwise kernels
    elem: float  # bytes per matmul operand element
    aligned: float  # speed factor of h's alignment (1.0: a multiple of 64, or fp32)
    aligned_v: float  # the vocabulary's likewise
    gemm_speeds: tuple[float, ...]  # each layer GEMM's (shape.layer_gemms): the slower of its k and n
    peak: float
    fwd_bytes: float  # elementwise bytes per layer-token, forward
    bwd_bytes: float
    logit_bytes: float  # loss bytes per vocab element and token
    score_fwd_bytes: float  # eager attention: bytes per s x s score element, forward (stack profile)
    score_bwd_bytes: float
    dispatch: float  # CPU seconds per kernel
    c: StepConstants  # the constants it was made with
    k_step: float  # one k-tile in elements (K_TILE_BYTES / operand bytes)
    tile_fill_h: float
    tile_fill_v: float
    layer_weights: float  # elements of the layers' matmul weights (GPT-2: 12h² per layer)
    autocasts: bool
    accum_bytes: float  # bytes per parameter of a gradient accumulation pass
    n_tensors: int  # parameter tensors (the optimizer's foreach lists)
    matmul_source: str  # the sources of the model's choices, for the terms' traces
    memory_source: str
    dispatch_source: str
    eager_source: str
    clock: float  # clock_fraction at the run's precision
    per_sm: float  # the stack's elementwise rate per SM in B/s (0: its kernels fill the bandwidth)
    sm_count: float  # the GPU's SMs (0: not in its spec)


@lru_cache(maxsize=4096)
def _setup_cached(gpu: GpuSpec, stack: StackSpec, precision: str, shape: Shape, c: StepConstants) -> _Setup:
    return _setup(gpu, stack, precision, shape, None, c)


def _setup(gpu: GpuSpec, stack: StackSpec, precision: str, shape: Shape, cal: Calibration | None,
           c: StepConstants) -> _Setup:
    prof = profile_for(stack, shape.family)
    rate, bw = gemm_rate(gpu, precision, cal, c), bandwidth(gpu, cal, c)
    elem = operand_bytes(precision)
    aligned, aligned_v = dim_speeds(gpu, stack, precision, shape, cal, rate, c)
    fp32_rate = gemm_rate(gpu, "fp32", cal, c) if precision == "tf32" else 0.0
    speed: dict[int, float] = {shape.n_embd: aligned}

    def dim(d: int) -> float:
        if d not in speed:
            speed[d] = dim_speed(d, gpu, stack, precision, rate, fp32_rate, c)
        return speed[d]

    ff_fwd, ff_bwd = family_ff_accesses(stack, shape.family)
    return _Setup(
        rate=rate, bw=bw, ebw=elementwise_bandwidth(gpu, stack, precision, bw, c), elem=elem,
        aligned=aligned, aligned_v=aligned_v,
        gemm_speeds=tuple(min(dim(g.k), dim(g.n)) for g in layer_gemms(shape)),
        peak=gpu.peak_flops(precision) or 0.0,
        fwd_bytes=shape.n_embd * accesses_bytes(prof.elementwise_forward, precision)
        + (shape.ff * accesses_bytes(ff_fwd, precision) if ff_fwd else 0.0),
        bwd_bytes=shape.n_embd * accesses_bytes(prof.elementwise_backward, precision)
        + (shape.ff * accesses_bytes(ff_bwd, precision) if ff_bwd else 0.0),
        logit_bytes=shape.vocab * accesses_bytes(prof.logits_accesses, precision),
        score_fwd_bytes=accesses_bytes(prof.eager_attention_forward, precision),
        score_bwd_bytes=accesses_bytes(prof.eager_attention_backward, precision),
        dispatch=dispatch_us_of(stack, cal)[0] * 1e-6,
        c=c,
        k_step=c.k_tile_bytes / elem, tile_fill_h=tile_fill(shape.n_embd, c), tile_fill_v=tile_fill(shape.vocab, c),
        layer_weights=float(shape.n_layer * sum(gm.k * gm.n for gm in layer_gemms(shape))),
        autocasts=autocasts(stack, precision), accum_bytes=accesses_bytes(prof.grad_accumulation, precision),
        n_tensors=len(tensors(shape)),  # GPT-2: 12 per layer + wte, wpe, ln_f's two
        matmul_source=_matmul_source(gpu, stack, precision, shape, cal, c, (aligned, aligned_v)),
        memory_source=_memory_source(gpu, stack, bw, c),
        dispatch_source=_dispatch_source(stack, precision, cal),
        clock=clock_fraction(gpu, precision, c),
        per_sm=(prof.elementwise_gb_per_s_per_sm or 0.0) * 1e9, sm_count=float(gpu.sm_count or 0),
        eager_source=f"eager attention: bytes per s x s score element from {stack.id}'s profile "
                     "(eager_attention_forward, eager_attention_backward); QK^T and AV at the GEMM rate",
    )


def _matmul_source(gpu: GpuSpec, stack: StackSpec, precision: str, shape: Shape, cal: Calibration | None,
                   c: StepConstants, speeds: tuple[float, float]) -> str:
    """Where the matmul term's GEMM rate comes from (gemm_rate_of's order) and which alignment and tile rules
    slow its GEMMs (alignment, dim_speed, tile_fill)."""
    _, origin = gemm_rate_of(gpu, precision, cal, c)
    words = {"calibration": "GEMM rate: measured by gpt2budget measure --calibrate",
             "sustained": f"GEMM rate: the spec's sustained_gemm_tflops, {gpu.sustained_gemm_origin}: power and clock "
                          "limits included",
             "ceiling": f"GEMM rate: peak x {gemm_ceiling(gpu, precision, c):.2f}, the fraction GPUs of its kind "
                        "achieve (Bekman, gpu-fryer, crowd benchmarks)"}[origin]
    words += "; a k-step per output tile: llm.c PR #378; roofline: Williams et al. 2009"
    pads, tma = stack.step_time.matmul_shape_padding, uses_tma_gemms(gpu)
    tiers = [alignment(padded_dim(d, precision, pads), precision, tma, c) for d in (shape.n_embd, shape.vocab)]
    if any(speed < 1.0 for speed in speeds):
        words += "; a dimension not a multiple of 128 bytes runs slower (Bekman; nanoGPT 77e7e04c"
        if tma and c.unaligned_gemm_factor_tma in tiers:
            words += ("; off 16 bytes, Hopper-class GPUs fall back to Ampere-style kernels: kestrel #143, fitted "
                      "on our H100 steps")
        words += ")"
        if pads:
            words += f"; padded to 16 bytes by {stack.id} (torch.compile's pad_mm)"
        if any(speed > tier for speed, tier in zip(speeds, tiers, strict=True)):
            words += "; under TF32 no slower than the fp32 kernel cuBLAS may pick instead"
    if tile_fill(shape.n_embd, c) < 1.0 or tile_fill(shape.vocab, c) < 1.0:
        words += "; output tiles are 128 wide, the last one computed whole (tile quantization: NVIDIA's GEMM guide)"
    return words


def _memory_source(gpu: GpuSpec, stack: StackSpec, bw: float, c: StepConstants) -> str:
    """The sources of the memory-bound term: the stack's passes, the bandwidth curve, and any rate per SM or issue
    time that slows the stack's kernels (elementwise_bandwidth)."""
    prof = stack.step_time
    words = (f"bytes of {stack.id}'s non-matmul kernels (its step_time profile); bandwidth x S/(S + 1.6 MB), at least "
             "2.5 us a kernel: cccl #7391")
    if prof.eager_bytes_per_fp32_flop:
        words += (f"; eager kernels also pay SM issue time: s/B = 1/bandwidth + 1/({prof.eager_bytes_per_fp32_flop:g} "
                  "B/FLOP x FP32 peak)")
    per_sm = prof.elementwise_gb_per_s_per_sm
    if per_sm:
        cap = sm_rate_cap(gpu, stack, c)
        if cap is None:
            words += f"; {stack.id}'s rate per SM is not applied: the GPU spec has no sm_count"
        elif cap < bw:
            words += (f"; {stack.id}'s kernels run at their rate per SM (elementwise_gb_per_s_per_sm x sm_count x clock "
                      "fraction: llm.c PRs #600, #378), below the achieved bandwidth")
        else:
            words += f"; {stack.id}'s rate per SM x sm_count is above the achieved bandwidth, which binds first"
    return words + f"; gradient accumulation: {stack.id}'s grad_accumulation"


def _dispatch_source(stack: StackSpec, precision: str, cal: Calibration | None) -> str:
    """Where the CPU cost per kernel and the kernel counts come from (dispatch_us_of, layer_ops)."""
    _, measured = dispatch_us_of(stack, cal)
    words = ("CPU cost per kernel measured by gpt2budget measure --calibrate" if measured
             else f"CPU cost per kernel: {stack.id}'s profile (dispatch_us_per_op)")
    words += f"; kernels per layer: {stack.id}'s profile, counted from its code"
    if stack.step_time.autocast_ops_per_layer and not autocasts(stack, precision):
        words += f"; {precision} runs none of autocast's casts"
    return words


@lru_cache(maxsize=64)
def _flash_source(origin: str, kernel: str) -> str:
    """Which measurement fused attention's shares of peak come from (flash_efficiency's origin)."""
    name = {"flash1": "FlashAttention-2", "flash2": "FlashAttention-2", "cudnn": "cuDNN"}[kernel]
    fa1 = ("; PyTorch 2.0-2.1's SDPA runs FlashAttention-1: x FA1 / FA2 at this length on sm80 and later in 16 bits "
           "(flash-attention's FA2 benchmark figures)" if kernel == "flash1" else "")
    return {"other": "cuDNN's fused attention at head dim 64 on an A100, llm.c PR #378, taken for every GPU but Hopper "
                     "and datacenter Blackwell",
            "fp32": "fp32 runs SDPA's memory-efficient kernel: FlashAttention-2's 35% on an H100, FA3 paper",
            "hopper": f"{name} at head dim 64 at the run's sequence length on an H100, FA3 paper, Figures 5-6",
            "blackwell": f"{name} at head dim 64 at the run's sequence length on a B200, flash-attention #1589 and "
                         "PR #2605"}[origin] + fa1 + "; backward: five matmuls against the forward's two (FA2)"


def _comm_source(gpu: GpuSpec, stack: StackSpec, nodes: int, cal: Calibration | None) -> str:
    """Where the bus bandwidth and the overlap come from (comm_bus_bytes_per_s)."""
    if cal is not None and cal.allreduce_bus_gb_per_s:
        link = "bus bandwidth measured by gpt2budget measure --calibrate"
    elif gpu.gpu_link_gb_per_s and gpu.gpu_link != "nvlink-bridge":
        link = "bus bandwidth: 80% of the GPU link (Bekman)"
    elif gpu.peer_to_peer is False:
        link = "bus bandwidth: no peer-to-peer, staged through host memory (tinygrad PR #22)"
    else:
        link = "bus bandwidth: 80% of the link (Bekman)"
    if nodes > 1:
        link += "; between nodes one 200 Gb/s InfiniBand adapter per GPU"
    overlap = (f"{stack.id} overlaps it with backward (grad_comm_overlap)" if stack.step_time.grad_comm_overlap > 0
               else f"none of it hidden ({stack.id} runs it after the backward)")
    return f"ring all-reduce: Patarasuk & Yuan 2009; {link}; {overlap}; nccl-tests (latency)"


def dispatch_us_of(stack: StackSpec, cal: Calibration | None) -> tuple[float, bool]:
    """The CPU cost of issuing one kernel, in microseconds, and whether a calibration measured it on this host
    (else the stack profile's, calibrated on our H100 host)."""
    measured = (cal.dispatch_us_per_op or {}).get(stack.id) if cal is not None else None
    return (measured, True) if measured else (stack.step_time.dispatch_us_per_op, False)


def _at_seq(values: tuple[float, ...], seq: int, c: StepConstants = DEFAULT_STEP_CONSTANTS) -> float:
    """A flash_seq row (StepConstants) at `seq`, linear in log2(seq) between the measured lengths (which double), held beyond."""
    x = min(max(math.log2(seq / c.flash_seq[0]), 0.0), len(c.flash_seq) - 1.0)
    i = min(int(x), len(c.flash_seq) - 2)
    return values[i] + (values[i + 1] - values[i]) * (x - i)


class Flash(NamedTuple):
    """Fractions of the dense peak fused causal attention runs at, and which measurement they come from."""

    forward: float
    backward: float
    # "hopper": hopper_flash_tflops (StepConstants) at the length; "blackwell": blackwell_flash_tflops; "fp32": the fp32 path on
    # those; "other": the A100's
    origin: str


@lru_cache(maxsize=1024)
def flash_efficiency(gpu: GpuSpec, kernel: str, precision: str, seq: int, c: StepConstants = DEFAULT_STEP_CONSTANTS) -> Flash:
    """What fused causal attention achieves on this GPU with the stack's kernel at this sequence length (the
    hopper_flash_tflops and blackwell_flash_tflops comments in step_constants give the measurements and the
    assumptions), slowed by the card's clock derate (clock_fraction: a power-limited card runs its attention at its
    sustained clock, as its GEMMs)."""
    if kernel == "flash1":  # FlashAttention-2's rate x FA1 / FA2 at this length (c.flash1_causal_tflops)
        fa2 = flash_efficiency(gpu, "flash2", precision, seq, c)
        pre_ampere = gpu.vendor == "amd" or gpu.architecture.lower().startswith(("volta", "turing", "pascal"))
        if fa2.origin == "fp32" or pre_ampere:
            return fa2
        fa1_row, fa2_row = c.flash1_causal_tflops["ampere" if fa2.origin == "other" else "hopper"]
        ratio = _at_seq(fa1_row, seq, c) / _at_seq(fa2_row, seq, c)
        return Flash(fa2.forward * ratio, fa2.backward * ratio, fa2.origin)
    clock = clock_fraction(gpu, precision, c)
    arch = gpu.architecture.lower()
    blackwell = gpu.vendor != "amd" and "gb100" in arch  # datacenter Blackwell (uses_tma_gemms' test)
    if not (arch.startswith("hopper") or blackwell):
        return Flash(c.flash_efficiency_other * clock, c.flash_efficiency_other * clock, "other")
    if operand_bytes(precision) == 4.0:
        return Flash(c.flash_efficiency_fp32 * clock, c.flash_efficiency_fp32 * clock, "fp32")
    table, ref, origin = ((c.blackwell_flash_tflops, c.b200_dense_tflops, "blackwell") if blackwell else
                          (c.hopper_flash_tflops, c.h100_sxm_dense_tflops, "hopper"))
    causal, full, backward = (_at_seq(row, seq, c) for row in table[kernel])
    return Flash(clock * causal / ref, clock * backward * causal / full / ref, origin)


@lru_cache(maxsize=8192)
def _layer_times(shape: Shape, stack: StackSpec, attention: str, seq: int, su: _Setup, tokens: float,
                 frozen: bool, ops: LayerOps, flash: Flash, dropout: bool = False) -> _Layer:
    """GPU seconds of one transformer layer's forward and backward for `tokens` tokens (cached: a search over
    optimizers, ZeRO stages or offload meets the same layer again and again)."""
    prof = stack.step_time
    T = tokens
    rate, bw, elem, c = su.rate, su.bw, su.elem, su.c
    # the block's matmuls, in forward order (gpt2budget.core.shape.layer_gemms): GPT-2's c_attn h->3h, attn.c_proj
    # h->h, c_fc h->4h, mlp.c_proj 4h->h (Radford et al. 2019); Llama-style q, k, v (skinny under GQA), o, gate, up,
    # down
    fwd = dgrad = wgrad = last = 0.0
    for gm, aligned in zip(layer_gemms(shape), su.gemm_speeds, strict=True):
        k, n = float(gm.k), float(gm.n)
        last = gemm_s(T, k, n, rate, bw, elem, aligned, c)
        fwd += last
        dgrad += gemm_s(T, n, k, rate, bw, elem, aligned, c)
        if not frozen:
            wgrad += gemm_s(k, T, n, rate, bw, elem, aligned, c)
    # PyTorch's non-reentrant checkpoint stops its recompute once the last tensor backward needs is rebuilt
    # (torch.utils.checkpoint, set_checkpoint_early_stop, on by default): autograd saves an op's inputs before
    # running it, so the block's last matmul (the MLP's down projection: a third of GPT-2's forward GEMM FLOPs) and
    # what follows it are never re-run (counted with a dispatch-mode trace of transformers' GPT2Block: 3 of 4 addmm)
    recompute_gemm = fwd - last if prof.checkpoint_early_stop else fwd
    # attention: QK^T and AV, 2·2·B·s²·h FLOPs forward, half of it under the causal mask (FA2 §3.1)
    b, s, q = T / seq, float(seq), float(shape.q_width)
    if attention == "flash":
        eff_fwd, eff_bwd, _ = flash
        flops = 2.0 * b * s * s * q
        a_fwd = max(c.kernel_floor_s, flops / (su.peak * eff_fwd))
        a_bwd = max(c.kernel_floor_s, c.flash_backward_factor * flops / (su.peak * eff_bwd))
    else:  # eager: two batched GEMMs (full s x s, no skipping) and the score tensor's memory traffic, at the
        # bandwidth of the stack's elementwise kernels (eager PyTorch's are capped; compiled ones fuse the chain)
        scores = b * shape.n_head * s * s
        mm = 4.0 * b * s * s * q / rate
        a_fwd = mm + memory_kernel_s(scores * su.score_fwd_bytes, su.ebw, c)
        a_bwd = 2 * mm + memory_kernel_s(scores * su.score_bwd_bytes, su.ebw, c)
    n_gemms = len(su.gemm_speeds)
    fwd_ops = max(1.0, ops.forward - (n_gemms + 1))  # kernels other than the GEMMs (GPT-2: 4) and attention
    bwd_ops = max(1.0, ops.backward - (2 * n_gemms + 1))
    m_fwd = fwd_ops * memory_kernel_s(T * su.fwd_bytes / fwd_ops, su.ebw, c)
    m_bwd = bwd_ops * memory_kernel_s(T * su.bwd_bytes / bwd_ops, su.ebw, c)
    if dropout:
        # dropout is not free. Attention: the fused kernel draws its mask with Philox in the forward and again in the
        # backward (Dao-AILab/flash-attention PR #2439, head dim 64, p = 0.1: +11-16% forward + backward); eager
        # attention drops the s x s probabilities in a pass of their own (read, write, a 1-byte mask). The block's
        # two residual dropouts each read and write an h-wide activation and write a 1-byte mask, and the backward
        # reads the mask and the gradient and writes the gradient (a kernel each, which a compiled stack fuses into
        # its neighbours: nanoGPT #195 measured a compiled A100 step 15% slower at dropout 0.1)
        if attention == "flash":
            a_fwd, a_bwd = a_fwd * c.flash_dropout_slowdown, a_bwd * c.flash_dropout_slowdown
        else:
            scores = T / seq * shape.n_head * float(seq) * float(seq)
            a_fwd += memory_kernel_s(scores * (2 * su.elem + 1), su.ebw, c)
            a_bwd += memory_kernel_s(scores * (2 * su.elem + 1), su.ebw, c)
        drop = 2 * memory_kernel_s(T * shape.n_embd * (2 * su.elem + 1), su.ebw, c)
        m_fwd, m_bwd = m_fwd + drop, m_bwd + drop
    return _Layer(fwd, recompute_gemm, dgrad + wgrad, a_fwd, a_bwd, m_fwd, m_bwd)


def elementwise_bandwidth(gpu: GpuSpec, stack: StackSpec, precision: str, bw: float,
                          c: StepConstants = DEFAULT_STEP_CONSTANTS) -> float:
    """Bytes/s of the stack's non-matmul kernels: the achieved bandwidth, or, for a stack profile that sets
    eager_bytes_per_fp32_flop, that slowed by the SMs' instruction issue, which does not overlap with the memory
    traffic: seconds per byte = 1/bandwidth + 1/(cap x FP32 peak). No shipped stack sets it: on our H100 steps
    the fit prefers none once the odd-vocabulary head runs at the TMA GPUs' unaligned rate.
    A stack whose kernels run at a rate per SM (elementwise_gb_per_s_per_sm: llm.c's) gets no more than that
    rate x the GPU's SMs (the comment at StepConstants.kernel_floor_s; configs/stacks/llmc.yaml gives the measurements)."""
    prof = stack.step_time
    cap = prof.eager_bytes_per_fp32_flop
    if cap:
        bw = 1.0 / (1.0 / bw + 1.0 / (cap * gpu.peak_tflops.fp32 * 1e12))
    sm_cap = sm_rate_cap(gpu, stack, c)
    if sm_cap is not None:
        bw = min(bw, sm_cap)
    return bw


def sm_rate_cap(gpu: GpuSpec, stack: StackSpec, c: StepConstants = DEFAULT_STEP_CONSTANTS) -> float | None:
    """Bytes/s the stack's non-matmul kernels reach at their rate per SM on this GPU, at the card's sustained clock
    (clock_fraction of its 16-bit tensor rate: the rate per SM was measured on cards that hold their clocks); None
    where the stack's kernels fill the bandwidth or the GPU spec gives no sm_count."""
    per_sm = stack.step_time.elementwise_gb_per_s_per_sm
    return per_sm * 1e9 * gpu.sm_count * clock_fraction(gpu, c=c) if per_sm and gpu.sm_count else None


def accesses_bytes(accesses: dict[str, float], precision: str) -> float:
    """Bytes per element from counts of element accesses by dtype role (configs/stacks: `step_time`)."""
    table = DTYPE_BYTES[precision]
    return math.fsum(count * (table[role] if role in table else FIXED_BYTES[role] if role in FIXED_BYTES else
                              (2.0 if role == "amp_half_copy" and PRECISIONS[precision].autocast else 0.0))
                     for role, count in accesses.items())


def newton_schulz(shape: Shape, c: StepConstants = DEFAULT_STEP_CONSTANTS) -> tuple[float, int]:
    """Muon's orthogonalisation per step over the layers' matrices: FLOPs T·(4m²n + 2m³) each (m <= n), and how many
    matrices (see StepConstants.newton_schulz_steps)."""
    flops = 0.0
    for gm in layer_gemms(shape):
        m, n = float(min(gm.k, gm.n)), float(max(gm.k, gm.n))
        flops += c.newton_schulz_steps * (4.0 * m * m * n + 2.0 * m**3)
    return shape.n_layer * flops, shape.n_layer * len(layer_gemms(shape))


def ops_per_micro_step(shape: Shape, stack: StackSpec, o: RunOptions) -> float:
    """Kernels one forward+backward launches, from the stack profile (the optimizer's are counted apart)."""
    ops = layer_ops(stack, o.precision, shape.family)
    recompute = ops.recompute if o.checkpointing else 0.0
    return shape.n_layer * (ops.forward + ops.backward + recompute) + stack.step_time.ops_fixed


def comm_bus_bytes_per_s(gpu: GpuSpec, gpus_per_node: int, nodes: int, cal: Calibration | None,
                         c: StepConstants = DEFAULT_STEP_CONSTANTS) -> float:
    """NCCL bus bandwidth per GPU for the slowest hop of a data-parallel collective."""
    if cal is not None and cal.allreduce_bus_gb_per_s:
        intra = cal.allreduce_bus_gb_per_s * 1e9
    elif gpu.gpu_link_gb_per_s and (gpu.gpu_link != "nvlink-bridge" or gpus_per_node <= 2):
        intra = gpu.gpu_link_gb_per_s * 1e9 * c.link_efficiency
    elif gpu.peer_to_peer is False:
        intra = gpu.host_link_gb_per_s * 1e9 * c.no_p2p_bus_fraction
    else:
        intra = gpu.host_link_gb_per_s * 1e9 * c.link_efficiency
    if nodes > 1:
        return min(intra, c.inter_node_gb_per_s * 1e9 * c.link_efficiency)
    return intra


def step_time(shape: Shape, n_model: float, gpu: GpuSpec, stack: StackSpec, o: RunOptions, *,
              batch_tokens: float, nodes: int = 1, trainable: float | None = None,
              cal: Calibration | None = None, host_adam: float | None = None,
              constants: StepConstants = DEFAULT_STEP_CONSTANTS) -> StepTime:
    """Seconds of one optimizer step of `batch_tokens` tokens over `o.gpus` GPUs (see the module docstring).
    `host_adam`: the host's CPU Adam rate in parameters/s (--host-adam-params-per-s), else the GPU class's.
    `constants`: the model's constants (gpt2budget.core.step_constants); per-stack and per-GPU values come from
    the stack's `step_time` profile and the GPU spec.

    The per-phase GPU and CPU seconds of a micro-step are worked out once (the tandem queue, _micro_step); each
    term of the step is then one function of them that returns its seconds and its trace (gpt2budget.core.trace)."""
    c = constants
    su = (_setup_cached(gpu, stack, o.precision, shape, c) if cal is None
          else _setup(gpu, stack, o.precision, shape, cal, c))
    tokens_micro = float(o.micro_batch * o.seq)
    micro_steps = max(1, math.ceil(batch_tokens / (tokens_micro * o.gpus)))
    n_train = float(trainable if trainable is not None else n_model)
    m = _micro_step(shape, gpu, stack, o, su, tokens_micro, micro_steps, n_train)
    mm, at = matmul_term(m), attention_term(m, gpu)
    terms = (mm, at, memory_bound_term(m, mm.seconds, at.seconds), cpu_dispatch_term(m), optimizer_term(m),
             communication_term(m, gpu, nodes, cal, n_model), offload_term(m, gpu, cal, host_adam, n_model))
    breakdown = {"matmul": mm.seconds, "attention": at.seconds, "memory_bound": terms[2].seconds,
                 "cpu_dispatch": terms[3].seconds, "optimizer": terms[4].seconds, "communication": terms[5].seconds,
                 "offload": terms[6].seconds}
    step = math.fsum(breakdown.values())  # fsum: the same digits on every Python (3.12's sum() compensates)
    g = o.gpus
    tokens_step = tokens_micro * g * micro_steps
    peak = su.peak
    # MFU counts the parameters that multiply: an untied input embedding is a lookup (shape.flops_params)
    n_mfu = n_model - (0.0 if shape.tied else float(shape.vocab * shape.n_embd))
    mfu = 6.0 * n_mfu * tokens_step / (step * peak * g) if step > 0 and peak > 0 else 0.0
    bound_term = max(breakdown, key=breakdown.__getitem__)
    return StepTime(step, micro_steps, tokens_step, tokens_step / step if step > 0 else math.inf, mfu,
                    BOUND_OF_TERM[bound_term], breakdown, terms)


class _MicroStep(NamedTuple):
    """One micro-step's GPU and CPU seconds by phase (forward layers, head and loss, backward layers) and what the
    term functions read beside them: worked out once per step (step_time)."""

    o: RunOptions
    shape: Shape
    stack: StackSpec
    su: _Setup
    lay: _Layer
    flash: Flash
    ops: LayerOps  # kernels per layer, the residual dropouts' included
    micro_steps: int
    tokens_micro: float
    n_train: float  # parameters trained (a frozen base's adapters only)
    recompute: float  # 1.0 under full checkpointing: each layer's forward re-run in backward
    head_fwd: float
    head_bwd: float
    g_fwd: float  # GPU seconds by phase
    g_bwd: float
    gpu_micro: float  # GPU seconds of the micro-step
    c_fwd: float  # CPU seconds (kernels x cost per kernel) by phase
    c_head: float
    c_bwd: float
    micro: float  # the micro-step: the tandem queue's longest path
    accum: float  # one gradient accumulation pass
    accum_bytes: float  # its bytes per parameter


def _micro_step(shape: Shape, gpu: GpuSpec, stack: StackSpec, o: RunOptions, su: _Setup, tokens_micro: float,
                micro_steps: int, n_train: float) -> _MicroStep:
    """The per-phase GPU and CPU seconds of one micro-step, and the tandem queue over them."""
    c = su.c
    prof = profile_for(stack, shape.family)
    rate, bw, dispatch = su.rate, su.bw, su.dispatch
    frozen = o.adapters
    L = shape.n_layer
    ops = layer_ops(stack, o.precision, shape.family)
    flash = flash_efficiency(gpu, prof.flash_kernel, o.precision, o.seq, c)
    lay = _layer_times(shape, stack, o.attention, o.seq, su, tokens_micro, frozen, ops, flash, o.dropout > 0)
    elem, aligned_v = su.elem, su.aligned_v
    h, V = float(shape.n_embd), float(shape.vocab)
    head_fwd = gemm_s(tokens_micro, h, V, rate, bw, elem, aligned_v, c)
    head_bwd = gemm_s(tokens_micro, V, h, rate, bw, elem, aligned_v, c) + \
        (0.0 if frozen else gemm_s(h, tokens_micro, V, rate, bw, elem, aligned_v, c))
    ebw = su.ebw
    # a fused linear cross-entropy (Liger) writes each fp32 logits chunk once, reads it for the softmax and writes
    # its gradient in place: 3 fp32 accesses per logit instead of the stack's loss passes
    logit_bytes = su.logit_bytes if o.loss != "fused-linear" else V * c.fused_loss_accesses * 4.0
    head_mem = memory_kernel_s(tokens_micro * logit_bytes, ebw, c)
    # full checkpointing re-runs each layer's forward in backward; selective (llm.c -r 1) recomputes GELU only:
    # its kernels and their memory traffic (read the 4h pre-activation, write the 4h output) and no matmul
    full_ckpt = o.checkpointing and stack.checkpointing_level == "full"
    recompute = 1.0 if full_ckpt else 0.0
    selective = o.checkpointing and not full_ckpt
    # GPU seconds per micro-step by phase: forward layers, head + loss, backward layers (recompute included)
    g_fwd = L * (lay.gemm_fwd + lay.attn_fwd + lay.mem_fwd)
    g_head = head_fwd + head_bwd + head_mem
    g_bwd = L * (lay.gemm_bwd + lay.attn_bwd + lay.mem_bwd + recompute * (lay.gemm_recompute + lay.attn_fwd + lay.mem_fwd))
    qlora_s = 0.0
    # the layers' matmul weights (GPT-2: 12h² per layer)
    layer_weights = su.layer_weights
    if o.finetune == "qlora":  # NF4 weights dequantized to 16 bits before each forward and backward matmul
        qlora_s = (2 + recompute) * memory_kernel_s(layer_weights * 2.5, bw, c)
        g_bwd += qlora_s * (1 + recompute) / (2 + recompute)
        g_fwd += qlora_s / (2 + recompute)
    # weight casts: autocast makes 16-bit copies of the fp32 matmul weights in every forward (and recompute)
    casts = 0.0
    if su.autocasts:
        casts = (1 + recompute) * memory_kernel_s(layer_weights * 6.0, ebw, c)
        g_fwd += casts / (1 + recompute)
        g_bwd += casts * recompute / (1 + recompute)
    # CPU seconds per micro-step by phase (kernels x the stack's cost per kernel)
    if o.dropout > 0:  # eager stacks launch the residual dropouts as kernels of their own (forward and backward)
        ops = ops._replace(forward=ops.forward + prof.dropout_ops_per_layer,
                           backward=ops.backward + prof.dropout_ops_per_layer)
    c_fwd = L * ops.forward * dispatch
    c_head = prof.ops_fixed * dispatch
    c_bwd = L * (ops.backward + (ops.recompute if o.checkpointing else 0.0)) * dispatch
    if selective:  # the stack's own GELU kernel: its elementwise bandwidth
        g_bwd += L * memory_kernel_s(tokens_micro * shape.ff * 2 * elem, ebw, c)
    # tandem queue: the GPU waits for the CPU up to some point, then works through the rest
    micro = max(g_fwd + g_head + g_bwd, c_fwd + g_head + g_bwd, c_fwd + c_head + g_bwd, c_fwd + c_head + c_bwd)
    gpu_micro = g_fwd + g_head + g_bwd
    # gradient accumulation: after the first micro-step each backward adds into the gradients, as the stack does it
    # (PyTorch's AccumulateGrad: grad += new, a separate pass; llm.c: its GEMMs accumulate with beta = 1)
    accum_bytes = su.accum_bytes
    accum = memory_kernel_s(n_train * accum_bytes, bw, c) if micro_steps > 1 and accum_bytes else 0.0
    return tuple.__new__(_MicroStep, (o, shape, stack, su, lay, flash, ops, micro_steps, tokens_micro, n_train,
                                      recompute, head_fwd, head_bwd, g_fwd, g_bwd, gpu_micro, c_fwd, c_head, c_bwd, micro,
                                      accum, accum_bytes))


# Each term: one function of the micro-step that returns the term's seconds per optimizer step and its trace. The
# inputs' names and units are constants (gpt2budget.core.trace); the sources of choices that depend only on the GPU,
# stack, precision and shape are worked out once per _Setup.
_MATMUL_NAMES = (("micro-steps", "count"), ("layers", "count"), ("layer GEMMs", "s"), ("head GEMMs", "s"),
                 ("GEMM rate", "FLOP/s"), ("k-step", "elements"), ("bandwidth", "B/s"), ("h", "count"),
                 ("h alignment speed", "share"), ("h tile fill", "share"), ("vocabulary", "count"),
                 ("vocabulary alignment speed", "share"), ("vocabulary tile fill", "share"))
_MATMUL_FORMULA = ("micro-steps x (layers x layer GEMMs + head GEMMs); each GEMM (m x k) @ (k x n) takes "
                   "max(2·m·k·n x (1 + k-step/k) / (GEMM rate x tile fill x alignment speed), bytes / bandwidth)")
_RECOMPUTE_WORDS = {  # by the stack's checkpoint_early_stop
    True: "; checkpointing re-runs each layer's forward GEMMs but its last (MLP c_proj: the recompute stops "
                  "once backward's tensors are rebuilt: torch.utils.checkpoint's early stop)",
    False: "; checkpointing re-runs each layer's forward GEMMs"}


def matmul_term(m: _MicroStep) -> Term:
    """The GEMMs: each layer's (forward, backward, a checkpointed layer's recompute) and the head's (gemm_s)."""
    lay, su, shape = m.lay, m.su, m.shape
    layer = lay.gemm_fwd + lay.gemm_bwd + m.recompute * lay.gemm_recompute
    seconds = m.micro_steps * (shape.n_layer * layer + m.head_fwd + m.head_bwd)
    source = su.matmul_source
    if m.recompute:
        source += _RECOMPUTE_WORDS[m.stack.step_time.checkpoint_early_stop]
    return term("matmul", seconds, _MATMUL_FORMULA, _MATMUL_NAMES,
                (m.micro_steps, shape.n_layer, layer, m.head_fwd + m.head_bwd, su.rate, su.k_step, su.bw, shape.n_embd,
                 su.aligned, su.tile_fill_h, shape.vocab, su.aligned_v, su.tile_fill_v), source)


_FLASH_NAMES = (("micro-steps", "count"), ("layers", "count"), ("layer forward", "s"), ("layer backward", "s"),
                ("recomputed forwards", "count"), ("FLOPs per layer", "FLOP"), ("peak", "FLOP/s"),
                ("forward share of peak", "share"), ("backward share of peak", "share"), ("backward factor", "x"),
                ("dropout slowdown", "x"), ("clock fraction", "share"))
_FLASH_FORMULA = ("micro-steps x layers x (layer forward x (1 + recomputed forwards) + layer backward); layer forward "
                  "= causal 2·B·s²·h FLOPs per layer / (peak x forward share of peak) x dropout slowdown, layer "
                  "backward = backward factor x FLOPs per layer / (peak x backward share of peak) x dropout slowdown")
_EAGER_NAMES = (("micro-steps", "count"), ("layers", "count"), ("layer forward", "s"), ("layer backward", "s"),
                ("recomputed forwards", "count"), ("score elements per layer", "count"), ("GEMM rate", "FLOP/s"),
                ("score bytes forward", "B"), ("score bytes backward", "B"), ("dropout bytes", "B"),
                ("elementwise bandwidth", "B/s"))
_EAGER_FORMULA = ("micro-steps x layers x (layer forward x (1 + recomputed forwards) + layer backward); eager: QK^T and "
                  "AV as full GEMMs (4·B·s²·h FLOPs / GEMM rate, x2 backward) + score elements per layer x (score "
                  "bytes forward or backward + dropout bytes) / elementwise bandwidth")


def attention_term(m: _MicroStep, gpu: GpuSpec) -> Term:
    """Attention's QK^T and AV: fused (flash) at the measured share of peak for the GPU, kernel and length, or eager
    as two batched GEMMs and the score tensor's traffic (_layer_times)."""
    lay, su, shape, o = m.lay, m.su, m.shape, m.o
    seconds = m.micro_steps * shape.n_layer * (lay.attn_fwd + lay.attn_bwd + m.recompute * lay.attn_fwd)
    b, s = m.tokens_micro / o.seq, float(o.seq)
    dropout = o.dropout > 0
    if o.attention == "flash":
        c = su.c
        return term("attention", seconds, _FLASH_FORMULA, _FLASH_NAMES,
                    (m.micro_steps, shape.n_layer, lay.attn_fwd, lay.attn_bwd, m.recompute, 2.0 * b * s * s * shape.q_width,
                     su.peak, m.flash.forward, m.flash.backward, c.flash_backward_factor,
                     c.flash_dropout_slowdown if dropout else 1.0, su.clock),
                    _flash_source(m.flash.origin, m.stack.step_time.flash_kernel))
    return term("attention", seconds, _EAGER_FORMULA, _EAGER_NAMES,
                (m.micro_steps, shape.n_layer, lay.attn_fwd, lay.attn_bwd, m.recompute, b * shape.n_head * s * s,
                 su.rate, su.score_fwd_bytes, su.score_bwd_bytes, 2 * su.elem + 1 if dropout else 0.0, su.ebw),
                su.eager_source)


_MEMORY_NAMES = (("micro-steps", "count"), ("GPU time per micro-step", "s"), ("matmul", "s"), ("attention", "s"),
                 ("gradient accumulation", "s"), ("accumulation bytes per parameter", "B"),
                 ("elementwise bandwidth", "B/s"), ("bandwidth", "B/s"), ("half-bandwidth bytes", "B"),
                 ("kernel floor", "s"), ("rate per SM", "B/s"), ("SMs", "count"), ("clock fraction", "share"))
_MEMORY_FORMULA = ("micro-steps x GPU time per micro-step - matmul - attention + (micro-steps - 1) x gradient "
                   "accumulation; each non-matmul kernel takes max(kernel floor, (bytes + half-bandwidth bytes) / "
                   "elementwise bandwidth), a gradient accumulation pass parameters x accumulation bytes per parameter "
                   "at the bandwidth; elementwise bandwidth = min(bandwidth, rate per SM x SMs x clock fraction) where "
                   "the stack's kernels run at a rate per SM")


def memory_bound_term(m: _MicroStep, matmul: float, attention: float) -> Term:
    """The GPU time that is neither matmul nor attention (the stack's non-matmul kernels, the loss over the
    vocabulary, weight casts, QLoRA's dequantization: the micro-step's GPU time less the other two terms), and the
    gradient accumulation passes."""
    su = m.su
    total_gpu = m.micro_steps * m.gpu_micro
    seconds = total_gpu - matmul - attention + (m.micro_steps - 1) * m.accum
    c = su.c
    return term("memory_bound", seconds, _MEMORY_FORMULA, _MEMORY_NAMES,
                (m.micro_steps, m.gpu_micro, matmul, attention, m.accum, m.accum_bytes, su.ebw, su.bw,
                 c.bandwidth_half_bytes, c.kernel_floor_s, su.per_sm, su.sm_count, su.clock), su.memory_source)


_DISPATCH_NAMES = (("micro-steps", "count"), ("micro-step", "s"), ("GPU time per micro-step", "s"),
                   ("kernels per micro-step", "count"), ("layers", "count"), ("forward kernels per layer", "count"),
                   ("backward kernels per layer", "count"), ("recompute kernels per layer", "count"),
                   ("kernels outside the layers", "count"), ("CPU cost per kernel", "us"),
                   ("autocast kernels not launched per layer", "count"))
_DISPATCH_FORMULA = ("micro-steps x (micro-step - GPU time per micro-step); micro-step = max over the points between "
                     "phases of CPU issue before + GPU work after (a tandem queue); CPU issue = kernels x CPU cost per "
                     "kernel, kernels per micro-step = layers x (forward + backward + recompute kernels per layer) + "
                     "kernels outside the layers")


def cpu_dispatch_term(m: _MicroStep) -> Term:
    """The CPU time the GPU waits for: the tandem queue's micro-step less its GPU work."""
    ops, su, prof = m.ops, m.su, m.stack.step_time
    seconds = m.micro_steps * (m.micro - m.gpu_micro)
    recompute = ops.recompute if m.o.checkpointing else 0.0
    L = m.shape.n_layer
    return term("cpu_dispatch", seconds, _DISPATCH_FORMULA, _DISPATCH_NAMES,
                (m.micro_steps, m.micro, m.gpu_micro, L * (ops.forward + ops.backward + recompute) + prof.ops_fixed, L,
                 ops.forward, ops.backward, recompute, prof.ops_fixed, su.dispatch * 1e6,
                 0.0 if su.autocasts else prof.autocast_ops_per_layer), su.dispatch_source)


_OPTIMIZER_NAMES = (("update bytes per parameter", "B"), ("parameters trained", "count"), ("shards", "count"),
                    ("bandwidth", "B/s"), ("kernels", "count"), ("CPU cost per kernel", "us"),
                    ("Newton-Schulz FLOPs per shard", "FLOP"), ("GEMM rate", "FLOP/s"))
_OPTIMIZER_FORMULA = ("max(kernels x CPU cost per kernel, max(kernel floor, (update bytes per parameter x parameters "
                      "trained / shards + half-bandwidth bytes) / bandwidth) + Newton-Schulz FLOPs per shard / GEMM "
                      "rate): once per step, over this GPU's shard")
_OFFLOADED_NAMES = (("offloaded", "count"),)


def optimizer_shards(o: RunOptions, stack: StackSpec) -> int:
    """How many GPUs the optimizer states (and Muon's orthogonalisation) are split over: ZeRO 1-3, or a stack that
    shards them itself (nanochat's DistMuon/DistAdamW)."""
    return o.gpus if (o.zero >= 1 or stack.optimizer_sharded) else 1


def optimizer_term(m: _MicroStep) -> Term:
    """The optimizer update, once per step, over this GPU's shard (ZeRO 1-3 shard the states over the GPUs); an
    offloaded one runs on the CPU (offload_term)."""
    o, su, stack = m.o, m.su, m.stack
    opt = o.opt
    if o.offload != "none":
        return term("optimizer", 0.0, "0: the update runs on the host's CPU (see offload)", _OFFLOADED_NAMES, (1.0,),
                    "ZeRO-Offload (Ren et al. 2021)")
    c = su.c
    shard = optimizer_shards(o, stack)
    groups = math.ceil(su.n_tensors / c.foreach_tensors_per_kernel) if o.optimizer != "adamw-fused" else 1
    opt_ops: float = opt.kernels * groups
    update_s = memory_kernel_s(m.n_train / shard * opt.update_bytes, su.bw, c)
    ns = 0.0
    if o.optimizer == "muon" and not o.adapters:
        ns_flops, matrices = newton_schulz(m.shape, c)
        opt_ops += matrices / shard * (3 * c.newton_schulz_steps + c.newton_schulz_extra_kernels)
        ns = ns_flops / shard
        update_s += ns / su.rate
    seconds = max(opt_ops * su.dispatch, update_s)
    return term("optimizer", seconds, _OPTIMIZER_FORMULA, _OPTIMIZER_NAMES,
                (opt.update_bytes, m.n_train, shard, su.bw, opt_ops, su.dispatch * 1e6, ns, su.rate),
                _OPTIMIZER_SOURCE[o.optimizer == "muon"])


_OPTIMIZER_SOURCE = {False: "bytes per parameter per update: PyTorch's optimizer code, bitsandbytes (options.OPTIMIZERS); "
                            "foreach kernels chunk their tensor lists (multi_tensor_apply, ATen)",
                     True: "bytes per parameter per update: PyTorch's optimizer code (options.OPTIMIZERS); Muon's "
                           "Newton-Schulz T·(4m²n + 2m³) FLOPs per matrix, T = 5 (modded-nanogpt, nanochat)"}
_ONE_GPU_NAMES = (("GPUs", "count"),)
_COMM_NAMES = (("GPUs", "count"), ("gradient bytes", "B"), ("bus bandwidth", "B/s"), ("all-reduce", "s"),
               ("overlap", "share"), ("GPU backward per micro-step", "s"), ("collective latency", "s"),
               ("buckets", "count"), ("micro-steps", "count"), ("passes", "count"), ("all-gather", "s"))
_COMM_FORMULA = ("max(all-reduce - overlap x GPU backward per micro-step, (1 - overlap) x all-reduce) + micro-steps x "
                 "passes x all-gather; all-reduce = collective latency x buckets + 2(GPUs - 1)/GPUs x gradient bytes / "
                 "bus bandwidth (a ring), all-gather = (GPUs - 1)/GPUs x 2 B x parameters / bus bandwidth (ZeRO-3 only)")


def communication_term(m: _MicroStep, gpu: GpuSpec, nodes: int, cal: Calibration | None, n_model: float) -> Term:
    """Data parallel: gradients all-reduced once per step (ring: 2(g-1)/g of the bytes), overlapped with the last
    backward; ZeRO-3 also all-gathers the 16-bit weights for every forward and backward."""
    o, su = m.o, m.su
    g = o.gpus
    if g <= 1:
        return term("communication", 0.0, "0: one GPU", _ONE_GPU_NAMES, (float(g),), "no collective")
    c = su.c
    bus = comm_bus_bytes_per_s(gpu, max(1, g // max(nodes, 1)), nodes, cal, c)
    grad_bytes = m.n_train * (2.0 if su.elem == 2.0 else 4.0)
    ring = 2.0 * (g - 1) / g
    buckets = math.ceil(grad_bytes / (25 * 2**20))  # DDP's 25 MiB gradient buckets
    allreduce = c.collective_latency_s * buckets + ring * grad_bytes / bus
    overlap = m.stack.step_time.grad_comm_overlap  # DDP hides all but its last bucket; llm.c hides none
    seconds = max(allreduce - overlap * m.g_bwd, (1 - overlap) * allreduce)
    passes, gather = 0.0, 0.0
    if o.zero >= 3:
        passes = 2 + m.recompute
        gather = (g - 1) / g * 2.0 * n_model / bus
        seconds += m.micro_steps * passes * gather
    return term("communication", seconds, _COMM_FORMULA, _COMM_NAMES,
                (g, grad_bytes, bus, allreduce, overlap, m.g_bwd, c.collective_latency_s, buckets, m.micro_steps,
                 passes, gather), _comm_source(gpu, m.stack, nodes, cal))


_OFFLOAD_NAMES = (("parameters trained", "count"), ("shards", "count"), ("host link", "B/s"),
                  ("CPU Adam rate", "parameters/s"), ("micro-steps", "count"), ("passes", "count"),
                  ("parameters", "count"))
_OFFLOAD_FORMULA = ("4 B x parameters trained / shards / host link + parameters trained / shards / CPU Adam rate + "
                    "micro-steps x passes x 2 B x parameters / host link (passes: --offload params only)")


def offload_term(m: _MicroStep, gpu: GpuSpec, cal: Calibration | None, host_adam: float | None,
                 n_model: float) -> Term:
    """ZeRO-Offload (Ren et al. 2021): gradients down and parameters up over PCIe, Adam on the CPU; ZeRO-3 offload
    also streams the 16-bit weights in for every pass."""
    o, c = m.o, m.su.c
    if o.offload == "none":
        return term("offload", 0.0, "0: no offload", _OFFLOADED_NAMES, (0.0,), "--offload none")
    shard = optimizer_shards(o, m.stack)
    link = (cal.host_link_gb_per_s * 1e9 if cal is not None and cal.host_link_gb_per_s
            else gpu.host_link_gb_per_s * 1e9 * c.host_copy_efficiency)
    measured = cal is not None and bool(cal.host_link_gb_per_s)
    n_shard = m.n_train / shard
    adam = host_adam_rate(gpu, host_adam, c)
    seconds = 4.0 * n_shard / link + n_shard / adam
    passes = 0.0
    if o.offload == "params":  # ZeRO-3 offload streams the 16-bit weights in for every pass
        passes = 2 + m.recompute
        seconds += m.micro_steps * passes * 2.0 * n_model / link
    source = ("CPU Adam: --host-adam-params-per-s" if host_adam else
              f"CPU Adam: a {gpu.segment} host's estimate: DeepSpeed PR #735, #1635") + \
        ("; host link: measured by gpt2budget measure --calibrate" if measured else
         "; host link: the spec's PCIe at 80% (pinned copies: Bekman)")
    return term("offload", seconds, _OFFLOAD_FORMULA, _OFFLOAD_NAMES,
                (m.n_train, shard, link, adam, m.micro_steps, passes, n_model), source)

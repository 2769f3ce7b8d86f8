"""The step-time model's constants (gpt2budget.core.steptime) in one frozen object passed into the model.

`step_time(..., constants=...)` and every helper that reads one of these takes the object, and the model's caches
are keyed on it, so a caller can evaluate a variant (`dataclasses.replace(DEFAULT_STEP_CONSTANTS, ...)`, as
benchmarks/time_accuracy.py does to refit a constant) without patching module globals or clearing caches.

What varies by stack or by GPU is not here: a stack's kernel counts, memory passes, CPU cost per kernel, overlap,
padding (configs/stacks/*.yaml `step_time`, StackSpec.step_time) and a GPU's peaks, bandwidth, links, sustained GEMM
rate and SM count (configs/gpus/*.yaml, GpuSpec) stay in the specs; these are the constants that hold across them.

Each field names its source in the comment above or beside it (moved from steptime.py). An object is hashed and
compared by identity (its tables are read-only mappings): a variant is its own cache key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


def _frozen(table: dict[str, Any]) -> Mapping[str, Any]:
    """A read-only view of a constants table (nested tables too)."""
    return MappingProxyType({k: _frozen(v) if isinstance(v, dict) else v for k, v in table.items()})


@dataclass(frozen=True, eq=False, slots=True)
class StepConstants:
    """The constants of the step-time model (see the module docstring); DEFAULT_STEP_CONSTANTS holds the shipped
    values."""

    # Achieved fraction of the dense peak for large GEMMs sustained over a training run, by kind of GPU and by math
    # path, where a GPU spec has no measured sustained_gemm_tflops. datacenter: an H100 SXM sustains bf16 ~730 of 989.4
    # and tf32 ~373 of 494.7 over minutes at its 700 W (huggingface/gpu-fryer's reference table: 0.74, 0.75), below the
    # 794 and 414 this project measured in short bursts; fp32 51/67 = 0.76 (ours; CUDA cores draw less power);
    # consumer: RTX 4090 bf16 160-173 of 165.2 (~1.0: boost above the rated clock), tf32 86 of 82.6, fp32 46-56
    # of 82.6 (zzc0721/torch-performance-test-data, via throughput_constants.md §1); workstation: between.
    gemm_ceiling: Mapping[str, Mapping[str, float]] = field(default_factory=lambda: _frozen({
        "datacenter": {"tensor": 0.74, "tf32": 0.75, "fp32": 0.76},
        "consumer": {"tensor": 1.00, "tf32": 1.00, "fp32": 0.62},
        "workstation": {"tensor": 0.90, "tf32": 0.90, "fp32": 0.68},
    }))
    # A100s reach more of their peak than H100s (Bekman: A100 SXM 271 of 312 TFLOP/s bf16 = 0.87; gpu-fryer, sustained
    # over minutes: ~270). Checked on llm.c PR #378's A100 kernel table (GPT-2 124M, B 24 x T 1024, Nsight Compute at
    # the 1,095 MHz base clock): its 147 GEMMs, 1.82e13 FLOPs, took 88.62 ms, 0.85 of that clock's dense peak; with
    # this ceiling and the k-step cost below the model gives 0.84 for the same step (69.9 ms at 1,410 MHz).
    ampere_datacenter_tensor_ceiling: float = 0.87
    # AMD Instinct under PyTorch/hipBLASLt: an estimate (no measurement of ours); stated in the output's source.
    amd_tensor_ceiling: float = 0.55
    # Power-limited cards without a published GEMM measurement carry a sustained_gemm_tflops derived from a measured card
    # of the same die (configs/gpus, sustained_gemm_origin: derived): the measured card's fraction of its dense peak, times
    # (this card's board power per SM / the measured card's) ** sustained_derate_exponent. CMOS dynamic power goes as
    # f x V^2 and DVFS raises V about in step with f, so a power-capped clock goes as the cube root of the power per SM.
    # Checked on pairs measured in the same seconds-long benchmark (zzc0721/torch-performance-test-data): the L40S's 0.743
    # of peak at 2.46 W per SM predicts the L4's 0.586 at 1.24 W per SM within 1%; the H100 SXM's 0.806 at 5.30 W per SM
    # predicts the H100 PCIe's 0.656 at 3.07 as 0.67. (Linear in power would give 0.37 for the L4.) The configs hold the
    # result; tests/test_sustained_rates.py recomputes each derived card from its sibling with this exponent.
    sustained_derate_exponent: float = 1.0 / 3.0
    # The class ceilings above are measurements rounded (H100 SXM 730/989.4 = 0.738 -> 0.74; A100 SXM 271/312 -> 0.87), so
    # a card whose sustained rate is within this share of peak x ceiling is a card the ceiling describes: clock_fraction
    # is its sustained rate / (peak x ceiling x CEILING_ROUNDING), at most 1.
    ceiling_rounding: float = 0.98
    # A GEMM dimension that is not a multiple of 128 bytes (64 bf16 elements) misses the tensor-core tiles: Bekman
    # measured an H100 GEMM at 273 TFLOP/s against 398 after a 22-element change of one dimension (0.69). One that is
    # not even a multiple of 16 bytes (8 bf16 or 4 tf32 elements) also loses the vectorized loads: nanoGPT's odd
    # 50,257-token head took ~40% of a step on an A100 and padding it to 50,304 made the step ~25% faster (nanoGPT
    # commit 77e7e04c), so the head ran (0.75 - 0.6) / 0.4 = 0.375 of its padded speed (0.5 if "25% faster" meant
    # 1.25x the speed). (Karpathy's 2024 build-nanogpt video saw only ~3%, 96 to 93 ms, from the same padding: the
    # penalty depends on the cuBLAS kernel chosen, so this is the cautious figure.)
    misaligned_gemm_factor: float = 0.69
    unaligned_gemm_factor: float = 0.375
    # Hopper and datacenter Blackwell GEMMs (wgmma / tcgen05 fed by TMA) need 16-byte-aligned operands; without them
    # cuBLAS falls back to Ampere-style mma.sync kernels with narrow loads, which use a smaller share of these GPUs'
    # peak: m87-labs/kestrel PR #143 timed a 4-element-aligned bf16 GEMM on Hopper 3.5x slower in such a kernel
    # (cutlass_80 ...align2, 98 TFLOP/s at a locked 1.2 GHz, ~15% of the clock's dense peak) than in an sm90 one; an
    # odd dimension (align1) loads half as much per instruction again. Calibrated on this project's H100 steps (eager
    # transformers, whose head runs over the odd 50,257 vocabulary; benchmarks/time_accuracy.py fits it per fold):
    # 0.15 of the sustained rate, ~110 TFLOP/s (11% of the dense peak, below kestrel's align2 15%); held out, the
    # H200's GPU-bound Hugging Face steps agree (median 8%, worst 14%).
    unaligned_gemm_factor_tma: float = 0.15
    # A GEMM's output tiles each pay a fixed cost of about one 128-byte k-step (64 bf16 elements: filling the
    # pipeline, the epilogue), so a GEMM with a short reduction dimension k runs at k / (k + 64) of the large-GEMM rate.
    # Measured: llm.c PR #378's Nsight Compute table (an A100, GPT-2 124M at B 24) has the QKV GEMM (k = 768; 1,728
    # tiles of 256 x 128, a whole number of waves on 108 SMs) keep its tensor pipes 79.8% busy, against ~87% for large
    # square GEMMs (Bekman): 768 / (768 + K0) = 0.798 / 0.87 gives K0 = 69 elements.
    k_tile_bytes: float = 128.0
    # cuBLAS covers a GEMM's m x n output with thread-block tiles of 128 or 256 elements a side for large GEMMs (NVIDIA,
    # Matrix Multiplication Background User's Guide, 2023, section 2.3), and a dimension that is not a multiple of the tile
    # still computes the whole last tile: tile quantization (same guide, section 3.1; Bekman, ML Engineering,
    # "Tile and wave quantization"). We count 128-wide tiles (64 for a dimension under 128, which smaller tiles serve):
    # GPT-2 XL's h = 1,600 = 12.5 x 128 fills 96% of its tiles; 768, 1,024 and 1,280 fill them exactly. Wave
    # quantization (the last wave of tiles leaving SMs idle) is not counted: cuBLAS splits long reductions over more
    # tiles (split-K), and llm.c PR #378's 147 GEMMs, its 12 splitKreduce kernels among them, ran at 0.85 of the
    # clock's peak, the model's rate without it (0.84, above).
    gemm_tile: int = 128

    # `measure --calibrate` times one GEMM at GPT-2 XL's c_fc shape (tokens x k -> n): its rate carries that shape's
    # k-step cost, which gemm_s adds back per GEMM, so the calibration is read as the large-GEMM rate it implies
    calibration_gemm_shape: tuple[int, int, int] = (16384, 1600, 6400)
    bandwidth_ceiling: float = 0.90  # cccl #7391/#9210: 87-93% for >= 2^28 elements
    # cccl #7391: 2^20 bf16 elements (2 MB) reach ~50%: S/(S + 1.6 MB) x 0.9
    bandwidth_half_bytes: float = 1.6e6
    kernel_floor_s: float = 2.5e-6  # cccl #7391: the smallest kernel's GPU time is 2-4 us
    # A kernel that keeps few bytes in flight per SM (a warp per row, reductions between loads) cannot fill a GPU whose
    # bandwidth is high for its SM count (Little's law: bandwidth = bytes in flight / latency), so it runs at a rate per
    # SM whatever the card's bandwidth: llm.c's layernorm forward ran at 9.4 GB/s per SM on an RTX 3090 (773 GB/s, 83% of
    # its bandwidth) and at 1,244 GB/s on an H100 (9.4 per SM and 37% of the bandwidth on an SXM card, 10.9 and 62% on a
    # PCIe one; llm.c PR #600), and at 8.8-10.0 per SM on an A100 (PR #378's table). A
    # stack profile whose kernels behave so sets elementwise_gb_per_s_per_sm (llm.c); PyTorch's vectorized elementwise
    # kernels and Triton's fill the bandwidth (our H100 and H200 steps).
    # Fused (flash) attention at GPT-2's head dim 64. On an A100, cuDNN's ran forward + backward at 37% of peak: 18.31 ms
    # for 24 kernels (1.62 TFLOP; B 24 x T 1024, 12 layers) under Nsight Compute's base clock (1095 of 1410 MHz) in the
    # kernel table of karpathy/llm.c PR #378; we use it for every GPU but the Hopper class (the FA2 paper's 50-73% is for
    # larger head dims). On Hopper-class GPUs, in 16 bits: TFLOP/s measured on an H100 SXM5 by the FlashAttention-3 paper
    # (Shah et al. 2024, arXiv 2407.08608, Figures 5 and 6, head dim 64) at sequence lengths 512 to 16k: forward with the
    # causal mask, forward without it, and backward (without it), for FlashAttention-2 (the flash kernel of PyTorch's
    # SDPA) and for cuDNN (llm.c's): the stack's `flash_kernel`. Short causal sequences use the GPU least: at GPT-2's
    # 1,024 FlashAttention-2 runs its causal forward at 229 TFLOP/s, 23% of the dense peak, not the ~35% it reaches on
    # long sequences. The causal backward is taken as the backward scaled by the forward's causal/non-causal ratio (the
    # paper plots no causal backward). flash-attention's own benchmark on an H100 agrees without the mask: FA2 forward 295
    # and backward 239 TFLOP/s at 1,024 (Dao-AILab/flash-attention PR #2688). On Hopper, fp32 inputs cannot use these
    # kernels (SDPA's memory-efficient kernel runs them): left at 35% of the fp32 peak, FlashAttention-2's overall H100
    # figure, which our fp32 H100 steps bear out.
    flash_efficiency_other: float = 0.37
    flash_efficiency_fp32: float = 0.35
    flash_seq: tuple[int, ...] = (512, 1024, 2048, 4096, 8192, 16384)
    hopper_flash_tflops: Mapping[str, tuple[tuple[float, ...], ...]] = field(default_factory=lambda: _frozen({
        # (causal forward, forward, backward) at flash_seq, on an H100 SXM5
        "flash2": ((180, 229, 262, 284, 295, 299), (282, 306, 318, 321, 322, 324), (198, 238, 264, 279, 287, 291)),
        "cudnn": ((225, 288, 334, 363, 379, 388), (335, 373, 395, 408, 412, 413), (266, 348, 395, 417, 432, 433)),
    }))
    # the 16-bit dense peak the paper's figures are read against (H100 whitepaper)
    h100_sxm_dense_tflops: float = 989.4
    # Datacenter Blackwell (B200, GB100), 16 bits, head dim 64, TFLOP/s at flash_seq; (causal forward, forward, backward)
    # as hopper_flash_tflops. flash2: FlashAttention-2 2.7.4.post1 (the kernel PyTorch's SDPA runs first: SDPA's fixed
    # priority puts flash before cuDNN, huggingface/transformers PR #48163), benchmarks/benchmark_flash_attention.py on a
    # B200 with torch 2.8.0.dev20250408+cu128 (Dao-AILab/flash-attention issue #1589, "benchmark is low on B200": it runs
    # Ampere-style mma.sync kernels, ~15% of the B200's peak): forward 308.40, 359.30, 380.99, 306.94, 343.07, 379.44 and
    # backward 243.05, 280.64, 301.61, 314.71, 329.09, 333.95 without the mask; the causal forward is the forward times
    # FlashAttention-2's causal/non-causal ratio on the H100 at the same length (the FA3 paper's row above; the issue
    # quotes no causal rows). cudnn: cuDNN's fused attention on the B200 with MFU read against 2,250 TFLOP/s
    # (Dao-AILab/flash-attention PR #2605, forward table at head dim 64, 1,024-16,384 tokens): causal 501, 657, 770, 838,
    # 872 and non-causal 846, 861, 890, 901, 906; at 512 tokens both scaled by cuDNN's 512/1,024 ratio on the H100, and
    # the backward (not in the table) is the non-causal forward times cuDNN's backward/forward ratio on the H100.
    blackwell_flash_tflops: Mapping[str, tuple[tuple[float, ...], ...]] = field(default_factory=lambda: _frozen({
        "flash2": ((197, 269, 314, 272, 314, 350), (308, 359, 381, 307, 343, 379), (243, 281, 302, 315, 329, 334)),
        "cudnn": ((391, 501, 657, 770, 838, 872), (760, 846, 861, 890, 901, 906), (603, 789, 861, 910, 945, 950)),
    }))
    # FlashAttention-1 (PyTorch 2.0 and 2.1's SDPA flash kernel, pytorch/pytorch #81434; 2.2 moved to FlashAttention-2,
    # #105602, "around 2x speedups"): FlashAttention-2's rate above times FA1 / FA2 as measured side by side, forward +
    # backward with the causal mask at head dim 64, TFLOP/s at flash_seq (Dao-AILab/flash-attention README, FA2 paper
    # figures: assets/flash2_h100_fwd_bwd_benchmark.png on an H100 SXM5, assets/flash2_a100_fwd_bwd_benchmark.png on
    # an A100 80GB SXM4): (FA1, FA2). The H100 ratio serves Hopper and datacenter Blackwell, the A100's the other GPUs
    # FlashAttention runs on (sm80 and later); older GPUs and fp32 run SDPA's memory-efficient kernel in every version.
    flash1_causal_tflops: Mapping[str, tuple[tuple[float, ...], ...]] = field(default_factory=lambda: _frozen({
        "hopper": ((104, 123, 136, 138, 149, 156), (141, 192, 232, 257, 273, 284)),
        "ampere": ((58, 70, 77, 87, 92, 97), (88, 119, 140, 156, 165, 171)),
    }))
    # the 16-bit dense peak the B200 figures are read against (NVIDIA HGX B200 datasheet, /2)
    b200_dense_tflops: float = 2250.0
    flash_backward_factor: float = 2.5  # FA2 backward: five matmuls against the forward's two

    link_efficiency: float = 0.80  # NCCL bus bandwidth / link bandwidth (Bekman: A100 235/300, H100 368/450)
    # tinygrad PR #22: P2P off plateaus ~12.7 GB/s on PCIe 4.0 x16
    no_p2p_bus_fraction: float = 12.7 / 31.5
    host_copy_efficiency: float = 0.80  # pinned host-device copies reach ~80-89% of PCIe (Bekman)
    # one 200 Gb/s InfiniBand HDR adapter per GPU (DGX A100 reference design)
    inter_node_gb_per_s: float = 25.0
    collective_latency_s: float = 15e-6  # nccl-tests: ~11-20 us per small collective
    # CPU Adam parameters per second: server DeepSpeed PR #735 (11.6B in 8.2 s = 1.4e9/s); desktop: DeepSpeed #1635
    # (a 1.35B model's offloaded step took 22.8 s on a Xeon Silver 4210R + RTX 3090): we assume 0.25e9/s.
    host_adam_params_per_s: Mapping[str, float] = field(default_factory=lambda: _frozen(
        {"datacenter": 1.4e9, "workstation": 0.5e9, "consumer": 0.25e9}))

    # What each optimizer's update costs (bytes per parameter, kernels per tensor group): gpt2budget.options.OPTIMIZERS.
    # Muon (Jordan et al. 2024) orthogonalises each matrix's momentum with T Newton-Schulz iterations, each
    # A = X·Xᵀ (2m²n FLOPs), B = b·A + c·A·A (2m³), X = a·X + B·X (2m²n) for an m x n matrix (m <= n): T·(4m²n + 2m³)
    # FLOPs in bf16, T = 5 (modded-nanogpt's and nanochat's zeropower_via_newtonschulz5), about 3T + 6 kernels per
    # matrix (model_families.md §6.4); sharded over the GPUs when the stack distributes it (nanochat's DistMuon) or
    # under ZeRO.
    # A fused linear cross-entropy (Liger) writes each fp32 logits chunk once, reads it for the softmax and writes its
    # gradient in place: 3 fp32 accesses per logit
    fused_loss_accesses: float = 3.0
    # flash-attention PR #2439: dropout p = 0.1 at head dim 64 costs +11-16% forward + backward
    flash_dropout_slowdown: float = 1.15
    newton_schulz_steps: int = 5
    newton_schulz_extra_kernels: int = 6
    # multi_tensor_apply chunks tensor lists (depth-4 kernels, ATen)
    foreach_tensors_per_kernel: int = 110


DEFAULT_STEP_CONSTANTS = StepConstants()

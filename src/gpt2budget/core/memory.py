"""Peak GPU memory of a training step, phase by phase, from how PyTorch (or the stack) allocates.

The peak is the largest of five phases (forward end, backward start, first recompute, backward end,
optimizer step); each phase is a sum of components, fixed bytes plus bytes per sample, so the largest
micro-batch that fits is solved in closed form. Sources per term:
- parameter/gradient/optimizer-state bytes: the dtypes PyTorch AMP and the optimizers actually use
  (Micikevicius et al. 2018 for mixed precision; torch.optim.AdamW's foreach path allocates one
  parameter-sized temporary, torch._foreach_sqrt(exp_avg_sq); the fused path none);
- activations: the tensors autograd saves, listed per stack in configs/stacks/*.yaml (in the spirit of
  Korthikanti et al. 2022, Table 2), with the constants our H100 measurements calibrate marked there;
- allocator rounding: PyTorch's CUDACachingAllocator block sizes (c10/cuda/CUDACachingAllocator.cpp);
- ZeRO sharding: Rajbhandari et al. 2020 (stages 1-3), Ren et al. 2021 (ZeRO-Offload).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import NamedTuple

from gpt2budget.core.shape import Shape, layer_gemms, layer_params, lora_targets, matrix_dims, tensor_groups
from gpt2budget.options import PRECISIONS, RunOptions
from gpt2budget.specs.definitions import DTYPE_BYTES, FIXED_BYTES, StackSpec, Term

GIB = 2**30
MIB = 2**20
LOSS_CHUNKS = 8  # torchtune CEWithChunkedOutputLoss(num_output_chunks=8)
COMM_BUCKET_BYTES = 2 * 25 * MIB  # two 25 MiB buckets: torch DDP/FSDP default bucket_cap_mb=25
QLORA_NF4_BYTES = (4 + 0.127) / 8  # Dettmers et al. 2023 (QLoRA) §3: 4-bit NF4 + 0.127 bits/param double quant
ADAM8BIT_BYTES = 2 + 2 * 4 / 2048  # bitsandbytes 8-bit AdamW: 1 byte per state, fp32 absmax per 2048-block
COMPONENTS = (
    "weights", "master_weights", "gradients", "optimizer_states", "optimizer_temporaries",
    "weight_casts", "activations", "logits", "communication_buffers",
)


def block_bytes(nbytes: float) -> float:
    """Bytes PyTorch's caching allocator hands out for one tensor (max_memory_allocated counts blocks).

    Sizes round up to 512 B; under 10 MiB a block is split from a 20 MiB segment; from 10 MiB a segment is
    rounded to 2 MiB and the block keeps the remainder unless it exceeds 1 MiB (kSmallSize)."""
    if nbytes <= 0:
        return 0.0
    r = math.ceil(nbytes / 512) * 512
    if r < 10 * MIB:
        return float(r)
    seg = math.ceil(r / (2 * MIB)) * (2 * MIB)
    return float(r if seg - r > MIB else seg)


def role_bytes(role: str, precision: str) -> float:
    if role in FIXED_BYTES:
        return float(FIXED_BYTES[role])
    if role == "amp_half_copy":
        return 2.0 if PRECISIONS[precision].autocast else 0.0
    return float(DTYPE_BYTES[precision][role])


def term_applies(term: Term, opts: RunOptions, frozen_inputs: frozenset[str], shape: Shape | None = None,
                 vocab_padded: bool = False) -> bool:
    if term.when_vocab_padded is not None and term.when_vocab_padded != vocab_padded:
        return False
    if term.when_attention is not None and term.when_attention != opts.attention:
        return False
    if term.when_dropout is not None and term.when_dropout != (opts.dropout > 0):
        return False
    if term.when_checkpointing is not None and term.when_checkpointing != opts.checkpointing:
        return False
    if term.when_precision is not None and opts.precision not in term.when_precision:
        return False
    if shape is not None and not block_matches(term, shape):
        return False
    return not (term.input_of is not None and term.input_of in frozen_inputs)


def block_matches(term: Term, shape: Shape) -> bool:
    """Whether a saved tensor exists in this model's block (its MLP, normalisation, positions, QK-norm)."""
    return ((term.when_mlp is None or shape.mlp in term.when_mlp)
            and (term.when_norm is None or shape.norm in term.when_norm)
            and (term.when_positions is None or term.when_positions == ("learned" if shape.n_pos else "rope"))
            and (term.when_qk_norm is None or term.when_qk_norm == shape.qk_norm))


def terms_bytes(terms: tuple[Term, ...], shape: Shape, opts: RunOptions, frozen: frozenset[str] = frozenset(),
                vocab_padded: bool = False) -> float:
    """Bytes per token of a list of saved tensors."""
    units = {"h": shape.n_embd, "q": shape.q_width, "kv": shape.kv_width, "ff": shape.ff, "n_head": shape.n_head,
             "n_head_x_seq": shape.n_head * opts.seq, "vocab": shape.vocab, "one": 1}
    return math.fsum(t.count * units[t.unit] * role_bytes(t.dtype, opts.precision)
                     for t in terms if term_applies(t, opts, frozen, shape, vocab_padded))


def pads_vocab(shape: Shape, stack: StackSpec, opts: RunOptions) -> bool:
    """Whether the stack zero-pads the vocabulary dimension of the head's GEMMs: torch.compile's pad_mm (Inductor,
    on by default since PyTorch 2.1, pytorch/pytorch #101915; torch/_inductor/fx_passes/pad_mm.py, on CUDA where its
    benchmark finds the padded GEMM faster) pads a dimension that is not a multiple of 16 bytes by copying the operand
    (pad_mat1), so a backward GEMM over the logits' gradient runs on a padded copy of it (GPT-2's 50,257 tokens;
    nanoGPT's 50,304 are aligned)."""
    vec = max(1, int(16 // role_bytes("compute", opts.precision)))
    return stack.step_time.matmul_shape_padding and shape.vocab % vec != 0


# --- parameters, gradients and optimizer states -------------------------------------------------------


class ParamBytes(NamedTuple):
    """Whole-model bytes of each parameter-sized component on one GPU before sharding."""

    weights: float
    master: float
    grads: float
    states: float
    temps: float
    casts_all: float  # autocast's 16-bit copies of every matmul weight
    casts_head: float  # ... of the output projection only (wte when tied)
    casts_layer: float  # ... of one transformer layer
    layer_weights: float  # one layer's weights in the compute dtype (ZeRO-3 gathers this)
    trainable: int
    frozen_inputs: frozenset[str]


def lora_params(shape: Shape, rank: int, targets: str) -> int:
    # Hu et al. 2021 (LoRA): W + B·A with A (r x in), B (out x r): r·(in + out) per adapted matrix.
    # PEFT's default target is GPT-2's c_attn (h -> 3h), q_proj and v_proj for Llama-style models; all-linear adapts
    # every matrix of the layer (gpt2budget.core.shape.lora_targets).
    return shape.n_layer * sum(rank * (g.k + g.n) for g in lora_targets(shape, targets))


@lru_cache(maxsize=4096)
def param_bytes(shape: Shape, stack: StackSpec, opts: RunOptions) -> ParamBytes:
    opt = opts.optimizer
    amp = opts.prec.autocast
    pure16 = opts.prec.pure16
    pytorch = stack.mixed_precision_layout == "autocast"
    rnd = block_bytes if pytorch else float  # llm.c-style stacks allocate one flat buffer
    groups = tensor_groups(shape)

    w_b = 2.0 if (pure16 or (amp and not pytorch)) else 4.0
    master_b = 4.0 if (amp and not pytorch) else 0.0
    state_b = 2.0 if pure16 else 4.0
    n_states = opts.opt.states
    temps_full = opts.opt.foreach_temporary and stack.optimizer_step_temporaries

    finetune = opts.finetune
    base_b = 4.0 if opts.lora_base == "fp32" else 2.0  # a LoRA base stored in fp32 (e.g. loaded without a dtype)
    frozen_inputs: frozenset[str] = frozenset()
    if opts.adapters:
        adapted = {g.role for g in lora_targets(shape, opts.lora_targets)}
        frozen_inputs = frozenset({"c_attn", "attn_c_proj", "c_fc", "mlp_c_proj"} - adapted)

    weights = grads = states = temps = casts_all = casts_head = 0.0
    largest = 0.0
    for name, kind, n, count in groups:
        if opts.adapters:
            # frozen base weights at their stored precision: bf16 (fp32 with lora_base="fp32"), or NF4 for
            # QLoRA's matmul weights
            per = QLORA_NF4_BYTES if (finetune == "qlora" and kind == "matmul" and name.endswith("weight")) else base_b
            weights += count * rnd(n * per)
            if base_b == 4.0 and finetune == "lora" and amp and pytorch and kind in ("matmul", "head", "embed") \
                    and (kind != "embed" or shape.tied):
                # an fp32 base under autocast: each frozen matmul weight is cast to 16 bits in the forward and
                # autograd keeps the cast for the input's gradient (autocast caches no cast of a frozen weight),
                # as long as full training's cached casts live
                c = count * rnd(n * 2.0)
                casts_all += c
                if kind in ("head", "embed"):
                    casts_head += c
            continue
        lookup16 = kind == "embed" and stack.embeddings_16bit and not shape.tied
        one = rnd(n * (2.0 if lookup16 else w_b))
        weights += count * one
        grads += count * one
        if opt == "adafactor":
            # Shazeer & Stern 2018: factored second moment, a row and a column vector per matrix
            states += count * rnd(_factored(name, kind, n, shape) * state_b)
        elif opt == "adamw-8bit":
            # bitsandbytes keeps tensors under 4096 elements in 32-bit
            states += count * rnd(n * (ADAM8BIT_BYTES if n >= 4096 else 2 * state_b))
        else:
            # Muon keeps one momentum per matrix and runs AdamW (2 states) on the embeddings, head and norms
            k = (n_states if kind == "matmul" and name.endswith("weight") else 2) if opt == "muon" else n_states
            states += count * k * rnd(n * (2.0 if lookup16 else state_b))
        if temps_full:
            temps += count * rnd(n * state_b)
        largest = max(largest, n * state_b)
        if amp and pytorch and kind in ("matmul", "head", "embed"):
            if kind == "embed" and not shape.tied:
                continue  # an untied wte is only looked up, never cast
            c = count * rnd(n * 2.0)
            casts_all += c
            if kind in ("head", "embed"):
                casts_head += c
    if opt in ("lion", "adafactor") and not opts.adapters:
        temps = 2 * largest  # per-tensor loops: the update of the largest tensor
    if opt == "muon" and not opts.adapters:
        # Newton-Schulz on the largest matrix in bf16: X, A = X·Xᵀ and B, each at most its size
        temps = 3 * 2.0 * max(g.k * g.n for g in layer_gemms(shape))
    master = math.fsum(c * rnd(n * master_b) for _, _, n, c in groups) if master_b and not opts.adapters else 0.0

    trainable = sum(c * n for _, _, n, c in groups)
    if opts.adapters:
        # adapters train in fp32 with the chosen optimizer; the frozen base runs without autocast casts
        trainable = lora_params(shape, opts.lora_rank, opts.lora_targets)
        a = float(trainable)
        grads = 4 * a
        states = {"adamw-8bit": ADAM8BIT_BYTES * a, "adafactor": 4 * a}.get(opt, n_states * 4 * a)
        temps = 4 * a if temps_full else 0.0
        weights += 4 * a
        if finetune == "qlora":
            # no autocast copies; one matmul at a time is dequantized to bf16 (the largest: GPT-2's c_fc, h x 4h)
            casts_all, casts_head = max(g.k * g.n for g in layer_gemms(shape)) * 2.0, 0.0

    layer_n = layer_params(shape)
    casts_layer = 2.0 * layer_n if amp and pytorch else 0.0
    return ParamBytes(weights, master, grads, states, temps, casts_all, casts_head, casts_layer,
                      layer_n * (2.0 if (amp or pure16) else 4.0), trainable, frozen_inputs)


def _factored(name: str, kind: str, n: int, shape: Shape) -> int:
    dims = matrix_dims(shape)
    for suffix, (r, c) in dims.items():
        if name.endswith(suffix):
            return r + c
    if kind in ("embed", "head"):
        return shape.vocab + shape.n_embd
    if kind == "pos":
        return shape.n_pos + shape.n_embd
    return n


# --- the phases -------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)  # identity: an lru_cache value with its own caches
class PhaseModel:
    """For each phase: fixed bytes per component and bytes per sample per component."""

    fixed: dict[str, dict[str, float]]
    per_sample: dict[str, dict[str, float]]
    host_bytes: float  # CPU memory the offloaded parts need (per node)
    trainable: int
    # bytes the stack's code moves to host memory by itself when the card cannot hold them (StackSpec.host_fallback:
    # llm.c's m, v and fp32 master weights); resident in every phase, so every phase's line drops by them
    spill: float = 0.0

    @cached_property
    def lines(self) -> dict[str, tuple[float, float]]:
        """Each phase's total as a line in the micro-batch b: (fixed bytes, bytes per sample)."""
        return {ph: (math.fsum(self.fixed[ph].values()), math.fsum(self.per_sample[ph].values())) for ph in self.fixed}

    @cached_property
    def lines_spilled(self) -> dict[str, tuple[float, float]]:
        """Each phase's line with the host-fallback components in host memory."""
        return {ph: (fixed - self.spill, slope) for ph, (fixed, slope) in self.lines.items()}

    @cached_property
    def dense(self) -> dict[str, tuple[dict[str, float], dict[str, float]]]:
        """Each phase's fixed and per-sample bytes with every component present (0.0 where it has none)."""
        return {ph: ({k: self.fixed[ph].get(k, 0.0) for k in COMPONENTS},
                     {k: self.per_sample[ph].get(k, 0.0) for k in COMPONENTS}) for ph in self.fixed}

    @cached_property
    def _solved(self) -> dict[tuple[int, float], int]:
        return {}


@lru_cache(maxsize=4096)
def phase_model(shape: Shape, stack: StackSpec, opts: RunOptions) -> PhaseModel:
    base = opts.with_(micro_batch=1, gpus=1, zero=0, offload="none")
    pb = param_bytes(shape, stack, base)
    s = opts.seq
    per_layer = terms_bytes(stack.layer_activations, shape, opts, pb.frozen_inputs) * s
    if opts.adapters and opts.lora_dropout > 0:
        # PEFT applies dropout to each adapter's input: a mask and a dropped copy of x
        per_layer += (1 + role_bytes("compute", opts.precision)) * shape.n_embd * s * (
            1 if opts.lora_targets == "attention" else 4)
    ckpt_layer = terms_bytes(stack.checkpoint_activations, shape, opts) * s
    token = terms_bytes(stack.token_activations, shape, opts) * s
    lf = terms_bytes(stack.logits_forward, shape, opts) * s
    lb = terms_bytes(stack.logits_backward, shape, opts, vocab_padded=pads_vocab(shape, stack, opts)) * s
    if opts.loss == "chunked":
        # torchtune's CEWithChunkedOutputLoss: the 16-bit logits of every token stay (backward needs them); their fp32
        # upcast, log-softmax and gradients exist for one of LOSS_CHUNKS chunks at a time
        kept = role_bytes("compute", opts.precision) * shape.vocab * s
        lf, lb = kept + lf / LOSS_CHUNKS, kept + lb / LOSS_CHUNKS
    elif opts.loss == "fused-linear":
        # Liger's FusedLinearCrossEntropy (Hsu et al. 2024, §3.3): logits exist a chunk of ~tokens·h/V tokens at a time
        # (about one h-wide activation's worth), and the hidden states' gradient is computed in the forward: per token,
        # the fp32 chunk's share and the 16-bit input gradient
        lf = lb = (4.0 + role_bytes("compute", opts.precision)) * shape.n_embd * s
    L = shape.n_layer
    ckpt = opts.checkpointing
    keep = L * (ckpt_layer if ckpt else per_layer) + token

    g, z = max(1, opts.gpus), max(opts.zero, 1 if stack.optimizer_sharded else 0)
    # ZeRO: stage 1 shards optimizer states (and fp32 master weights), 2 adds gradients, 3 adds weights.
    states, master, temps = pb.states, pb.master, pb.temps
    grads, weights = pb.grads, pb.weights
    casts_all, casts_head, casts_layer = pb.casts_all, pb.casts_head, pb.casts_layer
    host = 0.0
    if z >= 1:
        states, master, temps = states / g, master / g, temps / g
    if z >= 2:
        grads = grads / g
    if z >= 3:
        weights = weights / g + 2 * pb.layer_weights  # the gathered current and prefetched layer
        casts_all = casts_head = 2 * pb.layer_weights if casts_all else 0.0
    comm = 0.0
    if g > 1:
        if z == 0 and stack.mixed_precision_layout == "autocast":
            comm = pb.grads  # DDP's flat gradient buckets (gradient_as_bucket_view=False copies every grad)
        else:
            comm = COMM_BUCKET_BYTES
    if opts.offload in ("optimizer", "params"):
        # ZeRO-Offload (Ren et al. 2021): fp32 master, optimizer states and fp32 gradients live in CPU memory;
        # the GPU keeps 16-bit weights and 16-bit gradients and runs no optimizer step.
        shard = g if z >= 1 else 1
        host = (pb.states + 4 * pb.trainable + 4 * pb.trainable) / shard * g
        half = 2.0 * pb.trainable
        states = master = temps = 0.0
        grads = half / (g if z >= 2 else 1)
        if not opts.adapters:
            weights = 2.0 * pb.trainable
        casts_all = casts_head = casts_layer = 0.0  # weights are already 16-bit
        if opts.offload == "params":
            # ZeRO-Infinity (Rajbhandari et al. 2021): 16-bit weights stay on the CPU too; the GPU holds the
            # gathered current and prefetched layer.
            host += weights * g / (g if z >= 3 else 1)
            weights = 2 * pb.layer_weights
    resident = {"weights": weights, "master_weights": master, "optimizer_states": states,
                "communication_buffers": comm}
    if stack.gradients_persistent:
        resident["gradients"] = grads

    # autocast caches casts until its region exits, but never a frozen weight's: an fp32 LoRA base's casts are
    # autograd's, which a checkpointed layer drops after its forward
    cached = stack.autocast_cache_until_loss and not (opts.finetune == "lora" and opts.lora_base == "fp32")
    c_fwd = casts_all if (cached or not ckpt) else casts_head
    c_bwd = casts_head if ckpt else casts_all
    head_grad = 0.0 if opts.adapters else min(grads, 4.0 * shape.vocab * shape.n_embd)
    # gradient accumulation: PyTorch's AccumulateGrad adds each micro-step's gradient into the .grad allocated by the
    # first backward (torch/csrc/autograd/functions/accumulate_grad.h), and the loops free it only after the
    # optimizer step (nanoGPT train.py: optimizer.step() then zero_grad(set_to_none=True) once per step; HF Trainer
    # calls model.zero_grad() after optimizer.step()): micro-steps 2..n run their forward and backward with every
    # gradient resident (llm.c's are resident always)
    held = {"gradients": grads} if opts.accumulates and not stack.gradients_persistent else {}
    fixed = {
        "forward_end": {**resident, **held, "weight_casts": c_fwd},
        "backward_start": {**resident, **held, "weight_casts": c_bwd},
        "backward_recompute": {**resident, "weight_casts": casts_layer,
                               "gradients": grads if (stack.gradients_persistent or held) else head_grad},
        "backward_end": {**resident, "gradients": grads, "weight_casts": casts_layer},
        "optimizer_step": {**resident, "gradients": grads, "optimizer_temporaries": temps},
    }
    per = {
        "forward_end": {"activations": keep, "logits": lf},
        "backward_start": {"activations": keep, "logits": lb},
        "backward_recompute": {"activations": keep + (per_layer if ckpt else 0.0)},
        "backward_end": {"activations": per_layer + token + (ckpt_layer if ckpt else 0.0)},
        "optimizer_step": {},
    }
    if not ckpt:
        del fixed["backward_recompute"], per["backward_recompute"]
    spill = math.fsum(resident[k] for k in stack.host_fallback if k in resident)
    return PhaseModel(fixed, per, host, pb.trainable, spill)


class MemoryResult(NamedTuple):  # a tuple: cheap to build, sweep makes one per row
    allocator_peak_bytes: float
    required_bytes: float
    available_bytes: float
    fits: bool
    max_micro_batch: int
    peak_phase: str
    breakdown: dict[str, float]
    phases: dict[str, float]
    runtime_overhead_bytes: float
    fragmentation_bytes: float
    host_bytes: float
    trainable_params: int
    # a run the card cannot hold, on a stack whose code moves components to host memory by itself
    # (StackSpec.host_fallback): what the card needs then, and the bytes moved (0.0 when not so)
    host_fallback_required_bytes: float = 0.0
    host_fallback_bytes: float = 0.0


def peak_of(lines: dict[str, tuple[float, float]], b: int) -> float:
    """The highest phase total at micro-batch b, from each phase's (fixed, per-sample) line."""
    return max(fixed + b * slope for fixed, slope in lines.values())


def phase_totals(pm: PhaseModel, b: int) -> dict[str, float]:
    return {ph: fixed + b * slope for ph, (fixed, slope) in pm.lines.items()}


def required(peak: float, stack: StackSpec) -> float:
    # what the process needs from the card: the allocator's peak, plus fragmentation (the caching
    # allocator held ~10% more than it handed out, on average over our 64 measured H100 points), plus the
    # CUDA context and library workspaces (0.51 GiB measured on the H100).
    return peak * (1 + stack.fragmentation) + stack.runtime_overhead_gib * GIB


def max_micro_batch(pm: PhaseModel, stack: StackSpec, available: float, cap: int = 1 << 20) -> int:
    """Largest b with required(peak(b)) <= available: each phase is fixed + b·slope, solved directly."""
    budget = (available - stack.runtime_overhead_gib * GIB) / (1 + stack.fragmentation)
    best = cap
    for fixed, slope in pm.lines.values():
        if fixed > budget:
            return 0
        if slope > 0:
            best = min(best, int((budget - fixed) // slope))
    return max(0, best)


MB = RunOptions._fields.index("micro_batch")
SS = RunOptions._fields.index("step_sequences")


def memory(shape: Shape, stack: StackSpec, opts: RunOptions, available: float) -> MemoryResult:
    return memory_at(run_phase_model(shape, stack, opts), stack, available, opts.micro_batch,
                     largest_micro_batch(shape, stack, opts, available))


def run_phase_model(shape: Shape, stack: StackSpec, opts: RunOptions) -> PhaseModel:
    """The run's phase model, which depends on the micro-batch only through whether it accumulates gradients:
    cached under micro-batch 1 with 2 step sequences (accumulating) or 0 (not) (the options rebuilt directly;
    NamedTuple._replace is slow in a sweep)."""
    return _phase_at(shape, stack, opts, 2 if opts.accumulates else 0)


def _phase_at(shape: Shape, stack: StackSpec, opts: RunOptions, steps: int) -> PhaseModel:
    if opts.micro_batch == 1 and opts.step_sequences == steps:
        return phase_model(shape, stack, opts)
    return phase_model(shape, stack, RunOptions._make((*opts[:MB], 1, *opts[MB + 1:SS], steps, *opts[SS + 1:])))


def largest_micro_batch(shape: Shape, stack: StackSpec, opts: RunOptions, available: float) -> int:
    """The largest micro-batch b such that every micro-batch up to b fits. Below opts.step_sequences a micro-batch
    accumulates (its forward holds the gradients), from it on none does: when every accumulating micro-batch fits,
    the answer is the non-accumulating solve; else the accumulating one (a larger, single-micro-step batch that fits
    past a gap of ones that do not is not offered: the search stays monotone)."""
    if opts.step_sequences > 1:
        acc = _solve(_phase_at(shape, stack, opts, 2), stack, available)
        if acc < opts.step_sequences - 1:  # the usual case: the non-accumulating phase model is never built
            return acc
    return _solve(_phase_at(shape, stack, opts, 0), stack, available)


def _solve(pm: PhaseModel, stack: StackSpec, available: float) -> int:
    key = (id(stack), available)  # the largest micro-batch does not depend on b: solved once per card
    best = pm._solved.get(key)
    if best is None:
        best = pm._solved[key] = max_micro_batch(pm, stack, available)
    return best


def fit_at(shape: Shape, stack: StackSpec, opts: RunOptions, available: float) -> tuple[bool, int, PhaseModel]:
    """memory's fits and max_micro_batch alone (no breakdown), and the run's phase model: for searches over many
    options (plan)."""
    pm = run_phase_model(shape, stack, opts)
    b = opts.micro_batch
    need = required(peak_of(pm.lines, b), stack)
    return need <= available, largest_micro_batch(shape, stack, opts, available), pm


def memory_at(pm: PhaseModel, stack: StackSpec, available: float, b: int, best: int | None = None) -> MemoryResult:
    """The memory result at micro-batch b, from the run's phase model at b (run_phase_model); `best`: the largest
    micro-batch (largest_micro_batch), else this phase model's own solve."""
    totals = phase_totals(pm, b)
    peak_phase = max(totals, key=totals.__getitem__)
    fixed, per = pm.dense[peak_phase]
    breakdown = {k: fixed[k] + b * per[k] for k in COMPONENTS}
    peak = math.fsum(breakdown.values())  # fsum: the same digits on every Python (3.12's sum() compensates)
    need = required(peak, stack)
    # when the card cannot hold the run, a stack with host_fallback (llm.c's cudaMallocConditionallyManaged:
    # cudaMallocManaged, preferred location the CPU) puts those components in host memory and trains on, slower:
    # what the card then needs (reported, not judged: `fits` is about the card holding the whole run)
    fallback = 0.0
    if need > available and pm.spill:
        fallback = required(peak_of(pm.lines_spilled, b), stack)
    if best is None:
        best = _solve(pm, stack, available)
    return MemoryResult(
        allocator_peak_bytes=peak, required_bytes=need, available_bytes=available, fits=need <= available,
        max_micro_batch=best, peak_phase=peak_phase, breakdown=breakdown,
        phases=totals, runtime_overhead_bytes=stack.runtime_overhead_gib * GIB,
        fragmentation_bytes=peak * stack.fragmentation, host_bytes=pm.host_bytes,
        trainable_params=pm.trainable, host_fallback_required_bytes=fallback,
        host_fallback_bytes=pm.spill if fallback else 0.0,
    )

"""Spec types: what a GPU, a model and a training stack are. Plain frozen dataclasses, no pydantic.

The validation rules live here too, beside each field, as `Rule` metadata in `Annotated`: bounds,
patterns, descriptions and value checks. `gpt2budget.specs.validation` turns them into pydantic models that
check the YAML at the boundary (typos in keys, NaN/inf, wrong types); the core only ever sees these
dataclasses. Checks across fields run in `__post_init__`, so they hold however a spec is made.
Spec objects compare and hash by identity (eq=False): results are cached per loaded spec, and nothing
needs two specs compared field by field.
Every numeric value in a GPU or model spec must name its source in `sources` (the key itself, or its
parent mapping such as `peak_tflops`).
Annotations are not deferred (no `from __future__ import annotations`): each field's type is made once at
import, and the spec cache reads it from `dataclasses.fields` when it checks a decoded spec again, with nothing
to evaluate.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Annotated, Any, Literal, NamedTuple

from gpt2budget.options import OPTIMIZER_CHOICES as OPTIMIZERS
from gpt2budget.options import PRECISION_CHOICES as PRECISIONS
from gpt2budget.options import PRECISIONS as PRECISIONS_TABLE


class Rule(NamedTuple):
    """What `gpt2budget.specs.validation` enforces on a field: pydantic `Field` keywords, plus `check(value)`,
    which returns the value or raises ValueError with a message that reads after the key's name, and
    `before(raw)`, which may convert the value as written (e.g. "20B") before its type is checked."""

    gt: float | None = None
    ge: float | None = None
    le: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    description: str | None = None
    check: Callable[[Any], Any] | None = None
    before: Callable[[Any], Any] | None = None


def doc(text: str) -> Rule:
    return Rule(description=text)


ID_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"

# The largest magnitude a spec number may have, whatever its key and even with `unusual: true`: far above any
# hardware or model (1e15 GiB, TFLOP/s, GB/s or tokens), far enough below float's 1.8e308 that a value times the
# unit conversions and products of the models (2^30 bytes per GiB, 1e12 FLOP/s per TFLOP/s, tokens x FLOPs per
# token) stays finite: 1e300 GiB of memory was infinite bytes, then NaN, then a traceback. Enforced by
# gpt2budget.specs.validation on every int and float, and again by the spec cache when it reads an entry.
MAX_MAGNITUDE = 1e15


def normalize(name: str) -> str:
    """A name as looked up: lower case, letters, digits and dots only ('RTX 4090' and 'rtx-4090' match)."""
    return re.sub(r"[^a-z0-9.]", "", name.lower())


def _printable(v: str) -> str:
    """Names are printed to terminals: a control character (an ANSI escape sequence, say) or a bidirectional
    control (U+202E reverses the text after it) is refused."""
    from gpt2budget.errors import first_unsafe

    bad = first_unsafe(v)
    if bad is not None:
        raise ValueError(f"contains the control character {bad!r}; names are printed to terminals")
    return v


def _has_letters(v: str) -> str:
    _printable(v)
    if not normalize(v).strip("."):
        raise ValueError(f"{v!r} has no letters or digits, so it cannot be looked up; expected a name like 'rtx-4090'")
    return v


def _aliases_have_letters(v: tuple[str, ...]) -> tuple[str, ...]:
    for alias in v:
        _has_letters(alias)
    return v


Id = Annotated[str, Rule(pattern=ID_PATTERN, max_length=64)]
Text = Annotated[str, Rule(check=_printable)]  # free text that is printed (architecture, notes, descriptions)
Name = Annotated[str, Rule(min_length=1, check=_has_letters)]
Aliases = Annotated[tuple[str, ...], Rule(check=_aliases_have_letters)]
Pos = Annotated[float, Rule(gt=0)]
NonNeg = Annotated[float, Rule(ge=0)]
Fraction = Annotated[float, Rule(gt=0, le=1)]
Segment = Literal["consumer", "datacenter", "workstation"]
GpuLink = Literal["none", "nvlink", "nvlink-bridge", "infinity-fabric"]


def _at_most(limit: int, what: str) -> Callable[[int], int]:
    def check(v: int) -> int:
        if v > limit:
            raise ValueError(f"{v:,} is more than {limit:,}, the most {what} a GPT-2-family model this tool "
                             "models can have")
        return v

    return check


def _shape(limit: int, what: str) -> Rule:
    return Rule(gt=0, check=_at_most(limit, what), description=f"{what}, 1 to {limit:,}")


# Shapes bounded to what is meaningful (and cheap to evaluate): the largest GPT-style models have ~100-200 layers
# and widths of 16-32k; a million-token context or vocabulary is far beyond GPT-2's.
Layers = Annotated[int, _shape(1024, "layers")]
Heads = Annotated[int, _shape(1024, "attention heads")]
Width = Annotated[int, _shape(65_536, "embedding width")]
Vocab = Annotated[int, _shape(1_048_576, "vocabulary entries")]
Context = Annotated[int, _shape(1_048_576, "context positions")]
# Architecture families this tool models (gpt2budget.core.block derives every size from the block description
# below); the family names the implementation (which projections are fused, which stacks can train it).
FAMILIES = ("gpt2", "llama", "qwen2", "olmo2", "nanochat", "modded-nanogpt")


def _supported_family(v: str) -> str:
    if v not in FAMILIES:
        raise ValueError(f"family {v!r} is not supported (supported: {', '.join(FAMILIES)})")
    return v


def _supported_families(v: tuple[str, ...] | None) -> tuple[str, ...] | None:
    for f in v or ():
        _supported_family(f)
    return v


def _token_count(v: Any) -> Any:
    """'20B', '100M', '1.4T' as on the command line (units.parse_count); anything else is checked as a number."""
    if isinstance(v, str):
        from gpt2budget.errors import UsageError
        from gpt2budget.units import parse_count

        try:
            return parse_count(v, "")
        except UsageError:
            raise ValueError(f"cannot read {v!r}; expected a number or a count such as 20B, 100M, 1.4T") from None
    return v


TokenCount = Annotated[float, Rule(gt=0, before=_token_count, description="a number, or a count such as 20B")]

# The peak-FLOP/s column each training precision runs on.
PRECISION_PEAK_KEY = {name: p.peak_key for name, p in PRECISIONS_TABLE.items()}


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class PeakTflops:
    """Dense (non-sparse) peak TFLOP/s. Tensor-core figures at FP32 accumulate."""

    fp32: Annotated[Pos, doc("FP32 non-tensor (CUDA core) peak")]
    tf32: Annotated[Pos | None, doc("TF32 tensor peak, dense")] = None
    fp16: Annotated[Pos | None, doc("FP16 tensor peak, dense, FP32 accumulate")] = None
    bf16: Annotated[Pos | None, doc("BF16 tensor peak, dense, FP32 accumulate")] = None
    fp8: Annotated[Pos | None, doc("FP8 tensor peak, dense, FP32 accumulate")] = None
    fp4: Annotated[Pos | None, doc("FP4 tensor peak, dense")] = None


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class SustainedGemmTflops:
    """TFLOP/s a large dense GEMM sustains for minutes on this GPU, power and clock limits included: a public
    measurement, where one exists (else the step-time model takes a fraction of the peak)."""

    tf32: Annotated[Pos | None, doc("TF32 tensor GEMMs")] = None
    fp16: Annotated[Pos | None, doc("FP16 tensor GEMMs, FP32 accumulate")] = None
    bf16: Annotated[Pos | None, doc("BF16 tensor GEMMs, FP32 accumulate")] = None


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class Fp16AccumulatePeaks:
    """GeForce cards only: the faster FP16-accumulate tensor rates, kept apart from the FP32-accumulate ones."""

    fp16: Pos | None = None
    fp8: Pos | None = None


class KeyValueError(ValueError):
    """A check across keys that blames one key (dotted), so that the error names that key and its line."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(message)


def _num(x: float) -> str:
    return f"{x:.6g}"


# Plausible ranges for GPU values, wide enough for every GPU from a GTX 1080 Ti to a B200 or MI325X (and headroom
# for announced parts: Rubin-class HBM4 at 20-32 TB/s, multi-kW packages, FP4 in the tens of PFLOP/s), with the
# unit mistakes that put a value outside them: (key, low, high, unit, [(factor, unit the value looks like in)]).
# A value v "looks like" unit U when v / factor is in range.
_PLAUSIBLE: tuple[tuple[str, float, float, str, tuple[tuple[float, str], ...]], ...] = (
    ("memory_gib", 1, 1024, "GiB", ((1024, "MiB"), (1024**3, "bytes"), (1 / 1024, "TiB"))),
    ("usable_memory_gib", 1, 1024, "GiB", ((1024, "MiB"), (1024**3, "bytes"), (1 / 1024, "TiB"))),
    ("memory_bandwidth_gb_per_s", 10, 50_000, "GB/s", ((1000, "MB/s"), (8, "Gbit/s"), (1e9, "B/s"), (1e-3, "TB/s"))),
    ("host_link_gb_per_s", 1, 1000, "GB/s", ((1000, "MB/s"), (8, "Gbit/s"), (1e9, "B/s"), (1e-3, "TB/s"))),
    ("gpu_link_gb_per_s", 1, 20_000, "GB/s", ((1000, "MB/s"), (8, "Gbit/s"), (1e9, "B/s"), (1e-3, "TB/s"))),
    ("board_power_w", 10, 5000, "W", ((1000, "mW"), (1e-3, "kW"))),
    ("boost_clock_mhz", 100, 10_000, "MHz", ((1e6, "Hz"), (1000, "kHz"), (1e-3, "GHz"))),
    ("peak_tflops.fp32", 0.5, 500, "TFLOP/s", ((1e12, "FLOP/s"), (1e3, "GFLOP/s"), (1e-3, "PFLOP/s"))),
    *((f"{group}.{k}", 0.1, top, "TFLOP/s", ((1e12, "FLOP/s"), (1e3, "GFLOP/s"), (1e-3, "PFLOP/s")))
      for group, names in (("peak_tflops", ("tf32", "fp16", "bf16", "fp8", "fp4")),
                           ("peak_tflops_fp16_accumulate", ("fp16", "fp8")),
                           ("sustained_gemm_tflops", tuple(f.name for f in fields(SustainedGemmTflops))))
      for k in names
      for top in ({"fp8": 50_000, "fp4": 100_000}.get(k, 20_000),)),
)
SUSTAINED_OVER_PEAK = 1.15  # boost headroom: crowd-sourced RTX 4090 / 3090 GEMMs at 1.05x / 1.08x of the rated peak
_OVERRIDE = "set unusual: true, with the reason in sources.unusual, for real hardware outside it"


def _value_at(spec: Any, dotted: str) -> Any:
    value = spec
    for part in dotted.split("."):
        value = getattr(value, part, None) if value is not None else None
    return value


def _check_plausible(spec: Any) -> None:
    """Values far outside what any GPU has had, with a guess at the unit mistake; tensor peaks in order."""
    for key, lo, hi, unit, guesses in _PLAUSIBLE:
        v = _value_at(spec, key)
        if v is None or lo <= v <= hi:
            continue
        looks = [u for factor, u in guesses if lo <= v / factor <= hi and (v > hi) == (factor > 1)]
        first = next((f for f, u in guesses if u == looks[0]), 1) if looks else 1
        guess = f": did you mean {' or '.join(looks)}? the key is in {unit} ({_num(v / first)} {unit})" if looks else ""
        raise KeyValueError(key, f"{_num(v)} {unit} is outside what GPUs have ({_num(lo)} to {_num(hi)} {unit})"
                                 f"{guess}; {_OVERRIDE}")
    p, acc = spec.peak_tflops, spec.peak_tflops_fp16_accumulate
    pairs = [("peak_tflops.fp16", p.fp16, "peak_tflops.fp32", p.fp32),
             ("peak_tflops.bf16", p.bf16, "peak_tflops.fp32", p.fp32),
             ("peak_tflops.fp8", p.fp8, "peak_tflops.bf16", p.bf16 if p.bf16 is not None else p.fp16)]
    if acc is not None:
        pairs += [("peak_tflops_fp16_accumulate.fp16", acc.fp16, "peak_tflops.fp16", p.fp16),
                  ("peak_tflops_fp16_accumulate.fp8", acc.fp8, "peak_tflops.fp8", p.fp8)]
    for key, value, other, floor in pairs:
        if value is not None and floor is not None and value < floor:
            raise KeyValueError(key, f"{_num(value)} TFLOP/s is below {other} ({_num(floor)}); a tensor peak is at "
                                     f"least the one it is listed against (leave it out on cards without that "
                                     f"tensor path, or {_OVERRIDE.replace(' outside it', '')})")
    sustained = spec.sustained_gemm_tflops
    for k in (f.name for f in fields(SustainedGemmTflops)) if sustained is not None else ():
        value, peak = getattr(sustained, k), getattr(p, k)
        # GeForce cards boost above their rated clock: an RTX 4090 sustains up to ~1.05x its rated BF16 peak
        if value is not None and (peak is None or value > SUSTAINED_OVER_PEAK * peak):
            limit = f"{SUSTAINED_OVER_PEAK:g}x peak_tflops.{k} ({_num(peak)})" if peak else f"a peak_tflops.{k}"
            raise KeyValueError(f"sustained_gemm_tflops.{k}", f"{_num(value)} TFLOP/s needs {limit}; a sustained "
                                                              f"rate is measured on the same path as the peak")


def _check_sources(spec: Any, skip: set[str]) -> None:
    sources = spec.sources
    for f in fields(spec):
        key, value = f.name, getattr(spec, f.name)
        if key in skip or value is None:
            continue
        if is_dataclass(value):
            for sub in fields(value):
                if getattr(value, sub.name) is not None and key not in sources and f"{key}.{sub.name}" not in sources:
                    raise ValueError(f"{key}.{sub.name} has no entry in sources (add sources.{key})")
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and key not in sources:
            raise ValueError(f"{key} has no entry in sources")


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class GpuSpec:
    """A GPU: memory, bandwidths, dense peak throughput by precision, power and price, each value sourced."""

    id: Id
    name: Name
    aliases: Aliases = ()
    vendor: Literal["nvidia", "amd", "apple", "intel", "other"]
    architecture: Text
    segment: Segment
    memory_gib: Annotated[Pos, doc("on-board memory in GiB (2^30 bytes); GDDR/HBM 'GB' are binary")]
    usable_memory_gib: Annotated[
        Pos | None, doc("memory CUDA reports as total (torch.cuda.mem_get_info), where measured")] = None
    memory_bandwidth_gb_per_s: Annotated[Pos, doc("decimal GB/s")]
    host_link_gb_per_s: Annotated[Pos, doc("host link (PCIe) bandwidth per direction, decimal GB/s")]
    pcie_gen: Annotated[int, Rule(ge=1, le=7, description="PCIe generation of the host link")] | None = None
    pcie_lanes: Annotated[int, Rule(ge=1, le=32, description="PCIe lanes of the host link")] | None = None
    gpu_link: Annotated[GpuLink, doc("direct GPU-to-GPU link: none (PCIe only), nvlink (NVSwitch/SXM or "
                                      "NVLink mesh), nvlink-bridge (two cards), infinity-fabric (AMD xGMI)")] = "none"
    gpu_link_gb_per_s: Annotated[
        Pos | None, doc("GPU-to-GPU link bandwidth per GPU per direction, decimal GB/s (NVLink, xGMI)")] = None
    peer_to_peer: Annotated[bool | None, doc("whether GPUs exchange data directly over PCIe (P2P); GeForce "
                                             "40/50-series: false, NCCL then stages through host memory")] = None
    boost_clock_mhz: Pos | None = None
    sm_count: Annotated[int, Rule(ge=1, le=10_000, description=(
        "streaming multiprocessors (NVIDIA SMs, AMD compute units): memory-bound kernels whose bytes in flight per "
        "SM are few run at a rate per SM (the stack's elementwise_gb_per_s_per_sm)"))] | None = None
    peak_tflops: PeakTflops
    peak_tflops_fp16_accumulate: Fp16AccumulatePeaks | None = None
    sustained_gemm_tflops: Annotated[SustainedGemmTflops | None, doc(
        "TFLOP/s of large GEMMs with the card's power and clock limits included (the step-time model's GEMM rate, "
        "and its clock derate for attention and per-SM kernels): a public measurement, or derived from a measured "
        "card of the same die (sustained_gemm_origin)")] = None
    sustained_gemm_origin: Annotated[Literal["measured", "derived"], doc(
        "how sustained_gemm_tflops was obtained: measured (a public benchmark of this card: a minutes-long burn such "
        "as gpu-fryer's, else a seconds-long one, as its source says) or derived (from a measured card of the same "
        "die by the rule its source states, for power-limited cards without a measurement)")] = "measured"
    board_power_w: Pos | None = None
    launch_year: Annotated[int, Rule(ge=1990, le=2100)] | None = None
    launch_price_usd: Pos | None = None
    rent_usd_per_hour: Annotated[Pos | None, doc("on-demand cloud price per GPU-hour")] = None
    sources: dict[str, str]
    unusual: Annotated[bool, doc("values outside the plausible ranges are real (give the reason in "
                                 "sources.unusual): turns the range and tensor-peak checks off")] = False
    notes: Text | None = None

    def __post_init__(self) -> None:
        _check_sources(self, {"sources"})
        if self.unusual and not self.sources.get("unusual", "").strip():
            raise KeyValueError("unusual", "unusual: true needs the reason in sources.unusual")
        if not self.unusual:
            _check_plausible(self)
        if self.usable_memory_gib is not None and self.usable_memory_gib > self.memory_gib:
            raise ValueError("usable_memory_gib is larger than memory_gib")
        if (self.gpu_link == "none") != (self.gpu_link_gb_per_s is None):
            raise ValueError("gpu_link and gpu_link_gb_per_s go together: give both, or neither for a PCIe-only card")

    def peak_flops(self, precision: str) -> float | None:
        """Dense peak FLOP/s for a training precision, None where the GPU lacks that path."""
        value = getattr(self.peak_tflops, PRECISION_PEAK_KEY[precision])
        return None if value is None else float(value) * 1e12

    @property
    def usable_bytes(self) -> float:
        # Where no measurement exists we assume 1% is reserved by the driver/ECC (the H100's 80 GiB shows
        # 79.18 GiB to CUDA in ../shared/data/h100_environment.json: 1.0%).
        gib = self.usable_memory_gib if self.usable_memory_gib is not None else self.memory_gib * 0.99
        return gib * 2**30


Mlp = Literal["gelu", "swiglu", "relu2"]
Norm = Literal["layernorm", "layernorm-noaffine", "rmsnorm", "rmsnorm-noweight"]
Bias = Literal["all", "qkv", "none"]
Positions = Literal["learned", "rope"]


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class ModelSpec:
    """A decoder-only transformer: its block (every size is derived from it in gpt2budget.core.block), tokenizer,
    context and the tokens it was originally trained on. The defaults describe GPT-2's block."""

    id: Id
    name: Name
    aliases: Aliases = ()
    family: Annotated[str, Rule(check=_supported_family, description=(
        "architecture family: gpt2, llama (Llama, TinyLlama, SmolLM, Mistral-style dense), qwen2, olmo2, nanochat, "
        "modded-nanogpt"))] = "gpt2"
    n_layer: Layers
    n_head: Heads
    n_embd: Width
    n_kv_head: Annotated[Heads | None, doc("key/value heads (grouped-query attention); default: n_head")] = None
    head_dim: Annotated[Width | None, doc("width of one attention head; default: n_embd / n_head")] = None
    d_ff: Annotated[Width | None, doc("MLP hidden width (SwiGLU's intermediate_size); default: 4 x n_embd")] = None
    mlp: Annotated[Mlp, doc("MLP: gelu (GPT-2: up, GELU, down), swiglu (gate and up, SiLU(gate) x up, down), relu2 "
                            "(up, ReLU squared, down)")] = "gelu"
    norm: Annotated[Norm, doc("normalisation: layernorm (weight and bias), layernorm-noaffine, rmsnorm (weight), "
                              "rmsnorm-noweight")] = "layernorm"
    qk_norm: Annotated[bool, doc("a normalisation of queries and keys before attention (OLMo 2, nanochat)")] = False
    bias: Annotated[Bias, doc("biases: all (GPT-2), qkv (Qwen2: the query, key and value projections), none")] = "all"
    positions: Annotated[Positions, doc("positions: learned (a position table, GPT-2) or rope (rotary, no table)")
                         ] = "learned"
    logit_softcap: Annotated[Pos | None, doc("logits soft-capped as c·tanh(z/c) in fp32 (nanochat: 15)")] = None
    vocab_size: Vocab
    n_ctx: Context
    tied_embeddings: bool = True
    original_tokens: Annotated[TokenCount, doc("tokens the original model was trained on (a number, or 20B, 100M)")]
    sources: dict[str, str]
    notes: Text | None = None

    def __post_init__(self) -> None:
        if self.head_dim is None and self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) is not divisible by n_head ({self.n_head}); give head_dim")
        kv = self.n_kv_head if self.n_kv_head is not None else self.n_head
        if self.n_head % kv:
            raise KeyValueError("n_kv_head", f"n_head ({self.n_head}) is not a multiple of n_kv_head ({kv}): "
                                              "each key/value head serves a whole group of query heads")
        if self.positions == "learned" and self.family not in ("gpt2",):
            raise KeyValueError("positions", f"a learned position table is GPT-2's; family {self.family} uses rope")
        _check_sources(self, {"sources", "family", "n_layer", "n_head", "n_embd", "n_kv_head", "head_dim", "d_ff",
                              "vocab_size", "n_ctx", "logit_softcap"})


# --- training stacks -------------------------------------------------------------------------------

# Byte width of each dtype role, by precision. "compute": the dtype matmuls see; "residual": the residual
# stream; "upcast": ops autocast runs in fp32 (pow, softmax, log_softmax...), else the compute dtype;
# "amp_fp32_copy" / "amp_half_copy": copies that exist only under autocast (logits.float(), a cast of fp32
# softmax output back to 16 bits), 0 bytes otherwise.
DTYPE_BYTES: dict[str, dict[str, float]] = {
    "fp32": {"compute": 4, "residual": 4, "upcast": 4, "amp_fp32_copy": 0},
    "tf32": {"compute": 4, "residual": 4, "upcast": 4, "amp_fp32_copy": 0},
    "amp-bf16": {"compute": 2, "residual": 4, "upcast": 4, "amp_fp32_copy": 4},
    "amp-fp16": {"compute": 2, "residual": 4, "upcast": 4, "amp_fp32_copy": 4},
    "bf16": {"compute": 2, "residual": 2, "upcast": 2, "amp_fp32_copy": 0},
}
FIXED_BYTES = {"fp32": 4, "mask": 1, "int64": 8}
DtypeRole = Literal["compute", "residual", "upcast", "amp_fp32_copy", "amp_half_copy", "fp32", "mask", "int64"]


def _known_precisions(v: tuple[str, ...] | None) -> tuple[str, ...] | None:
    for p in v or ():
        if p not in PRECISIONS:
            raise ValueError(f"unknown precision {p!r}; expected one of {', '.join(PRECISIONS)}")
    return v


def _known_optimizers(v: tuple[str, ...] | None) -> tuple[str, ...] | None:
    for o in v or ():
        _known_optimizer(o)
    return v


def _known_optimizer(v: str) -> str:
    if v not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {v!r}; expected one of {', '.join(OPTIMIZERS)}")
    return v


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class Term:
    """One tensor kept per token: `count` elements of size `unit`, each of `dtype` bytes."""

    what: Text
    count: NonNeg = 1
    unit: Annotated[Literal["h", "q", "kv", "ff", "n_head", "n_head_x_seq", "vocab", "one"], doc(
        "the tensor's width: h (n_embd), q (n_head x head_dim), kv (n_kv_head x head_dim), ff (the MLP's hidden "
        "width), n_head, n_head_x_seq, vocab, or one (a value per token)")]
    dtype: DtypeRole
    when_mlp: Annotated[tuple[Mlp, ...] | None, doc("kept only for these MLPs (gelu, swiglu, relu2)")] = None
    when_norm: Annotated[tuple[Norm, ...] | None, doc("kept only for these normalisations")] = None
    when_positions: Annotated[Positions | None, doc("kept only with learned or rope positions")] = None
    when_qk_norm: Annotated[bool | None, doc("kept only when the model normalises queries and keys (or not)")] = None
    when_attention: Literal["flash", "eager"] | None = None
    when_dropout: bool | None = None
    when_checkpointing: Annotated[bool | None, doc(
        "kept only with activation checkpointing (the stack's level) on, or only with it off")] = None
    when_precision: Annotated[tuple[str, ...] | None, Rule(check=_known_precisions)] = None
    when_vocab_padded: Annotated[bool | None, doc(
        "kept only when the stack zero-pads the vocabulary dimension of the head's GEMMs (its step_time "
        "matmul_shape_padding on and the vocabulary not a multiple of 16 bytes in the compute dtype), or only "
        "when it does not")] = None
    input_of: Annotated[Literal["c_attn", "attn_c_proj", "c_fc", "mlp_c_proj"] | None, doc(
        "kept only as this matmul's input for its weight gradient (dropped when frozen)")] = None
    source: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class Utilization:
    """Fraction of the dense peak sustained over a run (6·N FLOPs per token), by precision family. Accepted in
    older stack files and ignored (the step-time model replaced these constants)."""

    half: Fraction
    tf32: Fraction
    fp32: Fraction
    source: str


def _known_roles(v: dict[str, float]) -> dict[str, float]:
    roles = set(DTYPE_BYTES["fp32"]) | {"amp_half_copy", "fp32"}
    for role in v:
        if role not in roles:
            raise ValueError(f"unknown dtype role {role!r}; expected one of {', '.join(sorted(roles))}")
    return v


Accesses = Annotated[dict[str, float], Rule(check=_known_roles, description=(
    "element accesses (reads + writes) per token by dtype role, in units of the tensor's width"))]


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class FamilyProfile:
    """A stack's per-layer kernel counts and memory passes for other model families: each value given here replaces
    the profile's (which describe GPT-2's block) for the families listed."""

    families: Annotated[tuple[str, ...], doc("the model families (gpt2, llama, qwen2, ...) these values are for")]
    ops_per_layer_forward: Pos | None = None
    ops_per_layer_backward: Pos | None = None
    recompute_ops_per_layer: NonNeg | None = None
    autocast_ops_per_layer: NonNeg | None = None
    elementwise_forward: Accesses | None = None
    elementwise_backward: Accesses | None = None
    elementwise_ff_forward: Annotated[Accesses | None, doc(
        "per layer and token, element accesses of non-matmul kernels over the MLP's hidden width (d_ff), forward")
                                      ] = None
    elementwise_ff_backward: Annotated[Accesses | None, doc("as elementwise_ff_forward, backward")] = None
    source: str

    def __post_init__(self) -> None:
        for f in self.families:
            _supported_family(f)


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class StepTimeProfile:
    """What one micro-step costs a stack besides its matmuls: kernels launched (each costing the CPU
    `dispatch_us_per_op`) and the memory traffic of its non-matmul kernels (gpt2budget.core.steptime)."""

    dispatch_us_per_op: Annotated[Pos, doc("CPU time to issue one GPU kernel, microseconds")]
    ops_per_layer_forward: Annotated[Pos, doc("kernels one layer's forward launches (matmuls included)")]
    ops_per_layer_backward: Annotated[Pos, doc("kernels one layer's backward launches (matmuls included)")]
    recompute_ops_per_layer: Annotated[NonNeg, doc("extra kernels and hooks of a checkpointed layer's recompute")]
    ops_fixed: Annotated[NonNeg, doc("kernels outside the layers per micro-step: embeddings, final norm, loss")]
    # autocast issues casts (16-bit copies of a matmul's fp32 input, weight and bias) that an fp32, TF32 or pure
    # 16-bit run never launches; counted within each of the three counts above
    autocast_ops_per_layer: Annotated[NonNeg, doc(
        "of those kernels, the casts that exist only under autocast (amp-bf16/amp-fp16), counted once in the "
        "forward, once in the backward and once in a recompute")] = 0.0
    elementwise_forward: Annotated[Accesses, doc("per layer and token, h-wide element accesses of non-matmul kernels, forward")]
    elementwise_backward: Annotated[Accesses, doc("as elementwise_forward, backward")]
    logits_accesses: Annotated[Accesses, doc("per token, vocab-wide element accesses of the loss, forward and backward")]
    # Eager attention materializes the s x s scores; how often its kernels read and write each score element
    # depends on fusion. The default counts the unfused chain of transformers' eager_attention_forward
    # (matmul, scale, mask add, softmax in fp32 under autocast, cast back, matmul) and its backward.
    eager_attention_forward: Annotated[Accesses, doc(
        "per s x s score element, element accesses of eager attention's non-matmul passes, forward")] = field(
        default_factory=lambda: {"compute": 6.0, "upcast": 4.0})
    eager_attention_backward: Annotated[Accesses, doc(
        "as eager_attention_forward, backward")] = field(default_factory=lambda: {"compute": 6.0, "upcast": 7.0})
    eager_bytes_per_fp32_flop: Annotated[NonNeg | None, doc(
        "eager PyTorch's unfused elementwise kernels (TensorIterator; under autocast its unvectorized "
        "dynamic-cast path) add SM issue time to their memory traffic: this many bytes per FP32 FLOP/s, "
        "as seconds per byte 1/bandwidth + 1/(this x FP32 peak)")] = None
    dropout_ops_per_layer: Annotated[NonNeg, doc(
        "kernels the block's dropouts add to each layer's forward, and again to its backward, when dropout > 0 (eager "
        "PyTorch: a kernel per dropout; a compiled stack fuses them)")] = 0.0
    # PyTorch's AccumulateGrad adds each micro-step's gradient into .grad in a pass of its own (read, read, write in
    # the parameters' dtype: fp32 under autocast); llm.c's dweight GEMMs accumulate in place (beta = 1): one read
    grad_accumulation: Annotated[Accesses, doc(
        "per trainable parameter, element accesses by dtype role of adding a micro-step's gradient into the "
        "accumulated one (each micro-step after the first)")] = field(default_factory=lambda: {"residual": 3.0})
    matmul_shape_padding: Annotated[bool, doc(
        "the stack zero-pads matmul dimensions that are not a multiple of 16 bytes before calling cuBLAS "
        "(torch.compile since PyTorch 2.1: Inductor's pad_mm)")] = False
    flash_kernel: Annotated[Literal["flash1", "flash2", "cudnn"], doc(
        "the fused attention kernel --attention flash runs: flash2 (FlashAttention-2, PyTorch SDPA's flash kernel "
        "since 2.2), flash1 (FlashAttention-1, SDPA's in PyTorch 2.0 and 2.1) or cudnn (cuDNN's fused attention, as "
        "llm.c)")] = "flash2"
    checkpoint_early_stop: Annotated[bool, doc(
        "full checkpointing stops its recompute once the last saved tensor is rebuilt, skipping the block's last "
        "matmul (PyTorch's non-reentrant torch.utils.checkpoint: true; reentrant checkpointing: false)")] = True
    # PyTorch DDP overlaps its bucketed all-reduce with the backward and exposes the last bucket (~20%); llm.c
    # (train_gpt2.cu at a0d5dbb) reduce-scatters after the whole backward and all-gathers after the update: 0
    grad_comm_overlap: Annotated[float, Rule(ge=0, le=1, description=(
        "fraction of the data-parallel gradient collective hidden behind the backward, from 0 to 1"))] = 0.8
    # llm.c's hand-written non-matmul kernels keep few bytes in flight per SM, so they run at a rate per SM rather
    # than at a share of DRAM bandwidth (steptime.elementwise_bandwidth); PyTorch's and Triton's vectorized
    # kernels saturate the bandwidth (None)
    elementwise_gb_per_s_per_sm: Annotated[Pos | None, doc(
        "GB/s one SM sustains in the stack's non-matmul kernels where that is below the GPU's achieved bandwidth "
        "(needs the GPU's sm_count); none: the kernels reach the bandwidth")] = None
    families: Annotated[tuple[FamilyProfile, ...], doc(
        "kernel counts and memory passes for other model families (the values above are GPT-2's block)")] = ()
    source: str

    def __post_init__(self) -> None:
        casts = self.autocast_ops_per_layer
        for key in ("ops_per_layer_forward", "ops_per_layer_backward"):
            if casts >= getattr(self, key):
                raise KeyValueError("autocast_ops_per_layer", f"autocast_ops_per_layer ({_num(casts)}) is counted "
                                    f"within {key} ({_num(getattr(self, key))}): it must be smaller")


TORCH_VERSION_PATTERN = r"^[0-9]+\.[0-9]+$"  # a PyTorch minor version as --torch takes it: 2.5, 2.11
TorchVersion = Annotated[str, Rule(pattern=TORCH_VERSION_PATTERN, max_length=16, description=(
    "a PyTorch minor version, major.minor (2.5, 2.11)"))]


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class TorchProfile:
    """An older PyTorch's step_time, as changes to the stack's own profile (which describes `torch_version`): the
    attention kernel SDPA runs, whether Inductor pads matmuls, and memory passes a later version fused away."""

    versions: Annotated[tuple[TorchVersion, ...], Rule(min_length=1, description=(
        "the PyTorch minor versions (2.2, 2.3, ...) these changes describe"))]
    flash_kernel: Annotated[Literal["flash1", "flash2", "cudnn"] | None, doc(
        "the fused attention kernel SDPA runs in these versions (default: the profile's)")] = None
    matmul_shape_padding: Annotated[bool | None, doc(
        "whether torch.compile pads matmul dimensions in these versions (default: the profile's)")] = None
    elementwise_backward_added: Annotated[Accesses | None, doc(
        "per layer and token, h-wide element accesses these versions' backward makes on top of the profile's "
        "(passes a later version fused away); added to every family's backward as well")] = None
    source: str


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class StackSpec:
    """A training stack (hf, nanogpt, llm.c): what it keeps in memory per layer and token, and how fast it runs."""

    id: Id
    name: Name
    aliases: Aliases = ()
    description: Text
    default_optimizer: Annotated[str, Rule(check=_known_optimizer)]
    default_attention: Literal["flash", "eager"]
    default_precision: Literal["fp32", "tf32", "amp-bf16", "amp-fp16", "bf16"]
    # "autocast": fp32 weights are the master copy and autocast makes 16-bit copies of them for matmuls;
    # "low-precision-params": 16-bit weights and gradients plus an fp32 master copy (llm.c, DeepSpeed bf16).
    mixed_precision_layout: Literal["autocast", "low-precision-params"]
    # what the stack's activation checkpointing is: "full" re-runs each layer's forward in backward (HF's
    # gradient_checkpointing, torch.utils.checkpoint); "selective" recomputes only cheap parts (llm.c -r 1: GELU)
    checkpointing_level: Annotated[Literal["full", "selective"], doc(
        "the recomputation this stack offers: full (re-run each layer's forward) or selective (llm.c -r 1)")] = "full"
    default_checkpointing: Annotated[Literal["none", "full", "selective"], doc(
        "checkpointing when --checkpointing is not given (llm.c recomputes GELU by default)")] = "none"
    # autocast keeps the 16-bit weight copies it made in its cache until the autocast region ends
    autocast_cache_until_loss: bool = True
    optimizer_step_temporaries: Annotated[bool, doc("foreach optimizers allocate a parameter-sized temporary in step()")] = True
    embeddings_16bit: Annotated[bool, doc(
        "the input embedding table is kept in 16 bits, with its gradient and optimizer states (nanochat)")] = False
    losses: Annotated[tuple[Literal["full", "chunked", "fused-linear"], ...], doc(
        "how the stack can compute the loss: full (its own loss over the whole logits), chunked (the fp32 work a chunk "
        "at a time), fused-linear (the head matmul fused with the loss, Liger Kernel)")] = ("full",)
    optimizer_sharded: Annotated[bool, doc(
        "the stack shards its optimizer's states and update over the GPUs as ZeRO-1 does, without --zero "
        "(nanochat's DistMuon and DistAdamW)")] = False
    gradients_persistent: Annotated[
        bool, doc("gradients live in one buffer allocated once (llm.c), not freed between steps")] = False
    host_fallback: Annotated[tuple[Literal["master_weights", "optimizer_states"], ...], doc(
        "components the stack's code moves to host memory by itself when the card cannot hold them (llm.c: "
        "cudaMallocManaged, slower); the memory result reports what the card then needs")] = ()
    vocab_multiple: Annotated[int, Rule(gt=0, description="vocabulary padded up to a multiple of this")] = 1
    families: Annotated[tuple[str, ...] | None, Rule(check=_supported_families, description=(
        "the model families the stack's code can train (default: every family)"))] = None
    # what the stack's code can run (each left out: everything, so a user's stack keeps working); a run asking for
    # anything else is refused (gpt2budget.core.check.check_options) and never proposed by plan or the advisor
    supported_optimizers: Annotated[tuple[str, ...] | None, Rule(check=_known_optimizers, description=(
        "the optimizers the stack's code has (default: every one)"))] = None
    supported_offload: Annotated[tuple[Literal["none", "optimizer", "params"], ...] | None, doc(
        "the CPU offload modes the stack's code has: none, optimizer, params (default: every one)")] = None
    supported_finetune: Annotated[tuple[Literal["none", "full", "lora", "qlora"], ...] | None, doc(
        "the training modes the stack's code has: none (from scratch), full, lora, qlora (default: every one)")] = None
    supported_zero: Annotated[tuple[Literal[0, 1, 2, 3], ...] | None, doc(
        "the ZeRO stages the stack's code has, 0-3 (default: every one)")] = None
    layer_activations: tuple[Term, ...]
    checkpoint_activations: tuple[Term, ...]
    token_activations: tuple[Term, ...] = ()
    logits_forward: tuple[Term, ...]
    logits_backward: tuple[Term, ...]
    runtime_overhead_gib: NonNeg
    fragmentation: Annotated[float, Rule(ge=0, le=1)]
    step_time: StepTimeProfile
    # the PyTorch version the step_time profile describes (None: the stack runs no PyTorch, as llm.c), and sourced
    # older versions as changes to it, chosen with --torch (gpt2budget.specs.torch_versions)
    torch_version: Annotated[TorchVersion | None, doc(
        "the PyTorch minor version step_time describes (none: the stack runs no PyTorch); its source in "
        "sources.torch_version")] = None
    torch_profiles: Annotated[tuple[TorchProfile, ...], doc(
        "older PyTorch versions as changes to step_time, each sourced (--torch picks one)")] = ()
    # the per-segment utilization constants of the first version: time now comes from `step_time` (and
    # --utilization overrides it), so they are read for older stack files and used by nothing
    utilization: Annotated[dict[Segment, Utilization], doc(
        "ignored: the first version's utilization constants (time now comes from step_time)")] = field(
        default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.torch_version is None and self.torch_profiles:
            raise KeyValueError("torch_profiles", "older PyTorch profiles need torch_version: the version step_time "
                                                  "describes, which they change")
        if self.torch_version is not None and not self.sources.get("torch_version"):
            raise KeyValueError("torch_version", "needs its source in sources.torch_version (where the profile's "
                                                 "constants were measured or counted)")
        seen = {self.torch_version}
        for tp in self.torch_profiles:
            for v in tp.versions:
                if v in seen:
                    raise KeyValueError("torch_profiles", f"PyTorch {v} is described twice (torch_version and "
                                                          "torch_profiles name each version once)")
                seen.add(v)


SPEC_TYPES: tuple[type, ...] = (PeakTflops, Fp16AccumulatePeaks, SustainedGemmTflops, GpuSpec, ModelSpec, Term,
                                Utilization, FamilyProfile, StepTimeProfile, TorchProfile, StackSpec)
KIND_TYPES: dict[str, type] = {"gpus": GpuSpec, "models": ModelSpec, "stacks": StackSpec}  # one folder per kind


def spec_data(value: Any, tag: str | None = None) -> Any:
    """A spec as plain data, as a YAML file would hold it (keys with no value left out). With `tag`, each
    dataclass also names its type under that key, so that the data can be rebuilt (the spec cache)."""
    if is_dataclass(value) and not isinstance(value, type):
        out = {tag: type(value).__name__} if tag else {}
        out.update((f.name, spec_data(v, tag)) for f in fields(value) if (v := getattr(value, f.name)) is not None)
        return out
    if isinstance(value, (tuple, list)):
        return [spec_data(v, tag) for v in value]
    if isinstance(value, dict):
        return {k: spec_data(v, tag) for k, v in value.items()}
    return value


def is_valid_id(text: str) -> bool:
    return re.match(ID_PATTERN, text) is not None

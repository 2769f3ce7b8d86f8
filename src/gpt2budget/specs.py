"""Spec models: what a GPU, a model and a training stack are, validated at the boundary.

Frozen pydantic models with `extra="forbid"`: a typo in a YAML key is an error that names the key,
and NaN/inf are refused everywhere. Every numeric value in a GPU or model spec must name its source in
`sources` (the key itself, or its parent mapping such as `peak_tflops`).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gpt2budget.options import OPTIMIZER_CHOICES as OPTIMIZERS
from gpt2budget.options import PRECISION_CHOICES as PRECISIONS

ID_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"
Id = Annotated[str, Field(pattern=ID_PATTERN, max_length=64)]
Pos = Annotated[float, Field(gt=0)]
PosInt = Annotated[int, Field(gt=0)]
Fraction = Annotated[float, Field(gt=0, le=1)]

# The peak-FLOP/s column each training precision runs on.
PRECISION_PEAK_KEY = {"fp32": "fp32", "tf32": "tf32", "amp-bf16": "bf16", "amp-fp16": "fp16", "bf16": "bf16"}


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class PeakTflops(Frozen):
    """Dense (non-sparse) peak TFLOP/s. Tensor-core figures at FP32 accumulate."""

    fp32: Pos = Field(description="FP32 non-tensor (CUDA core) peak")
    tf32: Pos | None = Field(None, description="TF32 tensor peak, dense")
    fp16: Pos | None = Field(None, description="FP16 tensor peak, dense, FP32 accumulate")
    bf16: Pos | None = Field(None, description="BF16 tensor peak, dense, FP32 accumulate")
    fp8: Pos | None = Field(None, description="FP8 tensor peak, dense, FP32 accumulate")
    fp4: Pos | None = Field(None, description="FP4 tensor peak, dense")


class Fp16AccumulatePeaks(Frozen):
    """GeForce cards only: the faster FP16-accumulate tensor rates, kept apart from the FP32-accumulate ones."""

    fp16: Pos | None = None
    fp8: Pos | None = None


def _check_sources(model: BaseModel, sources: dict[str, str], skip: set[str]) -> None:
    for key, value in model:
        if key in skip or value is None:
            continue
        if isinstance(value, BaseModel):
            for sub, subval in value:
                if subval is not None and key not in sources and f"{key}.{sub}" not in sources:
                    raise ValueError(f"{key}.{sub} has no entry in sources (add sources.{key})")
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and key not in sources:
            raise ValueError(f"{key} has no entry in sources")


class GpuSpec(Frozen):
    id: Id
    name: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    vendor: Literal["nvidia", "amd", "apple", "intel", "other"]
    architecture: str
    segment: Literal["consumer", "datacenter", "workstation"]
    memory_gib: Pos = Field(description="on-board memory in GiB (2^30 bytes); GDDR/HBM 'GB' are binary")
    usable_memory_gib: Pos | None = Field(
        None, description="memory CUDA reports as total (torch.cuda.mem_get_info), where measured"
    )
    memory_bandwidth_gb_per_s: Pos = Field(description="decimal GB/s")
    host_link_gb_per_s: Pos = Field(description="host link (PCIe) bandwidth per direction, decimal GB/s")
    boost_clock_mhz: Pos | None = None
    peak_tflops: PeakTflops
    peak_tflops_fp16_accumulate: Fp16AccumulatePeaks | None = None
    board_power_w: Pos | None = None
    launch_year: Annotated[int, Field(ge=1990, le=2100)] | None = None
    launch_price_usd: Pos | None = None
    rent_usd_per_hour: Pos | None = Field(None, description="on-demand cloud price per GPU-hour")
    sources: dict[str, str]
    notes: str | None = None

    @model_validator(mode="after")
    def _sourced(self) -> GpuSpec:
        _check_sources(self, self.sources, {"sources"})
        if self.usable_memory_gib is not None and self.usable_memory_gib > self.memory_gib:
            raise ValueError("usable_memory_gib is larger than memory_gib")
        return self

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


class ModelSpec(Frozen):
    id: Id
    name: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    n_layer: PosInt
    n_head: PosInt
    n_embd: PosInt
    vocab_size: PosInt
    n_ctx: PosInt
    tied_embeddings: bool = True
    original_tokens: Pos = Field(description="tokens the original model was trained on")
    sources: dict[str, str]
    notes: str | None = None

    def __hash__(self) -> int:
        return id(self)

    @field_validator("n_layer", "n_head", "n_embd", "vocab_size", "n_ctx")
    @classmethod
    def _bounded(cls, v: int) -> int:
        if v > 10_000_000:
            raise ValueError("is implausibly large (limit 10,000,000)")
        return v

    @model_validator(mode="after")
    def _shape(self) -> ModelSpec:
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) is not divisible by n_head ({self.n_head})")
        _check_sources(self, self.sources, {"sources", "n_layer", "n_head", "n_embd", "vocab_size", "n_ctx"})
        return self


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


class Term(Frozen):
    """One tensor kept per token: `count` elements of size `unit`, each of `dtype` bytes."""

    what: str
    count: Annotated[float, Field(ge=0)] = 1
    unit: Literal["h", "n_head", "n_head_x_seq", "vocab", "one"]
    dtype: DtypeRole
    when_attention: Literal["flash", "eager"] | None = None
    when_dropout: bool | None = None
    when_precision: tuple[str, ...] | None = None
    input_of: Literal["c_attn", "attn_c_proj", "c_fc", "mlp_c_proj"] | None = Field(
        None, description="kept only as this matmul's input for its weight gradient (dropped when frozen)")
    source: str | None = None

    @field_validator("when_precision")
    @classmethod
    def _known(cls, v: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for p in v or ():
            if p not in PRECISIONS:
                raise ValueError(f"unknown precision {p!r}; expected one of {', '.join(PRECISIONS)}")
        return v


class Utilization(Frozen):
    """Fraction of the dense peak sustained over a run (6·N FLOPs per token), by precision family."""

    half: Fraction
    tf32: Fraction
    fp32: Fraction
    source: str


class StackSpec(Frozen):
    id: Id
    name: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    description: str
    default_optimizer: str
    default_attention: Literal["flash", "eager"]
    default_precision: Literal["fp32", "tf32", "amp-bf16", "amp-fp16", "bf16"]
    # "autocast": fp32 weights are the master copy and autocast makes 16-bit copies of them for matmuls;
    # "low-precision-params": 16-bit weights and gradients plus an fp32 master copy (llm.c, DeepSpeed bf16).
    mixed_precision_layout: Literal["autocast", "low-precision-params"]
    # autocast keeps the 16-bit weight copies it made in its cache until the autocast region ends
    autocast_cache_until_loss: bool = True
    optimizer_step_temporaries: bool = Field(
        True, description="foreach optimizers allocate a parameter-sized temporary in step()"
    )
    gradients_persistent: bool = Field(
        False, description="gradients live in one buffer allocated once (llm.c), not freed between steps"
    )
    vocab_multiple: PosInt = Field(1, description="vocabulary padded up to a multiple of this")
    layer_activations: tuple[Term, ...]
    checkpoint_activations: tuple[Term, ...]
    token_activations: tuple[Term, ...] = ()
    logits_forward: tuple[Term, ...]
    logits_backward: tuple[Term, ...]
    runtime_overhead_gib: Annotated[float, Field(ge=0)]
    fragmentation: Annotated[float, Field(ge=0, le=1)]
    utilization: dict[Literal["consumer", "datacenter", "workstation"], Utilization]
    sources: dict[str, str] = {}

    def __hash__(self) -> int:  # identity hash: specs are cached per loaded object
        return id(self)

    @field_validator("default_optimizer")
    @classmethod
    def _opt(cls, v: str) -> str:
        if v not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {v!r}; expected one of {', '.join(OPTIMIZERS)}")
        return v



def is_valid_id(text: str) -> bool:
    return re.match(ID_PATTERN, text) is not None

"""JSON Schemas of the spec files and of `check`'s JSON output, generated from pydantic models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from gpt2budget import SCHEMA_VERSION
from gpt2budget.specs import GpuSpec, ModelSpec, StackSpec
from gpt2budget.validation import model_for


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Requirement(_Out):
    tokens: float
    flops: float
    flops_6nd: float
    hardware_flops: float
    ratio: float | None
    wall_time_hours: float | None
    fits_in_duration: bool
    predicted_loss: float | None
    rule: str | None = None


class Requirements(_Out):
    original: Requirement
    compute_optimal: Requirement
    custom: Requirement | None = None
    finetune: Requirement | None = None


class Compute(_Out):
    peak_flops_per_gpu: float
    utilization: float
    utilization_source: str
    parallel_efficiency: float
    gpus: int
    sustained_flops_per_s: float
    available_flops: float
    duration_hours: float
    flops_per_token: float
    flops_formula: str
    recompute_factor: float
    tokens_per_second: float
    offload_seconds_per_token: float
    calibration: str | None


class Throughput(_Out):
    model: str
    step_seconds: float
    micro_steps: int
    tokens_per_step: float
    tokens_per_second: float
    mfu: float
    bound: str
    breakdown: dict[str, float]


class Memory(_Out):
    per_gpu: bool
    allocator_peak_bytes: int
    required_bytes: int
    available_bytes: int
    fits: bool
    max_micro_batch: int
    peak_phase: str
    breakdown: dict[str, int]
    phases: dict[str, int]
    runtime_overhead_bytes: int
    fragmentation_bytes: int
    fragmentation: float
    host_bytes: int
    host_available_bytes: int
    host_fits: bool


class AdviceMemory(_Out):
    allocator_peak_bytes: int
    required_bytes: int
    max_micro_batch: int
    host_bytes: int


class Advice(_Out):
    flags: str
    changes: dict[str, Any]
    memory: AdviceMemory
    fits: bool
    wall_time_hours: float | None
    time_factor: float | None
    model: str


class Cost(_Out):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    for_: str
    gpu_hours: float | None
    energy_kwh: float | None
    electricity_usd: float | None
    emissions_kg_co2: float | None
    rent_usd_per_gpu_hour: float | None
    rent_usd: float | None
    purchase_usd: float | None


class Verdict(_Out):
    feasible: bool
    fits: bool
    in_time: bool
    summary: str


class GpuOut(_Out):
    id: str
    name: str
    memory_gib: float
    usable_bytes: int
    peak_tflops: float
    segment: str


class ModelOut(_Out):
    id: str
    name: str
    n_params: int
    n_params_trained: int
    n_layer: int
    n_head: int
    n_embd: int
    trainable_params: int


class CheckOutput(_Out):
    """The document `gpt2budget check --format json` prints."""

    schema_version: int = SCHEMA_VERSION
    inputs: dict[str, Any]
    gpu: GpuOut
    model: ModelOut
    compute: Compute
    throughput: Throughput
    requirements: Requirements
    memory: Memory
    target: str
    loss_caveat: str
    cost: dict[str, Any]
    verdict: Verdict
    advice: list[Advice]


def json_schema(kind: str) -> dict[str, Any]:
    models: dict[str, type[BaseModel]] = {"gpu": model_for(GpuSpec), "model": model_for(ModelSpec),
                                          "stack": model_for(StackSpec), "check": CheckOutput}
    model = models[kind]
    schema = model.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema.setdefault("title", model.__name__)
    return schema

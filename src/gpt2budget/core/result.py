"""The typed results of the core: what `check`, the advisor, `plan` and `compare` return.

Immutable NamedTuples (cheap to build: a sweep makes one per row). The output layer (gpt2budget.output.report) turns
them into data for JSON/YAML/CSV with `to_data`, adds the sentences, and the JSON Schema of `check` is generated
from these same types (gpt2budget.output.schema), so the shape of a result is written once, here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any, NamedTuple

from gpt2budget.core.trace import Term, Trace

# A float that may be infinite ("never", "unbounded"): JSON has no inf, so the data has null there.
MaybeInf = Annotated[float, "null when infinite"]


class Inputs(NamedTuple):
    """The configuration as evaluated (every default resolved); `gpus` is the total over all nodes."""

    gpu: str
    model: str
    stack: str
    gpus: int
    nodes: int
    precision: str
    optimizer: str
    checkpointing: str  # none, or the stack's recomputation level (full, selective)
    attention: str
    dropout: float
    seq: int
    micro_batch: int
    zero: int
    offload: str
    utilization: float  # the fraction of peak sustained (given by --utilization, or what the step model implies)
    duration_hours: float
    tokens: float | None
    flops_formula: str
    parallel_efficiency: float | None
    optimal_rule: str
    batch_tokens: float
    host_memory_gib: float
    host_adam_params_per_s: float | None  # --host-adam-params-per-s; None: the GPU class's estimate
    finetune: str
    lora_rank: int
    lora_targets: str
    lora_dropout: float
    loss: str  # full, chunked or fused-linear (how the loss meets the logits)
    average_draw: float
    pue: float
    price_per_kwh: float
    grid_gco2_per_kwh: float
    rent_usd_per_hour: float | None
    torch: str | None = None  # --torch: the PyTorch version of the stack profile asked for (left out when not asked)


class GpuInfo(NamedTuple):
    id: str
    name: str
    memory_gib: float
    usable_bytes: int
    peak_tflops: float  # at the run's precision, dense
    segment: str


class ModelInfo(NamedTuple):
    id: str
    name: str
    n_params: int  # the published model's parameters (at its own n_ctx)
    n_params_trained: int  # at the run's sequence length and the stack's padded vocabulary
    n_layer: int
    n_head: int
    n_embd: int
    trainable_params: int


class Compute(NamedTuple):
    peak_flops_per_gpu: float
    utilization: float
    utilization_source: str  # --utilization, step-time model or calibration
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
    calibration: str | None  # the source of this GPU's measured calibration, if one was used


class Throughput(NamedTuple):
    """The step-time model's answer (gpt2budget.core.steptime); with --utilization it is shown but not used."""

    model: str
    step_seconds: float
    micro_steps: int
    tokens_per_step: float
    tokens_per_second: float
    mfu: float
    bound: str
    breakdown: Mapping[str, float]  # seconds per optimizer step by term; the terms sum to step_seconds
    terms: tuple[Term, ...]  # the same terms, each with its trace: formula, inputs with units, sources


class Requirement(NamedTuple):
    """One recipe: its tokens, FLOPs and time on this hardware."""

    tokens: float
    flops: float
    flops_6nd: float
    hardware_flops: float  # with recomputation
    ratio: MaybeInf  # duration / time needed (inf when no time is needed)
    wall_time_hours: MaybeInf
    fits_in_duration: bool
    predicted_loss: float | None  # None for fine-tuning: a from-scratch law says nothing there
    rule: str | None = None  # the compute-optimal recipe's rule, or the modern recipe's name (only there)


class Requirements(NamedTuple):
    """The recipes, in the order they are shown; a recipe that does not apply is None."""

    finetune: Requirement | None
    original: Requirement
    compute_optimal: Requirement
    modern: Requirement | None  # the model's quality reached by a published modern recipe (core.scaling.MODERN_RECIPES)
    custom: Requirement | None

    def items(self) -> Iterator[tuple[str, Requirement]]:
        """(name, requirement) of the recipes that apply."""
        for name, req in zip(self._fields, self, strict=True):
            if req is not None:
                yield name, req

    def get(self, name: str) -> Requirement:
        req = getattr(self, name)
        if req is None:
            raise KeyError(name)
        return req  # type: ignore[no-any-return]


class Memory(NamedTuple):
    """The memory check (per GPU when data parallel). Byte counts are whole bytes."""

    per_gpu: bool
    allocator_peak_bytes: int
    required_bytes: int  # allocator peak + fragmentation + runtime: the number the fit is judged on
    available_bytes: int
    fits: bool  # on the card and in host memory
    max_micro_batch: int
    peak_phase: str
    breakdown: Mapping[str, int]  # at the peak phase; the parts sum to the allocator peak
    phases: Mapping[str, int]
    runtime_overhead_bytes: int
    fragmentation_bytes: int
    fragmentation: float
    host_bytes: int
    host_available_bytes: int
    host_fits: bool
    # a run the card cannot hold, on a stack whose code then moves its optimizer states and master weights to host
    # memory by itself (llm.c: StackSpec.host_fallback): what the card needs so; 0 otherwise
    host_fallback_required_bytes: int = 0


class Cost(NamedTuple):
    for_: str  # the recipe costed ("for" in the data)
    gpu_hours: float | None
    energy_kwh: float | None
    electricity_usd: float | None
    emissions_kg_co2: float | None
    rent_usd_per_gpu_hour: float | None
    rent_usd: float | None
    purchase_usd: float | None


class Verdict(NamedTuple):
    """The answer as facts; the sentence that says it is made by the output layer (report.summary)."""

    feasible: bool
    fits: bool
    in_time: bool


class AdviceMemory(NamedTuple):
    allocator_peak_bytes: int
    required_bytes: int
    max_micro_batch: int
    host_bytes: int


class Advice(NamedTuple):
    """One change the advisor suggests: the full configuration it leads to (`inputs`); the flags to paste are
    made from it by the output layer (gpt2budget.output.flags)."""

    inputs: Inputs
    changes: Mapping[str, Any]  # the inputs that differ from the run asked about
    memory: AdviceMemory
    fits: bool
    wall_time_hours: MaybeInf
    time_factor: MaybeInf | None  # wall time / the run's own
    model: str


class CheckResult(NamedTuple):
    """Everything `check` answers for one configuration."""

    schema_version: int
    inputs: Inputs
    gpu: GpuInfo
    model: ModelInfo
    compute: Compute
    throughput: Throughput
    requirements: Requirements
    memory: Memory
    target: str  # the recipe the verdict and the cost are about
    loss_caveat: str
    cost: Cost | None  # None when evaluated without cost (the advisor's trials)
    verdict: Verdict
    advice: tuple[Advice, ...] = ()

    @property
    def target_requirement(self) -> Requirement:
        return self.requirements.get(self.target)


class PlanEntry(NamedTuple):
    """One model considered by `plan`: its best configuration, or why none fits."""

    model: str
    n_params: int
    fits: bool
    inputs: Inputs | None = None  # the configuration chosen (the flags to paste come from it)
    tokens: float | None = None
    predicted_loss: float | None = None
    micro_batch: int | None = None
    tokens_per_second: float | None = None
    wall_time_hours: float | None = None
    limit: str | None = None  # what bounds the tokens: the duration, or --budget-usd
    tokens_per_param: float | None = None


class ComputeOptimal(NamedTuple):
    rule: str
    available_flops: float
    n_params: float
    tokens: float


class PlanResult(NamedTuple):
    """`plan`: the model with the lowest predicted loss that fits and finishes in the time (and budget)."""

    best: PlanEntry | None
    considered: tuple[PlanEntry, ...]
    options_tried: int
    compute_optimal: ComputeOptimal
    cost: Cost | None  # of the best plan
    memory: Memory | None  # of the best plan
    binding_limit: str | None  # memory or compute


class CompareRow(NamedTuple):
    """One row of `compare`: a GPU (or a model) with the run's fit, time and cost."""

    gpu: str
    model: str
    precision: str
    peak_tflops: float
    memory_gib: float
    fits: bool
    max_micro_batch: int
    required_gib: float
    original_hours: float
    compute_optimal_hours: float
    rent_usd: float | None
    electricity_usd: float | None


# Fields left out of the data when None (a recipe that does not apply, a rule only the compute-optimal recipe
# has, the cost of a run evaluated without one), and fields whose data name is a Python keyword.
OMIT_NONE: dict[type, frozenset[str]] = {
    Requirement: frozenset({"rule"}),
    Requirements: frozenset({"finetune", "modern", "custom"}),
    CheckResult: frozenset({"cost"}),
    Inputs: frozenset({"torch"}),
}
DATA_NAMES: dict[type, dict[str, str]] = {Cost: {"for_": "for"}}


def to_data(x: Any) -> Any:
    """A result as plain data (dicts, lists, numbers, strings), fields in their declared order."""
    if type(x) is Trace:  # its inputs as objects: {name, value, unit}
        return {"formula": x.formula, "inputs": [to_data(i) for i in x.inputs], "source": x.source}
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        t = type(x)
        omit = OMIT_NONE.get(t, frozenset())
        names = DATA_NAMES.get(t, {})
        return {names.get(f, f): to_data(v) for f, v in zip(x._fields, x, strict=True)
                if not (v is None and f in omit)}
    if isinstance(x, Mapping):
        return {k: to_data(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_data(v) for v in x]
    return x

"""The library API: everything the CLI does, from Python. The CLI parses options, calls these, and renders.

    from gpt2budget.api import load, configure, evaluate
    specs = load()
    ci = configure(specs, gpu="4070ti", model="gpt2-xl", finetune="lora", tokens="100M")
    result = evaluate(ci)            # a typed CheckResult (gpt2budget.core.result)
    result.throughput.tokens_per_second, result.verdict.feasible, result.memory.required_bytes
    check_data(result)               # the document `check --format json` prints (gpt2budget.output.report)

Errors are exceptions (gpt2budget.errors: UsageError names the option, SpecError the file and key); options
take the CLI's values as plain strings or numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpt2budget.core.advisor import advise as _advise
from gpt2budget.core.calibration import Calibration
from gpt2budget.core.check import DEFAULT_HOST_MEMORY_GIB, CheckInputs, default_precision, evaluate
from gpt2budget.core.cost import CostInputs
from gpt2budget.core.result import Advice, CheckResult, CompareRow, PlanResult, to_data
from gpt2budget.errors import UnknownNameError, UsageError
from gpt2budget.options import RunOptions
from gpt2budget.specs.catalog import Specs, load_specs
from gpt2budget.specs.definitions import GpuSpec, ModelSpec, StackSpec
from gpt2budget.units import parse_count, parse_duration

if TYPE_CHECKING:
    from gpt2budget.output.sweep import Fixed

__all__ = ["load", "configure", "evaluate", "check", "advise", "plan", "compare", "sweep", "to_data", "Specs",
           "CheckInputs", "CheckResult", "PlanResult", "CompareRow"]

ZERO_NAMES = {"0": 0, "1": 1, "2": 2, "3": 3, "no_shard": 0, "shard_grad_op": 2, "full_shard": 3}


def load(config_dirs: Iterable[str | Path] = (), user_dir: str | Path | None = None) -> Specs:
    """The built-in catalogues plus the user's spec folders (later folders win)."""
    return load_specs(str(user_dir) if user_dir else None, [str(p) for p in config_dirs])


def parse_zero(text: str | int, fsdp: str | None = None) -> int:
    """A ZeRO stage from --zero (0-3) or an FSDP sharding name (--fsdp)."""
    text = str(text)
    if fsdp and text.strip() not in ("0", ""):
        raise UsageError("--fsdp", f"conflicts with --zero {text}: give one of them (FULL_SHARD = --zero 3)")
    key = (fsdp or text).strip().lower()
    if key not in ZERO_NAMES:
        opt = "--fsdp" if fsdp else "--zero"
        raise UsageError(opt, f"expected 0, 1, 2, 3 or an FSDP name (NO_SHARD, SHARD_GRAD_OP, FULL_SHARD), got {key!r}")
    return ZERO_NAMES[key]


def checkpointing_on(stack: StackSpec, level: str | None) -> bool:
    """--checkpointing as the stack offers it: none, or the one recomputation level the stack has."""
    value = stack.default_checkpointing if level is None else level
    if value == "none":
        return False
    if value != stack.checkpointing_level:
        have = {"full": "full (re-runs each layer's forward)", "selective": "selective (llm.c -r 1: GELU recomputed)"}
        raise UsageError("--checkpointing", f"the {stack.id} stack has {have[stack.checkpointing_level]}, "
                                            f"not {value} (use --checkpointing {stack.checkpointing_level} or none)")
    return True


def reserved(g: GpuSpec, reserve_gib: float) -> GpuSpec:
    """The GPU with `reserve_gib` less usable memory (a desktop, another process): usable_memory_gib lowered."""
    import dataclasses

    usable = g.usable_bytes / 2**30
    if usable - reserve_gib < 1:
        raise UsageError("--reserve-gib", f"{reserve_gib:g} GiB leaves {usable - reserve_gib:.2f} GiB of the "
                                          f"{usable:.2f} GiB usable on {g.id}; expected at least 1 GiB left")
    return dataclasses.replace(g, usable_memory_gib=usable - reserve_gib, sources={
        **g.sources, "usable_memory_gib": f"{usable:.2f} GiB usable less --reserve-gib {reserve_gib:g}"})


def _v(x: Any) -> Any:
    """An option's plain value (the CLI passes str Enums)."""
    return getattr(x, "value", x)


# (option name, flag, lowest allowed, highest allowed, whether the lowest itself is allowed)
RANGES: tuple[tuple[str, str, float, float, bool], ...] = (
    ("utilization", "--utilization", 0.0, 1.0, False), ("dropout", "--dropout", 0.0, 0.999999, True),
    ("lora_dropout", "--lora-dropout", 0.0, 0.999999, True), ("host_memory", "--host-memory", 0.0, 1e7, False),
    ("parallel_efficiency", "--parallel-efficiency", 0.0, 1.0, False),
    ("average_draw", "--average-draw", 0.0, 1.5, False), ("micro_batch", "--micro-batch", 1, 1_000_000, True),
    ("gpus", "--gpus", 1, 100_000, True), ("nodes", "--nodes", 1, 100_000, True),
)


def _check_ranges(kw: dict[str, Any]) -> None:
    for name, option, lo, hi, lo_ok in RANGES:
        value = kw.get(name)
        if value is None:
            continue
        if not (lo <= value <= hi) or (value == lo and not lo_ok):
            raise UsageError(option, f"{value} is outside the allowed range (see --help)")


def configure(specs: Specs, gpu: str, model: str, stack: str = "hf", *, calibration: Calibration | None = None,
              **kw: Any) -> CheckInputs:
    """One configuration, from `check`'s options (names without dashes: micro_batch, batch_tokens, ...); an
    option left out takes the CLI's default, or the stack's."""
    _check_ranges(kw)
    g = specs.gpus.get(gpu, "--gpu")
    if kw.get("reserve_gib"):
        g = reserved(g, kw["reserve_gib"])
    m = model_named(specs, model)
    s = specs.stacks.get(stack, "--stack")
    opts = RunOptions(
        precision=_v(kw.get("precision")) or default_precision(g, s),
        optimizer=_v(kw.get("optimizer")) or s.default_optimizer,
        checkpointing=checkpointing_on(s, _v(kw.get("checkpointing"))),
        attention=_v(kw.get("attention")) or s.default_attention,
        dropout=kw.get("dropout") or 0.0, seq=kw.get("seq") or m.n_ctx, micro_batch=kw.get("micro_batch") or 1,
        gpus=(kw.get("gpus") or 1) * (kw.get("nodes") or 1), zero=parse_zero(kw.get("zero") or "0", kw.get("fsdp")),
        offload=_v(kw.get("offload")) or "none", finetune=_v(kw.get("finetune")) or "none",
        lora_rank=kw.get("lora_rank") or 8, lora_targets=_v(kw.get("lora_targets")) or "attention",
        lora_dropout=kw.get("lora_dropout") or 0.0, loss=_v(kw.get("loss")) or "full",
    )
    tokens = kw.get("tokens")
    return CheckInputs(
        gpu=g, model=m, stack=s, options=opts, duration_s=parse_duration(str(kw.get("duration") or "1y")),
        utilization=kw.get("utilization"), tokens=parse_count(str(tokens), "--tokens") if tokens else None,
        flops_formula=_v(kw.get("flops_formula")) or "6n", parallel_efficiency=kw.get("parallel_efficiency"),
        optimal_rule=_v(kw.get("optimal_rule")) or "chinchilla-20",
        batch_tokens=parse_count(str(kw.get("batch_tokens") or "524288"), "--batch-tokens"),
        host_memory_gib=kw.get("host_memory") or DEFAULT_HOST_MEMORY_GIB, nodes=kw.get("nodes") or 1,
        host_adam_params_per_s=host_adam(kw.get("host_adam_params_per_s")),
        cost_inputs=CostInputs(
            average_draw=kw.get("average_draw") or 0.8, pue=kw.get("pue") or 1.1,
            price_per_kwh=0.17 if kw.get("price_per_kwh") is None else kw["price_per_kwh"],
            grid_gco2_per_kwh=480.0 if kw.get("grid_gco2_per_kwh") is None else kw["grid_gco2_per_kwh"],
            rent_usd_per_hour=kw.get("rent_usd_per_hour")),
        calibration=calibration,
    )


def model_named(specs: Specs, name: str) -> ModelSpec:
    """A model of the catalogue, or a GPT-2-proportioned shape named as `plan --custom-shapes` names them
    (gpt2-l16-h896: 16 layers of width 896), or a Hugging Face config.json file (gpt2budget.specs.hf_config)."""
    from gpt2budget.specs import hf_config

    if hf_config.is_config_path(name):
        return _config_model(Path(name))
    try:
        return specs.models.get(name, "--model")
    except UnknownNameError:
        config = hf_config.existing_config(name)
        if config is not None:
            return _config_model(config)
        if name.strip().lower().startswith("gpt2-l"):
            from gpt2budget.core.planner import custom_model

            base = specs.models.items.get("gpt2")
            found = custom_model(base, name) if base is not None else None
            if found is not None:
                return found
        raise


def _config_model(path: Path) -> ModelSpec:
    from gpt2budget.core.shape import Shape, n_params
    from gpt2budget.specs.hf_config import load_config_model

    return load_config_model(path, lambda m: n_params(Shape.of(m, m.n_ctx)))


def plan(ci: CheckInputs, models: Iterable[ModelSpec], budget_usd: float | None = None) -> PlanResult:
    """The model with the lowest predicted loss that fits and finishes in time (and budget)."""
    from gpt2budget.core.planner import plan as _plan  # imported when planning: `check` never pays for it

    return _plan(ci, models, budget_usd)


def advise(ci: CheckInputs, specs: Specs, result: CheckResult | None = None) -> tuple[Advice, ...]:
    """Changes that make a run fit (or fit a larger micro-batch), ranked by time; each with the configuration
    it leads to (gpt2budget.output.flags.change_flags writes them as flags `check` takes)."""
    return _advise(ci, specs.models, result if result is not None else evaluate(ci))


def check(ci: CheckInputs, specs: Specs, advice: bool = True) -> CheckResult:
    """What `check` answers: the evaluation, with the advisor's suggestions where the run needs them."""
    from gpt2budget.core.advisor import needs_advice

    r = evaluate(ci)
    return r._replace(advice=_advise(ci, specs.models, r)) if advice and needs_advice(r) else r


COMPARE_SORTS = ("time", "peak", "memory", "cost", "name")


def compare(specs: Specs, by: str = "gpu", model: str | None = None, gpus: Iterable[str] = (), sort: str = "time",
            configure_one: Callable[[str, str], CheckInputs] | None = None, **options: Any) -> list[CompareRow]:
    """Every GPU side by side for one model (by="gpu"; `gpus` filters), or every model on one GPU (by="model"),
    with `check`'s run options, sorted. Cards without the precision asked for are left out when no GPU was named."""
    if sort not in COMPARE_SORTS:
        raise UsageError("--sort", f"expected {', '.join(COMPARE_SORTS)}, got {sort!r}")
    gpu_names = list(gpus)
    if by == "gpu":
        if not model:
            raise UsageError("--model", "compare --by gpu needs a model, e.g. --model gpt2-xl")
        ids = [specs.gpus.get(g, "--gpu").id for g in gpu_names] if gpu_names else [g.id for g in specs.gpus]
        pairs = [(g, model) for g in ids]
    else:
        if len(gpu_names) != 1:
            raise UsageError("--gpu", "compare --by model needs exactly one --gpu")
        pairs = [(gpu_names[0], m.id) for m in specs.models]
    make = configure_one or (lambda g, m: configure(specs, g, m, **options))
    rows = []
    for g, m in pairs:
        try:
            r = evaluate(make(g, m))
        except UsageError as exc:
            if by == "gpu" and not gpu_names and exc.option in ("--precision", "--reserve-gib"):
                continue  # e.g. --precision bf16 across cards without bf16, --reserve-gib 10 across 8 GB cards
            if by == "model" and exc.option == "--stack":
                continue  # a model of a family the stack cannot train (llmc: GPT-2 only)
            raise
        mem, req = r.memory, r.requirements
        rows.append(CompareRow(
            gpu=r.gpu.id, model=r.model.id, precision=r.inputs.precision,
            peak_tflops=round(r.compute.peak_flops_per_gpu / 1e12, 1), memory_gib=r.gpu.memory_gib, fits=mem.fits,
            max_micro_batch=mem.max_micro_batch, required_gib=round(mem.required_bytes / 2**30, 2),
            original_hours=req.original.wall_time_hours,
            compute_optimal_hours=req.compute_optimal.wall_time_hours,
            rent_usd=r.cost.rent_usd if r.cost else None,
            electricity_usd=r.cost.electricity_usd if r.cost else None))
    keys: dict[str, Callable[[CompareRow], Any]] = {
        "time": lambda x: (not x.fits, x.original_hours), "peak": lambda x: -x.peak_tflops,
        "memory": lambda x: -x.memory_gib, "name": lambda x: x.gpu if by == "gpu" else x.model,
        # one comparable cost for every card: the electricity of the original recipe (rent is priced for few)
        "cost": lambda x: (not x.fits, x.electricity_usd is None, x.electricity_usd or 0.0)}
    rows.sort(key=keys[sort])
    return rows


SWEEP_DEFAULTS = {"gpu": ["all"], "model": ["all"], "stack": ["hf"], "precision": ["default"],
                  "optimizer": ["default"], "checkpointing": ["none"], "micro_batch": ["1"], "seq": ["default"],
                  "gpus": ["1"], "zero": ["0"], "attention": ["default"], "offload": ["none"], "finetune": ["none"]}


def host_adam(value: str | float | None) -> float | None:
    """--host-adam-params-per-s as typed (a count: 1.4e9, 250M), or None for the GPU class's estimate."""
    return parse_count(str(value), "--host-adam-params-per-s") if value else None


def sweep_fixed(tokens: str | None = None, host_memory: float = DEFAULT_HOST_MEMORY_GIB,
                host_adam_params_per_s: str | float | None = None, reserve_gib: float = 0.0) -> Fixed:
    """What every row of a sweep shares (`sweep`'s --tokens, --host-memory, --host-adam-params-per-s,
    --reserve-gib), checked."""
    from gpt2budget.output.sweep import Fixed

    _check_ranges({"host_memory": host_memory})
    if not 0 <= reserve_gib <= 1024:
        raise UsageError("--reserve-gib", f"{reserve_gib} is outside the allowed range (see --help)")
    return Fixed(tokens=parse_count(tokens, "--tokens") if tokens else None, host_memory_gib=host_memory,
                 host_adam_params_per_s=host_adam(host_adam_params_per_s), reserve_gib=reserve_gib)


def sweep(specs: Specs, duration: str = "1y", tokens: str | None = None, host_memory: float = DEFAULT_HOST_MEMORY_GIB,
          host_adam_params_per_s: str | float | None = None, reserve_gib: float = 0.0,
          **axes: str | Iterable[str | int]) -> Iterator[dict[str, Any]]:
    """The rows `gpt2budget sweep` writes, lazily: one flat dict per configuration of the grid. Each axis (gpu,
    model, stack, precision, optimizer, checkpointing, micro_batch, seq, gpus, zero, attention, offload, finetune)
    takes a comma list or a list of values; an axis left out takes sweep's default. `tokens`, `host_memory` (GiB
    per node), `host_adam_params_per_s` and `reserve_gib` (GPU memory left free) hold for every row."""
    from gpt2budget.output.sweep import grid, rows

    fixed = sweep_fixed(tokens, host_memory, host_adam_params_per_s, reserve_gib)
    return rows(specs, grid(specs, sweep_axes(axes)), parse_duration(duration), fixed)


def sweep_axes(axes: Mapping[str, str | Iterable[str | int] | None]) -> dict[str, list[str]]:
    """Every axis of a sweep as its list of values: comma lists split (an axis may also be given as a list, or
    repeated on the command line), an axis left out or None takes sweep's default. An empty item ('1,,2', a
    trailing comma, an empty list) is a usage error naming the option, not a value silently dropped."""
    unknown = sorted(set(axes) - set(SWEEP_DEFAULTS))
    if unknown:
        raise UsageError(f"--{unknown[0].replace('_', '-')}", "is not an axis of a sweep")
    out: dict[str, list[str]] = {}
    for key, default in SWEEP_DEFAULTS.items():
        given = axes.get(key)
        if given is None:
            out[key] = list(default)
            continue
        text = given if isinstance(given, str) else ",".join(str(v) for v in given)
        items = [p.strip() for p in text.split(",")]
        if not all(items):
            raise UsageError(f"--{key.replace('_', '-')}", f"expected a comma list of values, got {text!r} "
                                                          "(an empty item)")
        out[key] = items
    return out

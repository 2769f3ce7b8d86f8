"""The library API: everything the CLI does, from Python. The CLI parses options, calls these, and renders.

    from gpt2budget.api import load, configure, evaluate
    specs = load()
    ci = configure(specs, gpu="4070ti", model="gpt2-xl", finetune="lora", tokens="100M")
    result = evaluate(ci)            # a typed CheckResult (gpt2budget.core.result)
    result.throughput.tokens_per_second, result.verdict.feasible, result.memory.required_bytes
    check_data(result)               # the document `check --format json` prints (gpt2budget.output.report)

A configuration is a RunRequest (gpt2budget.request): `configure(specs, RunRequest(gpu=..., model=...))`, or the
same fields as keywords. Errors are exceptions, and only the project's (gpt2budget.errors: UsageError names the
option, SpecError the file and key), whatever the input: a misspelt option name fails at the call; options take
the CLI's values as plain strings or numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpt2budget.core.advisor import advise as _advise
from gpt2budget.core.calibration import Calibration
from gpt2budget.core.check import CheckInputs, default_precision, largest_fitting_micro_batch, reserved_gpu
from gpt2budget.core.check import evaluate as _evaluate
from gpt2budget.core.cost import CostInputs
from gpt2budget.core.result import Advice, CheckResult, CompareRow, PlanResult
from gpt2budget.core.result import to_data as _to_data
from gpt2budget.core.step_constants import DEFAULT_STEP_CONSTANTS, StepConstants
from gpt2budget.errors import SpecError, UnknownNameError, UsageError
from gpt2budget.options import (
    ADAPTER_FINETUNES,
    DEFAULT_DURATION,
    DEFAULT_HOST_MEMORY_GIB,
    DEFAULT_LORA_RANK,
    DEFAULT_STACK,
    RunOptions,
)
from gpt2budget.request import (
    CHOICES,
    Range,
    RunRequest,
    _got,
    check_choice,
    check_count,
    check_duration,
    check_field_names,
    check_float,
    check_int,
    check_name,
)
from gpt2budget.specs.catalog import Specs, load_specs
from gpt2budget.specs.definitions import GpuSpec, ModelSpec, StackSpec
from gpt2budget.specs.torch_versions import stack_for_torch

if TYPE_CHECKING:
    from gpt2budget.output.sweep import Fixed, Grid

__all__ = ["load", "configure", "evaluate", "check", "advise", "plan", "compare", "sweep", "to_data", "Specs",
           "RunRequest", "CheckInputs", "CheckResult", "PlanResult", "CompareRow"]


def load(config_dirs: Iterable[str | Path] = (), user_dir: str | Path | None = None) -> Specs:
    """The built-in catalogues plus the user's spec folders (later folders win)."""
    folders = [_folder("config_dirs", p) for p in _items("config_dirs", config_dirs)]
    user = None if user_dir is None else _folder("user_dir", user_dir)
    try:
        return load_specs(user, folders)
    except OSError as exc:  # a folder the system cannot even look at (a name too long, a loop of links)
        where = str(exc.filename) if exc.filename is not None else (user or ", ".join(folders))
        raise SpecError(where, "", f"cannot read this folder ({exc.strerror or exc})") from None


def _items(name: str, value: Any) -> list[Any]:
    """A list given as a list or another iterable (not a lone string, which would iterate its letters)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise UsageError(name, f"expected a list, got {_got(value)}")
    return list(value)


def _folder(name: str, value: Any) -> str:
    if isinstance(value, Path):
        value = str(value)
    if not isinstance(value, str) or not value.strip() or "\0" in value:
        raise UsageError(name, f"expected a folder path, got {_got(value)}")
    return value


def _is(name: str, value: Any, kind: type, what: str) -> None:
    if not isinstance(value, kind):
        raise UsageError(name, f"expected {what}, got {_got(value)}")


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
    return reserved_gpu(g, reserve_gib)


def configure(specs: Specs, request: RunRequest | str | None = None, /, *names: str,
              calibration: Calibration | None = None, constants: StepConstants | None = None,
              **fields: Any) -> CheckInputs:
    """One configuration: a RunRequest, or its fields by name (`check`'s options without dashes: gpu, model,
    micro_batch, batch_tokens, ...); fields given with a request change it. An option left out takes the CLI's
    default, or the stack's. The older call `configure(specs, gpu, model, stack, **options)` still works.
    `constants`: the step-time model's constants (gpt2budget.core.step_constants), a variant of
    DEFAULT_STEP_CONSTANTS made with dataclasses.replace; None: the shipped ones."""
    _is("specs", specs, Specs, "the catalogues from gpt2budget.api.load()")
    if calibration is not None:
        _is("calibration", calibration, Calibration, "a Calibration or None")
    if constants is not None:
        _is("constants", constants, StepConstants, "a StepConstants or None")
    if isinstance(request, RunRequest):
        if names:
            raise UsageError("configure", "takes a RunRequest or the gpu, model and stack names, not both")
        req = request.replace(**fields) if fields else request
    else:
        positional = ([] if request is None else [request]) + list(names)
        if len(positional) > 3:
            raise UsageError("configure", f"takes at most gpu, model and stack by position, got {len(positional)}")
        for key, value in zip(("gpu", "model", "stack")[:len(positional)], positional, strict=True):
            if key in fields:
                raise UsageError(f"--{key}", "given twice (by position and by name)")
            fields[key] = value
        req = RunRequest.from_fields(fields)
    return inputs_for(specs, req, calibration, constants)


def inputs_for(specs: Specs, req: RunRequest, calibration: Calibration | None = None,
               constants: StepConstants | None = None) -> CheckInputs:
    """The request against the catalogues: the specs it names, the stack's defaults, the checks that need them."""
    g = specs.gpus.get(req.gpu, "--gpu")
    if req.reserve_gib:
        g = reserved(g, req.reserve_gib)
    m = model_named(specs, req.model)
    s = stack_for_torch(specs.stacks.get(req.stack, "--stack"), req.torch)
    lora = req.finetune in ADAPTER_FINETUNES
    lora_rank = DEFAULT_LORA_RANK if req.lora_rank is None else req.lora_rank
    if lora and lora_rank > m.n_embd:
        raise UsageError("--lora-rank", f"{lora_rank:,} is more than {m.id}'s width ({m.n_embd:,}): an adapter's "
                                        f"rank is at most the width of the weight it adapts")
    opts = RunOptions(
        precision=req.precision or default_precision(g, s),
        optimizer=req.optimizer or s.default_optimizer,
        checkpointing=checkpointing_on(s, req.checkpointing),
        attention=req.attention or s.default_attention,
        dropout=req.dropout, seq=m.n_ctx if req.seq is None else req.seq,
        micro_batch=1 if req.micro_batch == "auto" else int(req.micro_batch),
        gpus=req.gpus * req.nodes, zero=req.zero_stage, offload=req.offload, finetune=req.finetune,
        lora_rank=lora_rank, lora_targets=req.lora_targets or "attention",
        lora_dropout=0.0 if req.lora_dropout is None else req.lora_dropout, loss=req.loss,
    )
    tokens = None if req.tokens is None else float(req.tokens)
    adam = None if req.host_adam_params_per_s is None else float(req.host_adam_params_per_s)
    ci = CheckInputs(
        gpu=g, model=m, stack=s, options=opts, duration_s=req.duration_s, utilization=req.utilization,
        tokens=tokens, flops_formula=req.flops_formula, parallel_efficiency=req.parallel_efficiency,
        optimal_rule=req.optimal_rule, batch_tokens=float(req.batch_tokens), host_memory_gib=req.host_memory,
        nodes=req.nodes, host_adam_params_per_s=adam,
        cost_inputs=CostInputs(average_draw=req.average_draw, pue=req.pue, price_per_kwh=req.price_per_kwh,
                               grid_gco2_per_kwh=req.grid_gco2_per_kwh, rent_usd_per_hour=req.rent_usd_per_hour),
        calibration=calibration, torch=req.torch,
        step_constants=DEFAULT_STEP_CONSTANTS if constants is None else constants,
    )
    if req.micro_batch == "auto":  # the largest micro-batch that fits, said so in the assumptions
        ci = ci._replace(options=opts.with_(micro_batch=largest_fitting_micro_batch(ci)), micro_batch_auto=True)
    return ci


def evaluate(ci: CheckInputs, *, with_cost: bool = True) -> CheckResult:
    """The whole answer for one configuration (gpt2budget.core.check.evaluate), its input checked."""
    return _evaluate(_inputs(ci), with_cost=bool(with_cost))


def _inputs(ci: CheckInputs) -> CheckInputs:
    """A configuration checked as a request is (configure's, or one changed by hand with _replace), its numbers
    as numbers: the core takes only what it can compute with."""
    _is("ci", ci, CheckInputs, "a configuration from gpt2budget.api.configure()")
    for name, value, kind, what in (("--gpu", ci.gpu, GpuSpec, "a GPU spec"), ("--model", ci.model, ModelSpec,
                                    "a model spec"), ("--stack", ci.stack, StackSpec, "a stack spec"),
                                    ("options", ci.options, RunOptions, "RunOptions"),
                                    ("cost_inputs", ci.cost_inputs, CostInputs, "CostInputs")):
        _is(name, value, kind, what)
    if ci.calibration is not None:
        _is("calibration", ci.calibration, Calibration, "a Calibration or None")
    _is("step_constants", ci.step_constants, StepConstants, "a StepConstants (gpt2budget.core.step_constants)")
    o, k = ci.options, ci.cost_inputs
    if not isinstance(o.checkpointing, bool):
        raise UsageError("--checkpointing", f"expected True or False in RunOptions, got {_got(o.checkpointing)}")

    def same(value: Any, checked: Any) -> Any:  # a plain number stays as given (an int stays an int in the JSON)
        return value if type(value) in (int, float) else checked

    def f(name: str, value: Any) -> Any:
        return same(value, check_float(name, value))

    def i(name: str, value: Any, allowed: Range | None = None) -> Any:
        return same(value, check_int(name, value, allowed))

    def count(name: str, value: Any) -> Any:
        return same(value, check_count(name, value))

    def opt_float(name: str, value: Any) -> Any:
        return None if value is None else f(name, value)

    def opt_count(name: str, value: Any) -> Any:
        return None if value is None else count(name, value)

    options = o._replace(
        precision=check_choice("precision", o.precision, CHOICES["precision"]),
        optimizer=check_choice("optimizer", o.optimizer, CHOICES["optimizer"]),
        attention=check_choice("attention", o.attention, CHOICES["attention"]),
        offload=check_choice("offload", o.offload, CHOICES["offload"]),
        finetune=check_choice("finetune", o.finetune, CHOICES["finetune"]),
        lora_targets=check_choice("lora_targets", o.lora_targets, CHOICES["lora_targets"]),
        dropout=f("dropout", o.dropout), seq=i("seq", o.seq),
        micro_batch=i("micro_batch", o.micro_batch), gpus=i("gpus", o.gpus),
        zero=i("zero", o.zero, Range(0, 3)), lora_rank=i("lora_rank", o.lora_rank),
        lora_dropout=f("lora_dropout", o.lora_dropout))
    costs = CostInputs(
        average_draw=f("average_draw", k.average_draw), pue=f("pue", k.pue),
        price_per_kwh=f("price_per_kwh", k.price_per_kwh),
        grid_gco2_per_kwh=f("grid_gco2_per_kwh", k.grid_gco2_per_kwh),
        rent_usd_per_hour=opt_float("rent_usd_per_hour", k.rent_usd_per_hour))
    return ci._replace(
        options=options, cost_inputs=costs, duration_s=same(ci.duration_s, check_duration("duration", ci.duration_s)),
        utilization=opt_float("utilization", ci.utilization), tokens=opt_count("tokens", ci.tokens),
        flops_formula=check_choice("flops_formula", ci.flops_formula, CHOICES["flops_formula"]),
        parallel_efficiency=opt_float("parallel_efficiency", ci.parallel_efficiency),
        optimal_rule=check_choice("optimal_rule", ci.optimal_rule, CHOICES["optimal_rule"]),
        batch_tokens=count("batch_tokens", ci.batch_tokens),
        host_memory_gib=f("host_memory", ci.host_memory_gib), nodes=i("nodes", ci.nodes),
        host_adam_params_per_s=opt_count("host_adam_params_per_s", ci.host_adam_params_per_s))


def to_data(x: Any) -> Any:
    """A result (CheckResult, PlanResult, CompareRow, Advice, ...) as plain data, fields in declared order."""
    try:
        return _to_data(x)
    except RecursionError:  # a list or dict that contains itself
        raise UsageError("to_data", "expected a result, got a value nested too deep (or containing itself)") from None


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


def plan(ci: CheckInputs, models: Iterable[ModelSpec], budget_usd: float | None = None, *,
         own_seq: bool = False) -> PlanResult:
    """The model with the lowest predicted loss that fits and finishes in time (and budget); `own_seq`: each model at
    its own context length rather than the request's sequence."""
    from gpt2budget.core.planner import plan as _plan  # imported when planning: `check` never pays for it

    ci = _inputs(ci)
    family = _items("models", models)
    for m in family:
        _is("models", m, ModelSpec, "model specs (specs.models)")
    if budget_usd is not None:
        budget_usd = check_float("budget_usd", budget_usd)
    return _plan(ci, family, budget_usd, bool(own_seq))


def advise(ci: CheckInputs, specs: Specs, result: CheckResult | None = None) -> tuple[Advice, ...]:
    """Changes that make a run fit (or fit a larger micro-batch), ranked by time; each with the configuration
    it leads to (gpt2budget.output.flags.change_flags writes them as flags `check` takes)."""
    ci = _inputs(ci)
    _is("specs", specs, Specs, "the catalogues from gpt2budget.api.load()")
    if result is not None:
        _is("result", result, CheckResult, "the CheckResult of evaluate(ci), or None")
    return _advise(ci, specs.models.of_family(ci.model.family), result if result is not None else evaluate(ci))


def check(ci: CheckInputs, specs: Specs, advice: bool = True) -> CheckResult:
    """What `check` answers: the evaluation, with the advisor's suggestions where the run needs them."""
    from gpt2budget.core.advisor import needs_advice

    _is("specs", specs, Specs, "the catalogues from gpt2budget.api.load()")
    ci = _inputs(ci)
    r = _evaluate(ci)
    # the advisor's smaller models are of the run's family: the catalogue decodes only those
    return r._replace(advice=_advise(ci, specs.models.of_family(ci.model.family), r)) if advice and needs_advice(r) else r


COMPARE_SORTS = ("time", "peak", "memory", "cost", "name")
COMPARE_BY = ("gpu", "model")


def compare(specs: Specs, by: str = "gpu", model: str | None = None, gpus: Iterable[str] = (), sort: str = "time",
            configure_one: Callable[[str, str], CheckInputs] | None = None, *, request: RunRequest | None = None,
            **options: Any) -> list[CompareRow]:
    """Every GPU side by side for one model (by="gpu"; `gpus` filters), or every model on one GPU (by="model"),
    with `check`'s run options (RunRequest fields, or a `request` whose gpu and model each row replaces: the way
    to give a GPU count, since `gpus` here names the cards), sorted. Cards without the precision asked for are
    left out when no GPU was named."""
    _is("specs", specs, Specs, "the catalogues from gpt2budget.api.load()")
    by, sort = check_choice("by", by, COMPARE_BY), check_choice("sort", sort, COMPARE_SORTS)
    gpu_names = [check_name("gpu", g) for g in _items("gpus", gpus)]
    if configure_one is not None and not callable(configure_one):
        raise UsageError("configure_one", f"expected a function (gpu, model) -> CheckInputs, got {_got(configure_one)}")
    check_field_names(options)
    if request is not None:
        _is("request", request, RunRequest, "a RunRequest or None")
    if by == "gpu":
        if model is None:
            raise UsageError("--model", "compare --by gpu needs a model, e.g. --model gpt2-xl")
        model = check_name("model", model)
        ids = [specs.gpus.get(g, "--gpu").id for g in gpu_names] if gpu_names else [g.id for g in specs.gpus]
        pairs = [(g, model) for g in ids]
    else:
        if len(gpu_names) != 1:
            raise UsageError("--gpu", "compare --by model needs exactly one --gpu")
        pairs = [(gpu_names[0], m.id) for m in specs.models]
    make = configure_one or (lambda g, m: configure(specs, request, gpu=g, model=m, **options) if request
                             else configure(specs, gpu=g, model=m, **options))
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


SWEEP_DEFAULTS = {"gpu": ["all"], "model": ["all"], "stack": [DEFAULT_STACK], "precision": ["default"],
                  "optimizer": ["default"], "checkpointing": ["none"], "micro_batch": ["1"], "seq": ["default"],
                  "gpus": ["1"], "zero": ["0"], "attention": ["default"], "offload": ["none"], "finetune": ["none"]}


def check_sweep_torch(specs: Specs, configs: Grid, torch: str | None) -> None:
    """--torch holds for every row: each stack of the grid must have a profile for that version (before any row)."""
    if torch is not None:
        for sid in configs.axes[2]:  # the grid's stacks (gpt2budget.output.sweep.grid)
            stack_for_torch(specs.stacks.items[sid], torch)


def sweep_fixed(request: RunRequest) -> Fixed:
    """What every row of a sweep shares (`sweep`'s --tokens, --host-memory, --host-adam-params-per-s), from the
    request that carries them (its gpu and model are the grid's, not read here)."""
    from gpt2budget.output.sweep import Fixed

    tokens, adam = request.tokens, request.host_adam_params_per_s
    return Fixed(tokens=None if tokens is None else float(tokens), host_memory_gib=request.host_memory,
                 host_adam_params_per_s=None if adam is None else float(adam), reserve_gib=request.reserve_gib,
                 torch=request.torch)


def sweep(specs: Specs, duration: str | float = DEFAULT_DURATION, tokens: str | float | None = None,
          host_memory: float = DEFAULT_HOST_MEMORY_GIB, host_adam_params_per_s: str | float | None = None,
          reserve_gib: float = 0.0, torch: str | None = None,
          **axes: str | Iterable[str | int]) -> Iterator[dict[str, Any]]:
    """The rows `gpt2budget sweep` writes, lazily: one flat dict per configuration of the grid. Each axis (gpu,
    model, stack, precision, optimizer, checkpointing, micro_batch, seq, gpus, zero, attention, offload, finetune)
    takes a comma list or a list of values; an axis left out takes sweep's default. `tokens`, `host_memory` (GiB
    per node), `host_adam_params_per_s`, `reserve_gib` (GPU memory left free) and `torch` (the PyTorch version of
    every row's stack profile) hold for every row."""
    from gpt2budget.output.sweep import grid, rows

    _is("specs", specs, Specs, "the catalogues from gpt2budget.api.load()")
    shared = RunRequest(gpu="all", model="all", duration=duration, tokens=tokens, host_memory=host_memory,
                        host_adam_params_per_s=host_adam_params_per_s, reserve_gib=reserve_gib, torch=torch)
    configs = grid(specs, sweep_axes(axes))
    check_sweep_torch(specs, configs, shared.torch)
    return rows(specs, configs, shared.duration_s, sweep_fixed(shared))


def sweep_axes(axes: Mapping[str, str | Iterable[str | int] | None]) -> dict[str, list[str]]:
    """Every axis of a sweep as its list of values: comma lists split (an axis may also be given as a list, or
    repeated on the command line), an axis left out or None takes sweep's default. An empty item ('1,,2', a
    trailing comma, an empty list) is a usage error naming the option, not a value silently dropped."""
    unknown = sorted(str(k) for k in set(axes) - set(SWEEP_DEFAULTS))
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], list(SWEEP_DEFAULTS), n=1)
        hint = f"; did you mean {close[0]}?" if close else f" (axes: {', '.join(SWEEP_DEFAULTS)})"
        raise UsageError(f"--{unknown[0].replace('_', '-')}", f"is not an axis of a sweep{hint}")
    out: dict[str, list[str]] = {}
    for key, default in SWEEP_DEFAULTS.items():
        given = axes.get(key)
        option = f"--{key.replace('_', '-')}"
        if given is None:
            out[key] = list(default)
            continue
        values = [given] if isinstance(given, (str, int)) and not isinstance(given, bool) else _items(option, given)
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (str, int)):
                raise UsageError(option, f"expected a comma list of values (strings or whole numbers), got {_got(v)}")
        if any(isinstance(v, int) and abs(v) >= 10**9 for v in values):
            raise UsageError(option, "expected a comma list of values, got a number too large for any axis")
        text = ",".join(str(v) for v in values)
        items = [p.strip() for p in text.split(",")]
        if not all(items):
            raise UsageError(option, f"expected a comma list of values, got {_got(text)} (an empty item)")
        out[key] = items
    return out

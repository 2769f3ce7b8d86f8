"""The command line: thin commands that parse options, call the core and print. The only module using typer.

Exit codes: 0 success; 1 the output cannot be written; 2 usage error (bad option, unknown name); 3 spec error (a
YAML file is invalid); 4 not feasible, only with --fail-if-infeasible.
"""

# No `from __future__ import annotations` here: Typer reads each command's annotations several times per run,
# and string annotations would be compiled and evaluated again on every read (~4 ms of start-up).
import copy
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gpt2budget.cli.choices import (
    Attention,
    BatchTokensOpt,
    Ckpt,
    CompareBy,
    ConfigDirOpt,
    Device,
    DropoutOpt,
    DurationOpt,
    Finetune,
    FinetuneOpt,
    FlopsFormula,
    Fmt,
    FormatOpt,
    GpuOpt,
    GpusOpt,
    LoraTargets,
    Loss,
    MeasureFinetune,
    MicroBatchAutoOpt,
    ModelOpt,
    NoCalibrationOpt,
    NoColorOpt,
    NodesOpt,
    Offload,
    OffloadOpt,
    OptimalRule,
    OptimalRuleOpt,
    Optimizer,
    OptimizerOpt,
    PrecisionOpt,
    PricePerKwhOpt,
    SchemaKind,
    SeqOpt,
    StackOpt,
    TorchOpt,
    UtilOpt,
    ZeroOpt,
    _complete_gpu,
    _complete_model,
)
from gpt2budget.cli.common import (
    build_inputs,
    console,
    emit,
    load,
    user_folders,
    write_atomic,
)
from gpt2budget.cli.fast import FastGroup
from gpt2budget.errors import EXIT_INFEASIBLE, EXIT_OUTPUT, EXIT_USAGE, Gpt2BudgetError, UsageError, safe_text
from gpt2budget.options import (
    AVERAGE_DRAW,
    DEFAULT_BATCH_TOKENS,
    DEFAULT_DURATION,
    DEFAULT_HOST_MEMORY_GIB,
    DEFAULT_LORA_RANK,
    DEFAULT_STACK,
    GRID_GCO2_PER_KWH,
    PRICE_PER_KWH,
    PUE,
)
from gpt2budget.request import RANGES

if TYPE_CHECKING:
    from gpt2budget.core.check import CheckInputs
    from gpt2budget.core.result import CheckResult
    from gpt2budget.request import RunRequest
    from gpt2budget.specs.catalog import Specs
    from gpt2budget.specs.definitions import GpuSpec

EPILOG = ("Exit codes: 0 success, 1 cannot write the output, 2 usage error, 3 spec (YAML) error, 4 not feasible "
          "(only with --fail-if-infeasible).")
app = typer.Typer(
    cls=FastGroup,
    help="Can I train a GPT-2-class model on this hardware, in this time, and will it fit in memory?",
    epilog=EPILOG, no_args_is_help=True, rich_markup_mode=None, pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


# --- check ------------------------------------------------------------------------------------------------


@app.command(epilog="Example: gpt2budget check --gpu 4070ti --model gpt2-xl --format json | jq .memory.fits")
def check(
    gpu: GpuOpt,
    model: ModelOpt,
    stack: StackOpt = DEFAULT_STACK,
    torch: TorchOpt = None,
    gpus: GpusOpt = 1,
    nodes: NodesOpt = 1,
    precision: PrecisionOpt = None,
    optimizer: OptimizerOpt = None,
    checkpointing: Annotated[Ckpt | None, typer.Option(help="activation checkpointing: none, full (hf, nanogpt: re-run each layer's forward) or selective (llmc: llm.c's -r 1, recompute GELU; its default)")] = None,
    attention: Annotated[Attention | None, typer.Option(help="flash (fused SDPA) or eager (stores s x s scores)")] = None,
    dropout: DropoutOpt = 0.0,
    seq: SeqOpt = None,
    micro_batch: MicroBatchAutoOpt = "auto",
    utilization: UtilOpt = None,
    duration: DurationOpt = DEFAULT_DURATION,
    tokens: Annotated[str | None, typer.Option(help="a custom token count: 10B, 3.3e9, 100M")] = None,
    flops_formula: Annotated[FlopsFormula, typer.Option("--flops-formula", help="6n (Kaplan) or 6n+attention (PaLM)")] = FlopsFormula.six_n,
    zero: ZeroOpt = "0",
    fsdp: Annotated[str | None, typer.Option(help="FSDP sharding: NO_SHARD, SHARD_GRAD_OP (=ZeRO-2), FULL_SHARD (=ZeRO-3)")] = None,
    offload: OffloadOpt = Offload.none,
    host_memory: Annotated[float, typer.Option("--host-memory", min=RANGES["host_memory"].lo, max=RANGES["host_memory"].hi, help="CPU memory per node, GiB")] = DEFAULT_HOST_MEMORY_GIB,
    host_adam_params_per_s: Annotated[str | None, typer.Option("--host-adam-params-per-s", help=(
        "this host's CPU Adam rate, parameters/s, for --offload and the advisor's offload options (e.g. 1.4e9 "
        "for a server, 250M for a desktop; default: the estimate for the GPU's class)"))] = None,
    reserve_gib: Annotated[float, typer.Option("--reserve-gib", min=RANGES["reserve_gib"].lo, max=RANGES["reserve_gib"].hi, help=(
        "GPU memory to leave free (a desktop, other processes), GiB"))] = 0.0,
    parallel_efficiency: Annotated[float | None, typer.Option("--parallel-efficiency", min=RANGES["parallel_efficiency"].lo, max=RANGES["parallel_efficiency"].hi, help="override: fraction of single-GPU speed each GPU keeps (default: modelled from the interconnect)")] = None,
    optimal_rule: OptimalRuleOpt = OptimalRule.chinchilla_20,
    batch_tokens: BatchTokensOpt = str(DEFAULT_BATCH_TOKENS),
    finetune: FinetuneOpt = Finetune.none,
    lora_rank: Annotated[int | None, typer.Option("--lora-rank", min=RANGES["lora_rank"].lo, max=RANGES["lora_rank"].hi, help=f"LoRA/QLoRA adapter rank (with --finetune lora|qlora; default {DEFAULT_LORA_RANK})")] = None,
    lora_targets: Annotated[LoraTargets | None, typer.Option("--lora-targets", help="attention (c_attn, PEFT's GPT-2 default) or all-linear")] = None,
    lora_dropout: Annotated[float | None, typer.Option("--lora-dropout", min=RANGES["lora_dropout"].lo, max=RANGES["lora_dropout"].hi, help="dropout on the adapters' input (probability; default 0)")] = None,
    loss: Annotated[Loss, typer.Option("--loss", help="full (the stack's loss over all logits), chunked (fp32 work a chunk at a time) or fused-linear (head and loss fused, Liger): what large vocabularies need")] = Loss.full,
    average_draw: Annotated[float, typer.Option("--average-draw", min=RANGES["average_draw"].lo, max=RANGES["average_draw"].hi, help="mean power / board power")] = AVERAGE_DRAW,
    pue: Annotated[float, typer.Option(min=RANGES["pue"].lo, max=RANGES["pue"].hi, help="power usage effectiveness of the room (1.0 = no overhead)")] = PUE,
    price_per_kwh: PricePerKwhOpt = PRICE_PER_KWH,
    grid_gco2_per_kwh: Annotated[float, typer.Option("--grid-gco2-per-kwh", min=RANGES["grid_gco2_per_kwh"].lo, max=RANGES["grid_gco2_per_kwh"].hi, help="grid carbon intensity, gCO2 per kWh")] = GRID_GCO2_PER_KWH,
    rent_usd_per_hour: Annotated[float | None, typer.Option("--rent-usd-per-hour", min=RANGES["rent_usd_per_hour"].lo, max=RANGES["rent_usd_per_hour"].hi, help="per GPU-hour")] = None,
    explain: Annotated[bool, typer.Option(help="print each formula with the numbers substituted")] = False,
    no_advice: Annotated[bool, typer.Option("--no-advice", help="skip the make-it-fit advisor")] = False,
    fmt: FormatOpt = Fmt.table,
    output: Annotated[str | None, typer.Option("--output", "-o", help="write the result to a file (atomically)")] = None,
    svg: Annotated[str | None, typer.Option(help="also save the table output as SVG")] = None,
    html: Annotated[str | None, typer.Option(help="also save the table output as HTML")] = None,
    no_color: NoColorOpt = False,
    fail_if_infeasible: Annotated[bool, typer.Option("--fail-if-infeasible", help="exit 4 when it does not fit or finish")] = False,
    no_calibration: NoCalibrationOpt = False,
    config_dir: ConfigDirOpt = None,
) -> None:
    """Can this GPU train this model in this time, and will it fit in memory?"""
    from gpt2budget.api import check as check_run
    from gpt2budget.core.advisor import needs_advice
    from gpt2budget.request import RunRequest

    check_flag_combinations(fmt, svg, html, explain, finetune, lora_rank, lora_targets, lora_dropout)
    specs = load(config_dir)
    request = RunRequest(
        gpu=gpu, model=model, stack=stack, gpus=gpus, nodes=nodes, precision=precision, optimizer=optimizer,
        checkpointing=checkpointing, attention=attention, dropout=dropout, seq=seq, micro_batch=micro_batch,
        utilization=utilization, duration=duration, tokens=tokens, flops_formula=flops_formula, zero=zero, fsdp=fsdp,
        offload=offload, host_memory=host_memory, host_adam_params_per_s=host_adam_params_per_s,
        reserve_gib=reserve_gib, parallel_efficiency=parallel_efficiency, optimal_rule=optimal_rule,
        batch_tokens=batch_tokens, finetune=finetune, lora_rank=lora_rank, lora_targets=lora_targets,
        lora_dropout=lora_dropout, loss=loss, average_draw=average_draw, pue=pue, price_per_kwh=price_per_kwh,
        grid_gco2_per_kwh=grid_gco2_per_kwh, rent_usd_per_hour=rent_usd_per_hour, torch=torch)
    warn_contradictions(request)
    ci = build_inputs(specs, request, no_calibration, config_dir)
    r = check_run(ci, specs, advice=not no_advice)
    print_result(r, fmt, output, no_color, svg, html, ci, explain, not no_advice and needs_advice(r), specs)
    if fail_if_infeasible and not r.verdict.feasible:
        raise typer.Exit(EXIT_INFEASIBLE)


def warn_contradictions(request: "RunRequest") -> None:
    """Settings that contradict each other without being wrong: a warning, the run still answered."""
    total = request.gpus * request.nodes
    if request.zero_stage and total == 1:
        warn(f"--zero {request.zero_stage} shards across GPUs: on 1 GPU it changes nothing")


def warn(text: str) -> None:
    sys.stderr.write(f"Warning: {safe_text(text)}\n")


def check_flag_combinations(fmt: "Fmt", svg: str | None, html: str | None, explain: bool, finetune: "Finetune",
                            lora_rank: int | None, lora_targets: "LoraTargets | None", lora_dropout: float | None) -> None:
    """Flags that would be silently ignored: an error where the user asked for a file we would not write, a
    warning where only some output would be missing."""
    for option, value in (("--svg", svg), ("--html", html)):
        if value and fmt != Fmt.table:
            raise UsageError(option, f"saves the table output: use it with --format table, not {fmt.value}")
    if explain and fmt != Fmt.table:
        warn(f"--explain shows the formulas in the table output; --format {fmt.value} carries the numbers alone")
    if finetune not in (Finetune.lora, Finetune.qlora):
        given: tuple[tuple[str, object], ...] = (("--lora-rank", lora_rank), ("--lora-targets", lora_targets),
                                                 ("--lora-dropout", lora_dropout))
        for flag, setting in given:
            if setting is not None:
                warn(f"{flag} has no effect without --finetune lora or qlora")


_FORMAT_OF_SUFFIX = {"json": "json", "yaml": "yaml", "yml": "yaml", "csv": "csv", "md": "markdown"}


def print_result(r: "CheckResult", fmt: Fmt, output: str | None, no_color: bool, svg: str | None,
                 html: str | None, ci: "CheckInputs", explain: bool, show_advice: bool,
                 specs: "Specs | None" = None) -> None:
    from gpt2budget.output import report

    if output and fmt == Fmt.table and output.lower().endswith((".json", ".yaml", ".yml", ".csv", ".md")):
        warn(f"--output {safe_text(output)}: writes the table as text; add --format {_FORMAT_OF_SUFFIX[output.lower().rsplit('.', 1)[1]]} "
             "for that format")
    if fmt == Fmt.json:
        emit(report.to_json(report.check_data(r)), output)
    elif fmt == Fmt.yaml:
        emit(report.to_yaml(report.check_data(r)), output)
    elif fmt in (Fmt.csv, Fmt.markdown):
        flat = report.flatten(report.check_data(r))
        cols = list(flat)
        emit(report.csv_text([flat], cols) if fmt == Fmt.csv else report.markdown_text(
            [{"field": k, "value": v} for k, v in flat.items()], ["field", "value"]), output)
    else:
        from gpt2budget.output.explain import component_words, explain_lines
        from gpt2budget.output.render import render_check, save_recording

        # with --output the table goes to the file only (as the other formats do), not also to the terminal
        con = console(no_color, record=bool(svg or html or output), to_terminal=not output)
        faster = None
        if specs is not None:  # another stack or setting that trains much faster: one line
            from gpt2budget.core.advisor import faster_alternative

            faster = faster_alternative(ci, specs.stacks, r)
        from gpt2budget.core.check import run_options

        render_check(con, r, component_words(run_options(ci), ci.stack.mixed_precision_layout),
                     explain_lines(ci, r) if explain else None, show_advice, ci.micro_batch_auto, faster)
        if output:
            write_atomic(output, con.export_text(clear=False))
        save_recording(con, svg, html, write_atomic)


# --- catalogues ---------------------------------------------------------------------------------------------


def link_words(g: "GpuSpec") -> str:
    """How this GPU reaches another, as the step-time model's communication term sees it (per direction)."""
    if g.gpu_link != "none":
        return f"{g.gpu_link_gb_per_s:g} {g.gpu_link}"
    p2p = {True: "", False: ", no P2P", None: ""}[g.peer_to_peer]
    return f"{g.host_link_gb_per_s:g} PCIe{p2p}"


def sustained_fields(g: Any) -> dict[str, Any]:
    """A card's sustained 16-bit tensor rate (BF16, else FP16; the step-time model's GEMM rate and clock derate) and
    whether it was measured or derived from a measured card of the same die; None where the spec gives none (the
    model then takes a fraction of the peak)."""
    s = g.sustained_gemm_tflops
    rate = (s.bf16 or s.fp16) if s is not None else None
    return {"sustained_tensor_tflops": rate, "sustained_origin": g.sustained_gemm_origin if rate else None}


def catalog_rows(specs: "Specs", kind: str) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    from gpt2budget.core.shape import Shape, n_params

    if kind == "gpus":
        rows = [{"id": g.id, "name": g.name, "vendor": g.vendor, "architecture": g.architecture,
                 "memory_gib": g.memory_gib, "bandwidth_gb_per_s": g.memory_bandwidth_gb_per_s,
                 "fp32_tflops": g.peak_tflops.fp32, "tf32_tflops": g.peak_tflops.tf32,
                 "bf16_tflops": g.peak_tflops.bf16, "fp16_tflops": g.peak_tflops.fp16, "fp8_tflops": g.peak_tflops.fp8,
                 "board_power_w": g.board_power_w, "launch_year": g.launch_year, "launch_price_usd": g.launch_price_usd,
                 "host_link_gb_per_s": g.host_link_gb_per_s, "gpu_link": g.gpu_link,
                 "gpu_link_gb_per_s": g.gpu_link_gb_per_s, "peer_to_peer": g.peer_to_peer, "interconnect": link_words(g),
                 "sm_count": g.sm_count, **sustained_fields(g),
                 "aliases": ", ".join(g.aliases), "source": specs.gpus.origin[g.id]} for g in specs.gpus]
        cols = [("id", "id"), ("name", "name"), ("memory_gib", "GiB"), ("bandwidth_gb_per_s", "GB/s"),
                ("fp32_tflops", "FP32"), ("tf32_tflops", "TF32"), ("bf16_tflops", "BF16"), ("fp16_tflops", "FP16"),
                ("fp8_tflops", "FP8"), ("board_power_w", "W"), ("launch_year", "year"), ("interconnect", "GPU-GPU GB/s"),
                ("aliases", "aliases")]
    elif kind == "models":
        rows = [{"id": m.id, "name": m.name, "n_layer": m.n_layer, "n_head": m.n_head, "n_embd": m.n_embd,
                 "vocab_size": m.vocab_size, "n_ctx": m.n_ctx, "n_params": n_params(Shape.of(m, m.n_ctx)),
                 "original_tokens": int(m.original_tokens), "aliases": ", ".join(m.aliases),
                 "source": specs.models.origin[m.id], "family": m.family} for m in specs.models]
        rows.sort(key=lambda r: int(r["n_params"] or 0))
        cols = [("id", "id"), ("name", "name"), ("family", "family"), ("n_layer", "layers"), ("n_head", "heads"),
                ("n_embd", "n_embd"),
                ("n_params", "parameters"), ("original_tokens", "original tokens"), ("aliases", "aliases")]
    else:
        rows = [{"id": s.id, "name": s.name, "default_optimizer": s.default_optimizer,
                 "default_attention": s.default_attention, "default_precision": s.default_precision,
                 "description": s.description, "source": specs.stacks.origin[s.id]} for s in specs.stacks]
        cols = [("id", "id"), ("name", "name"), ("default_precision", "precision"),
                ("default_optimizer", "optimizer"), ("default_attention", "attention"), ("description", "description")]
    return rows, cols


def print_rows(title: str, rows: list[dict[str, Any]], cols: list[tuple[str, str]], fmt: Fmt, no_color: bool,
               output: str | None = None) -> None:
    from gpt2budget.output import report

    keys = [k for k, _ in cols]
    if fmt == Fmt.json:
        emit(report.to_json(rows), output)
    elif fmt == Fmt.yaml:
        emit(report.to_yaml(rows), output)
    elif fmt == Fmt.csv:
        emit(report.csv_text(rows, list(rows[0]) if rows else keys), output)
    elif fmt == Fmt.markdown:
        emit(report.markdown_text(rows, keys), output)
    else:
        from gpt2budget.output.render import render_rows

        con = console(no_color, record=bool(output))
        render_rows(con, title, rows, cols)
        if output:
            write_atomic(output, con.export_text(clear=False))


def _catalog_command(kind: str, fmt: Fmt, show_source: bool, no_color: bool, config_dir: list[Path] | None) -> None:
    specs = load(config_dir)
    rows, cols = catalog_rows(specs, kind)
    if show_source:
        cols = cols[:2] + [("source", "source")]
    title = {"gpus": "GPUs", "models": "Models", "stacks": "Training stacks"}[kind]
    print_rows(f"{title} ({len(rows)})", rows, cols, fmt, no_color)


@app.command(epilog="Example: gpt2budget gpus --format csv ; gpt2budget gpus --template rtx-4090 > my-gpu.yaml")
def gpus(
    fmt: FormatOpt = Fmt.table,
    show_source: Annotated[bool, typer.Option("--show-source", help="say which file each spec came from")] = False,
    template: Annotated[str | None, typer.Option(help="print a filled-in spec of this GPU to start a new one from")] = None,
    no_color: NoColorOpt = False,
    config_dir: ConfigDirOpt = None,
) -> None:
    """The GPU catalogue, one row each (dense peak TFLOP/s; tensor figures at FP32 accumulate)."""
    if template:
        _template("gpus", load(config_dir).gpus.get(template, "--template"))
        return
    _catalog_command("gpus", fmt, show_source, no_color, config_dir)


@app.command(epilog="Example: gpt2budget models --format markdown ; gpt2budget models --template gpt2 > my-model.yaml")
def models(fmt: FormatOpt = Fmt.table,
           show_source: Annotated[bool, typer.Option("--show-source", help="say which file each spec came from")] = False,
           template: Annotated[str | None, typer.Option(
               help="print a filled-in spec of this model to start a new one from")] = None,
           no_color: NoColorOpt = False, config_dir: ConfigDirOpt = None) -> None:
    """The model catalogue (parameter counts computed from each shape)."""
    if template:
        _template("models", load(config_dir).models.get(template, "--template"))
        return
    _catalog_command("models", fmt, show_source, no_color, config_dir)


def _template(kind: str, spec: Any) -> None:
    from gpt2budget.output import report
    from gpt2budget.specs.definitions import spec_data

    data = spec_data(spec)
    data["id"] = f"my-{spec.id}"
    data["name"] = f"{spec.name} (edit me)"
    data["aliases"] = []
    label = {"gpus": "GPU"}.get(kind, kind[:-1])
    emit(f"# A new {label} spec: edit the values and their sources, then save it as <your folder>/{kind}/<id>.yaml\n"
         + report.to_yaml(data))


@app.command(epilog="Example: gpt2budget stacks --format json")
def stacks(fmt: FormatOpt = Fmt.table,
           show_source: Annotated[bool, typer.Option("--show-source", help="say which file each spec came from")] = False,
           no_color: NoColorOpt = False, config_dir: ConfigDirOpt = None) -> None:
    """The training-stack profiles (hf, nanogpt, llmc and any of your own)."""
    _catalog_command("stacks", fmt, show_source, no_color, config_dir)


# --- plan, compare, sweep --------------------------------------------------------------------------------------


@app.command(epilog="Example: gpt2budget plan --gpu 4070ti --duration 30d")
def plan(
    gpu: GpuOpt,
    gpus: GpusOpt = 1,
    duration: DurationOpt = DEFAULT_DURATION,
    stack: StackOpt = DEFAULT_STACK,
    torch: TorchOpt = None,
    precision: PrecisionOpt = None,
    utilization: UtilOpt = None,
    budget_usd: Annotated[float | None, typer.Option("--budget-usd", help=(
        f"money for rent (or electricity, where the GPU has no rental price), at least {RANGES['budget_usd'].lo:g}"))] = None,
    custom_shapes: Annotated[bool, typer.Option("--custom-shapes", help="also try GPT-2-proportioned sizes")] = False,
    family: Annotated[str, typer.Option("--family", help=(
        "rank the models of this family (gpt2, llama, qwen2, olmo2, nanochat, modded-nanogpt), or all"))] = "gpt2",
    optimal_rule: OptimalRuleOpt = OptimalRule.chinchilla_20,
    seq: SeqOpt = None,
    price_per_kwh: PricePerKwhOpt = PRICE_PER_KWH,
    rent_usd_per_hour: Annotated[float | None, typer.Option("--rent-usd-per-hour", min=RANGES["rent_usd_per_hour"].lo, max=RANGES["rent_usd_per_hour"].hi, help="USD per GPU-hour (default: the spec's on-demand price)")] = None,
    reserve_gib: Annotated[float, typer.Option("--reserve-gib", min=RANGES["reserve_gib"].lo, max=RANGES["reserve_gib"].hi, help=(
        "GPU memory to leave free (a desktop, other processes), GiB"))] = 0.0,
    fmt: FormatOpt = Fmt.table,
    no_color: NoColorOpt = False,
    no_calibration: NoCalibrationOpt = False,
    config_dir: ConfigDirOpt = None,
) -> None:
    """The model of a family (GPT-2 unless --family says) with the lowest predicted loss that fits and finishes in
    time (and budget)."""
    from gpt2budget.api import plan as make_plan
    from gpt2budget.core.planner import custom_models, family_models
    from gpt2budget.output import report
    from gpt2budget.request import RunRequest, check_float

    if budget_usd is not None:  # the library's check, before the catalogues are read
        check_float("budget_usd", budget_usd)
    specs = load(config_dir)
    request = RunRequest(gpu=gpu, model="gpt2", stack=stack, gpus=gpus, duration=duration, precision=precision,
                         utilization=utilization, optimal_rule=optimal_rule, seq=seq, price_per_kwh=price_per_kwh,
                         rent_usd_per_hour=rent_usd_per_hour, reserve_gib=reserve_gib, torch=torch)
    ci = build_inputs(specs, request, no_calibration, config_dir)
    ranked = family_models(specs.models, family, ci.stack) + (custom_models(ci.model) if custom_shapes else [])
    result = make_plan(ci, ranked, budget_usd, own_seq=seq is None)
    doc = report.plan_data(result, {m.id: m.n_ctx for m in ranked}, ci.stack.default_checkpointing)
    if reserve_gib and doc["best"] is not None:  # check answers for the same card, memory held back included
        doc["best"]["check"] += f" --reserve-gib {reserve_gib:g}"
    if fmt in (Fmt.json, Fmt.yaml):
        emit(report.to_json(doc) if fmt == Fmt.json else report.to_yaml(doc))
        return
    from gpt2budget.units import fmt_count, fmt_hours, fmt_usd

    rows = [{**c, "n_params": fmt_count(c["n_params"]),
             "tokens": fmt_count(c["tokens"]) if c.get("tokens") else "",
             "loss": f"{c['predicted_loss']:.3f}" if c.get("predicted_loss") else "",
             "time": fmt_hours(c["wall_time_hours"]) if c.get("wall_time_hours") else "",
             "settings": c.get("flags", c.get("reason", ""))} for c in doc["considered"]]
    cols = [("model", "model"), ("n_params", "params"), ("tokens", "tokens"), ("loss", "predicted loss"),
            ("time", "time"), ("settings", "settings")]
    if fmt == Fmt.csv:
        # machine format: raw numbers, one column per quantity (no display strings, no duplicates)
        raw_cols = ["model", "n_params", "fits", "tokens", "tokens_per_param", "predicted_loss", "micro_batch",
                    "tokens_per_second", "wall_time_hours", "limit", "flags", "reason"]
        emit(report.csv_text([{k: c.get(k) for k in raw_cols} for c in doc["considered"]], raw_cols))
        return
    if fmt == Fmt.markdown:
        print_rows("", rows, cols, fmt, no_color)
        return
    from gpt2budget.output.render import render_lines, render_rows

    con = console(no_color)
    render_rows(con, f"Plans for {ci.options.gpus}x {ci.gpu.name} over {fmt_hours(ci.duration_s / 3600)}", rows, cols)
    best = doc["best"]
    if best is None:
        which = "GPT-2-family model" if family == "gpt2" else "model" if family == "all" else f"{family} model"
        render_lines(con, [f"No {which} fits on this hardware with any option we model."], "bold red")
        return
    cost = best.get("cost") or {}
    lines = [f"Recommended: {best['flags']}  (train {fmt_count(best['tokens'])} tokens, {fmt_hours(best['wall_time_hours'])})",
             f"Check it: {best['check']}",
             f"Why: {doc['reason']}."]
    if cost.get("energy_kwh") is not None:
        lines.append(f"Energy {cost['energy_kwh']:,.0f} kWh, electricity {fmt_usd(cost['electricity_usd'])}"
                     + (f", rent {fmt_usd(cost['rent_usd'])}" if cost.get("rent_usd") else ""))
    lines += plan_warnings(best, doc["considered"], reserve_gib)
    fit = "Besiroglu et al. 2024" if result.compute_optimal.rule == "epoch-2024" else "Hoffmann et al. 2022"
    lines.append(f"Predicted loss is {fit}'s parametric fit: fitted on MassiveText, not WebText; "
                 f"compare plans with it, do not expect the number.")
    render_lines(con, lines, "bold")


def plan_warnings(best: dict[str, Any], considered: list[dict[str, Any]], reserve_gib: float = 0.0) -> list[str]:
    """Lines under plan's recommendation: little room left on the card (counting --reserve-gib as room left);
    pure bf16 where a row suggests it."""
    from gpt2budget.core.advisor import PURE_BF16_CAVEAT
    from gpt2budget.output.report import GIB

    lines = []
    mem = best.get("memory") or {}
    spare = (mem.get("available_bytes") or 0) - (mem.get("required_bytes") or 0)
    if mem and spare + reserve_gib * GIB < GIB:  # about what a desktop session's compositor and browser hold on the card
        lines.append(f"Warning: only {spare / 2**20:,.0f} MiB of the card left free: a desktop or another process "
                     f"can push it over; leave room with --reserve-gib (e.g. --reserve-gib 1)")
    if any("--precision bf16" in (c.get("flags") or "") for c in considered):
        lines.append(f"Note: {PURE_BF16_CAVEAT}")
    return lines


@app.command(epilog="Example: gpt2budget compare --model gpt2-xl --sort time ; gpt2budget compare --by model --gpu 4070ti")
def compare(
    model: Annotated[str | None, typer.Option("--model", help="the model to compare GPUs on (with --by gpu)", autocompletion=_complete_model)] = None,
    gpu: Annotated[list[str] | None, typer.Option("--gpu", help="repeatable filter (with --by gpu) or the GPU "
                                                  "(with --by model)", autocompletion=_complete_gpu)] = None,
    by: Annotated[CompareBy, typer.Option(help="one row per gpu (default) or per model")] = CompareBy.gpu,
    sort: Annotated[str, typer.Option(help="time, peak, memory, cost (electricity of the original recipe; runs that do not fit last) or name")] = "time",
    gpus: GpusOpt = 1,
    duration: DurationOpt = DEFAULT_DURATION,
    stack: StackOpt = DEFAULT_STACK,
    torch: TorchOpt = None,
    precision: PrecisionOpt = None,
    micro_batch: MicroBatchAutoOpt = "1",
    checkpointing: Annotated[Ckpt | None, typer.Option(help="none, full (hf, nanogpt) or selective (llmc: llm.c -r 1); default: the stack's")] = None,
    optimizer: OptimizerOpt = None,
    seq: SeqOpt = None,
    zero: ZeroOpt = "0",
    offload: OffloadOpt = Offload.none,
    finetune: FinetuneOpt = Finetune.none,
    tokens: Annotated[str | None, typer.Option(help="a custom token count (fine-tuning needs one): 10B, 100M")] = None,
    batch_tokens: BatchTokensOpt = str(DEFAULT_BATCH_TOKENS),
    utilization: UtilOpt = None,
    reserve_gib: Annotated[float, typer.Option("--reserve-gib", min=RANGES["reserve_gib"].lo, max=RANGES["reserve_gib"].hi, help=(
        "GPU memory to leave free (a desktop, other processes), GiB"))] = 0.0,
    fmt: FormatOpt = Fmt.table,
    no_color: NoColorOpt = False,
    no_calibration: NoCalibrationOpt = False,
    config_dir: ConfigDirOpt = None,
) -> None:
    """Every GPU side by side for one model (or every model for one GPU), with check's run options."""
    from gpt2budget.api import compare as compare_runs
    from gpt2budget.request import RunRequest
    from gpt2budget.units import fmt_in, fmt_usd, hours_unit

    specs = load(config_dir)

    def configure_one(g: str, m: str) -> "CheckInputs":
        request = RunRequest(gpu=g, model=m, stack=stack, gpus=gpus, duration=duration, precision=precision,
                             micro_batch=micro_batch, checkpointing=checkpointing, optimizer=optimizer, seq=seq,
                             zero=zero, offload=offload, finetune=finetune, tokens=tokens, batch_tokens=batch_tokens,
                             utilization=utilization, reserve_gib=reserve_gib, torch=torch)
        return build_inputs(specs, request, no_calibration, config_dir)

    rows = [r._asdict() for r in compare_runs(specs, by.value, model, gpu or (), sort, configure_one)]
    if fmt != Fmt.table:
        cols = [(k, k) for k in rows[0]] if rows else [("gpu", "gpu")]
        print_rows("", rows, cols, fmt, no_color)
        return
    from gpt2budget.output.render import render_rows, render_time_bars

    # a card the run does not fit gets no time or cost: there is no such run (the bar chart says the same)
    # one time unit per column, so a column reads at a glance (not "18.3 h" above "22.9 days")
    u_orig = hours_unit([r["original_hours"] for r in rows if r["fits"]])
    u_opt = hours_unit([r["compute_optimal_hours"] for r in rows if r["fits"]])
    shown = [{**r, "fits": "yes" if r["fits"] else "no",
              "original": fmt_in(r["original_hours"], u_orig) if r["fits"] else "does not fit",
              "optimal": fmt_in(r["compute_optimal_hours"], u_opt) if r["fits"] else "-",
              "rent": fmt_usd(r["rent_usd"]) if r["fits"] else "-",
              "power": fmt_usd(r["electricity_usd"]) if r["fits"] else "-"} for r in rows]
    first = "gpu" if by == CompareBy.gpu else "model"
    cols = [(first, first), ("precision", "precision"), ("peak_tflops", "peak TFLOP/s"), ("memory_gib", "GiB"),
            ("fits", "fits"), ("max_micro_batch", "max micro-batch"), ("required_gib", "needs GiB"),
            ("original", "original recipe"), ("optimal", "compute-optimal"), ("rent", "rent"), ("power", "electricity")]
    con = console(no_color)
    title = f"{model} on each GPU" if by == CompareBy.gpu else f"Each model on {gpu[0] if gpu else ''}"
    title += {"time": ", fastest first", "cost": ", cheapest electricity first", "peak": ", highest peak first",
              "memory": ", most memory first", "name": ""}[sort]
    render_rows(con, title, shown, cols)
    render_time_bars(con, "Time to train (original recipe):",
                     [(r[first], r["original_hours"] if r["fits"] else float("inf")) for r in rows])


@app.command(epilog="Example: gpt2budget sweep --gpu 4070ti,4090 --model all --micro-batch 1,2,4,8 > grid.csv")
def sweep(
    gpu: Annotated[list[str], typer.Option("--gpu", metavar="LIST", help="comma list (or 'all'); repeatable")],
    model: Annotated[list[str], typer.Option("--model", metavar="LIST", help="comma list (or 'all'); repeatable")],
    stack: Annotated[list[str] | None, typer.Option("--stack", metavar="LIST", help="comma list of stacks (default: hf)")] = None,
    precision: Annotated[list[str] | None, typer.Option("--precision", metavar="LIST", help="comma list (default: each stack's)")] = None,
    optimizer: Annotated[list[str] | None, typer.Option("--optimizer", metavar="LIST", help="comma list (default: each stack's)")] = None,
    checkpointing: Annotated[list[str] | None, typer.Option("--checkpointing", metavar="LIST", help="comma list of none, selective, full: any level turns on the stack's own (default: none)")] = None,
    micro_batch: Annotated[list[str] | None, typer.Option("--micro-batch", metavar="LIST", help="comma list of micro-batches (default: 1)")] = None,
    seq: Annotated[list[str] | None, typer.Option("--seq", metavar="LIST", help="comma list of sequence lengths (default: the model's)")] = None,
    gpus: Annotated[list[str] | None, typer.Option("--gpus", metavar="LIST", help="comma list of GPU counts (default: 1)")] = None,
    zero: Annotated[list[str] | None, typer.Option("--zero", metavar="LIST", help="comma list of ZeRO stages 0-3 (default: 0)")] = None,
    attention: Annotated[list[str] | None, typer.Option("--attention", metavar="LIST", help="comma list: flash, eager (default: each stack's)")] = None,
    offload: Annotated[list[str] | None, typer.Option("--offload", metavar="LIST", help="comma list of none, optimizer, params (default: none)")] = None,
    finetune: Annotated[list[str] | None, typer.Option("--finetune", metavar="LIST", help="comma list of none, full, lora, qlora (default: none; fine-tuning needs --tokens)")] = None,
    tokens: Annotated[str | None, typer.Option(help="a custom token count for every row (fine-tuning needs one): 10B, 100M")] = None,
    duration: DurationOpt = DEFAULT_DURATION,
    host_memory: Annotated[float, typer.Option("--host-memory", min=RANGES["host_memory"].lo, max=RANGES["host_memory"].hi, help="CPU memory per node, GiB, for every row")] = DEFAULT_HOST_MEMORY_GIB,
    host_adam_params_per_s: Annotated[str | None, typer.Option("--host-adam-params-per-s", help=(
        "this host's CPU Adam rate, parameters/s, for the offloaded rows (default: the estimate for each GPU's class)"))] = None,
    reserve_gib: Annotated[float, typer.Option("--reserve-gib", min=RANGES["reserve_gib"].lo, max=RANGES["reserve_gib"].hi, help=(
        "GPU memory to leave free on every card (a desktop, other processes), GiB"))] = 0.0,
    torch: TorchOpt = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv or jsonl")] = "csv",
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=0, max=256, help="worker processes (0: one per CPU "
                                      "for grids of 20,000 rows or more)")] = 0,
    config_dir: ConfigDirOpt = None,
    max_rows: Annotated[int, typer.Option("--max-rows", min=1, help="refuse a larger grid (default 10,000,000; rows are "
                                                         "generated lazily, this guards against a typo's explosion)")] = 10_000_000,
) -> None:
    """Evaluate a grid of configurations and stream one row per configuration (csv or jsonl)."""
    from gpt2budget.api import check_sweep_torch, sweep_axes, sweep_fixed
    from gpt2budget.output.sweep import grid, jobs_for, run_sweep
    from gpt2budget.request import RunRequest

    if fmt not in ("csv", "jsonl"):
        raise UsageError("--format", f"sweep writes csv or jsonl, got {fmt!r}")
    axes = sweep_axes({"gpu": gpu, "model": model, "stack": stack, "precision": precision, "optimizer": optimizer,
                       "checkpointing": checkpointing, "micro_batch": micro_batch, "seq": seq, "gpus": gpus,
                       "zero": zero, "attention": attention, "offload": offload, "finetune": finetune})
    specs = load(config_dir)
    if tokens is None and any(f != "none" for f in axes["finetune"]):
        raise UsageError("--tokens", "fine-tuning rows need the size of the fine-tuning set, e.g. --tokens 100M")
    if jobs > (os.cpu_count() or 1):
        warn(f"--jobs {jobs} on {os.cpu_count() or 1} CPUs: workers beyond the CPUs only share them")
    configs = grid(specs, axes)
    check_sweep_torch(specs, configs, torch)
    if len(configs) > max_rows:
        raise UsageError("--max-rows", f"the grid has {len(configs):,} rows, more than {max_rows:,}; narrow the axes "
                                       "or raise --max-rows")
    # what every row shares (the grid's gpu and model vary per row)
    shared = RunRequest(gpu="all", model="all", tokens=tokens, duration=duration, host_memory=host_memory,
                        host_adam_params_per_s=host_adam_params_per_s, reserve_gib=reserve_gib, torch=torch)
    run_sweep(specs, configs, shared.duration_s, fmt, sys.stdout, jobs_for(jobs, len(configs)), sweep_fixed(shared))


# --- measure, schema, validate -----------------------------------------------------------------------------------


@app.command(epilog='Example: gpt2budget measure --model gpt2 --micro-batch 8 ; gpt2budget measure --calibrate --gpu 4070ti. '
                    'Needs torch: pip install "gpt2budget[measure]"')
def measure(
    model: Annotated[str, typer.Option(help="model id or alias", autocompletion=_complete_model)] = "gpt2",
    gpu: Annotated[str | None, typer.Option(help="the catalogue GPU this machine has (default: matched from its name)",
                                            autocompletion=_complete_gpu)] = None,
    stack: Annotated[str, typer.Option(help="hf (transformers, eager) or nanogpt (compiled on CUDA)")] = DEFAULT_STACK,
    precision: PrecisionOpt = None,
    optimizer: Annotated[Optimizer | None, typer.Option(help="adamw, adamw-fused or sgd (default: the stack's)")] = None,
    checkpointing: Annotated[Ckpt | None, typer.Option(help="none or full (default: the stack's)")] = None,
    attention: Annotated[Attention | None, typer.Option(help="flash (SDPA) or eager")] = None,
    dropout: DropoutOpt = 0.0,
    seq: SeqOpt = None,
    micro_batch: Annotated[int, typer.Option("--micro-batch", min=RANGES["micro_batch"].lo, max=RANGES["micro_batch"].hi, help="sequences per step")] = 1,
    finetune: Annotated[MeasureFinetune, typer.Option(help="none or lora (LoRA needs peft)")] = MeasureFinetune.none,
    lora_rank: Annotated[int, typer.Option("--lora-rank", min=RANGES["lora_rank"].lo, max=RANGES["lora_rank"].hi, help="LoRA rank (with --finetune lora)")] = DEFAULT_LORA_RANK,
    device: Annotated[Device, typer.Option(help="cuda, or cpu to try the harness on a tiny model")] = Device.cuda,
    warmup: Annotated[int, typer.Option(min=0, max=1000, help="untimed steps first (compilation, allocator warm-up)")] = 2,
    steps: Annotated[int, typer.Option(min=1, max=10000, help="timed steps (the median is reported)")] = 5,
    calibrate: Annotated[bool, typer.Option("--calibrate", help="micro-benchmark this GPU and host and save a calibration "
                                                                "that check, plan and compare then use")] = False,
    fmt: Annotated[Fmt, typer.Option("--format", "-f", help="table or json (one record, the shared data's format)")] = Fmt.table,
    config_dir: ConfigDirOpt = None,
) -> None:
    """Run real training steps on this GPU and print them beside the prediction (or --calibrate the model to it)."""
    from gpt2budget.core.measuring import check_measurable

    if fmt not in (Fmt.table, Fmt.json):
        raise UsageError("--format", f"measure prints table or json, got {fmt.value!r}")
    if calibrate and device != Device.cuda:
        raise UsageError("--device", "--calibrate measures the GPU it saves a calibration for: run it with --device "
                                     "cuda on the machine with that GPU (the CPU's numbers would be saved as the GPU's)")
    specs = load(config_dir)

    def inputs_for(gpu_id: str, stack_id: str | None = None, no_calibration: bool = False) -> "CheckInputs":
        from gpt2budget.request import RunRequest

        request = RunRequest(gpu=gpu_id, model=model, stack=stack_id or stack, precision=precision,
                             optimizer=optimizer, checkpointing=checkpointing, attention=attention, dropout=dropout,
                             seq=seq, micro_batch=micro_batch, finetune=finetune.value, lora_rank=lora_rank,
                             tokens="100M" if finetune != MeasureFinetune.none else None)
        return build_inputs(specs, request, no_calibration, config_dir)

    # the options first (stack, optimizer, fine-tuning), on the named GPU (or the first one, when torch is to name
    # it: what holds for that GPU only is checked again on this one), then torch
    try:
        ci = inputs_for(gpu or next(iter(specs.gpus)).id, no_calibration=True)
    except UsageError:
        if gpu:
            raise
        ci = None
    if ci is not None:
        check_measurable(ci)
    try:
        import torch  # noqa: F401
    except ImportError:
        raise UsageError("measure", 'needs PyTorch: pip install "gpt2budget[measure]"') from None
    from gpt2budget.cli import measure_cmd

    gpu_id = measure_cmd.gpu_id_for(specs, gpu, device.value)
    if calibrate:  # into the last --config-dir, else the user folder, as the README says
        folder = config_dir[-1] if config_dir else Path(typer.get_app_dir("gpt2budget"))
        text = measure_cmd.run_calibrate(specs, inputs_for, gpu_id, device.value, folder, user_folders(config_dir))
    else:
        text = measure_cmd.run_measure(inputs_for(gpu_id), device.value, warmup, steps, fmt == Fmt.json)
    sys.stdout.write(text)


@app.command(epilog="Example: gpt2budget schema gpu > gpu.schema.json")
def schema(kind: Annotated[SchemaKind, typer.Argument(help="gpu, model, stack or check")]) -> None:
    """Print the JSON Schema of a spec file or of check's JSON output."""
    import json

    from gpt2budget.output.schema import json_schema

    emit(json.dumps(json_schema(kind.value), indent=2))


@app.command("validate", epilog="Example: gpt2budget validate ~/.config/gpt2budget/gpus/my-card.yaml")
def validate_files(files: Annotated[list[Path], typer.Argument(help="spec files, or folders (each spec file in them "
                                                                "and in their gpus/, models/, stacks/)")]) -> None:
    """Check spec files; report each problem as file:line: key: message."""
    from gpt2budget.specs.catalog import folder_problems
    from gpt2budget.specs.loader import guess_kind, spec_file_problems, spec_name_problems

    bad = 0
    checked: list[tuple[str, Path]] = []
    paths: list[Path] = []
    for item in files:
        found = _spec_paths([item])
        if item.is_dir():  # a folder with nothing to check, or a misnamed gpu/ folder: said, and a failure
            misnamed = [m for m in folder_problems(item) if m.endswith("/?")]
            if not found:
                misnamed.insert(0, f"{item}: no spec files found in it or in its gpus/, models/ or stacks/ folder")
            for message in misnamed:
                sys.stdout.write(f"{safe_text(message)}\n")
            bad += len(misnamed)
        paths += found
    for f in paths:
        kind = guess_kind(f, _peek(f))
        problems = spec_file_problems(kind, f)
        if not problems:
            sys.stdout.write(f"{safe_text(str(f))}: ok ({kind[:-1]})\n")
            checked.append((kind, f))
        bad += bool(problems)
        for exc in problems:
            sys.stdout.write(f"{exc.path}:{exc.line or 1}: {exc.key or '-'}: {exc.message}\n")
    for exc in spec_name_problems(checked):
        bad += 1
        sys.stdout.write(f"{exc.path}:{exc.line or 1}: {exc.key or '-'}: {exc.message}\n")
    if bad:
        raise typer.Exit(3)


def _spec_paths(items: list[Path]) -> list[Path]:
    """Files as given; a folder gives its spec files and those of its gpus/, models/ and stacks/ folders."""
    from gpt2budget.specs.definitions import KIND_TYPES
    from gpt2budget.specs.files import is_artefact, is_regular, spec_files

    out: list[Path] = []
    for item in items:
        if item.is_dir():
            for folder in (item, *(item / kind for kind in KIND_TYPES)):
                out += spec_files(folder)
                for other in sorted(folder.glob("*.y*ml")) if folder.is_dir() else []:
                    if not is_artefact(other.name) and not is_regular(other):
                        sys.stdout.write(f"{safe_text(str(other))}: skipped (not a regular file)\n")
        else:
            out.append(item)
    return out


def _peek(path: Path) -> Any:
    from gpt2budget.errors import SpecError
    from gpt2budget.specs.loader import parse_yaml, read_spec_text

    try:
        return parse_yaml(read_spec_text(path), str(path))[0]
    except SpecError:
        return None


# --- entry point --------------------------------------------------------------------------------------------


def _click_exceptions() -> Any:
    try:  # typer >= 0.24 vendors click
        from typer._click import exceptions as ex
    except ImportError:  # pragma: no cover - older typer with click installed
        import click.exceptions as ex  # type: ignore[no-redef,import-not-found,unused-ignore]
    return ex


def _print_version(value: bool) -> None:
    if value:
        from gpt2budget import __version__

        sys.stdout.write(f"gpt2budget {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="print the version and exit")] = False,
) -> None:
    """Can I train a GPT-2-class model on this hardware, in this time, and will it fit in memory?"""


def app_for(argv: list[str]) -> typer.Typer:
    """The app with only the command being run: Typer builds every registered command's parameters on each
    run (~20 ms for all nine), and one is enough. The root callback keeps it a group, so usage and help are
    the same; anything else (no command, --help, a misspelt command) gets the whole app."""
    name = argv[0] if argv else ""
    registered = getattr(app, "registered_commands", None)  # Typer's list: on a Typer without it, the whole app
    chosen = [c for c in registered or ()
              if (getattr(c, "name", None) or getattr(getattr(c, "callback", None), "__name__", "").replace("_", "-")) == name]
    if len(chosen) != 1 or not isinstance(registered, list):
        return app
    lean = copy.copy(app)
    lean.registered_commands = chosen
    return lean


def main(argv: list[str] | None = None) -> None:
    ex = _click_exceptions()
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        rc = app_for(args)(args=args, standalone_mode=False, prog_name="gpt2budget")
        sys.stdout.flush()  # here, where a closed pipe is caught below, not at interpreter exit
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.stderr.write("Error: aborted\n")
        sys.exit(130)
    except ex.ClickException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError" and getattr(exc, "ctx", None) is not None:
            sys.stdout.write(exc.ctx.get_help() + "\n")
            sys.exit(0)
        msg = " ".join(safe_text(exc.format_message(), "\n\t").split())  # it quotes what was typed
        sys.stderr.write(f"Error: {msg}\n")
        sys.exit(EXIT_USAGE)
    except Gpt2BudgetError as exc:
        sys.stderr.write(f"Error: {' '.join(safe_text(str(exc), chr(10)).split())}\n")
        sys.exit(exc.exit_code)
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly
        from gpt2budget.output.report import quiet_stdout

        quiet_stdout()
        sys.exit(0)
    except OSError as exc:  # writing the output failed (a full disk, /dev/full): one line, not a traceback
        from gpt2budget.output.report import quiet_stdout

        quiet_stdout()
        sys.stderr.write(f"Error: cannot write the output ({safe_text(str(exc.strerror or exc))})\n")
        sys.exit(EXIT_OUTPUT)
    except KeyboardInterrupt:
        sys.exit(130)

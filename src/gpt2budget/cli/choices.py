"""The CLI's vocabulary: each option's choices as the str Enums Typer shows (their values are the core's lists in
gpt2budget.options, checked by tests/test_options.py), the shared option types, and name completion."""

# No `from __future__ import annotations`: Typer reads these annotations at run time.
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from gpt2budget.options import DEFAULT_BATCH_TOKENS
from gpt2budget.request import RANGES


class Fmt(str, Enum):
    table = "table"
    json = "json"
    yaml = "yaml"
    csv = "csv"
    markdown = "markdown"


class Precision(str, Enum):
    fp32 = "fp32"
    tf32 = "tf32"
    amp_bf16 = "amp-bf16"
    amp_fp16 = "amp-fp16"
    bf16 = "bf16"


class Optimizer(str, Enum):
    adamw = "adamw"
    adamw_fused = "adamw-fused"
    adamw_8bit = "adamw-8bit"
    sgd = "sgd"
    sgd_momentum = "sgd-momentum"
    adafactor = "adafactor"
    lion = "lion"
    muon = "muon"


class Ckpt(str, Enum):
    none = "none"
    selective = "selective"
    full = "full"


class Attention(str, Enum):
    flash = "flash"
    eager = "eager"


class Offload(str, Enum):
    none = "none"
    optimizer = "optimizer"
    params = "params"


class Finetune(str, Enum):
    none = "none"
    full = "full"
    lora = "lora"
    qlora = "qlora"


class LoraTargets(str, Enum):
    attention = "attention"
    all_linear = "all-linear"


class Loss(str, Enum):
    full = "full"
    chunked = "chunked"
    fused_linear = "fused-linear"


class OptimalRule(str, Enum):
    chinchilla_20 = "chinchilla-20"
    hoffmann_2022 = "hoffmann-2022"
    epoch_2024 = "epoch-2024"


class FlopsFormula(str, Enum):
    six_n = "6n"
    six_n_attention = "6n+attention"


class SchemaKind(str, Enum):
    gpu = "gpu"
    model = "model"
    stack = "stack"
    check = "check"


class Device(str, Enum):  # measure --device
    cuda = "cuda"
    cpu = "cpu"


class MeasureFinetune(str, Enum):  # what measure can run: full training or PEFT LoRA
    none = "none"
    lora = "lora"


class CompareBy(str, Enum):
    gpu = "gpu"
    model = "model"




def _ids(kind: str) -> list[str]:
    try:
        from gpt2budget.specs.catalog import load_catalog
        from gpt2budget.specs.files import config_dirs

        catalog = load_catalog(kind, config_dirs(typer.get_app_dir("gpt2budget")))
        # ids and every alias: `--gpu 40<TAB>` offers 4070ti and 4090 as well as rtx-4070-ti
        return sorted({*catalog.items, *(a for spec in catalog.items.values() for a in spec.aliases)})
    except Exception:  # completion must never fail loudly
        return []


def _complete_gpu(incomplete: str) -> list[str]:
    return [i for i in _ids("gpus") if i.startswith(incomplete)]


def _complete_model(incomplete: str) -> list[str]:
    return [i for i in _ids("models") if i.startswith(incomplete)] + (["all"] if "all".startswith(incomplete) else [])


def _complete_stack(incomplete: str) -> list[str]:
    return [i for i in _ids("stacks") if i.startswith(incomplete)]


# --- shared options --------------------------------------------------------------------------------------
GpuOpt = Annotated[str, typer.Option("--gpu", help="GPU id or alias (see `gpt2budget gpus`)",
                                     autocompletion=_complete_gpu)]
ModelOpt = Annotated[str, typer.Option("--model", help="model id or alias (see `gpt2budget models`), or a Hugging "
                                                        "Face config.json (or the model folder holding it)",
                                       autocompletion=_complete_model)]
StackOpt = Annotated[str, typer.Option("--stack", help="training stack profile (hf, nanogpt, llmc)",
                                       autocompletion=_complete_stack)]
TorchOpt = Annotated[str | None, typer.Option("--torch", metavar="VERSION", help=(
    "the PyTorch version the stack runs (2.0-2.11 for hf and nanogpt: SDPA's attention kernel and Inductor's fusions "
    "as they were; default: the stack profile's own, 2.11); not for llmc"))]
ConfigDirOpt = Annotated[list[Path] | None, typer.Option("--config-dir", help="extra spec folder (gpus/, models/, "
                                                          "stacks/); repeatable; later folders win")]
OptimalRuleOpt = Annotated[OptimalRule, typer.Option("--optimal-rule", help="compute-optimal rule: chinchilla-20 (20 tokens/parameter), hoffmann-2022 or epoch-2024")]
FormatOpt = Annotated[Fmt, typer.Option("--format", "-f", help="output format")]
NoColorOpt = Annotated[bool, typer.Option("--no-color", help="no colour (NO_COLOR is honoured too)")]
GpusOpt = Annotated[int, typer.Option("--gpus", min=RANGES["gpus"].lo, max=RANGES["gpus"].hi, help="GPUs per node (data parallel)")]
NodesOpt = Annotated[int, typer.Option("--nodes", min=RANGES["nodes"].lo, max=RANGES["nodes"].hi, help="nodes (total GPUs = --gpus x --nodes)")]
PrecisionOpt = Annotated[Precision | None, typer.Option("--precision", help="default: the stack's (amp-bf16, or "
                                                         "amp-fp16 where the GPU lacks bf16)")]
DurationOpt = Annotated[str, typer.Option("--duration", help="time available: 1y (365 d), 30d, 12h, 90min")]
UtilOpt = Annotated[float | None, typer.Option("--utilization", min=RANGES["utilization"].lo, max=RANGES["utilization"].hi,
                                               help="override the step-time model: fraction of peak FLOP/s sustained (the old flat formula)")]
SeqOpt = Annotated[int | None, typer.Option(min=RANGES["seq"].lo, max=RANGES["seq"].hi, help="sequence length (default: the model's n_ctx)")]
DropoutOpt = Annotated[float, typer.Option(min=RANGES["dropout"].lo, max=RANGES["dropout"].hi, help="dropout probability")]
MicroBatchOpt = Annotated[int, typer.Option("--micro-batch", min=RANGES["micro_batch"].lo, max=RANGES["micro_batch"].hi, help="sequences per GPU per step")]
MicroBatchAutoOpt = Annotated[str, typer.Option("--micro-batch", metavar="N|auto", help=(
    "sequences per GPU per step, or auto: the largest that fits (at most the batch's sequences per GPU)"))]
OptimizerOpt = Annotated[Optimizer | None, typer.Option(metavar="<adamw|adamw-fused|adamw-8bit|sgd|...|muon>", help=(
    "adamw, adamw-fused, adamw-8bit, sgd, sgd-momentum, adafactor, lion or muon (default: the stack's: adamw for hf)"))]
ZeroOpt = Annotated[str, typer.Option(help="ZeRO stage 0-3 (FSDP names accepted)")]
OffloadOpt = Annotated[Offload, typer.Option(help="CPU offload: none, optimizer (ZeRO-Offload), params (ZeRO-Infinity)")]
FinetuneOpt = Annotated[Finetune, typer.Option(help="fine-tune a pre-trained model instead of training from scratch")]
BatchTokensOpt = Annotated[str, typer.Option("--batch-tokens",
                                              help=f"tokens per optimizer step (GPT-2: {DEFAULT_BATCH_TOKENS})")]
NoCalibrationOpt = Annotated[bool, typer.Option("--no-calibration", help="ignore a calibration measured by `gpt2budget measure --calibrate`")]
PricePerKwhOpt = Annotated[float, typer.Option("--price-per-kwh", min=RANGES["price_per_kwh"].lo, max=RANGES["price_per_kwh"].hi, help="USD per kWh")]

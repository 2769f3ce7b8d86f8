"""The options of one training run, as plain frozen data shared by the core modules."""

from __future__ import annotations

from typing import Any, NamedTuple

PRECISION_CHOICES = ("fp32", "tf32", "amp-bf16", "amp-fp16", "bf16")
OPTIMIZER_CHOICES = ("adamw", "adamw-fused", "adamw-8bit", "sgd", "sgd-momentum", "adafactor", "lion")
ATTENTION_CHOICES = ("flash", "eager")
OFFLOAD_CHOICES = ("none", "optimizer", "params")
FINETUNE_CHOICES = ("none", "full", "lora", "qlora")
LORA_TARGETS = ("attention", "all-linear")
CHECKPOINTING_CHOICES = ("none", "selective", "full")
OPTIMAL_RULES = ("chinchilla-20", "hoffmann-2022", "epoch-2024")
FLOPS_FORMULAS = ("6n", "6n+attention")

# The defaults of a run's options, each stated once: gpt2budget.request.RunRequest, the CLI's option defaults and
# the core's CheckInputs, CostInputs and RunOptions read them from here.
DEFAULT_STACK = "hf"
DEFAULT_DURATION = "1y"  # a year (365 days): what "can I train it" means unless told otherwise
DEFAULT_BATCH_TOKENS = 512 * 1024  # GPT-2's batch: 512 sequences of 1024 tokens (Radford et al. 2019, §2.3)
DEFAULT_HOST_MEMORY_GIB = 64.0  # assumption: a workstation's CPU memory per node, GiB
DEFAULT_LORA_RANK = 8  # PEFT's LoraConfig default r=8 (huggingface/peft, src/peft/tuners/lora/config.py)
DEFAULT_FLOPS_FORMULA = "6n"  # Kaplan et al. 2020's 6·N per token
DEFAULT_OPTIMAL_RULE = "chinchilla-20"  # Hoffmann et al. 2022's ~20 tokens per parameter
AVERAGE_DRAW = 0.8  # assumption: training holds a GPU near, not at, its board power on average
PUE = 1.1  # power usage effectiveness; hyperscale data centres report ~1.1, a home PC is 1.0
PRICE_PER_KWH = 0.17  # USD; US average residential price 2024 (EIA Electric Power Monthly), ~16-17 cents
GRID_GCO2_PER_KWH = 480.0  # world-average grid carbon intensity 2023 (Ember, Global Electricity Review 2024)


class RunOptions(NamedTuple):
    """How one training run is set up: precision, optimizer, memory savers, batch and parallelism."""

    precision: str = "amp-bf16"
    optimizer: str = "adamw"
    checkpointing: bool = False
    attention: str = "flash"
    dropout: float = 0.0
    seq: int = 1024
    micro_batch: int = 1
    gpus: int = 1
    zero: int = 0
    offload: str = "none"
    finetune: str = "none"
    lora_rank: int = DEFAULT_LORA_RANK
    lora_targets: str = "attention"
    lora_dropout: float = 0.0

    def with_(self, **changes: Any) -> RunOptions:
        return self._replace(**changes)

"""The options of one training run, as plain frozen data shared by the core modules."""

from __future__ import annotations

from typing import Any, NamedTuple

PRECISION_CHOICES = ("fp32", "tf32", "amp-bf16", "amp-fp16", "bf16")
OPTIMIZER_CHOICES = ("adamw", "adamw-fused", "adamw-8bit", "sgd", "sgd-momentum", "adafactor", "lion")
ATTENTION_CHOICES = ("flash", "eager")
OFFLOAD_CHOICES = ("none", "optimizer", "params")
FINETUNE_CHOICES = ("none", "full", "lora", "qlora")
LORA_TARGETS = ("attention", "all-linear")
LORA_BASE_CHOICES = ("bf16", "fp32")  # the frozen base's stored dtype (library only; the CLI assumes bf16)
CHECKPOINTING_CHOICES = ("none", "selective", "full")
OPTIMAL_RULES = ("chinchilla-20", "hoffmann-2022", "epoch-2024")
FLOPS_FORMULAS = ("6n", "6n+attention")


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
    lora_rank: int = 8
    lora_targets: str = "attention"
    lora_dropout: float = 0.0
    lora_base: str = "bf16"

    def with_(self, **changes: Any) -> RunOptions:
        return self._replace(**changes)

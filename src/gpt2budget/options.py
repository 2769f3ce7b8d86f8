"""The options of one training run, as plain frozen data shared by the core modules."""

from __future__ import annotations

from typing import Any, NamedTuple


class Precision(NamedTuple):
    """A training precision: what is mixed, what is 16-bit, which peak it runs at."""

    name: str
    peak_key: str  # the GPU spec's peak_tflops column (and a calibration's gemm_tflops key)
    autocast: bool  # fp32 weights, 16-bit matmuls (torch.autocast; llm.c-style stacks keep 16-bit weights + fp32 master)
    pure16: bool  # 16-bit weights, gradients and optimizer states throughout (no fp32 master copy)
    operand_bytes: float  # bytes per matmul operand: fp32 and tf32 keep 4-byte operands, the 16-bit paths 2


PRECISIONS = {p.name: p for p in (
    Precision("fp32", "fp32", False, False, 4.0),
    Precision("tf32", "tf32", False, False, 4.0),
    Precision("amp-bf16", "bf16", True, False, 2.0),
    Precision("amp-fp16", "fp16", True, False, 2.0),
    Precision("bf16", "bf16", False, True, 2.0),
)}


class Optimizer(NamedTuple):
    """An optimizer: its states, the bytes one update moves and the kernels it launches."""

    name: str
    states: int  # full-size states per trainable parameter (8-bit and factored states are counted apart)
    update_bytes: float  # bytes read and written per trainable parameter in one update (fp32 states and parameters)
    kernels: int  # kernels per parameter-tensor group (foreach) or per update (fused)
    foreach_temporary: bool  # torch.optim's foreach path allocates one parameter-sized temporary in step()
    words: str  # what its states are, for the memory table


# Sources: torch.optim's AdamW (foreach: ~10 passes, mul_, lerp_, mul_, addcmul_, sqrt, div_, add_, addcdiv_ in
# _multi_tensor_adamw; fused: one pass reading p, g, m, v and writing p, m, v = 28 B), SGD p.add_(g) 12 B,
# bitsandbytes 8-bit AdamW (1-byte states, a fused kernel), Lion (Chen et al. 2023: one momentum), Adafactor (Shazeer &
# Stern 2018: factored second moment); Muon (Jordan et al. 2024: one momentum per matrix, AdamW for the rest).
OPTIMIZERS = {o.name: o for o in (
    Optimizer("adamw", 2, 80.0, 12, True, "2 states (m, v)"),
    Optimizer("adamw-fused", 2, 28.0, 1, False, "2 states (m, v)"),
    Optimizer("adamw-8bit", 0, 16.0, 1, False, "2 x 1 B states"),
    Optimizer("sgd", 0, 12.0, 1, False, "none"),
    Optimizer("sgd-momentum", 1, 24.0, 2, False, "1 state"),
    Optimizer("adafactor", 0, 40.0, 16, False, "factored rows + columns"),
    Optimizer("lion", 1, 24.0, 4, False, "1 state (momentum)"),
    Optimizer("muon", 1, 28.0, 1, False, "matrices: 1 momentum; embeddings, head, norms: AdamW's 2 states"),
)}
PRECISION_CHOICES = tuple(PRECISIONS)
OPTIMIZER_CHOICES = tuple(OPTIMIZERS)
ATTENTION_CHOICES = ("flash", "eager")
OFFLOAD_CHOICES = ("none", "optimizer", "params")
FINETUNE_CHOICES = ("none", "full", "lora", "qlora")
ADAPTER_FINETUNES = ("lora", "qlora")
# full: the stack's own loss over the whole [tokens, vocab] logits; chunked: the logits upcast and reduced a chunk at a
# time (torchtune's CEWithChunkedOutputLoss, 8 chunks); fused-linear: the head matmul and the cross-entropy fused a
# chunk of tokens at a time, never holding the whole logits (Liger Kernel's FusedLinearCrossEntropy, Hsu et al. 2024)
LOSS_CHOICES = ("full", "chunked", "fused-linear")
LORA_TARGETS = ("attention", "all-linear")
LORA_BASE_CHOICES = ("bf16", "fp32")  # the frozen base's stored dtype (library only; the CLI assumes bf16)
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
# --torch: None runs the stack's own step-time profile, the PyTorch version it names (configs/stacks: torch_version);
# an older version applies that stack's sourced torch_profiles (gpt2budget.specs.torch_versions)
DEFAULT_TORCH: str | None = None
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
    loss: str = "full"  # LOSS_CHOICES: how the loss meets the logits
    lora_base: str = "bf16"  # LORA_BASE_CHOICES: the frozen base's dtype (our H200 LoRA points had an fp32 base)
    # sequences per GPU in one optimizer step, ceil(batch tokens / (seq x GPUs)) (gpt2budget.core.check.run_options);
    # a smaller micro-batch accumulates gradients over several micro-steps. 0: one micro-step per optimizer step (our
    # measured points, gpt2budget.core.memory called directly)
    step_sequences: int = 0

    def with_(self, **changes: Any) -> RunOptions:
        return self._replace(**changes)

    @property
    def prec(self) -> Precision:
        return PRECISIONS[self.precision]

    @property
    def opt(self) -> Optimizer:
        return OPTIMIZERS[self.optimizer]

    @property
    def micro_steps(self) -> int:
        """Micro-steps per optimizer step: ceil(step sequences / micro-batch), as core/steptime.py counts them."""
        return max(1, -(-self.step_sequences // max(1, self.micro_batch)))

    @property
    def accumulates(self) -> bool:
        """Whether gradients accumulate over several micro-steps before the optimizer step."""
        return self.micro_steps > 1

    @property
    def adapters(self) -> bool:
        """LoRA or QLoRA: a frozen base with trained adapters."""
        return self.finetune in ADAPTER_FINETUNES

"""The one encoder from configurations to `check`'s flags: what the advisor and `plan` print to paste.

A configuration here is a result's `Inputs` (every default resolved, `gpus` the total over all nodes); the
flags are written as `check` reads them (`--gpus` is per node).
"""

from __future__ import annotations

import math

from gpt2budget.core.result import Inputs
from gpt2budget.options import DEFAULT_BATCH_TOKENS

# (field of Inputs, flag), in the order the flags are written
CHANGE_FLAGS = (("model", "--model"), ("checkpointing", "--checkpointing"), ("optimizer", "--optimizer"),
                ("precision", "--precision"), ("micro_batch", "--micro-batch"), ("zero", "--zero"),
                ("offload", "--offload"), ("gpus", "--gpus"), ("loss", "--loss"))


def _gpus(total: int, nodes: int) -> str:
    """A total GPU count as `check` reads it: per node, or with --nodes 1 when it does not divide."""
    return f"--gpus {total // nodes}" if total % nodes == 0 else f"--gpus {total} --nodes 1"


def change_flags(base: Inputs, new: Inputs) -> str:
    """The flags that turn the run `base` into `new`, to add to the command that asked about `base`."""
    parts = []
    for field, flag in CHANGE_FLAGS:
        a, b = getattr(base, field), getattr(new, field)
        if a != b:
            parts.append(_gpus(b, base.nodes) if field == "gpus" else f"{flag} {b}")
    return " ".join(parts)


def model_flags(i: Inputs) -> str:
    """A plan's per-model settings: the model and the choices the planner made for it."""
    parts = [f"--model {i.model}", f"--precision {i.precision}", f"--optimizer {i.optimizer}",
             f"--micro-batch {i.micro_batch}"]
    if i.checkpointing != "none":
        parts.append(f"--checkpointing {i.checkpointing}")
    if i.zero:
        parts.append(f"--zero {i.zero}")
    if i.offload != "none":
        parts.append(f"--offload {i.offload}")
    if i.loss != "full":
        parts.append(f"--loss {i.loss}")
    return " ".join(parts)


def check_command(i: Inputs, n_ctx: int, default_checkpointing: str = "none") -> str:
    """A whole `gpt2budget check` command for the configuration `i`, pasteable as it stands: the flags that
    differ from check's defaults (the model's own sequence length `n_ctx`, the stack's checkpointing)."""
    parts = [f"gpt2budget check --gpu {i.gpu}", model_flags(i)]
    if i.checkpointing == "none" and default_checkpointing != "none":
        parts.append("--checkpointing none")
    if i.stack != "hf":
        parts.append(f"--stack {i.stack}")
    if i.gpus != 1 or i.nodes != 1:
        parts.append(_gpus(i.gpus, i.nodes) + (f" --nodes {i.nodes}" if i.nodes != 1 and i.gpus % i.nodes == 0 else ""))
    if i.seq != n_ctx:
        parts.append(f"--seq {i.seq}")
    if i.tokens is not None:
        # whole tokens, rounded down: the run must not need a hair more than the time it was planned for
        parts.append(f"--tokens {max(1, math.floor(i.tokens * (1 - 1e-9)))}")
    if i.duration_hours != 8760.0:
        parts.append(f"--duration {i.duration_hours:.10g}h")
    if i.batch_tokens != DEFAULT_BATCH_TOKENS:
        parts.append(f"--batch-tokens {i.batch_tokens:.0f}")
    if i.finetune != "none":
        parts.append(f"--finetune {i.finetune}")
    if i.host_adam_params_per_s is not None:
        parts.append(f"--host-adam-params-per-s {i.host_adam_params_per_s:.6g}")
    if i.torch is not None:
        parts.append(f"--torch {i.torch}")
    return " ".join(parts)

"""A stack as an older PyTorch ran it (--torch): the stack's step_time with one of its sourced `torch_profiles`
applied. A stack's own profile describes its `torch_version` (nanogpt, hf: PyTorch 2.11 on this project's hosts);
each older profile changes only what that version did differently (the attention kernel SDPA ran, Inductor's
matmul padding, memory passes a later Inductor fused away), never a fitted factor. llm.c runs no PyTorch.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache

from gpt2budget.errors import UsageError
from gpt2budget.specs.definitions import StackSpec, StepTimeProfile, TorchProfile


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def known_versions(stack: StackSpec) -> tuple[str, ...]:
    """The PyTorch versions the stack has a profile for, oldest first (its own torch_version among them)."""
    if stack.torch_version is None:
        return ()
    found = [stack.torch_version] + [v for tp in stack.torch_profiles for v in tp.versions]
    return tuple(sorted(found, key=_key))


def profile_of(stack: StackSpec, version: str) -> TorchProfile | None:
    """The older profile that names `version` (None for the stack's own version)."""
    return next((tp for tp in stack.torch_profiles if version in tp.versions), None)


def _added(base: dict[str, float], extra: dict[str, float]) -> dict[str, float]:
    return {role: base.get(role, 0.0) + extra.get(role, 0.0) for role in {**base, **extra}}


def _changed(prof: StepTimeProfile, tp: TorchProfile) -> StepTimeProfile:
    changes: dict[str, object] = {}
    if tp.flash_kernel is not None:
        changes["flash_kernel"] = tp.flash_kernel
    if tp.matmul_shape_padding is not None:
        changes["matmul_shape_padding"] = tp.matmul_shape_padding
    extra = tp.elementwise_backward_added
    if extra:
        changes["elementwise_backward"] = _added(prof.elementwise_backward, extra)
        changes["families"] = tuple(
            dataclasses.replace(fp, elementwise_backward=_added(fp.elementwise_backward, extra))
            if fp.elementwise_backward is not None else fp for fp in prof.families)
    return dataclasses.replace(prof, **changes) if changes else prof  # type: ignore[arg-type]


KERNEL_WORDS = {"flash1": "SDPA's FlashAttention-1", "flash2": "SDPA's FlashAttention-2", "cudnn": "cuDNN attention"}


def changes_words(tp: TorchProfile, own: str | None = None) -> str:
    """What an older profile changes, in a few words (for --explain)."""
    parts = []
    if tp.flash_kernel is not None:
        parts.append(KERNEL_WORDS[tp.flash_kernel])
    if tp.matmul_shape_padding is False:
        parts.append("no matmul padding (pad_mm)")
    if tp.elementwise_backward_added:
        added = ", ".join(f"{v:g} {role}" for role, v in tp.elementwise_backward_added.items())
        parts.append(f"backward passes Inductor later fused ({added} accesses per layer and token)")
    return ", ".join(parts) or f"the same kernels and passes as PyTorch {own}"


@lru_cache(maxsize=256)
def stack_for_torch(stack: StackSpec, version: str | None) -> StackSpec:
    """The stack as PyTorch `version` runs it (None: the stack as it is). Cached, so each (stack, version) is one
    object and the step-time model's caches, keyed by identity, keep working. A version the stack has no profile
    for, or any version for a stack that runs no PyTorch, is a UsageError naming --torch."""
    if version is None:
        return stack
    if stack.torch_version is None:
        raise UsageError("--torch", f"the {stack.id} stack runs no PyTorch: --torch applies to stacks whose profile "
                                    "names a PyTorch version (hf, nanogpt)")
    known = known_versions(stack)
    if version not in known:
        raise UsageError("--torch", f"the {stack.id} stack has profiles for PyTorch {', '.join(known)}; got "
                                    f"{version!r}")
    tp = profile_of(stack, version)
    if tp is None:  # its own version: the stack as it is
        return stack
    words = f"{changes_words(tp, stack.torch_version)}; sourced in configs/stacks' torch_profiles"
    sources = {**stack.sources, "torch_version": words}
    return dataclasses.replace(stack, torch_version=version, torch_profiles=(), step_time=_changed(stack.step_time, tp),
                               sources=sources)

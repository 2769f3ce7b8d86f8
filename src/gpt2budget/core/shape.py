"""The GPT-2 parameter layout: which tensors a model of a given shape has, and how many parameters."""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from gpt2budget.specs.definitions import ModelSpec


class Shape(NamedTuple):
    """A model's tensor shapes as a run sees them (vocabulary padded, position table grown to the sequence)."""

    n_layer: int
    n_head: int
    n_embd: int
    vocab: int  # after any padding the stack applies
    n_pos: int  # rows of the position table: max(seq, n_ctx); a longer sequence grows it
    tied: bool

    @classmethod
    def of(cls, model: ModelSpec, seq: int, vocab_multiple: int = 1) -> Shape:
        vocab = -(-model.vocab_size // vocab_multiple) * vocab_multiple
        return cls(model.n_layer, model.n_head, model.n_embd, vocab, max(seq, model.n_ctx), model.tied_embeddings)


# Tensor kinds: "embed" (wte), "pos" (wpe), "norm" (LayerNorm weight/bias), "matmul" (Conv1D/Linear weight
# and bias: what autocast casts to 16 bits), "head" (an untied lm_head).
@lru_cache(maxsize=256)
def tensors(shape: Shape) -> tuple[tuple[str, str, int], ...]:
    """(name, kind, numel) for every parameter tensor, in GPT2LMHeadModel's order (Radford et al. 2019)."""
    h, v = shape.n_embd, shape.vocab
    out: list[tuple[str, str, int]] = [("wte", "embed", v * h), ("wpe", "pos", shape.n_pos * h)]
    per_layer = (
        ("ln_1.weight", "norm", h), ("ln_1.bias", "norm", h),
        ("attn.c_attn.weight", "matmul", h * 3 * h), ("attn.c_attn.bias", "matmul", 3 * h),
        ("attn.c_proj.weight", "matmul", h * h), ("attn.c_proj.bias", "matmul", h),
        ("ln_2.weight", "norm", h), ("ln_2.bias", "norm", h),
        ("mlp.c_fc.weight", "matmul", h * 4 * h), ("mlp.c_fc.bias", "matmul", 4 * h),
        ("mlp.c_proj.weight", "matmul", 4 * h * h), ("mlp.c_proj.bias", "matmul", h),
    )
    for i in range(shape.n_layer):
        out.extend((f"h.{i}.{name}", kind, n) for name, kind, n in per_layer)
    out += [("ln_f.weight", "norm", h), ("ln_f.bias", "norm", h)]
    if not shape.tied:
        out.append(("lm_head.weight", "head", v * h))
    return tuple(out)


@lru_cache(maxsize=256)
def tensor_groups(shape: Shape) -> tuple[tuple[str, str, int, int], ...]:
    """(name without the layer prefix, kind, numel, count): the L identical layers folded into one entry each,
    so per-tensor arithmetic (allocator rounding) costs O(distinct tensors), not O(layers)."""
    counts: dict[tuple[str, str, int], int] = {}
    for name, kind, n in tensors(shape):
        key = (name.split(".", 2)[2] if name.startswith("h.") else name, kind, n)
        counts[key] = counts.get(key, 0) + 1
    return tuple((name, kind, n, c) for (name, kind, n), c in counts.items())


def n_params(shape: Shape) -> int:
    """Parameters as model.parameters() counts them (tied embeddings once):
    V·h + P·h + L·(12h² + 13h) + 2h, plus V·h for an untied head."""
    h, L = shape.n_embd, shape.n_layer
    total = shape.vocab * h + shape.n_pos * h + L * (12 * h * h + 13 * h) + 2 * h
    return total + (shape.vocab * h if not shape.tied else 0)


def layer_params(shape: Shape) -> int:
    return 12 * shape.n_embd**2 + 13 * shape.n_embd

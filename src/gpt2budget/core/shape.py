"""The block description: one definition of a model's transformer block, from which every size is derived.

A `Shape` is the model as a run sees it (vocabulary padded, GPT-2's position table grown to the sequence) plus its
block: attention heads, key/value heads and head width, the MLP and its hidden width, the normalisation, biases,
positions and embeddings. From it come the tensor list (lookup tables kept apart from GEMM weights), the parameter
count, the parameters that take part in matmuls (FLOPs), each layer's GEMMs with their real shapes (skinny K/V
under grouped-query attention), LoRA's target matrices and the widths the stack profiles' activation terms are
counted in. GPT-2's block (Radford et al. 2019) is the default; the other families' fields are as each project's
own config states them (../shared/reference/model_families.md).
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from gpt2budget.specs.definitions import ModelSpec

# Parameters per normalisation of width w: LayerNorm weight and bias, RMSNorm weight, or none.
NORM_PARAMS = {"layernorm": 2, "layernorm-noaffine": 0, "rmsnorm": 1, "rmsnorm-noweight": 0}


class Shape(NamedTuple):
    """A model's block and tensor shapes as a run sees them. The first six fields are GPT-2's; the rest default to
    GPT-2's block (0 for a width means "derived": n_kv_head = n_head, head_dim = n_embd / n_head, d_ff = 4 n_embd)."""

    n_layer: int
    n_head: int
    n_embd: int
    vocab: int  # after any padding the stack applies
    n_pos: int  # rows of a learned position table: max(seq, n_ctx); a longer sequence grows it (0 for rope)
    tied: bool
    n_kv_head: int = 0
    head_dim: int = 0
    d_ff: int = 0
    mlp: str = "gelu"
    norm: str = "layernorm"
    qk_norm: bool = False
    bias: str = "all"
    family: str = "gpt2"

    @classmethod
    def of(cls, model: ModelSpec, seq: int, vocab_multiple: int = 1) -> Shape:
        vocab = -(-model.vocab_size // vocab_multiple) * vocab_multiple
        n_pos = max(seq, model.n_ctx) if model.positions == "learned" else 0
        return cls(model.n_layer, model.n_head, model.n_embd, vocab, n_pos, model.tied_embeddings,
                   model.n_kv_head or 0, model.head_dim or 0, model.d_ff or 0, model.mlp, model.norm,
                   model.qk_norm, model.bias, model.family)

    @property
    def kv_heads(self) -> int:
        return self.n_kv_head or self.n_head

    @property
    def hd(self) -> int:
        """Width of one attention head."""
        return self.head_dim or self.n_embd // self.n_head

    @property
    def q_width(self) -> int:
        """Width of the queries (and of the attention output): n_head x head_dim (= n_embd for every model here)."""
        return self.n_head * self.hd

    @property
    def kv_width(self) -> int:
        """Width of the keys, and of the values: n_kv_head x head_dim (skinny under grouped-query attention)."""
        return self.kv_heads * self.hd

    @property
    def ff(self) -> int:
        """The MLP's hidden width (SwiGLU's intermediate size)."""
        return self.d_ff or 4 * self.n_embd

    @property
    def fused_qkv(self) -> bool:
        """GPT-2's c_attn computes q, k and v in one GEMM; the other families' code has three projections."""
        return self.family == "gpt2"


class Gemm(NamedTuple):
    """One weight matrix of a layer as its forward GEMM runs it: tokens x k -> n."""

    name: str  # the tensor's name in the layer (h.{i}.<name>.weight)
    role: str  # c_attn (q, k, v), attn_c_proj (attention output), c_fc (MLP in: up, gate), mlp_c_proj (MLP out)
    k: int
    n: int


@lru_cache(maxsize=256)
def layer_gemms(shape: Shape) -> tuple[Gemm, ...]:
    """The GEMMs of one transformer layer, in forward order. GPT-2: c_attn h->3h, attn.c_proj h->h, c_fc h->4h,
    mlp.c_proj 4h->h (Radford et al. 2019). Llama-style: q h->n_h·d_h, k and v h->n_kv·d_h, o, then gate and up
    h->d_ff (SwiGLU, Shazeer 2020) or up alone (GELU, ReLU²), and down d_ff->h."""
    h, q, kv, ff = shape.n_embd, shape.q_width, shape.kv_width, shape.ff
    if shape.fused_qkv:
        attn = [Gemm("attn.c_attn", "c_attn", h, q + 2 * kv)]
    else:
        attn = [Gemm("attn.q_proj", "c_attn", h, q), Gemm("attn.k_proj", "c_attn", h, kv),
                Gemm("attn.v_proj", "c_attn", h, kv)]
    attn.append(Gemm("attn.c_proj" if shape.family == "gpt2" else "attn.o_proj", "attn_c_proj", q, h))
    if shape.family == "gpt2":
        mlp = [Gemm("mlp.c_fc", "c_fc", h, ff), Gemm("mlp.c_proj", "mlp_c_proj", ff, h)]
    elif shape.mlp == "swiglu":
        mlp = [Gemm("mlp.gate_proj", "c_fc", h, ff), Gemm("mlp.up_proj", "c_fc", h, ff),
               Gemm("mlp.down_proj", "mlp_c_proj", ff, h)]
    else:
        mlp = [Gemm("mlp.up_proj", "c_fc", h, ff), Gemm("mlp.down_proj", "mlp_c_proj", ff, h)]
    return (*attn, *mlp)


def _has_bias(shape: Shape, role: str) -> bool:
    return shape.bias == "all" or (shape.bias == "qkv" and role == "c_attn")


def _norm(name: str, width: int, norm: str) -> list[tuple[str, str, int]]:
    n = NORM_PARAMS[norm]
    return [(f"{name}.weight", "norm", width), (f"{name}.bias", "norm", width)][:n]


# Tensor kinds: "embed" (wte), "pos" (wpe), "norm" (normalisation weights and biases), "matmul" (Conv1D/Linear
# weight and bias: what autocast casts to 16 bits), "head" (an untied lm_head). An untied wte and a position table
# are lookups: their rows are gathered, never multiplied, so they take no part in FLOPs, casts or LoRA.
@lru_cache(maxsize=256)
def tensors(shape: Shape) -> tuple[tuple[str, str, int], ...]:
    """(name, kind, numel) for every parameter tensor, in the model's order (GPT2LMHeadModel's for GPT-2)."""
    h, v = shape.n_embd, shape.vocab
    out: list[tuple[str, str, int]] = [("wte", "embed", v * h)]
    if shape.n_pos:
        out.append(("wpe", "pos", shape.n_pos * h))
    gpt2 = shape.family == "gpt2"
    per_layer: list[tuple[str, str, int]] = _norm("ln_1" if gpt2 else "input_layernorm", h, shape.norm)
    gemms = layer_gemms(shape)
    for gm in gemms:
        per_layer.append((f"{gm.name}.weight", "matmul", gm.k * gm.n))
        if _has_bias(shape, gm.role):
            per_layer.append((f"{gm.name}.bias", "matmul", gm.n))
        if gm.role == "c_attn" and shape.qk_norm and gm.name.endswith(("q_proj", "k_proj")):
            per_layer += _norm(f"attn.{gm.name[5]}_norm", gm.n, shape.norm)  # OLMo 2: over all heads' q, k
        if gm.role == "attn_c_proj":
            per_layer += _norm("ln_2" if gpt2 else "post_attention_layernorm", h, shape.norm)
    for i in range(shape.n_layer):
        out.extend((f"h.{i}.{name}", kind, n) for name, kind, n in per_layer)
    out += _norm("ln_f", h, shape.norm)
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


@lru_cache(maxsize=1024)
def n_params(shape: Shape) -> int:
    """Parameters as model.parameters() counts them (tied embeddings once). For GPT-2:
    V·h + P·h + L·(12h² + 13h) + 2h, plus V·h for an untied head."""
    return sum(n for _, _, n in tensors(shape))


@lru_cache(maxsize=1024)
def flops_params(shape: Shape) -> int:
    """The parameters a token's FLOPs are counted over: all of them less an untied input embedding, a lookup that
    multiplies nothing (nanochat's num_matmul_params; tied, wte is the head's GEMM and counts). GPT-2's position
    table stays counted, as 6·N has always counted it here (0.6% of GPT-2 small)."""
    return n_params(shape) - (0 if shape.tied else shape.vocab * shape.n_embd)


@lru_cache(maxsize=1024)
def layer_params(shape: Shape) -> int:
    """Parameters of one transformer layer (GPT-2: 12h² + 13h)."""
    return sum(n for name, _, n in tensors(shape) if name.startswith("h.0."))


def matrix_dims(shape: Shape) -> dict[str, tuple[int, int]]:
    """(rows, columns) of each layer weight matrix, by name without the layer prefix (Adafactor factors them)."""
    return {f"{gm.name}.weight": (gm.k, gm.n) for gm in layer_gemms(shape)}


def lora_targets(shape: Shape, targets: str) -> tuple[Gemm, ...]:
    """The matrices LoRA adapts: `attention` is PEFT's default target for the family (GPT-2's c_attn; q_proj and
    v_proj for Llama-style models), `all-linear` every GEMM of the layer."""
    gemms = layer_gemms(shape)
    if targets == "all-linear":
        return gemms
    if shape.fused_qkv:
        return tuple(g for g in gemms if g.role == "c_attn")
    return tuple(g for g in gemms if g.name in ("attn.q_proj", "attn.v_proj"))

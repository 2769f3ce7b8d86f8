"""Training FLOPs, available compute and time: pure functions on plain numbers."""

from __future__ import annotations

SECONDS_PER_HOUR = 3600.0


def flops_per_token_6n(n_params: float) -> float:
    # Kaplan et al. 2020, "Scaling Laws for Neural Language Models", §2.1: C ≈ 6·N per token
    # (2·N forward, 4·N backward), attention ignored.
    return 6.0 * n_params


def attention_flops_per_token(n_layer: int, q_width: int, seq: int) -> float:
    # Chowdhery et al. 2022 (PaLM), Appendix B: model FLOPs per token = 6·N + 12·L·H·Q·T, with H·Q the query width
    # n_head x head_dim (n_embd for GPT-2; grouped-query attention does not change it: the queries set the width)
    # and T the sequence length (the QK^T and AV matmuls, forward and backward).
    return 12.0 * n_layer * q_width * seq


def flops_per_token(n_params: float, n_layer: int, q_width: int, seq: int, formula: str) -> float:
    """`n_params`: the parameters that take part in matmuls (gpt2budget.core.shape.flops_params)."""
    base = flops_per_token_6n(n_params)
    return base + attention_flops_per_token(n_layer, q_width, seq) if formula == "6n+attention" else base


def recompute_factor(checkpointing: bool, level: str = "full") -> float:
    # Full activation recomputation runs every forward twice: 2·N + 4·N + 2·N = 8·N per token instead of 6·N
    # (Korthikanti et al. 2022, §4: "full recomputation ... 33% overhead"; Chen et al. 2016). Selective
    # recomputation of elementwise parts (llm.c -r 1 recomputes GELU) adds no matmul FLOPs.
    return 8.0 / 6.0 if checkpointing and level == "full" else 1.0


def sustained_flops_per_s(gpus: int, peak_flops: float, utilization: float, efficiency: float) -> float:
    return gpus * peak_flops * utilization * (efficiency if gpus > 1 else 1.0)



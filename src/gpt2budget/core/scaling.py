"""Compute-optimal sizing and predicted loss: Chinchilla's rules, pure functions."""

from __future__ import annotations

import math
from typing import NamedTuple

LOSS_CAVEAT = (
    "fitted on MassiveText (Chinchilla) with another tokenizer, not GPT-2's WebText: use it to compare plans, "
    "not as a promise of the loss you will see"
)


class LossFit(NamedTuple):
    """L(N, D) = E + A / N^alpha + B / D^beta."""

    E: float
    A: float
    B: float
    alpha: float
    beta: float
    source: str

    def loss(self, n: float, d: float) -> float:
        return float(self.E + self.A / n**self.alpha + self.B / d**self.beta)

    def n_opt(self, c: float) -> float:
        # Minimising L under C = 6·N·D (Hoffmann et al. 2022, eq. 4):
        # N_opt = G·(C/6)^(beta/(alpha+beta)), G = (alpha·A / (beta·B))^(1/(alpha+beta)).
        g = (self.alpha * self.A / (self.beta * self.B)) ** (1 / (self.alpha + self.beta))
        return float(g * (c / 6) ** (self.beta / (self.alpha + self.beta)))

    def c_for_n(self, n: float) -> float:
        """The budget for which N is compute-optimal (the inverse of n_opt)."""
        g = (self.alpha * self.A / (self.beta * self.B)) ** (1 / (self.alpha + self.beta))
        return float(6 * (n / g) ** ((self.alpha + self.beta) / self.beta))


FITS = {
    # Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models", §3.3 eq. 10 (approach 3)
    "hoffmann-2022": LossFit(1.69, 406.4, 410.7, 0.34, 0.28, "Hoffmann et al. 2022, approach 3 (eq. 10)"),
    # Besiroglu et al. 2024, "Chinchilla Scaling: A replication attempt" (Epoch AI), their re-fit (eq. 3)
    "epoch-2024": LossFit(1.8172, 482.01, 2085.43, 0.3478, 0.3658, "Besiroglu et al. 2024 (Epoch AI) re-fit"),
}
TOKENS_PER_PARAM = 20.0  # Hoffmann et al. 2022: about 20 tokens per parameter (Table 3, Chinchilla 70B / 1.4T)


def optimal_for_compute(c: float, rule: str) -> tuple[float, float]:
    """(N_opt, D_opt) for a compute budget C in FLOPs, with C = 6·N·D."""
    if rule == "chinchilla-20":
        n = math.sqrt(c / (6 * TOKENS_PER_PARAM))
        return n, TOKENS_PER_PARAM * n
    n = FITS[rule].n_opt(c)
    return n, c / (6 * n)


def optimal_tokens(n: float, rule: str) -> float:
    """D_opt for a model of N parameters: the tokens for which N is the compute-optimal size."""
    if rule == "chinchilla-20":
        return TOKENS_PER_PARAM * n
    return FITS[rule].c_for_n(n) / (6 * n)


def predicted_loss(n: float, d: float, rule: str) -> float:
    """Loss from the parametric fit (chinchilla-20 uses Hoffmann's fit)."""
    fit = FITS["epoch-2024" if rule == "epoch-2024" else "hoffmann-2022"]
    return fit.loss(n, d)


class ModernRecipe(NamedTuple):
    """A published recipe that reaches a model's quality with today's methods: the tokens it trains on, what it
    trains, and where the figure comes from."""

    name: str
    tokens: float
    reaches: str
    source: str
    caveat: str


# The NanoGPT speedrun's target is GPT-2 (124M)'s quality as llm.c's replication reached it (3.28 FineWeb validation
# loss after 10B tokens, karpathy/llm.c discussion #481); its record of 4 January 2025 reaches it in 0.73B tokens.
MODERN_RECIPES = {
    "gpt2": ModernRecipe(
        name="modded-nanogpt record 18", tokens=0.73e9,
        reaches="GPT-2 (124M) quality (3.28 FineWeb validation loss, which llm.c's replication reached after 10B tokens)",
        source="KellerJordan/modded-nanogpt README, record 18 of 01/04/25: 0.73B tokens, 3.4 minutes on 8x H100",
        caveat="it trains its own 124M model (RoPE, QK-norm, ReLU², value embeddings, Muon), timed here at this run's "
               "speed"),
}

"""What torch.compile keeps for backward in a compiled GPT-2 step, and what its cross-entropy backward allocates
(configs/stacks/nanogpt.yaml's layer_activations and logits_backward; docs/accuracy.md, compiled nanoGPT).

Runs on the CPU (no GPU needed; needs torch): Inductor's min-cut partitioner, which picks the saved tensors, and its
scheduler, which fuses kernels and plans buffers, are the same code on every device; only pad_mm (CUDA only) is
absent. CUDA autocast's casts are written out: matmuls in bf16, the loss's log-softmax in fp32. Two models:
"speedrun" is tyler-romero/nanogpt-speedrun's train_gpt2.py at b3c32f8 (weightless RMSNorm, no biases, exact GELU,
vocabulary 50,304), "nanogpt" a nanoGPT model.py block (LayerNorm, biases, tanh GELU). It prints each tensor the
forward saves (bytes per token) and the generated backward's (B, T, vocab)-sized buffers: PyTorch 2.5.1 and 2.11
keep the bf16 logits (2 B per logit) and write their gradient in bf16 from one fused kernel; 2.11 writes it into the
saved logits' buffer ("# reuse").

Usage: TORCH_LOGS=output_code python benchmarks/inductor_saved_tensors.py speedrun|nanogpt [N_LAYER] 2>&1 | less
"""

from __future__ import annotations

import math
import sys

import torch
import torch._inductor.compile_fx as compile_fx
import torch.nn.functional as F  # noqa: N812
from torch import nn

VARIANT = sys.argv[1] if len(sys.argv) > 1 else "speedrun"
V, H, NH, B, T = 50304, 768, 12, 2, 128
L = int(sys.argv[2]) if len(sys.argv) > 2 else 1
BF = torch.bfloat16


def lin(x, w, b=None):  # CUDA autocast: a matmul sees bf16 copies of its input and weight
    return F.linear(x.to(BF), w.to(BF), None if b is None else b.to(BF))


def rmsnorm(x0, eps=1e-6):  # train_gpt2.py's
    x = x0.float()
    x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
    return x.type_as(x0)


class Gpt(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.wte = nn.Parameter(torch.randn(V, H) * 0.02)
        self.wpe = nn.Parameter(torch.randn(T, H) * 0.02)
        shapes = ((3 * H, H), (H, H), (4 * H, H), (H, 4 * H))
        self.w = nn.ParameterList([nn.Parameter(torch.randn(*s) * 0.02) for _ in range(L) for s in shapes])
        self.b = nn.ParameterList([nn.Parameter(torch.zeros(s[0])) for _ in range(L) for s in shapes])
        self.ln = nn.ParameterList([nn.Parameter(torch.ones(H)) for _ in range(4 * L)])

    def norm(self, x, i):
        return rmsnorm(x) if VARIANT == "speedrun" else F.layer_norm(x, (H,), self.ln[i], None)

    def forward(self, idx, tgt):
        x = self.wte[idx] + self.wpe
        bias = VARIANT != "speedrun"
        for i in range(L):
            w = [self.w[4 * i + j] for j in range(4)]
            b = [self.b[4 * i + j] if bias else None for j in range(4)]
            q, k, v = lin(self.norm(x, 4 * i), w[0], b[0]).split(H, dim=2)
            q, k, v = (z.view(B, T, NH, -1).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).contiguous().view(B, T, H)
            y = lin(y, w[1], b[1])
            x = x + (y / math.sqrt(24) if VARIANT == "speedrun" else y)
            h = lin(self.norm(x, 4 * i + 1), w[2], b[2])
            x = x + lin(F.gelu(h) if VARIANT == "speedrun" else F.gelu(h, approximate="tanh"), w[3], b[3])
        logits = lin(rmsnorm(x) if VARIANT == "speedrun" else F.layer_norm(x, (H,)), self.wte)
        return F.cross_entropy(logits.float().view(-1, V), tgt.view(-1), ignore_index=-1)


_partition = compile_fx.min_cut_rematerialization_partition


def reporting_partition(joint, inputs, **kw):
    fw, bw = _partition(joint, inputs, **kw)
    saved = next(n for n in fw.graph.nodes if n.op == "output").args[0][1:]
    per_token = 0.0
    for node in saved:
        val = node.meta.get("val")
        if val is None or not hasattr(val, "shape") or val.numel() < B * T:
            continue
        weight = len(val.shape) == 2 and val.shape[0] in (3 * H, H, 4 * H, V) and val.shape[1] in (H, 4 * H)
        nbytes = val.numel() * val.element_size()
        print(f"saved {node.name:24s} {tuple(val.shape)!s:22s} {val.dtype!s:15s} "
              + ("(a weight's bf16 copy)" if weight else f"{nbytes / (B * T):8.0f} B/token"))
        per_token += 0 if weight else nbytes / (B * T)
    print(f"saved per token, weights' copies aside: {per_token:.0f} B ({VARIANT}, torch {torch.__version__}, {L} layers)")
    return fw, bw


compile_fx.min_cut_rematerialization_partition = reporting_partition

if __name__ == "__main__":
    model = torch.compile(Gpt())
    idx, tgt = torch.randint(0, V, (B, T)), torch.randint(0, V, (B, T))
    model(idx, tgt).backward()

"""Peak memory on the held-out H200 steps (tests/data/h200_gpt2_training.jsonl, `use.memory == "held-out"`): no
memory constant was fitted to them. The LoRA points were measured with an fp32 base model (`lora_base`)."""

import json
import statistics

import pytest

from conftest import DATA
from gpt2budget.core.memory import memory
from gpt2budget.core.shape import Shape
from gpt2budget.options import RunOptions


def _held_out():
    rows = [json.loads(x) for x in (DATA / "h200_gpt2_training.jsonl").read_text().splitlines() if x.strip()]
    return [r for r in rows if r["use"]["memory"] == "held-out" and r["status"] == "ok"]


def _predict(specs, r, lora_base=None):
    stack = "nanogpt" if r["attn"].startswith("nanogpt") else "hf"
    o = RunOptions(precision=r["precision"], checkpointing=r["ckpt"], optimizer=r["optimizer"],
                   attention="eager" if r["attn"] == "eager" else "flash", dropout=r["dropout"], seq=r["seq"],
                   micro_batch=r["batch"], finetune=r["finetune"], lora_rank=r.get("lora_rank", 8),
                   lora_base=lora_base or r.get("lora_base", "bf16"))
    # every step used GPT-2's unpadded 50,257-token vocabulary
    return memory(Shape.of(specs.models.get(r["model"], "--model"), r["seq"]), specs.stacks.get(stack, "--stack"), o,
                  specs.gpus.get("h200-sxm", "--gpu").usable_bytes)


def _errors(specs, points, **kw):
    return [_predict(specs, r, **kw).allocator_peak_bytes / r["peak_alloc_bytes"] - 1 for r in points]


def test_held_out_full_training_steps_within_2_percent_median_4_worst(specs):
    """57 Hugging Face steps: fused AdamW, seq 512, pure bf16, eager attention, SGD, TF32, dropout, checkpointing
    (benchmarks/memory_accuracy.py: median 1.32% and 0.85%, worst 3.86%), and 2 compiled nanoGPT steps."""
    pts = [r for r in _held_out() if r["finetune"] == "none"]
    assert len(pts) == 59
    e = [abs(x) for x in _errors(specs, pts)]
    assert statistics.median(e) < 0.02 and max(e) < 0.04


def test_lora_steps_measured_with_an_fp32_base_are_predicted_when_told_so(specs):
    """Told the base is fp32 (RunOptions(lora_base="fp32")): median 1.5%, worst 5.3% (GPT-2 small at micro-batch 1,
    no checkpointing); as the CLI assumes, a bf16 base, every one is under-predicted (by 18% median, 45% worst)."""
    pts = [r for r in _held_out() if r["finetune"] == "lora"]
    assert len(pts) == 12 and {r["lora_base"] for r in pts} == {"fp32"}
    told = [abs(x) for x in _errors(specs, pts)]
    assert statistics.median(told) < 0.025 and max(told) < 0.06
    assumed = _errors(specs, pts, lora_base="bf16")
    assert max(assumed) < -0.02 and statistics.median(assumed) < -0.15


def test_an_fp32_lora_base_holds_4_bytes_per_frozen_weight_and_its_casts_until_backward(specs):
    """An fp32 base adds 2 B per frozen parameter, and under autocast the 16-bit copies autograd keeps of every
    frozen matmul weight (the head's alone when checkpointing drops a layer's after its forward)."""
    m, s, usable = specs.models.get("gpt2-xl", "m"), specs.stacks.get("hf", "s"), 1e12
    shape = Shape.of(m, 1024)
    for ckpt in (False, True):
        o = RunOptions(finetune="lora", checkpointing=ckpt, micro_batch=4)
        bf16, fp32 = memory(shape, s, o, usable), memory(shape, s, o.with_(lora_base="fp32"), usable)
        frozen = 1_557_611_200  # within the allocator's rounding of ~600 tensors (512 B blocks, 2 MiB segments)
        assert fp32.breakdown["weights"] - bf16.breakdown["weights"] == pytest.approx(2 * frozen, rel=0.03)
        casts = fp32.breakdown["weight_casts"] - bf16.breakdown["weight_casts"]
        head = 2 * 50257 * 1600
        assert casts == pytest.approx(head if ckpt else 2 * (12 * 1600**2 * 48) + head, rel=0.03), ckpt

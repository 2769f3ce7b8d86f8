"""Compiled nanoGPT's logits memory from what Inductor generates (issue #30, finding 5: "compiled nanoGPT is still up
to 17% over on measured steps"). Inductor's fused cross-entropy backward writes the logits' gradient in the compute
dtype (bf16), not fp32; only an unaligned vocabulary (GPT-2's 50,257, our H200 steps) adds pad_mm's padded copy of
it. The published 2x RTX 4090 run (tyler-romero/nanogpt-speedrun, vocabulary 50,304) was 17% over before."""

import sys
from pathlib import Path

import pytest

from gpt2budget.core.memory import MIB, pads_vocab, phase_model, terms_bytes
from gpt2budget.core.shape import Shape
from gpt2budget.options import RunOptions
from gpt2budget.specs.torch_versions import stack_for_torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import published_memory  # noqa: E402  (benchmarks/ is not a package)

SPEEDRUN = "nanogpt-speedrun-baseline-2x4090"


def speedrun_run():
    return next(r for r in published_memory.runs() if r["id"] == SPEEDRUN)


def test_the_speedrun_run_is_held_out_with_its_source():
    run = speedrun_run()
    assert run["use"] == "held-out" and run["trust"] == "high"
    assert run["reported_measure"] == "allocator_peak" and run["optimizer"] == "adamw"
    assert "b3c32f8937c1f4655c5eb9607970e03e351a6c08" in run["source"]
    assert run["reported_gib"] == pytest.approx(18885 / 1024, abs=0.005)  # the log's "18885 MiB"


def test_the_published_2x4090_run_within_3_percent(specs):
    """max_memory_allocated() 18,885 MiB; the model said 22,106 MiB (+17%) with an fp32 gradient of the logits, and
    18,962 MiB (+0.4%) with a bf16 one but without the gradients its 4 accumulation micro-steps hold through
    micro-steps 2-4's backward_start (475 MiB); 19,438 MiB (+2.9%) with them. Issue #30's target is 10% worst."""
    run = speedrun_run()
    m = published_memory.predict(specs, run)
    assert m.peak_phase == "backward_start"
    assert abs(published_memory.modelled_gib(m, run) / run["reported_gib"] - 1) <= 0.03
    assert "nanogpt-speedrun-baseline-2x4090" in "\n".join(published_memory.table())


def _logits_backward_per_logit(specs, vocab_multiple: int, precision: str = "amp-bf16", torch: str | None = None):
    stack = stack_for_torch(specs.stacks.get("nanogpt", "--stack"), torch)
    shape = Shape.of(specs.models.get("gpt2", "--model"), 1024, vocab_multiple)
    o = RunOptions(precision=precision, seq=1024)
    per_token = terms_bytes(stack.logits_backward, shape, o, vocab_padded=pads_vocab(shape, stack, o))
    return per_token / shape.vocab, shape


def test_an_aligned_vocabulary_keeps_the_saved_logits_and_a_16_bit_gradient(specs):
    """nanoGPT's 50,304: 2 B saved + 2 B gradient per logit (was 2 + 4 fp32)."""
    per_logit, shape = _logits_backward_per_logit(specs, 64)
    assert shape.vocab == 50304
    assert per_logit == 4.0


def test_an_unaligned_vocabulary_adds_pad_mms_copy_as_calibrated(specs):
    """GPT-2's 50,257 under pad_mm: 6 B per logit, what our compiled H200 steps measured (unchanged)."""
    per_logit, shape = _logits_backward_per_logit(specs, 1)
    assert shape.vocab == 50257
    assert per_logit == 6.0


def test_before_pad_mm_an_unaligned_vocabulary_has_no_padded_copy(specs):
    """PyTorch 2.0's Inductor did not pad matmuls (pad_mm on by default from 2.1)."""
    per_logit, _ = _logits_backward_per_logit(specs, 1, torch="2.0")
    assert per_logit == 4.0


@pytest.mark.parametrize(("vocab_multiple", "precision", "padded"), [
    (1, "amp-bf16", True),     # 50,257 x 2 B is not a multiple of 16 B
    (64, "amp-bf16", False),   # 50,304
    (8, "amp-bf16", False),    # 50,264 x 2 B = 16 B multiple
    (4, "fp32", False),        # 50,260 x 4 B
    (1, "fp32", True),
])
def test_pads_vocab_follows_pad_mms_16_byte_rule(specs, vocab_multiple, precision, padded):
    stack = specs.stacks.get("nanogpt", "--stack")
    shape = Shape.of(specs.models.get("gpt2", "--model"), 1024, vocab_multiple)
    assert pads_vocab(shape, stack, RunOptions(precision=precision)) is padded


def test_stacks_without_matmul_padding_never_pad(specs):
    shape = Shape.of(specs.models.get("gpt2", "--model"), 1024, 1)
    for sid in ("hf", "llmc"):
        assert not pads_vocab(shape, specs.stacks.get(sid, "--stack"), RunOptions())


def test_the_speedrun_breakdown_per_sample(specs):
    """Per sample at seq 1,024 on the aligned vocabulary: the partitioner's saved tensors (345 MB, as the
    partitioner's generated forward of this model lists them) and 4 B per logit at the start of backward."""
    stack = specs.stacks.get("nanogpt", "--stack")
    shape = Shape.of(specs.models.get("gpt2", "--model"), 1024, stack.vocab_multiple)
    pm = phase_model(shape, stack, RunOptions(micro_batch=1, gpus=2, optimizer="adamw"))
    per = pm.per_sample["backward_start"]
    assert per["logits"] == 4 * 1024 * 50304
    assert per["activations"] / MIB == pytest.approx(329.3, abs=0.1)

"""Gradient accumulation holds the gradients through micro-steps 2..n: PyTorch's AccumulateGrad adds into the .grad
the first backward allocated, and nanoGPT's train.py / HF Trainer free it (zero_grad) only after optimizer.step().
The forward and the start of the backward of an accumulating run hold every gradient on the PyTorch stacks; llm.c's
are resident always. Our measured points ran one micro-step per optimizer step and stay evaluated so."""

import math

import pytest

from conftest import measured_points
from gpt2budget.core.check import CheckInputs, evaluate, fit_of, largest_fitting_micro_batch, run_options
from gpt2budget.core.memory import memory, param_bytes, phase_model
from gpt2budget.core.shape import Shape
from gpt2budget.options import RunOptions


def _pm(specs, stack_id: str, steps: int, **kw):
    stack = specs.stacks.get(stack_id, "--stack")
    shape = Shape.of(specs.models.get("gpt2", "--model"), 1024, stack.vocab_multiple)
    o = RunOptions(precision=stack.default_precision, optimizer=stack.default_optimizer, step_sequences=steps, **kw)
    return phase_model(shape, stack, o), param_bytes(shape, stack, o), o


@pytest.mark.parametrize("stack_id", ["hf", "nanogpt"])
def test_accumulating_adds_exactly_the_gradients_on_pytorch_stacks(specs, stack_id):
    single, pb, _ = _pm(specs, stack_id, 0)
    acc, _, o = _pm(specs, stack_id, 4)
    assert o.accumulates and o.micro_steps == 4
    for ph in ("forward_end", "backward_start"):
        added = math.fsum(acc.fixed[ph].values()) - math.fsum(single.fixed[ph].values())
        assert added == pytest.approx(pb.grads, rel=1e-12) and pb.grads > 0
        assert acc.per_sample[ph] == single.per_sample[ph]
    for ph in ("backward_end", "optimizer_step"):
        assert acc.fixed[ph] == single.fixed[ph]


def test_accumulating_with_checkpointing_holds_every_gradient_in_the_recompute(specs):
    single, pb, _ = _pm(specs, "hf", 0, checkpointing=True)
    acc, _, _ = _pm(specs, "hf", 4, checkpointing=True)
    assert acc.fixed["backward_recompute"]["gradients"] == pb.grads
    assert single.fixed["backward_recompute"]["gradients"] < pb.grads  # the head's only


def test_llmc_gradients_are_resident_already(specs):
    single, _, _ = _pm(specs, "llmc", 0)
    acc, _, _ = _pm(specs, "llmc", 4)
    assert acc.fixed == single.fixed


def test_zero2_accumulates_the_sharded_gradients(specs):
    single, pb, _ = _pm(specs, "hf", 0, gpus=4, zero=2)
    acc, _, _ = _pm(specs, "hf", 4, gpus=4, zero=2)
    added = math.fsum(acc.fixed["forward_end"].values()) - math.fsum(single.fixed["forward_end"].values())
    assert added == pytest.approx(pb.grads / 4, rel=1e-12)


def test_lora_accumulates_the_adapters_gradients_only(specs):
    single, pb, _ = _pm(specs, "hf", 0, finetune="lora")
    acc, _, _ = _pm(specs, "hf", 4, finetune="lora")
    added = math.fsum(acc.fixed["forward_end"].values()) - math.fsum(single.fixed["forward_end"].values())
    assert added == 4.0 * pb.trainable


def _ci(specs, gpu="rtx-4090", model="gpt2-medium", micro_batch=1, batch_tokens=512 * 1024, gpus=1, stack="hf"):
    return CheckInputs(specs.gpus.get(gpu, "--gpu"), specs.models.get(model, "--model"), specs.stacks.get(stack, "--stack"),
                       RunOptions(micro_batch=micro_batch, gpus=gpus), batch_tokens=float(batch_tokens))


def test_no_accumulation_when_one_micro_step_fills_the_batch(specs):
    assert not run_options(_ci(specs, micro_batch=8, batch_tokens=8 * 1024)).accumulates
    assert not run_options(_ci(specs, micro_batch=4, gpus=2, batch_tokens=8 * 1024)).accumulates
    assert not run_options(_ci(specs, micro_batch=16, batch_tokens=8 * 1024)).accumulates
    assert run_options(_ci(specs, micro_batch=7, batch_tokens=8 * 1024)).accumulates
    assert run_options(_ci(specs, micro_batch=8, batch_tokens=8 * 1024 + 1)).micro_steps == 2


def test_check_counts_the_held_gradients(specs):
    """The same micro-batch: a 512K-token batch accumulates (32 micro-steps), an 8-sequence batch does not."""
    acc = evaluate(_ci(specs, micro_batch=8), with_cost=False)
    single = evaluate(_ci(specs, micro_batch=8, batch_tokens=8 * 1024), with_cost=False)
    assert acc.throughput.micro_steps > 1 and single.throughput.micro_steps == 1
    grads = single.memory.phases["backward_end"] - acc.memory.phases["backward_end"]
    assert grads == 0
    stack = specs.stacks.get("hf", "--stack")
    shape = Shape.of(specs.models.get("gpt2-medium", "--model"), 1024, stack.vocab_multiple)
    g = param_bytes(shape, stack, RunOptions()).grads
    assert acc.memory.phases["forward_end"] - single.memory.phases["forward_end"] == pytest.approx(g, abs=1)


@pytest.mark.parametrize("model", ["gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl"])
@pytest.mark.parametrize("gpu", ["rtx-4090", "rtx-4060-ti-16gb", "a100-40gb"])
@pytest.mark.parametrize("batch_tokens", [8 * 1024, 64 * 1024, 512 * 1024])
def test_the_largest_micro_batch_never_says_fits_where_the_exact_evaluation_does_not(specs, model, gpu, batch_tokens):
    ci = _ci(specs, gpu=gpu, model=model, batch_tokens=batch_tokens)
    fits, best, _ = fit_of(ci)
    for b in range(1, best + 1):
        r = evaluate(ci._replace(options=ci.options.with_(micro_batch=b)), with_cost=False)
        assert r.memory.fits, (b, best)
        assert r.memory.max_micro_batch == best
    auto = largest_fitting_micro_batch(ci)
    if best >= 1:
        assert evaluate(ci._replace(options=ci.options.with_(micro_batch=auto)), with_cost=False).memory.fits


def test_the_largest_micro_batch_is_exact_where_nothing_is_left_out(specs):
    """A micro-batch one past the largest does not fit (at the largest's accumulation or beyond)."""
    ci = _ci(specs, model="gpt2-medium", batch_tokens=512 * 1024)
    _, best, _ = fit_of(ci)
    assert best >= 1
    assert not evaluate(ci._replace(options=ci.options.with_(micro_batch=best + 1)), with_cost=False).memory.fits


def test_the_measured_points_run_without_accumulation(specs):
    """measure_gpt2.py runs loss.backward(); opt.step(); opt.zero_grad(set_to_none=True) per step: memory() called
    with RunOptions' default (step_sequences 0) evaluates them so, and an explicit single step agrees."""
    hf = specs.stacks.get("hf", "--stack")
    for r in measured_points():
        if r["status"] != "ok":
            continue
        o = RunOptions(precision=r["precision"], optimizer=r["optimizer"], checkpointing=r["ckpt"],
                       micro_batch=r["batch"], seq=r["seq"])
        shape = Shape.of(specs.models.get(r["model"], "--model"), r["seq"])
        usable = specs.gpus.get("h100-sxm", "--gpu").usable_bytes
        a = memory(shape, hf, o, usable)
        b = memory(shape, hf, o.with_(step_sequences=r["batch"]), usable)
        assert not o.accumulates and a.allocator_peak_bytes == b.allocator_peak_bytes


def test_a_gap_of_accumulating_micro_batches_that_do_not_fit_stops_the_largest(specs):
    """gpt2-large, checkpointed, on a 4090 with a 16-sequence batch: accumulating micro-batches fit up to 11, 12-15 do
    not (they hold the gradients), 16 (one micro-step) does. The largest micro-batch stays 11: every micro-batch up
    to it fits, so --micro-batch auto and the advisor never land in the gap."""
    ci = _ci(specs, model="gpt2-large", batch_tokens=16 * 1024)
    ci = ci._replace(options=ci.options.with_(checkpointing=True))

    def fits(b):
        return evaluate(ci._replace(options=ci.options.with_(micro_batch=b)), with_cost=False).memory.fits

    _, best, _ = fit_of(ci)
    assert best == 11 and fits(11) and not fits(12) and not fits(15) and fits(16)
    assert largest_fitting_micro_batch(ci) == 11

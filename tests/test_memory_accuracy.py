import statistics

import pytest

from conftest import DATA, measured_points
from gpt2budget.core.memory import memory
from gpt2budget.core.shape import Shape
from gpt2budget.options import RunOptions


def predict(specs, r):
    m = specs.models.get(r["model"], "--model")
    o = RunOptions(precision=r["precision"], checkpointing=r["ckpt"], optimizer=r["optimizer"],
                   attention="flash" if r["attn"] == "sdpa" else "eager", dropout=r["dropout"], seq=r["seq"],
                   micro_batch=r["batch"])
    return memory(Shape.of(m, r["seq"]), specs.stacks.get("hf", "--stack"), o,
                  specs.gpus.get("h100-sxm", "--gpu").usable_bytes)


def test_accuracy_on_measured_h100_points(specs):
    """Calibration data (`use.memory == "fit"`): the hf stack's calibrated terms were fitted to these points; the
    held-out accuracy is tests/test_memory_held_out.py's."""
    errors = []
    for r in measured_points():
        if r["status"] == "ok" and r["use"]["memory"] == "fit":
            errors.append(abs(predict(specs, r).allocator_peak_bytes / r["peak_alloc_bytes"] - 1))
    assert len(errors) >= 60
    assert statistics.median(errors) <= 0.02
    assert max(errors) <= 0.05


def test_every_oom_point_is_predicted_not_to_fit(specs):
    ooms = [r for r in measured_points() if r["status"] == "oom"]
    assert ooms
    for r in ooms:
        assert predict(specs, r).fits is False, r


def test_every_measured_ok_point_fits(specs):
    for r in measured_points():
        if r["status"] == "ok":
            assert predict(specs, r).fits, r


def test_the_documents_whole_byte_breakdown_still_sums_to_its_peak(cli):
    """JSON carries whole bytes (each part rounded on its own): the parts a user adds up still give the peak,
    to within the rounding of the nine parts."""
    for extra in ([], ["--checkpointing", "full", "--micro-batch", "8"], ["--gpus", "4", "--zero", "3"],
                  ["--finetune", "qlora", "--tokens", "1M"]):
        mem = cli("check", "--gpu", "4090", "--model", "gpt2-large", "--format", "json", *extra).json()["memory"]
        assert all(type(v) is int for v in mem["breakdown"].values())
        assert abs(sum(mem["breakdown"].values()) - mem["allocator_peak_bytes"]) <= len(mem["breakdown"]) / 2 + 1


def test_compiled_nanogpt_memory_within_3_percent_of_every_measured_step(specs):
    """Compiled nanoGPT on our H200 (tests/data/h200_gpt2_training.jsonl): gpt2 at micro-batch 1-32 (the logits
    terms were set from these), gpt2-medium at 16 and gpt2-xl at 8 (held out: measured afterwards)."""
    import json

    from gpt2budget.core.memory import memory
    from gpt2budget.core.shape import Shape
    from gpt2budget.options import RunOptions

    gpu, stack = specs.gpus.get("h200", "--gpu"), specs.stacks.get("nanogpt", "--stack")
    rows = [json.loads(x) for x in (DATA / "h200_gpt2_training.jsonl").read_text().splitlines() if x.strip()]
    points = [r for r in rows if r["attn"] == "nanogpt-compile" and r["status"] == "ok"]
    assert {r["model"] for r in points} == {"gpt2", "gpt2-medium", "gpt2-xl"}
    for r in points:
        m = specs.models.get(r["model"], "--model")
        pred = memory(Shape.of(m, r["seq"]), stack,  # measured with the unpadded 50,257-token vocabulary
                      RunOptions(micro_batch=r["batch"], optimizer=r["optimizer"]), gpu.usable_bytes)
        assert pred.allocator_peak_bytes == pytest.approx(r["peak_alloc_bytes"], rel=0.03), (r["model"], r["batch"])
    # and so a compiled GPT-2 at micro-batch 32 fits a 24 GB card, as it does in practice
    fits = memory(Shape.of(specs.models.get("gpt2", "--model"), 1024, stack.vocab_multiple), stack,
                  RunOptions(micro_batch=32, optimizer="adamw-fused"), specs.gpus.get("4090", "--gpu").usable_bytes)
    assert fits.fits

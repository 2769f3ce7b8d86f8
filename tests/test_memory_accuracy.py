import statistics

from conftest import measured_points
from gpt2budget.memory import memory
from gpt2budget.options import RunOptions
from gpt2budget.shape import Shape


def predict(specs, r):
    m = specs.models.get(r["model"], "--model")
    o = RunOptions(precision=r["precision"], checkpointing=r["ckpt"], optimizer=r["optimizer"],
                   attention="flash" if r["attn"] == "sdpa" else "eager", dropout=r["dropout"], seq=r["seq"],
                   micro_batch=r["batch"])
    return memory(Shape.of(m, r["seq"]), specs.stacks.get("hf", "--stack"), o,
                  specs.gpus.get("h100-sxm", "--gpu").usable_bytes)


def test_accuracy_on_measured_h100_points(specs):
    errors = []
    for r in measured_points():
        if r["status"] == "ok":
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


def test_breakdown_sums_to_peak(specs):
    for r in measured_points()[:10]:
        res = predict(specs, r)
        assert abs(sum(res.breakdown.values()) - res.allocator_peak_bytes) < 1

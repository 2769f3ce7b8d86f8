"""`check --format json`: the founding example's arithmetic (GPT-2 XL on an RTX 4070 Ti for a year), the default
utilization, and the paths of the document that scripts rely on."""

import pytest


def test_founding_scenario_arithmetic(cli):
    r = cli("check", "--gpu", "4070ti", "--model", "gpt2-xl", "--precision", "fp32", "--utilization", "0.9",
            "--duration", "1y", "--format", "json")
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["compute"]["available_flops"] == pytest.approx(1.138e21, rel=2e-3)
    orig = doc["requirements"]["original"]
    assert orig["tokens"] == 10e9
    assert orig["flops"] == pytest.approx(9.35e19, rel=2e-3)
    assert orig["ratio"] == pytest.approx(12.18, rel=2e-3)
    opt = doc["requirements"]["compute_optimal"]
    assert opt["tokens"] == pytest.approx(31.2e9, rel=3e-3)  # 20 x 1.558B, not Gopher's 300B
    assert doc["memory"]["fits"] is False  # gpt2-xl training does not fit in 12 GB
    assert doc["verdict"]["feasible"] is False


def test_default_utilization_is_not_optimistic(cli):
    doc = cli("check", "--gpu", "4070ti", "--model", "gpt2-xl", "--format", "json").json()
    assert doc["compute"]["utilization"] < 0.6


def test_json_public_paths(cli):
    doc = cli("check", "--gpu", "4070ti", "--model", "gpt2-xl", "--tokens", "3.3e9", "--format", "json").json()
    assert isinstance(doc["schema_version"], int)
    for key in ("peak_flops_per_gpu", "available_flops"):
        assert doc["compute"][key] > 0
    for name in ("original", "compute_optimal", "custom"):
        req = doc["requirements"][name]
        assert {"tokens", "flops", "ratio", "wall_time_hours"} <= set(req)
    mem = doc["memory"]
    for key in ("allocator_peak_bytes", "required_bytes", "available_bytes", "fits", "max_micro_batch", "breakdown"):
        assert key in mem
    assert sum(mem["breakdown"].values()) == pytest.approx(mem["allocator_peak_bytes"])
    assert isinstance(doc["verdict"]["feasible"], bool) and doc["verdict"]["summary"].endswith(".")
    assert doc["inputs"]["micro_batch"] == 1 and doc["inputs"]["precision"] == "amp-bf16"

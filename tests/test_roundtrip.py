"""Every suggestion the advisor and `plan` print can be pasted into `check` as it stands, and `check` then
answers for the configuration the suggestion described (#13: one encoder, gpt2budget.output.flags)."""

import shlex

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

runs = st.fixed_dictionaries({
    "gpu": st.sampled_from(["4070ti", "4090", "3060", "t4", "a100-40gb", "h100"]),
    "model": st.sampled_from(["gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl"]),
    "stack": st.sampled_from(["hf", "nanogpt", "llmc"]),
    "gpus": st.sampled_from(["1", "2"]), "nodes": st.sampled_from(["1", "2"]),
    "micro_batch": st.sampled_from(["1", "4", "16"]),
    "duration": st.sampled_from(["30d", "1y"]),
})


def _args(r):
    return ["--gpu", r["gpu"], "--model", r["model"], "--stack", r["stack"], "--gpus", r["gpus"], "--nodes",
            r["nodes"], "--micro-batch", r["micro_batch"], "--duration", r["duration"]]


@pytest.mark.slow
@SETTINGS
@given(runs)
def test_every_advisor_suggestion_round_trips_through_check(cli, r):
    base = ["check", *_args(r), "--format", "json"]
    doc = cli(*base).json()
    for a in doc["advice"]:
        # the flags are added to the command that asked (later flags win, as in a shell)
        again = cli(*base, *shlex.split(a["flags"]), "--no-advice").json()
        assert again["memory"]["fits"], a["flags"]
        assert again["model"]["id"] == a["model"], a["flags"]
        assert again["memory"]["required_bytes"] == a["memory"]["required_bytes"], a["flags"]
        assert again["requirements"][doc["target"]]["wall_time_hours"] == pytest.approx(a["wall_time_hours"]), a["flags"]
        for field, value in a["changes"].items():
            if field != "utilization":  # the step model's implied utilization follows from the rest
                assert again["inputs"][field] == value, (a["flags"], field)


plans = st.fixed_dictionaries({
    "gpu": st.sampled_from(["4070ti", "4090", "3060", "a100-80gb"]),
    "gpus": st.sampled_from(["1", "2"]),
    "stack": st.sampled_from(["hf", "llmc"]),
    "duration": st.sampled_from(["7d", "30d", "1y"]),
    "custom": st.booleans(),
})


@pytest.mark.slow
@SETTINGS
@given(plans)
def test_every_plan_round_trips_through_check(cli, p):
    args = ["plan", "--gpu", p["gpu"], "--gpus", p["gpus"], "--stack", p["stack"], "--duration", p["duration"],
            "--format", "json"] + (["--custom-shapes"] if p["custom"] else [])
    doc = cli(*args).json()
    best = doc["best"]
    if best is None:
        return
    command = shlex.split(best["check"])
    assert command[:2] == ["gpt2budget", "check"]
    again = cli(*command[1:], "--format", "json", "--no-advice").json()
    assert again["verdict"]["feasible"], best["check"]  # fits, and trains its tokens in the duration
    assert again["model"]["id"] == best["model"]
    for field in ("gpu", "stack", "gpus", "nodes", "precision", "optimizer", "checkpointing", "micro_batch", "zero",
                  "offload", "seq", "duration_hours"):
        assert again["inputs"][field] == best["inputs"][field], (best["check"], field)
    assert again["compute"]["tokens_per_second"] == pytest.approx(best["tokens_per_second"])
    assert again["requirements"]["custom"]["tokens"] == pytest.approx(best["tokens"], rel=1e-8)


def test_a_custom_shape_is_a_model_check_accepts(cli):
    doc = cli("check", "--gpu", "4090", "--model", "gpt2-l16-h896", "--format", "json").json()
    assert (doc["model"]["n_layer"], doc["model"]["n_embd"], doc["model"]["n_head"]) == (16, 896, 14)
    bad = cli("check", "--gpu", "4090", "--model", "gpt2-l16-h900")  # not a multiple of the head size 64
    assert bad.code == 2 and "unknown model" in bad.err

"""Measured data says, per point, whether a constant was fitted to it (tests/data/README.md); the tags name real
constants and agree with themselves."""

import dataclasses
import importlib.util
import json
from pathlib import Path

import pytest

from conftest import DATA
from gpt2budget.core.step_constants import StepConstants

ROOT = Path(__file__).resolve().parents[1]
USES = {"fit", "held-out"}


def _quantity(name):
    return "step_time" if ".step_time." in name or name.startswith("core.steptime.") else "memory"


def _resolves(specs, name):
    """Whether a fit_for name is a constant of the model: a stack or GPU spec field, one saved tensor of a stack's
    activation list, or a constant of the step-time model (core.steptime.NAME: the field `name` of its constants
    object, gpt2budget.core.step_constants)."""
    if name.startswith("core.steptime."):
        const = name.removeprefix("core.steptime.")
        return const.isupper() and const.lower() in {f.name for f in dataclasses.fields(StepConstants)}
    kind, ident, *path = name.split(".", 2)
    spec = {"stacks": specs.stacks, "gpus": specs.gpus}[kind].get(ident, kind)
    field, _, what = path[0].partition("[")
    obj = spec
    for part in field.split("."):
        if not hasattr(obj, part):
            return False
        obj = getattr(obj, part)
    return not what or any(t.what == what.removesuffix("]") for t in obj)


def _jsonl():
    return [(p.name, json.loads(line)) for p in sorted(DATA.glob("*.jsonl")) for line in p.read_text().splitlines()
            if line.strip()]


def _check(specs, where, r):
    use, fit_for = r["use"], r["fit_for"]
    assert set(use) <= {"memory", "step_time"} and set(use.values()) <= USES, where
    for name in fit_for:
        assert _resolves(specs, name), f"{where}: fit_for names no constant: {name}"
    for quantity, tag in use.items():
        assert (tag == "fit") == any(_quantity(n) == quantity for n in fit_for), (where, quantity)
    assert {_quantity(n) for n in fit_for} <= set(use), where


def test_every_measured_point_is_tagged_fit_or_held_out(specs):
    rows = _jsonl()
    assert len(rows) == 69 + 75
    for name, r in rows:
        where = f"{name}: {r['model']} b{r['batch']} {r['attn']}"
        _check(specs, where, r)
        assert "memory" in r["use"] and ("step_time" in r["use"]) == bool(r.get("step_s")), where


def test_the_hosts_are_tagged_with_the_constants_they_set(specs):
    for path in sorted(DATA.glob("*_environment.json")):
        _check(specs, path.name, json.loads(path.read_text()))
    assert "stacks.hf.runtime_overhead_gib" in json.loads((DATA / "h100_environment.json").read_text())["fit_for"]


def test_what_was_fitted_is_what_the_specs_say():
    """The H100 steps are the hf stack's calibration data; of the H200 steps only compiled nanoGPT's gpt2 ones were
    used: micro-batch 1 and 4 for its CPU cost per kernel (configs/stacks/nanogpt.yaml), 1-32 for its memory."""
    rows = _jsonl()
    h100 = [r for name, r in rows if name.startswith("h100") and r["status"] == "ok"]
    assert all(r["use"] == {"memory": "fit", "step_time": "fit"} for r in h100)
    h200_time_fit = sorted((r["model"], r["batch"]) for name, r in rows
                           if name.startswith("h200") and r["use"]["step_time"] == "fit")
    assert h200_time_fit == [("gpt2", 1), ("gpt2", 4)]
    assert all(r["attn"] == "nanogpt-compile" for name, r in rows if name.startswith("h200") and r["fit_for"])


def test_every_lora_point_records_its_base_dtype():
    lora = [r for _, r in _jsonl() if r.get("finetune", "none") != "none"]
    assert len(lora) == 12 and all(r["lora_base"] == "fp32" for r in lora)  # benchmarks/measure_lora.py


def test_the_published_runs_are_tagged_held_out(specs):
    spec = importlib.util.spec_from_file_location("time_accuracy", ROOT / "benchmarks" / "time_accuracy.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert len(mod.PUBLISHED) == 7
    for label, _, _, tags in mod.PUBLISHED:
        _check(specs, label, tags)
        assert tags["use"] == {"step_time": "held-out"}, label


@pytest.mark.parametrize("name", ["stacks.hf.step_time.dispatch_us_per_opp", "stacks.hf.layer_activations[no such]",
                                  "core.steptime.NO_SUCH_FACTOR"])
def test_a_misspelt_constant_does_not_resolve(specs, name):
    assert not _resolves(specs, name)

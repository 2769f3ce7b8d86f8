"""The held-out published runs on other cards (benchmarks/data/published_runs.yaml, issue #30): each names a card in
the catalogue with its class, the numbers the benchmark needs, an exact quote, a source and a trust level, and the
benchmark reports them by card class and PyTorch version."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from gpt2budget.specs.loader import read_yaml_file

ROOT = Path(__file__).parents[1]
RUNS = read_yaml_file(ROOT / "benchmarks" / "data" / "published_runs.yaml")["runs"]
CLASS_OF_SEGMENT = {"consumer": "geforce", "workstation": "workstation", "datacenter": "datacenter"}


@pytest.mark.parametrize("run", RUNS, ids=lambda r: r["id"])
def test_each_published_run_is_sourced_and_held_out(specs, run):
    gpu = specs.gpus.get(run["gpu"], "--gpu")
    assert run["card_class"] == CLASS_OF_SEGMENT[gpu.segment]
    assert run["stack"] in ("hf", "nanogpt", "llmc") and specs.models.get(run["model"], "--model")
    assert run["use"] == "held-out" and run["trust"] in ("high", "medium", "low")
    assert len(run["quote"]) > 40 and run["source"].startswith("https://")
    assert run["batch_tokens"] >= run["micro_batch"] * run["seq"] * run["gpus"] > 0
    assert run["tokens_per_s"] > 0 and str(run["torch"])


def test_the_benchmark_reports_held_out_runs_by_class_and_pytorch_version(specs):
    spec = importlib.util.spec_from_file_location("time_accuracy", ROOT / "benchmarks" / "time_accuracy.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    lines = mod.held_out_lines(specs)
    text = "\n".join(lines)
    assert "by card class:" in text and "by PyTorch:" in text and "by GPUs:" in text
    assert all(r["id"] in text for r in RUNS)
    # PUBLISHED's runs are reported with them, each once
    assert sum("llm.c 1558M" in line for line in lines) == 2
    assert "workstation" in text  # a class without any published run says so

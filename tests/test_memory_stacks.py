"""Memory of the stacks as their code allocates it (issue #30, finding 5): llm.c's buffers counted from
train_gpt2.cu, its host-memory fallback for m, v and master weights, the compiled nanoGPT steps we measured, and
what the `required` figure means next to nvidia-smi."""

import json
import statistics
import sys
from pathlib import Path

import pytest

from conftest import DATA, measured_points
from gpt2budget.core.memory import GIB, MIB, memory
from gpt2budget.core.shape import Shape
from gpt2budget.options import RunOptions

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import published_memory  # noqa: E402  (benchmarks/ is not a package)


def llmc_buffers(L: int, C: int, NH: int, B: int, T: int, recompute: int, shards: int, Vp: int = 50304) -> float:
    """The bytes karpathy/llm.c's train_gpt2.cu allocates, counted from its code (not from the stack file):
    parameters and gradients in bf16 (floatX), m, v and fp32 master weights for this GPU's ZeRO-1 shard
    (gpt2_allocate_state), fill_in_activation_sizes' 21 tensors (ln1/ln2 dropped only under -r 2, fch_gelu one
    layer under -r 1, cuDNN's fp32 statistics), and the int inputs and targets."""
    n = Vp * C + 1024 * C + L * (12 * C * C + 13 * C) + 2 * C
    BT = B * T
    ln = 0 if recompute >= 2 else L * BT * C
    acts_bf16 = (BT * C + 2 * ln + L * BT * C * 3 + L * BT * 4 * C + (L if recompute < 1 else 1) * BT * 4 * C
                 + BT * C + L * BT * 3 * C + BT * max(3 * C, NH * T, Vp) + BT * 4 * C + BT * C)
    acts_fp32 = 4 * L * BT + L * B * NH * T + 2 * BT + BT
    return 2 * n + 2 * n + 12 * n / shards + 2 * acts_bf16 + 4 * acts_fp32 + 2 * 4 * BT


def llmc(specs, gpu: str, model: str, gpus: int, zero: int, micro_batch: int, checkpointing: bool = True):
    stack = specs.stacks.get("llmc", "--stack")
    o = RunOptions(micro_batch=micro_batch, gpus=gpus, zero=zero, checkpointing=checkpointing, optimizer="adamw-fused")
    return memory(Shape.of(specs.models.get(model, "--model"), 1024, stack.vocab_multiple), stack, o,
                  specs.gpus.get(gpu, "--gpu").usable_bytes)


@pytest.mark.parametrize(("model", "shape", "gpus", "micro_batch", "recompute"), [
    ("gpt2-medium", (24, 1024, 16), 2, 20, 1),
    ("gpt2-xl", (48, 1600, 25), 2, 4, 1),
    ("gpt2-xl", (48, 1600, 25), 1, 4, 1),
    ("gpt2", (12, 768, 12), 1, 16, 0),
])
def test_llmc_allocates_what_train_gpt2_cu_allocates(specs, model, shape, gpus, micro_batch, recompute):
    """The llmc stack's allocator peak is llm.c's own allocation (its buffers are static), plus the 50 MiB the model
    gives NCCL with several GPUs. The stack file missed the -r 1 GELU buffer and counted a second residual-gradient
    buffer (0.7% under at 350M, micro-batch 20)."""
    mem = llmc(specs, "h100", model, gpus, 1 if gpus > 1 else 0, micro_batch, checkpointing=recompute >= 1)
    expected = llmc_buffers(*shape, B=micro_batch, T=1024, recompute=recompute, shards=gpus)
    comm = 50 * MIB if gpus > 1 else 0.0
    assert mem.allocator_peak_bytes == pytest.approx(expected + comm, rel=5e-4)


def test_llmc_moves_optimizer_states_to_host_when_the_card_is_full(specs):
    """llm.c's gpt2_allocate_state allocates m, v and the master weights with cudaMallocConditionallyManaged (llm.c
    PR #745): the card cannot hold GPT-2 350M at micro-batch 20 with ZeRO-1 on a 16 GB card, and llm.c then trains
    it (slower) with those 1.98 GiB per GPU in host memory, as the published run did."""
    mem = llmc(specs, "rtx-4060-ti-16gb", "gpt2-medium", 2, 1, 20)
    assert not mem.fits
    moved = mem.breakdown["master_weights"] + mem.breakdown["optimizer_states"]
    assert moved / GIB == pytest.approx(1.98, abs=0.01)
    assert mem.host_fallback_bytes == pytest.approx(moved)
    assert mem.host_fallback_required_bytes == pytest.approx(mem.required_bytes - moved)
    assert mem.host_fallback_required_bytes <= mem.available_bytes  # it trains: the published outcome


def test_host_fallback_is_reported_only_where_the_card_is_full_and_the_stack_has_one(specs):
    assert llmc(specs, "4090", "gpt2-xl", 2, 1, 4).host_fallback_required_bytes == 0.0  # it fits: nothing moves
    hf = specs.stacks.get("hf", "--stack")
    big = memory(Shape.of(specs.models.get("gpt2-xl", "--model"), 1024), hf, RunOptions(micro_batch=32),
                 specs.gpus.get("4090", "--gpu").usable_bytes)
    assert not big.fits and big.host_fallback_required_bytes == 0.0  # PyTorch has no such fallback


def test_llmc_runtime_is_what_it_allocates_beside_its_buffers(specs):
    """CUDA context (0.51 GiB, measured) + cuBLASLt's 32 MiB + cuDNN's workspace at its 256 MiB maximum."""
    assert specs.stacks.get("llmc", "--stack").runtime_overhead_gib == pytest.approx(0.51 + 32 / 1024 + 0.25,
                                                                                      abs=0.005)


def test_the_published_memory_runs_against_the_model(specs):
    """benchmarks/data/published_memory.yaml: every run names a known card, model and stack; a run that trained is
    predicted to train (on the card, or through the stack's host fallback); the single-card out-of-memory report
    (an llm.c before its fallback) is predicted not to fit on the card."""
    runs = published_memory.runs()
    assert runs and all(r["use"] == "held-out" and r["trust"] in ("high", "medium", "low") for r in runs)
    for run in runs:
        m = published_memory.predict(specs, run)
        trains = m.fits or 0 < m.host_fallback_required_bytes <= m.available_bytes
        if run["outcome"] == "trained":
            assert trains, run["id"]
            if run["reported_gib"] is not None:
                assert published_memory.modelled_gib(m, run) == pytest.approx(run["reported_gib"], rel=0.10), run["id"]
        else:
            assert not m.fits, run["id"]
    text = "\n".join(published_memory.table())
    assert "llmc-350m-2x4060ti16-mb20" in text


def test_the_summary_says_what_llmc_does_when_the_card_is_full(cli):
    doc = cli("check", "--gpu", "rtx-4060-ti-16gb", "--gpus", "2", "--model", "gpt2-medium", "--stack", "llmc",
              "--zero", "1", "--micro-batch", "20", "--format", "json").json()
    assert doc["memory"]["fits"] is False
    assert 0 < doc["memory"]["host_fallback_required_bytes"] <= doc["memory"]["available_bytes"]
    assert "keeps its optimizer states and master weights in host memory" in doc["verdict"]["summary"]
    table = cli("check", "--gpu", "rtx-4060-ti-16gb", "--gpus", "2", "--model", "gpt2-medium", "--stack", "llmc",
                "--zero", "1", "--micro-batch", "20").out
    assert "host fallback: " in table


def compiled_points():
    rows = [json.loads(x) for x in (DATA / "h200_gpt2_training.jsonl").read_text().splitlines() if x.strip()]
    return [r for r in rows if r["attn"] == "nanogpt-compile" and r["status"] == "ok"]


@pytest.mark.parametrize("use", ["fit", "held-out"])
def test_compiled_nanogpt_memory_within_10_percent_worst(specs, use):
    """Issue #30's target, on every compiled nanoGPT step we measured, fitted and held out apart (today: 1.9% and
    0.3% worst; the profile that kept eager's fp32 logits copies was 29% over at micro-batch 32)."""
    stack, gpu = specs.stacks.get("nanogpt", "--stack"), specs.gpus.get("h200", "--gpu")
    points = [r for r in compiled_points() if r["use"]["memory"] == use]
    assert points
    errors = []
    for r in points:
        o = RunOptions(micro_batch=r["batch"], optimizer=r["optimizer"], dropout=r["dropout"], seq=r["seq"])
        pred = memory(Shape.of(specs.models.get(r["model"], "--model"), r["seq"]), stack, o, gpu.usable_bytes)
        errors.append(abs(pred.allocator_peak_bytes / r["peak_alloc_bytes"] - 1))
    assert max(errors) <= 0.10


def test_required_is_the_need_not_what_nvidia_smi_shows():
    """`required` = allocator peak x (1 + the stack's mean fragmentation) + the CUDA context at start. What nvidia-smi
    shows is the allocator's reserved pool plus the context: on our roomy H100 the pool grows with the micro-batch
    (reserved / allocated 1.06-1.10 at micro-batch 1-8, above 1.15 at 16 and 32), so at micro-batch >= 16 the
    process holds more than `required` (docs/memory.md), as the published nvidia-smi figures read."""
    ok = [r for r in measured_points() if r["status"] == "ok"]
    small = [r["peak_reserved_bytes"] / r["peak_alloc_bytes"] for r in ok if r["batch"] <= 8]
    large = [r["peak_reserved_bytes"] / r["peak_alloc_bytes"] for r in ok if r["batch"] >= 16]
    assert statistics.mean(small) < 1.10 < 1.15 < statistics.mean(large)


def test_the_summary_says_when_even_the_host_fallback_does_not_fit(cli):
    doc = cli("check", "--gpu", "4090", "--model", "gpt2-xl", "--stack", "llmc", "--micro-batch", "32",
              "--format", "json").json()
    assert doc["memory"]["host_fallback_required_bytes"] > doc["memory"]["available_bytes"]
    assert "even with its optimizer states and master weights in host memory" in doc["verdict"]["summary"]

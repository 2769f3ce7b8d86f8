"""Sustained tensor rates per card (issue #30): measured where a public benchmark exists, derived from a measured card
of the same die for power-limited cards without one, each with its source; the catalogue says which."""

from __future__ import annotations

import pytest

from gpt2budget.specs import cache
from gpt2budget.specs.definitions import SustainedGemmTflops

# power-limited cards: PCIe/NVL datacenter boards, inference cards, workstation cards
POWER_LIMITED = ("h100-pcie", "h100-nvl", "l4", "t4", "a10", "l40", "l40s", "a100-pcie-40gb", "a100-pcie-80gb",
                 "rtx-a4000", "rtx-a5000", "rtx-a6000", "rtx-4000-ada", "rtx-6000-ada", "rtx-pro-6000-blackwell")


def test_every_sustained_rate_names_its_source_and_origin(specs):
    with_rate = [g for g in specs.gpus if g.sustained_gemm_tflops is not None]
    assert len(with_rate) >= 40
    for g in with_rate:
        source = g.sources.get("sustained_gemm_tflops", "")
        assert len(source) > 40, g.id
        assert g.sustained_gemm_origin in ("measured", "derived")
        if g.sustained_gemm_origin == "derived":  # a derived rate names the rule and the measured card it came from
            assert "derived by this project's rule" in source and "Sibling: " in source, g.id
            sibling = source.split("Sibling: ")[1].split(" ")[0]
            assert specs.gpus.get(sibling, "--gpu").sustained_gemm_origin == "measured", g.id


@pytest.mark.parametrize("gpu", POWER_LIMITED)
def test_power_limited_cards_have_a_sustained_rate_below_their_peak(specs, gpu):
    g = specs.gpus.get(gpu, "--gpu")
    s = g.sustained_gemm_tflops
    assert s is not None
    key = "bf16" if s.bf16 else "fp16"
    assert getattr(s, key) < 0.9 * getattr(g.peak_tflops, key)


def test_the_catalogue_says_which_cards_are_measured(cli):
    doc = {g["id"]: g for g in cli("gpus", "--format", "json").json()}
    assert doc["l4"]["sustained_origin"] == "measured" and doc["l4"]["sustained_tensor_tflops"] == 70.89
    assert doc["h100-nvl"]["sustained_origin"] == "derived"
    assert doc["t4"]["sustained_tensor_tflops"] == 41.93  # no BF16 on Turing: the FP16 figure
    # a card without a rate (the model takes a fraction of its peak) has neither
    assert doc["rtx-4070-ti"]["sustained_tensor_tflops"] is None and doc["rtx-4070-ti"]["sustained_origin"] is None
    csv = cli("gpus", "--format", "csv").out.splitlines()
    header = csv[0].split(",")
    assert "sustained_origin" in header and "sustained_tensor_tflops" in header


def test_a_spec_with_a_sustained_rate_survives_the_spec_cache(specs):
    """The spec cache rebuilds each dataclass by its type name: SustainedGemmTflops was missing from SPEC_TYPES, so
    a cached card with a sustained rate could not be read back."""
    g = specs.gpus.get("h100-sxm", "--gpu")
    back = cache.decode(cache.encode(g))
    assert isinstance(back.sustained_gemm_tflops, SustainedGemmTflops)
    assert back.sustained_gemm_tflops.bf16 == 730 and back.sustained_gemm_origin == "measured"


# --- the clock derate: GEMMs, attention and per-SM kernels of a power-limited card -----------------------------------

def _unmeasured(g):
    """The same card as the model would see it without a sustained rate: peak x the class ceiling, full clock."""
    from dataclasses import replace

    return replace(g, sustained_gemm_tflops=None)


def _sustained_share(g, key):
    from gpt2budget.core.step_constants import DEFAULT_STEP_CONSTANTS
    from gpt2budget.core.steptime import gemm_ceiling

    rate, peak = getattr(g.sustained_gemm_tflops, key), getattr(g.peak_tflops, key)
    return rate / (peak * gemm_ceiling(g, "tf32" if key == "tf32" else "amp-bf16") * DEFAULT_STEP_CONSTANTS.ceiling_rounding)


@pytest.mark.parametrize("gpu", POWER_LIMITED)
def test_a_power_limited_card_is_never_faster_than_its_sustained_rate_allows(specs, gpu):
    """GEMMs, fused attention and llm.c's per-SM-rate kernels all run at the card's sustained clock: none is predicted
    faster, per SM, than the sustained measurement allows (peak x ceiling would be 10-25% faster on these cards)."""
    from gpt2budget.core.steptime import clock_fraction, flash_efficiency, gemm_rate, sm_rate_cap

    g = specs.gpus.get(gpu, "--gpu")
    key = "bf16" if g.sustained_gemm_tflops.bf16 else "fp16"
    precision = {"bf16": "amp-bf16", "fp16": "amp-fp16"}[key]
    allowed = min(1.0, _sustained_share(g, key))
    assert clock_fraction(g, precision) == pytest.approx(allowed)
    # GEMMs: the sustained rate itself, per SM no more than measured
    assert gemm_rate(g, precision, None) / g.sm_count <= getattr(g.sustained_gemm_tflops, key) * 1e12 / g.sm_count
    # attention: the fractions of peak measured on cards that hold their clocks, scaled down by the same share
    full = flash_efficiency(_unmeasured(g), "flash2", precision, 1024)
    derated = flash_efficiency(g, "flash2", precision, 1024)
    assert derated.forward <= full.forward * allowed + 1e-12 and derated.backward <= full.backward * allowed + 1e-12
    # llm.c's kernels at a rate per SM: at most 9.4 GB/s per SM x the share
    llmc = specs.stacks.get("llmc", "--stack")
    per_sm = llmc.step_time.elementwise_gb_per_s_per_sm * 1e9
    assert sm_rate_cap(g, llmc) / g.sm_count <= per_sm * allowed + 1e-6
    if allowed < 0.97:  # and it is slower than the unmeasured card would be
        assert derated.forward < full.forward and sm_rate_cap(g, llmc) < sm_rate_cap(_unmeasured(g), llmc)


def test_a_power_limited_card_trains_slower_than_its_peak_suggests(specs):
    """End to end: llm.c GPT-2 124M on an L4 (72 W, measured at 0.59 of peak) takes longer per step with its measured
    rate than with peak x ceiling, in every GPU term."""
    from gpt2budget.core.shape import Shape, n_params
    from gpt2budget.core.steptime import step_time
    from gpt2budget.options import RunOptions

    g, m, s = specs.gpus.get("l4", "--gpu"), specs.models.get("gpt2", "--model"), specs.stacks.get("llmc", "--stack")
    o = RunOptions(precision="bf16", optimizer="adamw-fused", micro_batch=8)
    shape = Shape.of(m, o.seq, s.vocab_multiple)
    n = float(n_params(Shape.of(m, m.n_ctx)))
    measured = step_time(shape, n, g, s, o, batch_tokens=8 * 1024)
    unmeasured = step_time(shape, n, _unmeasured(g), s, o, batch_tokens=8 * 1024)
    for term in ("matmul", "attention"):
        assert measured.breakdown[term] > 1.15 * unmeasured.breakdown[term], term
    # its memory-bound kernels are bound by the L4's 300 GB/s, below 58 SMs x 9.4 GB/s even at the derated clock
    assert measured.breakdown["memory_bound"] == pytest.approx(unmeasured.breakdown["memory_bound"])
    assert measured.step_seconds > 1.15 * unmeasured.step_seconds


def test_cards_that_hold_their_clocks_are_not_derated(specs):
    """The cards the class ceilings and attention fractions were measured on, and GeForce cards (which boost above
    their rated clock), keep the full clock: their predictions do not move."""
    from gpt2budget.core.steptime import clock_fraction

    for gpu in ("h100-sxm", "h200-sxm", "a100-sxm-80gb", "a100-sxm-40gb", "b200", "rtx-4090", "rtx-3090",
                "rtx-4070-super", "rtx-4070-ti"):
        assert clock_fraction(specs.gpus.get(gpu, "--gpu")) == 1.0, gpu


def test_a_card_measured_on_one_path_runs_the_others_at_the_same_clock(specs):
    """The L4 is measured in TF32 and 16 bits, not in plain FP32: its FP32 GEMMs run at peak x ceiling x the clock
    share its tensor measurement shows (crowd-sourced FP32: 15.4 TFLOP/s; the model 18.6, 23.0 without it)."""
    from gpt2budget.core.steptime import clock_fraction, gemm_ceiling, gemm_rate

    g = specs.gpus.get("l4", "--gpu")
    assert g.sustained_gemm_tflops.tf32 is not None  # measured: used as is
    assert gemm_rate(g, "tf32", None) == pytest.approx(31.88e12)
    fp32 = gemm_rate(g, "fp32", None)
    assert fp32 == pytest.approx(g.peak_tflops.fp32 * 1e12 * gemm_ceiling(g, "fp32") * clock_fraction(g, "fp32"))
    assert fp32 < g.peak_tflops.fp32 * 1e12 * gemm_ceiling(g, "fp32")


def test_derived_rates_follow_the_stated_rule(specs):
    """Each derived sustained rate is its measured sibling's share of peak x (power per SM ratio) ** the exponent,
    as StepConstants.sustained_derate_exponent documents (to the 0.1 TFLOP/s the configs are rounded to)."""
    from gpt2budget.core.step_constants import DEFAULT_STEP_CONSTANTS
    exponent = DEFAULT_STEP_CONSTANTS.sustained_derate_exponent

    derived = [g for g in specs.gpus if g.sustained_gemm_tflops is not None and g.sustained_gemm_origin == "derived"]
    assert derived, "no derived card left: the rule is untested (drop this test with the rule)"
    for g in derived:
        sib = specs.gpus.get(g.sources["sustained_gemm_tflops"].split("Sibling: ")[1].split(" ")[0], "--gpu")
        ratio = ((g.board_power_w / g.sm_count) / (sib.board_power_w / sib.sm_count)) ** exponent
        for key in ("tf32", "fp16", "bf16"):
            value = getattr(g.sustained_gemm_tflops, key)
            if value is None:
                continue
            expect = getattr(sib.sustained_gemm_tflops, key) / getattr(sib.peak_tflops, key) * ratio
            assert value == pytest.approx(expect * getattr(g.peak_tflops, key), abs=0.06), (g.id, key)
            assert value < getattr(g.peak_tflops, key)  # a derate, never a boost


# --- datacenter Blackwell's own attention measurement ----------------------------------------------------------------

def test_datacenter_blackwell_attention_is_its_own_measurement(specs):
    """A B200 ran FlashAttention-2 at ~269 TFLOP/s causal forward at 1,024 tokens (flash-attention #1589, with the
    H100's causal ratio), ~12% of its 2,250 peak, not the A100's 37% (832 TFLOP/s) nor Hopper's 23%; cuDNN ~501."""
    from gpt2budget.core.step_constants import DEFAULT_STEP_CONSTANTS
    from gpt2budget.core.steptime import flash_efficiency
    B200_DENSE_TFLOPS = DEFAULT_STEP_CONSTANTS.b200_dense_tflops

    b200 = specs.gpus.get("b200", "--gpu")
    fa2 = flash_efficiency(b200, "flash2", "amp-bf16", 1024)
    cudnn = flash_efficiency(b200, "cudnn", "amp-bf16", 1024)
    assert fa2.origin == cudnn.origin == "blackwell"
    assert fa2.forward * B200_DENSE_TFLOPS == pytest.approx(269, rel=0.01)
    assert cudnn.forward * B200_DENSE_TFLOPS == pytest.approx(501, rel=0.01)
    h100 = flash_efficiency(specs.gpus.get("h100-sxm", "--gpu"), "flash2", "amp-bf16", 1024)
    assert fa2.forward < 0.6 * h100.forward and fa2.backward < 0.6 * h100.backward
    # GeForce and workstation Blackwell (GB20x) keep the fraction measured elsewhere
    assert flash_efficiency(specs.gpus.get("rtx-5090", "--gpu"), "flash2", "amp-bf16", 1024).origin == "other"

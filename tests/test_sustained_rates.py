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

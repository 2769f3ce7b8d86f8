"""llm.c shards only its optimizer states (-z 1): stages 2 and 3 are refused, never proposed (llmc/zero.cuh)."""

from __future__ import annotations

import re


def test_llmc_states_zero_0_and_1(specs):
    assert specs.stacks.get("llmc", "--stack").supported_zero == (0, 1)


def test_llmc_refuses_zero_2_and_3(cli):
    for stage in ("2", "3"):
        r = cli("check", "--gpu", "4060ti-16gb", "--model", "gpt2-medium", "--stack", "llmc", "--gpus", "2",
                "--zero", stage)
        assert r.code != 0 and "--zero" in r.err and "0, 1" in r.err, r.err


def test_the_advisor_proposes_no_zero_stage_llmc_lacks(cli):
    # llm.c GPT-2 350M at micro-batch 20 on 2x RTX 4060 Ti 16 GB does not fit on the card: the advisor's changes
    doc = cli("check", "--gpu", "4060ti-16gb", "--model", "gpt2-medium", "--stack", "llmc", "--gpus", "2",
              "--micro-batch", "20", "--zero", "1", "--format", "json").json()
    changes = " ".join(a.get("flags", "") if isinstance(a, dict) else str(a) for a in doc.get("advice", []))
    assert doc["advice"], "the run does not fit: some change is proposed"
    assert not re.search(r"--zero [23]", changes), changes

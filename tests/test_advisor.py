"""The advisor (issue 31 item 5): titled by the situation, no slower rows for a run that fits, no rows that print
the same, the minimal change (the largest micro-batch that fits, alone) offered where it helps, and the
mixed-precision fixes not crowded out by pure-bf16 variants."""

import pytest

from gpt2budget.core.advisor import MAX_PURE_BF16, advice_situation
from gpt2budget.units import fmt_bytes, fmt_hours


def advice(cli, *args):
    # micro-batch 1 unless the case says otherwise (later flags win): these runs are the issue's, at check's old default
    doc = cli("check", "--micro-batch", "1", *args, "--format", "json").json()
    return doc, doc["advice"]


def title(cli, *args):
    out = cli("check", "--micro-batch", "1", *args).out
    lines = [line for line in out.splitlines() if line.startswith("What would")]
    assert len(lines) == 1, out
    return lines[0]


def test_the_title_says_what_the_advice_is_for(cli):
    assert title(cli, "--gpu", "4070ti", "--model", "gpt2-xl").startswith("What would make it fit (")
    # fits, with little room: the advice is about speed, not fitting
    assert title(cli, "--gpu", "4070ti", "--model", "gpt2-medium").startswith("What would make it faster (")
    assert title(cli, "--gpu", "4070ti", "--model", "gpt2-medium", "--duration", "7d").startswith(
        "What would make it finish in the duration given (")


def test_the_situation_follows_the_result(cli, specs):
    from gpt2budget.api import check, configure

    def situation(**kw):
        return advice_situation(check(configure(specs, micro_batch=1, **kw), specs))

    assert situation(gpu="4070ti", model="gpt2-xl") == "fit"
    assert situation(gpu="4070ti", model="gpt2-medium") == "faster"
    assert situation(gpu="4070ti", model="gpt2-medium", duration="7d") == "time"


@pytest.mark.parametrize("args", [("--gpu", "4070ti", "--model", "gpt2-medium"),
                                  ("--gpu", "4070ti", "--model", "gpt2-medium", "--duration", "7d"),
                                  ("--gpu", "3060", "--model", "gpt2-medium")])
def test_a_run_that_fits_is_offered_nothing_slower(cli, args):
    doc, rows = advice(cli, *args)
    assert doc["memory"]["fits"] and rows
    assert all(a["time_factor"] < 1 for a in rows), [(a["flags"], a["time_factor"]) for a in rows]


@pytest.mark.parametrize("args", [("--gpu", "4070ti", "--model", "gpt2-large"), ("--gpu", "4070ti", "--model", "gpt2-xl"),
                                  ("--gpu", "3060", "--model", "gpt2-medium"), ("--gpu", "t4", "--model", "gpt2-large"),
                                  ("--gpu", "4090", "--model", "gpt2-xl", "--gpus", "2")])
def test_no_two_rows_print_the_same(cli, args):
    _, rows = advice(cli, *args)
    shown = [(a["model"], a["changes"].get("gpus"), fmt_bytes(a["memory"]["required_bytes"]),
              fmt_hours(a["wall_time_hours"])) for a in rows]
    assert len(shown) == len(set(shown)), shown


def test_of_rows_that_print_the_same_the_fewest_changes_stays(cli):
    # gpt2-large on a 4070 Ti: bf16, bf16 + fused AdamW print 8.71 GiB / 18.9 days alike; --precision bf16 stays
    _, rows = advice(cli, "--gpu", "4070ti", "--model", "gpt2-large")
    flags = [a["flags"] for a in rows]
    assert "--precision bf16" in flags
    assert "--optimizer adamw-fused --precision bf16" not in flags


def test_the_minimal_change_is_offered(cli):
    # gpt2-medium on a 4080 fits micro-batch 3 (with the gradients its 512K-token batch accumulates; a 4070 Ti
    # fits 1): micro-batch 3 alone is faster than 1
    doc, rows = advice(cli, "--gpu", "4080", "--model", "gpt2-medium")
    assert doc["memory"]["max_micro_batch"] == 3
    assert "--micro-batch 3" in [a["flags"] for a in rows]
    # a run that does not fit at its micro-batch but fits at a smaller one: that micro-batch, nothing else
    doc, rows = advice(cli, "--gpu", "4070ti", "--model", "gpt2", "--micro-batch", "16")
    assert not doc["memory"]["fits"] and doc["memory"]["max_micro_batch"] >= 1
    b = doc["memory"]["max_micro_batch"]
    minimal = [a for a in rows if a["flags"] == f"--micro-batch {b}"]
    assert minimal and set(minimal[0]["changes"]) <= {"micro_batch", "utilization"}


@pytest.mark.parametrize("args", [("--gpu", "4070ti", "--model", "gpt2-large"), ("--gpu", "3060", "--model", "gpt2-large"),
                                  ("--gpu", "4070ti", "--model", "gpt2-medium")])
def test_pure_bf16_does_not_crowd_out_mixed_precision(cli, args):
    _, rows = advice(cli, *args)
    pure = [a for a in rows if a["changes"].get("precision") == "bf16"]
    assert len(pure) <= MAX_PURE_BF16
    if len(rows) > MAX_PURE_BF16:
        assert any("precision" not in a["changes"] for a in rows)


def test_pure_bf16_advice_carries_the_convergence_caveat(cli):
    out = cli("check", "--gpu", "4070ti", "--model", "gpt2-large", "--micro-batch", "1").out
    assert "--precision bf16" in out
    assert "Revisiting BFloat16 Training" in out and "stall convergence" in out
    # no pure-bf16 row, no caveat
    out = cli("check", "--gpu", "4070ti", "--model", "gpt2-large", "--precision", "bf16", "--micro-batch", "1").out
    assert "Revisiting BFloat16" not in out

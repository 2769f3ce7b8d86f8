"""`compare`: what it shows for cards a run does not fit, how it sorts cost, and the run options it takes (issue 16:
each test fails on the code before its fix)."""

import json


def test_compare_shows_no_time_or_cost_for_a_card_the_run_does_not_fit(cli):
    r = cli("compare", "--model", "gpt2-xl")
    row = next(line for line in r.out.splitlines() if "rtx-4070-ti" in line)
    assert "does not fit" in row and "days" not in row and "$" not in row


def test_compare_sorts_cost_on_one_comparable_quantity(cli):
    rows = json.loads(cli("compare", "--model", "gpt2", "--sort", "cost", "--format", "json").out)
    fits = [r["electricity_usd"] for r in rows if r["fits"] and r["electricity_usd"] is not None]
    assert fits == sorted(fits) and len(fits) > 5
    assert "cheapest electricity first" in cli("compare", "--model", "gpt2", "--sort", "cost").out


def test_compare_takes_the_run_options_check_and_the_advisor_use(cli):
    advice = cli("check", "--gpu", "4070ti", "--model", "gpt2-xl", "--format", "json").json()["advice"]
    assert any(a["flags"] == "--checkpointing full --offload optimizer" for a in advice)
    rows = json.loads(cli("compare", "--model", "gpt2-xl", "--gpu", "4070ti", "--offload", "optimizer",
                          "--checkpointing", "full", "--format", "json").out)
    assert rows[0]["fits"] is True  # what the advisor suggested, compare can now show
    lora = json.loads(cli("compare", "--model", "gpt2-xl", "--gpu", "4070ti", "--finetune", "lora", "--tokens", "100M",
                          "--format", "json").out)
    plain = json.loads(cli("compare", "--model", "gpt2-xl", "--gpu", "4070ti", "--offload", "optimizer",
                           "--format", "json").out)  # without checkpointing: its 512K-token batch's held gradients
    assert lora[0]["fits"] is True and lora[0]["required_gib"] < plain[0]["required_gib"]

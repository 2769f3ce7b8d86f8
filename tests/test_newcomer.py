"""Defects a newcomer hit (issue 16): each test fails on the code before its fix."""

import json

from gpt2budget.units import fmt_ratio, fmt_usd


def test_ratios_and_money_read_as_people_write_them():
    assert [fmt_ratio(x) for x in (810.4, 67.9, 7.94, 0.534)] == ["810x", "68x", "7.9x", "0.53x"]
    assert fmt_usd(0.34) == "$0.34" and fmt_usd(1234.5) == "$1,234"


def test_verdict_has_no_scientific_notation(cli):
    r = cli("check", "--gpu", "h100", "--model", "gpt2", "--tokens", "1M", "--no-advice")
    verdict = r.out.strip().splitlines()[-1]
    assert "e+" not in verdict and "1M tokens" in verdict and "x)." in verdict


def test_compare_shows_no_time_or_cost_for_a_card_the_run_does_not_fit(cli):
    r = cli("compare", "--model", "gpt2-xl")
    row = next(line for line in r.out.splitlines() if "rtx-4070-ti" in line)
    assert "does not fit" in row and "days" not in row and "$" not in row


def test_compare_sorts_cost_on_one_comparable_quantity(cli):
    rows = json.loads(cli("compare", "--model", "gpt2", "--sort", "cost", "--format", "json").out)
    fits = [r["electricity_usd"] for r in rows if r["fits"] and r["electricity_usd"] is not None]
    assert fits == sorted(fits) and len(fits) > 5
    assert "cheapest electricity first" in cli("compare", "--model", "gpt2", "--sort", "cost").out


def test_the_cost_of_a_run_that_cannot_run_is_labelled(cli):
    out = cli("check", "--gpu", "4070ti", "--model", "gpt2-xl", "--no-advice").out
    assert "Cost of the original run (hypothetical: the run does not fit in memory)" in out
    assert "hypothetical" not in cli("check", "--gpu", "4070ti", "--model", "gpt2", "--no-advice").out


def test_fine_tuning_shows_no_from_scratch_loss_and_full_cost_recipes(cli):
    base = ["check", "--gpu", "h100", "--model", "gpt2-xl", "--format", "json", "--no-advice"]
    lora = cli(*base, "--finetune", "lora", "--tokens", "100M").json()
    scratch = cli(*base).json()
    assert lora["requirements"]["finetune"]["predicted_loss"] is None
    # the from-scratch rows are the from-scratch run's, not recomputed with LoRA's cheaper FLOPs and step
    for row in ("original", "compute_optimal"):
        assert lora["requirements"][row]["flops"] == scratch["requirements"][row]["flops"]
        assert lora["requirements"][row]["wall_time_hours"] == scratch["requirements"][row]["wall_time_hours"]
    table = cli(*base[:-3], "--finetune", "lora", "--tokens", "100M", "--no-advice").out
    assert "FLOPs/token 4·N + 6·N_adapter (frozen base)" in table and "FLOPs/token 6·N\n" not in table


def test_byte_counts_are_whole_numbers_in_every_format(cli):
    doc = cli("check", "--gpu", "4070ti", "--model", "gpt2-xl", "--format", "json").json()
    mem = doc["memory"]
    for key, value in mem.items():
        if key.endswith("_bytes"):
            assert type(value) is int, key
    assert all(type(v) is int for v in (*mem["breakdown"].values(), *mem["phases"].values()))
    assert all(type(a["memory"]["required_bytes"]) is int for a in doc["advice"])
    yaml_out = cli("check", "--gpu", "4070ti", "--model", "gpt2-xl", "--format", "yaml").out
    assert "required_bytes: 35529219082\n" in yaml_out


def test_flags_that_would_be_ignored_are_reported(cli, tmp_path):
    base = ["check", "--gpu", "4090", "--model", "gpt2", "--no-advice"]
    r = cli(*base, "--lora-rank", "4", "--format", "json")
    assert r.code == 0 and "Warning: --lora-rank has no effect without --finetune lora or qlora" in r.err
    assert "Warning" not in cli(*base, "--finetune", "lora", "--tokens", "1M", "--lora-rank", "4", "--format", "json").err
    r = cli(*base, "--explain", "--format", "json")
    assert r.code == 0 and "Warning: --explain" in r.err
    r = cli(*base, "--svg", str(tmp_path / "x.svg"), "--format", "json")
    assert r.code == 2 and "--svg" in r.err and not (tmp_path / "x.svg").exists()
    r = cli(*base, "--fsdp", "FULL_SHARD", "--zero", "1")
    assert r.code == 2 and "--fsdp" in r.err and "conflicts with --zero 1" in r.err
    out = tmp_path / "out.txt"
    r = cli(*base, "--output", str(out))
    assert r.code == 0 and r.out == "" and "OK: gpt2 on 1x" in out.read_text()


def test_the_weights_row_says_what_it_holds(cli):
    base = ["check", "--gpu", "4090", "--model", "gpt2-xl", "--no-advice"]
    cases = {(): "parameters x 4 B (fp32)",
             ("--offload", "optimizer"): "parameters x 2 B (16-bit; the fp32 master copy lives in host memory)",
             ("--finetune", "lora", "--tokens", "1M"): "frozen base x 2 B (bf16) + adapters x 4 B (fp32)",
             ("--finetune", "qlora", "--tokens", "1M"): "frozen matmul weights x 4.127 bits",
             ("--gpus", "4", "--zero", "3"): "sharded over 4 GPUs (ZeRO-3)",
             ("--offload", "params"): "the gathered current and prefetched layer, 16-bit"}
    for extra, words in cases.items():
        row = next(line for line in cli(*base, *extra).out.splitlines() if "weights " in line)
        assert words in row, (extra, row)


def test_the_svg_export_holds_all_the_text(cli, tmp_path):
    import html
    import re

    out = tmp_path / "x.svg"
    cli("check", "--gpu", "4070ti", "--model", "gpt2-xl", "--no-advice", "--svg", str(out))
    text = html.unescape("".join(re.findall(r">([^<]*)</text>", out.read_text()))).replace("\xa0", " ")
    assert "days given (7.5x)." in text


def test_plan_budget_buys_hours_not_the_whole_duration(cli):
    doc = json.loads(cli("plan", "--gpu", "h100", "--budget-usd", "100", "--format", "json").out)
    best, opt = doc["best"], doc["compute_optimal"]
    assert best["limit"] == "limited by --budget-usd"
    hours = 100 / 3.5  # the H100 spec's on-demand price per GPU-hour
    assert best["wall_time_hours"] == __import__("pytest").approx(hours)
    sustained = best["tokens_per_second"] * 6 * best["n_params"] * (4 / 3 if "checkpointing full" in best["flags"] else 1)
    assert opt["available_flops"] == __import__("pytest").approx(sustained * hours * 3600, rel=0.02)


def test_compare_takes_the_run_options_check_and_the_advisor_use(cli):
    advice = cli("check", "--gpu", "4070ti", "--model", "gpt2-xl", "--format", "json").json()["advice"]
    assert any(a["flags"] == "--offload optimizer" for a in advice)
    rows = json.loads(cli("compare", "--model", "gpt2-xl", "--gpu", "4070ti", "--offload", "optimizer",
                          "--format", "json").out)
    assert rows[0]["fits"] is True  # what the advisor suggested, compare can now show
    lora = json.loads(cli("compare", "--model", "gpt2-xl", "--gpu", "4070ti", "--finetune", "lora", "--tokens", "100M",
                          "--format", "json").out)
    assert lora[0]["fits"] is True and lora[0]["required_gib"] < rows[0]["required_gib"]


def test_an_empty_no_color_leaves_colour_on(monkeypatch):
    """no-color.org: NO_COLOR turns colour off only when it is set to a non-empty value."""
    import sys

    from gpt2budget.output.render import make_console

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.setenv("NO_COLOR", "")
    assert make_console().color_system is not None
    monkeypatch.setenv("NO_COLOR", "1")
    assert make_console().color_system is None


def test_plan_csv_carries_raw_numbers_one_column_each(cli):
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(cli("plan", "--gpu", "4090", "--format", "csv").out)))
    header = list(rows[0])
    assert len(header) == len(set(header)) and "time" not in header and "settings" not in header
    first = rows[0]
    assert float(first["n_params"]) == 124439808 and float(first["tokens"]) > 1e9  # not "124M", "2.29T"
    assert float(first["wall_time_hours"]) > 0 and first["flags"].startswith("--model ")


def test_compare_uses_one_time_unit_per_column(cli):
    out = cli("compare", "--model", "gpt2-medium").out
    rows = [line for line in out.splitlines() if line.startswith("│") and "yes" in line]
    units = {cell.split()[-1] for line in rows for cell in [line.split("│")[8].strip()] if cell}
    assert len(units) == 1, units


def test_a_fit_with_under_1_gib_to_spare_says_so(cli):
    tight = cli("check", "--gpu", "4090", "--gpus", "2", "--model", "gpt2-xl", "--stack", "llmc", "--zero", "1",
                "--micro-batch", "4", "--no-advice").out.splitlines()[-1]
    assert "MiB to spare" in tight and "--reserve-gib" in tight
    roomy = cli("check", "--gpu", "h100", "--model", "gpt2", "--no-advice").out.splitlines()[-1]
    assert "to spare" not in roomy

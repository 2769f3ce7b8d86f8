"""`plan`: a budget buys hours, and its CSV carries raw numbers (issue 16: each test fails on the code before its
fix)."""

import json


def test_plan_budget_buys_hours_not_the_whole_duration(cli):
    doc = json.loads(cli("plan", "--gpu", "h100", "--budget-usd", "100", "--format", "json").out)
    best, opt = doc["best"], doc["compute_optimal"]
    assert best["limit"] == "limited by --budget-usd"
    hours = 100 / 3.5  # the H100 spec's on-demand price per GPU-hour
    assert best["wall_time_hours"] == __import__("pytest").approx(hours)
    sustained = best["tokens_per_second"] * 6 * best["n_params"] * (4 / 3 if "checkpointing full" in best["flags"] else 1)
    assert opt["available_flops"] == __import__("pytest").approx(sustained * hours * 3600, rel=0.02)


def test_plan_csv_carries_raw_numbers_one_column_each(cli):
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(cli("plan", "--gpu", "4090", "--format", "csv").out)))
    header = list(rows[0])
    assert len(header) == len(set(header)) and "time" not in header and "settings" not in header
    first = rows[0]
    assert float(first["n_params"]) == 124439808 and float(first["tokens"]) > 1e9  # not "124M", "2.29T"
    assert float(first["wall_time_hours"]) > 0 and first["flags"].startswith("--model ")

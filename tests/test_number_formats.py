"""Numbers read as people write them: ratios, money, whole bytes, one time unit per column, no scientific
notation in a sentence (issue 16: each test fails on the code before its fix)."""


from gpt2budget.units import fmt_ratio, fmt_usd


def test_ratios_and_money_read_as_people_write_them():
    assert [fmt_ratio(x) for x in (810.4, 67.9, 7.94, 0.534)] == ["810x", "68x", "7.9x", "0.53x"]
    assert fmt_usd(0.34) == "$0.34" and fmt_usd(1234.5) == "$1,234"


def test_verdict_has_no_scientific_notation(cli):
    r = cli("check", "--gpu", "h100", "--model", "gpt2", "--tokens", "1M", "--no-advice")
    verdict = r.out.strip().splitlines()[-1]
    assert "e+" not in verdict and "1M tokens" in verdict and "x)." in verdict


def test_byte_counts_are_whole_numbers_in_every_format(cli):
    doc = cli("check", "--gpu", "4070ti", "--model", "gpt2-xl", "--format", "json").json()
    mem = doc["memory"]
    for key, value in mem.items():
        if key.endswith("_bytes"):
            assert type(value) is int, key
    assert all(type(v) is int for v in (*mem["breakdown"].values(), *mem["phases"].values()))
    assert all(type(a["memory"]["required_bytes"]) is int for a in doc["advice"])
    yaml_out = cli("check", "--gpu", "4070ti", "--model", "gpt2-xl", "--format", "yaml").out
    assert "required_bytes: 40144111985\n" in yaml_out


def test_compare_uses_one_time_unit_per_column(cli):
    out = cli("compare", "--model", "gpt2-medium").out
    rows = [line for line in out.splitlines() if line.startswith("│") and "yes" in line]
    units = {cell.split()[-1] for line in rows for cell in [line.split("│")[8].strip()] if cell}
    assert len(units) == 1, units

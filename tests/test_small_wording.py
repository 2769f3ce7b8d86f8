"""Issue #31 items 15 and 16: small wording and output fixes, each pinned."""

import pytest

from gpt2budget.units import fmt_hours, fmt_ratio


def test_times_under_a_minute_are_seconds_not_zero_minutes():
    assert fmt_hours(0.5 / 60) == "30 s" and fmt_hours(0.001) == "3.6 s" and fmt_hours(0.5) == "30 min"
    assert "0 min" not in fmt_hours(1e-6)


def test_tiny_ratios_read_as_a_bound_not_an_exponent():
    assert fmt_ratio(1.9e-6) == "<0.01x" and fmt_ratio(0.53) == "0.53x" and fmt_ratio(0.0) == "0x"


def test_models_prints_token_counts_as_whole_numbers(cli):
    out = cli("models").out
    assert "10000000000" in out and "10000000000.0" not in out


def test_hexadecimal_and_binary_yaml_numbers_are_refused(tmp_path, cli):
    folder = tmp_path / "specs" / "models"
    folder.mkdir(parents=True)
    text = cli("models", "--template", "gpt2").out.replace("n_layer: 12", "n_layer: 0x18")
    (folder / "hex.yaml").write_text(text)
    r = cli("validate", str(folder / "hex.yaml"))
    assert r.code == 3 and "0x18 is a YAML 1.1 hexadecimal" in r.out


def test_sweep_refuses_fine_tuning_rows_without_tokens_up_front(cli):
    r = cli("sweep", "--gpu", "4090", "--model", "gpt2", "--finetune", "none,lora")
    assert r.code == 2 and r.err.startswith("Error: --tokens: fine-tuning rows need") and r.out == ""


def test_sweep_lists_every_model_smallest_first(cli):
    ids = [line.split(",")[2] for line in cli("sweep", "--gpu", "4090", "--model", "all").out.splitlines()[1:]]
    assert ids[:2] == ["modded-nanogpt", "gpt2"] and ids.index("gpt2") < ids.index("gpt2-large")


def test_an_output_file_named_json_says_the_table_is_text(cli, tmp_path):
    r = cli("check", "--gpu", "4090", "--model", "gpt2", "--output", str(tmp_path / "res.json"))
    assert r.code == 0 and "writes the table as text; add --format json" in r.err


def test_advice_changes_are_flags_not_consequences(cli):
    doc = cli("check", "--gpu", "4070ti", "--model", "gpt2-xl", "--format", "json").json()
    assert doc["advice"] and all("utilization" not in a["changes"] for a in doc["advice"])


@pytest.mark.parametrize("glyph", ["▒", "░"])
def test_the_ascii_bar_glyphs_are_not_the_table_s_plus_and_minus(glyph):
    from gpt2budget.output.render import ASCII_FALLBACK

    assert ASCII_FALLBACK[ord(glyph)] not in ("+", "-")

"""Spec validation rules: strict types, plausibility with unit guesses, errors that name their cause,
folders and names, model families and bounded shapes."""

from pathlib import Path

import pytest

from gpt2budget.errors import SpecError
from gpt2budget.loader import load_spec_file

CONFIGS = Path(__file__).parents[1] / "configs"
GPU = (CONFIGS / "gpus" / "rtx-4090.yaml").read_text()
MODEL = (CONFIGS / "models" / "gpt2.yaml").read_text()


def load_edited(tmp_path, kind, old, new, name="x.yaml"):
    base = GPU if kind == "gpus" else MODEL
    assert old in base
    p = tmp_path / name
    p.write_text(base.replace(old, new, 1))
    return load_spec_file(kind, p)


def error_of(tmp_path, kind, old, new):
    with pytest.raises(SpecError) as e:
        load_edited(tmp_path, kind, old, new)
    return e.value


# --- 1. strict types ---------------------------------------------------------------------------------


@pytest.mark.parametrize("new,needle", [
    ("memory_gib: yes", "expected a number, got the boolean true"),
    ("memory_gib: true", "expected a number, got the boolean true"),
    ('memory_gib: "24"', "expected a number, got the text '24'"),
    ("memory_gib: 1:30", "base-60"),
    ("memory_gib: 024", "octal"),
])
def test_numbers_are_strict(tmp_path, new, needle):
    err = error_of(tmp_path, "gpus", "memory_gib: 24", new)
    assert err.key == "memory_gib" and err.line == 9 and needle in err.message


def test_whole_numbers_and_booleans_are_strict(tmp_path):
    assert "expected a whole number, got 2022.5" in error_of(
        tmp_path, "gpus", "launch_year: 2022", "launch_year: 2022.5").message
    assert "expected a whole number, got the boolean" in error_of(tmp_path, "models", "n_layer: 12", "n_layer: on").message
    assert "expected true or false" in error_of(
        tmp_path, "models", "tied_embeddings: true", 'tied_embeddings: "yes"').message


def test_scalar_alias_refused(tmp_path):
    err = error_of(tmp_path, "gpus", "board_power_w: 450", "board_power_w: &w 450\nrent_usd_per_hour: *w")
    assert "anchors and aliases are not allowed" in err.message and err.key == "rent_usd_per_hour"


def test_unquoted_exponent_is_a_number(tmp_path):
    assert load_edited(tmp_path, "models", "original_tokens: 10.0e9", "original_tokens: 1e10").original_tokens == 1e10


@pytest.mark.parametrize("text,value", [("20B", 20e9), ("100M", 100e6), ("1.4T", 1.4e12), ("500k", 5e5)])
def test_token_counts_accept_units(tmp_path, text, value):
    assert load_edited(tmp_path, "models", "original_tokens: 10.0e9", f"original_tokens: {text}").original_tokens == value


def test_bad_token_count_says_what_is_expected(tmp_path):
    err = error_of(tmp_path, "models", "original_tokens: 10.0e9", "original_tokens: 20Q")
    assert err.key == "original_tokens" and "such as 20B" in err.message

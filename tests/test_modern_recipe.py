"""The requirements' modern row: the model's quality reached with a published modern recipe's tokens."""

import pytest


def test_gpt2_small_gets_the_speedrun_s_tokens_at_this_run_s_speed(cli):
    doc = cli("check", "--gpu", "4070ti", "--model", "gpt2", "--format", "json").json()
    modern, original = doc["requirements"]["modern"], doc["requirements"]["original"]
    assert modern["tokens"] == 0.73e9 and modern["rule"] == "modded-nanogpt record 18"
    assert modern["predicted_loss"] is None  # Chinchilla's fit says nothing of another architecture and optimizer
    # the same speed as the original recipe: the time scales with the tokens
    assert modern["wall_time_hours"] == pytest.approx(original["wall_time_hours"] * 0.73e9 / 10e9, rel=1e-9)
    table = cli("check", "--gpu", "4070ti", "--model", "gpt2").out
    assert "modern (modded-nanogpt record 18)" in table and "Source: KellerJordan/modded-nanogpt README" in table


def test_models_without_a_published_modern_recipe_have_no_row(cli):
    doc = cli("check", "--gpu", "4070ti", "--model", "gpt2-xl", "--format", "json").json()
    assert "modern" not in doc["requirements"]
    assert "modern" not in cli("check", "--gpu", "4070ti", "--model", "gpt2-xl").out

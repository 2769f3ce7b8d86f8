"""A number option takes plain digits on every Typer (#28 item 6, #31 item 15): Python's int() and float(), and so
Typer's own coercion, read `1_000` as 1000. The refusal used to live in the start-up pass-through (cli/fast.py)
alone, so a Typer it does not know (plain Typer doing the coercion) accepted `--gpus 1_000` again."""

import pytest
import typer

from gpt2budget.cli import fast

CHECK = ("check", "--gpu", "4090", "--model", "gpt2")
CASES = [
    (CHECK, "--gpus", "1_000", "--gpus: expected a number written in plain digits, got '1_000'"),
    (CHECK, "--seq", "1_024", "--seq: expected a number written in plain digits, got '1_024'"),
    (CHECK, "--pue", "1_5", "--pue: expected a number written in plain digits, got '1_5'"),
    # check's --micro-batch is text (N or auto): the request reads it, on every path
    (CHECK, "--micro-batch", "1_0", "--micro-batch: expected a whole number from 1 to 1,000,000, got '1_0'"),
    # measure's --micro-batch is an int option: refused before the command runs (no torch needed)
    (("measure", "--model", "gpt2"), "--micro-batch", "1_0",
     "--micro-batch: expected a number written in plain digits, got '1_0'"),
    (("plan", "--gpu", "4090", "--duration", "1d"), "--gpus", "1_0",
     "--gpus: expected a number written in plain digits, got '1_0'"),
]


@pytest.fixture(params=["pass-through", "plain Typer"])
def typer_path(request, monkeypatch):
    """Each test runs on the path the installed Typer takes, and again with Typer's version faked to one the
    pass-through does not know (plain Typer coerces every value)."""
    if request.param == "plain Typer":
        monkeypatch.setattr(typer, "__version__", "0.30.0")
    fast.known_typer.cache_clear()
    yield request.param
    fast.known_typer.cache_clear()


@pytest.mark.parametrize(("command", "option", "value", "message"), CASES, ids=lambda v: v if isinstance(v, str) else v[0])
def test_underscores_are_refused_on_both_paths(cli, typer_path, command, option, value, message):
    for given in ((option, value), (f"{option}={value}",)):
        r = cli(*command, *given)
        assert (r.code, r.out, r.err) == (2, "", f"Error: {message}\n"), (typer_path, r.err)
    if typer_path == "plain Typer":
        assert not fast.known_typer()


def test_plain_numbers_still_pass_on_both_paths(cli, monkeypatch):
    known = cli(*CHECK, "--gpus", "2", "--seq", "512", "--pue", "1.5", "--format", "json")
    assert known.code == 0, known.err
    monkeypatch.setattr(typer, "__version__", "0.30.0")
    fast.known_typer.cache_clear()
    try:
        plain = cli(*CHECK, "--gpus", "2", "--seq", "512", "--pue", "1.5", "--format", "json")
        assert not fast.known_typer()
    finally:
        fast.known_typer.cache_clear()
    assert (plain.code, plain.out, plain.err) == (known.code, known.out, known.err)


def test_a_text_option_keeps_its_underscores(cli, tmp_path):
    out = tmp_path / "a_b.txt"  # --output is text: an underscore in a file name is no number
    r = cli(*CHECK, "--output", str(out))
    assert r.code == 0, r.err
    assert out.exists()

"""The start-up fast path passes a value through only where Typer's own coercion would give the same value."""

import pytest
import typer.main

from gpt2budget.cli.app import app
from gpt2budget.cli.fast import _MISS, plain_value

GROUP = typer.main.get_command(app)
SAMPLES = ["4", "0", "-1", "007", "+3", "0.5", "1e3", ".5", "1.", "inf", "nan", "1_000", " 5", "5 ", "abc", "",
           "json", "JSON", "amp-bf16", "AMP-BF16", "full", "4070ti", "1e400", "99999999999999999999", None,
           ("a", "b/c"), ("4070ti,4090",), (), ["x"], ("1", 2)]


def _params():
    for name, cmd in GROUP.commands.items():
        for p in cmd.params:
            if hasattr(p, "type_descriptor"):
                yield pytest.param(cmd, p, id=f"{name}:{p.name}")


@pytest.mark.parametrize(("cmd", "param"), list(_params()))
def test_fast_path_agrees_with_typer(cmd, param):
    from typer._click import Context

    ctx = Context(cmd, info_name=cmd.name)
    passed = 0
    for value in [*SAMPLES, param.default]:
        fast = plain_value(param, value)
        if fast is _MISS:
            continue
        passed += 1
        slow = type(param).process_value(param, ctx, value)  # Typer's own coercion
        assert fast == slow and type(fast) is type(slow), (param.name, value, fast, slow)
    assert passed >= 1 or param.required  # an optional parameter's default takes the fast path


def test_out_of_range_and_odd_spellings_take_typers_path():
    check = GROUP.commands["check"]
    mb = next(p for p in check.params if p.name == "gpus")  # a whole-number option with a minimum of 1
    fmt = next(p for p in check.params if p.name == "fmt")
    assert plain_value(mb, "0") is _MISS  # below min=1: Typer words the error
    assert plain_value(mb, "4") == 4
    assert plain_value(fmt, "JSON") is _MISS and plain_value(fmt, "json").value == "json"


def test_errors_are_unchanged(cli):
    r = cli("check", "--gpu", "4090", "--model", "gpt2", "--gpus", "0")
    assert r.code == 2 and r.err.startswith("Error: Invalid value for '--gpus'")
    # --micro-batch takes N or auto: the request words its range
    r = cli("check", "--gpu", "4090", "--model", "gpt2", "--micro-batch", "0")
    assert r.code == 2 and r.err.startswith("Error: --micro-batch: expected a whole number from 1")
    r = cli("check", "--gpu", "4090", "--model", "gpt2", "--format", "xml")
    assert r.code == 2 and "xml" in r.err

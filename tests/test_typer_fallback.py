"""The start-up pass-through (cli/fast.py) reads Typer internals: on a Typer it does not know it is skipped and
plain Typer does the work, with the same output (issue #28: `typer<0.30` was pinned for it)."""

import subprocess
import sys

import pytest
import typer
import typer.core

from gpt2budget.cli import fast

RUNS = [
    ("check", "--gpu", "4070ti", "--model", "gpt2-xl"),
    ("check", "--gpu", "4090", "--model", "gpt2", "--format", "json", "--micro-batch", "8", "--precision", "bf16"),
    ("sweep", "--gpu", "4090,h100", "--model", "gpt2", "--micro-batch", "1,8"),
    ("plan", "--gpu", "4070ti", "--duration", "30d"),
    ("models",),
    ("check", "--gpu", "4090", "--model", "gpt2", "--micro-batch", "0"),
    ("check", "--gpu", "4090", "--model", "gpt2", "--format", "xml"),
    ("check", "--gpu", "4090"),
    ("check", "--help"),
    ("--version",),
]


@pytest.fixture
def passes(monkeypatch):
    """How many values took the pass-through; the check of the Typer in use is redone for each test."""
    calls = []
    real = fast._process_value

    def counted(self, ctx, value):
        calls.append(self.name)
        return real(self, ctx, value)

    monkeypatch.setattr(fast, "_process_value", counted)
    fast.known_typer.cache_clear()
    yield calls
    fast.known_typer.cache_clear()


def outputs(cli):
    return [(r.code, r.out, r.err) for r in (cli(*args) for args in RUNS)]


@pytest.mark.skipif(not typer.__version__.startswith(fast.KNOWN_TYPER), reason="a Typer the pass-through does not know")
def test_the_pass_through_is_used_on_the_typer_it_knows(cli, passes):
    assert fast.known_typer()
    assert cli("check", "--gpu", "4070ti", "--model", "gpt2-xl").code == 0
    assert len(passes) > 20  # every parameter of check


@pytest.mark.skipif(not typer.__version__.startswith(fast.KNOWN_TYPER), reason="a Typer the pass-through does not know")
def test_the_known_typer_never_builds_its_coercion_for_check():
    """What the pass-through saves: Typer's per-parameter pydantic adapters are never imported for `check`."""
    code = ("import sys; from gpt2budget.cli.app import main\n"
            "try: main(['check', '--gpu', '4070ti', '--model', 'gpt2-xl', '--format', 'json'])\n"
            "except SystemExit: pass\n"
            "print('typer._adapters' in sys.modules, file=sys.stderr)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.stderr.strip().splitlines()[-1] == "False", r.stderr


@pytest.mark.parametrize("version", ["0.30.0", "1.0.0", "0.28.2", ""])
def test_an_unknown_typer_version_runs_plain_typer_with_the_same_output(cli, passes, monkeypatch, version):
    known = outputs(cli)
    monkeypatch.setattr(typer, "__version__", version)
    fast.known_typer.cache_clear()
    passes.clear()
    assert outputs(cli) == known
    assert not fast.known_typer() and passes == []


def test_a_typer_whose_process_value_changed_runs_plain_typer(cli, passes, monkeypatch):
    known = outputs(cli)
    real = typer.core.TyperOption.process_value

    def process_value(self, ctx, value, source=None):  # a new signature: the pass-through no longer matches it
        return real(self, ctx, value)

    monkeypatch.setattr(typer.core.TyperOption, "process_value", process_value)
    fast.known_typer.cache_clear()
    passes.clear()
    assert outputs(cli) == known
    assert passes == []


def test_a_typer_without_the_parameter_classes_runs_plain_typer(cli, passes, monkeypatch):
    known = outputs(cli)
    monkeypatch.delattr(typer.core, "TyperArgument")
    fast.known_typer.cache_clear()
    passes.clear()
    assert outputs(cli) == known
    assert not fast.known_typer() and passes == []


def test_a_parameter_without_typers_internals_is_left_to_typer():
    class Bare:  # a parameter without type_descriptor (as a plain click parameter has)
        name, multiple, nargs, required, callback = "x", False, 1, False, None

    bare = Bare()
    fast.speed_up([bare])
    assert "process_value" not in vars(bare)


def test_an_internal_that_fails_inside_the_pass_through_hands_the_value_to_typer(cli, passes, monkeypatch):
    known = outputs(cli)

    def broken(param, value):
        raise AttributeError("type_descriptor")

    monkeypatch.setattr(fast, "plain_value", broken)
    assert outputs(cli) == known
    assert passes  # the pass-through was entered, and handed every value on

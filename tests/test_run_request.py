"""One request type (#28 item 1): a configuration's inputs are a frozen, typed RunRequest; a misspelt name fails at
the call, a bad value raises UsageError naming the option and what is allowed, each default is stated once, and
the CLI's help advertises the ranges that are accepted (#31 item 15)."""

import dataclasses
import inspect
import re
from pathlib import Path

import pytest

from gpt2budget import request
from gpt2budget.api import compare, configure, evaluate, load, plan, sweep
from gpt2budget.errors import UsageError
from gpt2budget.request import DEFAULT_BATCH_TOKENS, RANGES, RunRequest

SRC = Path(__file__).resolve().parents[1] / "src" / "gpt2budget"


@pytest.fixture(scope="module")
def specs():
    return load()


# --- misspelt names fail at the call ---------------------------------------------------------------------------


@pytest.mark.parametrize(("wrong", "right"), [("microbatch", "micro_batch"), ("precison", "precision"),
                                              ("batch_token", "batch_tokens"), ("lora-rank", "lora_rank")])
def test_a_misspelt_option_fails_at_the_call_and_names_the_close_match(specs, wrong, right):
    with pytest.raises(UsageError, match=rf"{re.escape(wrong)}: is not an option of a run; did you mean {right}\?"):
        configure(specs, gpu="4070ti", model="gpt2", **{wrong: 4})


def test_a_misspelt_option_fails_for_compare_and_a_request_too(specs):
    with pytest.raises(UsageError, match="did you mean micro_batch"):
        compare(specs, model="gpt2", gpus=["4090"], microbatch=4)
    with pytest.raises(UsageError, match="did you mean micro_batch"):
        RunRequest(gpu="4090", model="gpt2").replace(microbatch=4)
    with pytest.raises(UsageError, match="did you mean micro_batch"):
        list(sweep(specs, gpu="4090", model="gpt2", microbatch="4"))


# --- bad values raise UsageError naming the field ---------------------------------------------------------------


@pytest.mark.parametrize(("field", "value", "message"), [
    ("seq", 0, "--seq: expected a whole number from 1 to 1,048,576, got 0"),
    ("precision", "fp64", "--precision: expected one of fp32, tf32, amp-bf16, amp-fp16, bf16, got 'fp64'"),
    ("micro_batch", "٣", "--micro-batch: expected a whole number from 1 to 1,000,000, got '٣'"),
    ("micro_batch", "1_000", "--micro-batch: expected a whole number"),
    ("micro_batch", 2.5, "--micro-batch: expected a whole number"),
    ("gpus", True, "--gpus: expected a whole number"),
    ("utilization", float("nan"), "--utilization: expected a number from 1e-06 to 1, got nan"),
    ("utilization", 0, "--utilization: expected a number from 1e-06 to 1, got 0"),
    ("host_memory", 0, "--host-memory: expected a number from 0.001 to 10,000,000"),
    ("pue", 0, "--pue: expected a number from 1 to 5, got 0"),
    ("average_draw", 10**400, "--average-draw: expected a number from 0.01 to 1.5, got a whole number of about 400"),
    ("tokens", "", "--tokens: cannot read ''"),
    ("tokens", -5, "--tokens: expected a positive count"),
    ("batch_tokens", [1], "--batch-tokens: expected a count"),
    ("duration", "", "--duration: cannot read ''"),
    ("duration", float("inf"), "--duration: expected a positive duration"),
    ("zero", "", "--zero: expected 0, 1, 2, 3 or an FSDP name"),
    ("zero", 7, "--zero: expected 0, 1, 2, 3"),
    ("gpu", "", "--gpu: empty gpu name ''"),
    ("stack", None, "--stack: expected an id or alias"),
    ("finetune", b"lora", "--finetune: expected one of none, full, lora, qlora, got b'lora'"),
])
def test_a_bad_value_raises_usage_error_naming_the_option(specs, field, value, message):
    fields = {"gpu": "4070ti", "model": "gpt2", field: value}
    with pytest.raises(UsageError, match=re.escape(message)):
        configure(specs, **fields)
    if field != "gpu":  # the catalogue, not the request, knows that no GPU has an empty name
        with pytest.raises(UsageError, match=re.escape(message)):
            RunRequest(**fields)


def test_the_old_failures_are_usage_errors(specs):
    """Each of #28's examples: seq=0 was 1,024, fp64 a KeyError, a zero budget a ZeroDivisionError."""
    ci = configure(specs, gpu="4070ti", model="gpt2")
    for budget in (0, -1, float("nan"), float("inf"), "", [10]):
        with pytest.raises(UsageError, match="--budget-usd"):
            plan(ci, [specs.models.get("gpt2", "--model")], budget)
    with pytest.raises(UsageError, match="--seq"):
        configure(specs, gpu="4070ti", model="gpt2", seq=0)


def test_tiny_utilization_with_tiny_parallel_efficiency_on_two_gpus_answers(specs):
    """#31 item 13: the smallest values allowed still give an answer (a very long one), not a traceback."""
    r = evaluate(configure(specs, gpu="4090", model="gpt2", gpus=2, utilization=RANGES["utilization"].lo,
                           parallel_efficiency=RANGES["parallel_efficiency"].lo))
    assert r.requirements.original.wall_time_hours > 1e6
    with pytest.raises(UsageError, match="--utilization"):
        configure(specs, gpu="4090", model="gpt2", gpus=2, utilization=1e-300, parallel_efficiency=1e-300)


def test_a_lora_rank_above_the_model_width_is_refused(specs):
    with pytest.raises(UsageError, match=r"--lora-rank: 1,024 is more than gpt2's width \(768\)"):
        configure(specs, gpu="4090", model="gpt2", finetune="lora", tokens="100M", lora_rank=1024)
    assert configure(specs, gpu="4090", model="gpt2", finetune="lora", tokens="100M", lora_rank=768)


# --- the request itself ------------------------------------------------------------------------------------------


def test_the_request_is_frozen_keyword_only_and_normalised():
    r = RunRequest(gpu="4090", model="gpt2", tokens="100M", duration="30d", batch_tokens="1k", zero="FULL_SHARD",
                   micro_batch="4")
    assert (r.tokens, r.duration, r.batch_tokens, r.zero, r.micro_batch) == (1e8, 30 * 86400.0, 1e3, 3, 4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.gpus = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        RunRequest("4090", "gpt2")  # type: ignore[misc]
    assert RunRequest(gpu="4090", model="gpt2", fsdp="FULL_SHARD") == RunRequest(gpu="4090", model="gpt2", zero=3)
    assert r.replace(micro_batch=8).micro_batch == 8 and r.replace() == r


def test_configure_takes_a_request_or_the_old_call_style_with_the_same_answer(specs):
    req = RunRequest(gpu="4070ti", model="gpt2-xl", finetune="lora", tokens="100M")
    a = configure(specs, req)
    b = configure(specs, gpu="4070ti", model="gpt2-xl", finetune="lora", tokens="100M")
    c = configure(specs, "4070ti", "gpt2-xl", "hf", finetune="lora", tokens="100M")
    assert a == b == c
    assert configure(specs, req, micro_batch=2).options.micro_batch == 2
    with pytest.raises(UsageError, match="--gpu: is required"):
        configure(specs, model="gpt2")
    with pytest.raises(UsageError, match="--gpu: given twice"):
        configure(specs, "4090", gpu="4090", model="gpt2")


def test_every_request_field_is_an_option_of_check():
    """The request's fields are check's options (a field the CLI cannot set, or an option the request lacks, is
    a mistake in one of them)."""
    from gpt2budget.cli import app

    cli_only = {"explain", "no_advice", "fmt", "output", "svg", "html", "no_color", "fail_if_infeasible",
                "no_calibration", "config_dir"}
    check_options = set(inspect.signature(app.check).parameters) - cli_only
    assert check_options == {f.name for f in dataclasses.fields(RunRequest)}


# --- defaults stated once ----------------------------------------------------------------------------------------


def test_the_defaults_are_stated_once():
    from gpt2budget.cli import app
    from gpt2budget.core.check import CheckInputs
    from gpt2budget.core.cost import CostInputs

    check = {name: p.default for name, p in inspect.signature(app.check).parameters.items()}
    assert check["batch_tokens"] == str(DEFAULT_BATCH_TOKENS)
    assert RunRequest.__dataclass_fields__["batch_tokens"].default == DEFAULT_BATCH_TOKENS
    assert CheckInputs._field_defaults["batch_tokens"] == DEFAULT_BATCH_TOKENS
    for name in ("average_draw", "pue", "price_per_kwh", "grid_gco2_per_kwh"):
        assert check[name] == RunRequest.__dataclass_fields__[name].default == CostInputs._field_defaults[name]
    literal = re.compile(r"(?<![0-9_])(524288|524_288|512 \* 1024)(?![0-9_])")
    places = [f"{p.relative_to(SRC)}:{i}" for p in sorted(SRC.rglob("*.py"))
              for i, line in enumerate(p.read_text().splitlines(), 1) if literal.search(line)]
    assert places == ["options.py:" + places[0].split(":")[1]] and len(places) == 1
    for value in ("0.17", "480.0", "64.0"):  # each cost default and the host memory: one definition
        where = [p for p in sorted(SRC.rglob("*.py")) if re.search(rf"(?<![0-9.]){re.escape(value)}(?![0-9])",
                                                                     p.read_text())]
        assert [p.name for p in where] == ["options.py"], value


def test_the_cli_ranges_are_the_request_ranges():
    """Every bounded option of every command advertises the range the request accepts (#31 item 15: `--utilization
    0` was advertised and refused)."""
    import typer.main

    from gpt2budget.cli.app import app

    group = typer.main.get_command(app)
    seen = 0
    for command in group.commands.values():  # type: ignore[attr-defined]
        for param in command.params:
            name = (param.name or "").replace("-", "_")
            if name in RANGES and not param.multiple and param.metavar != "N|auto":  # sweep's comma lists and
                # --micro-batch N|auto are checked item by item (by the request)
                r = RANGES[name]
                if r.hi == float("inf"):  # plan --budget-usd: open above, its help says "at least 0.01"
                    assert f"at least {r.lo:g}" in (param.help or "") and param.min is None
                    continue
                assert param.min == r.lo, (command.name, name)
                assert param.max == (None if r.hi == float("inf") else r.hi), (command.name, name)
                seen += 1
    assert seen >= 20


def test_sweep_refuses_unicode_digits_and_underscores(cli):
    for value in ("٣", "1_000", "0x18"):
        r = cli("sweep", "--gpu", "4090", "--model", "gpt2", "--micro-batch", value)
        assert r.code == 2 and r.err.startswith("Error: --micro-batch: expected a whole number from 1 to"), r.err


def test_help_and_acceptance_agree_at_the_ends(cli):
    for option, low, below in (("--utilization", "1e-06", "0"), ("--host-memory", "0.001", "0"),
                               ("--average-draw", "0.01", "0")):
        assert cli("check", "--gpu", "4090", "--model", "gpt2", option, low, "--format", "json").code == 0
        r = cli("check", "--gpu", "4090", "--model", "gpt2", option, below, "--format", "json")
        assert r.code == 2 and "Traceback" not in r.err


def test_empty_strings_are_errors_not_the_default(cli):
    for option in ("--tokens", "--batch-tokens", "--duration", "--zero", "--host-adam-params-per-s"):
        r = cli("check", "--gpu", "4090", "--model", "gpt2", option, "")
        assert r.code == 2 and r.err.startswith(f"Error: {option}:"), (option, r.err)


def test_zero_on_one_gpu_is_a_warning(cli):
    r = cli("check", "--gpu", "4090", "--model", "gpt2", "--zero", "2", "--format", "json")
    assert r.code == 0
    assert "Warning: --zero 2 shards across GPUs: on 1 GPU it changes nothing" in r.err
    assert "Warning" not in cli("check", "--gpu", "4090", "--model", "gpt2", "--zero", "2", "--gpus", "2",
                                "--format", "json").err


def test_exit_code_1_is_documented():
    from gpt2budget.cli import app

    assert "1 cannot write the output" in app.EPILOG
    assert request.RunRequest is RunRequest


def test_compare_takes_a_request_for_what_its_own_arguments_name_otherwise(specs):
    """compare's `gpus` filters the cards; a GPU count comes with a request (its gpu and model are each row's)."""
    one = compare(specs, model="gpt2", gpus=["4090"])[0]
    eight = compare(specs, model="gpt2", gpus=["4090"], request=RunRequest(gpu="-", model="-", gpus=8))[0]
    assert eight.original_hours < one.original_hours / 4
    with pytest.raises(UsageError, match="request: expected a RunRequest"):
        compare(specs, model="gpt2", gpus=["4090"], request={"gpus": 8})


@pytest.mark.parametrize("command", ["check", "compare", "plan", "measure"])
def test_every_cli_default_is_the_requests_default(command):
    """Left out on the command line or in Python, an option means the same: each CLI default, read as a request
    reads it, is the request's default (measure's --lora-rank states PEFT's 8, the request's None means 8)."""
    from gpt2budget.cli import app

    base = RunRequest(gpu="4090", model="gpt2")
    params = inspect.signature(getattr(app, command)).parameters
    compared = 0
    for f in dataclasses.fields(RunRequest):
        if f.name in ("gpu", "model") or f.name not in params:
            continue
        given = RunRequest(gpu="4090", model="gpt2", **{f.name: params[f.name].default})
        expected = request.DEFAULT_LORA_RANK if (f.name, command) == ("lora_rank", "measure") else getattr(base, f.name)
        if (f.name, command) == ("micro_batch", "check"):
            expected = "auto"  # check answers at the largest micro-batch that fits; the library keeps a number
        assert getattr(given, f.name) == expected, f.name
        compared += 1
    assert compared >= {"check": 32, "compare": 14, "plan": 8, "measure": 9}[command]


def test_check_builds_its_request_by_name():
    """No locals() handed on: each option is passed to the request by name."""
    from gpt2budget.cli import app

    source = inspect.getsource(app)
    assert "locals()" not in source


def test_underscores_in_numbers_are_refused_on_the_command_line(cli):
    """Typer's coercion read `--micro-batch 1_000` as 1000 and `--pue 1_5` as 15 (#31 item 15)."""
    for option, value in (("--micro-batch", "1_000"), ("--pue", "1_5"), ("--gpus", "1_0"), ("--seq", "1_024")):
        r = cli("check", "--gpu", "4090", "--model", "gpt2", option, value)
        words = "expected a whole number" if option == "--micro-batch" else "expected a number written in plain digits"
        assert r.code == 2 and r.err.startswith(f"Error: {option}: {words}") and value in r.err, r.err

import json
import math

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpt2budget.cli.app import main
from gpt2budget.core.advisor import advise, needs_advice
from gpt2budget.core.check import CheckInputs, default_precision, evaluate, fit_of, tokens_per_second, unsupported
from gpt2budget.errors import SpecError
from gpt2budget.options import DEFAULT_BATCH_TOKENS, RunOptions
from gpt2budget.output.report import check_data, to_json
from gpt2budget.output.schema import json_schema
from gpt2budget.specs import cache as spec_cache
from gpt2budget.specs.catalog import load_specs
from gpt2budget.specs.definitions import spec_data
from gpt2budget.specs.files import builtin_config_dir
from gpt2budget.specs.loader import parse_yaml, validate_data

SPECS = load_specs()
GPUS = sorted(SPECS.gpus.items)
MODELS = sorted(SPECS.models.items)
STACKS = sorted(SPECS.stacks.items)

configs = st.fixed_dictionaries({
    "gpu": st.sampled_from(GPUS), "model": st.sampled_from(MODELS), "stack": st.sampled_from(STACKS),
    "optimizer": st.sampled_from(["adamw", "adamw-fused", "adamw-8bit", "sgd", "sgd-momentum", "adafactor", "lion"]),
    "ckpt": st.booleans(), "attention": st.sampled_from(["flash", "eager"]),
    "dropout": st.sampled_from([0.0, 0.1]), "seq": st.sampled_from([128, 512, 1024, 2048]),
    "mb": st.integers(1, 64), "gpus": st.sampled_from([1, 2, 4, 8]), "zero": st.integers(0, 3),
    "offload": st.sampled_from(["none", "optimizer"]), "util": st.floats(0.05, 1.0),
}).filter(lambda c: (SPECS.stacks.items[c["stack"]].families is None  # a stack trains its families only (llmc)
                     or SPECS.models.items[c["model"]].family in SPECS.stacks.items[c["stack"]].families)
          and unsupported(SPECS.stacks.items[c["stack"]], RunOptions(  # what the stack's code can run
              optimizer=c["optimizer"], zero=c["zero"], offload=c["offload"])) is None)


def r_inputs(c):
    g, m, s = SPECS.gpus.items[c["gpu"]], SPECS.models.items[c["model"]], SPECS.stacks.items[c["stack"]]
    o = RunOptions(precision=default_precision(g, s), optimizer=c["optimizer"], checkpointing=c["ckpt"],
                   attention=c["attention"], dropout=c["dropout"], seq=c["seq"], micro_batch=c["mb"], gpus=c["gpus"],
                   zero=c["zero"], offload=c["offload"])
    return CheckInputs(g, m, s, o, utilization=c["util"])


CHECK_SCHEMA = json_schema("check")  # generated from the result types


def run(c, **over):
    c = {**c, **over}
    return check_data(evaluate(r_inputs(c)), with_advice=False)


def accumulates(c, **over):
    """Whether the run's optimizer step takes more than one micro-step (the default 524,288-token batch): PyTorch
    stacks then hold the gradients through micro-steps 2..n, so memory steps down where accumulation stops."""
    c = {**c, **over}
    return c["mb"] * c["seq"] * c["gpus"] < DEFAULT_BATCH_TOKENS


def finite(x):
    if isinstance(x, dict):
        return all(finite(v) for v in x.values())
    if isinstance(x, float):
        return math.isfinite(x)
    return True


@pytest.mark.slow  # 150 random configurations
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs)
def test_invariants(c):
    r = run(c)
    mem = r["memory"]
    assert abs(sum(mem["breakdown"].values()) - mem["allocator_peak_bytes"]) <= 1e-6 * mem["allocator_peak_bytes"] + 1
    if mem["fits"]:
        assert mem["max_micro_batch"] >= c["mb"]
    assert finite(r["memory"]) and finite(r["compute"])
    typed = evaluate(r_inputs(c))
    # plan's screen (memory and speed without the rest) agrees with the full evaluation
    fits, b_max, trainable = fit_of(r_inputs(c))
    assert (fits, b_max, trainable) == (typed.memory.fits, typed.memory.max_micro_batch, typed.model.trainable_params)
    assert tokens_per_second(r_inputs(c), trainable) == pytest.approx(typed.compute.tokens_per_second, rel=1e-12)
    typed = typed._replace(advice=advise(r_inputs(c), SPECS.models, typed) if needs_advice(typed) else ())
    # every JSON output validates against `gpt2budget schema check` (generated from the result types)
    jsonschema.validate(json.loads(to_json(check_data(typed))), CHECK_SCHEMA)
    # memory never falls as micro-batch or sequence grows, unless the step stops accumulating gradients there
    if accumulates(c) == accumulates(c, mb=c["mb"] + 1):
        assert run(c, mb=c["mb"] + 1)["memory"]["allocator_peak_bytes"] >= mem["allocator_peak_bytes"]
    if accumulates(c) == accumulates(c, seq=c["seq"] * 2):
        assert run(c, seq=c["seq"] * 2)["memory"]["allocator_peak_bytes"] >= mem["allocator_peak_bytes"]
    # more GPUs never means more time or more memory per GPU (at efficiency <= 1); nor a higher ZeRO stage
    more = run(c, gpus=c["gpus"] * 2)
    if c["gpus"] > 1:
        assert more["memory"]["allocator_peak_bytes"] <= mem["allocator_peak_bytes"] + 1
        assert more["requirements"]["original"]["wall_time_hours"] <= r["requirements"]["original"]["wall_time_hours"]
    zeros = SPECS.stacks.items[c["stack"]].supported_zero
    if c["zero"] < 3 and c["gpus"] > 1 and (zeros is None or c["zero"] + 1 in zeros):
        assert run(c, zero=c["zero"] + 1)["memory"]["allocator_peak_bytes"] <= mem["allocator_peak_bytes"] + 1
    # higher utilization never means more time
    if c["util"] < 0.99:
        faster = run(c, util=min(1.0, c["util"] * 1.1))
        assert faster["requirements"]["original"]["wall_time_hours"] <= r["requirements"]["original"]["wall_time_hours"]


words = st.sampled_from(["--gpu", "--model", "--micro-batch", "--utilization", "--duration", "--tokens", "--seq",
                         "--precision", "--zero", "--format", "--gpus", "check", "gpus", "plan", "4070ti", "gpt2",
                         "-1", "0", "1e999", "nan", "abc", "", "--", "7", "1y", "json", "💥", "--offload"])


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(words, st.text(max_size=8)), max_size=8))
@pytest.mark.slow
def test_hostile_arguments_never_traceback(capsys, args):
    try:
        main(["check", *args])
        code = 0
    except SystemExit as exc:
        code = exc.code
    cap = capsys.readouterr()
    assert "Traceback" not in cap.err + cap.out
    assert code in (0, 2, 3, 4, None)
    if code == 2:
        assert cap.err.startswith("Error: ") and len(cap.err.strip().splitlines()) == 1


SPEC_TEXT = (builtin_config_dir() / "gpus" / "rtx-4090.yaml").read_text()
yaml_chars = st.sampled_from(list(":-{}[],&*!|>'\"#%@`?\n\t ") + ["!!python/object:os.system", "&a", "*a", "<<:",
                                                                     ".nan", ".inf", "-1", "0", "1e999", "\\x00", "é"])


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(SPEC_TEXT)), st.integers(0, 40), st.lists(yaml_chars, max_size=12))
@pytest.mark.slow
def test_mangled_spec_files_give_a_spec_error_or_a_spec(at, cut, noise):
    """A real spec with a slice cut out and YAML punctuation spliced in: loads, or raises SpecError naming the file."""
    text = SPEC_TEXT[:at] + "".join(noise) + SPEC_TEXT[at + cut:]
    try:
        data, lines = parse_yaml(text, "mangled.yaml")
        spec = validate_data("gpus", data, "mangled.yaml", lines)
    except SpecError as exc:
        assert str(exc).startswith("mangled.yaml") and "\n" not in str(exc)
    else:  # whatever validates comes back from the spec cache's encoding unchanged
        again = spec_cache.decode(spec_cache.encode(spec))
        assert type(again) is type(spec) and spec_data(again) == spec_data(spec)

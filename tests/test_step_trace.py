"""The step-time model carries its trace: its constants are one frozen object passed in (no module globals), and
each term is one function that returns its seconds with the formula, inputs and sources that made them."""

import dataclasses

import pytest

from gpt2budget.core import steptime
from gpt2budget.core.check import CheckInputs, evaluate
from gpt2budget.core.shape import Shape, n_params
from gpt2budget.core.step_constants import DEFAULT_STEP_CONSTANTS, StepConstants
from gpt2budget.core.steptime import step_time
from gpt2budget.options import RunOptions


def _step(specs, gpu="h100-sxm", model="gpt2", constants=DEFAULT_STEP_CONSTANTS, **options):
    m = specs.models.get(model, "--model")
    o = RunOptions(**options)
    return step_time(Shape.of(m, o.seq), float(n_params(Shape.of(m, m.n_ctx))), specs.gpus.get(gpu, "--gpu"),
                     specs.stacks.get("hf", "--stack"), o, batch_tokens=8 * 1024, constants=constants)


def test_the_constants_are_one_frozen_hashable_object():
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_STEP_CONSTANTS.kernel_floor_s = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        DEFAULT_STEP_CONSTANTS.gemm_ceiling["consumer"] = {}  # type: ignore[index]
    assert hash(DEFAULT_STEP_CONSTANTS) == hash(DEFAULT_STEP_CONSTANTS)
    # the model module keeps none of them as a global
    for f in dataclasses.fields(StepConstants):
        assert not hasattr(steptime, f.name.upper()), f.name


def test_a_variant_changes_the_result_without_touching_the_default(specs):
    """A variant is passed in (the benchmarks refit the Hopper-class unaligned GEMM speed so): the head over GPT-2's
    odd vocabulary slows, and the default result is the same before and after (the caches are keyed on the object)."""
    before = _step(specs, micro_batch=8)
    slow = dataclasses.replace(DEFAULT_STEP_CONSTANTS, unaligned_gemm_factor_tma=0.05)
    varied = _step(specs, micro_batch=8, constants=slow)
    assert varied.breakdown["matmul"] > before.breakdown["matmul"]
    assert varied.step_seconds > before.step_seconds
    after = _step(specs, micro_batch=8)
    assert after == before
    assert DEFAULT_STEP_CONSTANTS.unaligned_gemm_factor_tma == 0.15


def test_check_inputs_carry_the_constants(specs):
    from gpt2budget.api import configure
    from gpt2budget.api import evaluate as api_evaluate
    from gpt2budget.errors import UsageError

    ci = configure(specs, gpu="h100", model="gpt2")
    assert ci.step_constants is DEFAULT_STEP_CONSTANTS
    fast_cpu = dataclasses.replace(DEFAULT_STEP_CONSTANTS, kernel_floor_s=1e-3)
    slow = configure(specs, gpu="h100", model="gpt2", constants=fast_cpu)
    assert slow.step_constants is fast_cpu
    assert api_evaluate(slow).throughput.step_seconds > api_evaluate(ci).throughput.step_seconds
    assert evaluate(ci) == evaluate(CheckInputs(*ci))
    with pytest.raises(UsageError, match="constants"):
        configure(specs, gpu="h100", model="gpt2", constants={"kernel_floor_s": 1e-3})


CONFIGS = [dict(), dict(finetune="lora"), dict(gpus=8, zero=3), dict(checkpointing=True, micro_batch=4),
           dict(offload="optimizer"), dict(gpus=4, zero=3, offload="params", checkpointing=True),
           dict(attention="eager", dropout=0.1), dict(optimizer="muon", precision="tf32"), dict(precision="fp32")]


@pytest.mark.parametrize("options", CONFIGS)
def test_the_terms_carry_their_trace_and_sum_to_the_step(specs, options):
    """Each term is its seconds with a trace: a formula naming its inputs, each input a number with a unit, and the
    sources of the model's choices; the terms are the breakdown's, in its order, and sum to the step exactly."""
    import math

    st = _step(specs, model="gpt2-xl", **options)
    assert [t.name for t in st.terms] == list(st.breakdown)
    assert [t.seconds for t in st.terms] == list(st.breakdown.values())
    assert math.fsum(t.seconds for t in st.terms) == st.step_seconds
    for t in st.terms:
        tr = t.trace
        assert tr.formula and tr.source and tr.inputs, t.name
        for i in tr.inputs:
            assert i.name and i.unit and isinstance(i.value, (int, float)) and math.isfinite(i.value), (t.name, i)
        if t.seconds > 0:  # a term that counts names what it was computed from in its formula
            assert any(i.name in tr.formula for i in tr.inputs), t.name
    assert st.terms[0].trace.value("micro-steps") == st.micro_steps


def test_a_trace_reads_the_model_s_choices(specs):
    """The trace holds what explain used to work out again: the GEMM rate, the vocabulary's alignment speed on a
    Hopper-class GPU (0.15, kestrel #143), fused attention's measured shares, the CPU cost per kernel."""
    from gpt2budget.core.steptime import flash_efficiency, gemm_rate

    h100 = specs.gpus.get("h100-sxm", "--gpu")
    st = _step(specs, micro_batch=8)
    terms = {t.name: t.trace for t in st.terms}
    assert terms["matmul"].value("GEMM rate") == gemm_rate(h100, "amp-bf16", None)
    assert terms["matmul"].value("vocabulary alignment speed") == 0.15 and "kestrel #143" in terms["matmul"].source
    fwd, bwd, _ = flash_efficiency(h100, "flash2", "amp-bf16", 1024)
    assert (terms["attention"].value("forward share of peak"), terms["attention"].value("backward share of peak")) == \
        (fwd, bwd)
    assert "FA3 paper" in terms["attention"].source
    assert terms["cpu_dispatch"].value("CPU cost per kernel") == specs.stacks.get("hf", "--stack").step_time.dispatch_us_per_op
    assert terms["communication"].formula.startswith("0") and terms["offload"].formula.startswith("0")


def test_json_carries_the_trace_and_its_schema(cli):
    """check's JSON has throughput.terms: each term's seconds, formula, inputs ({name, value, unit}) and source,
    valid against `gpt2budget schema check`; the CSV has no column for it (a list does not flatten)."""
    import jsonschema

    args = ["check", "--gpu", "h100", "--model", "gpt2", "--gpus", "8", "--zero", "3"]
    doc = cli(*args, "--format", "json").json()
    terms = doc["throughput"]["terms"]
    assert [t["name"] for t in terms] == list(doc["throughput"]["breakdown"])
    assert [t["seconds"] for t in terms] == list(doc["throughput"]["breakdown"].values())
    comm = terms[5]["trace"]
    assert "all-reduce" in comm["formula"] and "Patarasuk" in comm["source"]
    assert {"name": "GPUs", "value": 8, "unit": "count"} in comm["inputs"]
    schema = cli("schema", "check").json()
    jsonschema.validate(doc, schema)
    bad = json_copy(doc)
    del bad["throughput"]["terms"][0]["trace"]["inputs"][0]["unit"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    assert "terms" not in cli(*args, "--format", "csv").out


def json_copy(doc):
    import json

    return json.loads(json.dumps(doc))


@pytest.mark.parametrize("options", [dict(), dict(gpus=8, zero=3), dict(offload="params", gpus=4, zero=3),
                                     dict(finetune="lora"), dict(stack="llmc", gpus=8, zero=1, optimizer="adamw-fused")])
def test_explain_prints_the_trace(specs, options):
    """--explain's step-time lines are the terms' traces, printed: each term that applies shows its seconds, its
    formula, every input (name and value) and its sources, as the result carries them; one that does not apply (one
    GPU's communication, no offload) is left out."""
    from gpt2budget.output.explain import explain_lines, input_text
    from gpt2budget.units import fmt_seconds

    options = dict(options)
    stack = specs.stacks.get(options.pop("stack", "hf"), "--stack")
    ci = CheckInputs(specs.gpus.get("h100-sxm", "--gpu"), specs.models.get("gpt2-xl", "--model"), stack,
                     RunOptions(**options), tokens=1e8 if "finetune" in options else None)
    r = evaluate(ci)
    lines = explain_lines(ci, r)
    for t in r.throughput.terms:
        line = next((x for x in lines if x.startswith(f"{t.name.replace('_', ' ')} = ")), None)
        if t.seconds == 0 and t.trace.formula.startswith("0:"):
            assert line is None, t.name
            continue
        assert line is not None, t.name
        assert line.startswith(f"{t.name.replace('_', ' ')} = {fmt_seconds(t.seconds)} = {t.trace.formula}; with ")
        assert line.endswith(f"({t.trace.source})")
        for i in t.trace.inputs:
            assert input_text(*i) in line, (t.name, i)

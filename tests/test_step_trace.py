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

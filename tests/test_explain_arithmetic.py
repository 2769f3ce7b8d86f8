"""`--explain` shows its arithmetic: every `a x b = c` (and a / b, a + b) it prints holds to the printed precision,
for random configurations: LoRA, ZeRO-3, offload, checkpointing and several GPUs included."""

import math
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpt2budget.core.check import CheckInputs, evaluate
from gpt2budget.errors import Gpt2BudgetError
from gpt2budget.options import RunOptions
from gpt2budget.output.explain import explain_lines

UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "min": 60.0, "h": 3600.0, "days": 86400.0, "B": 1.0, "KiB": 2.0**10,
         "MiB": 2.0**20, "GiB": 2.0**30}
NUMBER = r"-?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:e[+-]?\d+)?"
TERM = re.compile(rf"^\s*({NUMBER})(?:\s+({'|'.join(UNITS)}))?\s*$")


def value(text: str) -> tuple[float, float] | None:
    """A printed number (with an optional unit) as a float and its relative rounding (half a unit of its last
    significant digit; 0 for a count, such as a GPU count); None if it is not one."""
    m = TERM.match(text)
    if not m or not re.search(r"\d", m.group(1)):
        return None
    number = m.group(1)
    # a one-digit whole number is a count (GPUs, the 6 of 6·N); longer ones may be rounded, and .3g drops trailing
    # zeros (28.0 prints as 28): read them as at least 3 significant digits
    exact = re.fullmatch(r"-?\d", number) is not None and not m.group(2)
    digits = len(re.sub(r"e.*|[^\d]", "", number).lstrip("0")) or 1
    digits = digits if "." in number or "e" in number else max(digits, 3)
    return float(number.replace(",", "")) * UNITS.get(m.group(2) or "", 1.0), 0.0 if exact else 0.5 * 10 ** (1 - digits)


def evaluate_expr(text: str) -> tuple[float, float] | None:
    """A printed expression of numbers with x, /, + (x and / first), and its relative rounding slack."""
    total, slack = 0.0, 0.0
    for part in text.split(" + "):
        tokens = re.split(r" (x|/) ", part)
        first = value(tokens[0])
        if first is None:
            return None
        acc, sl = first
        for op, operand in zip(tokens[1::2], tokens[2::2], strict=True):
            v = value(operand)
            if v is None:
                return None
            acc = acc * v[0] if op == "x" else acc / v[0] if v[0] else math.inf
            sl += v[1]
        total += acc
        slack = max(slack, sl)
    return total, slack


def checked_equations(lines: list[str]) -> list[tuple[str, float, float, float]]:
    """(equation, left, right, tolerance) for every `expression = number` in the lines."""
    out = []
    for line in lines:
        for clause in re.split(r"; |, (?=[a-z])", line):
            parts = clause.split(" = ")
            for lhs, rhs in zip(parts, parts[1:], strict=False):
                lhs = re.sub(r"^.*?: ", "", lhs) if ": " in lhs else lhs
                left = evaluate_expr(lhs)
                right = value(re.split(r"\s{2}|\s+\(| vs |  <-", rhs)[0].strip())
                if left is None or right is None or not ({"x", "/", "+"} & set(lhs.split())):
                    continue
                tol = left[1] + right[1] + 1e-9
                out.append((f"{lhs} = {rhs}", left[0], right[0], tol))
    return out


def test_the_checker_catches_a_wrong_product():
    assert checked_equations(["a = 2 x 3.00 = 6.00"]) == [("2 x 3.00 = 6.00", 6.0, 6.0, pytest.approx(0.01, 1e-3))]
    bad = checked_equations(["available = 8 x 9.89e+14 x 0.0556 x 3.154e+07 s x 0.91 = 1.39e+22"])
    assert bad and abs(bad[0][1] / bad[0][2] - 1) > bad[0][3]


def _assert_holds(lines: list[str]) -> int:
    eqs = checked_equations(lines)
    for eq, left, right, tol in eqs:
        assert math.isclose(left, right, rel_tol=tol, abs_tol=1e-12), f"{eq}: {left:.6g} != {right:.6g}"
    return len(eqs)


def _lines(specs, gpu, model, **options):
    ci = CheckInputs(specs.gpus.get(gpu, "--gpu"), specs.models.get(model, "--model"),
                     specs.stacks.get(options.pop("stack", "hf"), "--stack"), RunOptions(**options),
                     tokens=1e8 if options.get("finetune", "none") != "none" else None)
    return explain_lines(ci, evaluate(ci))


@pytest.mark.parametrize("options", [
    {"finetune": "lora"}, {"gpus": 8, "zero": 3}, {"checkpointing": True, "micro_batch": 4},
    {"offload": "optimizer"}, {"gpus": 4, "zero": 3, "offload": "params", "checkpointing": True},
    {"finetune": "qlora", "gpus": 2}, {"stack": "llmc", "gpus": 8, "zero": 1, "optimizer": "adamw-fused"},
])
def test_the_issue_s_configurations(specs, options):
    assert _assert_holds(_lines(specs, "h100-sxm", "gpt2-xl", **options)) >= 8


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(gpu=st.sampled_from(["rtx-4070-ti", "h100-sxm", "a100-sxm-80gb", "rtx-3090", "l4"]),
       model=st.sampled_from(["gpt2", "gpt2-medium", "gpt2-xl"]),
       stack=st.sampled_from(["hf", "nanogpt", "llmc"]),
       precision=st.sampled_from(["amp-bf16", "fp32", "bf16", "tf32"]),
       micro_batch=st.integers(1, 32), gpus=st.sampled_from([1, 2, 8]), zero=st.integers(0, 3),
       checkpointing=st.booleans(), offload=st.sampled_from(["none", "optimizer", "params"]),
       finetune=st.sampled_from(["none", "full", "lora", "qlora"]))
def test_every_printed_equation_holds(specs, gpu, model, stack, precision, micro_batch, gpus, zero, checkpointing,
                                      offload, finetune):
    try:
        lines = _lines(specs, gpu, model, stack=stack, precision=precision, micro_batch=micro_batch, gpus=gpus,
                       zero=zero, checkpointing=checkpointing and stack != "llmc", offload=offload, finetune=finetune)
    except Gpt2BudgetError:
        return  # a configuration check refuses (e.g. params offload without ZeRO-3 on several GPUs)
    _assert_holds(lines)

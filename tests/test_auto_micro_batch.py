"""--micro-batch auto (issue 31 item 2): the largest micro-batch that fits (with the reserve, at most the batch's
sequences per GPU, at least 1), said in the assumptions; and one line when another stack or setting trains much
faster than the run asked."""

import pytest

from gpt2budget.api import configure, evaluate
from gpt2budget.core.advisor import MUCH_FASTER, faster_alternative
from gpt2budget.core.check import largest_fitting_micro_batch
from gpt2budget.errors import UsageError


def test_the_largest_micro_batch_that_fits(specs):
    ci = configure(specs, "4070ti", "gpt2", micro_batch=1)
    b = largest_fitting_micro_batch(ci)
    assert b == evaluate(ci).memory.max_micro_batch == 6  # the 4070 Ti: micro-batch 6 fits
    assert evaluate(ci._replace(options=ci.options.with_(micro_batch=b))).memory.fits
    assert not evaluate(ci._replace(options=ci.options.with_(micro_batch=b + 1))).memory.fits


def test_the_reserve_lowers_it(specs):
    plain = largest_fitting_micro_batch(configure(specs, "4070ti", "gpt2"))
    held = largest_fitting_micro_batch(configure(specs, "4070ti", "gpt2", reserve_gib=3))
    assert 1 <= held < plain


def test_never_more_than_one_steps_sequences_per_gpu(specs):
    # an H100 fits 51 sequences of gpt2 (with the gradients a 512K-token batch accumulates); a 16k-token batch is
    # 16 sequences, 8 per GPU on two
    assert largest_fitting_micro_batch(configure(specs, "h100", "gpt2")) == 51
    assert largest_fitting_micro_batch(configure(specs, "h100", "gpt2", batch_tokens="16384")) == 16
    assert largest_fitting_micro_batch(configure(specs, "h100", "gpt2", batch_tokens="16384", gpus=2)) == 8


def test_at_least_one_when_nothing_fits(specs):
    ci = configure(specs, "4070ti", "gpt2-xl")
    assert evaluate(ci).memory.max_micro_batch == 0
    assert largest_fitting_micro_batch(ci) == 1


def build_inputs(specs, gpu, model, stack, **fields):
    """The configuration a command builds from its options (a RunRequest through api.configure)."""
    fields.pop("no_calibration", None)
    return configure(specs, gpu=gpu, model=model, stack=stack, **fields)


def test_build_inputs_reads_auto_and_numbers(specs):
    auto = build_inputs(specs, "4070ti", "gpt2", "hf", micro_batch="auto", no_calibration=True)
    assert auto.micro_batch_auto and auto.options.micro_batch == 6
    four = build_inputs(specs, "4070ti", "gpt2", "hf", micro_batch="4", no_calibration=True)
    assert not four.micro_batch_auto and four.options.micro_batch == 4
    assert build_inputs(specs, "4070ti", "gpt2", "hf", micro_batch=3, no_calibration=True).options.micro_batch == 3
    for bad in ("six", "٣", "1.5", ""):
        with pytest.raises(UsageError, match="--micro-batch"):
            build_inputs(specs, "4070ti", "gpt2", "hf", micro_batch=bad, no_calibration=True)


def test_compare_takes_auto(cli):
    def rows(mb):
        return {r["gpu"]: r for r in cli("compare", "--model", "gpt2", "--gpu", "4070ti", "--gpu", "h100",
                                         "--micro-batch", mb, "--format", "json").json()}
    one, auto = rows("1"), rows("auto")
    for gpu in ("rtx-4070-ti", "h100-sxm"):
        assert auto[gpu]["fits"] and auto[gpu]["original_hours"] < one[gpu]["original_hours"]
    r = cli("compare", "--model", "gpt2", "--micro-batch", "lots")
    assert r.code == 2 and "--micro-batch" in r.err


def test_the_assumptions_say_what_auto_chose(specs):
    import io

    from rich.console import Console

    from gpt2budget.output.render import render_check

    def assumptions(ci):
        con = Console(file=io.StringIO(), width=400, no_color=True)
        render_check(con, evaluate(ci), {}, None, False, ci.micro_batch_auto)
        return next(line for line in con.file.getvalue().splitlines() if line.startswith("Assumptions"))

    auto = build_inputs(specs, "4070ti", "gpt2", "hf", micro_batch="auto", no_calibration=True)
    assert "micro-batch 6 (the largest that fits) |" in assumptions(auto)
    none_fits = build_inputs(specs, "4070ti", "gpt2-xl", "hf", micro_batch="auto", no_calibration=True)
    assert "micro-batch 1 (auto: not even 1 fits) |" in assumptions(none_fits)
    # a number still means that number, and the line is as before
    six = build_inputs(specs, "4070ti", "gpt2", "hf", micro_batch="6", no_calibration=True)
    assert "micro-batch 6 | seq 1024 |" in assumptions(six)


def test_a_much_faster_stack_is_named(specs, cli):
    ci = configure(specs, "4070ti", "gpt2", micro_batch=1)
    base = evaluate(ci)
    alt = faster_alternative(ci, specs.stacks, base)
    assert alt is not None and alt.speedup >= MUCH_FASTER
    assert alt.result.inputs.stack != "hf" and alt.result.memory.fits
    assert alt.result.compute.tokens_per_second == pytest.approx(alt.speedup * base.compute.tokens_per_second)
    out = cli("check", "--gpu", "4070ti", "--model", "gpt2", "--micro-batch", "1").out
    line = next(x for x in out.splitlines() if x.startswith("Much faster: "))
    assert f"--stack {alt.result.inputs.stack}" in line and f"{alt.speedup:.1f}x faster" in line


def test_no_line_when_nothing_is_much_faster(specs, cli):
    # llm.c at its largest micro-batch is the fastest stack this tool models: nothing is 1.5x faster
    ci = configure(specs, "4070ti", "gpt2", stack="llmc", micro_batch=28)
    assert faster_alternative(ci, specs.stacks, evaluate(ci)) is None
    out = cli("check", "--gpu", "4070ti", "--model", "gpt2", "--stack", "llmc", "--micro-batch", "28").out
    assert "Much faster" not in out
    # a run that does not fit gets the advisor, not this line
    assert "Much faster" not in cli("check", "--gpu", "4070ti", "--model", "gpt2-xl").out


@pytest.mark.parametrize(("gpu", "model"), [("4070ti", "gpt2"), ("4090", "gpt2-medium"), ("t4", "gpt2")])
def test_the_much_faster_line_pastes_into_check(cli, gpu, model):
    import re
    import shlex

    base = ["check", "--gpu", gpu, "--model", model, "--micro-batch", "1"]
    line = next(x for x in cli(*base).out.splitlines() if x.startswith("Much faster: "))
    m = re.match(r"Much faster: (.*) trains ([\d.]+)x faster", line)
    assert m, line
    before = cli(*base, "--format", "json").json()
    after = cli(*base, *shlex.split(m.group(1)), "--format", "json", "--no-advice").json()
    assert after["memory"]["fits"]
    ratio = after["compute"]["tokens_per_second"] / before["compute"]["tokens_per_second"]
    assert f"{ratio:.1f}" == m.group(2) and ratio >= 1.5

"""Totals are the correctly rounded sums of their terms (math.fsum), so every supported Python prints the same
digits: 3.12 made the built-in sum() compensated, 3.10 and 3.11 add left to right (issue #31: on 3.13 `sweep`
printed the RTX 4090's gpt2 training time as 110.47637436508128 h, on 3.11 as 110.47637436508127)."""

import itertools
import math

from gpt2budget.core.check import CheckInputs, evaluate
from gpt2budget.options import RunOptions


def test_step_time_and_memory_totals_are_exact_sums_of_their_terms(specs):
    checked = 0
    for gpu, model, precision, ckpt, mb in itertools.product(
            ("4090", "4070ti", "h100-sxm", "a10", "mi300x"), ("gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl"),
            ("amp-bf16", "fp32"), (False, True), (1, 4, 16)):
        ci = CheckInputs(specs.gpus.get(gpu, "--gpu"), specs.models.get(model, "--model"), specs.stacks.get("hf", "--stack"),
                         RunOptions(precision=precision, checkpointing=ckpt, micro_batch=mb))
        r = evaluate(ci)
        th, mem = r.throughput, r.memory
        assert th.step_seconds == math.fsum(th.breakdown.values()), (gpu, model, precision, ckpt, mb)
        assert mem.allocator_peak_bytes == math.fsum(mem.breakdown.values()), (gpu, model, precision, ckpt, mb)
        checked += 1
    assert checked == 240


def test_the_sweep_prints_the_same_digits_on_every_python(cli):
    """The issue's example: the digits Python 3.12+ printed, now on every version."""
    r = cli("sweep", "--gpu", "4090", "--model", "gpt2", "--format", "csv")
    assert r.code == 0 and ",110.47637436508128," in r.out.splitlines()[1]  # the original recipe's hours

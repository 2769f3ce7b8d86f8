"""Dropout costs time: its masks' traffic, its kernels in eager stacks, and fused attention drawing its mask."""

import pytest


@pytest.mark.parametrize("stack,attention", [("hf", "flash"), ("hf", "eager"), ("nanogpt", "flash")])
def test_dropout_makes_every_step_slower(cli, stack, attention):
    def step(dropout: str) -> dict:
        return cli("check", "--gpu", "h100-sxm", "--model", "gpt2", "--stack", stack, "--attention", attention,
                   "--micro-batch", "16", "--dropout", dropout, "--format", "json").json()["throughput"]["breakdown"]

    off, on = step("0"), step("0.1")
    assert on["attention"] > off["attention"] and on["memory_bound"] > off["memory_bound"]
    if stack == "nanogpt" and attention == "flash":  # fused attention: flash-attention PR #2439's +15%
        assert on["attention"] == pytest.approx(off["attention"] * 1.15, rel=1e-9)


def test_eager_stacks_launch_dropout_kernels(specs):
    from gpt2budget.core.check import CheckInputs
    from gpt2budget.core.shape import Shape, n_params
    from gpt2budget.core.steptime import step_time
    from gpt2budget.options import RunOptions

    gpu, model, hf = specs.gpus.get("h100-sxm", "--gpu"), specs.models.get("gpt2", "--model"), specs.stacks.get("hf", "--stack")
    shape, n = Shape.of(model, 1024), float(n_params(Shape.of(model, 1024)))
    del CheckInputs
    # micro-batch 1 is launch-bound on the H100: the extra kernels show in the CPU's share
    off = step_time(shape, n, gpu, hf, RunOptions(), batch_tokens=1024)
    on = step_time(shape, n, gpu, hf, RunOptions(dropout=0.1), batch_tokens=1024)
    assert on.step_seconds > off.step_seconds

"""--torch: a stack profile knows the PyTorch version it describes, and sourced older profiles (configs/stacks:
torch_profiles) change only what those versions did differently. An older profile is never faster than the current
one; the option is checked against the stack; JSON and --explain name the version; the library takes it too."""

import dataclasses
import itertools
import json

import pytest

from gpt2budget.core.shape import Shape, n_params
from gpt2budget.core.step_constants import DEFAULT_STEP_CONSTANTS
from gpt2budget.core.steptime import flash_efficiency, step_time
from gpt2budget.errors import UsageError
from gpt2budget.options import RunOptions
from gpt2budget.specs.definitions import KeyValueError
from gpt2budget.specs.torch_versions import known_versions, stack_for_torch

FLASH1_CAUSAL_TFLOPS = DEFAULT_STEP_CONSTANTS.flash1_causal_tflops
PYTORCH_STACKS = ("hf", "nanogpt")


def _step(specs, gpu, model, stack, **options) -> float:
    m = specs.models.get(model, "--model")
    o = RunOptions(**options)
    shape = Shape.of(m, o.seq, stack.vocab_multiple)
    return step_time(shape, float(n_params(Shape.of(m, m.n_ctx))), specs.gpus.get(gpu, "--gpu"), stack, o,
                     batch_tokens=524288).step_seconds


def _older(specs, sid):
    stack = specs.stacks.get(sid, "--stack")
    return stack, [stack_for_torch(stack, v) for v in known_versions(stack) if v != stack.torch_version]


@pytest.mark.parametrize("sid", PYTORCH_STACKS)
def test_the_stacks_that_run_pytorch_name_their_version_and_llmc_none(specs, sid):
    stack = specs.stacks.get(sid, "--stack")
    assert stack.torch_version == "2.11" and "2.11.0" in stack.sources["torch_version"]
    assert known_versions(stack)[0] == "2.0" and known_versions(stack)[-1] == "2.11"
    assert specs.stacks.get("llmc", "--stack").torch_version is None


@pytest.mark.parametrize("sid", PYTORCH_STACKS)
def test_an_older_profile_is_never_faster_on_any_gpu(specs, sid):
    current, older = _older(specs, sid)
    for g in specs.gpus:
        for precision in ("amp-bf16", "fp32"):
            if g.peak_flops(precision) is None:
                continue
            base = _step(specs, g.id, "gpt2", current, precision=precision, micro_batch=8)
            for s in older:
                assert _step(specs, g.id, "gpt2", s, precision=precision, micro_batch=8) >= base * (1 - 1e-12), \
                    (g.id, precision, s.torch_version)


GRID_GPUS = ("h100-sxm", "h200-sxm", "a100-sxm-80gb", "rtx-4090", "rtx-3060-12gb", "l4", "b200", "v100-sxm2-32gb", "t4")


@pytest.mark.parametrize("sid", PYTORCH_STACKS)
def test_an_older_profile_is_never_faster_over_a_grid(specs, sid):
    current, older = _older(specs, sid)
    slower = 0
    for gpu, model, mb, seq, attention, precision, ckpt in itertools.product(
            GRID_GPUS, ("gpt2", "gpt2-xl", "llama-3.2-1b"), (1, 4, 32), (512, 1024, 4096), ("flash", "eager"),
            ("amp-bf16", "amp-fp16", "tf32"), (False, True)):
        if specs.gpus.get(gpu, "--gpu").peak_flops(precision) is None:
            continue
        opts = dict(precision=precision, micro_batch=mb, seq=seq, attention=attention, checkpointing=ckpt)
        base = _step(specs, gpu, model, current, **opts)
        for s in older:
            t = _step(specs, gpu, model, s, **opts)
            assert t >= base * (1 - 1e-12), (gpu, model, opts, s.torch_version)
            slower += t > base
    assert slower > 0  # the profiles change something


def test_pytorch_2_0_runs_flashattention_1_slower_than_2_2s_flashattention_2(specs):
    nanogpt = specs.stacks.get("nanogpt", "--stack")
    old, fa2 = stack_for_torch(nanogpt, "2.0"), stack_for_torch(nanogpt, "2.2")
    assert old.step_time.flash_kernel == "flash1" and fa2.step_time.flash_kernel == "flash2"
    assert old.step_time.matmul_shape_padding is False and fa2.step_time.matmul_shape_padding is True
    h100, a100 = specs.gpus.get("h100-sxm", "--gpu"), specs.gpus.get("a100-sxm-80gb", "--gpu")
    # at 1,024 tokens: FA1 / FA2 = 123 / 192 on an H100 and 70 / 119 on an A100 (flash-attention's FA2 figures)
    for gpu, row in ((h100, "hopper"), (a100, "ampere")):
        fa1_tf, fa2_tf = (r[1] for r in FLASH1_CAUSAL_TFLOPS[row])
        one, two = flash_efficiency(gpu, "flash1", "amp-bf16", 1024), flash_efficiency(gpu, "flash2", "amp-bf16", 1024)
        assert one.forward == pytest.approx(two.forward * fa1_tf / fa2_tf)
        assert one.backward == pytest.approx(two.backward * fa1_tf / fa2_tf)
    # fp32 and GPUs before Ampere run SDPA's memory-efficient kernel in every version: no change
    v100 = specs.gpus.get("v100-sxm2-32gb", "--gpu")
    assert flash_efficiency(v100, "flash1", "amp-fp16", 1024) == flash_efficiency(v100, "flash2", "amp-fp16", 1024)
    assert flash_efficiency(h100, "flash1", "fp32", 1024) == flash_efficiency(h100, "flash2", "fp32", 1024)


def test_older_inductor_adds_the_unfused_layernorm_backward_to_every_family(specs):
    nanogpt = specs.stacks.get("nanogpt", "--stack")
    old = stack_for_torch(nanogpt, "2.9")
    assert old.step_time.elementwise_backward == {"residual": 10.0, "compute": 32.0}
    llama_new = next(fp for fp in nanogpt.step_time.families if "llama" in fp.families)
    llama_old = next(fp for fp in old.step_time.families if "llama" in fp.families)
    assert llama_old.elementwise_backward == {
        k: v + 2 for k, v in llama_new.elementwise_backward.items()}
    assert stack_for_torch(nanogpt, "2.10").step_time is nanogpt.step_time  # 2.10: the profile's physics


def test_the_current_version_and_none_are_the_stack_itself(specs):
    for sid in ("hf", "nanogpt", "nanochat", "llmc"):
        stack = specs.stacks.get(sid, "--stack")
        assert stack_for_torch(stack, None) is stack
        if stack.torch_version:
            assert stack_for_torch(stack, stack.torch_version) is stack
    nanogpt = specs.stacks.get("nanogpt", "--stack")
    assert stack_for_torch(nanogpt, "2.5") is stack_for_torch(nanogpt, "2.5")  # one object: the caches hold


@pytest.mark.parametrize("args,message", [
    (("--stack", "nanogpt", "--torch", "2.12"),
     "Error: --torch: the nanogpt stack has profiles for PyTorch 2.0, 2.1, 2.2, 2.3, 2.4, 2.5, 2.6, 2.7, 2.8, 2.9, "
     "2.10, 2.11; got '2.12'"),
    (("--stack", "llmc", "--torch", "2.5"), "Error: --torch: the llmc stack runs no PyTorch"),
    (("--stack", "nanochat", "--torch", "2.5"), "Error: --torch: the nanochat stack has profiles for PyTorch 2.11;"),
    (("--torch", "two"), "Error: --torch: expected a PyTorch version as major.minor text, such as 2.5 or 2.11"),
    (("--torch", "2"), "Error: --torch: expected a PyTorch version"),
])
def test_a_bad_torch_is_a_one_line_usage_error(cli, args, message):
    r = cli("check", "--gpu", "h100-sxm", "--model", "gpt2", *args)
    assert r.code == 2 and r.err.startswith(message) and r.err.count("\n") == 1 and "Traceback" not in r.err


@pytest.mark.parametrize("command", [
    ("compare", "--model", "gpt2", "--gpu", "h100-sxm"),
    ("plan", "--gpu", "h100-sxm"),
    ("sweep", "--gpu", "h100-sxm", "--model", "gpt2"),
])
def test_every_command_refuses_torch_with_llmc(cli, command):
    r = cli(*command, "--stack", "llmc", "--torch", "2.5")
    assert r.code == 2 and r.err.startswith("Error: --torch: the llmc stack runs no PyTorch")


def test_json_names_the_version_asked_for_and_leaves_it_out_otherwise(cli):
    base = ("check", "--gpu", "a100-sxm-80gb", "--model", "gpt2", "--stack", "nanogpt", "--micro-batch", "16",
            "--format", "json")
    default, old = cli(*base).json(), cli(*base, "--torch", "2.0").json()
    assert "torch" not in default["inputs"] and old["inputs"]["torch"] == "2.0"
    assert old["throughput"]["tokens_per_second"] < default["throughput"]["tokens_per_second"]
    same = cli(*base, "--torch", "2.11").json()
    assert same["inputs"].pop("torch") == "2.11" and same == default


def test_explain_names_the_version_the_profile_describes(cli):
    base = ("check", "--gpu", "h100-sxm", "--model", "gpt2", "--stack", "nanogpt", "--micro-batch", "16", "--explain")
    assert "profile = nanogpt's step time for PyTorch 2.11 (tests/data/h200_environment.json" in cli(*base).out
    old = cli(*base, "--torch", "2.0").out
    assert "profile = nanogpt's step time for PyTorch 2.0 (SDPA's FlashAttention-1, no matmul padding" in old
    assert "runs FlashAttention-1: x FA1 / FA2 at this length" in old
    assert "profile = " not in cli("check", "--gpu", "h100-sxm", "--model", "gpt2", "--stack", "llmc", "--explain").out


def test_the_library_request_takes_torch(specs):
    from gpt2budget.api import configure, evaluate
    from gpt2budget.options import DEFAULT_TORCH
    from gpt2budget.request import RunRequest

    assert RunRequest(gpu="h100-sxm", model="gpt2").torch is DEFAULT_TORCH is None
    ci = configure(specs, RunRequest(gpu="h100-sxm", model="gpt2", stack="nanogpt", torch=" 2.1 "))
    assert ci.torch == "2.1" and ci.stack.torch_version == "2.1" and ci.stack.step_time.flash_kernel == "flash1"
    assert evaluate(ci).inputs.torch == "2.1"
    with pytest.raises(UsageError, match="--torch: expected a PyTorch version as major.minor text"):
        RunRequest(gpu="h100-sxm", model="gpt2", torch=2.1)  # a float cannot tell 2.1 from 2.10
    with pytest.raises(UsageError, match="--torch: the llmc stack runs no PyTorch"):
        configure(specs, gpu="h100-sxm", model="gpt2", stack="llmc", torch="2.5")


def test_the_library_sweep_and_the_cli_sweep_carry_the_version(specs, cli):
    from gpt2budget.api import sweep

    rows = list(sweep(specs, gpu="h100-sxm", model="gpt2", stack="nanogpt", torch="2.0"))
    assert rows[0]["inputs.torch"] == "2.0" and rows[0]["error"] is None
    assert "inputs.torch" not in next(iter(sweep(specs, gpu="h100-sxm", model="gpt2", stack="nanogpt")))
    out = cli("sweep", "--gpu", "h100-sxm", "--model", "gpt2", "--stack", "nanogpt", "--torch", "2.0").out
    header, row = out.splitlines()[:2]
    assert "inputs.torch" in header.split(",")
    assert dict(zip(header.split(","), row.split(","), strict=False))["inputs.torch"] == "2.0"
    jsonl = cli("sweep", "--gpu", "h100-sxm", "--model", "gpt2", "--stack", "nanogpt", "--torch", "2.0", "--format",
                "jsonl").out
    assert json.loads(jsonl.splitlines()[0])["inputs.torch"] == "2.0"


def test_plan_and_compare_take_torch_and_plan_pastes_it(cli):
    doc = cli("plan", "--gpu", "h100-sxm", "--stack", "nanogpt", "--torch", "2.0", "--duration", "1d",
              "--format", "json").json()
    assert doc["best"]["check"].endswith("--torch 2.0")
    rows = {t: cli("compare", "--model", "gpt2", "--gpu", "a100-sxm-80gb", "--stack", "nanogpt", "--micro-batch",
                   "16", *t, "--format", "json").json()[0] for t in ((), ("--torch", "2.0"))}
    assert rows[("--torch", "2.0")]["original_hours"] > rows[()]["original_hours"]


def test_a_stack_file_states_its_profiles_consistently(specs):
    nanogpt = specs.stacks.get("nanogpt", "--stack")
    with pytest.raises(KeyValueError, match="older PyTorch profiles need torch_version"):
        dataclasses.replace(nanogpt, torch_version=None)
    with pytest.raises(KeyValueError, match="needs its source in sources.torch_version"):
        dataclasses.replace(nanogpt, sources={})
    twice = dataclasses.replace(nanogpt.torch_profiles[0], versions=("2.11",))
    with pytest.raises(KeyValueError, match="PyTorch 2.11 is described twice"):
        dataclasses.replace(nanogpt, torch_profiles=(twice,))


def test_the_much_faster_suggestion_keeps_the_version_asked_for(specs):
    from gpt2budget.api import configure, evaluate
    from gpt2budget.core.advisor import faster_alternative

    ci = configure(specs, gpu="a100-sxm-80gb", model="gpt2", micro_batch=4, torch="2.0")
    alt = faster_alternative(ci, specs.stacks, evaluate(ci))
    assert alt is not None and alt.result.inputs.stack == "nanogpt" and alt.result.inputs.torch == "2.0"
    same = configure(specs, gpu="a100-sxm-80gb", model="gpt2", stack="nanogpt", torch="2.0",
                     micro_batch=alt.result.inputs.micro_batch)
    assert alt.result.compute.tokens_per_second == evaluate(same).compute.tokens_per_second  # 2.0's nanoGPT, not 2.11's

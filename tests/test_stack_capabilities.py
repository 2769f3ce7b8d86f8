"""Each stack states what its code can run (supported_* in configs/stacks); a run asking for anything else is
refused with one line naming the option and the stack, and plan and the advisor never propose it (issue 31
item 4: llm.c has no CPU offload, 8-bit AdamW or LoRA/QLoRA; nanoGPT has no QLoRA, 8-bit AdamW or ZeRO)."""

import shlex

import pytest

REFUSED = [
    ("llmc", ["--offload", "optimizer"], "--offload"),
    ("llmc", ["--offload", "params"], "--offload"),
    ("llmc", ["--optimizer", "adamw-8bit"], "--optimizer"),
    ("llmc", ["--finetune", "lora", "--tokens", "100M"], "--finetune"),
    ("llmc", ["--finetune", "qlora", "--tokens", "100M"], "--finetune"),
    ("nanogpt", ["--finetune", "qlora", "--tokens", "100M"], "--finetune"),
    ("nanogpt", ["--optimizer", "adamw-8bit"], "--optimizer"),
    ("nanogpt", ["--gpus", "2", "--zero", "2"], "--zero"),
    ("nanogpt", ["--gpus", "2", "--zero", "3"], "--zero"),
]


@pytest.mark.parametrize(("stack", "args", "option"), REFUSED)
def test_a_stack_refuses_what_its_code_cannot_run(cli, stack, args, option):
    r = cli("check", "--gpu", "4090", "--model", "gpt2", "--stack", stack, *args)
    assert r.code == 2, r.out
    line = r.err.strip()
    assert line.startswith(f"Error: {option}: the {stack} stack") and "\n" not in line, line
    assert "Traceback" not in r.err


@pytest.mark.parametrize(("stack", "args"), [
    ("llmc", ["--finetune", "full", "--tokens", "100M"]), ("llmc", ["--gpus", "2", "--zero", "1"]),
    ("nanogpt", ["--finetune", "lora", "--tokens", "100M"]), ("nanogpt", ["--optimizer", "adamw"]),
    ("hf", ["--offload", "optimizer", "--optimizer", "adamw-8bit"]), ("hf", ["--finetune", "qlora", "--tokens", "1M"]),
])
def test_what_the_stack_has_still_answers(cli, stack, args):
    assert cli("check", "--gpu", "4090", "--model", "gpt2", "--stack", stack, *args).code == 0


def test_each_stack_states_its_capabilities(specs):
    llmc, nano, hf = (specs.stacks.get(s, "--stack") for s in ("llmc", "nanogpt", "hf"))
    assert "adamw-8bit" not in llmc.supported_optimizers and llmc.supported_offload == ("none",)
    assert not {"lora", "qlora"} & set(llmc.supported_finetune)
    assert "adamw-8bit" not in nano.supported_optimizers and "qlora" not in nano.supported_finetune
    assert nano.supported_zero == (0,)
    # a stack that says nothing (every user stack written before these keys) can run everything
    assert (hf.supported_optimizers, hf.supported_offload, hf.supported_finetune, hf.supported_zero) == (None,) * 4
    for s in (llmc, nano):
        assert s.default_optimizer in s.supported_optimizers


def test_a_stack_spec_with_an_unknown_optimizer_is_a_spec_error(tmp_path, cli):
    from gpt2budget.specs.files import builtin_config_dir

    text = (builtin_config_dir() / "stacks" / "llmc.yaml").read_text().replace("id: llmc", "id: my-llmc", 1)
    text = text.replace("supported_optimizers: [adamw-fused]", "supported_optimizers: [adamw-fused, adam-9bit]")
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "my-llmc.yaml").write_text(text)
    r = cli("check", "--gpu", "4090", "--model", "gpt2", "--stack", "my-llmc", "--config-dir", str(tmp_path))
    assert r.code == 3 and "supported_optimizers" in r.err and "adam-9bit" in r.err


@pytest.mark.parametrize("stack", ["llmc", "nanogpt"])
@pytest.mark.parametrize("gpu", ["4070ti", "3060"])
def test_plan_never_proposes_what_the_stack_cannot_run(cli, stack, gpu):
    doc = cli("plan", "--gpu", gpu, "--stack", stack, "--gpus", "2", "--format", "json").json()
    flags = " ".join(c.get("flags", "") for c in doc["considered"])
    assert "adamw-8bit" not in flags and "--offload" not in flags
    if stack == "nanogpt":
        assert "--zero" not in flags
    best = doc["best"]
    assert best is not None
    again = cli(*shlex.split(best["check"])[1:], "--format", "json", "--no-advice")
    assert again.code == 0, again.err


@pytest.mark.parametrize(("stack", "gpus"), [("llmc", "1"), ("nanogpt", "2")])
def test_the_advisor_never_proposes_what_the_stack_cannot_run(cli, stack, gpus):
    doc = cli("check", "--gpu", "4070ti", "--model", "gpt2-xl", "--stack", stack, "--gpus", gpus,
              "--format", "json").json()
    assert doc["advice"], "gpt2-xl does not fit a 4070 Ti: the advisor answers"
    for a in doc["advice"]:
        assert a["changes"].get("optimizer") != "adamw-8bit" and "offload" not in a["changes"], a["flags"]
        if stack == "nanogpt":
            assert a["changes"].get("zero", 0) == 0, a["flags"]

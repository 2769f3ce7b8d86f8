"""Values pinned from outside the code: what other tools print and what papers state, not what our own
formulas compute (#13 item 7)."""

import pytest

from gpt2budget.api import configure, evaluate, load
from gpt2budget.core.memory import lora_params
from gpt2budget.core.shape import Shape, n_params

SPECS = load()


def zero_layout_specs():
    """The catalogue with llm.c's memory layout (16-bit weights and gradients, fp32 master and AdamW states: the
    ZeRO paper's) allowed every ZeRO stage: llm.c itself runs stages 0 and 1 only (llmc/zero.cuh)."""
    from dataclasses import replace

    specs = load()
    specs.stacks.add(replace(specs.stacks.items["llmc"], supported_zero=None), "test: llm.c's layout, any stage")
    return specs


def test_peft_lora_parameter_count_for_gpt2():
    # PEFT's print_trainable_parameters() for GPT-2 with LoraConfig(r=8, target_modules=["c_attn"]):
    # "trainable params: 294,912"; also recorded by our H200 run (tests/data/h200_gpt2_training.jsonl, "trainable")
    gpt2 = Shape.of(SPECS.models.items["gpt2"], 1024)
    assert lora_params(gpt2, 8, "attention") == 294_912


@pytest.mark.parametrize(("model", "params"), [("gpt2", 124_439_808), ("gpt2-medium", 354_823_168),
                                                ("gpt2-large", 774_030_080), ("gpt2-xl", 1_557_611_200)])
def test_gpt2_parameter_counts_are_hugging_faces(model, params):
    # sum(p.numel() for p in GPT2LMHeadModel.from_pretrained(model).parameters()), tied embeddings counted once
    assert n_params(Shape.of(SPECS.models.items[model], 1024)) == params


@pytest.mark.parametrize(("zero", "bytes_per_param"), [(0, 16.0), (1, 2 + 2 + 12 / 64), (2, 2 + (2 + 12) / 64)])
def test_zero_bytes_per_parameter_are_the_papers(zero, bytes_per_param):
    """Rajbhandari et al. 2020 (ZeRO), §5 and Figure 1: mixed-precision Adam keeps 2Ψ (16-bit weights) + 2Ψ
    (16-bit gradients) + 12Ψ (fp32 weights, momentum, variance); ZeRO-1 shards the 12Ψ over N_d GPUs, ZeRO-2 the
    gradients too. llm.c keeps exactly this layout (bf16 weights and gradients, fp32 master and AdamW states)."""
    r = evaluate(configure(zero_layout_specs(), gpu="h100", model="gpt2-xl", stack="llmc", gpus=64, zero=str(zero),
                           checkpointing="none"))
    b = r.memory.breakdown
    states = sum(b[k] for k in ("weights", "master_weights", "gradients", "optimizer_states"))
    assert states / r.model.n_params_trained == pytest.approx(bytes_per_param, rel=1e-3)


def test_zero3_shards_everything_but_the_layers_it_gathers():
    r = evaluate(configure(zero_layout_specs(), gpu="h100", model="gpt2-xl", stack="llmc", gpus=64, zero="3",
                           checkpointing="none"))
    b, n = r.memory.breakdown, r.model.n_params_trained
    # the paper's 16Ψ/N_d, plus (Rajbhandari et al. 2020 §5.3) the current layer's gathered 16-bit weights
    assert (b["master_weights"] + b["gradients"] + b["optimizer_states"]) / n == pytest.approx(14 / 64, rel=1e-3)
    assert 2 / 64 < b["weights"] / n < 2 / 64 + 4 * 2 / 48  # its shard, and at most two gathered layers of 48

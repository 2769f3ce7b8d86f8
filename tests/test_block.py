"""The block description (gpt2budget.core.shape): every size derived from one definition of the block."""

import dataclasses

import pytest

from gpt2budget.core.check import CheckInputs, evaluate
from gpt2budget.core.memory import lora_params, terms_bytes
from gpt2budget.core.shape import Shape, flops_params, layer_gemms, layer_params, n_params, tensors
from gpt2budget.core.steptime import layer_ops, profile_for
from gpt2budget.options import RunOptions


@pytest.fixture(scope="module")
def gpt2(specs):
    return specs.models.get("gpt2", "--model")


def qwen(base):
    """Qwen2.5-0.5B's block as its config.json states it (model_families.md)."""
    return dataclasses.replace(base, id="qwen-test", family="qwen2", n_layer=24, n_embd=896, n_head=14, n_kv_head=2,
                               head_dim=64, d_ff=4864, vocab_size=151936, n_ctx=32768, mlp="swiglu", norm="rmsnorm",
                               bias="qkv", positions="rope", tied_embeddings=True)


def nanochat_d20(base):
    return dataclasses.replace(base, id="d20-test", family="nanochat", n_layer=20, n_embd=1280, n_head=10,
                               vocab_size=65536, n_ctx=2048, mlp="relu2", norm="rmsnorm-noweight", qk_norm=True,
                               bias="none", positions="rope", tied_embeddings=False, logit_softcap=15.0)


def test_gpt2s_block_is_the_closed_form(gpt2):
    for L, H, h in ((12, 12, 768), (48, 25, 1600), (7, 3, 96)):
        shape = Shape.of(dataclasses.replace(gpt2, n_layer=L, n_head=H, n_embd=h), 1024)
        assert n_params(shape) == 50257 * h + 1024 * h + L * (12 * h * h + 13 * h) + 2 * h
        assert layer_params(shape) == 12 * h * h + 13 * h
        assert [(g.k, g.n) for g in layer_gemms(shape)] == [(h, 3 * h), (h, h), (h, 4 * h), (4 * h, h)]
        assert len(tensors(shape)) == 12 * L + 4
        assert lora_params(shape, 8, "attention") == L * 8 * 4 * h
        assert lora_params(shape, 8, "all-linear") == L * 8 * (4 * h + 2 * h + 5 * h + 5 * h)


def test_grouped_query_attention_has_skinny_key_and_value_gemms(gpt2):
    shape = Shape.of(qwen(gpt2), 2048)
    gemms = {g.name: (g.k, g.n) for g in layer_gemms(shape)}
    assert gemms == {"attn.q_proj": (896, 896), "attn.k_proj": (896, 128), "attn.v_proj": (896, 128),
                     "attn.o_proj": (896, 896), "mlp.gate_proj": (896, 4864), "mlp.up_proj": (896, 4864),
                     "mlp.down_proj": (4864, 896)}
    assert n_params(Shape.of(qwen(gpt2), 32768)) == 494_032_768  # no position table: rope
    # PEFT's default LoRA targets for Llama-style models are q_proj and v_proj
    assert lora_params(shape, 8, "attention") == 24 * 8 * ((896 + 896) + (896 + 128))


def test_an_untied_input_embedding_is_a_lookup_not_flops(gpt2):
    shape = Shape.of(nanochat_d20(gpt2), 2048)
    assert n_params(shape) == 560_988_160
    assert flops_params(shape) == 560_988_160 - 65536 * 1280
    # nanochat's estimate_flops: 6 x matmul parameters + 12·L·n_head·head_dim·seq = 3.4918e9 at 2,048 tokens
    assert 6 * flops_params(shape) + 12 * 20 * 10 * 128 * 2048 == 3_491_758_080


def test_flops_per_token_follow_the_block(specs, gpt2):
    m = nanochat_d20(gpt2)
    ci = CheckInputs(specs.gpus.get("h100-sxm", "--gpu"), m, specs.stacks.get("nanogpt", "--stack"),
                     RunOptions(seq=2048), flops_formula="6n+attention")
    assert evaluate(ci).compute.flops_per_token == 3_491_758_080


def test_llama_style_layer_keeps_what_transformers_saves(specs, gpt2):
    """32h + 4·kv + 8·d_ff + 4·n_head (+ 16 B of rsqrt) bytes per layer and token under amp-bf16 (model_families.md
    §5.2, read from modeling_llama.py)."""
    shape = Shape.of(qwen(gpt2), 2048)
    hf = specs.stacks.get("hf", "--stack")
    got = terms_bytes(hf.layer_activations, shape, RunOptions(seq=2048))
    assert got == 32 * 896 + 4 * 128 + 8 * 4864 + 4 * 14 + 2 * 4


def test_a_large_vocabulary_s_logits_exceed_its_layers_activations(specs, gpt2):
    h100, hf = specs.gpus.get("h100-sxm", "--gpu"), specs.stacks.get("hf", "--stack")
    big = evaluate(CheckInputs(h100, qwen(gpt2), hf, RunOptions(seq=2048, micro_batch=4))).memory.breakdown
    assert big["logits"] > big["activations"]
    small = evaluate(CheckInputs(h100, gpt2, hf, RunOptions(micro_batch=4))).memory.breakdown
    assert small["logits"] < small["activations"]


def test_other_families_use_the_stack_s_own_counts(specs, gpt2):
    hf = specs.stacks.get("hf", "--stack")
    assert profile_for(hf, "gpt2") is hf.step_time
    assert layer_ops(hf, "amp-bf16", "llama").forward > layer_ops(hf, "amp-bf16", "gpt2").forward
    # fp32 runs launch none of autocast's casts, in every family
    assert layer_ops(hf, "fp32", "qwen2").forward == layer_ops(hf, "amp-bf16", "qwen2").forward - 7


def test_a_model_with_seven_gemms_per_layer_takes_longer_than_its_flops_alone_say(specs, gpt2):
    """The skinny K/V GEMMs and the SwiGLU's third matmul are timed with their own shapes."""
    h100, hf = specs.gpus.get("h100-sxm", "--gpu"), specs.stacks.get("hf", "--stack")
    r = evaluate(CheckInputs(h100, qwen(gpt2), hf, RunOptions(seq=2048, micro_batch=8)))
    assert 0.0 < r.throughput.mfu < 0.6
    assert r.throughput.breakdown["matmul"] > 0


def test_muon_keeps_one_momentum_per_matrix_and_adamw_states_for_the_rest(specs, gpt2):
    from gpt2budget.core.memory import param_bytes

    hf = specs.stacks.get("hf", "--stack")
    shape = Shape.of(nanochat_d20(gpt2), 2048)
    muon = param_bytes(shape, hf, RunOptions(optimizer="muon", seq=2048))
    adamw = param_bytes(shape, hf, RunOptions(optimizer="adamw-fused", seq=2048))
    matrices = 20 * sum(g.k * g.n for g in layer_gemms(shape))
    tables = 2 * 65536 * 1280  # wte and the untied head: AdamW
    # (the caching allocator rounds each tensor: within 2%)
    assert muon.states == pytest.approx(4 * matrices + 8 * tables, rel=0.02)
    assert adamw.states == pytest.approx(8 * (matrices + tables), rel=0.02)
    assert muon.states < adamw.states - 3.9 * matrices


def test_muon_s_newton_schulz_costs_time_and_shards_over_gpus(specs, gpt2):
    from gpt2budget.core.steptime import newton_schulz

    shape = Shape.of(nanochat_d20(gpt2), 2048)
    flops, matrices = newton_schulz(shape)
    h = 1280  # q, k, v, o: h x h; MLP h x 4h and 4h x h: T·(4m²n + 2m³), T = 5
    per_layer = 4 * 5 * (4 * h**3 + 2 * h**3) + 2 * 5 * (4 * h * h * 4 * h + 2 * h**3)
    assert flops == 20 * per_layer and matrices == 20 * 6
    h100, hf = specs.gpus.get("h100-sxm", "--gpu"), specs.stacks.get("hf", "--stack")
    one = evaluate(CheckInputs(h100, nanochat_d20(gpt2), hf, RunOptions(optimizer="muon", seq=2048, micro_batch=8)))
    adam = evaluate(CheckInputs(h100, nanochat_d20(gpt2), hf, RunOptions(optimizer="adamw", seq=2048, micro_batch=8)))
    assert one.throughput.breakdown["optimizer"] > adam.throughput.breakdown["optimizer"]
    eight = evaluate(CheckInputs(h100, nanochat_d20(gpt2), hf, RunOptions(optimizer="muon", seq=2048, micro_batch=8,
                                                                          gpus=8, zero=1)))
    assert eight.throughput.breakdown["optimizer"] < one.throughput.breakdown["optimizer"]


def test_nanochat_keeps_its_input_embedding_in_bf16_and_shards_its_optimizer(specs, gpt2):
    from gpt2budget.core.memory import param_bytes

    nc, hf = specs.stacks.get("nanochat", "--stack"), specs.stacks.get("hf", "--stack")
    assert nc.default_optimizer == "muon" and nc.optimizer_sharded
    shape = Shape.of(nanochat_d20(gpt2), 2048)
    opts = RunOptions(optimizer="muon", seq=2048)
    saved = param_bytes(shape, hf, opts).weights - param_bytes(shape, nc, opts).weights
    assert saved == pytest.approx(2 * 65536 * 1280, rel=0.01)  # wte at 2 bytes instead of 4
    h100 = specs.gpus.get("h100-sxm", "--gpu")
    one, eight = (evaluate(CheckInputs(h100, nanochat_d20(gpt2), nc, RunOptions(optimizer="muon", seq=2048,
                                                                                 micro_batch=16, gpus=g)))
                  for g in (1, 8))
    assert eight.memory.breakdown["optimizer_states"] == pytest.approx(one.memory.breakdown["optimizer_states"] / 8,
                                                                         rel=0.01)


def test_a_fused_linear_loss_never_holds_the_whole_logits(specs, gpt2):
    h100, hf = specs.gpus.get("h100-sxm", "--gpu"), specs.stacks.get("hf", "--stack")
    full, chunked, fused = (evaluate(CheckInputs(h100, qwen(gpt2), specs.stacks.get(stack, "--stack"),
                                                 RunOptions(seq=2048, micro_batch=4, loss=loss))).memory.breakdown["logits"]
                            for stack, loss in (("hf", "full"), ("nanogpt", "chunked"), ("hf", "fused-linear")))
    assert fused < chunked < full
    assert fused == pytest.approx(4 * 2048 * 896 * (4 + 2), rel=1e-9)  # an h-wide activation's worth per token
    with pytest.raises(Exception, match="--loss: the hf stack computes the loss as full, fused-linear"):
        evaluate(CheckInputs(h100, gpt2, hf, RunOptions(loss="chunked")))


def test_the_advisor_considers_the_fused_loss_where_the_stack_has_it(specs, gpt2):
    from gpt2budget.core.advisor import candidates

    h100 = specs.gpus.get("h100-sxm", "--gpu")
    for stack, offered in (("hf", True), ("llmc", False)):
        ci = CheckInputs(h100, gpt2, specs.stacks.get(stack, "--stack"), RunOptions(micro_batch=8))
        assert any(o.loss == "fused-linear" for o, _ in candidates(ci, [])) is offered

"""The GPT-2 successors as built-in models (#29): each one's parameter count pinned to its published figure (or,
where none is published to the parameter, to the count its config implies), nanochat's own FLOPs per token,
grouped-query attention's skinny K/V GEMMs, `--model config.json`, `models`' family column, `plan --family` and
llm.c's refusal of other families."""

import json

import pytest

from gpt2budget.api import configure, load, model_named
from gpt2budget.core.shape import Shape, flops_params, layer_gemms, n_params
from gpt2budget.errors import SpecError, UsageError

# id -> (parameters, where the figure comes from)
PUBLISHED = {
    "nanochat-d20": 560_988_160,  # nanochat's base-training report (speedrun.sh, Oct 2025)
    "nanochat-d32": 1_879_048_192,  # nanochat's d32 run (run1000.sh)
    "qwen2.5-0.5b": 494_032_768,  # Qwen2.5-0.5B: 0.49B (model.parameters() of the HF checkpoint)
    "llama-3.2-1b": 1_235_814_400,  # Llama 3.2 1B: 1.23B (model.parameters() of the HF checkpoint)
    "tinyllama-1.1b": 1_100_048_384,  # TinyLlama 1.1B (model.parameters() of the HF checkpoint)
    "smollm2-135m": 134_515_008,  # SmolLM2-135M (model.parameters() of the HF checkpoint)
}
# no count to the parameter is published for these: the count their configs imply (model card's rounding beside)
COMPUTED = {
    "smollm2-360m": 361_821_120,  # model card: 360M
    "smollm2-1.7b": 1_711_376_384,  # model card: 1.7B
    "qwen2.5-1.5b": 1_543_714_304,  # model card: 1.54B (1.31B non-embedding)
    "olmo-2-1b": 1_484_916_736,  # model card: 1B (two untied 100,352 x 2048 tables)
    "nanochat-d26": 1_081_999_360,  # 26 x 12 x 1664² + 2 x 65,536 x 1664
    "modded-nanogpt": 123_568_128,  # the speedrun's "124M"
}
FAMILY = {"smollm2-135m": "llama", "smollm2-360m": "llama", "smollm2-1.7b": "llama", "llama-3.2-1b": "llama",
          "tinyllama-1.1b": "llama", "qwen2.5-0.5b": "qwen2", "qwen2.5-1.5b": "qwen2", "olmo-2-1b": "olmo2",
          "nanochat-d20": "nanochat", "nanochat-d26": "nanochat", "nanochat-d32": "nanochat",
          "modded-nanogpt": "modded-nanogpt"}


@pytest.fixture(scope="module")
def catalogue():
    return load()


def params(model):
    return n_params(Shape.of(model, model.n_ctx))


@pytest.mark.parametrize("mid", sorted({**PUBLISHED, **COMPUTED}))
def test_each_built_in_model_has_its_parameter_count(catalogue, mid):
    m = catalogue.models.get(mid, "--model")
    assert params(m) == {**PUBLISHED, **COMPUTED}[mid]
    assert m.family == FAMILY[mid]


@pytest.mark.parametrize("mid", sorted(FAMILY))
def test_each_built_in_model_names_a_source_for_every_value(catalogue, mid):
    m = catalogue.models.get(mid, "--model")
    assert {"shape", "block", "n_ctx", "tied_embeddings", "original_tokens"} <= set(m.sources)
    assert m.notes is None or m.notes.strip()


def test_original_tokens_are_the_published_budgets(catalogue):
    tokens = {m.id: m.original_tokens for m in catalogue.models}
    assert tokens["smollm2-135m"] == 2e12 and tokens["smollm2-360m"] == 4e12 and tokens["smollm2-1.7b"] == 11e12
    assert tokens["qwen2.5-0.5b"] == tokens["qwen2.5-1.5b"] == 18e12
    assert tokens["llama-3.2-1b"] == 9e12 and tokens["tinyllama-1.1b"] == 3e12 and tokens["olmo-2-1b"] == 4e12
    # nanochat's base_train.py: target_param_data_ratio = 20, whole steps of 524,288 tokens
    for mid in ("nanochat-d20", "nanochat-d26", "nanochat-d32"):
        n = params(catalogue.models.get(mid, "--model"))
        assert tokens[mid] == 20 * n // 524_288 * 524_288
    assert tokens["nanochat-d20"] == 11_219_763_200  # the d20 report's "Number of training tokens"
    assert tokens["modded-nanogpt"] == 5100 * 8 * 64 * 1024  # record 7: 5100 steps of 512 x 1024 tokens


def test_untied_input_embeddings_take_no_part_in_flops(catalogue):
    d20 = catalogue.models.get("nanochat-d20", "--model")
    shape = Shape.of(d20, 2048)
    assert flops_params(shape) == n_params(shape) - 65_536 * 1280
    qwen = catalogue.models.get("qwen2.5-0.5b", "--model")  # tied: the table is the head's GEMM
    assert flops_params(Shape.of(qwen, 2048)) == n_params(Shape.of(qwen, 2048))


def test_nanochat_d20_flops_per_token_are_nanochats_own(cli):
    # nanochat's estimate_flops: 6 (N - wte) + 12 L n_head head_dim s = 3.491758e9 at s = 2048 (its report)
    r = cli("check", "--gpu", "h100", "--model", "nanochat-d20", "--seq", "2048", "--flops-formula",
            "6n+attention", "--format", "json", "--no-advice")
    assert r.code == 0, r.err
    assert r.json()["compute"]["flops_per_token"] == pytest.approx(3_491_758_080, rel=1e-12)


def test_gqa_key_and_value_projections_are_skinny(catalogue):
    qwen = catalogue.models.get("qwen2.5-0.5b", "--model")
    gemms = {g.name: (g.k, g.n) for g in layer_gemms(Shape.of(qwen, 2048))}
    assert gemms["attn.q_proj"] == (896, 896)
    assert gemms["attn.k_proj"] == gemms["attn.v_proj"] == (896, 128)  # 2 KV heads x 64
    assert gemms["mlp.gate_proj"] == gemms["mlp.up_proj"] == (896, 4864)
    llama = catalogue.models.get("llama-3.2-1b", "--model")
    assert {g.name: (g.k, g.n) for g in layer_gemms(Shape.of(llama, 2048))}["attn.k_proj"] == (2048, 512)


def test_aliases_resolve_and_collide_with_nothing(catalogue):
    assert catalogue.models.get("qwen-0.5b", "--model").id == "qwen2.5-0.5b"
    assert catalogue.models.get("Qwen/Qwen2.5-0.5B", "--model").id == "qwen2.5-0.5b"
    assert catalogue.models.get("smollm-135m", "--model").id == "smollm2-135m"
    assert catalogue.models.get("d20", "--model").id == "nanochat-d20"
    assert catalogue.models.get("124m", "--model").id == "gpt2"  # GPT-2's names stay GPT-2's
    assert catalogue.models.get("1.5b", "--model").id == "gpt2-xl"
    claims: dict[str, list[str]] = {}
    from gpt2budget.specs.definitions import normalize

    for m in catalogue.models:
        for name in {normalize(n) for n in (m.id, *m.aliases)}:
            claims.setdefault(name, []).append(m.id)
    assert {k: v for k, v in claims.items() if len(v) > 1} == {}


# --- the models table and plan --------------------------------------------------------------------------------


def test_models_lists_each_family_and_count_sorted_by_parameters(cli):
    rows = cli("models", "--format", "json").json()
    by_id = {r["id"]: r for r in rows}
    assert by_id["qwen2.5-0.5b"]["family"] == "qwen2" and by_id["gpt2"]["family"] == "gpt2"
    assert by_id["nanochat-d32"]["n_params"] == 1_879_048_192
    counts = [r["n_params"] for r in rows]
    assert counts == sorted(counts)
    table = cli("models", "--no-color").out
    assert "family" in table and "nanochat" in table
    assert "family" in cli("models", "--format", "csv").out.splitlines()[0].split(",")


def test_plan_ranks_one_family(cli):
    default = cli("plan", "--gpu", "4090", "--duration", "1d", "--format", "json").json()
    assert {c["model"] for c in default["considered"]} == {"gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl"}
    qwen = cli("plan", "--gpu", "4090", "--duration", "1d", "--family", "qwen2", "--format", "json").json()
    assert {c["model"] for c in qwen["considered"]} == {"qwen2.5-0.5b", "qwen2.5-1.5b"}
    every = cli("plan", "--gpu", "4090", "--duration", "1d", "--family", "all", "--format", "json").json()
    assert {c["model"] for c in every["considered"]} >= set(FAMILY) | {"gpt2"}
    bad = cli("plan", "--gpu", "4090", "--family", "mixtral")
    assert bad.code == 2 and "--family" in bad.err and "expected all or one of" in bad.err
    # llm.c trains GPT-2 only: --family all ranks its GPT-2 models, another family is refused
    llmc = cli("plan", "--gpu", "4090", "--duration", "1d", "--stack", "llmc", "--family", "all", "--format", "json")
    assert llmc.code == 0, llmc.err
    assert {c["model"] for c in llmc.json()["considered"]} == {"gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl"}
    refused = cli("plan", "--gpu", "4090", "--stack", "llmc", "--family", "qwen2")
    assert refused.code == 2 and "--family: the llmc stack trains gpt2 models only" in refused.err


def test_compare_by_model_lists_every_model(cli):
    rows = cli("compare", "--by", "model", "--gpu", "h100", "--format", "json").json()
    assert {r["model"] for r in rows} >= set(FAMILY)
    # llm.c trains GPT-2 only: the other families are left out, not an error
    llmc = cli("compare", "--by", "model", "--gpu", "h100", "--stack", "llmc", "--format", "json")
    assert llmc.code == 0, llmc.err
    assert {r["model"] for r in llmc.json()} == {"gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl"}


def test_the_advisor_suggests_smaller_models_of_the_same_family_only(catalogue):
    from gpt2budget.core.advisor import candidates

    ci = configure(catalogue, "4070ti", "gpt2-xl")
    suggested = {m.id for _, m in candidates(ci, list(catalogue.models))}
    assert suggested == {"gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl"}


# --- llm.c refuses other families -------------------------------------------------------------------------------


def test_llmc_refuses_other_families(cli, catalogue):
    assert catalogue.stacks.get("llmc", "--stack").families == ("gpt2",)
    r = cli("check", "--gpu", "h100", "--model", "qwen2.5-0.5b", "--stack", "llmc")
    assert r.code == 2
    assert "--stack: llmc trains gpt2 models only" in r.err and "qwen2.5-0.5b is qwen2" in r.err
    assert "use --stack hf or nanogpt" in r.err and "Traceback" not in r.err
    assert cli("check", "--gpu", "h100", "--model", "gpt2", "--stack", "llmc").code == 0
    assert cli("check", "--gpu", "h100", "--model", "qwen2.5-0.5b", "--stack", "nanogpt").code == 0


# --- --model config.json --------------------------------------------------------------------------------------

QWEN = {"architectures": ["Qwen2ForCausalLM"], "hidden_act": "silu", "hidden_size": 896, "intermediate_size": 4864,
        "max_position_embeddings": 32768, "max_window_layers": 24, "model_type": "qwen2", "num_attention_heads": 14,
        "num_hidden_layers": 24, "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
        "sliding_window": 32768, "tie_word_embeddings": True, "use_sliding_window": False, "vocab_size": 151936}
LLAMA = {"architectures": ["LlamaForCausalLM"], "hidden_act": "silu", "hidden_size": 2048, "intermediate_size": 8192,
         "max_position_embeddings": 131072, "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 16,
         "num_key_value_heads": 8, "head_dim": 64, "rms_norm_eps": 1e-05, "attention_bias": False, "mlp_bias": False,
         "rope_scaling": {"factor": 32.0, "rope_type": "llama3"}, "rope_theta": 500000.0, "tie_word_embeddings": True,
         "vocab_size": 128256}
TINYLLAMA = {"model_type": "llama", "hidden_size": 2048, "intermediate_size": 5632, "max_position_embeddings": 2048,
             "num_attention_heads": 32, "num_hidden_layers": 22, "num_key_value_heads": 4, "vocab_size": 32000,
             "tie_word_embeddings": False, "hidden_act": "silu"}
OLMO2 = {"architectures": ["Olmo2ForCausalLM"], "model_type": "olmo2", "hidden_size": 2048, "intermediate_size": 8192,
         "max_position_embeddings": 4096, "num_attention_heads": 16, "num_hidden_layers": 16,
         "num_key_value_heads": 16, "vocab_size": 100352, "tie_word_embeddings": False, "rms_norm_eps": 1e-06,
         "attention_bias": False, "hidden_act": "silu"}
MISTRAL = {"model_type": "mistral", "hidden_size": 4096, "intermediate_size": 14336, "max_position_embeddings": 32768,
           "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8, "vocab_size": 32768,
           "sliding_window": None, "head_dim": 128, "hidden_act": "silu"}
GPT2 = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "activation_function": "gelu_new", "n_ctx": 1024,
        "n_embd": 768, "n_head": 12, "n_layer": 12, "n_positions": 1024, "vocab_size": 50257}


def write(tmp_path, data, name="config.json", folder="model"):
    path = tmp_path / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data, indent=2))
    return path


@pytest.mark.parametrize(("config", "built_in"), [
    (QWEN, "qwen2.5-0.5b"), (LLAMA, "llama-3.2-1b"), (TINYLLAMA, "tinyllama-1.1b"), (OLMO2, "olmo-2-1b"),
    (GPT2, "gpt2")])
def test_a_config_json_describes_the_same_model_as_the_built_in_spec(tmp_path, catalogue, config, built_in):
    m = model_named(catalogue, str(write(tmp_path, config)))
    ref = catalogue.models.get(built_in, "--model")
    for key in ("family", "n_layer", "n_head", "n_embd", "vocab_size", "tied_embeddings", "mlp", "norm", "qk_norm",
                "bias", "positions"):
        assert getattr(m, key) == getattr(ref, key), key
    assert params(m) == params(ref)
    # not in a config.json: 20 tokens per parameter, said so
    assert m.original_tokens == 20 * params(m)
    assert "20 tokens per parameter assumed" in m.sources["original_tokens"] and "20 tokens" in (m.notes or "")
    assert m.id == "model" and m.n_ctx == config.get("max_position_embeddings", config.get("n_positions"))


def test_a_mistral_style_dense_config_is_a_llama_family_model(tmp_path, catalogue):
    m = model_named(catalogue, str(write(tmp_path, MISTRAL, folder="Mistral-7B-v0.3")))
    assert (m.family, m.id, m.n_kv_head, m.head_dim, m.bias) == ("llama", "mistral-7b-v0.3", 8, 128, "none")
    assert params(m) == 7_248_023_552  # Mistral-7B-v0.3: 7.25B


def test_the_cli_checks_a_config_json(cli, tmp_path):
    path = write(tmp_path, QWEN, name="qwen.json")
    r = cli("check", "--gpu", "4090", "--model", str(path), "--seq", "2048", "--format", "json", "--no-advice")
    assert r.code == 0, r.err
    assert r.json()["model"]["id"] == "qwen"


def test_a_config_json_is_found_by_its_path_without_the_json_suffix(tmp_path, catalogue):
    path = write(tmp_path, LLAMA, name="config")
    assert model_named(catalogue, str(path)).n_kv_head == 8


def refusal(tmp_path, catalogue, data):
    with pytest.raises(SpecError) as exc:
        model_named(catalogue, str(write(tmp_path, data)))
    message = str(exc.value)
    assert "\n" not in message and str(tmp_path / "model" / "config.json") in message
    return message


@pytest.mark.parametrize(("data", "key", "words"), [
    ({"model_type": "mixtral", "num_local_experts": 8, **{k: v for k, v in MISTRAL.items() if k != "model_type"}},
     "model_type", "mixture-of-experts"),
    ({**QWEN, "model_type": "qwen2_moe", "num_experts": 60}, "model_type", "mixture-of-experts"),
    ({**LLAMA, "num_local_experts": 8}, "num_local_experts", "mixture-of-experts"),
    ({"model_type": "deepseek_v3", "n_routed_experts": 256}, "model_type", "mixture-of-experts"),
    ({**MISTRAL, "sliding_window": 4096}, "sliding_window", "sliding-window attention is not modelled"),
    ({**QWEN, "use_sliding_window": True}, "use_sliding_window", "sliding-window attention is not modelled"),
    ({"model_type": "t5", "is_encoder_decoder": True}, "is_encoder_decoder", "encoder-decoder"),
    ({"model_type": "phi3"}, "model_type", "'phi3' is not supported"),
    ({"architectures": ["FalconForCausalLM"]}, "architectures", "cannot tell the model"),
    ({**LLAMA, "hidden_act": "gelu"}, "hidden_act", "only silu"),
    ({**LLAMA, "attention_bias": True}, "attention_bias", "not modelled"),
    ({**LLAMA, "num_hidden_layers": "16"}, "num_hidden_layers", "expected a whole number"),
    ({k: v for k, v in LLAMA.items() if k != "vocab_size"}, "vocab_size", "required key is missing"),
    ({**LLAMA, "num_key_value_heads": 5}, "num_key_value_heads", "not a multiple"),
    ({**LLAMA, "tie_word_embeddings": "yes"}, "tie_word_embeddings", "expected true or false"),
])
def test_what_cannot_be_modelled_is_refused_naming_the_key(tmp_path, catalogue, data, key, words):
    message = refusal(tmp_path, catalogue, data)
    assert f" {key}: " in message and words in message
    if words in ("mixture-of-experts", "encoder-decoder", "'phi3' is not supported", "cannot tell the model"):
        assert "supported: gpt2, llama, mistral" in message


@pytest.mark.parametrize(("text", "words"), [
    ("{\"model_type\": \"llama\",", "invalid JSON"), ("[1, 2]", "expected a JSON object"),
    ("\"llama\"", "expected a JSON object"), ("{\"vocab_size\": NaN}", "NaN is not a number JSON allows"),
    ("{\"a\": 1, \"a\": 2}", "duplicate key"), ("", "invalid JSON"), ("[" * 100_000, "invalid JSON"),
])
def test_garbage_json_is_refused_in_one_line(tmp_path, catalogue, text, words):
    assert words in refusal(tmp_path, catalogue, text)


def test_an_oversized_or_missing_config_is_refused(tmp_path, catalogue):
    from gpt2budget.specs.files import MAX_SPEC_BYTES

    big = write(tmp_path, json.dumps({**LLAMA, "padding": "x" * MAX_SPEC_BYTES}))
    with pytest.raises(SpecError, match="spec files are limited to"):
        model_named(catalogue, str(big))
    with pytest.raises(SpecError, match="cannot read file"):
        model_named(catalogue, str(tmp_path / "missing.json"))


def test_the_cli_prints_a_refused_config_as_one_error_line(cli, tmp_path):
    path = write(tmp_path, {**LLAMA, "num_local_experts": 8})
    r = cli("check", "--gpu", "4090", "--model", str(path))
    assert r.code == 3 and r.err.startswith("Error: ") and "num_local_experts" in r.err
    assert len(r.err.strip().splitlines()) == 1


def test_a_catalogue_name_wins_over_a_file_of_that_name(tmp_path, catalogue, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "gpt2").write_text(json.dumps(LLAMA))
    assert model_named(catalogue, "gpt2").family == "gpt2"
    with pytest.raises(UsageError):
        model_named(catalogue, "no-such-model")


def test_a_stack_names_only_families_that_exist(tmp_path):
    from gpt2budget.specs.files import builtin_config_dir
    from gpt2budget.specs.loader import spec_from_bytes

    text = (builtin_config_dir() / "stacks" / "llmc.yaml").read_text()
    assert spec_from_bytes("stacks", text.encode(), tmp_path / "llmc.yaml").families == ("gpt2",)
    bad = text.replace("families: [gpt2]", "families: [gpt2, mixtral]")
    with pytest.raises(SpecError, match="families: family 'mixtral' is not supported"):
        spec_from_bytes("stacks", bad.encode(), tmp_path / "llmc.yaml")


def test_a_short_time_in_a_column_of_years_keeps_its_own_unit():
    from gpt2budget.units import fmt_in, hours_unit

    years = hours_unit([34.6, 4.6 * 8760])
    assert years[0] == "years"
    assert fmt_in(34.6, years) == "34.6 h" and fmt_in(6 * 24, years) == "6.0 days"
    assert fmt_in(4.6 * 8760, years) == "4.6 years" and fmt_in(float("inf"), years) == "never"
    assert fmt_in(6 * 24, hours_unit([6 * 24, 14.4 * 24])) == "6.0 days"


def test_a_model_folder_is_read_through_its_config_json(tmp_path, catalogue):
    write(tmp_path, QWEN, folder="Qwen2.5-0.5B")
    m = model_named(catalogue, str(tmp_path / "Qwen2.5-0.5B"))
    assert (m.id, params(m)) == ("qwen2.5-0.5b", 494_032_768)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="unknown model"):
        model_named(catalogue, str(tmp_path / "empty"))


@pytest.mark.parametrize("stack", ["hf", "nanogpt"])
def test_every_family_checks_on_the_stacks_that_train_it(cli, stack):
    for mid in sorted(FAMILY):
        r = cli("check", "--gpu", "h100", "--model", mid, "--stack", stack, "--seq", "1024", "--format", "json",
                "--no-advice")
        assert r.code == 0, (mid, r.err)
        doc = r.json()
        assert doc["model"]["id"] == mid and doc["memory"]["allocator_peak_bytes"] > 0
        assert doc["compute"]["tokens_per_second"] > 0


def test_a_sweep_over_every_model_marks_what_llmc_cannot_train(cli):
    r = cli("sweep", "--gpu", "h100", "--model", "all", "--stack", "hf,llmc", "--format", "jsonl")
    assert r.code == 0, r.err
    rows = [json.loads(line) for line in r.out.splitlines()]
    errors = {row["inputs.model"] for row in rows if row.get("error")}
    assert errors == set(FAMILY)  # every non-GPT-2 model on llmc, nothing on hf
    assert all("llmc trains gpt2 models only" in row["error"] for row in rows if row.get("error"))


def test_plan_trains_each_model_at_its_own_context_unless_seq_is_given(cli):
    doc = cli("plan", "--gpu", "4090", "--family", "llama", "--format", "json").json()
    best = doc["best"]
    assert "--seq" not in best["check"] and best["inputs"]["seq"] == 2048  # SmolLM2 and TinyLlama train at 2,048
    fixed = cli("plan", "--gpu", "4090", "--family", "llama", "--seq", "1024", "--format", "json").json()["best"]
    assert fixed["inputs"]["seq"] == 1024 and "--seq 1024" in fixed["check"]

"""A Hugging Face `config.json` as a model spec: `--model path/to/config.json`, offline.

The config's keys are mapped onto a model spec's (the same validation as a YAML spec, through
`loader.validate_data`); what the block description cannot model is refused with the key that says so:
mixture-of-experts, sliding-window attention, encoder-decoder models, other model types. The key names and
defaults are transformers' (GPT2Config, LlamaConfig, MistralConfig, Qwen2Config, Olmo2Config and their
modeling_*.py). A config.json does not say how many tokens the model was trained on: 20 tokens per parameter
(Chinchilla, Hoffmann et al. 2022) is assumed, and the spec's sources and notes say so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gpt2budget.errors import SpecError
from gpt2budget.specs.definitions import ModelSpec, is_valid_id
from gpt2budget.specs.files import read_spec_bytes

# model_type -> the family whose block it is (transformers' class names for model_type's absence)
MODEL_TYPES = {"gpt2": "gpt2", "llama": "llama", "mistral": "llama", "qwen2": "qwen2", "olmo2": "olmo2"}
ARCHITECTURES = {"GPT2LMHeadModel": "gpt2", "LlamaForCausalLM": "llama", "MistralForCausalLM": "mistral",
                 "Qwen2ForCausalLM": "qwen2", "Olmo2ForCausalLM": "olmo2"}
SUPPORTED = ("gpt2, llama, mistral (dense, no sliding window), qwen2 and olmo2 decoder-only models "
             "(model_type or architectures " + ", ".join(ARCHITECTURES) + ")")
# mixture-of-experts model types and the keys their configs carry (Mixtral, Qwen2-MoE, DeepSeek, OLMoE...)
MOE_TYPES = ("mixtral", "qwen2_moe", "qwen3_moe", "deepseek", "deepseek_v2", "deepseek_v3", "olmoe", "dbrx",
             "jamba", "granitemoe", "phimoe", "jetmoe", "switch_transformers", "nllb_moe")
MOE_KEYS = ("num_local_experts", "num_experts", "n_routed_experts", "num_experts_per_tok", "moe_intermediate_size")
CHINCHILLA_TOKENS_PER_PARAM = 20  # Hoffmann et al. 2022: compute-optimal at ~20 tokens per parameter
# the spec's key -> the config.json key it came from (so that a validation error names the file's key)
_LLAMA_KEYS = {"n_layer": "num_hidden_layers", "n_embd": "hidden_size", "n_head": "num_attention_heads",
               "n_kv_head": "num_key_value_heads", "head_dim": "head_dim", "d_ff": "intermediate_size",
               "vocab_size": "vocab_size", "n_ctx": "max_position_embeddings",
               "tied_embeddings": "tie_word_embeddings", "mlp": "hidden_act"}
_GPT2_KEYS = {"n_layer": "n_layer", "n_embd": "n_embd", "n_head": "n_head", "vocab_size": "vocab_size",
              "n_ctx": "n_positions", "d_ff": "n_inner", "tied_embeddings": "tie_word_embeddings"}


def is_config_path(name: str) -> bool:
    """`--model` names a config.json file rather than a catalogue model."""
    return name.strip().lower().endswith(".json")


def existing_config(name: str) -> Path | None:
    """A name that is no catalogue model, as a config file: an existing file, or a model folder (a Hugging Face
    checkpoint's) with its config.json."""
    path = Path(name)
    if path.is_dir() and (path / "config.json").is_file():
        return path / "config.json"
    return path if path.is_file() else None


def _fail(path: str, key: str, message: str, text: str = "") -> SpecError:
    return SpecError(path, key, message, _line_of(text, key) if key and text else None)


def _line_of(text: str, key: str) -> int | None:
    m = re.search(r'"' + re.escape(key) + r'"\s*:', text)
    return text.count("\n", 0, m.start()) + 1 if m else None


def read_config(path: Path) -> tuple[dict[str, Any], str]:
    """The config.json's mapping and text: the spec files' size limit, UTF-8, strict JSON (no NaN, no duplicate
    keys), a mapping at the top level."""
    shown = str(path)
    raw = read_spec_bytes(path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(shown, "", f"not UTF-8 text (byte {exc.start})") from None

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in items:
            if k in out:
                raise SpecError(shown, k, "duplicate key in the JSON object", _line_of(text, k))
            out[k] = v
        return out

    def constant(name: str) -> Any:
        raise SpecError(shown, "", f"invalid JSON: {name} is not a number JSON allows")

    try:
        data = json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise SpecError(shown, "", f"invalid JSON: {exc.msg} (column {exc.colno})", exc.lineno) from None
    except RecursionError:
        raise SpecError(shown, "", "invalid JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise SpecError(shown, "", f"expected a JSON object (the mapping of keys a config.json holds), got "
                                   f"{_json_type(data)}")
    return data, text


def _json_type(v: Any) -> str:
    return {list: "a list", str: "text", bool: "a boolean", type(None): "null"}.get(type(v), "a number")


def model_type_of(data: dict[str, Any], path: str, text: str) -> str:
    """The supported model_type the config describes, or a SpecError naming the key that rules it out."""
    mt = data.get("model_type")
    archs = data.get("architectures")
    if mt is None:
        names = archs if isinstance(archs, list) else []
        found = [ARCHITECTURES[a] for a in names if isinstance(a, str) and a in ARCHITECTURES]
        if not found:
            shown = f"architectures {names}" if names else "no model_type"
            raise _fail(path, "model_type" if not names else "architectures",
                        f"{shown}: cannot tell the model; supported: {SUPPORTED}", text)
        mt = found[0]
    if not isinstance(mt, str):
        raise _fail(path, "model_type", f"expected text, got {_json_type(mt)}", text)
    if mt in MOE_TYPES or "moe" in mt:
        raise _fail(path, "model_type", f"{mt!r} is a mixture-of-experts model, which is not modelled; "
                                        f"supported: {SUPPORTED}", text)
    if data.get("is_encoder_decoder") is True:
        raise _fail(path, "is_encoder_decoder", f"encoder-decoder models are not modelled; supported: {SUPPORTED}",
                    text)
    if mt not in MODEL_TYPES:
        raise _fail(path, "model_type", f"{mt!r} is not supported; supported: {SUPPORTED}", text)
    for key in MOE_KEYS:
        v = data.get(key)
        if v is not None and v is not False and v not in (0, 1):
            raise _fail(path, key, f"{v!r}: a mixture-of-experts model, which is not modelled; supported: "
                                   f"{SUPPORTED}", text)
    return mt


def _sliding_window(data: dict[str, Any], mt: str, path: str, text: str) -> None:
    """Sliding-window attention changes attention's cost and memory per layer: refused (Mistral's sliding_window
    not null; Qwen2's use_sliding_window true; per-layer layer_types with sliding_attention)."""
    if mt == "qwen2":
        if data.get("use_sliding_window") is True:
            raise _fail(path, "use_sliding_window", "sliding-window attention is not modelled (set it to false "
                                                    "for a model that attends to the whole context)", text)
    elif data.get("sliding_window") is not None:
        raise _fail(path, "sliding_window", f"{data['sliding_window']!r}: sliding-window attention is not "
                                            "modelled; supported: dense attention (sliding_window null)", text)
    layer_types = data.get("layer_types")
    if isinstance(layer_types, list) and any(t != "full_attention" for t in layer_types):
        raise _fail(path, "layer_types", "layers other than full_attention (sliding windows) are not modelled", text)


def _bool(data: dict[str, Any], key: str, default: bool, path: str, text: str) -> bool:
    v = data.get(key, default)
    if v is None:
        return default
    if not isinstance(v, bool):
        raise _fail(path, key, f"expected true or false, got {_json_type(v)}", text)
    return v


def spec_data(data: dict[str, Any], path: str, text: str) -> tuple[dict[str, Any], dict[str, str], str]:
    """The model spec's data (original_tokens left out), the config key each spec key came from, and the
    model_type."""
    mt = model_type_of(data, path, text)
    _sliding_window(data, mt, path, text)
    keys = _GPT2_KEYS if mt == "gpt2" else _LLAMA_KEYS
    out: dict[str, Any] = {ours: data[theirs] for ours, theirs in keys.items()
                           if ours not in ("mlp", "tied_embeddings") and data.get(theirs) is not None}
    if mt == "gpt2":
        if "n_ctx" not in out and data.get("n_ctx") is not None:  # older GPT-2 configs name it n_ctx
            out["n_ctx"] = data["n_ctx"]
            keys = {**keys, "n_ctx": "n_ctx"}
        act = data.get("activation_function", "gelu_new")  # GPT2Config's default
        if not (isinstance(act, str) and act.startswith("gelu")):
            raise _fail(path, "activation_function", f"{act!r} is not modelled; GPT-2's MLP is GELU (gelu_new)", text)
        out.update(family="gpt2", tied_embeddings=_bool(data, "tie_word_embeddings", True, path, text))
        block = "GPT-2's block: LayerNorm with weight and bias, GELU MLP, biases everywhere, a learned position table"
    else:
        act = data.get("hidden_act", "silu")
        if act not in ("silu", "swish"):
            raise _fail(path, "hidden_act", f"{act!r}: only silu (SwiGLU: gate, up and down projections) is "
                                            "modelled for this model_type", text)
        attn_bias = _bool(data, "attention_bias", False, path, text)
        mlp_bias = _bool(data, "mlp_bias", False, path, text)
        if mt == "qwen2":
            bias = "qkv"  # Qwen2Attention: q_proj, k_proj, v_proj with bias, o_proj without
        elif attn_bias != mlp_bias:
            raise _fail(path, "attention_bias" if attn_bias else "mlp_bias",
                        "biases on the attention alone or the MLP alone are not modelled (all GEMMs or none)", text)
        else:
            bias = "all" if attn_bias else "none"
        out.update(family=MODEL_TYPES[mt], mlp="swiglu", norm="rmsnorm", qk_norm=mt == "olmo2", bias=bias,
                   positions="rope", tied_embeddings=_bool(data, "tie_word_embeddings", False, path, text))
        block = (f"{mt}'s block (transformers modeling_{mt}.py): RMSNorm, SwiGLU (hidden_act {act}), rotary "
                 f"positions, biases: {bias}" + (", QK-norm" if mt == "olmo2" else ""))
    origin = {ours: theirs for ours, theirs in keys.items()}
    used = ", ".join(f"{theirs} {data[theirs]}" for ours, theirs in keys.items() if data.get(theirs) is not None)
    name = Path(path).parent.name if Path(path).name == "config.json" else Path(path).stem
    out.update(id=_slug(name or "hf-config"), name=f"{name or 'config'} ({Path(path).name})", sources={
        "shape": f"{path}: {used}",
        "block": block,
        "original_tokens": f"not in config.json: {CHINCHILLA_TOKENS_PER_PARAM} tokens per parameter assumed "
                           "(Chinchilla, Hoffmann et al. 2022)"},
        notes=f"Read from the Hugging Face config {path} (model_type {mt}). original_tokens is not in a config.json: "
              f"{CHINCHILLA_TOKENS_PER_PARAM} tokens per parameter assumed; give --tokens for the real count.")
    return out, origin, mt


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-._")[:64].strip("-._")
    return slug if slug and is_valid_id(slug) else "hf-config"


def load_config_model(path: Path, count_params: Callable[[ModelSpec], float]) -> ModelSpec:
    """The model spec a config.json describes. `count_params` counts a spec's parameters (core's shape: the
    specs layer does not import the core), for original_tokens = 20 tokens per parameter."""
    from gpt2budget.specs.loader import validate_data

    shown = str(path)
    data, text = read_config(path)
    spec_in, origin, _ = spec_data(data, shown, text)
    lines = {ours: line for ours, theirs in origin.items() if (line := _line_of(text, theirs)) is not None}
    try:
        first = validate_data("models", {**spec_in, "original_tokens": 1}, shown, lines)
        tokens = CHINCHILLA_TOKENS_PER_PARAM * float(count_params(first))
        spec: ModelSpec = validate_data("models", {**spec_in, "original_tokens": tokens}, shown, lines)
    except SpecError as exc:
        top, dot, rest = exc.key.partition(".")
        # the spec's key names, in the key and the message, as the config.json writes them
        names = re.compile(r"\b(" + "|".join(map(re.escape, origin)) + r")\b")
        message = names.sub(lambda m: origin[m.group(1)], exc.message)
        raise SpecError(exc.path, origin.get(top, top) + dot + rest, message, exc.line) from None
    return spec

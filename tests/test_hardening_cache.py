"""Issue #31 item 9: a damaged spec-cache entry never breaks a command; every built-in spec round-trips."""

import json
import os
import subprocess
import sys

import pytest

from conftest import cache_entries as _entries
from conftest import cache_file as _cache_file
from gpt2budget.specs import cache as spec_cache
from gpt2budget.specs.catalog import load_specs
from gpt2budget.specs.definitions import KIND_TYPES, spec_data
from gpt2budget.specs.files import builtin_config_dir, spec_files
from gpt2budget.specs.loader import spec_from_bytes


def _builtin_files():
    for kind in KIND_TYPES:
        for path in spec_files(builtin_config_dir() / kind):
            yield kind, path


@pytest.mark.parametrize(("kind", "path"), list(_builtin_files()), ids=lambda v: getattr(v, "stem", v))
def test_every_builtin_spec_round_trips_through_the_cache(cache_dir, kind, path):
    text = path.read_text(encoding="utf-8")
    spec = spec_from_bytes(kind, text.encode(), path)
    cache = spec_cache.SpecCache()
    cache.put(kind, path, text, spec)
    cache.save()
    again = spec_cache.SpecCache()
    cached = again.lookup(kind, path, text)
    assert cached is not None
    decoded = again.spec(kind, text, cached)
    assert decoded is not None, f"{path.name} is never served from the cache"
    assert spec_data(decoded) == spec_data(spec)


def _damaged_run(cache_dir, damage):
    """Warm the cache, damage the 4090's entry with `damage(entry) -> entry`, run `check` twice."""
    env = {**os.environ, "GPT2BUDGET_CACHE_DIR": str(cache_dir), "NO_COLOR": "1"}
    env.pop("GPT2BUDGET_CONFIG_PATH", None)
    args = [sys.executable, "-m", "gpt2budget", "check", "--gpu", "4090", "--model", "gpt2", "--format", "json"]
    good = subprocess.run(args, capture_output=True, text=True, env=env)
    assert good.returncode == 0, good.stderr
    entries = _entries()
    key = next(k for k in entries if k.startswith("gpus:") and k.endswith("rtx-4090.yaml"))
    entries[key] = damage(entries[key])
    _cache_file().write_text(json.dumps({"entries": entries}))
    for _ in range(2):
        run = subprocess.run(args, capture_output=True, text=True, env=env)
        assert run.returncode == 0, run.stderr
        assert run.stdout == good.stdout
    return _entries()[key]


def _flip(text: str, index: int) -> str:
    return text[:index] + chr(ord(text[index]) ^ 1) + text[index + 1:]


@pytest.mark.slow
def test_a_flipped_bit_in_an_entrys_names_is_rebuilt_from_the_yaml(cache_dir):
    def damage(entry):
        sid, aliases, name = entry["names"]
        return {**entry, "names": [_flip(sid, 1), aliases, name]}

    healed = _damaged_run(cache_dir, damage)
    assert healed["names"][0] == "rtx-4090"  # the entry was rebuilt


@pytest.mark.slow
def test_a_flipped_bit_in_an_alias_is_rebuilt_from_the_yaml(cache_dir):
    def damage(entry):
        sid, aliases, name = entry["names"]
        return {**entry, "names": [sid, [_flip(aliases[0], 0), *aliases[1:]], name]}

    healed = _damaged_run(cache_dir, damage)
    assert "4090" in healed["names"][1]


def _recomputed(text, data, names):
    """The checksum a forger with our code would write (so only the checks after it can refuse the entry)."""
    return spec_cache._checksum(text, data + json.dumps(names))


@pytest.mark.parametrize("field", ["memory_gib", "memory_bandwidth_gb_per_s", "sm_count", "peak_tflops"])
@pytest.mark.parametrize("bad", [True, False, None, "24", [24]])
def test_a_checksum_valid_entry_with_a_wrong_type_is_refused(cache_dir, field, bad):
    load_specs()
    entries = _entries()
    key = next(k for k in entries if k.endswith("rtx-4090.yaml"))
    entry = entries[key]
    spec = json.loads(entry["spec"])
    good = spec_data(spec_cache.decode(entry["spec"]))
    spec[field] = bad
    data = json.dumps(spec)
    forged = {**entry, "spec": data, "check": _recomputed(entry["text"], data, entry["names"])}
    _cache_file().write_text(json.dumps({"entries": {**entries, key: forged}}))
    gpu = load_specs().gpus.get("4090", "--gpu")
    assert spec_data(gpu) == good  # the file validated again
    assert type(gpu.sm_count) is int and type(gpu.memory_bandwidth_gb_per_s) in (int, float)


@pytest.mark.parametrize("field", ["n_layer", "tied_embeddings", "sources"])
def test_a_model_entry_with_a_wrong_type_is_refused(cache_dir, field):
    load_specs()
    entries = _entries()
    key = next(k for k in entries if k.startswith("models:") and k.endswith("gpt2.yaml"))
    entry = entries[key]
    spec = json.loads(entry["spec"])
    spec[field] = {"n_layer": 12.5, "tied_embeddings": 1, "sources": {**spec["sources"], "x": None}}[field]
    data = json.dumps(spec)
    forged = {**entry, "spec": data, "check": _recomputed(entry["text"], data, entry["names"])}
    _cache_file().write_text(json.dumps({"entries": {**entries, key: forged}}))
    model = load_specs().models.get("gpt2", "--model")
    assert type(model.n_layer) is int and model.tied_embeddings is True and None not in model.sources.values()

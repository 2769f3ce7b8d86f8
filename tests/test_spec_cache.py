"""The spec cache: a warm run skips YAML and pydantic, and never gives another result than validating afresh."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import cache_entries as _entries
from conftest import cache_file as _cache_file
from gpt2budget.errors import SpecError
from gpt2budget.specs import cache as spec_cache
from gpt2budget.specs.catalog import load_catalog, load_specs
from gpt2budget.specs.definitions import KIND_TYPES, GpuSpec, StackSpec, Term, spec_data
from gpt2budget.specs.files import builtin_config_dir, spec_files


@pytest.fixture
def folder(tmp_path):
    """A spec folder of our own: a copy of the built-in GPUs."""
    d = tmp_path / "specs"
    shutil.copytree(builtin_config_dir() / "gpus", d / "gpus")
    return d


def _as_data(catalog):
    return {sid: spec_data(spec) for sid, spec in catalog.items.items()}


def test_warm_catalogue_equals_fresh_validation(cache_dir, monkeypatch):
    cold = load_specs()
    assert _cache_file().parent == cache_dir / "spec-cache" and _cache_file().is_file()
    warm = load_specs()
    for kind in ("gpus", "models", "stacks"):
        assert _as_data(getattr(warm, kind)) == _as_data(getattr(cold, kind)), kind
    monkeypatch.setenv("GPT2BUDGET_NO_CACHE", "1")
    off = load_specs()
    assert _as_data(off.stacks) == _as_data(warm.stacks)


def test_rebuilt_specs_have_their_types(cache_dir):
    load_specs()
    warm = load_specs()
    hf = warm.stacks.get("hf", "--stack")
    assert type(hf) is StackSpec and all(type(t) is Term for t in hf.layer_activations)
    assert isinstance(hf.layer_activations, tuple) and isinstance(hf.step_time.ops_per_layer_forward, float)
    g = warm.gpus.get("4090", "--gpu")
    assert type(g) is GpuSpec and isinstance(g.aliases, tuple)


def test_a_warm_check_imports_neither_pydantic_nor_yaml(cache_dir):
    code = ("import sys; from gpt2budget.cli.app import main\n"
            "try:\n    main(['check','--gpu','4070ti','--model','gpt2-xl'])\n"
            "except SystemExit: pass\n"
            "print(sorted(m for m in ('pydantic', 'yaml') if m in sys.modules))\n")
    env = {**os.environ, "GPT2BUDGET_CACHE_DIR": str(cache_dir)}
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert first.stdout.splitlines()[-1] == "['pydantic', 'yaml']"  # cold: every file is validated
    warm = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert warm.stdout.splitlines()[-1] == "[]", warm.stderr
    assert warm.stdout.splitlines()[:-1] == first.stdout.splitlines()[:-1]


def test_an_edit_is_seen_even_with_the_same_size_and_time(cache_dir, folder):
    path = folder / "gpus" / "rtx-4090.yaml"
    stat = path.stat()
    assert load_catalog("gpus", [("t", folder)]).get("4090", "--gpu").memory_gib == 24
    text = path.read_text()
    path.write_text(text.replace("memory_gib: 24", "memory_gib: 25"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size
    assert load_catalog("gpus", [("t", folder)]).get("4090", "--gpu").memory_gib == 25


def test_a_file_made_invalid_is_refused_although_cached(cache_dir, folder):
    path = folder / "gpus" / "rtx-4090.yaml"
    load_catalog("gpus", [("t", folder)])
    path.write_text(path.read_text().replace("memory_gib: 24", "memory_gib: -24"))
    with pytest.raises(SpecError, match="memory_gib"):
        load_catalog("gpus", [("t", folder)])


@pytest.mark.parametrize("damage", [
    "not json at all {",
    json.dumps({"entries": []}),
    json.dumps([1, 2, 3]),
    "TAMPER",  # cached GPUs rewritten: an unknown type, broken JSON, a missing field, a wrong type
])
def test_a_damaged_cache_is_ignored(cache_dir, damage):
    fresh = _as_data(load_specs().gpus)
    cache = _cache_file()
    if damage == "TAMPER":
        doc = json.loads(cache.read_text())
        keys = sorted(k for k in doc["entries"] if k.startswith("gpus:"))
        doc["entries"][keys[0]]["spec"] = json.dumps({"@spec": "os.system", "x": 1})
        doc["entries"][keys[1]]["spec"] = "{"
        spec = json.loads(doc["entries"][keys[2]]["spec"])
        del spec["memory_gib"]
        doc["entries"][keys[2]]["spec"] = json.dumps(spec)
        spec = json.loads(doc["entries"][keys[3]]["spec"])
        spec["memory_gib"] = "24"  # would rebuild: only the checksum stops it
        doc["entries"][keys[3]]["spec"] = json.dumps(spec)
        for key in keys[:3]:  # the first three fail even with a matching checksum
            entry = doc["entries"][key]
            entry["check"] = spec_cache._checksum(entry["text"], entry["spec"])
        cache.write_text(json.dumps(doc))
    else:
        cache.write_text(damage)
    assert _as_data(load_specs().gpus) == fresh
    assert _as_data(load_specs().gpus) == fresh  # and the cache written again works


def test_an_oversized_cache_is_not_read(cache_dir, monkeypatch):
    load_specs()
    monkeypatch.setattr(spec_cache, "MAX_CACHE_BYTES", 1000)
    assert spec_cache.SpecCache().entries == {}
    monkeypatch.setattr(spec_cache, "MAX_CACHE_BYTES", 10**9)
    assert len(spec_cache.SpecCache().entries) == len(_entries())


def test_an_unwritable_cache_is_no_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("GPT2BUDGET_CACHE_DIR", str(blocker / "cache"))  # a folder inside a file
    assert len(load_specs().gpus) >= 19


def test_no_cache_writes_nothing(cache_dir, monkeypatch):
    monkeypatch.setenv("GPT2BUDGET_NO_CACHE", "1")
    load_specs()
    assert not cache_dir.exists()


def test_each_install_has_its_own_file_and_stale_ones_go(cache_dir, monkeypatch):
    load_specs()
    ours = _cache_file()
    monkeypatch.setattr(spec_cache, "fingerprint", lambda: "another-install")
    load_specs()
    theirs = _cache_file()
    n_files = sum(len(spec_files(builtin_config_dir() / kind)) for kind in KIND_TYPES)
    assert theirs != ours and ours.is_file() and len(_entries()) == n_files
    old = spec_cache.time.time() - spec_cache.STALE_S - 60
    os.utime(ours, (old, old))
    theirs.unlink()
    load_specs()  # writes theirs again, and removes ours: not written for longer than STALE_S
    assert theirs.is_file() and not ours.exists()


def test_the_cache_keeps_what_a_run_uses_and_stays_readable(cache_dir, monkeypatch):
    """A catalogue larger than the old 128-entry bound no longer evicts itself (issue 16.19); the file is written
    under the size it is read at, so it is never rewritten-but-unread."""
    monkeypatch.setattr(spec_cache, "MAX_ENTRIES", 10)
    load_specs()
    entries = _entries()
    assert len(entries) > 10  # every file this run used is kept, whatever the bound on other entries
    monkeypatch.setattr(spec_cache, "MAX_CACHE_BYTES", len(_cache_file().read_bytes()) + 8192)
    load_specs(extra=[])  # warm: nothing to write
    assert len(_cache_file().read_bytes()) <= spec_cache.MAX_CACHE_BYTES


def test_a_folder_others_can_write_to_is_not_used(cache_dir, capsys):
    load_specs()  # creates the cache folder, mode 0700
    folder = _cache_file().parent
    assert oct(folder.stat().st_mode & 0o777) == "0o700" and (folder / spec_cache.MARKER).is_file()
    os.chmod(folder, 0o777)
    spec_cache._warned.clear()
    cache = spec_cache.SpecCache()
    assert cache.path is None and cache.entries == {}
    err = capsys.readouterr().err
    assert err.count("Warning: not using the spec cache") == 1 and str(folder) in err


def test_a_planted_symlink_is_never_followed(cache_dir, tmp_path):
    load_specs()
    target = tmp_path / "private.txt"
    target.write_text("mine")
    path = _cache_file()
    path.unlink()
    path.symlink_to(target)
    cache = spec_cache.SpecCache()
    assert cache.entries == {}  # not read through the link
    load_specs(extra=[])  # a miss: the cache is written again, by rename, never through the link
    assert target.read_text() == "mine" and not path.is_symlink()


def test_a_fifo_in_place_of_the_cache_does_not_hang(cache_dir):
    load_specs()
    path = _cache_file()
    path.unlink()
    os.mkfifo(path)
    assert spec_cache.SpecCache().entries == {}


def test_a_poisoned_entry_is_checked_again_before_use(cache_dir):
    load_specs()
    entries = _entries()
    key = next(k for k in entries if k.endswith("rtx-4090.yaml"))
    entry = entries[key]
    for bad in ("1e999", "NaN", "-24"):
        data = entry["spec"].replace('"memory_gib": 24', f'"memory_gib": {bad}')
        assert data != entry["spec"]
        forged = {**entry, "spec": data, "check": _recomputed(entry["text"], data, entry["names"])}
        _cache_file().write_text(json.dumps({"entries": {**entries, key: forged}}))
        gpus = load_specs().gpus
        assert gpus.get("4090", "--gpu").memory_gib == 24, bad  # the file validated again, not the forgery


def _recomputed(text, data, names):
    """The checksum a forger with our code would write (so only the checks after it can refuse the entry)."""
    return spec_cache._checksum(text, data + json.dumps(names))


def test_forged_names_never_route_a_lookup_to_another_spec(cache_dir):
    load_specs()
    entries = _entries()
    key = next(k for k in entries if k.endswith("rtx-4090.yaml"))
    entry = entries[key]
    names = ["rtx-4090", ["4090", "h100"], entry["names"][2]]  # claims an alias it does not have
    forged = {**entry, "names": names, "check": _recomputed(entry["text"], entry["spec"], names)}
    _cache_file().write_text(json.dumps({"entries": {**entries, key: forged}}))
    gpus = load_specs().gpus
    assert gpus.get("h100", "--gpu").id == "h100-sxm"  # an id wins over an alias: the built-in card
    with pytest.raises(SpecError, match="spec cache disagreed"):
        gpus.items["rtx-4090"]  # decoding it shows the names were forged: an error naming the file, no wrong spec


def test_a_warm_run_decodes_only_the_specs_it_uses(cache_dir, monkeypatch):
    load_specs()
    decoded = []
    real = spec_cache.decode
    monkeypatch.setattr(spec_cache, "decode", lambda text: decoded.append(1) or real(text))
    specs = load_specs()
    assert decoded == []  # the catalogue is indexed from the cached names alone
    specs.gpus.get("4090", "--gpu")
    assert len(decoded) == 1
    assert len(list(specs.gpus)) == len(specs.gpus.items) and len(decoded) == len(specs.gpus.items)


def test_clean_up_never_deletes_files_it_did_not_write(cache_dir):
    cache_dir.mkdir(parents=True)
    mine = cache_dir / "specs-notes.json"  # a user file that happens to match the old pattern, in the folder given
    mine.write_text("{}")
    old = 0
    os.utime(mine, (old, old))
    load_specs()
    assert mine.exists()

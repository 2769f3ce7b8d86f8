"""What `check` does at start-up, counted rather than timed (#28 item 6: start-up within 1.2x of importing the
dependencies; benchmarks/speed.py measures the ratio): which cached specs it decodes, and that the cheaper
checks of a decoded spec still refuse what validation would."""

import dataclasses
import json

import pytest

from conftest import cache_entries as _entries
from conftest import cache_file as _cache_file
from gpt2budget.cli import GC_THRESHOLD
from gpt2budget.core.advisor import advise, needs_advice
from gpt2budget.core.check import CheckInputs, evaluate
from gpt2budget.options import RunOptions
from gpt2budget.specs import cache as spec_cache
from gpt2budget.specs.catalog import load_specs
from gpt2budget.specs.definitions import MAX_MAGNITUDE, ModelSpec


@pytest.fixture
def decoded(cache_dir, monkeypatch):
    """The specs decoded from a warm cache, in order."""
    load_specs()
    out = []
    real = spec_cache.decode
    monkeypatch.setattr(spec_cache, "decode", lambda text: out.append(real(text)) or out[-1])
    return out


def test_check_on_a_run_that_does_not_fit_decodes_only_its_familys_models(cli, decoded):
    r = cli("check", "--gpu", "4070ti", "--model", "gpt2-xl")
    assert r.code == 0 and "What would make it fit" in r.out, r.err
    models = [s.id for s in decoded if isinstance(s, ModelSpec)]
    # the advisor proposes smaller GPT-2s: the other families' models are never decoded (16 were)
    assert sorted(models) == ["gpt2", "gpt2-large", "gpt2-medium", "gpt2-xl"]
    assert len(decoded) == 6  # with the GPU and the stack


def test_a_family_is_found_without_decoding_the_others(decoded):
    specs = load_specs()
    llamas = list(specs.models.of_family("llama"))
    assert llamas and all(m.family == "llama" for m in llamas)
    assert [s.id for s in decoded] == [m.id for m in llamas]
    assert {m.id for m in llamas} == {m.id for m in specs.models if m.family == "llama"}


@pytest.mark.parametrize(("gpu", "model", "options"), [
    ("4070ti", "gpt2-xl", {}), ("4090", "smollm2-1.7b", {}), ("4070ti", "qwen2.5-1.5b", {"micro_batch": 8}),
    ("4090", "gpt2", {"micro_batch": 64, "seq": 1024}), ("4070ti", "nanochat-d32", {}),
])
def test_the_advice_is_the_same_from_the_familys_models_alone(gpu, model, options):
    specs = load_specs()
    m = specs.models.get(model, "--model")
    ci = CheckInputs(specs.gpus.get(gpu, "--gpu"), m, specs.stacks.get("hf", "--stack"), RunOptions(**options))
    r = evaluate(ci)
    if needs_advice(r):
        assert advise(ci, specs.models.of_family(m.family), r) == advise(ci, list(specs.models), r)


def test_the_family_is_part_of_what_the_checksum_ties_to_the_file(cache_dir):
    load_specs()
    entries = _entries()
    key = next(k for k in entries if k.startswith("models:") and k.endswith("smollm2-135m.yaml"))
    assert entries[key]["names"][3] == "llama"
    entries[key]["names"][3] = "gpt2"  # a model moved into another family without its checksum: not used
    _cache_file().write_text(json.dumps({"entries": entries}))
    specs = load_specs()
    assert sorted(m.id for m in specs.models.of_family("gpt2")) == ["gpt2", "gpt2-large", "gpt2-medium", "gpt2-xl"]
    assert specs.models.get("smollm2-135m", "--model").family == "llama"


def _forged(kind_file, change):
    """Rewrite one cache entry's spec with `change(spec data)` and a checksum a forger with our code would write."""
    entries = _entries()
    key = next(k for k in entries if k.endswith(kind_file))
    entry = entries[key]
    data = json.loads(entry["spec"])
    change(data)
    text = json.dumps(data)
    entries[key] = {**entry, "spec": text,
                    "check": spec_cache._checksum(entry["text"], text + json.dumps(entry["names"]))}
    _cache_file().write_text(json.dumps({"entries": entries}))


@pytest.mark.parametrize("bad", [1e300, 10 * MAX_MAGNITUDE])
def test_a_cached_number_beyond_what_validation_accepts_is_refused(cache_dir, bad):
    load_specs()

    def huge(d):  # finite and positive, past the plausible range (unusual: true turns that check off) and past
        d.update(memory_gib=bad, unusual=True)  # MAX_MAGNITUDE, which validation enforces even then
        d["sources"]["unusual"] = "a forged entry"

    _forged("rtx-4090.yaml", huge)
    assert load_specs().gpus.get("4090", "--gpu").memory_gib == 24  # the file validated again


def test_a_cached_int_too_large_for_a_float_is_refused_not_raised(cache_dir):
    load_specs()
    _forged("rtx-4090.yaml", lambda d: d.update(sm_count=10**400))  # JSON holds ints of any size
    assert load_specs().gpus.get("4090", "--gpu").sm_count == 128  # the file validated again


def test_a_rule_inside_a_nested_spec_is_checked_again(cache_dir):
    load_specs()

    def negative_term(d):
        d["layer_activations"][0]["count"] = -1.0  # a Term's count is NonNeg

    _forged("stacks/hf.yaml", negative_term)
    stack = load_specs().stacks.get("hf", "--stack")
    assert all(t.count >= 0 for t in stack.layer_activations)


def test_sane_checks_patterns_lengths_and_magnitudes(specs):
    gpu = specs.gpus.get("4090", "--gpu")
    model = specs.models.get("gpt2", "--model")
    assert spec_cache.sane(gpu) and spec_cache.sane(model) and spec_cache.sane(specs.stacks.get("hf", "--stack"))
    for bad in (dataclasses.replace(gpu, id="RTX 4090!"),  # Id: the id pattern
                dataclasses.replace(gpu, name=""),  # Name: at least one character
                dataclasses.replace(gpu, id="x" * 65),  # Id: at most 64 characters
                dataclasses.replace(gpu, memory_gib=2e15, unusual=True,  # any number: at most MAX_MAGNITUDE
                                    sources={**gpu.sources, "unusual": "a test"}),
                dataclasses.replace(gpu, sm_count=10**400),  # an int too large for a float: refused, no OverflowError
                dataclasses.replace(model, n_layer=True),  # a boolean is not a number
                dataclasses.replace(model, n_layer=2048)):  # Layers: at most 1,024
        assert not spec_cache.sane(bad), bad


def _run_python(code):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_the_command_runs_its_start_up_without_garbage_collections():
    code = ("import gc, sys\n"
            "starts = []\n"
            "gc.callbacks.append(lambda phase, info: starts.append(phase) if phase == 'start' else None)\n"
            "from gpt2budget.cli import main\n"
            "try: main(['check', '--gpu', '4070ti', '--model', 'gpt2-xl', '--format', 'json'])\n"
            "except SystemExit: pass\n"
            "print('collections', len(starts), gc.get_threshold()[0])")
    collections, threshold = _run_python(code).split("collections")[-1].split()
    assert int(threshold) == GC_THRESHOLD
    assert int(collections) <= 2  # ~60 with the default threshold of 700


def test_importing_the_library_or_the_cli_module_leaves_the_collector_alone():
    code = ("import gc; default = gc.get_threshold()\n"
            "import gpt2budget.api, gpt2budget.cli, gpt2budget.cli.app\n"
            "print(gc.get_threshold() == default)")
    assert _run_python(code).strip() == "True"


def test_the_console_script_and_python_m_run_the_command_entry():
    from pathlib import Path

    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert 'gpt2budget = "gpt2budget.cli:main"' in pyproject
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "gpt2budget", "--version"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.startswith("gpt2budget "), r.stderr


def test_the_command_leaves_its_objects_to_the_operating_system_at_exit():
    """The interpreter's teardown skips the collection of what the command made (gc.freeze), and what it printed
    is all there: the same output as the in-process run, through `python -m gpt2budget`."""
    import subprocess
    import sys

    code = ("import gc, sys\n"
            "from gpt2budget.cli import main\n"
            "try: main(['check', '--gpu', '4070ti', '--model', 'gpt2-xl', '--format', 'json'])\n"
            "except SystemExit: pass\n"
            "print(gc.get_freeze_count(), file=sys.stderr)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert int(r.stderr.split()[-1]) > 10_000
    whole = subprocess.run([sys.executable, "-m", "gpt2budget", "check", "--gpu", "4070ti", "--model", "gpt2-xl",
                            "--format", "json"], capture_output=True, text=True, timeout=120)
    assert whole.returncode == 0 and json.loads(whole.stdout)["memory"]["fits"] is False
    assert whole.stdout == r.stdout


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_a_check_never_imports_the_csv_module(fmt):
    code = ("import sys\n"
            "from gpt2budget.cli.app import main\n"
            f"try: main(['check', '--gpu', '4070ti', '--model', 'gpt2-xl', '--format', '{fmt}'])\n"
            "except SystemExit: pass\n"
            "print('imported', 'csv' in sys.modules)")
    assert _run_python(code).split("imported")[-1].strip() == "False"

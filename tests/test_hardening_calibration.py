"""Issue #31 item 11 (and 13's `measure` out of memory): calibrations are of the GPU they claim, `measure` checks
its options before it asks for torch, and an allocation failure on the CPU is a result, not a traceback."""

import subprocess
import sys
import types
from pathlib import Path

import pytest

from gpt2budget.errors import UsageError

GOOD = """gpu: rtx-4090
gemm_tflops: {bf16: 150.0, fp16: 150.0, tf32: 70.0, fp32: 60.0}
memory_bandwidth_gb_per_s: 900.0
sources: {measured: "2026-11-28 by hand", gpu_name: "NVIDIA GeForce RTX 4090", torch: "2.11"}
"""


def _calibration(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "calibrations" / "rtx-4090.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_calibration_of_this_gpu_is_used(cli, tmp_path):
    _calibration(tmp_path, GOOD)
    r = cli("check", "--gpu", "4090", "--model", "gpt2", "--config-dir", str(tmp_path), "--format", "json")
    assert r.code == 0, r.err
    assert r.json()["compute"]["calibration"].startswith("measured ")


@pytest.mark.parametrize(("change", "key"), [
    (("NVIDIA GeForce RTX 4090", "NVIDIA H100 80GB HBM3"), "sources.gpu_name"),
    (('gpu_name: "NVIDIA GeForce RTX 4090"', "gpu_name: cpu"), "sources.gpu_name"),
    (("bf16: 150.0", "bf16: 50000.0"), "gemm_tflops.bf16"),
    (("fp32: 60.0", "fp32: 900.0"), "gemm_tflops.fp32"),
    (("memory_bandwidth_gb_per_s: 900.0", "memory_bandwidth_gb_per_s: 20000.0"), "memory_bandwidth_gb_per_s"),
])
def test_a_calibration_of_another_device_is_refused_naming_file_and_key(cli, tmp_path, change, key):
    path = _calibration(tmp_path, GOOD.replace(*change))
    r = cli("check", "--gpu", "4090", "--model", "gpt2", "--config-dir", str(tmp_path))
    assert r.code == 3, r.err
    assert r.err.startswith("Error: ") and str(path) in r.err and key in r.err and "Traceback" not in r.err
    assert "--no-calibration" in r.err
    ok = cli("check", "--gpu", "4090", "--model", "gpt2", "--config-dir", str(tmp_path), "--no-calibration")
    assert ok.code == 0


def _without_torch(*args: str) -> subprocess.CompletedProcess:
    code = ("import sys, builtins; real = builtins.__import__\n"
            "def imp(name, *a, **k):\n"
            "    if name == 'torch' or name.startswith('torch.'): raise ImportError(name)\n"
            "    return real(name, *a, **k)\n"
            "builtins.__import__ = imp\n"
            f"from gpt2budget.cli.app import main; main({list(args)!r})")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


@pytest.mark.slow
@pytest.mark.parametrize(("args", "option"), [
    (["--stack", "llmc"], "--stack"),
    (["--optimizer", "adamw-8bit"], "--optimizer"),
    (["--format", "yaml"], "--format"),
    (["--calibrate", "--device", "cpu", "--gpu", "4090"], "--device"),
])
def test_measure_checks_its_options_before_it_asks_for_torch(args, option):
    r = _without_torch("measure", "--gpu", "4090", *args)
    assert r.returncode == 2
    assert r.stderr.startswith(f"Error: {option}:"), r.stderr
    assert "PyTorch" not in r.stderr


def test_calibrating_the_cpu_as_a_gpu_is_refused(cli):
    r = cli("measure", "--calibrate", "--device", "cpu", "--gpu", "4090")
    assert r.code == 2 and r.err.startswith("Error: --device:") and "--device cuda" in r.err


def test_the_measure_extra_installs_what_measure_imports():
    import re

    root = Path(__file__).resolve().parents[1]
    text = (root / "pyproject.toml").read_text()
    extra = re.search(r"^measure = \[(.*)\]", text, re.MULTILINE)
    assert extra is not None
    packages = {re.split(r"[<>=!~\[ ]", p.strip().strip('"'))[0] for p in extra.group(1).split(",")}
    source = (root / "src" / "gpt2budget" / "measure.py").read_text()
    imported = set(re.findall(r"^\s*(?:from|import) (torch|transformers|peft)\b", source, re.MULTILINE))
    assert imported == {"torch", "transformers", "peft"}
    assert imported <= packages


class _Stub(types.ModuleType):
    pass


@pytest.fixture
def stub_torch(monkeypatch):
    """A stand-in for torch (not installed here): enough for gpt2budget.measure to import and run_steps to run."""
    torch = _Stub("torch")
    nn = _Stub("torch.nn")
    functional = _Stub("torch.nn.functional")
    nn.Module = object
    nn.functional = functional
    torch.nn = nn
    torch.OutOfMemoryError = type("OutOfMemoryError", (RuntimeError,), {})
    torch.device = lambda name: types.SimpleNamespace(type=name)
    torch.cuda = types.SimpleNamespace(is_available=lambda: True)
    torch.__version__ = "stub"
    for name, module in (("torch", torch), ("torch.nn", nn), ("torch.nn.functional", functional)):
        monkeypatch.setitem(sys.modules, name, module)
    import gpt2budget
    import gpt2budget.cli

    parents = {"gpt2budget.measure": (gpt2budget, "measure"), "gpt2budget.cli.measure_cmd": (gpt2budget.cli, "measure_cmd")}
    saved = {name: (sys.modules.pop(name, None), getattr(*parents[name], None)) for name in parents}
    for package, attr in parents.values():
        if hasattr(package, attr):
            delattr(package, attr)
    import gpt2budget.measure as measure

    yield measure
    for name, (module, attribute) in saved.items():  # the real modules back (where torch is installed)
        sys.modules.pop(name, None)
        package, attr = parents[name]
        if hasattr(package, attr):
            delattr(package, attr)
        if module is not None:
            sys.modules[name] = module
        if attribute is not None:
            setattr(package, attr, attribute)


@pytest.mark.parametrize("error", [RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: "
                                                "can't allocate memory: you tried to allocate 1099511627776 bytes."),
                                   MemoryError()])
def test_out_of_memory_on_the_cpu_is_a_result(stub_torch, monkeypatch, error):
    def build(cfg, dev):
        raise error

    monkeypatch.setattr(stub_torch, "build_model", build)
    rec = stub_torch.run_steps(stub_torch.StepConfig(n_layer=48, n_head=25, n_embd=1600, vocab=50304, seq=1024,
                                                     micro_batch=4096, device="cpu"))
    assert rec["status"] == "oom"


def test_another_runtime_error_is_not_taken_for_out_of_memory(stub_torch, monkeypatch):
    def build(cfg, dev):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    monkeypatch.setattr(stub_torch, "build_model", build)
    with pytest.raises(RuntimeError, match="shapes"):
        stub_torch.run_steps(stub_torch.StepConfig(n_layer=1, n_head=1, n_embd=8, vocab=16, seq=4, micro_batch=1,
                                                   device="cpu"))


def test_calibrating_another_gpu_than_the_named_one_is_refused(stub_torch, monkeypatch, tmp_path, specs):
    from gpt2budget.cli import measure_cmd

    monkeypatch.setattr(stub_torch, "check_device", lambda device: None)
    monkeypatch.setattr(stub_torch, "device_info", lambda device: {"device": "cuda", "torch": "stub",
                                                                   "gpu_name": "NVIDIA H100 80GB HBM3"})
    monkeypatch.setattr(stub_torch, "gemm_tflops", lambda dev: pytest.fail("measured before the GPU was checked"))
    with pytest.raises(UsageError, match=r"--gpu.*'NVIDIA H100 80GB HBM3', not the NVIDIA GeForce RTX 4090"):
        measure_cmd.run_calibrate(specs, None, "rtx-4090", "cuda", tmp_path)
    assert not (tmp_path / "calibrations").exists()

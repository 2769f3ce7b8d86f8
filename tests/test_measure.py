"""`gpt2budget measure` and calibrations. Pure parts always; the torch harness on the CPU when torch is installed."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gpt2budget.core.calibration import Calibration, calibration_path, find_calibration, from_data, to_data
from gpt2budget.core.measuring import compared, write_calibration
from gpt2budget.errors import SpecError
from gpt2budget.specs.loader import dump_yaml, read_yaml_file

DATA = Path(__file__).parent / "data"
TINY = """id: tiny
name: "Tiny GPT-2 (test)"
n_layer: 2
n_head: 2
n_embd: 64
vocab_size: 512
n_ctx: 64
original_tokens: 1.0e6
sources:
  shape: "a test model"
  original_tokens: "a test figure"
"""
CAL = """gpu: rtx-4090
gemm_tflops: {bf16: 40.0, fp16: 40.0, tf32: 20.0, fp32: 10.0}
dispatch_us_per_op: {hf: 80.0}
memory_bandwidth_gb_per_s: 300.0
sources: {measured: "2026-11-28 by hand", gpu_name: "NVIDIA GeForce RTX 4090", torch: "2.11"}
"""


def write(folder: Path, rel: str, text: str) -> Path:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_calibration_round_trips_and_refuses_nonsense(tmp_path):
    cal = Calibration(gpu="rtx-4090", gemm_tflops={"bf16": 150.5}, memory_bandwidth_gb_per_s=900.0,
                      dispatch_us_per_op={"hf": 12.5}, host_link_gb_per_s=24.0, source="x")
    path = write_calibration(tmp_path, cal, {"measured": "today", "gpu_name": "4090", "torch": "2.11"}, dump_yaml)
    assert path == calibration_path(tmp_path, "rtx-4090")
    back = from_data(read_yaml_file(path), str(path), "rtx-4090")
    assert back.gemm_tflops == {"bf16": 150.5} and back.dispatch_us_per_op == {"hf": 12.5}
    assert back.host_link_gb_per_s == 24.0 and back.source == "measured today on 4090, torch 2.11"
    assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    for data, key in (({**to_data(cal, {}), "gemm_tflops": {"bf16": float("nan")}}, "gemm_tflops.bf16"),
                      ({**to_data(cal, {}), "gemm_tflops": {"bf16": True}}, "gemm_tflops.bf16"),
                      ({**to_data(cal, {}), "memory_bandwidth_gb_per_s": 9e9}, "memory_bandwidth_gb_per_s"),
                      ({**to_data(cal, {}), "speed": 3}, "speed"),
                      ({**to_data(cal, {}), "gpu": "h100-sxm"}, "gpu"),
                      ({**to_data(cal, {}), "dispatch_us_per_op": 5.0}, "dispatch_us_per_op")):
        with pytest.raises(SpecError) as err:
            from_data(data, "f.yaml", "rtx-4090")
        assert err.value.key == key and "f.yaml" in str(err.value)


def _umask():
    m = os.umask(0)
    os.umask(m)
    return m


def test_an_interrupted_write_leaves_no_partial_file(tmp_path):
    cal = Calibration(gpu="rtx-4090", gemm_tflops={"bf16": 1.0})

    def broken_dump(data):
        raise KeyboardInterrupt  # Ctrl-C while the file is being written

    with pytest.raises(KeyboardInterrupt):
        write_calibration(tmp_path, cal, {}, broken_dump)
    folder = tmp_path / "calibrations"
    assert not folder.exists() or list(folder.iterdir()) == []
    write_calibration(tmp_path, cal, {}, dump_yaml)
    with pytest.raises(KeyboardInterrupt):
        write_calibration(tmp_path, cal._replace(gemm_tflops={"bf16": 2.0}), {}, broken_dump)
    assert [p.name for p in folder.iterdir()] == ["rtx-4090.yaml"]  # the old file, whole
    assert "bf16: 1.0" in (folder / "rtx-4090.yaml").read_text()


def test_find_calibration_last_folder_wins(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write(a, "calibrations/rtx-4090.yaml", CAL)
    write(b, "calibrations/rtx-4090.yaml", CAL.replace("bf16: 40.0", "bf16: 41.0"))
    assert find_calibration("rtx-4090", [a, b], read_yaml_file).gemm_tflops["bf16"] == 41.0
    assert find_calibration("rtx-4080", [a, b], read_yaml_file) is None


def test_a_calibration_changes_checks_time_visibly_and_reversibly(cli, tmp_path):
    base = ["check", "--gpu", "4090", "--model", "gpt2", "--config-dir", str(tmp_path), "--format", "json"]
    (tmp_path / "calibrations").mkdir()
    before = cli(*base).json()
    write(tmp_path, "calibrations/rtx-4090.yaml", CAL)
    after = cli(*base).json()
    off = cli(*base, "--no-calibration").json()
    assert after["compute"]["calibration"].startswith("measured 2026-11-28 by hand on NVIDIA GeForce RTX 4090")
    assert after["compute"]["tokens_per_second"] < before["compute"]["tokens_per_second"] / 2
    assert off == before and off["compute"]["calibration"] is None
    table = cli(*base[:-2])
    assert "with this GPU's calibration (measured 2026-11-28 by hand" in table.out
    other = cli("check", "--gpu", "4080", "--model", "gpt2", "--config-dir", str(tmp_path), "--format", "json").json()
    assert other["compute"]["calibration"] is None  # only for the GPU it was measured on


def test_a_broken_calibration_is_a_one_line_error(cli, tmp_path):
    write(tmp_path, "calibrations/rtx-4090.yaml", CAL.replace("300.0", "-1"))
    r = cli("check", "--gpu", "4090", "--model", "gpt2", "--config-dir", str(tmp_path))
    assert r.code == 3 and "memory_bandwidth_gb_per_s" in r.err and "rtx-4090.yaml" in r.err and "Traceback" not in r.err
    assert cli("check", "--gpu", "4090", "--model", "gpt2", "--config-dir", str(tmp_path), "--no-calibration").code == 0


def test_cpu_cost_per_kernel_is_the_slope_between_two_tiny_models(specs):
    """A step's fixed costs (the loop's Python, zero_grad, a compiled graph's guards) do not grow with the kernels:
    the slope between a 2- and an 8-layer tiny model leaves them out, where one model's step over its ~70 kernels
    would count them in."""
    from gpt2budget.core import measuring
    from gpt2budget.core.check import CheckInputs
    from gpt2budget.options import RunOptions

    for stack, opt in (("hf", "adamw"), ("nanogpt", "adamw-fused")):
        ci = CheckInputs(specs.gpus.get("h200", "g"), specs.models.get("gpt2", "m"), specs.stacks.get(stack, "s"),
                         RunOptions(optimizer=opt))
        k2, k8 = measuring.tiny_kernels(2, ci), measuring.tiny_kernels(8, ci)
        prof = ci.stack.step_time
        assert k8 - k2 == 6 * (prof.ops_per_layer_forward + prof.ops_per_layer_backward)
        per_kernel, fixed = 50e-6, 0.9e-3
        steps = {n: fixed + k * per_kernel for n, k in ((2, k2), (8, k8))}
        assert measuring.dispatch_us(steps, ci) == pytest.approx(50.0)
        assert measuring.dispatch_us({2: steps[2]}, ci) == pytest.approx(50.0 + 0.9e-3 / k2 * 1e6)  # one model
        assert measuring.dispatch_us({2: steps[2], 8: steps[2] * 0.99}, ci) == \
            pytest.approx(steps[2] / k2 * 1e6)  # noise made the slope negative: the ratio of the short model
    measure_py = (Path(__file__).resolve().parents[1] / "src" / "gpt2budget" / "measure.py").read_text()
    t = measuring.TINY  # measure.py cannot import the core (layering): its tiny model is pinned to it here
    assert f"n_head={t['n_head']}, n_embd={t['n_embd']}, vocab={t['vocab']}, seq={t['seq']}" in measure_py


def _measured_fields():
    """A point of the project's data without its tags (`use`, `fit_for`: what was fitted to it, not measured)."""
    point = json.loads((DATA / "h100_gpt2_training_memory.jsonl").read_text().splitlines()[0])
    return {k: v for k, v in point.items() if k not in ("use", "fit_for")}


def test_compared_record_has_the_shared_data_fields():
    shared = _measured_fields()
    rec = {k: shared[k] for k in shared if k not in ("model",)}
    pred = {"peak_alloc_bytes": shared["peak_alloc_bytes"] // 2, "tokens_per_s": shared["tokens_per_s"] * 2,
            "step_s": 0.1, "required_bytes": 1, "fits": True, "bound": "compute", "gpu": "h100-sxm", "calibration": None}
    doc = compared(rec, pred, {"device": "cuda", "gpu_name": "H100", "torch": "2.11"}, "gpt2")
    assert set(shared) <= set(doc)
    assert doc["measured_over_predicted"] == {"peak_alloc": pytest.approx(2.0, rel=1e-6), "tokens_per_s": 0.5}


def test_measure_without_torch_says_how_to_install(tmp_path):
    code = ("import sys, builtins; real = builtins.__import__\n"
            "def imp(name, *a, **k):\n"
            "    if name == 'torch' or name.startswith('torch.'): raise ImportError(name)\n"
            "    return real(name, *a, **k)\n"
            "builtins.__import__ = imp\n"
            "from gpt2budget.cli.app import main; main(['measure', '--model', 'gpt2'])")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.strip() == 'Error: measure: needs PyTorch: pip install "gpt2budget[measure]"'


def test_the_cli_never_imports_torch():
    r = subprocess.run([sys.executable, "-c", "import sys, gpt2budget.cli.app; print('torch' in sys.modules)"],
                       capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "False"


@pytest.fixture
def tiny_dir(tmp_path):
    write(tmp_path, "models/tiny.yaml", TINY)
    return tmp_path


@pytest.mark.slow
def test_measure_runs_a_tiny_model_on_the_cpu(cli, tiny_dir):
    pytest.importorskip("torch", reason="torch is not installed (pip install 'gpt2budget[measure]'); CI skips this")
    pytest.importorskip("transformers", reason="the hf stack needs transformers")
    r = cli("measure", "--config-dir", str(tiny_dir), "--model", "tiny", "--device", "cpu", "--gpu", "4090",
            "--micro-batch", "2", "--steps", "2", "--warmup", "1", "--format", "json")
    assert r.code == 0, r.err
    doc = r.json()
    shared = _measured_fields()
    assert set(shared) <= set(doc)
    assert doc["status"] == "ok" and doc["batch"] == 2 and doc["seq"] == 64 and doc["n_layer"] == 2
    assert doc["step_s"] > 0 and doc["tokens_per_s"] == pytest.approx(2 * 64 / doc["step_s"], rel=1e-3)
    assert doc["prediction"]["gpu"] == "rtx-4090" and doc["measured_over_predicted"]["tokens_per_s"] > 0
    table = cli("measure", "--config-dir", str(tiny_dir), "--model", "tiny", "--device", "cpu", "--gpu", "4090",
                "--stack", "nanogpt", "--steps", "1", "--warmup", "0")
    assert table.code == 0 and "tokens/s" in table.out and "measured/predicted" in table.out


def test_calibrate_on_the_cpu_is_refused(cli, tiny_dir):
    """The CPU's numbers would be saved as the GPU's calibration (#31 item 11): refused before anything runs."""
    r = cli("measure", "--calibrate", "--device", "cpu", "--gpu", "4090", "--config-dir", str(tiny_dir))
    assert r.code == 2 and r.err.startswith("Error: --device:"), r.err
    assert not (tiny_dir / "calibrations").exists()


def test_measure_refuses_what_it_cannot_run(cli, tiny_dir):
    for args, option in ((["--stack", "llmc"], "--stack"), (["--optimizer", "lion"], "--optimizer")):
        r = cli("measure", "--config-dir", str(tiny_dir), "--model", "tiny", "--device", "cpu", "--gpu", "4090", *args)
        if "needs PyTorch" in r.err:
            pytest.skip("torch is not installed")
        assert r.code == 2 and option in r.err and "Traceback" not in r.err


def test_calibration_gemms_run_back_to_back_and_time_the_second_half():
    """The GEMM rate is a sustained one: the call runs repeatedly for the window and only the second half is
    timed (no assertion on wall time: the count of calls and a positive time per call)."""
    torch = pytest.importorskip("torch")
    from gpt2budget.measure import _sustained

    calls = []
    per_call = _sustained(lambda: calls.append(1), torch.device("cpu"), 0.01)
    assert per_call > 0 and len(calls) >= 17 and (len(calls) - 1) % 8 == 0

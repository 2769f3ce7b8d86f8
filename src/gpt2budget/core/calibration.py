"""Calibrations: what `gpt2budget measure --calibrate` measured on a user's own GPU and host, and where it lives.

A calibration replaces spec-sheet figures in the step-time model (gpt2budget.core.steptime) for one GPU id: the
achieved large-GEMM rate per dtype, the achieved memory bandwidth, each stack's CPU cost per kernel on this
host (a tiny model's step, where the GPU has almost nothing to do, divided by the kernels the stack profile
counts), the host-device copy rate and, with several GPUs, the all-reduce bus bandwidth. Files are YAML, one per GPU id, in
`<user spec folder>/calibrations/<gpu-id>.yaml`, with their sources (date, GPU, driver, torch, host CPU).
Pure: plain data in, plain data out; YAML is read by gpt2budget.specs.loader.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from gpt2budget.errors import SpecError, safe_text

if TYPE_CHECKING:
    from gpt2budget.specs.definitions import GpuSpec

FOLDER = "calibrations"
DTYPES = ("bf16", "fp16", "tf32", "fp32")
NUMBERS = ("memory_bandwidth_gb_per_s", "host_link_gb_per_s", "allreduce_bus_gb_per_s")
KEYS = ("gpu", "gemm_tflops", "dispatch_us_per_op", *NUMBERS, "sources")
# Plausible ranges (anything outside is a unit mistake or a broken measurement, refused with the key's name)
RANGES = {"gemm_tflops": (1e-4, 50_000.0), "memory_bandwidth_gb_per_s": (0.1, 50_000.0),
          "dispatch_us_per_op": (0.1, 10_000.0), "host_link_gb_per_s": (0.1, 5_000.0),
          "allreduce_bus_gb_per_s": (0.1, 10_000.0)}


class Calibration(NamedTuple):
    """Measured replacements for spec-sheet figures; any number may be None (then the spec's is used)."""

    gpu: str
    gemm_tflops: dict[str, float]  # TFLOP/s of the calibration GEMM (StepConstants.calibration_gemm_shape) by dtype
    memory_bandwidth_gb_per_s: float | None = None
    dispatch_us_per_op: dict[str, float] | None = None  # CPU microseconds per kernel, by stack id
    host_link_gb_per_s: float | None = None
    allreduce_bus_gb_per_s: float | None = None
    source: str = ""  # one line: "measured <date> on <gpu name>, torch <version>"


def calibration_path(folder: Path, gpu_id: str) -> Path:
    return folder / FOLDER / f"{gpu_id}.yaml"


def _number(value: Any, path: str, key: str) -> float:
    lo, hi = RANGES[key.split(".")[0]]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SpecError(path, key, f"expected a number, got {value!r}")
    if not lo <= value <= hi:
        raise SpecError(path, key, f"{value} is outside the plausible range {lo:g}-{hi:g}")
    return float(value)


# A calibration measures the GPU it is for: a GEMM rate above the GPU's rated peak by more than boost clocks allow
# (crowd-sourced RTX 4090 / 3090 GEMMs reach 1.05x / 1.08x of it: specs.definitions.SUSTAINED_OVER_PEAK) or a copy
# bandwidth above the spec sheet's is another GPU's, or a unit mistake. 1.5x leaves room for measurement noise.
OVER_SPEC = 1.5


def model_number(name: str) -> str | None:
    """The model number in a GPU's name, as torch reports it or a spec names it ("NVIDIA H100 80GB HBM3" -> "h100",
    "NVIDIA GeForce RTX 4090" -> "4090"): the first word with two or more digits that is not a memory size."""
    for word in re.findall(r"[a-z]*\d+[a-z]*", name.lower()):
        if sum(c.isdigit() for c in word) >= 2 and not re.fullmatch(r"\d+(gb|gib|g)", word):
            return str(word)
    return None


def other_gpu(device_name: str, gpu: GpuSpec) -> bool:
    """Whether a device name (torch's, or a calibration's sources.gpu_name) is not this GPU: "cpu", or a model
    number that this GPU's id, name and aliases do not have."""
    if device_name.strip().lower() in ("cpu", "mps"):
        return True
    number = model_number(device_name)
    if number is None:
        return False  # nothing to tell it by (an unusual name): not refused
    own = " ".join((gpu.id, gpu.name, *gpu.aliases)).lower()
    return number not in re.findall(r"[a-z]*\d+[a-z]*", own)


def check_for_gpu(cal: Calibration, sources: dict[str, Any], path: str, gpu: GpuSpec) -> None:
    """A SpecError naming the file and key when a calibration cannot be of this GPU: measured on another device
    (sources.gpu_name), or faster than the GPU's spec sheet allows."""
    again = f"measure --calibrate on the {gpu.name}, delete the file, or pass --no-calibration"
    name = sources.get("gpu_name")
    if isinstance(name, str) and other_gpu(name, gpu):
        raise SpecError(path, "sources.gpu_name", f"measured on {name!r}, not on the {gpu.name} ({gpu.id}); {again}")
    peaks = gpu.peak_tflops
    for dtype, rate in cal.gemm_tflops.items():
        candidates = [getattr(peaks, dtype, None)] + ([peaks.tf32] if dtype == "fp32" else [])
        found = [p for p in candidates if p is not None]
        if not found:
            continue  # no rated peak for this path: nothing to compare with
        peak = max(found)
        if rate > OVER_SPEC * peak:
            raise SpecError(path, f"gemm_tflops.{dtype}", f"{rate:g} TFLOP/s is more than {OVER_SPEC:g}x the {gpu.name}'s "
                                                          f"peak ({peak:g} TFLOP/s): not a measurement of it; {again}")
    bw = cal.memory_bandwidth_gb_per_s
    if bw is not None and bw > OVER_SPEC * gpu.memory_bandwidth_gb_per_s:
        raise SpecError(path, "memory_bandwidth_gb_per_s", f"{bw:g} GB/s is more than {OVER_SPEC:g}x the {gpu.name}'s "
                                                           f"{gpu.memory_bandwidth_gb_per_s:g} GB/s; {again}")


def from_data(data: Any, path: str, gpu_id: str, gpu: GpuSpec | None = None) -> Calibration:
    """A calibration from a YAML file's data; every problem names the file and the key. With `gpu`, the file is
    also checked against the GPU it is for (`check_for_gpu`)."""
    if not isinstance(data, dict):
        raise SpecError(path, "", "a calibration file is a mapping of keys")
    for key in data:
        if key not in KEYS:
            raise SpecError(path, str(key), f"unknown key (expected one of {', '.join(KEYS)})")
    if data.get("gpu") != gpu_id:
        raise SpecError(path, "gpu", f"names {data.get('gpu')!r}, but the file is for {gpu_id!r}")
    gemm = data.get("gemm_tflops") or {}
    if not isinstance(gemm, dict):
        raise SpecError(path, "gemm_tflops", "expected a mapping of dtype to TFLOP/s")
    rates = {}
    for dtype, value in gemm.items():
        if dtype not in DTYPES:
            raise SpecError(path, f"gemm_tflops.{dtype}", f"unknown dtype (expected {', '.join(DTYPES)})")
        rates[str(dtype)] = _number(value, path, f"gemm_tflops.{dtype}")
    numbers: dict[str, Any] = {k: None if data.get(k) is None else _number(data[k], path, k) for k in NUMBERS}
    dispatch = data.get("dispatch_us_per_op")
    if dispatch is not None:
        if not isinstance(dispatch, dict):
            raise SpecError(path, "dispatch_us_per_op", "expected a mapping of stack id to microseconds")
        numbers["dispatch_us_per_op"] = {str(k): _number(v, path, f"dispatch_us_per_op.{k}") for k, v in dispatch.items()}
    sources = data.get("sources") or {}
    if not isinstance(sources, dict):
        raise SpecError(path, "sources", "expected a mapping")
    source = safe_text(f"measured {sources.get('measured', '?')} on {sources.get('gpu_name', gpu_id)}, "
                       f"torch {sources.get('torch', '?')}")  # printed in check's assumptions
    cal = Calibration(gpu=gpu_id, gemm_tflops=rates, source=source, **numbers)
    if gpu is not None:
        check_for_gpu(cal, sources, path, gpu)
    return cal


def to_data(cal: Calibration, sources: dict[str, str]) -> dict[str, Any]:
    """The YAML file's data for a calibration (keys with no value left out)."""
    out: dict[str, Any] = {"gpu": cal.gpu, "gemm_tflops": {k: float(f"{v:.4g}") for k, v in cal.gemm_tflops.items()}}
    if cal.dispatch_us_per_op:
        out["dispatch_us_per_op"] = {k: round(v, 2) for k, v in cal.dispatch_us_per_op.items()}
    for key in NUMBERS:
        value = getattr(cal, key)
        if value is not None:
            out[key] = round(value, 2)
    out["sources"] = sources
    return out


def find_calibration(gpu_id: str, folders: Iterable[Path], read: Any, gpu: GpuSpec | None = None) -> Calibration | None:
    """The calibration for `gpu_id` from the user's spec folders (the last folder that has one wins), checked
    against `gpu` where given. `read(path) -> data` parses a YAML file (gpt2budget.specs.loader.read_yaml_file)."""
    found = None
    for folder in folders:
        path = calibration_path(folder, gpu_id)
        if path.is_file():
            found = from_data(read(path), str(path), gpu_id, gpu)
    return found

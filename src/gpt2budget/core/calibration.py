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
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

from gpt2budget.errors import SpecError

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
    gemm_tflops: dict[str, float]  # TFLOP/s of the calibration GEMM (steptime.CALIBRATION_GEMM_SHAPE) by dtype
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


def from_data(data: Any, path: str, gpu_id: str) -> Calibration:
    """A calibration from a YAML file's data; every problem names the file and the key."""
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
    source = (f"measured {sources.get('measured', '?')} on {sources.get('gpu_name', gpu_id)}, "
              f"torch {sources.get('torch', '?')}")
    return Calibration(gpu=gpu_id, gemm_tflops=rates, source=source, **numbers)


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


def find_calibration(gpu_id: str, folders: Iterable[Path], read: Any) -> Calibration | None:
    """The calibration for `gpu_id` from the user's spec folders (the last folder that has one wins).
    `read(path) -> data` parses a YAML file (gpt2budget.specs.loader.read_yaml_file)."""
    found = None
    for folder in folders:
        path = calibration_path(folder, gpu_id)
        if path.is_file():
            found = from_data(read(path), str(path), gpu_id)
    return found

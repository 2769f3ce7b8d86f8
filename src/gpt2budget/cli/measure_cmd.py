"""The `measure` command's work: run a configuration (or the calibration micro-benchmarks) on this machine and
put the result beside the prediction. Imports torch (through gpt2budget.measure): only the command imports it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gpt2budget import measure
from gpt2budget.core import measuring
from gpt2budget.core.calibration import Calibration
from gpt2budget.errors import UsageError
from gpt2budget.output.report import to_json
from gpt2budget.specs.catalog import Specs, normalize
from gpt2budget.units import fmt_bytes, fmt_seconds


def gpu_id_for(specs: Specs, gpu: str | None, device: str) -> str:
    """--gpu, or the catalogue GPU whose name or alias matches torch's device name."""
    if gpu:
        return specs.gpus.get(gpu, "--gpu").id
    measure.check_device(device)
    if device != "cuda":
        raise UsageError("--gpu", "with --device cpu, name the GPU whose prediction to compare with, e.g. --gpu 4090")
    name = normalize(measure.device_info(device).get("gpu_name", ""))
    best = [g for g in specs.gpus if normalize(g.name) == name or normalize(g.name) in name or name in normalize(g.name)]
    if len(best) != 1:
        raise UsageError("--gpu", f"cannot tell which catalogue GPU this is ({name!r}): name it, e.g. --gpu 4090")
    return best[0].id


def run_measure(ci: Any, device: str, warmup: int, steps: int, as_json: bool) -> str:
    measure.check_device(device)
    fields = measuring.step_fields(ci, device, warmup, steps, compile_=device == "cuda")
    info = measure.device_info(device)
    record = measure.run_steps(measure.StepConfig(**fields))
    doc = measuring.compared(record, measuring.prediction(ci), info, ci.model.id)
    return to_json(doc) if as_json else measure_text(doc)


def measure_text(doc: dict[str, Any]) -> str:
    p, r = doc["prediction"], doc["measured_over_predicted"]
    where = doc.get("gpu_name") or doc.get("device")
    lines = [f"{doc['model']} [{doc['stack']} stack], micro-batch {doc['batch']}, seq {doc['seq']}, {doc['precision']}, "
             f"on {where} (torch {doc['torch']}); prediction for {p['gpu']}"
             + (f", calibrated ({p['calibration']})" if p.get("calibration") else "")]
    if doc.get("status") != "ok":
        lines.append(f"status: {doc.get('status')} (predicted: {'fits' if p['fits'] else 'does not fit'}, "
                     f"{fmt_bytes(p['required_bytes'])} required)")
        return "\n".join(lines) + "\n"

    def ratio(x: float | None) -> str:
        return "-" if x is None else f"{x:.2f}x"

    rows = [("quantity", "measured", "predicted", "measured/predicted"),
            ("peak allocated", fmt_bytes(doc.get("peak_alloc_bytes")) if doc.get("peak_alloc_bytes") else "-",
             fmt_bytes(p["peak_alloc_bytes"]), ratio(r["peak_alloc"])),
            ("step time", fmt_seconds(doc["step_s"]), fmt_seconds(p["step_s"]),
             ratio(p["step_s"] / doc["step_s"] if doc["step_s"] else None)),
            ("tokens/s", f"{doc['tokens_per_s']:,.0f}", f"{p['tokens_per_s']:,.0f}", ratio(r["tokens_per_s"]))]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        cells = [cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells))
    lines.append(f"(step time ratio is predicted/measured; the prediction is bound by {p['bound']})")
    return "\n".join(lines) + "\n"


def run_calibrate(specs: Specs, inputs_for: Any, gpu_id: str, device: str, folder: Path | None,
                  folders: list[Path] | None = None) -> str:
    """Micro-benchmarks of this GPU and host, written as a calibration for `gpu_id` into `folder` (`folders`: the
    user's spec folders in search order, to say when a later one's calibration takes precedence)."""
    import torch

    from gpt2budget.core.calibration import calibration_path, other_gpu
    from gpt2budget.specs.loader import dump_yaml

    if device != "cuda":
        raise UsageError("--device", "--calibrate measures the GPU it saves a calibration for: run it with --device cuda")
    measure.check_device(device)
    dev = torch.device(device)
    info = measure.device_info(device)
    spec = specs.gpus.get(gpu_id, "--gpu")
    if other_gpu(str(info.get("gpu_name") or device), spec):
        raise UsageError("--gpu", f"this machine's GPU is {info.get('gpu_name')!r}, not the {spec.name} ({gpu_id}): "
                                  "calibrate on that GPU, or leave --gpu out to name this one from the catalogue")
    dispatch = {}
    for stack in ("hf", "nanogpt"):
        ci = inputs_for(gpu_id, stack_id=stack, no_calibration=True)  # the old file may be what is being replaced
        try:
            secs = {n: measure.tiny_step_seconds(stack, dev, compile_=device == "cuda", n_layer=n)
                    for n in measuring.TINY_LAYERS}
        except UsageError:
            continue  # e.g. transformers missing: that stack keeps its profile's constant
        dispatch[stack] = measuring.dispatch_us(secs, ci._replace(options=ci.options._replace(
            optimizer="adamw-fused" if stack == "nanogpt" and device == "cuda" else "adamw", checkpointing=False)))
    cal = Calibration(gpu=gpu_id, gemm_tflops=measure.gemm_tflops(dev),
                      memory_bandwidth_gb_per_s=measure.copy_bandwidth_gb_per_s(dev),
                      dispatch_us_per_op=dispatch or None,
                      host_link_gb_per_s=measure.finite(measure.host_link_gb_per_s(dev)))
    if folder is None:
        raise UsageError("--config-dir", "no user spec folder to write the calibration to")
    path = measuring.write_calibration(folder, cal, measuring.calibration_sources(info), dump_yaml)
    searched, mine = [calibration_path(f, gpu_id) for f in (folders or [])], os.path.abspath(path)
    after = [p for i, p in enumerate(searched) if any(os.path.abspath(q) == mine for q in searched[:i])]
    later = [p for p in after if p.is_file() and os.path.abspath(p) != mine]  # the last one found wins
    gemm = ", ".join(f"{k} {v:.1f}" for k, v in cal.gemm_tflops.items())
    disp = ", ".join(f"{k} {v:.1f} us" for k, v in dispatch.items()) or "-"
    return (f"Calibrated {gpu_id} ({info.get('gpu_name', device)}, torch {info['torch']}):\n"
            f"  GEMM TFLOP/s (16,384 x 1,600 -> 6,400, GPT-2 XL's c_fc): {gemm}\n"
            f"  memory bandwidth: {cal.memory_bandwidth_gb_per_s:,.0f} GB/s\n"
            f"  host link: {'-' if cal.host_link_gb_per_s is None else f'{cal.host_link_gb_per_s:,.1f} GB/s'}\n"
            f"  CPU per kernel: {disp}\n"
            + (f"Saved {path}: check, plan and compare now use it for {gpu_id} (--no-calibration ignores it).\n"
               if not later else f"Saved {path}; {later[-1]} comes later in the search order, so check, plan and "
                                 f"compare use that one for {gpu_id} until it is deleted.\n"))

"""`gpt2budget measure` without torch: what to run, the prediction beside each measurement, and calibrations.

Pure (no torch, no printing): the command builds a measure.StepConfig from these fields, runs it, and hands the
raw numbers back here to be compared with `check`'s prediction for the same configuration or turned into a
calibration file.
"""

from __future__ import annotations

import datetime
import os
import tempfile
from pathlib import Path
from typing import Any

from gpt2budget.core.calibration import Calibration, calibration_path, to_data
from gpt2budget.core.check import CheckInputs, evaluate
from gpt2budget.core.shape import Shape
from gpt2budget.core.steptime import ops_per_micro_step
from gpt2budget.errors import UsageError

MEASURABLE_STACKS = ("hf", "nanogpt")
MEASURABLE_OPTIMIZERS = ("adamw", "adamw-fused", "sgd")
MEASURABLE_FINETUNE = ("none", "lora")


def check_measurable(ci: CheckInputs) -> None:
    """A UsageError for what `measure` cannot run (checked before torch is asked for)."""
    o, stack = ci.options, ci.stack
    if stack.id not in MEASURABLE_STACKS:
        raise UsageError("--stack", f"measure runs the hf and nanogpt stacks (llm.c is a C program: run it and "
                                    f"compare with check), not {stack.id}")
    if o.optimizer not in MEASURABLE_OPTIMIZERS:
        raise UsageError("--optimizer", f"measure runs {', '.join(MEASURABLE_OPTIMIZERS)}, not {o.optimizer}")
    if o.finetune not in MEASURABLE_FINETUNE:
        raise UsageError("--finetune", f"measure runs {', '.join(MEASURABLE_FINETUNE)} (QLoRA needs bitsandbytes "
                                       f"and a pre-trained checkpoint), not {o.finetune}")
    if o.gpus > 1 or o.zero or o.offload != "none":
        raise UsageError("--gpus", "measure runs one GPU without sharding or offload")


def step_fields(ci: CheckInputs, device: str, warmup: int, steps: int, compile_: bool) -> dict[str, Any]:
    """The measure.StepConfig fields for a check configuration, or a UsageError for what cannot be run here."""
    check_measurable(ci)
    o, stack = ci.options, ci.stack
    shape = Shape.of(ci.model, o.seq, stack.vocab_multiple)
    return {"n_layer": shape.n_layer, "n_head": shape.n_head, "n_embd": shape.n_embd, "vocab": shape.vocab,
            "seq": o.seq, "micro_batch": o.micro_batch, "stack": stack.id, "precision": o.precision,
            "optimizer": o.optimizer, "checkpointing": o.checkpointing, "attention": o.attention,
            "dropout": o.dropout, "finetune": o.finetune, "lora_rank": o.lora_rank, "device": device,
            "compile": compile_, "warmup": warmup, "steps": steps}


def prediction(ci: CheckInputs) -> dict[str, Any]:
    """What the tool predicts for one measured step: one optimizer step per micro-batch, as measure runs it."""
    o = ci.options
    r = evaluate(ci._replace(batch_tokens=float(o.micro_batch * o.seq)), with_cost=False)
    th, mem = r.throughput, r.memory
    return {"peak_alloc_bytes": mem.allocator_peak_bytes, "required_bytes": mem.required_bytes,
            "fits": mem.fits, "step_s": th.step_seconds, "tokens_per_s": th.tokens_per_second,
            "bound": th.bound, "gpu": ci.gpu.id, "calibration": r.compute.calibration}


def compared(record: dict[str, Any], pred: dict[str, Any], info: dict[str, Any], model_id: str) -> dict[str, Any]:
    """One record in the shared data's format (../shared/data/*.jsonl), plus the prediction and the ratios
    measured / predicted."""
    out = {"kind": "point", "model": model_id, **record, "device": info.get("device"),
           "gpu_name": info.get("gpu_name"), "torch": info.get("torch"), "prediction": pred}
    ratios: dict[str, float | None] = {"peak_alloc": None, "tokens_per_s": None}
    if record.get("status") == "ok":
        if record.get("peak_alloc_bytes") and pred["peak_alloc_bytes"]:
            ratios["peak_alloc"] = record["peak_alloc_bytes"] / pred["peak_alloc_bytes"]
        if record.get("tokens_per_s") and pred["tokens_per_s"]:
            ratios["tokens_per_s"] = record["tokens_per_s"] / pred["tokens_per_s"]
    out["measured_over_predicted"] = ratios
    return out


TINY = {"n_head": 2, "n_embd": 64, "vocab": 512, "seq": 32}
TINY_LAYERS = (2, 8)  # a short and a long tiny model: the CPU cost per kernel is the slope between them


def tiny_kernels(n_layer: int, ci: CheckInputs) -> float:
    """Kernels one step of the tiny model launches, as the stack profile counts them (gpt2budget.core.steptime)."""
    o = ci.options
    shape = Shape(n_layer, TINY["n_head"], TINY["n_embd"], TINY["vocab"], TINY["seq"], True)
    return ops_per_micro_step(shape, ci.stack, o) + o.opt.kernels


def dispatch_us(step_s: dict[int, float], ci: CheckInputs) -> float:
    """CPU microseconds per kernel from tiny models' steps by layer count, where the GPU has almost nothing to do:
    the slope of step time over the kernels the stack profile counts, between the shortest and the longest model,
    so per-step costs that do not grow with the kernels (the training loop's Python, zero_grad, a compiled graph's
    guards) stay out of it. A 2-layer model's step alone over its ~70 kernels read 61 us per kernel for compiled
    nanoGPT on our H200 host, where its real steps imply 50; a slope through the real 12-layer step gives 49.5.
    With one model, or a slope that noise made non-positive, the step over its kernels."""
    short, long = min(step_s), max(step_s)
    k_short, k_long = tiny_kernels(short, ci), tiny_kernels(long, ci)
    if long > short and step_s[long] > step_s[short]:
        return (step_s[long] - step_s[short]) / (k_long - k_short) * 1e6
    return step_s[short] / k_short * 1e6


def calibration_sources(info: dict[str, Any], today: datetime.date | None = None) -> dict[str, str]:
    day = (today or datetime.date.today()).isoformat()
    return {"measured": f"{day} by gpt2budget measure --calibrate",
            "gpu_name": str(info.get("gpu_name") or info.get("device", "?")),
            "driver": str(info.get("driver", "?")), "torch": str(info.get("torch", "?")),
            "host_cpu": str(info.get("host_cpu", "?"))}


def write_calibration(folder: Path, cal: Calibration, sources: dict[str, str], dump: Any) -> Path:
    """Write `<folder>/calibrations/<gpu>.yaml` atomically (a temporary file renamed into place: an interrupted
    run leaves the old file or none, never half of one). `dump(data) -> str` is gpt2budget.specs.loader.dump_yaml."""
    path = calibration_path(folder, cal.gpu)
    text = ("# Measured by `gpt2budget measure --calibrate`: replaces spec-sheet figures for this GPU in check, plan\n"
            "# and compare (--no-calibration ignores it). Delete the file to go back to the spec sheet.\n"
            + dump(to_data(cal, sources)))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise UsageError("--config-dir", f"cannot write {path} ({exc.strerror})") from None
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask

"""Results as text for scripts: JSON, YAML, CSV and Markdown. No Rich here (that is render.py)."""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from gpt2budget.core.result import Advice, CheckResult, Memory, PlanEntry, PlanResult, to_data
from gpt2budget.output.flags import change_flags, check_command, model_flags
from gpt2budget.units import fmt_count, fmt_hours, fmt_ratio

GIB = 2**30

def _clean(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None  # JSON has no inf/nan: "never" is null
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def gib(x: float) -> str:
    return f"{x / GIB:.1f} GiB"


def host_fallback(mem: Memory) -> str:
    """What a stack that moves its optimizer states and master weights to host memory by itself (llm.c) does with a
    run the card cannot hold."""
    need = f"{mem.host_fallback_required_bytes / GIB:.2f} GiB"
    if mem.host_fallback_required_bytes <= mem.available_bytes:
        return (f"the stack's code then keeps its optimizer states and master weights in host memory and trains, "
                f"slower, on {need} of the card's {mem.available_bytes / GIB:.2f} GiB")
    return f"even with its optimizer states and master weights in host memory, as the stack's code does, it needs {need}"


def summary(r: CheckResult) -> str:
    """The one-line answer, in words, from the typed result."""
    mem, i = r.memory, r.inputs
    req = r.target_requirement
    per = " per GPU" if i.gpus > 1 else ""
    what = {"finetune": f"{i.finetune} fine-tuning on {fmt_count(req.tokens)} tokens",
            "custom": f"training on {fmt_count(req.tokens)} tokens",
            "original": f"the original recipe ({fmt_count(req.tokens)} tokens)"}[r.target]
    if not mem.host_fits:
        mem_text = (f"offloaded states need {gib(mem.host_bytes)} of host memory, more than the "
                    f"{gib(mem.host_available_bytes)} given (--host-memory)")
    elif r.verdict.fits:
        spare = mem.available_bytes - mem.required_bytes
        tight = (f", only {spare / 2**20:,.0f} MiB to spare: a desktop or another process can push it over "
                 "(--reserve-gib)") if spare < GIB else ""
        mem_text = (f"fits in memory{per} ({gib(mem.required_bytes)} of {gib(mem.available_bytes)}, "
                    f"micro-batch up to {mem.max_micro_batch}{tight})")
    else:
        mem_text = (f"does not fit in memory{per}: needs {gib(mem.required_bytes)} at micro-batch "
                    f"{i.micro_batch}, the card has {gib(mem.available_bytes)}")
        if mem.host_fallback_required_bytes:
            mem_text += f" ({host_fallback(mem)})"
    time_text = (f"{what} takes {fmt_hours(req.wall_time_hours)}, "
                 f"{'within' if req.fits_in_duration else 'beyond'} the {fmt_hours(i.duration_hours)} given "
                 f"({fmt_ratio(req.ratio)})")
    return f"{r.model.id} on {i.gpus}x {r.gpu.name}: {mem_text}; {time_text}."


def advice_data(base: CheckResult, a: Advice) -> dict[str, Any]:
    doc: dict[str, Any] = to_data(a)
    del doc["inputs"]  # the flags say it
    return {"flags": change_flags(base.inputs, a.inputs), **doc}


def check_data(r: CheckResult, with_advice: bool = True) -> dict[str, Any]:
    """check's document (JSON/YAML/CSV): the typed result as data, with the verdict's sentence and the
    advice's flags."""
    doc: dict[str, Any] = to_data(r._replace(advice=()))
    doc["verdict"]["summary"] = summary(r)
    if with_advice:
        doc["advice"] = [advice_data(r, a) for a in r.advice]
    else:
        del doc["advice"]
    return doc


def plan_entry_data(e: PlanEntry) -> dict[str, Any]:
    doc: dict[str, Any] = to_data(e)
    del doc["inputs"]
    if e.inputs is None:
        return {"model": e.model, "n_params": e.n_params, "fits": False, "reason": "no option we model makes it fit"}
    doc["flags"] = model_flags(e.inputs)
    return doc


def plan_reason(p: PlanResult) -> str | None:
    best = p.best
    if best is None or best.predicted_loss is None or best.tokens is None:
        return None
    return (f"{best.model} has the lowest predicted loss ({best.predicted_loss:.3f}) of the models that fit: "
            f"{fmt_count(best.tokens)} tokens ({best.tokens_per_param:.0f} per parameter) in "
            f"{fmt_hours(best.wall_time_hours or 0.0)}; the compute-optimal size for this budget is "
            f"{fmt_count(p.compute_optimal.n_params)} parameters"
            + ("; memory, not compute, is the binding limit" if p.binding_limit == "memory" else ""))


def plan_data(p: PlanResult, n_ctx: dict[str, int], default_checkpointing: str) -> dict[str, Any]:
    """plan's document: each model considered, and the best with the `check` command that reproduces it."""
    doc: dict[str, Any] = {"best": None, "considered": [plan_entry_data(e) for e in p.considered],
                           "options_tried": p.options_tried, "compute_optimal": to_data(p.compute_optimal)}
    if p.best is not None and p.best.inputs is not None:
        doc["best"] = {**plan_entry_data(p.best),
                       "check": check_command(p.best.inputs, n_ctx.get(p.best.model, p.best.inputs.seq),
                                              default_checkpointing),
                       "cost": to_data(p.cost), "memory": to_data(p.memory), "inputs": to_data(p.best.inputs)}
        doc["binding_limit"] = p.binding_limit
        doc["reason"] = plan_reason(p)
    return doc


def to_json(doc: Any) -> str:
    return json.dumps(_clean(doc), indent=2, allow_nan=False)


def to_yaml(doc: Any) -> str:
    from gpt2budget.specs.loader import dump_yaml  # yaml lives in the loader module

    return dump_yaml(_clean(doc))


def flatten(doc: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in doc.items():
        key = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict):
            out.update(flatten(v, key))
        elif isinstance(v, list):
            continue  # lists (advice) do not flatten into columns
        else:
            out[key] = v
    return out


def csv_text(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> str:
    import csv  # here, not at the top: a check's table or JSON never needs it (start-up)

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for row in rows:
        w.writerow(_clean(row))
    return buf.getvalue()


def markdown_text(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> str:
    def cell(v: Any) -> str:
        return "" if v is None else str(v).replace("|", "\\|")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def quiet_stdout() -> None:
    """After the reader of a pipe went away (`| head`): point stdout at /dev/null so nothing fails at exit."""
    with contextlib.suppress(OSError, ValueError):  # a closed pipe, a full disk
        sys.stdout.flush()
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _is_stream_path(path: str) -> bool:
    """A name for one of this process's open descriptors (/dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N):
    the descriptor is written through, never the file its link resolves to replaced."""
    import re

    norm = os.path.normpath(os.path.abspath(path))
    return re.fullmatch(rf"/dev/std(out|err)|/dev/fd/\d+|/proc/(self|thread-self|{os.getpid()})/fd/\d+", norm) is not None


def write_output(path: str, text: str, option: str = "--output") -> None:
    """Write `text` to `path` for --output/--svg/--html, as a user expects of a file argument:
    - a regular file (new or existing) is replaced atomically: a fresh temporary file (O_CREAT|O_EXCL) beside
      it, renamed into place, so a failed write leaves the old file and no hidden temporary behind; a new file
      gets 0666 less the umask, an existing one keeps its mode;
    - a symbolic link is followed: its target is replaced and the link stays a link;
    - a FIFO, a device or /dev/stdout is written through (there is no renaming a device);
    - a read-only file is refused (replacing it by rename would silently defeat its mode)."""
    import stat
    import tempfile

    from gpt2budget.errors import UsageError

    if _is_stream_path(path):  # /dev/stdout, /dev/fd/1, /proc/self/fd/1: whatever the descriptor is (`>> log`,
        try:                    # `| cat`), written through, appended: never the file it points to replaced
            sys.stdout.flush()
            sys.stderr.flush()
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(text)
            return
        except OSError as exc:
            raise UsageError(option, f"cannot write {path} ({exc.strerror})") from None
    target = os.path.realpath(path) if os.path.islink(path) else path
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise UsageError(option, f"cannot write {path} ({exc.strerror})") from None
    try:
        if st is not None and not stat.S_ISREG(st.st_mode):
            if stat.S_ISDIR(st.st_mode):
                raise UsageError(option, f"{path} is a folder; expected a file name")
            with open(target, "a", encoding="utf-8") as fh:  # FIFO, device: written through, never truncated
                fh.write(text)
            return
        if st is not None and (not st.st_mode & 0o222 or not os.access(target, os.W_OK)):  # no write bit (root too)
            raise UsageError(option, f"{path} is read-only; choose another file or change its mode")
        folder = os.path.dirname(target) or "."
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(target)}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.chmod(tmp, stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_umask())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        raise UsageError(option, f"cannot write {path} ({exc.strerror})") from None

"""Results as text for scripts: JSON, YAML, CSV and Markdown. No Rich here (that is render.py)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any


def _clean(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None  # JSON has no inf/nan: "never" is null
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def to_json(doc: Any) -> str:
    return json.dumps(_clean(doc), indent=2, allow_nan=False)


def to_yaml(doc: Any) -> str:
    from gpt2budget.loader import dump_yaml  # yaml lives in the loader module

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
            with open(target, "w", encoding="utf-8") as fh:  # FIFO, device, /dev/stdout: write through
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

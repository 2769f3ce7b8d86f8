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

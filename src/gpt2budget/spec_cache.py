"""A cache of validated specs, so that a run whose spec files have not changed skips YAML and pydantic.

The cache is a JSON file in the user cache folder, one per version of the spec definitions (a fingerprint of
the modules that define and check specs, so that several installs never undo each other). It maps each spec
file (its kind and absolute path) to the exact text the file had when it was validated and the spec built
from it. An entry is used only when the file's text is the same, byte for byte; anything else, including a
damaged or oversized cache, is a miss and the file is validated again. The cache never changes a result and
never raises: it is only a shortcut. GPT2BUDGET_CACHE_DIR moves it; GPT2BUDGET_NO_CACHE=1 turns it off.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import zlib
from pathlib import Path
from typing import Any

from gpt2budget import __version__, specs

MAX_ENTRIES = 128  # spec files remembered per install; the built-in catalogue is 26
MAX_CACHE_BYTES = 8 * 2**20  # ~100 KB is usual; a larger file is not read (and is replaced on the next write)
STALE_S = 30 * 86400  # another install's cache file untouched this long is removed when we write ours
_TYPES = {cls.__name__: cls for cls in specs.SPEC_TYPES}
_TAG = "@spec"


def cache_folder() -> Path | None:
    if os.environ.get("GPT2BUDGET_NO_CACHE"):
        return None
    base = os.environ.get("GPT2BUDGET_CACHE_DIR")
    if not base:
        if os.name == "nt":
            root = os.environ.get("LOCALAPPDATA")
            base = os.path.join(root, "gpt2budget", "Cache") if root else None
        else:
            root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
            base = os.path.join(root, "gpt2budget")
    return Path(base) if base else None


def fingerprint() -> str:
    """Changes whenever the spec definitions, their validation (which also checks names from options.py) or
    this cache's format could have changed."""
    here = Path(__file__).parent
    stats = [os.stat(here / name) for name in ("specs.py", "validation.py", "options.py", "spec_cache.py")]
    return ";".join([__version__, *(f"{s.st_size}:{s.st_mtime_ns}" for s in stats)])


def cache_path() -> Path | None:
    """This install's cache file, or None when caching is off or the package's files cannot be seen."""
    folder = cache_folder()
    if folder is None:
        return None
    try:
        return folder / f"specs-{zlib.crc32(fingerprint().encode()):08x}.json"
    except OSError:  # imported from a zip, say
        return None


def encode(spec: Any) -> str:
    """A spec as JSON text, each dataclass tagged with its type."""
    return json.dumps(specs.spec_data(spec, _TAG), allow_nan=False)


def decode(text: str) -> Any:
    """The spec `encode` wrote. An unknown type name or a wrong field raises; the caller checks the type."""
    return json.loads(text, object_hook=_rebuild)


def _rebuild(d: dict[str, Any]) -> Any:
    """json object_hook: a tagged mapping becomes its dataclass (lists in a spec are tuples; a field left out
    because it was None gets its default, None)."""
    name = d.pop(_TAG, None)
    if name is None:
        return d
    return _TYPES[name](**{k: tuple(v) if type(v) is list else v for k, v in d.items()})


def _checksum(text: str, data: str) -> int:
    """Ties an entry's spec to its text: an entry edited by hand or damaged on disk is not used (the spec is
    rebuilt without the validation rules, so it must be exactly what validation produced)."""
    return zlib.crc32(data.encode(), zlib.crc32(text.encode()))


class SpecCache:
    """The cache as one run sees it: entries read at the start, the ones used or added written back on a miss."""

    def __init__(self) -> None:
        self.path = cache_path()
        self.entries: dict[str, Any] = {}
        self.used: dict[str, Any] = {}
        self.changed = False
        if self.path is None:
            return
        try:
            with open(self.path, "rb") as fh:
                raw = fh.read(MAX_CACHE_BYTES + 1)
            entries = json.loads(raw)["entries"] if len(raw) <= MAX_CACHE_BYTES else {}
            if isinstance(entries, dict):
                self.entries = entries
        except Exception:  # no cache yet, or one that cannot be used: every file is a miss
            self.entries = {}

    @staticmethod
    def key(kind: str, path: Path) -> str:
        return f"{kind}:{os.path.abspath(path)}"

    def get(self, kind: str, path: Path, text: str) -> Any | None:
        """The spec cached for this exact text of this file, or None."""
        key = self.key(kind, path)
        entry = self.entries.get(key)
        if not isinstance(entry, dict) or entry.get("text") != text:
            return None
        try:
            if entry["check"] != _checksum(text, entry["spec"]):  # changed by hand or damaged
                return None
            spec = decode(entry["spec"])
        except Exception:  # damaged: validate the file again
            return None
        if type(spec) is not specs.KIND_TYPES[kind]:
            return None
        self.used[key] = entry
        return spec

    def put(self, kind: str, path: Path, text: str, spec: Any) -> None:
        data = encode(spec)
        self.used[self.key(kind, path)] = {"text": text, "spec": data, "check": _checksum(text, data)}
        self.changed = True

    def save(self) -> None:
        """Write the cache if a file was validated this run (atomically; errors are ignored)."""
        if not self.changed or self.path is None:
            return
        merged = {**{k: v for k, v in self.entries.items() if k not in self.used}, **self.used}
        keep = dict(list(merged.items())[-MAX_ENTRIES:])  # the entries used now come last, so they stay
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump({"entries": keep}, fh)
            os.replace(tmp, self.path)
        except Exception:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            return
        self._remove_stale()

    def _remove_stale(self) -> None:
        """Other installs' cache files not written for STALE_S (an upgrade leaves the old one behind)."""
        assert self.path is not None
        with contextlib.suppress(OSError):
            for other in self.path.parent.glob("specs-*.json"):
                if other != self.path and time.time() - other.stat().st_mtime > STALE_S:
                    other.unlink()

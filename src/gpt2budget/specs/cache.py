"""A cache of validated specs, so that a run whose spec files have not changed skips YAML and pydantic.

The cache is a JSON file in the user cache folder, one per version of the spec definitions (a fingerprint of
the modules that define and check specs, so that several installs never undo each other). It maps each spec
file (its kind and absolute path) to the exact text the file had when it was validated and the spec built
from it. An entry is used only when the file's text is the same, byte for byte; anything else, including a
damaged or oversized cache, is a miss and the file is validated again. The cache never changes a result and
never raises: it is only a shortcut. GPT2BUDGET_CACHE_DIR moves it; GPT2BUDGET_NO_CACHE=1 turns it off.

Trust rules (a cache is only as good as the folder it sits in): the files live in a sub-folder the cache makes
for itself (`spec-cache/`, mode 0700, with a CACHEDIR.TAG marker); it is used only when the current user owns
it and nobody else can write to it (otherwise the run goes on without a cache and says so once on stderr);
files are opened without following symbolic links and used only when they are regular files owned by the
user; every number of a decoded spec is checked again against the spec's rules before use; temporary files
are made with O_CREAT|O_EXCL (tempfile.mkstemp) and renamed into place; and the stale-file clean-up removes only
the cache's own files, in its own marked sub-folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
import time
import zlib
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from gpt2budget import __version__
from gpt2budget.specs import definitions as specs

MAX_ENTRIES = 10_000  # spec files remembered per install (every file a run uses is kept; others up to the bytes)
MAX_CACHE_BYTES = 32 * 2**20  # ~100 KB is usual, ~6 MB for 1,000 user GPUs; writes stay under it, so it is read
SUBFOLDER = "spec-cache"
MARKER = "CACHEDIR.TAG"
MARKER_TEXT = ("Signature: 8a477f597d28d172789f06886806bc55\n"
               "# gpt2budget's spec cache (https://bford.info/cachedir/); safe to delete.\n")
STALE_S = 30 * 86400  # another install's cache file untouched this long is removed when we write ours
_TYPES = {cls.__name__: cls for cls in specs.SPEC_TYPES}
_TAG = "@spec"


def cache_folder() -> Path | None:
    """The cache's own sub-folder (spec-cache/) of the user cache folder or GPT2BUDGET_CACHE_DIR."""
    if os.environ.get("GPT2BUDGET_NO_CACHE"):
        return None
    base = os.environ.get("GPT2BUDGET_CACHE_DIR")
    if not base:
        if os.name == "nt":
            root = os.environ.get("LOCALAPPDATA")
            base = os.path.join(root, "gpt2budget", "Cache") if root else None
        else:
            xdg = os.environ.get("XDG_CACHE_HOME", "")
            root = xdg if os.path.isabs(xdg) else os.path.join(os.path.expanduser("~"), ".cache")  # XDG: absolute only
            base = os.path.join(root, "gpt2budget")
    return Path(base) / SUBFOLDER if base else None


_warned: set[str] = set()


def _warn_once(text: str) -> None:
    if text not in _warned:
        _warned.add(text)
        with contextlib.suppress(Exception):
            from gpt2budget.errors import safe_text

            sys.stderr.write(f"Warning: {safe_text(text)}\n")


def trusted(folder: Path) -> bool:
    """The folder is ours to trust: a real directory (not a link), owned by this user, writable by nobody else."""
    if not hasattr(os, "getuid"):
        return True  # Windows: per-user LOCALAPPDATA, no POSIX modes to check
    try:
        st = os.lstat(folder)
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o022:
        _warn_once(f"not using the spec cache in {folder}: it must be a folder you own that others cannot write "
                   "to (running without a cache)")
        return False
    return True


def _open_regular(path: Path) -> int | None:
    """A descriptor for reading `path` only if it is a regular file owned by this user; never follows a
    symbolic link, never blocks on a FIFO."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or (hasattr(os, "getuid") and st.st_uid != os.getuid()):
        os.close(fd)
        return None
    return fd


def fingerprint() -> str:
    """Changes whenever the spec definitions, their validation (specs, validation, loader, catalog, options,
    pydantic's version) or this cache's format could have changed."""
    here = Path(__file__).parent  # gpt2budget/specs/
    files = [*(here / name for name in ("definitions.py", "validation.py", "loader.py", "catalog.py", "cache.py")),
             here.parent / "options.py"]
    with contextlib.suppress(Exception):  # pydantic's version file, found without importing pydantic
        import importlib.util

        found = importlib.util.find_spec("pydantic")
        if found is not None and found.origin:
            files.append(Path(found.origin).parent / "version.py")
    stats = [os.stat(f) for f in files]
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
    if any(v is None for v in d.values()):
        raise ValueError("null in a cached spec")  # `encode` leaves out fields with no value: a damaged entry
    return _TYPES[name](**{k: tuple(v) if type(v) is list else v for k, v in d.items()})


def _checksum(text: str, data: str) -> int:
    """Ties an entry's spec to its text: an entry edited by hand or damaged on disk is not used (the spec is
    rebuilt without the validation rules, so it must be exactly what validation produced)."""
    return zlib.crc32(data.encode(), zlib.crc32(text.encode()))


class Names(NamedTuple):
    """What a catalogue needs to index a spec before it is decoded; for a model also its family (the advisor
    proposes smaller models of the run's family only, so the others are never decoded)."""

    id: str
    aliases: tuple[str, ...]
    name: str
    family: str = ""

    @classmethod
    def of(cls, spec: Any) -> Names:
        return cls(spec.id, tuple(spec.aliases), spec.name, getattr(spec, "family", ""))

    def stored(self) -> list[Any]:
        """As an entry keeps them: [id, aliases, name], and the family where there is one."""
        return [self.id, list(self.aliases), self.name, *([self.family] if self.family else [])]


class Cached(NamedTuple):
    """A cache entry found by `lookup`: the names to index it by, and its spec still encoded."""

    names: Names
    data: str
    check: int


class SpecCache:
    """The cache as one run sees it: entries read at the start, the ones used or added written back on a miss."""

    def __init__(self) -> None:
        self.path = cache_path()
        self.entries: dict[str, Any] = {}
        self.used: dict[str, Any] = {}
        self.changed = False
        if self.path is None:
            return
        if self.path.parent.exists() and not trusted(self.path.parent):
            self.path = None
            return
        fd = _open_regular(self.path)
        if fd is None:
            return
        try:
            with os.fdopen(fd, "rb") as fh:
                raw = fh.read(MAX_CACHE_BYTES + 1)
            entries = json.loads(raw)["entries"] if len(raw) <= MAX_CACHE_BYTES else {}
            if isinstance(entries, dict):
                self.entries = entries
        except Exception:  # no cache yet, or one that cannot be used: every file is a miss
            self.entries = {}

    @staticmethod
    def key(kind: str, path: Path) -> str:
        return f"{kind}:{os.path.abspath(path)}"

    def lookup(self, kind: str, path: Path, text: str) -> Cached | None:
        """The entry cached for this exact text of this file, without decoding its spec: a catalogue of 1,000
        files decodes only the specs a run uses (`spec`), where the names are checked against the spec. The
        checksum is checked here, so that damaged names never index a catalogue."""
        key = self.key(kind, path)
        entry = self.entries.get(key)
        if not isinstance(entry, dict) or entry.get("text") != text:
            return None
        try:
            stored, data, check = entry["names"], entry["spec"], entry["check"]
            sid, aliases, name, *family = stored
            if not (isinstance(sid, str) and isinstance(name, str) and isinstance(aliases, list)
                    and all(isinstance(a, str) for a in aliases) and isinstance(data, str)
                    and isinstance(check, int) and len(family) <= 1 and all(isinstance(f, str) and f for f in family)):
                return None
            if check != _checksum(text, data + json.dumps(stored)):
                return None  # damaged (a flipped bit in its names, say): validate the file again, rewrite the entry
        except Exception:  # damaged: validate the file again
            return None
        self.used[key] = entry
        return Cached(Names(sid, tuple(aliases), name, *family), data, check)

    @staticmethod
    def spec(kind: str, text: str, cached: Cached) -> Any | None:
        """A looked-up spec, tied to its file's text by the checksum, decoded, checked again against its rules and
        against the names it was indexed by (None when any of it fails: validate the file again)."""
        names = cached.names
        if cached.check != _checksum(text, cached.data + json.dumps(names.stored())):
            return None  # changed by hand or damaged
        try:
            spec: Any = decode(cached.data)
            if type(spec) is not specs.KIND_TYPES[kind] or not sane(spec):
                return None
        except Exception:  # a value no check expected: validate the file again
            return None
        return spec if names == Names.of(spec) else None

    def put(self, kind: str, path: Path, text: str, spec: Any) -> None:
        data = encode(spec)
        names = Names.of(spec).stored()
        self.used[self.key(kind, path)] = {"text": text, "spec": data, "names": names,
                                           "check": _checksum(text, data + json.dumps(names))}
        self.changed = True

    def save(self) -> None:
        """Write the cache if a file was validated this run (atomically; errors are ignored). Every entry this
        run used is kept; other entries fill what is left of MAX_CACHE_BYTES, newest first."""
        if not self.changed or self.path is None:
            return
        budget = MAX_CACHE_BYTES - 4096
        keep: dict[str, Any] = {}
        for k, v in self.used.items():
            budget -= len(json.dumps(v))
            keep[k] = v
        for k, v in reversed(list(self.entries.items())):
            if k in keep or len(keep) >= MAX_ENTRIES:
                continue
            size = len(json.dumps(v))
            if size > budget:
                continue
            budget -= size
            keep[k] = v
        folder = self.path.parent
        tmp = None
        try:
            if not folder.exists():
                # the cache's own folder, and its parent where that is missing too (~/.cache/gpt2budget); a
                # GPT2BUDGET_CACHE_DIR whose own parent is missing is a typo: no cache rather than a tree of folders
                if not folder.parent.exists() and not folder.parent.parent.exists():
                    return
                folder.mkdir(parents=True, mode=0o700)
                (folder / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
            if not trusted(folder):
                return
            import tempfile

            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".specs-", suffix=".tmp")  # O_CREAT|O_EXCL, 0600
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"entries": keep}, fh)
            os.replace(tmp, self.path)
            tmp = None
        except Exception:
            return
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        self._remove_stale()

    def _remove_stale(self) -> None:
        """Other installs' cache files not written for STALE_S (an upgrade leaves the old one behind): only our
        own files, in our own marked sub-folder, never anything else."""
        assert self.path is not None
        folder = self.path.parent
        if not (folder / MARKER).is_file():
            return
        with contextlib.suppress(OSError):
            for other in folder.glob("specs-*.json"):
                st = os.lstat(other)
                if (other != self.path and stat.S_ISREG(st.st_mode) and time.time() - st.st_mtime > STALE_S
                        and (not hasattr(os, "getuid") or st.st_uid == os.getuid())):
                    other.unlink()


@cache
def _field_types(cls: type) -> tuple[tuple[str, Any], ...]:
    """(field, its type) of a spec dataclass. specs.py does not defer its annotations (no `from __future__ import
    annotations`), so each is the type itself, made once at import: nothing is evaluated here. A type left as text
    is one this check does not know (`_checker` refuses it, and the file is validated again)."""
    import dataclasses

    return tuple((f.name, f.type) for f in dataclasses.fields(cls))


def _computable(v: float) -> bool:
    """Within what validation accepts for any number (specs.MAX_MAGNITUDE): NaN and infinities are not, and an
    int of any size compares without converting to float (no OverflowError)."""
    return -specs.MAX_MAGNITUDE <= v <= specs.MAX_MAGNITUDE


def _rule_test(rule: Any) -> Callable[[Any], bool] | None:
    """The test of one Rule on a value of its (already checked) type, as validation applies it: bounds on a
    number, lengths and a pattern, then the rule's own check (which must not raise). None and booleans pass, as
    they always did (no rule of a spec applies to them); a rule that only describes is no test at all."""
    import re

    gt, ge, le, check = rule.gt, rule.ge, rule.le, rule.check
    lo_len, hi_len = rule.min_length, rule.max_length
    pattern = re.compile(rule.pattern) if rule.pattern is not None else None
    if gt is None and ge is None and le is None and check is None and lo_len is None and hi_len is None \
            and pattern is None:
        return None

    def test(v: Any) -> bool:
        if v is None or type(v) is bool:
            return True
        try:
            if type(v) in (int, float) and ((gt is not None and not v > gt) or (ge is not None and not v >= ge)
                                            or (le is not None and not v <= le)):
                return False
            if type(v) in (str, tuple, dict) and ((lo_len is not None and len(v) < lo_len)
                                                  or (hi_len is not None and len(v) > hi_len)):
                return False
            if pattern is not None and (type(v) is not str or pattern.search(v) is None):
                return False
            if check is not None:
                check(v)
        except Exception:
            return False
        return True

    return test


@cache
def _checker(tp: Any) -> Callable[[Any], bool]:
    """The test that a value is of type `tp` as validation would have produced it, built once per type: exact
    bool, int and str (no bool for a number, no null where the field cannot be empty), every number finite and
    within MAX_MAGNITUDE, tuples and dicts element by element, each Rule of an Annotated type (bounds, lengths,
    pattern, check) where validation applies it, and a spec dataclass by its own fields (`_spec_checker`)."""
    import types
    import typing

    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        base, *meta = typing.get_args(tp)
        inner = _checker(base)
        tests = tuple(t for t in (_rule_test(m) for m in meta if isinstance(m, specs.Rule)) if t is not None)
        if not tests:
            return inner
        return lambda v: inner(v) and all(t(v) for t in tests)
    if origin is typing.Union or origin is types.UnionType:
        parts = tuple(_checker(arg) for arg in typing.get_args(tp))
        return lambda v: any(part(v) for part in parts)
    if origin is typing.Literal:
        allowed = typing.get_args(tp)
        return lambda v: any(type(v) is type(arg) and v == arg for arg in allowed)
    if tp is None or tp is type(None):
        return lambda v: v is None
    if tp is typing.Any:
        return _plain_sane
    if tp is float:
        return lambda v: (type(v) is float or type(v) is int) and _computable(v)
    if tp is int:
        return lambda v: type(v) is int and _computable(v)
    if tp in (bool, str):
        return lambda v: type(v) is tp
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            item = _checker(args[0])
            return lambda v: type(v) is tuple and all(item(x) for x in v)
        items = tuple(_checker(a) for a in args)
        return lambda v: type(v) is tuple and len(v) == len(items) and all(
            c(x) for c, x in zip(items, v, strict=True))
    if origin is dict:
        key, item = (_checker(a) for a in typing.get_args(tp))
        return lambda v: type(v) is dict and all(key(k) and item(x) for k, x in v.items())
    if isinstance(tp, type) and tp in specs.SPEC_TYPES:
        return lambda v: type(v) is tp and _spec_checker(tp)(v)  # built on first use: types may nest
    if isinstance(tp, type):
        return lambda v: type(v) is tp
    return lambda v: False  # a type this check does not know: refuse, and validate the file again


_SPEC_CHECKERS: dict[type, Callable[[Any], bool]] = {}


def _spec_checker(cls: type) -> Callable[[Any], bool]:
    """The test of a spec dataclass: each field's value against its type (`_checker`), in one pass."""
    found = _SPEC_CHECKERS.get(cls)
    if found is None:
        fields = tuple((name, _checker(tp)) for name, tp in _field_types(cls))
        found = _SPEC_CHECKERS[cls] = lambda v: all(ok(getattr(v, name)) for name, ok in fields)
    return found


def _plain_sane(value: Any) -> bool:
    """A value of no declared type: every number in it finite and computable, every spec in it sane."""
    if type(value) is float or type(value) is int:
        return _computable(value)
    if isinstance(value, (tuple, list)):
        return all(_plain_sane(v) for v in value)
    if isinstance(value, dict):
        return all(_plain_sane(v) for v in value.values())
    if type(value) in specs.SPEC_TYPES:
        return _spec_checker(type(value))(value)
    return True


def sane(value: Any) -> bool:
    """A decoded spec passes its fields' types and rules again: every number finite, within its bounds, through
    its check (a poisoned cache entry can never carry a value that validation would refuse); a boolean, null,
    text or list where the spec's type says otherwise is refused."""
    return _plain_sane(value)

"""The catalogue: every GPU, model and stack spec found in the search folders, looked up by id or alias.

Files whose text is unchanged since they were last validated come from the spec cache; only the others
go through the loader (YAML and pydantic), which is therefore imported only when needed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, NamedTuple, TypeVar

from gpt2budget.errors import SpecError, UnknownNameError, UsageError
from gpt2budget.spec_cache import SpecCache
from gpt2budget.specfiles import config_dirs, read_spec_bytes, spec_files
from gpt2budget.specs import KIND_TYPES, GpuSpec, ModelSpec, StackSpec, normalize

S = TypeVar("S", bound="GpuSpec | ModelSpec | StackSpec")


__all__ = ["Catalog", "Specs", "load_catalog", "load_specs", "normalize"]


@dataclass(eq=False)
class Catalog(Generic[S]):
    """The specs of one kind by id, where each came from, and lookup by id, alias or name."""

    kind: str
    items: dict[str, S] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)  # id -> "built-in: path" etc.
    _names: dict[str, str] = field(default_factory=dict)
    broken: dict[str, SpecError] = field(default_factory=dict)  # normalized file name -> why it was skipped
    warn: Callable[[str], None] = field(default=lambda message: None, repr=False)
    _warned: set[str] = field(default_factory=set)
    _collisions: dict[str, str] | None = None
    _unreported: list[str] = field(default_factory=list)

    def add(self, spec: S, origin: str) -> None:
        self._names.clear()
        self._collisions = None
        self.items[spec.id] = spec
        self.origin[spec.id] = origin

    def _index(self) -> dict[str, str]:
        if not self._names:
            for sid, item in self.items.items():
                for alias in (*item.aliases, item.name):
                    self._names.setdefault(normalize(alias), sid)
            for sid in self.items:  # an id always wins over another spec's alias
                self._names[normalize(sid)] = sid
        return self._names

    def collisions(self) -> dict[str, str]:
        """Names (ids and aliases, normalized) that more than one spec claims where a user's spec is among
        them: name -> a message saying who claims it and which one it resolves to."""
        if self._collisions is not None:
            return self._collisions
        claims: dict[str, list[str]] = {}
        for sid, item in self.items.items():
            for alias in (sid, *item.aliases):
                if sid not in claims.setdefault(normalize(alias), []):
                    claims[normalize(alias)].append(sid)
        names = self._index()
        out = {}
        for key, sids in claims.items():
            if len(sids) > 1 and not all(self.origin[s].startswith("built-in:") for s in sids):
                who = " and ".join(f"{s} ({self.origin[s]})" for s in sids)
                out[key] = f"{self.kind[:-1]} name {key!r} is claimed by {who}; it resolves to {names[key]}"
        self._collisions = out
        return out

    def get(self, name: str, option: str) -> S:
        key = normalize(name)
        if not key.strip("."):
            raise UnknownNameError(option, f"empty {self.kind[:-1]} name {name!r}; expected an id such as those "
                                           f"`gpt2budget {self.kind}` lists")
        if key in self.broken:  # the file asked for is the broken one: its error, not "unknown"
            raise self.broken[key]
        self._report_broken()
        names = self._index()
        if key in names:
            clash = self.collisions().get(key)
            if clash and key not in self._warned:
                self._warned.add(key)
                self.warn(clash)
            return self.items[names[key]]
        if name in self.items:
            return self.items[name]
        import difflib

        close = difflib.get_close_matches(key, list(names), n=3, cutoff=0.6)
        ids = list(dict.fromkeys(names[c] for c in close))
        hint = f"; did you mean {' or '.join(ids)}?" if ids else ""
        kind = self.kind.rstrip("s")
        raise UnknownNameError(option, f"unknown {kind} {name!r}{hint} (see `gpt2budget {self.kind}`)")

    def _report_broken(self) -> None:
        """Each skipped file, once, when the catalogue is first used (not when the one asked for is broken:
        its error says it)."""
        while self._unreported:
            self.warn(self._unreported.pop(0))

    def __iter__(self) -> Iterator[S]:
        self._report_broken()
        return iter(self.items.values())

    def __len__(self) -> int:
        return len(self.items)


def _load_file(kind: str, path: Path, cache: SpecCache) -> Any:
    raw = read_spec_bytes(path)
    try:
        text: str | None = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None  # never cached: the loader reports it
    spec = None if text is None else cache.get(kind, path, text)
    if spec is None:
        from gpt2budget.loader import spec_from_bytes  # YAML and pydantic, only for files not in the cache

        spec = spec_from_bytes(kind, raw, path)
        if text is not None:
            cache.put(kind, path, text, spec)
    return spec


def _declared_id(path: Path) -> str | None:
    """The id a broken file declares on a line of its own (`id: x`), if it can be read without parsing."""
    try:
        text = read_spec_bytes(path).decode("utf-8", "replace")
    except SpecError:
        return None
    m = re.search(r"^id:[ \t]*[\"']?([a-z0-9][a-z0-9._-]*)[\"']?[ \t]*(?:#.*)?$", text, re.MULTILINE)
    return m.group(1) if m else None


def load_catalog(kind: str, dirs: list[tuple[str, Path]], cache: SpecCache | None = None,
                 warn: Callable[[str], None] | None = None) -> Catalog[Any]:
    """Load every spec of one kind; a later folder's file with the same id replaces an earlier one.

    With `warn`, a broken file outside the built-in folder is skipped and reported once through it; asking
    for it by its file name then raises its error. Without `warn`, or in the built-in folder, it is an error."""
    own = cache is None
    cache = cache or SpecCache()
    cat: Catalog[Any] = Catalog(kind)
    if warn is not None:
        cat.warn = warn
    for label, base in dirs:
        seen: dict[str, Path] = {}
        for path in spec_files(base / kind):
            try:
                spec = _load_file(kind, path, cache)
                if spec.id in seen:
                    raise SpecError(str(path), "id", f"{spec.id!r} is also defined in {seen[spec.id]}")
            except SpecError as exc:
                if label == "built-in" or warn is None:
                    raise
                cat.broken[normalize(path.stem)] = exc
                declared = _declared_id(path)
                if declared:
                    cat.broken.setdefault(normalize(declared), exc)
                cat._unreported.append(f"skipped {' '.join(str(exc).split())}")
                continue
            seen[spec.id] = path
            cat.add(spec, f"{label}: {path}")
    if own:
        cache.save()
    return cat


def check_config_dir(folder: str) -> None:
    """A --config-dir must be a folder that holds gpus/, models/ or stacks/ (not one of those itself)."""
    base = Path(folder)
    if not folder.strip():
        raise UsageError("--config-dir", "empty folder name; expected a folder holding gpus/, models/ or stacks/")
    if not base.is_dir():
        raise UsageError("--config-dir", f"{folder}: no such folder; expected a folder holding gpus/, models/ or "
                                         "stacks/")
    if not any((base / kind).is_dir() for kind in (*KIND_TYPES, "calibrations")):
        real = base if base.name in KIND_TYPES else base.resolve()
        if real.name in KIND_TYPES:
            raise UsageError("--config-dir", f"{folder} is a {real.name}/ folder itself; give the folder that "
                                             f"holds it: {real.parent}")
        raise UsageError("--config-dir", f"{folder} holds no gpus/, models/, stacks/ or calibrations/ folder; expected a folder "
                                         "holding them (see `gpt2budget gpus --template`)")


class Specs(NamedTuple):
    """The three catalogues a run draws on."""

    gpus: Catalog[GpuSpec]
    models: Catalog[ModelSpec]
    stacks: Catalog[StackSpec]


def load_specs(user_dir: str | None = None, extra: Iterable[str] = (),
               warn: Callable[[str], None] | None = None) -> Specs:
    """The three catalogues; `warn` gets one line per problem that does not stop a run (a broken user file,
    a name two specs claim). A --config-dir that is not a spec folder is an error; a relative user folder
    (from a relative XDG_CONFIG_HOME) is ignored, as the XDG specification says."""
    if user_dir and not os.path.isabs(user_dir):
        user_dir = os.path.join(os.path.expanduser("~"), ".config", os.path.basename(os.path.normpath(user_dir)))
    extra = list(extra)
    for d in extra:
        check_config_dir(d)
    dirs = config_dirs(user_dir, extra)
    cache = SpecCache()
    specs = Specs(gpus=load_catalog("gpus", dirs, cache, warn), models=load_catalog("models", dirs, cache, warn),
                  stacks=load_catalog("stacks", dirs, cache, warn))
    cache.save()
    return specs

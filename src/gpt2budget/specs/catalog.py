"""The catalogue: every GPU, model and stack spec found in the search folders, looked up by id or alias.

Files whose text is unchanged since they were last validated come from the spec cache; only the others
go through the loader (YAML and pydantic), which is therefore imported only when needed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, NamedTuple, TypeVar

from gpt2budget.errors import SpecError, UnknownNameError, UsageError
from gpt2budget.specs.cache import Cached, Names, SpecCache
from gpt2budget.specs.definitions import KIND_TYPES, GpuSpec, ModelSpec, StackSpec, normalize
from gpt2budget.specs.files import config_dirs, read_spec_bytes, spec_files

S = TypeVar("S", bound="GpuSpec | ModelSpec | StackSpec")


__all__ = ["Catalog", "Specs", "load_catalog", "load_specs", "normalize"]


class _Pending(NamedTuple):
    """A spec found in the cache, decoded (and checked again) only when a run uses it."""

    kind: str
    path: Path
    text: str
    cached: Cached
    cache: SpecCache

    @property
    def names(self) -> Names:
        return self.cached.names


class LazyItems(Mapping[str, S]):
    """Specs by id; a cached spec is decoded on first use, so a run that uses one GPU of 1,000 decodes one."""

    def __init__(self) -> None:
        self._raw: dict[str, Any] = {}
        self.names: dict[str, Names] = {}

    def put(self, names: Names, spec: Any) -> None:
        self._raw[names.id] = spec
        self.names[names.id] = names

    def __getitem__(self, sid: str) -> S:
        value = self._raw[sid]
        if type(value) is _Pending:
            value = self._raw[sid] = _materialize(value)
        return value  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __contains__(self, sid: object) -> bool:
        return sid in self._raw

    def __repr__(self) -> str:
        return f"LazyItems({list(self._raw)})"


def _materialize(p: _Pending) -> Any:
    spec = p.cache.spec(p.kind, p.text, p.cached)
    if spec is None:  # damaged or forged: validate the file again
        from gpt2budget.specs.loader import spec_from_bytes

        spec = spec_from_bytes(p.kind, p.text.encode("utf-8"), p.path)
        p.cache.put(p.kind, p.path, p.text, spec)
        p.cache.save()  # the entry is rebuilt from the file, so that the next run is right
        if Names.of(spec) != p.names:
            raise SpecError(str(p.path), "id", "the spec cache disagreed with this file; run the command again")
    return spec


@dataclass(eq=False)
class Catalog(Generic[S]):
    """The specs of one kind by id, where each came from, and lookup by id, alias or name."""

    kind: str
    items: LazyItems[S] = field(default_factory=LazyItems)
    origin: dict[str, str] = field(default_factory=dict)  # id -> "built-in: path" etc.
    _names: dict[str, str] = field(default_factory=dict)
    broken: dict[str, SpecError] = field(default_factory=dict)  # normalized file name -> why it was skipped
    warn: Callable[[str], None] = field(default=lambda message: None, repr=False)
    _warned: set[str] = field(default_factory=set)
    _collisions: dict[str, str] | None = None
    _unreported: list[str] = field(default_factory=list)
    _bare: dict[str, str] | None = None
    _shadowed: dict[str, str] = field(default_factory=dict)  # names of replaced specs -> the id that replaced them

    def add(self, spec: S | _Pending, origin: str) -> None:
        self._names.clear()
        self._collisions = None
        self._bare = None
        names = spec.names if isinstance(spec, _Pending) else Names.of(spec)
        old = self.items.names.get(names.id)
        if old is not None:  # a spec replacing another by id (a user's copy of a built-in)
            kept = tuple(dict.fromkeys((*old.aliases, old.name)))
            if not names.aliases:  # it declares no aliases of its own: the names it replaces still find it
                names = names._replace(aliases=kept)
            else:
                for alias in kept:
                    self._shadowed.setdefault(normalize(alias), names.id)
        self.items.put(names, spec)
        self.origin[names.id] = origin

    def _index(self) -> dict[str, str]:
        if not self._names:
            for sid, item in self.items.names.items():
                for alias in (*item.aliases, item.name):
                    self._names.setdefault(normalize(alias), sid)
            for sid in self.items:  # an id always wins over another spec's alias
                self._names[normalize(sid)] = sid
        return self._names

    def _vendorless(self) -> dict[str, str]:
        """Each name without its vendor words (nvidia, geforce, amd, radeon) -> the spec it names, where only one
        spec has that name."""
        if self._bare is None:
            found: dict[str, set[str]] = {}
            for key, sid in self._index().items():
                found.setdefault(_strip_vendor(key), set()).add(sid)
            self._bare = {k: next(iter(v)) for k, v in found.items() if len(v) == 1 and k}
        return self._bare

    def collisions(self) -> dict[str, str]:
        """Names (ids and aliases, normalized) that more than one spec claims where a user's spec is among
        them: name -> a message saying who claims it and which one it resolves to."""
        if self._collisions is not None:
            return self._collisions
        claims: dict[str, list[str]] = {}
        for sid, item in self.items.names.items():
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
        bare = self._vendorless().get(_strip_vendor(key))
        if bare is not None:  # "GeForce RTX 4070 Ti" for "NVIDIA GeForce RTX 4070 Ti": the vendor words optional
            return self.items[bare]
        import difflib

        close = difflib.get_close_matches(key, list(names), n=3, cutoff=0.6)
        # first the spec that replaced one this was a name of, then names that hold it whole ("4070ti" in
        # "rtx4070ti" before "5070ti"), then the closest
        close.sort(key=lambda c: key not in c)
        shadow = [self._shadowed[key]] if key in self._shadowed and self._shadowed[key] in self.items else []
        ids = list(dict.fromkeys([*shadow, *(names[c] for c in close)]))[:3]
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

    def of_family(self, family: str) -> Iterator[S]:
        """The models of one family (the advisor's smaller models): a cached spec is decoded only when the
        family it was indexed by is this one."""
        self._report_broken()
        return (self.items[sid] for sid, names in self.items.names.items() if names.family == family)

    def __len__(self) -> int:
        return len(self.items)


_VENDOR_WORDS = re.compile(r"^(?:nvidia|geforce|amd|radeon)+")  # normalized names run their words together


def _strip_vendor(key: str) -> str:
    return _VENDOR_WORDS.sub("", key)


def _load_file(kind: str, path: Path, cache: SpecCache) -> Any:
    """The file's spec, or a _Pending one when the cache has this exact text (decoded when used)."""
    raw = read_spec_bytes(path)
    try:
        text: str | None = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None  # never cached: the loader reports it
    if text is not None:
        cached = cache.lookup(kind, path, text)
        if cached is not None:
            return _Pending(kind, path, text, cached, cache)
    from gpt2budget.specs.loader import spec_from_bytes  # YAML and pydantic, only for files not in the cache

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
                sid = spec.names.id if type(spec) is _Pending else spec.id
                if sid in seen:
                    raise SpecError(str(path), "id", f"{sid!r} is also defined in {seen[sid]}")
            except SpecError as exc:
                if label == "built-in" or warn is None:
                    raise
                cat.broken[normalize(path.stem)] = exc
                declared = _declared_id(path)
                if declared:
                    cat.broken.setdefault(normalize(declared), exc)
                cat._unreported.append(f"skipped {' '.join(str(exc).split())}")
                continue
            seen[sid] = path
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
        misnamed = [m for m in folder_problems(base) if m.endswith("/?")]
        raise UsageError("--config-dir", f"{folder} holds no gpus/, models/, stacks/ or calibrations/ folder; expected a folder "
                                         "holding them (see `gpt2budget gpus --template`)"
                                         + "".join(f"; {m}" for m in misnamed))


_FOLDERS = (*KIND_TYPES, "calibrations")


def folder_problems(folder: Path) -> list[str]:
    """What in a spec folder is not read, and why: the folder missing, a gpus/ folder given for the folder that
    holds it, a misnamed sub-folder (gpu/, GPUs/), a spec file at the top instead of in gpus/, models/ or stacks/,
    or nothing to read at all. Empty when the folder is as expected."""
    from gpt2budget.specs.files import is_artefact

    if not folder.is_dir():
        return [f"{folder}: no such folder; expected a folder holding gpus/, models/ or stacks/"]
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        return [f"{folder}: cannot list folder ({exc.strerror})"]
    subdirs = {e.name for e in entries if _is_dir(e)}
    if not subdirs & set(_FOLDERS):
        real = folder if folder.name in KIND_TYPES else folder.resolve()
        if real.name in KIND_TYPES:
            return [f"{folder} is a {real.name}/ folder itself; give the folder that holds it: {real.parent}"]
    out = []
    for name in sorted(subdirs - set(_FOLDERS)):
        kind = next((k for k in _FOLDERS if name.lower().rstrip("s") == k.rstrip("s")), None)
        if kind is not None:
            out.append(f"{folder / name}/ is not read: did you mean {kind}/?")
    tops = [e.name for e in entries if e.name.endswith((".yaml", ".yml")) and not is_artefact(e.name) and not _is_dir(e)]
    for name in tops:
        out.append(f"{folder / name} is not read: spec files go in the gpus/, models/ or stacks/ folder under {folder}")
    if not subdirs & set(_FOLDERS) and not out:
        out.append(f"{folder} holds no gpus/, models/, stacks/ or calibrations/ folder; expected a folder holding them "
                   "(see `gpt2budget gpus --template`)")
    return out


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


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
    if warn is not None:  # the same messages for every folder searched (the user folder only once it exists)
        for label, base in dirs[1:]:
            if label != "user" or base.exists():
                for message in folder_problems(base):
                    if label == "user" and "holds no gpus/" in message:
                        continue  # an empty user folder is no mistake (the misnamed and misplaced are said)
                    warn(message if label == "--config-dir" else f"{'user folder' if label == 'user' else label}: {message}")
    cache = SpecCache()
    specs = Specs(gpus=load_catalog("gpus", dirs, cache, warn), models=load_catalog("models", dirs, cache, warn),
                  stacks=load_catalog("stacks", dirs, cache, warn))
    cache.save()
    return specs

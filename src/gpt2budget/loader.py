"""Finding and loading spec files: the only module that reads YAML.

Safe by construction: the document is composed by PyYAML's safe (C, where available) composer, then built
here into plain dicts, which refuses duplicate keys, aliases/anchors (no alias bombs), non-string keys,
files over MAX_SPEC_BYTES and unknown tags. Every error names the file, the key and the line.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from gpt2budget.errors import SpecError, UnknownNameError
from gpt2budget.specs import GpuSpec, ModelSpec, StackSpec

MAX_SPEC_BYTES = 256 * 1024  # a spec is a page of YAML; anything larger is refused before parsing
KINDS: dict[str, type[BaseModel]] = {"gpus": GpuSpec, "models": ModelSpec, "stacks": StackSpec}
ENV_PATH = "GPT2BUDGET_CONFIG_PATH"

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
S = TypeVar("S", bound=BaseModel)


def builtin_config_dir() -> Path:
    """The specs shipped inside the package (or the repository's configs/ when run from a checkout)."""
    packaged = Path(str(resources.files("gpt2budget"))) / "configs"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "configs"


def config_dirs(user_dir: str | None = None, extra: Iterable[str] = ()) -> list[tuple[str, Path]]:
    """Search order: built-in, the user config directory, GPT2BUDGET_CONFIG_PATH, each --config-dir."""
    dirs: list[tuple[str, Path]] = [("built-in", builtin_config_dir())]
    if user_dir:
        dirs.append(("user", Path(user_dir)))
    for part in os.environ.get(ENV_PATH, "").split(os.pathsep):
        if part.strip():
            dirs.append((ENV_PATH, Path(part)))
    for d in extra:
        dirs.append(("--config-dir", Path(d)))
    return dirs


# --- safe YAML ---------------------------------------------------------------------------------------


def _read_text(path: Path) -> str:
    shown = str(path)
    try:
        if path.is_dir():
            raise SpecError(shown, "", "is a directory, not a spec file")
        size = path.stat().st_size
        if size > MAX_SPEC_BYTES:
            raise SpecError(shown, "", f"file is {size:,} bytes; spec files are limited to {MAX_SPEC_BYTES:,}")
        with open(path, "rb") as fh:
            raw = fh.read(MAX_SPEC_BYTES + 1)
    except SpecError:
        raise
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise SpecError(shown, "", f"cannot read file ({reason})") from None
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(shown, "", f"file is larger than {MAX_SPEC_BYTES:,} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(shown, "", f"not UTF-8 text (byte {exc.start})") from None


def _scalar(node: yaml.Node, path: str, key: str, ctor: Any) -> Any:
    try:
        return ctor.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or exc
        raise SpecError(path, key, f"bad value ({problem})", node.start_mark.line + 1) from None


def _build(node: yaml.Node, path: str, key: str, lines: dict[str, int], ctx: tuple[Any, set[int]]) -> Any:
    ctor, seen = ctx
    line = node.start_mark.line + 1
    tag = node.tag or ""
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        if id(node) in seen:  # the composer shares the node an alias points to
            raise SpecError(path, key, "YAML anchors and aliases are not allowed in spec files", line)
        seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        if tag != "tag:yaml.org,2002:map":
            raise SpecError(path, key, f"tag {tag!r} is not allowed", line)
        out: dict[str, Any] = {}
        for knode, vnode in node.value:
            if not isinstance(knode, yaml.ScalarNode):
                raise SpecError(path, key, "mapping keys must be plain strings", knode.start_mark.line + 1)
            k = str(_scalar(knode, path, key, ctor))  # a ScalarNode, checked above
            full = f"{key}.{k}" if key else k
            if k in out:
                first = lines.get(full)
                raise SpecError(path, full, f"duplicate key (first defined on line {first})",
                                knode.start_mark.line + 1)
            lines[full] = knode.start_mark.line + 1
            out[k] = _build(vnode, path, full, lines, ctx)
        return out
    if isinstance(node, yaml.SequenceNode):
        if tag != "tag:yaml.org,2002:seq":
            raise SpecError(path, key, f"tag {tag!r} is not allowed", line)
        items = []
        for i, item in enumerate(node.value):
            lines[f"{key}.{i}"] = item.start_mark.line + 1
            items.append(_build(item, path, f"{key}.{i}", lines, ctx))
        return items
    allowed = ("str", "int", "float", "bool", "null")
    if tag not in {f"tag:yaml.org,2002:{t}" for t in allowed}:
        raise SpecError(path, key, f"tag {tag!r} is not allowed", line)
    return _scalar(node, path, key, ctor)


def parse_yaml(text: str, path: str) -> tuple[Any, dict[str, int]]:
    """Parse one YAML document into plain data and a map of dotted key -> line number."""
    lines: dict[str, int] = {}
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise SpecError(path, "", f"invalid YAML: {exc.problem}", mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise SpecError(path, "", f"invalid YAML: {exc}") from None
    except RecursionError:
        raise SpecError(path, "", "invalid YAML: nested too deeply") from None
    if node is None:
        raise SpecError(path, "", "file is empty")
    try:
        return _build(node, path, "", lines, (yaml.SafeLoader(""), set())), lines
    except RecursionError:
        raise SpecError(path, "", "invalid YAML: nested too deeply") from None


def validate_data(kind: str, data: Any, path: str, lines: dict[str, int]) -> BaseModel:
    spec, problems = _checked(kind, data, path, lines)
    if spec is None:
        raise problems[0]
    return spec


def _checked(kind: str, data: Any, path: str, lines: dict[str, int]) -> tuple[BaseModel | None, list[SpecError]]:
    """The validated spec, or None and every problem found."""
    if not isinstance(data, dict):
        return None, [SpecError(path, "", f"expected a mapping of keys at the top level, got {type(data).__name__}")]
    data.setdefault("id", Path(path).stem)
    try:
        return KINDS[kind].model_validate(data), []
    except ValidationError as exc:
        return None, _spec_errors(exc, path, lines)


def _spec_errors(exc: ValidationError, path: str, lines: dict[str, int]) -> list[SpecError]:
    """Each pydantic error as a SpecError naming the key and its line, in file order."""
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required key is missing"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        shown = msg if "input" not in err or err["type"] == "missing" else f"{msg} (got {err['input']!r:.60})"
        out.append(SpecError(path, loc, shown, _line_for(loc, lines)))
    return sorted(out, key=lambda e: e.line or 0)


def spec_file_problems(kind: str, path: Path) -> list[SpecError]:
    """Every problem of one spec file (for `validate`); an empty list when it is valid."""
    try:
        data, lines = parse_yaml(_read_text(path), str(path))
    except SpecError as exc:
        return [exc]
    return _checked(kind, data, str(path), lines)[1]


def _line_for(loc: str, lines: dict[str, int]) -> int | None:
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc.rpartition(".")[0]
    return None


def load_spec_file(kind: str, path: Path) -> BaseModel:
    text = _read_text(path)
    data, lines = parse_yaml(text, str(path))
    return validate_data(kind, data, str(path), lines)


def guess_kind(path: Path, data: Any) -> str:
    """Which kind a file named on the command line is: by its folder, else by its keys."""
    if path.parent.name in KINDS:
        return path.parent.name
    if isinstance(data, dict):
        if "peak_tflops" in data:
            return "gpus"
        if "n_layer" in data:
            return "models"
        if "layer_activations" in data:
            return "stacks"
    return "gpus"


# --- the catalogue -----------------------------------------------------------------------------------


def normalize(name: str) -> str:
    return re.sub(r"[^a-z0-9.]", "", name.lower())


@dataclass
class Catalog(Generic[S]):
    kind: str
    items: dict[str, S] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)  # id -> "built-in: path" etc.
    _names: dict[str, str] = field(default_factory=dict)

    def add(self, spec: S, origin: str) -> None:
        sid = spec.id  # type: ignore[attr-defined]
        self.items[sid] = spec
        self.origin[sid] = origin

    def _index(self) -> dict[str, str]:
        if not self._names:
            for sid, spec in self.items.items():
                for alias in (*spec.aliases, spec.name):  # type: ignore[attr-defined]
                    self._names.setdefault(normalize(alias), sid)
            for sid in self.items:  # an id always wins over another spec's alias
                self._names[normalize(sid)] = sid
        return self._names

    def get(self, name: str, option: str) -> S:
        if name in self.items:
            return self.items[name]
        names = self._index()
        key = normalize(name)
        if key in names:
            return self.items[names[key]]
        close = difflib.get_close_matches(key, list(names), n=3, cutoff=0.6)
        ids = list(dict.fromkeys(names[c] for c in close))
        hint = f"; did you mean {' or '.join(ids)}?" if ids else ""
        kind = self.kind.rstrip("s")
        raise UnknownNameError(option, f"unknown {kind} {name!r}{hint} (see `gpt2budget {self.kind}`)")

    def __iter__(self) -> Iterator[S]:
        return iter(self.items.values())

    def __len__(self) -> int:
        return len(self.items)


def load_catalog(kind: str, dirs: list[tuple[str, Path]]) -> Catalog[Any]:
    """Load every spec of one kind; a later folder's file with the same id replaces an earlier one."""
    cat: Catalog[Any] = Catalog(kind)
    for label, base in dirs:
        folder = base / kind
        if not folder.is_dir():
            continue
        seen: dict[str, Path] = {}
        try:
            files = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml"))
        except OSError as exc:
            raise SpecError(str(folder), "", f"cannot list folder ({exc.strerror})") from None
        for path in files:
            spec = load_spec_file(kind, path)
            sid = spec.id  # type: ignore[attr-defined]
            if sid in seen:
                raise SpecError(str(path), "id", f"{sid!r} is also defined in {seen[sid]}")
            seen[sid] = path
            cat.add(spec, f"{label}: {path}")
    return cat


@dataclass
class Specs:
    gpus: Catalog[GpuSpec]
    models: Catalog[ModelSpec]
    stacks: Catalog[StackSpec]


def load_specs(user_dir: str | None = None, extra: Iterable[str] = ()) -> Specs:
    dirs = config_dirs(user_dir, extra)
    return Specs(
        gpus=load_catalog("gpus", dirs),
        models=load_catalog("models", dirs),
        stacks=load_catalog("stacks", dirs),
    )


def dump_yaml(data: Any) -> str:
    """YAML text of plain data (used for --format yaml and templates)."""
    return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100))

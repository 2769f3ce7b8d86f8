"""Reading one spec file: YAML to plain data to a validated spec. The only module that parses YAML.

Safe by construction: the document is composed by PyYAML's safe (C, where available) composer, then built
here into plain dicts, which refuses duplicate keys, aliases/anchors (no alias bombs), non-string keys,
files over specfiles.MAX_SPEC_BYTES and unknown tags. Every error names the file, the key and the line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from gpt2budget.errors import SpecError
from gpt2budget.specs import validation
from gpt2budget.specs.definitions import FAMILIES, KIND_TYPES
from gpt2budget.specs.files import read_spec_bytes

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# --- safe YAML ---------------------------------------------------------------------------------------


def read_spec_text(path: Path) -> str:
    """A spec file's text: within the size limit, and UTF-8."""
    return _decode(read_spec_bytes(path), str(path))


def _decode(raw: bytes, shown: str) -> str:
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
    except (ValueError, OverflowError):  # Python's limit on int("...") of 4,301 digits or more, say
        text = str(node.value)
        raise SpecError(path, key, f"bad value ({len(text):,} characters: {text[:20]}...); expected a plain number",
                        node.start_mark.line + 1) from None


def _build(node: yaml.Node, path: str, key: str, lines: dict[str, int], ctx: tuple[Any, set[int]]) -> Any:
    ctor, seen = ctx
    line = node.start_mark.line + 1
    tag = node.tag or ""
    if id(node) in seen:  # the composer shares the node an alias points to (scalars included)
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
    _refuse_yaml11_numbers(node, path, key, line)
    if tag == "tag:yaml.org,2002:str" and not getattr(node, "style", None) and _YAML12_FLOAT.fullmatch(str(node.value)):
        return float(node.value)  # YAML 1.2 reads an unquoted 1e9 or 10.0e9 as a number; PyYAML (1.1) as text
    return _scalar(node, path, key, ctor)


_YAML12_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")


def _refuse_yaml11_numbers(node: yaml.Node, path: str, key: str, line: int) -> None:
    """YAML 1.1 reads `1:30` as 90 (base 60) and `017` as 15 (octal): surprises, refused with the reason."""
    if node.tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float") or getattr(node, "style", None):
        return
    text = str(node.value)
    if ":" in text:
        raise SpecError(path, key, f"{text} is a YAML 1.1 base-60 number; expected a plain number "
                                   "(quote it if it is text)", line)
    if re.fullmatch(r"[-+]?0[xXoObB][0-9a-fA-F_]+", text):
        raise SpecError(path, key, f"{text} is a YAML 1.1 hexadecimal, octal or binary number; expected a plain "
                                   "decimal number (quote it if it is text)", line)
    if re.fullmatch(r"[-+]?0[0-9_]+", text):
        raise SpecError(path, key, f"{text} has a leading zero, which YAML 1.1 reads as octal; expected a plain "
                                   "number without it", line)


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


def read_yaml_file(path: Path) -> Any:
    """Any small YAML file (a calibration) as plain data, with the spec files' safety rules and limits."""
    return parse_yaml(read_spec_text(path), str(path))[0]


MAX_PROBLEMS = 20  # problems listed per file (`validate`); the rest are counted in one line


def validate_data(kind: str, data: Any, path: str, lines: dict[str, int]) -> Any:
    spec, problems = _checked(kind, data, path, lines, limit=1)
    if spec is None:
        raise problems[0]
    return spec


def _checked(kind: str, data: Any, path: str, lines: dict[str, int],
             limit: int | None = None) -> tuple[Any, list[SpecError]]:
    """The validated spec, or None and the problems found (the first `limit` of them, then one line counting the
    rest)."""
    if not isinstance(data, dict):
        return None, [SpecError(path, "", f"expected a mapping of keys at the top level, got {type(data).__name__}")]
    other = _other_kind(kind, data)
    if other:
        marker, where = other
        return None, [SpecError(path, "", f"this looks like a {where[:-1]} spec (has {marker}); put it in {where}/")]
    data.setdefault("id", Path(path).stem)
    try:
        return validation.validate_spec(kind, data), []
    except ValidationError as exc:
        return None, _spec_errors(kind, exc, path, lines, limit)


# A key that only one kind of spec has: a file with it, in another kind's folder, is in the wrong folder.
_KIND_MARKERS = {"gpus": "peak_tflops", "models": "n_layer", "stacks": "layer_activations"}
# Hugging Face config.json keys (Llama, Qwen2, Mistral...) written into a model spec: what the spec calls them.
_HF_KEYS = {"num_key_value_heads": "n_kv_head", "intermediate_size": "d_ff", "num_attention_heads": "n_head",
            "num_hidden_layers": "n_layer", "hidden_size": "n_embd", "max_position_embeddings": "n_ctx",
            "tie_word_embeddings": "tied_embeddings", "rope_theta": "positions: rope", "rope_scaling": "positions: rope",
            "rms_norm_eps": "norm: rmsnorm", "hidden_act": "mlp", "ffn_dim": "d_ff", "multiple_of": "d_ff",
            "norm_eps": "norm", "n_kv_heads": "n_kv_head", "sliding_window": None}


def _other_kind(kind: str, data: dict[str, Any]) -> tuple[str, str] | None:
    if _KIND_MARKERS.get(kind, "") in data:
        return None
    for other, marker in _KIND_MARKERS.items():
        if other != kind and marker in data:
            return marker, other
    return None


def _unknown_key_message(kind: str, loc: tuple[Any, ...], data_keys: set[str]) -> str:
    import difflib

    key = str(loc[-1])
    if kind == "models" and len(loc) == 1 and key in _HF_KEYS:
        ours = _HF_KEYS[key]
        if ours is None:
            return (f"unknown key: {key} (sliding-window attention) is not modelled; the families modelled are "
                    f"{', '.join(FAMILIES)}")
        return (f"unknown key: {key} is a Hugging Face config.json key; a model spec writes it as {ours} (or give "
                "the config.json itself: --model path/to/config.json)")
    allowed = [f for f in validation.field_names(kind, loc[:-1]) if f not in data_keys]
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.7)
    return f"unknown key (did you mean {close[0]}?)" if close else "unknown key"


def _spec_errors(kind: str, exc: ValidationError, path: str, lines: dict[str, int],
                 limit: int | None = None) -> list[SpecError]:
    """Each pydantic error as a SpecError naming the key and its line: unknown keys first (a typo there is
    the cause of a missing key), then in file order, missing keys last. With `limit`, the first `limit` of them
    and one more counting the rest: the work stays linear in the file's size (a file of 25,000 unknown keys)."""
    found: list[tuple[tuple[int, int], str, str, tuple[Any, ...] | None]] = []  # (rank, line), key, message, loc
    rank = {"unknown": 0, "required": 2}
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        blamed = getattr(err.get("ctx", {}).get("error"), "key", None)  # specs.KeyValueError: a check across keys
        if isinstance(blamed, str):
            loc = f"{loc}.{blamed}" if loc else blamed
        line = _line_for(loc, lines)
        if err["type"] == "extra_forbidden":  # "unknown key...": its suggestion is looked for when it is shown
            found.append(((0, line or 0), loc, "", tuple(err["loc"])))
            continue
        msg = err["msg"]
        if err["type"] == "missing":
            msg = "required key is missing"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        value = err.get("input")
        expected = _EXPECTED.get(err["type"])
        if expected:
            msg = f"expected {expected}, got {_describe(value, expected)}"
            if expected == "text" and isinstance(value, (int, float)) and not isinstance(value, bool):
                msg += f" (quote it: \"{value}\")"
            err = {**err, "type": "missing"}  # the value is already shown
        # a check across fields gets the whole mapping as its input: not worth showing
        plain = ("input" not in err or err["type"] in ("missing", "extra_forbidden")
                 or (err["type"] == "value_error" and isinstance(value, dict)))
        shown = msg if plain else f"{msg} (got {value!r:.60})"
        found.append(((rank.get(shown.split(" ")[0], 1), line or 0), loc, shown, None))
    found.sort(key=lambda f: f[0])  # stable: pydantic's order within a line
    more = len(found) - limit if limit is not None and len(found) > limit else 0
    present: dict[str, set[str]] = {}  # parent key -> its keys in the file, built once
    if any(f[3] is not None for f in found[:len(found) - more]):
        for k in lines:
            parent, _, name = k.rpartition(".")
            present.setdefault(parent, set()).add(name)
    out = []
    for _, loc, msg, unknown in found[:len(found) - more]:
        if unknown is not None:
            msg = _unknown_key_message(kind, unknown, present.get(loc.rpartition(".")[0], set()))
        out.append(SpecError(path, loc, msg, _line_for(loc, lines)))
    typos = {m.group(1): e for e in out if (m := re.search(r"unknown key \(did you mean (\w+)\?", e.message))}
    for i, e in enumerate(out):
        typo = typos.get(e.key.rpartition(".")[2]) if e.message == "required key is missing" else None
        if typo is not None:
            out[i] = SpecError(e.path, e.key, f"required key is missing (is {typo.key.rpartition('.')[2]} on "
                                              f"line {typo.line} a typo?)", e.line)
    if more:
        out.append(SpecError(path, "", f"... and {more:,} more problems (fix the ones above first)"))
    return out


_EXPECTED = {"float_type": "a number", "int_type": "a whole number", "int_from_float": "a whole number",
             "bool_type": "true or false", "string_type": "text", "tuple_type": "a list", "list_type": "a list",
             "dict_type": "a mapping of keys", "model_type": "a mapping of keys", "model_attributes_type": "a mapping of keys"}


def _describe(value: Any, expected: str) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()} (YAML reads yes/no/on/off/true/false as booleans)"
    if isinstance(value, str):
        scalar = expected in ("a number", "a whole number", "true or false")
        return f"the text {value!r:.40}" + (" (a quoted value is text: remove the quotes)" if scalar else "")
    if value is None:
        return "nothing (null)"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return repr(value)


def spec_file_problems(kind: str, path: Path) -> list[SpecError]:
    """Every problem of one spec file (for `validate`); an empty list when it is valid."""
    try:
        data, lines = parse_yaml(read_spec_text(path), str(path))
    except SpecError as exc:
        return [exc]
    return _checked(kind, data, str(path), lines, limit=MAX_PROBLEMS)[1]


def _line_for(loc: str, lines: dict[str, int]) -> int | None:
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc.rpartition(".")[0]
    return None


def load_spec_file(kind: str, path: Path) -> Any:
    return spec_from_bytes(kind, read_spec_bytes(path), path)


def spec_from_bytes(kind: str, raw: bytes, path: Path) -> Any:
    """The validated spec (a `specs` dataclass) of one file's bytes, or a SpecError naming file, key and line."""
    data, lines = parse_yaml(_decode(raw, str(path)), str(path))
    return validate_data(kind, data, str(path), lines)


def guess_kind(path: Path, data: Any) -> str:
    """Which kind a file named on the command line is: by its folder, else by its keys."""
    if path.parent.name in KIND_TYPES:
        return path.parent.name
    if isinstance(data, dict):
        if "peak_tflops" in data:
            return "gpus"
        if "n_layer" in data:
            return "models"
        if "layer_activations" in data:
            return "stacks"
    return "gpus"


def dump_yaml(data: Any) -> str:
    """YAML text of plain data (used for --format yaml and templates)."""
    return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100))


def spec_name_problems(files: list[tuple[str, Path]]) -> list[SpecError]:
    """Names that valid spec files claim along with a built-in spec or another of the files (for `validate`):
    one error per file involved, at its aliases (or id), saying which spec the name resolves to."""
    from gpt2budget.specs.catalog import load_catalog
    from gpt2budget.specs.definitions import normalize
    from gpt2budget.specs.files import builtin_config_dir

    out: list[SpecError] = []
    for kind in KIND_TYPES:
        mine = [f for k, f in files if k == kind]
        if not mine:
            continue
        cat = load_catalog(kind, [("built-in", builtin_config_dir())])
        lines: dict[str, dict[str, int]] = {}
        for path in mine:
            data, lines[str(path)] = parse_yaml(read_spec_text(path), str(path))
            cat.add(validate_data(kind, data, str(path), lines[str(path)]), f"file: {path}")
        for key, message in cat.collisions().items():
            for sid, item in cat.items.items():
                origin = cat.origin[sid]
                if origin.startswith("file: ") and key in {normalize(n) for n in (sid, *item.aliases)}:
                    shown = origin[len("file: "):]
                    where = "aliases" if key in {normalize(n) for n in item.aliases} else "id"
                    out.append(SpecError(shown, where, message, lines[shown].get(where)))
    return out

"""JSON Schemas: of the spec files (from their pydantic models) and of `check`'s JSON output (from the result
types in gpt2budget.core.result, so the shape of a result is written once)."""

from __future__ import annotations

import collections.abc
import types
import typing
from typing import Any

from pydantic import BaseModel

from gpt2budget.core.result import DATA_NAMES, OMIT_NONE, Advice, CheckResult, Verdict
from gpt2budget.core.trace import Trace
from gpt2budget.specs.definitions import GpuSpec, ModelSpec, StackSpec
from gpt2budget.specs.validation import model_for

# --- check's output, generated from the result types (gpt2budget.core.result) -----------------------------------
# The output layer adds what the types leave to it: the verdict's sentence and each suggestion's flags.
ADDED: dict[type, dict[str, Any]] = {
    Verdict: {"summary": {"type": "string", "description": "the answer in one sentence"}},
    Advice: {"flags": {"type": "string", "description": "the flags to add to the command that asked"}},
    # a trace's inputs as to_data writes them (its names and values are kept apart in the type: a sweep builds one
    # per row and prints none)
    Trace: {"inputs": {"type": "array", "description": "the numbers the term was computed from", "items": {
        "type": "object", "properties": {"name": {"type": "string"}, "value": {"type": "number"},
                                         "unit": {"type": "string"}},
        "required": ["name", "value", "unit"], "additionalProperties": False}}},
}
DROPPED: dict[type, set[str]] = {Advice: {"inputs"}, Trace: {"names", "values"}}  # said by the flags; said by inputs


def _type_schema(t: Any, defs: dict[str, Any]) -> dict[str, Any]:
    origin, args = typing.get_origin(t), typing.get_args(t)
    if origin is typing.Annotated:  # MaybeInf: a number, or null where it is infinite
        return {"anyOf": [_type_schema(args[0], defs), {"type": "null"}]}
    if origin in (types.UnionType, typing.Union):
        parts = [_type_schema(a, defs) for a in args if a is not type(None)]
        schema = parts[0] if len(parts) == 1 else {"anyOf": parts}
        return {"anyOf": [schema, {"type": "null"}]} if type(None) in args else schema
    if origin in (dict, collections.abc.Mapping):
        return {"type": "object", "additionalProperties": _type_schema(args[1], defs) if args[1] is not Any else {}}
    if origin is tuple:
        return {"type": "array", "items": _type_schema(args[0], defs)}
    if isinstance(t, type) and issubclass(t, tuple) and hasattr(t, "_fields"):
        name = t.__name__
        if name not in defs:
            defs[name] = {}  # placeholder: a type may refer to itself
            defs[name] = _object_schema(t, defs)
        return {"$ref": f"#/$defs/{name}"}
    simple = {float: {"type": "number"}, int: {"type": "integer"}, bool: {"type": "boolean"},
              str: {"type": "string"}}
    if t in simple:
        return dict(simple[t])
    if t is Any:
        return {}
    raise TypeError(f"no JSON Schema for {t!r}")


def _object_schema(t: type, defs: dict[str, Any]) -> dict[str, Any]:
    """A NamedTuple as the object to_data makes of it: its fields in order, under their data names; a field
    left out when None is optional, every other field required; nothing else allowed."""
    hints = typing.get_type_hints(t, include_extras=True)
    omit = OMIT_NONE.get(t, frozenset())
    names = DATA_NAMES.get(t, {})
    props: dict[str, Any] = {}
    required = []
    for f in t._fields:  # type: ignore[attr-defined]
        if f in DROPPED.get(t, set()):
            continue
        hint = hints[f]
        if f in omit:  # absent rather than null
            hint = typing.Union[tuple(a for a in typing.get_args(hint) if a is not type(None))]  # noqa: UP007
        else:
            required.append(names.get(f, f))
        props[names.get(f, f)] = _type_schema(hint, defs)
    for name, schema in ADDED.get(t, {}).items():
        props[name] = schema
        required.append(name)
    doc: dict[str, Any] = {"type": "object", "title": t.__name__, "properties": props, "required": required,
                           "additionalProperties": False}
    if t.__doc__ and not t.__doc__.startswith(f"{t.__name__}("):
        doc["description"] = " ".join(t.__doc__.split())
    return doc


def result_schema(t: type) -> dict[str, Any]:
    """The JSON Schema of the document a result type becomes (report.check_data for CheckResult)."""
    defs: dict[str, Any] = {}
    root = _object_schema(t, defs)
    if defs:
        root["$defs"] = defs
    return root


def json_schema(kind: str) -> dict[str, Any]:
    if kind == "check":
        schema = result_schema(CheckResult)
        schema["title"] = "CheckOutput"
        schema["description"] = "The document `gpt2budget check --format json` prints."
    else:
        models: dict[str, type[BaseModel]] = {"gpu": model_for(GpuSpec), "model": model_for(ModelSpec),
                                              "stack": model_for(StackSpec)}
        model = models[kind]
        schema = model.model_json_schema()
        schema.setdefault("title", model.__name__)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema

"""pydantic models made from the spec dataclasses: the checks a YAML document passes at the boundary.

`specs.py` is the one definition of each spec (fields, types, defaults and their `Rule`s); this module
turns each dataclass into a frozen pydantic model with `extra="forbid"` and no NaN/inf, so that every
error names its key, then builds the dataclass from the validated values. Imported only when a spec file
has to be checked (a file not in the cache, `validate`) or a schema is asked for: start-up never pays
for pydantic.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    Strict,
    create_model,
    model_validator,
)

from gpt2budget.specs import definitions as specs


class _SpecModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
    _spec: Any = PrivateAttr(None)

    @model_validator(mode="after")
    def _build_spec(self) -> _SpecModel:
        # Build the dataclass here, once per model (nested ones are built first and reused): its __post_init__
        # checks across fields raise ValueError, which pydantic reports at this model's key.
        self._spec = to_spec(self)
        return self


_RUNTIME: dict[type[BaseModel], type] = {}


def to_spec(value: Any) -> Any:
    """The runtime value of validated data: each generated model becomes its spec dataclass."""
    if isinstance(value, _SpecModel):
        if value._spec is not None:
            return value._spec
        cls = _RUNTIME[type(value)]
        return cls(**{name: to_spec(getattr(value, name)) for name in type(value).model_fields})
    if isinstance(value, tuple):
        return tuple(to_spec(v) for v in value)
    if isinstance(value, dict):
        return {k: to_spec(v) for k, v in value.items()}
    return value


MAX_MAGNITUDE = specs.MAX_MAGNITUDE  # defined beside the spec types: the spec cache checks it again on read


def _computable(v: float) -> float:
    if abs(v) > MAX_MAGNITUDE:
        raise ValueError(f"beyond what this tool computes with: at most {MAX_MAGNITUDE:g} in magnitude, even with "
                         "unusual: true")
    return v


def _field_metadata(rules: list[specs.Rule]) -> list[Any]:
    """A spec `Rule` as pydantic metadata: `Field` keywords, and its value check as an AfterValidator."""
    out: list[Any] = []
    for rule in rules:
        kw = {k: v for k, v in rule._asdict().items() if v is not None and k not in ("check", "before")}
        if kw:
            out.append(Field(**kw))
        if rule.check is not None:
            out.append(AfterValidator(rule.check))
        if rule.before is not None:
            out.append(BeforeValidator(rule.before))
    return out


def _translate(tp: Any) -> Any:
    """The same type with spec dataclasses replaced by their models and each Rule by pydantic metadata."""
    origin, args = get_origin(tp), get_args(tp)
    if origin is Annotated:
        base, *meta = args
        extra = _field_metadata([m for m in meta if isinstance(m, specs.Rule)])
        params = (_translate(base), *extra)
        return Annotated[params] if extra else params[0]
    if tp in (int, float):  # a boolean is not a number, "24" is not 24, 1.5 is not an int; and no number so large
        return Annotated[tp, Strict(), AfterValidator(_computable)]  # that the arithmetic on it overflows
    if tp is bool:
        return Annotated[tp, Strict()]
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return model_for(tp)
    if origin in (Union, types.UnionType):
        return Union[tuple(_translate(a) for a in args)]  # noqa: UP007 (a union built from a tuple of types)
    if origin is tuple:
        return tuple[tuple(a if a is Ellipsis else _translate(a) for a in args)]  # type: ignore[misc]
    if origin is dict:
        return dict[_translate(args[0]), _translate(args[1])]  # type: ignore[misc]
    return tp


@cache
def model_for(cls: type) -> type[BaseModel]:
    """The pydantic model that validates the spec dataclass `cls` (its name, docstring, fields and rules)."""
    hints = typing.get_type_hints(cls, include_extras=True)
    defs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            default: Any = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()  # a plain default shows in the schema; pydantic copies it per instance
        else:
            default = ...
        defs[f.name] = (_translate(hints[f.name]), default)
    doc = cls.__doc__ if cls.__doc__ and not cls.__doc__.startswith(f"{cls.__name__}(") else None
    model: type[BaseModel] = create_model(cls.__name__, __base__=_SpecModel, __doc__=doc, **defs)
    _RUNTIME[model] = cls
    return model


def validate_spec(kind: str, data: Any) -> Any:
    """The spec dataclass of one kind built from plain data; raises pydantic's ValidationError."""
    return to_spec(model_for(specs.KIND_TYPES[kind]).model_validate(data))


def _unwrap(tp: Any) -> Any:
    """The spec dataclass inside a field type (through Annotated, Optional, tuple[X, ...]), else None."""
    origin, args = get_origin(tp), get_args(tp)
    if origin is Annotated:
        return _unwrap(args[0])
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return tp
    if origin in (Union, types.UnionType, tuple):
        for a in args:
            found = _unwrap(a)
            if found is not None:
                return found
    return None


def field_names(kind: str, loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed in the mapping at `loc` (a pydantic error location) of a spec of `kind`."""
    cls: Any = specs.KIND_TYPES[kind]
    for part in loc:
        if not isinstance(part, str) or cls is None:
            continue  # a list index
        hints = typing.get_type_hints(cls, include_extras=True)
        if part not in hints:
            continue  # a dict key (utilization: {consumer: ...})
        tp = hints[part]
        inner = tp
        while get_origin(inner) is Annotated:
            inner = get_args(inner)[0]
        if get_origin(inner) is dict:
            tp = get_args(inner)[1]
        cls = _unwrap(tp)
    return [f.name for f in dataclasses.fields(cls)] if cls is not None else []

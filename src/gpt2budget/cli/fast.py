"""Start-up: let values that need no conversion skip Typer's per-parameter pydantic coercion.

Typer 0.2x validates every parameter of a command through a pydantic TypeAdapter that it builds on each run,
defaults included: for `check` that was ~45 adapters plus importing the adapter machinery, ~60 ms of a ~300 ms
start-up (profiled for the hardening issue). Most values need no conversion at all: a default we declared
(already typed), a string for a `str` option, the exact value of an Enum choice, a plain integer or decimal
within an option's bounds. Those are passed through here; everything else (other spellings, out-of-range
numbers) takes Typer's own path, so its conversions and error messages are unchanged. Repeatable options of
strings or paths (--config-dir, sweep's lists) become the list Typer would make (--config-dir alone cost ~90 ms).

Only this app's parameter objects are changed (per instance, when the group resolves a command); nothing global.
It reads Typer internals (each parameter's `type_descriptor`, `process_value`), so it is used only on the Typer
versions the tests check it against (tests/test_cli_fast.py compares it with Typer's own coercion for every
parameter) and only when those internals look as expected there; on any other Typer the speed-up is skipped
entirely and plain Typer does all the work (slower to start, same output).
"""

from __future__ import annotations

import functools
import math
import re
import types
from enum import Enum
from typing import Any

from typer.core import TyperGroup

# The Typer series the pass-through was checked against (pyproject has no upper bound: a newer Typer just runs
# without it). Add a series after tests/test_cli_fast.py passes on it.
KNOWN_TYPER = ("0.29.",)
_PARAM_ATTRS = ("multiple", "nargs", "required", "callback")

_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_MISS = object()


def plain_value(param: Any, value: Any) -> Any:
    """The value Typer's coercion would produce, when that is certain without it; _MISS otherwise."""
    desc = getattr(param, "type_descriptor", None)
    if desc is None:
        return _MISS
    multi = param.multiple or param.nargs == -1
    if value is None:
        if param.required:
            return _MISS  # Typer reports the missing option
        return () if multi else None  # an option left out: Typer's coercion gives the same
    if multi:
        return _plain_list(param, desc.annotation, value)
    if param.nargs != 1:
        return _MISS
    ann = desc.annotation
    info = desc.parameter_info
    if not isinstance(ann, type):
        return _MISS
    if issubclass(ann, Enum):
        if isinstance(value, ann):
            return value  # an already-typed default
        for member in ann:
            if type(value) is str and member.value == value:
                return member
        return _MISS
    if ann is str or ann is bool:
        return value if type(value) is ann else _MISS
    if ann in (int, float):
        if type(value) is ann:
            number: float = value
        elif isinstance(value, str) and (_INT if ann is int else _FLOAT).fullmatch(value):
            number = ann(value)
            if not math.isfinite(number):
                return _MISS
        else:
            return _MISS
        if getattr(info, "clamp", False):
            return _MISS
        lo, hi = getattr(info, "min", None), getattr(info, "max", None)
        if (lo is not None and number < lo) or (hi is not None and number > hi):
            return _MISS  # Typer words the range error
        return number
    return _MISS


def _plain_list(param: Any, ann: Any, value: Any) -> Any:
    """A repeatable option of strings or paths (--config-dir, sweep's lists): Typer makes a list of them."""
    import pathlib
    import typing

    item = typing.get_args(ann)[0] if typing.get_origin(ann) is list else None
    if item not in (str, pathlib.Path) or type(value) not in (tuple, list) or \
            not all(type(v) is str for v in value) or (param.required and not value):
        return _MISS
    return [item(v) for v in value]


@functools.cache
def known_typer() -> bool:
    """Whether this Typer is one the pass-through knows: a version of a series in KNOWN_TYPER whose parameter
    classes still have the `process_value(self, ctx, value)` it replaces. Checked once, at first use."""
    try:
        import inspect

        import typer
        from typer import core

        if not str(getattr(typer, "__version__", "")).startswith(KNOWN_TYPER):
            return False
        for cls in (core.TyperOption, core.TyperArgument):
            if list(inspect.signature(cls.process_value).parameters) != ["self", "ctx", "value"]:
                return False
        return True
    except Exception:  # anything missing or different: plain Typer
        return False


def _known_param(p: Any) -> bool:
    """A parameter with the attributes plain_value reads (a Typer parameter as 0.29 makes them)."""
    desc = getattr(p, "type_descriptor", None)
    return (desc is not None and hasattr(desc, "annotation") and hasattr(desc, "parameter_info")
            and all(hasattr(p, a) for a in _PARAM_ATTRS) and callable(getattr(type(p), "process_value", None)))


def _numeric(param: Any) -> bool:
    """A parameter that takes a number: Typer's annotation (0.29) or a Click number type (other versions)."""
    ann = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    return ann in (int, float) or type(getattr(param, "type", None)).__name__ in (
        "IntParamType", "FloatParamType", "IntRange", "FloatRange")


def refuse_underscores(param: Any, raw: Any) -> None:
    """Python's int() and float(), and so Typer's coercion, read `--micro-batch 1_000` as 1000 and `--pue 1_5` as
    15 (#31 item 15): a number option takes plain digits. `raw` is the text as given (a tuple for a repeatable
    option)."""
    for value in raw if isinstance(raw, (tuple, list)) else (raw,):
        if isinstance(value, str) and "_" in value:
            from gpt2budget.errors import UsageError

            raise UsageError(max(param.opts, key=len), f"expected a number written in plain digits, got {value!r}")


def guard_numbers(params: list[Any]) -> None:
    """Each number option refuses underscores in the text it is given, before any coercion reads it: on every
    Typer, known or not, through Click's public `handle_parse_result(ctx, opts, args)`, where `opts` holds the
    parsed command line's text by parameter name."""
    for p in params:
        real = getattr(p, "handle_parse_result", None)
        if real is None or "handle_parse_result" in vars(p) or not _numeric(p):
            continue

        def handle_parse_result(ctx: Any, opts: Any, *rest: Any, _p: Any = p, _real: Any = real, **kw: Any) -> Any:
            if hasattr(opts, "get"):
                refuse_underscores(_p, opts.get(_p.name))
            return _real(ctx, opts, *rest, **kw)

        p.handle_parse_result = handle_parse_result


def _process_value(self: Any, ctx: Any, value: Any) -> Any:
    try:
        plain = plain_value(self, value)
    except Exception:  # an internal that changed under us: Typer decides
        plain = _MISS
    if plain is _MISS:
        return type(self).process_value(self, ctx, value)  # Typer's own coercion
    if self.callback is not None:
        plain = self.callback(ctx, self, plain)
    return plain


def speed_up(params: list[Any]) -> None:
    if not known_typer():
        return
    for p in params:
        if _known_param(p) and "process_value" not in vars(p):
            p.process_value = types.MethodType(_process_value, p)


class FastGroup(TyperGroup):
    """Typer's group, with the pass-through above for its own and its commands' parameters (on a Typer it
    knows), number options that refuse underscores (on every Typer), and a closed pipe treated as the end of the
    output (exit 0) rather than Click's exit 1."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            from gpt2budget.output.report import quiet_stdout

            quiet_stdout()
            return 0

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)
        guard_numbers(params)
        speed_up(params)
        return params

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name, cmd, rest = super().resolve_command(ctx, args)
        if cmd is not None:
            params = cmd.get_params(ctx)  # the command's help option is made (and cached) here
            guard_numbers(params)  # on every Typer
            speed_up(params)  # on a Typer the pass-through knows
        return name, cmd, rest

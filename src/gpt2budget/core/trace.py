"""How a model term was computed: its formula, the numbers that went in (with units) and their sources.

The step-time model (gpt2budget.core.steptime) returns each of its terms as a `Term`: its seconds and a `Trace`.
The output layer prints `--explain`, the table and JSON from the trace, so nothing there works the model's
decisions out again. A trace holds numbers, not text made of them: formatting is the output layer's, and lazy (a
sweep builds a trace per row and prints none): the inputs' names and units are a constant per formula, their
values a tuple beside them.
"""

from __future__ import annotations

from typing import NamedTuple


class TraceInput(NamedTuple):
    """One number a term was computed from: its name, value and unit (s, B, B/s, FLOP/s, count, share, ...)."""

    name: str
    value: float
    unit: str


class Trace(NamedTuple):
    """A term's formula (its inputs named as in `names`), its inputs' values and the sources of the model's
    choices (which measurement, which rule, which spec field)."""

    formula: str
    names: tuple[tuple[str, str], ...]  # (name, unit) of each input: a constant per formula
    values: tuple[float, ...]  # each input's value, in the order of `names`
    source: str

    @property
    def inputs(self) -> tuple[TraceInput, ...]:
        return tuple(TraceInput(n, v, u) for (n, u), v in zip(self.names, self.values, strict=True))

    def value(self, name: str) -> float | None:
        """The value of the named input, None if the trace has none by that name."""
        for (n, _), v in zip(self.names, self.values, strict=True):
            if n == name:
                return v
        return None


class Term(NamedTuple):
    """One named term of a result: its seconds and how they were computed."""

    name: str
    seconds: float
    trace: Trace


def term(name: str, seconds: float, formula: str, names: tuple[tuple[str, str], ...], values: tuple[float, ...],
         source: str) -> Term:
    """A Term with its Trace, made without NamedTuple's keyword handling (a sweep makes seven per row)."""
    return _new(Term, (name, seconds, _new(Trace, (formula, names, values, source))))


_new = tuple.__new__

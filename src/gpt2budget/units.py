"""Parsing and formatting of the quantities users type: durations, token counts, byte sizes."""

from __future__ import annotations

import math
import re

from gpt2budget.errors import UsageError

_DURATION: dict[str, float] = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}
_SUFFIX: dict[str, float] = {"": 1, "k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}


def _parse(text: str, option: str, units: dict[str, float], expected: str) -> float:
    """A positive number with an optional unit suffix from `units` (case-insensitive)."""
    alternatives = "|".join(sorted((re.escape(u) for u in units), key=len, reverse=True))
    m = re.fullmatch(rf"\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*({alternatives})\s*", text.lower())
    if not m:
        raise UsageError(option, f"cannot read {text!r}; expected {expected}")
    value = float(m.group(1)) * units[m.group(2)]  # 1e400 reads as inf: too large, which the callers bound
    if value <= 0:
        raise UsageError(option, f"must be positive, got {text!r}")
    return value


MAX_DURATION_S = 1000 * 365 * 86400.0  # a thousand years: longer is a typo, and overflows later arithmetic
MAX_COUNT = 1e18  # a quintillion tokens, ~1,000x the largest training runs published


def parse_duration(text: str, option: str = "--duration") -> float:
    """'1y' (365 days), '30d', '12h', '90min', '45m', '3600s' -> seconds."""
    value = _parse(text, option, _DURATION, "a number and a unit, like 1y, 30d, 12h")
    if value > MAX_DURATION_S:
        raise UsageError(option, f"{text} is more than 1000 years; expected a duration such as 1y or 30d")
    return value


def parse_count(text: str, option: str = "--tokens") -> float:
    """'10B', '3.3e9', '100M', '500k', '1.4T' -> a number."""
    value = _parse(text, option, _SUFFIX, "a count such as 10B, 3.3e9, 100M")
    if value > MAX_COUNT:
        raise UsageError(option, f"{text} is more than 1e18; expected a count such as 10B or 1.4T")
    return value


def fmt_bytes(n: float | None) -> str:
    if n is None:
        return "-"
    if abs(n) >= 2**30:
        return f"{n / 2**30:.2f} GiB"
    if abs(n) >= 2**20:
        return f"{n / 2**20:.0f} MiB"
    return f"{n / 2**10:.0f} KiB" if abs(n) >= 1024 else f"{n:.0f} B"


def fmt_sci(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}" if math.isfinite(x) else "inf"


def fmt_count(x: float) -> str:
    for div, suf in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.3g}{suf}"
    return f"{x:.3g}"


def fmt_hours(hours: float) -> str:
    if not math.isfinite(hours):
        return "never"
    if hours * 60 < 1:  # under a minute: seconds, never "0 min"
        return f"{hours * 3600:.2g} s" if hours > 0 else "0 s"
    if hours < 1:
        return f"{hours * 60:.0f} min"
    if hours < 48:
        return f"{hours:.1f} h"
    if hours < 24 * 730:
        return f"{hours / 24:.1f} days"
    return f"{hours / 24 / 365:.1f} years"


def fmt_seconds(s: float) -> str:
    """A duration of seconds in one unit: 850 ms, 12.3 s, 4.2 min, then hours as fmt_hours."""
    if s < 1.0:
        return f"{s * 1000:.3g} ms"
    if s < 120.0:
        return f"{s:.3g} s"
    if s < 7200.0:
        return f"{s / 60:.3g} min"
    return fmt_hours(s / 3600)


def hours_unit(values: list[float]) -> tuple[str, float]:
    """One time unit for a column of hours (the one fmt_hours would pick for its largest finite value)."""
    finite = [v for v in values if math.isfinite(v)]
    top = max(finite) if finite else 0.0
    if top < 1:
        return "min", 1 / 60
    if top < 48:
        return "h", 1.0
    if top < 24 * 730:
        return "days", 24.0
    return "years", 24 * 365.0


def fmt_in(hours: float, unit: tuple[str, float]) -> str:
    """Hours in a column's unit; a value that would read 0.0 there (34 h in a column of years) in its own unit."""
    name, per = unit
    if not math.isfinite(hours):
        return "never"
    return f"{hours / per:,.1f} {name}" if hours <= 0 or hours / per >= 0.05 else fmt_hours(hours)


def fmt_usd(x: float | None) -> str:
    return "-" if x is None else f"${x:,.0f}" if x >= 100 else f"${x:,.2f}"


def fmt_ratio(x: float) -> str:
    """A ratio as people write it: 810x, 68x, 7.9x, 0.53x (never 8.1e+02x)."""
    if not math.isfinite(x):
        return "unbounded"
    if x >= 100:
        return f"{x:,.0f}x"
    if x >= 10:
        return f"{x:.0f}x"
    if x < 0.01:  # 1.9e-06x reads as a typo: a share of a percent is "<0.01x"
        return "<0.01x" if x > 0 else "0x"
    return f"{x:.2g}x"

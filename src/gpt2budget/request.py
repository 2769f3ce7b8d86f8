"""One configuration's inputs as one typed value: `RunRequest`, what `check`, `compare`, `plan`, `sweep` and
`measure` build from their options and the library (gpt2budget.api.configure) takes.

Frozen and keyword-only. Values may be given as the command line gives them (strings such as "100M", "30d",
"FULL_SHARD", the CLI's enum members) or as numbers; `__post_init__` checks each one and stores it normalised
(counts and durations as floats, choices as plain strings, the ZeRO stage as an int), so a bad value fails where
the request is made, with the project's UsageError naming the option as the CLI spells it (`--micro-batch`) and
what is allowed. None means "the default" (for precision, optimizer, attention and checkpointing: the stack's).
Each default is stated once, in gpt2budget.options; the CLI's option defaults read the same constants.

Checks that need the catalogues (a GPU's precisions, a stack's checkpointing level, a model's width) happen
where the request meets them, in gpt2budget.api.configure.
"""

from __future__ import annotations

import dataclasses
import math
import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from gpt2budget.errors import UsageError
from gpt2budget.options import (
    ATTENTION_CHOICES,
    AVERAGE_DRAW,
    CHECKPOINTING_CHOICES,
    DEFAULT_BATCH_TOKENS,
    DEFAULT_DURATION,
    DEFAULT_FLOPS_FORMULA,
    DEFAULT_HOST_MEMORY_GIB,
    DEFAULT_LORA_RANK,
    DEFAULT_OPTIMAL_RULE,
    DEFAULT_STACK,
    DEFAULT_TORCH,
    FINETUNE_CHOICES,
    FLOPS_FORMULAS,
    GRID_GCO2_PER_KWH,
    LORA_TARGETS,
    LOSS_CHOICES,
    OFFLOAD_CHOICES,
    OPTIMAL_RULES,
    OPTIMIZER_CHOICES,
    PRECISION_CHOICES,
    PRICE_PER_KWH,
    PUE,
)
from gpt2budget.units import MAX_COUNT, MAX_DURATION_S, parse_count, parse_duration

__all__ = [
    "AVERAGE_DRAW", "DEFAULT_BATCH_TOKENS", "DEFAULT_DURATION", "DEFAULT_FLOPS_FORMULA", "DEFAULT_HOST_MEMORY_GIB",
    "DEFAULT_LORA_RANK", "DEFAULT_OPTIMAL_RULE", "DEFAULT_STACK", "DEFAULT_TORCH", "GRID_GCO2_PER_KWH", "PRICE_PER_KWH", "PUE",
    "RANGES", "Range", "RunRequest", "ZERO_NAMES", "flag", "parse_zero", "check_float", "check_int", "check_count",
    "check_duration", "check_choice", "check_name", "check_torch", "check_field_names", "CHOICES", "FIELD_NAMES",
]

ZERO_NAMES = {"0": 0, "1": 1, "2": 2, "3": 3, "no_shard": 0, "shard_grad_op": 2, "full_shard": 3}


class Range(NamedTuple):
    """The values a numeric option accepts: lo..hi, both ends included (so the CLI's --help can show them as
    they are: `[1e-06<=x<=1]`)."""

    lo: float
    hi: float

    def holds(self, x: float) -> bool:
        return self.lo <= x <= self.hi

    def words(self) -> str:
        def num(v: float) -> str:
            return f"{int(v):,}" if float(v).is_integer() and abs(v) < 1e15 else f"{v:g}"

        return f"at least {num(self.lo)}" if self.hi == math.inf else f"from {num(self.lo)} to {num(self.hi)}"


# The numeric options' allowed values, stated once: RunRequest checks them and the CLI's options take their min and
# max from here, so --help advertises exactly what is accepted (#31 item 15).
RANGES: dict[str, Range] = {
    "gpus": Range(1, 100_000), "nodes": Range(1, 100_000), "micro_batch": Range(1, 1_000_000),
    "seq": Range(1, 1_048_576), "lora_rank": Range(1, 65_536),
    "dropout": Range(0, 0.999999), "lora_dropout": Range(0, 0.999999),  # a probability below 1
    # a millionth of peak at least: below that the run takes longer than the arithmetic can hold (#31 item 13)
    "utilization": Range(1e-6, 1), "parallel_efficiency": Range(1e-6, 1),
    "host_memory": Range(0.001, 1e7),  # GiB: a megabyte at least
    "reserve_gib": Range(0, 1024),
    "average_draw": Range(0.01, 1.5),  # of board power: a GPU that draws nothing is not training
    "pue": Range(1, 5), "price_per_kwh": Range(0, 100), "grid_gco2_per_kwh": Range(0, 5000),
    "rent_usd_per_hour": Range(0, 1e6),
    "budget_usd": Range(0.01, math.inf),  # plan --budget-usd: a cent at least (finite)
}

_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def flag(name: str) -> str:
    """A field's option as the CLI spells it: micro_batch -> --micro-batch."""
    return "--" + name.replace("_", "-")


def _got(value: Any) -> str:
    """A value as an error message shows it: its repr, shortened (never failing, whatever the value)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**30:
        return f"a whole number of about {int(value.bit_length() * math.log10(2)):,} digits"
    try:
        text = repr(value)
    except Exception:  # a hostile object's __repr__
        text = f"a {type(value).__name__}"
    return text if len(text) <= 60 else text[:57] + "..."


def _plain(value: Any) -> Any:
    """An Enum member's value (the CLI passes str Enums); anything else as it is."""
    from enum import Enum

    return value.value if isinstance(value, Enum) else value


def check_int(name: str, value: Any, allowed: Range | None = None) -> int:
    """A whole number (an int, or a string of ASCII digits) within the field's range."""
    allowed = allowed or RANGES[name]
    value = _plain(value)
    expected = f"expected a whole number {allowed.words()}"
    if isinstance(value, str) and _INT.fullmatch(value.strip()) and len(value) < 30:
        number = int(value.strip())
    elif isinstance(value, (bool, float, str)) or not hasattr(value, "__index__"):
        raise UsageError(flag(name), f"{expected}, got {_got(value)}")
    else:
        number = operator.index(value)
    if not allowed.holds(number):
        raise UsageError(flag(name), f"{expected}, got {_got(number)}")
    return number


def check_float(name: str, value: Any, allowed: Range | None = None) -> float:
    """A finite number (an int, a float, or a string of ASCII decimals) within the field's range."""
    allowed = allowed or RANGES[name]
    value = _plain(value)
    expected = f"expected a number {allowed.words()}"
    if isinstance(value, str) and _FLOAT.fullmatch(value.strip()):
        number = float(value.strip())  # 1e400 reads as inf: refused below
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value) if not isinstance(value, int) or abs(value) < 10**300 else math.inf
    else:
        raise UsageError(flag(name), f"{expected}, got {_got(value)}")
    if not (math.isfinite(number) and allowed.holds(number)):
        raise UsageError(flag(name), f"{expected}, got {_got(value)}")
    return number


def check_count(name: str, value: Any) -> float:
    """A positive count, as typed ('10B', '3.3e9', '100M') or a number; at most 1e18."""
    return _quantity(name, value, parse_count, MAX_COUNT, "a count such as 10B, 3.3e9 or 100M",
                     "a positive count of at most 1e18 (10B, 1.4T)", "a positive count such as 10B or 100M",
                     lambda v: f"{float(v):g} is more than 1e18; expected a count such as 10B or 1.4T")


def check_duration(name: str, value: Any) -> float:
    """A duration in seconds: as typed ('1y', '30d', '12h', '90min') or a number of seconds."""
    words = "a positive duration of at most 1000 years (1y, 30d, 12h or seconds)"
    return _quantity(name, value, parse_duration, MAX_DURATION_S, "a duration such as 1y, 30d or 12h (or seconds)",
                     "a positive duration of at most 1000 years (1y, 30d)", words,
                     lambda v: f"expected {words}, got {_got(v)}")


def _quantity(name: str, value: Any, parse: Any, limit: float, kind: str, huge: str, positive: str,
              too_large: Any) -> float:
    """A positive quantity up to `limit`: text through `parse` (units.parse_count, parse_duration), else a number;
    each refusal worded for the quantity (`kind`, `huge`, `positive`, `too_large(value)`)."""
    value = _plain(value)
    if isinstance(value, str):
        return float(parse(value, flag(name)))
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UsageError(flag(name), f"expected {kind}, got {_got(value)}")
    if isinstance(value, int) and abs(value) > limit:
        raise UsageError(flag(name), f"expected {huge}, got {_got(value)}")
    number = float(value)
    if not number > 0 or not math.isfinite(number):
        raise UsageError(flag(name), f"expected {positive}, got {_got(value)}")
    if number > limit:
        raise UsageError(flag(name), too_large(value))
    return number


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    """One of the option's choices (a string or the CLI's enum member)."""
    value = _plain(value)
    if not isinstance(value, str) or value not in choices:
        raise UsageError(flag(name), f"expected one of {', '.join(choices)}, got {_got(value)}")
    return value


def check_name(name: str, value: Any) -> str:
    """A catalogue name (GPU, model, stack): a string; the catalogue says whether it exists (an empty one too)."""
    value = _plain(value)
    if not isinstance(value, str):
        raise UsageError(flag(name), f"expected an id or alias (a string), got {_got(value)}")
    return value


_TORCH = re.compile(r"[0-9]{1,3}\.[0-9]{1,3}")


def check_torch(value: Any) -> str:
    """A PyTorch minor version as --torch takes it ("2.5", "2.11"): text, since 2.1 and 2.10 are different versions
    that one float cannot tell apart. Whether the stack has a profile for it is checked against the stack
    (gpt2budget.specs.torch_versions)."""
    value = _plain(value)
    if not isinstance(value, str) or not _TORCH.fullmatch(value.strip()):
        raise UsageError("--torch", f"expected a PyTorch version as major.minor text, such as 2.5 or 2.11, got "
                                    f"{_got(value)}")
    return value.strip()


ZERO_EXPECTED = "expected 0, 1, 2, 3 or an FSDP name (NO_SHARD, SHARD_GRAD_OP, FULL_SHARD)"


def parse_zero(text: Any, fsdp: Any = None) -> int:
    """A ZeRO stage from --zero (0-3) or an FSDP sharding name (--fsdp)."""
    text, fsdp = _plain(text), _plain(fsdp)
    if fsdp is not None and (not isinstance(fsdp, str) or not fsdp.strip()):
        raise UsageError("--fsdp", f"expected NO_SHARD, SHARD_GRAD_OP or FULL_SHARD, got {_got(fsdp)}")
    if isinstance(text, int) and not isinstance(text, bool) and text in (0, 1, 2, 3):
        text = str(text)
    if not isinstance(text, str):
        raise UsageError("--zero", f"{ZERO_EXPECTED}, got {_got(text)}")
    if fsdp and text.strip() != "0":
        raise UsageError("--fsdp", f"conflicts with --zero {text}: give one of them (FULL_SHARD = --zero 3)")
    key = (fsdp or text).strip().lower()
    if key not in ZERO_NAMES:
        raise UsageError("--fsdp" if fsdp else "--zero", f"{ZERO_EXPECTED}, got {key!r}")
    return ZERO_NAMES[key]


# the options with a list of choices; those that may be None (the stack's default) first
CHOICES: dict[str, tuple[str, ...]] = {
    "precision": PRECISION_CHOICES, "optimizer": OPTIMIZER_CHOICES, "checkpointing": CHECKPOINTING_CHOICES,
    "attention": ATTENTION_CHOICES, "lora_targets": LORA_TARGETS, "flops_formula": FLOPS_FORMULAS,
    "offload": OFFLOAD_CHOICES, "optimal_rule": OPTIMAL_RULES, "finetune": FINETUNE_CHOICES, "loss": LOSS_CHOICES}
OPTIONAL_CHOICES = ("precision", "optimizer", "checkpointing", "attention", "lora_targets")


@dataclass(frozen=True, kw_only=True)
class RunRequest:
    """One configuration's inputs, checked: `check`'s options by their Python names (micro_batch, batch_tokens,
    ...). Counts and durations are stored as numbers (tokens, batch_tokens, host_adam_params_per_s; duration in
    seconds), choices as strings, `zero` as the stage (an --fsdp name folded in)."""

    gpu: str
    model: str
    stack: str = DEFAULT_STACK
    gpus: int = 1
    nodes: int = 1
    precision: str | None = None  # None: the stack's (amp-fp16 or fp32 where the GPU lacks it)
    optimizer: str | None = None  # None: the stack's
    checkpointing: str | None = None  # None: the stack's
    attention: str | None = None  # None: the stack's
    dropout: float = 0.0
    seq: int | None = None  # None: the model's n_ctx
    micro_batch: int | str = 1  # or "auto": the largest that fits (at most the batch's sequences per GPU)
    utilization: float | None = None  # None: the step-time model
    duration: str | float = DEFAULT_DURATION  # stored as seconds
    tokens: str | float | None = None  # None: the model's own recipes only
    flops_formula: str = DEFAULT_FLOPS_FORMULA
    zero: int | str = 0  # a stage 0-3, or an FSDP name
    fsdp: str | None = None  # NO_SHARD, SHARD_GRAD_OP, FULL_SHARD: folded into `zero`
    offload: str = "none"
    host_memory: float = DEFAULT_HOST_MEMORY_GIB  # GiB per node
    host_adam_params_per_s: str | float | None = None  # None: the GPU class's estimate
    reserve_gib: float = 0.0
    parallel_efficiency: float | None = None  # None: modelled from the interconnect
    optimal_rule: str = DEFAULT_OPTIMAL_RULE
    batch_tokens: str | float = DEFAULT_BATCH_TOKENS
    finetune: str = "none"
    lora_rank: int | None = None  # None: DEFAULT_LORA_RANK
    lora_targets: str | None = None  # None: attention
    lora_dropout: float | None = None  # None: 0
    loss: str = "full"  # how the loss meets the logits (LOSS_CHOICES)
    average_draw: float = AVERAGE_DRAW
    pue: float = PUE
    price_per_kwh: float = PRICE_PER_KWH
    grid_gco2_per_kwh: float = GRID_GCO2_PER_KWH
    rent_usd_per_hour: float | None = None  # None: the GPU spec's on-demand price
    torch: str | None = DEFAULT_TORCH  # None: the stack's own profile; "2.5": its sourced PyTorch 2.5 profile

    def __post_init__(self) -> None:
        put = object.__setattr__
        for name in ("gpu", "model", "stack"):
            put(self, name, check_name(name, getattr(self, name)))
        for name, choices in CHOICES.items():
            if getattr(self, name) is not None or name not in OPTIONAL_CHOICES:
                put(self, name, check_choice(name, getattr(self, name), choices))
        for name in ("gpus", "nodes", "micro_batch", "seq", "lora_rank"):
            value = getattr(self, name)
            if name == "micro_batch" and isinstance(value, str) and value.strip().lower() == "auto":
                put(self, name, "auto")
            elif value is not None or name not in ("seq", "lora_rank"):
                put(self, name, check_int(name, value))
        for name in ("dropout", "host_memory", "reserve_gib", "average_draw", "pue", "price_per_kwh",
                     "grid_gco2_per_kwh", "utilization", "parallel_efficiency", "lora_dropout", "rent_usd_per_hour"):
            value = getattr(self, name)
            if value is not None or name not in ("utilization", "parallel_efficiency", "lora_dropout",
                                                 "rent_usd_per_hour"):
                put(self, name, check_float(name, value))
        put(self, "duration", check_duration("duration", self.duration))
        put(self, "batch_tokens", check_count("batch_tokens", self.batch_tokens))
        for name in ("tokens", "host_adam_params_per_s"):
            if getattr(self, name) is not None:
                put(self, name, check_count(name, getattr(self, name)))
        if self.gpus * self.nodes > RANGES["gpus"].hi:
            raise UsageError("--nodes", f"--gpus {self.gpus:,} x --nodes {self.nodes:,} is more than "
                                        f"{RANGES['gpus'].hi:,.0f} GPUs in all")
        if self.torch is not None:
            put(self, "torch", check_torch(self.torch))
        put(self, "zero", parse_zero(self.zero, self.fsdp))
        put(self, "fsdp", None)

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> RunRequest:
        """A request from `check`'s options by name (micro_batch=4, tokens="100M"); a name that is not an option
        is a UsageError naming it (with the closest option), never silently ignored."""
        check_field_names(fields)
        for required in ("gpu", "model"):
            if fields.get(required) is None:
                raise UsageError(flag(required), f"is required (a {required} id or alias)")
        return cls(**fields)

    def replace(self, **changes: Any) -> RunRequest:
        """This request with some fields changed (checked like the rest)."""
        check_field_names(changes)
        return dataclasses.replace(self, **changes)

    @property
    def duration_s(self) -> float:
        return float(self.duration)

    @property
    def zero_stage(self) -> int:
        return int(self.zero)


FIELD_NAMES = tuple(f.name for f in dataclasses.fields(RunRequest))


def check_field_names(fields: Mapping[str, Any]) -> None:
    """Every name is a RunRequest field; a misspelt one names itself and the closest field."""
    for name in fields:
        if name not in FIELD_NAMES:
            import difflib

            text = name if isinstance(name, str) else repr(name)
            close = difflib.get_close_matches(text.replace("-", "_").lower(), FIELD_NAMES, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]}?" if close else f"; expected one of {', '.join(FIELD_NAMES)}"
            raise UsageError(text, f"is not an option of a run{hint}")

"""The library raises only the project's exceptions, whatever it is given (#28 item 1): hostile values (wrong types,
None, NaN, infinities, negatives, zero, huge numbers, empty strings, unknown choices, unicode digits, bytes, lists)
thrown at every public function of gpt2budget.api. Anything but success or a Gpt2BudgetError is an internal
exception, and there must be none.

The calls come from one generator driven by a random.Random, so `python tests/test_hostile_api.py [N]` counts the
internal exceptions of N calls (and the distinct places they come from) on any version of the library that has
these functions: that is how the before/after figures in the task's note were made.
"""

from __future__ import annotations

import math
import random
import sys
import traceback
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

# values nobody should pass, and extreme values that are allowed (they reach the model's arithmetic)
HOSTILE: list[Any] = [
    None, math.nan, math.inf, -math.inf, -1, -1.5, 0, 0.0, -0.0, 1e308, -1e308, 10**400, -(10**400), 2**63, 1e-300,
    "", " ", "٣", "1_000", "0x18", "1e400", "-5", "nan", "inf", "abc", "fp64", "\x00", "None", b"4", bytearray(b"1"),
    [1], [], {}, (), {"a": 1}, True, False, object(), 1j, ..., float, "1" * 5000,
]
_LOOP: list[Any] = []
_LOOP.append(_LOOP)  # a list that contains itself
HOSTILE.append(_LOOP)
EXTREME: list[Any] = [1, 2, 3, "1", "1e18", "1k", 1e18, 1_000_000, 1_048_576, 65536, 100_000, 0.999999, 1e-6, 1.0,
                      1e7, 1024, 1e-3, "1s", "1000y", "0.5", 5.0, 1.5, 4096]
VALID: dict[str, list[Any]] = {
    "gpu": ["4070ti", "h100", "t4", "4090"], "model": ["gpt2", "gpt2-xl", "gpt2-l2-h128"],
    "stack": ["hf", "nanogpt", "llmc"], "gpus": [1, 2, 8], "nodes": [1, 2], "precision": ["fp32", "amp-bf16", "bf16"],
    "optimizer": ["adamw", "sgd", "adamw-8bit"], "checkpointing": ["none", "full", "selective"],
    "attention": ["flash", "eager"], "dropout": [0.0, 0.1], "seq": [64, 1024, 4096], "micro_batch": [1, 4, 64],
    "utilization": [0.4, 1e-6], "duration": ["1y", "30d", "1h"], "tokens": ["100M", "10B", None],
    "flops_formula": ["6n", "6n+attention"], "zero": ["0", "3", 2], "fsdp": ["FULL_SHARD", None],
    "offload": ["none", "optimizer", "params"], "host_memory": [64.0, 1.0], "host_adam_params_per_s": ["1.4e9", None],
    "reserve_gib": [0.0, 2.0], "parallel_efficiency": [0.9, 1e-6], "optimal_rule": ["chinchilla-20", "epoch-2024"],
    "batch_tokens": ["524288", "1k"], "finetune": ["none", "full", "lora", "qlora"], "lora_rank": [8, 64, 1024],
    "lora_targets": ["attention", "all-linear"], "lora_dropout": [0.0, 0.5], "average_draw": [0.8, 1.5],
    "pue": [1.1, 5.0], "price_per_kwh": [0.17, 0.0], "grid_gco2_per_kwh": [480.0, 0.0],
    "rent_usd_per_hour": [2.0, 0.0, None],
}
FIELDS = list(VALID)
AXES = ["gpu", "model", "stack", "precision", "optimizer", "checkpointing", "micro_batch", "seq", "gpus", "zero",
        "attention", "offload", "finetune"]
SMALL_MODELS = ("gpt2", "gpt2-medium")


def value(rng: random.Random, name: str, hostile: float = 0.5) -> Any:
    """A hostile value, an extreme one, or a valid one for the field `name`."""
    r = rng.random()
    if r < hostile:
        return rng.choice(HOSTILE)
    if r < hostile + (1 - hostile) / 2:
        return rng.choice(EXTREME)
    return rng.choice(VALID.get(name, EXTREME))


def run_fields(rng: random.Random, n_hostile: int) -> dict[str, Any]:
    """A configuration's fields: a valid base with `n_hostile` fields hostile or extreme."""
    fields = {"gpu": rng.choice(VALID["gpu"]), "model": rng.choice(VALID["model"])}
    for name in rng.sample(FIELDS, rng.randint(0, 4)):
        fields[name] = rng.choice(VALID[name])
    for name in rng.sample(FIELDS, n_hostile):
        fields[name] = value(rng, name, hostile=0.6)
    return fields


def hostile_call(rng: random.Random, api: Any, specs: Any) -> tuple[str, Callable[[], Any]]:
    """One call of a public API function with hostile arguments: (its name, the call)."""

    def good_ci() -> Any:
        return api.configure(specs, gpu=rng.choice(VALID["gpu"]), model=rng.choice(SMALL_MODELS))

    def some(x: Any) -> Any:  # a good value, or now and then a hostile one
        return x if rng.random() < 0.7 else rng.choice(HOSTILE)

    kind = rng.choice(["configure", "configure", "configure", "evaluate", "evaluate", "check", "advise", "plan",
                       "compare",
                       "sweep", "to_data", "load"])
    if kind == "configure":
        fields = run_fields(rng, rng.randint(1, 3))

        def call() -> Any:
            ci = api.configure(specs, **fields)
            r = api.check(ci, specs, advice=True)  # what passes configure must evaluate, and the advisor on it
            api.to_data(r)
            return r
        return kind, call
    if kind == "evaluate":
        target, part = value(rng, ""), rng.choice(["ci", "ci", "options", "cost_inputs", "whole"])

        def call() -> Any:
            ci = good_ci()  # a configuration changed by hand: each field of it, and of its options and costs
            if part == "whole":
                return api.evaluate(target)
            inner = ci if part == "ci" else getattr(ci, part)
            changed = inner._replace(**{rng.choice(inner._fields): target})
            return api.evaluate(changed if part == "ci" else ci._replace(**{part: changed}))
        return kind, call
    if kind == "check":
        ci_h, specs_h, advice_h = rng.choice(HOSTILE), rng.choice(HOSTILE), rng.choice(HOSTILE)
        which = rng.randrange(3)
        return kind, lambda: api.check(good_ci() if which else ci_h, specs if which != 1 else specs_h,
                                       advice=advice_h if which == 2 else True)
    if kind == "advise":
        result_h = rng.choice(HOSTILE)
        return kind, lambda: api.advise(good_ci(), specs, result_h)
    if kind == "plan":
        models_h, budget = rng.choice(HOSTILE), value(rng, "budget_usd")
        use_models = rng.random() < 0.5

        def call() -> Any:
            ci = good_ci()
            models = [specs.models.get(m, "--model") for m in SMALL_MODELS] if use_models else models_h
            return api.plan(ci, models, budget)
        return kind, call
    if kind == "compare":
        by, model, sort = some("gpu"), some("gpt2"), some("time")
        gpus = some(["4070ti", "4090"])
        options = {name: value(rng, name) for name in rng.sample([f for f in FIELDS if f not in ("gpu", "model", "gpus")],
                                                                 rng.randint(0, 2))}
        if rng.random() < 0.2:
            options["request"] = rng.choice(HOSTILE)
        return kind, lambda: api.compare(specs, by=by, model=model, gpus=gpus, sort=sort, **options)
    if kind == "sweep":
        shared = {name: some(default) for name, default in (("duration", "1y"), ("tokens", None),
                                                             ("host_memory", 64.0), ("host_adam_params_per_s", None))}
        axes = {"gpu": "4070ti", "model": "gpt2"}
        for axis in rng.sample(AXES, rng.randint(1, 3)):
            v = value(rng, axis)
            axes[axis] = v if rng.random() < 0.5 else [v, rng.choice(VALID.get(axis, EXTREME))]

        def call() -> Any:
            rows = api.sweep(specs, **shared, **axes)
            return [next(rows, None) for _ in range(3)]
        return kind, call
    if kind == "to_data":
        target = rng.choice(HOSTILE)
        return kind, lambda: api.to_data(target)
    dirs, user = some([]), rng.choice([None, *HOSTILE])
    return kind, lambda: api.load(dirs, user)


def internal_exception(call: Callable[[], Any]) -> BaseException | None:
    """The exception the call raised that is not the project's own (None when it succeeded or raised one)."""
    from gpt2budget.errors import Gpt2BudgetError

    try:
        call()
    except Gpt2BudgetError:
        return None
    except Exception as exc:  # noqa: BLE001 - what this test looks for
        return exc
    return None


def place(exc: BaseException) -> str:
    """Where an exception came from: the innermost frame in the package (file:line) and its type."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "gpt2budget" in f.filename
              and "test_hostile_api" not in f.filename]
    where = f"{frames[-1].filename.split('gpt2budget/')[-1]}:{frames[-1].lineno}" if frames else "test harness"
    return f"{where} {type(exc).__name__}"


@pytest.fixture(scope="module")
def specs(tmp_path_factory):
    from gpt2budget.api import load

    return load()


@pytest.fixture(autouse=True)
def _own_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("GPT2BUDGET_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=250, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.randoms(use_true_random=False))
def test_every_public_function_raises_only_the_projects_errors(specs, rng):
    from gpt2budget import api

    name, call = hostile_call(rng, api, specs)
    exc = internal_exception(call)
    assert exc is None, f"{name}: {place(exc)}: {type(exc).__name__}: {exc}"


VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12), st.binary(max_size=4),
                   st.lists(st.integers(), max_size=2), st.sampled_from(HOSTILE + EXTREME),
                   st.sampled_from(sorted({v for vs in VALID.values() for v in vs if isinstance(v, str)})))


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(FIELDS[2:]), VALUES, min_size=1, max_size=3))
def test_configure_and_check_raise_only_the_projects_errors_for_any_option_values(specs, fields):
    """Each option (check's, by its Python name) given any value: the request's checks, the catalogue's, then the
    whole evaluation and the advisor on whatever passes."""
    from gpt2budget import api

    def call() -> Any:
        return api.to_data(api.check(api.configure(specs, gpu="4090", model="gpt2", **fields), specs))

    exc = internal_exception(call)
    assert exc is None, f"{fields}: {place(exc)}: {type(exc).__name__}: {exc}"


@pytest.mark.parametrize("name", [n for n in __import__("gpt2budget.api", fromlist=["__all__"]).__all__
                                  if callable(getattr(__import__("gpt2budget.api", fromlist=["x"]), n))
                                  and not isinstance(getattr(__import__("gpt2budget.api", fromlist=["x"]), n), type)])
def test_every_public_function_is_tried(name):
    """A function added to api.__all__ must be added to the hostile calls above."""
    import inspect

    assert f'"{name}"' in inspect.getsource(hostile_call) or name in ("parse_zero",), name


def main(n: int) -> None:  # pragma: no cover - the figures for the note
    from gpt2budget import api

    specs = api.load()
    rng = random.Random(2026)
    places: Counter[str] = Counter()
    bad = 0
    for _ in range(n):
        _, call = hostile_call(rng, api, specs)
        exc = internal_exception(call)
        if exc is not None:
            bad += 1
            places[place(exc)] += 1
    print(f"{n} hostile calls, {bad} internal exceptions from {len(places)} distinct places")
    for where, count in places.most_common():
        print(f"{count:6}  {where}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)

"""`sweep`: a grid of configurations streamed as CSV or JSON lines, one row each."""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import signal
import struct
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from gpt2budget.catalog import Specs
from gpt2budget.check import MICRO_BATCH_FIELDS, CheckInputs, default_precision, evaluate, memory_section, verdict
from gpt2budget.errors import Gpt2BudgetError, UsageError
from gpt2budget.memory import memory_at, phase_model
from gpt2budget.options import ATTENTION_CHOICES, OPTIMIZER_CHOICES, PRECISION_CHOICES, RunOptions
from gpt2budget.report import _clean, flatten
from gpt2budget.shape import Shape


def _ints(values: list[str], option: str, low: int, high: int) -> list[int]:
    out = []
    for v in values:
        try:
            i = int(v)
        except ValueError:
            raise UsageError(option, f"expected whole numbers, got {v!r}") from None
        if not low <= i <= high:
            raise UsageError(option, f"{i} is outside {low}..{high}")
        out.append(i)
    return out


def _choices(values: list[str], option: str, allowed: tuple[str, ...]) -> list[str]:
    for v in values:
        if v != "default" and v not in allowed:
            raise UsageError(option, f"expected one of {', '.join(allowed)}, got {v!r}")
    return values


class Grid:
    """The configurations of a sweep, generated lazily (never a list of the whole grid), with their count
    computed from the axes."""

    def __init__(self, axes: list[list[Any]]) -> None:
        self.axes = axes
        self.rows = math.prod(len(a) for a in axes)

    def __len__(self) -> int:
        return self.rows

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return itertools.product(*self.axes)


MAX_ROWS = 10_000_000  # a documented limit: larger grids need --max-rows


def grid(specs: Specs, axes: dict[str, list[str]]) -> Grid:
    """Validate every axis up front (so a bad value fails before any output), then the configurations, lazily."""
    gpus = [g.id for g in specs.gpus] if axes["gpu"] in (["all"], []) else [specs.gpus.get(g, "--gpu").id for g in axes["gpu"]]
    models = [m.id for m in specs.models] if axes["model"] in (["all"], []) else [
        specs.models.get(m, "--model").id for m in axes["model"]]
    stacks = [specs.stacks.get(s, "--stack").id for s in axes["stack"]]
    precisions = _choices(axes["precision"], "--precision", PRECISION_CHOICES)
    optimizers = _choices(axes["optimizer"], "--optimizer", OPTIMIZER_CHOICES)
    attentions = _choices(axes["attention"], "--attention", ATTENTION_CHOICES)
    ckpts = _choices(axes["checkpointing"], "--checkpointing", ("none", "selective", "full"))
    mbs = _ints(axes["micro_batch"], "--micro-batch", 1, 1_000_000)
    seqs = [None if s == "default" else s for s in axes["seq"]]
    seq_ints = [None if s is None else _ints([s], "--seq", 1, 1_048_576)[0] for s in seqs]
    ngpus = _ints(axes["gpus"], "--gpus", 1, 100_000)
    zeros = _ints(axes["zero"], "--zero", 0, 3)
    return Grid([gpus, models, stacks, precisions, optimizers, ckpts, mbs, seq_ints, ngpus, zeros, attentions])


def options_of(specs: Specs, config: tuple[Any, ...]) -> tuple[CheckInputs, str]:
    gid, mid, sid, prec, opt, ck, mb, seq, ng, z, attn = config
    g, m, s = specs.gpus.items[gid], specs.models.items[mid], specs.stacks.items[sid]
    p = default_precision(g, s) if prec == "default" else prec
    opts = RunOptions(precision=p, optimizer=s.default_optimizer if opt == "default" else opt,
                      checkpointing=ck != "none", attention=s.default_attention if attn == "default" else attn,
                      seq=seq or m.n_ctx, micro_batch=mb, gpus=ng, zero=z)
    return CheckInputs(g, m, s, opts), p


def rows(specs: Specs, configs: list[tuple[Any, ...]], duration_s: float) -> Iterator[dict[str, Any]]:
    """One flat row per configuration: check's JSON flattened (the reference the fast path below must match)."""
    for config in configs:
        ci, p = options_of(specs, config)
        try:
            row = flatten(evaluate(ci._replace(duration_s=duration_s)))
            row["error"] = None
        except Gpt2BudgetError as exc:
            row = error_row(config, p, exc)
        yield row


def error_row(config: tuple[Any, ...], precision: str, exc: Exception) -> dict[str, Any]:
    return {"inputs.gpu": config[0], "inputs.model": config[1], "inputs.stack": config[2],
            "inputs.precision": precision, "error": str(exc)}


def columns(specs: Specs) -> list[str]:
    """The CSV header: check's flattened fields with every memory phase (checkpointing adds one), and error."""
    g, m, s = next(iter(specs.gpus)), next(iter(specs.models)), next(iter(specs.stacks))
    opts = RunOptions(precision=default_precision(g, s), optimizer=s.default_optimizer, checkpointing=True)
    return [*flatten(evaluate(CheckInputs(g, m, s, opts))), "error"]


# --- the fast path ------------------------------------------------------------------------------------------
# Only the memory section, the verdict and inputs.micro_batch change with the micro-batch (the time, and so
# everything else, does not, except under --offload params, which sweep does not offer). So each group of
# configurations that differ only in micro-batch is evaluated in full once, its other fields are encoded once,
# and each row recomputes the memory model from the group's cached phase model (a line in b per phase).


DYNAMIC_PREFIXES = tuple(f"memory.{f}" for f in MICRO_BATCH_FIELDS) + ("verdict.",)


def is_dynamic(key: str) -> bool:
    return key == "inputs.micro_batch" or key.startswith(DYNAMIC_PREFIXES)


def csv_field(v: Any) -> str:
    """One field as csv.writer (QUOTE_MINIMAL, lineterminator "\\n") writes it."""
    t = type(v)
    if t is float or t is int:
        return repr(v)
    if v is None:
        return ""
    s = v if t is str else str(v)
    if "," in s or '"' in s or "\n" in s or "\r" in s:
        return '"' + s.replace('"', '""') + '"'
    return s


def json_value(v: Any) -> str:
    """One value as json.dumps writes it, after report._clean (inf and nan become null)."""
    t = type(v)
    if t is float:
        return repr(v) if math.isfinite(v) else "null"
    if t is int:
        return repr(v)
    if t is bool:
        return "true" if v else "false"
    if v is None:
        return "null"
    return json.dumps(_clean(v))


def changing_values(mb: int, mem_doc: dict[str, Any], verdict_doc: dict[str, Any]) -> list[Any]:
    """The values of a row that change with the micro-batch, in the order of changing_keys."""
    out: list[Any] = [mb]
    for f in MICRO_BATCH_FIELDS:
        x = mem_doc[f]
        if type(x) is dict:
            out.extend(x.values())
        else:
            out.append(x)
    out.extend(verdict_doc.values())
    return out


def changing_keys(mem_doc: dict[str, Any], verdict_doc: dict[str, Any]) -> list[str]:
    mem = flatten({f: mem_doc[f] for f in MICRO_BATCH_FIELDS}, "memory")
    return ["inputs.micro_batch", *mem, *flatten(verdict_doc, "verdict")]


MARK = "\x00"  # stands for a changing field while a group's static text is joined and split


@dataclass
class _Group:
    ci: CheckInputs
    pm: Any  # the phase model (memory.PhaseModel)
    result: dict[str, Any]  # the full result at the group's first micro-batch
    segments: list[str]  # the row's text between the fields that change with the micro-batch
    error: str | None = None  # the encoded row, when the configuration is refused


class FastRows:
    def __init__(self, specs: Specs, duration_s: float, fmt: str, header: list[str]) -> None:
        self.specs, self.duration_s, self.fmt, self.header = specs, duration_s, fmt, header
        self.groups: dict[tuple[Any, ...], _Group] = {}
        self.enc = csv_field if fmt == "csv" else json_value
        self.checked: set[tuple[str, ...]] = set()  # slot layouts already checked against changing_keys

    def text(self, keys: list[str], flat: dict[str, Any], slots: frozenset[int] = frozenset()) -> str:
        """The encoded row, with MARK in place of each slot's value."""
        if self.fmt == "csv":
            return ",".join(MARK if i in slots else csv_field(flat.get(k)) for i, k in enumerate(keys)) + "\n"
        return "{" + ", ".join(json.dumps(k) + ": " + (MARK if i in slots else json_value(flat[k]))
                               for i, k in enumerate(keys)) + "}\n"

    def group(self, config: tuple[Any, ...]) -> _Group:
        # the micro-batch is part of the key: with the step-time model, time (and so requirements, cost and
        # the verdict) changes with it, not only memory
        key = config
        found = self.groups.get(key)
        if found is not None:
            return found
        ci, p = options_of(self.specs, config)
        ci = ci._replace(duration_s=self.duration_s)
        try:
            r = evaluate(ci)
        except Gpt2BudgetError as exc:
            flat = error_row(config, p, exc)
            g = _Group(ci, None, {}, [], self.text(self.header if self.fmt == "csv" else list(flat), flat))
        else:
            flat = flatten(r)
            flat["error"] = None
            keys = self.header if self.fmt == "csv" else list(flat)
            slots = [i for i, k in enumerate(keys) if is_dynamic(k) and k in flat]
            layout = tuple(keys[i] for i in slots)
            if layout not in self.checked:  # changing_values' order must be the slots' order
                if list(layout) != changing_keys(r["memory"], r["verdict"]):
                    raise AssertionError(f"sweep: the changing fields are not in flatten's order: {layout}")
                self.checked.add(layout)
            text = self.text(keys, flat, frozenset(slots))
            segments = text.split(MARK)
            if len(segments) != len(slots) + 1:
                raise UsageError("--gpu", "a spec's text contains a NUL character")
            shape = Shape.of(ci.model, ci.options.seq, ci.stack.vocab_multiple)
            pm = phase_model(shape, ci.stack, ci.options.with_(micro_batch=1))
            g = _Group(ci, pm, r, segments)
        if len(self.groups) < MAX_GROUPS:  # bounded: memory stays flat however many rows stream through
            self.groups[key] = g
        return g

    def row(self, config: tuple[Any, ...]) -> str:
        g = self.group(config)
        if g.error is not None:
            return g.error
        mb = config[6]
        ci = g.ci
        _, mem_doc, fits = memory_section(ci, memory_at(g.pm, ci.stack, ci.gpu.usable_bytes, mb))
        r = g.result
        v = verdict(ci, {"memory": mem_doc, "requirements": r["requirements"]}, fits, r["target"], micro_batch=mb)
        values = changing_values(mb, mem_doc, v)
        enc = self.enc
        seg = g.segments
        if len(values) != len(seg) - 1:
            raise AssertionError("sweep: a row's changing fields do not match its group")
        return seg[0] + "".join(map(str.__add__, map(enc, values), seg[1:]))


CHUNK_ROWS = 2048
MAX_GROUPS = 64  # each configuration is its own group now: keeping more only costs memory
PARALLEL_MIN_ROWS = 20_000  # below this, starting workers costs more than it saves


def jobs_for(requested: int, n_rows: int) -> int:
    """Worker processes for a sweep: --jobs, or one per CPU for large grids where fork is available; never more
    than there are chunks of work (--jobs 256 on 3 chunks starts 3)."""
    chunks = max(1, -(-n_rows // CHUNK_ROWS))
    if requested > 0:
        return min(requested, chunks)
    if n_rows < PARALLEL_MIN_ROWS or not hasattr(os, "fork"):
        return 1
    return max(1, min(os.cpu_count() or 1, 8, chunks))


_HEAD = struct.Struct("<QI")  # bytes of text, rows in it (0, 0: the worker is done)


def _worker(specs: Specs, configs: Iterable[tuple[Any, ...]], duration_s: float, fmt: str, header: list[str],
            k: int, n: int, fd: int) -> None:
    """A forked worker: encodes chunks k, k+n, k+2n, ... of the grid into its own pipe (the parent reads the pipes
    in turn, so rows come out in grid order). No lock is shared with the parent, so it can be killed at any time."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    fast = FastRows(specs, duration_s, fmt, header)
    with os.fdopen(fd, "wb") as pipe:
        for i, chunk in enumerate(_chunks(configs)):
            if i % n == k:
                data = "".join([fast.row(c) for c in chunk]).encode()
                pipe.write(_HEAD.pack(len(data), len(chunk)) + data)
        pipe.write(_HEAD.pack(0, 0))


def _parallel(specs: Specs, configs: Iterable[tuple[Any, ...]], duration_s: float, fmt: str, header: list[str],
              out: IO[str], jobs: int, written: list[int]) -> None:
    """Rows from `jobs` forked workers, in grid order. When the reader goes away (`| head`), on Ctrl-C or on any
    error the workers are killed and reaped at once: none is left behind, none prints a traceback, nothing
    waits on a worker blocked writing into a pipe nobody reads (multiprocessing.Pool could hang there)."""
    pids, pipes = [], []
    sys.stdout.flush()
    try:
        for k in range(jobs):
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:  # the worker
                os.close(r)
                code = 0
                try:
                    _worker(specs, configs, duration_s, fmt, header, k, jobs, w)
                except BaseException:
                    code = 1
                os._exit(code)
            os.close(w)
            pids.append(pid)
            pipes.append(os.fdopen(r, "rb"))
        i = 0
        while True:
            pipe = pipes[i % jobs]
            head = pipe.read(_HEAD.size)
            if len(head) < _HEAD.size:
                raise UsageError("--jobs", "a sweep worker stopped unexpectedly; run again with --jobs 1")
            size, rows = _HEAD.unpack(head)
            if size == 0 and rows == 0:
                break  # chunks go round-robin: the first worker with none left means the grid is done
            out.write(pipe.read(size).decode())
            written[0] += rows
            i += 1
    finally:
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        for pid in pids:
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)
        for pipe in pipes:
            pipe.close()


def _chunks(configs: Iterable[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    it = iter(configs)
    while chunk := list(itertools.islice(it, CHUNK_ROWS)):
        yield chunk


def run_sweep(specs: Specs, configs: Iterable[tuple[Any, ...]], duration_s: float, fmt: str, out: IO[str],
              jobs: int = 1) -> int:
    """Write one row per configuration, in grid order; with jobs > 1, chunks are encoded by forked workers."""
    header = columns(specs)
    if fmt == "csv":
        out.write(",".join(csv_field(h) for h in header) + "\n")
    written = [0]

    def counted() -> Iterator[list[tuple[Any, ...]]]:
        for chunk in _chunks(configs):  # lazily: the grid is never held in memory
            yield chunk
            written[0] += len(chunk)

    try:
        if jobs > 1 and hasattr(os, "fork"):
            _parallel(specs, configs, duration_s, fmt, header, out, jobs, written)
        else:
            fast = FastRows(specs, duration_s, fmt, header)
            for chunk in counted():
                out.write("".join([fast.row(c) for c in chunk]))
    except KeyboardInterrupt:
        # a partial output must not pass for a complete one: a last line that no reader takes for a row (a CSV
        # comment, a JSON object of its own) in the output itself, and the same on stderr, exit 130
        note = f"incomplete: interrupted after {written[0]} rows"
        with contextlib.suppress(Exception):
            out.write(f"# {note}\n" if fmt == "csv" else json.dumps({"incomplete": True, "rows": written[0]}) + "\n")
            out.flush()
        sys.stderr.write(f"Error: sweep {note}; the output is incomplete\n")
        raise
    return written[0]

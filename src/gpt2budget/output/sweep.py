"""`sweep`: a grid of configurations streamed as CSV or JSON lines, one row each."""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import itertools
import json
import math
import operator
import os
import signal
import struct
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any, NamedTuple

from gpt2budget.core.check import CheckInputs, default_precision, evaluate, reserved_gpu
from gpt2budget.core.result import CheckResult
from gpt2budget.core.shape import Shape, n_params
from gpt2budget.errors import Gpt2BudgetError, UsageError
from gpt2budget.options import (
    ATTENTION_CHOICES,
    CHECKPOINTING_CHOICES,
    DEFAULT_HOST_MEMORY_GIB,
    FINETUNE_CHOICES,
    OFFLOAD_CHOICES,
    OPTIMIZER_CHOICES,
    PRECISION_CHOICES,
    RunOptions,
)
from gpt2budget.output.report import _clean, check_data, flatten, summary
from gpt2budget.request import Range, check_int
from gpt2budget.specs.catalog import Specs
from gpt2budget.specs.definitions import GpuSpec
from gpt2budget.specs.torch_versions import stack_for_torch


class Fixed(NamedTuple):
    """What every row of a sweep shares besides its grid: a token count (fine-tuning, or a custom run) and the host
    (its memory per node and CPU Adam rate, which offloaded rows depend on)."""

    tokens: float | None = None
    host_memory_gib: float = DEFAULT_HOST_MEMORY_GIB
    host_adam_params_per_s: float | None = None
    reserve_gib: float = 0.0  # GPU memory left free on every card (--reserve-gib)
    torch: str | None = None  # --torch: every row's stack as that PyTorch version ran it (specs.torch_versions)


def _ints(values: list[str], name: str, allowed: Range | None = None) -> list[int]:
    """Whole numbers in ASCII digits ('٣' and '1_000' are not), within the option's range (gpt2budget.request)."""
    return [check_int(name, v, allowed) for v in values]


def _choices(values: list[str], option: str, allowed: tuple[str, ...], default_ok: bool = True) -> list[str]:
    for v in values:
        if not (default_ok and v == "default") and v not in allowed:
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
    gpus = [g.id for g in specs.gpus] if axes["gpu"] == ["all"] else [specs.gpus.get(g, "--gpu").id for g in axes["gpu"]]
    # every model smallest first (not in file-name order: gpt2-large before gpt2)
    models = [m.id for m in sorted(specs.models, key=lambda m: n_params(Shape.of(m, m.n_ctx)))] \
        if axes["model"] == ["all"] else [
        specs.models.get(m, "--model").id for m in axes["model"]]
    stacks = [specs.stacks.get(s, "--stack").id for s in axes["stack"]]
    precisions = _choices(axes["precision"], "--precision", PRECISION_CHOICES)
    optimizers = _choices(axes["optimizer"], "--optimizer", OPTIMIZER_CHOICES)
    attentions = _choices(axes["attention"], "--attention", ATTENTION_CHOICES)
    ckpts = _choices(axes["checkpointing"], "--checkpointing", CHECKPOINTING_CHOICES)
    mbs = _ints(axes["micro_batch"], "micro_batch")
    seqs = [None if s == "default" else s for s in axes["seq"]]
    seq_ints = [None if s is None else _ints([s], "seq")[0] for s in seqs]
    ngpus = _ints(axes["gpus"], "gpus")
    zeros = _ints(axes["zero"], "zero", Range(0, 3))
    offloads = _choices(axes.get("offload", ["none"]), "--offload", OFFLOAD_CHOICES, False)
    finetunes = _choices(axes.get("finetune", ["none"]), "--finetune", FINETUNE_CHOICES, False)
    return Grid([gpus, models, stacks, precisions, optimizers, ckpts, mbs, seq_ints, ngpus, zeros, attentions,
                 offloads, finetunes])


@functools.lru_cache(maxsize=256)
def _reserved(g: GpuSpec, reserve_gib: float) -> GpuSpec:
    """The card less --reserve-gib, made once per card (specs hash by identity)."""
    return reserved_gpu(g, reserve_gib)


def options_of(specs: Specs, config: tuple[Any, ...], fixed: Fixed = Fixed()) -> tuple[CheckInputs, str]:
    gid, mid, sid, prec, opt, ck, mb, seq, ng, z, attn, off, ft = config
    g, m, s = specs.gpus.items[gid], specs.models.items[mid], specs.stacks.items[sid]
    if fixed.torch is not None:
        s = stack_for_torch(s, fixed.torch)
    if fixed.reserve_gib:
        g = _reserved(g, fixed.reserve_gib)
    p = default_precision(g, s) if prec == "default" else prec
    opts = RunOptions(precision=p, optimizer=s.default_optimizer if opt == "default" else opt,
                      checkpointing=ck != "none", attention=s.default_attention if attn == "default" else attn,
                      seq=seq or m.n_ctx, micro_batch=mb, gpus=ng, zero=z, offload=off, finetune=ft)
    return CheckInputs(g, m, s, opts, tokens=fixed.tokens, host_memory_gib=fixed.host_memory_gib,
                       host_adam_params_per_s=fixed.host_adam_params_per_s, torch=fixed.torch), p


def rows(specs: Specs, configs: Iterable[tuple[Any, ...]], duration_s: float,
         fixed: Fixed = Fixed()) -> Iterator[dict[str, Any]]:
    """One flat row per configuration: check's document flattened (the reference the encoder below must match;
    also the library's sweep, gpt2budget.api.sweep)."""
    for config in configs:
        ci, p = options_of(specs, config, fixed)
        try:
            row = flatten(check_data(evaluate(ci._replace(duration_s=duration_s)), with_advice=False))
            row["error"] = None
        except Gpt2BudgetError as exc:
            row = error_row(config, p, exc)
        yield row


def error_row(config: tuple[Any, ...], precision: str, exc: Exception) -> dict[str, Any]:
    return {"inputs.gpu": config[0], "inputs.model": config[1], "inputs.stack": config[2],
            "inputs.precision": precision, "error": str(exc)}


def columns(specs: Specs, tokens: bool = False, finetune: bool = False, torch: bool = False) -> list[str]:
    """The CSV header: check's flattened fields with every memory phase (checkpointing adds one), the recipes the
    grid can have after them (`tokens`: training on a custom token count; `finetune`: fine-tuning), and error;
    `torch`: the inputs name the PyTorch version (--torch)."""
    g, m, s = next(iter(specs.gpus)), next(iter(specs.models)), next(iter(specs.stacks))
    opts = RunOptions(precision=default_precision(g, s), optimizer=s.default_optimizer, checkpointing=True)
    r = evaluate(CheckInputs(g, m, s, opts))
    base = [*flatten(check_data(r, with_advice=False))]
    if torch:
        base.insert(base.index("inputs.rent_usd_per_hour") + 1, "inputs.torch")
    req = r.requirements.original
    extra = [*(f"requirements.finetune.{k}" for k in req._fields[:8] if finetune),
             *(f"requirements.modern.{k}" for k in req._fields),
             *(f"requirements.custom.{k}" for k in req._fields[:8] if tokens)]
    return [*base, *(k for k in extra if k not in base), "error"]


# --- the row encoder ----------------------------------------------------------------------------------------
# A row is check's document flattened. Flattening ~130 fields through nested dicts cost more than evaluating
# the configuration, so the encoder reads the typed result directly: its values in flatten's order come from
# unpacking the NamedTuples (`values`), and the keys they belong to are worked out once per layout (which
# recipes apply, the phases and terms of the breakdowns) from the reference flatten, then reused.


def values(r: CheckResult, summary_text: str) -> list[Any]:
    """The result's values in the order flatten(check_data(r)) lists them (advice, a list, has no column)."""
    th, mem, reqs = r.throughput, r.memory, r.requirements
    inputs = r.inputs if r.inputs.torch is not None else r.inputs[:-1]  # torch: left out unless --torch asked
    out: list[Any] = [r.schema_version, *inputs, *r.gpu, *r.model, *r.compute, *th[:7], *th.breakdown.values()]
    for req in reqs:
        if req is not None:
            out += req if req.rule is not None else req[:8]
    out += mem[:7]
    out += mem.breakdown.values()
    out += mem.phases.values()
    out += mem[9:]
    out.append(r.target)
    out.append(r.loss_caveat)
    if r.cost is not None:
        out += r.cost
    out += r.verdict
    out.append(summary_text)
    out.append(None)  # error
    return out


def layout(r: CheckResult) -> tuple[Any, ...]:
    """What decides a row's keys beyond its types."""
    reqs = r.requirements
    return (r.inputs.torch is None, tuple(r.throughput.breakdown), reqs.finetune is None, reqs.modern is None,
            reqs.custom is None, tuple(r.memory.breakdown),
            tuple(r.memory.phases), r.cost is None)


# The CSV text of one row, as csv.writer(lineterminator="\n") writes it (QUOTE_MINIMAL: a string with a comma,
# a quote or a line break is quoted, its quotes doubled, and a carriage return too, which csv.writer leaves bare
# when the terminator is "\n"; None is empty; a float is its repr). In Python, because the C writer took ~41 us
# for a row of ~130 fields and this ~28 (the summary and caveat texts are long). A sweep's rows repeat many floats
# (the GPU's, the model's, the recipe's), so their text is kept, in a table cleared when it grows.
FLOAT_TEXT_MAX = 1 << 16
_float_text: dict[float, str] = {}


def csv_line(row: Sequence[Any]) -> str:
    ftext = _float_text
    out = []
    for x in row:
        t = x.__class__
        if t is float:
            if x:
                s = ftext.get(x)
                if s is None:
                    if len(ftext) >= FLOAT_TEXT_MAX:
                        ftext.clear()
                    s = ftext[x] = repr(x)
            else:
                s = repr(x)  # 0.0 and -0.0 are one key with two texts
        elif t is str:
            s = x
            if "," in x or '"' in x or "\n" in x or "\r" in x:
                s = '"' + x.replace('"', '""') + '"'
        elif x is None:
            s = ""
        else:
            s = str(x)  # int, bool
        out.append(s)
    return ",".join(out) + "\n"


class RowEncoder:
    """Rows as CSV (in the header's columns) or JSON lines, from typed results."""

    def __init__(self, specs: Specs, duration_s: float, fmt: str, header: list[str], fixed: Fixed = Fixed()) -> None:
        self.specs, self.duration_s, self.fmt, self.header, self.fixed = specs, duration_s, fmt, header, fixed
        self.layouts: dict[tuple[Any, ...], tuple[list[str], Any]] = {}
        self.buf = io.StringIO()

    def keys(self, r: CheckResult, row: list[Any]) -> tuple[list[str], Any]:
        key = layout(r)
        found = self.layouts.get(key)
        if found is None:
            flat = flatten(check_data(r, with_advice=False))
            keys = [*flat, "error"]
            if row != [*flat.values(), None]:  # `values` must list what flatten lists, in its order
                raise AssertionError(f"sweep: the row's values are not check's fields in order ({len(row)} values "
                                     f"for {len(keys)} fields)")
            # the header's columns from this layout's values (a column the layout lacks is empty)
            where = {k: i for i, k in enumerate(keys)}
            picks = [where.get(h, len(row)) for h in self.header]
            pick = operator.itemgetter(*picks) if picks != list(range(len(row))) else None
            found = self.layouts[key] = (keys, pick)
        return found

    def encode(self, chunk: list[tuple[Any, ...]]) -> str:
        self.buf.seek(0)
        self.buf.truncate()
        for config in chunk:
            ci, p = options_of(self.specs, config, self.fixed)
            try:
                r = evaluate(ci._replace(duration_s=self.duration_s))
            except Gpt2BudgetError as exc:
                self.write_dict(error_row(config, p, exc))
                continue
            row = values(r, summary(r))
            keys, pick = self.keys(r, row)
            if self.fmt == "csv":
                if pick is not None:
                    row.append(None)
                    row = pick(row)
                self.buf.write(csv_line(row))
            else:
                self.write_dict(dict(zip(keys, row, strict=True)))
        return self.buf.getvalue()

    def write_dict(self, flat: dict[str, Any]) -> None:
        if self.fmt == "csv":
            self.buf.write(csv_line([flat.get(h) for h in self.header]))
            return
        text = json.dumps(flat)
        if "Infinity" in text or "NaN" in text:  # JSON has no inf/nan: "never" is null (report._clean)
            text = json.dumps(_clean(flat), allow_nan=False)
        self.buf.write(text + "\n")


CHUNK_ROWS = 2048
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
            k: int, n: int, fd: int, fixed: Fixed) -> None:
    """A forked worker: encodes chunks k, k+n, k+2n, ... of the grid into its own pipe (the parent reads the pipes
    in turn, so rows come out in grid order). No lock is shared with the parent, so it can be killed at any time."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler (inherited through fork)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    enc = RowEncoder(specs, duration_s, fmt, header, fixed)
    with os.fdopen(fd, "wb") as pipe:
        for i, chunk in enumerate(_chunks(configs)):
            if i % n == k:
                data = enc.encode(chunk).encode()
                pipe.write(_HEAD.pack(len(data), len(chunk)) + data)
        pipe.write(_HEAD.pack(0, 0))


def _parallel(specs: Specs, configs: Iterable[tuple[Any, ...]], duration_s: float, fmt: str, header: list[str],
              out: IO[str], jobs: int, written: list[int], fixed: Fixed, signals: _Signals) -> None:
    """Rows from `jobs` forked workers, in grid order. When the reader goes away (`| head`), on Ctrl-C or on any
    error the workers are killed and reaped at once: none is left behind, none prints a traceback, nothing
    waits on a worker blocked writing into a pipe nobody reads (multiprocessing.Pool could hang there)."""
    pids, pipes = [], []
    sys.stdout.flush()
    # the workers' bytes go straight to a binary stream where there is one (no decoding and re-encoding here:
    # the parent shares the CPUs with its workers)
    raw = getattr(out, "buffer", None)
    out.flush()
    try:
        for k in range(jobs):
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:  # the worker
                os.close(r)
                code = 0
                try:
                    _worker(specs, configs, duration_s, fmt, header, k, jobs, w, fixed)
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
                signals.check()  # a SIGTERM sent to the whole process group stopped the workers too
                raise UsageError("--jobs", "a sweep worker stopped unexpectedly; run again with --jobs 1")
            size, rows = _HEAD.unpack(head)
            if size == 0 and rows == 0:
                break  # chunks go round-robin: the first worker with none left means the grid is done
            data = pipe.read(size)
            if len(data) < size:
                signals.check()
                raise UsageError("--jobs", "a sweep worker stopped unexpectedly; run again with --jobs 1")
            with signals.deferred():  # whole rows: a signal now is handled once the chunk is written and counted
                if raw is not None:
                    _write_all(raw, data)
                else:
                    out.write(data.decode())
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


def _write_all(raw: Any, data: bytes) -> None:
    """All of `data` into a binary stream: a BufferedWriter's write returns short when a signal interrupts it
    (CPython, a blocked write into a pipe), and the rest would be lost."""
    view = memoryview(data)
    while view:
        n = raw.write(view)
        view = view[n if n is not None else 0:]


def _chunks(configs: Iterable[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    it = iter(configs)
    while chunk := list(itertools.islice(it, CHUNK_ROWS)):
        yield chunk


def _fine_tunes(configs: Iterable[tuple[Any, ...]]) -> bool:
    """Whether the grid can have fine-tuning rows (then the header has their recipe's columns)."""
    if isinstance(configs, Grid):
        return any(f != "none" for f in configs.axes[12])
    if isinstance(configs, Sequence):
        return any(c[12] != "none" for c in configs)
    return True  # an iterator is not read twice: keep the columns


class Terminated(SystemExit):
    """A sweep stopped by SIGTERM, whose default is to end the process: it ends, once the output is marked, with
    the status a shell reports for a process killed by it (128 + 15)."""

    def __init__(self) -> None:
        super().__init__(128 + signal.SIGTERM)


class _Signals:
    """SIGINT (Ctrl-C) and SIGTERM while a sweep writes: outside a write, either stops the sweep at once; during
    one (`deferred`), the write finishes first, so that the output holds whole rows only and the count of rows
    written is exact. A second signal during a write stops it at once. Installed only in the main thread, and
    only over the default handlers (a sweep started with SIGINT ignored, under nohup say, keeps ignoring it)."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.deferring = False
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> _Signals:
        wanted = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}
        for signum, default in wanted.items():
            with contextlib.suppress(ValueError, OSError):  # not the main thread: no handler
                if signal.getsignal(signum) is default:
                    self.previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self.previous.items():
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signum, handler)

    def _handle(self, signum: int, frame: object) -> None:
        again = self.received is not None
        self.received = signum
        if again or not self.deferring:
            self.check()

    def check(self) -> None:
        """Raise the interruption a signal asked for, if one did."""
        if self.received == signal.SIGTERM:
            raise Terminated
        if self.received is not None:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        self.deferring = True
        try:
            yield
        finally:
            self.deferring = False
        self.check()


def run_sweep(specs: Specs, configs: Iterable[tuple[Any, ...]], duration_s: float, fmt: str, out: IO[str],
              jobs: int = 1, fixed: Fixed = Fixed()) -> int:
    """Write one row per configuration, in grid order; with jobs > 1, chunks are encoded by forked workers.

    Interrupted (Ctrl-C or SIGTERM), it writes whole rows only, then a last line that no reader takes for a row,
    giving the count of rows written, and raises KeyboardInterrupt (SIGTERM: `Terminated`, a SystemExit)."""
    custom = fixed.tokens is not None
    header = columns(specs, custom, custom and _fine_tunes(configs), fixed.torch is not None)
    if fmt == "csv":
        head = io.StringIO()
        csv.writer(head, lineterminator="\n").writerow(header)
        out.write(head.getvalue())
    written = [0]
    with _Signals() as signals:
        try:
            if jobs > 1 and hasattr(os, "fork"):
                _parallel(specs, configs, duration_s, fmt, header, out, jobs, written, fixed, signals)
            else:
                enc = RowEncoder(specs, duration_s, fmt, header, fixed)
                raw, encoding = getattr(out, "buffer", None), getattr(out, "encoding", None) or "utf-8"
                if raw is not None:
                    out.flush()  # the header first; the rows then go to the binary stream, written whole
                for chunk in _chunks(configs):  # lazily: the grid is never held in memory
                    text = enc.encode(chunk)
                    with signals.deferred():  # whole rows: a signal now is handled once they are written
                        if raw is not None:
                            _write_all(raw, text.encode(encoding, getattr(out, "errors", None) or "strict"))
                        else:
                            out.write(text)
                        written[0] += len(chunk)
        except (KeyboardInterrupt, Terminated) as exc:
            # a partial output must not pass for a complete one: a last line that no reader takes for a row (a
            # CSV comment, a JSON object of its own) in the output itself, and the same on stderr
            how = "terminated" if isinstance(exc, Terminated) else "interrupted"
            note = f"incomplete: {how} after {written[0]} rows"
            signals.deferring = True  # the note is written whole too (a second signal still stops it)
            with contextlib.suppress(Exception):
                out.write(f"# {note}\n" if fmt == "csv" else json.dumps({"incomplete": True, "rows": written[0]}) + "\n")
                out.flush()
            with contextlib.suppress(Exception):
                sys.stderr.write(f"Error: sweep {note}; the output is incomplete\n")
            raise
    return written[0]

"""Rich presentation for people at a terminal: the only module that imports rich."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import IO, Any, cast

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from gpt2budget.core.advisor import PURE_BF16_CAVEAT, Alternative, advice_situation
from gpt2budget.core.result import CheckResult, Throughput
from gpt2budget.core.scaling import MODERN_RECIPES
from gpt2budget.options import ADAPTER_FINETUNES
from gpt2budget.output.flags import change_flags
from gpt2budget.output.report import host_fallback, quiet_stdout, summary
from gpt2budget.units import fmt_bytes, fmt_count, fmt_hours, fmt_ratio, fmt_sci, fmt_seconds, fmt_usd

BAR_WIDTH = 48
COLORS = ["cyan", "magenta", "yellow", "green", "blue", "red", "bright_cyan", "bright_magenta", "white"]
GLYPHS = "█▓▒░▚▞▖▗▘"


class _Table(Table):
    """A table whose cells never lose characters. Rich fits a table that is too wide by shrinking its widest
    columns, below their longest word if need be; a column that then measures wider again pushes the table past
    the terminal's edge, where the line is cut (issue #31: at 80 columns `2.65` printed as `2.6` under the header
    `predicte`). So Rich's layout is checked before it is drawn: every column at least as wide as its longest
    word (header included), the whole within the width. When it is not, the widths are set here: long text
    wraps at spaces first, a short value such as `42.2 days` splits only when nothing else is left, and a number,
    id or flag is never split; when even the longest words do not fit, the rows are printed one record each
    ("header: value")."""

    WORD_CAP = 40  # a longer word (a path, a URL) may fold: no number, id or flag is that long
    SHORT = 12  # a cell up to this many characters ("151.1 days", "10.34 GiB") stays on one line while it can

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cells: list[tuple[Any, ...]] = []

    def add_column(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("overflow", "fold")
        super().add_column(*args, **kwargs)

    def add_row(self, *cells: Any, **kwargs: Any) -> None:
        # Rich keeps a column at least this wide when it shrinks the table (its layout is used where it fits)
        for column, cell in zip(self.columns, cells, strict=False):
            longest = max((len(word) for word in _plain(cell).split()), default=0)
            column.min_width = max(column.min_width or 0, min(longest, self.WORD_CAP))
        self._cells.append(cells)
        super().add_row(*cells, **kwargs)

    def _column_widths(self, console: Console, options: Any) -> list[int] | None:
        """Each column's width, padding included, within the width: [] where Rich's own layout holds every word
        whole, None where not even each column's longest word fits."""
        borders = (len(self.columns) - 1 + (2 if self.show_edge else 0)) if self.box else 0
        room = options.max_width - borders
        pad = self.padding[1] + self.padding[3]  # our tables keep Rich's pad_edge, no collapse_padding
        natural, hard, soft = [], [], []
        for index, column in enumerate(self.columns):
            cells = [_plain(row[index]) if index < len(row) else "" for row in self._cells]
            lines = [*str(column.header).splitlines(), *(line for cell in cells for line in cell.splitlines())]
            natural.append(pad + max((cell_len(line) for line in lines), default=0))
            hard.append(pad + min(max((cell_len(w) for line in lines for w in line.split()), default=0), self.WORD_CAP))
            soft.append(max([hard[-1], *(pad + cell_len(cell) for cell in cells if cell_len(cell) <= self.SHORT)]))
        if sum(natural) <= room:
            return []  # Rich draws every column at its natural width
        if sum(hard) > room:
            return None
        rich_widths = getattr(self, "_calculate_column_widths", None)  # Rich's own layout, kept where it holds
        if rich_widths is not None:
            widths: list[int] = rich_widths(console, options.update_width(room))
            if sum(widths) <= room and all(w >= floor for w, floor in zip(widths, hard, strict=True)):
                return []
        widths = list(natural)
        for floor in (soft, hard):  # long text wraps first; short values split only when nothing else is left
            while sum(widths) > room:
                wider = [i for i, w in enumerate(widths) if w > floor[i]]
                if not wider:
                    break
                widths[max(wider, key=lambda i: widths[i])] -= 1
        return widths

    def __rich_console__(self, console: Console, options: Any) -> Any:
        widths = self._column_widths(console, options)
        if widths == []:
            yield from super().__rich_console__(console, options)
            return
        if widths is not None:
            saved = [(column.width, column.min_width) for column in self.columns]
            pad = self.padding[1] + self.padding[3]
            try:
                for column, width in zip(self.columns, widths, strict=True):
                    column.width, column.min_width = width - pad, None
                yield from super().__rich_console__(console, options)
            finally:
                for column, (was_width, was_min) in zip(self.columns, saved, strict=True):
                    column.width, column.min_width = was_width, was_min
            return
        # too narrow for every column at its longest word: one record per row, "header: value", nothing cut
        out = Text()
        if self.title:
            out.append(f"{self.title}\n", style="bold")
        for cells in self._cells:
            for column, cell in zip(self.columns, cells, strict=False):
                value = cell if isinstance(cell, Text) else Text(str(cell) if cell is not None else "")
                out.append(f"  {column.header}: ")
                out.append_text(value)
                out.append("\n")
            out.append("\n")
        out.rstrip()
        yield out


def _plain(cell: Any) -> str:
    return cell.plain if isinstance(cell, Text) else "" if cell is None else str(cell)


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """The reader of a pipe went away (`| head`): the output just ends, exit 0 as with the other formats
        (Rich's default exits 1)."""
        self.quiet = True
        quiet_stdout()
        raise SystemExit(0)


# What a terminal that cannot show Unicode (LC_ALL=C, a legacy code page) gets instead of each character we print.
ASCII_FALLBACK = str.maketrans({
    "█": "#", "▓": "=", "▒": "o", "░": "~", "▚": "%", "▞": "&", "▖": ".", "▗": ":", "▘": "'", "·": "*", "²": "^2",
    "≈": "~", "…": "...", "←": "<-", "→": "->", "Σ": "sum ", "×": "x", "≤": "<=", "≥": ">=", "—": "-", "–": "-",
})


class _TransliteratingFile:
    """stdout for a non-UTF-8 terminal: our few non-ASCII characters become ASCII, anything else is replaced,
    so output never dies of a UnicodeEncodeError (issue: `LC_ALL=C gpt2budget check` crashed)."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self.encoding = getattr(raw, "encoding", None) or "ascii"

    def write(self, text: str) -> int:
        out = text.translate(ASCII_FALLBACK).encode(self.encoding, errors="replace").decode(self.encoding)
        return int(self._raw.write(out))

    def flush(self) -> None:
        self._raw.flush()

    def isatty(self) -> bool:
        return bool(self._raw.isatty())

    def fileno(self) -> int:
        return int(self._raw.fileno())


def can_encode(stream: Any, sample: str = "█·²") -> bool:
    try:
        sample.encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def make_console(no_color: bool = False, record: bool = False, to_terminal: bool = True) -> Console:
    if not to_terminal:  # recorded for a file only: render as if piped, print nothing
        import io

        return _Console(no_color=True, color_system=None, highlight=False, markup=False, emoji=False, record=True,
                        width=200, soft_wrap=True, file=io.StringIO())
    tty = sys.stdout.isatty()
    unicode_ok = can_encode(sys.stdout)
    color = not no_color and not os.environ.get("NO_COLOR") and tty  # no-color.org: only a non-empty value
    width = None if tty else 200  # piped: never wrap tables
    soft_wrap = not tty and not record  # a recording (--svg/--html) is cut at its width: wrap long lines there
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) >= 20:
        width, soft_wrap = int(columns), False  # the POSIX COLUMNS variable, as Rich reads it at a terminal
    # markup and emoji off: spec names and formulas are data, "[...]" or ":x:" in them must print as written
    return _Console(no_color=not color, color_system="auto" if color else None, highlight=False, markup=False, emoji=False,
                   record=record, width=width, soft_wrap=soft_wrap, safe_box=not unicode_ok,
                   file=None if unicode_ok else cast(IO[str], _TransliteratingFile(sys.stdout)))


def _bar(parts: Sequence[tuple[str, float]], scale: float, width: int = BAR_WIDTH) -> Text:
    text = Text()
    used = 0
    for i, (_, value) in enumerate(parts):
        n = round(width * value / scale) if scale > 0 else 0
        n = min(n, width * 2 - used)
        if n > 0:
            text.append(GLYPHS[i % len(GLYPHS)] * n, style=COLORS[i % len(COLORS)])
            used += n
    return text


def render_step_time(con: Console, th: Throughput, overridden: bool) -> None:
    """One optimizer step, term by term (gpt2budget.core.steptime); the terms sum to the step."""
    total = th.step_seconds
    title = (f"Step time: {fmt_seconds(total)} per optimizer step of {th.micro_steps} micro-step"
             f"{'s' if th.micro_steps != 1 else ''}, bound by {th.bound}"
             + (" (not used: --utilization overrides it)" if overridden else ""))
    t = _Table(title=title, title_justify="left")
    for col, just in (("term", "left"), ("seconds", "right"), ("share", "right")):
        t.add_column(col, justify=just)
    for term in th.terms:  # each term's seconds as its trace gave them (explain prints the rest of the trace)
        secs = term.seconds
        if secs > 0:
            t.add_row(term.name.replace("_", " "), fmt_seconds(secs), f"{secs / total:.0%}" if total > 0 else "-")
    con.print(t)


def render_check(con: Console, r: CheckResult, words: dict[str, str], explain: list[str] | None,
                 advice_shown: bool, micro_batch_auto: bool = False, faster: Alternative | None = None) -> None:
    i, c, mem, v = r.inputs, r.compute, r.memory, r.verdict
    per = " (per GPU)" if mem.per_gpu else ""
    con.print(Text(f"{r.model.name} on {i.gpus}x {r.gpu.name}  [{i.stack} stack]", style="bold"))
    con.print(
        f"Assumptions: precision {i.precision} | "
        + (f"utilization {c.utilization:.2f} (--utilization) | " if c.utilization_source == "--utilization"
           else f"time from the step-time model (MFU {r.throughput.mfu:.0%}) | " if not c.calibration
           else f"time from the step-time model with this GPU's calibration ({c.calibration}; "
                f"MFU {r.throughput.mfu:.0%}) | ")
        + f"batch {fmt_count(i.batch_tokens)} tokens/step | "
        f"duration {fmt_hours(i.duration_hours)} | micro-batch {i.micro_batch}{auto_words(r, micro_batch_auto)} | "
        f"seq {i.seq} | "
        f"optimizer {i.optimizer} | checkpointing {i.checkpointing} | attention {i.attention} | "
        f"dropout {i.dropout} | ZeRO {i.zero} | offload {i.offload} | FLOPs/token "
        + ("4·N + 6·N_adapter (frozen base)" if i.finetune in ADAPTER_FINETUNES else "6·N")
        + (" + 12·L·h·s" if i.flops_formula != "6n" else "")
        + (f" | fine-tune {i.finetune}" if i.finetune != "none" else "")
    )
    t = _Table(title="Compute", title_justify="left")
    for col in ("peak FLOP/s per GPU", "sustained FLOP/s (all GPUs)", "available FLOPs", "tokens/s"):
        t.add_column(col, justify="right")
    t.add_row(fmt_sci(c.peak_flops_per_gpu), fmt_sci(c.sustained_flops_per_s), fmt_sci(c.available_flops),
              f"{c.tokens_per_second:,.0f}")
    con.print(t)
    render_step_time(con, r.throughput, c.utilization_source == "--utilization")
    t = _Table(title="Requirements", title_justify="left")
    for col, just in (("recipe", "left"), ("tokens", "right"), ("FLOPs", "right"), ("available / required", "right"),
                      ("wall time", "right"), ("predicted loss*", "right")):
        t.add_column(col, justify=just)
    for name, req in r.requirements.items():
        label = name.replace("_", "-") + (f" ({req.rule})" if req.rule is not None else "")
        ratio = req.ratio
        t.add_row(label, fmt_count(req.tokens), fmt_sci(req.flops),
                  Text(fmt_ratio(ratio), style="green" if ratio >= 1 else "red"),
                  fmt_hours(req.wall_time_hours),
                  "-" if req.predicted_loss is None else f"{req.predicted_loss:.2f}")
    con.print(t)
    con.print(Text(f"* {r.loss_caveat}", style="dim"))
    recipe = MODERN_RECIPES.get(r.model.id) if r.requirements.modern is not None else None
    if recipe is not None:
        con.print(Text(f"modern: {recipe.name} reaches {recipe.reaches} in {fmt_count(recipe.tokens)} tokens; "
                       f"{recipe.caveat}. Source: {recipe.source}", style="dim"))
    t = _Table(title=f"Memory{per}: peak in phase '{mem.peak_phase}'", title_justify="left")
    t.add_column("component")
    t.add_column("bytes", justify="right")
    t.add_column("formula")
    parts = [(k, b) for k, b in mem.breakdown.items() if b > 0]
    for idx, (k, b) in enumerate(parts):
        t.add_row(Text(GLYPHS[idx % len(GLYPHS)] + " " + k, style=COLORS[idx % len(COLORS)]), fmt_bytes(b), words.get(k, ""))
    t.add_row("allocator peak", fmt_bytes(mem.allocator_peak_bytes), "what torch.cuda.max_memory_allocated() would show",
              style="bold")
    t.add_row("+ fragmentation", fmt_bytes(mem.fragmentation_bytes), f"{mem.fragmentation:.0%} of the peak")
    t.add_row("+ runtime", fmt_bytes(mem.runtime_overhead_bytes), "CUDA context and library workspaces")
    t.add_row("required", fmt_bytes(mem.required_bytes), f"vs {fmt_bytes(mem.available_bytes)} on the card",
              style="bold")
    if mem.host_bytes:
        t.add_row("host memory", fmt_bytes(mem.host_bytes), f"offloaded; {fmt_bytes(mem.host_available_bytes)} given")
    con.print(t)
    scale = max(mem.available_bytes, mem.required_bytes)
    bar = _bar(parts, scale)
    con.print(Text("memory  ") + bar + Text(f"  {fmt_bytes(mem.required_bytes)} needed / "
                                             f"{fmt_bytes(mem.available_bytes)} card"))
    marker = round(BAR_WIDTH * mem.available_bytes / scale)
    con.print(Text("        " + " " * max(0, marker - 1) + "^ card memory", style="dim"))
    con.print(Text(f"fits: {'yes' if mem.fits else 'no'}; largest micro-batch that fits: {mem.max_micro_batch}",
                   style="green" if mem.fits else "red"))
    if mem.host_fallback_required_bytes:
        con.print(Text(f"host fallback: {host_fallback(mem)}", style="dim"))
    avail = c.available_flops
    top = max([avail] + [q.hardware_flops for q in (q for _, q in r.requirements.items())])
    con.print(Text("compute budget vs requirements:"))
    con.print(Text(f"  {'available':<16}") + _bar([("a", avail)], top) + Text(f" {fmt_sci(avail)}"))
    for name, req in r.requirements.items():
        con.print(Text(f"  {name.replace('_', '-'):<16}") + _bar([("x", 0), ("r", req.hardware_flops)], top)
                  + Text(f" {fmt_sci(req.hardware_flops)}"))
    if r.cost is not None:
        cost = r.cost
        why = ("" if v.feasible else " (hypothetical: the run does not fit in memory)" if not v.fits
               else " (hypothetical: the run does not finish in the duration given)")
        t = _Table(title=f"Cost of the {cost.for_.replace('_', '-')} run{why}", title_justify="left")
        for col in ("GPU-hours", "energy", "electricity", "CO2", "rent", "purchase"):
            t.add_column(col, justify="right")
        t.add_row(f"{cost.gpu_hours:,.0f}", "-" if cost.energy_kwh is None else f"{cost.energy_kwh:,.0f} kWh",
                  fmt_usd(cost.electricity_usd),
                  "-" if cost.emissions_kg_co2 is None else f"{cost.emissions_kg_co2:,.0f} kg",
                  fmt_usd(cost.rent_usd), fmt_usd(cost.purchase_usd))
        con.print(t)
    if advice_shown:
        adv = r.advice
        goal = {"fit": "What would make it fit",
                "launch-bound": "What would make it faster (the step is launch-bound)",
                "time": "What would make it finish in the duration given",
                "faster": "What would make it faster"}[advice_situation(r)]
        t = _Table(title=f"{goal} (same hardware first, then more GPUs, then smaller models; each group by time "
                         "to train)", title_justify="left")
        for col, just in (("change", "left"), ("needs / GPU", "right"), ("max micro-batch", "right"),
                          ("wall time", "right"), ("vs now", "right")):
            t.add_column(col, justify=just)
        for a in adv:
            f = a.time_factor
            # the required size (allocator peak + fragmentation + runtime): the number the fit is judged on
            t.add_row(change_flags(i, a.inputs), fmt_bytes(a.memory.required_bytes), str(a.memory.max_micro_batch),
                      fmt_hours(a.wall_time_hours), "-" if f is None else f"{f:.2f}x")
        if not adv:
            t.add_row("no change we model makes this run fit" if not mem.fits
                      else "no change we model makes this run faster", "", "", "", "")
        con.print(t)
        if any(a.inputs.precision == "bf16" != i.precision for a in adv):
            con.print(Text(f"* {PURE_BF16_CAVEAT}", style="dim"))
    if explain:
        con.print(Text("How each number is computed:", style="bold"))
        for line in explain:
            con.print("  " + line, markup=False)
    if faster is not None:
        alt = faster.result
        flags = (f"--stack {alt.inputs.stack} " if alt.inputs.stack != i.stack else "") + change_flags(i, alt.inputs)
        con.print(Text(f"Much faster: {flags} trains {faster.speedup:.1f}x faster "
                       f"({fmt_hours(alt.target_requirement.wall_time_hours)} for the "
                       f"{r.target.replace('_', '-')} run)", style="bold"))
    con.print(Text(("OK: " if v.feasible else "NOT FEASIBLE: ") + summary(r),
                   style="bold green" if v.feasible else "bold red"))


def auto_words(r: CheckResult, auto: bool) -> str:
    """What --micro-batch auto chose, for the assumptions line."""
    if not auto:
        return ""
    mem = r.memory
    if not mem.fits:
        return " (auto: not even 1 fits)"
    if r.inputs.micro_batch < mem.max_micro_batch:
        return " (auto: one step's sequences per GPU; more would fit)"
    return " (the largest that fits)"


def render_rows(con: Console, title: str, rows: list[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> None:
    t = _Table(title=title, title_justify="left")
    for _, header in columns:
        t.add_column(header)
    for row in rows:
        t.add_row(*("" if row.get(k) is None else str(row.get(k)) for k, _ in columns))
    con.print(t)


def render_time_bars(con: Console, label: str, rows: list[tuple[str, float]]) -> None:
    finite = [h for _, h in rows if h == h and h != float("inf")]
    top = max(finite) if finite else 1.0
    con.print(Text(label, style="bold"))
    for name, hours in rows:
        bar = _bar([("t", hours)], top, BAR_WIDTH) if hours != float("inf") else Text("(does not fit)")
        con.print(Text(f"  {name:<17} ") + bar + Text(f" {fmt_hours(hours)}"))  # a long id never touches its bar


def render_lines(con: Console, lines: list[str], style: str | None = None) -> None:
    for line in lines:
        con.print(Text(line, style=style or ""))


def save_recording(con: Console, svg: str | None, html: str | None, write: Any) -> None:
    if svg:
        write(svg, con.export_svg(title="gpt2budget", clear=False), "--svg")
    if html:
        write(html, con.export_html(clear=False), "--html")

"""The command line (Typer): options parsed, the library called, the output layer rendering."""

# Start-up (and shut-down) of a command, through CPython's cyclic garbage collector:
# - it runs each time 700 more container objects exist than at its last run. The start of a command (importing
#   Typer and Rich, loading the specs) makes tens of thousands, most of which live for the whole run, so during a
#   `check` it ran ~60 times (~8 ms of ~120 ms). The command raises the threshold, as mypy does for the same reason
#   (mypy/build.py: "Run gc less frequently, as otherwise we can spend a large fraction of cpu in gc",
#   gc.set_threshold(200 * 1000, 30, 30)): a `check` runs no collection (its cyclic garbage, ~0.4 MB of peak
#   memory, goes at exit) and a long sweep still collects, every GC_THRESHOLD objects.
# - at exit the interpreter tears every module down through the collector, ~10-20 ms after a `check` has printed
#   everything. The command's objects are frozen (gc.freeze) once it is done, so that the teardown leaves them to
#   the operating system, as Instagram does for its processes ("Dismissing Python Garbage Collection at
#   Instagram", 2017, atexit os._exit; freezing is the milder form: atexit handlers still run and stdout and
#   stderr are still flushed, and every file the command writes is closed before it returns).
# Only the command does this: importing gpt2budget (the library, or gpt2budget.cli.app) leaves the collector alone.
GC_THRESHOLD = 100_000


def main(argv: list[str] | None = None) -> None:
    """The `gpt2budget` command (and `python -m gpt2budget`)."""
    import gc

    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
    try:
        from gpt2budget.cli.app import main as run

        run(argv)
    finally:
        gc.freeze()

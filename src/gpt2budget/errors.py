"""Small named exceptions. The library raises them; the CLI turns them into `Error: ...` and an exit code."""

from __future__ import annotations

# Exit codes, documented in the README and in `gpt2budget --help`.
EXIT_OK = 0
EXIT_OUTPUT = 1  # the output could not be written (a full disk, /dev/full, a folder in the way)
EXIT_USAGE = 2  # a bad option value or an unknown GPU/model name
EXIT_SPEC = 3  # a spec file (YAML) is malformed or invalid
EXIT_INFEASIBLE = 4  # only with --fail-if-infeasible: the run does not fit or is not feasible


class Gpt2BudgetError(Exception):
    """Base class: every error the library raises on purpose."""

    exit_code = EXIT_USAGE


class UsageError(Gpt2BudgetError):
    """A bad option value (names the option and what was expected)."""

    def __init__(self, option: str, message: str) -> None:
        self.option = option
        super().__init__(f"{option}: {message}")


class UnknownNameError(UsageError):
    """A GPU, model or stack id that is not in the catalogue (with a 'did you mean')."""


class SpecError(Gpt2BudgetError):
    """A spec file that cannot be loaded or validated (names the file, the key and, when known, the line)."""

    exit_code = EXIT_SPEC

    def __init__(self, path: str, key: str, message: str, line: int | None = None) -> None:
        self.path, self.key, self.line, self.message = path, key, line, message
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {key}: {message}" if key else f"{where}: {message}")

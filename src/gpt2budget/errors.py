"""Small named exceptions. The library raises them; the CLI turns them into `Error: ...` and an exit code."""

from __future__ import annotations

import re

# Exit codes, documented in the README and in `gpt2budget --help`.
EXIT_OK = 0
EXIT_OUTPUT = 1  # the output could not be written (a full disk, /dev/full, a folder in the way)
EXIT_USAGE = 2  # a bad option value or an unknown GPU/model name
EXIT_SPEC = 3  # a spec file (YAML) is malformed or invalid
EXIT_INFEASIBLE = 4  # only with --fail-if-infeasible: the run does not fit or is not feasible


# Characters that must never reach a terminal from a file name, a YAML key, a path or a measured source: C0 and C1
# controls (ESC starts an ANSI escape sequence; CR rewrites the line) and the bidirectional controls (U+202E, the
# right-to-left override, shows "gpu.yaml" for "lmay.upg", and the others of Unicode's UAX #9), with the line and
# paragraph separators.
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029"


_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")  # the characters unsafe_char refuses, as one search


def first_unsafe(text: str) -> str | None:
    """The first unsafe character of `text` (see unsafe_char), or None."""
    found = _UNSAFE.search(text)
    return found.group() if found else None


def unsafe_char(c: str) -> bool:
    """A character that a terminal would act on or that reorders the text around it (see _BIDI)."""
    o = ord(c)
    return o < 32 or 127 <= o < 160 or c in _BIDI


def safe_text(text: str, keep: str = "") -> str:
    """`text` with each unsafe character written as its escape (ESC as \\x1b, U+202E as \\u202e): the one place
    outside text enters an error message, a warning or a line of output. Characters in `keep` (a newline, say)
    are left as they are."""
    if not any(unsafe_char(c) for c in text):
        return text
    return "".join(c if c in keep or not unsafe_char(c) else (f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}")
                   for c in text)


class Gpt2BudgetError(Exception):
    """Base class: every error the library raises on purpose."""

    exit_code = EXIT_USAGE


class UsageError(Gpt2BudgetError):
    """A bad option value (names the option and what was expected)."""

    def __init__(self, option: str, message: str) -> None:
        option, message = safe_text(option), safe_text(message, "\n")  # paths and names a user gave
        self.option = option
        super().__init__(f"{option}: {message}")


class UnknownNameError(UsageError):
    """A GPU, model or stack id that is not in the catalogue (with a 'did you mean')."""


class SpecError(Gpt2BudgetError):
    """A spec file that cannot be loaded or validated (names the file, the key and, when known, the line)."""

    exit_code = EXIT_SPEC

    def __init__(self, path: str, key: str, message: str, line: int | None = None) -> None:
        path, key, message = safe_text(path), safe_text(key), safe_text(message, "\n")  # file names, YAML keys
        self.path, self.key, self.line, self.message = path, key, line, message
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {key}: {message}" if key else f"{where}: {message}")

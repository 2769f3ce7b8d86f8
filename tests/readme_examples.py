"""The examples of README.md and docs/*.md, run for real: `python tests/readme_examples.py` rewrites their outputs
in place (and docs/cli.md, the CLI reference, from the app's commands first).

What counts as an example, in every one of those files:
- a ```console block: lines starting with `$ ` are shell commands; the lines after each, up to the next command
  or the end of the block, are what it prints (stdout and stderr together). Each block runs in a fresh,
  empty folder, one command after another, so a block can create a file and then use it. A block whose fence
  reads ```console slow is checked only by the full suite (`pytest -m slow` selects it).
- a ```sh block: a cheat sheet; every line is run (in a fresh folder) and must succeed without a traceback.
- an inline code span in the prose that starts with `gpt2budget `: it must run without error.
- docs/library.md's "From Python" example: its ```python block must print its ```text block (tests/test_api.py).

Commands run under bash with `gpt2budget` meaning this interpreter's installed package and `python` this
interpreter, no colour, stdin empty, an empty HOME and XDG_CONFIG_HOME, and stdout a pipe (so tables do not wrap
and `--help` is 80 columns wide). The folder holds a link to the repository's `benchmarks/`, so that
`python benchmarks/x.py` runs as from the repository root. `jq` is a small stand-in (dotted paths, `-r`) so that
outputs do not depend on which jq a machine has.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
CLI_REFERENCE = DOCS / "cli.md"
FENCE = re.compile(r"^```(\S*)((?:[ \t]+\S+)*)\s*$")  # ```kind [flag ...]
INLINE = re.compile(r"`(gpt2budget [^`]+)`")
TIMEOUT_S = 600  # benchmarks/time_accuracy.py (a slow block) grid-searches for ~1.5 min


def doc_files() -> list[Path]:
    """README.md and every docs/*.md: the files whose examples are run."""
    return [README, *sorted(DOCS.glob("*.md"))]


def doc_name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@dataclass
class Example:
    line: int  # 1-based line of the `$ ` command in its file
    command: str
    expected: list[str]


@dataclass
class Block:
    kind: str  # "console" or "sh" (other fences are not run)
    start: int  # index of the first line inside the fence
    end: int  # index of the closing fence
    lines: list[str]
    flags: tuple[str, ...] = ()  # words after the kind on the opening fence: "slow"

    @property
    def slow(self) -> bool:
        return "slow" in self.flags

    def examples(self) -> list[Example]:
        out: list[Example] = []
        for i, text in enumerate(self.lines):
            if text.startswith("$ "):
                out.append(Example(self.start + i + 1, text[2:], []))
            elif out:
                out[-1].expected.append(text)
            elif text.strip():
                raise ValueError(f"line {self.start + i + 1}: console block output before any `$ ` command")
        return out


def blocks(text: str) -> list[Block]:
    lines = text.split("\n")
    found: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and lines[j] != "```":
            j += 1
        if m.group(1) in ("console", "sh"):
            found.append(Block(m.group(1), i + 1, j, lines[i + 1 : j], tuple(m.group(2).split())))
        i = j + 1
    return found


def inline_commands(text: str) -> list[tuple[int, str]]:
    """Inline `gpt2budget ...` code spans in the prose (outside fenced blocks), with their line numbers."""
    out = []
    in_fence = False
    for n, line in enumerate(text.split("\n"), 1):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if not in_fence:
            out.extend((n, m.group(1)) for m in INLINE.finditer(line))
    return out


class Sandbox:
    """An empty working folder and PATH shims for `gpt2budget` (this interpreter) and `jq`."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="gpt2budget-readme-")
        root = Path(self._tmp.name)
        self.cwd = root / "work"
        self.cwd.mkdir()
        bindir = root / "bin"
        bindir.mkdir()
        shims = {"gpt2budget": f'exec "{sys.executable}" -m gpt2budget "$@"\n',
                 "python": f'exec "{sys.executable}" "$@"\n',
                 "jq": f'exec "{sys.executable}" "{Path(__file__).resolve()}" --jq "$@"\n'}
        for name, body in shims.items():
            path = bindir / name
            path.write_text("#!/bin/sh\n" + body)
            path.chmod(0o755)
        home = root / "home"
        home.mkdir()
        (self.cwd / "benchmarks").symlink_to(ROOT / "benchmarks", target_is_directory=True)
        # what changes how Rich, Typer or Click size and colour their output: the examples' output is fixed
        unset = ("GPT2BUDGET_", "COLUMNS", "LINES", "FORCE_COLOR", "TERMINAL_WIDTH", "GITHUB_ACTIONS", "PY_COLORS",
                 "TTY_COMPATIBLE", "TTY_INTERACTIVE", "JUPYTER_", "_TYPER_")
        env = {k: v for k, v in os.environ.items() if not k.startswith(unset)}
        env.update({"PATH": f"{bindir}{os.pathsep}{env.get('PATH', '')}", "HOME": str(home),
                    "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache"),
                    "NO_COLOR": "1", "PYTHONIOENCODING": "utf-8",
                    "LC_ALL": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"})
        self.env = env

    def run(self, command: str) -> tuple[int, str]:
        proc = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=self.cwd, env=self.env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=TIMEOUT_S)
        return proc.returncode, proc.stdout

    def close(self) -> None:
        self._tmp.cleanup()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def output_lines(output: str) -> list[str]:
    lines = [line.rstrip() for line in output.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def run_block(block: Block) -> list[tuple[Example, list[str]]]:
    """Run a console block's commands in order; (example, actual output lines) for each."""
    with Sandbox() as box:
        return [(ex, output_lines(box.run(ex.command)[1])) for ex in block.examples()]


def updated(text: str) -> str:
    """The document with every console block's outputs replaced by what the commands print now."""
    lines = text.split("\n")
    for block in reversed(blocks(text)):  # from the end, so earlier line numbers stay valid
        if block.kind != "console":
            continue
        new: list[str] = []
        for ex, actual in run_block(block):
            new.append(f"$ {ex.command}")
            new.extend(actual)
        lines[block.start : block.end] = new
    return python_example_updated("\n".join(lines))


LIBRARY_DOC = DOCS / "library.md"
PYTHON_EXAMPLE = re.compile(r"(^#+ From Python.*?```python\n)(.*?)(```.*?prints\n\n```text\n)(.*?)(```)", re.S | re.M)


def python_example(text: str) -> tuple[str, str] | None:
    """The "From Python" section's code and the output the document shows for it."""
    m = PYTHON_EXAMPLE.search(text)
    return (m.group(2), m.group(4)) if m else None


def python_example_prints(code: str) -> str:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "docs/library.md (From Python)", "exec"), {})
    return out.getvalue()


def python_example_updated(text: str) -> str:
    """The "From Python" section's printed block replaced by what its code prints now (tests/test_api.py checks
    the same)."""
    m = PYTHON_EXAMPLE.search(text)
    if m is None:
        return text
    return text[:m.start(4)] + python_example_prints(m.group(2)) + text[m.end(4):]


def diff(expected: list[str], actual: list[str]) -> str:
    return "\n".join(difflib.unified_diff(expected, actual, "documented", "actual", lineterm=""))


# --- docs/cli.md: the CLI reference, generated from the app (the cog pattern) -------------------------------

CLI_INTRO = """# Command-line reference

Every command's `--help`, as the installed version prints it (at 80 columns, as when piped). This page is
generated: `python tests/readme_examples.py` rewrites it from the app's commands, and `pytest` checks that each
block below is what the command prints now and that every command has one.
"""


def command_names() -> list[str]:
    """The app's commands, in the order `gpt2budget --help` lists them."""
    from gpt2budget.cli.app import app

    return [c.name or c.callback.__name__.lower().replace("_", "-")  # Typer's own default name
            for c in app.registered_commands if c.callback is not None and not c.hidden]


def cli_reference_skeleton() -> str:
    """docs/cli.md's text with every command's `--help` block, outputs left empty (updated() fills them)."""
    parts = [CLI_INTRO, "```console\n$ gpt2budget --help\n```\n"]
    for name in command_names():
        parts.append(f"## gpt2budget {name}\n\n```console\n$ gpt2budget {name} --help\n```\n")
    return "\n".join(parts)


# --- a stand-in for jq: `jq [-r] .a.b[0]` -------------------------------------------------------------------


def _jq_value(value: object, raw: bool) -> str:
    if raw and isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e17:
        return str(int(value))  # jq prints integral numbers without ".0"
    return json.dumps(value, indent=2, ensure_ascii=False)


def jq(argv: list[str], stdin: str) -> str:
    raw = "-r" in argv
    paths = [a for a in argv if not a.startswith("-")]
    if len(paths) != 1 or not paths[0].startswith("."):
        raise SystemExit(f"jq stand-in: only `jq [-r] .path` is supported, got {argv}")
    value: object = json.loads(stdin)
    for part in re.findall(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]", paths[0]):
        value = value[part[0]] if part[0] else value[int(part[1])]  # type: ignore[index]
    return _jq_value(value, raw) + "\n"


def main(argv: list[str]) -> int:
    if argv[:1] == ["--jq"]:
        sys.stdout.write(jq(argv[1:], sys.stdin.read()))
        return 0
    DOCS.mkdir(exist_ok=True)
    old_cli = CLI_REFERENCE.read_text(encoding="utf-8") if CLI_REFERENCE.exists() else ""
    new_cli = updated(cli_reference_skeleton())
    if new_cli != old_cli:
        CLI_REFERENCE.write_text(new_cli, encoding="utf-8")
        print(f"{doc_name(CLI_REFERENCE)}: regenerated from the app")
    for path in doc_files():
        if path == CLI_REFERENCE:
            continue
        text = path.read_text(encoding="utf-8")
        new = updated(text)
        if new != text:
            path.write_text(new, encoding="utf-8")
            print(f"{doc_name(path)}: example outputs updated")
        else:
            print(f"{doc_name(path)}: example outputs already current")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

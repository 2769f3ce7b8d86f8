"""The docs cannot drift: docs/cli.md is generated from the app, the README stays short and its set-up commands are
what CI runs. (Every example in README.md and docs/*.md is run by tests/test_readme.py.)"""


import re

import readme_examples as rx

ROOT = rx.ROOT


def _commands_only(text: str) -> str:
    """The text with every console block's outputs dropped (its `$ ` lines kept)."""
    lines = text.split("\n")
    for block in reversed(rx.blocks(text)):
        if block.kind == "console":
            lines[block.start : block.end] = [f"$ {ex.command}" for ex in block.examples()]
    return "\n".join(lines)


def test_every_command_has_its_help_in_the_cli_reference():
    from gpt2budget.cli.app import app

    text = rx.CLI_REFERENCE.read_text(encoding="utf-8")
    run = {ex.command for b in rx.blocks(text) if b.kind == "console" for ex in b.examples()}
    names = rx.command_names()
    assert len(names) == len(app.registered_commands) and "validate" in names and "check" in names
    for name in names:
        assert f"gpt2budget {name} --help" in run, f"docs/cli.md has no `$ gpt2budget {name} --help` block"
    assert "gpt2budget --help" in run


def test_the_cli_reference_is_the_generated_page():
    """Nothing in docs/cli.md is typed by hand: without its outputs it is the generator's skeleton (the outputs
    are checked by tests/test_readme.py like every console block)."""
    text = rx.CLI_REFERENCE.read_text(encoding="utf-8")
    assert _commands_only(text) == rx.cli_reference_skeleton(), "run `python tests/readme_examples.py`"


def test_help_in_the_sandbox_is_80_columns_whatever_the_caller_has(monkeypatch):
    """The reference is rendered at a fixed width: COLUMNS, TERMINAL_WIDTH (Typer), FORCE_COLOR or a CI's
    GITHUB_ACTIONS in the caller's environment change nothing."""
    text = rx.CLI_REFERENCE.read_text(encoding="utf-8")
    block = next(b for b in rx.blocks(text) if b.kind == "console" and "check --help" in b.lines[0])
    expected = block.examples()[0].expected
    for var, value in (("COLUMNS", "40"), ("TERMINAL_WIDTH", "200"), ("FORCE_COLOR", "1"), ("GITHUB_ACTIONS", "true")):
        monkeypatch.setenv(var, value)
    with rx.Sandbox() as box:
        code, out = box.run("gpt2budget check --help")
    assert code == 0 and rx.output_lines(out) == rx.output_lines("\n".join(expected))
    assert max(len(line) for line in expected) <= 80 and "\x1b[" not in out
def _setup_commands() -> list[str]:
    """The README's set-up block: its first fenced block."""
    text = rx.README.read_text(encoding="utf-8")
    m = re.search(r"^```[^\n]*\n(.*?)^```$", text, re.S | re.M)
    assert m, "README.md has no fenced block"
    return [line for line in m.group(1).split("\n") if line.strip()]


def test_the_readme_opens_with_two_set_up_commands_that_make_a_virtualenv():
    """A fresh Debian/Ubuntu refuses `pip install` outside a virtualenv (PEP 668): each command makes one."""
    install, test = _setup_commands()
    for command in (install, test):
        assert command.startswith("python3 -m venv .venv && .venv/bin/pip install "), command
    assert " .venv/bin/gpt2budget check " in install
    assert test.endswith("&& .venv/bin/pytest"), test


def test_ci_runs_the_readme_test_command():
    """.ci/run installs the README's test extras into a fresh virtualenv and runs the same bare `pytest` from the
    repository root (plus ruff and mypy)."""
    _, test = _setup_commands()
    extras = set(re.search(r'pip install "\.\[([^]]*)\]"', test).group(1).split(","))
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert 'cd "$(dirname "$0")/.."' in ci  # the repository root
    assert " -m venv " in ci
    installs = re.findall(r'pip"? install (?:-q )?"\.\[([^]]*)\]"', ci)
    assert installs and all(extras <= set(found.split(",")) for found in installs), (extras, installs)
    run_lines = [line.strip().replace('"', "") for line in ci.split("\n")
                 if re.match(r"""["']?(\S*/)?pytest\b""", line.strip())]
    assert run_lines and all(line.split("/")[-1] == "pytest" for line in run_lines), run_lines


def test_the_readme_is_short():
    size = rx.README.stat().st_size
    assert size <= 15 * 1024, f"README.md is {size} bytes: move detail into docs/"


HELP_OPTION = re.compile(r"^  (?:-\w, )?(--[a-z0-9-]+)(?: / (--[a-z0-9-]+))?(?: <([^>]*)>)?", re.M)
SPAN = re.compile(r"`([^`\n]+)`")
NOT_THE_CLI = ("python", "pip", ".venv", "pytest", "ruff", "mypy", "sed", "git")


def _cli_options() -> dict[str, list[set[str]]]:
    """Every option any command has (from the generated docs/cli.md), with its choices where --help lists them."""
    found: dict[str, list[set[str]]] = {}
    for m in HELP_OPTION.finditer(rx.CLI_REFERENCE.read_text(encoding="utf-8")):
        choices = set(m.group(3).split("|")) if m.group(3) and "|" in m.group(3) else set()
        for name in filter(None, (m.group(1), m.group(2))):
            found.setdefault(name, []).append(choices)
    return found


def _prose_spans():
    for path in rx.doc_files():
        text = path.read_text(encoding="utf-8")
        lines = text.split("\n")
        fenced = {i for b in rx.blocks(text) for i in range(b.start - 1, b.end + 1)}
        in_fence = False
        for n, line in enumerate(lines):
            if rx.FENCE.match(line):
                in_fence = not in_fence
                continue
            if in_fence or n in fenced:
                continue
            for span in SPAN.findall(line):
                if not span.startswith(NOT_THE_CLI):
                    yield rx.doc_name(path), n + 1, span


def test_every_option_the_prose_names_exists_with_the_choices_it_lists():
    """An option renamed or a choice added (`--checkpointing none|full` once missed selective) fails here: the prose
    is checked against the generated CLI reference."""
    options = _cli_options()
    assert "--checkpointing" in options and "--no-advice" in options and "--batch-tokens" in options
    for name, n, span in _prose_spans():
        for opt in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", span):
            assert opt in options, f"{name}:{n}: `{span}`: no command has {opt}"
        for opt, listed in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)[ =]([\w.+-]+(?:\|[\w.+-]+)+)", span):
            known = [c for c in options.get(opt, []) if c]
            if known:
                assert any(set(listed.split("|")) == c or set(listed.split("|")) == c - {"none"} for c in known), (
                    f"{name}:{n}: `{span}` lists {listed}; --help says {' or '.join('|'.join(sorted(c)) for c in known)}")


def test_every_docs_page_is_linked_from_the_readme_and_every_link_resolves():
    readme = rx.README.read_text(encoding="utf-8")
    for page in sorted(rx.DOCS.glob("*.md")):
        assert f"(docs/{page.name})" in readme, f"README.md does not link docs/{page.name}"
    for path in rx.doc_files():
        for target, anchor in re.findall(r"\]\(([^)#\s]+)(?:#([^)]*))?\)", path.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://")):
                continue
            linked = path.parent / target
            assert linked.exists(), f"{rx.doc_name(path)}: link to {target}: no such file"
            if anchor:
                assert anchor in _anchors(linked), f"{rx.doc_name(path)}: link to {target}#{anchor}: no such heading"


def _anchors(path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    text = _commands_only(path.read_text(encoding="utf-8"))
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in re.findall(r"^#+ (.*)$", text, re.M)}


def _schema_has(schema: dict, node: dict, path: list[str]) -> bool:
    for key in path:
        while "$ref" in node or "anyOf" in node:
            if "$ref" in node:
                node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
            else:
                node = next((n for n in node["anyOf"] if n.get("type") != "null"), {})
        if node.get("type") == "array":
            node = node.get("items", {})
            continue
        props = node.get("properties", {})
        if key not in props:
            return False
        node = props[key]
    return True


def test_the_json_paths_the_docs_promise_are_in_the_schema():
    """docs/usage.md lists the JSON paths scripts can rely on; each is a field of `check --format json`'s schema."""
    from gpt2budget.output.schema import json_schema

    text = (rx.DOCS / "usage.md").read_text(encoding="utf-8")
    paragraph = text[text.index("JSON paths scripts can rely on:"):].split("Results go to stdout")[0]
    paragraph = re.sub(r"\([^)]*\)", "", paragraph)  # asides such as "(the breakdown sums to ...)"
    paths: list[str] = []
    for span in SPAN.findall(paragraph):
        expanded = [""]
        for part in re.findall(r"\{[^}]*\}|[^{}]+", span):
            options = part[1:-1].split(",") if part.startswith("{") else [part]
            expanded = [e + o for e in expanded for o in options]
        paths.extend(expanded)
    assert len(paths) > 20 and "memory.fits" in paths, paths
    schema = json_schema("check")
    for path in paths:
        assert _schema_has(schema, schema, path.split(".")), f"docs/usage.md promises `{path}`: not in check's JSON"

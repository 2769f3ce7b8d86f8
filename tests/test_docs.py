"""The docs cannot drift: docs/cli.md is generated from the app, the README stays short and its set-up commands are
what CI runs. (Every example in README.md and docs/*.md is run by tests/test_readme.py.)"""


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

"""Every example in the README runs, and prints what the README shows (regenerate: python tests/readme_examples.py)."""

import pytest

import readme_examples as rx

TEXT = rx.README.read_text(encoding="utf-8")
BLOCKS = rx.blocks(TEXT)
CONSOLE = [b for b in BLOCKS if b.kind == "console"]
SHEETS = [b for b in BLOCKS if b.kind == "sh"]
HINT = "README example output is stale: run `python tests/readme_examples.py` and review the diff"


def test_readme_has_examples_of_every_command():
    commands = " ".join(ex.command for b in CONSOLE for ex in b.examples())
    for name in ("check", "gpus", "models", "stacks", "plan", "compare", "sweep", "schema", "validate"):
        assert f"gpt2budget {name}" in commands, f"no console example runs `gpt2budget {name}`"


@pytest.mark.parametrize("block", CONSOLE, ids=[f"README.md:{b.start}" for b in CONSOLE])
def test_console_example_output_is_current(block):
    with rx.Sandbox() as box:
        for ex in block.examples():
            code, out = box.run(ex.command)
            assert "Traceback" not in out, f"README.md:{ex.line}: {ex.command}\n{out}"
            assert code == 0, f"README.md:{ex.line}: `{ex.command}` exited {code}:\n{out}"
            actual = rx.output_lines(out)
            assert actual == rx.output_lines("\n".join(ex.expected)), (
                f"README.md:{ex.line}: {ex.command}\n{HINT}\n{rx.diff(ex.expected, actual)}")


@pytest.mark.slow  # a subprocess per command
@pytest.mark.parametrize("block", SHEETS, ids=[f"README.md:{b.start}" for b in SHEETS])
def test_cheat_sheet_commands_run(block):
    with rx.Sandbox() as box:
        for n, line in enumerate(block.lines, block.start + 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            code, out = box.run(line)
            assert code == 0 and "Traceback" not in out, f"README.md:{n}: `{line}` exited {code}:\n{out}"


def test_inline_commands_in_the_prose_run():
    found = rx.inline_commands(TEXT)
    assert found, "no inline commands found: the parser is broken"
    with rx.Sandbox() as box:
        for n, command in found:
            code, out = box.run(command + " > /dev/null")
            assert code == 0 and "Traceback" not in out, f"README.md:{n}: `{command}` exited {code}:\n{out}"


def test_update_rewrites_only_outputs():
    """The regenerate command keeps commands and prose; on a made-up README it replaces a stale output."""
    text = "intro\n\n```console\n$ gpt2budget models --format csv | head -n 2\nstale line\n```\n\nafter\n"
    new = rx.updated(text)
    assert new.startswith("intro\n\n```console\n$ gpt2budget models --format csv | head -n 2\nid,name,")
    assert "stale line" not in new and new.endswith("```\n\nafter\n")
    assert rx.updated(new) == new


def test_jq_stand_in_matches_jq_for_simple_paths():
    doc = '{"a": {"b": [1.0, "x", 2.5, true]}}'
    assert rx.jq([".a.b[0]"], doc) == "1\n"
    assert rx.jq([".a.b[1]"], doc) == '"x"\n'
    assert rx.jq(["-r", ".a.b[1]"], doc) == "x\n"
    assert rx.jq([".a.b[2]"], doc) == "2.5\n"
    assert rx.jq([".a.b[3]"], doc) == "true\n"

"""Every example in README.md and docs/*.md runs, and prints what the file shows (regenerate: python
tests/readme_examples.py)."""

import pytest

import readme_examples as rx

FILES = {rx.doc_name(p): p.read_text(encoding="utf-8") for p in rx.doc_files()}
BLOCKS = [(name, b) for name, text in FILES.items() for b in rx.blocks(text)]
CONSOLE = [(name, b) for name, b in BLOCKS if b.kind == "console"]
SHEETS = [(name, b) for name, b in BLOCKS if b.kind == "sh"]
HINT = "documented example output is stale: run `python tests/readme_examples.py` and review the diff"


def _params(found):
    return [pytest.param(name, b, id=f"{name}:{b.start}", marks=[pytest.mark.slow] if b.slow else [])
            for name, b in found]


def test_the_docs_have_examples_of_every_command():
    commands = " ".join(ex.command for _, b in CONSOLE for ex in b.examples())
    for name in ("check", "gpus", "models", "stacks", "plan", "compare", "sweep", "schema", "validate"):
        assert f"gpt2budget {name}" in commands, f"no console example runs `gpt2budget {name}`"


def test_every_doc_is_checked():
    """README.md and the docs/ pages are all found, and each page but the index has an example to run."""
    assert "README.md" in FILES and "docs/cli.md" in FILES and len(FILES) > 5, sorted(FILES)
    with_examples = {name for name, _ in BLOCKS} | {name for name, text in FILES.items() if rx.inline_commands(text)}
    assert "README.md" in with_examples and "docs/cli.md" in with_examples


@pytest.mark.parametrize(("name", "block"), _params(CONSOLE))
def test_console_example_output_is_current(name, block):
    with rx.Sandbox() as box:
        for ex in block.examples():
            code, out = box.run(ex.command)
            assert "Traceback" not in out, f"{name}:{ex.line}: {ex.command}\n{out}"
            assert code == 0, f"{name}:{ex.line}: `{ex.command}` exited {code}:\n{out}"
            actual = rx.output_lines(out)
            assert actual == rx.output_lines("\n".join(ex.expected)), (
                f"{name}:{ex.line}: {ex.command}\n{HINT}\n{rx.diff(ex.expected, actual)}")


@pytest.mark.slow  # a subprocess per command
@pytest.mark.parametrize(("name", "block"), _params(SHEETS))
def test_cheat_sheet_commands_run(name, block):
    with rx.Sandbox() as box:
        for n, line in enumerate(block.lines, block.start + 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            code, out = box.run(line)
            assert code == 0 and "Traceback" not in out, f"{name}:{n}: `{line}` exited {code}:\n{out}"


def test_inline_commands_in_the_prose_run():
    found = [(name, n, command) for name, text in FILES.items() for n, command in rx.inline_commands(text)]
    assert found, "no inline commands found: the parser is broken"
    with rx.Sandbox() as box:
        for name, n, command in found:
            code, out = box.run(command + " > /dev/null")
            assert code == 0 and "Traceback" not in out, f"{name}:{n}: `{command}` exited {code}:\n{out}"


def test_update_rewrites_only_outputs():
    """The regenerate command keeps commands and prose; on a made-up page it replaces a stale output."""
    text = "intro\n\n```console\n$ gpt2budget models --format csv | head -n 2\nstale line\n```\n\nafter\n"
    new = rx.updated(text)
    assert new.startswith("intro\n\n```console\n$ gpt2budget models --format csv | head -n 2\nid,name,")
    assert "stale line" not in new and new.endswith("```\n\nafter\n")
    assert rx.updated(new) == new


def test_a_slow_fence_marks_the_block_and_is_still_a_console_block():
    text = "```console slow\n$ echo hi\nhi\n```\n\n```console\n$ echo ho\nho\n```\n"
    slow, quick = rx.blocks(text)
    assert (slow.kind, slow.slow, slow.lines) == ("console", True, ["$ echo hi", "hi"])
    assert (quick.kind, quick.slow) == ("console", False)
    assert rx.updated(text.replace("\nhi\n", "\nstale\n")) == text


def test_jq_stand_in_matches_jq_for_simple_paths():
    doc = '{"a": {"b": [1.0, "x", 2.5, true]}}'
    assert rx.jq([".a.b[0]"], doc) == "1\n"
    assert rx.jq([".a.b[1]"], doc) == '"x"\n'
    assert rx.jq(["-r", ".a.b[1]"], doc) == "x\n"
    assert rx.jq([".a.b[2]"], doc) == "2.5\n"
    assert rx.jq([".a.b[3]"], doc) == "true\n"

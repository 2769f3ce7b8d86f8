"""The library API: docs/library.md's Python example runs and prints what the page says; the CLI and the API agree."""

from pathlib import Path

import readme_examples as rx

LIBRARY_DOC = Path(__file__).resolve().parents[1] / "docs" / "library.md"


def test_readme_python_example_prints_what_it_says():
    found = rx.python_example(LIBRARY_DOC.read_text(encoding="utf-8"))
    assert found is not None, "docs/library.md has no From Python example"
    code, printed = found
    assert rx.python_example_prints(code) == printed


def test_the_cli_and_the_api_give_the_same_document(cli):
    from gpt2budget.api import configure, evaluate, load

    specs = load()
    doc = evaluate(configure(specs, gpu="4090", model="gpt2-medium", micro_batch=4, checkpointing="full",
                             optimizer="adamw-fused"))
    r = cli("check", "--gpu", "4090", "--model", "gpt2-medium", "--micro-batch", "4", "--checkpointing", "full",
            "--optimizer", "adamw-fused", "--format", "json", "--no-advice")
    got = r.json()
    got.pop("advice", None)
    from gpt2budget.output.report import check_data, to_json

    assert got == __import__("json").loads(to_json(check_data(doc, with_advice=False)))
    # typed fields are the document's fields
    assert doc.memory.required_bytes == got["memory"]["required_bytes"]
    assert doc.requirements.original.wall_time_hours == got["requirements"]["original"]["wall_time_hours"]

"""The library API: the README's Python example runs and prints what the README says; the CLI and the API agree."""

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks():
    text = README.read_text()
    section = text[text.index("## From Python"):text.index("## Development")]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    printed = re.search(r"prints\n\n```text\n(.*?)```", section, re.S).group(1)
    return code, printed


def test_readme_python_example_prints_what_it_says():
    code, printed = _blocks()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md (From Python)", "exec"), {})
    assert out.getvalue() == printed


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

"""The layers point one way (#13): base (errors, options, units) <- specs <- core <- output <- cli; api sits
over core and output, the torch runner (measure) over base alone. Read from each module's imports."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "gpt2budget"

# what each layer may import from gpt2budget (besides itself)
ALLOWED = {
    "base": {"base"},
    "specs": {"base", "specs"},
    "core": {"base", "specs", "core"},
    "output": {"base", "specs", "core", "output"},
    "api": {"base", "specs", "core", "output", "api"},
    "measure": {"base", "measure"},
    "cli": {"base", "specs", "core", "output", "api", "measure", "cli"},
}
BASE = {"errors", "options", "request", "units", "__init__", "__main__"}


def layer(dotted: str) -> str:
    parts = dotted.split(".")[1:]  # after "gpt2budget"
    if not parts or parts[0] in BASE:
        return "base"
    if parts[0] in ("specs", "core", "output", "cli"):
        return parts[0]
    return {"api": "api", "measure": "measure"}[parts[0]]


def imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gpt2budget"):
            out.add(node.module)
            if node.module == "gpt2budget":  # from gpt2budget import __version__ (base)
                out.add("gpt2budget.__init__")
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("gpt2budget")}
    return out


def test_every_import_points_down_the_layers():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        own = layer(".".join(rel.parts).replace(".__init__", "") if rel.name == "__init__" else ".".join(rel.parts))
        if path.name == "__main__.py":
            own = "cli"  # `python -m gpt2budget` runs the CLI
        for target in imports(path):
            if layer(target) not in ALLOWED[own]:
                wrong.append(f"{rel} ({own}) imports {target} ({layer(target)})")
    assert wrong == []


def test_the_layer_map_knows_every_module():
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        assert layer(".".join(rel.parts)) in ALLOWED, rel

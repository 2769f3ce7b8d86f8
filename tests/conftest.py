import json
import os
import tempfile
from pathlib import Path

import pytest

# Before anything is imported or collected (a test module may load specs at import time): the tests keep their
# spec cache to themselves, never the user's ~/.cache/gpt2budget.
_CACHE = tempfile.mkdtemp(prefix="gpt2budget-test-cache-")
os.environ["GPT2BUDGET_CACHE_DIR"] = _CACHE

from gpt2budget.cli.app import main  # noqa: E402
from gpt2budget.specs.catalog import load_specs  # noqa: E402  (after the cache folder is set)

DATA = Path(__file__).parent / "data"


class Result:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def json(self):
        return json.loads(self.out)


@pytest.fixture
def cli(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("GPT2BUDGET_CONFIG_PATH", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")

    def run(*args: str) -> Result:
        code = 0
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        cap = capsys.readouterr()
        return Result(code, cap.out, cap.err)

    return run


@pytest.fixture(scope="session")
def specs():
    return load_specs()


def measured_points():
    return [json.loads(line) for line in (DATA / "h100_gpt2_training_memory.jsonl").read_text().splitlines() if line]


@pytest.fixture(autouse=True, scope="session")
def _own_spec_cache():
    """The cache folder set at import stays in force for the whole session (and is removed afterwards)."""
    import shutil

    os.environ["GPT2BUDGET_CACHE_DIR"] = _CACHE
    yield
    shutil.rmtree(_CACHE, ignore_errors=True)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """A spec cache of the test's own (GPT2BUDGET_CACHE_DIR), no user folders."""
    d = tmp_path / "cache"
    monkeypatch.setenv("GPT2BUDGET_CACHE_DIR", str(d))
    monkeypatch.delenv("GPT2BUDGET_NO_CACHE", raising=False)
    monkeypatch.delenv("GPT2BUDGET_CONFIG_PATH", raising=False)
    return d


def cache_file():
    from gpt2budget.specs import cache as spec_cache

    path = spec_cache.cache_path()
    assert path is not None
    return path


def cache_entries():
    return json.loads(cache_file().read_text())["entries"]

"""Issue #31 item 10: validation is linear in the number of problems and lists only the first few."""

import difflib

import pytest

from gpt2budget.errors import SpecError
from gpt2budget.specs import loader
from gpt2budget.specs.files import builtin_config_dir

N_UNKNOWN = 25_000


def _spec_with_unknown_keys(folder, n):
    """The RTX 4090's spec with n unknown keys (25,000: ~240 KB, under the spec size limit)."""
    text = (builtin_config_dir() / "gpus" / "rtx-4090.yaml").read_text(encoding="utf-8")
    text = text.replace("id: rtx-4090", "id: big-4090") + "".join(f"k{i:05d}: 1\n" for i in range(n))
    path = folder / "gpus" / "big.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def big_spec(tmp_path):
    return _spec_with_unknown_keys(tmp_path, N_UNKNOWN)


@pytest.fixture
def spec_2000(tmp_path):
    """Enough unknown keys for the old code's one search per problem to show (and fail quickly)."""
    return _spec_with_unknown_keys(tmp_path, 2000)


@pytest.fixture
def suggestions(monkeypatch):
    """Counts the "did you mean" searches: the quadratic part was one search over every key per problem."""
    calls = []
    real = difflib.get_close_matches

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(difflib, "get_close_matches", counted)
    return calls


def test_validate_lists_the_first_problems_and_counts_the_rest(big_spec):
    problems = loader.spec_file_problems("gpus", big_spec)
    assert len(problems) == loader.MAX_PROBLEMS + 1
    assert [p.key for p in problems[:3]] == ["k00000", "k00001", "k00002"]
    assert all(p.message == "unknown key" for p in problems[:-1])
    assert problems[-1].message == f"... and {N_UNKNOWN - loader.MAX_PROBLEMS:,} more problems (fix the ones above first)"


def test_validate_looks_for_suggestions_only_for_the_problems_it_lists(spec_2000, suggestions):
    assert len(loader.spec_file_problems("gpus", spec_2000)) == loader.MAX_PROBLEMS + 1
    assert len(suggestions) <= loader.MAX_PROBLEMS


def test_loading_it_looks_for_one_suggestion(spec_2000, suggestions):
    with pytest.raises(SpecError, match="k00000: unknown key"):
        loader.load_spec_file("gpus", spec_2000)
    assert len(suggestions) <= 1


def test_a_typo_and_its_missing_key_still_point_at_each_other(tmp_path):
    text = (builtin_config_dir() / "gpus" / "rtx-4090.yaml").read_text(encoding="utf-8")
    assert "\nmemory_gib:" in text
    path = tmp_path / "typo.yaml"
    path.write_text(text.replace("\nmemory_gib:", "\nmemory_gb:"), encoding="utf-8")
    problems = loader.spec_file_problems("gpus", path)
    assert [p.key for p in problems] == ["memory_gb", "memory_gib"]
    assert problems[0].message == "unknown key (did you mean memory_gib?)"
    assert problems[1].message.startswith("required key is missing (is memory_gb on line")


def test_few_problems_are_all_listed(tmp_path):
    text = (builtin_config_dir() / "gpus" / "rtx-4090.yaml").read_text(encoding="utf-8")
    path = tmp_path / "few.yaml"
    path.write_text(text + "".join(f"k{i}: 1\n" for i in range(loader.MAX_PROBLEMS)), encoding="utf-8")
    problems = loader.spec_file_problems("gpus", path)
    assert len(problems) == loader.MAX_PROBLEMS and not any("more problems" in p.message for p in problems)

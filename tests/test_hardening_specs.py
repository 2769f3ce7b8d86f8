"""Issue #31 items 7 and 16 (part): spec folders are never ignored silently, whichever way they are given; a
user's copy of a built-in keeps its names; vendor words are optional in a GPU name."""

import shutil

import pytest

from gpt2budget.specs.files import builtin_config_dir

WARNING_CASES = {
    "misnamed": ("gpu", "gpu/ is not read: did you mean gpus/?"),
    "top-level": (".", "top.yaml is not read: spec files go in the gpus/, models/ or stacks/ folder"),
}


def _folder(tmp_path, where):
    base = tmp_path / "specs"
    (base / where).mkdir(parents=True)
    name = "top.yaml" if where == "." else "mine.yaml"
    text = (builtin_config_dir() / "gpus" / "rtx-4090.yaml").read_text()
    (base / where / name).write_text(text.replace("id: rtx-4090", "id: my-4090"))
    return base


@pytest.mark.parametrize("case", list(WARNING_CASES))
def test_the_config_path_variable_warns_of_what_it_does_not_read(cli, tmp_path, monkeypatch, case):
    where, message = WARNING_CASES[case]
    base = _folder(tmp_path, where)
    if case == "top-level":
        (base / "gpus").mkdir()
    monkeypatch.setenv("GPT2BUDGET_CONFIG_PATH", str(base))
    r = cli("gpus", "--format", "json")
    assert r.code == 0
    assert f"Warning: GPT2BUDGET_CONFIG_PATH: {base / where.strip('.')}".rstrip("/") in r.err
    assert message in r.err


@pytest.mark.parametrize("case", list(WARNING_CASES))
def test_the_user_folder_warns_of_what_it_does_not_read(cli, tmp_path, monkeypatch, case):
    where, message = WARNING_CASES[case]
    xdg = tmp_path / "xdg"
    base = _folder(tmp_path, where)
    xdg.mkdir()
    shutil.move(str(base), str(xdg / "gpt2budget"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    r = cli("gpus", "--format", "json")
    assert r.code == 0
    assert "Warning: user folder: " in r.err and message in r.err


def test_a_config_path_entry_that_is_a_gpus_folder_is_named(cli, tmp_path, monkeypatch):
    base = _folder(tmp_path, "gpus")
    monkeypatch.setenv("GPT2BUDGET_CONFIG_PATH", str(base / "gpus"))
    r = cli("gpus", "--format", "json")
    assert f"is a gpus/ folder itself; give the folder that holds it: {base}" in r.err


def test_config_dir_names_the_misnamed_folder(cli, tmp_path):
    base = _folder(tmp_path, "gpu")
    r = cli("gpus", "--config-dir", str(base))
    assert r.code != 0 and "gpu/ is not read: did you mean gpus/?" in r.err


def test_config_dir_warns_of_a_spec_at_the_top(cli, tmp_path):
    base = _folder(tmp_path, ".")
    (base / "gpus").mkdir()
    r = cli("gpus", "--format", "json", "--config-dir", str(base))
    assert r.code == 0 and "top.yaml is not read" in r.err


@pytest.mark.parametrize("where", ["empty", "gpu"])
def test_validate_says_when_a_folder_has_nothing_to_check(cli, tmp_path, where):
    base = tmp_path / "specs"
    base.mkdir()
    if where == "gpu":
        base = _folder(tmp_path / "x", "gpu")
    r = cli("validate", str(base))
    assert r.code != 0
    assert f"{base}: no spec files found" in r.out
    if where == "gpu":
        assert "gpu/ is not read: did you mean gpus/?" in r.out


def _replacement(tmp_path, cli, aliases):
    r = cli("gpus", "--template", "4070ti")
    assert r.code == 0
    text = r.out.replace("id: my-rtx-4070-ti", "id: rtx-4070-ti").replace("aliases: []", f"aliases: {aliases}")
    assert "id: rtx-4070-ti" in text
    base = tmp_path / "user"
    (base / "gpus").mkdir(parents=True)
    (base / "gpus" / "mine.yaml").write_text(text)
    return base


def test_a_copy_of_a_builtin_keeps_its_aliases(cli, tmp_path):
    base = _replacement(tmp_path, cli, "[]")
    for name in ("4070ti", "rtx-4070-ti", "RTX 4070 Ti"):
        r = cli("check", "--config-dir", str(base), "--gpu", name, "--model", "gpt2", "--format", "json")
        assert r.code == 0, (name, r.err)
        assert r.json()["gpu"]["name"].endswith("(edit me)")


def test_a_copy_with_its_own_aliases_is_suggested_first(cli, tmp_path):
    base = _replacement(tmp_path, cli, "[myti]")
    r = cli("check", "--config-dir", str(base), "--gpu", "myti", "--model", "gpt2", "--format", "json")
    assert r.code == 0, r.err
    r = cli("check", "--config-dir", str(base), "--gpu", "4070ti", "--model", "gpt2")
    assert r.code != 0 and "did you mean rtx-4070-ti or" in r.err


def test_did_you_mean_ranks_the_name_that_holds_the_typo_first(specs):
    from gpt2budget.errors import UnknownNameError

    with pytest.raises(UnknownNameError, match="did you mean rtx-4070-ti or"):
        specs.gpus.get("4070tii", "--gpu")


@pytest.mark.parametrize("name", ["GeForce RTX 4070 Ti", "geforce-rtx-4070-ti", "NVIDIA RTX 4070 Ti", "Instinct MI300X",
                                  "AMD Instinct MI300X"])
def test_vendor_words_are_optional(specs, name):
    assert specs.gpus.get(name, "--gpu").id in ("rtx-4070-ti", "mi300x")


def test_an_empty_user_folder_is_no_warning(cli, tmp_path, monkeypatch):
    (tmp_path / "xdg" / "gpt2budget").mkdir(parents=True)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    r = cli("gpus", "--format", "json")
    assert r.code == 0 and r.err == ""

"""Issue #31 item 14: terminal escapes and bidirectional controls never reach the terminal through file names,
YAML keys, --output paths, option values or calibration sources: each is shown escaped (gpt2budget.errors.safe_text)."""

import re

import pytest

from gpt2budget.errors import SpecError, UsageError, safe_text, unsafe_char
from gpt2budget.specs.files import builtin_config_dir

ESC, RLO = "\x1b[2J", "\u202e"
HOSTILE = ["\x1b", "\u202e", "\u2066", "\u200f", "\x9b", "\r", "\x07"]


def _clean(*texts: str) -> bool:
    return not any(unsafe_char(c) for text in texts for c in text if c not in "\n\t")


@pytest.mark.parametrize("c", HOSTILE)
def test_safe_text_escapes_every_control(c):
    shown = safe_text(f"a{c}b")
    assert _clean(shown) and shown.startswith("a\\") and shown.endswith("b")
    assert safe_text("plain: ü, 日本, naïve") == "plain: ü, 日本, naïve"


def test_errors_escape_what_they_are_given():
    assert _clean(str(SpecError(f"/x/{ESC}{RLO}.yaml", f"k{RLO}", f"m{ESC}", 3)))
    assert _clean(str(UsageError("--output", f"cannot write /x/{ESC}{RLO}")))


def _gpu_text(**changes):
    text = (builtin_config_dir() / "gpus" / "rtx-4090.yaml").read_text()
    text = re.sub(r"^id: .*$", "id: odd", text, flags=re.M)
    text = re.sub(r"^aliases: .*$", "aliases: [odd-gpu]", text, flags=re.M)
    for old, new in changes.items():
        text = text.replace(old, new, 1)
    return text


def test_a_broken_spec_file_name_and_key_are_escaped(cli, tmp_path):
    folder = tmp_path / "gpus"
    folder.mkdir()
    (folder / f"bad{ESC}{RLO}.yaml").write_text(_gpu_text(**{"\nsources:": f'\n"colo\\e[2J{RLO}r": 1\nsources:'}))
    r = cli("check", "--gpu", "4090", "--model", "gpt2", "--config-dir", str(tmp_path))
    assert r.code == 0 and "Warning: skipped" in r.err and "colo" in r.err and "unknown key" in r.err
    assert _clean(r.out, r.err) and "\\x1b[2J" in r.err and "\\u202e" in r.err
    v = cli("validate", str(tmp_path))
    assert v.code == 3 and _clean(v.out, v.err) and "\\x1b" in v.out


def test_validate_escapes_a_good_file_name(cli, tmp_path):
    path = tmp_path / "gpus" / f"ok{RLO}.yaml"
    path.parent.mkdir()
    path.write_text(_gpu_text())
    v = cli("validate", str(path))
    assert v.code == 0 and _clean(v.out) and "ok\\u202e.yaml: ok" in v.out


def test_an_output_path_in_an_error_is_escaped(cli, tmp_path):
    r = cli("check", "--gpu", "4090", "--model", "gpt2", "--output", str(tmp_path / f"no{ESC}" / f"x{RLO}.json"))
    assert r.code != 0 and r.err.splitlines()[-1].startswith("Error: ") and _clean(r.err)


def test_an_option_typed_with_escapes_is_escaped(cli):
    r = cli("check", f"--gpu{ESC}", "4090")
    assert r.code == 2 and _clean(r.err)
    r = cli("check", "--gpu", f"40{ESC}90{RLO}", "--model", "gpt2")
    assert r.code == 2 and _clean(r.err)


def test_a_spec_name_with_a_bidi_control_is_refused(tmp_path):
    from gpt2budget.specs.loader import spec_file_problems

    path = tmp_path / "gpus" / "odd.yaml"
    path.parent.mkdir()
    path.write_text(_gpu_text(**{'name: "NVIDIA GeForce RTX 4090"': f'name: "RTX {RLO}0904"'}))
    problems = spec_file_problems("gpus", path)
    assert [p.key for p in problems] == ["name"] and "control character" in problems[0].message


def test_calibration_sources_are_escaped(cli, tmp_path):
    path = tmp_path / "calibrations" / "rtx-4090.yaml"
    path.parent.mkdir()
    path.write_text("gpu: rtx-4090\ngemm_tflops: {bf16: 150.0}\n"
                    f'sources: {{measured: "2026-11-28\\e[2J", gpu_name: "NVIDIA GeForce RTX 4090{RLO}",\n'
                    '          torch: "2.11\\u2066"}\n')
    r = cli("check", "--gpu", "4090", "--model", "gpt2", "--config-dir", str(tmp_path))
    assert r.code == 0, r.err
    assert "calibration" in r.out and _clean(r.out, r.err)
    j = cli("check", "--gpu", "4090", "--model", "gpt2", "--config-dir", str(tmp_path), "--format", "json")
    assert _clean(j.json()["compute"]["calibration"])

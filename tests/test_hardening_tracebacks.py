"""Issue #31 item 13: spec numbers that broke Python's arithmetic are errors naming the file and the key."""

import re

import pytest

from gpt2budget.errors import SpecError
from gpt2budget.specs.files import builtin_config_dir
from gpt2budget.specs.loader import load_spec_file, spec_file_problems


def _gpu(tmp_path, **values):
    text = (builtin_config_dir() / "gpus" / "rtx-4090.yaml").read_text()
    text = re.sub(r"^id: .*$", "id: odd", text, flags=re.M)
    text = re.sub(r"^aliases: .*$", "aliases: [odd-gpu]", text, flags=re.M)
    for key, value in values.items():
        if key == "unusual":
            text = text.replace("\nsources:", '\nunusual: true\nsources:\n  unusual: "a test"', 1)
            continue
        text, n = re.subn(rf"^(\s*){key}: [^#\n]*", rf"\g<1>{key}: {value}", text, count=1, flags=re.M)
        assert n == 1, key
    path = tmp_path / "gpus" / "odd.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_an_integer_of_4301_digits_names_the_file_and_key(tmp_path, cli):
    path = _gpu(tmp_path, memory_gib="1" * 4301)
    with pytest.raises(SpecError) as err:
        load_spec_file("gpus", path)
    assert err.value.key == "memory_gib" and err.value.path == str(path)
    assert "4,301 characters" in str(err.value)
    r = cli("check", "--gpu", "odd", "--model", "gpt2", "--config-dir", str(tmp_path))
    assert r.code == 3 and r.err.startswith("Error: ") and "memory_gib" in r.err and "Traceback" not in r.err
    r = cli("check", "--gpu", "4090", "--model", "gpt2", "--config-dir", str(tmp_path))
    assert r.code == 0 and "Warning: skipped" in r.err


@pytest.mark.parametrize("key", ["memory_gib", "memory_bandwidth_gb_per_s", "fp32", "bf16"])
def test_unusual_values_too_large_to_compute_with_are_refused(tmp_path, key):
    path = _gpu(tmp_path, unusual=True, **{key: "1.0e300"})
    problems = spec_file_problems("gpus", path)
    assert problems and problems[0].key.endswith(key) and "beyond what this tool computes with" in problems[0].message


def test_a_stack_value_too_large_is_refused(tmp_path):
    text = (builtin_config_dir() / "stacks" / "nanogpt.yaml").read_text().replace("id: nanogpt", "id: odd")
    text = re.sub(r"^runtime_overhead_gib: .*$", "runtime_overhead_gib: 1.0e300", text, flags=re.M)
    path = tmp_path / "stacks" / "odd.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    problems = spec_file_problems("stacks", path)
    assert [p.key for p in problems] == ["runtime_overhead_gib"]


@pytest.mark.parametrize("command", [["check", "--model", "gpt2-xl", "--format", "json"], ["plan"],
                                     ["compare", "--gpu", "4090", "--model", "gpt2"],
                                     ["sweep", "--model", "gpt2"]])
def test_the_largest_unusual_values_compute_without_a_traceback(tmp_path, cli, command):
    big = {k: "1.0e15" for k in ("memory_gib", "memory_bandwidth_gb_per_s", "host_link_gb_per_s", "fp32", "bf16")}
    _gpu(tmp_path, unusual=True, **big)
    r = cli(*command, "--gpu", "odd", "--config-dir", str(tmp_path))
    assert r.code == 0, r.err

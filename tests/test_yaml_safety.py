import pytest

from gpt2budget.errors import SpecError
from gpt2budget.specs.catalog import load_catalog
from gpt2budget.specs.files import MAX_SPEC_BYTES
from gpt2budget.specs.loader import load_spec_file

GOOD = (__import__("pathlib").Path(__file__).parents[1] / "configs" / "gpus" / "rtx-4090.yaml").read_text()


def write(tmp_path, text, name="x.yaml", mode="w"):
    p = tmp_path / name
    if mode == "wb":
        p.write_bytes(text)
    else:
        p.write_text(text)
    return p


@pytest.mark.parametrize("text,needle", [
    ("id: a\nid: b\n", "duplicate key"),
    ("!!python/object/apply:os.system ['echo hi']\n", "not allowed"),
    ("a: &x [1, 2]\nb: *x\n", "aliases are not allowed"),
    ("a: !custom 3\n", "not allowed"),
    ("", "empty"),
    ("- 1\n- 2\n", "expected a mapping"),
])
def test_hostile_yaml_refused(tmp_path, text, needle):
    with pytest.raises(SpecError) as e:
        load_spec_file("gpus", write(tmp_path, text))
    assert needle in str(e.value)


@pytest.mark.parametrize("old,new,key", [
    ("memory_gib: 24", "memory_gib: .nan", "memory_gib"),
    ("memory_gib: 24", "memory_gib: -24", "memory_gib"),
    ("fp32: 82.6", "fp32: .inf", "peak_tflops.fp32"),
    ("fp32: 82.6", "fp32: 0", "peak_tflops.fp32"),
    ("memory_gib: 24", "memory_gib: 24\ncolour: red", "colour"),
])
def test_bad_values_name_the_key_and_line(tmp_path, old, new, key):
    with pytest.raises(SpecError) as e:
        load_spec_file("gpus", write(tmp_path, GOOD.replace(old, new, 1)))
    assert e.value.key == key and e.value.line


def test_bomb_and_size_limits(tmp_path):
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
                                                  for p, c in zip("abcdefgh", "bcdefghi", strict=True))
    with pytest.raises(SpecError, match="aliases"):
        load_spec_file("gpus", write(tmp_path, bomb))
    with pytest.raises(SpecError, match="limited"):
        load_spec_file("gpus", write(tmp_path, "a: " + "x" * (MAX_SPEC_BYTES + 10) + "\n"))


def test_unreadable_inputs(tmp_path):
    with pytest.raises(SpecError, match="UTF-8"):
        load_spec_file("gpus", write(tmp_path, b"id: \xff\xfe\n", mode="wb"))
    (tmp_path / "dir.yaml").mkdir()
    with pytest.raises(SpecError, match="directory"):
        load_spec_file("gpus", tmp_path / "dir.yaml")
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(loop)
    with pytest.raises(SpecError, match="cannot read"):
        load_spec_file("gpus", loop)


def test_same_id_twice_in_one_folder(tmp_path):
    (tmp_path / "gpus").mkdir()
    (tmp_path / "gpus" / "a.yaml").write_text(GOOD)
    (tmp_path / "gpus" / "b.yaml").write_text(GOOD)
    with pytest.raises(SpecError) as e:
        load_catalog("gpus", [("test", tmp_path)])
    assert "a.yaml" in str(e.value) and "b.yaml" in str(e.value)


@pytest.mark.parametrize("old,new,message", [
    ("sources:\n", "usable_memory_gib: 30\nsources:\n  usable_memory_gib: measured\n",
     "usable_memory_gib is larger than memory_gib"),
    ("  memory_gib:", "  memory_gib_unused:", "memory_gib has no entry in sources"),
])
def test_checks_across_keys_say_what_is_wrong_without_the_whole_mapping(tmp_path, old, new, message):
    assert old in GOOD
    with pytest.raises(SpecError) as e:
        load_spec_file("gpus", write(tmp_path, GOOD.replace(old, new, 1)))
    assert e.value.message == message and e.value.key == ""

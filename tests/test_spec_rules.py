"""Spec validation rules: strict types, plausibility with unit guesses, errors that name their cause,
folders and names, model families and bounded shapes."""

from pathlib import Path

import pytest

from gpt2budget.errors import SpecError
from gpt2budget.specs.loader import load_spec_file

CONFIGS = Path(__file__).parents[1] / "configs"
GPU = (CONFIGS / "gpus" / "rtx-4090.yaml").read_text()
MODEL = (CONFIGS / "models" / "gpt2.yaml").read_text()


def load_edited(tmp_path, kind, old, new, name="x.yaml"):
    base = GPU if kind == "gpus" else MODEL
    assert old in base
    p = tmp_path / name
    p.write_text(base.replace(old, new, 1))
    return load_spec_file(kind, p)


def error_of(tmp_path, kind, old, new):
    with pytest.raises(SpecError) as e:
        load_edited(tmp_path, kind, old, new)
    return e.value


# --- 1. strict types ---------------------------------------------------------------------------------


@pytest.mark.parametrize("new,needle", [
    ("memory_gib: yes", "expected a number, got the boolean true"),
    ("memory_gib: true", "expected a number, got the boolean true"),
    ('memory_gib: "24"', "expected a number, got the text '24'"),
    ("memory_gib: 1:30", "base-60"),
    ("memory_gib: 024", "octal"),
])
def test_numbers_are_strict(tmp_path, new, needle):
    err = error_of(tmp_path, "gpus", "memory_gib: 24", new)
    assert err.key == "memory_gib" and err.line == 9 and needle in err.message


def test_text_where_a_list_is_expected(tmp_path):
    err = error_of(tmp_path, "gpus", 'aliases: ["4090", "rtx4090"]', 'aliases: "4090"')
    assert err.message == "expected a list, got the text '4090'"


def test_a_number_where_text_is_expected_says_to_quote_it(tmp_path):
    err = error_of(tmp_path, "gpus", 'aliases: ["4090", "rtx4090"]', "aliases: [4090]")
    assert err.key == "aliases.0" and err.message == 'expected text, got 4090 (quote it: "4090")'


def test_whole_numbers_and_booleans_are_strict(tmp_path):
    assert "expected a whole number, got 2022.5" in error_of(
        tmp_path, "gpus", "launch_year: 2022", "launch_year: 2022.5").message
    assert "expected a whole number, got the boolean" in error_of(tmp_path, "models", "n_layer: 12", "n_layer: on").message
    assert "expected true or false" in error_of(
        tmp_path, "models", "tied_embeddings: true", 'tied_embeddings: "yes"').message


def test_scalar_alias_refused(tmp_path):
    err = error_of(tmp_path, "gpus", "board_power_w: 450", "board_power_w: &w 450\nrent_usd_per_hour: *w")
    assert "anchors and aliases are not allowed" in err.message and err.key == "rent_usd_per_hour"


def test_unquoted_exponent_is_a_number(tmp_path):
    assert load_edited(tmp_path, "models", "original_tokens: 10.0e9", "original_tokens: 1e10").original_tokens == 1e10


@pytest.mark.parametrize("text,value", [("20B", 20e9), ("100M", 100e6), ("1.4T", 1.4e12), ("500k", 5e5)])
def test_token_counts_accept_units(tmp_path, text, value):
    assert load_edited(tmp_path, "models", "original_tokens: 10.0e9", f"original_tokens: {text}").original_tokens == value


def test_bad_token_count_says_what_is_expected(tmp_path):
    err = error_of(tmp_path, "models", "original_tokens: 10.0e9", "original_tokens: 20Q")
    assert err.key == "original_tokens" and "such as 20B" in err.message


# --- 2. plausibility with unit-mistake guesses ---------------------------------------------------------


@pytest.mark.parametrize("old,new,key,needle", [
    ("memory_gib: 24", "memory_gib: 12288", "memory_gib",
     "12288 GiB is outside what GPUs have (1 to 1024 GiB): did you mean MiB? the key is in GiB (12 GiB)"),
    ("fp32: 82.6", "fp32: 35.5e12", "peak_tflops.fp32", "did you mean FLOP/s? the key is in TFLOP/s"),
    ("memory_bandwidth_gb_per_s: 1008", "memory_bandwidth_gb_per_s: 1008000", "memory_bandwidth_gb_per_s",
     "did you mean MB/s?"),
    ("memory_bandwidth_gb_per_s: 1008", "memory_bandwidth_gb_per_s: 64000", "memory_bandwidth_gb_per_s",
     "did you mean MB/s or Gbit/s?"),
    ("memory_bandwidth_gb_per_s: 1008", "memory_bandwidth_gb_per_s: 3.35", "memory_bandwidth_gb_per_s",
     "did you mean TB/s?"),
    ("board_power_w: 450", "board_power_w: 450000", "board_power_w", "did you mean mW?"),
    ("bf16: 165.2", "bf16: 50", "peak_tflops.bf16", "below peak_tflops.fp32 (82.6)"),
    ("fp8: 330.3", "fp8: 100", "peak_tflops.fp8", "below peak_tflops.bf16"),
    ("  fp16: 330.3", "  fp16: 100", "peak_tflops_fp16_accumulate.fp16", "below peak_tflops.fp16"),
])
def test_implausible_values_guess_the_unit_mistake(tmp_path, old, new, key, needle):
    err = error_of(tmp_path, "gpus", old, new)
    assert err.key == key and err.line and needle in err.message and "unusual: true" in err.message


def test_unusual_lets_exotic_hardware_pass_with_a_reason(tmp_path):
    exotic = "memory_gib: 2048\nunusual: true"
    err = error_of(tmp_path, "gpus", "memory_gib: 24", exotic)
    assert err.key == "unusual" and "sources.unusual" in err.message
    (tmp_path / "y.yaml").write_text(GPU.replace("memory_gib: 24\n", exotic + "\n").replace(
        "sources:\n", "sources:\n  unusual: 'a 2 TiB prototype, vendor datasheet'\n"))
    spec = load_spec_file("gpus", tmp_path / "y.yaml")
    assert spec.memory_gib == 2048 and spec.unusual


REAL_GPUS = {  # public spec-sheet figures: the oldest and largest cards the ranges must accept
    "gtx-1080-ti": "memory_gib: 11\nmemory_bandwidth_gb_per_s: 484\nhost_link_gb_per_s: 15.75\nboard_power_w: 250\n"
                   "peak_tflops:\n  fp32: 11.3\n",
    "mi325x": "memory_gib: 256\nmemory_bandwidth_gb_per_s: 6000\nhost_link_gb_per_s: 63\nboard_power_w: 1000\n"
              "peak_tflops:\n  fp32: 163.4\n  fp16: 1307.4\n  bf16: 1307.4\n  fp8: 2614.9\n",
    "b200": "memory_gib: 180\nmemory_bandwidth_gb_per_s: 8000\nhost_link_gb_per_s: 63\nboard_power_w: 1000\n"
            "gpu_link: nvlink\ngpu_link_gb_per_s: 900\npeak_tflops:\n  fp32: 80\n  tf32: 1100\n  bf16: 2250\n"
            "  fp8: 4500\n  fp4: 9000\n",
    "rubin-class": "memory_gib: 288\nmemory_bandwidth_gb_per_s: 22000\nhost_link_gb_per_s: 126\nboard_power_w: 2300\n"
                   "peak_tflops:\n  fp32: 130\n  bf16: 4000\n  fp8: 17500\n  fp4: 50000\n",  # announced figures
}


@pytest.mark.parametrize("gid", REAL_GPUS)
def test_real_hardware_passes_the_ranges(tmp_path, gid):
    text = (f"id: {gid}\nname: {gid}\nvendor: other\narchitecture: x\nsegment: datacenter\n" + REAL_GPUS[gid]
            + "sources:\n  memory_gib: s\n  memory_bandwidth_gb_per_s: s\n  host_link_gb_per_s: s\n"
              "  board_power_w: s\n  peak_tflops: s\n  gpu_link_gb_per_s: s\n")
    p = tmp_path / f"{gid}.yaml"
    p.write_text(text)
    assert load_spec_file("gpus", p).id == gid


def test_builtin_gpus_pass_the_ranges(specs):
    assert all(not g.unusual for g in specs.gpus)


# --- 3. errors that name their cause ---------------------------------------------------------------------


def user_folder(tmp_path, files):
    for rel, text in files.items():
        p = tmp_path / "specs" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return str(tmp_path / "specs")


def test_key_typo_is_named_with_its_line_in_check_and_validate(cli, tmp_path):
    folder = user_folder(tmp_path, {"gpus/my-card.yaml": GPU.replace("id: \"rtx-4090\"", "id: my-card").replace(
        "memory_gib: 24", "memroy_gib: 24")})
    r = cli("check", "--gpu", "my-card", "--model", "gpt2", "--config-dir", folder)
    assert r.code == 3
    assert r.err.strip().endswith("my-card.yaml:9: memroy_gib: unknown key (did you mean memory_gib?)")
    r = cli("validate", f"{folder}/gpus/my-card.yaml")
    assert r.out.splitlines()[0].endswith(":9: memroy_gib: unknown key (did you mean memory_gib?)")
    assert r.out.splitlines()[1].endswith("memory_gib: required key is missing (is memroy_gib on line 9 a typo?)")


def test_one_broken_user_file_is_reported_once_and_the_others_work(cli, tmp_path):
    folder = user_folder(tmp_path, {"gpus/broken.yaml": "id: my-id\nname: [\n",
                                    "gpus/good.yaml": GPU.replace("id: \"rtx-4090\"", "id: good").replace(
                                        'aliases: ["4090", "rtx4090"]', "aliases: []")})
    r = cli("models", "--config-dir", folder, "--format", "csv")
    assert r.code == 0 and "gpt2-xl" in r.out and r.err == ""  # the GPU catalogue is not used
    r = cli("gpus", "--config-dir", folder, "--format", "csv")
    assert r.code == 0 and "\ngood," in r.out
    assert r.err.count("\n") == 1 and r.err.startswith("Warning: skipped ") and "broken.yaml:" in r.err
    r = cli("check", "--gpu", "good", "--model", "gpt2", "--config-dir", folder, "--format", "json")
    assert r.code == 0 and r.json()["inputs"]["gpu"] == "good"
    for asked in ("broken", "my-id"):  # by file name or by the id it declares
        r = cli("check", "--gpu", asked, "--model", "gpt2", "--config-dir", folder)
        assert r.code == 3 and r.err.startswith("Error: ") and r.err.count("\n") == 1
        assert "broken.yaml:3: invalid YAML" in r.err and "unknown gpu" not in r.err


def test_a_broken_builtin_file_is_still_an_error(tmp_path):
    from gpt2budget.specs.catalog import load_catalog

    user_folder(tmp_path, {"gpus/x.yaml": "id: x\n"})
    with pytest.raises(SpecError):
        load_catalog("gpus", [("built-in", tmp_path / "specs")], warn=print)
    assert len(load_catalog("gpus", [("user", tmp_path / "specs")], warn=print).broken) == 1


# --- 4. folders and names --------------------------------------------------------------------------------


def gpu_text(gid, aliases="[]"):
    return GPU.replace('id: "rtx-4090"', f"id: {gid}").replace('aliases: ["4090", "rtx4090"]', f"aliases: {aliases}")


@pytest.mark.parametrize("make,needle", [
    (lambda t: str(t / "nowhere"), "no such folder"),
    (lambda t: str(t / "specs" / "gpus"), "is a gpus/ folder itself; give the folder that holds it"),
    (lambda t: "", "holds no gpus/, models/, stacks/ or calibrations/ folder"),  # "" is the current folder to Typer
])
def test_config_dir_that_is_not_a_spec_folder_is_an_error(cli, tmp_path, monkeypatch, make, needle):
    user_folder(tmp_path, {"gpus/a.yaml": gpu_text("a")})
    monkeypatch.chdir(tmp_path)
    r = cli("gpus", "--config-dir", make(tmp_path))
    assert r.code == 2 and r.err.startswith("Error: --config-dir: ") and needle in r.err


def test_relative_xdg_config_home_is_ignored(cli, tmp_path, monkeypatch):
    user_folder(tmp_path, {"gpus/planted.yaml": gpu_text("planted")})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", ".")
    (tmp_path / "gpt2budget").symlink_to(tmp_path / "specs")
    r = cli("gpus", "--format", "csv")
    assert r.code == 0 and "planted" not in r.out


def test_collisions_are_reported_by_validate_and_warned_once_when_resolving(cli, tmp_path):
    folder = user_folder(tmp_path, {"gpus/mine.yaml": gpu_text("mine", '["h100", "shared"]'),
                                    "gpus/other.yaml": gpu_text("other", '["shared"]')})
    r = cli("validate", folder)
    assert r.code == 3
    assert f"{folder}/gpus/mine.yaml:5: aliases: gpu name 'h100' is claimed by h100-sxm (built-in: " in r.out
    assert "; it resolves to h100-sxm" in r.out
    assert f"{folder}/gpus/other.yaml:5: aliases: gpu name 'shared' is claimed by mine" in r.out
    r = cli("compare", "--gpu", "shared", "--gpu", "shared", "--model", "gpt2", "--config-dir", folder, "--format", "csv")
    assert r.err.count("Warning: gpu name 'shared' is claimed by mine") == 1 and "it resolves to mine" in r.err


@pytest.mark.parametrize("old,new", [('aliases: ["4090", "rtx4090"]', 'aliases: ["--"]'),
                                     ('name: "NVIDIA GeForce RTX 4090"', 'name: "  "')])
def test_names_without_letters_are_refused(tmp_path, old, new):
    err = error_of(tmp_path, "gpus", old, new)
    assert err.key.split(".")[0] in ("aliases", "name") and "no letters or digits" in err.message


def test_empty_name_matches_nothing(cli):
    r = cli("check", "--gpu", "", "--model", "gpt2")
    assert r.code == 2 and "empty gpu name" in r.err


def test_validate_a_folder_and_a_spec_in_the_wrong_folder(cli, tmp_path):
    folder = user_folder(tmp_path, {"gpus/a.yaml": gpu_text("a"), "models/m.yaml": MODEL.replace("id: gpt2", "id: m"),
                                    "gpus/oops.yaml": MODEL.replace("id: gpt2", "id: oops"),
                                    "models/card.yaml": gpu_text("card")})
    r = cli("validate", folder)
    assert r.code == 3
    assert f"{folder}/gpus/a.yaml: ok (gpu)" in r.out and f"{folder}/models/m.yaml: ok (model)" in r.out
    assert f"{folder}/gpus/oops.yaml:1: -: this looks like a model spec (has n_layer); put it in models/" in r.out
    assert f"{folder}/models/card.yaml:1: -: this looks like a gpu spec (has peak_tflops); put it in gpus/" in r.out


def test_models_template(cli, tmp_path):
    r = cli("models", "--template", "gpt2")
    assert r.code == 0 and r.out.startswith("# A new model spec") and "id: my-gpt2" in r.out
    folder = tmp_path / "specs" / "models"
    folder.mkdir(parents=True)
    (folder / "my-gpt2.yaml").write_text(r.out)
    r = cli("validate", str(folder / "my-gpt2.yaml"))
    assert r.code == 0, r.out


# --- 5. model families and bounded shapes ------------------------------------------------------------------


def test_family_must_be_one_modelled_and_rope_families_have_no_position_table(tmp_path, specs):
    err = error_of(tmp_path, "models", "n_layer: 12", "family: gpt3\nn_layer: 12")
    assert err.key == "family" and err.line == 5
    assert "family 'gpt3' is not supported (supported: gpt2, llama" in err.message
    err = error_of(tmp_path, "models", "n_layer: 12", "family: llama\nn_layer: 12")
    assert err.key == "positions" and "family llama uses rope" in err.message


@pytest.mark.parametrize("key,ours", [("num_key_value_heads: 4", "n_kv_head"), ("intermediate_size: 3072", "d_ff"),
                                      ("rope_theta: 10000", "positions: rope")])
def test_hugging_face_keys_say_what_the_spec_calls_them(tmp_path, key, ours):
    err = error_of(tmp_path, "models", "n_layer: 12", f"n_layer: 12\n{key}")
    assert err.key == key.split(":")[0] and f"a model spec writes it as {ours}" in err.message


def test_key_value_heads_must_divide_the_heads(tmp_path):
    err = error_of(tmp_path, "models", "n_layer: 12", "n_layer: 12\nn_kv_head: 5")
    assert err.key == "n_kv_head" and "not a multiple of n_kv_head (5)" in err.message


@pytest.mark.parametrize("old,new,needle", [
    ("n_layer: 12", "n_layer: 10000000", "10,000,000 is more than 1,024, the most layers"),
    ("n_embd: 768", "n_embd: 131072", "more than 65,536"),
    ("n_ctx: 1024", "n_ctx: 2097152", "more than 1,048,576"),
    ("vocab_size: 50257", "vocab_size: 2000000", "more than 1,048,576"),
])
def test_shapes_are_bounded(tmp_path, old, new, needle):
    err = error_of(tmp_path, "models", old, new)
    assert err.key == old.split(":")[0] and needle in err.message


def test_reserve_gib_leaves_memory_for_the_desktop(cli):
    base = cli("check", "--gpu", "rtx-4090", "--model", "gpt2", "--format", "json").json()
    r = cli("check", "--gpu", "rtx-4090", "--model", "gpt2", "--reserve-gib", "8", "--format", "json")
    assert r.code == 0
    assert r.json()["gpu"]["usable_bytes"] == pytest.approx(base["gpu"]["usable_bytes"] - 8 * 2**30)
    assert r.json()["memory"]["max_micro_batch"] < base["memory"]["max_micro_batch"]
    r = cli("check", "--gpu", "rtx-4090", "--model", "gpt2", "--reserve-gib", "23.5")
    assert r.code == 2 and r.err.startswith("Error: --reserve-gib: 23.5 GiB leaves 0.26 GiB")


def test_an_older_stack_file_with_utilization_constants_still_loads(tmp_path):
    """The first version's `utilization:` table is ignored now (time comes from step_time), not refused."""
    from gpt2budget.specs.files import builtin_config_dir

    text = (builtin_config_dir() / "stacks" / "hf.yaml").read_text().replace("id: hf\n", "id: old-hf\n")
    text += ("utilization:\n  datacenter: {half: 0.12, tf32: 0.12, fp32: 0.5, source: \"first version\"}\n")
    p = tmp_path / "old-hf.yaml"
    p.write_text(text)
    spec = load_spec_file("stacks", p)
    assert spec.id == "old-hf" and spec.utilization["datacenter"].half == 0.12


def _with_sustained(tmp_path, block: str, source: bool = True):
    import re

    # the built-in card's own measured rate and its source give way to the block under test
    text = re.sub(r"sustained_gemm_tflops:.*\n(  .*\n)*sustained_gemm_origin: .*\n", "", GPU)
    text = re.sub(r"  sustained_gemm_tflops: .*\n", "", text)
    text = text.replace("board_power_w: 450\n", block + "board_power_w: 450\n", 1)
    if source:
        text = text.replace("sources:\n", "sources:\n  sustained_gemm_tflops: 'a burn test, for the test'\n", 1)
    (tmp_path / "x.yaml").write_text(text)
    return load_spec_file("gpus", tmp_path / "x.yaml")


@pytest.mark.parametrize("block,key,needle", [
    ("sustained_gemm_tflops:\n  bf16: 300\n", "sustained_gemm_tflops.bf16", "needs 1.15x peak_tflops.bf16 (165.2)"),
    ("sustained_gemm_tflops:\n  bf16: 160e12\n", "sustained_gemm_tflops.bf16", "did you mean FLOP/s?"),
])
def test_a_sustained_gemm_rate_is_checked_against_its_peak(tmp_path, block, key, needle):
    with pytest.raises(SpecError) as e:
        _with_sustained(tmp_path, block)
    assert e.value.key == key and e.value.line and needle in e.value.message


def test_a_sustained_gemm_rate_is_the_step_models_rate(tmp_path):
    """A measured sustained rate (gpu-fryer-style burns) replaces peak x ceiling; like every value, it needs its
    source."""
    from gpt2budget.core.steptime import gemm_rate

    spec = _with_sustained(tmp_path, "sustained_gemm_tflops:\n  bf16: 150\n")
    assert gemm_rate(spec, "amp-bf16", None) == 150e12
    # no tf32 figure: GeForce's ceiling, 1.0, at the clock the bf16 figure shows (150 of 165.2 x 0.98, the rounding)
    assert gemm_rate(spec, "tf32", None) == pytest.approx(spec.peak_flops("tf32") * 150 / (165.2 * 0.98))
    with pytest.raises(SpecError) as e:
        _with_sustained(tmp_path, "sustained_gemm_tflops:\n  bf16: 150\n", source=False)
    assert "sources.sustained_gemm_tflops" in e.value.message

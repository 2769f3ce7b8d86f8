import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpt2budget.core.scaling import optimal_for_compute, optimal_tokens, predicted_loss
from gpt2budget.specs.catalog import load_specs

GIB = 2**30


def test_advisor_finds_a_plan_on_the_4070ti(cli):
    doc = cli("check", "--gpu", "4070ti", "--model", "gpt2-xl", "--format", "json").json()
    assert doc["memory"]["fits"] is False
    same_card = [a for a in doc["advice"] if "--gpus" not in a["flags"] and a["model"] == "gpt2-xl"]
    assert same_card and all(a["fits"] for a in same_card)
    assert any("--offload optimizer" in a["flags"] for a in same_card)


def test_every_advice_applied_fits(cli):
    doc = cli("check", "--gpu", "4070ti", "--model", "gpt2-xl", "--format", "json").json()
    for a in doc["advice"]:
        args = ["check", "--gpu", "4070ti", "--model", "gpt2-xl", "--format", "json", "--no-advice"] + a["flags"].split()
        if "--micro-batch" not in a["flags"]:
            args += ["--micro-batch", "1"]
        r = cli(*args)
        assert r.code == 0, r.err
        assert r.json()["memory"]["fits"], a["flags"]


def test_llmc_two_4090s_matches_published_peak(cli):
    base = ["check", "--gpu", "4090", "--model", "gpt2-xl", "--stack", "llmc", "--checkpointing", "selective",
            "--micro-batch", "4", "--format", "json"]
    two = cli(*base, "--gpus", "2", "--zero", "1").json()["memory"]
    assert two["per_gpu"] and two["fits"]
    assert two["required_bytes"] / GIB == pytest.approx(23.5, rel=0.10)  # llm.c reported ~23.5 GiB per card
    one = cli(*base, "--gpus", "1", "--zero", "0").json()["memory"]
    assert one["fits"] is False


def test_fsdp_names_are_zero_stages(cli):
    a = cli("check", "--gpu", "a100", "--model", "gpt2-xl", "--gpus", "4", "--fsdp", "FULL_SHARD", "--format", "json").json()
    b = cli("check", "--gpu", "a100", "--model", "gpt2-xl", "--gpus", "4", "--zero", "3", "--format", "json").json()
    assert a["memory"]["allocator_peak_bytes"] == b["memory"]["allocator_peak_bytes"]


def test_offload_costs_time_and_needs_host_memory(cli):
    base = ["check", "--gpu", "4070ti", "--model", "gpt2-xl", "--format", "json", "--no-advice"]
    plain = cli(*base).json()
    off = cli(*base, "--offload", "optimizer").json()
    assert off["compute"]["offload_seconds_per_token"] > 0
    assert off["requirements"]["original"]["wall_time_hours"] > plain["requirements"]["original"]["wall_time_hours"]
    small = cli(*base, "--offload", "optimizer", "--host-memory", "8").json()
    assert small["memory"]["host_fits"] is False and small["memory"]["fits"] is False


def test_the_hosts_cpu_adam_rate_is_an_option(cli):
    """#14.7: CPU Adam's rate belongs to the host: --host-adam-params-per-s replaces the GPU class's estimate
    (a GeForce card: a desktop's 0.25e9/s) in the offload term, exactly, and shows in the inputs, --explain and the
    pasteable command."""
    from gpt2budget.core.step_constants import DEFAULT_STEP_CONSTANTS
    base = ["check", "--gpu", "4070ti", "--model", "gpt2-xl", "--offload", "optimizer", "--format", "json"]
    default, fast = cli(*base).json(), cli(*base, "--host-adam-params-per-s", "1.4e9").json()
    n = default["model"]["trainable_params"]
    adam = default["throughput"]["breakdown"]["offload"] - fast["throughput"]["breakdown"]["offload"]
    assert adam == pytest.approx(n / DEFAULT_STEP_CONSTANTS.host_adam_params_per_s["consumer"] - n / 1.4e9, rel=1e-9)
    assert default["inputs"]["host_adam_params_per_s"] is None and fast["inputs"]["host_adam_params_per_s"] == 1.4e9
    assert fast["requirements"]["original"]["wall_time_hours"] < default["requirements"]["original"]["wall_time_hours"]
    words = " ".join(cli(*base[:-2], "--host-adam-params-per-s", "250M", "--explain").out.split())
    assert "CPU Adam rate 2.5e+08 parameters/s" in words and "CPU Adam: --host-adam-params-per-s" in words
    words = " ".join(cli(*base[:-2], "--explain").out.split())
    assert "CPU Adam rate 2.5e+08 parameters/s" in words and "CPU Adam: a consumer host's estimate" in words
    for bad, says in (("0", "must be positive"), ("fast", "cannot read 'fast'")):
        r = cli(*base, "--host-adam-params-per-s", bad)
        assert r.code == 2 and r.err.startswith(f"Error: --host-adam-params-per-s: {says}")
    from gpt2budget.api import configure, evaluate, load
    from gpt2budget.output.flags import check_command
    specs = load()
    r = evaluate(configure(specs, "4070ti", "gpt2-xl", offload="optimizer", host_adam_params_per_s="1.4e9"))
    assert check_command(r.inputs, 1024).endswith("--offload optimizer --host-adam-params-per-s 1.4e+09")


def test_sweep_rows_share_the_hosts_memory_and_cpu_adam_rate(cli):
    """sweep's offloaded rows depend on the host as check's do: --host-memory and --host-adam-params-per-s hold for
    every row, and a row equals check's answer with the same flags."""
    import csv
    import io

    host = ["--host-memory", "16", "--host-adam-params-per-s", "1e9"]
    out = cli("sweep", "--gpu", "4070ti", "--model", "gpt2-xl", "--offload", "none,optimizer", *host).out
    got = list(csv.DictReader(io.StringIO(out)))
    assert [r["inputs.host_memory_gib"] for r in got] == ["16.0", "16.0"]
    assert [r["inputs.host_adam_params_per_s"] for r in got] == ["1000000000.0"] * 2
    one = cli("check", "--gpu", "4070ti", "--model", "gpt2-xl", "--offload", "optimizer", *host, "--format",
              "json").json()
    assert float(got[1]["throughput.step_seconds"]) == one["throughput"]["step_seconds"]
    assert got[1]["memory.host_fits"] == str(one["memory"]["host_fits"])
    from gpt2budget.api import load, sweep
    lib = list(sweep(load(), gpu="4070ti", model="gpt2-xl", offload="optimizer", host_memory=16,
                     host_adam_params_per_s="1e9"))
    assert lib[0]["throughput.step_seconds"] == one["throughput"]["step_seconds"]
    bad = cli("sweep", "--gpu", "4070ti", "--model", "gpt2", "--host-adam-params-per-s", "lots")
    assert bad.code == 2 and bad.err.startswith("Error: --host-adam-params-per-s: cannot read 'lots'")


def test_sweep_refuses_an_empty_list_item(cli):
    """A doubled or trailing comma was dropped silently (`--micro-batch 1,,2` swept 1 and 2, `--micro-batch ,` the
    default): it is a usage error naming the option, in the CLI and the library alike; repeated options still add."""
    from gpt2budget.api import load, sweep
    from gpt2budget.errors import UsageError

    for items in ("1,,2", "1,2,", ",", ""):
        r = cli("sweep", "--gpu", "4070ti", "--model", "gpt2", "--micro-batch", items)
        assert r.code == 2 and r.out == ""
        assert r.err == f"Error: --micro-batch: expected a comma list of values, got {items!r} (an empty item)\n"
    r = cli("sweep", "--gpu", "4070ti,", "--model", "gpt2")
    assert r.code == 2 and r.err.startswith("Error: --gpu: ")
    repeated = cli("sweep", "--gpu", "4070ti", "--gpu", "4090", "--model", "gpt2", "--micro-batch", " 1, 2")
    assert len(repeated.out.splitlines()) == 5  # a header and 2 x 2 rows
    with pytest.raises(UsageError, match="--model: expected a comma list of values, got 'gpt2,,gpt2-xl'"):
        list(sweep(load(), gpu="4070ti", model="gpt2,,gpt2-xl"))
    with pytest.raises(UsageError, match="--seq: .* got ''"):
        list(sweep(load(), gpu="4070ti", model="gpt2", seq=[]))
    assert len(list(sweep(load(), gpu="4070ti", model=["gpt2"], micro_batch=[1, 2]))) == 2


def test_chinchilla_rules_against_the_paper():
    n, d = optimal_for_compute(6 * 70e9 * 1.4e12, "chinchilla-20")
    assert n == pytest.approx(70e9, rel=1e-6) and d == pytest.approx(1.4e12, rel=1e-6)
    n3, _ = optimal_for_compute(5.76e23, "hoffmann-2022")  # Gopher's budget: approach 3 says ~40B, not 280B
    assert 25e9 < n3 < 50e9
    ne, de = optimal_for_compute(5.76e23, "epoch-2024")
    assert 15 < de / ne < 30  # Epoch's re-fit lands near Chinchilla's ~20 tokens per parameter
    for rule in ("hoffmann-2022", "epoch-2024"):
        n = 1.5e9
        d = optimal_tokens(n, rule)
        assert optimal_for_compute(6 * n * d, rule)[0] == pytest.approx(n, rel=1e-9)
    assert predicted_loss(70e9, 1.4e12, "hoffmann-2022") == pytest.approx(1.69 + 406.4 / 70e9**0.34 + 410.7 / 1.4e12**0.28)


PUBLISHED = [
    # (gpu, gpus, model, extra flags, micro-batch, batch tokens, tokens, hours, source). llm.c: its scripts'
    # step times (karpathy/llm.c scripts/run_gpt2_*.sh at a0d5dbb, 1558M at fd564f7 and c6efd90, -r 0 -z 1) x
    # steps; nanoGPT: its README's
    # "about 4 days" (d2705bd9), a run of the code before flash attention, fused AdamW and the padded vocabulary
    ("a100", 8, "gpt2", ["--stack", "llmc", "--checkpointing", "none"], 64, 524288, 18865 * 524288, 18865 * 0.300,
     "llm.c scripts/run_gpt2_124M.sh (discussion #481)"),
    ("a100", 8, "gpt2-medium", ["--stack", "llmc", "--checkpointing", "none"], 64, 524288, 60000 * 524288,
     60000 * 0.820, "llm.c scripts/run_gpt2_350M.sh"),
    ("a100", 8, "gpt2-large", ["--stack", "llmc", "--checkpointing", "none"], 32, 524288, 286102 * 524288,
     286102 * 1.7, "llm.c scripts/run_gpt2_774M.sh"),
    ("a100", 8, "gpt2-xl", ["--stack", "llmc", "--checkpointing", "none"], 16, 1048576, 100000 * 1048576,
     100000 * 7.0, "llm.c scripts/run_gpt2_1558M.sh at fd564f7: ~7 s/iter on 8x A100 80GB"),
    ("h100", 8, "gpt2-xl", ["--stack", "llmc", "--checkpointing", "none"], 16, 1048576, 32000 * 1048576,
     32000 * 2.80, "llm.c scripts/run_gpt2_1558M.sh (discussion #677)"),
    ("4090", 1, "gpt2", ["--stack", "nanogpt"], 12, 491520, 10**9, 10**9 / (0.29 * 312e12 / 855_383_040),
     "nanoGPT issue #182: a user's '29% MFU' (nanoGPT's estimate against 312 TFLOP/s) on one RTX 4090"),
    ("a100-40gb", 8, "gpt2", ["--stack", "nanogpt", "--attention", "eager", "--optimizer", "adamw"], 12, 491520,
     600000 * 491520, 96 * 3600.0, "karpathy/nanoGPT README"),
]


@pytest.mark.parametrize("gpu,gpus,model,extra,mb,batch,tokens,seconds,source", PUBLISHED)
def test_published_runs_validation(cli, gpu, gpus, model, extra, mb, batch, tokens, seconds, source):
    """Validation: no step-time constant was fitted to these runs. The step-time model predicts llm.c's runs
    in 0.83-0.90x of their published time (faster than they ran: llm.c's memory-bound kernels reach less of the
    bandwidth than the model's curve), a user's RTX 4090 nanoGPT report in 0.83x and the nanoGPT README run in
    0.97x (benchmarks/time_accuracy.py); this pins that the gap does not grow, and the README states it."""
    doc = cli("check", "--gpu", gpu, "--gpus", str(gpus), "--model", model, *extra, "--tokens", str(tokens),
              "--micro-batch", str(mb), "--batch-tokens", str(batch), "--format", "json", "--no-advice").json()
    ratio = doc["requirements"]["custom"]["wall_time_hours"] * 3600 / seconds
    assert 0.78 < ratio < 1.1, source


def test_finetune_lora_fits_where_full_does_not(cli):
    base = ["check", "--gpu", "4070ti", "--model", "gpt2-xl", "--tokens", "100M", "--format", "json"]
    lora = cli(*base, "--finetune", "lora").json()
    full = cli(*base, "--finetune", "full").json()
    assert lora["memory"]["fits"] is True and full["memory"]["fits"] is False
    assert full["advice"]
    assert lora["requirements"]["finetune"]["flops"] < full["requirements"]["finetune"]["flops"]
    assert lora["requirements"]["finetune"]["wall_time_hours"] < 24 * 30


def test_qlora_weights_about_a_quarter_of_bf16():
    from gpt2budget.core.memory import param_bytes
    from gpt2budget.core.shape import Shape
    from gpt2budget.options import RunOptions
    from gpt2budget.specs.catalog import load_specs

    sp = load_specs()
    m, s = sp.models.get("gpt2-xl", "m"), sp.stacks.get("hf", "s")
    shape = Shape.of(m, 1024)
    lora = param_bytes(shape, s, RunOptions(finetune="lora"))
    qlora = param_bytes(shape, s, RunOptions(finetune="qlora"))
    adapters = 4 * lora.trainable
    matmul = 12 * 1600**2 * 48  # the quantized weights
    saved = (lora.weights - adapters) - (qlora.weights - adapters)
    quarter = 1 - saved / (matmul * 2)  # QLoRA's share of bf16's bytes for the quantized matrices
    assert quarter == pytest.approx(0.516 / 2, rel=0.1)  # NF4 ~0.516 B vs bf16's 2 B: about a quarter


def test_plan_recommends_and_explains(cli):
    r = cli("plan", "--gpu", "4070ti", "--duration", "30d", "--format", "json")
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["best"]["fits"] and doc["best"]["wall_time_hours"] <= 30 * 24 * 1.0001
    assert "lowest predicted loss" in doc["reason"]
    assert doc["compute_optimal"]["n_params"] > 0
    table = cli("plan", "--gpu", "4070ti", "--duration", "30d")
    assert "Recommended:" in table.out and "Why:" in table.out


def test_cost_block(cli):
    doc = cli("check", "--gpu", "h100", "--model", "gpt2", "--format", "json", "--price-per-kwh", "0.5").json()
    c = doc["cost"]
    assert c["energy_kwh"] == pytest.approx(700 * c["gpu_hours"] * 0.8 * 1.1 / 1000)
    assert c["electricity_usd"] == pytest.approx(c["energy_kwh"] * 0.5)
    assert c["rent_usd"] == pytest.approx(3.5 * c["gpu_hours"])


def test_formats_json_and_yaml_are_the_same_document(cli):
    import yaml

    a = cli("check", "--gpu", "4090", "--model", "gpt2", "--format", "json").json()
    b = yaml.safe_load(cli("check", "--gpu", "4090", "--model", "gpt2", "--format", "yaml").out)
    assert json.loads(json.dumps(b)) == a


def test_check_json_validates_against_schema(cli):
    import jsonschema

    schema = cli("schema", "check").json()
    for args in (["--gpu", "4070ti", "--model", "gpt2-xl"], ["--gpu", "h100", "--model", "gpt2", "--tokens", "1B"],
                 ["--gpu", "4070ti", "--model", "gpt2-xl", "--finetune", "lora", "--tokens", "100M"],
                 ["--gpu", "4090", "--model", "gpt2", "--micro-batch", "4", "--gpus", "2", "--nodes", "2"]):
        doc = cli("check", *args, "--format", "json").json()
        jsonschema.validate(doc, schema)
    # the schema is strict: a key it does not know, or a missing one, fails
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**doc, "extra": 1}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({k: v for k, v in doc.items() if k != "memory"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**doc, "verdict": {**doc["verdict"], "summary": 3}}, schema)
    schema = json.loads(cli("schema", "gpu").out)
    assert "peak_tflops" in schema["properties"]


def test_user_gpu_appears_everywhere(cli, tmp_path):
    tpl = cli("gpus", "--template", "rtx-4090").out
    (tmp_path / "gpus").mkdir()
    (tmp_path / "gpus" / "my-card.yaml").write_text(tpl.replace("my-rtx-4090", "my-card"))
    d = str(tmp_path)
    assert "my-card" in cli("gpus", "--config-dir", d, "--show-source", "--format", "csv").out
    assert cli("check", "--gpu", "my-card", "--model", "gpt2", "--config-dir", d, "--format", "json").code == 0
    assert "my-card" in cli("compare", "--model", "gpt2", "--config-dir", d, "--format", "csv").out
    assert "my-card" in cli("sweep", "--gpu", "my-card", "--model", "gpt2", "--config-dir", d).out
    assert cli("validate", str(tmp_path / "gpus" / "my-card.yaml")).code == 0


def test_validate_reports_file_line_key(cli, tmp_path):
    p = tmp_path / "gpus" / "bad.yaml"
    p.parent.mkdir()
    p.write_text(cli("gpus", "--template", "4090").out.replace("memory_gib: 24", "memory_gib: -1"))
    r = cli("validate", str(p))
    assert r.code == 3
    assert r.out.startswith(f"{p}:") and ": memory_gib: " in r.out


def test_compare_and_sweep(cli):
    r = cli("compare", "--model", "gpt2-xl", "--format", "csv")
    assert r.code == 0 and len(r.out.splitlines()) == 1 + len(load_specs().gpus)  # a header, then one row per GPU
    r = cli("compare", "--by", "model", "--gpu", "4070ti")
    assert r.code == 0 and "Time to train" in r.out
    r = cli("sweep", "--gpu", "4070ti,4090", "--model", "all", "--micro-batch", "1,2,4,8", "--precision", "amp-bf16,bf16")
    assert r.code == 0 and len(r.out.splitlines()) == 1 + 2 * len(load_specs().models) * 4 * 2
    r = cli("sweep", "--gpu", "4090", "--model", "gpt2", "--format", "jsonl")
    assert json.loads(r.out.splitlines()[0])["inputs.gpu"] == "rtx-4090"


def test_validate_reports_every_problem_unknown_keys_first_missing_keys_last(cli, tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("id: bad-card\nname: Bad\nmemory_gib: .nan\npeak_tflopz: {fp32: 1}\n")
    r = cli("validate", str(p))
    assert r.code == 3
    lines = r.out.splitlines()
    assert lines[0] == f"{p}:4: peak_tflopz: unknown key (did you mean peak_tflops?)"
    assert lines[1] == f"{p}:3: memory_gib: Input should be a finite number (got nan)"
    assert f"{p}:1: vendor: required key is missing" in lines[2:]
    assert f"{p}:1: peak_tflops: required key is missing (is peak_tflopz on line 4 a typo?)" in lines[2:]
    assert len(lines) == 9  # the typo, the NaN, 7 missing keys


@pytest.mark.slow  # a large sweep against check, row by row
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_sweep_fast_path_matches_the_reference_rows(specs, fmt):
    """sweep encodes rows from cached groups; every byte must equal check's JSON flattened and written plainly."""
    import csv
    import io

    from gpt2budget.output.report import _clean
    from gpt2budget.output.sweep import columns, grid, rows, run_sweep

    axes = {"gpu": ["4070ti", "t4", "h100"], "model": ["gpt2", "gpt2-xl"], "stack": ["hf", "llmc"],
            "precision": ["default", "bf16", "fp32"], "optimizer": ["default", "sgd"],
            "checkpointing": ["none", "full"], "micro_batch": ["1", "3", "64"], "seq": ["default", "256"],
            "gpus": ["1", "4"], "zero": ["0", "3"], "attention": ["default", "eager"]}
    configs = grid(specs, axes)
    fast = io.StringIO()
    assert run_sweep(specs, configs, 30 * 86400.0, fmt, fast) == len(configs)
    ref = io.StringIO()
    if fmt == "csv":
        w = csv.DictWriter(ref, fieldnames=columns(specs), extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for row in rows(specs, configs, 30 * 86400.0):
            w.writerow(row)
    else:
        for row in rows(specs, configs, 30 * 86400.0):
            ref.write(json.dumps(_clean(row)) + "\n")
    got, want = fast.getvalue().splitlines(), ref.getvalue().splitlines()
    assert len(got) == len(want) == len(configs) + (fmt == "csv")
    assert any("tensor path" in line for line in want)  # refused rows are covered too
    for a, b in zip(got, want, strict=True):
        assert a == b


_FIELDS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(alphabet=st.sampled_from('a ,"\n;x1.')))


@settings(max_examples=300, deadline=None)
@given(st.lists(_FIELDS, min_size=1, max_size=8).filter(lambda r: r != [""] and r != [None]))
def test_sweep_csv_line_writes_what_the_csv_module_writes(row):
    """The sweep's own CSV encoder (csv_line) against csv.writer: quoting, None, bools, ints, every float, and a
    text table that must not confuse 0.0 with -0.0 or 1 with 1.0 or True."""
    import csv
    import io

    from gpt2budget.output.sweep import csv_line

    ref = io.StringIO()
    csv.writer(ref, lineterminator="\n").writerow(row)
    assert csv_line(row) == ref.getvalue()
    assert csv_line([0.0, -0.0, 1.0, 1, True]) == "0.0,-0.0,1.0,1,True\n"
    # a carriage return is quoted too (csv.writer quotes only the line terminator's characters), so readers
    # that split lines on it still read one row
    assert csv_line(["a\rb", "c"]) == '"a\rb",c\n'
    assert next(csv.reader(io.StringIO(csv_line(["a\rb", 'q"', None])), strict=True)) == ["a\rb", 'q"', ""]


def test_sweep_csv_float_table_is_bounded(monkeypatch):
    import gpt2budget.output.sweep as sw

    monkeypatch.setattr(sw, "FLOAT_TEXT_MAX", 64)
    for i in range(1, 1000):
        assert sw.csv_line([i / 7.0]) == repr(i / 7.0) + "\n"
        assert len(sw._float_text) <= 64


def test_sweep_in_worker_processes_writes_the_same_rows_in_order(specs, monkeypatch):
    import io

    import gpt2budget.output.sweep as sw

    axes = {"gpu": ["4070ti", "t4"], "model": ["gpt2", "gpt2-xl"], "stack": ["hf"], "precision": ["default", "bf16"],
            "optimizer": ["default"], "checkpointing": ["none", "full"], "micro_batch": ["1", "2", "8"],
            "seq": ["default"], "gpus": ["1", "2"], "zero": ["0"], "attention": ["default"]}
    configs = sw.grid(specs, axes)
    monkeypatch.setattr(sw, "CHUNK_ROWS", 7)
    serial, parallel = io.StringIO(), io.StringIO()
    sw.run_sweep(specs, configs, 86400.0, "csv", serial, jobs=1)
    sw.run_sweep(specs, configs, 86400.0, "csv", parallel, jobs=2)
    assert parallel.getvalue() == serial.getvalue()
    assert len(serial.getvalue().splitlines()) == len(configs) + 1
    assert sw.jobs_for(3, 10 * sw.CHUNK_ROWS) == 3 and sw.jobs_for(3, 10) == 2 and sw.jobs_for(0, 10) == 1  # capped by chunks


def test_sweep_varies_offload_and_fine_tuning_like_check(specs, cli):
    """#16.13: sweep expresses what check and the advisor suggest; a row equals check's answer for that run."""
    import csv
    import io

    from gpt2budget.output.sweep import Fixed, columns, grid, rows, run_sweep

    axes = {"gpu": ["4070ti"], "model": ["gpt2-xl"], "stack": ["hf"], "precision": ["default"],
            "optimizer": ["default"], "checkpointing": ["none"], "micro_batch": ["1"], "seq": ["default"],
            "gpus": ["1"], "zero": ["0"], "attention": ["default"], "offload": ["none", "optimizer"],
            "finetune": ["none", "lora"]}
    configs = grid(specs, axes)
    out = io.StringIO()
    run_sweep(specs, configs, 365 * 86400.0, "csv", out, fixed=Fixed(tokens=1e8))
    got = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(r["inputs.offload"], r["inputs.finetune"]) for r in got] == [
        ("none", "none"), ("none", "lora"), ("optimizer", "none"), ("optimizer", "lora")]
    header = columns(specs, tokens=True, finetune=True)
    assert list(got[0]) == header
    ref = list(rows(specs, configs, 365 * 86400.0, Fixed(tokens=1e8)))
    for row, want in zip(got, ref, strict=True):
        assert row == {k: "" if want.get(k) is None else str(want[k]) for k in header}
    lora = cli("check", "--gpu", "4070ti", "--model", "gpt2-xl", "--offload", "optimizer", "--finetune", "lora",
               "--tokens", "100M", "--format", "json").json()
    assert float(got[3]["requirements.finetune.wall_time_hours"]) == lora["requirements"]["finetune"]["wall_time_hours"]
    assert cli("sweep", "--gpu", "4090", "--model", "gpt2", "--offload", "disk").code == 2

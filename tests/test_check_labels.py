"""What `check` says beside its numbers: hypothetical costs, fine-tuning rows, the weights row, ignored flags, a
tight fit (issue 16: each test fails on the code before its fix)."""


def test_the_cost_of_a_run_that_cannot_run_is_labelled(cli):
    out = cli("check", "--gpu", "4070ti", "--model", "gpt2-xl", "--no-advice").out
    assert "Cost of the original run (hypothetical: the run does not fit in memory)" in out
    assert "hypothetical" not in cli("check", "--gpu", "4070ti", "--model", "gpt2", "--no-advice").out


def test_fine_tuning_shows_no_from_scratch_loss_and_full_cost_recipes(cli):
    base = ["check", "--gpu", "h100", "--model", "gpt2-xl", "--micro-batch", "1", "--format", "json", "--no-advice"]
    lora = cli(*base, "--finetune", "lora", "--tokens", "100M").json()
    scratch = cli(*base).json()
    assert lora["requirements"]["finetune"]["predicted_loss"] is None
    # the from-scratch rows are the from-scratch run's, not recomputed with LoRA's cheaper FLOPs and step
    for row in ("original", "compute_optimal"):
        assert lora["requirements"][row]["flops"] == scratch["requirements"][row]["flops"]
        assert lora["requirements"][row]["wall_time_hours"] == scratch["requirements"][row]["wall_time_hours"]
    table = cli(*base[:-3], "--finetune", "lora", "--tokens", "100M", "--no-advice").out
    assert "FLOPs/token 4·N + 6·N_adapter (frozen base)" in table and "FLOPs/token 6·N\n" not in table


def test_flags_that_would_be_ignored_are_reported(cli, tmp_path):
    base = ["check", "--gpu", "4090", "--model", "gpt2", "--no-advice"]
    r = cli(*base, "--lora-rank", "4", "--format", "json")
    assert r.code == 0 and "Warning: --lora-rank has no effect without --finetune lora or qlora" in r.err
    assert "Warning" not in cli(*base, "--finetune", "lora", "--tokens", "1M", "--lora-rank", "4", "--format", "json").err
    r = cli(*base, "--explain", "--format", "json")
    assert r.code == 0 and "Warning: --explain" in r.err
    r = cli(*base, "--svg", str(tmp_path / "x.svg"), "--format", "json")
    assert r.code == 2 and "--svg" in r.err and not (tmp_path / "x.svg").exists()
    r = cli(*base, "--fsdp", "FULL_SHARD", "--zero", "1")
    assert r.code == 2 and "--fsdp" in r.err and "conflicts with --zero 1" in r.err
    out = tmp_path / "out.txt"
    r = cli(*base, "--output", str(out))
    assert r.code == 0 and r.out == "" and "OK: gpt2 on 1x" in out.read_text()


def test_the_weights_row_says_what_it_holds(cli):
    base = ["check", "--gpu", "4090", "--model", "gpt2-xl", "--no-advice"]
    cases = {(): "parameters x 4 B (fp32)",
             ("--offload", "optimizer"): "parameters x 2 B (16-bit; the fp32 master copy lives in host memory)",
             ("--finetune", "lora", "--tokens", "1M"): "frozen base x 2 B (bf16) + adapters x 4 B (fp32)",
             ("--finetune", "qlora", "--tokens", "1M"): "frozen matmul weights x 4.127 bits",
             ("--gpus", "4", "--zero", "3"): "sharded over 4 GPUs (ZeRO-3)",
             ("--offload", "params"): "the gathered current and prefetched layer, 16-bit"}
    for extra, words in cases.items():
        row = next(line for line in cli(*base, *extra).out.splitlines() if "weights " in line)
        assert words in row, (extra, row)


def test_a_fit_with_under_1_gib_to_spare_says_so(cli):
    tight = cli("check", "--gpu", "4090", "--gpus", "2", "--model", "gpt2-xl", "--stack", "llmc", "--zero", "1",
                "--micro-batch", "4", "--no-advice").out.splitlines()[-1]
    assert "MiB to spare" in tight and "--reserve-gib" in tight
    roomy = cli("check", "--gpu", "h100", "--model", "gpt2", "--micro-batch", "1", "--no-advice").out.splitlines()[-1]
    assert "to spare" not in roomy

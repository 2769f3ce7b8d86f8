"""The step-time model (gpt2budget.core.steptime): its terms, the physics each pins, and its accuracy.

Accuracy tests are labelled: `calibration` checks run on the H100 steps the calibrated constants were fitted to;
`validation` checks run on the H200 steps, which no constant was fitted to (another GPU, other options).
"""

import json
import re
import statistics
from pathlib import Path

import pytest

from gpt2budget.core.calibration import Calibration
from gpt2budget.core.check import CheckInputs, evaluate
from gpt2budget.core.shape import Shape, n_params
from gpt2budget.core.steptime import alignment, bandwidth, dim_speed, gemm_rate, gemm_s, padded_dim, step_time
from gpt2budget.options import RunOptions

DATA = Path(__file__).parent / "data"


def st(specs, gpu="h100-sxm", model="gpt2", stack="hf", batch_tokens=None, **opts):
    o = RunOptions(**opts)
    m = specs.models.get(model, "--model")
    s = specs.stacks.get(stack, "--stack")
    shape = Shape.of(m, o.seq, s.vocab_multiple)
    bt = batch_tokens if batch_tokens is not None else o.micro_batch * o.seq * o.gpus
    return step_time(shape, float(n_params(Shape.of(m, m.n_ctx))), specs.gpus.get(gpu, "--gpu"), s, o,
                     batch_tokens=bt)


def test_terms_sum_to_the_step_and_every_time_follows_from_it(cli):
    """Not the step model's own sum (the step is that sum by construction): the document a user reads, where
    the terms, the step, tokens/s and every wall time must agree with each other."""
    for extra in ([], ["--micro-batch", "16", "--checkpointing", "full"], ["--gpus", "4", "--zero", "3"],
                  ["--offload", "optimizer"], ["--precision", "fp32", "--attention", "eager"]):
        doc = cli("check", "--gpu", "4090", "--model", "gpt2", "--format", "json", "--no-advice", *extra).json()
        th = doc["throughput"]
        assert set(th["breakdown"]) == {"matmul", "attention", "memory_bound", "cpu_dispatch", "optimizer",
                                        "communication", "offload"}
        assert all(v >= 0 for v in th["breakdown"].values())
        assert sum(th["breakdown"].values()) == pytest.approx(th["step_seconds"], rel=1e-9)
        assert th["tokens_per_second"] == pytest.approx(th["tokens_per_step"] / th["step_seconds"], rel=1e-9)
        assert doc["compute"]["tokens_per_second"] == pytest.approx(th["tokens_per_second"], rel=1e-9)
        for req in doc["requirements"].values():
            assert req["wall_time_hours"] * 3600 == pytest.approx(req["tokens"] / th["tokens_per_second"], rel=1e-9)


def test_pcie_without_p2p_costs_more_communication_than_nvlink(specs):
    from dataclasses import replace
    h100 = specs.gpus.get("h100-sxm", "--gpu")
    src = {**h100.sources, "gpu_link_gb_per_s": "test"}
    nvlink = replace(h100, gpu_link="nvlink", gpu_link_gb_per_s=450.0, peer_to_peer=True, sources=src)
    pcie = replace(h100, gpu_link="none", gpu_link_gb_per_s=None, peer_to_peer=False)
    m, s = specs.models.get("gpt2-xl", "--model"), specs.stacks.get("hf", "--stack")
    o = RunOptions(gpus=8, micro_batch=4)
    shape = Shape.of(m, o.seq)
    a = step_time(shape, 1.5e9, nvlink, s, o, batch_tokens=524288)
    b = step_time(shape, 1.5e9, pcie, s, o, batch_tokens=524288)
    assert b.breakdown["communication"] > 5 * a.breakdown["communication"] > 0


def test_a_collective_after_the_backward_is_exposed_whole(specs):
    """llm.c reduce-scatters after the whole backward (train_gpt2.cu at a0d5dbb): none of it hides behind
    compute, where PyTorch DDP's bucketed all-reduce hides all but its last bucket. Same GPU, model, GPUs and
    gradient bytes (16-bit), so the exposed time differs by the overlap alone."""
    from dataclasses import replace
    llmc = specs.stacks.get("llmc", "--stack")
    assert llmc.step_time.grad_comm_overlap == 0.0
    ddp = replace(llmc, step_time=replace(llmc.step_time, grad_comm_overlap=0.8))
    m, gpu = specs.models.get("gpt2", "--model"), specs.gpus.get("a100-sxm-80gb", "--gpu")
    o = RunOptions(gpus=8, micro_batch=64, zero=1, precision="amp-bf16", optimizer="adamw-fused")
    shape = Shape.of(m, o.seq, llmc.vocab_multiple)
    n = float(n_params(Shape.of(m, m.n_ctx)))
    exposed = step_time(shape, n, gpu, llmc, o, batch_tokens=524288).breakdown["communication"]
    hidden = step_time(shape, n, gpu, ddp, o, batch_tokens=524288).breakdown["communication"]
    # ring: 2(g-1)/g of the bf16 gradients over NVLink at 80% of 300 GB/s, plus one collective's latency per
    # 25 MiB bucket
    bus = gpu.gpu_link_gb_per_s * 1e9 * 0.8
    buckets = -(-2 * n // (25 * 2**20))
    assert exposed == pytest.approx(15e-6 * buckets + 2 * 7 / 8 * 2 * n / bus, rel=1e-9)
    assert hidden == pytest.approx(0.2 * exposed, rel=1e-9)


def test_gradient_accumulation_amortizes_the_optimizer(specs):
    one = st(specs, micro_batch=8, batch_tokens=8 * 1024)
    many = st(specs, micro_batch=8, batch_tokens=64 * 8 * 1024)
    assert many.micro_steps == 64 and one.micro_steps == 1
    assert many.breakdown["optimizer"] == pytest.approx(one.breakdown["optimizer"])
    share = lambda t: t.breakdown["optimizer"] / t.step_seconds  # noqa: E731
    assert share(many) < share(one) / 20
    assert many.tokens_per_second > one.tokens_per_second


def test_gradient_accumulation_costs_what_the_stack_does(specs, cli):
    """Each micro-step after the first adds its gradient into the accumulated one: PyTorch's AccumulateGrad as a
    pass of its own (read, read, write: 12 B per parameter in fp32, 6 in pure bf16), llm.c inside its GEMMs (one
    extra read of the bf16 gradient)."""
    n = float(n_params(Shape.of(specs.models.get("gpt2", "--model"), 1024)))
    bw = bandwidth(specs.gpus.get("h100-sxm", "--gpu"), None)

    def extra(stack, precision):
        one = st(specs, stack=stack, precision=precision, micro_batch=8, batch_tokens=8 * 1024)
        two = st(specs, stack=stack, precision=precision, micro_batch=8, batch_tokens=2 * 8 * 1024)
        return two.breakdown["memory_bound"] - 2 * one.breakdown["memory_bound"]
    for stack, precision, nbytes in (("hf", "amp-bf16", 12), ("hf", "bf16", 6), ("llmc", "amp-bf16", 2)):
        assert extra(stack, precision) == pytest.approx((n * nbytes + 1.6e6) / bw), (stack, precision)
    out = " ".join(cli("check", "--gpu", "a100", "--model", "gpt2", "--stack", "llmc", "--micro-batch", "16",
                       "--explain").out.split())
    assert "with micro-steps 32," in out and "accumulation bytes per parameter 2 B" in out
    assert "gradient accumulation: llmc's grad_accumulation" in out


def test_checkpointing_adds_a_forward(specs):
    from dataclasses import replace
    plain = st(specs, micro_batch=32, model="gpt2-xl")
    ckpt = st(specs, micro_batch=32, model="gpt2-xl", checkpointing=True)
    # compute-bound: the layers' matmuls grow by one forward, less the block's last matmul (MLP c_proj), which
    # PyTorch's early-stopping checkpoint never re-runs. In FLOP units of 2·T·h² per layer, each GEMM slowed by its
    # k-step cost (1 + 64/k for reduction length k): forward QKV 3, proj 1, fc 4 (k = h) and c_proj 4 (k = 4h);
    # dgrad QKV 3 (k = 3h), proj 1 (h), fc 4 (4h), c_proj 4 (h); wgrad 12 (k = T tokens). Without the k-step cost
    # this is 6 + 2·8/12 = 22/3 units against 6, i.e. 11/9. The LM head is not recomputed. Each GEMM also computes
    # its output tiles whole (128 wide): h = 1,600 fills f1 = 1600/1664 of them, 3h f3 = 4800/4864, 4h and the
    # tokens fill theirs exactly.
    gpu, tokens, h, v = specs.gpus.get("h100-sxm", "--gpu"), 32 * 1024, 1600, 50257
    rate, bw = gemm_rate(gpu, "amp-bf16", None), bandwidth(gpu, None)
    head = sum(gemm_s(m, k, n, rate, bw, 2.0, alignment(v, "amp-bf16", tma=True)) for m, k, n in
               ((tokens, h, v), (tokens, v, h), (h, tokens, v)))

    def c(k):
        return 1 + 64 / k
    f1, f3 = 1600 / 1664, 4800 / 4864
    recompute = 3 * c(h) / f3 + c(h) / f1 + 4 * c(h)  # forward QKV (out 3h), proj (out h), fc (out 4h)
    fwd = recompute + 4 * c(4 * h) / f1  # c_proj (out h)
    bwd = (3 * c(3 * h) / f1 + c(h) / f1 + 4 * c(4 * h) / f1 + 4 * c(h)  # dgrad: out h, h, h, 4h
           + c(tokens) * (3 / (f1 * f3) + 1 / f1**2 + 4 / f1 + 4 / f1))  # wgrad: out h x 3h, h x h, h x 4h, 4h x h
    ratio = (fwd + bwd + recompute) / (fwd + bwd)
    assert ratio == pytest.approx(11 / 9, rel=0.01)
    assert (ckpt.breakdown["matmul"] - head) / (plain.breakdown["matmul"] - head) == pytest.approx(ratio, rel=1e-9)
    # a stack whose checkpoint re-runs the whole forward (reentrant checkpointing) pays a whole forward (~4/3)
    hf = specs.stacks.get("hf", "--stack")
    whole = replace(hf, step_time=replace(hf.step_time, checkpoint_early_stop=False))
    m = specs.models.get("gpt2-xl", "--model")
    o = RunOptions(micro_batch=32, checkpointing=True)
    full = step_time(Shape.of(m, o.seq), float(n_params(Shape.of(m, m.n_ctx))), gpu, whole, o, batch_tokens=32 * 1024)
    assert (full.breakdown["matmul"] - head) / (plain.breakdown["matmul"] - head) == \
        pytest.approx((2 * fwd + bwd) / (fwd + bwd), rel=1e-9)


def test_pytorch_checkpoint_skips_the_blocks_last_matmul_in_its_recompute():
    """The early stop the model relies on, seen where PyTorch and transformers are installed: a dispatch trace of
    one checkpointed backward of transformers' GPT2 re-runs 3 of each block's 4 addmm (not MLP c_proj)."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from torch.utils._python_dispatch import TorchDispatchMode

    class Count(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.addmm = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.addmm += func.overloadpacket.__name__ == "addmm"
            return func(*args, **(kwargs or {}))

    cfg = transformers.GPT2Config(n_layer=2, n_embd=64, n_head=4, n_positions=32, vocab_size=128,
                                  resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    counts = []
    for ckpt in (False, True):
        torch.manual_seed(0)
        model = transformers.GPT2LMHeadModel(cfg)
        if ckpt:  # renamed activation_checkpointing_enable in transformers 5.2x
            (getattr(model, "activation_checkpointing_enable", None) or model.gradient_checkpointing_enable)()
        model.train()
        x = torch.randint(0, 128, (2, 16))
        loss = model(x, labels=x).loss
        with Count() as c:
            loss.backward()
        counts.append(c.addmm)
    assert counts[1] - counts[0] == 3 * cfg.n_layer


def test_a_launch_bound_step_gets_faster_per_token_as_the_micro_batch_grows(specs):
    small = st(specs, micro_batch=1, batch_tokens=524288)
    assert small.bound == "cpu dispatch"
    larger = st(specs, micro_batch=4, batch_tokens=524288)
    assert larger.tokens_per_second > 2 * small.tokens_per_second


def test_tf32_is_never_slower_than_fp32_on_a_geforce_card(specs):
    for model in ("gpt2", "gpt2-xl"):
        for mb in (1, 8):
            tf32 = st(specs, gpu="4070ti", model=model, precision="tf32", micro_batch=mb, batch_tokens=524288)
            fp32 = st(specs, gpu="4070ti", model=model, precision="fp32", micro_batch=mb, batch_tokens=524288)
            bf16 = st(specs, gpu="4070ti", model=model, precision="amp-bf16", micro_batch=mb, batch_tokens=524288)
            assert tf32.step_seconds <= fp32.step_seconds
            assert bf16.step_seconds < fp32.step_seconds  # the bf16 tensor rate is twice the fp32 one


def test_cpu_offload_is_costed(specs):
    base = st(specs, gpu="4090", model="gpt2-xl", batch_tokens=524288)
    off = st(specs, gpu="4090", model="gpt2-xl", offload="optimizer", batch_tokens=524288)
    par = st(specs, gpu="4090", model="gpt2-xl", offload="params", batch_tokens=524288)
    assert off.breakdown["offload"] > 0 and off.breakdown["optimizer"] == 0
    # a desktop CPU Adam at 0.25e9 parameters/s: ~6 s per step for 1.5B parameters
    assert 4 < off.breakdown["offload"] < 12
    assert par.step_seconds > 2 * base.step_seconds  # weights streamed over PCIe for every pass


def test_calibration_replaces_the_spec_sheet_rates(specs):
    plain = st(specs, micro_batch=16)
    m, s = specs.models.get("gpt2", "--model"), specs.stacks.get("hf", "--stack")
    o = RunOptions(micro_batch=16)
    slow = Calibration(gpu="h100-sxm", gemm_tflops={"bf16": 200.0}, memory_bandwidth_gb_per_s=1000.0,
                       dispatch_us_per_op={"hf": 5.0})
    cal = step_time(Shape.of(m, 1024), 124439808.0, specs.gpus.get("h100-sxm", "--gpu"), s, o,
                    batch_tokens=16 * 1024, cal=slow)
    assert cal.breakdown["matmul"] > 2 * plain.breakdown["matmul"]
    assert cal.breakdown["memory_bound"] > 2 * plain.breakdown["memory_bound"]


def test_check_reports_throughput_and_utilization_override(specs):
    g, m, s = specs.gpus.get("4070ti", "--gpu"), specs.models.get("gpt2", "--model"), specs.stacks.get("hf", "--stack")
    r = evaluate(CheckInputs(g, m, s, RunOptions()))
    th, c = r.throughput, r.compute
    assert th.model == "step-time" and c.utilization_source == "step-time model"
    assert c.tokens_per_second == pytest.approx(th.tokens_per_second, rel=1e-9)
    assert r.requirements.original.wall_time_hours == pytest.approx(1e10 / th.tokens_per_second / 3600)
    assert 0 < th.mfu < 1
    forced = evaluate(CheckInputs(g, m, s, RunOptions(), utilization=0.5))
    assert forced.compute.utilization == 0.5
    assert forced.throughput.model.startswith("utilization override")
    assert forced.compute.tokens_per_second == pytest.approx(0.5 * 80.2e12 / (6 * 124439808))


def _points(name):
    rows = [json.loads(x) for x in (DATA / name).read_text().splitlines() if x.strip()]
    return [r for r in rows if r.get("status") == "ok" and r.get("step_s")]


def _benchmark():
    import importlib.util
    spec = importlib.util.spec_from_file_location("time_accuracy", Path(__file__).parents[1] / "benchmarks" / "time_accuracy.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _rel_errors(specs, name, gpu, use):
    """The errors on the steps of one file tagged `use` for step time (tests/data/README.md)."""
    return _benchmark().errors([p for p in _points(name) if p["use"]["step_time"] == use], gpu, specs)


def test_the_readme_accuracy_figures_are_the_benchmarks(specs):
    """docs/accuracy.md's block shows what benchmarks/time_accuracy.py prints now, for the shipped constants and
    the published runs (the held-out folds refit constants and take too long for the quick tier: the whole block is
    checked by tests/test_readme.py's slow test)."""
    mod = _benchmark()
    readme = (Path(__file__).parents[1] / "docs" / "accuracy.md").read_text(encoding="utf-8")
    lines = mod.shipped_lines(specs, _points("h100_gpt2_training_memory.jsonl"), _points("h200_gpt2_training.jsonl"))
    for line in lines + mod.published_lines(specs):
        assert line in readme, line


def test_calibration_h100_steps_within_the_fitted_error(specs):
    """Calibration: the hf stack's constants and the Hopper unaligned GEMM speed were fitted to these steps
    (benchmarks/time_accuracy.py)."""
    e = _rel_errors(specs, "h100_gpt2_training_memory.jsonl", "h100-sxm", "fit")
    assert len(e) == 65
    assert statistics.median(e) < 0.06 and max(e) < 0.45  # 5.0% and 41.6% (benchmarks/time_accuracy.py)


def test_validation_held_out_h200_steps(specs):
    """Validation: no constant was fitted to these H200 steps (other GPU, fused AdamW, seq 512, LoRA, compiled);
    the two compiled nanoGPT steps nanogpt's CPU cost per kernel was fitted on are tagged fit and left out."""
    e = _rel_errors(specs, "h200_gpt2_training.jsonl", "h200-sxm", "held-out")
    assert len(e) == 73
    assert statistics.median(e) < 0.20 and max(e) < 0.65  # 13.0% and 59.0%: see benchmarks/time_accuracy.py


def test_checkpointing_levels_per_stack(cli):
    """llm.c's -r 1 (its default) is selective: GELU recomputed, no extra forward; hf has full only."""
    base = ["check", "--gpu", "h100", "--model", "gpt2-xl", "--micro-batch", "8", "--format", "json", "--no-advice"]
    llmc_default = cli(*base, "--stack", "llmc").json()
    llmc_none = cli(*base, "--stack", "llmc", "--checkpointing", "none").json()
    assert llmc_default["inputs"]["checkpointing"] == "selective"
    assert llmc_default["compute"]["recompute_factor"] == 1.0
    assert llmc_default["throughput"]["breakdown"]["matmul"] == pytest.approx(llmc_none["throughput"]["breakdown"]["matmul"])
    assert llmc_default["memory"]["allocator_peak_bytes"] < llmc_none["memory"]["allocator_peak_bytes"]
    bad = cli(*base, "--stack", "llmc", "--checkpointing", "full")
    assert bad.code == 2 and "--checkpointing" in bad.err and "selective" in bad.err and "Traceback" not in bad.err
    hf_full = cli(*base, "--checkpointing", "full").json()
    assert hf_full["inputs"]["checkpointing"] == "full" and hf_full["compute"]["recompute_factor"] == pytest.approx(4 / 3)
    assert cli(*base, "--checkpointing", "selective").code == 2


def test_advice_pasted_back_gives_the_configuration_it_described(cli):
    """--gpus is per node: advice for a 2-node run names GPUs per node, so pasting it back keeps the total."""
    base = ["check", "--gpu", "4070ti", "--model", "gpt2-xl", "--gpus", "1", "--nodes", "2", "--format", "json"]
    doc = cli(*base).json()
    assert doc["advice"]
    for a in doc["advice"]:
        flags = a["flags"].split()
        pasted = base[:-2] + flags + ["--format", "json", "--no-advice"]
        # later flags win, as in a shell: the advice's --gpus/--nodes replace the base ones
        again = cli(*pasted).json()
        assert again["memory"]["fits"], a["flags"]
        if "gpus" in a["changes"]:
            assert again["inputs"]["gpus"] == a["changes"]["gpus"], a["flags"]


def test_a_launch_bound_run_is_advised_a_larger_micro_batch(cli):
    doc = cli("check", "--gpu", "h100", "--model", "gpt2", "--micro-batch", "1", "--format", "json").json()
    assert doc["throughput"]["bound"] == "cpu dispatch"
    (advice,) = doc["advice"]
    # the minimal change: the largest micro-batch that fits, nothing else changed (issue 31 item 5)
    assert advice["flags"] == f"--micro-batch {doc['memory']['max_micro_batch']}" == "--micro-batch 51"
    assert advice["time_factor"] < 0.5
    again = cli("check", "--gpu", "h100", "--model", "gpt2", *advice["flags"].split(), "--format", "json").json()
    assert again["requirements"]["original"]["wall_time_hours"] == pytest.approx(advice["wall_time_hours"])
    assert "What would make it faster" in cli("check", "--gpu", "h100", "--model", "gpt2", "--micro-batch", "1").out


def test_a_short_reduction_pays_a_k_step_per_tile():
    """Each output tile pays about one 128-byte k-step (64 bf16 elements) of fixed cost, so GPT-2 small's QKV GEMM
    (k = 768) runs at 768/832 of the large-GEMM rate: 0.80 of an A100's peak at its 0.87 ceiling, as llm.c PR
    #378's Nsight Compute table measured (tensor pipes 79.8% busy); a long reduction barely notices."""
    from gpt2budget.core.step_constants import DEFAULT_STEP_CONSTANTS
    rate, bw, m, n = 270e12, 2.0e12, 24576.0, 2304.0
    short = gemm_s(m, 768, n, rate, bw, 2.0, 1.0)
    assert 2 * m * 768 * n / short == pytest.approx(rate * 768 / 832)
    measured = 0.798  # tensor pipes busy on the QKV GEMM (llm.c PR #378)
    assert abs(DEFAULT_STEP_CONSTANTS.ampere_datacenter_tensor_ceiling * 768 / 832 - measured) < 0.01
    long = gemm_s(m, 76800, n, rate, bw, 2.0, 1.0)
    assert 2 * m * 76800 * n / long > 0.999 * rate
    assert 2 * m * 768 * n / gemm_s(m, 768, n, rate, bw, 4.0, 1.0) == pytest.approx(rate * 768 / 800)  # 32 x 4 B


def test_an_output_dimension_off_the_tile_grid_computes_whole_tiles():
    """Tile quantization (NVIDIA's GEMM guide, section 3.1): the output is covered by 128-wide tiles, so GPT-2 XL's
    h = 1,600 (12.5 tiles) runs as 1,664; the other GPT-2 widths fill their tiles; a dimension under 128 is served
    by 64-wide tiles. The reduction dimension k is not tiled this way."""
    from gpt2budget.core.steptime import tile_fill
    assert [tile_fill(d) for d in (768, 1024, 1280, 6400, 64, 50304)] == [1.0] * 6
    assert tile_fill(1600) == 1600 / 1664 and tile_fill(80) == 80 / 128 and tile_fill(50257) == 50257 / 50304
    rate, bw = 270e12, 2.0e12
    full = gemm_s(16384, 1600, 6400, rate, bw, 2.0, 1.0)  # out 16,384 x 6,400: whole tiles; k = 1,600 untiled
    assert 2 * 16384 * 1600 * 6400 / full == pytest.approx(rate * 1600 / 1664)  # the k-step only
    quantized = gemm_s(16384, 6400, 1600, rate, bw, 2.0, 1.0)  # out 16,384 x 1,600
    assert 2 * 16384 * 6400 * 1600 / quantized == pytest.approx(rate * 6400 / 6464 * 1600 / 1664)


def test_a_calibrated_gemm_rate_is_read_as_the_large_gemm_rate():
    """`measure --calibrate` times a GEMM at GPT-2 XL's c_fc shape (k = 1,600), whose rate already carries that
    shape's k-step; the model adds each GEMM's own k-step, so it reads the calibration back without it."""
    from gpt2budget.core.step_constants import DEFAULT_STEP_CONSTANTS
    from gpt2budget.core.steptime import gemm_rate_of
    CALIBRATION_GEMM_SHAPE = DEFAULT_STEP_CONSTANTS.calibration_gemm_shape
    measure_py = Path(__file__).resolve().parents[1] / "src" / "gpt2budget" / "measure.py"
    assert f"m, k, n = {CALIBRATION_GEMM_SHAPE} if" in measure_py.read_text()
    cal = Calibration(gpu="h100-sxm", gemm_tflops={"bf16": 700.0})
    rate, origin = gemm_rate_of(None, "amp-bf16", cal)  # type: ignore[arg-type]
    assert origin == "calibration" and rate == pytest.approx(700e12 * (1600 + 64) / 1600)
    m, k, n = CALIBRATION_GEMM_SHAPE
    assert 2 * m * k * n / gemm_s(m, k, n, rate, 3e12, 2.0, 1.0) == pytest.approx(700e12)


def test_alignment_tiers():
    """Bekman: a dimension off the 128-byte tiles runs at 0.69; nanoGPT 77e7e04c: GPT-2's odd 50,257-token head,
    off 16-byte vectors, ran at 0.375 of its padded speed on an A100; on Hopper-class GPUs such a GEMM falls back
    to Ampere-style kernels (kestrel #143) and runs at the fitted 0.15. fp32 runs no tensor-core tiles; TF32 does,
    with 4-byte elements."""
    assert alignment(50304, "amp-bf16") == 1.0 and alignment(1600, "amp-bf16") == 1.0
    assert alignment(50264, "amp-bf16") == 0.69  # a multiple of 8 elements, not of 64
    assert alignment(50257, "amp-bf16") == 0.375
    assert alignment(50257, "amp-bf16", tma=True) == 0.15
    assert alignment(50257, "fp32") == 1.0 and alignment(50257, "fp32", tma=True) == 1.0
    assert alignment(50272, "tf32") == 1.0  # 32 tf32 elements make 128 bytes
    assert alignment(50260, "tf32") == 0.69 and alignment(50257, "tf32") == 0.375


def test_which_gpus_feed_their_gemms_through_tma(specs):
    """Hopper and datacenter Blackwell (GB100) GEMMs need 16-byte-aligned operands; Ampere, Ada, GeForce and
    workstation Blackwell (GB20x: mma.sync kernels) and AMD do not fall back the same way."""
    from gpt2budget.core.steptime import uses_tma_gemms
    tma = {g: uses_tma_gemms(specs.gpus.get(g, "--gpu")) for g in
           ("h100-sxm", "h200-sxm", "gh200", "b200", "a100-sxm-80gb", "rtx-4090", "rtx-5090",
            "rtx-pro-6000-blackwell", "mi300x")}
    assert {g for g, t in tma.items() if t} == {"h100-sxm", "h200-sxm", "gh200", "b200"}


def test_compiled_stacks_pad_matmul_dimensions_to_16_bytes(specs):
    """torch.compile's pad_mm (PyTorch 2.1+) zero-pads 50,257 to 50,264 in bf16 (50,260 in tf32), so the odd head
    of a compiled nanoGPT on an H100 runs at the 16-byte tier, while eager Hugging Face pays the unaligned rate."""
    assert padded_dim(50257, "amp-bf16", True) == 50264 and padded_dim(50257, "tf32", True) == 50260
    assert padded_dim(50257, "amp-bf16", False) == 50257
    h100 = specs.gpus.get("h100-sxm", "--gpu")
    nano, hf = specs.stacks.get("nanogpt", "--stack"), specs.stacks.get("hf", "--stack")
    assert nano.step_time.matmul_shape_padding and not hf.step_time.matmul_shape_padding
    rate = gemm_rate(h100, "amp-bf16", None)
    assert dim_speed(50257, h100, nano, "amp-bf16", rate, 0.0) == 0.69
    assert dim_speed(50257, h100, hf, "amp-bf16", rate, 0.0) == 0.15


def test_tf32_over_an_odd_dimension_is_never_slower_than_fp32(specs):
    """Under TF32 cuBLAS may still run a plain fp32 kernel, so an unaligned TF32 GEMM runs at no less than the fp32
    rate: on a 4070 Ti (equal TF32 and FP32 peaks) the head's speed floors at fp32's share of the TF32 rate; on an
    H100 the unaligned TF32 kernel (0.15 of 373 TFLOP/s) still beats fp32's 51."""
    hf = specs.stacks.get("hf", "--stack")
    for gpu_id in ("rtx-4070-ti", "h100-sxm"):
        gpu = specs.gpus.get(gpu_id, "--gpu")
        tf32, fp32 = gemm_rate(gpu, "tf32", None), gemm_rate(gpu, "fp32", None)
        speed = dim_speed(50257, gpu, hf, "tf32", tf32, fp32)
        assert tf32 * speed >= fp32 * (1 - 1e-12) and speed < 1.0
    gpu = specs.gpus.get("rtx-4070-ti", "--gpu")
    tf32, fp32 = gemm_rate(gpu, "tf32", None), gemm_rate(gpu, "fp32", None)
    assert dim_speed(50257, gpu, hf, "tf32", tf32, fp32) == pytest.approx(fp32 / tf32)
    h100 = specs.gpus.get("h100-sxm", "--gpu")
    tf32, fp32 = gemm_rate(h100, "tf32", None), gemm_rate(h100, "fp32", None)
    assert dim_speed(50257, h100, hf, "tf32", tf32, fp32) == 0.15
    assert dim_speed(50260, h100, hf, "tf32", tf32, fp32) == 0.69  # 16-byte aligned TF32


def test_explain_says_a_compiled_stack_pads_an_odd_vocabulary(specs):
    """A compiled stack run with GPT-2's unpadded vocabulary (as our measured nanoGPT steps were) is explained as
    padded by torch.compile, at the 16-byte tier: the matmul term's trace says so and explain prints it."""
    from dataclasses import replace

    from gpt2budget.output.explain import step_time_lines
    nano = specs.stacks.get("nanogpt", "--stack")
    ci = CheckInputs(specs.gpus.get("h100-sxm", "--gpu"), specs.models.get("gpt2", "--model"),
                     replace(nano, vocab_multiple=1), RunOptions(micro_batch=8))
    r = evaluate(ci)
    matmul = r.throughput.terms[0].trace
    assert matmul.value("vocabulary") == 50257 and matmul.value("vocabulary alignment speed") == 0.69
    assert "padded to 16 bytes by nanogpt (torch.compile's pad_mm)" in matmul.source
    text = "\n".join(step_time_lines(ci, r))
    assert "vocabulary alignment speed 0.69" in text and matmul.source in text


def test_padding_the_vocabulary_speeds_up_the_head(specs):
    """nanoGPT's 50,257 -> 50,304 padding on an A100 (Feb 2023, before torch.compile padded matmuls): the padded
    run is faster although it computes more logits; with pad_mm the odd vocabulary costs less, but still some."""
    from dataclasses import replace
    stack = specs.stacks.get("nanogpt", "--stack")
    assert stack.vocab_multiple == 64  # as nanoGPT's train.py pads
    old = replace(stack, step_time=replace(stack.step_time, matmul_shape_padding=False))
    m = specs.models.get("gpt2", "--model")
    o = RunOptions(micro_batch=12, optimizer="adamw-fused")
    gpu = specs.gpus.get("a100-sxm-40gb", "--gpu")
    n = float(n_params(Shape.of(m, m.n_ctx)))

    def seconds(s, multiple):
        return step_time(Shape.of(m, 1024, multiple), n, gpu, s, o, batch_tokens=12 * 1024).step_seconds
    padded = seconds(stack, 64)
    assert 1.15 < seconds(old, 1) / padded < 1.6
    assert 1.0 < seconds(stack, 1) / padded < seconds(old, 1) / padded


def test_eager_attention_traffic_is_the_stacks(specs):
    """Hugging Face's unfused eager attention chain moves more bytes per score element than compiled nanoGPT's
    fused one (28 and 40 bytes against 12 and 16 under bf16 autocast), so it takes longer on the same GPU."""
    hf = st(specs, micro_batch=8, attention="eager", gpu="a100-sxm-80gb")
    nano = st(specs, micro_batch=8, attention="eager", gpu="a100-sxm-80gb", stack="nanogpt")
    assert hf.breakdown["attention"] > 1.5 * nano.breakdown["attention"]
    prof = specs.stacks.get("hf", "--stack").step_time
    from gpt2budget.core.steptime import accesses_bytes
    assert accesses_bytes(prof.eager_attention_forward, "amp-bf16") == 28
    assert accesses_bytes(prof.eager_attention_backward, "amp-bf16") == 40


def test_bandwidth_bound_work_scales_with_bandwidth(specs):
    """An H200 (43% more bandwidth than an H100, the same SMs) runs a Hugging Face step's large memory-bound
    kernels faster in proportion (the fit on our H100 steps wants no extra issue time for eager kernels, and the
    held-out H200 GPU-bound steps agree); a stack profile may still add it (eager_bytes_per_fp32_flop), and then
    the H200 gains less than its bandwidth."""
    from dataclasses import replace
    h100 = st(specs, micro_batch=16, model="gpt2-xl", gpu="h100-sxm").breakdown["memory_bound"]
    h200 = st(specs, micro_batch=16, model="gpt2-xl", gpu="h200-sxm").breakdown["memory_bound"]
    assert h100 / h200 == pytest.approx(4.8 / 3.35, rel=0.03)
    hf = specs.stacks.get("hf", "--stack")
    capped = replace(hf, step_time=replace(hf.step_time, eager_bytes_per_fp32_flop=0.22))
    m = specs.models.get("gpt2-xl", "--model")
    o = RunOptions(micro_batch=16)

    def mem(gpu_id):
        return step_time(Shape.of(m, 1024), 1.5e9, specs.gpus.get(gpu_id, "--gpu"), capped, o,
                         batch_tokens=16 * 1024).breakdown["memory_bound"]
    assert mem("h100-sxm") > h100 and 1.15 < mem("h100-sxm") / mem("h200-sxm") < 4.8 / 3.35


def test_explain_names_alignment_and_eager_attention(cli):
    out = " ".join(cli("check", "--gpu", "4070ti", "--model", "gpt2", "--attention", "eager", "--explain").out.split())
    assert "vocabulary alignment speed 0.375" in out
    assert "score bytes forward 28 B, score bytes backward 40 B" in out and "from hf's profile" in out
    assert "B/FLOP" not in out  # no shipped stack adds SM issue time to its elementwise kernels
    hopper = " ".join(cli("check", "--gpu", "h100", "--model", "gpt2", "--explain").out.split())
    assert "vocabulary alignment speed 0.15" in hopper and "kestrel #143" in hopper
    tf32 = " ".join(cli("check", "--gpu", "4070ti", "--model", "gpt2", "--precision", "tf32", "--explain").out.split())
    assert "vocabulary alignment speed 0.62" in tf32 and "under TF32 no slower than the fp32 kernel" in tf32


def test_explain_names_the_k_step_and_tile_quantization(cli):
    """The matmul line's formula carries each GEMM's k-step (64 bf16 elements, 32 fp32 ones) and tile fill, and its
    inputs the fill of the dimensions that do not fill their 128-wide tiles (GPT-2 XL's h = 1,600; GPT-2 small's
    768 does)."""
    xl = " ".join(cli("check", "--gpu", "4070ti", "--model", "gpt2-xl", "--explain").out.split())
    assert "2·m·k·n x (1 + k-step/k) / (GEMM rate x tile fill x alignment speed)" in xl and "k-step 64 elements" in xl
    assert "h 1,600, h alignment speed 1, h tile fill 0.962" in xl and "(tile quantization: NVIDIA's GEMM guide)" in xl
    small = " ".join(cli("check", "--gpu", "4070ti", "--model", "gpt2", "--precision", "fp32", "--explain").out.split())
    assert "k-step 32 elements" in small and "h 768, h alignment speed 1, h tile fill 1," in small


def test_explain_names_the_recompute_and_the_collective_overlap(cli):
    full = cli("check", "--gpu", "4090", "--model", "gpt2", "--checkpointing", "full", "--explain").out
    assert "checkpointing re-runs each layer's forward GEMMs but its last (MLP c_proj" in full
    plain = cli("check", "--gpu", "4090", "--model", "gpt2", "--explain").out
    assert "re-runs" not in plain
    ddp = " ".join(cli("check", "--gpu", "a100-sxm-80gb", "--model", "gpt2", "--gpus", "8", "--explain").out.split())
    assert "overlap 0.8," in ddp and "hf overlaps it with backward (grad_comm_overlap)" in ddp
    llmc = " ".join(cli("check", "--gpu", "a100-sxm-80gb", "--model", "gpt2", "--gpus", "8", "--stack", "llmc",
                        "--explain").out.split())
    assert "overlap 0," in llmc and "none of it hidden (llmc runs it after the backward)" in llmc


def test_the_readme_states_todays_predictions_beside_the_recorded_transcript(specs):
    """docs/measure.md's `measure` transcript was recorded on our H200 (2026-11-28) with an older model; the prose after
    it gives today's predictions for the same steps, with that calibration: they must be the model's now."""
    cal = Calibration(gpu="h200-sxm", gemm_tflops={"bf16": 752.3, "fp16": 732.0, "tf32": 336.7, "fp32": 49.5},
                      memory_bandwidth_gb_per_s=4219, dispatch_us_per_op={"hf": 35.6, "nanogpt": 61.2},
                      host_link_gb_per_s=55.0)  # the transcript's `measure --calibrate` lines
    g, s = specs.gpus.get("h200-sxm", "--gpu"), specs.stacks.get("hf", "--stack")

    def ms(model, mb, c):
        ci = CheckInputs(g, specs.models.get(model, "--model"), s, RunOptions(micro_batch=mb), batch_tokens=mb * 1024.0,
                         calibration=c)
        return evaluate(ci).throughput.step_seconds * 1000
    readme = (Path(__file__).resolve().parents[1] / "docs" / "measure.md").read_text(encoding="utf-8")
    xl, b8, b1 = ms("gpt2-xl", 4, None), ms("gpt2", 8, cal), ms("gpt2", 1, cal)
    assert f"predicts {xl:.0f} ms for the uncalibrated gpt2-xl step (measured 225 ms: {xl / 225:.2f}x)" in readme
    assert f"{b8:.1f} ms for gpt2 at micro-batch 8\n(measured 62.5 ms: {b8 / 62.5:.2f}x" in readme
    assert f"{b1:.1f} ms at micro-batch 1 (measured 33.5 ms: {b1 / 33.5:.2f}x)" in readme


def test_runs_without_autocast_launch_none_of_its_casts(specs):
    """fp32, TF32 and pure bf16 runs issue no 16-bit copies of their matmul operands (PyTorch autocast), so a
    CPU-bound step is faster than amp-bf16's by the casts' CPU cost in each pass; a GPU-bound step is not
    touched; llm.c, which never autocasts, counts the same kernels whatever the precision."""
    from gpt2budget.core.steptime import layer_ops, ops_per_micro_step

    hf = specs.stacks.get("hf", "--stack")
    casts = hf.step_time.autocast_ops_per_layer
    assert casts > 0
    shape = Shape.of(specs.models.get("gpt2", "--model"), 1024)
    amp = layer_ops(hf, "amp-bf16")
    for precision in ("fp32", "tf32", "bf16"):
        ops = layer_ops(hf, precision)
        assert (amp.forward - ops.forward, amp.backward - ops.backward, amp.recompute - ops.recompute) == (casts,) * 3
        for ckpt in (False, True):
            o = RunOptions(precision=precision, checkpointing=ckpt)
            fewer = ops_per_micro_step(shape, hf, RunOptions(checkpointing=ckpt)) - ops_per_micro_step(shape, hf, o)
            assert fewer == 12 * casts * (3 if ckpt else 2)
    cpu_amp = st(specs, precision="amp-bf16", micro_batch=1)
    cpu_bf16 = st(specs, precision="bf16", micro_batch=1)
    assert cpu_amp.bound == cpu_bf16.bound == "cpu dispatch"
    assert cpu_bf16.breakdown["cpu_dispatch"] < cpu_amp.breakdown["cpu_dispatch"]
    big = [st(specs, model="gpt2-xl", precision=p, micro_batch=16) for p in ("amp-bf16", "bf16")]
    assert big[0].breakdown["cpu_dispatch"] == big[1].breakdown["cpu_dispatch"] == 0.0
    llmc = specs.stacks.get("llmc", "--stack")
    assert layer_ops(llmc, "fp32") == layer_ops(llmc, "amp-bf16")


def _numbers(text):
    return [float(x.replace(",", "")) for x in re.findall(r"\d[\d,]*(?:\.\d+)?", text)]


def test_explain_counts_the_kernels_and_says_where_their_cost_comes_from(cli, specs):
    """The dispatch line prints the model's kernel count, its parts per layer and the profile's cost per kernel, as
    the term's trace holds them."""
    from gpt2budget.core.steptime import layer_ops, ops_per_micro_step

    hf = specs.stacks.get("hf", "--stack")
    shape = Shape.of(specs.models.get("gpt2", "--model"), 1024)
    amp = " ".join(cli("check", "--gpu", "h100", "--model", "gpt2", "--checkpointing", "full", "--explain").out.split())
    line = re.search(r"kernels per micro-step ([\d,]+), layers (\d+), forward kernels per layer ([\d.]+), backward "
                     r"kernels per layer ([\d.]+), recompute kernels per layer ([\d.]+), kernels outside the layers "
                     r"([\d.]+), CPU cost per kernel ([\d.]+) us", amp)
    assert line, amp
    ops = layer_ops(hf, "amp-bf16")
    assert _numbers(line[1]) == [ops_per_micro_step(shape, hf, RunOptions(checkpointing=True))]
    assert [float(x) for x in line.groups()[1:6]] == [12, ops.forward, ops.backward, ops.recompute, hf.step_time.ops_fixed]
    assert float(line[7]) == hf.step_time.dispatch_us_per_op
    assert "CPU cost per kernel: hf's profile" in amp
    fp32 = " ".join(cli("check", "--gpu", "h100", "--model", "gpt2", "--precision", "fp32", "--explain").out.split())
    line = re.search(r"forward kernels per layer ([\d.]+), backward kernels per layer ([\d.]+).*autocast kernels not "
                     r"launched per layer ([\d.]+)", fp32)
    assert line and "fp32 runs none of autocast's casts" in fp32, fp32
    ops = layer_ops(hf, "fp32")
    assert [float(x) for x in line.groups()] == [ops.forward, ops.backward, hf.step_time.autocast_ops_per_layer]


def load_edited(tmp_path, kind, name, old, new):
    """A built-in spec file with `old` replaced by `new`, loaded as a user's file would be (raises SpecError)."""
    from gpt2budget.specs.files import builtin_config_dir
    from gpt2budget.specs.loader import load_spec_file

    text = (builtin_config_dir() / kind / f"{name}.yaml").read_text()
    assert old in text
    (tmp_path / f"{name}.yaml").write_text(text.replace(old, new))
    return load_spec_file(kind, tmp_path / f"{name}.yaml")


def test_autocast_casts_are_counted_within_the_kernels(tmp_path):
    from gpt2budget.errors import SpecError

    with pytest.raises(SpecError) as e:
        load_edited(tmp_path, "stacks", "hf", "autocast_ops_per_layer: 6", "autocast_ops_per_layer: 27")
    assert e.value.key == "step_time.autocast_ops_per_layer" and e.value.line
    assert "is counted within ops_per_layer_forward (27): it must be smaller" in e.value.message


def test_fused_attention_runs_at_the_measured_rate_for_its_kernel_and_length(specs):
    """On Hopper, 16-bit fused causal attention runs at what the FlashAttention-3 paper measured on an H100 at head
    dim 64 (FlashAttention-2 for SDPA stacks, cuDNN for llm.c): short sequences use the GPU least, and the backward
    is slower than the forward; fp32 and other GPUs keep their single figures."""
    from gpt2budget.core.step_constants import DEFAULT_STEP_CONSTANTS
    from gpt2budget.core.steptime import flash_efficiency
    H100_SXM_DENSE_TFLOPS = DEFAULT_STEP_CONSTANTS.h100_sxm_dense_tflops

    h100, a100 = specs.gpus.get("h100-sxm", "--gpu"), specs.gpus.get("a100-sxm-80gb", "--gpu")
    fwd, bwd, origin = flash_efficiency(h100, "flash2", "amp-bf16", 1024)
    assert origin == "hopper"
    assert fwd * H100_SXM_DENSE_TFLOPS == pytest.approx(229)  # FA3 paper, Fig. 5: causal forward at 1k
    assert bwd * H100_SXM_DENSE_TFLOPS == pytest.approx(238 * 229 / 306)  # backward x the causal/full ratio
    assert flash_efficiency(h100, "cudnn", "bf16", 1024)[0] * H100_SXM_DENSE_TFLOPS == pytest.approx(288)
    assert flash_efficiency(h100, "flash2", "bf16", 512)[0] < fwd < flash_efficiency(h100, "flash2", "bf16", 2048)[0]
    mid = flash_efficiency(h100, "flash2", "bf16", 1448)[0] * H100_SXM_DENSE_TFLOPS  # ~2^10.5: halfway in log2
    assert mid == pytest.approx((229 + 262) / 2, abs=0.5)
    assert flash_efficiency(h100, "flash2", "bf16", 128) == flash_efficiency(h100, "flash2", "bf16", 512)
    assert flash_efficiency(h100, "flash2", "fp32", 1024) == (0.35, 0.35, "fp32")
    assert flash_efficiency(a100, "cudnn", "amp-bf16", 1024) == (0.37, 0.37, "other")
    # the stacks: llm.c runs cuDNN's kernel, faster at GPT-2's lengths than FlashAttention-2
    llmc = st(specs, stack="llmc", model="gpt2-xl", micro_batch=8)
    hf = st(specs, stack="hf", model="gpt2-xl", micro_batch=8)
    assert specs.stacks.get("llmc", "--stack").step_time.flash_kernel == "cudnn"
    assert llmc.breakdown["attention"] < hf.breakdown["attention"]
    short = st(specs, model="gpt2", micro_batch=16, seq=512)
    long = st(specs, model="gpt2", micro_batch=8, seq=1024)  # the same tokens, twice the length: 2x the FLOPs,
    assert 1.4 < long.breakdown["attention"] / short.breakdown["attention"] < 1.5  # at a higher rate


def test_explain_names_the_attention_rate_and_its_source(cli, specs):
    """The attention line prints the rates the model uses (flash_efficiency) and names their measurement."""
    from gpt2budget.core.step_constants import DEFAULT_STEP_CONSTANTS
    from gpt2budget.core.steptime import flash_efficiency

    rate = re.compile(r"forward share of peak ([\d.]+), backward share of peak ([\d.]+), backward factor ([\d.]+)x.*?"
                      r"\(([^,;]*)")
    for gpu, kernel, source in (("h100-sxm", "flash2", "FlashAttention-2 at head dim 64 at the run's sequence length on an"
                                                       " H100"),
                                ("a100-sxm-80gb", "flash2", "cuDNN's fused attention at head dim 64 on an A100")):
        out = " ".join(cli("check", "--gpu", gpu, "--model", "gpt2", "--explain").out.split())
        line = rate.search(out[out.index("attention = "):])
        assert line, gpu
        fwd, bwd, _ = flash_efficiency(specs.gpus.get(gpu, "--gpu"), kernel, "amp-bf16", 1024)
        assert (float(line[1]), float(line[2]), float(line[3])) == pytest.approx(
            (fwd, bwd, DEFAULT_STEP_CONSTANTS.flash_backward_factor), abs=0.0005), gpu
        assert source.startswith(line[4]), gpu
    llmc = cli("check", "--gpu", "h100", "--model", "gpt2", "--stack", "llmc", "--explain").out
    assert "(cuDNN at head dim 64 at the run's sequence length on an H100" in " ".join(llmc.split())


def test_llmc_kernels_run_at_a_rate_per_sm(specs):
    """llm.c's own non-matmul kernels keep few bytes in flight per SM: they run at ~9.4 GB/s per SM (its layernorm on
    an RTX 3090, an A100 and an H100: llm.c PRs #600, #378), so an H100 or A100 runs them well below its bandwidth
    and the H200 (same 132 SMs, 43% more bandwidth) gains nothing; a GeForce card reaches its bandwidth first, and
    PyTorch's kernels (hf) fill the bandwidth on every GPU."""
    from dataclasses import replace

    from gpt2budget.core.steptime import elementwise_bandwidth, sm_rate_cap

    def per_sm_bound(gpu, stack, cal):
        cap = sm_rate_cap(gpu, stack)
        return cap is not None and cap < bandwidth(gpu, cal)

    llmc, hf = specs.stacks.get("llmc", "--stack"), specs.stacks.get("hf", "--stack")
    assert llmc.step_time.elementwise_gb_per_s_per_sm == 9.4 and hf.step_time.elementwise_gb_per_s_per_sm is None
    g = {k: specs.gpus.get(k, "--gpu") for k in ("h100-sxm", "h200-sxm", "a100-sxm-80gb", "rtx-4090")}
    for gid, sms in (("h100-sxm", 132), ("a100-sxm-80gb", 108)):
        assert elementwise_bandwidth(g[gid], llmc, "bf16", bandwidth(g[gid], None)) == pytest.approx(9.4e9 * sms)
        assert per_sm_bound(g[gid], llmc, None)
        assert elementwise_bandwidth(g[gid], hf, "bf16", bandwidth(g[gid], None)) == bandwidth(g[gid], None)
    bw4090 = bandwidth(g["rtx-4090"], None)
    assert elementwise_bandwidth(g["rtx-4090"], llmc, "bf16", bw4090) == bw4090  # 128 x 9.4 > 0.9 x 1008 GB/s
    assert not per_sm_bound(g["rtx-4090"], llmc, None)

    def mem(gpu, stack):
        return st(specs, gpu=gpu, stack=stack, model="gpt2-xl", micro_batch=16).breakdown["memory_bound"]
    assert mem("h200-sxm", "llmc") == pytest.approx(mem("h100-sxm", "llmc"), rel=0.01)
    assert mem("h100-sxm", "llmc") / mem("h200-sxm", "llmc") < 0.75 * mem("h100-sxm", "hf") / mem("h200-sxm", "hf")
    # a GPU spec without sm_count: the rate per SM cannot apply, and the kernels run at the bandwidth
    bare = replace(g["h100-sxm"], sm_count=None)
    assert elementwise_bandwidth(bare, llmc, "bf16", bandwidth(bare, None)) == bandwidth(bare, None)


def test_explain_says_when_kernels_run_at_their_rate_per_sm(cli):
    h100 = " ".join(cli("check", "--gpu", "h100", "--model", "gpt2", "--stack", "llmc", "--explain").out.split())
    assert "elementwise bandwidth 1,241 GB/s, bandwidth 3,015 GB/s" in h100
    assert "rate per SM 9.4 GB/s, SMs 132, clock fraction 1" in h100
    assert "llmc's kernels run at their rate per SM" in h100
    assert "llm.c PRs #600, #378), below the achieved bandwidth" in h100
    geforce = " ".join(cli("check", "--gpu", "4090", "--model", "gpt2", "--stack", "llmc", "--explain").out.split())
    assert "elementwise bandwidth 907.2 GB/s, bandwidth 907.2 GB/s" in geforce
    assert "llmc's rate per SM x sm_count is above the achieved bandwidth, which binds first" in geforce
    hf = cli("check", "--gpu", "h100", "--model", "gpt2", "--explain").out
    assert "rate per SM 0 GB/s" in " ".join(hf.split()) and "run at their rate per SM" not in hf


def test_rate_per_sm_and_sm_count_are_checked(tmp_path):
    from gpt2budget.errors import SpecError

    with pytest.raises(SpecError) as e:
        load_edited(tmp_path, "stacks", "llmc", "elementwise_gb_per_s_per_sm: 9.4", "elementwise_gb_per_s_per_sm: 0")
    assert e.value.key == "step_time.elementwise_gb_per_s_per_sm" and e.value.line
    with pytest.raises(SpecError) as e:
        load_edited(tmp_path, "gpus", "h100-sxm", "sm_count: 132", "sm_count: 13.2")
    assert e.value.key == "sm_count" and e.value.line
    # optional: a user's spec written before the key existed still loads
    assert load_edited(tmp_path, "gpus", "h100-sxm", "sm_count: 132\n", "").sm_count is None


def test_llmc_memory_bound_share_matches_its_a100_kernel_table(specs):
    """Validation: llm.c PR #378's Nsight Compute table of one A100 step (GPT-2 124M, B 24 x T 1024; a snapshot
    taken while that PR sped up some of those kernels) spent ~24% of the step in its memory-bound kernels; with
    the rate per SM (taken from PR #600's layernorm benchmarks) the model gives the same share on either A100
    (at 90% of the bandwidth it gave 15-18%)."""
    for gpu in ("a100-sxm-40gb", "a100-sxm-80gb"):
        b = st(specs, gpu=gpu, stack="llmc", micro_batch=24, precision="bf16", optimizer="adamw-fused").breakdown
        assert b["memory_bound"] / sum(b.values()) == pytest.approx(0.24, abs=0.01)

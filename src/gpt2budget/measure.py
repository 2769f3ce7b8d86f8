"""Real training steps and micro-benchmarks on the local GPU (`gpt2budget measure`). Needs torch.

Imported only by the `measure` command, after checking that torch is importable: nothing else in the package
imports torch. The step harness follows ../shared/tools/measure_gpt2.py, which made this project's ground-truth
data, and writes records in its format: a GPT-2 of the model spec's shape built from its config (random
weights, nothing downloaded), random tokens, warm-up steps, then timed forward + backward + optimizer steps.
"""

from __future__ import annotations

import contextlib
import gc
import math
import platform
import statistics
import time
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F  # noqa: N812

from gpt2budget.errors import UsageError


class StepConfig(NamedTuple):
    """One configuration to run for real."""

    n_layer: int
    n_head: int
    n_embd: int
    vocab: int
    seq: int
    micro_batch: int
    stack: str = "hf"  # hf | nanogpt
    precision: str = "amp-bf16"
    optimizer: str = "adamw"
    checkpointing: bool = False
    attention: str = "flash"
    dropout: float = 0.0
    finetune: str = "none"  # none | lora
    lora_rank: int = 8
    device: str = "cuda"
    compile: bool = True  # nanogpt on CUDA: torch.compile, as nanoGPT trains
    warmup: int = 2
    steps: int = 5


def device_info(device: str) -> dict[str, Any]:
    info: dict[str, Any] = {"device": device, "torch": torch.__version__, "host_cpu": platform.processor() or platform.machine()}
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        info.update(gpu_name=props.name, total_bytes=torch.cuda.mem_get_info()[1], sm_count=props.multi_processor_count,
                    cuda=torch.version.cuda)
        with contextlib.suppress(Exception):  # the driver version only nvidia-smi reports; optional
            import subprocess

            out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=10)
            info["driver"] = out.stdout.splitlines()[0].strip() if out.returncode == 0 and out.stdout else None
    return info


def check_device(device: str) -> None:
    if device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device", "no CUDA GPU is visible to torch (use --device cpu to test the harness on a tiny model)")


class NanoGPT(torch.nn.Module):  # type: ignore[misc]
    """A compact nanoGPT-style GPT-2 (written for this project): tied embeddings, pre-LN blocks, fused causal
    SDPA attention, GELU (tanh), as Karpathy's nanoGPT model.py and llm.c train it."""

    def __init__(self, cfg: StepConfig) -> None:
        super().__init__()
        nn, h = torch.nn, cfg.n_embd
        self.n_head, self.dropout = cfg.n_head, cfg.dropout
        self.wte, self.wpe = nn.Embedding(cfg.vocab, h), nn.Embedding(cfg.seq, h)
        self.blocks = nn.ModuleList()
        for _ in range(cfg.n_layer):
            blk = nn.Module()
            blk.ln1, blk.ln2 = nn.LayerNorm(h), nn.LayerNorm(h)
            blk.qkv, blk.proj = nn.Linear(h, 3 * h), nn.Linear(h, h)
            blk.fc, blk.fc2 = nn.Linear(h, 4 * h), nn.Linear(4 * h, h)
            self.blocks.append(blk)
        self.ln_f = nn.LayerNorm(h)
        self.head = nn.Linear(h, cfg.vocab, bias=False)
        self.head.weight = self.wte.weight

    def forward(self, idx: Any, labels: Any) -> Any:
        b, t = idx.shape
        x = self.wte(idx) + self.wpe(torch.arange(t, device=idx.device))
        for blk in self.blocks:
            q, k, v = blk.qkv(blk.ln1(x)).split(x.shape[-1], dim=2)
            q, k, v = (z.view(b, t, self.n_head, -1).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=self.dropout if self.training else 0.0)
            x = x + blk.proj(y.transpose(1, 2).reshape(b, t, -1))
            x = x + blk.fc2(F.gelu(blk.fc(blk.ln2(x)), approximate="tanh"))
        logits = self.head(self.ln_f(x))
        return F.cross_entropy(logits.float().view(-1, logits.size(-1)), labels.view(-1))


def build_model(cfg: StepConfig, dev: Any) -> Any:
    """The model of `cfg` on `dev`, and a function (tokens) -> loss."""
    if cfg.stack == "nanogpt":
        with torch.device(dev):
            model = NanoGPT(cfg)
        run = torch.compile(model) if cfg.compile and dev.type == "cuda" else model
        return model, lambda x: run(x, x)
    try:
        from transformers import GPT2Config, GPT2LMHeadModel
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # config chatter (loss_type, token ids of a tiny vocabulary) is not ours
    except ImportError:
        raise UsageError("--stack", 'the hf stack needs transformers: pip install "gpt2budget[measure]"') from None
    conf = GPT2Config(vocab_size=cfg.vocab, n_positions=cfg.seq, n_layer=cfg.n_layer, n_head=cfg.n_head,
                      n_embd=cfg.n_embd, resid_pdrop=cfg.dropout, embd_pdrop=cfg.dropout, attn_pdrop=cfg.dropout,
                      bos_token_id=cfg.vocab - 1, eos_token_id=cfg.vocab - 1)
    attn = "sdpa" if cfg.attention == "flash" else "eager"
    with torch.device(dev):
        model = GPT2LMHeadModel._from_config(conf, attn_implementation=attn)
    if cfg.precision == "bf16" or cfg.finetune == "lora":
        # LoRA: the frozen base in bf16, as the tool assumes (an fp32 base under autocast would add 4 B per
        # parameter plus autocast's 2 B copies); the adapters train under autocast as usual
        model = model.to(torch.bfloat16)
    if cfg.finetune == "lora":
        try:
            from peft import LoraConfig, get_peft_model
        except ImportError:
            raise UsageError("--finetune", "LoRA needs peft: pip install peft") from None
        model = get_peft_model(model, LoraConfig(r=cfg.lora_rank, lora_alpha=2 * cfg.lora_rank, target_modules=["c_attn"],
                                                 lora_dropout=0.0, fan_in_fan_out=True))
    if cfg.checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if cfg.finetune == "lora":
            model.enable_input_require_grads()
    return model, lambda x: model(input_ids=x, labels=x).loss


def make_optimizer(cfg: StepConfig, model: Any) -> Any:
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=1e-4, weight_decay=0.1)
    if cfg.optimizer == "adamw-fused":
        return torch.optim.AdamW(params, lr=1e-4, weight_decay=0.1, fused=True)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=1e-4)
    raise UsageError("--optimizer", f"measure runs adamw, adamw-fused or sgd, not {cfg.optimizer}")


def _sync(dev: Any) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize()


def run_steps(cfg: StepConfig) -> dict[str, Any]:
    """Measured peak memory and step time of `cfg`: a record in the shared data's format. An out-of-memory step
    is a result (status "oom"), and the GPU's memory is released before returning."""
    dev = torch.device(cfg.device)
    cuda = dev.type == "cuda"
    rec: dict[str, Any] = {
        "kind": "point", "n_layer": cfg.n_layer, "n_head": cfg.n_head, "n_embd": cfg.n_embd, "seq": cfg.seq,
        "batch": cfg.micro_batch, "ckpt": cfg.checkpointing, "precision": cfg.precision,
        "attn": "nanogpt-compile" if cfg.stack == "nanogpt" and cfg.compile and cuda else
                "nanogpt" if cfg.stack == "nanogpt" else ("sdpa" if cfg.attention == "flash" else "eager"),
        "dropout": cfg.dropout, "optimizer": cfg.optimizer, "stack": cfg.stack, "finetune": cfg.finetune,
    }
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated() if cuda else 0
    model = opt = loss = x = None
    try:
        model, step_loss = build_model(cfg, dev)
        model.train()
        rec["n_params"] = sum(p.numel() for p in model.parameters())
        rec["params_bytes"] = (torch.cuda.memory_allocated() - base) if cuda else None
        opt = make_optimizer(cfg, model)
        torch.backends.cuda.matmul.allow_tf32 = cfg.precision == "tf32"
        autocast = cfg.precision.startswith("amp")
        dtype = torch.float16 if cfg.precision == "amp-fp16" else torch.bfloat16
        x = torch.randint(0, cfg.vocab, (cfg.micro_batch, cfg.seq), device=dev)
        times: list[float] = []
        steady = None
        for step in range(cfg.warmup + cfg.steps):
            _sync(dev)
            t0 = time.perf_counter()
            with torch.autocast(dev.type, dtype=dtype, enabled=autocast):
                loss = step_loss(x)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            _sync(dev)
            if step >= cfg.warmup:
                times.append(time.perf_counter() - t0)
            if steady is None and cuda:
                steady = torch.cuda.memory_allocated() - base
        rec.update(status="ok", steady_bytes=steady,
                   peak_alloc_bytes=(torch.cuda.max_memory_allocated() - base) if cuda else None,
                   peak_reserved_bytes=torch.cuda.max_memory_reserved() if cuda else None,
                   step_s=statistics.median(times), n_timed=len(times))
        rec["tokens_per_s"] = round(cfg.micro_batch * cfg.seq / rec["step_s"], 1)
    except (torch.OutOfMemoryError, MemoryError, RuntimeError) as exc:
        if not out_of_memory(exc):
            raise
        rec.update(status="oom")
    finally:
        del model, opt, loss, x
        gc.collect()
        if cuda:
            torch.cuda.empty_cache()
    return rec


def out_of_memory(exc: BaseException) -> bool:
    """An allocation that failed: CUDA's OutOfMemoryError, Python's MemoryError, or the RuntimeError of torch's CPU
    allocator ("DefaultCPUAllocator: can't allocate memory: you tried to allocate ... bytes")."""
    if isinstance(exc, (torch.OutOfMemoryError, MemoryError)):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("can't allocate memory" in text or "out of memory" in text)


def _timed(fn: Any, dev: Any, reps: int) -> float:
    fn()
    _sync(dev)
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    _sync(dev)
    return (time.perf_counter() - t0) / reps


def _sustained(fn: Any, dev: Any, seconds: float) -> float:
    """Seconds per call once the GPU has run `fn` back to back for `seconds`: long enough for its power limit to
    set the clock (it acts within milliseconds), as it does over a training run (gpu-fryer measures over minutes,
    where heat can lower it further). Returns the time per call over the second half."""
    fn()
    _sync(dev)
    start = time.perf_counter()
    reps, half = 0, None
    while True:
        fn()
        reps += 1
        if reps % 8 == 0:
            _sync(dev)
            now = time.perf_counter()
            if half is None and now - start >= seconds / 2:
                half = (now, reps)
            elif half is not None and now - start >= seconds:
                return (now - half[0]) / (reps - half[1])


def gemm_tflops(dev: Any) -> dict[str, float]:
    """Achieved TFLOP/s of a large GEMM at a GPT-2 XL shape (16,384 tokens x 1,600 -> 6,400, the MLP's c_fc),
    sustained for ~2 s (the step-time model's GEMM rates are sustained ones, not seconds-long bursts)."""
    # the shape core.step_constants.StepConstants.calibration_gemm_shape reads back (this module imports nothing from core)
    m, k, n = (16384, 1600, 6400) if dev.type == "cuda" else (256, 256, 256)
    out = {}
    for key, dtype, tf32 in (("bf16", torch.bfloat16, False), ("fp16", torch.float16, False),
                             ("tf32", torch.float32, True), ("fp32", torch.float32, False)):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        a = torch.randn(m, k, device=dev, dtype=dtype)
        b = torch.randn(k, n, device=dev, dtype=dtype)
        seconds = 2.0 if dev.type == "cuda" else 0.05
        out[key] = 2 * m * k * n / _sustained(lambda a=a, b=b: a @ b, dev, seconds) / 1e12
        del a, b
    torch.backends.cuda.matmul.allow_tf32 = False
    return out


def copy_bandwidth_gb_per_s(dev: Any) -> float:
    """Achieved device memory bandwidth: a 1 GiB copy counts its bytes read and written."""
    n = (1 << 30) if dev.type == "cuda" else (1 << 24)
    a = torch.empty(n, dtype=torch.uint8, device=dev)
    b = torch.empty_like(a)
    secs = _timed(lambda: b.copy_(a), dev, 10)
    return 2 * n / secs / 1e9


def host_link_gb_per_s(dev: Any) -> float | None:
    """Achieved pinned host-to-device copy rate (the PCIe link as offload sees it)."""
    if dev.type != "cuda":
        return None
    n = 256 << 20
    host = torch.empty(n, dtype=torch.uint8).pin_memory()
    gpu = torch.empty(n, dtype=torch.uint8, device=dev)
    return n / _timed(lambda: gpu.copy_(host, non_blocking=True), dev, 10) / 1e9


def tiny_step_seconds(stack: str, dev: Any, compile_: bool, n_layer: int = 2) -> float:
    """Step time of a tiny GPT-2 (64 wide, 32 tokens): the GPU has almost nothing to do, so the step is the CPU
    issuing its kernels."""
    cfg = StepConfig(n_layer=n_layer, n_head=2, n_embd=64, vocab=512, seq=32, micro_batch=1, stack=stack,
                     optimizer="adamw-fused" if stack == "nanogpt" and dev.type == "cuda" else "adamw",
                     device=dev.type, compile=compile_, warmup=3, steps=20)
    rec = run_steps(cfg)
    if rec.get("status") != "ok":
        raise UsageError("--calibrate", f"the tiny {stack} model did not run ({rec.get('status')})")
    return float(rec["step_s"])


def finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) and x > 0 else None

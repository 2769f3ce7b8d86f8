"""LoRA (peft, r=8 on c_attn) peak memory and step time for HF GPT-2, amp-bf16, AdamW on trainable params.

The script that made the LoRA points of tests/data/h200_gpt2_training.jsonl (needs a GPU, torch, transformers, peft).
Its base model stays in fp32 (PyTorch's default dtype), recorded as lora_base "fp32": the tool assumes a bf16 base
unless told (RunOptions(lora_base="fp32")), and `gpt2budget measure --finetune lora` measures a bf16 base. No constant
is fitted to these points: they are tagged held out (tests/data/README.md).
Usage: python benchmarks/measure_lora.py OUT_DIR BUDGET_S
"""
import gc
import json
import os
import statistics
import sys
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import GPT2Config, GPT2LMHeadModel

out = open(os.path.join(sys.argv[1], "lora.jsonl"), "a")
dev = torch.device("cuda")
M = {"gpt2": dict(n_layer=12, n_head=12, n_embd=768), "gpt2-xl": dict(n_layer=48, n_head=25, n_embd=1600)}
T0 = time.time()
for name, shape in M.items():
  for ckpt in (False, True):
    gc.collect(); torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    cfg = GPT2Config(vocab_size=50257, n_positions=1024, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, **shape)
    with torch.device(dev):
        model = GPT2LMHeadModel._from_config(cfg, attn_implementation="sdpa")
    model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["c_attn"], lora_dropout=0.0, fan_in_fan_out=True))
    if ckpt:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    model.train()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    n_params = sum(p.numel() for p in model.parameters())
    params_bytes = torch.cuda.memory_allocated() - base
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4, weight_decay=0.1)
    for b in (1, 4, 16):
        if time.time() - T0 > float(sys.argv[2]): break
        gc.collect(); torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats()
        x = torch.randint(0, 50257, (b, 1024), device=dev)
        rec = dict(kind="point", model=name, **shape, n_params=n_params, trainable=trainable, seq=1024, batch=b, ckpt=ckpt,
                   precision="amp-bf16", attn="sdpa", dropout=0.0, optimizer="adamw", finetune="lora", lora_rank=8,
                   lora_targets="c_attn", params_bytes=params_bytes, lora_base="fp32",  # built in fp32, never cast
                   use={"memory": "held-out", "step_time": "held-out"}, fit_for=[])
        times = []
        try:
            for step in range(4):
                torch.cuda.synchronize(); t = time.perf_counter()
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    loss = model(input_ids=x, labels=x).loss
                loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
                torch.cuda.synchronize()
                if step: times.append(time.perf_counter() - t)
            del loss
            rec.update(status="ok", peak_alloc_bytes=torch.cuda.max_memory_allocated() - base,
                       peak_reserved_bytes=torch.cuda.max_memory_reserved(), step_s=statistics.median(times),
                       n_timed=len(times), tokens_per_s=round(b * 1024 / statistics.median(times), 1))
        except torch.OutOfMemoryError:
            rec.update(status="oom")
        out.write(json.dumps(rec) + "\n"); out.flush(); print(json.dumps(rec), flush=True)
        del x
    del model, opt

"""Compare predicted peak memory with every measured point; print median and worst error by group.

Data: tests/data/h100_gpt2_training_memory.jsonl (65 H100 steps, Hugging Face stack: the hf stack's calibrated
memory terms were fitted on them) and tests/data/h200_gpt2_training.jsonl (75 H200 steps: held out, except
compiled nanoGPT's gpt2 steps, from which nanogpt's logits terms and fragmentation were set). Each point says
whether a memory constant was fitted to it (`use.memory`, `fit_for`; tests/data/README.md): the groups are chosen
by that tag, and the headline is on held-out points only. The H200 LoRA points were measured with an fp32 base
model (`lora_base`); they are predicted both as measured (RunOptions(lora_base="fp32")) and as the CLI assumes
(a bf16 base).

Usage: python benchmarks/memory_accuracy.py [DATA_DIR]   (default: tests/data)
Prints a Markdown table (the README's accuracy table is this output).
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

from gpt2budget.core.memory import MemoryResult, memory
from gpt2budget.core.shape import Shape
from gpt2budget.options import RunOptions
from gpt2budget.specs.catalog import load_specs

ROOT = Path(__file__).resolve().parents[1]
FILES = (("h100_gpt2_training_memory.jsonl", "h100-sxm", "H100"), ("h200_gpt2_training.jsonl", "h200-sxm", "H200"))


def predict(specs, r: dict, gpu_id: str, lora_base: str | None = None) -> MemoryResult:
    """Point r predicted as it was measured (its LoRA base's dtype from the data unless lora_base is given);
    every step used GPT-2's unpadded 50,257-token vocabulary."""
    stack = "nanogpt" if r["attn"].startswith("nanogpt") else "hf"
    o = RunOptions(precision=r["precision"], checkpointing=r["ckpt"], optimizer=r["optimizer"],
                   attention="eager" if r["attn"] == "eager" else "flash", dropout=r["dropout"], seq=r["seq"],
                   micro_batch=r["batch"], finetune=r.get("finetune", "none"), lora_rank=r.get("lora_rank", 8),
                   lora_base=lora_base or r.get("lora_base", "bf16"))
    return memory(Shape.of(specs.models.get(r["model"], "--model"), r["seq"]), specs.stacks.get(stack, "--stack"), o,
                  specs.gpus.get(gpu_id, "--gpu").usable_bytes)


def group_of(r: dict, gpu: str) -> str:
    if r["attn"].startswith("nanogpt"):
        return f"{gpu}, nanogpt compiled"
    if r.get("finetune", "none") != "none":
        return f"{gpu}, hf LoRA, {r.get('lora_base', 'bf16')} base"
    what = f"{r['precision']}, {'checkpointing' if r['ckpt'] else 'no checkpointing'}"
    return f"{gpu}, hf {what}" if gpu == "H100" else f"{gpu}, hf seq {r['seq']}"


def rows(data: Path, specs) -> tuple[dict[tuple[str, str], list[float]], list[str]]:
    """Signed errors by (group, use), and a line on the out-of-memory points."""
    groups: dict[tuple[str, str], list[float]] = {}
    oom_total = oom_caught = 0
    for name, gpu_id, gpu in FILES:
        for line in (data / name).read_text().splitlines():
            r = json.loads(line)
            if r.get("kind", "point") != "point":
                continue
            use = r["use"]["memory"]
            res = predict(specs, r, gpu_id)
            if r["status"] == "oom":
                oom_total += 1
                oom_caught += not res.fits
                continue
            key = group_of(r, gpu)
            groups.setdefault((key, use), []).append(res.allocator_peak_bytes / r["peak_alloc_bytes"] - 1)
            if r.get("lora_base", "bf16") != "bf16":  # and as the CLI would predict it: a bf16 base
                as_cli = predict(specs, r, gpu_id, lora_base="bf16").allocator_peak_bytes
                groups.setdefault((f"{key}, predicted as bf16", use), []).append(as_cli / r["peak_alloc_bytes"] - 1)
    return groups, [f"Out-of-memory points (held out) predicted not to fit: {oom_caught} of {oom_total}."]


def table(groups: dict[tuple[str, str], list[float]]) -> list[str]:
    def line(label: str, use: str, e: list[float]) -> str:
        a = [abs(x) for x in e]
        return f"| {label} | {use} | {len(e)} | {statistics.median(a):.2%} | {max(a):.2%} | {statistics.mean(e):+.2%} |"

    out = ["| group | use | points | median abs. error | worst abs. error | mean signed error |",
           "|---|---|---|---|---|---|"]
    out += [line(k, use, e) for (k, use), e in sorted(groups.items(), key=lambda kv: kv[0][1])]  # fit first
    as_measured = {k: e for k, e in groups.items() if "predicted as bf16" not in k[0]}
    for use in ("fit", "held-out"):
        e = [x for (_, u), v in as_measured.items() if u == use for x in v]
        out.append(line(f"all {use}", use, e))
    as_cli = [x for (k, u), v in groups.items() if u == "held-out" and ("fp32 base" not in k or "as bf16" in k)
              for x in v]
    out.append(line("all held-out, LoRA predicted as bf16", "held-out", as_cli))
    return out


def main() -> None:
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests" / "data"
    groups, ooms = rows(data, load_specs())
    print("\n".join(table(groups)))
    print("\n" + "\n".join(ooms))


if __name__ == "__main__":
    main()

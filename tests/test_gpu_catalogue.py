"""The built-in GPU catalogue: names never collide, and every spec passes plausibility checks that catch unit
mistakes (GB vs GiB, sparse vs dense, bidirectional vs per-direction, a wrong PCIe rate).

Each check is a plain function returning the problems it finds, so that the tests below can show that each one
fails on a spec broken on purpose (a check that cannot fail checks nothing).
"""

from __future__ import annotations

from dataclasses import fields, replace
from types import SimpleNamespace

import pytest

from gpt2budget.specs.catalog import normalize
from gpt2budget.specs.definitions import GpuSpec
from gpt2budget.specs.files import builtin_config_dir, read_spec_bytes, spec_files
from gpt2budget.specs.loader import spec_from_bytes

BUILTIN = [spec_from_bytes("gpus", read_spec_bytes(p), p) for p in spec_files(builtin_config_dir() / "gpus")]
BY_ID = {s.id: s for s in BUILTIN}

# PCIe payload bandwidth per lane and direction, GB/s (PCI-SIG base specs): gen 1-2 use 8b/10b coding at
# 2.5/5 GT/s, gen 3-5 use 128b/130b at 8/16/32 GT/s, gen 6-7 (PAM4, FLIT) are quoted as 64/128 GT/s = 8/16 GB/s.
PCIE_LANE_GB_PER_S = {1: 0.25, 2: 0.5, 3: 8 * 128 / 130 / 8, 4: 16 * 128 / 130 / 8, 5: 32 * 128 / 130 / 8, 6: 8.0, 7: 16.0}


def name_keys(spec: GpuSpec) -> set[str]:
    """Every string `--gpu` resolves to this spec by (catalog.Catalog: id, aliases and name, normalized)."""
    return {normalize(n) for n in (spec.id, *spec.aliases, spec.name)}


def name_collisions(specs: list[GpuSpec]) -> list[str]:
    owner: dict[str, str] = {}
    problems = []
    for spec in specs:
        for key in sorted(name_keys(spec)):
            if not key:
                problems.append(f"{spec.id}: a name or alias normalizes to nothing")
            elif key in owner and owner[key] != spec.id:
                problems.append(f"{key!r} names both {owner[key]} and {spec.id}")
            else:
                owner[key] = spec.id
    return problems


def memory_problems(s: GpuSpec) -> list[str]:
    out = []
    if s.usable_memory_gib is not None:
        if s.usable_memory_gib > s.memory_gib:
            out.append(f"usable memory {s.usable_memory_gib} GiB exceeds the card's {s.memory_gib} GiB")
        if s.usable_memory_gib < 0.85 * s.memory_gib:
            out.append(f"usable memory {s.usable_memory_gib} GiB is under 85% of {s.memory_gib} GiB (GB vs GiB?)")
    if not 100 <= s.memory_bandwidth_gb_per_s <= 20_000:
        out.append(f"memory bandwidth {s.memory_bandwidth_gb_per_s} GB/s is outside 100-20,000 (unit?)")
    return out


def peak_problems(s: GpuSpec) -> list[str]:
    p, out = s.peak_tflops, []
    for key in ("fp16", "bf16"):
        value = getattr(p, key)
        if value is not None and value < p.fp32:
            out.append(f"{key} peak {value} is below the fp32 peak {p.fp32}")
    if p.tf32 is not None and p.bf16 is not None and p.tf32 > p.bf16:
        out.append(f"tf32 peak {p.tf32} is above the bf16 peak {p.bf16} (sparse figure?)")
    if p.fp8 is not None and p.bf16 is not None and p.fp8 < p.bf16:
        out.append(f"fp8 peak {p.fp8} is below the bf16 peak {p.bf16}")
    return out


def link_problems(s: GpuSpec) -> list[str]:
    out = []
    if (s.pcie_gen is None) != (s.pcie_lanes is None):
        out.append("pcie_gen and pcie_lanes go together")
    elif s.pcie_gen is not None and s.pcie_lanes is not None:
        expected = PCIE_LANE_GB_PER_S[s.pcie_gen] * s.pcie_lanes
        if abs(s.host_link_gb_per_s - expected) > 0.05 * expected:
            out.append(f"host link {s.host_link_gb_per_s} GB/s does not match PCIe {s.pcie_gen}.0 x{s.pcie_lanes} "
                       f"({expected:.1f} GB/s per direction)")
    # NVLink beats a PCIe host link; GH200's host link is NVLink-C2C itself (no pcie_gen), as fast as its NVLink.
    pcie_host = s.pcie_gen is not None
    if s.gpu_link == "nvlink" and pcie_host and s.gpu_link_gb_per_s is not None and s.gpu_link_gb_per_s <= s.host_link_gb_per_s:
        out.append(f"NVLink at {s.gpu_link_gb_per_s} GB/s is not faster than the host link {s.host_link_gb_per_s}")
    return out


def is_geforce_40_50(s: GpuSpec) -> bool:
    return s.segment == "consumer" and s.architecture.startswith(("Ada", "Blackwell"))


def p2p_problems(s: GpuSpec) -> list[str]:
    # GeForce RTX 40/50: NVIDIA's driver disables peer-to-peer; NCCL stages through host memory.
    # (Not-True rather than False: the GeForce specs gain the key in a parallel change.)
    if is_geforce_40_50(s) and s.peer_to_peer is True:
        return [f"{s.id} is a GeForce RTX 40/50 card: peer_to_peer must be false"]
    return []


# FP32 lanes per SM (per compute unit on AMD) by chip: GA100, GV100, GP100, Turing and CDNA 2 have 64; GA10x, Ada,
# Hopper, Blackwell, GP102 and CDNA 3 (dual-issue) 128 (the architecture whitepapers)
LANES_64 = ("GA100", "GV100", "GP100", "TU1", "CDNA 2")


def sm_problems(s: GpuSpec) -> list[str]:
    """Every card states its SMs, and SMs x FP32 lanes x 2 x boost clock gives its FP32 peak (within 2%)."""
    if s.sm_count is None:
        return [f"{s.id} has no sm_count"]
    if s.boost_clock_mhz is None:
        return []
    lanes = 64 if any(chip in s.architecture for chip in LANES_64) else 128
    implied = s.sm_count * lanes * 2 * s.boost_clock_mhz * 1e-6
    if abs(implied / s.peak_tflops.fp32 - 1) > 0.02:
        return [f"{s.sm_count} SMs x {lanes} lanes x 2 x {s.boost_clock_mhz} MHz = {implied:.1f} TFLOP/s, not the "
                f"fp32 peak {s.peak_tflops.fp32}"]
    return []


CHECKS = (memory_problems, peak_problems, link_problems, p2p_problems, sm_problems)


def test_catalogue_is_loaded():
    assert len(BUILTIN) >= 25 and {"h100-sxm", "rtx-4090", "mi300x"} <= set(BY_ID)


def test_names_and_aliases_never_collide():
    assert name_collisions(BUILTIN) == []


@pytest.mark.parametrize("spec", BUILTIN, ids=lambda s: s.id)
@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_builtin_spec_is_plausible(spec, check):
    assert check(spec) == []


# --- each check fails on a spec broken on purpose -------------------------------------------------------


def _broken(spec: GpuSpec, **changes):
    """A copy of `spec` with `changes`, made without GpuSpec's own validation (which already refuses some of
    these), so that the checks above are shown to catch each mistake themselves."""
    data = {f.name: getattr(spec, f.name) for f in fields(spec)}
    return SimpleNamespace(**{**data, **changes})


def _peaks(spec: GpuSpec, **changes: float):
    return _broken(spec, peak_tflops=replace(spec.peak_tflops, **changes))


H100 = BY_ID["h100-sxm"]
BROKEN = {
    "usable above memory": (memory_problems, _broken(H100, usable_memory_gib=81)),
    "usable as decimal GB": (memory_problems, _broken(H100, usable_memory_gib=80e9 / 2**30 * 0.84)),
    "bandwidth in TB/s": (memory_problems, _broken(H100, memory_bandwidth_gb_per_s=3.35)),
    "bandwidth in Mbit/s": (memory_problems, _broken(H100, memory_bandwidth_gb_per_s=26_800)),
    "bf16 below fp32": (peak_problems, _peaks(H100, bf16=60)),
    "fp16 below fp32": (peak_problems, _peaks(H100, fp16=60)),
    "tf32 sparse": (peak_problems, _peaks(H100, tf32=1978.9, bf16=989.4)),
    "fp8 below bf16": (peak_problems, _peaks(H100, fp8=900)),
    "host link bidirectional": (link_problems, _broken(H100, host_link_gb_per_s=128)),
    "host link wrong generation": (link_problems, _broken(H100, pcie_gen=4)),
    "pcie lanes without generation": (link_problems, _broken(H100, pcie_gen=None)),
    "nvlink slower than pcie": (link_problems, _broken(H100, gpu_link_gb_per_s=50)),
    "geforce 40 with p2p": (p2p_problems, _broken(BY_ID["rtx-4090"], peer_to_peer=True)),
    "geforce 50 with p2p": (p2p_problems, _broken(BY_ID["rtx-5090"], peer_to_peer=True)),
    "sm count missing": (sm_problems, _broken(H100, sm_count=None)),
    "sm count of another card": (sm_problems, _broken(H100, sm_count=114)),
    "cuda cores as sm count": (sm_problems, _broken(BY_ID["rtx-4090"], sm_count=16384)),
}


@pytest.mark.parametrize("case", BROKEN, ids=str)
def test_each_check_catches_a_broken_spec(case):
    check, spec = BROKEN[case]
    assert check(spec), f"{check.__name__} missed: {case}"


def test_p2p_rule_spares_other_cards():
    assert not is_geforce_40_50(BY_ID["rtx-3090"]) and not is_geforce_40_50(BY_ID["b200"])
    assert is_geforce_40_50(BY_ID["rtx-4070-ti"]) and is_geforce_40_50(BY_ID["rtx-5090"])


@pytest.mark.parametrize("clash", [
    lambda s: replace(s, aliases=("H100",)),            # another spec's alias, different case
    lambda s: replace(s, aliases=("rtx_4090",)),        # another spec's id, different punctuation
    lambda s: replace(s, aliases=("NVIDIA L4",)),       # another spec's name
], ids=["alias-case", "id-punctuation", "name"])
def test_collision_check_catches_a_clash(clash):
    specs = [clash(s) if s.id == "a10" else s for s in BUILTIN]
    assert name_collisions(specs)


REQUIRED = """gtx-1080-ti rtx-2080-ti titan-rtx rtx-3060-12gb rtx-3060-ti rtx-3070 rtx-3080-10gb rtx-3080-12gb rtx-3080-ti
rtx-3090 rtx-3090-ti rtx-4060 rtx-4060-ti-8gb rtx-4060-ti-16gb rtx-4070 rtx-4070-super rtx-4070-ti rtx-4070-ti-super
rtx-4080 rtx-4080-super rtx-4090 rtx-5060-ti-16gb rtx-5070 rtx-5070-ti rtx-5080 rtx-5090 rtx-a4000 rtx-a5000 rtx-a6000
rtx-4000-ada rtx-6000-ada rtx-pro-6000-blackwell p100-pcie-16gb v100-pcie-16gb v100-pcie-32gb v100-sxm2-16gb
v100-sxm2-32gb t4 a10 a10g a30 a40 a100-pcie-40gb a100-pcie-80gb a100-sxm-40gb a100-sxm-80gb l4 l40 l40s h100-pcie
h100-sxm h100-nvl h200-sxm gh200 b200 mi250x mi300x mi325x""".split()  # noqa: SIM905


def test_the_catalogue_covers_the_cards_people_train_on(specs):
    """Issue 15's list: every card present, each with its interconnect stated."""
    have = {g.id: g for g in specs.gpus}
    assert not set(REQUIRED) - set(have), sorted(set(REQUIRED) - set(have))
    for gid in REQUIRED:
        g = have[gid]
        assert g.pcie_gen is not None or g.id == "gh200", gid
        if g.segment == "consumer" and ("Ada" in g.architecture or "Blackwell" in g.architecture
                                        or "Ampere" in g.architecture):
            assert g.peer_to_peer is False, gid  # GeForce 30/40/50: no P2P over PCIe

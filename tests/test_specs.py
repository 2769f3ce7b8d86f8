import pytest

from gpt2budget.core.shape import Shape, n_params

REQUIRED_GPUS = ["rtx-4070-ti", "rtx-3060-12gb", "rtx-3090", "rtx-4060-ti-16gb", "rtx-4080", "rtx-4090", "rtx-5090",
                 "t4", "v100-sxm2-32gb", "a10", "l4", "l40s", "a100-sxm-40gb", "a100-sxm-80gb", "h100-sxm",
                 "h100-pcie", "h200-sxm", "b200", "mi300x"]


@pytest.mark.parametrize("gid", REQUIRED_GPUS)
def test_required_gpus_present_and_sourced(specs, gid):
    g = specs.gpus.get(gid, "--gpu")
    assert g.sources["peak_tflops"]
    for key in ("memory_gib", "memory_bandwidth_gb_per_s", "host_link_gb_per_s"):
        assert key in g.sources


@pytest.mark.parametrize("alias,gid", [("4070ti", "rtx-4070-ti"), ("a100", "a100-sxm-80gb"), ("h100", "h100-sxm"),
                                       ("RTX 4090", "rtx-4090"), ("rtx-4070-ti", "rtx-4070-ti")])
def test_aliases(specs, alias, gid):
    assert specs.gpus.get(alias, "--gpu").id == gid


@pytest.mark.parametrize("mid,count", [("gpt2", 124_439_808), ("gpt2-medium", 354_823_168),
                                       ("gpt2-large", 774_030_080), ("gpt2-xl", 1_557_611_200)])
def test_exact_parameter_counts(specs, mid, count):
    m = specs.models.get(mid, "--model")
    assert n_params(Shape.of(m, m.n_ctx)) == count


def test_geforce_tensor_peaks_are_fp32_accumulate(specs):
    g = specs.gpus.get("rtx-4090", "--gpu")
    assert g.peak_tflops.bf16 == 165.2
    assert g.peak_tflops_fp16_accumulate.fp16 == 330.3


def test_longer_sequence_grows_position_table(specs):
    m = specs.models.get("gpt2", "--model")
    assert n_params(Shape.of(m, 2048)) - n_params(Shape.of(m, 1024)) == 1024 * 768

"""Each option's choices are listed once (gpt2budget.options); the CLI's choices and every table keyed by an
option are checked against that list here, so a choice added in one place and missed in another fails (#13)."""

import inspect
import typing
from enum import Enum

import pytest

from gpt2budget import options
from gpt2budget.api import load
from gpt2budget.cli import app as cli
from gpt2budget.cli import choices
from gpt2budget.core import cost, steptime
from gpt2budget.core.check import DEFAULT_BATCH_TOKENS, DEFAULT_HOST_MEMORY_GIB, CheckInputs, evaluate, unsupported
from gpt2budget.core.scaling import optimal_tokens, predicted_loss
from gpt2budget.core.step_constants import DEFAULT_STEP_CONSTANTS
from gpt2budget.options import RunOptions
from gpt2budget.output.explain import component_words
from gpt2budget.specs.definitions import DTYPE_BYTES, Segment

CLI_CHOICES = [
    (choices.Precision, options.PRECISION_CHOICES), (choices.Optimizer, options.OPTIMIZER_CHOICES),
    (choices.Ckpt, options.CHECKPOINTING_CHOICES), (choices.Attention, options.ATTENTION_CHOICES),
    (choices.Offload, options.OFFLOAD_CHOICES), (choices.Finetune, options.FINETUNE_CHOICES),
    (choices.LoraTargets, options.LORA_TARGETS), (choices.OptimalRule, options.OPTIMAL_RULES),
    (choices.FlopsFormula, options.FLOPS_FORMULAS), (choices.Loss, options.LOSS_CHOICES),
]


@pytest.mark.parametrize(("enum", "choices"), CLI_CHOICES, ids=lambda x: getattr(x, "__name__", ""))
def test_the_cli_offers_exactly_the_core_choices(enum, choices):
    assert [e.value for e in enum] == list(choices)


def test_tables_keyed_by_an_option_cover_every_choice():
    assert list(options.OPTIMIZERS) == list(options.OPTIMIZER_CHOICES)  # one table per concept
    assert set(DTYPE_BYTES) == set(options.PRECISIONS) == set(options.PRECISION_CHOICES)
    segments = set(typing.get_args(Segment))
    assert set(DEFAULT_STEP_CONSTANTS.host_adam_params_per_s) == set(DEFAULT_STEP_CONSTANTS.gemm_ceiling) == segments
    assert set(steptime.BOUND_OF_TERM) == {"matmul", "attention", "memory_bound", "cpu_dispatch", "optimizer",
                                           "communication", "offload"}
    for rule in options.OPTIMAL_RULES:
        assert optimal_tokens(1e9, rule) > 0 and predicted_loss(1e9, 2e10, rule) > 1


def test_every_combination_of_choices_evaluates():
    """No table lookup fails for any choice: every optimizer x precision x offload x fine-tuning x attention."""
    specs = load()
    g = specs.gpus.get("h100", "--gpu")
    for s in specs.stacks:
        m = next(m for m in specs.models if s.families is None or m.family in s.families)
        for opt in options.OPTIMIZER_CHOICES:
            for prec in options.PRECISION_CHOICES:
                for off in options.OFFLOAD_CHOICES:
                    for ft in options.FINETUNE_CHOICES:
                        for attn in options.ATTENTION_CHOICES:
                            if ft == "qlora" and prec not in ("amp-bf16", "amp-fp16", "bf16"):
                                continue
                            o = RunOptions(precision=prec, optimizer=opt, offload=off, finetune=ft, attention=attn)
                            if unsupported(s, o) is not None:
                                continue  # the stack's code cannot run it: refused (tests/test_stack_capabilities.py)
                            r = evaluate(CheckInputs(g, m, s, o, tokens=1e8 if ft != "none" else None))
                            assert r.throughput.step_seconds > 0
                            assert component_words(o, s.mixed_precision_layout)["optimizer_states"]


def _defaults(command):
    return {name: p.default for name, p in inspect.signature(command).parameters.items()}


def test_the_cli_defaults_are_the_core_defaults():
    check = _defaults(cli.check)
    assert check["average_draw"] == cost.AVERAGE_DRAW and check["pue"] == cost.PUE
    assert check["price_per_kwh"] == cost.PRICE_PER_KWH and check["grid_gco2_per_kwh"] == cost.GRID_GCO2_PER_KWH
    assert check["host_memory"] == DEFAULT_HOST_MEMORY_GIB == CheckInputs._field_defaults["host_memory_gib"]
    assert float(check["batch_tokens"]) == DEFAULT_BATCH_TOKENS
    assert _enum_value(check["optimal_rule"]) == CheckInputs._field_defaults["optimal_rule"]
    assert _enum_value(check["flops_formula"]) == CheckInputs._field_defaults["flops_formula"]
    assert check["dropout"] == RunOptions._field_defaults["dropout"]
    assert _enum_value(check["offload"]) == RunOptions._field_defaults["offload"]
    assert _enum_value(check["finetune"]) == RunOptions._field_defaults["finetune"]


def _enum_value(x):
    return x.value if isinstance(x, Enum) else x

import re

import pytest

COMMANDS = ["check", "gpus", "models", "stacks", "plan", "compare", "sweep", "schema", "validate"]


@pytest.mark.parametrize("cmd", COMMANDS)
def test_every_command_has_help_with_an_example(cli, cmd):
    r = cli(cmd, "--help")
    assert r.code == 0
    assert "Example: gpt2budget" in r.out


def test_top_level_help_documents_exit_codes(cli):
    r = cli("--help")
    assert r.code == 0 and "Exit codes" in r.out


@pytest.mark.parametrize("args,needle", [
    (["check", "--gpu", "no-such-gpu", "--model", "gpt2-xl"], "--gpu"),
    (["check", "--gpu", "4070tii", "--model", "gpt2-xl"], "did you mean rtx-4070-ti"),
    (["check", "--gpu", "4070ti", "--model", "gpt3"], "--model"),
    (["check", "--gpu", "4070ti", "--model", "gpt2-xl", "--utilization", "7"], "--utilization"),
    (["check", "--gpu", "4070ti", "--model", "gpt2-xl", "--utilization", "0"], "--utilization"),
    (["check", "--gpu", "4070ti", "--model", "gpt2-xl", "--micro-batch", "-3"], "--micro-batch"),
    (["check", "--gpu", "4070ti", "--model", "gpt2-xl", "--duration", "forever"], "--duration"),
    (["check", "--gpu", "4070ti", "--model", "gpt2-xl", "--tokens", "lots"], "--tokens"),
    (["check", "--gpu", "t4", "--model", "gpt2", "--precision", "bf16"], "--precision"),
    (["check", "--gpu", "4070ti", "--model", "gpt2", "--zero", "9"], "--zero"),
    (["check", "--gpu", "4070ti", "--model", "gpt2", "--finetune", "lora"], "--tokens"),
    # a number too large for a float is too large, not "not positive"
    (["check", "--gpu", "4070ti", "--model", "gpt2", "--duration", "1e308y"], "--duration: 1e308y is more than 1000 years"),
    (["check", "--gpu", "4070ti", "--model", "gpt2", "--batch-tokens", "1e400"], "--batch-tokens: 1e400 is more than 1e18"),
    (["check", "--gpu", "4070ti", "--model", "gpt2", "--tokens", "0.0"], "--tokens: must be positive, got '0.0'"),
])
def test_bad_input_gives_one_line_error(cli, args, needle):
    r = cli(*args)
    assert r.code == 2
    assert "Traceback" not in r.err + r.out
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert needle in lines[0]


def test_malformed_yaml_names_file_and_line(cli, tmp_path):
    (tmp_path / "gpus").mkdir()
    (tmp_path / "gpus" / "bad.yaml").write_text("id: bad\nname: [unclosed\n")
    r = cli("gpus", "--config-dir", str(tmp_path))  # the others still listed: the broken file is a warning
    assert r.code == 0
    assert re.match(r"Warning: skipped .*bad\.yaml:\d+: invalid YAML", r.err)
    r = cli("check", "--gpu", "bad", "--model", "gpt2", "--config-dir", str(tmp_path))  # asked for: an error
    assert r.code == 3
    assert re.search(r"Error: .*bad\.yaml:\d+: invalid YAML", r.err)


def test_exact_table_output_for_models(cli):
    r = cli("models", "--format", "csv")
    assert r.code == 0
    lines = r.out.splitlines()
    assert lines[0].startswith("id,name,n_layer,n_head,n_embd,vocab_size,n_ctx,n_params,original_tokens")
    # rows by parameters: modded-nanogpt's 123.6M comes before GPT-2's 124.4M
    assert lines[1].startswith('modded-nanogpt,modded-nanogpt 124M (records 5-7),12,6,768,50304,1024,123568128,')
    assert lines[2].startswith('gpt2,GPT-2 (124M),12,12,768,50257,1024,124439808,10000000000,')


def test_check_table_states_assumptions(cli):
    r = cli("check", "--gpu", "4070ti", "--model", "gpt2", "--micro-batch", "1")
    assert r.code == 0
    for word in ("precision amp-bf16", "time from the step-time model (MFU 18%)", "duration 365.0 days", "micro-batch 1"):
        assert word in r.out
    assert "largest micro-batch that fits" in r.out
    # left out, --micro-batch is auto: the largest that fits, said so (issue #31 item 2)
    assert "micro-batch 6 (the largest that fits)" in cli("check", "--gpu", "4070ti", "--model", "gpt2").out


def test_fail_if_infeasible_exit_code(cli):
    r = cli("check", "--gpu", "4070ti", "--model", "gpt2-xl", "--fail-if-infeasible", "--format", "json")
    assert r.code == 4
    assert cli("check", "--gpu", "h100", "--model", "gpt2", "--fail-if-infeasible", "--format", "json").code == 0


def test_json_path_does_not_import_rich():
    import subprocess
    import sys

    code = ("import sys; from gpt2budget.cli.app import main\n"
            "try:\n    main(['check','--gpu','4070ti','--model','gpt2','--format','json'])\n"
            "except SystemExit: pass\n"
            "assert not any(m == 'rich' or m.startswith('rich.') for m in sys.modules), 'rich imported'\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_output_written_atomically(cli, tmp_path):
    target = tmp_path / "out.json"
    r = cli("check", "--gpu", "4090", "--model", "gpt2", "--format", "json", "--output", str(target))
    assert r.code == 0 and r.out == ""
    assert target.read_text().startswith("{")
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_svg_and_html_recording(cli, tmp_path):
    r = cli("check", "--gpu", "4090", "--model", "gpt2", "--svg", str(tmp_path / "a.svg"),
            "--html", str(tmp_path / "a.html"))
    assert r.code == 0
    assert "<svg" in (tmp_path / "a.svg").read_text()
    assert "<html" in (tmp_path / "a.html").read_text().lower()


def test_explain_substitutes_numbers(cli):
    r = cli("check", "--gpu", "4070ti", "--model", "gpt2", "--explain")
    assert "N = V·h + P·h" in r.out and "124,439,808" in r.out
    assert "phase backward_start" in r.out


@pytest.mark.parametrize("cmd", ["check --gpu 4090 --model gpt2", "check --gpu 4090 --model gpt2 --format json",
                                 "gpus", "sweep --gpu all --model all --micro-batch 1,2,3,4,5,6,7,8"])
def test_a_closed_pipe_is_a_quiet_success(cmd):
    import subprocess
    import sys

    shell = f'"{sys.executable}" -m gpt2budget {cmd} | head -n 1 > /dev/null'
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", shell], capture_output=True, text=True, timeout=120)
    assert (proc.returncode, proc.stderr) == (0, "")


def test_every_option_of_every_command_is_described():
    """--help explains every option (with units and defaults where they apply), and no placeholder leaks a
    Python type such as <list[str]>."""
    import typer

    from gpt2budget.cli.app import app

    group = typer.main.get_command(app)
    commands = {"": group, **group.commands}
    for name, command in commands.items():
        for param in command.params:
            if getattr(param, "param_type_name", "") == "option":
                assert (getattr(param, "help", "") or "").strip(), f"{name} {param.opts} has no help"
                assert "[" not in (param.metavar or ""), f"{name} {param.opts} metavar {param.metavar}"


def test_version(cli):
    from gpt2budget import __version__

    r = cli("--version")
    assert r.code == 0 and r.out == f"gpt2budget {__version__}\n"


def test_completion_offers_ids_and_aliases():
    from gpt2budget.cli.app import _complete_gpu

    offered = _complete_gpu("40")
    assert "4070ti" in offered and "4090" in offered  # aliases, not only ids (rtx-4070-ti)
    assert all(x.startswith("40") for x in offered)


def test_gpus_shows_the_interconnect(cli):
    """The communication term's inputs: NVLink where a card has it, PCIe otherwise, and GeForce 40-series cards
    without peer-to-peer (NCCL stages through host memory)."""
    table = cli("gpus").out
    rows = {line.split("│")[1].strip(): line for line in table.splitlines() if line.startswith("│")}
    assert "450 nvlink" in rows["h100-sxm"]
    assert "PCIe, no P2P" in rows["rtx-4090"]
    doc = {g["id"]: g for g in cli("gpus", "--format", "json").json()}
    assert doc["rtx-4090"]["peer_to_peer"] is False and doc["rtx-4090"]["gpu_link"] == "none"
    assert doc["h100-sxm"]["gpu_link"] == "nvlink" and doc["h100-sxm"]["gpu_link_gb_per_s"] == 450
    # the SMs, which the rate-per-SM kernels of a stack such as llm.c scale with
    assert doc["h100-sxm"]["sm_count"] == 132 and doc["rtx-4090"]["sm_count"] == 128

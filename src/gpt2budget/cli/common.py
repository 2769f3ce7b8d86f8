"""What the commands share: loading the catalogues, finding a calibration, configuring a run, writing output."""

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from gpt2budget.core.check import CheckInputs
    from gpt2budget.request import RunRequest
    from gpt2budget.specs.catalog import Specs


def load(config_dir: list[Path] | None) -> "Specs":
    from gpt2budget.specs.catalog import load_specs

    return load_specs(typer.get_app_dir("gpt2budget"), [str(p) for p in config_dir or []], warn=_warn)


def _warn(message: str) -> None:
    from gpt2budget.errors import safe_text

    sys.stderr.write(f"Warning: {safe_text(message)}\n")


def user_folders(config_dir: list[Path] | None) -> list[Path]:
    """The user's spec folders, in search order (where calibrations live): the user config folder,
    GPT2BUDGET_CONFIG_PATH, each --config-dir."""
    from gpt2budget.specs.files import config_dirs

    return [p for label, p in config_dirs(typer.get_app_dir("gpt2budget"), [str(p) for p in config_dir or []])
            if label != "built-in"]


def find_calibration(gpu_id: str, config_dir: list[Path] | None, gpu: Any = None) -> Any:
    from gpt2budget.core.calibration import find_calibration as find

    def read(path: Path) -> Any:
        from gpt2budget.specs.loader import read_yaml_file  # yaml only when a calibration file exists

        return read_yaml_file(path)

    return find(gpu_id, user_folders(config_dir), read, gpu)


def build_inputs(specs: "Specs", request: "RunRequest", no_calibration: bool = False,
                 config_dir: list[Path] | None = None) -> "CheckInputs":
    """A command's request to a configuration (gpt2budget.api.configure), with this GPU's calibration unless
    --no-calibration."""
    from gpt2budget.api import configure

    g = specs.gpus.get(request.gpu, "--gpu")
    calibration = None if no_calibration else find_calibration(g.id, config_dir, g)
    return configure(specs, request, calibration=calibration)


def write_atomic(path: str, text: str, option: str = "--output") -> None:
    from gpt2budget.output.report import write_output

    write_output(path, text, option)


def emit(text: str, output: str | None = None) -> None:
    if output:
        write_atomic(output, text if text.endswith("\n") else text + "\n")  # a file ends with a newline too (JSON)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def console(no_color: bool, record: bool = False, to_terminal: bool = True) -> Any:
    from gpt2budget.output.render import make_console

    return make_console(no_color, record, to_terminal)

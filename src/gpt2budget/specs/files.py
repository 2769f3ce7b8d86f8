"""Where spec files are and reading their bytes, within limits. No parsing here (that is the loader's job)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from gpt2budget.errors import SpecError

MAX_SPEC_BYTES = 256 * 1024  # a spec is a page of YAML; anything larger is refused before parsing
ENV_PATH = "GPT2BUDGET_CONFIG_PATH"


def builtin_config_dir() -> Path:
    """The specs shipped inside the package (or the repository's configs/ when run from a checkout)."""
    package = Path(__file__).resolve().parents[1]  # gpt2budget/ (this file is gpt2budget/specs/files.py)
    packaged = package / "configs"  # the wheel puts configs/ inside the package
    if packaged.is_dir():
        return packaged
    return package.parents[1] / "configs"


def config_dirs(user_dir: str | None = None, extra: Iterable[str] = ()) -> list[tuple[str, Path]]:
    """Search order: built-in, the user config directory, GPT2BUDGET_CONFIG_PATH, each --config-dir."""
    dirs: list[tuple[str, Path]] = [("built-in", builtin_config_dir())]
    if user_dir:
        dirs.append(("user", Path(user_dir)))
    for part in os.environ.get(ENV_PATH, "").split(os.pathsep):
        if part.strip():
            dirs.append((ENV_PATH, Path(part)))
    for d in extra:
        dirs.append(("--config-dir", Path(d)))
    return dirs


def is_artefact(name: str) -> bool:
    """Files an editor or an OS leaves beside the specs: hidden files (macOS ._x.yaml, .x.yaml.swp), Emacs lock
    links (.#x.yaml) and backups (x.yaml~, #x.yaml#)."""
    return name.startswith((".", "#")) or name.endswith(("~", "#"))


def spec_files(folder: Path) -> list[Path]:
    """The .yaml/.yml regular files of one kind's folder, sorted; none when the folder does not exist. Editor
    and OS artefacts are ignored, and so is anything that is not a regular file (a FIFO would block a read)."""
    if not folder.is_dir():
        return []
    try:
        with os.scandir(folder) as entries:  # the directory entry's type: no stat per file (links are followed)
            return sorted(folder / e.name for e in entries
                          if e.name.endswith((".yaml", ".yml")) and not is_artefact(e.name) and _regular(e))
    except OSError as exc:
        raise SpecError(str(folder), "", f"cannot list folder ({exc.strerror})") from None


def _regular(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()  # follows a symbolic link; a FIFO, device or socket is not a file
    except OSError:
        return False


def is_regular(path: Path) -> bool:
    """A regular file (following a symbolic link, as a user's spec may be one), without opening it."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def read_spec_bytes(path: Path) -> bytes:
    """A spec file's bytes: refuses directories, unreadable files and files over MAX_SPEC_BYTES."""
    shown = str(path)
    try:
        st = os.stat(path)  # one stat (following links): what it is and how large
        if stat.S_ISDIR(st.st_mode):
            raise SpecError(shown, "", "is a directory, not a spec file")
        if not stat.S_ISREG(st.st_mode):
            raise SpecError(shown, "", "is not a regular file (a FIFO, a device or a socket): not read")
        size = st.st_size
        if size > MAX_SPEC_BYTES:
            raise SpecError(shown, "", f"file is {size:,} bytes; spec files are limited to {MAX_SPEC_BYTES:,}")
        with open(path, "rb") as fh:
            raw = fh.read(MAX_SPEC_BYTES + 1)
    except SpecError:
        raise
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise SpecError(shown, "", f"cannot read file ({reason})") from None
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(shown, "", f"file is larger than {MAX_SPEC_BYTES:,} bytes")
    return raw

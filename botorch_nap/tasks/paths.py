"""Where data files are found, and the error when they are not.

Resolution order for the data root (the folder holding ``hpobench_xgb/``, ``yahpo/``, ...):

1. an explicit ``data_dir`` argument;
2. the environment variable ``BOTORCH_NAP_DATA``;
3. ``../shared/data`` relative to the current directory, then relative to the repository
   root (the folder above ``botorch_nap/``), then ``shared/data`` in either.

The library ships no data: users point it at their own copy.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "BOTORCH_NAP_DATA"
_REPO_ROOT = Path(__file__).resolve().parents[2]


def candidate_data_dirs(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """The data roots tried, in order (an explicit ``data_dir`` or the env var wins alone)."""
    if data_dir is not None:
        return [Path(data_dir).expanduser()]
    if os.environ.get(ENV_VAR):
        return [Path(os.environ[ENV_VAR]).expanduser()]
    cwd = Path.cwd()
    out: list[Path] = []
    for base in (cwd, _REPO_ROOT):
        for rel in ("../shared/data", "shared/data"):
            p = (base / rel).resolve()
            if p not in out:
                out.append(p)
    return out


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path | None:
    """The first existing data root, or ``None``."""
    for p in candidate_data_dirs(data_dir):
        if p.is_dir():
            return p
    return None


def find_data_file(relpath: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Path of ``relpath`` (e.g. ``"hpobench_xgb/hpobench_xgb.npz"``) under the data root.

    Raises:
        FileNotFoundError: naming the file and every place it was looked for, and how to
            point the library at it.
    """
    tried = [p / relpath for p in candidate_data_dirs(data_dir)]
    for p in tried:
        if p.exists():
            return p
    where = "\n  ".join(str(p) for p in tried)
    raise FileNotFoundError(
        f"data file {relpath!r} not found; looked for it at:\n  {where}\n"
        f"Pass data_dir=<folder containing {relpath.split('/')[0]}/> or set {ENV_VAR}."
    )


def data_file_exists(relpath: str, data_dir: str | os.PathLike | None = None) -> bool:
    try:
        find_data_file(relpath, data_dir)
        return True
    except FileNotFoundError:
        return False

r"""The benchmark results file: one JSON document, rewritten atomically after every run.

Read it with :func:`load_results` (or any JSON reader); ``botorch-nap report`` turns it into
tables and plots.

Schema (``"schema": "botorch-nap-benchmark/1"``)::

    {
      "schema": "botorch-nap-benchmark/1",
      "created": "2025-01-01T12:00:00+00:00",      # ISO 8601, UTC
      "updated": "...",
      "config": {                                   # the protocol; a resume must match it
        "family": "hpobench_xgb",                   #   (methods, seeds, tasks may grow)
        "family_kwargs": {},
        "data_dir": null,
        "split": "test",
        "task_ids": [34, 35, ...],                  # ids as the family names them
        "methods": ["nap:<ckpt>", "np-ei:<ckpt>", "gp-ei", "random", ...],
        "seeds": [0, 1, 2, 3, 4],
        "n_init": 5,
        "steps": 100,
        "optimizer": {"num_restarts": 8, "raw_samples": 256, "maxiter": null},  # null: per method
        "workers": 2, "threads": 1
      },
      "sessions": [                                 # one entry per invocation (resumes too)
        {"started": "...", "git_commit": "<sha>", "git_dirty": false,
         "python": "3.11.9", "platform": "...", "packages": {"torch": "2.13.0", ...},
         "argv": [...], "methods": [...], "runs_before": 0,
         "torch_threads": 1}                        # threads per process for the runs
      ],
      "methods": {"<spec>": {"name": "nap", "arg": "<ckpt>", "help": "...",
                             "checkpoint": "/abs/path", "weights_sha256": "..."}},
      "tasks": {"<task id as str>": {"id": 34, "name": "hpobench_xgb/34",
                                     "optimum": 0.97, "worst": 0.51, "pool_size": 1000}},
      "runs": {                                     # key: "<method>|<task id>|<seed>"
        "gp-ei|34|0": {
          "method": "gp-ei", "task": 34, "seed": 0,
          "design_seed": 123,                       # initial design: same for every method
          "method_seed": 456,                       # the method's own randomness
          "y": [...],                               # n_init + steps observed values
          "X": [[...], ...],                        # the points, search-space coordinates
          "best": [...],                            # steps + 1 running best values:
          "regret": [...],                          #   index 0 after the initial design,
                                                    #   index k after k BO steps;
                                                    #   regret normalised, in [0, 1]
          "decision_s": [...],                      # steps seconds per proposal
          "wall_s": 12.3, "finished": "..."
        }
      },
      "failures": {"<key>": {"error": "...", "time": "..."}}   # retried on resume
    }

Normalised regret is ``(optimum - best) / (optimum - worst)`` clipped to ``[0, 1]``
(:meth:`botorch_nap.tasks.base.Task.normalized_regret`), with the task's known optimum and
reference worst value (pool tasks: the pool's max and min).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

SCHEMA = "botorch-nap-benchmark/1"
#: Config keys that define the protocol: a resumed run must agree on all of them.
PROTOCOL_KEYS = (
    "family",
    "family_kwargs",
    "split",
    "n_init",
    "steps",
    "optimizer",
    "pool_size",
)
PACKAGES = (
    "botorch-nap",
    "torch",
    "botorch",
    "gpytorch",
    "numpy",
    "scipy",
    "ax-platform",
    "onnxruntime",
    "matplotlib",
)


def now() -> str:
    """The current UTC time, ISO 8601."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def run_key(method: str, task_id, seed: int) -> str:
    """The ``runs`` key of one (method, task, seed)."""
    return f"{method}|{task_id}|{seed}"


def new_results(config: dict) -> dict:
    """An empty results document for ``config``."""
    t = now()
    return {
        "schema": SCHEMA,
        "created": t,
        "updated": t,
        "config": config,
        "sessions": [],
        "methods": {},
        "tasks": {},
        "runs": {},
        "failures": {},
    }


def load_results(path: str | os.PathLike) -> dict:
    """Read a results file, checking its schema."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: a folder, not a results file")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not a results file (unreadable JSON: {e})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        found = data.get("schema") if isinstance(data, dict) else type(data).__name__
        raise ValueError(f"{path}: not a {SCHEMA} results file (schema={found!r})")
    return data


def save_results(results: dict, path: str | os.PathLike) -> None:
    """Write atomically: a temporary file in the same folder, flushed, then renamed over
    ``path``, so an interruption leaves either the old or the new file, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    results["updated"] = now()
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            # Compact: the file is rewritten after every run and can reach megabytes.
            json.dump(results, f, separators=(",", ":"))
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file private (0600); give it the usual umask-based mode.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_compatible(stored: dict, config: dict) -> None:
    """Raise if a resume would mix protocols (different family, budget, optimiser...)."""
    diff = [k for k in PROTOCOL_KEYS if stored.get(k) != config.get(k)]
    if diff:
        detail = "; ".join(f"{k}: stored {stored.get(k)!r}, now {config.get(k)!r}" for k in diff)
        raise ValueError(
            f"cannot resume: the results file was made with another protocol ({detail}); "
            "use another --out file"
        )


def _git(*args: str) -> str | None:
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def environment() -> dict:
    """Python, platform, package versions and the git commit of the code that ran."""
    packages = {}
    for name in PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "packages": packages,
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": None if status is None else bool(status),
        "argv": [portable_arg(a) for a in sys.argv],
    }


def portable_arg(arg: str) -> str:
    """A command-line argument without this machine's paths: an absolute path becomes
    relative to the working directory when under it, else its last part (``argv[0]``, the
    console script inside some virtual environment, becomes ``botorch-nap``)."""
    if not os.path.isabs(arg):
        return arg
    path, cwd = Path(arg), Path.cwd()
    return path.relative_to(cwd).as_posix() if path.is_relative_to(cwd) else path.name

"""Training checkpoints: the network checkpoint plus a weights-only-loadable training state.

Layout of a run directory (both ``pretrain`` and ``train`` write it)::

    run/config.json, run/weights.pt    best network so far (on validation): loads with
                                       NAPTransformer.load(run), NAPAcquisition.from_checkpoint
    run/last/config.json, weights.pt   latest network ...
    run/last/train_state.pt            ... with optimizer, scheduler, RNG states (resume)
    run/log.csv                        one row per logged step / iteration
    run/curves.png                     drawn by ``botorch-nap plot-training run``

``train_state.pt`` holds tensors and dicts/lists of primitives only, so
``torch.load(..., weights_only=True)`` reads it (no pickled code is ever executed).
Every file is written under a temporary name and renamed, so a crash never leaves a
half-written checkpoint.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from botorch_nap.nn.transformer import CONFIG_FILE, WEIGHTS_FILE, NAPTransformer
from botorch_nap.training.common import rng_state, set_rng_state

TRAIN_STATE_FILE = "train_state.pt"
LAST_DIR = "last"
LOG_FILE = "log.csv"


def save_training_checkpoint(
    path: str | os.PathLike,
    net: NAPTransformer,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None,
    step: int,
    meta: dict,
    generators: dict[str, torch.Generator] | None = None,
    extra: dict | None = None,
) -> Path:
    """Write a resumable checkpoint to ``path`` (a directory).

    ``meta`` goes into ``config.json`` (family, step, metrics, hyper-parameters); ``extra``
    (tensors / primitives, e.g. the best validation score so far) into ``train_state.pt``.
    The training state is written first: a directory whose ``config.json`` exists is
    complete up to a crash between the renames, which leaves the previous, consistent set.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    state = {
        "step": int(step),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else {},
        "rng": rng_state(generators),
        "extra": extra or {},
    }
    tmp = path / (TRAIN_STATE_FILE + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path / TRAIN_STATE_FILE)
    net.save(path, meta={**meta, "step": int(step)})
    return path


def load_training_checkpoint(
    path: str | os.PathLike,
    net: NAPTransformer,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None,
    generators: dict[str, torch.Generator] | None = None,
) -> tuple[int, dict, dict]:
    """Restore ``net``, ``optimizer``, ``scheduler`` and every RNG in place from ``path``.

    Returns ``(step, meta, extra)``. Raises ``FileNotFoundError`` when ``path`` holds no
    training state and ``ValueError`` when the network does not match.
    """
    path = Path(path)
    f = path / TRAIN_STATE_FILE
    if not f.is_file():
        raise FileNotFoundError(f"no training state to resume from: {f} is missing")
    loaded, meta = NAPTransformer.load_with_meta(path)
    if loaded.config != net.config:
        raise ValueError(
            f"checkpoint {path} has network config {loaded.config}, the run expects {net.config}"
        )
    try:
        state = torch.load(f, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling failure means a damaged file
        raise ValueError(f"damaged training state {f}: {e}") from e
    device = next(net.parameters()).device
    net.load_state_dict({k: v.to(device) for k, v in loaded.state_dict().items()})
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state["scheduler"]:
        scheduler.load_state_dict(state["scheduler"])
    set_rng_state(state["rng"], generators)
    return int(state["step"]), meta, state["extra"]


def find_resume_dir(run_dir: str | os.PathLike) -> Path:
    """The directory to resume from: ``run/last`` (or ``run`` itself if it holds a state)."""
    run_dir = Path(run_dir)
    for cand in (run_dir / LAST_DIR, run_dir):
        if (cand / TRAIN_STATE_FILE).is_file() and (cand / CONFIG_FILE).is_file():
            return cand
    raise FileNotFoundError(
        f"nothing to resume in {run_dir}: expected {run_dir / LAST_DIR / TRAIN_STATE_FILE}"
    )


__all__ = [
    "CONFIG_FILE",
    "LAST_DIR",
    "LOG_FILE",
    "TRAIN_STATE_FILE",
    "WEIGHTS_FILE",
    "find_resume_dir",
    "load_training_checkpoint",
    "save_training_checkpoint",
]

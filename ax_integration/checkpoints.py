"""Resolve the serialisable checkpoint option (a path or a shipped name) to a network.

Ax stores every generation-strategy option in its JSON snapshot, so options name a
checkpoint (a directory written by ``NAPTransformer.save`` or training, or the name of a
model shipped in :mod:`botorch_nap.pretrained`), never an ``nn.Module``. Ax rebuilds the
model and the acquisition function for every trial, so loaded networks are cached by path
and file modification time (the consumers, ``NAPAcquisition`` and ``NeuralProcessModel``,
take their own inference copies, so sharing the cached module is safe).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from botorch_nap.nn.transformer import CONFIG_FILE, WEIGHTS_FILE, NAPTransformer


def checkpoint_option(checkpoint: str | os.PathLike, kind: str = "nap") -> str:
    """The string stored in Ax options for ``checkpoint``, validated now.

    A checkpoint directory becomes its absolute path; the name of a shipped model stays a
    name (so a saved experiment keeps working with another installation of the package).

    Args:
        checkpoint: a checkpoint directory, or the name of a shipped model.
        kind: ``"nap"`` or ``"np"``: which shipped checkpoint a *name* refers to.

    Raises:
        FileNotFoundError: neither a checkpoint directory nor a shipped name.
    """
    path = resolve_checkpoint(checkpoint, kind)
    if (Path(checkpoint).expanduser() / CONFIG_FILE).is_file():
        return str(path)
    return str(checkpoint)


def resolve_checkpoint(checkpoint: str | os.PathLike, kind: str = "nap") -> Path:
    """Directory of ``checkpoint`` (a checkpoint directory or a shipped model's name)."""
    path = Path(checkpoint).expanduser()
    if (path / CONFIG_FILE).is_file():
        return path.resolve()
    if isinstance(checkpoint, str) and os.sep not in checkpoint and not path.exists():
        from botorch_nap.pretrained import checkpoint_path

        return checkpoint_path(checkpoint, kind)  # raises, listing what ships
    raise FileNotFoundError(
        f"checkpoint {str(checkpoint)!r} is not a checkpoint directory (no {CONFIG_FILE}) "
        "and not the name of a shipped model"
    )


def load_network(
    checkpoint: str | os.PathLike, expected_dim: int, kind: str = "nap"
) -> NAPTransformer:
    """The network stored at ``checkpoint`` (cached; do not modify the returned module).

    Raises:
        ValueError: the checkpoint's ``dim_x`` differs from ``expected_dim`` (the number of
            model-space dims Ax hands over), with a hint on how Ax counts them.
    """
    path = resolve_checkpoint(checkpoint, kind)
    stamp = tuple((path / f).stat().st_mtime_ns for f in (CONFIG_FILE, WEIGHTS_FILE))
    net = _load_cached(str(path), stamp)
    if not net.config.accepts_dim(expected_dim):
        raise ValueError(
            f"checkpoint {str(path)!r} was trained for dim_x={net.config.describe_dims()}, "
            f"but Ax hands "
            f"the model {expected_dim} input dims (one per non-fixed parameter: range, integer "
            "and choice parameters each count once). Use a checkpoint of matching dimension."
        )
    return net


@lru_cache(maxsize=8)
def _load_cached(path: str, stamp: tuple[int, ...]) -> NAPTransformer:
    # ``stamp`` (file mtimes) is part of the key so a checkpoint rewritten in place reloads.
    del stamp
    # keep_rng: the network is loaded on first use only, inside Ax's seeded ``gen``; without
    # it a process's first suggestion would differ from a rerun's on the same data.
    return NAPTransformer.load(path, keep_rng=True).eval()

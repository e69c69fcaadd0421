"""Shipped checkpoints: ``botorch_nap/pretrained/<name>/<kind>/{config.json,weights.pt}``.

``<kind>`` is ``nap`` (meta-trained with PPO) or ``np`` (pretrained bar head only, for
NP-EI). Each ``<name>`` folder has a ``MODEL_CARD.md``. ``botorch-nap models`` lists them.
"""

from __future__ import annotations

import json
from pathlib import Path

from botorch_nap.nn.transformer import NAPConfig

ROOT = Path(__file__).resolve().parent
KINDS = ("nap", "np")


def available() -> list[dict]:
    """One entry per shipped checkpoint: name, kind, path, the network ``config``, its input
    dims (``dim_x``, ``min_dim`` and ``dims`` as text, e.g. ``"2..6"``) and meta."""
    out = []
    for cfg in sorted(ROOT.glob("*/*/config.json")):
        kind, name = cfg.parent.name, cfg.parent.parent.name
        if kind not in KINDS:
            continue
        data = json.loads(cfg.read_text())
        config = NAPConfig.from_dict(data["network"])
        out.append(
            {
                "name": name,
                "kind": kind,
                "path": str(cfg.parent),
                "config": config,
                "dim_x": config.dim_x,
                "min_dim": config.min_dim,
                "dims": config.describe_dims(),
                "meta": data.get("meta", {}),
            }
        )
    return out


def checkpoint_path(name: str, kind: str = "nap") -> Path:
    """Directory of a shipped checkpoint; a clear error lists what ships if it is missing."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    path = ROOT / name / kind
    if not (path / "config.json").is_file():
        have = sorted({f"{e['name']} ({e['kind']})" for e in available()}) or ["none yet"]
        raise FileNotFoundError(
            f"no shipped {kind} checkpoint named {name!r} (looked in {path}); "
            f"shipped: {', '.join(have)}"
        )
    return path


def accepting(dim: int, kind: str = "nap") -> list[dict]:
    """Shipped checkpoints of ``kind`` whose network accepts ``dim``-dimensional inputs."""
    return [e for e in available() if e["kind"] == kind and e["config"].accepts_dim(dim)]

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

#: Settings of continuous decisions that a shipped model recommends, applied where a method
#: names it (``botorch-nap benchmark``, ``demo``: keyword arguments of
#: :class:`~botorch_nap.baselines.NAP` and :class:`~botorch_nap.baselines.NPEI`). Each was
#: chosen on validation functions, never on a test split: ``gp_prior`` also starts its polish
#: next to the incumbent (64 Gaussian perturbations, std 0.01 of the range), which lowered
#: its late regret on GP-prior 3-d functions and on 5-d Ackley and cost nothing on the other
#: validation families (README, "Starts next to the incumbent"); on lcbench's HPO surrogates
#: (their plateaus) the same starts cost regret, so it is no global default.
DECISIONS: dict[str, dict] = {"gp_prior": {"near_incumbent": 64, "near_sigma": 0.01}}


def available() -> list[dict]:
    """One entry per shipped checkpoint: name, kind, path, the network ``config``, its input
    dims (``dim_x``, ``min_dim`` and ``dims`` as text, e.g. ``"2..6"``) and meta."""
    out = []
    for cfg in sorted(ROOT.glob("*/*/config.json")):
        if cfg.parent.parent.name.startswith("."):  # e.g. a ship cut short (.name.partial)
            continue
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


def decision_defaults(path: str | Path) -> dict:
    """The decision settings (:data:`DECISIONS`) of the shipped model whose checkpoint folder
    is ``path``; ``{}`` for any other folder (a copy elsewhere recommends nothing)."""
    path = Path(path).resolve()
    if path.parent.parent != ROOT or path.name not in KINDS:
        return {}
    return dict(DECISIONS.get(path.parent.name, {}))


def accepting(dim: int, kind: str = "nap") -> list[dict]:
    """Shipped checkpoints of ``kind`` whose network accepts ``dim``-dimensional inputs."""
    return [e for e in available() if e["kind"] == kind and e["config"].accepts_dim(dim)]

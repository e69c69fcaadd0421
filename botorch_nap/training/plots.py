"""Training curves of a run directory (``log.csv``) drawn to PNG."""

from __future__ import annotations

import math
import os
from pathlib import Path

from botorch_nap.training.checkpoint import LOG_FILE
from botorch_nap.training.common import read_csv, to_float

# (column, title) per panel; a panel is drawn when its column has any value.
PRETRAIN_PANELS = [
    (("train_nll", "val_nll"), "NP loss (bar NLL)"),
    (("lr",), "learning rate"),
]
PPO_PANELS = [
    (("return",), "episode return"),
    (("final_regret",), "final normalised regret (train episodes)"),
    (("val_regret", "best_val_regret"), "validation: mean regret over steps (greedy)"),
    (("pg_loss",), "policy loss"),
    (("v_loss",), "value loss"),
    (("aux_nll",), "aux NP loss"),
    (("entropy",), "policy entropy"),
    (("approx_kl", "clipfrac"), "approx KL / clip fraction"),
]


def plot_training(
    run_dir: str | os.PathLike, out: str | os.PathLike | None = None, title: str | None = None
) -> Path:
    """Draw the curves of ``run_dir/log.csv`` to ``out`` (default ``run_dir/curves.png``),
    titled ``title`` (default: the run's path).

    Works for both pretraining (x axis: step) and PPO runs (x axis: iteration).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run_dir = Path(run_dir)
    suptitle = title if title is not None else str(run_dir)
    log = run_dir / LOG_FILE
    if not log.is_file():
        stages = [str(d) for d in (run_dir / "np", run_dir / "ppo") if (d / LOG_FILE).is_file()]
        hint = f" (a `botorch-nap fit` folder: its runs are {', '.join(stages)})" if stages else ""
        raise FileNotFoundError(f"no training log in {run_dir}: {log} is missing{hint}")
    rows = read_csv(log)
    if not rows:
        raise ValueError(f"{log} has no rows yet")
    xkey = "iteration" if "iteration" in rows[0] else "step"
    panels = PPO_PANELS if xkey == "iteration" else PRETRAIN_PANELS
    cols = {k: to_float(r.get(k, "") for r in rows) for k in rows[0]}
    panels = [p for p in panels if any(not math.isnan(v) for c in p[0] for v in cols.get(c, []))]
    n = len(panels)
    ncol = 2 if n > 1 else 1
    nrow = math.ceil(n / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(6 * ncol, 3.2 * nrow), squeeze=False)
    x_all = cols[xkey]
    for ax, (keys, title) in zip(axes.flat, panels):
        for k in keys:
            pts = [(x, v) for x, v in zip(x_all, cols[k]) if not math.isnan(v)]
            if pts:
                xs, vs = zip(*pts)
                ax.plot(xs, vs, marker="." if len(pts) < 50 else None, label=k)
        ax.set_title(title)
        ax.set_xlabel(xkey)
        ax.grid(alpha=0.3)
        if len(keys) > 1:
            ax.legend()
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle(suptitle)
    fig.tight_layout()
    out = Path(out) if out is not None else run_dir / "curves.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out

"""Does widening the y scale for a standout best value help on real histories?

At use, a history whose best value stands more than 5 history standard deviations above its
mean gets its y scale widened so that the bars keep room above it
(:func:`botorch_nap.context._keep_room_above`). Real such histories: the committed
`hpobench_xgb` test runs of methods whose histories reach that (random search and the
portfolio; no network's run did). For each history (every k-th of them), the shipped
`hpobench_xgb` NAP picks from the pool rows not yet evaluated, once with the widening (the
library's behaviour) and once with the scale as fitted; a pick is scored by its value's
percentile among those rows (1 = the best one left, a random pick ~0.5). Paired Wilcoxon test.

Run:  python benchmarks/standout_best.py [--results docs/results/hpobench_xgb.json]
          [--methods random portfolio] [--cases 60] [--model hpobench_xgb]
"""

from __future__ import annotations

import argparse
import json
import warnings

import torch
from scipy.stats import wilcoxon

import botorch_nap.context as context
from botorch_nap import NAPAcquisition
from botorch_nap.tasks import get_family


def standout_histories(results: dict, methods: list[str], z_min: float = 5.0) -> list[tuple]:
    """``(task, X, y)`` prefixes of the runs of ``methods`` whose best value stands more than
    ``z_min`` history stds above the mean (every decision from ``n_init`` on)."""
    n_init = results["config"]["n_init"]
    out = []
    for r in results["runs"].values():
        if r["method"] not in methods:
            continue
        for n in range(n_init, len(r["y"])):
            y = torch.tensor(r["y"][:n], dtype=torch.float64)
            if (y.max() - y.mean()) / y.std() > z_min:
                out.append((r["task"], r["X"][:n], r["y"][:n]))
    return out


def pick_percentile(model: str, task, X: list, y: list, widen: bool) -> float:
    """The NAP pick's value percentile among the pool rows not in ``X``."""
    X = torch.tensor(X, dtype=torch.float64)
    Y = torch.tensor(y, dtype=torch.float64)[:, None]
    free = torch.ones(len(task), dtype=torch.bool)
    free[task.lookup(X)] = False
    candidates, values = task.X[free], task.y[free]
    keep = context._keep_room_above
    if not widen:
        context._keep_room_above = lambda y_norm, scale, network: (y_norm, scale)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", context.HistoryScaleWarning)
            acqf = NAPAcquisition.from_pretrained(model, X, Y, task.space.bounds)
            with torch.no_grad():
                pick = int(acqf(candidates.unsqueeze(1)).argmax())
    finally:
        context._keep_room_above = keep
    return float((values < values[pick]).double().mean())


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", default="docs/results/hpobench_xgb.json")
    ap.add_argument("--methods", nargs="+", default=["random", "portfolio"])
    ap.add_argument("--cases", type=int, default=60, help="about this many histories")
    ap.add_argument("--model", default="hpobench_xgb")
    ap.add_argument("--data-dir", default="../shared/data")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    results = json.load(open(args.results))
    cases = standout_histories(results, args.methods)
    if not cases:
        raise SystemExit(f"no standout histories among {args.methods} in {args.results}")
    cases = cases[:: max(1, len(cases) // args.cases)]
    family = get_family(results["config"]["family"], data_dir=args.data_dir)
    tasks: dict = {}
    out = {"widened": [], "as fitted": []}
    for task_id, X, y in cases:
        task = tasks.get(task_id) or tasks.setdefault(task_id, family.task(task_id))
        for mode in out:
            out[mode].append(pick_percentile(args.model, task, X, y, widen=mode == "widened"))
    w, f = (torch.tensor(out[m]) for m in ("widened", "as fitted"))
    p = float(wilcoxon(w.numpy(), f.numpy()).pvalue) if bool((w != f).any()) else 1.0
    print(f"{len(cases)} histories of {args.methods} with a best value > 5 stds above the mean")
    for mode, v in (("widened", w), ("as fitted", f)):
        print(f"{mode:10s} pick percentile mean {v.mean():.3f}  median {v.median():.3f}")
    print(f"paired Wilcoxon p = {p:.2g}")
    return {"widened": out["widened"], "as fitted": out["as fitted"], "p": p}


if __name__ == "__main__":
    main()

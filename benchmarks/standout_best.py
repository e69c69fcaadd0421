"""Does widening the y scale for a standout best value help on real histories?

At use, a history whose best value stands more than 5 history standard deviations above its
mean gets its y scale widened so that the bars keep room above it
(:func:`botorch_nap.context._keep_room_above`). Real such histories: the committed
`hpobench_xgb` test runs of methods whose histories reach that (random search and the
portfolio; no network's run did). For each history (or every k-th, ``--cases``), the shipped
`hpobench_xgb` NAP picks from the pool rows not yet evaluated, once with the widening (the
library's behaviour) and once with the scale as fitted; a pick is scored by its value's
percentile among those rows (1 = the best one left, a random pick ~0.5). The histories are
prefixes of a few runs (the portfolio repeats itself across seeds), so the paired Wilcoxon
test is over runs (each run's mean percentile), with the means per task beside.

Run:  python benchmarks/standout_best.py [--results docs/results/hpobench_xgb.json]
          [--methods random portfolio] [--cases K] [--model hpobench_xgb]
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
    """``(run key, task, X, y)`` prefixes of the runs of ``methods`` whose best value stands
    more than ``z_min`` history stds above the mean (every decision from ``n_init`` on)."""
    n_init = results["config"]["n_init"]
    out = []
    for key, r in results["runs"].items():
        if r["method"] not in methods:
            continue
        for n in range(n_init, len(r["y"])):
            y = torch.tensor(r["y"][:n], dtype=torch.float64)
            if (y.max() - y.mean()) / y.std() > z_min:
                out.append((key, r["task"], r["X"][:n], r["y"][:n]))
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
    ap.add_argument("--cases", type=int, default=0, help="every k-th history, about this many")
    ap.add_argument("--model", default="hpobench_xgb")
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    results = json.load(open(args.results))
    cases = standout_histories(results, args.methods)
    if not cases:
        raise SystemExit(f"no standout histories among {args.methods} in {args.results}")
    if args.cases:
        cases = cases[:: max(1, len(cases) // args.cases)]
    family = get_family(results["config"]["family"], data_dir=args.data_dir)
    tasks: dict = {}
    rows = []  # (run, task, widened, as fitted)
    for key, task_id, X, y in cases:
        task = tasks.get(task_id) or tasks.setdefault(task_id, family.task(task_id))
        pair = [pick_percentile(args.model, task, X, y, widen=w) for w in (True, False)]
        rows.append((key, task_id, *pair))

    def mean_pair(sel: list[tuple]) -> tuple[float, float]:
        return tuple(sum(r[i] for r in sel) / len(sel) for i in (2, 3))

    by_run: dict = {}
    for r in rows:
        by_run.setdefault(r[0], []).append(r)
    runs = sorted(by_run)
    per_run = torch.tensor([mean_pair(by_run[k]) for k in runs])
    w, f = per_run[:, 0], per_run[:, 1]
    p = float(wilcoxon(w.numpy(), f.numpy()).pvalue) if bool((w != f).any()) else 1.0
    print(
        f"{len(rows)} decisions of {len(runs)} runs ({args.methods}) on "
        f"{len(tasks)} tasks, best value > 5 stds above the mean"
    )
    print("pick percentile among the rows left   widened  as fitted")
    for t in sorted(tasks):
        sel = [r for r in rows if r[1] == t]
        mw, mf = mean_pair(sel)
        label = f"task {t} ({len(sel)} decisions)"
        print(f"  {label:<32}{mw:.3f}      {mf:.3f}")
    print(f"  mean over runs                      {w.mean():.3f}      {f.mean():.3f}")
    print(
        f"widened better in {int((w > f).sum())} of {len(runs)} runs, worse in "
        f"{int((w < f).sum())}; paired Wilcoxon over runs p = {p:.2g}"
    )
    return {"widened": w.tolist(), "as fitted": f.tolist(), "p": p, "decisions": len(rows)}


if __name__ == "__main__":
    main()

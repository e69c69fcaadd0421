"""How each method moves late in its runs: distance of each proposal to the incumbent.

Reads benchmark results files (``botorch-nap benchmark --out``) and prints, per method,
over the proposals of steps ``--from`` to ``--to`` (counted in evaluations, the initial
design included): the median unit-cube distance to the best point so far, the share of
proposals within ``--near`` of it ("local steps"), the 10 / 50 / 90% quantiles of the local
steps' lengths, and how often a proposal improved on the incumbent (locally and overall).
A method that cannot take fine local steps shows a floor in the 10% quantile.

``--stuck R`` adds, per method, the proposals made while the run was stuck (simple regret
above ``R``: the run has not found the optimum's basin) and how often such a proposal got it
out (regret at most ``R`` after it), with the share of far moves (beyond ``--far``) among
them: whether a method loses late by refining too coarsely or by escaping a wrong basin too
seldom.

Run:  python benchmarks/local_steps.py docs/results/branin.json [--from 15 --to 25]
          [--near 0.05] [--stuck 0.05 --far 0.3]
"""

from __future__ import annotations

import argparse
import functools
import json

import numpy as np


@functools.cache
def _load(path: str) -> dict:
    """A results file, read once per process (both tables read the same files)."""
    with open(path) as f:
        return json.load(f)


def _runs(files: list[str]):
    """``(run, X in the unit cube, y)`` of every finished run with its proposals."""
    for path in files:
        data = _load(path)
        lo, hi = (np.asarray(b, dtype=float) for b in data.get("bounds") or [[0.0], [1.0]])
        for run in data["runs"].values():
            if run.get("finished", True) and run.get("X"):
                X = (np.asarray(run["X"], dtype=float) - lo) / (hi - lo)
                yield run, X, np.asarray(run["y"], dtype=float)


def local_steps(files: list[str], start: int, stop: int, near: float) -> dict[str, dict]:
    rows: dict[str, dict] = {}
    for run, X, y in _runs(files):
        r = rows.setdefault(run["method"], {"dist": [], "improved": [], "runs": 0})
        r["runs"] += 1
        for t in range(start, min(stop, len(y))):
            best = int(np.argmax(y[:t]))
            r["dist"].append(float(np.linalg.norm(X[t] - X[best])))
            r["improved"].append(bool(y[t] > y[:t].max()))
    out = {}
    for method, r in rows.items():
        d, imp = np.asarray(r["dist"]), np.asarray(r["improved"])
        loc = d < near
        out[method] = {
            "runs": r["runs"],
            "proposals": len(d),
            "median_dist": float(np.median(d)) if len(d) else float("nan"),
            "local_share": float(loc.mean()) if len(d) else float("nan"),
            "local_q": np.quantile(d[loc], [0.1, 0.5, 0.9]).tolist() if loc.any() else None,
            "improved_local": int(imp[loc].sum()),
            "local": int(loc.sum()),
            "improved_all": int(imp.sum()),
        }
    return out


def escapes(files: list[str], start: int, stop: int, stuck: float, far: float) -> dict[str, dict]:
    """Per method: proposals of evaluations ``start..stop-1`` made while stuck (regret above
    ``stuck``), how many got out (regret at most ``stuck`` after it), and how many of them
    were far moves (max-norm distance to the incumbent beyond ``far``, unit cube)."""
    rows: dict[str, dict] = {}
    for run, X, y in _runs(files):
        if not run.get("regret"):
            continue
        regret = np.asarray(run["regret"], dtype=float)
        n0 = len(y) - (len(regret) - 1)  # regret[0]: after the initial design
        r = rows.setdefault(run["method"], {"stuck": 0, "escaped": 0, "far": 0, "all": 0})
        for t in range(max(start, n0), min(stop, len(y))):
            r["all"] += 1
            if regret[t - n0] <= stuck:
                continue
            r["stuck"] += 1
            r["escaped"] += int(regret[t - n0 + 1] <= stuck)
            r["far"] += int(np.abs(X[t] - X[int(np.argmax(y[:t]))]).max() > far)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="+")
    p.add_argument("--from", dest="start", type=int, default=15, help="first evaluation index")
    p.add_argument("--to", dest="stop", type=int, default=25, help="one past the last")
    p.add_argument("--near", type=float, default=0.05, help="local-step radius (unit cube)")
    p.add_argument("--stuck", type=float, help="also the escapes from regret above this")
    p.add_argument("--far", type=float, default=0.3, help="far move: max-norm distance beyond")
    args = p.parse_args()
    stats = local_steps(args.files, args.start, args.stop, args.near)
    print(
        f"evaluations {args.start}..{args.stop - 1}; local = within {args.near} of the "
        "incumbent (unit cube)"
    )
    print(
        f"{'method':<32} {'runs':>5} {'median d':>9} {'local':>6} "
        f"{'local d q10 / q50 / q90':>26} {'improved: local':>16} {'all':>9}"
    )
    for m, s in stats.items():
        q = " / ".join(f"{v:.4f}" for v in s["local_q"]) if s["local_q"] else "-"
        print(
            f"{m[:32]:<32} {s['runs']:>5} {s['median_dist']:>9.4f} {s['local_share']:>6.2f} "
            f"{q:>26} {s['improved_local']:>7} of {s['local']:<5} "
            f"{s['improved_all']:>4} of {s['proposals']}"
        )
    if args.stuck is None:
        return
    print(
        f"\nwhile stuck (regret > {args.stuck} before the proposal), evaluations "
        f"{args.start}..{args.stop - 1}; far = beyond {args.far} of the incumbent (max-norm)"
    )
    print(f"{'method':<32} {'stuck':>6} {'got out':>8} {'per step':>9} {'far':>6}")
    for m, r in escapes(args.files, args.start, args.stop, args.stuck, args.far).items():
        n = max(r["stuck"], 1)
        print(
            f"{m[:32]:<32} {r['stuck']:>6} {r['escaped']:>8} {r['escaped'] / n:>9.3f} "
            f"{r['far'] / n:>6.2f}"
        )


if __name__ == "__main__":
    main()

"""How each method moves late in its runs: distance of each proposal to the incumbent.

Reads benchmark results files (``botorch-nap benchmark --out``) and prints, per method,
over the proposals of steps ``--from`` to ``--to`` (counted in evaluations, the initial
design included): the median unit-cube distance to the best point so far, the share of
proposals within ``--near`` of it ("local steps"), the 10 / 50 / 90% quantiles of the local
steps' lengths, and how often a proposal improved on the incumbent (locally and overall).
A method that cannot take fine local steps shows a floor in the 10% quantile.

Run:  python benchmarks/local_steps.py docs/results/branin.json [--from 15 --to 25]
          [--near 0.05]
"""

from __future__ import annotations

import argparse
import json

import numpy as np


def local_steps(files: list[str], start: int, stop: int, near: float) -> dict[str, dict]:
    rows: dict[str, dict] = {}
    for path in files:
        data = json.load(open(path))
        lo, hi = (np.asarray(b, dtype=float) for b in data.get("bounds") or [[0.0], [1.0]])
        for run in data["runs"].values():
            if not run.get("finished", True) or not run.get("X"):
                continue
            X = (np.asarray(run["X"], dtype=float) - lo) / (hi - lo)
            y = np.asarray(run["y"], dtype=float)
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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="+")
    p.add_argument("--from", dest="start", type=int, default=15, help="first evaluation index")
    p.add_argument("--to", dest="stop", type=int, default=25, help="one past the last")
    p.add_argument("--near", type=float, default=0.05, help="local-step radius (unit cube)")
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


if __name__ == "__main__":
    main()

"""Where a mean regret gap between two methods comes from: its share per task.

A benchmark's mean regret at step ``s`` averages tasks whose regrets differ by orders of
magnitude, so a gap between two methods may be the story of a few tasks. Per task this
prints both methods' mean regret at ``--step``, how many seeds each leaves above
``--stuck`` (the run has not found the optimum's basin), and the task's share of the summed
gap; for ``gp_prior`` tasks also the function's lengthscales (unit cube).

    python benchmarks/gap_by_task.py runs/gp3_val.json:np-ei:gp_prior \\
        runs/gp3_val.json:gp-ei --step 25 --family gp_prior --family-kw dim=3

Each method is ``<results file>.json:<method name in it>``; the two may come from different
files (the cells they share are compared). The last line is the ratio of the two mean regrets
with a 95% bootstrap interval over tasks: how much a ratio target owes to which functions a
split holds.
"""

from __future__ import annotations

import argparse

import numpy as np
from compare_arms import model_curves


def lengthscales(family: str, family_kw: list[str], tasks: list[str]) -> dict[str, str]:
    """``{task: "l1, l2, ..."}`` for a ``gp_prior`` family (else empty)."""
    from botorch_nap.benchmark.commands import parse_kwargs
    from botorch_nap.tasks import get_family

    fam = get_family(family, **parse_kwargs(family_kw))
    if not hasattr(fam, "_prior_params"):
        return {}
    return {t: ", ".join(f"{v:.2f}" for v in fam._prior_params(int(t))[3].tolist()) for t in tasks}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("a", help="first method: <file>.json:<method>")
    p.add_argument("b", help="second method (the reference)")
    p.add_argument("--step", type=int, default=25)
    p.add_argument("--stuck", type=float, default=0.05, help="regret that counts as stuck")
    p.add_argument("--family", help="gp_prior: also print each task's lengthscales")
    p.add_argument("--family-kw", nargs="*", default=[])
    p.add_argument("--boot", type=int, default=5000, help="bootstrap draws for the ratio's CI")
    args = p.parse_args(argv)

    ca, cb = model_curves(args.a), model_curves(args.b)
    cells = sorted(set(ca) & set(cb))
    if not cells:
        raise SystemExit("the two methods share no (task, seed) cell")
    tasks = sorted({t for t, _ in cells}, key=lambda t: (len(t), t))
    s = args.step
    ra = {c: ca[c][min(s, len(ca[c]) - 1)] for c in cells}
    rb = {c: cb[c][min(s, len(cb[c]) - 1)] for c in cells}
    total = sum(ra[c] - rb[c] for c in cells)
    ls = lengthscales(args.family, args.family_kw, tasks) if args.family else {}
    print(f"regret at step {s}; A = {args.a}; B = {args.b}; {len(cells)} cells")
    print(
        f"{'task':>6} {'A':>8} {'B':>8} {'A stuck':>8} {'B stuck':>8} {'gap share':>10}"
        "  lengthscales"
    )
    for t in tasks:
        mine = [c for c in cells if c[0] == t]
        a = np.array([ra[c] for c in mine])
        b = np.array([rb[c] for c in mine])
        share = (a - b).sum() / total if total else float("nan")
        stuck_a, stuck_b = int((a > args.stuck).sum()), int((b > args.stuck).sum())
        print(
            f"{t:>6} {a.mean():8.4f} {b.mean():8.4f} {stuck_a:>5}/{len(mine):<2}"
            f" {stuck_b:>5}/{len(mine):<2} {share:10.2f}  {ls.get(t, '')}"
        )
    a = np.array([ra[c] for c in cells])
    b = np.array([rb[c] for c in cells])
    print(
        f"{'all':>6} {a.mean():8.4f} {b.mean():8.4f}   (median {np.median(a):.4f}"
        f" vs {np.median(b):.4f}; A lower in {int((a < b).sum())} cells,"
        f" higher in {int((a > b).sum())})"
    )
    ratio, (lo, hi) = ratio_over_tasks(ra, rb, cells, tasks, args.boot)
    print(
        f"mean A / mean B = {ratio:.2f}; 95% bootstrap interval over tasks (tasks resampled "
        f"with their seeds) [{lo:.2f}, {hi:.2f}]"
    )


def ratio_over_tasks(
    ra: dict, rb: dict, cells: list, tasks: list, n_boot: int = 5000, seed: int = 0
) -> tuple[float, tuple[float, float]]:
    """The ratio of the two methods' mean regrets and its 95% bootstrap interval when the
    tasks (each with all its seeds) are redrawn: how much the ratio owes to which functions a
    split happens to hold."""
    a = np.array([np.mean([ra[c] for c in cells if c[0] == t]) for t in tasks])
    b = np.array([np.mean([rb[c] for c in cells if c[0] == t]) for t in tasks])
    idx = np.random.default_rng(seed).integers(0, len(tasks), (n_boot, len(tasks)))
    boot = a[idx].mean(1) / b[idx].mean(1)
    lo, hi = np.quantile(boot, [0.025, 0.975])
    return float(a.mean() / b.mean()), (float(lo), float(hi))


if __name__ == "__main__":
    main()

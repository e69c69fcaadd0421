"""A shipped model off the families it was trained and chosen on: BoTorch's own test
functions, each in its own box, against GP-EI and random search, side by side.

The shipped ``gp_prior`` model was trained on GP draws and its decision settings were chosen
on GP-prior functions, Ackley, Hartmann-6, Styblinski-Tang and Levy; none of the functions
here took part. Each (function, seed) starts from the same 5 uniform points for every
method, then ``--steps`` decisions: NAP and NP-EI of the model with its shipped decision
settings (``botorch-nap benchmark``'s ``nap:`` / ``np-ei:``), GP-EI (BoTorch
``SingleTaskGP`` + LogEI) and random search. Regret is normalised per function:
``(optimum - best) / (optimum - worst)``, ``worst`` the lowest of 20,000 uniform points.
The table gives mean regret (AUC over the steps, the middle step, the last step) and paired
Wilcoxon p-values of NAP against GP-EI and against random; ``repeats`` counts proposals
within 1e-6 (unit cube) of an evaluated point. Results go to a JSON file that a rerun
resumes, and a PNG of the mean regret curves.

Run:  python benchmarks/botorch_functions.py [--model gp_prior] [--seeds 10] [--steps 25]
          [--functions rosenbrock4,griewank3,...] [--out runs/botorch_functions.json]
"""

from __future__ import annotations

import argparse
import functools
import json
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from botorch.test_functions import synthetic as S
from scipy.stats import wilcoxon

from botorch_nap.baselines import GPEI, NAP, NPEI, OptimizerSettings, RandomSearch
from botorch_nap.benchmark.loop import run_loop
from botorch_nap.benchmark.methods import describe_method, load_network_and_decisions
from botorch_nap.tasks.base import SearchSpace

#: name -> the function (maximised: BoTorch's ``negate=True``).
FUNCTIONS: dict[str, Callable[[], S.SyntheticTestFunction]] = {
    "rosenbrock4": lambda: S.Rosenbrock(dim=4, negate=True),
    "griewank3": lambda: S.Griewank(dim=3, negate=True),
    "sixhump2": lambda: S.SixHumpCamel(negate=True),
    "dixonprice4": lambda: S.DixonPrice(dim=4, negate=True),
    "rastrigin3": lambda: S.Rastrigin(dim=3, negate=True),
    "michalewicz2": lambda: S.Michalewicz(dim=2, negate=True),
    "shekel4": lambda: S.Shekel(negate=True),
    "powell4": lambda: S.Powell(dim=4, negate=True),
    "dropwave2": lambda: S.DropWave(negate=True),
    "eggholder2": lambda: S.EggHolder(negate=True),
}
METHODS = ("nap", "np-ei", "gp-ei", "random")
N_INIT = 5
REPEAT_TOL = 1e-6


def worst_value(f: S.SyntheticTestFunction, n: int = 20_000) -> float:
    """The lowest value of ``f`` over ``n`` uniform points of its box (a fixed draw)."""
    bounds = f.bounds.to(torch.float64)
    g = torch.Generator().manual_seed(123)
    u = torch.rand(n, f.dim, generator=g, dtype=torch.float64)
    return float(f(bounds[0] + u * (bounds[1] - bounds[0])).min())


@functools.cache
def _worst(name: str) -> float:
    # The same 20,000 evaluations for every run of a function: once per process.
    return worst_value(FUNCTIONS[name]())


def proposer(method: str, model: str, space: SearchSpace, budget: int, seed: int):
    if method in ("nap", "np-ei"):
        kind = "nap" if method == "nap" else "np"
        net, decisions = load_network_and_decisions(model, kind, space)
        cls = NAP if method == "nap" else NPEI
        extra = {"budget": budget} if method == "nap" else {}
        return cls(net, settings=OptimizerSettings(), **extra, **decisions)
    if method == "gp-ei":
        return GPEI(settings=OptimizerSettings())
    # Its own stream: the initial design's generator is seeded with `seed` itself.
    return RandomSearch(generator=torch.Generator().manual_seed(10_007 + seed))


def run_one(name: str, method: str, model: str, seed: int, steps: int) -> dict:
    f = FUNCTIONS[name]()
    bounds = f.bounds.to(torch.float64)
    space = SearchSpace(bounds, [f"x{i}" for i in range(f.dim)])
    # Raw samples etc. come from torch's global generator: one stream per (function,
    # method, seed), the same in any process.
    torch.manual_seed(zlib.crc32(f"{name}|{method}|{seed}".encode()))
    p = proposer(method, model, space, N_INIT + steps, seed)
    r = run_loop(p, lambda X: f(X), bounds, N_INIT, steps, seed=seed)
    opt, worst = float(f.optimal_value), _worst(name)  # BoTorch negates optimal_value too
    u = (r.X - bounds[0]) / (bounds[1] - bounds[0])
    d = torch.cdist(u, u)
    repeats = sum(int(d[i, :i].min() < REPEAT_TOL) for i in range(N_INIT, len(u)))
    regret = ((opt - r.best) / (opt - worst)).clamp_min(0.0)
    return {"regret": regret.tolist(), "repeats": repeats, "seconds": sum(r.decision_s)}


def paired_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided paired Wilcoxon p-value (1 where the pairs are all equal)."""
    diff = a - b
    return float(wilcoxon(diff).pvalue) if np.any(diff != 0) else 1.0


def summarise(results: dict, names: list[str], steps: int) -> list[str]:
    """Table lines: per function, mean AUC / mid / last regret of each method, p-values."""
    mid = steps // 2 + (steps % 2)
    head = f"{'function':<17} {'':<6}" + "".join(f"{m:>10}" for m in METHODS)
    lines = [head + "   p NAP:GP-EI  p NAP:random", "-" * (len(head) + 28)]
    for name in names:
        seeds = sorted(
            {int(k.split("|")[2]) for k in results if k.startswith(f"{name}|")},
        )
        seeds = [s for s in seeds if all(f"{name}|{m}|{s}" in results for m in METHODS)]
        if not seeds:
            continue
        stats = {
            "AUC": lambda v: float(np.mean(v[N_INIT - 1 :])),
            f"r@{mid}": lambda v: v[N_INIT - 1 + mid],
            f"r@{steps}": lambda v: v[-1],
        }
        for i, (label, stat) in enumerate(stats.items()):
            vals = {
                m: np.array([stat(results[f"{name}|{m}|{s}"]["regret"]) for s in seeds])
                for m in METHODS
            }

            first = f"{name} ({len(seeds)})" if i == 0 else ""
            lines.append(
                f"{first:<17} {label:<6}"
                + "".join(f"{vals[m].mean():>10.4g}" for m in METHODS)
                + f"   {paired_p(vals['nap'], vals['gp-ei']):>11.2g}"
                + f"  {paired_p(vals['nap'], vals['random']):>12.2g}"
            )
    reps = {m: sum(v["repeats"] for k, v in results.items() if f"|{m}|" in k) for m in METHODS}
    lines.append("repeats (proposals on an evaluated point): " + str(reps))
    return lines


def plot(results: dict, names: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = 5
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        for m in METHODS:
            curves = [v["regret"] for k, v in results.items() if k.startswith(f"{name}|{m}|")]
            if curves:
                mean = np.mean(np.asarray(curves)[:, N_INIT - 1 :], 0)
                ax.plot(np.arange(len(mean)), np.maximum(mean, 1e-6), label=m)
        ax.set_yscale("log")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    axes.flat[0].set_ylabel("mean normalised regret")
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="gp_prior", help="shipped model name or run folder")
    ap.add_argument("--functions", default=",".join(FUNCTIONS))
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--out", default="runs/botorch_functions.json")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    names = [n.strip() for n in args.functions.split(",") if n.strip()]
    unknown = [n for n in names if n not in FUNCTIONS]
    if unknown:
        ap.error(f"unknown functions {unknown}; known: {', '.join(FUNCTIONS)}")
    if args.seeds < 1 or args.steps < 2:
        ap.error("--seeds must be >= 1 and --steps >= 2")
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    protocol = {"model": args.model, "steps": args.steps, "n_init": N_INIT}
    # What made the network rows (checkpoint, weights' sha256, decision settings), as
    # `botorch-nap benchmark` records it: a re-shipped model's stale rows are caught.
    methods = {m: describe_method(f"{m}:{args.model}") for m in ("nap", "np-ei")}
    doc = json.loads(out.read_text()) if out.exists() else {"runs": {}}
    if doc["runs"] and (doc.get("protocol"), doc.get("methods")) != (protocol, methods):
        ap.error(f"{out} holds runs of another model, weights or --steps; pick another --out")
    doc.update(protocol=protocol, methods=methods)
    runs = doc["runs"]
    todo = [
        (n, m, s)
        for n in names
        for s in range(args.seeds)
        for m in METHODS
        if f"{n}|{m}|{s}" not in runs
    ]
    from tqdm import tqdm

    for n, m, s in tqdm(todo, desc="runs", disable=not todo):
        runs[f"{n}|{m}|{s}"] = run_one(n, m, args.model, s, args.steps)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(doc))
    print(f"model {args.model}: {N_INIT} initial points + {args.steps} steps, regret normalised")
    print("\n".join(summarise(runs, names, args.steps)))
    png = out.with_suffix(".png")
    plot(runs, names, png)
    print(f"plot: {png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

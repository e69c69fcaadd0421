"""Per-decision latency of NAP, NP-EI and GP-EI: everything from the data to the chosen point.

d = 6 (Hartmann-6 data), history n in {10, 100, 300, 1000}; a pool of 1000 candidates
(``optimize_acqf_discrete``) and the continuous box (``optimize_acqf``, the same restarts
and raw samples for every method). Networks: the default NAPConfig, untrained (latency does
not depend on the weights). Median of ``--repeats`` decisions per cell; the ratio column
is GP-EI / NAP measured in the same run.

Run:  python benchmarks/bench_decision.py [--ns 10 100 300 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import torch
from botorch.test_functions import Hartmann

from botorch_nap.baselines import GPEI, NAP, NPEI, OptimizerSettings
from botorch_nap.nn.transformer import NAPConfig, NAPTransformer


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ns", type=int, nargs="+", default=[10, 100, 300, 1000])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--pool", type=int, default=1000)
    p.add_argument("--restarts", type=int, default=8)
    p.add_argument("--raw-samples", type=int, default=256)
    p.add_argument("--modes", nargs="+", default=["pool", "continuous"])
    p.add_argument("--threads", type=int, default=1, help="torch threads (same for all)")
    p.add_argument("--d-model", type=int, default=None, help="network width (default config)")
    p.add_argument("--layers", type=int, default=None, help="network depth (default config)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    torch.manual_seed(0)
    f = Hartmann(dim=6, negate=True)
    bounds = f.bounds.to(torch.float64)
    size = {k: v for k, v in [("d_model", args.d_model), ("n_layers", args.layers)] if v}
    if args.d_model:
        size["d_ff"] = 2 * args.d_model
    net = NAPTransformer(NAPConfig(dim_x=6, **size))
    cfg = net.config
    settings = OptimizerSettings(num_restarts=args.restarts, raw_samples=args.raw_samples)
    methods = {
        "NAP": NAP(net, settings=settings),
        "NP-EI": NPEI(net, settings=settings),
        "GP-EI": GPEI(settings=settings),
    }
    g = torch.Generator().manual_seed(0)
    pool = torch.rand(args.pool, 6, generator=g, dtype=torch.float64)
    print(
        f"Network: d_model {cfg.d_model}, {cfg.n_layers} layers, ff {cfg.d_ff}, "
        f"{cfg.n_buckets} buckets ({net.num_parameters() / 1e3:.0f}k parameters)"
    )
    print(
        f"Per-decision latency (median of {args.repeats}), d=6, pool {args.pool}, continuous: "
        f"{args.restarts} restarts / {args.raw_samples} raw samples; threads "
        f"{torch.get_num_threads()}"
    )
    print(
        f"{'mode':<11} {'n':>5} | {'NAP':>9} {'NP-EI':>9} {'GP-EI':>9} | {'GP-EI/NAP':>9} "
        f"{'GP-EI/NP-EI':>11}"
    )
    for mode in args.modes:
        for n in args.ns:
            X = torch.rand(n, 6, generator=g, dtype=torch.float64)
            Y = f(X).unsqueeze(-1)
            cands = pool if mode == "pool" else None
            t = {
                name: median_time(
                    lambda m=m, X=X, Y=Y, c=cands: m.propose(X, Y, bounds, c), args.repeats
                )
                for name, m in methods.items()
            }
            print(
                f"{mode:<11} {n:>5} | {t['NAP']:>8.3f}s {t['NP-EI']:>8.3f}s {t['GP-EI']:>8.3f}s"
                f" | {t['GP-EI'] / t['NAP']:>8.1f}x {t['GP-EI'] / t['NP-EI']:>10.1f}x",
                flush=True,
            )


if __name__ == "__main__":
    main()

"""Sampling throughput of every task family: ``sample_batch(b, n_points)`` calls per second
and tasks x points per second (training must never wait for data).

Usage::

    python benchmarks/bench_tasks.py [--b 32] [--n-points 200] [--seconds 2] [--data-dir DIR]

Families whose data are missing are reported as skipped. The first call of each family is
timed separately ("setup": e.g. YAHPO's per-split cache of evaluated points, or the GP fits
of augmentation, which are cached on disk after the first run).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch

from botorch_nap.tasks import get_family


def bench(family, b: int, n_points: int, seconds: float, split: str = "train") -> dict:
    gen = torch.Generator().manual_seed(0)
    t0 = time.perf_counter()
    if hasattr(family, "prepare"):  # augmentation: fit (or load) every GP up front
        family.prepare()
    family.sample_batch(b, n_points, gen, split=split)
    setup = time.perf_counter() - t0
    calls, t0 = 0, time.perf_counter()
    while calls < 3 or time.perf_counter() - t0 < seconds:
        family.sample_batch(b, n_points, gen, split=split)
        calls += 1
    dt = (time.perf_counter() - t0) / calls
    return {"setup_s": setup, "batches_per_s": 1 / dt, "points_per_s": b * n_points / dt}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--b", type=int, default=32)
    ap.add_argument("--n-points", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    gp_cache = tempfile.mkdtemp(prefix="bench_gp_fits_")

    specs: list[tuple[str, str, dict]] = [
        ("gp_prior rbf 2d", "gp_prior", {"dim": 2}),
        ("gp_prior matern52 6d", "gp_prior", {"dim": 6, "kernel": "matern52"}),
        ("branin", "branin", {}),
        ("goldstein_price", "goldstein_price", {}),
        ("hartmann3", "hartmann3", {}),
        ("hartmann6", "hartmann6", {}),
        ("ackley 2d", "ackley", {}),
        ("levy 2d", "levy", {}),
        ("styblinski_tang 2d", "styblinski_tang", {}),
        ("hpobench_xgb", "hpobench_xgb", {}),
        ("hpobench_xgb +aug", "hpobench_xgb", {"augment": {"cache_dir": gp_cache}}),
        (
            "hpobench_xgb +aug +prior 0.3",
            "hpobench_xgb",
            {"augment": {"cache_dir": gp_cache, "prior_mix": 0.3}},
        ),
        ("lcbench (cached 2048)", "lcbench", {}),
        ("lcbench (fresh points)", "lcbench", {"cache_points": None}),
        ("rbv2_rpart (cached 2048)", "rbv2_rpart", {}),
        ("rbv2_xgboost (cached 2048)", "rbv2_xgboost", {}),
        ("rbv2_xgboost (fresh points)", "rbv2_xgboost", {"cache_points": None}),
        ("iaml_glmnet (cached 2048)", "iaml_glmnet", {}),
    ]
    print(
        f"sample_batch(b={args.b}, n_points={args.n_points}), split=train, "
        f"torch threads={torch.get_num_threads()}"
    )
    header = f"{'family':32s} {'setup s':>8s} {'batches/s':>10s} {'tasks x points/s':>17s}"
    print(header)
    print("-" * len(header))
    for label, name, kw in specs:
        try:
            fam = get_family(name, data_dir=args.data_dir, **kw)
        except FileNotFoundError as e:
            print(f"{label:32s} skipped: {str(e).splitlines()[0]}")
            continue
        r = bench(fam, args.b, args.n_points, args.seconds)
        print(
            f"{label:32s} {r['setup_s']:8.2f} {r['batches_per_s']:10.1f} "
            f"{r['points_per_s']:17,.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()

"""What the distance bias (``NAPConfig.distance_bias``) costs: forward time and peak memory of
the same network with and without it, side by side in one run.

One decision's network work: encode ``n`` history points, score ``m`` candidates (no
gradients, float32, one thread, batch 1), at the two shipped sizes (``hpobench_xgb``: d_model
32, 2 layers, d_ff 64; ``gp_prior``: d_model 128, 4 layers, d_ff 256). Each configuration runs
in a fresh subprocess, so each peak RSS is measured on its own.

Run:  python benchmarks/bench_distance_bias.py [--sizes 100x1000 1000x1000 10000x1000]
          [--repeats 7]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

NETWORKS = {
    "small (hpobench_xgb size)": dict(d_model=32, n_layers=2, d_ff=64),
    "large (gp_prior size)": dict(d_model=128, n_layers=4, d_ff=256),
}


def worker(net_name: str, bias: bool, n: int, m: int, d: int, repeats: int) -> dict:
    import torch

    torch.set_num_threads(1)
    from botorch_nap.nn.transformer import NAPConfig, NAPTransformer

    torch.manual_seed(0)
    cfg = NAPConfig(dim_x=d, distance_bias=bias, **NETWORKS[net_name])
    net = NAPTransformer(cfg).eval().requires_grad_(False)
    if bias:  # trained-like widths; the cost does not depend on them
        torch.nn.init.uniform_(net.dist_w, 0.0, 3.0)
    hx, hy, qx = torch.rand(1, n, d), torch.randn(1, n), torch.rand(1, m, d)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    with torch.no_grad():
        net(hx, hy, qx)  # warm-up
        for _ in range(repeats):
            t0 = time.perf_counter()
            net(hx, hy, qx)
            times.append(time.perf_counter() - t0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"time_s": sorted(times)[len(times) // 2], "peak_mb": (peak - base) / 1024.0}


def run(net_name: str, bias: bool, n: int, m: int, d: int, repeats: int) -> dict:
    args = [net_name, str(int(bias)), str(n), str(m), str(d), str(repeats)]
    out = subprocess.run(
        [sys.executable, __file__, "--worker", *args], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", nargs="+", default=["100x1000", "1000x1000", "10000x1000"])
    p.add_argument("--dim", type=int, default=6)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--worker", nargs=6, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        name, bias, n, m, d, reps = args.worker
        print(json.dumps(worker(name, bias == "1", int(n), int(m), int(d), int(reps))))
        return

    print(
        f"one decision's forward pass, float32, 1 thread, d = {args.dim}; median of {args.repeats}"
    )
    print(
        f"{'network':<27} {'n':>6} {'m':>6} | {'plain':>9} {'bias':>9} {'time x':>7} | "
        f"{'plain MB':>9} {'bias MB':>9}"
    )
    for name in NETWORKS:
        for size in args.sizes:
            n, m = (int(v) for v in size.split("x"))
            reps = max(1, args.repeats // 3) if n >= 5000 else args.repeats
            plain = run(name, False, n, m, args.dim, reps)
            bias = run(name, True, n, m, args.dim, reps)
            print(
                f"{name:<27} {n:>6} {m:>6} | {plain['time_s'] * 1e3:>7.1f}ms "
                f"{bias['time_s'] * 1e3:>7.1f}ms {bias['time_s'] / plain['time_s']:>6.2f}x | "
                f"{plain['peak_mb']:>9.0f} {bias['peak_mb']:>9.0f}",
                flush=True,
            )
    print("time x: with the bias divided by without (1.00 = free). MB: peak RSS growth.")


if __name__ == "__main__":
    main()

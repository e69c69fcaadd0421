"""Forward time and peak memory of NAPTransformer vs the dense-mask reference.

For each (n history, m queries) the efficient path (history encoded once, queries scored in
chunks against it) and the dense ``(n + m)^2``-mask reference run in separate subprocesses,
so that each peak RSS is measured on its own. Printed side by side, as ratios.

Run:  python benchmarks/bench_network.py [--sizes 50x1000 200x10000 1000x100000 10000x1000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

#: Skip the dense reference when its attention matrices alone would exceed this.
DENSE_LIMIT_GB = 8.0


def worker(kind: str, n: int, m: int, chunk: int, d: int) -> dict:
    import torch

    torch.set_num_threads(1)  # one thread for both paths: comparable on a shared machine
    from botorch_nap.nn.reference import dense_forward
    from botorch_nap.nn.transformer import NAPConfig, NAPTransformer

    torch.manual_seed(0)
    net = NAPTransformer(NAPConfig(dim_x=d)).eval()
    hx, hy, qx = torch.rand(1, n, d), torch.randn(1, n), torch.rand(1, m, d)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    with torch.no_grad():
        for _ in range(1 if m >= 50_000 else 3):
            t0 = time.perf_counter()
            if kind == "nap":
                net(hx, hy, qx, chunk_size=chunk)
            else:
                dense_forward(net, hx, hy, qx)
            times.append(time.perf_counter() - t0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"time_s": sorted(times)[len(times) // 2], "peak_mb": (peak - base) / 1024.0}


def run(kind: str, n: int, m: int, chunk: int, d: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", kind, str(n), str(m), str(chunk), str(d)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--sizes", nargs="+", default=["50x1000", "200x10000", "1000x100000", "10000x1000"]
    )
    p.add_argument("--chunk", type=int, default=4096)
    p.add_argument("--dim", type=int, default=6)
    p.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        kind, n, m, chunk, d = args.worker
        print(json.dumps(worker(kind, int(n), int(m), int(chunk), int(d))))
        return

    from botorch_nap.nn.transformer import NAPConfig

    cfg = NAPConfig(dim_x=args.dim)
    print(
        f"NAPTransformer default config (d_model {cfg.d_model}, {cfg.n_layers} layers, "
        f"{cfg.n_heads} heads), float32, 1 thread, batch 1, query chunk {args.chunk}, d={args.dim}"
    )
    print(
        f"{'n':>6} {'m':>8} | {'NAP time':>10} {'NAP peak':>10} {'MB/1k q':>8} | "
        f"{'dense time':>10} {'dense peak':>10} | {'time x':>7} {'mem x':>7}"
    )
    for size in args.sizes:
        n, m = (int(v) for v in size.split("x"))
        nap = run("nap", n, m, args.chunk, args.dim)
        dense_gb = cfg.n_heads * (n + m) ** 2 * 4 * 2 / 1e9  # scores + probabilities
        per_k = nap["peak_mb"] / (m / 1000)
        line = f"{n:>6} {m:>8} | {nap['time_s']:>9.3f}s {nap['peak_mb']:>8.0f}MB {per_k:>8.2f} | "
        if dense_gb > DENSE_LIMIT_GB:
            line += f"{'skipped: dense attention needs ~' + format(dense_gb, '.0f') + ' GB':>41}"
        else:
            dense = run("dense", n, m, args.chunk, args.dim)
            line += (
                f"{dense['time_s']:>9.3f}s {dense['peak_mb']:>8.0f}MB | "
                f"{dense['time_s'] / nap['time_s']:>6.1f}x "
                f"{dense['peak_mb'] / max(nap['peak_mb'], 1e-3):>6.1f}x"
            )
        print(line, flush=True)
    print(
        "time x / mem x: dense reference divided by NAP (higher = NAP better). Peak = RSS "
        "growth during the forward passes, measured in a fresh subprocess."
    )


if __name__ == "__main__":
    main()

"""Where a pool decision's network time goes, beyond ``bench_decision.py --breakdown``:
scoring 1000 candidates at several chunk sizes, the history encoding alone, and the minor
page faults per scoring call (glibc returning heap memory to the system between calls;
compare a run under ``MALLOC_TOP_PAD_=16777216``, which keeps 16 MiB of heap).

Run:  python benchmarks/score_overhead.py [--n 100] [--pool 1000] [--network hpobench_xgb]
"""

from __future__ import annotations

import argparse
import resource
import time

import torch

from botorch_nap.context import inference_copy
from botorch_nap.nn.transformer import NAPTransformer
from botorch_nap.pretrained import checkpoint_path


def minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def timed(fn, repeats: int) -> tuple[float, float]:
    """Median milliseconds per call and minor page faults per call (after 5 warm-up calls)."""
    for _ in range(5):
        fn()
    times, f0 = [], minor_faults()
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    faults = (minor_faults() - f0) / repeats
    return sorted(times)[len(times) // 2] * 1e3, faults


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--network", default="hpobench_xgb")
    p.add_argument("--n", type=int, default=100, help="history size")
    p.add_argument("--pool", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=50)
    p.add_argument("--chunks", type=int, nargs="+", default=[4096, 512, 256])
    args = p.parse_args()
    torch.set_num_threads(1)
    net = NAPTransformer.load(checkpoint_path(args.network, "nap"))
    net = inference_copy(net, torch.float32)
    d = net.config.dim_x
    g = torch.Generator().manual_seed(0)
    X, y = torch.rand(1, args.n, d, generator=g), torch.randn(1, args.n, generator=g)
    U = torch.rand(1, args.pool, d, generator=g)
    print(f"{args.network} network, float32, one thread, n = {args.n}, pool {args.pool}")
    with torch.no_grad():
        enc = net.encode_history(X, y)
        rows = {"encode the history": lambda: net.encode_history(X, y)}
        for c in args.chunks:
            rows[f"score, chunk size {c}"] = lambda c=c: net.score(enc, U, c, return_logits=False)
        for name, fn in rows.items():
            ms, faults = timed(fn, args.repeats)
            print(f"  {name:<28} {ms:7.2f} ms   {faults:7.0f} minor faults/call")


if __name__ == "__main__":
    main()

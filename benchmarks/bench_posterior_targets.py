"""Cost of posterior targets per pretraining step, beside the plain NP loss, in one run.

A step of ``pretrain --posterior-targets`` also solves each task's exact GP posterior (one
batched Cholesky over the ``N x N`` points of its 32 tasks, in float64) and spreads each
target's Gaussian over the bars. This times forward + backward + optimiser step of both losses
on the same batches (the shipped ``gp_prior`` recipe's 2..6-d GP-prior family), interleaved so
that a busy machine slows both alike, and prints the medians and their ratio (CPU time of
this process, one torch thread by default).

Run:  python benchmarks/bench_posterior_targets.py [--d-model 128 --layers 4 --d-ff 256]
          [--steps 20] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from botorch_nap.nn.transformer import NAPConfig, NAPTransformer
from botorch_nap.tasks import get_family
from botorch_nap.training.common import np_loss
from botorch_nap.training.posterior import posterior_loss
from botorch_nap.training.pretrain import _draw

RECIPE = dict(
    dim=6,
    min_dim=2,
    near_frac=0.3,
    noise_std_range=(0.001, 0.3),
    noisy_frac=0.3,
    lengthscale_range=(0.1, 1.0),
)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--d-model", type=int, default=128)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--d-ff", type=int, default=256)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    fam = get_family("gp_prior", **RECIPE)
    cfg = NAPConfig(
        dim_x=6,
        min_dim=2,
        d_model=args.d_model,
        n_layers=args.layers,
        d_ff=args.d_ff,
        distance_bias=True,
    )
    net = NAPTransformer(cfg)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
    gen = torch.Generator().manual_seed(0)

    def step(loss: torch.Tensor) -> None:
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    times: dict[str, list[float]] = {"values (NP loss)": [], "posterior targets": []}
    for i in range(args.steps + 2):
        X, y, n_ctx, batch = _draw(
            fam, 32, (16, 96), gen, "train", 1, torch.float32, "cpu", with_prior=True
        )
        for name in times:
            t0 = time.process_time()
            if name == "posterior targets":
                step(posterior_loss(net, batch, n_ctx))
            else:
                step(np_loss(net, X, y, n_ctx))
            if i >= 2:  # two warm-up rounds
                times[name].append(time.process_time() - t0)
    print(
        f"network d_model {args.d_model} x {args.layers} layers, d_ff {args.d_ff} "
        f"({net.num_parameters():,} parameters), batch 32 tasks of 16-96 points, "
        f"{args.threads} thread(s), median of {args.steps} steps (CPU s)"
    )
    base = statistics.median(times["values (NP loss)"])
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:<18} | {med * 1000:8.1f} ms/step | {med / base:.2f}x")


if __name__ == "__main__":
    main()

"""Training throughput on this machine: env steps/s, PPO updates/s, NP steps/s, peak memory.

Runs the *default* configurations (``NAPConfig`` and ``PPOConfig`` defaults; NP pretraining
with its default batch) on a GP-prior family for a few iterations and prints one table.

    .venv/bin/python benchmarks/bench_training.py [--dim 3] [--iterations 2] [--threads N]

"env steps/s" counts BO steps (one candidate chosen and evaluated) in the rollout phase,
``episodes_per_iter`` episodes in lockstep; "PPO updates/s" counts minibatch gradient steps
(``minibatch_size`` states each, every state scoring ``n_candidates`` candidates).
Peak memory is the process's maximum resident set size.
"""

from __future__ import annotations

import argparse
import platform
import resource
import tempfile
import time

import torch

from botorch_nap.nn.transformer import NAPConfig, NAPTransformer
from botorch_nap.tasks import get_family
from botorch_nap.training.ppo import PPOConfig, train
from botorch_nap.training.pretrain import pretrain


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dim", type=int, default=3)
    ap.add_argument("--iterations", type=int, default=2)
    ap.add_argument("--pretrain-steps", type=int, default=30)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    fam = get_family("gp_prior", dim=args.dim)
    net = NAPTransformer(NAPConfig(dim_x=args.dim))
    cfg = PPOConfig(iterations=args.iterations, val_every=0)
    print(
        f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{args.threads} thread(s); network {net.num_parameters():,} parameters"
    )
    print(
        f"PPO default: {cfg.episodes_per_iter} episodes x T={cfg.horizon}, "
        f"{cfg.n_candidates} candidates, minibatch {cfg.minibatch_size} states, "
        f"{cfg.update_epochs} epochs"
    )

    t = time.perf_counter()
    m_np = pretrain(
        net, fam, steps=args.pretrain_steps, val_every=10**9, val_tasks=32, progress=False
    )
    t_np = time.perf_counter() - t
    rss_np = peak_rss_mb()
    with tempfile.TemporaryDirectory() as d:
        m = train(net, fam, cfg, out_dir=d, progress=False)
    rows = [
        ("NP pretrain steps/s (batch 32, 16-96 points)", f"{m_np['steps_per_s']:.2f}"),
        ("NP pretrain wall s", f"{t_np:.1f}"),
        ("PPO env steps/s (rollout)", f"{m['rollout_env_steps_per_s']:.1f}"),
        ("PPO updates/s (minibatch gradient steps)", f"{m['updates_per_s']:.2f}"),
        ("PPO iterations/s", f"{m['iters_per_s']:.4f}"),
        (
            "PPO s/iteration (rollout + update)",
            f"{(m['rollout_s'] + m['update_s']) / m['iterations']:.1f}",
        ),
        ("peak RSS after pretraining (MB)", f"{rss_np:.0f}"),
        ("peak RSS overall (MB)", f"{peak_rss_mb():.0f}"),
    ]
    w = max(len(r[0]) for r in rows)
    for k, v in rows:
        print(f"{k:<{w}}  {v}")


if __name__ == "__main__":
    main()

"""Training throughput on this machine: NP pretraining, and PPO transitions per CPU-minute of
the trainer as the RL-stage issue found it (``--baseline-rev``, default ``d135fa5``), of
today's trainer scoring every candidate with gradients in the update, and of the subsampled
update (``PPOConfig.aux_targets``: the top-k support plus a uniform draw of NP-loss
targets), and of the policy-only recipe (``trainable="policy"``, the trunk and bar head
frozen) without and with ``cache_frozen`` (the update reads the heads' inputs kept from the
rollout), in one run, with their ratios against the first (issue 13).

Every PPO run uses the same network size (default: the shipped models', d_model 64 x 3
layers), episodes, top-k and seeds, each in a fresh worker process (the baseline imports
``botorch_nap`` from a temporary git worktree of its revision). A transition is one BO step
of one episode (a candidate chosen and evaluated); the update then revisits it
``update_epochs`` times. CPU time is the worker's (one torch thread by default), so a busy
machine inflates it less than wall time.

    .venv/bin/python benchmarks/bench_training.py [--iterations 3] [--aux-targets 32]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

import torch

BASELINE_REV = "d135fa5"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def build(args: argparse.Namespace):
    from botorch_nap.nn.transformer import NAPConfig, NAPTransformer
    from botorch_nap.tasks import get_family

    torch.manual_seed(0)
    size = dict(d_model=args.d_model, n_layers=args.layers, d_ff=2 * args.d_model)
    return get_family("gp_prior", dim=args.dim), NAPTransformer(NAPConfig(dim_x=args.dim, **size))


def ppo_worker(args: argparse.Namespace) -> None:
    """One PPO run in this process (whatever ``botorch_nap`` it imports): prints JSON."""
    from botorch_nap.training.ppo import PPOConfig, train

    torch.set_num_threads(args.threads)
    fam, net = build(args)
    cfg = PPOConfig(iterations=args.iterations, val_every=0, top_k=args.top_k, **args.extra)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as d:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        m = train(net, fam, cfg, out_dir=d, progress=False)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    steps = m["iterations"] * cfg.episodes_per_iter * cfg.horizon
    out = {
        "per_cpu_min": steps / cpu * 60.0,
        "per_wall_min": steps / wall * 60.0,
        "rollout_s": m["rollout_s"] / m["iterations"],
        "update_s": m["update_s"] / m["iterations"],
        "peak_mb": peak_rss_mb(),
    }
    print(json.dumps(out))


def run_ppo(args: argparse.Namespace, extra: dict, package_root: str | None = None) -> dict:
    cmd = [sys.executable, __file__, "--ppo-worker", json.dumps(extra)]
    for k in ("dim", "d_model", "layers", "iterations", "top_k", "threads"):
        cmd += [f"--{k.replace('_', '-')}", str(getattr(args, k))]
    env = dict(os.environ)
    if package_root:
        env["PYTHONPATH"] = package_root + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode:
        raise RuntimeError(f"PPO worker failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dim", type=int, default=3)
    ap.add_argument("--d-model", type=int, default=64, help="network width (shipped: 64)")
    ap.add_argument("--layers", type=int, default=3, help="network depth (shipped: 3)")
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--top-k", type=int, default=5, help="policy support (shipped recipe: 5)")
    ap.add_argument("--aux-targets", type=int, default=32, help="the subsampled update's")
    ap.add_argument("--pretrain-steps", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--baseline-rev", default=BASELINE_REV, help="revision of the trainer to compare with"
    )
    ap.add_argument("--ppo-worker", type=json.loads, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.ppo_worker is not None:
        args.extra = args.ppo_worker
        ppo_worker(args)
        return
    torch.set_num_threads(args.threads)

    from botorch_nap.training.ppo import PPOConfig
    from botorch_nap.training.pretrain import pretrain

    fam, net = build(args)
    base = PPOConfig(top_k=args.top_k)
    print(
        f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{args.threads} thread(s); network d_model {args.d_model} x {args.layers} layers, "
        f"{net.num_parameters():,} parameters"
    )
    print(
        f"PPO: {base.episodes_per_iter} episodes x T={base.horizon}, {base.n_candidates} "
        f"candidates, top-{base.top_k}, minibatch {base.minibatch_size} states, "
        f"{base.update_epochs} epochs, {args.iterations} iterations per trainer"
    )
    t = time.perf_counter()
    m_np = pretrain(
        net, fam, steps=args.pretrain_steps, val_every=10**9, val_tasks=32, progress=False
    )
    print(
        f"NP pretraining: {m_np['steps_per_s']:.2f} steps/s (batch 32, 16-96 points), "
        f"{time.perf_counter() - t:.1f} s"
    )

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_decision import Revision

    runs = {}
    if args.baseline_rev:
        with Revision(args.baseline_rev) as rev:
            runs[f"{args.baseline_rev} (every candidate)"] = run_ppo(args, {}, rev.path)
    runs["today, every candidate"] = run_ppo(args, {})
    runs[f"today, aux_targets {args.aux_targets}"] = run_ppo(
        args, {"aux_targets": args.aux_targets}
    )
    # The policy-only recipe (trainable="policy": trunk and bar head frozen) of the shipped
    # gp_prior_short, with the update re-running the network and reading the rollout's cache.
    runs["today, policy only"] = run_ppo(
        args, {"trainable": "policy", "aux_targets": args.aux_targets}
    )
    runs["today, policy only, cache_frozen"] = run_ppo(
        args, {"trainable": "policy", "cache_frozen": True}
    )
    ref = next(iter(runs.values()))["per_cpu_min"]
    w = max(len(k) for k in runs)
    print(
        f"{'trainer':<{w}} | transitions/CPU-min | transitions/wall-min | rollout s/it | "
        f"update s/it | peak MB | x"
    )
    for k, r in runs.items():
        print(
            f"{k:<{w}} | {r['per_cpu_min']:>19.0f} | {r['per_wall_min']:>20.0f} | "
            f"{r['rollout_s']:>12.2f} | {r['update_s']:>11.2f} | {r['peak_mb']:>7.0f} | "
            f"{r['per_cpu_min'] / ref:.1f}x"
        )


if __name__ == "__main__":
    main()

"""Tutorial 3: train NAP on your own task family, on a small CPU budget.

The situation NAP is made for: you have tuned the same kind of model many times before and
kept the evaluations. Here those past runs are simulated (a 3-parameter "training job" whose
optimum moves from dataset to dataset) and written in the own-data format
(``botorch_nap/tasks/OWN_DATA.md``): one CSV per past task plus a ``space.json``. Then:

1. ``get_family(folder)`` turns the folder into a pool task family with train/val/test splits;
2. ``pretrain`` fits the neural process (the bar head; NP-EI uses it as it is);
3. ``train`` runs PPO with the auxiliary NP loss from that warm start: the NAP policy;
4. the checkpoints are plain folders (``config.json`` + ``weights.pt``); a BoTorch loop on a
   held-out task uses ``NAPAcquisition.from_checkpoint`` with ``optimize_acqf_discrete``.

Budgets: the defaults take a few CPU minutes and give a usable model; the shipped models'
NPs took 4 to 30 CPU-minutes each, ``gp_prior``'s (a larger network, also under
``gp_prior_short`` and ``ackley_short``) about 13 CPU-hours (``benchmarks/build_pretrained.sh``,
the model cards). The command line does
the same (``botorch-nap pretrain`` / ``botorch-nap train --family path/to/folder``).

Run:  python tutorials/03_train_your_own.py [--pretrain-steps 1500] [--ppo-iterations 10]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path
from statistics import fmean as mean

import torch
from botorch.optim import optimize_acqf_discrete

from botorch_nap import NAPAcquisition, NAPConfig, NAPTransformer, NPExpectedImprovement
from botorch_nap.tasks import get_family
from botorch_nap.training.ppo import PPOConfig, train
from botorch_nap.training.pretrain import pretrain

PARAMS = [
    {"name": "lr", "type": "float", "lower": 1e-4, "upper": 1e-1, "log": True},
    {"name": "dropout", "type": "float", "lower": 0.0, "upper": 0.5},
    {"name": "width", "type": "int", "lower": 16, "upper": 256},
]


def past_tuning_runs(folder: Path, n_tasks: int = 30, n_points: int = 200, seed: int = 0) -> Path:
    """Write ``n_tasks`` simulated past tuning runs (validation loss, minimised) as CSVs."""
    folder.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(seed)
    for t in range(n_tasks):
        best_lr = -3.0 + 1.0 * torch.rand((), generator=g)  # log10, dataset dependent
        best_dropout = 0.1 + 0.3 * torch.rand((), generator=g)
        best_width = 64 + 128 * torch.rand((), generator=g)
        floor = 0.1 + 0.2 * torch.rand((), generator=g)
        rows = []
        for _ in range(n_points):
            lr = 10 ** (-4 + 3 * torch.rand((), generator=g))
            dropout = 0.5 * torch.rand((), generator=g)
            width = int(16 + 240 * torch.rand((), generator=g))
            loss = (
                floor
                + 0.3 * (math.log10(lr) - best_lr) ** 2
                + 1.5 * (dropout - best_dropout) ** 2
                + 0.2 * (math.log(width) - math.log(best_width)) ** 2
                + 0.02 * torch.randn((), generator=g).abs()
            )
            rows.append([f"{float(lr):.6g}", f"{float(dropout):.4f}", width, f"{float(loss):.5f}"])
        with open(folder / f"dataset_{t:02d}.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["lr", "dropout", "width", "val_loss"])
            w.writerows(rows)
    space = {
        "name": "my_tuning_runs",
        "objective": "val_loss",
        "minimize": True,
        "parameters": PARAMS,
    }
    (folder / "space.json").write_text(json.dumps(space, indent=1))
    return folder


def bo_on_held_out_task(acqf_factory, task, n_init: int, steps: int, seed: int) -> list[float]:
    """A plain BoTorch pool loop on one held-out task; returns the normalised regret after
    each step. ``acqf_factory=None``: random search over the same pool, for scale."""
    pool_X = task.X  # the task's evaluated configurations, in search-space units
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(pool_X), generator=g)
    X, Y = pool_X[order[:n_init]], task.y[order[:n_init]].unsqueeze(-1)
    regrets = []
    for step in range(steps):
        if acqf_factory is None:
            x = pool_X[order[n_init + step]].unsqueeze(0)
        else:
            acqf = acqf_factory(X, Y)
            x, _ = optimize_acqf_discrete(acqf, q=1, choices=pool_X, X_avoid=X)
        X, Y = torch.cat([X, x]), torch.cat([Y, task.evaluate(x).unsqueeze(-1)])
        regrets.append(float(task.normalized_regret(Y.max())))
    return regrets


def main(argv: list[str] | None = None) -> dict[str, float]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workdir", default="runs/tutorial03")
    p.add_argument("--n-tasks", type=int, default=30)
    p.add_argument("--pretrain-steps", type=int, default=1500)
    p.add_argument("--ppo-iterations", type=int, default=10)
    p.add_argument("--episodes", type=int, default=8, help="PPO episodes per iteration")
    p.add_argument("--steps", type=int, default=15, help="BO steps on each held-out task")
    p.add_argument("--seeds", type=int, default=3)
    args = p.parse_args(argv)
    if args.steps < 1:
        p.error("--steps must be at least 1")
    work = Path(args.workdir)

    # 1. Your past runs as a task family.
    family = get_family(str(past_tuning_runs(work / "data", args.n_tasks)))
    print(
        f"family {family.name}: d = {family.space.dim}, "
        + ", ".join(f"{s} {len(family.split_ids(s))} tasks" for s in ("train", "val", "test"))
    )
    smallest = min(len(t.X) for t in family.tasks("test"))
    if 5 + args.steps > smallest:  # checked before any training
        p.error(f"--steps {args.steps}: a held-out task has only {smallest} points (5 initial)")

    # 2. NP pretraining: a small network, the learning rate that suits it.
    torch.manual_seed(0)
    net = NAPTransformer(NAPConfig(dim_x=family.space.dim, d_model=64, n_layers=3, d_ff=128))
    m = pretrain(
        net,
        family,
        steps=args.pretrain_steps,
        lr=1e-3,
        n_points=(8, 64),
        val_every=max(args.pretrain_steps // 5, 1),
        out_dir=work / "np",
        seed=0,
    )
    print(f"NP: {m['steps']} steps, best validation NLL {m['best_val_nll']:.3f}")

    # 3. PPO from the NP (in place; the best network on validation regret is kept).
    nap = NAPTransformer.load(work / "np")
    cfg = PPOConfig(
        iterations=args.ppo_iterations,
        episodes_per_iter=args.episodes,
        horizon=12,
        n_candidates=128,
        reward="vs_npei",
        early_weight=1.0,
        top_k=5,
        val_every=max(args.ppo_iterations // 2, 1),
        val_episodes=16,
    )
    r = train(nap, family, cfg, out_dir=work / "nap")
    print(
        f"NAP: {r['iterations']} PPO iterations, validation regret "
        f"{r['best_val_regret']:.4f} (best at iteration {r['best_iteration']}; 0 = warm start)"
    )

    # 4. A BoTorch loop on held-out tasks with the saved checkpoints.
    bounds = family.space.bounds
    methods = {
        "NAP": lambda X, Y: NAPAcquisition.from_checkpoint(
            work / "nap", X, Y, bounds, budget=5 + args.steps
        ),
        "NP-EI": lambda X, Y: NPExpectedImprovement.from_network(
            NAPTransformer.load(work / "np"), X, Y, bounds
        ),
        "random": None,
    }
    tasks = family.tasks("test")
    out = {}
    # These tasks are easy (one smooth optimum): every method ends at or near 0, so the
    # early steps and the mean over all steps are where the methods differ.
    early = min(3, args.steps)
    print(
        f"\nmean normalised regret on {len(tasks)} held-out tasks x {args.seeds} seeds "
        f"(5 initial points, {args.steps} steps)"
    )
    print(f"{'method':<8} {f'after {early}':>9} {'over all':>9} {'final':>9}")
    for name, make in methods.items():
        runs = [
            bo_on_held_out_task(make, t, 5, args.steps, s) for t in tasks for s in range(args.seeds)
        ]
        out[name] = mean([r[-1] for r in runs])
        at, over = mean([r[early - 1] for r in runs]), mean([mean(r) for r in runs])
        print(f"{name:<8} {at:>9.4f} {over:>9.4f} {out[name]:>9.4f}")
    return out


if __name__ == "__main__":
    main()

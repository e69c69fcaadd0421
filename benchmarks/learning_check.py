"""Learning check of issue 5: does PPO make NAP better than its own NP-EI warm start?

Stages, each checkpointed under ``--out`` and skipped or resumed when re-run (so the script
can be killed and restarted: ``nohup ... &`` then the same command again):

1. ``np/``: NP pretraining (aux loss alone) with early stopping on validation NLL.
2. ``rl/``: PPO + aux loss starting from ``np/`` (``--reward``, default the paired
   ``vs_npei`` baseline of DESIGN.md, with early-step weighting).
3. ``eval_<method>.npy``: greedy episodes on the *validation* tasks (``--eval-split``),
   ``--seeds`` seeds per task, ``--n-init`` random initial points, ``--steps`` BO steps,
   candidate set = the task's pool (pool families) or ``--n-candidates`` uniform points per
   seed (continuous families).
   Methods: ``nap`` (best PPO checkpoint on validation), ``npei`` (the warm start's bar EI),
   ``npei_rl`` (bar EI of the PPO checkpoint: the NP after PPO's aux loss, without its policy),
   ``nap_warm`` (the warm start's acquisition head; equals NP-EI up to ties), ``untrained``
   (a freshly initialised network's acquisition head), ``random``, and optionally ``gpei``
   (BoTorch GP-EI via :mod:`botorch_nap.baselines`, ``--gpei-seeds`` seeds per task).
4. ``report.json`` / stdout: mean normalised regret (task optimum / worst) over steps
   1..steps and at steps 10 and 25, and paired Wilcoxon signed-rank tests of NAP against each
   method over the (task, seed) runs.

Example (one GP-prior and one pool family, ~1 CPU-hour each)::

    OMP_NUM_THREADS=1 nohup .venv/bin/python benchmarks/learning_check.py --family gp_prior \\
        --family-kw dim=3 --out runs/lc_gp3 --pretrain-minutes 12 --ppo-minutes 40 \\
        --gpei-seeds 3 > runs/lc_gp3.log 2>&1 &
    OMP_NUM_THREADS=1 nohup .venv/bin/python benchmarks/learning_check.py \\
        --family hpobench_xgb --data-dir ../shared/data --augment --out runs/lc_xgb \\
        --pretrain-minutes 10 --ppo-minutes 35 --gpei-seeds 2 > runs/lc_xgb.log 2>&1 &
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from botorch_nap.nn.transformer import NAPConfig, NAPTransformer
from botorch_nap.normalization import to_unit_cube
from botorch_nap.tasks import get_family
from botorch_nap.training.checkpoint import LAST_DIR, TRAIN_STATE_FILE
from botorch_nap.training.env import (
    BOEnv,
    EnvConfig,
    nap_score_fn,
    npei_score_fn,
    random_score_fn,
)
from botorch_nap.training.ppo import PPOConfig, train
from botorch_nap.training.pretrain import pretrain


def parse_kv(items):
    out = {}
    for it in items or []:
        k, v = it.split("=", 1)
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


def net_config(args, dim: int) -> NAPConfig:
    return NAPConfig(dim_x=dim, **parse_kv(args.net_kw))


def done_marker(d: Path) -> Path:
    return d / "DONE.json"


# ---------------------------------------------------------------------------- stages
def stage_pretrain(args, fam, out: Path) -> Path:
    d = out / "np"
    if done_marker(d).is_file():
        return d
    resume = (d / LAST_DIR / TRAIN_STATE_FILE).is_file()
    torch.manual_seed(args.seed)
    net = NAPTransformer(net_config(args, fam.space.dim))
    elapsed_before = 0.0
    if resume:
        elapsed_before = (
            json.loads((d / "elapsed.json").read_text())["s"]
            if (d / "elapsed.json").is_file()
            else 0.0
        )
    budget = args.pretrain_minutes * 60 - elapsed_before
    t0 = time.time()
    print(f"[pretrain] {'resuming' if resume else 'starting'}; {budget:.0f}s left", flush=True)
    m = pretrain(
        net,
        fam,
        steps=args.pretrain_steps,
        batch_size=32,
        n_points=(16, 96),
        lr=args.pretrain_lr,
        seed=args.seed,
        val_every=100,
        val_tasks=128,
        patience=8,
        out_dir=d,
        resume=resume,
        time_limit_s=max(budget, 1.0),
        progress=False,
    )
    (d / "elapsed.json").write_text(json.dumps({"s": elapsed_before + time.time() - t0}))
    m["val_curve"] = [list(v) for v in m["val_curve"]]
    done_marker(d).write_text(json.dumps(m))
    print(
        f"[pretrain] best val NLL {m['best_val_nll']:.4f} at step {m['best_step']} "
        f"({m['steps']} steps, {m['steps_per_s']:.2f} steps/s)",
        flush=True,
    )
    return d


def ppo_config(args) -> PPOConfig:
    return PPOConfig(
        iterations=args.ppo_iterations,
        seed=args.seed,
        episodes_per_iter=16,
        horizon=24,
        n_init=args.n_init,
        n_candidates=args.train_candidates,
        reward=args.reward,
        early_weight=args.early_weight,
        top_k=args.top_k,
        lr=args.ppo_lr,
        trunk_lr_mult=0.2,
        val_every=5,
        val_episodes=64,
        checkpoint_every=2,
    )


def stage_ppo(args, fam, out: Path, np_dir: Path) -> Path:
    d = out / "rl"
    if done_marker(d).is_file():
        return d
    resume = (d / LAST_DIR / TRAIN_STATE_FILE).is_file()
    net = NAPTransformer.load(d / LAST_DIR if resume else np_dir).train()
    elapsed_before = 0.0
    if resume and (d / "elapsed.json").is_file():
        elapsed_before = json.loads((d / "elapsed.json").read_text())["s"]
    budget = args.ppo_minutes * 60 - elapsed_before
    print(f"[ppo] {'resuming' if resume else 'starting'}; {budget:.0f}s left", flush=True)
    t0 = time.time()
    m = train(
        net,
        fam,
        ppo_config(args),
        out_dir=d,
        resume=resume,
        progress=False,
        time_limit_s=max(budget, 1.0),
    )
    (d / "elapsed.json").write_text(json.dumps({"s": elapsed_before + time.time() - t0}))
    m["val_curve"] = [list(v) for v in m["val_curve"]]
    done_marker(d).write_text(json.dumps(m))
    print(
        f"[ppo] {m['iterations']} iterations; best val regret {m['best_val_regret']:.4f} at "
        f"iteration {m['best_iteration']} (0 = warm start); val curve {m['val_curve']}",
        flush=True,
    )
    return d


# ---------------------------------------------------------------------------- evaluation
def episodes_for_task(task, fam, args, seed: int):
    """Candidate set (unit cube, ``1 x N x d``), values ``1 x N`` and initial indices."""
    g = torch.Generator().manual_seed(10_000 * seed + 17)
    bounds = torch.as_tensor(fam.space.bounds, dtype=torch.float64)
    if getattr(task, "X", None) is not None:
        X, y = task.X, task.y
    else:
        X = fam.space.sample_uniform(args.n_candidates, generator=g)
        y = task.evaluate(X)
    init = torch.randperm(X.shape[0], generator=g)[: args.n_init]
    return to_unit_cube(X, bounds).float()[None], y.double()[None], init[None]


@torch.no_grad()
def run_method(name: str, score_fn, fam, tasks, args) -> np.ndarray:
    """Normalised regret (task optimum/worst) after each step: tasks x seeds x steps."""
    cfg = EnvConfig(
        horizon=args.steps,
        n_init=args.n_init,
        n_candidates=args.n_init + args.steps,
        reward="regret",
    )
    env = BOEnv(fam, cfg)
    out = np.zeros((len(tasks), args.seeds, args.steps))
    for i, task in enumerate(tasks):
        eps = [episodes_for_task(task, fam, args, s) for s in range(args.seeds)]
        X = torch.cat([e[0] for e in eps])
        y = torch.cat([e[1] for e in eps])
        init = torch.cat([e[2] for e in eps])
        env.reset_with(X, y, init)
        t = 0
        while not env.done:
            s = score_fn(env.X, env.y, env.order, env.n_hist)
            env.step(s.masked_fill(env.evaluated, -math.inf).argmax(-1))
            out[i, :, t] = task.normalized_regret(env.best).numpy()
            t += 1
    return out


def run_gpei(fam, tasks, args) -> np.ndarray:
    from botorch_nap.baselines import GPEI

    gp = GPEI()
    out = np.full((len(tasks), args.seeds, args.steps), np.nan)
    bounds = torch.as_tensor(fam.space.bounds, dtype=torch.float64)
    unit = torch.stack([torch.zeros(bounds.shape[1]), torch.ones(bounds.shape[1])]).double()
    for i, task in enumerate(tasks):
        for s in range(args.gpei_seeds):
            X, y, init = episodes_for_task(task, fam, args, s)
            X, y = X[0].double(), y[0]
            evaluated = init[0].tolist()
            for t in range(args.steps):
                tx, ty = X[evaluated], y[evaluated].unsqueeze(-1)
                x = gp.propose(tx, ty, unit, candidates=X)
                j = int(torch.cdist(x, X).argmin())
                evaluated.append(j)
                out[i, s, t] = float(task.normalized_regret(y[evaluated].max()))
        print(f"[eval] gpei task {i + 1}/{len(tasks)}", flush=True)
    return out


def stage_eval(args, fam, out: Path, np_dir: Path, rl_dir: Path) -> dict:
    tasks = fam.tasks(args.eval_split)
    with torch.enable_grad():  # some tasks estimate their optimum lazily, by gradients
        for task in tasks:
            _ = task.optimum, task.worst
    tag = "" if args.eval_split == "val" else f"{args.eval_split}_"
    torch.manual_seed(args.seed + 99)
    untrained = NAPTransformer(net_config(args, fam.space.dim)).eval()
    warm = NAPTransformer.load(np_dir).eval()
    best = NAPTransformer.load(rl_dir).eval()
    methods = {
        "nap": lambda: nap_score_fn(best),
        "npei": lambda: npei_score_fn(warm),
        # The PPO net's own bar head as NP-EI: separates what RL's policy adds from what the
        # aux loss added to the NP during PPO.
        "npei_rl": lambda: npei_score_fn(best),
        "nap_warm": lambda: nap_score_fn(warm),
        "untrained": lambda: nap_score_fn(untrained),
        "random": lambda: random_score_fn(torch.Generator().manual_seed(args.seed + 5)),
    }
    results = {}
    for name, make in methods.items():
        if name not in args.methods:
            continue
        f = out / f"eval_{tag}{name}.npy"
        if not f.is_file():
            t0 = time.time()
            np.save(f, run_method(name, make(), fam, tasks, args))
            print(f"[eval] {name}: {time.time() - t0:.0f}s", flush=True)
        results[name] = np.load(f)
    if args.gpei_seeds:
        f = out / f"eval_{tag}gpei.npy"
        if not f.is_file():
            np.save(f, run_gpei(fam, tasks, args))
        results["gpei"] = np.load(f)
    return report(results, args, out)


def report(results: dict, args, out: Path) -> dict:
    from scipy.stats import wilcoxon

    rows = {}
    for name, r in results.items():
        ok = ~np.isnan(r[..., 0])
        rows[name] = {
            "runs": int(ok.sum()),
            "mean_regret_steps": float(np.nanmean(r.mean(-1)[ok])),
            "regret@10": float(np.nanmean(r[..., 9][ok])) if r.shape[-1] >= 10 else None,
            "regret@25": float(np.nanmean(r[..., 24][ok])) if r.shape[-1] >= 25 else None,
            f"regret@{r.shape[-1]}": float(np.nanmean(r[..., -1][ok])),
        }
    nap = results["nap"]
    tests = {}
    for name, r in results.items():
        if name == "nap":
            continue
        ok = ~np.isnan(r[..., 0])
        t = {}
        for label, sel in (
            ("auc", lambda a: a.mean(-1)),
            ("@10", lambda a: a[..., 9]),
            ("@25", lambda a: a[..., 24]),
        ):
            a, b = sel(nap)[ok], sel(r)[ok]
            diff = a - b
            try:
                p = float(wilcoxon(a, b).pvalue) if np.any(diff != 0) else 1.0
            except ValueError:
                p = 1.0
            t[label] = {
                "nap_minus_other": float(diff.mean()),
                "p_wilcoxon": p,
                "nap_better_runs": int((diff < 0).sum()),
                "nap_worse_runs": int((diff > 0).sum()),
            }
        tests[name] = t
    rep = {"args": vars(args), "methods": rows, "paired_vs_nap": tests}
    tag = "" if args.eval_split == "val" else f"_{args.eval_split}"
    (out / f"report{tag}.json").write_text(json.dumps(rep, indent=2))
    print(
        f"\n{args.eval_split} tasks, {args.seeds} seeds each, {args.n_init} initial points, "
        f"{args.steps} steps (normalised regret, lower is better)"
    )
    print(f"{'method':<10} {'runs':>5} {'mean 1..T':>10} {'@10':>8} {'@25':>8} {'@T':>8}")
    for name, r in rows.items():
        print(
            f"{name:<10} {r['runs']:>5} {r['mean_regret_steps']:>10.4f} "
            f"{r['regret@10']:>8.4f} {r['regret@25']:>8.4f} "
            f"{r[f'regret@{args.steps}']:>8.4f}"
        )
    print("\npaired (same task, seed, initial points): NAP - other, Wilcoxon p")
    for name, t in tests.items():
        print(
            f"  vs {name:<10} "
            + "  ".join(
                f"{k}: {v['nap_minus_other']:+.4f} (p={v['p_wilcoxon']:.3g}, "
                f"{v['nap_better_runs']}/{v['nap_worse_runs']})"
                for k, v in t.items()
            )
        )
    return rep


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--family", default="gp_prior")
    ap.add_argument("--family-kw", nargs="*", default=[], help="e.g. dim=3 (gp_prior default)")
    ap.add_argument("--data-dir")
    ap.add_argument("--augment", action="store_true", help="augment tasks for pretraining")
    ap.add_argument("--ppo-augment", action="store_true", help="... and for PPO")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--pretrain-minutes", type=float, default=10)
    ap.add_argument("--pretrain-steps", type=int, default=20000)
    ap.add_argument("--pretrain-lr", type=float, default=3e-4)
    ap.add_argument("--ppo-minutes", type=float, default=40)
    ap.add_argument("--ppo-iterations", type=int, default=150)
    ap.add_argument("--ppo-lr", type=float, default=1e-4)
    ap.add_argument("--reward", default="vs_npei")
    ap.add_argument("--early-weight", type=float, default=1.0)
    ap.add_argument("--top-k", type=int, default=5)
    ap.add_argument("--train-candidates", type=int, default=256)
    ap.add_argument("--n-candidates", type=int, default=256, help="continuous families")
    ap.add_argument("--n-init", type=int, default=5)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--gpei-seeds", type=int, default=0)
    ap.add_argument(
        "--methods",
        nargs="*",
        default=["nap", "npei", "nap_warm", "untrained", "random"],
        help="methods to evaluate (gpei is added by --gpei-seeds)",
    )
    ap.add_argument("--eval-split", default="val", help="val (as the issue asks) or test")
    ap.add_argument("--net-kw", nargs="*", default=[], help="NAPConfig overrides, KEY=VALUE")
    ap.add_argument("--stage", choices=["all", "train", "eval"], default="all")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    kw = parse_kv(args.family_kw)
    if args.family == "gp_prior":
        kw.setdefault("dim", 3)
    fam = get_family(args.family, data_dir=args.data_dir, **kw)
    # Augmentation (few-task families) for NP pretraining; PPO on the raw tasks by default,
    # so its episodes match the evaluation pools (DESIGN.md remedies).
    fam_np = (
        get_family(args.family, data_dir=args.data_dir, augment=True, **kw)
        if (args.augment)
        else fam
    )
    fam_rl = fam_np if args.ppo_augment else fam
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    np_dir = stage_pretrain(args, fam_np, out)
    rl_dir = stage_ppo(args, fam_rl, out, np_dir)
    if args.stage != "train":
        stage_eval(args, fam, out, np_dir, rl_dir)


if __name__ == "__main__":
    main()

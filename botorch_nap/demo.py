"""``botorch-nap demo`` (``make demo``): the main job, end to end, with no data files.

Shipped models run as NAP and as NP-EI beside BoTorch's GP-EI and random search on held-out
tasks of a synthetic family (default: shifted and scaled Branin functions of the test split,
which no network saw in training). By default two models: ``synthetic``, meta-trained on
*related* tasks (the training variants of Branin and Hartmann-3: what meta-learning is for),
and ``gp_prior``, one network for any continuous problem of 2 to 6 dims (no related tasks).
Every method starts each (task, seed) from the same initial
points and goes through the public BoTorch route (``optimize_acqf``). The regret table is
printed and the regret and rank curves are written as PNG files; the results file is
resumable, so an interrupted demo continues where it stopped.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from botorch_nap.baselines import OptimizerSettings

#: The shipped model meta-trained on these synthetic families' training variants.
FAMILY_MODEL, FAMILY_MODEL_FUNCTIONS = "synthetic", ("branin", "hartmann3")


def default_models(family: str) -> list[str]:
    """The family-trained model where it applies (and ships), then ``gp_prior``."""
    from botorch_nap.pretrained import available

    shipped = {e["name"] for e in available()}
    related = family in FAMILY_MODEL_FUNCTIONS and FAMILY_MODEL in shipped
    return [FAMILY_MODEL, "gp_prior"] if related else ["gp_prior"]


def _methods(models: list[str], dim: int, networks: list[str]) -> tuple[list[str], str]:
    """Method specs for shipped ``models`` (or checkpoint folders in ``networks``)."""
    from botorch_nap.nn.transformer import NAPTransformer
    from botorch_nap.pretrained import checkpoint_path

    if networks:
        nap, np_ = (networks * 2)[:2]
        pairs = [(nap, np_)]
        which = f"checkpoints {nap} (NAP) and {np_} (NP-EI)"
    else:
        pairs = [(m, m) for m in models]  # the benchmark resolves shipped names
        which = "shipped " + ", ".join(
            f"{m!r} (botorch_nap/pretrained/{m}/MODEL_CARD.md)" for m in models
        )
    methods = []
    for nap, np_ in pairs:
        for arg, kind in ((nap, "nap"), (np_, "np")):
            path = arg if networks else checkpoint_path(arg, kind)
            NAPTransformer.load(path, expected_dim=dim)  # a clear error before any run
        methods += [f"nap:{nap}", f"np-ei:{np_}"]
    return [*methods, "gp-ei", "random"], which


def main(argv: list[str] | None = None) -> dict:
    from botorch_nap.benchmark.metrics import summarize
    from botorch_nap.benchmark.report import format_table, write_plots
    from botorch_nap.benchmark.runner import BenchmarkConfig, run_benchmark
    from botorch_nap.tasks import get_family

    p = argparse.ArgumentParser(
        prog="botorch-nap demo", description=(__doc__ or " ").splitlines()[0].replace("``", "")
    )
    p.add_argument("--family", default="branin", help="a synthetic family (botorch-nap tasks)")
    p.add_argument(
        "--model",
        action="append",
        default=[],
        help="shipped model (botorch-nap models); repeat for several. Default: "
        f"{FAMILY_MODEL!r} (on {', '.join(FAMILY_MODEL_FUNCTIONS)}) and 'gp_prior'",
    )
    p.add_argument(
        "--network",
        action="append",
        default=[],
        help="checkpoint folder instead of --model (give twice: NAP then NP)",
    )
    # 10 x 6 runs: enough for the family-trained model's early lead to show at p < 0.01
    # (at 12 runs p stayed near 0.04; README, Status), in a few minutes on 2 cores.
    p.add_argument("--tasks", type=int, default=10, help="held-out test tasks")
    p.add_argument("--seeds", type=int, default=6)
    p.add_argument(
        "--workers", type=int, default=2, help="processes (one torch thread each; default 2)"
    )
    p.add_argument("--n-init", type=int, default=5)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--out", default="results/demo", help="folder for results and plots")
    p.add_argument("--fresh", action="store_true", help="start over instead of resuming")
    args = p.parse_args(argv)

    family = get_family(args.family)
    if family.is_pool:
        raise SystemExit(f"the demo runs continuous synthetic families; {args.family} is a pool")
    models = args.model or default_models(args.family)
    methods, which = _methods(models, family.space.dim, args.network)
    task_ids = family.split_ids("test")[: args.tasks]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results_file = out / f"demo_{args.family}.json"
    if args.fresh and results_file.exists():
        results_file.unlink()
    print(
        f"botorch-nap demo: {len(task_ids)} held-out {args.family} tasks "
        f"(d = {family.space.dim}) x {args.seeds} seeds, {args.n_init} initial points + "
        f"{args.steps} steps\nNetworks: {which}\nMethods: NAP, NP-EI, GP-EI (BoTorch "
        f"SingleTaskGP + LogEI), random; results -> {results_file}"
    )
    cfg = BenchmarkConfig(
        args.family,
        methods,
        task_ids=task_ids,
        seeds=list(range(args.seeds)),
        n_init=args.n_init,
        steps=args.steps,
        optimizer=OptimizerSettings(num_restarts=4, raw_samples=128),
        workers=args.workers,
    )
    results = run_benchmark(cfg, results_file)
    summary = summarize(results, reference="gp-ei", n_boot=200)
    print("\n" + format_table(summary, per_task=False))
    plots = write_plots(summary, out, results_file.stem)
    print("\nplots: " + ", ".join(map(str, plots)))
    return summary

"""Tutorial 4: compare NAP with GP-EI (and NP-EI, random) honestly, with plots.

The comparison the README's Results section is made of, on a small scale, through the
Python API of ``botorch-nap benchmark``:

* every method starts each (task, seed) from the same initial points;
* tasks are the family's *test* split, which no network saw in training;
* normalised regret ``(optimum - best so far) / (optimum - worst)`` per step, its mean over
  the steps (AUC), average ranks, and a paired Wilcoxon test over (task, seed) against GP-EI;
* the results file is resumable (kill it and run it again), and records versions and seeds.

Family: ``hpobench_xgb`` with the shipped ``hpobench_xgb`` models when its data are found
(``--data-dir``, ``BOTORCH_NAP_DATA`` or ``../shared/data``), else held-out Hartmann-3
variants with the shipped dimension-agnostic ``gp_prior`` models (no data needed).

Run:  python tutorials/04_compare_with_gp.py [--tasks 4] [--seeds 3] [--steps 25]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from botorch_nap.benchmark.metrics import complete_cells, regret_array, summarize  # noqa: E402
from botorch_nap.benchmark.report import format_table, write_plots  # noqa: E402
from botorch_nap.benchmark.runner import BenchmarkConfig, run_benchmark  # noqa: E402
from botorch_nap.pretrained import available  # noqa: E402
from botorch_nap.tasks import get_family  # noqa: E402


def pick_family(data_dir: str | None, model: str | None) -> tuple[str, str]:
    """(family, shipped model): hpobench_xgb when its data are there (and the model, if
    given, is ``hpobench_xgb``), else Hartmann-3 with ``gp_prior`` or the given model."""
    shipped = {e["name"] for e in available()}
    if model in (None, "hpobench_xgb") and "hpobench_xgb" in shipped:
        try:
            get_family("hpobench_xgb", data_dir=data_dir).split_ids("test")
            return "hpobench_xgb", "hpobench_xgb"
        except FileNotFoundError:
            if model == "hpobench_xgb":
                raise SystemExit(
                    "--model hpobench_xgb needs the hpobench_xgb data (--data-dir)"
                ) from None
    return "hartmann3", model or "gp_prior"


def plot_per_task(results: dict, methods: list[str], path: Path) -> Path:
    """One panel per task: mean regret curve of each method over the seeds."""
    cells = complete_cells(results, methods)
    R = regret_array(results, methods, cells)  # methods x cells x steps
    tasks = sorted({t for t, _ in cells}, key=str)
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.2 * len(tasks), 3), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        rows = [i for i, (t, _) in enumerate(cells) if t == task]
        for m, name in enumerate(methods):
            ax.plot(np.maximum(R[m, rows].mean(0), 1e-4), label=name.split(":")[0])
        ax.set_yscale("log")
        ax.set_title(f"task {task}")
        ax.set_xlabel("BO step")
    axes[0][0].set_ylabel("normalised regret")
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=None)
    p.add_argument("--model", default=None, help="shipped model (default: by family)")
    p.add_argument("--tasks", type=int, default=4)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--steps", type=int, default=25)
    p.add_argument("--out", default="results/tutorial04")
    args = p.parse_args(argv)

    family, model = pick_family(args.data_dir, args.model)
    fam = get_family(family, data_dir=args.data_dir)
    print(f"family {family} (test split), shipped model {model!r}")
    methods = [f"nap:{model}", f"np-ei:{model}", "gp-ei", "random"]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = BenchmarkConfig(
        family,
        methods,
        data_dir=args.data_dir,
        task_ids=fam.split_ids("test")[: args.tasks],
        seeds=list(range(args.seeds)),
        steps=args.steps,
    )
    results = run_benchmark(cfg, out / f"{family}.json")
    summary = summarize(results, reference="gp-ei", n_boot=200)
    print(format_table(summary))
    plots = [
        *write_plots(summary, out, family),
        plot_per_task(results, methods, out / f"{family}_tasks.png"),
    ]
    print("plots: " + ", ".join(map(str, plots)))
    return summary


if __name__ == "__main__":
    main()

r"""``botorch-nap benchmark`` and ``botorch-nap report``.

Examples::

    # NAP, NP-EI, GP-EI, the transfer baseline and random on hpobench_xgb's test split,
    # HPO-B's protocol (5 initial points, 100 steps) with 10 seeds, 2 worker processes:
    botorch-nap benchmark --family hpobench_xgb --paper-protocol --seeds 10 --workers 2 \
        --methods nap:runs/xgb/rl,np-ei:runs/xgb/np,gp-ei,gp-ei-transfer,random \
        --out results/hpobench_xgb.json
    # (rerunning the same command resumes: finished runs are not redone)

    botorch-nap report results/hpobench_xgb.json                 # table + PNG plots
    botorch-nap report results/*.json --update-readme README.md  # README Results section
    botorch-nap benchmark --list-methods
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from botorch_nap.baselines import DEFAULT_MAXITER, NETWORK_POLISH_MAXITER
from botorch_nap.benchmark.runner import PAPER_PROTOCOL
from botorch_nap.cli import message


def _split_list(values: list[str] | None) -> list[str]:
    """``["a,b", "c"] -> ["a", "b", "c"]`` (options may be repeated or comma-separated)."""
    return [v.strip() for chunk in values or [] for v in chunk.split(",") if v.strip()]


def parse_task_ids(values: list[str] | None) -> list[str] | None:
    """``["34,35", "40-42"] -> ["34", "35", "40", "41", "42"]``; ``None`` if none given."""
    out: list[str] = []
    for v in _split_list(values):
        a, sep, b = v.partition("-")
        if sep and a.isdigit() and b.isdigit():
            out += [str(i) for i in range(int(a), int(b) + 1)]
        else:
            out.append(v)
    return out or None


def parse_kwargs(values: list[str] | None) -> dict:
    """``["dim=4", "lengthscale_range=0.1,0.2"] -> {"dim": 4, "lengthscale_range": [0.1,
    0.2]}``: the family options as ``pretrain`` reads them
    (:func:`~botorch_nap.tasks.registry.parse_family_kwargs`)."""
    from botorch_nap.tasks.registry import parse_family_kwargs

    return parse_family_kwargs(values)


def add_benchmark_arguments(p: argparse.ArgumentParser) -> None:
    """The ``benchmark`` subcommand's options."""
    p.add_argument("--family", help="task family (see `botorch-nap tasks`)")
    p.add_argument(
        "--family-kw",
        nargs="*",
        action="extend",
        metavar="KEY=VALUE",
        help="family options, e.g. dim=4 (or one per --family-kw)",
    )
    p.add_argument("--data-dir", default=None, help="data root for file-backed families")
    p.add_argument("--split", default="test", choices=["train", "val", "test"])
    p.add_argument("--tasks", action="append", help="task ids, e.g. 34,35,40-43 (default: all)")
    p.add_argument(
        "--methods",
        action="append",
        help="comma-separated specs: nap:<ckpt>, np-ei:<ckpt>, gp-ei, random, "
        "gp-ei-transfer[:k], portfolio (default: gp-ei,random)",
    )
    p.add_argument("--seeds", type=int, default=None, help="seeds 0..N-1 (default 3; paper 5)")
    p.add_argument("--n-init", type=int, default=None, help="initial points (default 5)")
    p.add_argument("--steps", type=int, default=None, help="BO steps (default 50)")
    p.add_argument(
        "--paper-protocol",
        action="store_true",
        help="HPO-B's protocol: 5 initial points, 100 steps, 5 seeds (--seeds overrides)",
    )
    p.add_argument(
        "--pool-size",
        type=int,
        default=None,
        help="continuous families: pick among N uniform candidates per (task, seed) instead "
        "of searching the box (PPO's training setting)",
    )
    p.add_argument("--out", default=None, help="results JSON (default results/<family>.json)")
    p.add_argument("--workers", type=int, default=1, help="worker processes")
    p.add_argument("--threads", type=int, default=None, help="torch threads per worker")
    p.add_argument("--num-restarts", type=int, default=8, help="optimize_acqf restarts")
    p.add_argument("--raw-samples", type=int, default=256, help="optimize_acqf raw samples")
    p.add_argument(
        "--maxiter",
        type=int,
        default=None,
        help="L-BFGS-B iterations for every method (default: each method's own: "
        f"{DEFAULT_MAXITER}, NAP and NP-EI {NETWORK_POLISH_MAXITER})",
    )
    p.add_argument(
        "--compile",
        action="store_true",
        help="NAP's and NP-EI's continuous decisions backpropagate through torch.compile (the same "
        "values; a one-off compile per worker, then faster decisions)",
    )
    p.add_argument(
        "--redo-changed",
        action="store_true",
        help="when resuming --out, drop and redo the runs of methods whose checkpoint's "
        "weights changed since (default: refuse)",
    )
    p.add_argument(
        "--redo",
        action="append",
        help="when resuming --out, drop and redo the runs of these comma-separated methods "
        "(of --methods), e.g. after a change of the code that makes their decisions",
    )
    p.add_argument("--plugin", action="append", default=[], help="module registering methods")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--report", action="store_true", help="print the report when done")
    p.add_argument("--list-methods", action="store_true", help="list registered methods")


def config_from_args(args: argparse.Namespace):
    """A :class:`~botorch_nap.benchmark.runner.BenchmarkConfig` from parsed options."""
    from botorch_nap.baselines import OptimizerSettings
    from botorch_nap.benchmark.runner import BenchmarkConfig

    if not args.family:
        raise ValueError("--family is required")
    if args.paper_protocol and (args.n_init is not None or args.steps is not None):
        raise ValueError("--paper-protocol fixes --n-init and --steps; drop one of them")
    paper = PAPER_PROTOCOL if args.paper_protocol else {}
    n_seeds = args.seeds if args.seeds is not None else paper.get("seeds", 3)
    if n_seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {n_seeds}")
    return BenchmarkConfig(
        family=args.family,
        methods=_split_list(args.methods) or ["gp-ei", "random"],
        family_kwargs=parse_kwargs(args.family_kw),
        data_dir=args.data_dir,
        split=args.split,
        task_ids=parse_task_ids(args.tasks),
        seeds=list(range(n_seeds)),
        n_init=args.n_init if args.n_init is not None else paper.get("n_init", 5),
        steps=args.steps if args.steps is not None else paper.get("steps", 50),
        optimizer=OptimizerSettings(args.num_restarts, args.raw_samples, args.maxiter),
        workers=args.workers,
        threads=args.threads,
        plugins=list(args.plugin),
        pool_size=args.pool_size,
        compile=args.compile,
    )


def benchmark_command(args: argparse.Namespace) -> int:
    """``botorch-nap benchmark``."""
    from botorch_nap.benchmark.methods import METHODS
    from botorch_nap.benchmark.runner import import_plugins, run_benchmark

    if args.list_methods:
        import_plugins(args.plugin)
        for name, e in METHODS.items():
            print(f"{name + (':<checkpoint>' if e.needs_arg else ''):<26} {e.help}")
        return 0
    try:
        config = config_from_args(args)
    except ValueError as err:
        print(f"botorch-nap benchmark: {message(err)}", file=sys.stderr)
        return 2
    out = Path(args.out or f"results/{config.family}.json")
    print(
        f"benchmark {config.family} ({config.split}): methods {', '.join(config.methods)}; "
        f"{len(config.seeds)} seeds, {config.n_init} initial points + {config.steps} steps; "
        f"results -> {out}"
    )
    try:
        results = run_benchmark(
            config,
            out,
            progress=not args.no_progress,
            redo_changed=args.redo_changed,
            redo=_split_list(args.redo),
        )
    except KeyboardInterrupt:
        print(f"\ninterrupted; finished runs are saved in {out} (rerun to resume)")
        return 130
    except (ValueError, KeyError, FileNotFoundError) as err:
        # Set-up errors (unknown method or task, missing checkpoint or data, a resume with
        # another protocol); failures inside runs are recorded in the file instead.
        print(f"botorch-nap benchmark: {message(err)}", file=sys.stderr)
        return 2
    failed = len(results["failures"])
    print(f"{len(results['runs'])} runs in {out}" + (f"; {failed} failed" if failed else ""))
    if args.report:
        return report_paths([out], plots=True)
    return 1 if failed else 0


def add_report_arguments(p: argparse.ArgumentParser) -> None:
    """The ``report`` subcommand's options."""
    p.add_argument("results", nargs="+", help="results JSON file(s) from `benchmark`")
    p.add_argument("--out-dir", default=None, help="folder for the PNGs (default: the JSON's)")
    p.add_argument("--no-plots", action="store_true", help="do not write PNG plots")
    p.add_argument("--markdown", default=None, help="write the report as Markdown to this file")
    p.add_argument(
        "--update-readme",
        default=None,
        metavar="README",
        help="replace the text between <!-- results:start --> and <!-- results:end -->",
    )
    p.add_argument(
        "--reference",
        default=None,
        help="method for paired tests (default: the file's first nap:<ckpt>, else its first "
        "method); a key, its label or a bare name (nap); comma-separated: the first one a file "
        "holds, e.g. gp-ei,gp-ei-mixed over families with and without categorical dims",
    )
    p.add_argument(
        "--also-vs",
        default=None,
        help="more references for paired tests, comma-separated, e.g. np-ei or np-ei,nap "
        "(a bare method name matches the file's one method of that name; with several, "
        "one table for each that the file holds)",
    )
    p.add_argument(
        "--methods",
        action="append",
        help="only these methods (comma-separated keys, labels or bare names)",
    )
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples")
    p.add_argument("--no-per-task", action="store_true", help="omit the per-task table")
    p.add_argument(
        "--summary-json",
        default=None,
        help="write every computed number as JSON (several inputs: keyed by path)",
    )


def _plot_stems(paths: list[Path], out_dir: str | None) -> dict[str, str]:
    """Each file's plot name prefix: its stem, or, where two files would write the same
    images into one folder, its folder's name and its stem."""
    folder = {str(p): Path(out_dir).resolve() if out_dir else p.resolve().parent for p in paths}
    stems = {str(p): p.stem for p in paths}
    clash = [
        p
        for p in paths
        if sum((folder[str(q)], stems[str(q)]) == (folder[str(p)], stems[str(p)]) for q in paths)
        > 1
    ]
    for p in clash:
        stems[str(p)] = f"{p.resolve().parent.name}_{p.stem}"
    seen = [(folder[k], v) for k, v in stems.items()]
    if len(set(seen)) < len(seen):
        raise ValueError("two results files would write the same plots: give --no-plots or rename")
    return stems


def _failures_by_method(results: dict, shown: list[str]) -> dict[str, tuple[int, str]]:
    """``{method: (failed runs, first error)}`` for failures the table leaves out: methods
    it does not show, and runs of shown ones that never finished."""
    out: dict[str, tuple[int, str]] = {}
    for key, rec in results.get("failures", {}).items():
        m = key.rsplit("|", 2)[0]
        k, first = out.get(m, (0, rec.get("error", "?")))
        out[m] = (k + 1, first)
    return dict(sorted(out.items(), key=lambda kv: (kv[0] in shown, kv[0])))


def report_paths(
    paths: list[Path],
    plots: bool = True,
    out_dir: str | None = None,
    markdown: str | None = None,
    readme: str | None = None,
    reference: str | None = None,
    methods: list[str] | None = None,
    n_boot: int = 1000,
    per_task: bool = True,
    summary_json: str | None = None,
    also_vs: str | None = None,
) -> int:
    """Print the report of each results file; write plots and Markdown as asked."""
    from botorch_nap.benchmark.metrics import summarize
    from botorch_nap.benchmark.report import (
        format_markdown,
        format_table,
        update_readme,
        write_plots,
    )
    from botorch_nap.benchmark.results import load_results

    md_parts, summaries = [], {}
    md_dir = Path(markdown or readme or ".").resolve().parent
    paths = list(map(Path, paths))
    stems = _plot_stems(paths, out_dir) if plots else {}
    loaded = {str(p): load_results(p) for p in paths}
    if methods and len(paths) > 1:
        # Over several files a method need only be in one of them (as --reference's list).
        from botorch_nap.benchmark.metrics import method_key

        nowhere = [
            m
            for m in methods
            if all(method_key(m, r["config"]["methods"]) is None for r in loaded.values())
        ]
        if nowhere:
            raise ValueError(f"methods {nowhere} are in none of the results files")
    for path in paths:
        results = loaded[str(path)]
        summary = summarize(
            results,
            methods or None,
            reference,
            n_boot=n_boot,
            also_vs=also_vs,
            missing_ok=len(paths) > 1,
        )
        print(format_table(summary, per_task=per_task) + "\n")
        failed = _failures_by_method(results, summary["methods"])
        for m, (k, first) in failed.items():
            print(f"{m}: {k} run(s) failed, not in the table (first: {first})")
        if failed:
            print()
        images = []
        if plots:
            written = write_plots(
                summary, Path(out_dir) if out_dir else path.parent, stems[str(path)]
            )
            print("plots: " + ", ".join(map(str, written)) + "\n")
            images = [os.path.relpath(p.resolve(), md_dir) for p in written]
        md_parts.append(format_markdown(summary, results, images))
        summaries[str(path)] = summary
    markdown_text = "\n".join(md_parts)
    if summary_json:
        data = next(iter(summaries.values())) if len(summaries) == 1 else summaries
        Path(summary_json).write_text(json.dumps(data, indent=1))
    if markdown:
        Path(markdown).write_text(markdown_text)
        print(f"markdown: {markdown}")
    if readme:
        update_readme(readme, markdown_text)
        print(f"updated the results section of {readme}")
    return 0


def report_command(args: argparse.Namespace) -> int:
    """``botorch-nap report``."""
    try:
        return report_paths(
            [Path(p) for p in args.results],
            plots=not args.no_plots,
            out_dir=args.out_dir,
            markdown=args.markdown,
            readme=args.update_readme,
            reference=args.reference,
            methods=_split_list(args.methods),
            n_boot=args.n_boot,
            per_task=not args.no_per_task,
            summary_json=args.summary_json,
            also_vs=args.also_vs,
        )
    except (ValueError, FileNotFoundError, KeyError) as err:
        print(f"botorch-nap report: {message(err)}", file=sys.stderr)
        return 2


def fsbo_train_command(args: argparse.Namespace) -> int:
    """``botorch-nap fsbo-train``: meta-train FSBO's deep kernel on a family's train split."""
    from botorch_nap.benchmark.fsbo import FSBOConfig, meta_train, nll_per_task
    from botorch_nap.tasks import get_family

    try:
        family = get_family(args.family, data_dir=args.data_dir, **parse_kwargs(args.family_kw))
    except (ValueError, KeyError, FileNotFoundError) as err:
        # Set-up errors (a malformed or repeated --family-kw, an unknown family or option,
        # missing data): one line, as the other commands print them.
        print(f"botorch-nap fsbo-train: {message(err)}", file=sys.stderr)
        return 2
    cfg = FSBOConfig(dim=family.space.dim, hidden=args.hidden, lr=args.lr, n_points=args.n_points)
    kernel, lik = meta_train(
        family,
        cfg,
        args.steps,
        out=args.out,
        seed=args.seed,
        time_limit_s=args.time_limit,
        progress=not args.no_progress,
    )
    if family.split_ids("val"):
        nll = nll_per_task(family, kernel, lik, cfg, "val")
        print(f"validation NLL per point: {nll:.4f}")
    print(f"FSBO checkpoint: {args.out} (use fsbo:{args.out} in --methods)")
    return 0


def register(subparsers) -> None:
    """Add ``benchmark``, ``report`` and ``fsbo-train`` to the ``botorch-nap`` subcommands."""
    f = subparsers.add_parser(
        "fsbo-train",
        help="meta-train the FSBO baseline (deep-kernel GP) on a family's training tasks",
    )
    f.add_argument("--family", required=True)
    f.add_argument("--family-kw", nargs="*", action="extend", metavar="KEY=VALUE")
    f.add_argument("--data-dir")
    f.add_argument("--out", required=True, help="checkpoint folder")
    f.add_argument("--steps", type=int, default=2000)
    f.add_argument("--hidden", type=int, default=32)
    f.add_argument("--lr", type=float, default=1e-3)
    f.add_argument("--n-points", type=int, default=50, help="points per task and step")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--time-limit", type=float, help="seconds")
    f.add_argument("--no-progress", action="store_true")
    f.set_defaults(func=fsbo_train_command)
    b = subparsers.add_parser(
        "benchmark",
        help="run methods on a family's test tasks (seeds x tasks, resumable JSON)",
        description=(__doc__ or "").replace("``", ""),  # reST quotes read as noise
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_benchmark_arguments(b)
    b.set_defaults(func=benchmark_command)
    r = subparsers.add_parser(
        "report",
        help="tables, Markdown and regret/rank plots from benchmark results",
        description=(__doc__ or "").replace("``", ""),  # reST quotes read as noise
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_report_arguments(r)
    r.set_defaults(func=report_command)

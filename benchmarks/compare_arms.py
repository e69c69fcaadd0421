"""Compare two *arms* of trained models, each arm several training seeds of one recipe.

One model's regret is noisy in its training seed (on hpobench_xgb and lcbench the seed moves
validation regret as much as any recipe change measured: README, "y-transform"). So an arm
is scored per (task, seed) cell by the mean of its models' regret curves, and the two arms
are compared by a paired Wilcoxon test over the cells that every model finished.

    python benchmarks/compare_arms.py \\
        --arm yj  val_yj_s0.json:np-ei:runs/yj_s0  val_yj_s1.json:np-ei:runs/yj_s1 \\
        --arm std val_std_s0.json:np-ei:hpobench_xgb val_std_s1.json:np-ei:runs/std_s1

Each model is ``<results file>:<method name in it>`` (the file name ends in ``.json``);
``a.json+b.json:<method>`` pools the method's runs of several files (e.g. two task sets).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from botorch_nap.benchmark.metrics import auc, paired_wilcoxon
from botorch_nap.benchmark.results import load_results

STEPS = (10, 25, 50)
#: What must agree between every file compared: the runs of one protocol only pair up.
PROTOCOL = ("family", "family_kwargs", "split", "n_init", "steps", "pool_size")
#: Family options that only move which task ids form a split (a task id is the same task
#: whatever they say), so files differing in them pool and pair (e.g. a second set of
#: validation functions, `--family-kw n_train=112 n_val=32`).
SPLIT_LAYOUT = ("n_train", "n_val", "n_test")


def _protocol(path: str, config: dict, seen: dict[str, dict]) -> None:
    """Record ``path``'s protocol in ``seen``; ``ValueError`` naming what differs from the
    first file's there."""
    mine = {k: config.get(k) for k in PROTOCOL}
    kw = mine["family_kwargs"] or {}
    mine["family_kwargs"] = {k: v for k, v in kw.items() if k not in SPLIT_LAYOUT}
    if seen:
        first, theirs = next(iter(seen.items()))
        diff = [f"{k} {mine[k]!r} vs {theirs[k]!r}" for k in PROTOCOL if mine[k] != theirs[k]]
        if diff:
            raise ValueError(
                f"{path} and {first} are runs of different protocols ({'; '.join(diff)}): "
                "their cells do not pair up"
            )
    seen.setdefault(path, mine)


def model_curves(spec: str, protocols: dict[str, dict] | None = None) -> dict[tuple, np.ndarray]:
    """``{(task, seed): regret curve}`` of one ``file.json:method`` model (``a.json+b.json:method``:
    the union of the files' runs; a cell in two files is an error). Files of different
    protocols (family, split, budget, pool) are refused, also against those already in
    ``protocols`` (filled in)."""
    protocols = {} if protocols is None else protocols
    path, sep, method = spec.rpartition(".json:")
    if not sep or not method:
        raise ValueError(f"expected <results file>.json:<method>, got {spec!r}")
    curves = {}
    for one in (path + ".json").split(".json+"):
        one = one if one.endswith(".json") else one + ".json"
        results = load_results(one)
        _protocol(one, results["config"], protocols)
        for r in results["runs"].values():
            if r["method"] == method and r.get("finished", True):
                cell = (str(r["task"]), r["seed"])
                if cell in curves:
                    raise ValueError(f"{spec}: cell {cell} is in more than one file")
                curves[cell] = np.asarray(r["regret"], dtype=float)
    if not curves:
        raise ValueError(
            f"no finished runs of method {method!r} in {path}.json; it holds "
            f"{sorted({r['method'] for r in results['runs'].values()})}"
        )
    return curves


def arm_curves(models: list[dict]) -> dict[tuple, np.ndarray]:
    """The per-cell mean curve over an arm's models (cells every model finished)."""
    cells = set.intersection(*(set(m) for m in models))
    return {c: np.mean([m[c] for m in models], axis=0) for c in cells}


def summary(curve: np.ndarray, steps=STEPS) -> dict[str, float]:
    last = curve.shape[-1] - 1
    return {"AUC": float(auc(curve)), **{f"r@{s}": float(curve[min(s, last)]) for s in steps}}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--arm",
        nargs="+",
        action="append",
        required=True,
        metavar=("NAME", "FILE.json:METHOD"),
        help="an arm: its name, then its models",
    )
    p.add_argument(
        "--steps", type=int, nargs="+", help="regret checkpoints (default 10 25 50, up to T)"
    )
    args = p.parse_args(argv)
    if len(args.arm) != 2 or any(len(a) < 2 for a in args.arm):
        p.error("give exactly two --arm NAME FILE.json:METHOD [...]")
    seen: dict[str, dict] = {}
    try:
        arms = {a[0]: arm_curves([model_curves(s, seen) for s in a[1:]]) for a in args.arm}
    except ValueError as e:
        sys.exit(f"compare_arms: {e}")
    recorded = next(iter(seen.values()))["steps"]
    first_curve = next(iter(next(iter(arms.values())).values()), None)
    if recorded is None and first_curve is None:
        sys.exit("compare_arms: the two arms share no (task, seed) cell")
    horizon = int(recorded) if recorded is not None else len(first_curve) - 1
    if args.steps is None:
        args.steps = [s for s in STEPS if s < horizon] + [horizon]
    beyond = [s for s in args.steps if s > horizon]
    if beyond:
        sys.exit(f"compare_arms: --steps {beyond} lie beyond the runs' {horizon} steps")
    (na, a), (nb, b) = arms.items()
    cells = sorted(set(a) & set(b))
    if not cells:
        sys.exit("the two arms share no (task, seed) cell")
    sa = [summary(a[c], args.steps) for c in cells]
    sb = [summary(b[c], args.steps) for c in cells]
    print(f"{len(cells)} cells; arm = mean regret curve of its models per cell")
    print(f"{'':<10}" + "".join(f"{k:>10}" for k in sa[0]))
    for name, s in ((na, sa), (nb, sb)):
        print(f"{name:<10}" + "".join(f"{np.mean([x[k] for x in s]):>10.4f}" for k in s[0]))
    tests = {k: paired_wilcoxon([x[k] for x in sa], [x[k] for x in sb])["p"] for k in sa[0]}
    print(f"{'p':<10}" + "".join(f"{v:>10.2g}" for v in tests.values()))


if __name__ == "__main__":
    main()

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


def model_curves(spec: str) -> dict[tuple, np.ndarray]:
    """``{(task, seed): regret curve}`` of one ``file.json:method`` model (``a.json+b.json:method``:
    the union of the files' runs; a cell in two files is an error)."""
    path, sep, method = spec.rpartition(".json:")
    if not sep or not method:
        raise ValueError(f"expected <results file>.json:<method>, got {spec!r}")
    curves = {}
    for one in (path + ".json").split(".json+"):
        one = one if one.endswith(".json") else one + ".json"
        for r in load_results(one)["runs"].values():
            if r["method"] == method and r.get("finished", True):
                cell = (str(r["task"]), r["seed"])
                if cell in curves:
                    raise ValueError(f"{spec}: cell {cell} is in more than one file")
                curves[cell] = np.asarray(r["regret"], dtype=float)
    if not curves:
        raise ValueError(f"no finished runs of method {method!r} in {path}.json")
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
    p.add_argument("--steps", type=int, nargs="+", default=list(STEPS))
    args = p.parse_args(argv)
    if len(args.arm) != 2 or any(len(a) < 2 for a in args.arm):
        p.error("give exactly two --arm NAME FILE.json:METHOD [...]")
    arms = {a[0]: arm_curves([model_curves(s) for s in a[1:]]) for a in args.arm}
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

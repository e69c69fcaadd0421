"""Estimate and store every YAHPO task's optimum and worst value (``yahpo_optima.json``).

Method, per task (objective as in :mod:`botorch_nap.tasks.yahpo`, fidelities at maximum):
:func:`~botorch_nap.tasks.optimize.estimate_max` with 16384 scrambled-Sobol points (discrete
dims rounded), then a batched evolution strategy from the best 16 (60 rounds of 24 proposals
each: Gaussian steps on continuous dims shrinking from 0.1 to 0.001 of the range, discrete
dims re-drawn with probability 0.1), ~39k surrogate evaluations per task. The optimum is the
best value found (a lower bound on the surrogate's true maximum; on the tasks checked it beat
the best of 100k uniform samples, by up to 4 accuracy points on lcbench); the worst value
is the same procedure, cheaper (8192 + 2048 evaluations), applied to ``-objective``; in 14-d
(rbv2_xgboost) it can sit a few percent of the range above the true minimum, which only
shifts the scale of normalised regret. Seeds are fixed, so reruns reproduce the file (about
10 minutes on one idle core for all 274 tasks).

Usage::

    python -m botorch_nap.tasks.yahpo_optima [--data-dir DIR] [--scenarios lcbench ...]
"""

from __future__ import annotations

import argparse
import json
import time

from botorch_nap.tasks.optimize import estimate_max
from botorch_nap.tasks.yahpo import OBJECTIVES, OPTIMA_FILE, YahpoFamily

#: estimate_max settings for the optimum, and cheaper ones for the worst value (it only
#: sets the scale of normalised regret, and the minimum is rarely where an optimiser looks).
SETTINGS = {"n_dense": 16384, "n_starts": 16, "n_rounds": 60, "n_proposals": 24}
WORST_SETTINGS = {"n_dense": 8192, "n_starts": 8, "n_rounds": 20, "n_proposals": 16}


def estimate_task_extrema(family: YahpoFamily, task_id: str, **kw) -> tuple[float, float]:
    """``(optimum, worst)`` of one task (see module docstring); ``kw`` overrides SETTINGS."""
    fn = lambda X: family.objective(X, task_id)
    best, _ = estimate_max(fn, family.space, seed=0, **{**SETTINGS, **kw})
    neg_worst, _ = estimate_max(lambda X: -fn(X), family.space, seed=1, **WORST_SETTINGS)
    return best, -neg_worst


def estimate_scenario(scenario: str, data_dir=None, **kw) -> dict:
    """The JSON entry of one scenario: target, method settings and per-task extrema."""
    fam = YahpoFamily(scenario, data_dir=data_dir)
    tasks = {}
    for tid in fam.instances:
        opt, worst = estimate_task_extrema(fam, tid, **kw)
        tasks[tid] = {"optimum": opt, "worst": worst}
    settings = {"optimum": {**SETTINGS, **kw}, "worst": WORST_SETTINGS}
    return {"target": fam.target, "settings": settings, "tasks": tasks}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--scenarios", nargs="*", default=list(OBJECTIVES))
    args = ap.parse_args(argv)
    out = json.loads(OPTIMA_FILE.read_text()) if OPTIMA_FILE.exists() else {}
    for s in args.scenarios:
        t0 = time.time()
        out[s] = estimate_scenario(s, args.data_dir)
        print(f"{s}: {len(out[s]['tasks'])} tasks in {time.time() - t0:.0f}s", flush=True)
        # Written after every scenario so that an interrupted run keeps its work.
        OPTIMA_FILE.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()

r"""Benchmark metrics: normalised regret, bootstrap CIs, AUC, ranks with ties, Wilcoxon.

Conventions (all computed from a results file, :mod:`~botorch_nap.benchmark.results`):

* **Step** ``k`` is the state after ``k`` BO steps; step 0 is right after the shared initial
  design. A curve has ``steps + 1`` entries.
* **Normalised regret** ``(optimum - best) / (optimum - worst)``, clipped to ``[0, 1]``,
  with the task's known optimum and reference worst value.
* **AUC** (the main summary): the mean normalised regret over steps ``1..T``. Single steps
  are dominated by ties (pool tasks with many tied maxima put most runs at exactly zero
  regret late in the run); the mean over steps also rewards getting there early.
* **Rank** at a step: methods ranked by regret within each (task, seed) run, ties given
  their average rank (1 = best), then averaged over runs.
* **Cells**: everything is computed over the (task, seed) cells that every compared method
  has finished, so partial results never compare methods on different runs.
* **Bootstrap CIs**: percentile intervals from resampling cells with replacement.
* **Paired test**: Wilcoxon signed-rank over cells (two-sided; zero differences dropped, as
  in Wilcoxon's original test; ``p = 1`` when every difference is zero).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from botorch_nap.benchmark.results import run_key

#: Steps at which the report shows regret (those beyond the budget are skipped).
CHECKPOINTS = (10, 25, 50, 100)
#: Regret treated as zero (exact ties at the optimum give exactly 0).
ZERO_TOL = 1e-12
#: A proposal this close (unit-cube Euclidean distance) to an evaluated point is a repeat.
REPEAT_TOL = 1e-6


def count_repeats(X, bounds, n_init: int, tol: float = REPEAT_TOL) -> int:
    """Proposals (rows ``n_init..``) of a run's ``X`` (``n x d``, search-space units) that lie
    within ``tol`` (unit-cube distance, by ``bounds`` ``2 x d``) of an earlier row: wasted
    evaluations of an already known point. 0 in pool mode by construction."""
    X, bounds = np.asarray(X, dtype=float), np.asarray(bounds, dtype=float)
    U = (X - bounds[0]) / (bounds[1] - bounds[0])
    count = 0
    for i in range(max(n_init, 1), len(U)):
        if np.sqrt(((U[:i] - U[i]) ** 2).sum(-1)).min() <= tol:
            count += 1
    return count


def _repeats(run: dict, results: dict, n_init: int) -> int | None:
    """A run's repeat count: recorded, or measured from its X and the file's bounds."""
    if run.get("repeats") is not None:
        return int(run["repeats"])
    if results.get("bounds") is None:
        return None
    return count_repeats(run["X"], results["bounds"], n_init)


def normalized_regret(best, optimum: float, worst: float) -> np.ndarray:
    """``(optimum - best) / (optimum - worst)`` clipped to ``[0, 1]`` (array of ``best``)."""
    span = max(float(optimum) - float(worst), 1e-12)
    return np.clip((float(optimum) - np.asarray(best, dtype=float)) / span, 0.0, 1.0)


def auc(regret: np.ndarray) -> np.ndarray:
    """Mean regret over steps ``1..T`` of ``... x (T + 1)`` curves."""
    regret = np.asarray(regret, dtype=float)
    return regret[..., 1:].mean(-1)


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Mean rank of each method: ``values`` is ``M x R x ...`` (methods, runs, ...), lower is
    better; ranks within each run, ties get their average rank; returns ``M x ...``."""
    ranks = stats.rankdata(np.asarray(values, dtype=float), method="average", axis=0)
    return ranks.mean(axis=1)


def bootstrap_ci(
    values: np.ndarray,
    statistic: str = "mean",
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile CI of the mean or median over axis 0 of ``R x ...`` values."""
    values = np.asarray(values, dtype=float)
    fn = np.mean if statistic == "mean" else np.median
    r = values.shape[0]
    if r < 2:
        point = fn(values, axis=0)
        return point, point
    rng = np.random.default_rng(seed)
    boots = []
    # Chunks keep memory at ~100 x R x K whatever n_boot is.
    for start in range(0, n_boot, 100):
        idx = rng.integers(0, r, size=(min(100, n_boot - start), r))
        boots.append(fn(values[idx], axis=1))
    boots = np.concatenate(boots)
    return np.quantile(boots, alpha / 2, axis=0), np.quantile(boots, 1 - alpha / 2, axis=0)


def paired_wilcoxon(a: np.ndarray, b: np.ndarray) -> dict:
    """Wilcoxon signed-rank test of paired samples ``a`` vs ``b`` (lower is better).

    Returns ``n``, ``n_nonzero`` (pairs that differ), ``mean_diff`` (``a - b``), ``statistic``,
    ``p`` and ``better``: ``"a"``, ``"b"`` or ``"tie"`` by the sign of the mean difference.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    d = a - b
    nonzero = int((np.abs(d) > ZERO_TOL).sum())
    out = {"n": int(d.size), "n_nonzero": nonzero, "mean_diff": float(d.mean()) if d.size else 0.0}
    if nonzero == 0:
        out.update(statistic=None, p=1.0)
    else:
        res = stats.wilcoxon(a, b, zero_method="wilcox", alternative="two-sided")
        out.update(statistic=float(res.statistic), p=float(res.pvalue))
    md = out["mean_diff"]
    out["better"] = "tie" if abs(md) <= ZERO_TOL else ("a" if md < 0 else "b")
    return out


def complete_cells(results: dict, methods: list[str]) -> list[tuple]:
    """(task id, seed) cells finished by every method, in config order."""
    runs = results["runs"]
    cfg = results["config"]
    # dict.fromkeys: a file written with a task or seed named twice counts each cell once.
    return [
        (t, s)
        for t in dict.fromkeys(cfg["task_ids"])
        for s in dict.fromkeys(cfg["seeds"])
        if all(run_key(m, t, s) in runs for m in methods)
    ]


def regret_array(results: dict, methods: list[str], cells: list[tuple]) -> np.ndarray:
    """``M x R x (T + 1)`` normalised regret curves (methods, cells, steps)."""
    runs = results["runs"]
    return np.array(
        [[runs[run_key(m, t, s)]["regret"] for t, s in cells] for m in methods], dtype=float
    ).reshape(len(methods), len(cells), results["config"]["steps"] + 1)


def method_key(name: str, methods: list[str]) -> str | None:
    """The key among ``methods`` that ``name`` means: the key itself, the report's label of
    one (checkpoint paths shortened), or a bare method name (``"np-ei"``) that one key has;
    among several, EI from a NAP network's own bar head (``np-ei:<model>/nap``, the
    comparator that isolates what a policy adds; see :mod:`botorch_nap.benchmark.methods`).
    ``None`` if none; ``ValueError`` if several and none of them is preferred."""
    from botorch_nap.benchmark.report import label

    if name in methods:
        return name
    for matches in (
        [m for m in methods if label(m) == name],
        [m for m in methods if m.partition(":")[0] == name],
    ):
        if len(matches) == 1:
            return matches[0]
        own = [m for m in matches if m.endswith("/nap")]
        if len(own) == 1:
            return own[0]
        if matches:
            raise ValueError(f"{name!r} is ambiguous: it matches {matches}; give one of them")
    return None


def default_reference(methods: list[str]) -> str:
    """The method others are tested against: the first ``nap:`` method, else the first."""
    return next((m for m in methods if m.startswith("nap:")), methods[0])


def _stat(x: np.ndarray) -> dict:
    return {"mean": float(x.mean()), "median": float(np.median(x))}


def summarize(
    results: dict,
    methods: list[str] | None = None,
    reference: str | None = None,
    checkpoints: tuple[int, ...] = CHECKPOINTS,
    n_boot: int = 1000,
    seed: int = 0,
    also_vs: str | None = None,
    missing_ok: bool = False,
) -> dict:
    """Every number the report shows, as a JSON-able dict.

    ``methods``: keys, report labels or bare names (:func:`method_key`); one the file lacks
    is an error unless ``missing_ok`` (a report over several files, each holding some).

    Keys: ``methods``, ``reference``, ``steps``, ``n_init``, ``checkpoints`` (those within
    the budget, plus the final step), ``cells`` and ``n_runs_excluded`` (runs outside
    complete cells), ``curves[m]`` (per step: mean/median with CIs, mean rank, fraction at
    zero regret; ``decision_ms``: mean ms of the decision at steps ``1..T``), ``table[m]``
    (regret at each checkpoint, AUC with CI, final and mean rank, zero fraction at the end,
    ms per decision), ``tests[m]`` (Wilcoxon vs the reference on ``"auc"`` and each
    checkpoint ``"@k"``), ``per_task[task]`` (per method, mean over seeds of AUC and regret
    at each checkpoint; ``trivial`` if every run of every method is at zero regret by step
    ``min(10, T)``). ``also_vs``: a second reference; its paired tests go to
    ``tests_also = {"reference": also_vs, "tests": {m: ...}}`` (e.g. NAP against its NP-EI
    warm start while the main reference is GP-EI). Several, comma-separated (``"np-ei,nap"``):
    one set of tests for each that the file holds, in ``tests_also_all`` (``tests_also`` is
    the first).
    """
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    cfg = results["config"]
    known = list(dict.fromkeys(cfg["methods"]))
    if methods:
        # Names as the file keys them, as the report labels them, or a bare method name
        # that one key has ("nap" for the file's one nap:<checkpoint>).
        asked = list(methods)
        methods = [method_key(m, known) for m in asked]
        unknown = [a for a, m in zip(asked, methods) if m is None]
        if unknown and not missing_ok:
            raise ValueError(f"methods {unknown} are not in the results; they hold {known}")
        methods = list(dict.fromkeys(m for m in methods if m is not None))
    else:
        methods = known
    present = {r["method"] for r in results["runs"].values()}
    methods = [m for m in methods if m in present]
    if not methods:
        raise ValueError("the results hold no finished runs")
    if reference and "," in reference:
        # A preference list for reports over several files, e.g. "gp-ei,gp-ei-mixed": the
        # GP baseline each family was run with.
        options = [r.strip() for r in reference.split(",") if r.strip()]
        reference = next((r for r in map(lambda o: method_key(o, methods), options) if r), None)
        if reference is None:
            raise ValueError(f"none of the references {options} is among the methods {methods}")
    elif reference:
        reference = method_key(reference, methods) or reference
    reference = reference or default_reference(methods)
    if reference not in methods:
        raise ValueError(f"reference {reference!r} is not among the methods {methods}")
    cells = complete_cells(results, methods)
    if not cells:
        raise ValueError(f"no (task, seed) cell is finished by every method of {methods}")
    T = int(cfg["steps"])
    cps = [c for c in checkpoints if c <= T]
    if T not in cps:
        cps.append(T)
    R = regret_array(results, methods, cells)  # M x C x (T+1)
    ranks = stats.rankdata(R, method="average", axis=0)  # M x C x (T+1)
    aucs = auc(R)  # M x C
    auc_ranks = stats.rankdata(aucs, method="average", axis=0).mean(1)
    ref_i = methods.index(reference)
    runs = results["runs"]

    curves, table = {}, {}
    for i, m in enumerate(methods):
        mlo, mhi = bootstrap_ci(R[i], "mean", n_boot, seed=seed)
        dlo, dhi = bootstrap_ci(R[i], "median", n_boot, seed=seed)
        curves[m] = {
            "mean": R[i].mean(0).tolist(),
            "mean_lo": np.asarray(mlo).tolist(),
            "mean_hi": np.asarray(mhi).tolist(),
            "median": np.median(R[i], 0).tolist(),
            "median_lo": np.asarray(dlo).tolist(),
            "median_hi": np.asarray(dhi).tolist(),
            "rank": ranks[i].mean(0).tolist(),
            "zero_frac": (R[i] <= ZERO_TOL).mean(0).tolist(),
        }
        alo, ahi = bootstrap_ci(aucs[i], "mean", n_boot, seed=seed)
        times = np.array([runs[run_key(m, t, s)]["decision_s"] for t, s in cells], dtype=float)
        curves[m]["decision_ms"] = (1000 * times.mean(0)).tolist()  # per step 1..T
        times = times.ravel()
        reps = [_repeats(runs[run_key(m, t, s)], results, int(cfg["n_init"])) for t, s in cells]
        row = {
            # None when a run predates the counter (results files before it existed).
            "repeats": None if any(r is None for r in reps) else int(sum(reps)),
            "proposals": len(cells) * T,
            "auc": {**_stat(aucs[i]), "lo": float(alo), "hi": float(ahi)},
            "auc_rank": float(auc_ranks[i]),
            "final_rank": float(ranks[i, :, T].mean()),
            "mean_rank": float(ranks[i, :, 1:].mean()),
            "zero_frac_final": float((R[i, :, T] <= ZERO_TOL).mean()),
            "ms_per_decision": float(1000 * times.mean()) if times.size else None,
            "ms_per_decision_median": float(1000 * np.median(times)) if times.size else None,
        }
        for c in cps:
            row[f"@{c}"] = {
                **_stat(R[i, :, c]),
                "lo": curves[m]["mean_lo"][c],
                "hi": curves[m]["mean_hi"][c],
                "rank": float(ranks[i, :, c].mean()),
            }
        table[m] = row

    def paired_tests(j: int) -> dict:
        """Wilcoxon of every other method against method ``j``: AUC and each checkpoint."""
        out = {}
        for i, m in enumerate(methods):
            if i != j:
                out[m] = {"auc": paired_wilcoxon(aucs[i], aucs[j])}
                out[m].update({f"@{c}": paired_wilcoxon(R[i, :, c], R[j, :, c]) for c in cps})
        return out

    tests = paired_tests(ref_i)

    names = [a.strip() for a in also_vs.split(",") if a.strip()] if also_vs else []
    resolved = [method_key(n, methods) for n in names]
    # The main reference named again adds nothing (its tests are the main ones).
    found = [r for r in resolved if r is not None and r != reference]
    if names and not any(r is not None for r in resolved) and len(names) == 1:
        raise ValueError(f"--also-vs {names[0]!r} is not among the methods {methods}")
    if names and not any(r is not None for r in resolved):
        raise ValueError(f"--also-vs: none of {names} is among the methods {methods}")
    tests_also_all = [
        {"reference": r, "tests": paired_tests(methods.index(r))} for r in dict.fromkeys(found)
    ]
    tests_also = tests_also_all[0] if tests_also_all else None

    per_task = {}
    task_ids = list(dict.fromkeys(t for t, _ in cells))
    early = min(10, T)
    for tid in task_ids:
        idx = [j for j, (t, _) in enumerate(cells) if str(t) == str(tid)]
        sub = R[:, idx]
        entry = {
            "name": results["tasks"].get(str(tid), {}).get("name", str(tid)),
            "n_seeds": len(idx),
            "trivial": bool((sub[:, :, early] <= ZERO_TOL).all()),
            "methods": {},
        }
        for i, m in enumerate(methods):
            entry["methods"][m] = {
                "auc": float(aucs[i, idx].mean()),
                **{f"@{c}": float(sub[i, :, c].mean()) for c in cps},
            }
        per_task[str(tid)] = entry

    n_all = sum(1 for r in runs.values() if r["method"] in methods)
    return {
        "family": cfg["family"],
        "split": cfg["split"],
        "pool_size": cfg.get("pool_size"),
        "methods": methods,
        "reference": reference,
        "steps": T,
        "n_init": cfg["n_init"],
        "checkpoints": cps,
        "cells": [[t, s] for t, s in cells],
        "n_tasks": len(task_ids),
        "n_seeds": len({s for _, s in cells}),
        "n_runs_excluded": n_all - len(cells) * len(methods),
        "curves": curves,
        "table": table,
        "tests": tests,
        "tests_also": tests_also,
        "tests_also_all": tests_also_all,
        "per_task": per_task,
    }

"""Metrics against hand-computed cases (pure numpy; fast)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from botorch_nap.benchmark.metrics import (
    auc,
    average_ranks,
    bootstrap_ci,
    complete_cells,
    normalized_regret,
    paired_wilcoxon,
    summarize,
)
from botorch_nap.benchmark.report import format_table
from botorch_nap.benchmark.results import new_results, run_key
from botorch_nap.tasks.base import SearchSpace, Task


def test_normalized_regret_hand_cases():
    # optimum 2, worst -2: span 4.
    got = normalized_regret([2.0, 1.0, 0.0, -2.0, 3.0, -5.0], optimum=2.0, worst=-2.0)
    np.testing.assert_allclose(got, [0.0, 0.25, 0.5, 1.0, 0.0, 1.0])  # clipped to [0, 1]
    # A degenerate task (optimum == worst) gives zero regret, not a division by zero.
    assert normalized_regret([1.0], 1.0, 1.0).tolist() == [0.0]


def test_normalized_regret_matches_task():
    space = SearchSpace(torch.tensor([[0.0], [1.0]]), ["x"])
    task = Task("t", space, optimum=0.9, worst=0.1)
    best = [0.1, 0.5, 0.8, 0.9]
    got = task.normalized_regret(torch.tensor(best, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(got, normalized_regret(best, 0.9, 0.1))


def test_auc_is_mean_over_bo_steps():
    # Step 0 (after the initial design) is shared by every method and not counted.
    assert auc(np.array([1.0, 0.5, 0.25, 0.0])) == pytest.approx(0.25)


def test_rank_ties_share_the_average_rank():
    # 3 methods x 2 runs (lower is better).
    values = np.array(
        [
            [0.0, 0.3],  # run 0: ties with method 1 at 0 -> rank 1.5; run 1: rank 2
            [0.0, 0.1],  # run 0: 1.5; run 1: 1
            [0.2, 0.5],  # run 0: 3; run 1: 3
        ]
    )
    np.testing.assert_allclose(average_ranks(values), [1.75, 1.25, 3.0])
    # All tied: everyone gets the middle rank.
    np.testing.assert_allclose(average_ranks(np.zeros((4, 3))), [2.5] * 4)


def test_bootstrap_ci_brackets_the_statistic():
    x = np.random.default_rng(0).normal(size=(200, 3))
    lo, hi = bootstrap_ci(x, "mean", n_boot=300)
    assert (lo < x.mean(0)).all() and (x.mean(0) < hi).all()
    lo, hi = bootstrap_ci(np.ones((10, 2)), "median", n_boot=50)
    np.testing.assert_allclose(lo, 1.0)
    np.testing.assert_allclose(hi, 1.0)


def test_paired_wilcoxon():
    same = paired_wilcoxon(np.zeros(5), np.zeros(5))
    assert same["p"] == 1.0 and same["better"] == "tie" and same["n_nonzero"] == 0
    a = np.linspace(0.0, 0.1, 20)
    res = paired_wilcoxon(a, a + 0.05)
    assert res["better"] == "a" and res["p"] < 1e-3 and res["n"] == 20


def _fake_results(curves: dict, steps: int, decision_s: float = 0.01) -> dict:
    """A results document with given regret curves ``{(method, task, seed): [...]}``."""
    methods = list(dict.fromkeys(m for m, _, _ in curves))
    tasks = list(dict.fromkeys(t for _, t, _ in curves))
    seeds = sorted({s for _, _, s in curves})
    res = new_results(
        {
            "family": "fake",
            "split": "test",
            "methods": methods,
            "task_ids": tasks,
            "seeds": seeds,
            "n_init": 2,
            "steps": steps,
        }
    )
    for (m, t, s), r in curves.items():
        res["runs"][run_key(m, t, s)] = {
            "method": m,
            "task": t,
            "seed": s,
            "regret": r,
            "decision_s": [decision_s] * steps,
        }
    for t in tasks:
        res["tasks"][str(t)] = {"name": f"fake/{t}"}
    return res


def test_summarize_hand_case():
    curves = {
        ("nap:x", 1, 0): [1.0, 0.0, 0.0],
        ("nap:x", 1, 1): [1.0, 0.5, 0.0],
        ("random", 1, 0): [1.0, 0.5, 0.5],
        ("random", 1, 1): [1.0, 0.5, 0.0],
        ("nap:x", 2, 0): [0.4, 0.0, 0.0],
        ("random", 2, 0): [0.4, 0.0, 0.0],
        # Unpaired run: its cell lacks nap, so it is excluded from every comparison.
        ("random", 2, 1): [0.4, 0.4, 0.4],
    }
    s = summarize(_fake_results(curves, steps=2), n_boot=50)
    assert s["reference"] == "nap:x" and s["n_runs_excluded"] == 1
    assert s["checkpoints"] == [2]  # 10/25/50/100 exceed the budget; the final step is added
    assert [tuple(c) for c in s["cells"]] == [(1, 0), (1, 1), (2, 0)]
    nap, rnd = s["table"]["nap:x"], s["table"]["random"]
    assert nap["auc"]["mean"] == pytest.approx((0.0 + 0.25 + 0.0) / 3)
    assert rnd["auc"]["mean"] == pytest.approx((0.5 + 0.25 + 0.0) / 3)
    assert nap["@2"]["mean"] == pytest.approx(0.0)
    assert rnd["@2"]["mean"] == pytest.approx(0.5 / 3)
    # Final-step ranks: cell (1,0) nap 1 / random 2; cells (1,1), (2,0) tied at 1.5.
    assert nap["final_rank"] == pytest.approx((1 + 1.5 + 1.5) / 3)
    assert rnd["final_rank"] == pytest.approx((2 + 1.5 + 1.5) / 3)
    assert nap["zero_frac_final"] == 1.0 and rnd["zero_frac_final"] == pytest.approx(2 / 3)
    assert nap["ms_per_decision"] == pytest.approx(10.0)
    assert s["curves"]["random"]["rank"][0] == pytest.approx(1.5)  # step 0 shared: all tied
    assert set(s["tests"]) == {"random"} and s["tests"]["random"]["auc"]["better"] == "b"
    assert s["per_task"]["2"]["trivial"] and not s["per_task"]["1"]["trivial"]
    assert s["per_task"]["1"]["methods"]["random"]["auc"] == pytest.approx(0.375)
    assert complete_cells(_fake_results(curves, 2), ["random"])[-1] == (2, 1)


def test_summarize_also_vs_adds_second_paired_tests():
    curves = {}
    for s in range(6):
        curves[("gp-ei", 1, s)] = [1.0, 0.6, 0.5]
        curves[("np-ei:ck", 1, s)] = [1.0, 0.4, 0.3]
        curves[("nap:ck", 1, s)] = [1.0, 0.3 - 0.01 * s, 0.2]
    s = summarize(_fake_results(curves, steps=2), reference="gp-ei", also_vs="np-ei", n_boot=20)
    also = s["tests_also"]
    assert also["reference"] == "np-ei:ck" and set(also["tests"]) == {"gp-ei", "nap:ck"}
    assert also["tests"]["nap:ck"]["auc"]["better"] == "a"  # NAP lower than NP-EI
    assert also["tests"]["gp-ei"]["auc"]["better"] == "b"
    text = format_table(s)
    assert "method vs np-ei:ck" in text and "method vs gp-ei" in text
    with pytest.raises(ValueError, match="also-vs 'portfolio'"):
        summarize(_fake_results(curves, steps=2), also_vs="portfolio", n_boot=20)


def test_several_also_vs_give_one_table_each_for_those_the_file_holds():
    curves = {}
    for s in range(6):
        curves[("gp-ei", 1, s)] = [1.0, 0.6, 0.5]
        curves[("np-ei:ck", 1, s)] = [1.0, 0.4, 0.3]
        curves[("nap:ck", 1, s)] = [1.0, 0.3 - 0.01 * s, 0.2]
        curves[("optuna-tpe", 1, s)] = [1.0, 0.5, 0.45 + 0.01 * s]
    res = _fake_results(curves, steps=2)
    s = summarize(res, reference="gp-ei", also_vs="np-ei,nap,smac,gp-ei", n_boot=20)
    refs = [a["reference"] for a in s["tests_also_all"]]
    assert refs == ["np-ei:ck", "nap:ck"]  # smac absent, gp-ei is the main reference
    assert s["tests_also"]["reference"] == "np-ei:ck"
    vs_nap = s["tests_also_all"][1]["tests"]
    assert set(vs_nap) == {"gp-ei", "np-ei:ck", "optuna-tpe"}
    assert vs_nap["optuna-tpe"]["auc"]["better"] == "b"  # TPE's regret above NAP's
    text = format_table(s)
    assert "method vs np-ei:ck" in text and "method vs nap:ck" in text
    with pytest.raises(ValueError, match="none of"):
        summarize(res, also_vs="smac,hebo", n_boot=20)


def test_reference_list_takes_the_first_method_a_file_holds():
    curves = {}
    for s in range(4):
        curves[("gp-ei-mixed", 1, s)] = [1.0, 0.6, 0.5]
        curves[("nap:ck", 1, s)] = [1.0, 0.3, 0.2]
    res = _fake_results(curves, steps=2)
    s = summarize(res, reference="gp-ei,gp-ei-mixed", n_boot=10)
    assert s["reference"] == "gp-ei-mixed" and set(s["tests"]) == {"nap:ck"}
    with pytest.raises(ValueError, match="none of the references"):
        summarize(res, reference="gp-ei,random", n_boot=10)


def test_headline_targets_script_reads_a_results_file(tmp_path):
    from benchmark_scripts import load_script

    from botorch_nap.benchmark.results import save_results

    mod = load_script("headline_targets")
    curves = {}
    for s in range(8):
        for t in (1, 2):
            curves[("gp-ei", t, s)] = [1.0] + [0.4] * 30
            curves[("np-ei:ck", t, s)] = [1.0] + [0.1] * 30
            curves[("nap:ck", t, s)] = [1.0] + [0.05 + 0.001 * s] * 30
    res = _fake_results(curves, steps=30)
    save_results(res, tmp_path / "r.json")
    rows = mod.check(str(tmp_path / "r.json"))
    assert [r[2] for r in rows] == ["met"] * 4
    assert rows[0][1].endswith("= 0.25") and "AUC(1..30)" in rows[2][0]
    # GP-EI better than both networks: every target missed, and the winner named.
    for key in list(curves):
        if key[0] == "gp-ei":
            curves[key] = [1.0] + [0.01] * 30
    save_results(_fake_results(curves, steps=30), tmp_path / "r2.json")
    rows = mod.check(str(tmp_path / "r2.json"))
    assert rows[0][2] == rows[1][2] == "MISSED" and rows[3][2] == "MISSED (best: gp-ei)"
    # With EI from NAP's own bar head beside the warm start, the targets use the warm start.
    for key in list(curves):
        if key[0] == "np-ei:ck":
            curves[("np-ei:ck/nap", key[1], key[2])] = [1.0] + [0.001] * 30
    save_results(_fake_results(curves, steps=30), tmp_path / "r3.json")
    rows = mod.check(str(tmp_path / "r3.json"))
    assert rows[0][1].startswith("0.1000 / ")
    assert "np-ei:ck/nap 1.00" in rows[3][1] and rows[3][2] == "MISSED (best: np-ei:ck/nap)"


def test_also_vs_prefers_ei_from_the_nap_networks_own_bar_head():
    """With several np-ei methods, ``--also-vs np-ei`` means EI from the NAP network's own
    bar head (``np-ei:<name>/nap``), the comparator that isolates the policy's gain."""
    import json
    from pathlib import Path

    from botorch_nap.benchmark.metrics import summarize

    f = Path(__file__).resolve().parents[2] / "docs" / "results" / "branin.json"
    s = summarize(json.loads(f.read_text()), reference="gp-ei", also_vs="np-ei", n_boot=10)
    assert s["tests_also"]["reference"] == "np-ei:synthetic/nap"
    assert set(s["tests_also"]["tests"]) == {"nap:synthetic", "np-ei:synthetic", "gp-ei", "random"}


def _three_methods() -> dict:
    curves = {}
    for s in range(6):
        curves[("gp-ei", 1, s)] = [1.0, 0.6, 0.5]
        curves[("np-ei:runs/a/b/ck", 1, s)] = [1.0, 0.4, 0.3 + 0.01 * s]
        curves[("random", 1, s)] = [1.0, 0.8, 0.7]
    return _fake_results(curves, steps=2)


def test_method_names_are_resolved_or_refused_by_name():
    """--methods / --reference take a key, the report's label or a bare name; a name the file
    lacks is an error listing what it holds (it was dropped without a word)."""
    res = _three_methods()
    s = summarize(res, methods=["gp-ei", "np-ei:b/ck"], reference="np-ei", n_boot=20)
    assert s["methods"] == ["gp-ei", "np-ei:runs/a/b/ck"] and s["reference"] == "np-ei:runs/a/b/ck"
    with pytest.raises(ValueError, match=r"\['rnadom'\] are not in the results; they hold"):
        summarize(res, methods=["gp-ei", "rnadom"], n_boot=20)
    # The main reference named again as a second one adds nothing and is no error.
    s = summarize(res, reference="gp-ei", also_vs="gp-ei,random", n_boot=20)
    assert s["tests_also"]["reference"] == "random"
    with pytest.raises(ValueError, match="n_boot must be >= 1"):
        summarize(res, n_boot=0)


def test_a_task_or_seed_named_twice_counts_once():
    res = _three_methods()
    once = summarize(res, reference="gp-ei", n_boot=20)
    res["config"]["task_ids"] = [1, 1]
    res["config"]["seeds"] = res["config"]["seeds"] * 2
    twice = summarize(res, reference="gp-ei", n_boot=20)
    assert len(twice["cells"]) == len(once["cells"]) == 6 and twice["n_runs_excluded"] == 0
    assert twice["tests"]["random"]["auc"]["p"] == once["tests"]["random"]["auc"]["p"]


def test_an_ambiguous_name_is_refused_and_own_head_ei_preferred():
    from botorch_nap.benchmark.metrics import method_key

    keys = ["np-ei:runs/x/a/ck", "np-ei:runs/y/a/ck", "nap:m", "np-ei:m/nap", "np-ei:m"]
    with pytest.raises(ValueError, match="ambiguous"):
        method_key("np-ei:a/ck", keys)  # two keys share this label
    assert method_key("np-ei", keys) == "np-ei:m/nap"  # EI from the NAP's own bar head
    assert method_key("nap", keys) == "nap:m" and method_key("gp-ei", keys) is None


def test_paired_tests_pair_the_same_cells():
    """The Wilcoxon test pairs each method's run with the reference's on the same (task,
    seed). Differences of different sizes and signs, larger than the gaps between cells:
    pairing other cells (shifted, reversed, or each method's values sorted on their own)
    gives another p."""
    from scipy.stats import wilcoxon

    ref = [0.50, 0.52, 0.54, 0.56, 0.58, 0.60, 0.62, 0.64, 0.66, 0.68]
    diff = [0.050, -0.031, 0.045, -0.012, 0.063, 0.024, -0.008, 0.071, 0.036, 0.017]
    other = [r + d for r, d in zip(ref, diff)]
    curves = {}
    for s, (a, b) in enumerate(zip(ref, other)):
        curves[("gp-ei", 1, s)] = [1.0, a]
        curves[("random", 1, s)] = [1.0, b]
    summary = summarize(_fake_results(curves, steps=1), reference="gp-ei", n_boot=20)
    p = summary["tests"]["random"]["auc"]["p"]
    assert p == pytest.approx(wilcoxon(other, ref).pvalue)  # 0.049
    for a, b in ((other[1:] + other[:1], ref), (other[::-1], ref), (sorted(other), sorted(ref))):
        assert abs(wilcoxon(a, b).pvalue - p) > 0.01

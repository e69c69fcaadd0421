"""``botorch-nap fit`` end to end on a tiny own-data folder, and its planning rules."""

import json

import numpy as np
import pytest

from botorch_nap.cli import main as cli_main
from botorch_nap.nn.transformer import NAPTransformer
from botorch_nap.tasks.own_data import load_own_data, write_own_data
from botorch_nap.training.fit import FamilyProfile, plan_fit


def _quadratic_pools(root, n_tasks=7, n=24, seed=0):
    """Pools of a 2-d bowl whose optimum moves from task to task (maximised)."""
    rng = np.random.default_rng(seed)
    tasks = {}
    for t in range(n_tasks):
        X = rng.uniform(0, 1, (n, 2))
        c = rng.uniform(0.2, 0.8, 2)
        tasks[f"t{t}"] = (X, -((X - c) ** 2).sum(1))
    params = [{"name": f"x{j}", "type": "float", "lower": 0.0, "upper": 1.0} for j in range(2)]
    split = {"train": ["t0", "t1", "t2", "t3", "t4"], "val": ["t5"], "test": ["t6"]}
    return write_own_data(root, tasks, params, name="bowls", split=split)


def test_write_own_data_round_trips(tmp_path):
    folder = _quadratic_pools(tmp_path / "bowls")
    fam = load_own_data(folder)
    assert fam.split_ids("val") == ["t5"] and fam.space.dim == 2
    assert len(fam.task("t0")) == 24


def test_fit_end_to_end_writes_model_card_and_verdict(tmp_path, capsys):
    folder = _quadratic_pools(tmp_path / "bowls")
    out = tmp_path / "model"
    argv = ["fit", str(folder), "--minutes", "0.25", "--out", str(out), "--no-progress"]
    code = cli_main(argv)
    state = json.loads((out / "fit.json").read_text())
    verdict = state["verdict"]
    assert code == (0 if verdict["use_it"] else 3)
    # The checkpoint loads and is usable as NAP.
    net = NAPTransformer.load(out, expected_dim=2)
    assert net.config.d_model == 64  # the small-budget rule
    # The verdict names GP-EI's figure, and the card carries it with the command.
    gp = verdict["auc"]["gp-ei"]
    assert f"{gp:.4f}" in verdict["text"] and "GP-EI" in verdict["text"]
    card = (out / "MODEL_CARD.md").read_text()
    assert verdict["text"] in card and "botorch-nap fit" in card and "bowls" in card
    assert (out / state["verdict"]["plot"]).is_file()
    assert state["stages"]["np"]["done"] and state["stages"]["ppo"]["done"]
    printed = capsys.readouterr().out
    assert verdict["text"] in printed
    # 5 training tasks: augmentation, whose GP fits happen before the speed calibration.
    assert "augmentation: one GP per training task fitted" in printed
    # Rerunning resumes: nothing is redone, the same verdict comes back.
    assert cli_main(argv) == code
    assert json.loads((out / "fit.json").read_text())["verdict"] == verdict
    # Another family into the same folder is refused with a clear message.
    other = _quadratic_pools(tmp_path / "other", seed=1)
    with pytest.raises(SystemExit, match="holds a fit of"):
        cli_main(["fit", str(other), "--minutes", "0.25", "--out", str(out), "--no-progress"])


def test_plan_rules():
    few = FamilyProfile("f", 3, 10, 2, 3, True, 200, 500)
    plan = plan_fit(few, 30)
    assert plan.augment and plan.network["d_model"] == 64 and plan.steps == 25
    many = FamilyProfile("m", 3, 80, 10, 10, True, 1000, 1000)
    big = plan_fit(many, 90)
    assert not big.augment and big.network["d_model"] == 128
    assert sum(big.seconds.values()) == pytest.approx(90 * 60)
    small_pools = FamilyProfile("s", 3, 20, 2, 2, True, 12, 12)
    assert plan_fit(small_pools, 30).steps == 6
    with pytest.raises(ValueError, match="validation task"):
        plan_fit(FamilyProfile("v", 3, 20, 0, 2, True, 100, 100), 30)
    with pytest.raises(ValueError, match="at least 7 evaluated points"):
        plan_fit(FamilyProfile("p", 3, 20, 2, 2, True, 5, 5), 30)


def test_budget_clock_survives_a_killed_fit(tmp_path):
    """A fit killed before it could save (a session ending) resumes with its spent time."""
    from botorch_nap.training.fit import BudgetBar

    clock = tmp_path / "fit_clock.json"
    bar = BudgetBar(60.0, elapsed_s=100.0, enabled=False, clock_file=clock)
    bar.write_clock()
    bar.close()
    assert json.loads(clock.read_text())["elapsed_s"] >= 100.0
    # fit() resumes from the larger of fit.json's and the clock's time: a stage planned
    # after the kill gets only what is left of the budget.
    folder = _quadratic_pools(tmp_path / "bowls")
    out = tmp_path / "model"
    out.mkdir()
    (out / "fit_clock.json").write_text(json.dumps({"elapsed_s": 10_000.0}))
    cli_main(["fit", str(folder), "--minutes", "0.25", "--out", str(out), "--no-progress"])
    state = json.loads((out / "fit.json").read_text())
    assert state["elapsed_s"] >= 10_000.0
    # No budget was left: the NP got only the floor of its share (10%), not the full share.
    np_st, share = state["stages"]["np"], state["plan"]["seconds"]["np"]
    floor = max(20, int(0.9 * np_st["rate_steps_per_s"] * 0.1 * share))
    assert np_st["steps"] == floor


def test_categorical_family_is_judged_against_the_categorical_gp():
    from botorch_nap.training.fit import verdict

    cats = FamilyProfile("c", 4, 20, 2, 2, True, 100, 100, categorical=4)
    assert cats.gp_reference == "gp-ei-mixed"
    assert any("one-hot" in r and "MixedSingleTaskGP" in r for r in plan_fit(cats, 30).reasons)
    mixed = FamilyProfile("m", 4, 20, 2, 2, True, 100, 100, categorical=1)
    assert mixed.gp_reference == "gp-ei"
    assert FamilyProfile("n", 4, 20, 2, 2, True, 100, 100).gp_reference == "gp-ei"
    # The verdict names the reference it was measured against.
    summary = {
        "methods": ["nap:x", "gp-ei-mixed", "random"],
        "table": {
            m: {"auc": {"mean": a}}
            for m, a in [("nap:x", 0.1), ("gp-ei-mixed", 0.2), ("random", 0.3)]
        },
        "tests": {"nap:x": {"auc": {"p": 0.001}}},
        "tests_also": {"tests": {"nap:x": {"auc": {"p": 0.0001}}}},
        "n_tasks": 2,
        "n_seeds": 3,
    }
    v = verdict(summary, "nap:x", "gp-ei-mixed")
    assert v["use_it"] and "GP-EI (categorical kernel) 0.2000" in v["text"]

"""``benchmarks/compare_arms.py``: a model's curves, from one results file or several pooled."""

import json

import pytest
from benchmark_scripts import load_script

from botorch_nap.benchmark.results import new_results


def _file(tmp_path, name, tasks, value):
    res = new_results({"family": "branin", "methods": ["m"]})
    res["runs"] = {
        f"m|{t}|0": {"method": "m", "task": t, "seed": 0, "regret": [value, value / 2]}
        for t in tasks
    }
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(res))
    return str(path)


def test_model_curves_pool_files_and_refuse_a_cell_twice(tmp_path):
    mod = load_script("compare_arms")
    a = _file(tmp_path, "a", [1, 2], 1.0)
    b = _file(tmp_path, "b", [3], 3.0)
    one = mod.model_curves(f"{a}:m")
    assert sorted(one) == [("1", 0), ("2", 0)]
    both = mod.model_curves(f"{a}+{b}:m")
    assert sorted(both) == [("1", 0), ("2", 0), ("3", 0)] and both[("3", 0)][1] == 1.5
    with pytest.raises(ValueError, match="more than one file"):
        mod.model_curves(f"{a}+{a}:m")
    with pytest.raises(ValueError, match="expected"):
        mod.model_curves(f"{a}")


def test_files_of_different_protocols_or_steps_beyond_the_runs_are_refused(tmp_path, capsys):
    """Pairing gp_prior task 80 with branin task 80 (or 5 steps with 6) gave a p-value."""
    mod = load_script("compare_arms")
    a = _file(tmp_path, "a", [1, 2], 1.0)
    other = new_results({"family": "gp_prior", "methods": ["m"]})
    other["runs"] = json.loads((tmp_path / "a.json").read_text())["runs"]
    (tmp_path / "o.json").write_text(json.dumps(other))
    with pytest.raises(SystemExit, match="different protocols.*family 'gp_prior' vs 'branin'"):
        mod.main(["--arm", "x", f"{a}:m", "--arm", "y", f"{tmp_path / 'o.json'}:m"])
    with pytest.raises(SystemExit, match="no finished runs of method 'n'.*holds \\['m'\\]"):
        mod.main(["--arm", "x", f"{a}:m", "--arm", "y", f"{a}:n"])
    with pytest.raises(SystemExit, match="beyond the runs"):
        mod.main(["--arm", "x", f"{a}:m", "--arm", "y", f"{a}:m", "--steps", "5"])
    b = _file(tmp_path, "b", [1, 2], 2.0)
    mod.main(["--arm", "x", f"{a}:m", "--arm", "y", f"{b}:m"])
    assert "r@1" in capsys.readouterr().out  # default checkpoints cut to the runs' steps


def test_files_that_differ_only_in_split_layout_pool(tmp_path):
    """A second set of validation functions (n_train / n_val moved) pools with the first."""
    mod = load_script("compare_arms")
    a = new_results({"family": "gp_prior", "family_kwargs": {"dim": 3}, "methods": ["m"]})
    b = new_results(
        {"family": "gp_prior", "family_kwargs": {"dim": 3, "n_train": 112}, "methods": ["m"]}
    )
    for res, tasks, name in ((a, [1], "a"), (b, [2], "b")):
        res["runs"] = {
            f"m|{t}|0": {"method": "m", "task": t, "seed": 0, "regret": [1.0, 0.5]} for t in tasks
        }
        (tmp_path / f"{name}.json").write_text(json.dumps(res))
    both = mod.model_curves(f"{tmp_path / 'a.json'}+{tmp_path / 'b.json'}:m")
    assert sorted(both) == [("1", 0), ("2", 0)]

"""``benchmarks/botorch_functions.py``: shipped models on BoTorch's test functions, in their
own boxes, beside GP-EI and random."""

import json

import numpy as np
import pytest
from benchmark_scripts import load_script


def test_a_tiny_run_resumes_and_reports(tmp_path, capsys):
    mod = load_script("botorch_functions")
    out = tmp_path / "bf.json"
    argv = ["--functions", "sixhump2", "--seeds", "2", "--steps", "2", "--out", str(out)]
    assert mod.main(argv) == 0
    doc = json.loads(out.read_text())
    assert doc["protocol"] == {"model": "gp_prior", "steps": 2, "n_init": mod.N_INIT}
    assert doc["methods"]["nap"]["checkpoint"] == "shipped:gp_prior/nap"
    assert doc["methods"]["np-ei"]["decisions"]  # gp_prior's shipped decision settings
    runs = doc["runs"]
    assert sorted(runs) == sorted(f"sixhump2|{m}|{s}" for m in mod.METHODS for s in (0, 1))
    for run in runs.values():
        r = np.asarray(run["regret"])
        assert r.shape == (mod.N_INIT + 2,) and (r >= 0).all() and (np.diff(r) <= 0).all()
        assert run["repeats"] == 0
    # Every method starts from the same initial design: the same regret after it.
    assert len({run["regret"][mod.N_INIT - 1] for k, run in runs.items() if "|0" in k}) == 1
    text = capsys.readouterr().out
    assert "sixhump2 (2)" in text and (tmp_path / "bf.png").is_file()
    # A rerun finds every run done; another protocol is refused.
    before = out.read_text()
    assert mod.main(argv) == 0 and out.read_text() == before
    with pytest.raises(SystemExit):
        mod.main([*argv[:-4], "--steps", "3", "--out", str(out)])


def test_regret_is_normalised_by_the_functions_own_optimum():
    mod = load_script("botorch_functions")
    f = mod.FUNCTIONS["sixhump2"]()
    # BoTorch's optimal_value already carries negate's sign: the maximum of -f.
    assert f.optimal_value == pytest.approx(1.0316, abs=1e-3)
    assert mod.worst_value(f) < f.optimal_value
    assert mod.paired_p(np.ones(5), np.ones(5)) == 1.0

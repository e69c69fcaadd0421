"""``benchmarks/standout_best.py``: NAP's pool picks on real histories with a standout best
value, with and without the widened y scale."""

from benchmark_scripts import load_script


def test_standout_histories_and_picks_on_committed_runs(capsys, require_data):
    from benchmark_scripts import BENCHMARKS

    root = require_data("hpobench_xgb/hpobench_xgb.npz")
    results = BENCHMARKS.parent / "docs" / "results" / "hpobench_xgb.json"
    mod = load_script("standout_best")
    out = mod.main(["--cases", "3", "--results", str(results), "--data-dir", str(root)])
    assert out["decisions"] >= 3 and len(out["widened"]) == len(out["as fitted"]) >= 1
    assert all(0.0 <= v <= 1.0 for v in out["widened"] + out["as fitted"])
    # The widening changes what the network reads: some pick differs.
    assert out["widened"] != out["as fitted"]
    assert "paired Wilcoxon over runs p" in capsys.readouterr().out


def test_no_standout_history_is_a_clear_exit(tmp_path):
    import json

    import pytest

    mod = load_script("standout_best")
    doc = {"config": {"n_init": 2, "family": "hpobench_xgb"}, "runs": {}}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(SystemExit, match="no standout histories"):
        mod.main(["--results", str(path)])

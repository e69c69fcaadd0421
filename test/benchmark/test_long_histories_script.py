"""``benchmarks/long_histories.py``: a shipped network's predictions from crowded long
histories, beside the same network on the spread points alone."""

import math

import pytest
from benchmark_scripts import load_script


def test_rows_score_the_network_on_the_whole_history_and_on_the_spread_points(capsys):
    mod = load_script("long_histories")
    rows = mod.main(
        ["--functions", "hartmann3", "--histories", "8:40:0.01", "12:0:0", "--test-points", "40"]
    )
    assert [(r["spread"], r["crowd"]) for r in rows] == [(8, 40), (12, 0)]
    for r in rows:
        for rho, mae in (r["network"], r["spread alone"]):
            assert -1.0 <= rho <= 1.0 and math.isfinite(mae) and mae >= 0
    # Without a crowd the whole history is the spread points: the same prediction.
    assert rows[1]["network"] == rows[1]["spread alone"]
    assert rows[0]["network"] != rows[0]["spread alone"]
    assert "network, F alone" in capsys.readouterr().out


def test_the_crowd_sits_at_the_optimum_and_bad_specs_are_refused():
    import torch

    mod = load_script("long_histories")
    fn = mod.FUNCTIONS["hartmann3"]()
    X, Y, F = mod.history(fn, 5, 30, 0.01)
    opt = torch.as_tensor(fn.optimizers[0], dtype=X.dtype)
    assert F == 5 and X.shape == (35, 3) and Y.shape == (35, 1)
    assert float((X[5:] - opt).norm(dim=-1).max()) < 0.1
    with pytest.raises(SystemExit, match="F:C:S"):
        mod.parse_history("30-570")
    with pytest.raises(SystemExit, match="F >= 2"):
        mod.parse_history("1:10:0.01")

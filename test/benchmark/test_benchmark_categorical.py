"""Categorical families in the benchmark: NAP one-hot, GP-EI with a categorical kernel."""

from __future__ import annotations

import numpy as np
import pytest

from botorch_nap.baselines import OptimizerSettings
from botorch_nap.benchmark.runner import BenchmarkConfig, run_benchmark
from botorch_nap.tasks.own_data import load_own_data, write_own_data


def _categorical_folder(root) -> str:
    """Pools over 3 categorical dims (4, 3, 5 choices) + one float; best is a fixed combo."""
    rng = np.random.default_rng(0)
    tasks = {}
    for t in range(6):
        n = 60
        X = np.stack(
            [rng.integers(0, 4, n), rng.integers(0, 3, n), rng.integers(0, 5, n), rng.random(n)],
            axis=1,
        ).astype(float)
        target = (t % 4, t % 3, t % 5)
        y = sum((X[:, j] == target[j]).astype(float) for j in range(3)) - X[:, 3]
        tasks[f"t{t}"] = (X, y)
    params = [
        {"name": "a", "type": "categorical", "choices": ["a0", "a1", "a2", "a3"]},
        {"name": "b", "type": "categorical", "choices": ["b0", "b1", "b2"]},
        {"name": "c", "type": "categorical", "choices": ["c0", "c1", "c2", "c3", "c4"]},
        {"name": "x", "type": "float", "lower": 0.0, "upper": 1.0},
    ]
    split = {"train": ["t0", "t1", "t2", "t3"], "val": ["t4"], "test": ["t5"]}
    return str(write_own_data(root, tasks, params, name="cats", split=split))


def test_nap_and_mixed_gp_on_a_categorical_pool(tiny_net, tmp_path):
    folder = _categorical_folder(tmp_path / "cats")
    space = load_own_data(folder).space
    assert space.category_counts() == [4, 3, 5, 0]
    net = tiny_net(dim=4, categories=space.category_counts())
    net.save(tmp_path / "cat_net")
    methods = [f"nap:{tmp_path / 'cat_net'}", "gp-ei-mixed", "random"]
    cfg = BenchmarkConfig(
        folder,
        methods,
        split="test",
        seeds=[0],
        n_init=4,
        steps=3,
        optimizer=OptimizerSettings(num_restarts=2, raw_samples=16, maxiter=10),
    )
    res = run_benchmark(cfg, tmp_path / "res.json", progress=False)
    assert not res["failures"] and len(res["runs"]) == 3
    pool = load_own_data(folder).task("t5").X
    for r in res["runs"].values():
        X = np.asarray(r["X"])
        assert X.shape == (7, 4)
        # Every proposal is a pool row (codes stay codes), and none repeats.
        d = np.abs(X[:, None, :] - pool.numpy()[None]).sum(-1).min(-1)
        assert (d < 1e-9).all() and len({tuple(x) for x in X.tolist()}) == 7
    # A network built for another space is refused with the reason, before any run.
    tiny_net(dim=4).save(tmp_path / "plain_net")
    bad = BenchmarkConfig(
        folder, [f"nap:{tmp_path / 'plain_net'}"], split="test", seeds=[0], n_init=4, steps=1
    )
    with pytest.raises(ValueError, match="plain_net.*categorical dims"):
        run_benchmark(bad, tmp_path / "bad.json", progress=False)
    assert not (tmp_path / "bad.json").exists()


def test_mixed_gp_needs_a_categorical_family(tmp_path):
    from botorch_nap.baselines import GPEIMixed

    with pytest.raises(ValueError, match="at least one categorical dim"):
        GPEIMixed({})


def test_off_pool_decisions_keep_codes_integral(tiny_net):
    """Off a pool, categorical dims go through optimize_acqf_mixed_alternating."""
    import torch

    from botorch_nap.baselines import NAP, GPEIMixed

    g = torch.Generator().manual_seed(0)
    X = torch.stack(
        [torch.rand(8, generator=g), torch.randint(0, 4, (8,), generator=g).double()], -1
    ).double()
    Y = (X[:, :1] - 0.3) ** 2 + (X[:, 1:] == 2).double()
    bounds = torch.tensor([[0.0, 0.0], [1.0, 3.0]], dtype=torch.float64)
    settings = OptimizerSettings(num_restarts=2, raw_samples=16, maxiter=5)
    net = tiny_net(dim=2, categories=[0, 4])
    for p in (NAP(net, settings=settings, cat_dims={1: 4}), GPEIMixed({1: 4}, settings=settings)):
        x = p.propose(X, Y, bounds)
        assert x.shape == (1, 2)
        assert 0.0 <= x[0, 0] <= 1.0 and x[0, 1] in (0.0, 1.0, 2.0, 3.0)

"""SearchSpace, PoolTask lookup, normalised regret, the deterministic split and data paths."""

from __future__ import annotations

import pytest
import torch

from botorch_nap.tasks import PoolTask, SearchSpace, deterministic_split, find_data_file


def mixed_space() -> SearchSpace:
    bounds = torch.tensor([[0.0, -3.0, 1.0, 0.0], [1.0, 0.0, 5.0, 2.0]])
    return SearchSpace(bounds, ["a", "b", "c", "d"], [2], {3: 3}, [1])


def test_search_space_sampling_respects_types():
    space = mixed_space()
    X = space.sample_uniform(4000, generator=torch.Generator().manual_seed(0))
    assert X.shape == (4000, 4) and X.dtype == torch.float64
    assert (X >= space.bounds[0]).all() and (X <= space.bounds[1]).all()
    assert (X[:, 2] == X[:, 2].round()).all() and set(X[:, 3].tolist()) == {0.0, 1.0, 2.0}
    # End values of integer dims are as frequent as inner ones (half-unit widening).
    counts = torch.bincount(X[:, 2].long())[1:]
    assert counts.min() > 0.8 * counts.max()
    assert space.continuous_dims == [0, 1]
    assert space.round(torch.tensor([2.0, -1.2, 3.6, 1.4], dtype=torch.float64)).tolist() == [
        1.0,
        -1.2,
        4.0,
        1.0,
    ]


def test_search_space_validates():
    with pytest.raises(ValueError, match="names"):
        SearchSpace(torch.tensor([[0.0], [1.0]]), ["a", "b"])
    with pytest.raises(ValueError, match="categorical"):
        SearchSpace(torch.tensor([[0.0], [3.0]]), ["a"], categorical_dims={0: 3})


def test_pool_task_lookup_and_regret():
    space = SearchSpace(torch.tensor([[0.0, 0.0], [1.0, 1.0]]), ["a", "b"])
    X = torch.rand(50, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    y = X.sum(-1)
    task = PoolTask("p", space, X, y)
    assert task.optimum == y.max().item() and task.worst == y.min().item()
    # float32 queries still find their rows; batch shapes are kept.
    out = task.evaluate(X[torch.tensor([[3, 4], [5, 6]])].float())
    assert out.shape == (2, 2) and out.dtype == torch.float64
    assert torch.equal(out, y[torch.tensor([[3, 4], [5, 6]])])
    assert torch.equal(task.evaluate_index([7, 8]), y[[7, 8]])
    with pytest.raises(ValueError, match="not in the pool"):
        task.evaluate(torch.tensor([[2.0, 2.0]]))
    r = task.normalized_regret(torch.tensor([task.optimum, task.worst, task.worst - 1.0]))
    assert torch.allclose(r, torch.tensor([0.0, 1.0, 1.0], dtype=torch.float64))


@pytest.mark.parametrize("n", [3, 4, 14, 34, 117, 119])
def test_deterministic_split_disjoint_and_sized(n):
    ids = list(range(100, 100 + n))
    s = deterministic_split(ids)
    assert sorted(s["train"] + s["val"] + s["test"]) == ids
    assert not (set(s["train"]) & set(s["val"]) or set(s["train"]) & set(s["test"]))
    assert not set(s["val"]) & set(s["test"])
    assert len(s["val"]) >= 1 and len(s["test"]) >= 1
    assert abs(len(s["test"]) - 0.2 * n) <= 1 and s == deterministic_split(ids)


def test_missing_file_error_names_file_and_place(tmp_path, monkeypatch):
    monkeypatch.setenv("BOTORCH_NAP_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError) as e:
        find_data_file("hpobench_xgb/hpobench_xgb.npz")
    msg = str(e.value)
    assert "hpobench_xgb/hpobench_xgb.npz" in msg and str(tmp_path) in msg
    assert "BOTORCH_NAP_DATA" in msg


def test_a_family_option_it_does_not_have_is_named_with_the_ones_it_has():
    from botorch_nap.tasks import get_family

    with pytest.raises(ValueError, match=r"'branin' has no option 'bogus'; its options: dim"):
        get_family("branin", bogus=1)
    with pytest.raises(ValueError, match=r"'gp_prior' has no option 'dimm'.*lengthscale_range"):
        get_family("gp_prior", dimm=3)
    # A family whose options pass through to another function: still a ValueError.
    with pytest.raises(ValueError, match=r"'synthetic_mix'.*'bogus'"):
        get_family("synthetic_mix", bogus=1)
    with pytest.raises(KeyError, match="unknown task family 'nope'"):
        get_family("nope")
    assert get_family("gp_prior", dim=4).space.dim == 4


def test_deterministic_split_takes_evenly_spaced_positions():
    """Test ids sit at the middles of equal stretches of the list (``floor((i + 1/2) n / k)``),
    then validation ids likewise among the rest: a split moved by one position would change
    every family's splits."""
    s = deterministic_split(list(range(10)))
    assert s == {"train": [0, 1, 3, 4, 6, 8, 9], "val": [5], "test": [2, 7]}


def test_regret_is_zero_beyond_the_optimum_and_lookup_is_strict():
    space = SearchSpace(torch.tensor([[0.0], [1.0]]), ["x"])
    task = PoolTask("p", space, torch.tensor([[0.0], [1.0]]), torch.tensor([0.0, 1.0]))
    # A value past the pool's best (an evaluation outside the pool) is no negative regret.
    assert float(task.normalized_regret(1.5)) == 0.0
    assert float(task.normalized_regret(-1.0)) == 1.0
    with pytest.raises(ValueError, match="not in the pool"):
        task.lookup(torch.tensor([[1e-4]]))  # off every row by more than the tolerance
    assert int(task.lookup(torch.tensor([[1e-7]]))[0]) == 0


def test_pool_batches_never_sample_padding_rows():
    from botorch_nap.tasks.pools import PoolFamily

    space = SearchSpace(torch.tensor([[0.0], [1.0]]), ["x"])
    small = (torch.tensor([[0.2], [0.4], [0.6]]), torch.tensor([1.0, 2.0, 3.0]))
    big = (torch.linspace(0.1, 0.9, 10).unsqueeze(-1), torch.arange(10.0) + 10)
    fam = PoolFamily("f", space, {"s": small, "b": big}, {"train": ["s", "b"]})
    g = torch.Generator().manual_seed(0)
    _, y, (pick, rows) = fam.sample_batch(400, 3, g, return_index=True)
    assert (rows < torch.tensor([3, 10])[pick].unsqueeze(1)).all()
    assert (y != 0).all()  # a zero-filled padding row would read y = 0

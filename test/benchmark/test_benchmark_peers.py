"""Peers (Optuna TPE, Ax's default) run from the shared initial points, in a box and on a pool."""

import pytest
import torch
from botorch.test_functions import Branin

from botorch_nap.benchmark.loop import initial_design, run_loop
from botorch_nap.benchmark.peers import (
    SMAC3,
    AxDefault,
    HEBOPeer,
    OptunaTPE,
    nearest_unevaluated,
)

BRANIN = Branin(negate=True)
BOUNDS = BRANIN.bounds.to(torch.float64)


def _objective(X):
    return BRANIN(X)


@pytest.mark.parametrize("cls", [OptunaTPE, SMAC3, HEBOPeer, AxDefault])
def test_peer_is_told_the_shared_initial_points_and_proposes_valid_points(cls):
    n_init, steps = 4, 3
    peer = cls(seed=0)
    res = run_loop(peer, _objective, BOUNDS, n_init, steps, seed=0)
    X0 = initial_design(n_init, BOUNDS, None, seed=0)
    told = peer.history()
    # The initial design was told first, in order, then every proposal but the last.
    assert torch.equal(told[:n_init], X0)
    assert torch.equal(told, res.X[: n_init + steps - 1])
    assert ((res.X >= BOUNDS[0]) & (res.X <= BOUNDS[1])).all()
    if cls is OptunaTPE:
        done = [t for t in peer.study.trials if t.state.name == "COMPLETE"]
        assert len(done) == n_init + steps - 1
        assert [t.value for t in done[:n_init]] == pytest.approx(res.Y[:n_init].tolist())
    elif cls is HEBOPeer:
        assert peer.opt.X.shape[0] == n_init + steps - 1
        assert (-peer.opt.y[:n_init, 0]).tolist() == pytest.approx(res.Y[:n_init].tolist())
    elif cls is SMAC3:
        assert len(peer.smac.runhistory) >= n_init + steps - 1
        costs = [peer.smac.runhistory.get_cost(c) for c in peer.smac.runhistory.get_configs()]
        assert sorted(-c for c in costs[:n_init]) == pytest.approx(sorted(res.Y[:n_init].tolist()))
    else:
        df = peer.client.summarize()
        assert len(df[df["trial_status"] == "COMPLETED"]) == n_init + steps - 1


@pytest.mark.parametrize("cls", [OptunaTPE, SMAC3, HEBOPeer, AxDefault])
def test_peer_on_a_pool_picks_unevaluated_pool_points(cls):
    pool = initial_design(40, BOUNDS, None, seed=3)
    n_init, steps = 4, 3
    peer = cls(seed=1)
    res = run_loop(peer, _objective, BOUNDS, n_init, steps, candidates=pool, seed=2)
    for x in res.X:
        assert (pool == x).all(-1).any(), "every evaluated point is a pool point"
    assert torch.unique(res.X, dim=0).shape[0] == n_init + steps, "no pool point twice"
    told = peer.history()
    assert torch.equal(told, res.X[: n_init + steps - 1]), "told the pool points evaluated"
    if cls is OptunaTPE:
        done = [t for t in peer.study.trials if t.state.name == "COMPLETE"]
        for t, x in zip(done, told):
            assert [t.params[f"x{j}"] for j in range(2)] == pytest.approx(x.tolist())


def test_nearest_unevaluated_skips_evaluated_points():
    pool = torch.tensor([[0.0, 0.0], [1.0, 1.0], [0.1, 0.1]], dtype=torch.float64)
    bounds = torch.tensor([[0.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    x = torch.tensor([[0.0, 0.01]], dtype=torch.float64)
    assert torch.equal(nearest_unevaluated(x, pool, pool[:1], bounds), pool[2:3])
    with pytest.raises(ValueError, match="already been evaluated"):
        nearest_unevaluated(x, pool, pool, bounds)

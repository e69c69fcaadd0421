import pytest
import torch
from botorch.test_functions import Branin

from botorch_nap.baselines import GPEI, NAP, NPEI, OptimizerSettings, RandomSearch
from botorch_nap.benchmark.loop import initial_design, run_loop

BRANIN = Branin(negate=True)
BOUNDS = BRANIN.bounds.to(torch.float64)
FAST = OptimizerSettings(num_restarts=2, raw_samples=32, maxiter=30)


def _proposers(net):
    return [
        GPEI(settings=FAST),
        NPEI(net, settings=FAST),
        NAP(net, settings=FAST),
        RandomSearch(generator=torch.Generator().manual_seed(0)),
    ]


def test_every_proposer_continuous_in_bounds(tiny_net):
    X = initial_design(5, BOUNDS, None, seed=0)
    Y = BRANIN(X).unsqueeze(-1)
    for p in _proposers(tiny_net()):
        x = p.propose(X, Y, BOUNDS)
        assert x.shape == (1, 2), p.name
        assert ((x >= BOUNDS[0]) & (x <= BOUNDS[1])).all(), p.name


def test_every_proposer_pool_picks_unevaluated_pool_point(tiny_net):
    pool = initial_design(60, BOUNDS, None, seed=1)
    X = pool[:5]
    Y = BRANIN(X).unsqueeze(-1)
    for p in _proposers(tiny_net()):
        x = p.propose(X, Y, BOUNDS, candidates=pool)
        assert (pool == x).all(-1).any(), p.name
        assert not (X == x).all(-1).any(), p.name
    with pytest.raises(ValueError, match="already been evaluated"):
        GPEI(settings=FAST).propose(pool, BRANIN(pool).unsqueeze(-1), BOUNDS, candidates=pool)


def test_gp_ei_beats_random_on_branin_pool():
    pool = initial_design(300, BOUNDS, None, seed=2)
    regret = {}
    for p in [GPEI(settings=FAST), RandomSearch(generator=torch.Generator().manual_seed(0))]:
        r = [
            float(BRANIN(pool).max() - run_loop(p, BRANIN, BOUNDS, 4, 12, pool, seed=s).best[-1])
            for s in range(3)
        ]
        regret[p.name] = sum(r) / len(r)
    assert regret["gp-ei"] < regret["random"]


def test_same_seed_same_initial_points_for_every_method(tiny_net):
    pool = initial_design(100, BOUNDS, None, seed=3)
    runs = [run_loop(p, BRANIN, BOUNDS, 5, 1, pool, seed=7) for p in _proposers(tiny_net())]
    for r in runs[1:]:
        assert torch.equal(r.X[:5], runs[0].X[:5])
    assert not torch.equal(initial_design(5, BOUNDS, pool, 7), initial_design(5, BOUNDS, pool, 8))


def test_minimisation_flag(tiny_net):
    X = initial_design(6, BOUNDS, None, seed=4)
    Y = BRANIN(X).unsqueeze(-1)
    pool = initial_design(50, BOUNDS, None, seed=5)
    a = NAP(tiny_net(), maximize=False).acquisition(X, Y, BOUNDS)(pool.unsqueeze(1))
    b = NAP(tiny_net()).acquisition(X, -Y, BOUNDS)(pool.unsqueeze(1))
    torch.testing.assert_close(a, b)

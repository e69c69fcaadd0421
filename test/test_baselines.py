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


def test_maxiter_default_is_per_method_and_settings_override_it(tiny_net, monkeypatch):
    import botorch_nap.baselines as baselines

    seen = []
    real = baselines.optimize_acqf

    def spy(*args, **kwargs):  # the real optimiser runs; only its options are recorded
        seen.append(kwargs["options"]["maxiter"])
        return real(*args, **kwargs)

    monkeypatch.setattr(baselines, "optimize_acqf", spy)
    X = initial_design(5, BOUNDS, None, seed=0)
    Y = BRANIN(X).unsqueeze(-1)
    quick = OptimizerSettings(num_restarts=2, raw_samples=16)  # maxiter left to the method
    NAP(tiny_net(), settings=quick).propose(X, Y, BOUNDS)
    NPEI(tiny_net(), settings=quick).propose(X, Y, BOUNDS)
    GPEI(settings=quick).propose(X, Y, BOUNDS)
    NAP(tiny_net(), settings=FAST).propose(X, Y, BOUNDS)
    short, long_ = baselines.NETWORK_POLISH_MAXITER, baselines.DEFAULT_MAXITER
    assert short < long_
    assert seen == [short, short, long_, FAST.maxiter]


def test_unevaluated_filter_matches_exact_row_equality():
    from botorch_nap.baselines import _unevaluated

    g = torch.Generator().manual_seed(0)
    pool = torch.rand(200, 3, generator=g, dtype=torch.float64)
    X = torch.cat([pool[::7], torch.rand(4, 3, generator=g, dtype=torch.float64)])
    X[0, 0] = X[0, 0] + 1e-12  # a near miss is not a repeat
    free = _unevaluated(pool, X)
    seen = (pool.unsqueeze(1) == X.unsqueeze(0)).all(-1).any(-1)
    assert torch.equal(free, pool[~seen])
    assert free.shape[0] == 200 - (len(pool[::7]) - 1)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.float16])
def test_unevaluated_mask_is_exact_in_every_float_dtype(dtype):
    from botorch_nap.baselines import unevaluated_mask

    g = torch.Generator().manual_seed(1)
    pool = torch.rand(300, 4, generator=g).to(dtype)
    pool[0] = 0.0
    X = torch.cat([pool[5::9], -torch.zeros(1, 4, dtype=dtype)])  # -0.0 equals 0.0
    X[0, 2] = torch.nextafter(X[0, 2], torch.tensor(2.0, dtype=dtype))  # one bit off: new
    expected = ~(pool.unsqueeze(1) == X.unsqueeze(0)).all(-1).any(-1)
    assert torch.equal(unevaluated_mask(pool, X), expected)
    assert not expected[0] and expected[5]
    assert unevaluated_mask(pool, X[:0]).all()


def test_repeat_radius_reaches_the_acquisition(tiny_net):
    net = tiny_net()
    X = torch.rand(6, 2, dtype=torch.float64) * (BOUNDS[1] - BOUNDS[0]) + BOUNDS[0]
    Y = BRANIN(X).unsqueeze(-1)
    for cls in (NAP, NPEI):
        assert cls(net).acquisition(X, Y, BOUNDS).repeat_radius == 1e-2
        acqf = cls(net, repeat_radius=1e-4).acquisition(X, Y, BOUNDS)
        assert acqf.repeat_radius == 1e-4
        # Radius 0 turns the guard off: an evaluated point then keeps the network's own score.
        off = cls(net, repeat_radius=0.0).acquisition(X, Y, BOUNDS)
        on = cls(net).acquisition(X, Y, BOUNDS)
        with torch.no_grad():
            assert (off(X[:1, None]) > on(X[:1, None])).all()

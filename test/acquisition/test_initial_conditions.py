import pytest
import torch
from botorch.optim import optimize_acqf
from branin_data import BOUNDS, RANGE
from branin_data import branin_history as _data

from botorch_nap import NAPAcquisition, NPExpectedImprovement
from botorch_nap.acquisition.initial_conditions import (
    gen_initial_conditions_near_incumbent,
    sample_near_incumbent,
)
from botorch_nap.baselines import GPEI, NAP, NPEI, OptimizerSettings


@pytest.mark.parametrize("maximize", [True, False])
def test_samples_surround_the_best_point_in_the_optimisation_direction(maximize):
    X, Y = _data()
    best = X[Y.argmax() if maximize else Y.argmin()]
    torch.manual_seed(0)
    S = sample_near_incumbent(X, Y, BOUNDS, 500, sigma=0.01, maximize=maximize)
    assert S.shape == (500, 2) and S.dtype == X.dtype
    assert ((S >= BOUNDS[0]) & (S <= BOUNDS[1])).all()
    z = (S - best) / RANGE  # unit-cube steps; clamping only shortens them
    assert z.abs().max() < 0.06
    assert 0.0085 < z.std(0).min() and z.std(0).max() < 0.0115


def test_samples_are_clamped_to_the_bounds():
    X = torch.tensor([[10.0, 15.0], [0.0, 5.0]], dtype=torch.float64)  # best at a corner
    Y = torch.tensor([[2.0], [1.0]], dtype=torch.float64)
    S = sample_near_incumbent(X, Y, BOUNDS, 200, sigma=0.1)
    assert (S <= BOUNDS[1]).all() and (S == BOUNDS[1]).any()


@pytest.mark.parametrize("make", ["nap", "npei"])
def test_starts_come_from_the_incumbents_neighbourhood_and_feed_optimize_acqf(tiny_net, make):
    X, Y = _data()
    net = tiny_net()
    cls = NAPAcquisition if make == "nap" else NPExpectedImprovement.from_network
    acqf = cls(net, X, Y, BOUNDS)
    best = X[Y.argmax()]
    torch.manual_seed(0)
    # No uniform raw samples: every start must be one of the incumbent's neighbours.
    starts = gen_initial_conditions_near_incumbent(acqf, BOUNDS, X, Y, 4, 0, n_near=16)
    assert starts.shape == (4, 1, 2)
    assert ((starts.squeeze(1) - best) / RANGE).abs().max() < 0.06
    starts = gen_initial_conditions_near_incumbent(acqf, BOUNDS, X, Y, 4, 64, n_near=16)
    x, _ = optimize_acqf(
        acqf, BOUNDS, q=1, num_restarts=4, batch_initial_conditions=starts, options={"maxiter": 3}
    )
    assert x.shape == (1, 2) and ((x >= BOUNDS[0]) & (x <= BOUNDS[1])).all()


@pytest.mark.parametrize("make", ["nap", "npei"])
def test_starts_follow_a_minimising_acquisitions_incumbent_by_default(tiny_net, make):
    # maximize=False on the acquisition: the starts surround the smallest train_Y, with no
    # need to say so twice.
    X, Y = _data()
    net = tiny_net()
    cls = NAPAcquisition if make == "nap" else NPExpectedImprovement.from_network
    acqf = cls(net, X, Y, BOUNDS, maximize=False)
    torch.manual_seed(0)
    starts = gen_initial_conditions_near_incumbent(acqf, BOUNDS, X, Y, 4, 0, n_near=16)
    assert ((starts.squeeze(1) - X[Y.argmin()]) / RANGE).abs().max() < 0.06
    torch.manual_seed(0)
    told = gen_initial_conditions_near_incumbent(acqf, BOUNDS, X, Y, 4, 0, 16, maximize=True)
    assert ((told.squeeze(1) - X[Y.argmax()]) / RANGE).abs().max() < 0.06


def test_starts_are_reproducible_under_torch_manual_seed(tiny_net):
    X, Y = _data()
    acqf = NAPAcquisition(tiny_net(), X, Y, BOUNDS)
    runs = []
    for _ in range(2):
        torch.manual_seed(3)
        runs.append(gen_initial_conditions_near_incumbent(acqf, BOUNDS, X, Y, 4, 32))
    assert torch.equal(*runs)


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda X, Y, b: (X, Y[:-1], b), "train_Y has shape"),
        (lambda X, Y, b: (X, Y.masked_fill(Y == Y.max(), float("nan")), b), "NaN"),
        (lambda X, Y, b: (X, Y, b[:, :1]), "bounds must be 2 x 2"),
        (lambda X, Y, b: (X, Y, b.flip(0)), "upper bound"),
        (lambda X, Y, b: (X[:0], Y[:0], b), "n >= 1"),
    ],
)
def test_bad_history_or_bounds_are_named(change, match):
    X, Y, b = change(*_data(), BOUNDS)
    with pytest.raises(ValueError, match=match):
        sample_near_incumbent(X, Y, b, 8)


def test_bad_counts_are_named(tiny_net):
    X, Y = _data()
    acqf = NAPAcquisition(tiny_net(), X, Y, BOUNDS)
    with pytest.raises(ValueError, match="sigma"):
        sample_near_incumbent(X, Y, BOUNDS, 8, sigma=0.0)
    with pytest.raises(ValueError, match="must be >= num_restarts"):
        gen_initial_conditions_near_incumbent(acqf, BOUNDS, X, Y, 8, 4, n_near=2)
    with pytest.raises(ValueError, match="near_incumbent"):
        NPEI(tiny_net(), near_incumbent=-1)
    with pytest.raises(ValueError, match="near_sigma"):
        NAP(tiny_net(), near_sigma=0.0)


@pytest.mark.parametrize("cls", [NPEI, NAP])
def test_proposers_route_near_incumbent_starts_to_optimize_acqf(tiny_net, cls, monkeypatch):
    import botorch_nap.baselines as baselines

    seen = {}
    real = baselines.optimize_acqf

    def spy(acqf, **kw):
        seen.update(kw)
        return real(acqf, **kw)

    monkeypatch.setattr(baselines, "optimize_acqf", spy)
    X, Y = _data()
    settings = OptimizerSettings(num_restarts=2, raw_samples=0)
    # raw_samples = 0: the starts can only be the incumbent's neighbours.
    x = cls(tiny_net(), settings=settings, near_incumbent=8).propose(X, Y, BOUNDS)
    starts = seen["batch_initial_conditions"]
    assert starts.shape == (2, 1, 2) and "raw_samples" not in seen
    assert ((starts.squeeze(1) - X[Y.argmax()]) / RANGE).abs().max() < 0.06
    assert x.shape == (1, 2)
    seen.clear()
    settings = OptimizerSettings(num_restarts=2, raw_samples=16)
    cls(tiny_net(), settings=settings).propose(X, Y, BOUNDS)  # off by default
    assert seen["raw_samples"] == 16 and "batch_initial_conditions" not in seen
    seen.clear()
    GPEI(settings=settings).propose(X, Y, BOUNDS)  # GP-EI keeps BoTorch's own starts
    assert seen["raw_samples"] == 16 and "batch_initial_conditions" not in seen

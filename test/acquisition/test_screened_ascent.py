import pytest
import torch
from botorch.acquisition import PosteriorMean
from botorch.models.deterministic import GenericDeterministicModel
from botorch.optim import optimize_acqf
from botorch.test_functions import Branin
from branin_data import BOUNDS, RANGE, branin_history

from botorch_nap import NAPAcquisition
from botorch_nap.acquisition.screened_ascent import gen_candidates_screened_ascent
from botorch_nap.baselines import NAP, NPEI, OptimizerSettings


def _acqf(f=None):
    """A smooth acquisition: ``f`` (default -Branin, maxima inside the box) as a BoTorch model."""
    f = f or (lambda X: -Branin()(X).unsqueeze(-1))
    return PosteriorMean(GenericDeterministicModel(f))


def _starts(b=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return BOUNDS[0] + torch.rand(b, 1, 2, generator=g, dtype=torch.float64) * RANGE


def test_never_worse_than_its_starts_and_climbs():
    acqf = _acqf()
    starts = _starts()
    with torch.no_grad():
        before = acqf(starts)
    x, val = gen_candidates_screened_ascent(starts, acqf, BOUNDS[0], BOUNDS[1])
    assert x.shape == (6, 1, 2) and val.shape == (6,)
    with torch.no_grad():
        assert torch.allclose(acqf(x), val)
    assert (val >= before).all()
    assert (val > before + 1e-3).all()  # a smooth function: every start climbs
    assert ((x >= BOUNDS[0]) & (x <= BOUNDS[1])).all()


def test_more_iterations_climb_further():
    acqf = _acqf()
    starts = _starts(seed=3)
    vals = [
        gen_candidates_screened_ascent(starts, acqf, BOUNDS[0], BOUNDS[1], {"iterations": k})[1]
        for k in (1, 2, 4)
    ]
    assert (vals[1] >= vals[0]).all() and (vals[2] >= vals[1]).all()
    assert vals[2].sum() > vals[0].sum()


def test_a_long_step_lands_on_the_boundary():
    # Increasing in both coordinates: the best point is the upper corner, which projected
    # steps reach exactly (as L-BFGS-B's do), where Gaussian perturbations would not.
    acqf = _acqf(lambda X: X.sum(-1, keepdim=True))
    x, _ = gen_candidates_screened_ascent(_starts(), acqf, BOUNDS[0], BOUNDS[1])
    assert torch.equal(x, BOUNDS[1].expand(6, 1, 2))


def test_zero_iterations_return_the_starts_and_their_values():
    acqf = _acqf()
    starts = _starts(3)
    x, val = gen_candidates_screened_ascent(starts, acqf, BOUNDS[0], BOUNDS[1], {"iterations": 0})
    assert torch.equal(x, starts)
    with torch.no_grad():
        assert torch.equal(val, acqf(starts))


def test_fixed_features_stay_fixed():
    acqf = _acqf()
    starts = _starts(4)
    starts[..., 1] = 3.0
    x, _ = gen_candidates_screened_ascent(
        starts, acqf, BOUNDS[0], BOUNDS[1], fixed_features={1: 3.0}
    )
    assert (x[..., 1] == 3.0).all()
    assert (x[..., 0] != starts[..., 0]).any()


def test_drives_optimize_acqf_with_a_network(tiny_net):
    X, Y = branin_history(12)
    acqf = NAPAcquisition(tiny_net(), X, Y, BOUNDS)
    torch.manual_seed(0)
    x, val = optimize_acqf(
        acqf,
        BOUNDS,
        q=1,
        num_restarts=4,
        raw_samples=64,
        gen_candidates=gen_candidates_screened_ascent,
        options={"iterations": 2},
    )
    assert x.shape == (1, 2) and ((x >= BOUNDS[0]) & (x <= BOUNDS[1])).all()
    with torch.no_grad():
        assert torch.allclose(acqf(x.unsqueeze(0)), val.reshape(1), atol=1e-5)


@pytest.mark.parametrize("cls", [NAP, NPEI])
def test_proposers_use_it_unless_a_maxiter_is_given(tiny_net, cls, monkeypatch):
    import botorch_nap.baselines as baselines

    calls = []
    real = baselines.gen_candidates_screened_ascent

    def counting(*args, **kwargs):
        calls.append(kwargs.get("options"))
        return real(*args, **kwargs)

    monkeypatch.setattr(baselines, "gen_candidates_screened_ascent", counting)
    X, Y = branin_history(12)
    net = tiny_net()
    x = cls(net, screened_ascent=2).propose(X, Y, BOUNDS)
    assert x.shape == (1, 2) and calls == [{"iterations": 2}]
    cls(net, screened_ascent=2, settings=OptimizerSettings(maxiter=3)).propose(X, Y, BOUNDS)
    cls(net).propose(X, Y, BOUNDS)
    assert len(calls) == 1  # an explicit maxiter, or the default: L-BFGS-B
    with pytest.raises(ValueError, match="screened_ascent must be >= 0"):
        cls(net, screened_ascent=-1)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"options": {"iterations": -1}}, "iterations >= 0"),
        ({"options": {"steps": 0}}, "steps >= 1"),
        ({"options": {"min_step": 0.0}}, "0 < min_step <= max_step"),
        ({"options": {"min_step": 0.5, "max_step": 0.1}}, "0 < min_step <= max_step"),
        ({"lower_bounds": None}, "lower_bounds is needed"),
        ({"upper_bounds": float("inf")}, "upper_bounds must be finite"),
        ({"upper_bounds": BOUNDS[0] - 1}, "upper_bounds must be >= lower_bounds"),
    ],
)
def test_bad_input_is_named(kwargs, message):
    args = {"lower_bounds": BOUNDS[0], "upper_bounds": BOUNDS[1], **kwargs}
    with pytest.raises(ValueError, match=message):
        gen_candidates_screened_ascent(_starts(2), _acqf(), **args)


def test_q_batches_are_refused():
    starts = BOUNDS[0] + torch.rand(2, 3, 2, dtype=torch.float64) * RANGE
    with pytest.raises(ValueError, match="q = 1"):
        gen_candidates_screened_ascent(starts, _acqf(), BOUNDS[0], BOUNDS[1])

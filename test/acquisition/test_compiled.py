"""``compile=True``: NAP's and NP-EI's gradient paths through ``torch.compile`` give the
eager paths' values and gradients, as the history grows, for a trained and an untrained
acquisition head, with pending points, and on evaluated points; ``optimize_acqf`` picks the
same point with them; a failed compile falls back to the eager path."""

import shutil
import warnings

import pytest
import torch
from botorch.optim import optimize_acqf
from branin_data import BOUNDS, branin_history

from botorch_nap import NAPAcquisition
from botorch_nap.acquisition import compiled
from botorch_nap.nn.transformer import NAPConfig, NAPTransformer

# Without a C++ compiler torch.compile fails and the eager fallback would pass these tests
# without the compiled path ever running.
pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="torch.compile needs g++")


@pytest.fixture(autouse=True)
def _compile_not_failed():
    """Each test starts with compiling allowed, and ends having compiled (unless it breaks
    the compiler on purpose and restores this itself)."""
    compiled._FAILED = None
    yield
    assert compiled._FAILED is None, compiled._FAILED


def _net(trained_head: bool) -> NAPTransformer:
    torch.manual_seed(0)
    net = NAPTransformer(NAPConfig(dim_x=2, d_model=16, n_layers=1, d_ff=32, distance_bias=True))
    with torch.no_grad():
        net.dist_w.fill_(0.5)  # a live distance bias
        if trained_head:
            net.acq_mlp[-1].weight.normal_(0, 0.1)
    return net


def _value_and_grad(acqf: NAPAcquisition, X: torch.Tensor):
    X = X.clone().requires_grad_(True)
    value = acqf(X)
    (grad,) = torch.autograd.grad(value.sum(), X)
    return value.detach(), grad


def _box_points(k: int, seed: int) -> torch.Tensor:
    """``k x 1 x 2`` uniform points in Branin's box."""
    g = torch.Generator().manual_seed(seed)
    return BOUNDS[0] + torch.rand(k, 1, 2, generator=g, dtype=torch.float64) * (
        BOUNDS[1] - BOUNDS[0]
    )


def _eager_and_compiled(eager, fast, X: torch.Tensor):
    """``(value, grad)`` of the eager acquisition, then of the compiled one, at ``X``."""
    return (*_value_and_grad(eager, X), *_value_and_grad(fast, X))


@pytest.mark.parametrize("trained_head", [False, True])
def test_compiled_gradient_path_matches_eager(trained_head):
    net = _net(trained_head)
    compiled._COMPILED.pop(compiled.nap_values, None)
    X = _box_points(5, seed=1)
    for n in (7, 12, 20):  # a growing history: the dynamic dimension
        train_X, train_Y = branin_history(n, seed=n)
        eager = NAPAcquisition(net, train_X, train_Y, BOUNDS)
        fast = NAPAcquisition(net, train_X, train_Y, BOUNDS, compile=True)
        # L-BFGS-B drops converged restarts, so the batch shrinks, down to one point.
        for Xb in (X, X[:3], X[:1]):
            v0, g0, v1, g1 = _eager_and_compiled(eager, fast, Xb)
            # The compiled path ran, not the eager one.
            assert compiled.nap_values in compiled._COMPILED
            assert v1.shape == v0.shape == Xb.shape[:1]
            assert torch.allclose(v1, v0, rtol=1e-9, atol=1e-9)
            assert torch.allclose(g1, g0, rtol=1e-7, atol=1e-9)
            assert g0.abs().sum() > 0
        # On an evaluated point (where L-BFGS-B does land: optima on the box's boundary)
        # the repeat guard's value stays finite and equal: torch.compile's expm1 is exp - 1.
        on = train_X[:2].unsqueeze(1)
        v0, g0, v1, g1 = _eager_and_compiled(eager, fast, on)
        assert torch.isfinite(v1).all() and torch.allclose(v1, v0, rtol=1e-9, atol=1e-9)
        assert torch.isfinite(g1).all() and torch.allclose(g1, g0, rtol=1e-7, atol=1e-9)
        # Gradient-free calls keep the eager float32 path.
        with torch.no_grad():
            assert torch.allclose(fast(X), eager(X))


def test_optimize_acqf_picks_the_same_point_compiled():
    net = _net(False)
    train_X, train_Y = branin_history(15, seed=2)
    picks = []
    for compile in (False, True):
        acqf = NAPAcquisition(net, train_X, train_Y, BOUNDS, compile=compile)
        torch.manual_seed(3)
        x, _ = optimize_acqf(
            acqf, BOUNDS, q=1, num_restarts=3, raw_samples=32, options={"maxiter": 3}
        )
        picks.append(x)
    assert torch.allclose(picks[0], picks[1], atol=1e-6)


def test_a_failed_compile_warns_once_and_computes_eagerly():
    net = _net(False)
    train_X, train_Y = branin_history(9, seed=4)
    X = BOUNDS[0] + 0.3 * (BOUNDS[1] - BOUNDS[0]).expand(2, 1, 2)

    def broken(*args):
        raise RuntimeError("no C++ compiler found\nmore lines")

    saved = dict(compiled._COMPILED), compiled._FAILED
    compiled._COMPILED[compiled.nap_values], compiled._FAILED = broken, None
    try:
        fast = NAPAcquisition(net, train_X, train_Y, BOUNDS, compile=True)
        with pytest.warns(RuntimeWarning, match="no C.. compiler found"):
            v1, g1 = _value_and_grad(fast, X)
        v0, g0 = _value_and_grad(NAPAcquisition(net, train_X, train_Y, BOUNDS), X)
        # (The default eager path goes through the gradient plan: equal to rounding.)
        torch.testing.assert_close(v1, v0, rtol=1e-12, atol=1e-14)
        torch.testing.assert_close(g1, g0, rtol=1e-12, atol=1e-14)
        assert compiled._FAILED.startswith("RuntimeError: no C++ compiler found")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _value_and_grad(fast, X)  # the eager path from now on, without a second warning
        assert not [w for w in caught if "torch.compile failed" in str(w.message)]
    finally:
        compiled._COMPILED.clear()
        compiled._COMPILED.update(saved[0])
        compiled._FAILED = saved[1]


@pytest.mark.parametrize("maximize", [True, False])
def test_np_ei_compiled_gradient_path_matches_eager(maximize):
    from botorch_nap import NPExpectedImprovement

    net = _net(False)
    compiled._COMPILED.pop(compiled.np_ei_values, None)
    X = _box_points(4, seed=5)
    for n, pending in ((8, None), (15, X[0, :, :] + 0.5)):
        train_X, train_Y = branin_history(n, seed=n)
        kw = dict(maximize=maximize)
        eager = NPExpectedImprovement.from_network(net, train_X, train_Y, BOUNDS, **kw)
        fast = NPExpectedImprovement.from_network(net, train_X, train_Y, BOUNDS, compile=True, **kw)
        for a in (eager, fast):
            a.set_X_pending(pending)
        for Xb in (X, X[:1], train_X[:2].unsqueeze(1)):
            v0, g0, v1, g1 = _eager_and_compiled(eager, fast, Xb)
            assert compiled.np_ei_values in compiled._COMPILED
            assert torch.isfinite(v1).all()
            assert torch.allclose(v1, v0, rtol=1e-9, atol=1e-9)
            assert torch.allclose(g1, g0, rtol=1e-7, atol=1e-9)
    # A network in another dtype than X keeps the eager path (the same values).
    f32 = NPExpectedImprovement.from_network(
        net, train_X, train_Y, BOUNDS, dtype=torch.float32, compile=True
    )
    assert f32._gradient_log_ei(X) is None


def test_a_genuine_error_is_raised_as_it_is_and_compiling_stays_on():
    net = _net(False)
    train_X, train_Y = branin_history(9, seed=6)
    acqf = NAPAcquisition(net, train_X, train_Y, BOUNDS, compile=True)
    state = acqf._state(torch.float64)
    U = torch.rand(3, 2, dtype=torch.float64, requires_grad=True)
    wrong = torch.rand(9, 3, dtype=torch.float64)  # known points of another width
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        compiled.call_compiled(
            compiled.nap_values, U, state.network, state.encoding, wrong, 0.01, False
        )
    assert compiled._FAILED is None  # not taken for a compiler failure

import math

import pytest
import torch
from botorch.optim import (
    optimize_acqf,
    optimize_acqf_discrete,
    optimize_acqf_mixed,
    optimize_acqf_mixed_alternating,
)
from botorch.test_functions import Branin
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from botorch_nap import NAPAcquisition

BOUNDS = torch.tensor([[-5.0, 0.0], [10.0, 15.0]], dtype=torch.float64)


def _data(n=8, seed=0, bounds=BOUNDS):
    g = torch.Generator().manual_seed(seed)
    X = bounds[0] + torch.rand(n, bounds.shape[1], generator=g, dtype=torch.float64) * (
        bounds[1] - bounds[0]
    )
    Y = -Branin()(X).unsqueeze(-1) if X.shape[-1] == 2 else X.sum(-1, keepdim=True)
    return X, Y


def _in_bounds(x, bounds=BOUNDS):
    return bool(((x >= bounds[0] - 1e-9) & (x <= bounds[1] + 1e-9)).all())


def test_optimize_acqf_continuous_float64_with_gradients(tiny_net):
    X, Y = _data()
    acqf = NAPAcquisition(tiny_net(), X, Y, BOUNDS)
    Xq = (BOUNDS[0] + torch.rand(5, 1, 2, dtype=torch.float64) * 15).requires_grad_(True)
    acqf(Xq).sum().backward()
    assert torch.isfinite(Xq.grad).all() and Xq.grad.abs().sum() > 0
    x, val = optimize_acqf(acqf, BOUNDS, q=1, num_restarts=4, raw_samples=64)
    assert x.shape == (1, 2) and x.dtype == torch.float64 and _in_bounds(x)
    # The optimiser's answer is at least as good as a random sample of candidates.
    rand = BOUNDS[0] + torch.rand(256, 1, 2, dtype=torch.float64) * (BOUNDS[1] - BOUNDS[0])
    assert float(val) >= float(acqf(rand).max()) - 1e-6


def test_optimize_acqf_discrete_avoids_observed(tiny_net):
    X, Y = _data()
    pool = torch.cat([X, _data(200, seed=1)[0]])
    acqf = NAPAcquisition(tiny_net(), X, Y, BOUNDS)
    x, _ = optimize_acqf_discrete(acqf, q=1, choices=pool, X_avoid=X)
    assert (pool == x).all(-1).any(), "must be a pool point"
    assert not (X == x).all(-1).any(), "must not repeat an observed point"
    # Its choice is the pool's arg-max among unobserved points.
    vals = acqf(pool[len(X) :].unsqueeze(1))
    assert torch.equal(x[0], pool[len(X) :][vals.argmax()])


def test_optimize_acqf_mixed_and_alternating(tiny_net):
    # dim 0 continuous, dim 1 integer in [0, 4], dim 2 categorical with 3 levels (codes 0..2).
    bounds = torch.tensor([[0.0, 0.0, 0.0], [1.0, 4.0, 2.0]], dtype=torch.float64)
    X = torch.tensor([[0.1, 1.0, 0.0], [0.5, 3.0, 2.0], [0.9, 0.0, 1.0]], dtype=torch.float64)
    Y = torch.tensor([[0.3], [1.2], [0.7]], dtype=torch.float64)
    acqf = NAPAcquisition(tiny_net(dim=3), X, Y, bounds)
    x, _ = optimize_acqf_mixed(
        acqf,
        bounds,
        q=1,
        num_restarts=2,
        raw_samples=32,
        fixed_features_list=[{1: float(i), 2: float(c)} for i in range(5) for c in range(3)],
    )
    assert _in_bounds(x, bounds) and float(x[0, 1]).is_integer() and float(x[0, 2]).is_integer()
    x, _ = optimize_acqf_mixed_alternating(
        acqf,
        bounds,
        discrete_dims={1: [0, 1, 2, 3, 4]},
        cat_dims={2: [0, 1, 2]},
        num_restarts=2,
        raw_samples=32,
    )
    assert _in_bounds(x, bounds) and float(x[0, 1]).is_integer() and float(x[0, 2]) in (0, 1, 2)


def test_q_batch_sequential_gives_distinct_sensible_points(pretrained_2d):
    X, Y = _data(10)
    acqf = NAPAcquisition(pretrained_2d, X, Y, BOUNDS)
    x, _ = optimize_acqf(acqf, BOUNDS, q=4, num_restarts=4, raw_samples=128, sequential=True)
    assert x.shape == (4, 2) and _in_bounds(x)
    u = (x - BOUNDS[0]) / (BOUNDS[1] - BOUNDS[0])
    gaps = torch.pdist(u)
    assert float(gaps.min()) > 0.02, f"q-batch points collapse: min gap {float(gaps.min())}"
    # Pending points change the context: the second pick is worse after the first is pending.
    a0 = float(acqf(x[:1].unsqueeze(0)))
    acqf.set_X_pending(x[:1])
    assert float(acqf(x[:1].unsqueeze(0))) < a0


def test_history_encoded_once_per_dtype(tiny_net, monkeypatch):
    from botorch_nap.nn.transformer import NAPTransformer

    X, Y = _data()
    calls = []
    orig = NAPTransformer.encode_history
    monkeypatch.setattr(
        NAPTransformer,
        "encode_history",
        lambda self, *a, **k: calls.append(self.dtype) or orig(self, *a, **k),
    )
    acqf = NAPAcquisition(tiny_net(), X, Y, BOUNDS)
    assert calls == [torch.float32]  # gradient-free scoring is ready at once
    for _ in range(3):
        acqf(torch.rand(7, 1, 2, dtype=torch.float64) * 5)
        acqf((torch.rand(7, 1, 2, dtype=torch.float64) * 5).requires_grad_(True))
    assert calls == [torch.float32]  # the float64 gradient path reuses that encoding
    exact = NAPAcquisition(tiny_net(), X, Y, BOUNDS, dtype=torch.float64)
    for _ in range(3):
        exact((torch.rand(7, 1, 2, dtype=torch.float64) * 5).requires_grad_(True))
    assert calls == [torch.float32, torch.float64]


@pytest.mark.parametrize("half", [torch.bfloat16, torch.float16])
def test_half_precision_is_refused_by_name(tiny_net, half):
    """Half precision breaks the fused attention path deep inside a call; it is refused up
    front with an error that names the dtype, whether asked for or carried by the data."""
    from botorch_nap import NeuralProcessModel, NPExpectedImprovement

    X, Y = _data()
    with pytest.raises(ValueError, match=r"dtype is torch\.(bfloat16|float16).*float32 or"):
        NAPAcquisition(tiny_net(), X, Y, BOUNDS, dtype=half)
    with pytest.raises(ValueError, match=r"train_X's dtype is torch\.(bfloat16|float16)"):
        NAPAcquisition(tiny_net(), X.to(half), Y.to(half), BOUNDS.to(half))
    with pytest.raises(ValueError, match=r"dtype is torch\.(bfloat16|float16)"):
        NPExpectedImprovement.from_network(tiny_net(), X, Y, BOUNDS, dtype=half)
    with pytest.raises(ValueError, match=r"train_X's dtype is torch\.(bfloat16|float16)"):
        NeuralProcessModel(tiny_net(), X.to(half), Y.to(half), bounds=BOUNDS.to(half))


@pytest.mark.parametrize("ard", [False, True], ids=["", "ard"])
def test_default_dtype_float32_without_gradients_float64_with(tiny_net, ard):
    X, Y = _data()
    net = tiny_net(**({"distance_bias": True, "ard_bias": True} if ard else {}))
    if ard:  # per-dim widths away from 1, carried from the float32 encoding to float64
        torch.nn.init.normal_(net.dist_w, std=0.5)
        torch.nn.init.normal_(net.ard.mlp[-1].weight, std=0.5)
    auto = NAPAcquisition(net, X, Y, BOUNDS)
    exact = NAPAcquisition(net, X, Y, BOUNDS, dtype=torch.float64)
    f32 = NAPAcquisition(net, X, Y, BOUNDS, dtype=torch.float32)
    Xq = BOUNDS[0] + torch.rand(300, 1, 2, dtype=torch.float64) * (BOUNDS[1] - BOUNDS[0])
    a, e, f = auto(Xq), exact(Xq), f32(Xq)
    assert a.dtype == torch.float64
    torch.testing.assert_close(a, f)  # gradient-free: the float32 network
    torch.testing.assert_close(a, e, rtol=1e-4, atol=1e-4)
    assert (a - e).abs().max() > 0, "the float32 path was not taken"
    Xg = Xq.clone().requires_grad_(True)
    ag = auto(Xg)
    assert torch.float64 in auto._states  # the gradient path runs the float64 network
    torch.testing.assert_close(ag, exact(Xq.clone().requires_grad_(True)), rtol=1e-4, atol=1e-4)
    ag.sum().backward()
    assert torch.isfinite(Xg.grad).all() and Xg.grad.abs().sum() > 0
    # Pending points reach both paths.
    auto.set_X_pending(Xq[:2, 0])
    exact.set_X_pending(Xq[:2, 0])
    torch.testing.assert_close(auto(Xq), exact(Xq), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(
        auto(Xq.clone().requires_grad_(True)),
        exact(Xq.clone().requires_grad_(True)),
        rtol=1e-4,
        atol=1e-4,
    )


def test_maximize_false_equals_negated_data(tiny_net):
    X, Y = _data()
    net = tiny_net()
    Xq = _data(20, seed=3)[0].unsqueeze(1)
    a = NAPAcquisition(net, X, Y, BOUNDS, maximize=False)(Xq)
    b = NAPAcquisition(net, X, -Y, BOUNDS)(Xq)
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, NAPAcquisition(net, X, Y, BOUNDS)(Xq))


def test_normalisation_uses_history_only_and_is_affine_invariant(tiny_net):
    X, Y = _data()
    net = tiny_net()
    Xq = _data(20, seed=3)[0].unsqueeze(1)
    a = NAPAcquisition(net, X, Y, BOUNDS)(Xq)
    b = NAPAcquisition(net, X, 1000.0 * Y + 5e4, BOUNDS)(Xq)
    torch.testing.assert_close(a, b)


def test_budget_feeds_t_over_T(pretrained_2d):
    X, Y = _data()
    acqf_default = NAPAcquisition(pretrained_2d, X, Y, BOUNDS)
    acqf_budget = NAPAcquisition(pretrained_2d, X, Y, BOUNDS, budget=10)
    assert acqf_default._encoding.t_frac.item() == pytest.approx(8 / pretrained_2d.config.horizon)
    assert acqf_budget._encoding.t_frac.item() == pytest.approx(0.8)


def test_constant_y_and_single_observation_work(tiny_net):
    net = tiny_net()
    Xq = _data(16, seed=5)[0].unsqueeze(1)
    X, _ = _data(5)
    out = NAPAcquisition(net, X, torch.full((5, 1), 3.0, dtype=torch.float64), BOUNDS)(Xq)
    assert torch.isfinite(out).all()
    out = NAPAcquisition(net, X[:1], torch.tensor([[2.0]], dtype=torch.float64), BOUNDS)(Xq)
    assert torch.isfinite(out).all()
    x, _ = optimize_acqf(
        NAPAcquisition(net, X[:1], torch.tensor([[2.0]], dtype=torch.float64), BOUNDS),
        BOUNDS,
        q=1,
        num_restarts=2,
        raw_samples=16,
    )
    assert _in_bounds(x)


def test_network_untouched_and_float32_data(tiny_net):
    net = tiny_net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    X, Y = _data()
    acqf = NAPAcquisition(net, X.float(), Y.float(), BOUNDS.float())
    x, _ = optimize_acqf(acqf, BOUNDS.float(), q=1, num_restarts=2, raw_samples=16)
    assert x.dtype == torch.float32
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k]) and v.dtype == torch.float32
    assert all(p.grad is None for p in net.parameters())


@pytest.mark.parametrize(
    "mutate, match",
    [
        (
            lambda X, Y, B: (
                X,
                Y.masked_fill(torch.arange(len(Y)).unsqueeze(-1) == 2, math.nan),
                B,
            ),
            "train_Y contains NaN",
        ),
        (
            lambda X, Y, B: (
                X,
                Y.masked_fill(torch.arange(len(Y)).unsqueeze(-1) == 0, math.inf),
                B,
            ),
            "train_Y contains NaN or inf",
        ),
        (
            lambda X, Y, B: (
                X.masked_fill(
                    torch.zeros_like(X, dtype=torch.bool).index_fill(0, torch.tensor([1]), True),
                    math.nan,
                ),
                Y,
                B,
            ),
            "train_X contains NaN",
        ),
        (lambda X, Y, B: (X + 100.0, Y, B), "outside bounds"),
        (lambda X, Y, B: (X[:, :1], Y, B[:, :1]), "network expects dim_x=2"),
        (lambda X, Y, B: (X, Y[:-1], B), r"train_Y must have shape.*got \(7, 1\)"),
        (lambda X, Y, B: (X[:, 0], Y, B), r"train_X must have shape n x d, got \(8,\)"),
        (lambda X, Y, B: (X, Y.expand(-1, 2), B), "train_Y must have shape"),
        (lambda X, Y, B: (X, Y, B.flip(0)), "lower < upper"),
        (lambda X, Y, B: (X, Y, B[:1]), "bounds must have shape 2 x d"),
    ],
)
def test_bad_input_raises_named_error(tiny_net, mutate, match):
    X, Y = _data()
    X, Y, B = mutate(X, Y, BOUNDS)
    with pytest.raises(ValueError, match=match):
        NAPAcquisition(tiny_net(), X, Y, B)


def test_bounds_error_shows_the_digits_that_differ(tiny_net):
    # float32 bounds round inward by ~3e-8: six digits printed both ends as 0.5.
    B = torch.tensor([[0.5 - 5e-7] * 2, [0.5 + 5e-7] * 2], dtype=torch.float32)
    X = torch.full((4, 2), 0.5, dtype=torch.float64)
    X[-1, 1] = 0.5 + 5e-7
    with pytest.raises(
        ValueError, match=r"value 0\.5000005 not in \[0\.4999994934, 0\.5000004768\]"
    ):
        NAPAcquisition(tiny_net(), X, torch.rand(4, 1, dtype=torch.float64), B)


def test_numpy_data_are_named_as_such():
    np = pytest.importorskip("numpy")
    with pytest.raises(ValueError, match="train_X must be a torch tensor .*got ndarray"):
        NAPAcquisition.from_pretrained("gp_prior", np.zeros((4, 2)), np.zeros((4, 1)))


@pytest.mark.parametrize("from_pretrained", [True, False])
def test_a_one_dim_train_x_is_named_before_any_checkpoint_check(tiny_net, from_pretrained):
    X, Y = torch.rand(10, dtype=torch.float64), torch.rand(10, 1, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"train_X must have shape n x d, got \(10,\)"):
        if from_pretrained:
            NAPAcquisition.from_pretrained("gp_prior", X, Y)
        else:
            NAPAcquisition(tiny_net(), X, Y)


def test_float64_y_keeps_its_digits_beside_float32_x(tiny_net):
    # Distinct in float64, one value in float32: casting Y to X's dtype made it constant.
    X, _ = _data(n=12)
    Y = 1e6 + 1e-3 * torch.randn(
        12, 1, generator=torch.Generator().manual_seed(1), dtype=torch.float64
    )
    assert torch.unique(Y.float()).numel() == 1
    a32 = NAPAcquisition(tiny_net(), X.float(), Y, BOUNDS.float())
    a64 = NAPAcquisition(tiny_net(), X, Y, BOUNDS)
    assert a32.train_Y.dtype == torch.float64
    torch.testing.assert_close(a32.context.y_norm, a64.context.y_norm.float())
    assert float(a32.context.y_norm.std()) > 0.9


def test_pending_points_are_held_to_the_history_rules(tiny_net):
    X, Y = _data()
    acqf = NAPAcquisition(tiny_net(), X, Y, BOUNDS)
    Xq = _data(n=5, seed=3)[0].unsqueeze(-2)
    before = acqf(Xq)
    outside = X[:2].clone()
    outside[1, 0] = BOUNDS[1, 0] + 1.0
    with pytest.raises(ValueError, match=r"X_pending lies outside bounds.*row 1, dim 0"):
        acqf.set_X_pending(outside)
    with pytest.raises(ValueError, match="X_pending lies outside bounds"):
        NAPAcquisition(tiny_net(), X, Y, BOUNDS, X_pending=outside)
    assert acqf.X_pending is None  # a refused set leaves the acquisition as it was
    torch.testing.assert_close(acqf(Xq), before)
    acqf.set_X_pending(X[:2].unsqueeze(0))  # 1 x m x d: BoTorch's batched shape
    assert acqf.X_pending.shape == (1, 2, 2)


def test_bad_forward_input_raises(tiny_net):
    X, Y = _data()
    acqf = NAPAcquisition(tiny_net(), X, Y, BOUNDS)
    with pytest.raises(ValueError, match="NaN or inf"):
        acqf(torch.tensor([[[math.nan, 1.0]]], dtype=torch.float64))
    with pytest.raises(ValueError, match="dims"):
        acqf(torch.rand(3, 1, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="X_pending"):
        acqf.set_X_pending(torch.rand(2, 3, dtype=torch.float64))
    with pytest.raises(TypeError, match="NAPTransformer"):
        NAPAcquisition(torch.nn.Linear(2, 1), X, Y, BOUNDS)


_NET_CACHE = {}


def _hyp_net(dim):
    if dim not in _NET_CACHE:
        from botorch_nap import NAPConfig, NAPTransformer

        torch.manual_seed(dim)
        _NET_CACHE[dim] = NAPTransformer(
            NAPConfig(dim_x=dim, d_model=16, n_layers=1, n_heads=2, d_ff=32, n_buckets=16)
        )
    return _NET_CACHE[dim]


_floats = st.floats(allow_nan=True, allow_infinity=True, width=64)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    dim=st.integers(1, 4),
    n=st.integers(0, 6),
    y_shape=st.sampled_from(["n1", "n", "n2", "wrong_n"]),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    net_dim=st.integers(1, 4),
    y_vals=st.lists(_floats, min_size=0, max_size=12),
    x_vals=st.lists(st.floats(-2, 3) | st.just(math.nan), min_size=0, max_size=24),
    q_vals=st.lists(
        st.floats(-1e6, 1e6) | st.sampled_from([math.nan, math.inf]), min_size=1, max_size=12
    ),
    lo=st.floats(-10, 0),
    width=st.floats(-1, 10),
)
def test_property_only_clear_errors_and_finite_outputs(
    dim, n, y_shape, dtype, net_dim, y_vals, x_vals, q_vals, lo, width
):
    net = _hyp_net(net_dim)
    X = torch.tensor((x_vals * (n * dim))[: n * dim] if x_vals else [0.5] * (n * dim), dtype=dtype)
    X = X.reshape(n, dim)
    ys = (y_vals * (2 * n + 2))[: 2 * n] if y_vals else [1.0] * (2 * n)
    Y = {
        "n1": torch.tensor(ys[:n], dtype=dtype).reshape(n, 1),
        "n": torch.tensor(ys[:n], dtype=dtype),
        "n2": torch.tensor(ys[: 2 * n], dtype=dtype).reshape(n, 2),
        "wrong_n": torch.tensor(ys[: n + 1] + [0.0] * (n + 1 - len(ys[: n + 1])), dtype=dtype),
    }[y_shape]
    bounds = torch.tensor([[lo] * dim, [lo + width] * dim], dtype=dtype)
    try:
        acqf = NAPAcquisition(net, X, Y, bounds)
    except ValueError as e:
        assert any(s in str(e) for s in ("train_X", "train_Y", "bounds", "dim")), str(e)
        return
    Xq = torch.tensor((q_vals * dim)[:dim] * 3, dtype=dtype).reshape(3, 1, dim)
    try:
        out = acqf(Xq)
    except ValueError as e:
        assert "NaN or inf" in str(e) or "dims" in str(e), str(e)
        return
    assert out.shape == (3,) and torch.isfinite(out).all()


def test_inference_copy_is_reused_until_the_network_changes(tiny_net):
    from botorch_nap.context import inference_copy

    net = tiny_net()
    a = inference_copy(net, torch.float64)
    assert inference_copy(net, torch.float64) is a
    assert inference_copy(net, torch.float32) is not a
    with torch.no_grad():
        net.bar_head[0].weight.add_(1.0)  # an in-place update, as an optimizer step makes
    b = inference_copy(net, torch.float64)
    assert b is not a
    torch.testing.assert_close(b.bar_head[0].weight, net.bar_head[0].weight.double())
    net.load_state_dict({k: v.clone() for k, v in net.state_dict().items()})
    assert inference_copy(net, torch.float64) is not b


def test_x_pending_constructor_argument_equals_set_x_pending(tiny_net):
    X, Y = _data()
    pending = _data(2, seed=9)[0]
    Xq = _data(10, seed=3)[0].unsqueeze(1)
    a = NAPAcquisition(tiny_net(), X, Y, BOUNDS, X_pending=pending)
    b = NAPAcquisition(tiny_net(), X, Y, BOUNDS)
    b.set_X_pending(pending)
    torch.testing.assert_close(a(Xq), b(Xq))
    assert not torch.allclose(a(Xq), NAPAcquisition(tiny_net(), X, Y, BOUNDS)(Xq))


@pytest.mark.parametrize("make", ["nap", "npei"])
def test_a_joint_q_batch_is_refused_with_the_way_out(tiny_net, make):
    from botorch_nap import NPExpectedImprovement

    X, Y = _data()
    cls = NAPAcquisition if make == "nap" else NPExpectedImprovement.from_network
    acqf = cls(tiny_net(), X, Y, BOUNDS)
    with pytest.raises(ValueError, match=r"one point at a time.*sequential=True"):
        optimize_acqf(acqf, BOUNDS, q=2, num_restarts=2, raw_samples=16)
    with pytest.raises(ValueError, match=r"shape \(3, 2, 2\) \(q = 2\)"):
        acqf(torch.rand(3, 2, 2, dtype=torch.float64))
    assert acqf(torch.rand(3, 1, 2, dtype=torch.float64)).shape == (3,)
    assert acqf(torch.rand(1, 2, dtype=torch.float64)).shape == (1,)


def test_mixed_optimisers_take_q_points_without_their_joint_value(tiny_net):
    """optimize_acqf_mixed(_alternating) pick q points one by one with pending points, then
    score all q at once for their return value: the error says to skip that value."""
    from botorch.optim import optimize_acqf_mixed_alternating

    X, Y = _data()
    bounds = torch.tensor([[0.0, 0.0], [1.0, 2.0]], dtype=torch.float64)
    X = torch.stack([X[:, 0] / 15 + 1 / 3, (X[:, 1] > 7.5).double() * 2], -1)
    acqf = NAPAcquisition(tiny_net(), X, Y, bounds)
    kw = dict(bounds=bounds, q=2, num_restarts=2, raw_samples=16, cat_dims={1: [0, 1, 2]})
    with pytest.raises(ValueError, match="return_acq_values=False"):
        optimize_acqf_mixed_alternating(acqf, **kw)
    x, value = optimize_acqf_mixed_alternating(acqf, return_acq_values=False, **kw)
    assert value is None and x.shape == (2, 2)
    assert not torch.equal(x[0], x[1]) and acqf.X_pending is None


def test_the_gradient_path_uses_a_plan_of_the_current_history(tiny_net):
    X, Y = _data()
    acqf = NAPAcquisition(tiny_net(), X, Y, BOUNDS)
    Xq = BOUNDS[0] + torch.rand(6, 1, 2, dtype=torch.float64) * (BOUNDS[1] - BOUNDS[0])

    def with_grad():
        Xr = Xq.clone().requires_grad_(True)
        return acqf(Xr), Xr

    v, _ = with_grad()
    state = acqf._state(torch.float64)
    assert state.plan is not None
    with torch.no_grad():  # the float32 scoring path: the same values, to float32 rounding
        torch.testing.assert_close(acqf(Xq), v.detach(), rtol=1e-4, atol=1e-4)
    # Pending points change the history: the plan is rebuilt, and so are the values.
    acqf.set_X_pending(Xq[0])
    assert state.plan is None
    v2, Xr = with_grad()
    assert state.plan is not None and not torch.allclose(v2, v)
    with torch.no_grad():
        torch.testing.assert_close(acqf(Xq), v2.detach(), rtol=1e-4, atol=1e-4)
    (g,) = torch.autograd.grad(v2.sum(), Xr)
    assert torch.isfinite(g).all() and g.abs().sum() > 0


@pytest.mark.parametrize("maximize", [True, False])
def test_np_ei_gradient_path_equals_its_posterior_path(tiny_net, maximize):
    # With gradients NP-EI goes through np_ei_values and the encoding's gradient plan;
    # without, through the model's posterior: the same values, with and without pending
    # points.
    from botorch_nap import NPExpectedImprovement

    X, Y = _data()
    acqf = NPExpectedImprovement.from_network(tiny_net(), X, Y, BOUNDS, maximize=maximize)
    Xq = BOUNDS[0] + torch.rand(5, 1, 2, dtype=torch.float64) * (BOUNDS[1] - BOUNDS[0])
    for pending in (None, Xq[0] * 0.9 + 0.1):
        acqf.set_X_pending(pending)
        Xr = Xq.clone().requires_grad_(True)
        value = acqf(Xr)
        (grad,) = torch.autograd.grad(value.sum(), Xr)
        with torch.no_grad():
            torch.testing.assert_close(value.detach(), acqf(Xq), rtol=1e-10, atol=1e-10)
        assert acqf._plan is not None and torch.isfinite(grad).all()


def test_variable_dim_network_serves_lower_dim_problems():
    from botorch_nap import NAPTransformer, NeuralProcessModel
    from botorch_nap.nn.transformer import NAPConfig

    torch.manual_seed(0)
    net = NAPTransformer(NAPConfig(dim_x=4, d_model=32, n_layers=1, d_ff=64, min_dim=2))
    X, Y = _data()
    acqf = NAPAcquisition(net, X, Y, BOUNDS)
    x, _ = optimize_acqf(acqf, BOUNDS, q=2, num_restarts=2, raw_samples=32, sequential=True)
    assert x.shape == (2, 2) and _in_bounds(x)
    post = NeuralProcessModel(net, X, Y, BOUNDS).posterior(x.unsqueeze(1))
    assert post.mean.shape == (2, 1, 1) and torch.isfinite(post.variance).all()
    with pytest.raises(ValueError, match="X has 3 dims, expected 2"):
        acqf(torch.rand(4, 1, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"dim_x=2\.\.4"):
        NAPAcquisition(net, torch.rand(5, 1, dtype=torch.float64), torch.rand(5, 1))


def _random_head(net: torch.nn.Module, seed: int = 0):
    """Give the acquisition head's (zero-initialised) last layer random weights, as PPO
    would: the head then uses its t/T, incumbent and embedding inputs."""
    g = torch.Generator().manual_seed(seed)
    last = net.acq_mlp[-1]
    with torch.no_grad():
        last.weight.copy_(torch.randn(last.weight.shape, generator=g))
        last.bias.copy_(torch.randn(last.bias.shape, generator=g))
    return net


def test_trained_head_responds_to_budget_and_incumbent(tiny_net):
    X, Y = _data()
    Xq = _data(32, seed=3)[0].unsqueeze(1)
    zero_head, net = tiny_net(), _random_head(tiny_net())
    # A zero last layer makes NAP exactly log NP-EI: the budget cannot matter...
    a, b = (NAPAcquisition(zero_head, X, Y, BOUNDS, budget=k)(Xq) for k in (10, 200))
    torch.testing.assert_close(a, b)
    # ...a trained head reads t/T: the same history scores differently early and late.
    a, b = (NAPAcquisition(net, X, Y, BOUNDS, budget=k)(Xq) for k in (10, 200))
    assert (a - b).abs().max() > 1e-3
    # The incumbent is a head input beyond the log-EI it sets.
    enc = NAPAcquisition(net, X, Y, BOUNDS)._encoding
    U = ((Xq.squeeze(1) - BOUNDS[0]) / (BOUNDS[1] - BOUNDS[0]))[None]
    inner = NAPAcquisition(net, X, Y, BOUNDS).network
    outs = []
    for inc in (0.0, 1.5):
        e = enc._replace(incumbent=torch.full_like(enc.incumbent, inc))
        s = inner.score(e, U)
        log_ei = inner.bar.log_expected_improvement(s.bar_logits, e.incumbent[:, None])
        outs.append(s.acq - inner.acq_ei_scale * log_ei)  # the head's own part
    assert (outs[0] - outs[1]).abs().max() > 1e-3


@pytest.mark.parametrize("y_transform", ["standardize", "yeo-johnson"])
def test_training_and_use_compute_the_same_t_over_T_and_scores(tiny_net, y_transform):
    """The environment (training) and NAPAcquisition (use) must give a history the same
    t/T and the same y scale, and so the same scores, when the run's budget is the same."""
    from botorch_nap.normalization import budget_fraction
    from botorch_nap.training.env import encode, history_batch, nap_score_fn

    net = _random_head(tiny_net(y_transform=y_transform))
    g = torch.Generator().manual_seed(0)
    N, n_init, horizon, n_hist = 40, 3, 9, 7
    X = torch.rand(1, N, 2, generator=g, dtype=torch.float64)
    y = -Branin()(BOUNDS[0] + X[0] * (BOUNDS[1] - BOUNDS[0])).unsqueeze(0)
    order = torch.full((1, n_init + horizon), -1)
    order[0, :n_hist] = torch.randperm(N, generator=g)[:n_hist]
    h = history_batch(X, y, order, torch.tensor([n_hist]), y_transform)
    assert (h.scale.lam is None) == (y_transform == "standardize")
    if h.scale.lam is not None:
        assert float(h.scale.lam) != 1.0  # the warp is on for this history
    assert h.t_frac.item() == pytest.approx(n_hist / (n_init + horizon))
    assert encode(net.double(), h).t_frac.item() == pytest.approx(n_hist / 12)

    train_X = BOUNDS[0] + X[0, order[0, :n_hist]] * (BOUNDS[1] - BOUNDS[0])
    # repeat_radius=0: the environment masks evaluated candidates instead of lowering them.
    acqf = NAPAcquisition(
        net,
        train_X,
        y[0, order[0, :n_hist]],
        BOUNDS,
        budget=n_init + horizon,
        repeat_radius=0,
        dtype=torch.float64,
    )
    assert acqf._encoding.t_frac.item() == pytest.approx(float(budget_fraction(n_hist, 12)))
    use = acqf((BOUNDS[0] + X[0] * (BOUNDS[1] - BOUNDS[0])).unsqueeze(1))
    train = nap_score_fn(net)(X, y, order, torch.tensor([n_hist]))[0]
    torch.testing.assert_close(use, train.to(use))
    with pytest.raises(ValueError, match="budget"):
        budget_fraction(3, 0)


def test_no_repeats_near_the_history_and_usable_gradients(pretrained_2d):
    """Evaluated (and pending) points score far below everything else, the score rises
    smoothly away from them (finite gradients for L-BFGS-B), and a continuous BoTorch loop
    on Branin never proposes a point within 1e-6 of its history."""
    from botorch_nap import NPExpectedImprovement
    from botorch_nap.acquisition.repeats import log_novelty

    X, Y = _data(6)
    for acqf in (
        NAPAcquisition(pretrained_2d, X, Y, BOUNDS),
        NPExpectedImprovement.from_network(pretrained_2d, X, Y, BOUNDS),
    ):
        at_hist = acqf(X.unsqueeze(1))
        near = X + 0.003 * (BOUNDS[1] - BOUNDS[0])  # 0.003 of the box: r = 0.01
        away = _data(64, seed=9)[0]
        assert float(at_hist.max()) < float(acqf(away.unsqueeze(1)).min()) - 20.0
        Xg = near.clone().requires_grad_(True)
        acqf(Xg.unsqueeze(1)).sum().backward()
        assert torch.isfinite(Xg.grad).all() and Xg.grad.abs().sum() > 0
        acqf.set_X_pending(away[:1])
        assert float(acqf(away[:1].unsqueeze(1))) < float(at_hist.max()) + 1.0
    # Off: the raw network score, unchanged far from the data.
    raw = NAPAcquisition(pretrained_2d, X, Y, BOUNDS, repeat_radius=0.0)
    guarded = NAPAcquisition(pretrained_2d, X, Y, BOUNDS)
    far = torch.tensor([[[10.0, 15.0]]], dtype=torch.float64)
    if float(torch.cdist(torch.tensor([[1.0, 1.0]]).double(), (X - BOUNDS[0]) / 15.0).min()) > 0.1:
        torch.testing.assert_close(raw(far), guarded(far))
    with pytest.raises(ValueError, match="repeat_radius"):
        NAPAcquisition(pretrained_2d, X, Y, BOUNDS, repeat_radius=-1.0)
    assert log_novelty(torch.rand(3, 2), None, 0.01).abs().max() == 0
    # Next to an evaluated point the factor's log is its series: log(1 - e^-r) to float64
    # precision for r = d^2 / radius^2 from the floor 1e-30 up, with finite gradients.
    r = torch.logspace(-30, 1, 200, dtype=torch.float64)
    U = torch.stack([0.01 * r.sqrt(), torch.zeros_like(r)], -1).requires_grad_(True)
    value = log_novelty(U, torch.zeros(1, 2, dtype=torch.float64), 0.01)
    exact = torch.log(-torch.expm1(-r))
    torch.testing.assert_close(value, exact, rtol=1e-13, atol=0.0)
    value.sum().backward()
    assert torch.isfinite(U.grad).all()
    # Another radius scales the distances: the same series at d = 0.05 sqrt(r).
    U5 = torch.stack([0.05 * r.sqrt(), torch.zeros_like(r)], -1)
    five = log_novelty(U5, torch.zeros(1, 2, dtype=torch.float64), 0.05)
    torch.testing.assert_close(five, exact, rtol=1e-13, atol=0.0)
    # End to end: the acquisition's repeat_radius is the guard's.
    x = X[:1] + torch.tensor([[0.02, 0.0]], dtype=torch.float64) * (BOUNDS[1] - BOUNDS[0])
    d2 = float(torch.cdist((x - BOUNDS[0]) / 15.0, (X - BOUNDS[0]) / 15.0).min()) ** 2
    for build in (NAPAcquisition, NPExpectedImprovement.from_network):
        off = build(pretrained_2d, X, Y, BOUNDS, repeat_radius=0.0)
        wide = build(pretrained_2d, X, Y, BOUNDS, repeat_radius=0.05)
        gap = float(wide(x.unsqueeze(1)) - off(x.unsqueeze(1)))
        assert gap == pytest.approx(math.log(-math.expm1(-d2 / 0.05**2)), rel=1e-5)

    for kind in ("nap", "np-ei"):
        Xs, Ys = _data(5, seed=4)
        for _ in range(8):
            acqf = (
                NAPAcquisition(pretrained_2d, Xs, Ys, BOUNDS, budget=13)
                if kind == "nap"
                else NPExpectedImprovement.from_network(pretrained_2d, Xs, Ys, BOUNDS)
            )
            x, _ = optimize_acqf(acqf, BOUNDS, q=1, num_restarts=4, raw_samples=64)
            U, H = (x - BOUNDS[0]) / (BOUNDS[1] - BOUNDS[0]), (Xs - BOUNDS[0]) / 15.0
            assert float(torch.cdist(U, H).min()) > 1e-6, kind
            Xs, Ys = torch.cat([Xs, x]), torch.cat([Ys, -Branin()(x).unsqueeze(-1)])


def test_a_standout_best_value_leaves_the_acquisition_informative(pretrained_2d):
    """One success 6.9 history stds above the rest (n = 50) sat past the bars' top: every
    improvement was zero and NAP / NP-EI were flat (their pick arbitrary)."""
    from botorch_nap import NeuralProcessModel, NPExpectedImprovement
    from botorch_nap.context import HistoryScaleWarning

    g = torch.Generator().manual_seed(1)
    X = BOUNDS[0] + torch.rand(50, 2, generator=g, dtype=torch.float64) * 15
    Y = 0.1 * torch.randn(50, 1, generator=g, dtype=torch.float64)
    Y[0] = 50.0
    Xq = BOUNDS[0] + torch.rand(300, 1, 2, generator=g, dtype=torch.float64) * 15
    builds = {
        "NAP": lambda: NAPAcquisition(pretrained_2d, X, Y, BOUNDS),
        "NP-EI": lambda: NPExpectedImprovement(NeuralProcessModel(pretrained_2d, X, Y, BOUNDS)),
    }
    for name, build in builds.items():
        with pytest.warns(HistoryScaleWarning):
            values = build()(Xq)
        assert values.unique().numel() > 250, name
        assert float(values.max() - values.min()) > 1.0, name

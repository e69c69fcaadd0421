"""``botorch_nap.context``: what a history and its pending points become for the network."""

import math
import warnings

import pytest
import torch

from botorch_nap.context import (
    HistoryContext,
    HistoryScaleWarning,
    check_pending,
    inference_copy,
    validate_training_data,
)

BOUNDS = torch.tensor([[-2.0, -2.0], [2.0, 2.0]], dtype=torch.float64)


def _data(n=6):
    g = torch.Generator().manual_seed(0)
    X = torch.rand(n, 2, generator=g, dtype=torch.float64) * 4 - 2
    return X, X.sum(-1).sin()


def test_pending_points_enter_with_their_predicted_mean_and_count_in_t_over_t(tiny_net):
    """The believer of a pending point is the bar mean the history predicts there (not its
    negative, not zero), and t/T counts the pending points as spent evaluations."""
    net = inference_copy(tiny_net(), torch.float64)
    X, y = _data()
    ctx = HistoryContext(net, X, y, BOUNDS, budget=10)
    Xp = torch.tensor([[1.0, 1.0], [-1.0, 0.5]], dtype=torch.float64)
    enc = ctx.encode(Xp)
    assert float(enc.t_frac.reshape(-1)[0]) == pytest.approx(0.8)  # (6 + 2) / 10
    Up = (Xp + 2) / 4
    base = net.encode_history(
        ctx.U[None], ctx.y_norm[None], incumbent=ctx.incumbent, t_frac=ctx.t_frac(6)
    )
    believer = net.bar.mean(net.score(base, Up[None]).bar_logits)[0]
    assert believer.abs().min() > 1e-6  # a sign flip would show
    ref = net.encode_history(
        torch.cat([ctx.U, Up])[None],
        torch.cat([ctx.y_norm, believer])[None],
        incumbent=ctx.incumbent,
        t_frac=ctx.t_frac(8),
    )
    torch.testing.assert_close(enc.tokens, ref.tokens)


def test_points_may_stray_by_the_tolerance_and_no_further(tiny_net):
    cfg = tiny_net().config
    X, y = _data()
    unit = torch.tensor([[0.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    X = (X + 2) / 4
    inside = X.clone()
    inside[0, 0] = 1.0 + 5e-7  # the tolerance is 1e-6 of the range
    validate_training_data(inside, y, unit, cfg)
    outside = X.clone()
    outside[0, 0] = 1.0 + 3e-6
    with pytest.raises(ValueError, match="outside bounds"):
        validate_training_data(outside, y, unit, cfg)


def test_integer_points_become_float64(tiny_net):
    X = torch.tensor([[0, 1], [2, 3], [4, 1]])
    X_out, y_out, _ = validate_training_data(
        X, torch.tensor([1, 2, 3]), torch.tensor([[0.0, 0.0], [4.0, 4.0]]), tiny_net().config
    )
    assert X_out.dtype == torch.float64 and y_out.dtype == torch.float64


def test_a_standout_best_value_sits_exactly_the_headroom_below_the_top_bar(tiny_net):
    net = inference_copy(tiny_net(), torch.float64)
    X, _ = _data(40)
    y = 0.1 * torch.randn(40, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    y[0] = 50.0
    with pytest.warns(HistoryScaleWarning):
        ctx = HistoryContext(net, X, y, BOUNDS)
    # The bars end 6 history stds above the mean; the best value is put 5 above it (README).
    assert float(net.bar.borders[-1]) == 6.0
    assert float(ctx.y_norm.max()) == pytest.approx(5.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", HistoryScaleWarning)  # room enough: untouched
        HistoryContext(net, X, y.clamp_max(0.3), BOUNDS)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_pending_points_must_be_finite(bad):
    # NaN compares False with both bounds: only the finiteness check stops it.
    with pytest.raises(ValueError, match="X_pending contains NaN or inf"):
        check_pending(torch.tensor([[bad, 0.0]], dtype=torch.float64), BOUNDS)

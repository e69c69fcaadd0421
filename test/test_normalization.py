"""The y scales of :mod:`botorch_nap.normalization`: plain standardisation and the
Yeo-Johnson warp (``NAPConfig.y_transform``), fitted on the history alone."""

import pytest
import torch

from botorch_nap.normalization import (
    YJ_MIN_POINTS,
    fit_y_scale,
    standardize_history,
    yeo_johnson,
    yeo_johnson_inverse,
)


def _skewed(sign: float, b: int = 4, n: int = 40, seed: int = 0) -> torch.Tensor:
    """``b x n`` exponential samples; ``sign=-1``: a long lower tail, the best values
    crowded at the top (most HPO accuracies); ``+1``: a long upper tail."""
    g = torch.Generator().manual_seed(seed)
    e = -torch.rand(b, n, generator=g, dtype=torch.float64).log()
    return sign * e


@pytest.mark.parametrize("lam", [0.0, 0.3, 1.0, 1.7, 2.0])
def test_yeo_johnson_is_monotone_and_inverted_exactly(lam):
    z = torch.linspace(-40, 40, 401, dtype=torch.float64)
    w = yeo_johnson(z, torch.tensor(lam))
    assert bool((w.diff() > 0).all())
    torch.testing.assert_close(yeo_johnson_inverse(w, torch.tensor(lam)), z)
    if lam == 1.0:  # the identity
        torch.testing.assert_close(w, z)


def test_standardize_kind_is_standardize_history():
    y = _skewed(-1.0)
    mask = torch.rand(y.shape, generator=torch.Generator().manual_seed(1)) < 0.7
    y_norm, scale = fit_y_scale(y, mask, "standardize")
    ref, mean, std = standardize_history(y, mask)
    torch.testing.assert_close(y_norm, ref)
    torch.testing.assert_close(scale(y)[mask], ref[mask])
    torch.testing.assert_close(scale.inverse(scale(y)), y)
    assert scale.lam is None and torch.equal(scale.mean, mean) and torch.equal(scale.std, std)


def test_yeo_johnson_spreads_out_values_crowded_at_the_top():
    y = _skewed(-1.0)
    z, _, _ = standardize_history(y)
    w, scale = fit_y_scale(y, kind="yeo-johnson")
    assert bool((scale.lam > 1.0).all())  # the top is stretched ...
    top = lambda t: t.sort(-1).values[:, -5:]  # noqa: E731
    assert bool((top(w).diff().sum(-1) > 1.5 * top(z).diff().sum(-1)).all())  # ... visibly
    # A long upper tail is compressed instead, and the warped history stays standardised.
    w_up, scale_up = fit_y_scale(_skewed(1.0), kind="yeo-johnson")
    assert bool((scale_up.lam < 1.0).all())
    torch.testing.assert_close(w_up.mean(-1), torch.zeros(4, dtype=torch.float64))
    torch.testing.assert_close(w_up.std(-1), torch.ones(4, dtype=torch.float64))


def test_yeo_johnson_scale_maps_unseen_values_monotonically_and_back():
    y = _skewed(-1.0)
    w, scale = fit_y_scale(y, kind="yeo-johnson")
    torch.testing.assert_close(scale(y), w)  # the history itself: the fitted values
    # Values beyond the history (a new best, the bar borders) keep their order and invert.
    grid = torch.linspace(-30, 5, 200, dtype=torch.float64).expand(4, -1)
    assert bool((scale(grid).diff(dim=-1) > 0).all())
    torch.testing.assert_close(scale.inverse(scale(grid)), grid)
    one = fit_y_scale(y[:1], kind="yeo-johnson")[1].squeeze(0)
    borders = torch.linspace(-6, 6, 129, dtype=torch.float64)
    raw = one.inverse(borders)
    assert raw.shape == (129,) and bool(torch.isfinite(raw).all()) and bool((raw.diff() > 0).all())


def test_yeo_johnson_ignores_padding_and_keeps_short_histories_plain():
    y = _skewed(-1.0, b=1)
    padded = torch.cat([y, torch.full((1, 7), 1e6, dtype=torch.float64)], -1)
    mask = torch.arange(padded.shape[-1]) < y.shape[-1]
    w, scale = fit_y_scale(y, kind="yeo-johnson")
    w_pad, scale_pad = fit_y_scale(padded, mask.unsqueeze(0), "yeo-johnson")
    torch.testing.assert_close(w_pad[:, : y.shape[-1]], w)
    assert bool((w_pad[:, y.shape[-1] :] == 0).all())
    torch.testing.assert_close(scale_pad.lam, scale.lam)
    short = y[:, : YJ_MIN_POINTS - 1]
    w_short, s_short = fit_y_scale(short, kind="yeo-johnson")
    assert float(s_short.lam) == 1.0
    torch.testing.assert_close(w_short, standardize_history(short)[0])
    # A flat history fits every exponent alike: the identity, so the bars keep their scale.
    flat = torch.full((1, 9), 3.0, dtype=torch.float64)
    w_flat, s_flat = fit_y_scale(flat, kind="yeo-johnson")
    assert float(s_flat.lam) == 1.0 and bool((w_flat == 0).all())
    borders = torch.linspace(-6, 6, 5, dtype=torch.float64)
    torch.testing.assert_close(s_flat.squeeze(0).inverse(borders), borders + 3.0)


def test_unknown_transform_is_named():
    with pytest.raises(ValueError, match="y_transform"):
        fit_y_scale(torch.zeros(1, 3), kind="box-cox")


@pytest.mark.parametrize("offset, scale", [(1e6, 1e-3), (-1e6, 1e-4), (1e9, 1.0), (0.0, 1e-9)])
def test_standardisation_ignores_offset_and_scale(offset, scale):
    """``c + s y`` standardises like ``y`` wherever float64 resolves it: a tolerance of
    1e-8 |mean| took 1e6 + 1e-3 y (and 1e9 + y, 1e-9 y) for a constant history, so that the
    values fell within a fraction of one bar."""
    from botorch_nap.normalization import standardize_history

    y = torch.tensor([[0.3, -1.2, 2.5, 0.7, -0.4, 1.9]], dtype=torch.float64)
    z, _, _ = standardize_history(y)
    z2, _, std2 = standardize_history(offset + scale * y)
    torch.testing.assert_close(z2, z, rtol=0, atol=1e-6)
    assert float(std2) < 10 * scale


def test_equal_values_up_to_rounding_keep_the_unit_scale():
    from botorch_nap.normalization import standardize_history

    for y in ([[5.0, 5.0, 5.0]], [[1e6, 1e6 + 1e-10, 1e6]], [[0.0, 0.0]], [[3.0]]):
        y = torch.tensor(y, dtype=torch.float64)
        z, mean, std = standardize_history(y)
        assert float(std) == 1.0 and torch.isfinite(z).all()
    # float32 data: a constant stays constant (with padding), values a few ulps apart do not.
    y32 = torch.tensor([[0.1, 0.1, 0.1, 7.0]], dtype=torch.float32)
    mask = torch.tensor([[True, True, True, False]])
    z, _, std = standardize_history(y32, mask)
    assert float(std) == 1.0 and z.dtype == torch.float32 and float(z.abs().max()) == 0.0
    y = torch.tensor([[0.3, -1.2, 2.5, 0.7, -0.4, 1.9]], dtype=torch.float64)
    z, _, _ = standardize_history(y)
    z32, _, _ = standardize_history((1.0 + 3e-6 * y).float())
    torch.testing.assert_close(z32.double(), z, rtol=0, atol=0.05)

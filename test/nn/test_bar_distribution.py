import math

import pytest
import torch

from botorch_nap.nn.bar_distribution import BarDistribution

DTYPES = [torch.float32, torch.float64]


def _fine_grid(bar: BarDistribution, logits: torch.Tensor, n: int = 200_001):
    """Density on a fine grid over the support: numerical-integration reference."""
    b = bar.borders.to(logits.dtype)
    ys = torch.linspace(float(b[0]), float(b[-1]), n, dtype=torch.float64)
    dens = bar.log_prob(logits.double().unsqueeze(-2).expand(*logits.shape[:-1], n, -1), ys).exp()
    return ys, dens


def _trapz(f, ys):
    return torch.trapezoid(f, ys, dim=-1)


@pytest.fixture(params=["uniform", "quantile"])
def bar(request):
    if request.param == "uniform":
        return BarDistribution.uniform(16, (-3.0, 5.0))
    g = torch.Generator().manual_seed(0)
    return BarDistribution.from_samples(torch.randn(5000, generator=g) * 2, 16)


@pytest.mark.parametrize("dtype", DTYPES)
def test_moments_cdf_ei_match_numerical_integration(bar, dtype):
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(3, bar.n_buckets, generator=g).to(dtype) * 2
    ys, dens = _fine_grid(bar, logits)
    tol = dict(rtol=2e-3, atol=2e-3) if dtype == torch.float32 else dict(rtol=1e-4, atol=1e-4)
    assert torch.allclose(_trapz(dens, ys), torch.ones(3, dtype=torch.float64), **tol)
    mean_ref = _trapz(dens * ys, ys)
    var_ref = _trapz(dens * ys**2, ys) - mean_ref**2
    torch.testing.assert_close(bar.mean(logits).double(), mean_ref, **tol)
    torch.testing.assert_close(bar.variance(logits).double(), var_ref, **tol)
    for f in [-10.0, -2.1, 0.0, 0.37, 1.9, 4.99, 7.0]:
        ei_ref = _trapz(dens * (ys - f).clamp_min(0), ys)
        torch.testing.assert_close(bar.expected_improvement(logits, f).double(), ei_ref, **tol)
        log_ei = bar.log_expected_improvement(logits, f)
        ok = ei_ref > 1e-6
        torch.testing.assert_close(log_ei.double()[ok].exp(), ei_ref[ok], **tol)
        cdf_ref = _trapz(dens * (ys <= f), ys)
        torch.testing.assert_close(bar.cdf(logits, torch.tensor(f)).double(), cdf_ref, **tol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_quantile_inverts_cdf(bar, dtype):
    logits = torch.randn(4, bar.n_buckets, generator=torch.Generator().manual_seed(2)).to(dtype)
    for q in [0.01, 0.25, 0.5, 0.9, 0.999]:
        y = bar.quantile(logits, q)
        atol = 1e-4 if dtype == torch.float32 else 1e-9
        torch.testing.assert_close(
            bar.cdf(logits, y), torch.full((4,), q, dtype=dtype), atol=atol, rtol=0
        )


def test_monte_carlo_mean_and_ei():
    bar = BarDistribution.uniform(8, (-1.0, 1.0))
    logits = torch.tensor([0.0, 1.0, -1.0, 2.0, 0.5, -0.3, 0.1, 0.0], dtype=torch.float64)
    g = torch.Generator().manual_seed(3)
    k = torch.multinomial(bar.probs(logits), 400_000, replacement=True, generator=g)
    b = bar.borders.double()
    y = b[k] + torch.rand(k.shape, generator=g, dtype=torch.float64) * (b[k + 1] - b[k])
    assert abs(float(bar.mean(logits)) - float(y.mean())) < 5e-3
    assert (
        abs(float(bar.expected_improvement(logits, 0.1)) - float((y - 0.1).clamp_min(0).mean()))
        < 5e-3
    )


def test_straddling_bucket_counts_only_part_above_threshold():
    # One bucket [0, 1] holding all mass: EI over f=0.5 is int_0.5^1 (y-0.5) dy = 0.125.
    bar = BarDistribution(torch.tensor([-1.0, 0.0, 1.0]))
    logits = torch.tensor([-1e9, 0.0])
    assert float(bar.expected_improvement(logits, 0.5)) == pytest.approx(0.125)
    assert float(bar.log_expected_improvement(logits, 0.5)) == pytest.approx(math.log(0.125))
    assert float(bar.expected_improvement(logits, 1.0)) == 0.0


def test_log_prob_clamps_out_of_range_targets_to_edge_buckets():
    bar = BarDistribution.uniform(4, (-2.0, 2.0))
    logits = torch.tensor([0.1, 0.2, 0.3, 0.4])
    lp_edge_hi = bar.log_prob(logits, torch.tensor(2.0))
    lp_far_hi = bar.log_prob(logits, torch.tensor(50.0))
    lp_far_lo = bar.log_prob(logits, torch.tensor(-50.0))
    assert torch.isfinite(lp_far_hi) and lp_far_hi == lp_edge_hi
    assert lp_far_lo == bar.log_prob(logits, torch.tensor(-2.0))
    # log p - log width
    expected = torch.log_softmax(logits, -1)[3] - math.log(1.0)
    torch.testing.assert_close(lp_far_hi, expected)


def test_bad_borders_and_logits_raise():
    with pytest.raises(ValueError, match="strictly increasing"):
        BarDistribution(torch.tensor([0.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="finite"):
        BarDistribution(torch.tensor([0.0, math.inf]))
    bar = BarDistribution.uniform(4)
    with pytest.raises(ValueError, match="buckets"):
        bar.mean(torch.zeros(3, 5))
    with pytest.raises(ValueError, match="quantile levels"):
        bar.quantile(torch.zeros(4), 1.5)


def test_quantile_borders_have_equal_mass_and_tied_samples_work():
    y = torch.randn(10_000, generator=torch.Generator().manual_seed(4))
    bar = BarDistribution.from_samples(y, 10)
    counts = torch.bincount(bar.bucket_index(y), minlength=10).float()
    assert (counts / counts.sum() - 0.1).abs().max() < 0.01
    tied = torch.cat([torch.zeros(500), torch.ones(10)])
    assert BarDistribution.from_samples(tied, 8).n_buckets == 8


def test_to_posterior_matches_moments_in_scaled_units():
    bar = BarDistribution.uniform(32, (-4.0, 4.0)).double()
    logits = torch.randn(5, 1, 32, dtype=torch.float64)
    post = bar.to_posterior(logits, scale=10.0, shift=3.0)
    torch.testing.assert_close(post.mean.squeeze(-1), 3.0 + 10.0 * bar.mean(logits))
    torch.testing.assert_close(post.variance.squeeze(-1), 100.0 * bar.variance(logits))


@pytest.mark.parametrize("dtype", DTYPES)
def test_log_ei_per_row_thresholds_and_threshold_above_top_border(bar, dtype):
    # Thresholds that differ per row (one above the top border, where EI is 0) give the
    # same values as each row alone, and gradients stay finite everywhere.
    g = torch.Generator().manual_seed(2)
    logits = (torch.randn(4, 5, bar.n_buckets, generator=g) * 2).to(dtype).requires_grad_(True)
    top = float(bar.borders[-1])
    f = torch.tensor([-10.0, 0.3, top - 0.01, top + 1.0], dtype=dtype).view(4, 1)
    out = bar.log_expected_improvement(logits, f)
    for i in range(4):
        alone = bar.log_expected_improvement(logits[i], float(f[i]))
        torch.testing.assert_close(out[i], alone)
    ei = bar.expected_improvement(logits.detach(), f)
    ok = ei > 1e-6
    torch.testing.assert_close(out.detach()[ok].exp(), ei[ok], rtol=1e-4, atol=1e-6)
    assert (out[3] == out[3].min()).all(), "no bucket above f: the floor"
    out.sum().backward()
    assert torch.isfinite(logits.grad).all()
    assert logits.grad[:3].abs().sum() > 0
    # Keeping every bucket (the traceable form) changes neither values nor gradients.
    grad = logits.grad.clone()
    logits.grad = None
    every = bar.log_expected_improvement(logits, f, skip_below=False)
    torch.testing.assert_close(every, out)
    every.sum().backward()
    torch.testing.assert_close(logits.grad, grad)

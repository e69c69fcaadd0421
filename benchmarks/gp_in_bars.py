"""GP-EI with its posterior put into a network's bars: what the bars' resolution alone costs a
search (an experiment of issue 12; ``benchmarks/ei_near_incumbent.py`` shows the bars flatten
EI next to the incumbent).

``gp-ei-bars:<B>``: BoTorch's ``SingleTaskGP``, fitted as GP-EI fits it; at each candidate its
posterior (latent f, as ``LogExpectedImprovement`` uses) is put into ``B`` equal bars over
+-6 standard deviations of the observed values (the networks' bars, standardised by the same
rule), and the acquisition is the log-EI of that bar distribution, computed as a network's
head computes it (uniform density within a bar). Everything else is GP-EI's.

    PYTHONPATH=benchmarks botorch-nap benchmark --plugin gp_in_bars \\
        --methods gp-ei,gp-ei-bars:128,gp-ei-bars:1000 ...
"""

from __future__ import annotations

import torch
from botorch.acquisition import AcquisitionFunction
from botorch.models import SingleTaskGP
from botorch.models.transforms import Normalize
from botorch.utils.transforms import t_batch_mode_transform
from torch import Tensor

from botorch_nap.baselines import GPEI, _fitted_log_ei
from botorch_nap.benchmark.methods import register_method
from botorch_nap.nn.bar_distribution import BarDistribution
from botorch_nap.normalization import standardize_history


def log_ei_in_bars(mu: Tensor, sd: Tensor, bars: BarDistribution, best: Tensor) -> Tensor:
    """Log-EI over ``best`` of normals ``N(mu, sd^2)`` (``...``, standardised units) put into
    ``bars``, computed as a network's head computes it (uniform density within a bar)."""
    borders = bars.borders.to(mu)
    cdf = torch.special.ndtr((borders - mu.unsqueeze(-1)) / sd.unsqueeze(-1))
    logits = torch.log((cdf[..., 1:] - cdf[..., :-1]).clamp_min(1e-300))
    return bars.log_expected_improvement(logits, best.to(mu))


class BarredLogEI(AcquisitionFunction):
    """Log-EI of a GP posterior discretised into ``bars`` (standardised by ``mean``, ``std``)."""

    def __init__(self, model, bars: BarDistribution, mean: Tensor, std: Tensor, best: Tensor):
        super().__init__(model=model)
        self.bars, self.mean, self.std = bars, mean, std
        self.best_norm = (best - mean) / std

    @t_batch_mode_transform(expected_q=1)
    def forward(self, X: Tensor) -> Tensor:
        post = self.model.posterior(X)
        mu = (post.mean[..., 0, 0] - self.mean) / self.std
        sd = post.variance[..., 0, 0].clamp_min(1e-18).sqrt() / self.std
        return log_ei_in_bars(mu, sd, self.bars, self.best_norm)


class GPEIBars(GPEI):
    name = "gp-ei-bars"

    def __init__(self, n_bars: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.bars = BarDistribution.uniform(n_bars, (-6.0, 6.0))

    def acquisition(self, train_X, train_Y, bounds, pool=False) -> AcquisitionFunction:
        Y = train_Y if self.maximize else -train_Y
        gp = SingleTaskGP(
            train_X, Y, input_transform=Normalize(train_X.shape[-1], bounds=bounds.to(train_X))
        )
        _fitted_log_ei(gp, Y)  # fits the GP exactly as GP-EI does
        _, mean, std = standardize_history(Y.squeeze(-1)[None])
        return BarredLogEI(gp, self.bars, mean[0], std[0], Y.max())


def _make(arg: str, ctx):
    return GPEIBars(int(arg or 128), settings=ctx.settings)


register_method("gp-ei-bars", _make, "GP-EI through <B> bars (default 128): gp-ei-bars:<B>")

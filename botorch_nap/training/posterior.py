"""Posterior targets: train a neural process on each training function's exact predictive
distribution instead of its one sampled value.

The NP loss asks the network for the density of one observed value ``y`` per target. When the
family knows the prior that generated a task (a GP with this task's lengthscales and noise,
:meth:`~botorch_nap.tasks.gp_prior.GPPriorFamily.sample_batch_with_prior`), the value's whole
predictive distribution given the context is known in closed form
(:func:`~botorch_nap.tasks.gp_prior.gp_predictive`), and the loss can take its expectation
over ``y`` instead of one draw: the cross-entropy from that Gaussian, put into the network's
bars, to the network's bar distribution. In expectation over the data the two losses are
equal, so they share their optimum, the predictive distribution of the prior with its
lengthscales unknown (the network still never sees them). The posterior loss drops the noise
of the single draw, the way a Rao-Blackwellised estimator does, so each step's gradient says
more.

Example:
    >>> family = GPPriorFamily(dim=3)
    >>> pretrain(net, family, steps=8000, posterior_targets=True, out_dir="runs/gp_post")
"""

from __future__ import annotations

import torch
from torch import Tensor

from botorch_nap.nn.bar_distribution import BarDistribution
from botorch_nap.nn.transformer import NAPTransformer
from botorch_nap.normalization import YScale
from botorch_nap.tasks.gp_prior import PriorBatch, gp_predictive
from botorch_nap.training.common import context_split, target_mean


def gaussian_in_bars(bar: BarDistribution, scale: YScale, mean: Tensor, var: Tensor) -> Tensor:
    """Bar probabilities ``b x N x B`` of Gaussians given in raw units (``mean``, ``var``:
    ``b x N``) on each task's bar scale (``scale``, fitted on its context; any monotone
    transform). The mass beyond the outer borders goes to the edge bars, which is where the
    bars put values outside their range (:meth:`BarDistribution.log_prob` clamps them).
    """
    borders = bar.borders.to(mean)
    b = mean.shape[0]
    raw = scale.inverse(borders.expand(b, -1))  # b x (B + 1), raw units
    z = (raw.unsqueeze(1) - mean.unsqueeze(-1)) / var.sqrt().unsqueeze(-1)
    cdf = torch.special.ndtr(z)
    cdf = torch.cat(
        [torch.zeros_like(cdf[..., :1]), cdf[..., 1:-1], torch.ones_like(cdf[..., :1])], -1
    )
    return (cdf[..., 1:] - cdf[..., :-1]).clamp_min(0.0)


def posterior_loss(
    net: NAPTransformer,
    batch: PriorBatch,
    n_context: Tensor,
    chunk_size: int | None = None,
    weighting: str = "target",
) -> Tensor:
    """The NP loss (:func:`~botorch_nap.training.common.np_loss`) with each target's observed
    value replaced by its exact predictive distribution given the context: the mean over
    targets of ``-sum_k p_k log(q_k / w_k)``, with ``p`` the Gaussian's bar masses, ``q``
    the network's bar probabilities and ``w`` the bar widths (so the loss is in the same nats
    per target as the NP loss, and equal to it in expectation).

    ``batch``: ``X`` ``b x N x d`` in the unit cube, ``y`` ``b x N`` and the tasks' prior
    parameters; point ``j`` of task ``i`` is context when ``j < n_context[i]``. Returns a scalar.
    """
    dtype = next(net.parameters()).dtype
    X, y = batch.X.to(dtype), batch.y.to(dtype)
    split = context_split(X, y, n_context, net.config.y_transform)
    mean, var = gp_predictive(batch, n_context)
    scale64 = YScale(*(None if t is None else t.double() for t in split.scale._parts()))
    p = gaussian_in_bars(net.bar, scale64, mean, var).to(dtype)
    enc = net.encode_history(split.hist_x, split.y_ctx, mask=split.mask)
    logits = net.score(enc, X, chunk_size=chunk_size).bar_logits
    log_density = torch.log_softmax(logits, -1) - torch.log(net.bar.widths(logits))
    return target_mean(-(p * log_density).sum(-1), split.is_context, weighting)

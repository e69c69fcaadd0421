r"""The bar ("Riemann") distribution: a piecewise-uniform density over normalised y.

The network's bar head emits ``B`` logits per query. With borders
``b_0 < b_1 < ... < b_B`` the density is

.. math::  p(y) = \mathrm{softmax}(\ell)_k / (b_{k+1} - b_k)  \quad  y \in [b_k, b_{k+1}).

All moments, the CDF, quantiles and expected improvement are computed exactly for this
density (no sampling). The support is bounded: ``[b_0, b_B]``.

Out-of-range targets: :meth:`BarDistribution.log_prob` **clamps** y into ``[b_0, b_B]``,
so a target below ``b_0`` is scored as if it were in the first bucket and one above
``b_B`` as if in the last. Normalised y from the history rarely leaves the default range
``[-6, 6]`` (six context standard deviations); clamping keeps the loss finite and bounded.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class BarDistribution(nn.Module):
    r"""Piecewise-uniform distribution over ``B`` buckets with fixed borders.

    The module holds only the borders (a buffer, saved in the ``state_dict``); the
    probabilities come from logits passed to each method, with shape ``... x B``.

    Args:
        borders: ``B + 1`` strictly increasing bucket borders.

    Example:
        >>> bar = BarDistribution.uniform(n_buckets=64, y_range=(-4.0, 4.0))
        >>> logits = torch.zeros(10, 64)
        >>> bar.mean(logits)  # uniform over [-4, 4]: mean 0
    """

    def __init__(self, borders: Tensor) -> None:
        super().__init__()
        borders = torch.as_tensor(borders)
        if borders.dim() != 1 or borders.numel() < 2:
            raise ValueError(f"borders must be a 1-d tensor of >= 2 values, got {borders.shape}")
        if not torch.isfinite(borders).all():
            raise ValueError("borders must be finite")
        if not (borders[1:] > borders[:-1]).all():
            raise ValueError("borders must be strictly increasing")
        self.register_buffer("borders", borders.clone())

    # ------------------------------------------------------------------ constructors
    @classmethod
    def uniform(cls, n_buckets: int, y_range: tuple[float, float] = (-6.0, 6.0)) -> BarDistribution:
        """``n_buckets`` equal-width buckets over ``y_range``."""
        lo, hi = float(y_range[0]), float(y_range[1])
        if not lo < hi:
            raise ValueError(f"y_range must have lo < hi, got {y_range}")
        if n_buckets < 1:
            raise ValueError(f"n_buckets must be >= 1, got {n_buckets}")
        return cls(torch.linspace(lo, hi, n_buckets + 1, dtype=torch.float64).float())

    @classmethod
    def from_samples(
        cls, y: Tensor, n_buckets: int, y_range: tuple[float, float] | None = None
    ) -> BarDistribution:
        """Quantile borders fitted to sample values ``y`` (any shape): equal mass per bucket.

        The outer borders are the sample min/max, or ``y_range`` if given. Duplicate
        quantiles (heavily tied samples) are spread apart so borders stay strictly increasing.
        """
        y = torch.as_tensor(y, dtype=torch.float64).flatten()
        y = y[torch.isfinite(y)]
        if y.numel() < 2:
            raise ValueError("need at least 2 finite samples to fit quantile borders")
        q = torch.linspace(0, 1, n_buckets + 1, dtype=torch.float64)
        borders = torch.quantile(y, q)
        if y_range is not None:
            borders[0], borders[-1] = float(y_range[0]), float(y_range[1])
        # Enforce strict monotonicity with a tiny fraction of the total span.
        min_gap = (borders[-1] - borders[0]).clamp_min(1e-6) * 1e-6
        for i in range(1, borders.numel()):
            if borders[i] <= borders[i - 1] + min_gap:
                borders[i] = borders[i - 1] + min_gap
        return cls(borders.float())

    # ------------------------------------------------------------------ helpers
    @property
    def n_buckets(self) -> int:
        return self.borders.numel() - 1

    def _b(self, like: Tensor) -> Tensor:
        return self.borders.to(dtype=like.dtype, device=like.device)

    def widths(self, like: Tensor) -> Tensor:
        b = self._b(like)
        return b[1:] - b[:-1]

    def midpoints(self, like: Tensor) -> Tensor:
        b = self._b(like)
        return 0.5 * (b[1:] + b[:-1])

    def _check(self, logits: Tensor) -> None:
        if logits.shape[-1] != self.n_buckets:
            raise ValueError(
                f"logits have {logits.shape[-1]} buckets in the last dim, expected {self.n_buckets}"
            )

    def bucket_index(self, y: Tensor) -> Tensor:
        """Index of the bucket holding each (clamped) y; same shape as ``y``."""
        b = self._b(y)
        idx = torch.searchsorted(b, y.contiguous(), right=True) - 1
        return idx.clamp(0, self.n_buckets - 1)

    # ------------------------------------------------------------------ densities
    def log_prob(self, logits: Tensor, y: Tensor) -> Tensor:
        """Log density of ``y`` (shape ``...``) under ``logits`` (``... x B``).

        ``y`` outside ``[b_0, b_B]`` is clamped to the edge buckets (see module docstring).
        """
        self._check(logits)
        y = y.to(logits.dtype)
        b = self._b(logits)
        y = y.clamp(b[0], b[-1])
        shape = torch.broadcast_shapes(y.shape, logits.shape[:-1])
        y = y.expand(shape)
        idx = self.bucket_index(y)
        logp = torch.log_softmax(logits, dim=-1).expand(*shape, self.n_buckets)
        logp_k = logp.gather(-1, idx.unsqueeze(-1)).squeeze(-1)
        return logp_k - torch.log(self.widths(logits))[idx]

    def nll(self, logits: Tensor, y: Tensor) -> Tensor:
        """Negative log density (the auxiliary NP loss), elementwise."""
        return -self.log_prob(logits, y)

    def probs(self, logits: Tensor) -> Tensor:
        self._check(logits)
        return torch.softmax(logits, dim=-1)

    # ------------------------------------------------------------------ moments
    def mean(self, logits: Tensor) -> Tensor:
        """Exact mean, shape ``...``."""
        return (self.probs(logits) * self.midpoints(logits)).sum(-1)

    def variance(self, logits: Tensor) -> Tensor:
        """Exact variance: within-bucket ``w^2/12`` plus the spread of midpoints."""
        p = self.probs(logits)
        m = self.midpoints(logits)
        w = self.widths(logits)
        mean = (p * m).sum(-1, keepdim=True)
        return (p * ((m - mean) ** 2 + w**2 / 12.0)).sum(-1)

    def cdf(self, logits: Tensor, y: Tensor) -> Tensor:
        """Exact ``P(Y <= y)``; ``y`` broadcasts against ``logits.shape[:-1]``."""
        p = self.probs(logits)
        b = self._b(logits)
        y = y.to(logits.dtype).unsqueeze(-1)
        # Fraction of each bucket lying below y, in [0, 1].
        frac = ((y - b[:-1]) / (b[1:] - b[:-1])).clamp(0.0, 1.0)
        return (p * frac).sum(-1)

    def quantile(self, logits: Tensor, q: Tensor | float) -> Tensor:
        """Exact quantile (inverse CDF) for levels ``q`` in [0, 1], broadcast like ``cdf``."""
        p = self.probs(logits)
        b = self._b(logits)
        q = torch.as_tensor(q, dtype=logits.dtype, device=logits.device)
        if ((q < 0) | (q > 1)).any():
            raise ValueError("quantile levels must lie in [0, 1]")
        cum = torch.cumsum(p, dim=-1)
        cum = torch.cat([torch.zeros_like(cum[..., :1]), cum], dim=-1)  # ... x (B+1)
        q_exp = q.unsqueeze(-1).expand(*torch.broadcast_shapes(q.shape, p.shape[:-1]), 1)
        cum_exp = cum.expand(*q_exp.shape[:-1], cum.shape[-1]).contiguous()
        k = torch.searchsorted(cum_exp, q_exp.contiguous(), right=True) - 1
        k = k.clamp(0, self.n_buckets - 1)
        lo_cum = cum_exp.gather(-1, k)
        pk = (cum_exp.gather(-1, k + 1) - lo_cum).clamp_min(1e-30)
        frac = ((q_exp - lo_cum) / pk).clamp(0.0, 1.0)
        out = b[k] + frac * (b[k + 1] - b[k])
        return out.squeeze(-1)

    # ------------------------------------------------------------------ acquisition
    def expected_improvement(self, logits: Tensor, best_f: Tensor | float) -> Tensor:
        r"""Exact :math:`E[\max(Y - f, 0)]` (maximisation) for threshold ``best_f``.

        Buckets entirely above ``f`` contribute ``p_k (m_k - f)``. The bucket straddling
        ``f`` contributes only its part above ``f``: ``p_k (b_{k+1} - f)^2 / (2 w_k)``.
        ``best_f`` broadcasts against ``logits.shape[:-1]``.
        """
        p = self.probs(logits)
        b = self._b(logits)
        lo, hi = b[:-1], b[1:]
        f = torch.as_tensor(best_f, dtype=logits.dtype, device=logits.device).unsqueeze(-1)
        # Part of bucket [lo, hi] above f: [max(lo, f), hi], where it is non-empty.
        a = torch.maximum(lo, f)
        above = (hi - a).clamp_min(0.0)
        # E[(Y - f) 1{Y > f}] within bucket = p/w * int_a^hi (y - f) dy
        #   = p/w * above * ((a + hi)/2 - f).
        contrib = p / (hi - lo) * above * (0.5 * (a + hi) - f)
        return contrib.sum(-1)

    def log_expected_improvement(
        self,
        logits: Tensor,
        best_f: Tensor | float,
        log_norm: Tensor | None = None,
        skip_below: bool = True,
    ) -> Tensor:
        """``log`` of :meth:`expected_improvement`, floored at ``log(1e-40)``-ish for stability.

        Computed in log space bucket by bucket so gradients survive when EI is tiny.
        ``log_norm``: ``logsumexp(logits, -1)`` when the caller has it already.
        ``skip_below``: leave out the buckets below every threshold (faster in eager mode);
        False keeps every bucket (the same values), which leaves no data-dependent shape in
        the graph, as ``torch.compile`` wants. See :func:`log_expected_improvement`.
        """
        return log_expected_improvement(self._b(logits), logits, best_f, log_norm, skip_below)

    # ------------------------------------------------------------------ BoTorch
    def to_posterior(
        self, logits: Tensor, scale: Tensor | float = 1.0, shift: Tensor | float = 0.0
    ):
        """A ``BoundedRiemannPosterior`` over ``shift + scale * y`` (original units).

        ``logits``: ``batch x q x B``; ``scale > 0``. The posterior's mean, variance and
        quantiles are exact for the bars.
        """
        from botorch_community.posteriors.riemann import BoundedRiemannPosterior

        borders = self._b(logits) * scale + shift
        return BoundedRiemannPosterior(borders=borders, probabilities=self.probs(logits))


def log_expected_improvement(
    borders: Tensor,
    logits: Tensor,
    best_f: Tensor | float,
    log_norm: Tensor | None = None,
    skip_below: bool = True,
) -> Tensor:
    """:meth:`BarDistribution.log_expected_improvement` for bars with ``borders`` (``B + 1``,
    in ``logits``' dtype), e.g. borders put back into a task's y units."""
    b = borders
    lo, hi = b[:-1], b[1:]
    f = torch.as_tensor(best_f, dtype=logits.dtype, device=logits.device).unsqueeze(-1)
    a = torch.maximum(lo, f)
    above = (hi - a).clamp_min(0.0)
    gain = above * (0.5 * (a + hi) - f)
    tiny = torch.finfo(logits.dtype).tiny
    # log(gain_k / w_k), with buckets that have no part above f contributing nothing.
    # It has f's shape (often one threshold for many queries), so the per-query work is
    # two log-sum-exps: log EI = lse(logits + log_c) - lse(logits).
    log_c = torch.log(gain.clamp_min(tiny)) - torch.log(hi - lo)
    log_c = torch.where(above > 0, log_c, torch.full_like(log_c, -math.inf))
    if log_norm is None:
        log_norm = torch.logsumexp(logits, dim=-1)
    # Buckets below every threshold add nothing; dropping them also keeps -inf out of
    # the exp, which takes a slow path on -inf (about 10x on AVX-512 CPUs).
    k0 = 0
    if skip_below:
        useful = (above > 0).reshape(-1, above.shape[-1]).any(0).nonzero()
        k0 = int(useful[0]) if useful.numel() else 0
    floor = math.log(tiny) if logits.dtype == torch.float32 else -700.0
    # A threshold above the top border (e.g. a heavy-tailed history whose standardised
    # best exceeds y_max) leaves no bucket: EI is 0 there, given the floor. Its terms are
    # zeroed first, because a log-sum-exp over nothing but -inf has a NaN gradient.
    has = (above > 0).any(-1, keepdim=True)
    term = logits[..., k0:] + log_c[..., k0:]
    term = torch.where(has, term, torch.zeros_like(term))
    out = torch.logsumexp(term, dim=-1) - log_norm
    out = torch.where(has.squeeze(-1), out, torch.full_like(out, floor))
    return out.clamp_min(floor)

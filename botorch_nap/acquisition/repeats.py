r"""Evaluated points carry no improvement: a smooth factor that vanishes on them.

A noise-free observation is known exactly, so its expected improvement is zero; a neural
process only learns that approximately (its bar distribution at an observed point keeps some
width), and a continuous optimiser then walks back onto the history: a wasted evaluation,
and in Ax a duplicate that its deduplication rejects. Both acquisitions therefore multiply
their improvement by

.. math::  1 - \exp(-d(x)^2 / r^2),

where :math:`d(x)` is the unit-cube distance from :math:`x` to the nearest evaluated (or
pending) point and :math:`r` the *repeat radius*: 0 on the history, above 0.99 beyond
:math:`2.2 r`, smooth everywhere, so ``optimize_acqf``'s gradients stay usable. In log space
it is :math:`\log(1 - e^{-d^2/r^2})`, added to the (log-scale) acquisition value.
"""

from __future__ import annotations

import torch
from torch import Tensor

#: Default repeat radius in unit-cube units: 1% of the box edge. Within it a candidate
#: competes only if the network's improvement there is much larger than elsewhere.
DEFAULT_REPEAT_RADIUS = 1e-2

#: Floor of ``d^2 / r^2``: keeps an exact repeat at a finite (very low) log value.
_MIN_RATIO = 1e-30
#: ``d^2 / r^2`` below which the log factor is its series (:func:`_log_novelty_rows`).
_SERIES_BELOW = 1e-3


def log_novelty(
    U: Tensor, known: Tensor | None, radius: float, chunk_size: int | None = 4096
) -> Tensor:
    """``log(1 - exp(-d^2 / r^2))`` for ``m x d`` unit-cube points ``U`` against ``n x d``
    ``known`` points -> ``m`` (all 0 when ``radius`` is 0 or nothing is known).

    Computed in chunks of ``chunk_size`` rows so that memory stays ``O(chunk_size * n)``;
    ``None``: in one piece (no loop over ``m``, which ``torch.compile`` would specialise on).
    """
    if radius < 0:
        raise ValueError(f"repeat radius must be >= 0, got {radius}")
    m = U.shape[0]
    if radius == 0 or known is None or known.shape[0] == 0 or m == 0:
        return U.new_zeros(m)
    known = known.to(U)
    known_t, known_sq = -2 * known.t(), known.square().sum(-1)
    if chunk_size is None:
        return _log_novelty_rows(U, known, known_t, known_sq, radius)
    out = []
    for s in range(0, m, chunk_size):
        out.append(_log_novelty_rows(U[s : s + chunk_size], known, known_t, known_sq, radius))
    return torch.cat(out)


def _log_novelty_rows(
    u: Tensor, known: Tensor, known_t: Tensor, known_sq: Tensor, radius: float
) -> Tensor:
    # The matmul expansion |k|^2 - 2 u.k (|u|^2 is the same for every k) finds the nearest
    # known point (``min().indices``: ``argmin`` over rows is twice as slow); its distance is
    # then recomputed from direct differences, so that a repeat gives an exact zero.
    nearest = torch.addmm(known_sq, u.detach(), known_t).min(-1).indices
    d2 = (u - known[nearest]).square().sum(-1)
    ratio = (d2 / radius**2).clamp_min(_MIN_RATIO)
    # Below _SERIES_BELOW, log(1 - e^-r) = log r - r/2 + r^2/24 - O(r^4) to float64's
    # precision, with no expm1: torch.compile's CPU expm1 is exp(x) - 1, which returns 0 for
    # |x| < 1e-16 (so log 0 = -inf next to an evaluated point, where L-BFGS-B's line search
    # then gives up). The other branch sees a safe input, so neither branch's gradient is NaN.
    small = ratio < _SERIES_BELOW
    series = torch.log(ratio) - ratio / 2 + ratio.square() / 24
    exact = torch.log(-torch.expm1(-torch.where(small, torch.ones_like(ratio), ratio)))
    return torch.where(small, series, exact)

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


def log_novelty(U: Tensor, known: Tensor | None, radius: float, chunk_size: int = 4096) -> Tensor:
    """``log(1 - exp(-d^2 / r^2))`` for ``m x d`` unit-cube points ``U`` against ``n x d``
    ``known`` points -> ``m`` (all 0 when ``radius`` is 0 or nothing is known).

    Computed in chunks of ``chunk_size`` rows so that memory stays ``O(chunk_size * n)``.
    """
    if radius < 0:
        raise ValueError(f"repeat radius must be >= 0, got {radius}")
    m = U.shape[0]
    if radius == 0 or known is None or known.shape[0] == 0 or m == 0:
        return U.new_zeros(m)
    known = known.to(U)
    known_t, known_sq = -2 * known.t(), known.square().sum(-1)
    out = []
    for s in range(0, m, chunk_size):
        u = U[s : s + chunk_size]
        # The matmul expansion |k|^2 - 2 u.k (|u|^2 is the same for every k) finds the
        # nearest known point (``min().indices``: ``argmin`` over rows is twice as slow);
        # its distance is then recomputed from direct differences, so that a repeat gives an
        # exact zero.
        nearest = torch.addmm(known_sq, u.detach(), known_t).min(-1).indices
        d2 = (u - known[nearest]).square().sum(-1)
        ratio = (d2 / radius**2).clamp_min(_MIN_RATIO)
        out.append(torch.log(-torch.expm1(-ratio)))
    return torch.cat(out)

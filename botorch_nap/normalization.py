"""The normalisation rules, decided once and used everywhere (acquisition, model, training).

* x goes to the unit cube by the search-space bounds (log-scaled parameters are already in
  log space when they reach us).
* y is standardised with the mean and standard deviation of the *observed history only*:
  never with the task's or pool's true range. With fewer than two history values, or values
  equal up to rounding, the scale falls back to 1 (the centre is still the history mean, or
  0 with no history).
  A network may ask for a Yeo-Johnson warp on top (``NAPConfig.y_transform``; see
  :class:`YScale`), fitted on the same history only; values the history has not seen (the
  training targets, the bar borders put back into y units) go through the same fitted map.
  One exception, at use only: a best value so far above the rest that it would sit past the
  top of the network's bars widens the scale (:func:`botorch_nap.context._keep_room_above`).
* Inside the library we maximise; ``maximize=False`` flips the sign at the boundary.
* Time: the network's ``t/T`` feature is the fraction of the run's evaluation budget already
  spent, ``n / budget`` capped at 1 (:func:`budget_fraction`), where ``n`` counts every
  evaluation in the history (initial design included) and ``budget`` every evaluation of the
  run (initial design included). The training environment passes ``budget = n_init +
  horizon``, ``NAPAcquisition`` its ``budget`` argument, the benchmark and Ax ``n_init +
  steps``; with no budget given, the network's ``config.horizon`` stands in.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

#: A history whose std is at most this many float64 epsilons times the size of its mean
#: holds one value up to rounding: its scale falls back to 1. Relative to float64's precision
#: only (the statistics are computed in float64), so that ``c + s * y`` standardises like
#: ``y`` for any offset ``c`` and scale ``s > 0`` whose values stay distinct in the data's
#: dtype (a fixed tolerance such as 1e-8 |mean| collapsed ``1e6 + 1e-3 y`` into a fraction of
#: one bar).
ROUNDING_EPS = 100


def budget_fraction(n_observed: Tensor | int, budget: Tensor | int | float) -> Tensor:
    """The ``t/T`` feature: ``min(n_observed / budget, 1)`` (see the module docstring).

    ``n_observed`` and ``budget`` broadcast; both count evaluations including the initial
    design. Used by training (the environment) and use (``NAPAcquisition``, Ax, benchmark), so
    that the same history gets the same feature in both.
    """
    n = torch.as_tensor(n_observed)
    budget = torch.as_tensor(budget, device=n.device)
    if (budget <= 0).any():
        raise ValueError(f"budget must be a positive number of evaluations, got {budget}")
    dtype = n.dtype if n.is_floating_point() else torch.float64
    return (n.to(dtype) / budget.to(dtype)).clamp(max=1.0)


def check_bounds(bounds: Tensor, dim: int | None = None) -> Tensor:
    """Validate a ``2 x d`` bounds tensor (lower row, upper row)."""
    if not isinstance(bounds, Tensor):
        bounds = torch.as_tensor(bounds, dtype=torch.float64)
    if bounds.dim() != 2 or bounds.shape[0] != 2:
        raise ValueError(f"bounds must have shape 2 x d, got {tuple(bounds.shape)}")
    if not torch.isfinite(bounds).all():
        raise ValueError("bounds must be finite")
    if not (bounds[1] > bounds[0]).all():
        bad = (bounds[1] <= bounds[0]).nonzero().flatten().tolist()
        raise ValueError(f"bounds must have lower < upper in every dim; violated in dims {bad}")
    if dim is not None and bounds.shape[1] != dim:
        raise ValueError(f"bounds have {bounds.shape[1]} dims, expected {dim}")
    return bounds


def to_unit_cube(X: Tensor, bounds: Tensor) -> Tensor:
    """Map ``... x d`` points from ``bounds`` (``2 x d``) to ``[0, 1]^d``."""
    lo, hi = bounds[0].to(X), bounds[1].to(X)
    return (X - lo) / (hi - lo)


def from_unit_cube(U: Tensor, bounds: Tensor) -> Tensor:
    """Inverse of :func:`to_unit_cube`."""
    lo, hi = bounds[0].to(U), bounds[1].to(U)
    return lo + U * (hi - lo)


def standardize_history(y: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """Standardise ``b x n`` history values with their own (masked) mean and std.

    Returns ``(y_norm, mean, std)`` with ``mean`` and ``std`` of shape ``b``. Padded entries
    (``mask`` False) are ignored in the statistics and come back as 0. A history with fewer
    than two values, or whose values are equal up to rounding (:data:`ROUNDING_EPS`), gets
    ``std = 1``; an empty one gets ``mean = 0, std = 1``.
    """
    if mask is None:
        mask = torch.ones_like(y, dtype=torch.bool)
    # In float64 whatever y's dtype: float32 statistics would blur values a few ulps apart
    # into a constant (and fake a spread from rounding); results come back in y's dtype.
    y64 = y.to(torch.float64)
    w = mask.to(torch.float64)
    count = w.sum(-1)
    mean = (y64 * w).sum(-1) / count.clamp_min(1.0)
    dev = (y64 - mean.unsqueeze(-1)) * w
    var = (dev**2).sum(-1) / (count - 1.0).clamp_min(1.0)
    std = var.sqrt()
    degenerate = (count < 2) | (std <= ROUNDING_EPS * torch.finfo(torch.float64).eps * mean.abs())
    std = torch.where(degenerate, torch.ones_like(std), std)
    y_norm = torch.where(
        mask, (y64 - mean.unsqueeze(-1)) / std.unsqueeze(-1), torch.zeros_like(y64)
    )
    return y_norm.to(y.dtype), mean.to(y.dtype), std.to(y.dtype)


#: How a network's y values are put on its scale (``NAPConfig.y_transform``).
Y_TRANSFORMS = ("standardize", "yeo-johnson")
#: The Yeo-Johnson exponents tried (maximum likelihood over this grid). Kept within [0, 2],
#: where the warp is unbounded on both sides: so a value better than the whole history stays
#: better by a margin (nothing saturates at the top), and the inverse map (bar borders back
#: into y units) is defined everywhere. 1 is the identity.
YJ_LAMBDAS = tuple(i / 10 for i in range(21))
#: Fewer history points than this keep the identity warp (an exponent fitted on 3 points
#: says nothing); so does a history of equal values.
YJ_MIN_POINTS = 5


def yeo_johnson(z: Tensor, lam: Tensor) -> Tensor:
    """The Yeo-Johnson warp of ``z`` with exponent ``lam`` (broadcast), for ``lam`` in
    [0, 2]: ``((z + 1)^lam - 1) / lam`` for ``z >= 0``, ``-((1 - z)^(2 - lam) - 1) / (2 -
    lam)`` below (the logarithms at ``lam = 0`` and ``2``). Monotone increasing."""
    lam = lam.to(z)
    pos = z >= 0
    a = torch.where(pos, lam, 2.0 - lam)  # the exponent of the side z is on
    base = torch.where(pos, z, -z).log1p()  # log(1 + |z|)
    small = a.abs() < 1e-6
    safe = torch.where(small, torch.ones_like(a), a)
    mag = torch.where(small, base, torch.expm1(base * safe) / safe)
    return torch.where(pos, mag, -mag)


def yeo_johnson_inverse(w: Tensor, lam: Tensor) -> Tensor:
    """Inverse of :func:`yeo_johnson` (``lam`` in [0, 2])."""
    lam = lam.to(w)
    pos = w >= 0
    a = torch.where(pos, lam, 2.0 - lam)
    m = torch.where(pos, w, -w)
    small = a.abs() < 1e-6
    safe = torch.where(small, torch.ones_like(a), a)
    z = torch.where(small, torch.expm1(m), torch.expm1(torch.log1p(safe * m) / safe))
    return torch.where(pos, z, -z)


def _masked_moments(y: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    w = mask.to(y.dtype)
    count = w.sum(-1)
    mean = (y * w).sum(-1) / count.clamp_min(1.0)
    var = (((y - mean.unsqueeze(-1)) * w) ** 2).sum(-1) / (count - 1.0).clamp_min(1.0)
    return mean, var


@dataclass
class YScale:
    """The map from raw y to a network's scale, fitted on ``b`` histories.

    ``standardize``: ``(y - mean) / std``. ``yeo-johnson``: the standardised value ``z``
    goes through :func:`yeo_johnson` with the exponent that maximises the Gaussian likelihood
    of the history's warped values (Box-Cox style, over :data:`YJ_LAMBDAS`), and the warped
    values are standardised again (``(w - mean2) / std2``). Skewed histories, where the best
    values crowd together at the top (most HPO and many test functions), so spread out over
    more of the bars, which is where late decisions are made (whether that pays is measured
    in the README, "y-transform"). Every parameter is ``b``.
    """

    mean: Tensor
    std: Tensor
    lam: Tensor | None = None
    mean2: Tensor | None = None
    std2: Tensor | None = None

    def __call__(self, y: Tensor) -> Tensor:
        """Raw ``b x ...`` values (any trailing shape) on the network's scale."""
        z = (y - _col(self.mean, y)) / _col(self.std, y)
        if self.lam is None:
            return z
        return (yeo_johnson(z, _col(self.lam, y)) - _col(self.mean2, y)) / _col(self.std2, y)

    def inverse(self, y_norm: Tensor) -> Tensor:
        """Network-scale ``b x ...`` values back in raw y units."""
        if self.lam is not None:
            w = y_norm * _col(self.std2, y_norm) + _col(self.mean2, y_norm)
            y_norm = yeo_johnson_inverse(w, _col(self.lam, y_norm))
        return y_norm * _col(self.std, y_norm) + _col(self.mean, y_norm)

    def widened(self, factor: float) -> YScale:
        """The same map with its final standard deviation ``factor`` times larger: network-
        scale values shrink by ``factor`` towards the history's mean."""
        if self.lam is None:
            return YScale(self.mean, self.std * factor)
        return YScale(self.mean, self.std, self.lam, self.mean2, self.std2 * factor)

    def squeeze(self, dim: int = 0) -> YScale:
        """The same scale with batch dim ``dim`` squeezed (a single history)."""
        return YScale(*(None if t is None else t.squeeze(dim) for t in self._parts()))

    def _parts(self) -> tuple:
        return (self.mean, self.std, self.lam, self.mean2, self.std2)


def _col(t: Tensor, like: Tensor) -> Tensor:
    """``t`` (``b``, or a scalar) broadcast against ``like`` (``b x ...``)."""
    t = t.to(like)
    return t.reshape(t.shape + (1,) * (like.dim() - t.dim()))


def fit_y_scale(
    y: Tensor, mask: Tensor | None = None, kind: str = "standardize"
) -> tuple[Tensor, YScale]:
    """Put ``b x n`` history values on a network's scale, from the history alone.

    Returns ``(y_norm, scale)``: ``y_norm`` ``b x n`` (padded entries 0) and the fitted
    :class:`YScale`, which maps any other raw value (targets, candidates) the same way.
    ``kind="standardize"`` is exactly :func:`standardize_history`.
    """
    if kind not in Y_TRANSFORMS:
        raise ValueError(f"y_transform must be one of {Y_TRANSFORMS}, got {kind!r}")
    if mask is None:
        mask = torch.ones_like(y, dtype=torch.bool)
    z, mean, std = standardize_history(y, mask)
    if kind == "standardize":
        return z, YScale(mean, std)
    lams = torch.tensor(YJ_LAMBDAS, dtype=y.dtype, device=y.device)  # L
    w = yeo_johnson(z.unsqueeze(-2), lams.view(-1, 1))  # b x L x n
    m = mask.unsqueeze(-2).expand_as(w)
    count = mask.sum(-1).to(y.dtype)  # b
    _, var = _masked_moments(w, m)  # b x L
    jac = (torch.sign(z) * z.abs().log1p() * mask.to(y.dtype)).sum(-1)  # b
    loglik = -0.5 * count.unsqueeze(-1) * var.clamp_min(1e-300).log() + (
        lams - 1.0
    ) * jac.unsqueeze(-1)
    lam = lams[loglik.argmax(-1)]
    # Short or flat histories (every exponent fits a constant alike) keep the identity.
    flat = _masked_moments(z, mask)[1] <= 0
    lam = torch.where((count < YJ_MIN_POINTS) | flat, torch.ones_like(lam), lam)
    warped = yeo_johnson(z, lam.unsqueeze(-1))
    y2, mean2, std2 = standardize_history(warped, mask)
    return y2, YScale(mean, std, lam, mean2, std2)

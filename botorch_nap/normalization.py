"""The normalisation rules, decided once and used everywhere (acquisition, model, training).

* x goes to the unit cube by the search-space bounds (log-scaled parameters are already in
  log space when they reach us).
* y is standardised with the mean and standard deviation of the *observed history only*:
  never with the task's or pool's true range. With fewer than two distinct history values
  the scale falls back to 1 (the centre is still the history mean, or 0 with no history).
* Inside the library we maximise; ``maximize=False`` flips the sign at the boundary.
* Time: the network's ``t/T`` feature is the fraction of the run's evaluation budget already
  spent, ``n / budget`` capped at 1 (:func:`budget_fraction`), where ``n`` counts every
  evaluation in the history (initial design included) and ``budget`` every evaluation of the
  run (initial design included). The training environment passes ``budget = n_init +
  horizon``, ``NAPAcquisition`` its ``budget`` argument, the benchmark and Ax ``n_init +
  steps``; with no budget given, the network's ``config.horizon`` stands in.
"""

from __future__ import annotations

import torch
from torch import Tensor

#: Relative tolerance below which a history's y values count as all equal.
MIN_STD = 1e-8


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
    than two distinct values gets ``std = 1``; an empty one gets ``mean = 0, std = 1``.
    """
    if mask is None:
        mask = torch.ones_like(y, dtype=torch.bool)
    w = mask.to(y.dtype)
    count = w.sum(-1)
    mean = (y * w).sum(-1) / count.clamp_min(1.0)
    dev = (y - mean.unsqueeze(-1)) * w
    var = (dev**2).sum(-1) / (count - 1.0).clamp_min(1.0)
    std = var.sqrt()
    scale = torch.maximum(mean.abs(), torch.ones_like(mean))
    degenerate = (count < 2) | (std <= MIN_STD * scale)
    std = torch.where(degenerate, torch.ones_like(std), std)
    y_norm = torch.where(mask, (y - mean.unsqueeze(-1)) / std.unsqueeze(-1), torch.zeros_like(y))
    return y_norm, mean, std

"""Near-duplicate training points: what a BO history looks like, and what uniform points
never show a neural process.

BO histories cluster around good points, and a continuous optimiser queries next to (or
exactly on) observed points. A prior sampled uniformly never puts two points close, so the
network cannot learn that a noise-free observed value is known there (its bar distribution
stays wide and EI stays positive: the optimiser walks back onto the history). Families with
a ``near_frac`` option move a share of their sampled points next to an earlier point of the
same task, before evaluating them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class NearPoints:
    """How to place near points.

    Attributes:
        frac: share of points (never the first of a task) moved next to an earlier point.
        scale_range: the jitter's std is log-uniform in this range (unit-cube units).
        copy_frac: share of near points that are exact copies (jitter 0).
    """

    frac: float = 0.0
    scale_range: tuple[float, float] = (1e-4, 0.05)
    copy_frac: float = 0.2

    def __post_init__(self) -> None:
        for name, v in (("near_frac", self.frac), ("copy_frac", self.copy_frac)):
            if not 0.0 <= float(v) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {v}")
        lo, hi = (float(v) for v in self.scale_range)
        if not 0 < lo <= hi:
            raise ValueError(
                f"near_scale_range must be (lo, hi) with 0 < lo <= hi, got {self.scale_range}"
            )

    def apply(self, X: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Move a share of the ``b x n x d`` unit-cube points ``X`` next to earlier points of
        the same task; returns a new tensor (``X`` itself when ``frac`` is 0)."""
        b, n, d = X.shape
        if self.frac == 0 or n < 2:
            return X
        X = X.clone()
        near = torch.rand(b, n, generator=generator) < self.frac
        near[:, 0] = False
        # Parent: a uniformly random earlier point, so chains of near points form clusters,
        # like a BO run that keeps refining around its incumbent.
        j = torch.arange(n).unsqueeze(0).expand(b, n)
        parent = (torch.rand(b, n, generator=generator) * j).floor().long()
        lo, hi = (math.log(v) for v in self.scale_range)
        scale = (lo + (hi - lo) * torch.rand(b, n, 1, generator=generator, dtype=X.dtype)).exp()
        copy = torch.rand(b, n, 1, generator=generator) < self.copy_frac
        scale = torch.where(copy, torch.zeros_like(scale), scale)
        jitter = scale * torch.randn(b, n, d, generator=generator, dtype=X.dtype)
        for k in range(1, n):  # in order: a parent may itself be a near point
            rows = near[:, k]
            if rows.any():
                X[rows, k] = (X[rows, parent[rows, k]] + jitter[rows, k]).clamp(0.0, 1.0)
        return X

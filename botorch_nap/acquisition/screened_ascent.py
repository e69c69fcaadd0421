"""Refine ``optimize_acqf``'s starts by gradient steps whose length is chosen by screening.

BoTorch's default ``gen_candidates_scipy`` polishes each start with L-BFGS-B, one forward and
backward pass per evaluation, several evaluations per iteration (its line search). For a
network acquisition on one CPU core an evaluation at 8 points costs about what ~900 small
tensor operations cost (the arithmetic is tiny), while one gradient-free call scores hundreds
of points at nearly the same price (float32, fused attention). So
:func:`gen_candidates_screened_ascent` takes one gradient per iteration and screens the whole
line search at once: every start moves along its (box-scaled) gradient by the best of a
geometric range of step lengths, projected onto the bounds, or stays where it is if no step
scores higher. Pass it to ``optimize_acqf`` as ``gen_candidates``.

Example:
    >>> acqf = NAPAcquisition.from_pretrained("gp_prior", train_X, train_Y, bounds)
    >>> x, _ = optimize_acqf(acqf, bounds, q=1, num_restarts=8, raw_samples=256,
    ...                      gen_candidates=gen_candidates_screened_ascent,
    ...                      options={"iterations": 2})
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from botorch.acquisition import AcquisitionFunction
from torch import Tensor

#: Defaults of :func:`gen_candidates_screened_ascent`'s options.
DEFAULT_ITERATIONS = 2
DEFAULT_STEPS = 24
DEFAULT_MIN_STEP = 1e-3
DEFAULT_MAX_STEP = 100.0


def gen_candidates_screened_ascent(
    initial_conditions: Tensor,
    acquisition_function: AcquisitionFunction,
    lower_bounds: float | Tensor | None = None,
    upper_bounds: float | Tensor | None = None,
    options: Mapping[str, float] | None = None,
    fixed_features: Mapping[int, float | Tensor] | None = None,
    timeout_sec: float | None = None,
    **_: object,
) -> tuple[Tensor, Tensor]:
    """Best points found from ``b x 1 x d`` starts, and their acquisition values (``b``).

    A drop-in ``gen_candidates`` for ``optimize_acqf`` (q = 1). Each of ``iterations``
    (default 2) takes the gradient at the current points (one forward and backward pass),
    scales it to the box (unit-cube coordinates) and to a largest coordinate of 1, and scores
    without gradients the current points and ``steps`` (24) moves along it, of lengths
    geometric from ``min_step`` (1e-3) to ``max_step`` (100) of the box, each projected onto
    the bounds. So the moves follow the projected-gradient path as L-BFGS-B's first step
    does: the long ones land on the boundary in every dim whose gradient points out of the
    box, not only in the steepest (optima of HPO tasks often lie there). Every point moves to
    its best-scoring candidate, so the result never scores lower than the start. Fixed
    features keep their values. ``timeout_sec`` is ignored.
    """
    opts = dict(options or {})
    iterations = int(opts.get("iterations", DEFAULT_ITERATIONS))
    steps = int(opts.get("steps", DEFAULT_STEPS))
    min_step = float(opts.get("min_step", DEFAULT_MIN_STEP))
    max_step = float(opts.get("max_step", DEFAULT_MAX_STEP))
    if iterations < 0 or steps < 1 or not 0 < min_step <= max_step:
        raise ValueError(
            "need iterations >= 0, steps >= 1 and 0 < min_step <= max_step; got "
            f"iterations={iterations}, steps={steps}, min_step={min_step}, max_step={max_step}"
        )
    X = initial_conditions
    if X.dim() != 3 or X.shape[-2] != 1:
        raise ValueError(f"initial_conditions must be b x 1 x d (q = 1), got {tuple(X.shape)}")
    b, _, d = X.shape
    lo = _bound(lower_bounds, X, "lower_bounds")
    hi = _bound(upper_bounds, X, "upper_bounds")
    if (hi < lo).any():
        raise ValueError("upper_bounds must be >= lower_bounds in every dim")
    width = hi - lo
    free = torch.ones(d, dtype=X.dtype, device=X.device)
    for j in fixed_features or {}:
        free[j] = 0.0
    # 0 first: the current point is screened with its moves, so that every comparison is
    # between values of the same (gradient-free) call.
    lengths = torch.cat(
        [torch.zeros(1), torch.logspace(math.log10(min_step), math.log10(max_step), steps)]
    ).to(X)

    best = X.detach().clone()
    for j, value in (fixed_features or {}).items():
        best[..., j] = torch.as_tensor(value).to(X)
    best_val = None
    for _ in range(iterations):
        Xg = best.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(acquisition_function(Xg).sum(), Xg)
        # Unit-cube direction, largest coordinate 1; a start with no usable gradient stays.
        g = torch.nan_to_num(grad, nan=0.0, posinf=0.0, neginf=0.0) * width * free
        scale = g.abs().amax(-1, keepdim=True)
        tiny = torch.finfo(g.dtype).tiny
        direction = torch.where(scale > 0, g / scale.clamp_min(tiny), torch.zeros_like(g))
        moves = best.unsqueeze(1) + lengths.view(1, -1, 1, 1) * (direction * width).unsqueeze(1)
        moves = torch.minimum(torch.maximum(moves, lo), hi)  # b x (steps + 1) x 1 x d
        with torch.no_grad():
            val = acquisition_function(moves.reshape(-1, 1, d)).reshape(b, -1)
        # A NaN score never wins (max would pick it); the current point is column 0.
        val = val.nan_to_num(nan=-math.inf)
        best_val, pick = val.max(dim=1)
        best = moves[torch.arange(b), pick].detach()
    if best_val is None:
        with torch.no_grad():
            best_val = acquisition_function(best)
    return best, best_val.detach()


def _bound(value: float | Tensor | None, X: Tensor, name: str) -> Tensor:
    if value is None:
        raise ValueError(f"{name} is needed: steps are fractions of the box")
    bound = torch.as_tensor(value).to(X).expand(X.shape[-1])
    if not torch.isfinite(bound).all():
        raise ValueError(f"{name} must be finite")
    return bound

"""Starting points next to the incumbent for continuous NAP and NP-EI decisions.

``optimize_acqf`` screens uniform raw samples and polishes the best few with L-BFGS-B. A
network's polish is short (three iterations, :data:`botorch_nap.baselines.NETWORK_POLISH_MAXITER`),
so a fine step next to the best observed point is proposed only if a raw sample happens to
land there. BoTorch's own remedy (``options={"sample_around_best": True}``) ranks the
observed points by a model's posterior mean, which :class:`NAPAcquisition` has no model
for; here the raw samples get ``n_near`` Gaussian perturbations of the best *observed*
point instead, and the usual Boltzmann pick of ``initialize_q_batch`` chooses the starts
among all of them. Measured on validation functions in README ("Starts next to the
incumbent").
"""

from __future__ import annotations

import torch
from botorch.acquisition.acquisition import AcquisitionFunction
from botorch.optim.initializers import initialize_q_batch
from botorch.utils.sampling import draw_sobol_samples
from torch import Tensor

#: Perturbations of the incumbent screened beside the uniform raw samples, and their standard
#: deviation as a fraction of each bound's range: the setting measured on validation (README,
#: "Starts next to the incumbent"; sigma 0.003 and 0.03 did as well as 0.01). Better late on
#: GP-prior and synthetic functions, worse on lcbench with the networks' short polish, so
#: ``NAP``/``NPEI`` in :mod:`botorch_nap.baselines` leave it off unless asked.
DEFAULT_NEAR_INCUMBENT = 64
DEFAULT_NEAR_SIGMA = 0.01


def _check_history(train_X: Tensor, train_Y: Tensor, bounds: Tensor) -> Tensor:
    """Validate the inputs; return ``train_Y`` as ``n``."""
    if train_X.ndim != 2 or train_X.shape[0] == 0:
        raise ValueError(f"train_X must be n x d with n >= 1, got shape {tuple(train_X.shape)}")
    y = train_Y.squeeze(-1) if train_Y.ndim == 2 else train_Y
    if y.shape != train_X.shape[:1]:
        raise ValueError(
            f"train_Y has shape {tuple(train_Y.shape)}, expected {train_X.shape[0]} or "
            f"{train_X.shape[0]} x 1 to match train_X"
        )
    if not (torch.isfinite(train_X).all() and torch.isfinite(y).all()):
        raise ValueError("train_X and train_Y must be finite (found NaN or inf)")
    if bounds.shape != (2, train_X.shape[-1]):
        raise ValueError(
            f"bounds must be 2 x {train_X.shape[-1]} to match train_X, got {tuple(bounds.shape)}"
        )
    if not (bounds[1] > bounds[0]).all():
        raise ValueError("every upper bound must exceed its lower bound")
    return y


def sample_near_incumbent(
    train_X: Tensor,
    train_Y: Tensor,
    bounds: Tensor,
    n: int,
    sigma: float = DEFAULT_NEAR_SIGMA,
    maximize: bool = True,
) -> Tensor:
    """``n x d`` Gaussian perturbations of the best observed point, clamped to ``bounds``.

    Args:
        train_X: ``n_obs x d`` observed points.
        train_Y: ``n_obs x 1`` (or ``n_obs``) observed values.
        bounds: ``2 x d`` box.
        n: number of points.
        sigma: standard deviation as a fraction of each bound's range.
        maximize: the best point is the largest ``train_Y`` (else the smallest).
    """
    y = _check_history(train_X, train_Y, bounds)
    return _perturb_best(train_X, y, bounds.to(train_X), n, sigma, maximize)


def _perturb_best(
    train_X: Tensor, y: Tensor, bounds: Tensor, n: int, sigma: float, maximize: bool
) -> Tensor:
    """:func:`sample_near_incumbent` on validated inputs (``y``: ``n_obs``)."""
    if sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    best = train_X[y.argmax() if maximize else y.argmin()]
    step = sigma * (bounds[1] - bounds[0]) * torch.randn(n, train_X.shape[-1]).to(train_X)
    return (best + step).clamp(bounds[0], bounds[1])


def gen_initial_conditions_near_incumbent(
    acq_function: AcquisitionFunction,
    bounds: Tensor,
    train_X: Tensor,
    train_Y: Tensor,
    num_restarts: int,
    raw_samples: int,
    n_near: int = DEFAULT_NEAR_INCUMBENT,
    sigma: float = DEFAULT_NEAR_SIGMA,
    maximize: bool | None = None,
) -> Tensor:
    """``num_restarts x 1 x d`` starting points for ``optimize_acqf(..., q=1)``.

    Screens ``raw_samples`` scrambled Sobol points in ``bounds`` plus ``n_near`` points from
    :func:`sample_near_incumbent` with ``acq_function`` (without gradients) and picks the
    starts among them as BoTorch's default initialiser does (``initialize_q_batch``).
    ``maximize``: whether the best point is the largest ``train_Y``; by default the
    acquisition's own ``maximize``, True where it has none (a wrapper such as BoTorch's
    ``FixedFeatureAcquisitionFunction`` around a minimising acquisition: pass it then).

    Example:
        >>> acqf = NAPAcquisition.from_pretrained("gp_prior", train_X, train_Y, bounds)
        >>> starts = gen_initial_conditions_near_incumbent(
        ...     acqf, bounds, train_X, train_Y, num_restarts=8, raw_samples=256
        ... )
        >>> x, _ = optimize_acqf(acqf, bounds, q=1, num_restarts=8,
        ...                      batch_initial_conditions=starts)
    """
    if num_restarts < 1:
        raise ValueError(f"num_restarts must be >= 1, got {num_restarts}")
    if raw_samples < 0 or raw_samples + n_near < num_restarts:
        raise ValueError(
            f"raw_samples + n_near ({raw_samples} + {n_near}) must be >= num_restarts "
            f"({num_restarts})"
        )
    y = _check_history(train_X, train_Y, bounds)
    if maximize is None:
        # The acquisition knows which way is up (NAPAcquisition / NPExpectedImprovement
        # with maximize=False minimise train_Y): its incumbent is the one to start next to.
        maximize = bool(getattr(acq_function, "maximize", True))
    bounds = bounds.to(train_X)
    # The Sobol seed comes from torch's global generator, so torch.manual_seed fixes it.
    seed = int(torch.randint(0, 2**31 - 1, (1,)).item())
    uniform = (
        draw_sobol_samples(bounds, n=raw_samples, q=1, seed=seed).squeeze(-2)
        if raw_samples
        else train_X.new_zeros(0, train_X.shape[-1])
    )
    near = _perturb_best(train_X, y, bounds, n_near, sigma, maximize)
    raw = torch.cat([uniform, near]).unsqueeze(-2)
    with torch.no_grad():
        values = acq_function(raw)
    return initialize_q_batch(raw, values, n=num_restarts)[0]

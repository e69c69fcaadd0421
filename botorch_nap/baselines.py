r"""One interface for every method: ``propose(train_X, train_Y, bounds, candidates=None) -> x``.

Each proposer returns one point, ``1 x d``, chosen through the public BoTorch route a user
would take: ``optimize_acqf`` over ``bounds`` when ``candidates`` is None (continuous; with
categorical parameters ``optimize_acqf_mixed_alternating``), else ``optimize_acqf_discrete``
over the pool with the observed points in ``X_avoid``.

* :class:`GPEI`: ``SingleTaskGP`` (BoTorch's default outcome transform, a ``Normalize``
  input transform on ``bounds``), fitted by ``fit_gpytorch_mll``, ``LogExpectedImprovement``.
* :class:`GPEIMixed`: the same with ``MixedSingleTaskGP`` (categorical kernel) for
  categorical parameters.
* :class:`NPEI`: the network's bar head as a model plus exact bar EI.
* :class:`NAP`: the network's acquisition head (:class:`NAPAcquisition`).
* :class:`RandomSearch`: uniform in the box, or uniform over unevaluated pool points.

Example:
    >>> x = GPEI().propose(train_X, train_Y, bounds)
    >>> x = NAP(net).propose(train_X, train_Y, bounds, candidates=pool)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
from botorch.acquisition import AcquisitionFunction, LogExpectedImprovement
from botorch.fit import fit_gpytorch_mll
from botorch.models import MixedSingleTaskGP, SingleTaskGP
from botorch.models.transforms.input import Normalize
from botorch.optim import optimize_acqf, optimize_acqf_discrete, optimize_acqf_mixed_alternating
from gpytorch.mlls import ExactMarginalLogLikelihood
from torch import Tensor

from botorch_nap.acquisition.initial_conditions import (
    DEFAULT_NEAR_SIGMA,
    gen_initial_conditions_near_incumbent,
)
from botorch_nap.acquisition.nap import NAPAcquisition
from botorch_nap.acquisition.np_ei import NPExpectedImprovement
from botorch_nap.acquisition.repeats import DEFAULT_REPEAT_RADIUS
from botorch_nap.acquisition.screened_ascent import gen_candidates_screened_ascent
from botorch_nap.nn.transformer import NAPTransformer

#: L-BFGS-B iterations of a continuous decision when the settings leave ``maxiter`` to the
#: method. A network is cheap to screen without gradients (float32, fused attention) but
#: each gradient step costs a float64 forward and backward pass, so NAP and NP-EI polish the
#: best raw samples briefly. The long polish also over-fits the network's fine-scale bumps:
#: on validation the short one has lower regret for both (README, Speed; issue 16's note).
DEFAULT_MAXITER = 100
NETWORK_POLISH_MAXITER = 3


@dataclass
class OptimizerSettings:
    """Settings for continuous ``optimize_acqf`` (shared by all proposers).

    ``maxiter=None`` lets each method use its own default (:data:`DEFAULT_MAXITER`; NAP and
    NP-EI: :data:`NETWORK_POLISH_MAXITER`); a number applies to every method.
    """

    num_restarts: int = 8
    raw_samples: int = 256
    maxiter: int | None = None


def _unevaluated(candidates: Tensor, train_X: Tensor) -> Tensor:
    """The ``candidates`` rows that are not exactly a row of ``train_X``."""
    return candidates[unevaluated_mask(candidates, train_X)]


#: Odd 64-bit multipliers, one per column, for the row hash of :func:`unevaluated_mask`.
_ROW_HASH_SEED = 0x5851F42D4C957F2D


def unevaluated_mask(candidates: Tensor, train_X: Tensor) -> Tensor:
    """``N`` booleans: True where a ``N x d`` candidate row equals no ``n x d`` row of
    ``train_X`` (exact equality, in ``train_X``'s dtype).

    Rows are hashed from their bit patterns and matched with ``torch.isin`` in ``O((N + n)
    log n)``; only the candidates whose hash matches are compared exactly. A broadcast compare
    is ``O(N n d)`` and costs more than scoring a pool once histories reach a few hundred
    points, and a Python set of row tuples spends most of a millisecond on ``tolist``.
    """
    N, n = candidates.shape[0], train_X.shape[0]
    if n == 0 or N == 0:
        return torch.ones(N, dtype=torch.bool, device=candidates.device)
    cand = candidates.to(train_X)
    as_int = {8: torch.int64, 4: torch.int32, 2: torch.int16}.get(cand.element_size())
    if as_int is None or not cand.is_floating_point():
        return ~(cand.unsqueeze(1) == train_X.unsqueeze(0)).all(-1).any(-1)
    d = cand.shape[-1]
    mult = torch.arange(1, d + 1, dtype=torch.int64, device=cand.device) * _ROW_HASH_SEED | 1

    def row_hash(rows: Tensor) -> Tensor:
        # + 0.0 maps -0.0 to 0.0, which compare equal but differ in bits. int64 products wrap.
        return ((rows + 0.0).contiguous().view(as_int).to(torch.int64) * mult).sum(-1)

    maybe = torch.isin(row_hash(cand), row_hash(train_X))
    if maybe.any():
        idx = maybe.nonzero().squeeze(-1)
        maybe[idx] = (cand[idx].unsqueeze(1) == train_X.unsqueeze(0)).all(-1).any(-1)
    return ~maybe


def _fitted_log_ei(gp, Y: Tensor) -> LogExpectedImprovement:
    """Fit ``gp`` by marginal likelihood; LogEI over the best observed ``Y`` (maximised)."""
    with warnings.catch_warnings():
        # Tiny or degenerate histories make the fit warn; BoTorch retries internally.
        warnings.simplefilter("ignore")
        fit_gpytorch_mll(ExactMarginalLogLikelihood(gp.likelihood, gp))
    return LogExpectedImprovement(gp, best_f=Y.max())


def _decision_args(
    near_incumbent: int, near_sigma: float, screened_ascent: int
) -> tuple[int, float, int]:
    """A network proposer's checked decision settings (see :class:`NPEI`)."""
    if near_incumbent < 0:
        raise ValueError(f"near_incumbent must be >= 0, got {near_incumbent}")
    if near_sigma <= 0:
        raise ValueError(f"near_sigma must be > 0, got {near_sigma}")
    if screened_ascent < 0:
        raise ValueError(f"screened_ascent must be >= 0, got {screened_ascent}")
    return int(near_incumbent), float(near_sigma), int(screened_ascent)


class Proposer:
    """Base class: subclasses build an acquisition function and inherit the optimisation."""

    name = "proposer"
    default_maxiter = DEFAULT_MAXITER
    #: Raw samples added next to the best observed point in continuous decisions (0: none);
    #: see :mod:`botorch_nap.acquisition.initial_conditions`.
    near_incumbent = 0
    near_sigma = DEFAULT_NEAR_SIGMA
    #: Continuous decisions refine their starts by this many iterations of screened gradient
    #: ascent (:func:`~botorch_nap.acquisition.screened_ascent.gen_candidates_screened_ascent`)
    #: instead of L-BFGS-B, unless the settings give a ``maxiter`` (0: L-BFGS-B always).
    screened_ascent = 0

    def __init__(
        self,
        maximize: bool = True,
        settings: OptimizerSettings | None = None,
        cat_dims: dict[int, int] | None = None,
    ) -> None:
        self.maximize = maximize
        self.settings = settings or OptimizerSettings()
        #: ``{dim: number of choices}`` of categorical parameters: off-pool decisions then go
        #: through ``optimize_acqf_mixed_alternating`` (codes stay codes), not ``optimize_acqf``.
        self.cat_dims = dict(cat_dims or {})

    def acquisition(
        self, train_X: Tensor, train_Y: Tensor, bounds: Tensor, pool: bool = False
    ) -> AcquisitionFunction:
        """The acquisition function for this history (``pool``: it will score a finite set)."""
        raise NotImplementedError  # pragma: no cover - abstract

    def _starts(
        self, acqf: AcquisitionFunction, train_X: Tensor, train_Y: Tensor, bounds: Tensor
    ) -> dict:
        """``optimize_acqf``'s keyword for its starting points: BoTorch's raw samples, or
        starts screened among raw samples and points next to the incumbent."""
        if not self.near_incumbent:
            return {"raw_samples": self.settings.raw_samples}
        return self._near_starts(acqf, train_X, train_Y, bounds)

    def _near_starts(
        self, acqf: AcquisitionFunction, train_X: Tensor, train_Y: Tensor, bounds: Tensor
    ) -> dict:
        starts = gen_initial_conditions_near_incumbent(
            acqf,
            bounds,
            train_X,
            train_Y,
            self.settings.num_restarts,
            self.settings.raw_samples,
            n_near=self.near_incumbent,
            sigma=self.near_sigma,
            maximize=self.maximize,
        )
        # Given starts, BoTorch never retries a failed polish; it would only warn that so.
        return {"batch_initial_conditions": starts, "retry_on_optimization_warning": False}

    def propose(
        self, train_X: Tensor, train_Y: Tensor, bounds: Tensor, candidates: Tensor | None = None
    ) -> Tensor:
        """Next point to evaluate, ``1 x d`` (``train_Y``: ``n x 1``; ``candidates``: ``N x d``)."""
        free = None if candidates is None else _unevaluated(candidates, train_X)
        if free is not None and free.shape[0] == 0:
            raise ValueError("every candidate has already been evaluated")
        acqf = self.acquisition(train_X, train_Y, bounds, pool=candidates is not None)
        maxiter = self.settings.maxiter or self.default_maxiter
        if candidates is None and self.cat_dims:
            x, _ = optimize_acqf_mixed_alternating(
                acqf,
                bounds=bounds.to(train_X),
                cat_dims={j: list(range(k)) for j, k in self.cat_dims.items()},
                q=1,
                num_restarts=self.settings.num_restarts,
                raw_samples=self.settings.raw_samples,
                options={"maxiter_continuous": maxiter},
            )
            return x.detach()
        if candidates is None:
            if self.screened_ascent and self.settings.maxiter is None:
                refine = {
                    "gen_candidates": gen_candidates_screened_ascent,
                    "options": {"iterations": self.screened_ascent},
                }
            else:
                refine = {"options": {"maxiter": maxiter}}
            x, _ = optimize_acqf(
                acqf,
                bounds=bounds.to(train_X),
                q=1,
                num_restarts=self.settings.num_restarts,
                **refine,
                **self._starts(acqf, train_X, train_Y, bounds),
            )
            return x.detach()
        # Observed points are already removed (what X_avoid would do a second time).
        x, _ = optimize_acqf_discrete(acqf, q=1, choices=free.to(train_X), unique=True)
        return x.detach()


class GPEI(Proposer):
    """BoTorch GP-EI: ``SingleTaskGP`` + ``fit_gpytorch_mll`` + ``LogExpectedImprovement``."""

    name = "gp-ei"

    def acquisition(
        self, train_X: Tensor, train_Y: Tensor, bounds: Tensor, pool: bool = False
    ) -> AcquisitionFunction:
        Y = train_Y if self.maximize else -train_Y
        gp = SingleTaskGP(
            train_X, Y, input_transform=Normalize(train_X.shape[-1], bounds=bounds.to(train_X))
        )
        return _fitted_log_ei(gp, Y)


class GPEIMixed(GPEI):
    """GP-EI for categorical parameters: BoTorch's ``MixedSingleTaskGP`` (a categorical kernel
    on ``cat_dims``, which only asks whether two codes are equal, times a Matern kernel on the
    other dims) + ``fit_gpytorch_mll`` + ``LogExpectedImprovement``.

    Args:
        cat_dims: ``{dim: number of choices}`` of the categorical dims (codes ``0..k-1``).
    """

    name = "gp-ei-mixed"

    def __init__(self, cat_dims: dict[int, int], **kwargs) -> None:
        super().__init__(cat_dims=cat_dims, **kwargs)
        if not self.cat_dims:
            raise ValueError("GPEIMixed needs at least one categorical dim (else use GPEI)")

    def acquisition(
        self, train_X: Tensor, train_Y: Tensor, bounds: Tensor, pool: bool = False
    ) -> AcquisitionFunction:
        Y = train_Y if self.maximize else -train_Y
        d = train_X.shape[-1]
        numeric = [j for j in range(d) if j not in self.cat_dims]
        cat = sorted(self.cat_dims)
        # Codes stay codes for the categorical kernel; only numerical dims are scaled.
        tf = Normalize(d, bounds=bounds.to(train_X), indices=numeric) if numeric else None
        gp = MixedSingleTaskGP(train_X, Y, cat_dims=cat, input_transform=tf)
        return _fitted_log_ei(gp, Y)


class NPEI(Proposer):
    """NP-EI: exact (log) expected improvement over the network's bar posterior.

    Args:
        network: the NP network (its bar head is used).
        repeat_radius: see :class:`NPExpectedImprovement`.
        near_incumbent: continuous decisions also screen this many Gaussian perturbations
            (std ``near_sigma`` of each bound's range) of the best observed point. Off by
            default: it helps on GP-prior and synthetic functions and hurts on lcbench with the
            short polish (README, "Starts next to the incumbent"); 64 is the measured setting.
        screened_ascent: continuous decisions refine their starts by this many iterations
            of gradient ascent with a screened line search instead of the short L-BFGS-B
            polish (0: the polish; an explicit ``settings.maxiter`` also selects it). See
            :mod:`botorch_nap.acquisition.screened_ascent`.
        compile: continuous decisions backpropagate through ``torch.compile``
            (``NPExpectedImprovement(compile=True)``): the same values, a one-off compile
            per process, then about half the time per polish evaluation.
    """

    name = "np-ei"
    default_maxiter = NETWORK_POLISH_MAXITER

    def __init__(
        self,
        network: NAPTransformer,
        repeat_radius: float = DEFAULT_REPEAT_RADIUS,
        near_incumbent: int = 0,
        near_sigma: float = DEFAULT_NEAR_SIGMA,
        screened_ascent: int = 0,
        compile: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.network = network
        self.compile = bool(compile)
        self.repeat_radius = repeat_radius
        self.near_incumbent, self.near_sigma, self.screened_ascent = _decision_args(
            near_incumbent, near_sigma, screened_ascent
        )

    def acquisition(
        self, train_X: Tensor, train_Y: Tensor, bounds: Tensor, pool: bool = False
    ) -> AcquisitionFunction:
        # Pools need no gradients: float32 scores them at half the cost.
        return NPExpectedImprovement.from_network(
            self.network,
            train_X,
            train_Y,
            bounds,
            maximize=self.maximize,
            dtype=torch.float32 if pool else None,
            repeat_radius=self.repeat_radius,
            compile=self.compile and not pool,
        )


class NAP(Proposer):
    """NAP: the network's acquisition head scores candidates directly.

    Args:
        network: the NAP network.
        budget: planned number of evaluations (see :class:`NAPAcquisition`).
        repeat_radius: see :class:`NAPAcquisition`.
        near_incumbent: continuous decisions also screen this many Gaussian perturbations
            (std ``near_sigma`` of each bound's range) of the best observed point. Off by
            default: it helps on GP-prior and synthetic functions and hurts on lcbench with the
            short polish (README, "Starts next to the incumbent"); 64 is the measured setting.
        screened_ascent: continuous decisions refine their starts by this many iterations
            of gradient ascent with a screened line search instead of the short L-BFGS-B
            polish (0: the polish; an explicit ``settings.maxiter`` also selects it). See
            :mod:`botorch_nap.acquisition.screened_ascent`.
        compile: continuous decisions backpropagate through ``torch.compile``
            (``NAPAcquisition(compile=True)``): the same values, a one-off compile per
            process, then about half the time per polish evaluation.
    """

    name = "nap"
    default_maxiter = NETWORK_POLISH_MAXITER

    def __init__(
        self,
        network: NAPTransformer,
        budget: int | None = None,
        repeat_radius: float = DEFAULT_REPEAT_RADIUS,
        near_incumbent: int = 0,
        near_sigma: float = DEFAULT_NEAR_SIGMA,
        screened_ascent: int = 0,
        compile: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.network = network
        self.budget = budget
        self.compile = bool(compile)
        self.repeat_radius = repeat_radius
        self.near_incumbent, self.near_sigma, self.screened_ascent = _decision_args(
            near_incumbent, near_sigma, screened_ascent
        )

    def acquisition(
        self, train_X: Tensor, train_Y: Tensor, bounds: Tensor, pool: bool = False
    ) -> AcquisitionFunction:
        return NAPAcquisition(
            self.network,
            train_X,
            train_Y,
            bounds,
            maximize=self.maximize,
            budget=self.budget,
            dtype=torch.float32 if pool else None,
            repeat_radius=self.repeat_radius,
            compile=self.compile and not pool,
        )


class RandomSearch(Proposer):
    """Uniform random search (in the box, or over unevaluated pool points)."""

    name = "random"

    def __init__(self, generator: torch.Generator | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.generator = generator

    def propose(
        self, train_X: Tensor, train_Y: Tensor, bounds: Tensor, candidates: Tensor | None = None
    ) -> Tensor:
        if candidates is None:
            u = torch.rand(1, bounds.shape[-1], generator=self.generator, dtype=torch.float64)
            b = bounds.to(torch.float64)
            return (b[0] + u * (b[1] - b[0])).to(train_X)
        free = _unevaluated(candidates, train_X)
        if free.shape[0] == 0:
            raise ValueError("every candidate has already been evaluated")
        i = torch.randint(free.shape[0], (1,), generator=self.generator)
        return free[i].to(train_X)

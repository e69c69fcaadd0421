"""EI under the exact GP that generated a GP-prior function, and under the prior's Bayesian
posterior: what a network that had learnt its prior perfectly would choose, run as a search
(an experiment of issue 12).

``gp-ei-oracle``: BoTorch's ``SingleTaskGP`` with the function's own kernel fixed (RBF, its
true lengthscales from :class:`~botorch_nap.tasks.gp_prior.GPPriorFamily`, unit outputscale,
zero mean, no outcome transform, noise 1e-6: the benchmark's GP-prior functions are
noise-free), not fitted; ``LogExpectedImprovement`` over the best observed value and GP-EI's
optimiser settings. Only for the ``gp_prior`` family (RBF kernel).

``gp-ei-bayes:<lo>-<hi>``: the lengthscales are not known but drawn, per dim, uniformly in
``[lo, hi]`` (a network's training prior, e.g. ``0.1-1.0`` for the shipped ``gp_prior``); the
posterior is the mixture of exact GPs (unit variance, zero mean, noise-free) over
``BAYES_DRAWS`` such draws weighted by their marginal likelihoods (importance sampling from the
prior; the ``BAYES_KEEP`` heaviest are kept, renormalised), and the acquisition is the
mixture's log-EI. That is the Bayes-optimal myopic EI of a network trained on noise-free
functions of that prior: the ceiling that more training can approach.

The networks approximate the Bayesian posterior under their prior; GP-EI plugs in lengthscales
fitted by marginal likelihood.

    PYTHONPATH=benchmarks botorch-nap benchmark --plugin oracle_gp --family gp_prior \\
        --family-kw dim=3 --split val --methods gp-ei-oracle,gp-ei-bayes:0.1-1.0,gp-ei ...
"""

from __future__ import annotations

import torch
from botorch.acquisition import AcquisitionFunction, LogExpectedImprovement
from botorch.acquisition.analytic import _log_ei_helper
from botorch.models import SingleTaskGP
from botorch.models.transforms import Normalize
from botorch.utils.transforms import t_batch_mode_transform
from gpytorch.kernels import RBFKernel, ScaleKernel
from torch import Tensor

from botorch_nap.baselines import GPEI
from botorch_nap.benchmark.methods import MethodContext, register_method
from botorch_nap.tasks.gp_prior import GPPriorFamily

ORACLE_NOISE_VAR = 1e-6
BAYES_DRAWS = 2048
BAYES_KEEP = 128


class OracleGPEI(GPEI):
    """LogEI under a GP with fixed RBF lengthscales ``lengthscales`` (``d``), unit variance."""

    name = "gp-ei-oracle"

    def __init__(self, lengthscales: Tensor, **kwargs) -> None:
        super().__init__(**kwargs)
        self.lengthscales = lengthscales.to(torch.float64)

    def acquisition(
        self, train_X: Tensor, train_Y: Tensor, bounds: Tensor, pool: bool = False
    ) -> AcquisitionFunction:
        Y = train_Y if self.maximize else -train_Y
        d = train_X.shape[-1]
        kernel = ScaleKernel(RBFKernel(ard_num_dims=d)).to(train_X)
        kernel.base_kernel.lengthscale = self.lengthscales.to(train_X).view(1, d)
        kernel.outputscale = torch.tensor(1.0).to(train_X)
        gp = SingleTaskGP(
            train_X,
            Y,
            train_Yvar=torch.full_like(Y, ORACLE_NOISE_VAR),
            covar_module=kernel,
            outcome_transform=None,
            input_transform=Normalize(d, bounds=bounds.to(train_X)),
        )
        gp.eval()  # zero mean (ConstantMean starts at 0), nothing fitted
        return LogExpectedImprovement(gp, best_f=Y.max())


def _rbf(a: Tensor, b: Tensor, ls: Tensor) -> Tensor:
    """RBF kernels of unit variance, one per lengthscale row: ``a`` ``n x d``, ``b`` ``m x d``,
    ``ls`` ``K x d`` -> ``K x n x m``."""
    A, B = a.unsqueeze(0) / ls.unsqueeze(1), b.unsqueeze(0) / ls.unsqueeze(1)
    return torch.exp(-0.5 * (A.unsqueeze(-2) - B.unsqueeze(-3)).pow(2).sum(-1))


class LengthscaleMixture:
    """A weighted mixture of exact zero-mean GPs (RBF, unit variance, noise-free), one per row
    of ``lengthscales`` (``K x d``, log-weights ``log_w``), conditioned on ``U`` (``n x d``)
    and ``y`` (``n``)."""

    def __init__(
        self, U: Tensor, y: Tensor, lengthscales: Tensor, log_w: Tensor, L: Tensor | None = None
    ) -> None:
        n = U.shape[0]
        if L is None:  # else the kernels' Cholesky factors, already computed by the caller
            K = _rbf(U, U, lengthscales) + ORACLE_NOISE_VAR * torch.eye(n, dtype=U.dtype)
            L = torch.linalg.cholesky(K)
        self.L = L  # K x n x n
        self.alpha = torch.cholesky_solve(y.view(1, n, 1).expand(len(L), n, 1), L)
        self.U, self.ls, self.log_w = U, lengthscales, log_w

    @classmethod
    def from_prior(
        cls, U: Tensor, y: Tensor, lo: float, hi: float, generator: torch.Generator
    ) -> LengthscaleMixture:
        """The Bayesian posterior of a prior with lengthscales uniform in ``[lo, hi]`` per dim:
        ``BAYES_DRAWS`` draws weighted by their marginal likelihoods, the ``BAYES_KEEP``
        heaviest kept and renormalised."""
        n, d = U.shape
        ls = lo + (hi - lo) * torch.rand(BAYES_DRAWS, d, generator=generator, dtype=U.dtype)
        L = torch.linalg.cholesky(_rbf(U, U, ls) + ORACLE_NOISE_VAR * torch.eye(n, dtype=U.dtype))
        z = torch.linalg.solve_triangular(L, y.view(1, n, 1).expand(len(ls), n, 1), upper=False)
        log_ml = -0.5 * z.pow(2).sum((-1, -2)) - L.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        keep = log_ml.topk(min(BAYES_KEEP, len(ls))).indices
        return cls(U, y, ls[keep], torch.log_softmax(log_ml[keep], 0), L[keep])

    def predict(self, u: Tensor) -> tuple[Tensor, Tensor]:
        """Each component's posterior mean and std of ``f`` at ``u`` (``m x d``): ``K x m``."""
        k = _rbf(u, self.U, self.ls)  # K x m x n
        mean = (k @ self.alpha).squeeze(-1)
        v = torch.linalg.solve_triangular(self.L, k.transpose(-1, -2), upper=False)
        return mean, (1.0 - v.pow(2).sum(-2)).clamp_min(1e-12).sqrt()


class MixtureLogEI(AcquisitionFunction):
    """Log-EI over ``best`` of a :class:`LengthscaleMixture` (unit-cube inputs; ``bounds``
    maps candidates there)."""

    def __init__(self, mixture: LengthscaleMixture, best: Tensor, bounds: Tensor) -> None:
        super().__init__(model=None)
        self.mixture, self.best = mixture, best
        self.lo, self.width = bounds[0], bounds[1] - bounds[0]

    @t_batch_mode_transform(expected_q=1)
    def forward(self, X: Tensor) -> Tensor:
        u = ((X[..., 0, :] - self.lo) / self.width).reshape(-1, X.shape[-1])  # b x d
        mean, sd = self.mixture.predict(u)  # K x b
        log_ei = _log_ei_helper((mean - self.best) / sd) + sd.log()
        out = torch.logsumexp(self.mixture.log_w.view(-1, 1) + log_ei, dim=0)
        return out.reshape(X.shape[:-2])


class BayesGPEI(GPEI):
    """Log-EI of the Bayesian posterior over RBF lengthscales uniform in ``[lo, hi]`` per dim
    (importance sampling from that prior; module docstring)."""

    name = "gp-ei-bayes"

    def __init__(self, lo: float, hi: float, seed: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        if not 0 < lo <= hi:
            raise ValueError(f"gp-ei-bayes: need 0 < lo <= hi, got {lo}-{hi}")
        self.lo, self.hi = float(lo), float(hi)
        self.generator = torch.Generator().manual_seed(seed)

    def acquisition(
        self, train_X: Tensor, train_Y: Tensor, bounds: Tensor, pool: bool = False
    ) -> AcquisitionFunction:
        Y = (train_Y if self.maximize else -train_Y).squeeze(-1).to(torch.float64)
        b = bounds.to(torch.float64)
        U = (train_X.to(torch.float64) - b[0]) / (b[1] - b[0])
        mixture = LengthscaleMixture.from_prior(U, Y, self.lo, self.hi, self.generator)
        return MixtureLogEI(mixture, Y.max(), b)


def _make(arg: str | None, ctx: MethodContext) -> OracleGPEI:
    fam = ctx.family
    if not isinstance(fam, GPPriorFamily) or fam.kernel != "rbf":
        raise ValueError("gp-ei-oracle: only for the gp_prior family with its RBF kernel")
    task_id = int(ctx.task.name.rsplit("/", 1)[-1])
    lengthscales = fam._prior_params(task_id)[3]
    return OracleGPEI(lengthscales, settings=ctx.settings)


def _make_bayes(arg: str | None, ctx: MethodContext) -> BayesGPEI:
    lo, _, hi = (arg or "0.1-1.0").partition("-")
    return BayesGPEI(float(lo), float(hi), seed=ctx.seed, settings=ctx.settings)


register_method(
    "gp-ei-oracle", _make, "LogEI under the exact GP of a gp_prior function (true lengthscales)"
)
register_method(
    "gp-ei-bayes",
    _make_bayes,
    "LogEI under the posterior over RBF lengthscales uniform in <lo>-<hi> (default 0.1-1.0)",
)

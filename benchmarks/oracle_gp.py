"""EI under the exact GP that generated a GP-prior function: what a network that had learnt its
prior perfectly would choose, run as a search (an experiment of issue 12).

``gp-ei-oracle``: BoTorch's ``SingleTaskGP`` with the function's own kernel fixed (RBF, its
true lengthscales from :class:`~botorch_nap.tasks.gp_prior.GPPriorFamily`, unit outputscale,
zero mean, no outcome transform, noise 1e-6: the benchmark's GP-prior functions are
noise-free), not fitted; ``LogExpectedImprovement`` over the best observed value and GP-EI's
optimiser settings. Only for the ``gp_prior`` family (RBF kernel).

The networks approximate the Bayesian posterior under the prior (lengthscales unknown, drawn
from their range); GP-EI plugs in lengthscales fitted by marginal likelihood. If GP-EI beats
this oracle too, its lead over the networks is not a modelling lead.

    PYTHONPATH=benchmarks botorch-nap benchmark --plugin oracle_gp --family gp_prior \\
        --family-kw dim=3 --split val --methods gp-ei-oracle,gp-ei ...
"""

from __future__ import annotations

import torch
from botorch.acquisition import AcquisitionFunction, LogExpectedImprovement
from botorch.models import SingleTaskGP
from botorch.models.transforms import Normalize
from gpytorch.kernels import RBFKernel, ScaleKernel
from torch import Tensor

from botorch_nap.baselines import GPEI
from botorch_nap.benchmark.methods import MethodContext, register_method
from botorch_nap.tasks.gp_prior import GPPriorFamily

ORACLE_NOISE_VAR = 1e-6


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


def _make(arg: str | None, ctx: MethodContext) -> OracleGPEI:
    fam = ctx.family
    if not isinstance(fam, GPPriorFamily) or fam.kernel != "rbf":
        raise ValueError("gp-ei-oracle: only for the gp_prior family with its RBF kernel")
    task_id = int(ctx.task.name.rsplit("/", 1)[-1])
    lengthscales = fam._prior_params(task_id)[3]
    return OracleGPEI(lengthscales, settings=ctx.settings)


register_method(
    "gp-ei-oracle", _make, "LogEI under the exact GP of a gp_prior function (true lengthscales)"
)

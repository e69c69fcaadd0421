"""Estimating a task's maximum (or minimum): dense sampling plus local optimisation.

Method (used for GP-prior tasks, shifted synthetic functions and YAHPO surrogates):

1. evaluate ``n_dense`` scrambled-Sobol points (discrete dims rounded) and keep the best
   ``n_starts``;
2. run a batched (1+m) evolution strategy from each start: each round proposes ``m``
   Gaussian perturbations of every start's continuous dims (step ``sigma`` in unit-cube
   units, shrinking geometrically from ``sigma0`` to ``sigma_min``), re-draws each discrete
   dim with probability ``p_discrete``, and keeps a proposal if it improves. Needs only
   function values, so it works for ONNX surrogates and mixed spaces;
3. if ``differentiable``, polish the best continuous points with L-BFGS-B (torch autograd
   gradients, discrete dims held fixed).

The estimate is the best value seen anywhere; it is a lower bound on the true maximum.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from scipy.optimize import minimize
from torch import Tensor
from torch.quasirandom import SobolEngine

from botorch_nap.tasks.base import SearchSpace


def estimate_max(
    fn: Callable[[Tensor], Tensor],
    space: SearchSpace,
    n_dense: int = 8192,
    n_starts: int = 16,
    n_rounds: int = 60,
    n_proposals: int = 32,
    sigma0: float = 0.1,
    sigma_min: float = 1e-3,
    p_discrete: float = 0.1,
    differentiable: bool = False,
    seed: int = 0,
    chunk: int = 65536,
) -> tuple[float, Tensor]:
    """Estimate ``max fn`` over ``space``.

    Args:
        fn: ``n x d`` float64 points (search-space coords) -> ``n`` values.
        space: the search space.
        differentiable: ``fn`` supports autograd; enables the L-BFGS-B polish.
        seed: seeds the Sobol scramble and the proposals, so estimates are reproducible.

    Returns:
        ``(best value, best point of shape d)``.
    """
    gen = torch.Generator().manual_seed(seed)
    d = space.dim
    lo, hi = space.bounds[0], space.bounds[1]
    width = hi - lo

    def f(X: Tensor) -> Tensor:
        with torch.no_grad():
            return torch.cat([fn(c) for c in X.split(chunk)]).to(torch.float64)

    sobol = SobolEngine(d, scramble=True, seed=seed).draw(n_dense, dtype=torch.float64)
    X = space.round(lo + sobol * width)
    y = f(X)
    top = y.topk(min(n_starts, len(y))).indices
    X, y = X[top].clone(), y[top].clone()

    cont = torch.tensor(space.continuous_dims, dtype=torch.long)
    discrete = sorted(set(space.integer_dims) | set(space.categorical_dims))
    decay = (sigma_min / sigma0) ** (1.0 / max(n_rounds - 1, 1))
    sigma = sigma0
    k = X.shape[0]
    for _ in range(n_rounds):
        P = X.unsqueeze(1).repeat(1, n_proposals, 1)
        if len(cont):
            step = torch.randn(k, n_proposals, len(cont), generator=gen, dtype=torch.float64)
            P[..., cont] += sigma * step * width[cont]
        if discrete:
            R = space.sample_uniform(k, n_proposals, generator=gen)
            flip = torch.rand(k, n_proposals, len(discrete), generator=gen) < p_discrete
            P[..., discrete] = torch.where(flip, R[..., discrete], P[..., discrete])
        P = space.round(P)
        yP = f(P.reshape(-1, d)).reshape(k, n_proposals)
        best, arg = yP.max(dim=1)
        better = best > y
        X[better] = P[better, arg[better]]
        y = torch.where(better, best, y)
        sigma *= decay

    if differentiable and len(cont):
        X, y = _polish(fn, space, X, y, cont)
    i = int(y.argmax())
    return float(y[i]), X[i].clone()


def _polish(
    fn: Callable[[Tensor], Tensor], space: SearchSpace, X: Tensor, y: Tensor, cont: Tensor
) -> tuple[Tensor, Tensor]:
    """L-BFGS-B on the continuous dims of all starts at once (their sum is separable)."""
    base = X.clone()
    lo, hi = space.bounds[0, cont], space.bounds[1, cont]
    k, c = X.shape[0], len(cont)

    def obj(z: np.ndarray) -> tuple[float, np.ndarray]:
        Z = torch.tensor(z, dtype=torch.float64).reshape(k, c).requires_grad_(True)
        Xf = base.clone()
        Xf[:, cont] = Z
        val = -fn(Xf).sum()
        (g,) = torch.autograd.grad(val, Z)
        return val.item(), g.reshape(-1).numpy()

    z0 = X[:, cont].reshape(-1).numpy()
    bnds = list(zip(lo.repeat(k).tolist(), hi.repeat(k).tolist()))
    res = minimize(obj, z0, jac=True, method="L-BFGS-B", bounds=bnds, options={"maxiter": 200})
    Xn = base.clone()
    Xn[:, cont] = torch.tensor(res.x, dtype=torch.float64).reshape(k, c).clamp(lo, hi)
    with torch.no_grad():
        yn = fn(Xn).to(torch.float64)
    better = yn > y
    return torch.where(better.unsqueeze(-1), Xn, X), torch.where(better, yn, y)

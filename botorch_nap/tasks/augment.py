"""Task augmentation for families with few meta-training tasks (as the NAP paper's code does
for HPO data).

:class:`AugmentedFamily` wraps any family (pool or continuous). For its training split it
fits one BoTorch GP per meta-train task (on at most ``n_fit`` points: a random subsample of
a pool, or uniform points of a continuous family), and every training batch is made of
*fresh* tasks: one joint sample of a GP posterior at jittered inputs. Inputs are the source
task's points (``n_points`` pool rows drawn without replacement, or uniform points), with
continuous dims perturbed by ``N(0, jitter^2)`` in unit-cube units and clipped to the bounds;
integer and categorical dims are kept. With probability ``prior_mix`` a batch element is
instead a GP-prior function (:mod:`botorch_nap.tasks.gp_prior`) of the same dimension, at
uniform inputs. Validation and test batches, and ``task()``/``tasks()``, are the base
family's, unaugmented.

GP fits are cached as ``torch.save`` files of plain tensors (``train_X``, ``train_Y`` and the
model's ``state_dict``; loaded with ``weights_only=True``, no pickled objects) under
``cache_dir/<family>/<task>-<key>.pt``, where ``key`` hashes the fitting settings, so that
training runs do not refit them. GPs: ``SingleTaskGP`` (``MixedSingleTaskGP`` when the space
has categorical dims) on unit-cube inputs with a ``Standardize`` outcome transform, so
samples come back in the source task's units.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from botorch.fit import fit_gpytorch_mll
from botorch.models import MixedSingleTaskGP, SingleTaskGP
from botorch.models.transforms.outcome import Standardize
from gpytorch.mlls import ExactMarginalLogLikelihood
from torch import Tensor

from botorch_nap.tasks.base import Task, TaskFamily, check_split
from botorch_nap.tasks.gp_prior import rff_eval, sample_rff_params

CACHE_ENV_VAR = "BOTORCH_NAP_CACHE"
_FORMAT_VERSION = 1


def default_cache_dir() -> Path:
    """``$BOTORCH_NAP_CACHE/gp_fits``, else ``~/.cache/botorch_nap/gp_fits``."""
    root = os.environ.get(CACHE_ENV_VAR)
    return (Path(root) if root else Path.home() / ".cache" / "botorch_nap") / "gp_fits"


def _make_gp(train_X: Tensor, train_Y: Tensor, cat_dims: list[int]):
    if cat_dims:
        return MixedSingleTaskGP(
            train_X, train_Y, cat_dims=cat_dims, outcome_transform=Standardize(m=1)
        )
    return SingleTaskGP(train_X, train_Y, outcome_transform=Standardize(m=1))


class AugmentedFamily(TaskFamily):
    """GP-posterior task augmentation around a base family (see module docstring).

    Args:
        base: the family to augment.
        n_fit: max points per GP fit.
        jitter: std of the input perturbation of continuous dims, in unit-cube units.
        prior_mix: probability that a training batch element is a GP-prior sample instead.
        prior_kwargs: options for the prior samples (``kernel``, ``lengthscale_range``,
            ``n_features``, ``ard``), as in :class:`~botorch_nap.tasks.gp_prior.GPPriorFamily`.
        cache_dir: where fitted GPs are stored (``None``: :func:`default_cache_dir`;
            ``False``: no caching).
        fit_seed: seed of the fitting subsample.
    """

    def __init__(
        self,
        base: TaskFamily,
        n_fit: int = 300,
        jitter: float = 0.02,
        prior_mix: float = 0.0,
        prior_kwargs: dict | None = None,
        cache_dir: str | os.PathLike | None | bool = None,
        fit_seed: int = 0,
    ) -> None:
        self.base = base
        self.name = f"{base.name}+aug"
        self.space = base.space
        self.is_pool = base.is_pool
        self.n_fit, self.jitter, self.prior_mix = int(n_fit), float(jitter), float(prior_mix)
        self.prior_kwargs = {
            "kernel": "matern52",
            "lengthscale_range": (0.1, 0.6),
            "n_features": 512,
            "ard": True,
            **(prior_kwargs or {}),
        }
        self.cache_dir = None if cache_dir is False else Path(cache_dir or default_cache_dir())
        self.fit_seed = int(fit_seed)
        self._models: dict = {}
        self._pred: dict = {}

    # ------------------------------------------------------------ delegation
    def split_ids(self, split: str) -> list:
        return self.base.split_ids(split)

    def task(self, task_id) -> Task:
        return self.base.task(task_id)

    # ---------------------------------------------------------------- fitting
    def _key(self) -> str:
        settings = {"v": _FORMAT_VERSION, "n_fit": self.n_fit, "seed": self.fit_seed}
        return hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]

    def cache_path(self, task_id) -> Path | None:
        if self.cache_dir is None:
            return None
        safe = str(task_id).replace(os.sep, "_")
        return self.cache_dir / self.base.name / f"{safe}-{self._key()}.pt"

    def _to_unit(self, X: Tensor) -> Tensor:
        lo, hi = self.space.bounds[0].to(X), self.space.bounds[1].to(X)
        return (X - lo) / (hi - lo)

    def _from_unit(self, U: Tensor) -> Tensor:
        lo, hi = self.space.bounds[0].to(U), self.space.bounds[1].to(U)
        return lo + U * (hi - lo)

    def _fit_data(self, task_id) -> tuple[Tensor, Tensor]:
        """Unit-cube ``X`` (``n x d``) and ``Y`` (``n x 1``) to fit the task's GP on."""
        task = self.base.task(task_id)
        gen = torch.Generator().manual_seed(self.fit_seed)
        if hasattr(task, "X"):
            rows = torch.randperm(len(task.X), generator=gen)[: self.n_fit]
            X, y = task.X[rows], task.y[rows]
        else:
            X = self.space.sample_uniform(self.n_fit, generator=gen)
            y = task.evaluate(X)
        return self._to_unit(X), y.unsqueeze(-1)

    def model(self, task_id):
        """The fitted GP of a training task (loaded from the cache, or fitted and stored)."""
        if task_id in self._models:
            return self._models[task_id]
        cat_dims = sorted(self.space.categorical_dims)
        path = self.cache_path(task_id)
        if path is not None and path.exists():
            blob = torch.load(path, weights_only=True)
            gp = _make_gp(blob["train_X"], blob["train_Y"], cat_dims)
            gp.load_state_dict(blob["state_dict"])
        else:
            X, Y = self._fit_data(task_id)
            gp = _make_gp(X, Y, cat_dims)
            # A GP of a few hundred points gains nothing from intra-op threads, and with
            # other busy processes (data loaders, a second run) they oversubscribe the
            # cores: measured 16 s per fit with 2 threads vs 0.7 s with 1 on 2 busy cores.
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                fit_gpytorch_mll(ExactMarginalLogLikelihood(gp.likelihood, gp))
            finally:
                torch.set_num_threads(threads)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp")
                torch.save({"train_X": X, "train_Y": Y, "state_dict": gp.state_dict()}, tmp)
                tmp.replace(path)  # atomic: concurrent runs never read half a file
        gp.eval()
        self._models[task_id] = gp
        return gp

    def prepare(self) -> None:
        """Fit (or load) every training task's GP now rather than on first use."""
        for tid in self.split_ids("train"):
            self.model(tid)

    # --------------------------------------------------------------- sampling
    def _source_inputs(self, task_id, n_points: int, generator) -> Tensor:
        """``n_points x d`` unit-cube inputs around the source task's points, jittered."""
        task = self.base.task(task_id)
        if hasattr(task, "X"):
            if n_points > len(task.X):
                raise ValueError(
                    f"{self.name}: n_points={n_points} exceeds task {task_id!r}'s pool "
                    f"({len(task.X)} rows)"
                )
            rows = torch.randperm(len(task.X), generator=generator)[:n_points]
            U = self._to_unit(task.X[rows])
        else:
            U = self._to_unit(self.space.sample_uniform(n_points, generator=generator))
        cont = self.space.continuous_dims
        if self.jitter > 0 and cont:
            noise = torch.randn(n_points, len(cont), generator=generator, dtype=U.dtype)
            U[:, cont] = (U[:, cont] + self.jitter * noise).clamp(0.0, 1.0)
        return U

    def _predictor(self, task_id) -> dict:
        """Cached pieces of the exact GP posterior of a task (kernel-agnostic): training
        inputs, Cholesky factor of ``K + noise I`` and ``alpha = (K + noise I)^-1 (y - m)``,
        all in the standardised outcome space, plus the Standardize scale."""
        if task_id not in self._pred:
            gp = self.model(task_id)
            with torch.no_grad():
                Xt = gp.train_inputs[0]
                yt = gp.train_targets  # already standardised by the outcome transform
                K = gp.covar_module(Xt).to_dense()
                noise = gp.likelihood.noise.reshape(-1)[0]
                L = torch.linalg.cholesky(K + noise * torch.eye(len(Xt), dtype=K.dtype))
                resid = (yt - gp.mean_module(Xt)).unsqueeze(-1)
                alpha = torch.cholesky_solve(resid, L)
            ot = gp.outcome_transform
            self._pred[task_id] = {
                "gp": gp,
                "Xt": Xt,
                "L": L,
                "alpha": alpha,
                "loc": ot.means.reshape(()),
                "scale": ot.stdvs.reshape(()),
            }
        return self._pred[task_id]

    def posterior_mean_cov(self, task_id, U: Tensor) -> tuple[Tensor, Tensor]:
        """Exact GP posterior of latent f at unit-cube ``U`` (``k x n x d``), in the task's
        units -> ``(mean: k x n, cov: k x n x n)``. Batched over ``k`` point sets of one task,
        which is why it bypasses ``gp.posterior`` (10x faster for batch sampling)."""
        P = self._predictor(task_id)
        gp = P["gp"]
        with torch.no_grad():
            Kux = gp.covar_module(U, P["Xt"]).to_dense()  # k x n x m
            Kuu = gp.covar_module(U).to_dense()  # k x n x n
            mean = gp.mean_module(U) + (Kux @ P["alpha"]).squeeze(-1)
            k, n, m = Kux.shape
            # One solve with k*n right-hand sides: broadcasting L over k is ~5x slower.
            V = torch.linalg.solve_triangular(P["L"], Kux.reshape(k * n, m).T, upper=False)
            V = V.T.reshape(k, n, m)
            cov = Kuu - V @ V.transpose(-1, -2)
        return P["loc"] + P["scale"] * mean, P["scale"] ** 2 * cov

    def sample_posterior(self, task_id, U: Tensor, generator=None) -> Tensor:
        """Joint samples of the task's GP posterior (latent f) at unit-cube ``U`` (``n x d``
        or ``k x n x d``) -> ``n`` or ``k x n``; drawn from ``generator`` (reproducible)."""
        squeeze = U.dim() == 2
        U = U.unsqueeze(0) if squeeze else U
        mean, cov = self.posterior_mean_cov(task_id, U)
        n = mean.shape[-1]
        eye = torch.eye(n, dtype=cov.dtype)
        scale = cov.diagonal(dim1=-2, dim2=-1).mean(-1).clamp_min(1e-12)[..., None, None]
        # Posterior covariances at nearby points are near-singular: add diagonal jitter
        # until the Cholesky factorisation succeeds.
        for eps in (1e-8, 1e-6, 1e-4, 1e-2):
            L, info = torch.linalg.cholesky_ex(cov + eps * scale * eye)
            if (info == 0).all():
                break
        z = torch.randn(mean.shape, generator=generator, dtype=cov.dtype)
        f = mean + (L @ z.unsqueeze(-1)).squeeze(-1)
        return f[0] if squeeze else f

    def _prior_sample(self, n_points: int, generator) -> tuple[Tensor, Tensor]:
        kw = self.prior_kwargs
        o, p, w = sample_rff_params(
            1,
            self.space.dim,
            kw["n_features"],
            kw["kernel"],
            kw["lengthscale_range"],
            kw["ard"],
            generator,
        )
        X = self.space.sample_uniform(n_points, generator=generator)
        y = rff_eval(self._to_unit(X).unsqueeze(0), o, p, w)[0]
        return X, y

    def sample_batch(
        self,
        b: int,
        n_points: int,
        generator: torch.Generator | None = None,
        split: str = "train",
    ) -> tuple[Tensor, Tensor]:
        """Augmented tasks for ``"train"`` (see module docstring), the base family's batches
        otherwise. Returns ``X: b x n_points x d``, ``y: b x n_points`` (float64)."""
        if check_split(split) != "train":
            return self.base.sample_batch(b, n_points, generator, split)
        ids = self.split_ids("train")
        # Decide every element's source first, then sample all elements of one task in one
        # batched posterior computation.
        is_prior = torch.rand(b, generator=generator) < self.prior_mix
        src = torch.randint(len(ids), (b,), generator=generator)
        X = torch.empty(b, n_points, self.space.dim, dtype=torch.float64)
        y = torch.empty(b, n_points, dtype=torch.float64)
        for i in is_prior.nonzero().flatten().tolist():
            X[i], y[i] = self._prior_sample(n_points, generator)
        real = ~is_prior
        for k in src[real].unique().tolist():
            rows = (real & (src == k)).nonzero().flatten()
            U = torch.stack([self._source_inputs(ids[k], n_points, generator) for _ in rows])
            X[rows] = self.space.round(self._from_unit(U))  # exact integers in discrete dims
            y[rows] = self.sample_posterior(ids[k], U, generator)
        return X, y

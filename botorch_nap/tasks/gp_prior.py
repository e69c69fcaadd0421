"""GP-prior task family: functions drawn from a stationary GP prior on ``[0, 1]^d``.

Each function is a random-Fourier-feature (RFF) approximation of a GP sample,

    f(x) = sqrt(2 / M) * sum_m w_m cos(omega_m . (x / l) + b_m),
    w_m ~ N(0, 1),  b_m ~ U[0, 2 pi),  omega_m ~ spectral density of the unit kernel,

so a function is ``M (d + 2)`` numbers and a batch of functions is evaluated with one
batched matmul. The spectral density is a standard normal for the RBF kernel and a
multivariate Student-t with ``2 nu = 5`` degrees of freedom for Matern-5/2. Lengthscales
``l`` are drawn per function (and per dim when ``ard``) uniformly in ``lengthscale_range``.

Splits: training batches are *fresh* functions from the caller's generator (an unlimited
family); ``split_ids("train")`` also names ``n_train`` fixed functions for callers that want
``Task`` objects. Validation and test tasks are fixed functions seeded by their id (ids of
different splits never overlap); their optimum and worst value are estimated once, lazily,
by dense Sobol sampling plus local optimisation (:func:`~botorch_nap.tasks.optimize.estimate_max`).

Since the family draws each function's lengthscales and noise itself, it also knows the exact
predictive distribution of any point's value given others:
:meth:`GPPriorFamily.sample_batch_with_prior` returns them beside the batch and
:func:`gp_predictive` computes it, which ``pretrain --posterior-targets`` trains on.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from botorch_nap.tasks.base import LazyExtremaTask, SearchSpace, TaskFamily, check_split
from botorch_nap.tasks.near import NearPoints
from botorch_nap.tasks.optimize import estimate_max

KERNELS = ("rbf", "matern52")


def sample_rff_params(
    b: int,
    d: int,
    n_features: int,
    kernel: str,
    lengthscale_range: tuple[float, float],
    ard: bool,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
    return_lengthscales: bool = False,
) -> tuple[Tensor, ...]:
    """Parameters of ``b`` RFF functions.

    Returns:
        ``omega``: ``b x M x d`` frequencies, already divided by the lengthscales;
        ``phase``: ``b x M``; ``weight``: ``b x M`` (includes the ``sqrt(2 / M)`` factor);
        with ``return_lengthscales``, also the lengthscales ``b x d`` (the same draws).
    """
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
    M = n_features
    omega = torch.randn(b, M, d, generator=generator, dtype=dtype)
    if kernel == "matern52":
        # Student-t(5) = z / sqrt(chi2_5 / 5); chi2_5 as a sum of 5 squared normals, so that
        # the draw is reproducible from a torch.Generator.
        chi2 = torch.randn(b, M, 5, generator=generator, dtype=dtype).pow(2).sum(-1)
        omega = omega / (chi2 / 5.0).sqrt().unsqueeze(-1)
    lo, hi = lengthscale_range
    ls = lo + (hi - lo) * torch.rand(b, 1, d if ard else 1, generator=generator, dtype=dtype)
    omega = omega / ls
    phase = 2 * math.pi * torch.rand(b, M, generator=generator, dtype=dtype)
    weight = torch.randn(b, M, generator=generator, dtype=dtype) * math.sqrt(2.0 / M)
    if return_lengthscales:
        return omega, phase, weight, ls[:, 0].expand(b, d)
    return omega, phase, weight


def rff_eval(X: Tensor, omega: Tensor, phase: Tensor, weight: Tensor) -> Tensor:
    """Evaluate ``b`` RFF functions at their own points ``X`` (``b x n x d``) -> ``b x n``."""
    feats = torch.cos(torch.baddbmm(phase.unsqueeze(1), X, omega.transpose(1, 2)))
    return (feats @ weight.unsqueeze(-1)).squeeze(-1)


class PriorBatch(NamedTuple):
    """Sampled tasks with the prior parameters that generated them: ``X`` ``b x N x d``,
    ``y`` ``b x N``, ``lengthscales`` ``b x d``, ``noise_std`` ``b`` (0: noise-free) and the
    ``kernel`` name (unit variance, zero mean).

    Multi-scale tasks (``GPPriorFamily(multiscale_frac=...)``) add a second, finer component:
    their kernel is ``(1 - a) k(l) + a k(l_fine)`` with ``fine_weight`` ``a`` (``b``; 0 for a
    single-scale task) and ``fine_lengthscales`` ``l_fine`` (``b x d``); both None when the
    family has no such tasks."""

    X: Tensor
    y: Tensor
    lengthscales: Tensor
    noise_std: Tensor
    kernel: str
    fine_lengthscales: Tensor | None = None
    fine_weight: Tensor | None = None


def kernel_matrix(X1: Tensor, X2: Tensor, lengthscales: Tensor, kernel: str) -> Tensor:
    """Unit-variance stationary kernel between ``b x n x d`` and ``b x m x d`` points with
    per-task lengthscales ``b x d`` -> ``b x n x m``."""
    ls = lengthscales.to(X1).unsqueeze(1)
    r2 = (X1.div(ls).unsqueeze(2) - X2.div(ls).unsqueeze(1)).square().sum(-1)
    if kernel == "rbf":
        return torch.exp(-0.5 * r2)
    if kernel == "matern52":
        r = (5.0 * r2).clamp_min(1e-30).sqrt()
        return (1.0 + r + r * r / 3.0) * torch.exp(-r)
    raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")


def gp_predictive(
    batch: PriorBatch, n_context: Tensor, jitter: float = 1e-6
) -> tuple[Tensor, Tensor]:
    """The exact predictive distribution of the *observed* value at every point of each
    task, given the task's first ``n_context[i]`` points, under the GP prior that generated
    the task (its own lengthscales and noise): means and variances ``b x N`` (float64).

    A neural process trained on these Gaussians instead of the sampled values
    (:func:`~botorch_nap.training.posterior.posterior_loss`) has the same optimum (the
    prior's predictive distribution, once the unknown lengthscales are averaged over by the
    training stream) and gradients of lower variance.
    """
    X, y = batch.X.double(), batch.y.double()
    b, n, _ = X.shape
    ctx = torch.arange(n, device=X.device).unsqueeze(0) < n_context.to(X.device).unsqueeze(1)
    K = kernel_matrix(X, X, batch.lengthscales, batch.kernel)
    if batch.fine_weight is not None:
        a = batch.fine_weight.to(X).view(b, 1, 1)
        K = (1.0 - a) * K + a * kernel_matrix(X, X, batch.fine_lengthscales, batch.kernel)
    noise_var = batch.noise_std.to(X).square().unsqueeze(-1) + jitter  # b x 1
    pair = ctx.unsqueeze(2) & ctx.unsqueeze(1)
    # Non-context rows and columns become an identity block, so that one batched Cholesky
    # serves tasks with different context sizes.
    diag = torch.diag_embed(torch.where(ctx, noise_var.expand(b, n), torch.ones_like(y)))
    A = torch.where(pair, K, torch.zeros_like(K)) + diag
    Kq = torch.where(ctx.unsqueeze(1), K, torch.zeros_like(K))  # b x N (query) x N (context)
    L, info = torch.linalg.cholesky_ex(A)
    if bool((info > 0).any()):
        L = torch.linalg.cholesky(A + 1e-4 * torch.eye(n, dtype=A.dtype, device=A.device))
    alpha = torch.cholesky_solve(torch.where(ctx, y, torch.zeros_like(y)).unsqueeze(-1), L)
    mean = (Kq @ alpha).squeeze(-1)
    V = torch.cholesky_solve(Kq.transpose(1, 2), L)  # b x N (context) x N (query)
    var_f = (1.0 - (Kq * V.transpose(1, 2)).sum(-1)).clamp_min(0.0)
    return mean, var_f + noise_var


class GPPriorTask(LazyExtremaTask):
    """One fixed RFF function (``omega``: ``M x d``, ``phase``, ``weight``: ``M``); its optimum
    and worst value are estimated on first access."""

    def __init__(
        self, name: str, space: SearchSpace, omega: Tensor, phase: Tensor, weight: Tensor
    ) -> None:
        super().__init__(name, space)
        self.omega, self.phase, self.weight = omega, phase, weight

    def _extrema(self) -> tuple[float, float]:
        fn, space = self._evaluate, self.space
        optimum, _ = estimate_max(fn, space, n_proposals=16, differentiable=True, seed=0)
        # The worst value only sets the scale of normalised regret: a cheaper search.
        neg_worst, _ = estimate_max(
            lambda X: -fn(X), space, n_dense=4096, n_rounds=20, n_proposals=8, seed=1
        )
        return optimum, -neg_worst

    def _evaluate(self, X: Tensor) -> Tensor:
        flat = X.reshape(1, -1, X.shape[-1])
        y = rff_eval(flat, self.omega[None], self.phase[None], self.weight[None])
        return y.reshape(X.shape[:-1])


class GPPriorFamily(TaskFamily):
    """Functions drawn from a GP prior (RBF or Matern-5/2) on ``[0, 1]^dim``.

    Args:
        dim: input dimension.
        kernel: ``"rbf"`` or ``"matern52"``.
        lengthscale_range: lengthscales are uniform in this range (unit-cube units).
        n_features: number of random Fourier features ``M``.
        ard: one lengthscale per dim (else one per function).
        noise_std: std of Gaussian noise added to sampled training values (0: noiseless).
        n_train, n_val, n_test: numbers of fixed tasks named by each split.
        seed: base seed of the fixed tasks.
        noise_std_range: if set, each training function gets its own observation-noise std,
            log-uniform in this range (a fraction ``noisy_frac`` of them; the others are
            noise-free), replacing ``noise_std``. The network can then learn to tell a known
            value (noise-free: the posterior collapses at an observed point) from a noisy one.
        noisy_frac: share of functions that are noisy when ``noise_std_range`` is set.
        near_frac: share of sampled points placed *near an earlier point of the same task*
            (Gaussian jitter of scale log-uniform in ``near_scale_range``, or an exact copy with
            probability ``copy_frac``) instead of uniformly. BO histories cluster around good
            points and continuous optimisers query next to (or on) observed points, so the
            prior must show the network what happens there; uniform points never do.
        near_scale_range: jitter scales (unit-cube units) of the near points.
        copy_frac: share of near points that are exact copies (the value is then re-drawn
            with the function's noise: for a noise-free function it equals the original).
        min_dim: if set, a *mixed-dimension* family for training variable-dimension networks
            (``NAPConfig(min_dim=...)``): each function depends only on its first ``k`` of the
            ``dim`` coordinates, ``k`` uniform in ``[min_dim, dim]`` per function, and the other
            coordinates of its sampled points are 0 (the padding the network applies to
            ``k``-dim inputs).
        multiscale_frac: share of functions that are the sum of two independent GP draws,
            ``sqrt(1 - a) g(x; l) + sqrt(a) g(x; s l)``: the usual draw plus a finer one whose
            lengthscales are the function's own times ``s`` (log-uniform in
            ``fine_scale_range``), carrying a share ``a`` of the variance (uniform in
            ``fine_weight_range``). Ripples on a smooth trend, as in Ackley or Levy: local
            slopes then say little about the trend's lengthscales, which a network that reads
            them (``NAPConfig.ard_bias``) must learn. Still a GP, with the sum kernel, so
            ``--posterior-targets`` stays exact. A fixed (validation, test) task keeps the
            plain family's draws, its fine features appended; at 0 (default) nothing changes.
        fine_scale_range, fine_weight_range: see ``multiscale_frac``.
    """

    is_pool = False

    def __init__(
        self,
        dim: int = 2,
        kernel: str = "rbf",
        lengthscale_range: tuple[float, float] = (0.1, 0.6),
        n_features: int = 512,
        ard: bool = True,
        noise_std: float = 0.0,
        n_train: int = 64,
        n_val: int = 16,
        n_test: int = 32,
        seed: int = 0,
        min_dim: int | None = None,
        noise_std_range: tuple[float, float] | None = None,
        noisy_frac: float = 0.5,
        near_frac: float = 0.0,
        near_scale_range: tuple[float, float] = (1e-4, 0.05),
        copy_frac: float = 0.2,
        multiscale_frac: float = 0.0,
        fine_scale_range: tuple[float, float] = (0.1, 0.4),
        fine_weight_range: tuple[float, float] = (0.05, 0.5),
    ) -> None:
        if min_dim is not None and not 1 <= int(min_dim) <= int(dim):
            raise ValueError(f"min_dim must be in [1, dim={dim}], got {min_dim}")
        if kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
        self.dim, self.kernel, self.n_features = int(dim), kernel, int(n_features)
        self.lengthscale_range = tuple(float(v) for v in lengthscale_range)
        self.ard, self.noise_std, self.seed = ard, float(noise_std), int(seed)
        self.min_dim = None if min_dim is None else int(min_dim)
        if noise_std_range is not None:
            lo, hi = (float(v) for v in noise_std_range)
            if not 0 < lo <= hi:
                raise ValueError(
                    f"noise_std_range must be (lo, hi) with 0 < lo <= hi, got {noise_std_range}"
                )
            noise_std_range = (lo, hi)
        if not 0.0 <= float(noisy_frac) <= 1.0:
            raise ValueError(f"noisy_frac must be in [0, 1], got {noisy_frac}")
        self.noise_std_range, self.noisy_frac = noise_std_range, float(noisy_frac)
        if not 0.0 <= float(multiscale_frac) <= 1.0:
            raise ValueError(f"multiscale_frac must be in [0, 1], got {multiscale_frac}")
        lo, hi = (float(v) for v in fine_scale_range)
        if not 0 < lo <= hi <= 1:
            raise ValueError(
                f"fine_scale_range must be (lo, hi) with 0 < lo <= hi <= 1, got {fine_scale_range}"
            )
        self.fine_scale_range = (lo, hi)
        lo, hi = (float(v) for v in fine_weight_range)
        if not 0 <= lo <= hi <= 1:
            raise ValueError(
                "fine_weight_range must be (lo, hi) with 0 <= lo <= hi <= 1, "
                f"got {fine_weight_range}"
            )
        self.multiscale_frac, self.fine_weight_range = float(multiscale_frac), (lo, hi)
        self.near = NearPoints(
            float(near_frac), tuple(float(v) for v in near_scale_range), float(copy_frac)
        )
        dims = f"{self.min_dim}-{self.dim}" if self.min_dim is not None else f"{self.dim}"
        multi = f"_multiscale{self.multiscale_frac:g}" if self.multiscale_frac > 0 else ""
        self.name = f"gp_prior_{kernel}_{dims}d{multi}"
        bounds = torch.stack([torch.zeros(self.dim), torch.ones(self.dim)]).double()
        self.space = SearchSpace(bounds, [f"x{i}" for i in range(self.dim)])
        self._ids = {
            "train": list(range(n_train)),
            "val": list(range(n_train, n_train + n_val)),
            "test": list(range(n_train + n_val, n_train + n_val + n_test)),
        }
        self._tasks: dict[int, GPPriorTask] = {}
        self._stacked: dict[str, tuple[Tensor, ...]] = {}

    def split_ids(self, split: str) -> list[int]:
        return list(self._ids[check_split(split)])

    def _params(self, task_id: int) -> tuple[Tensor, Tensor, Tensor]:
        return self._prior_params(task_id)[:3]

    def _prior_params(self, task_id: int) -> tuple[Tensor, ...]:
        """``omega``, ``phase``, ``weight``, the lengthscales (``d``), and with
        ``multiscale_frac > 0`` the fine lengthscales (``d``) and weight (scalar) of a fixed
        task."""
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + int(task_id))
        o, p, w, ls, _, fine = self._draw_params(1, gen)
        return (o[0], p[0], w[0], ls[0]) + tuple(t[0] for t in fine)

    def _draw_params(self, b: int, generator: torch.Generator | None) -> tuple:
        """``b`` functions: ``omega``, ``phase``, ``weight``, lengthscales (``b x dim``), the
        mask of active dims (:meth:`_mask_inactive`, whose frequencies are zeroed) and the
        fine component's ``(lengthscales, weight)`` (``()`` without ``multiscale_frac``)."""
        o, p, w, ls = sample_rff_params(
            b,
            self.dim,
            self.n_features,
            self.kernel,
            self.lengthscale_range,
            self.ard,
            generator,
            return_lengthscales=True,
        )
        active = self._mask_inactive(o, generator)
        if self.multiscale_frac <= 0:
            return o, p, w, ls, active, ()
        # The fine component, drawn after the rest of the function, so that a fixed task keeps
        # the plain family's draws (with the fine features appended).
        o2, p2, w2 = sample_rff_params(
            b, self.dim, self.n_features, self.kernel, (1.0, 1.0), False, generator
        )
        lo, hi = (math.log(v) for v in self.fine_scale_range)
        scale = (lo + (hi - lo) * torch.rand(b, 1, generator=generator, dtype=o.dtype)).exp()
        lo, hi = self.fine_weight_range
        a = lo + (hi - lo) * torch.rand(b, generator=generator, dtype=o.dtype)
        multi = torch.rand(b, generator=generator, dtype=o.dtype) < self.multiscale_frac
        a = torch.where(multi, a, torch.zeros_like(a))
        fine_ls = ls * scale
        o2 = o2 / fine_ls.unsqueeze(1)
        if active is not None:
            o2 = o2 * active.unsqueeze(1).to(o2)
        o = torch.cat([o, o2], dim=1)
        p = torch.cat([p, p2], dim=1)
        w = torch.cat([w * (1 - a).sqrt().unsqueeze(-1), w2 * a.sqrt().unsqueeze(-1)], dim=1)
        return o, p, w, ls, active, (fine_ls, a)

    def _mask_inactive(self, omega: Tensor, generator: torch.Generator | None) -> Tensor | None:
        """Mixed-dimension family: zero the frequencies of each function's inactive dims
        (in place); returns the ``b x dim`` mask of active dims (``None`` otherwise)."""
        if self.min_dim is None:
            return None
        b = omega.shape[0]
        k = torch.randint(self.min_dim, self.dim + 1, (b,), generator=generator)
        active = torch.arange(self.dim).unsqueeze(0) < k.unsqueeze(1)
        omega.mul_(active.unsqueeze(1).to(omega))
        return active

    def task(self, task_id: int) -> GPPriorTask:
        task_id = int(task_id)
        if task_id not in self._tasks:
            o, p, w = self._params(task_id)
            self._tasks[task_id] = GPPriorTask(f"{self.name}/{task_id}", self.space, o, p, w)
        return self._tasks[task_id]

    def sample_batch(
        self,
        b: int,
        n_points: int,
        generator: torch.Generator | None = None,
        split: str = "train",
    ) -> tuple[Tensor, Tensor]:
        """Fresh functions for ``"train"``; fixed split functions (drawn with replacement)
        otherwise. Returns ``X: b x n_points x d`` uniform in the cube, ``y: b x n_points``."""
        batch = self.sample_batch_with_prior(b, n_points, generator, split)
        return batch.X, batch.y

    def sample_batch_with_prior(
        self,
        b: int,
        n_points: int,
        generator: torch.Generator | None = None,
        split: str = "train",
    ) -> PriorBatch:
        """:meth:`sample_batch` (the same draws) with each function's lengthscales and noise
        std, for :func:`gp_predictive`."""
        check_split(split)
        if split == "train":
            o, p, w, ls, active, fine = self._draw_params(b, generator)
        else:
            if split not in self._stacked:
                params = [self._prior_params(i) for i in self._ids[split]]
                self._stacked[split] = tuple(torch.stack(t) for t in zip(*params))
            stacked = self._stacked[split]
            pick = torch.randint(len(stacked[0]), (b,), generator=generator)
            o, p, w, ls, *fine = (t[pick] for t in stacked)
            active = (o != 0).any(1) if self.min_dim is not None else None
        X = torch.rand(b, n_points, self.dim, generator=generator, dtype=torch.float64)
        X = self.near.apply(X, generator)
        if active is not None:
            X = X * active.unsqueeze(1).to(X)
        y = rff_eval(X, o, p, w)
        noise = self._noise_std(b, generator)
        if noise is not None:
            y = y + noise.unsqueeze(-1) * torch.randn(y.shape, generator=generator, dtype=y.dtype)
        else:
            noise = torch.zeros(b, dtype=torch.float64)
        return PriorBatch(X, y, ls, noise, self.kernel, *fine)

    def _noise_std(self, b: int, generator) -> Tensor | None:
        """Per-function noise std ``b`` (``None``: noise-free)."""
        if self.noise_std_range is None:
            return None if self.noise_std <= 0 else torch.full((b,), self.noise_std).double()
        lo, hi = (math.log(v) for v in self.noise_std_range)
        std = (lo + (hi - lo) * torch.rand(b, generator=generator, dtype=torch.float64)).exp()
        noisy = torch.rand(b, generator=generator, dtype=torch.float64) < self.noisy_frac
        return torch.where(noisy, std, torch.zeros_like(std))

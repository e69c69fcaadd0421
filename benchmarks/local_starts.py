"""Benchmark methods whose continuous search also starts next to the incumbent.

Late in a run GP-EI refines its incumbent with steps of 0.001-0.01 (unit cube) while the
networks never step closer than about 0.02 (README, "local steps"). One reason could be the
optimiser rather than the network: a network's decision screens 256 uniform raw samples and
polishes the best few for 3 L-BFGS iterations, so a point next to the incumbent is proposed
only if a raw sample happens to land there. BoTorch has the same idea as an option of
``optimize_acqf`` (``sample_around_best``), which needs a GP-like model; this plugin adds
the perturbed incumbents to the raw samples directly:

    PYTHONPATH=benchmarks botorch-nap benchmark --plugin local_starts \\
        --methods npeil:s0.01:k64:gp_prior ...

``npeil:s<sigma>:k<K>:<checkpoint>`` is NP-EI whose raw samples are the usual uniform ones
plus ``K`` Gaussian perturbations (std ``sigma`` of each bound's range) of the best
observed point; ``napl:...`` is NAP likewise. Everything else is the benchmark's setting
(8 restarts, 256 raw samples, the networks' short polish).
"""

from __future__ import annotations

import torch
from botorch.optim import optimize_acqf
from botorch.optim.initializers import initialize_q_batch
from botorch.utils.sampling import draw_sobol_samples
from torch import Tensor

from botorch_nap.baselines import NAP, NPEI
from botorch_nap.benchmark.methods import load_network, register_method


def local_raw_samples(
    train_X: Tensor, train_Y: Tensor, bounds: Tensor, n_uniform: int, k: int, sigma: float
) -> Tensor:
    """``(n_uniform + k) x d`` raw samples: scrambled Sobol points in ``bounds`` plus ``k``
    Gaussian perturbations of the best observed point, clamped to ``bounds``."""
    lo, hi = bounds[0], bounds[1]
    seed = int(torch.randint(0, 2**31 - 1, (1,)).item())
    uniform = draw_sobol_samples(bounds, n=n_uniform, q=1, seed=seed).squeeze(-2)
    best = train_X[train_Y.squeeze(-1).argmax()]
    near = best + sigma * (hi - lo) * torch.randn(k, train_X.shape[-1]).to(train_X)
    return torch.cat([uniform, near.clamp(lo, hi)])


class _LocalStarts:
    """Mixin: continuous decisions start from uniform and incumbent-adjacent raw samples."""

    sigma: float
    k: int

    def propose(self, train_X, train_Y, bounds, candidates=None):
        if candidates is not None or self.cat_dims:
            return super().propose(train_X, train_Y, bounds, candidates)
        bounds = bounds.to(train_X)
        acqf = self.acquisition(train_X, train_Y, bounds)
        raw = local_raw_samples(
            train_X, train_Y, bounds, self.settings.raw_samples, self.k, self.sigma
        ).unsqueeze(-2)
        with torch.no_grad():
            values = acqf(raw)
        starts = initialize_q_batch(raw, values, n=self.settings.num_restarts)[0]
        x, _ = optimize_acqf(
            acqf,
            bounds=bounds,
            q=1,
            num_restarts=self.settings.num_restarts,
            batch_initial_conditions=starts,
            options={"maxiter": self.settings.maxiter or self.default_maxiter},
        )
        return x.detach()


class LocalNPEI(_LocalStarts, NPEI):
    pass


class LocalNAP(_LocalStarts, NAP):
    pass


def _parse(arg: str) -> tuple[float, int, str]:
    s, k, ckpt = arg.split(":", 2)
    if not (s.startswith("s") and k.startswith("k") and k[1:].isdigit()):
        raise ValueError(f"expected s<sigma>:k<K>:<checkpoint>, got {arg!r}")
    return float(s[1:]), int(k[1:]), ckpt


def _npei(arg: str, ctx):
    sigma, k, ckpt = _parse(arg)
    p = LocalNPEI(load_network(ckpt, "np", ctx.family.space), settings=ctx.settings)
    p.sigma, p.k = sigma, k
    return p


def _nap(arg: str, ctx):
    sigma, k, ckpt = _parse(arg)
    net = load_network(ckpt, "nap", ctx.family.space)
    p = LocalNAP(net, budget=ctx.n_init + ctx.steps, settings=ctx.settings)
    p.sigma, p.k = sigma, k
    return p


register_method(
    "npeil", _npei, "NP-EI with raw samples at the incumbent: npeil:s<sd>:k<K>:<ckpt>", True
)
register_method("napl", _nap, "NAP with raw samples at the incumbent: napl:s<sd>:k<K>:<ckpt>", True)

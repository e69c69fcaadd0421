"""Benchmark methods that re-decide exploitative proposals in a zoomed view (an experiment
of issue 12: the networks' local steps stay longer than about 0.02 of the box; measured: no
gain, README "local steps").

``napz:z<rho>:<ckpt>`` (NAP) and ``npeiz:z<rho>:<ckpt>`` (NP-EI): the method proposes as
usual; when its proposal lies within ``rho`` (unit cube, max-norm) of the incumbent and at
least ``MIN_POINTS`` evaluated points lie in the box ``incumbent +- rho`` (clipped to the
search space), the method decides again with only those points and that box as its bounds.
The network then sees the neighbourhood at its own resolution: x rescaled by ``1 / (2 rho)``
and y standardised by the local values, whose spread is far smaller than the whole history's.
Exploratory proposals (farther than ``rho``) are kept as they are.

    PYTHONPATH=benchmarks botorch-nap benchmark --plugin local_zoom \\
        --methods npeiz:z0.1:gp_prior,np-ei:gp_prior ...
"""

from __future__ import annotations

import torch
from torch import Tensor

from botorch_nap.baselines import NAP, NPEI
from botorch_nap.benchmark.methods import load_network, register_method

#: Fewer evaluated points in the box than this: keep the global proposal.
MIN_POINTS = 4


class _Zoom:
    """Mixin for a network proposer (``NAP`` / ``NPEI``): the zoomed second decision."""

    rho: float

    def propose(
        self, train_X: Tensor, train_Y: Tensor, bounds: Tensor, candidates: Tensor | None = None
    ) -> Tensor:
        x = super().propose(train_X, train_Y, bounds, candidates)
        if candidates is not None or self.rho <= 0:
            return x
        lo, hi = bounds[0].to(train_X), bounds[1].to(train_X)
        span = hi - lo
        U, u = (train_X - lo) / span, (x - lo) / span
        y = train_Y.squeeze(-1) if self.maximize else -train_Y.squeeze(-1)
        inc = U[int(torch.argmax(y))]
        if (u[0] - inc).abs().max() > self.rho:
            return x  # an exploratory proposal: not the network's resolution problem
        box_lo, box_hi = (inc - self.rho).clamp(0, 1), (inc + self.rho).clamp(0, 1)
        inside = ((U >= box_lo) & (U <= box_hi)).all(-1)
        if int(inside.sum()) < MIN_POINTS:
            return x
        local = torch.stack([lo + box_lo * span, lo + box_hi * span])
        return super().propose(train_X[inside], train_Y[inside], local, None)


class ZoomNAP(_Zoom, NAP):
    name = "nap-zoom"

    def __init__(self, network, rho: float, **kwargs) -> None:
        super().__init__(network, **kwargs)
        self.rho = rho


class ZoomNPEI(_Zoom, NPEI):
    name = "np-ei-zoom"

    def __init__(self, network, rho: float, **kwargs) -> None:
        super().__init__(network, **kwargs)
        self.rho = rho


def _split(arg: str) -> tuple[float, str]:
    variant, ckpt = arg.split(":", 1)
    try:
        if not variant.startswith("z"):
            raise ValueError
        return float(variant[1:]), ckpt
    except ValueError:
        raise ValueError(f"expected z<rho>:<checkpoint>, got {arg!r}") from None


def _nap(arg: str, ctx):
    rho, ckpt = _split(arg)
    net = load_network(ckpt, "nap", ctx.family.space)
    return ZoomNAP(net, rho, budget=ctx.n_init + ctx.steps, settings=ctx.settings)


def _npei(arg: str, ctx):
    rho, ckpt = _split(arg)
    net = load_network(ckpt, "np", ctx.family.space)
    return ZoomNPEI(net, rho, settings=ctx.settings)


register_method("napz", _nap, "NAP, local proposals re-decided zoomed: napz:z<rho>:<ckpt>", True)
register_method("npeiz", _npei, "NP-EI, re-decided zoomed: npeiz:z<rho>:<ckpt>", True)

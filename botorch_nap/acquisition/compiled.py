r"""The gradient path of :class:`~botorch_nap.acquisition.nap.NAPAcquisition`, compiled.

A continuous decision at ``n = 100`` spends most of its time in the L-BFGS-B polish: a
few forward + backward passes at the restarts' few points, each some 900 small tensor
operations whose per-operation overhead, not their arithmetic, is the cost
(``benchmarks/bench_decision.py --breakdown``). ``torch.compile`` fuses them into a
handful of kernels. The compiled function computes the very same values as the eager path
(to float rounding): the network's ``query_acquisition`` (no data-dependent branch), plus
the repeat guard's :func:`~botorch_nap.acquisition.repeats.log_novelty`.

Compiling costs time once per process (about 30 s on a 2-core CPU for the shipped
``gp_prior`` network, about 7 s when PyTorch's on-disk compile cache already holds it) and
again for a network of another shape or dtype; the history's size is a dynamic dimension,
so a growing history does not recompile. Hence it is opt-in (``NAPAcquisition(...,
compile=True)``): it pays in long loops, not for a single decision.
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor

from botorch_nap.acquisition.repeats import log_novelty
from botorch_nap.nn.transformer import HistoryEncoding, NAPTransformer

_COMPILED = None
#: Why compiling failed in this process (then the eager path serves), or None.
_FAILED: str | None = None


def gradient_values(
    network: NAPTransformer,
    encoding: HistoryEncoding,
    U: Tensor,
    known: Tensor,
    radius: float,
    run_mlp: bool,
) -> Tensor:
    """Acquisition values (repeat guard included) of ``m x d`` unit-cube points ``U`` -> ``m``,
    for a one-history, padding-free ``encoding``; traceable as one graph, with no loop or
    branch on ``m`` or the history's size."""
    acq = network.query_acquisition(encoding, U.unsqueeze(0), run_mlp)[0]
    return acq + log_novelty(U, known, radius, chunk_size=None)


def compiled_gradient_values(
    network: NAPTransformer,
    encoding: HistoryEncoding,
    U: Tensor,
    known: Tensor,
    radius: float,
    run_mlp: bool,
) -> Tensor:
    """:func:`gradient_values` through ``torch.compile`` (compiled on first use, with the
    history's size dynamic). Where compiling fails (no C++ compiler, say), it warns once and
    computes the same values eagerly from then on."""
    global _COMPILED, _FAILED
    m = U.shape[0]
    if m == 1:
        # torch.compile specialises sizes 0 and 1: one point goes as two (the copy's value is
        # dropped, so it adds no gradient), and the graph of m >= 2 serves.
        return compiled_gradient_values(
            network, encoding, torch.cat([U, U.detach()]), known, radius, run_mlp
        )[:1]
    args = (network, encoding, U, known, radius, run_mlp)
    if _FAILED is None:
        if _COMPILED is None:
            _COMPILED = torch.compile(gradient_values, dynamic=True)
        try:
            return _COMPILED(*args)
        except Exception as e:  # noqa: BLE001 - any compiler failure: fall back, say why
            _FAILED = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
            warnings.warn(
                f"NAPAcquisition(compile=True): torch.compile failed ({_FAILED}); the "
                "gradient path runs eagerly (same values, slower)",
                RuntimeWarning,
                stacklevel=3,
            )
    return gradient_values(*args)

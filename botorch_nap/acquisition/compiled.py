r"""The gradient paths of NAP and NP-EI (``compile=True``), compiled.

A continuous decision at ``n = 100`` spends most of its time in the L-BFGS-B polish: a
few forward + backward passes at the restarts' few points, each some 900 small tensor
operations whose per-operation overhead, not their arithmetic, is the cost
(``benchmarks/bench_decision.py --breakdown``). ``torch.compile`` fuses them into a
handful of kernels. The compiled function computes the very same values as the eager path
(to float rounding): the network's ``query_acquisition`` or ``query_bar_logits`` (no
data-dependent branch), then NP-EI's log EI, plus the repeat guard's
:func:`~botorch_nap.acquisition.repeats.log_novelty`.

Compiling costs time once per process (about 30 s on a 2-core CPU for the shipped
``gp_prior`` network, about 7 s when PyTorch's on-disk compile cache already holds it) and
again for a network of another shape or dtype; the history's size is a dynamic dimension,
so a growing history does not recompile. Hence it is opt-in (``NAPAcquisition(...,
compile=True)``, ``NPExpectedImprovement(..., compile=True)``): it pays in long loops, not
for a single decision.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch
from torch import Tensor

from botorch_nap.acquisition.repeats import log_novelty
from botorch_nap.nn.bar_distribution import log_expected_improvement
from botorch_nap.nn.transformer import GradientPlan, HistoryEncoding, NAPTransformer

#: The compiled form of each function run through :func:`call_compiled`.
_COMPILED: dict[Callable, Callable] = {}
#: Why compiling failed in this process (then the eager path serves), or None.
_FAILED: str | None = None


def nap_values(
    U: Tensor,
    network: NAPTransformer,
    encoding: HistoryEncoding,
    known: Tensor,
    radius: float,
    run_mlp: bool,
    plan: GradientPlan | None = None,
) -> Tensor:
    """NAP's acquisition values (repeat guard included) of ``m x d`` unit-cube points ``U``
    -> ``m``, for a one-history, padding-free ``encoding``; traceable as one graph, with no
    loop or branch on ``m`` or the history's size. ``plan``: the encoding's
    :meth:`~NAPTransformer.gradient_plan`, for the eager gradient path."""
    acq = network.query_acquisition(encoding, U.unsqueeze(0), run_mlp, plan)[0]
    return acq + log_novelty(U, known, radius, chunk_size=None)


def np_ei_values(
    U: Tensor,
    network: NAPTransformer,
    encoding: HistoryEncoding,
    borders: Tensor,
    best_f: Tensor,
    known: Tensor,
    radius: float,
    plan: GradientPlan | None = None,
) -> Tensor:
    """NP-EI's values (:class:`~botorch_nap.acquisition.np_ei.NPExpectedImprovement`: log EI
    over ``best_f`` of the bar posterior with ``borders`` in y units, repeat guard included)
    of ``m x d`` unit-cube points ``U`` -> ``m``; traceable as :func:`nap_values`, ``plan``
    as there."""
    logits = network.query_bar_logits(encoding, U.unsqueeze(0), plan)[0]
    # As the model's posterior hands them over: probabilities, then their clamped logs.
    log_p = torch.softmax(logits, -1).clamp_min(1e-300).log()
    log_ei = log_expected_improvement(borders, log_p, best_f, skip_below=False)
    return log_ei + log_novelty(U, known, radius, chunk_size=None)


def call_compiled(fn: Callable, U: Tensor, *args) -> Tensor:
    """``fn(U, *args)`` (``U``: ``m x d``, the dimension ``m`` and the history's size
    dynamic) through ``torch.compile``, compiled on first use. Where compiling fails (no C++
    compiler, say), it warns once and computes the same values eagerly from then on; an
    error that the eager function raises too is raised as it is.

    All ``m`` points go through at once (no chunks: gradient batches are the optimiser's few
    restarts). Dynamo compiles a function at most ``torch._dynamo.config.recompile_limit``
    times (8) per process, for networks of other shapes or dtypes among others; past that
    it runs eagerly (the same values)."""
    global _FAILED
    if U.shape[0] == 1:
        # torch.compile specialises sizes 0 and 1: one point goes as two (the copy's value is
        # dropped, so it adds no gradient), and the graph of m >= 2 serves.
        return call_compiled(fn, torch.cat([U, U.detach()]), *args)[:1]
    if _FAILED is None:
        try:
            compiled = _COMPILED.get(fn)
            if compiled is None:
                compiled = torch.compile(fn, dynamic=True)
                if U.requires_grad:
                    # The backward graph is compiled at the first backward, which BoTorch's
                    # optimiser runs outside this function: compile it here, on a copy.
                    probe = U.detach().clone().requires_grad_(True)
                    torch.autograd.grad(compiled(probe, *args).sum(), probe)
                _COMPILED[fn] = compiled
            return compiled(U, *args)
        except Exception as e:  # noqa: BLE001 - a compiler failure: fall back, say why
            value = fn(U, *args)  # a genuine error (bad input) raises here, as it is
            _FAILED = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
            warnings.warn(
                f"compile=True: torch.compile failed ({_FAILED}); the gradient path runs "
                "eagerly (same values, slower)",
                RuntimeWarning,
                stacklevel=2,
            )
            return value
    return fn(U, *args)

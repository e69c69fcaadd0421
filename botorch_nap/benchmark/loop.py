"""A plain BO loop: initial design, then one ``proposer.propose`` call per step.

Every method goes through the same loop and the same public BoTorch route (see
:mod:`botorch_nap.baselines`), so results and decision times are comparable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

from botorch_nap.baselines import Proposer


@dataclass
class LoopResult:
    """X: ``(n_init + steps) x d``; Y: ``(n_init + steps)``; best: running best per
    evaluation; decision_s: seconds per proposal (data in, point out)."""

    X: Tensor
    Y: Tensor
    best: Tensor
    decision_s: list[float] = field(default_factory=list)


def initial_design(n_init: int, bounds: Tensor, candidates: Tensor | None, seed: int) -> Tensor:
    """``n_init`` points: uniform in the box, or distinct pool rows. Deterministic in ``seed``
    and independent of the method, so every method starts from the same points."""
    g = torch.Generator().manual_seed(seed)
    if candidates is None:
        u = torch.rand(n_init, bounds.shape[-1], generator=g, dtype=torch.float64)
        return bounds[0] + u * (bounds[1] - bounds[0])
    if n_init > candidates.shape[0]:
        raise ValueError(f"n_init={n_init} exceeds the pool size {candidates.shape[0]}")
    return candidates[torch.randperm(candidates.shape[0], generator=g)[:n_init]]


def run_loop(
    proposer: Proposer,
    objective: Callable[[Tensor], Tensor],
    bounds: Tensor,
    n_init: int,
    steps: int,
    candidates: Tensor | None = None,
    seed: int = 0,
    callback: Callable[[int, Tensor], None] | None = None,
) -> LoopResult:
    """Run ``steps`` BO steps after ``n_init`` initial points; ``objective`` maps
    ``k x d -> k`` and is maximised."""
    bounds = bounds.to(torch.float64)
    X = initial_design(n_init, bounds, candidates, seed).to(torch.float64)
    Y = objective(X).to(torch.float64).reshape(-1)
    times = []
    for step in range(steps):
        t0 = time.perf_counter()
        x = proposer.propose(X, Y.unsqueeze(-1), bounds, candidates)
        times.append(time.perf_counter() - t0)
        y = objective(x).to(torch.float64).reshape(-1)
        X, Y = torch.cat([X, x]), torch.cat([Y, y])
        if callback is not None:
            callback(step, x)
    return LoopResult(X, Y, torch.cummax(Y, 0).values, times)

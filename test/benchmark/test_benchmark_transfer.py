"""The transfer baselines: kNN prior and the greedy portfolio criterion."""

from __future__ import annotations

import torch

from botorch_nap.benchmark.transfer import (
    PortfolioAcquisition,
    TransferGPEI,
    TransferPortfolio,
    TransferPrior,
)

BOUNDS = torch.tensor([[0.0], [2.0]], dtype=torch.float64)  # raw units; unit = x / 2
GRID = torch.tensor([[0.0], [0.5], [1.0]], dtype=torch.float64)  # unit coordinates


def _prior() -> TransferPrior:
    # Task A is best at the left end, task B at the right end.
    ya = torch.tensor([1.0, 0.5, 0.0], dtype=torch.float64)
    yb = torch.tensor([0.0, 0.6, 1.0], dtype=torch.float64)
    return TransferPrior([GRID, GRID], [ya, yb], BOUNDS, k=1, configs=2 * GRID)


def test_knn_prediction_matches_brute_force():
    g = torch.Generator().manual_seed(0)
    Xs = [torch.rand(n, 3, generator=g, dtype=torch.float64) for n in (7, 12)]
    ys = [torch.rand(len(x), generator=g, dtype=torch.float64) for x in Xs]
    bounds = torch.tensor([[0.0] * 3, [1.0] * 3], dtype=torch.float64)
    prior = TransferPrior(Xs, ys, bounds, k=3)
    Q = torch.rand(20, 3, generator=g, dtype=torch.float64)
    want = torch.stack(
        [y[torch.cdist(Q, x).topk(3, largest=False).indices].mean(-1) for x, y in zip(Xs, ys)],
        -1,
    )
    torch.testing.assert_close(prior.predict(Q, chunk=6), want)


def test_portfolio_covers_uncovered_tasks_rather_than_the_best_mean():
    prior = _prior()
    # Evaluated: the left end (covers task A). The middle has the best *mean* prediction
    # (0.55), but the right end covers task B: the portfolio gain prefers it.
    train_X = torch.tensor([[0.0]], dtype=torch.float64)
    acqf = PortfolioAcquisition(prior, train_X)
    scores = acqf(2 * GRID.unsqueeze(1))
    assert scores.argmax().item() == 2
    x = TransferPortfolio(prior).propose(train_X, torch.zeros(1, 1), BOUNDS)
    assert x.tolist() == [[2.0]]
    # With a pool, it picks among the unevaluated pool points.
    pool = torch.tensor([[0.0], [1.0], [0.1]], dtype=torch.float64)
    x = TransferPortfolio(prior).propose(train_X, torch.zeros(1, 1), BOUNDS, candidates=pool)
    assert x.tolist() == [[1.0]]


def test_transfer_gp_ei_switches_to_gp_ei_after_k_steps():
    prior = _prior()
    p = TransferGPEI(prior, n_init=1, n_transfer=1)
    X = torch.tensor([[0.0]], dtype=torch.float64)
    Y = torch.tensor([[0.3]], dtype=torch.float64)
    assert p.propose(X, Y, BOUNDS).tolist() == [[2.0]]  # portfolio step
    X2 = torch.tensor([[0.0], [2.0]], dtype=torch.float64)
    Y2 = torch.tensor([[0.3], [0.1]], dtype=torch.float64)
    pool = torch.linspace(0, 2, 21, dtype=torch.float64).unsqueeze(-1)
    x = p.propose(X2, Y2, BOUNDS, candidates=pool)  # GP-EI over the pool from here on
    assert (pool == x).all(-1).any() and not (X2 == x).all(-1).any()

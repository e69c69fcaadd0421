"""Branin's box and random histories of -Branin (maximised), shared by the acquisition tests."""

import torch
from botorch.test_functions import Branin

BOUNDS = torch.tensor([[-5.0, 0.0], [10.0, 15.0]], dtype=torch.float64)
RANGE = BOUNDS[1] - BOUNDS[0]


def branin_history(n: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n x 2`` uniform points in the box and their ``n x 1`` values of -Branin."""
    g = torch.Generator().manual_seed(seed)
    X = BOUNDS[0] + torch.rand(n, 2, generator=g, dtype=torch.float64) * RANGE
    return X, -Branin()(X).unsqueeze(-1)

"""Test helpers shared by the training tests."""

from __future__ import annotations

import argparse
import csv

from botorch_nap.nn.transformer import NAPConfig
from botorch_nap.training import commands


def run_cli(argv: list[str]) -> int:
    """Run a training subcommand (``pretrain``, ``train``, ...) as the CLI would."""
    parser = argparse.ArgumentParser()
    commands.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def tiny_config(dim: int = 2, **kw) -> NAPConfig:
    """A network of a few thousand parameters: every training test runs in seconds."""
    base = dict(dim_x=dim, d_model=16, n_layers=1, n_heads=2, d_ff=32, n_buckets=16)
    return NAPConfig(**{**base, **kw})


class InterruptingFamily:
    """Wraps a family; raises ``KeyboardInterrupt`` on the ``n``-th+1 training batch
    (simulates a run killed mid-way)."""

    def __init__(self, family, n: int) -> None:
        self.family, self.n = family, n
        self.space, self.name, self.is_pool = family.space, family.name, family.is_pool

    def split_ids(self, split):
        return self.family.split_ids(split)

    def sample_batch(self, *args, **kw):
        if kw.get("split", "train") == "train":
            self.n -= 1
            if self.n < 0:
                raise KeyboardInterrupt
        return self.family.sample_batch(*args, **kw)


def log_rows(path, drop=("elapsed_s",)):
    with open(path, newline="") as f:
        return [{k: v for k, v in r.items() if k not in drop} for r in csv.DictReader(f)]


def same_state(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch_equal(sa[k], sb[k]) for k in sa)


def torch_equal(x, y) -> bool:
    import torch

    return torch.equal(x, y)


class SlopeFamily:
    """``y = x_0`` on ``[0, 1]^2``: in every task the best candidate is the one with the
    largest first coordinate. A policy that learns anything learns this within seconds."""

    name, is_pool = "slope", False

    def __init__(self) -> None:
        import torch

        from botorch_nap.tasks.base import SearchSpace

        self.space = SearchSpace(torch.tensor([[0.0, 0.0], [1.0, 1.0]]), ["x0", "x1"])

    def split_ids(self, split):
        return None  # fresh tasks in every split

    def sample_batch(self, b, n_points, generator=None, split="train"):
        import torch

        X = torch.rand(b, n_points, 2, generator=generator, dtype=torch.float64)
        return X, X[..., 0].clone()

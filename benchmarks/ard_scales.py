"""What per-dimension widths does an ``ard_bias`` network read off functions whose
lengthscales are known? (README, "Per-dimension widths, read off the history".)

Draws noise-free GP functions (RBF, unit variance) with the given per-dim lengthscales at
``n`` uniform points, standardises the values as a decision does, and prints the median
over draws of each dim's scale of squared distances (the square of
:class:`~botorch_nap.nn.ard.ARDScales`' factor). A GP would weigh dim ``d`` by ``1 / l_d^2``.

``--family NAME [--family-kw ...]`` reads a task family's validation functions instead
(uniform points, the same standardisation), e.g. a synthetic family that is not a GP draw,
and also prints the geometric mean of the scales over dims (how sharp the widths make the
attention overall) with its 10% and 90% quantiles over draws.

``--histories FILE:METHOD`` reads the histories a benchmark run actually built (the first
``n`` evaluations of each of the method's runs in a results file): a search clusters its
points, which uniform draws never show. It prints the quantiles over runs of the scales'
geometric mean and of their spread, the ratio of the largest dim's scale to the smallest.

Run:  python benchmarks/ard_scales.py CKPT [--dim 3] [--ns 15 30 50] [--draws 20]
          [--lengthscales 0.1,0.5,1.0 1.0,0.1,0.3 0.15 0.8]
      python benchmarks/ard_scales.py CKPT --family ackley --family-kw dim=5 --ns 30
      python benchmarks/ard_scales.py CKPT --histories runs/f.json:np-ei:CKPT --ns 10 20 35
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from botorch_nap.nn.transformer import NAPTransformer
from botorch_nap.tasks.gp_prior import kernel_matrix

DEFAULT_SETS = ["0.1,0.5,1.0", "1.0,0.1,0.3", "0.3", "0.15", "0.8"]


def gp_draw(lengthscales: torch.Tensor, n: int, gen: torch.Generator):
    """``n`` uniform points in ``[0, 1]^d`` and a noise-free RBF GP draw there (float64)."""
    x = torch.rand(n, len(lengthscales), generator=gen, dtype=torch.float64)
    k = kernel_matrix(x[None], x[None], lengthscales[None], "rbf")[0]
    k = k + 1e-6 * torch.eye(n, dtype=torch.float64)
    y = torch.linalg.cholesky(k) @ torch.randn(n, generator=gen, dtype=torch.float64)
    return x, (y - y.mean()) / y.std()


def median_scales(
    net: NAPTransformer, lengthscales: list[float], n: int, draws: int, seed: int = 0
) -> list[float]:
    """Median over ``draws`` functions of each dim's scale of squared distances."""
    if not net.config.ard_bias:
        raise ValueError("the network has no ard_bias (pretrain --ard-bias 1)")
    dim = len(lengthscales)
    if not net.config.accepts_dim(dim):
        raise ValueError(f"the network takes {net.config.describe_dims()} dims, not {dim}")
    gen = torch.Generator().manual_seed(seed)
    ls = torch.tensor(lengthscales, dtype=torch.float64)
    scales = []
    for _ in range(draws):
        x, y = gp_draw(ls, n, gen)
        u = torch.zeros(1, n, net.config.input_width, dtype=net.dtype)
        u[0, :, :dim] = x.to(net.dtype)  # zero-padded as the network pads
        with torch.no_grad():
            factor = net.ard(u, y.to(net.dtype)[None], torch.ones(1, n, dtype=torch.bool))
        scales.append(factor[0, :dim] ** 2)
    return torch.stack(scales).median(0).values.tolist()


def read_scales(net: NAPTransformer, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Each dim's scale of squared distances (``b x dim``) that ``net`` reads off ``b``
    histories: ``X`` ``b x n x dim`` in the unit cube, ``y`` ``b x n`` raw values
    (standardised here, as a decision does; zero-padded to the network's width)."""
    if not net.config.ard_bias:
        raise ValueError("the network has no ard_bias (pretrain --ard-bias 1)")
    b, n, dim = X.shape
    if not net.config.accepts_dim(dim):
        raise ValueError(f"the network takes {net.config.describe_dims()} dims, not {dim}")
    y = (y - y.mean(1, keepdim=True)) / y.std(1, keepdim=True)
    u = torch.zeros(b, n, net.config.input_width, dtype=net.dtype)
    u[..., :dim] = X.to(net.dtype)
    with torch.no_grad():
        return net.ard(u, y.to(net.dtype), torch.ones(b, n, dtype=torch.bool))[:, :dim] ** 2


QUANTILES = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)


def family_scales(
    net: NAPTransformer, family, n: int, draws: int, seed: int = 0
) -> tuple[list[float], list[float]]:
    """Scales read off ``draws`` of a family's validation functions at ``n`` uniform
    points: the median over draws per dim, and the 10/50/90% quantiles over draws of the
    scales' geometric mean over dims."""
    X, y = family.sample_batch(draws, n, torch.Generator().manual_seed(seed), split="val")
    scales = read_scales(net, X, y)
    geo = scales.log().mean(-1).exp()
    return scales.median(0).values.tolist(), torch.quantile(geo.double(), QUANTILES).tolist()


def history_scales(
    net: NAPTransformer, histories: list[tuple[list, list]], n: int
) -> tuple[list[float], list[float]]:
    """Scales read off the first ``n`` points of each ``(X, y)`` history (unit-cube X, raw
    y): the 10/50/90% quantiles over histories of the scales' geometric mean over dims, and
    of their spread (largest dim's scale / smallest's)."""
    scales = torch.cat(
        [
            read_scales(net, torch.tensor(X[:n]).double()[None], torch.tensor(y[:n]).double()[None])
            for X, y in histories
        ]
    )
    geo = scales.log().mean(-1).exp()
    spread = scales.amax(-1) / scales.amin(-1)
    return (
        torch.quantile(geo.double(), QUANTILES).tolist(),
        torch.quantile(spread.double(), QUANTILES).tolist(),
    )


def load_histories(spec: str) -> list[tuple[list, list]]:
    """``FILE:METHOD`` -> the ``(X, y)`` of every run of METHOD in a results file."""
    import json

    path, _, method = spec.partition(":")
    runs = json.loads(Path(path).read_text())["runs"].values()
    out = [(r["X"], r["y"]) for r in runs if r["method"] == method]
    if not out:
        raise SystemExit(f"no runs of {method!r} in {path}")
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint")
    p.add_argument("--dim", type=int, default=3)
    p.add_argument("--ns", type=int, nargs="+", default=[15, 30, 50])
    p.add_argument("--draws", type=int, default=20)
    p.add_argument(
        "--lengthscales",
        nargs="+",
        default=DEFAULT_SETS,
        help="per-dim lengthscales, comma-separated; one value: the same in every dim",
    )
    p.add_argument("--family", default=None, help="read this family's validation functions")
    p.add_argument("--family-kw", nargs="*", default=[], help="family options, e.g. dim=5")
    p.add_argument("--histories", default=None, help="FILE:METHOD: a benchmark's histories")
    args = p.parse_args(argv)
    net = NAPTransformer.load(Path(args.checkpoint)).eval()
    if args.histories:
        histories = load_histories(args.histories)
        for n in args.ns:
            (g10, g50, g90), (s10, s50, s90) = history_scales(net, histories, n)
            print(
                f"{len(histories)} histories, first {n} points: geometric mean over dims "
                f"{g50:.2f} ({g10:.2f}-{g90:.2f}, 10%-90% of runs); largest / smallest "
                f"dim {s50:.2f} ({s10:.2f}-{s90:.2f})"
            )
        return
    if args.family:
        from botorch_nap.tasks import get_family
        from botorch_nap.tasks.registry import parse_family_kwargs

        family = get_family(args.family, **parse_family_kwargs(args.family_kw))
        for n in args.ns:
            s, (q10, q50, q90) = family_scales(net, family, n, args.draws)
            print(
                f"{family.name}, n = {n}: scale per dim {[round(v, 2) for v in s]}; "
                f"geometric mean over dims {q50:.2f} (10%-90% of draws: {q10:.2f}-{q90:.2f})"
            )
        return
    for spec in args.lengthscales:
        ls = [float(v) for v in spec.split(",")]
        ls = ls * args.dim if len(ls) == 1 else ls
        for n in args.ns:
            s = median_scales(net, ls, n, args.draws)
            print(f"lengthscales {ls}, n = {n}: scale per dim {[round(v, 1) for v in s]}")


if __name__ == "__main__":
    main()

"""Where does a network expect improvement late in a run, against the exact GP? Expected
improvement at candidates near the incumbent and far from it, on the network's own prior.

GP-prior functions (``GPPriorFamily``, validation split), a search-like context of ``n``
points (:func:`~botorch_nap.training.common.search_like_order`, clustered around its
incumbent as a late BO history is). Candidates: ``--per-ring`` points at each distance in
``--rings`` from the incumbent (random directions, clipped to the box) plus as many uniform
points. For each ring the table gives, per model, the mean ``log10`` EI (in the function's
units) and the share of functions whose EI maximiser over all candidates lies on that ring;
"truth" is the share of the ring's candidates that really improve on the incumbent. The exact
GP (the functions' own lengthscales) is what a perfect neural process would say; a network
whose EI falls off near the incumbent much faster than the GP's will not take the local steps
with which GP-EI finishes a run (``benchmarks/local_steps.py``).

Run:  python benchmarks/ei_near_incumbent.py CKPT [CKPT ...] [--dim 3] [--n 30]
          [--rings 0.005 0.01 0.02 0.05 0.1]
"""

from __future__ import annotations

import argparse

import torch

from botorch_nap.benchmark.methods import resolve_checkpoint
from botorch_nap.nn.transformer import NAPTransformer
from botorch_nap.normalization import standardize_history
from botorch_nap.tasks.gp_prior import GPPriorFamily, rff_eval

FAR = "uniform"


def exact_gp_ei(Xc, yc, Xq, ls, best, bars=None, jitter=1e-6) -> torch.Tensor:
    """EI over ``best`` of the exact (noise-free, unit-variance RBF) GP posterior at ``Xq``;
    with ``bars`` (a network's :class:`~botorch_nap.nn.bar_distribution.BarDistribution`),
    the EI of that posterior put into the bars, as the network's head would compute it."""

    def k(a, b):
        return torch.exp(-0.5 * (((a[:, None] - b[None]) / ls) ** 2).sum(-1))

    L = torch.linalg.cholesky(k(Xc, Xc) + jitter * torch.eye(len(Xc), dtype=Xc.dtype))
    Kqc = k(Xq, Xc)
    mu = (Kqc @ torch.cholesky_solve(yc[:, None], L))[:, 0]
    sd = (1 - (Kqc * torch.cholesky_solve(Kqc.T, L).T).sum(-1)).clamp_min(1e-12).sqrt()
    if bars is not None:
        from gp_in_bars import log_ei_in_bars  # this folder is on sys.path as a script

        _, mean, std = standardize_history(yc[None])
        return log_ei_in_bars((mu - mean) / std, sd / std, bars, (best - mean) / std).exp() * std
    z = (mu - best) / sd
    normal = torch.distributions.Normal(0.0, 1.0)
    return sd * (z * normal.cdf(z) + normal.log_prob(z).exp())


def fitted_gp_ei(Xc, yc, Xq, best) -> torch.Tensor:
    """EI under BoTorch's ``SingleTaskGP`` fitted to the context, as GP-EI computes it."""
    from botorch.acquisition import LogExpectedImprovement
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from gpytorch.mlls import ExactMarginalLogLikelihood

    gp = SingleTaskGP(Xc, yc[:, None])
    fit_gpytorch_mll(ExactMarginalLogLikelihood(gp.likelihood, gp))
    with torch.no_grad():
        return LogExpectedImprovement(gp, best_f=best)(Xq[:, None, :]).exp()


@torch.no_grad()
def net_ei(net, Xc, yc, Xq) -> torch.Tensor:
    """The network's bar EI over the context's best value, in the function's units."""
    y_norm, mean, std = standardize_history(yc[None])
    logits = net.score(net.encode_history(Xc[None], y_norm), Xq[None]).bar_logits[0]
    best = y_norm.max()
    return net.bar.log_expected_improvement(logits, best).exp() * std


def main() -> None:
    from np_vs_oracle_gp import true_lengthscales, validation_context  # on sys.path as a script

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoints", nargs="+")
    p.add_argument("--dim", type=int, default=3)
    p.add_argument("--n", type=int, default=30, help="context points")
    p.add_argument("--rings", type=float, nargs="+", default=[0.005, 0.01, 0.02, 0.05, 0.1])
    p.add_argument("--per-ring", type=int, default=64)
    args = p.parse_args()
    torch.set_num_threads(1)
    fam = GPPriorFamily(dim=args.dim)
    nets = {
        c: NAPTransformer.load(resolve_checkpoint(c, "np"), expected_dim=args.dim).double()
        for c in args.checkpoints
    }
    rings = [*args.rings, FAR]
    bars = next(iter(nets.values())).bar
    in_bars = f"exact GP in {len(bars.borders) - 1} bars"
    models = ["exact GP", in_bars, "fitted GP", *nets]
    log_ei = {m: {r: [] for r in rings} for m in models}
    argmax_on = {m: {r: 0 for r in rings} for m in models}
    improves = {r: [] for r in rings}
    g = torch.Generator().manual_seed(0)
    tasks = fam.split_ids("val")
    for tid in tasks:
        Xc, yc, _, _ = validation_context(fam, tid, args.n, 3 * args.n, "search", g)
        o, ph, w = fam._params(tid)
        best_i = int(yc.argmax())
        inc, best = Xc[best_i], yc[best_i]
        parts, labels = [], []
        for r in rings:
            if r == FAR:
                q = torch.rand(args.per_ring, args.dim, generator=g, dtype=torch.float64)
            else:
                d = torch.randn(args.per_ring, args.dim, generator=g, dtype=torch.float64)
                q = (inc + r * d / d.norm(dim=-1, keepdim=True)).clamp(0, 1)
            parts.append(q)
            labels += [r] * args.per_ring
        Xq = torch.cat(parts)
        yq = rff_eval(Xq[None], o[None], ph[None], w[None])[0]
        ei = {
            "exact GP": exact_gp_ei(Xc, yc, Xq, true_lengthscales(fam, tid), best),
            in_bars: exact_gp_ei(Xc, yc, Xq, true_lengthscales(fam, tid), best, bars),
            "fitted GP": fitted_gp_ei(Xc, yc, Xq, best),
        }
        for c, net in nets.items():
            ei[c] = net_ei(net, Xc, yc, Xq)
        for m in models:
            top = labels[int(ei[m].argmax())]
            argmax_on[m][top] += 1
        for k, r in enumerate(rings):
            sl = slice(k * args.per_ring, (k + 1) * args.per_ring)
            improves[r].append(float((yq[sl] > best).double().mean()))
            for m in models:
                log_ei[m][r].append(float(torch.log10(ei[m][sl].clamp_min(1e-30)).mean()))
    print(
        f"{fam.name}, {len(tasks)} validation functions, search-like contexts of {args.n} "
        f"points; {args.per_ring} candidates per ring. Per ring: mean log10 EI | share of "
        "functions whose EI maximiser lies on the ring"
    )
    head = " | ".join(f"{m[-22:]:>22}" for m in models)
    print(f"{'ring':>8} | {'truth: improves':>15} | {head}")
    for r in rings:
        name = r if r == FAR else f"{r:g}"
        cells = " | ".join(
            f"{sum(log_ei[m][r]) / len(tasks):>9.2f} | {argmax_on[m][r] / len(tasks):>10.2f}"
            for m in models
        )
        print(f"{name:>8} | {sum(improves[r]) / len(tasks):>15.3f} | {cells}")


if __name__ == "__main__":
    main()

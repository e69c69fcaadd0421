"""How close is a network to Bayes-optimal on its own prior? Predictive NLL of NP checkpoints
against the exact GP that generated the functions (RBF, the functions' true lengthscales,
unit variance), side by side in one run.

GP-prior functions (``GPPriorFamily``, validation split), ``n`` uniform context points and
200 uniform targets per function; NLL per target in the functions' own units (the network's
bar NLL in standardised units plus ``log(std)`` of the context). The exact GP is the floor a
perfect neural process would reach (up to the random-feature approximation of the samples).
The fitted GP is what GP-EI models with: BoTorch's ``SingleTaskGP`` (its default priors,
hyperparameters fitted by marginal likelihood on the context); the gap between the two GP
columns is the price of not knowing the lengthscales, which a network pays too. "in B bars"
is the exact GP's posterior put into the (first) network's bars: the floor that the bars'
resolution sets. ``--ensemble`` adds a column for the equal-weight mixture of all the
checkpoints' predictive densities.

``--bayes-range LO HI`` adds the Bayesian posterior of a prior whose lengthscales are unknown,
uniform in ``[LO, HI]`` per dim (a network's training prior: ``0.1 1.0`` for the shipped
``gp_prior``): a mixture of exact GPs over lengthscale draws weighted by their marginal
likelihoods on the context (``benchmarks/oracle_gp.py``'s ``LengthscaleMixture``). The floor a
perfect network trained on that prior (noise-free) reaches; the exact GP, which knows each
function's lengthscales, is below it.

``--contexts search`` builds each context the way a search builds its history, clustered
around its incumbent (:func:`~botorch_nap.training.common.search_like_order`: from 5 random
points on, each next point is one of the 3 unchosen points nearest the best one so far with
probability 1/2, else a random one), instead of ``n`` uniform points. ``--near K`` scores only
the ``K`` targets nearest the context's best point: where a late BO decision is made;
``--far K`` the ``K`` targets farthest from every context point: where a search that is stuck
in a wrong basin must find a better one. The exact GP stays the floor either way, since how
the context was chosen never depends on an unseen value.

Run:  python benchmarks/np_vs_oracle_gp.py CKPT [CKPT ...] [--dim 3] [--ns 5 15 30]
          [--contexts iid|search] [--near K | --far K] [--ensemble] [--symmetries K] [--moments]
          [--lengthscale-range 0.1 0.2] [--bayes-range 0.1 1.0]
      (a checkpoint is a folder or a shipped name, e.g. gp_prior)
"""

from __future__ import annotations

import argparse
import itertools
import math

import torch

from botorch_nap.benchmark.methods import resolve_checkpoint
from botorch_nap.nn.transformer import NAPTransformer
from botorch_nap.normalization import standardize_history
from botorch_nap.tasks.gp_prior import GPPriorFamily, kernel_matrix, rff_eval
from botorch_nap.training.common import search_like_order


def true_lengthscales(fam: GPPriorFamily, task_id: int) -> torch.Tensor:
    """Replays :meth:`GPPriorFamily._params`' draws up to the lengthscales (RBF, ARD)."""
    g = torch.Generator().manual_seed(fam.seed * 1_000_003 + task_id)
    torch.randn(1, fam.n_features, fam.dim, generator=g, dtype=torch.float64)
    lo, hi = fam.lengthscale_range
    return lo + (hi - lo) * torch.rand(1, 1, fam.dim, generator=g, dtype=torch.float64)[0, 0]


def validation_context(
    fam: GPPriorFamily, task_id: int, n: int, n_targets: int, contexts: str, g: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``n`` context and ``n_targets`` target points of one GP-prior function, the context
    iid (``contexts="iid"``) or built as a search builds its history (``"search"``).
    Returns ``Xc`` (``n x d``), ``yc``, ``Xt`` (``n_targets x d``), ``yt``."""
    o, ph, w = fam._params(task_id)
    X = torch.rand(1, n + n_targets, fam.dim, generator=g, dtype=torch.float64)
    y = rff_eval(X, o[None], ph[None], w[None])[0]
    if contexts == "search":
        order = search_like_order(X, y[None], n, g)[0]
        X, y = X[:, order], y[order]
    return X[0, :n], y[:n], X[0, n:], y[n:]


def gaussian_nll(mu: torch.Tensor, var: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean NLL of ``y`` under independent normals ``N(mu, var)``."""
    return (0.5 * torch.log(2 * math.pi * var) + 0.5 * (y - mu) ** 2 / var).mean()


def gp_posterior(Xc, yc, Xt, ls, jitter=1e-6) -> tuple[torch.Tensor, torch.Tensor]:
    """The exact GP's (RBF, unit variance, lengthscales ``ls``) posterior mean and variance
    of ``f`` at ``Xt`` (``m``)."""

    def k(a, b):
        return kernel_matrix(a[None], b[None], ls.reshape(1, -1), "rbf")[0]

    L = torch.linalg.cholesky(k(Xc, Xc) + jitter * torch.eye(len(Xc), dtype=Xc.dtype))
    Ktc = k(Xt, Xc)
    mu = (Ktc @ torch.cholesky_solve(yc[:, None], L))[:, 0]
    var = (1 - (Ktc * torch.cholesky_solve(Ktc.T, L).T).sum(-1)).clamp_min(jitter)
    return mu, var


def gp_nll(Xc, yc, Xt, yt, ls, bars=None, jitter=1e-6) -> tuple[torch.Tensor, torch.Tensor]:
    """The exact GP's NLL per target, and the NLL of the same posterior put into ``bars``
    (a :class:`~botorch_nap.nn.bar_distribution.BarDistribution` over standardised y, as the
    network's head sees it): the floor that the bars' resolution sets."""
    mu, var = gp_posterior(Xc, yc, Xt, ls, jitter)
    nll = gaussian_nll(mu, var, yt)
    if bars is None:
        return nll, nll
    _, mean, std = standardize_history(yc[None])
    borders = bars.borders.to(yc) * std + mean
    cdf = torch.distributions.Normal(mu[:, None], var.sqrt()[:, None]).cdf(borders[None])
    mass = (cdf[:, 1:] - cdf[:, :-1]).clamp_min(1e-300)
    idx = (torch.bucketize(yt, borders) - 1).clamp(0, len(borders) - 2)
    width = borders[1:] - borders[:-1]
    return nll, -torch.log(mass.gather(1, idx[:, None])[:, 0] / width[idx]).mean()


def bayes_nll(Xc, yc, Xt, yt, lo: float, hi: float, seed: int = 0) -> torch.Tensor:
    """NLL per target under the Bayesian posterior over RBF lengthscales uniform in ``[lo,
    hi]`` per dim (unit variance, zero mean, noise-free; module docstring)."""
    from oracle_gp import LengthscaleMixture  # benchmarks/, beside this script

    g = torch.Generator().manual_seed(seed)
    mixture = LengthscaleMixture.from_prior(Xc, yc, lo, hi, g)
    mean, sd = mixture.predict(Xt)  # K x m
    logp = torch.distributions.Normal(mean, sd).log_prob(yt)
    return -torch.logsumexp(mixture.log_w[:, None] + logp, 0).mean()


def fitted_gp_nll(Xc, yc, Xt, yt) -> torch.Tensor:
    """Predictive NLL of the observed value under a BoTorch ``SingleTaskGP`` fitted to the
    context, as GP-EI fits it (noise included: the network predicts observations too)."""
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from gpytorch.mlls import ExactMarginalLogLikelihood

    gp = SingleTaskGP(Xc, yc[:, None])
    fit_gpytorch_mll(ExactMarginalLogLikelihood(gp.likelihood, gp))
    with torch.no_grad():
        post = gp.posterior(Xt, observation_noise=True)
        return gaussian_nll(post.mean[:, 0], post.variance[:, 0].clamp_min(1e-12), yt)


@torch.no_grad()
def net_log_density(net, Xc, yc, Xt, yt) -> torch.Tensor:
    """Per-target log density in the function's own units."""
    y_norm, mean, std = standardize_history(yc[None])
    logits = net.score(net.encode_history(Xc[None], y_norm), Xt[None]).bar_logits
    return -(net.bar.nll(logits, ((yt - mean) / std)[None])[0] + torch.log(std))


@torch.no_grad()
def net_moments(net, Xc, yc, Xt, yt) -> tuple[torch.Tensor, torch.Tensor]:
    """RMSE of the network's predictive mean and its mean predictive std at ``Xt``, both in
    units of the context's std."""
    y_norm, mean, std = standardize_history(yc[None])
    logits = net.score(net.encode_history(Xc[None], y_norm), Xt[None]).bar_logits
    err = net.bar.mean(logits)[0] - ((yt - mean) / std).reshape(-1)
    return err.pow(2).mean().sqrt(), net.bar.variance(logits)[0].sqrt().mean()


def symmetries(dim: int, k: int, seed: int = 0) -> list[tuple[torch.Tensor, list[int], int]]:
    """``k`` transforms ``(reflect, perm, y_sign)`` that leave an ARD GP prior on the unit cube
    unchanged (``x -> where(reflect, 1 - x, x)[..., perm]``, ``y -> y_sign * y``): the
    identity first, then ``k - 1`` others drawn without replacement."""
    every = [
        (torch.tensor(r, dtype=torch.bool), list(p), s)
        for r in itertools.product((False, True), repeat=dim)
        for p in itertools.permutations(range(dim))
        for s in (1, -1)
    ]
    if not 1 <= k <= len(every):
        raise ValueError(f"--symmetries must be in [1, {len(every)}] for dim {dim}, got {k}")
    g = torch.Generator().manual_seed(seed)
    return [every[0]] + [
        every[1 + int(i)] for i in torch.randperm(len(every) - 1, generator=g)[: k - 1]
    ]


def symmetric_log_density(net, Xc, yc, Xt, yt, transforms) -> torch.Tensor:
    """Per-target log density of the mixture over ``transforms`` (:func:`symmetries`): each
    member sees the transformed problem, and ``y -> -y`` has unit Jacobian."""

    def move(X, reflect, perm):
        return torch.where(reflect, 1 - X, X)[:, perm]

    members = [
        net_log_density(net, move(Xc, r, p), s * yc, move(Xt, r, p), s * yt)
        for r, p, s in transforms
    ]
    return torch.stack(members).logsumexp(0) - math.log(len(members))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoints", nargs="+")
    p.add_argument("--dim", type=int, default=3)
    p.add_argument("--ns", type=int, nargs="+", default=[5, 15, 30])
    p.add_argument("--targets", type=int, default=200)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--contexts", choices=("iid", "search"), default="iid")
    p.add_argument("--near", type=int, default=0, help="score the K targets nearest the best")
    p.add_argument(
        "--far", type=int, default=0, help="score the K targets farthest from the context"
    )
    p.add_argument("--ensemble", action="store_true", help="also the checkpoints' mixture")
    p.add_argument(
        "--symmetries", type=int, default=0, help="K: the first checkpoint's symmetry ensemble"
    )
    p.add_argument("--moments", action="store_true", help="also RMSE and predictive std")
    p.add_argument(
        "--lengthscale-range",
        type=float,
        nargs=2,
        metavar=("LO", "HI"),
        help="the validation functions' lengthscale range (default: the family's, 0.1-0.6)",
    )
    p.add_argument(
        "--bayes-range",
        type=float,
        nargs=2,
        metavar=("LO", "HI"),
        help="also the Bayesian posterior with lengthscales unknown, uniform in LO-HI",
    )
    args = p.parse_args()
    if args.near and args.far:
        p.error("--near and --far pick different targets: give one")
    torch.set_num_threads(args.threads)
    ls_kw = {"lengthscale_range": tuple(args.lengthscale_range)} if args.lengthscale_range else {}
    fam = GPPriorFamily(dim=args.dim, **ls_kw)
    nets = {
        c: NAPTransformer.load(resolve_checkpoint(c, "np"), expected_dim=args.dim).double()
        for c in args.checkpoints
    }
    transforms = symmetries(args.dim, args.symmetries) if args.symmetries else []
    bayes = (
        [f"Bayes, ls {args.bayes_range[0]:g}-{args.bayes_range[1]:g}"] if args.bayes_range else []
    )
    extra = (
        bayes
        + (["mixture"] if args.ensemble else [])
        + ([f"{args.symmetries} symmetries"] * bool(transforms))
    )
    print(
        f"{fam.name}, validation functions ({len(fam.split_ids('val'))}; lengthscales "
        f"{fam.lengthscale_range[0]:g}-{fam.lengthscale_range[1]:g}), {args.contexts} "
        f"contexts, "
        + (
            f"the {args.near} targets nearest the best"
            if args.near
            else f"the {args.far} targets farthest from the context"
            if args.far
            else "all targets"
        )
        + "; NLL per target (lower is better), exact GP = the prior's own posterior"
    )
    bars = next(iter(nets.values())).bar
    print(
        f"{'n':>4} | {'exact GP':>9} | {f'in {len(bars.borders) - 1} bars':>15} | "
        f"{'fitted GP':>15} | " + " | ".join(f"{c[-24:]:>24}" for c in [*nets, *extra])
    )
    g = torch.Generator().manual_seed(0)
    for n in args.ns:
        gp, in_bars, fitted, nn_ = [], [], [], {c: [] for c in nets}
        moments: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {"exact GP": []}
        for tid in fam.split_ids("val"):
            Xc, yc, Xt, yt = validation_context(fam, tid, n, args.targets, args.contexts, g)
            if args.near:
                dist = (Xt - Xc[yc.argmax()]).norm(dim=-1)
                keep = dist.topk(min(args.near, len(dist)), largest=False).indices
                Xt, yt = Xt[keep], yt[keep]
            if args.far:
                gap = torch.cdist(Xt, Xc).min(-1).values
                keep = gap.topk(min(args.far, len(gap))).indices
                Xt, yt = Xt[keep], yt[keep]
            exact, binned = gp_nll(Xc, yc, Xt, yt, true_lengthscales(fam, tid), bars)
            gp.append(exact)
            in_bars.append(binned)
            fitted.append(fitted_gp_nll(Xc, yc, Xt, yt))
            if args.bayes_range:
                nll = bayes_nll(Xc, yc, Xt, yt, *args.bayes_range)
                nn_.setdefault("bayes", []).append(nll)
            logp = {c: net_log_density(net, Xc, yc, Xt, yt) for c, net in nets.items()}
            for c, lp in logp.items():
                nn_[c].append(-lp.mean())
            if args.ensemble:
                mix = torch.stack(list(logp.values())).logsumexp(0) - math.log(len(logp))
                nn_.setdefault("mixture", []).append(-mix.mean())
            if transforms:
                first = next(iter(nets.values()))
                sym = symmetric_log_density(first, Xc, yc, Xt, yt, transforms)
                nn_.setdefault("symmetries", []).append(-sym.mean())
            if args.moments:
                std = standardize_history(yc[None])[2][0]
                mu, var = gp_posterior(Xc, yc, Xt, true_lengthscales(fam, tid))
                moments["exact GP"].append(
                    ((mu - yt).pow(2).mean().sqrt() / std, var.sqrt().mean() / std)
                )
                for c, net in nets.items():
                    moments.setdefault(c, []).append(net_moments(net, Xc, yc, Xt, yt))
        ref = float(torch.stack(gp).mean())
        cells = [
            f"{float(torch.stack(v).mean()):>9.3f} ({float(torch.stack(v).mean()) - ref:+.2f})"
            for v in nn_.values()
        ]
        fit, binned = (float(torch.stack(v).mean()) for v in (fitted, in_bars))
        print(
            f"{n:>4} | {ref:>9.3f} | {binned:>7.3f} ({binned - ref:+.2f}) | "
            f"{fit:>7.3f} ({fit - ref:+.2f}) | " + " | ".join(f"{c:>24}" for c in cells),
            flush=True,
        )
        if args.moments:
            print(
                f"{'':>4}   RMSE of the mean / mean predictive std (context std units): "
                + "; ".join(
                    f"{c[-24:]} {float(torch.stack([a for a, _ in v]).mean()):.3f} / "
                    f"{float(torch.stack([b for _, b in v]).mean()):.3f}"
                    for c, v in moments.items()
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()

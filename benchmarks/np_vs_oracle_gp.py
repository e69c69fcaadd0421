"""How close is a network to Bayes-optimal on its own prior? Predictive NLL of NP checkpoints
against the exact GP that generated the functions (RBF, the functions' true lengthscales,
unit variance), side by side in one run.

GP-prior functions (``GPPriorFamily``, validation split), ``n`` uniform context points and
200 uniform targets per function; NLL per target in the functions' own units (the network's
bar NLL in standardised units plus ``log(std)`` of the context). The exact GP is the floor a
perfect neural process would reach (up to the random-feature approximation of the samples).

Run:  python benchmarks/np_vs_oracle_gp.py CKPT [CKPT ...] [--dim 3] [--ns 5 15 30]
      (a checkpoint is a folder or a shipped name, e.g. gp_prior)
"""

from __future__ import annotations

import argparse
import math

import torch

from botorch_nap.benchmark.methods import resolve_checkpoint
from botorch_nap.nn.transformer import NAPTransformer
from botorch_nap.normalization import standardize_history
from botorch_nap.tasks.gp_prior import GPPriorFamily, rff_eval


def true_lengthscales(fam: GPPriorFamily, task_id: int) -> torch.Tensor:
    """Replays :meth:`GPPriorFamily._params`' draws up to the lengthscales (RBF, ARD)."""
    g = torch.Generator().manual_seed(fam.seed * 1_000_003 + task_id)
    torch.randn(1, fam.n_features, fam.dim, generator=g, dtype=torch.float64)
    lo, hi = fam.lengthscale_range
    return lo + (hi - lo) * torch.rand(1, 1, fam.dim, generator=g, dtype=torch.float64)[0, 0]


def gp_nll(Xc, yc, Xt, yt, ls, jitter=1e-6) -> torch.Tensor:
    def k(a, b):
        return torch.exp(-0.5 * (((a[:, None] - b[None]) / ls) ** 2).sum(-1))

    L = torch.linalg.cholesky(k(Xc, Xc) + jitter * torch.eye(len(Xc), dtype=Xc.dtype))
    Ktc = k(Xt, Xc)
    mu = (Ktc @ torch.cholesky_solve(yc[:, None], L))[:, 0]
    var = (1 - (Ktc * torch.cholesky_solve(Ktc.T, L).T).sum(-1)).clamp_min(jitter)
    return (0.5 * torch.log(2 * math.pi * var) + 0.5 * (yt - mu) ** 2 / var).mean()


@torch.no_grad()
def net_nll(net, Xc, yc, Xt, yt) -> torch.Tensor:
    y_norm, mean, std = standardize_history(yc[None])
    logits = net.score(net.encode_history(Xc[None], y_norm), Xt[None]).bar_logits
    return (net.bar.nll(logits, ((yt - mean) / std)[None])[0] + torch.log(std)).mean()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoints", nargs="+")
    p.add_argument("--dim", type=int, default=3)
    p.add_argument("--ns", type=int, nargs="+", default=[5, 15, 30])
    p.add_argument("--targets", type=int, default=200)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    fam = GPPriorFamily(dim=args.dim)
    nets = {
        c: NAPTransformer.load(resolve_checkpoint(c, "np"), expected_dim=args.dim).double()
        for c in args.checkpoints
    }
    print(
        f"{fam.name}, validation functions ({len(fam.split_ids('val'))}); NLL per target "
        f"(lower is better), exact GP = the prior's own posterior"
    )
    print(f"{'n':>4} | {'exact GP':>9} | " + " | ".join(f"{c[-24:]:>24}" for c in nets))
    g = torch.Generator().manual_seed(0)
    for n in args.ns:
        gp, nn_ = [], {c: [] for c in nets}
        for tid in fam.split_ids("val"):
            o, ph, w = fam._params(tid)
            X = torch.rand(1, n + args.targets, args.dim, generator=g, dtype=torch.float64)
            y = rff_eval(X, o[None], ph[None], w[None])[0]
            Xc, yc, Xt, yt = X[0, :n], y[:n], X[0, n:], y[n:]
            gp.append(gp_nll(Xc, yc, Xt, yt, true_lengthscales(fam, tid)))
            for c, net in nets.items():
                nn_[c].append(net_nll(net, Xc, yc, Xt, yt))
        ref = float(torch.stack(gp).mean())
        cells = [
            f"{float(torch.stack(v).mean()):>9.3f} ({float(torch.stack(v).mean()) - ref:+.2f})"
            for v in nn_.values()
        ]
        print(f"{n:>4} | {ref:>9.3f} | " + " | ".join(f"{c:>24}" for c in cells), flush=True)


if __name__ == "__main__":
    main()

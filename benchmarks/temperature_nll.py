"""Is a network's predictive distribution miscalibrated, or just not sharp? Validation NLL of
its bar head with the logits scaled by a temperature factor (``logits * tau``; tau > 1
sharpens), on its own prior: GP-prior functions of the validation split, iid or search-like
contexts of ``n`` points (as in ``np_vs_oracle_gp.py``), all 200 targets and the 20 nearest
the context's best point. If tau = 1 is (nearly) the best, the network is calibrated, and a
gap to the exact GP is a lack of sharpness that no temperature can undo.

Run:  python benchmarks/temperature_nll.py [CKPT] [--dim 3] [--ns 5 15 30 50]
          [--taus 0.8 1 1.2 1.5 2 3]
"""

from __future__ import annotations

import argparse

import torch

from botorch_nap.benchmark.methods import resolve_checkpoint
from botorch_nap.nn.transformer import NAPTransformer
from botorch_nap.normalization import standardize_history
from botorch_nap.tasks.gp_prior import GPPriorFamily


def main() -> None:
    from np_vs_oracle_gp import validation_context  # this folder is on sys.path as a script

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint", nargs="?", default="gp_prior")
    p.add_argument("--dim", type=int, default=3)
    p.add_argument("--ns", type=int, nargs="+", default=[5, 15, 30, 50])
    p.add_argument("--taus", type=float, nargs="+", default=[0.8, 1.0, 1.2, 1.5, 2.0, 3.0])
    p.add_argument("--targets", type=int, default=200)
    p.add_argument("--near", type=int, default=20)
    args = p.parse_args()
    torch.set_num_threads(1)
    fam = GPPriorFamily(dim=args.dim)
    net = NAPTransformer.load(resolve_checkpoint(args.checkpoint, "np"), expected_dim=args.dim)
    net = net.double()
    print(
        f"{fam.name}, validation functions ({len(fam.split_ids('val'))}): NLL per target in the "
        f"functions' units with logits x tau; all {args.targets} targets | the {args.near} "
        "nearest the best point"
    )
    print(f"{'contexts':>8} {'n':>3} | " + " ".join(f"{t:>7g}" for t in args.taus) + " |")
    for contexts in ("iid", "search"):
        for n in args.ns:
            g = torch.Generator().manual_seed(0)
            every = {t: [] for t in args.taus}
            near = {t: [] for t in args.taus}
            for tid in fam.split_ids("val"):
                Xc, yc, Xt, yt = validation_context(fam, tid, n, args.targets, contexts, g)
                y_norm, mean, std = standardize_history(yc[None])
                with torch.no_grad():
                    enc = net.encode_history(Xc[None], y_norm)
                    logits = net.score(enc, Xt[None]).bar_logits
                nearest = (Xt - Xc[yc.argmax()]).norm(dim=-1).argsort()[: args.near]
                for t in args.taus:
                    nll = net.bar.nll(logits * t, ((yt - mean) / std)[None])[0] + torch.log(std)
                    every[t].append(float(nll.mean()))
                    near[t].append(float(nll[nearest].mean()))
            row = " ".join(f"{sum(v) / len(v):>7.3f}" for v in every.values())
            row_near = " ".join(f"{sum(v) / len(v):>7.3f}" for v in near.values())
            print(f"{contexts:>8} {n:>3} | {row} | {row_near}")


if __name__ == "__main__":
    main()

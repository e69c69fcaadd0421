"""How a network predicts from histories longer than any it was trained on.

The shipped networks were trained on contexts of at most 95 points (63 for `synthetic` and
`levy_short`); a long run hands them hundreds or thousands. This measures the shipped
model's posterior mean (``NeuralProcessModel``) on such histories of a BoTorch test function
(maximised): ``F`` spread points (Sobol) plus ``C`` points crowding the optimum (Gaussian,
std ``S`` of the unit box), the way a long search piles up around its incumbent, or ``C = 0``
for a uniform history. Each row scores the predictions at 500 uniform points: Spearman
correlation with the true values and mean absolute error (in the function's units; beside
it the values' std), for the network on the whole history, for the network on the ``F``
spread points alone (what the crowd adds or takes away away from it) and, with ``--gp``, for
BoTorch's ``SingleTaskGP`` fitted on the whole history (slow beyond a few hundred points).

Run:  python benchmarks/long_histories.py [--model gp_prior] [--functions hartmann3 hartmann6]
          [--histories 30:570:0.01 100:900:0.02 600:0:0] [--gp]
"""

from __future__ import annotations

import argparse
import warnings

import torch
from botorch.test_functions import Hartmann
from botorch.utils.sampling import draw_sobol_samples
from scipy.stats import spearmanr

from botorch_nap.context import HistoryScaleWarning
from botorch_nap.models import NeuralProcessModel

FUNCTIONS = {
    "hartmann3": lambda: Hartmann(dim=3, negate=True),
    "hartmann6": lambda: Hartmann(dim=6, negate=True),
}
HISTORIES = ["10:86:0.01", "30:270:0.01", "30:570:0.01", "60:540:0.03", "100:900:0.02", "600:0:0"]


def parse_history(spec: str) -> tuple[int, int, float]:
    """``"F:C:S"`` -> (spread points, crowded points, crowd std)."""
    try:
        f, c, s = spec.split(":")
        out = int(f), int(c), float(s)
    except ValueError:
        raise SystemExit(f"--histories: expected F:C:S (e.g. 30:570:0.01), got {spec!r}") from None
    if out[0] < 2 or out[1] < 0 or out[2] < 0:
        raise SystemExit(f"--histories: need F >= 2, C >= 0, S >= 0, got {spec!r}")
    return out


def history(fn, n_spread: int, n_crowd: int, std: float, seed: int = 0):
    """``F`` Sobol points and ``C`` Gaussian points around the optimum, in the unit box."""
    bounds = fn.bounds.to(torch.float64)
    spread = draw_sobol_samples(bounds, n=n_spread, q=1, seed=seed + 3).squeeze(-2)
    g = torch.Generator().manual_seed(seed)
    opt = torch.as_tensor(fn.optimizers[0], dtype=torch.float64)
    crowd = (opt + std * torch.randn(n_crowd, opt.numel(), generator=g, dtype=torch.float64)).clamp(
        bounds[0], bounds[1]
    )
    X = torch.cat([spread, crowd])
    return X, fn(X).unsqueeze(-1), n_spread


def scores(mean: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    mean, y = mean.flatten(), y.flatten()
    return float(spearmanr(mean, y)[0]), float((mean - y).abs().mean())


def network_mean(model: str, X, Y, bounds, Xte) -> torch.Tensor:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HistoryScaleWarning)
        m = NeuralProcessModel.from_pretrained(model, X, Y, bounds)
        with torch.no_grad():
            return m.posterior(Xte.unsqueeze(-2)).mean


def gp_mean(X, Y, Xte) -> torch.Tensor:
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.transforms import Normalize, Standardize
    from gpytorch.mlls import ExactMarginalLogLikelihood

    gp = SingleTaskGP(
        X, Y, input_transform=Normalize(X.shape[-1]), outcome_transform=Standardize(1)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit_gpytorch_mll(ExactMarginalLogLikelihood(gp.likelihood, gp))
    with torch.no_grad():
        return gp.posterior(Xte.unsqueeze(-2)).mean


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="gp_prior")
    p.add_argument("--functions", nargs="+", default=list(FUNCTIONS), choices=list(FUNCTIONS))
    p.add_argument("--histories", nargs="+", default=HISTORIES)
    p.add_argument("--test-points", type=int, default=500)
    p.add_argument("--gp", action="store_true", help="also a fitted SingleTaskGP (slow)")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    shapes = [parse_history(s) for s in args.histories]
    rows = []
    print(
        f"{args.model}: posterior mean at {args.test_points} uniform points; Spearman with the "
        "true values / mean absolute error (lower is better)"
    )
    head = f"{'function':<10} {'F + C (std)':>18} | {'network, whole history':>22} | "
    head += f"{'network, F alone':>17}"
    print(head + (f" | {'fitted GP, whole':>17}" if args.gp else "") + " | values' std")
    for name in args.functions:
        fn = FUNCTIONS[name]()
        bounds = fn.bounds.to(torch.float64)
        Xte = draw_sobol_samples(bounds, n=args.test_points, q=1, seed=1).squeeze(-2)
        Yte = fn(Xte)
        for n_spread, n_crowd, std in shapes:
            X, Y, F = history(fn, n_spread, n_crowd, std)
            row = {"function": name, "spread": n_spread, "crowd": n_crowd, "std": std}
            row["network"] = scores(network_mean(args.model, X, Y, bounds, Xte), Yte)
            row["spread alone"] = scores(network_mean(args.model, X[:F], Y[:F], bounds, Xte), Yte)
            line = (
                f"{name:<10} {f'{n_spread} + {n_crowd} ({std:g})':>18} | "
                f"{row['network'][0]:>10.3f} / {row['network'][1]:<9.3f} | "
                f"{row['spread alone'][0]:>7.3f} / {row['spread alone'][1]:<7.3f}"
            )
            if args.gp:
                row["gp"] = scores(gp_mean(X, Y, Xte), Yte)
                line += f" | {row['gp'][0]:>7.3f} / {row['gp'][1]:<7.3f}"
            print(line + f" | {float(Yte.std()):.3f}", flush=True)
            rows.append(row)
    return rows


if __name__ == "__main__":
    main()

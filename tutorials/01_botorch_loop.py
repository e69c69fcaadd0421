"""Tutorial 1: NAP, NP-EI and GP-EI in a plain BoTorch loop on Branin (2-D).

Each method is an ordinary BoTorch acquisition function handed to ``optimize_acqf``:

* NAP:   ``NAPAcquisition(network, train_X, train_Y, bounds)``: no surrogate at all;
* NP-EI: ``NPExpectedImprovement.from_network(network, ...)``: the network's bar head as a
  model, with exact expected improvement over its bars;
* GP-EI: ``SingleTaskGP`` + ``fit_gpytorch_mll`` + ``LogExpectedImprovement``.

Networks: the shipped model that accepts 2-d inputs (``gp_prior``, trained on GP-prior
functions of 2 to 6 dims), else *untrained* networks (the script says which). ``gp_prior``
knows nothing of Branin, and on Branin GP-EI is ahead of it (``make demo``: regret AUC 0.0094
vs 0.0068 over 20 steps); the model meta-trained on Branin-like tasks (``synthetic``) is the
one that beats GP-EI there (AUC 2.1x lower in the demo). This script shows the calls.

The networks' continuous search also starts next to the best point so far
(``gen_initial_conditions_near_incumbent``, handed to ``optimize_acqf`` as
``batch_initial_conditions``): BoTorch screens uniform raw samples only, and a network's fine
step next to its incumbent then depends on one of them landing there (README, "Starts next
to the incumbent"). It is an option of the library (off in ``NAP``/``NPEI``, since it hurt on
lcbench's HPO surrogate; on by default for ``gp_prior`` in ``botorch-nap benchmark``, where
it lowered the late regret on GP-prior validation functions). Three seeds of 15 steps are
far too few to show that: this script shows the calls, the benchmark measures them.
``--uniform-starts`` leaves BoTorch's starts to every method. Each (method, seed) run seeds
torch, so a rerun prints the same figures.

Run:  python tutorials/01_botorch_loop.py [--steps 15] [--seeds 3]
"""

from __future__ import annotations

import argparse
import time

import torch
from botorch.acquisition import LogExpectedImprovement
from botorch.fit import fit_gpytorch_mll
from botorch.models import SingleTaskGP
from botorch.models.transforms.input import Normalize
from botorch.optim import optimize_acqf
from botorch.test_functions import Branin
from gpytorch.mlls import ExactMarginalLogLikelihood

from botorch_nap import NAPAcquisition, NAPConfig, NAPTransformer, NPExpectedImprovement
from botorch_nap.acquisition import gen_initial_conditions_near_incumbent


def load_networks() -> tuple[NAPTransformer, NAPTransformer, str]:
    """(nap_net, np_net, description): shipped 2-d checkpoints, or untrained networks."""
    from botorch_nap.pretrained import accepting, checkpoint_path

    # The dimension-agnostic "gp_prior" (2..6 dims, trained on GP-prior functions) first: the
    # other 2-d models are specialists (short budgets on pools, Branin/Hartmann variants).
    entries = sorted(accepting(2, "nap"), key=lambda e: e["name"] != "gp_prior")
    for entry in entries:
        nap = NAPTransformer.load(entry["path"])
        np_net = NAPTransformer.load(checkpoint_path(entry["name"], "np"))
        return nap, np_net, f"shipped model {entry['name']!r} (dims {entry['dims']})"
    torch.manual_seed(0)
    net = NAPTransformer(NAPConfig(dim_x=2))
    return net, net, "UNTRAINED networks (no shipped 2-d checkpoint yet)"


def simple_regret(problem, Y: torch.Tensor) -> float:
    """The best value's distance to the optimum. With ``negate=True`` BoTorch's
    ``optimal_value`` is already the maximised problem's optimum (-0.397887 for Branin)."""
    return float(problem.optimal_value - Y.max())


def main(argv: list[str] | None = None) -> dict[str, list[float]]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=15)
    p.add_argument("--n-init", type=int, default=5)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--restarts", type=int, default=4)
    p.add_argument("--raw-samples", type=int, default=128)
    p.add_argument("--uniform-starts", action="store_true", help="BoTorch's starts for all")
    args = p.parse_args(argv)

    branin = Branin(negate=True)  # maximise -branin; optimum -0.397887
    bounds = branin.bounds.to(torch.float64)
    nap_net, np_net, which = load_networks()
    print(f"Networks: {which}")

    def acqf_for(method: str, X, Y):
        if method == "NAP":
            return NAPAcquisition(nap_net, X, Y, bounds, budget=args.n_init + args.steps)
        if method == "NP-EI":
            return NPExpectedImprovement.from_network(np_net, X, Y, bounds)
        gp = SingleTaskGP(X, Y, input_transform=Normalize(2, bounds=bounds))
        fit_gpytorch_mll(ExactMarginalLogLikelihood(gp.likelihood, gp))
        return LogExpectedImprovement(gp, best_f=Y.max())

    final_regret: dict[str, list[float]] = {}
    for method in ["NAP", "NP-EI", "GP-EI"]:
        regrets, times = [], []
        for seed in range(args.seeds):
            torch.manual_seed(seed)  # the optimiser's raw samples: a rerun repeats the run
            g = torch.Generator().manual_seed(seed)
            X = bounds[0] + torch.rand(args.n_init, 2, generator=g, dtype=torch.float64) * (
                bounds[1] - bounds[0]
            )
            Y = branin(X).unsqueeze(-1)
            for _ in range(args.steps):
                t0 = time.perf_counter()
                acqf = acqf_for(method, X, Y)
                starts = {"raw_samples": args.raw_samples}
                if method != "GP-EI" and not args.uniform_starts:
                    ics = gen_initial_conditions_near_incumbent(
                        acqf, bounds, X, Y, args.restarts, args.raw_samples
                    )
                    # Given starts, BoTorch cannot retry a failed L-BFGS-B run; it would warn.
                    starts = {
                        "batch_initial_conditions": ics,
                        "retry_on_optimization_warning": False,
                    }
                x, _ = optimize_acqf(acqf, bounds=bounds, q=1, num_restarts=args.restarts, **starts)
                times.append(time.perf_counter() - t0)
                X, Y = torch.cat([X, x]), torch.cat([Y, branin(x).unsqueeze(-1)])
            regrets.append(simple_regret(branin, Y))
        final_regret[method] = regrets
        print(
            f"{method:6s} simple regret after {args.steps} steps: "
            f"mean {sum(regrets) / len(regrets):8.4f}  (seeds: "
            + ", ".join(f"{r:.3f}" for r in regrets)
            + f")   {1000 * sum(times) / len(times):7.1f} ms/decision"
        )
    return final_regret


if __name__ == "__main__":
    main()

"""Tutorial 2: NAP in an Ax ``Client``, next to Ax's own GP strategy, on Branin or Hartmann-6.

An Ax user changes one line to run NAP: ``client.set_generation_strategy(
nap_generation_strategy(checkpoint))``. The strategy runs Sobol for ``--n-init`` trials,
then NAP. Its Ax model is the network's bar head (``NeuralProcessModel``), so
``client.predict`` and ``get_best_parameterization`` work as with a GP. Both methods start
from the same seeded Sobol points, so the two columns below differ only after
``--n-init``.

Which network: ``--checkpoint DIR`` if given, else a shipped model that takes the problem's
dimension (``botorch_nap.pretrained.accepting``; the dimension-agnostic ``gp_prior`` first),
else (or with ``--no-shipped``) a tiny neural process pretrained here on GP-prior functions
for ``--train-steps`` steps (the script says so; such a network is a demonstration, not a
tuned optimiser).

Needs the Ax extra: ``pip install -e .[ax]``.

Run:  python tutorials/02_ax_client.py [--problem branin|hartmann6] [--trials 25]
      python tutorials/02_ax_client.py --trials 6 --n-init 3                    # tiny
      python tutorials/02_ax_client.py --trials 6 --n-init 3 --no-shipped --train-steps 20
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from dataclasses import dataclass

import torch
from ax.api.client import Client
from ax.api.configs import RangeParameterConfig
from botorch.test_functions import Branin, Hartmann
from botorch.test_functions.synthetic import SyntheticTestFunction

from ax_integration import fallback_trials, nap_generation_strategy


@dataclass
class Problem:
    """A BoTorch test function as an Ax experiment (minimised, parameters ``x0..x{d-1}``)."""

    name: str
    function: SyntheticTestFunction

    @property
    def dim(self) -> int:
        return self.function.dim

    def parameters(self) -> list[RangeParameterConfig]:
        return [
            RangeParameterConfig(name=f"x{i}", parameter_type="float", bounds=(lo, hi))
            for i, (lo, hi) in enumerate(self.function._bounds)
        ]

    def __call__(self, params: dict) -> float:
        x = torch.tensor([[params[f"x{i}"] for i in range(self.dim)]], dtype=torch.float64)
        return float(self.function.evaluate_true(x))


PROBLEMS = {
    "branin": lambda: Problem("Branin", Branin()),
    "hartmann6": lambda: Problem("Hartmann-6", Hartmann(dim=6)),
}


def find_checkpoint(
    dim: int,
    checkpoint: str | None,
    train_steps: int,
    out_dir: str | None,
    shipped: bool = True,
) -> tuple[str, str]:
    """``(checkpoint, description)``: the given path, a shipped model that takes ``dim``
    inputs (``gp_prior`` first: the others are specialists), or a freshly trained tiny NP."""
    from botorch_nap.pretrained import accepting

    if checkpoint is not None:
        return checkpoint, f"checkpoint {checkpoint}"
    entries = sorted(accepting(dim, "nap"), key=lambda e: e["name"] != "gp_prior")
    if shipped and entries:
        return entries[0]["name"], f"shipped checkpoint {entries[0]['name']!r}"

    from botorch_nap.nn.transformer import NAPConfig, NAPTransformer
    from botorch_nap.tasks import get_family
    from botorch_nap.training.pretrain import pretrain

    # No shipped model for this dimension: pretrain a small neural process on GP-prior
    # functions. Its acquisition head is untrained, so NAP ranks like NP-EI here.
    torch.manual_seed(0)
    net = NAPTransformer(
        NAPConfig(dim_x=dim, d_model=64, n_layers=2, n_heads=4, d_ff=128, n_buckets=64)
    )
    t0 = time.perf_counter()
    pretrain(
        net,
        get_family("gp_prior", dim=dim),
        steps=train_steps,
        lr=1e-3,  # tiny networks learn too slowly at the default 3e-4
        batch_size=32,
        n_points=(8, 48),
        val_every=max(1, min(300, train_steps)),
        progress=False,
        seed=0,
    )
    path = out_dir or tempfile.mkdtemp(prefix=f"nap_tiny_{dim}d_")
    net.save(path, meta={"trained_by": "tutorials/02_ax_client.py", "steps": train_steps})
    return path, (
        f"no shipped {dim}-d model used and no --checkpoint: TRAINED a tiny NP for {train_steps} "
        f"steps ({time.perf_counter() - t0:.0f} s) and saved it to {path}"
    )


def run(problem: Problem, client: Client, trials: int) -> tuple[list[float], float]:
    """Ask-tell loop; returns the best value after each trial and seconds per trial."""
    best, values = [], []
    t0 = time.perf_counter()
    while len(values) < trials:
        for index, params in client.get_next_trials(max_trials=1).items():
            values.append(problem(params))
            client.complete_trial(index, raw_data={"f": values[-1]})
            best.append(min(values))
    return best, (time.perf_counter() - t0) / trials


def main(argv: list[str] | None = None) -> dict[str, list[float]]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--problem", choices=sorted(PROBLEMS), default="branin")
    p.add_argument("--trials", type=int, default=25, help="total trials per method")
    p.add_argument("--n-init", type=int, default=5, help="Sobol trials before the model")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint", default=None, help="NAP checkpoint dir")
    p.add_argument(
        "--no-shipped", action="store_true", help="train a tiny NP even where a model ships"
    )
    p.add_argument("--train-steps", type=int, default=1000, help="if a tiny NP must be trained")
    p.add_argument("--save-checkpoint", default=None, help="where to save a trained tiny NP")
    p.add_argument("--restarts", type=int, default=8, help="NAP acquisition optimiser restarts")
    p.add_argument("--raw-samples", type=int, default=256)
    # Small networks gain nothing from intra-op threads; on a busy machine extra OpenMP
    # threads make each forward pass far slower.
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    if args.trials <= args.n_init:
        p.error("--trials must exceed --n-init")
    torch.set_num_threads(args.threads)
    logging.getLogger("ax").setLevel(logging.WARNING)  # Ax logs every trial at INFO

    problem = PROBLEMS[args.problem]()
    checkpoint, which = find_checkpoint(
        problem.dim, args.checkpoint, args.train_steps, args.save_checkpoint, not args.no_shipped
    )
    print(
        f"Problem: {problem.name} ({problem.dim}-d), minimum {problem.function.optimal_value:.4f}"
    )
    print(f"Network: {which}")

    results, seconds = {}, {}
    for method in ("NAP", "Ax GP"):
        client = Client(random_seed=args.seed)
        client.configure_experiment(
            parameters=problem.parameters(), name=f"{args.problem}_{method}"
        )
        client.configure_optimization(objective="-f")  # minimise f
        if method == "NAP":
            client.set_generation_strategy(
                nap_generation_strategy(
                    checkpoint,
                    n_init=args.n_init,
                    budget=args.trials,
                    seed=args.seed,
                    optimizer_options={
                        "num_restarts": args.restarts,
                        "raw_samples": args.raw_samples,
                    },
                )
            )
        else:  # Ax's default BoTorch strategy, started from the same Sobol points
            client.configure_generation_strategy(
                initialization_budget=args.n_init,
                initialization_random_seed=args.seed,
                initialize_with_center=False,
            )
        results[method], seconds[method] = run(problem, client, args.trials)
        if method == "NAP":
            fell_back = fallback_trials(client)
            if fell_back:
                print(f"NAP: trials {sorted(fell_back)} fell back to Sobol (see warnings)")
            # Ax's model for NAP is the network's bar head: predictions work as with a GP.
            params, observed, index, _ = client.get_best_parameterization(
                use_model_predictions=False
            )
            ((mean, sem),) = (r["f"] for r in client.predict([params]))
            print(
                f"NAP best: trial {index + 1} of the table below (Ax's trial index {index}): "
                f"f = {observed['f'][0]:.4f}; "
                f"the network predicts {mean:.4f} +- {sem:.4f} there"
            )

    print(f"\n{'trial':>5}  {'NAP best':>10}  {'Ax GP best':>10}")
    for t, (a, b) in enumerate(zip(results["NAP"], results["Ax GP"]), start=1):
        mark = "  (Sobol)" if t <= args.n_init else ""
        print(f"{t:5d}  {a:10.4f}  {b:10.4f}{mark}")
    opt = problem.function.optimal_value
    for method, best in results.items():
        print(
            f"{method:6s} final best {best[-1]:.4f} (regret {best[-1] - opt:.4f}), "
            f"{seconds[method]:.2f} s/trial"
        )
    return results


if __name__ == "__main__":
    main()

"""Tutorial 5: categorical design with NAP: CDRH3 binders, and logic-synthesis sequences.

Two combinatorial problems from the NAP paper, where every parameter is a category:

1. **Antibody design** (``antibody`` family): pick 11-residue CDRH3 sequences from an
   antigen's pool of Absolut! binding energies (lower = stronger binding). The antigen is
   from the family's *test* split. NAP, GP-EI with BoTorch's categorical kernel
   (``MixedSingleTaskGP``) and random search start from the same 5 sequences and each
   chooses ``--steps`` more through ``optimize_acqf_discrete`` over the unevaluated pool.
2. **Logic synthesis** (``EDAObjective``): choose 20 ABC operators (``balance``, ``rewrite
   -z``, ...) for an EPFL circuit, evaluated live by ABC (Debian package ``berkeley-abc``);
   QoR = LUTs / LUTs(resyn2) + levels / levels(resyn2), lower is better. Here the loop is an
   Ax ``Client`` with one unordered choice parameter per step, run once with NAP's
   generation strategy and once with Ax's default strategy, from the same Sobol trials.

Networks see each categorical parameter one-hot (``NAPConfig(categories=...)``). Which
network: ``--antibody-checkpoint`` / ``--eda-checkpoint`` if given, else the shipped
``antibody`` / ``eda`` model, else (or with ``--no-shipped``) a tiny neural process pretrained
here on the family's training tasks for ``--train-steps`` steps (the script says so; that is a
demonstration, not a tuned optimiser: use ``botorch-nap fit antibody`` for a real one).

Run:  python tutorials/05_antibody_and_circuits.py [--steps 30] [--trials 25]
      python tutorials/05_antibody_and_circuits.py --steps 3 --trials 6               # tiny
      python tutorials/05_antibody_and_circuits.py --steps 3 --trials 6 --no-shipped \
          --train-steps 10                                         # tiny, trained here
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time

import torch
from ax.api.client import Client
from ax.api.configs import ChoiceParameterConfig

from ax_integration import nap_generation_strategy
from botorch_nap.baselines import NAP, GPEIMixed, OptimizerSettings, RandomSearch
from botorch_nap.benchmark.loop import run_loop
from botorch_nap.nn.transformer import NAPConfig, NAPTransformer
from botorch_nap.pretrained import available, checkpoint_path
from botorch_nap.tasks import get_family
from botorch_nap.tasks.antibody import decode_sequences
from botorch_nap.tasks.eda import OPERATORS, EDAObjective


def find_network(
    name: str, checkpoint: str | None, train_steps: int, shipped: bool = True, **family_kw
):
    """``(network, description, checkpoint for Ax)``: the given checkpoint, the shipped model,
    or a tiny NP trained here (saved to a temporary folder, which Ax's strategy loads)."""
    if checkpoint is not None:
        return NAPTransformer.load(checkpoint), f"checkpoint {checkpoint}", checkpoint
    if shipped and any(e["name"] == name and e["kind"] == "nap" for e in available()):
        net = NAPTransformer.load(checkpoint_path(name, "nap"))
        return net, f"shipped model {name!r}", name
    from botorch_nap.training.pretrain import pretrain

    family = get_family(name, **family_kw)
    torch.manual_seed(0)
    net = NAPTransformer(
        NAPConfig(
            dim_x=family.space.dim,
            d_model=32,
            n_layers=2,
            d_ff=64,
            n_buckets=64,
            categories=family.space.category_counts(),  # one-hot inputs
        )
    )
    t0 = time.perf_counter()
    pretrain(net, family, steps=train_steps, lr=1e-3, n_points=(8, 48), progress=False, seed=0)
    why = "no shipped model used" if shipped is False else f"no shipped {name!r} model"
    return (
        net.eval(),
        f"{why} and no checkpoint: TRAINED a tiny NP for {train_steps} steps "
        f"({time.perf_counter() - t0:.0f} s)",
        str(net.save(tempfile.mkdtemp(prefix=f"nap_{name}_"))),
    )


# ---------------------------------------------------------------------------- antibodies
def antibody(args) -> dict[str, list[float]]:
    family = get_family("antibody", data_dir=args.data_dir)
    antigen = family.split_ids("test")[0]
    task = family.task(antigen)
    net, which, _ = find_network(
        "antibody",
        args.antibody_checkpoint,
        args.train_steps,
        shipped=not args.no_shipped,
        data_dir=args.data_dir,
    )
    print(f"\n== Antibody design: antigen {antigen} ({len(task)} sequences in its pool)")
    print(f"Network: {which}")
    settings = OptimizerSettings(num_restarts=4, raw_samples=64)
    methods = {
        "NAP": NAP(net, budget=5 + args.steps, settings=settings),
        "GP-EI (categorical kernel)": GPEIMixed(family.space.categorical_dims),
        "random": RandomSearch(generator=torch.Generator().manual_seed(args.seed)),
    }
    best = {}
    for label, method in methods.items():
        t0 = time.perf_counter()
        res = run_loop(method, task.evaluate, family.space.bounds, 5, args.steps, task.X, args.seed)
        seconds = (time.perf_counter() - t0) / args.steps
        i = int(res.Y.argmax())
        # The pool stores minus the binding energy: report energies (lower is better).
        best[label] = (-res.best).tolist()
        seq = decode_sequences(res.X[i : i + 1])[0]
        print(f"{label:28s} best energy {-res.Y[i].item():8.2f} ({seq}), {seconds:.2f} s/step")
    print(f"{'':28s} pool's best energy {-task.optimum:8.2f}")
    return best


# ---------------------------------------------------------------------------- circuits
def circuits(args) -> dict[str, list[float]]:
    objective = EDAObjective(args.circuit, data_dir=args.data_dir)
    # Ax's NAP strategy takes a checkpoint folder or a shipped model's name.
    net, which, path = find_network(
        "eda", args.eda_checkpoint, args.train_steps, shipped=not args.no_shipped
    )
    print(f"\n== Logic synthesis: {args.circuit}, 20 ABC operators, QoR (resyn2 = 2.0)")
    print(f"Network: {which}")
    # One unordered choice per step, values in OPERATORS order (sorted): Ax codes them 0..6
    # in that order, the same codes the network was trained on.
    params = [
        ChoiceParameterConfig(
            name=f"s{i + 1}", parameter_type="str", values=list(OPERATORS), is_ordered=False
        )
        for i in range(objective.length)
    ]
    best = {}
    for label in ("NAP", "Ax default"):
        client = Client(random_seed=args.seed)
        client.configure_experiment(parameters=params, name=f"eda_{label.replace(' ', '_')}")
        client.configure_optimization(objective="-qor")  # minimise QoR
        if label == "NAP":
            client.set_generation_strategy(
                nap_generation_strategy(
                    str(path),
                    n_init=args.n_init,
                    budget=args.trials,
                    seed=args.seed,
                    optimizer_options={"num_restarts": 4, "raw_samples": 64},
                )
            )
        else:
            client.configure_generation_strategy(
                initialization_budget=args.n_init,
                initialization_random_seed=args.seed,
                initialize_with_center=False,
            )
        values, t0 = [], time.perf_counter()
        while len(values) < args.trials:
            for index, p in client.get_next_trials(max_trials=1).items():
                values.append(objective.qor([p[f"s{i + 1}"] for i in range(objective.length)]))
                client.complete_trial(index, raw_data={"qor": values[-1]})
        seconds = (time.perf_counter() - t0) / args.trials
        best[label] = [min(values[: i + 1]) for i in range(len(values))]
        print(
            f"{label:12s} best QoR {best[label][-1]:.4f} after {args.trials} trials, "
            f"{seconds:.2f} s/trial"
        )
    return best


def main(argv: list[str] | None = None) -> dict[str, dict[str, list[float]]]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=30, help="antibody steps after 5 initial")
    p.add_argument("--trials", type=int, default=25, help="synthesis trials per method")
    p.add_argument("--n-init", type=int, default=5, help="Sobol trials before the model")
    p.add_argument("--circuit", default="int2float", help="EPFL circuit (eda's test task)")
    p.add_argument("--antibody-checkpoint", default=None)
    p.add_argument("--eda-checkpoint", default=None)
    p.add_argument(
        "--no-shipped", action="store_true", help="train a tiny NP here instead of the shipped"
    )
    p.add_argument("--train-steps", type=int, default=500, help="if a tiny NP must be trained")
    p.add_argument("--data-dir", default=None, help="data root (antibody/, epfl/)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.trials <= args.n_init:
        p.error("--trials must exceed --n-init")
    torch.set_num_threads(1)
    logging.getLogger("ax").setLevel(logging.WARNING)
    from ax.utils.common.logger import set_stderr_log_level

    set_stderr_log_level(logging.WARNING)  # Ax logs every trial at INFO
    return {"antibody": antibody(args), "circuits": circuits(args)}


if __name__ == "__main__":
    main()

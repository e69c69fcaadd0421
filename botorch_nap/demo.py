"""``botorch-nap demo``: the main job, end to end on a synthetic problem (no data files).

NAP, NP-EI, GP-EI and random search run side by side through the public BoTorch route
(``optimize_acqf`` / ``optimize_acqf_discrete``) on Branin, continuous and as a pool of
candidates, from the same initial points; a table of simple regret and decision time is
printed. Networks come from a shipped 2-d checkpoint when one exists; until one ships, a
small neural process is pretrained here for ``--pretrain-steps`` steps on 2-d GP-prior
functions (about half a minute) and used for both NAP and NP-EI (the output says so).
"""

from __future__ import annotations

import argparse

import torch
from botorch.test_functions import Branin
from tqdm.auto import tqdm

from botorch_nap.baselines import GPEI, NAP, NPEI, OptimizerSettings, RandomSearch
from botorch_nap.benchmark.loop import run_loop
from botorch_nap.nn.transformer import NAPConfig, NAPTransformer


def _networks(pretrain_steps: int) -> tuple[NAPTransformer, NAPTransformer, str]:
    from botorch_nap.pretrained import available

    shipped = {(e["name"], e["kind"]): e for e in available() if e["dim_x"] == 2}
    for (name, kind), e in shipped.items():
        if kind == "nap":
            np_e = shipped.get((name, "np"), e)
            nap, np_net = NAPTransformer.load(e["path"]), NAPTransformer.load(np_e["path"])
            return nap, np_net, f"shipped checkpoint {name!r}"
    torch.manual_seed(0)
    net = NAPTransformer(NAPConfig(dim_x=2, d_model=64, n_layers=2, d_ff=128, n_buckets=64))
    if pretrain_steps <= 0:
        return net, net, "UNTRAINED networks (no shipped 2-d checkpoint yet)"
    from botorch_nap.tasks import get_family
    from botorch_nap.training.pretrain import pretrain

    print(
        f"No shipped 2-d checkpoint yet: pretraining a small NP on 2-d GP-prior functions "
        f"for {pretrain_steps} steps..."
    )
    m = pretrain(
        net,
        get_family("gp_prior", dim=2),
        steps=pretrain_steps,
        lr=1e-3,
        n_points=(8, 48),
        val_every=max(pretrain_steps // 4, 1),
        seed=0,
    )
    net.eval()
    # No RL stage has run, so NAP's acquisition head is exactly its NP-EI warm start.
    return (
        net,
        net,
        (
            f"a small NP pretrained here ({m['steps']} steps, validation NLL "
            f"{m['best_val_nll']:.2f}); NAP = its untrained-RL head, i.e. NP-EI"
        ),
    )


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(prog="botorch-nap demo", description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--n-init", type=int, default=5)
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--pool-size", type=int, default=1000)
    p.add_argument(
        "--pretrain-steps",
        type=int,
        default=1000,
        help="NP pretraining steps when no checkpoint ships (0: untrained)",
    )
    args = p.parse_args(argv)

    branin = Branin(negate=True)
    bounds = branin.bounds.to(torch.float64)
    optimum = float(-branin.optimal_value)
    g = torch.Generator().manual_seed(1234)
    pool = bounds[0] + torch.rand(args.pool_size, 2, generator=g, dtype=torch.float64) * (
        bounds[1] - bounds[0]
    )
    nap_net, np_net, which = _networks(args.pretrain_steps)
    print(
        f"botorch-nap demo: Branin (2-d), {args.n_init} initial points + {args.steps} steps, "
        f"{args.seeds} seeds\nNetworks: {which}"
    )
    settings = OptimizerSettings(num_restarts=4, raw_samples=128)
    budget = args.n_init + args.steps
    methods = {
        "NAP": lambda: NAP(nap_net, budget=budget, settings=settings),
        "NP-EI": lambda: NPEI(np_net, settings=settings),
        "GP-EI": lambda: GPEI(settings=settings),
        "random": lambda: RandomSearch(generator=torch.Generator().manual_seed(0)),
    }
    results: dict = {}
    total = len(methods) * 2 * args.seeds
    with tqdm(total=total, desc="demo runs") as bar:
        for space, cands in [("continuous", None), (f"pool {args.pool_size}", pool)]:
            for name, make in methods.items():
                regrets, times = [], []
                for seed in range(args.seeds):
                    res = run_loop(make(), branin, bounds, args.n_init, args.steps, cands, seed)
                    regrets.append(optimum - float(res.best[-1]))
                    times.extend(res.decision_s)
                    bar.update(1)
                results[(space, name)] = (sum(regrets) / len(regrets), sum(times) / len(times))
    print(f"\n{'space':<12} {'method':<8} {'mean simple regret':>20} {'ms / decision':>15}")
    for (space, name), (reg, t) in results.items():
        print(f"{space:<12} {name:<8} {reg:>20.4f} {1000 * t:>15.1f}")
    return results

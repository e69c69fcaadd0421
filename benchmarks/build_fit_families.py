"""Own-data folders for checking ``botorch-nap fit`` on families nobody tuned it for (issue 17).

Each family is written in the users' own-data format (``space.json`` + one ``.npz`` pool per
task, with an explicit train / val / test split), so that ``fit`` sees exactly what a user's
folder would give it. None of these was used to set fit's rules:

==================  ==========================================================================
``ackley4``         4-d Ackley variants (multimodal), shifts up to 0.2, scales 0.8-1.2; 50/10/20
``levy3``           3-d Levy variants (multimodal), same distribution; 50/10/20
``styblinski5``     5-d Styblinski-Tang variants; 50/10/20
``hartmann6_few``   6-d Hartmann variants, few tasks: 10/3/10
``rbv2_rpart``      YAHPO rbv2_rpart instances sampled as pools (the surrogate's own split)
==================  ==========================================================================

Every split draws from the same distribution (a user's next task comes from the family they
trained on). Pools are uniform in the box, ``--points`` per task (default 1000).

Run:  python benchmarks/build_fit_families.py --out ~/fit_families [--only ackley4 levy3]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from tqdm.auto import tqdm

from botorch_nap.tasks.own_data import write_own_data

SYNTHETIC = {
    "ackley4": dict(function="ackley", dim=4, n=(50, 10, 20)),
    "levy3": dict(function="levy", dim=3, n=(50, 10, 20)),
    "styblinski5": dict(function="styblinski_tang", dim=5, n=(50, 10, 20)),
    "hartmann6_few": dict(function="hartmann6", dim=None, n=(10, 3, 10)),
}
FAMILIES = (*SYNTHETIC, "rbv2_rpart")


def build_synthetic(name: str, out: Path, points: int, seed: int) -> Path:
    from botorch_nap.tasks.synthetic import SyntheticFamily

    spec = SYNTHETIC[name]
    n_train, n_val, n_test = spec["n"]
    fam = SyntheticFamily(
        spec["function"],
        dim=spec["dim"],
        shift=0.2,
        test_shift=0.2,
        scale_range=(0.8, 1.2),
        n_train=n_train,
        n_val=n_val,
        n_test=n_test,
        seed=seed,
    )
    g = torch.Generator().manual_seed(seed)
    tasks, split = {}, {}
    for s in ("train", "val", "test"):
        split[s] = []
        for tid in tqdm(fam.split_ids(s), desc=f"{name} {s}", leave=False):
            X = torch.rand(points, fam.space.dim, generator=g, dtype=torch.float64)
            y = fam.task(tid).evaluate(X)
            key = f"{s}_{tid}"
            tasks[key] = (X.numpy(), y.numpy())
            split[s].append(key)
    params = [{"name": n, "type": "float", "lower": 0.0, "upper": 1.0} for n in fam.space.names]
    return write_own_data(out / name, tasks, params, name=name, split=split)


def build_yahpo(name: str, out: Path, points: int, seed: int, data_dir: str | None) -> Path:
    from botorch_nap.tasks import get_family

    fam = get_family(name, data_dir=data_dir)
    g = torch.Generator().manual_seed(seed)
    tasks, split = {}, {}
    for s in ("train", "val", "test"):
        split[s] = []
        for tid in tqdm(fam.split_ids(s), desc=f"{name} {s}", leave=False):
            X = fam.space.sample_uniform(points, generator=g)
            y = fam.task(tid).evaluate(X)
            key = f"{s}_{tid}"
            tasks[key] = (X.numpy(), y.numpy())
            split[s].append(key)
    params = []
    for j, pname in enumerate(fam.space.names):
        lo, hi = (float(v) for v in fam.space.bounds[:, j])
        if j in fam.space.categorical_dims:
            k = int(round(hi)) + 1
            params.append({"name": pname, "type": "categorical", "choices": list(range(k))})
        elif j in fam.space.integer_dims:
            params.append({"name": pname, "type": "int", "lower": lo, "upper": hi})
        else:
            params.append({"name": pname, "type": "float", "lower": lo, "upper": hi})
    return write_own_data(out / name, tasks, params, name=name, split=split)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--only", nargs="+", choices=FAMILIES, default=list(FAMILIES))
    p.add_argument("--points", type=int, default=1000)
    p.add_argument("--seed", type=int, default=17)
    p.add_argument("--data-dir", default=None, help="data root for YAHPO")
    args = p.parse_args()
    out = Path(args.out).expanduser()
    for name in args.only:
        if (out / name / "space.json").is_file():
            print(f"{name}: exists, skipped")
            continue
        if name in SYNTHETIC:
            path = build_synthetic(name, out, args.points, args.seed)
        else:
            path = build_yahpo(name, out, args.points, args.seed, args.data_dir)
        print(f"{name}: {path}")


if __name__ == "__main__":
    main()

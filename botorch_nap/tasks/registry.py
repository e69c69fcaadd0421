"""Family registry: ``get_family(name)`` and the ``botorch-nap tasks`` table.

Names: ``gp_prior`` (kw ``dim``, ``kernel``, ...), the synthetic functions of
:data:`~botorch_nap.tasks.synthetic.SYNTHETIC_NAMES`, ``synthetic_mix`` (kw ``functions``:
several of them as one variable-dimension family), ``hpobench_xgb``, ``antibody`` (CDRH3
design, categorical), ``eda`` (ABC synthesis sequences on EPFL circuits, categorical;
kw ``pools``), the YAHPO scenarios
``lcbench``, ``rbv2_rpart``, ``rbv2_xgboost``, ``iaml_glmnet``, or a path to a folder of
the user's own data (:mod:`botorch_nap.tasks.own_data`). ``augment=True`` (or a dict of
:class:`~botorch_nap.tasks.augment.AugmentedFamily` options) wraps the family in GP-posterior
task augmentation.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
from collections.abc import Callable
from pathlib import Path

from botorch_nap.tasks.base import TaskFamily
from botorch_nap.tasks.paths import data_file_exists

YAHPO_NAMES = ("lcbench", "rbv2_rpart", "rbv2_xgboost", "iaml_glmnet")
DATA_FILES = {
    "hpobench_xgb": "hpobench_xgb/hpobench_xgb.npz",
    "antibody": "antibody/absolut_energies.csv.gz",
    **{n: f"yahpo/{n}/model.onnx" for n in YAHPO_NAMES},
}


def parse_family_kwargs(items: list[str] | None) -> dict:
    """``--family-kw`` items -> family options, the same for every command.

    ``["dim=3", "kernel=rbf", "lengthscale_range=0.1,1.0"]`` -> ``{"dim": 3, "kernel": "rbf",
    "lengthscale_range": [0.1, 1.0]}``: values parsed as JSON when possible, and
    comma-separated numbers as a list (no brackets, which shells treat as glob patterns).
    Other comma-separated values stay strings (e.g. ``functions=branin,hartmann3``).
    Raises ``ValueError`` for an item without ``=`` and for a key given twice with
    different values (commands take the items after one ``--family-kw`` or several alike).
    """

    def value(v: str):
        try:
            return json.loads(v)
        except json.JSONDecodeError:
            return v

    def is_number(x) -> bool:
        return isinstance(x, (int, float)) and not isinstance(x, bool)

    out = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--family-kw expects KEY=VALUE, got {item!r}")
        parsed = value(raw)
        if isinstance(parsed, str) and "," in raw:
            parts = [value(part) for part in raw.split(",")]
            if all(is_number(x) for x in parts):
                parsed = parts
        if key in out and out[key] != parsed:
            raise ValueError(f"--family-kw {key} given twice: {out[key]!r} and {parsed!r}")
        out[key] = parsed
    return out


def family_names() -> list[str]:
    from botorch_nap.tasks.synthetic import SYNTHETIC_NAMES

    return [
        "gp_prior",
        *SYNTHETIC_NAMES,
        "synthetic_mix",
        "hpobench_xgb",
        "antibody",
        "eda",
        *YAHPO_NAMES,
    ]


def get_family(
    name: str,
    data_dir: str | os.PathLike | None = None,
    augment: bool | dict = False,
    **kw,
) -> TaskFamily:
    """Build a task family by name (see module docstring).

    Args:
        name: a registered family name, or a path to an own-data folder.
        data_dir: data root for file-backed families (else ``BOTORCH_NAP_DATA`` or
            ``../shared/data``).
        augment: wrap in :class:`~botorch_nap.tasks.augment.AugmentedFamily` (a dict is
            passed as its keyword arguments).
        **kw: forwarded to the family's constructor (e.g. ``dim=4`` for ``gp_prior``).
    """
    family = _build(name, data_dir, **kw)
    if augment:
        from botorch_nap.tasks.augment import AugmentedFamily

        family = AugmentedFamily(family, **(augment if isinstance(augment, dict) else {}))
    return family


def _build(name: str, data_dir, **kw) -> TaskFamily:
    build = _constructor(name, data_dir)
    try:
        return build(**kw)
    except TypeError as e:
        # A misspelt or foreign option (``--family-kw bogus=1``): name the ones it has.
        if "unexpected keyword argument" not in str(e):
            raise
        params = inspect.signature(build).parameters.values()
        if any(p.kind == p.VAR_KEYWORD for p in params):
            # Options passed through to another function: its message names the one.
            raise ValueError(f"task family {name!r}: {e}") from e
        options = [
            p.name
            for p in params
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "data_dir"
        ]
        unknown = sorted(set(kw) - set(options))
        if not unknown:
            raise  # raised further in, not by a foreign option: as it is
        raise ValueError(
            f"task family {name!r} has no option {', '.join(map(repr, unknown))}; "
            f"its options: {', '.join(options) or 'none'}"
        ) from e


def _constructor(name: str, data_dir) -> Callable[..., TaskFamily]:
    """The callable that builds family ``name`` from its keyword options."""
    from botorch_nap.tasks.synthetic import SYNTHETIC_NAMES, SyntheticFamily

    if name == "gp_prior":
        from botorch_nap.tasks.gp_prior import GPPriorFamily

        return GPPriorFamily
    if name in SYNTHETIC_NAMES:
        return functools.partial(SyntheticFamily, name)
    if name == "synthetic_mix":
        from botorch_nap.tasks.synthetic import SyntheticMixture

        return SyntheticMixture
    if name == "hpobench_xgb":
        from botorch_nap.tasks.pools import load_hpobench_xgb

        return functools.partial(load_hpobench_xgb, data_dir)
    if name == "antibody":
        from botorch_nap.tasks.antibody import load_antibody

        return functools.partial(load_antibody, data_dir)
    if name == "eda":
        from botorch_nap.tasks.eda import load_eda

        return load_eda
    if name in YAHPO_NAMES:
        from botorch_nap.tasks.yahpo import YahpoFamily

        return functools.partial(YahpoFamily, name, data_dir=data_dir)
    if os.sep in name or "/" in name or Path(name).is_dir():
        from botorch_nap.tasks.own_data import load_own_data

        return functools.partial(load_own_data, name)
    raise KeyError(
        f"unknown task family {name!r}; known: {', '.join(family_names())}, "
        "or a path to a folder of your own data (see botorch_nap/tasks/OWN_DATA.md)"
    )


def list_families(data_dir: str | os.PathLike | None = None) -> list[dict]:
    """One dict per registered family: ``name, kind`` (synthetic / pool / surrogate),
    ``dims, n_train, n_val, n_test, data_found`` (``None`` for families that need no
    files), ``needs`` (the data file). Builds no tasks; missing data gives ``None`` sizes.
    For synthetic families ``n_train`` counts the fixed tasks ("+fresh": training batches
    draw new functions)."""
    from botorch_nap.tasks.synthetic import SYNTHETIC_NAMES

    rows = []
    for name in family_names():
        needs = DATA_FILES.get(name)
        found = None if needs is None else data_file_exists(needs, data_dir)
        if name == "eda":
            from botorch_nap.tasks.eda import SHIPPED_POOLS

            # Pools ship with the package; live evaluation needs the circuits (and ABC).
            needs = "eda_pools (shipped) + epfl/*.aig, berkeley-abc for live runs"
            found = (SHIPPED_POOLS / "space.json").is_file() and data_file_exists(
                "epfl/ctrl.aig", data_dir
            )
        row = {"name": name, "dims": None, "n_train": None, "n_val": None, "n_test": None}
        kind = (
            "pool"
            if name in ("hpobench_xgb", "antibody", "eda")
            else "surrogate"
            if name in YAHPO_NAMES
            else "synthetic"
        )
        row.update({"kind": kind, "data_found": found})
        if found is not False:
            kw = {"dim": 2} if name == "gp_prior" else {}
            fam = get_family(name, data_dir=data_dir, **kw)
            row.update({k: v for k, v in fam.describe().items() if k not in ("name", "pool")})
            if name == "gp_prior":
                row["dims"] = "any (dim=)"
            elif name == "synthetic_mix":
                row["dims"] = f"{fam.min_dim}..{fam.dim} (functions=)"
            elif name in ("ackley", "levy", "styblinski_tang"):
                row["dims"] = "any (dim=, default 2)"
            if name in ("gp_prior", "synthetic_mix") or name in SYNTHETIC_NAMES:
                # Training batches draw fresh functions; n_train counts the fixed ones.
                row["n_train"] = f"{row['n_train']} (+fresh)"
        row["needs"] = needs or "-"
        rows.append(row)
    return rows


def format_families_table(rows: list[dict]) -> str:
    """A plain-text table of :func:`list_families` rows."""
    cols = ["name", "kind", "dims", "n_train", "n_val", "n_test", "data_found", "needs"]

    def cell(v) -> str:
        if v is None:
            return "-"
        if v is True:
            return "yes"
        if v is False:
            return "NO"
        return str(v)

    table = [cols] + [[cell(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(cols))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)

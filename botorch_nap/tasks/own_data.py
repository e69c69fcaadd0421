"""Users' own evaluated data as a pool task family.

Folder format (full description with an example in ``OWN_DATA.md`` next to this file)::

    my_data/
      space.json        the search space, the objective and its direction, optional split
      task_a.csv        one file per task: CSV with a header, or .npz with arrays X and y
      task_b.npz
      ...

``space.json``::

    {
      "name": "my_family",                     # optional, default: the folder name
      "objective": "accuracy",                 # the CSV column holding the objective
      "minimize": false,                       # true: lower is better (we negate it)
      "parameters": [                          # order = column order of X
        {"name": "lr", "type": "float", "lower": 1e-4, "upper": 0.1, "log": true},
        {"name": "layers", "type": "int", "lower": 1, "upper": 5},
        {"name": "optimizer", "type": "categorical", "choices": ["adam", "sgd"]}
      ],
      "split": {"train": ["task_a"], "val": [], "test": ["task_b"]}   # optional
    }

* Task ids are the file names without extension. Without ``"split"``, ids are sorted and
  split 70/10/20 by :func:`~botorch_nap.tasks.base.deterministic_split`.
* CSV: one column per parameter (by name) plus the objective column; other columns are
  ignored; categorical cells hold the choice strings (or their 0-based codes).
* NPZ: ``X`` (``n x d``, raw units, parameter order, categoricals as 0-based codes) and ``y``.

Categorical choices are coded in their sorted order whatever order ``space.json`` lists them
(codes read from files are recoded), so two listings of one space give the same points.
* ``lower``/``upper`` may be omitted for float/int parameters: they are then taken from the
  data (min/max over all tasks). ``"log": true`` puts the parameter in log10 space (values
  must be > 0). Rows with a missing (empty / NaN) value are dropped with a warning.
"""

from __future__ import annotations

import csv
import json
import math
import os
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

from botorch_nap.tasks.base import SearchSpace, deterministic_split
from botorch_nap.tasks.pools import PoolFamily

SPACE_FILE = "space.json"

#: What ``space.json`` may hold, at the top and per parameter: anything else is a typo or
#: another library's format, which would otherwise be ignored without a word.
SPACE_KEYS = ("name", "objective", "minimize", "parameters", "split", "description", "tasks")
PARAMETER_KEYS = ("name", "type", "lower", "upper", "log", "choices")
#: Keys of other formats that mean something here under another name.
KEY_HINTS = {
    "maximize": 'use "minimize": false (the default) or true',
    "bounds": 'give "lower" and "upper" per parameter (omit both to take them from the data)',
    "values": 'give a categorical parameter\'s "choices"',
    "parameter_type": 'use "type": "float", "int" or "categorical"',
    "log_scale": 'use "log": true',
}
#: Given bounds that leave out more than this share of a parameter's values are a mistake,
#: not a few stray rows to clip.
MAX_OUTSIDE_SHARE = 0.5


def _unknown(keys: Iterable[str], allowed: tuple[str, ...], where: str) -> None:
    extra = [k for k in keys if k not in allowed]
    if extra:
        hints = "; ".join(f"{k!r}: {KEY_HINTS[k]}" for k in extra if k in KEY_HINTS)
        raise ValueError(
            f"{where}: unknown key(s) {extra} (allowed: {list(allowed)})"
            + (f"; {hints}" if hints else "")
        )


def _check_space(spec: object, spec_path: Path) -> None:
    """``ValueError`` naming the problem where ``space.json`` is not what this module reads:
    unknown keys, strings where JSON booleans belong, parameters without a name or type."""
    if not isinstance(spec, dict):
        raise ValueError(f"{spec_path}: expected a JSON object, got {type(spec).__name__}")
    _unknown(spec, SPACE_KEYS, str(spec_path))
    if "minimize" in spec and not isinstance(spec["minimize"], bool):
        raise ValueError(
            f'{spec_path}: "minimize" must be the JSON boolean true or false, got '
            f"{spec['minimize']!r}"
        )
    params = spec.get("parameters")
    if not isinstance(params, list) or not params:
        raise ValueError(f'{spec_path}: "parameters" must be a non-empty list')
    for i, p in enumerate(params):
        if not isinstance(p, dict) or "name" not in p:
            raise ValueError(f'{spec_path}: parameter {i} needs a "name"')
        where = f"{spec_path}: parameter {p['name']!r}"
        _unknown(p, PARAMETER_KEYS, where)
        kind = p.get("type", "float")
        if kind not in ("float", "int", "categorical"):
            raise ValueError(f"{where}: type must be float, int or categorical, got {kind!r}")
        if "log" in p and not isinstance(p["log"], bool):
            raise ValueError(
                f'{where}: "log" must be the JSON boolean true or false, got {p["log"]!r}'
            )
        if kind == "categorical" and not (isinstance(p.get("choices"), list) and p["choices"]):
            raise ValueError(f'{where}: a categorical parameter needs a list of "choices"')
        for bound in ("lower", "upper"):
            value = p.get(bound)
            if bound in p and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise ValueError(f'{where}: "{bound}" must be a number, got {value!r}')
    if "tasks" in spec and not isinstance(spec["tasks"], list):
        raise ValueError(f'{spec_path}: "tasks" must be a list of task ids')
    split = spec.get("split")
    if split is not None:
        if not isinstance(split, dict):
            raise ValueError(f'{spec_path}: "split" must map train/val/test to task ids')
        _unknown(split, ("train", "val", "test"), f"{spec_path}: split")


def _read_task(path: Path, params: list[dict], objective: str) -> tuple[np.ndarray, np.ndarray]:
    """Raw ``X`` (``n x d``, categoricals as codes) and ``y`` (``n``) of one task file."""
    if path.suffix == ".npz":
        with np.load(path) as z:
            if "X" not in z or "y" not in z:
                raise ValueError(f"{path}: an npz task file needs arrays 'X' and 'y'")
            X, y = np.asarray(z["X"], dtype=np.float64), np.asarray(z["y"], dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(params) or y.shape != X.shape[:1]:
            raise ValueError(
                f"{path}: X must be n x {len(params)} and y n; got {X.shape}, {y.shape}"
            )
        return X, y
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise ValueError(f"{path}: no rows")
    missing = [c for c in [p["name"] for p in params] + [objective] if c not in rows[0]]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; header is {list(rows[0])}")

    def number(v: str, row: int, column: str) -> float:
        if v is None or v.strip() in ("", "nan", "NaN", "NA"):
            return math.nan
        try:
            return float(v)
        except ValueError:
            hint = "" if column == objective else ' (a categorical one needs "type": "categorical")'
            raise ValueError(
                f"{path}: line {row + 2}, column {column!r}: {v!r} is not a number{hint}"
            ) from None

    X = np.empty((len(rows), len(params)))
    for j, p in enumerate(params):
        col = [r[p["name"]] for r in rows]
        if p["type"] == "categorical":
            choices = [str(c) for c in p["choices"]]
            codes = []
            for v in col:
                if v in choices:
                    codes.append(choices.index(v))
                elif v.strip().lstrip("-").isdigit() and 0 <= int(v) < len(choices):
                    codes.append(int(v))
                elif v.strip() == "":
                    codes.append(math.nan)
                else:
                    raise ValueError(f"{path}: {p['name']}={v!r} is not one of {choices}")
            X[:, j] = codes
        else:
            X[:, j] = [number(v, i, p["name"]) for i, v in enumerate(col)]
    y = np.array([number(r[objective], i, objective) for i, r in enumerate(rows)])
    return X, y


def load_own_data(folder: str | os.PathLike, name: str | None = None) -> PoolFamily:
    """A :class:`~botorch_nap.tasks.pools.PoolFamily` from a folder (format: module docstring).

    Raises:
        FileNotFoundError: the folder or its ``space.json`` is missing, or it has no task files.
        ValueError: a malformed description or task file (the message names the file).
    """
    folder = Path(folder).expanduser()
    spec_path = folder / SPACE_FILE
    if not spec_path.exists():
        raise FileNotFoundError(
            f"own-data folder {folder}: expected {spec_path} describing the space "
            "(see botorch_nap/tasks/OWN_DATA.md)"
        )
    try:
        spec = json.loads(spec_path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{spec_path}: not valid JSON ({e})") from None
    _check_space(spec, spec_path)
    params: list[dict] = spec["parameters"]
    objective = spec.get("objective", "y")
    sign = -1.0 if spec.get("minimize", False) else 1.0
    files = sorted(p for p in folder.iterdir() if p.suffix in (".csv", ".npz"))
    if not files:
        raise FileNotFoundError(f"own-data folder {folder}: no .csv or .npz task files")

    raw: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for f in files:
        X, y = _read_task(f, params, objective)
        keep = np.isfinite(X).all(1) & np.isfinite(y)
        if not keep.all():
            infinite = (np.isinf(X).any(1) | np.isinf(y)) & ~keep
            what = f"{int((~keep).sum())} row(s) with missing values"
            if infinite.any():
                what += f" ({int(infinite.sum())} of them infinite)"
            warnings.warn(f"{f}: dropped {what}", stacklevel=2)
        if not keep.any():
            raise ValueError(f"{f}: no complete rows")
        if f.stem in raw:
            raise ValueError(f"{folder}: two task files named {f.stem!r}")
        raw[f.stem] = (X[keep], y[keep])

    listed_tasks = spec.get("tasks")
    if listed_tasks is not None:
        absent = sorted(set(map(str, listed_tasks)) - set(raw))
        if absent:
            raise ValueError(f'{spec_path}: "tasks" lists {absent}, which have no file')

    # Categorical codes follow the sorted order of the choices, not their listing order, so
    # that two listings of one space give the same coded points (and the same model inputs).
    choice_names: dict[int, list[str]] = {}
    for j, p in enumerate(params):
        if p.get("type") == "categorical":
            listed = [str(c) for c in p["choices"]]
            if len(set(listed)) != len(listed):
                raise ValueError(f"{spec_path}: parameter {p['name']!r} repeats a choice")
            order = sorted(range(len(listed)), key=lambda i: listed[i])
            rank = np.empty(len(listed))
            rank[order] = np.arange(len(listed))
            for tid, (X, _) in raw.items():
                col = X[:, j]
                if not (np.isin(col, np.arange(len(listed)))).all():
                    raise ValueError(
                        f"{folder}: task {tid!r}, parameter {p['name']!r}: categorical codes "
                        f"must be integers 0..{len(listed) - 1}"
                    )
                X[:, j] = rank[col.astype(int)]
            choice_names[j] = [listed[i] for i in order]

    if all(np.ptp(y) == 0 for _, y in raw.values()):
        raise ValueError(
            f"{folder}: the objective {objective!r} is constant within every task: there is "
            "nothing to learn or optimise"
        )
    allX = np.concatenate([X for X, _ in raw.values()])
    lo, hi, ints, cats, logs, names = [], [], [], {}, [], []
    for j, p in enumerate(params):
        names.append(p["name"])
        kind = p.get("type", "float")
        if kind == "categorical":
            lo.append(0.0)
            hi.append(float(len(p["choices"]) - 1))
            cats[j] = len(p["choices"])
            continue
        a = float(p["lower"]) if "lower" in p else float(allX[:, j].min())
        b = float(p["upper"]) if "upper" in p else float(allX[:, j].max())
        if p.get("log", False):
            if a <= 0 or (allX[:, j] <= 0).any():
                raise ValueError(f"{spec_path}: log parameter {p['name']!r} needs values > 0")
            a, b = math.log10(a), math.log10(b)
            logs.append(j)
        elif kind == "int":  # _check_space has refused any type but float, int, categorical
            ints.append(j)
        if not b > a:
            raise ValueError(f"{spec_path}: parameter {p['name']!r} has an empty range [{a}, {b}]")
        col = np.log10(allX[:, j]) if p.get("log", False) else allX[:, j]
        share = float(((col < a - 1e-9) | (col > b + 1e-9)).mean())
        if share > MAX_OUTSIDE_SHARE:
            raise ValueError(
                f"{spec_path}: parameter {p['name']!r}: {share:.0%} of the rows lie outside "
                f"its bounds [{p.get('lower')}, {p.get('upper')}] (the data span "
                f"[{allX[:, j].min():g}, {allX[:, j].max():g}]): fix the bounds, or omit "
                "them to take the data's range"
            )
        lo.append(a)
        hi.append(b)
    space = SearchSpace(
        torch.tensor([lo, hi], dtype=torch.float64), names, ints, cats, logs, choice_names
    )

    pools = {}
    for tid, (X, y) in raw.items():
        Xt = torch.from_numpy(X.copy())
        if logs:
            Xt[:, logs] = Xt[:, logs].log10()
        outside = ((Xt < space.bounds[0] - 1e-9) | (Xt > space.bounds[1] + 1e-9)).any(1)
        if outside.any():
            warnings.warn(
                f"{tid}: {int(outside.sum())} row(s) outside the bounds were clipped", stacklevel=2
            )
        pools[tid] = (Xt.clamp(space.bounds[0], space.bounds[1]), sign * torch.from_numpy(y))

    if "split" in spec:
        splits = {s: [str(t) for t in spec["split"].get(s, [])] for s in ("train", "val", "test")}
    else:
        splits = deterministic_split(sorted(pools))
    return PoolFamily(name or spec.get("name", folder.name), space, pools, splits)


def write_own_data(
    folder: str | os.PathLike,
    tasks: dict[str, tuple[np.ndarray, np.ndarray]],
    parameters: list[dict],
    name: str | None = None,
    objective: str = "y",
    minimize: bool = False,
    split: dict[str, list[str]] | None = None,
) -> Path:
    """Write ``{task_id: (X n x d, y n)}`` as an own-data folder (``space.json`` + one ``.npz``
    per task) that :func:`load_own_data` reads back; returns the folder.

    ``parameters`` as in ``space.json`` (raw units, categoricals as 0-based codes in ``X``).
    """
    folder = Path(folder).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    for tid, (X, y) in tasks.items():
        X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float).reshape(-1)
        if X.ndim != 2 or X.shape[1] != len(parameters) or X.shape[0] != y.shape[0]:
            raise ValueError(
                f"task {tid!r}: X must be n x {len(parameters)} and y n, got "
                f"{X.shape} and {y.shape}"
            )
        np.savez(folder / f"{tid}.npz", X=X, y=y)
    spec = {
        "name": name or folder.name,
        "objective": objective,
        "minimize": minimize,
        "parameters": parameters,
    }
    if split is not None:
        spec["split"] = split
    (folder / SPACE_FILE).write_text(json.dumps(spec, indent=2))
    return folder

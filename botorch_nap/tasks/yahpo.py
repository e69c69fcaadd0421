"""YAHPO Gym surrogate families, evaluated with ``onnxruntime`` alone (extra ``[data]``).

Files: ``<data>/yahpo/scenarios.json`` and ``<data>/yahpo/<scenario>/{model.onnx,
config_space.json, encoding.json}`` (YAHPO Gym 1.0.2 surrogates, slds-lmu/yahpo_data). We do
not depend on ``yahpo-gym`` (it pins numpy<2); instead we reproduce its input encoding:

* ``x_cont`` (float32, ``n x n_cont``): raw parameter values in the scenario's ``cont_names``
  order; fidelity parameters at their maximum; inactive or missing parameters 0.0.
* ``x_cat`` (int32, ``n x n_cat``): categorical values in ``cat_names`` order, coded through
  ``encoding.json`` (the OpenML task id included); inactive values coded as ``"#na#"``.

Search space (one per scenario): every hyperparameter except the task id and the fidelities.
Log-scaled parameters are in log10 space (``log_dims``); non-log integer parameters are
``integer_dims``; log-scaled integer parameters (e.g. lcbench ``batch_size``) live in log10
space and are rounded to the nearest integer in raw units at evaluation; categorical
parameters are codes ``0..k-1`` in ``config_space.json`` order. Conditional parameters
(rbv2_xgboost's booster-dependent ones) are always present in the space and ignored
(encoded as missing) when inactive, exactly as YAHPO Gym does.

Objective (maximised): lcbench ``val_accuracy`` (percent), rbv2_* ``acc``, iaml_glmnet
``1 - mmce`` (accuracy). Tasks are the OpenML task ids; the split is
:func:`~botorch_nap.tasks.base.deterministic_split` of the ids sorted numerically
(70/10/20, evenly spaced positions), so it is fixed by the data.

Optima and worst values come from ``yahpo_optima.json`` (computed by
:mod:`botorch_nap.tasks.yahpo_optima`; method documented there).
"""

from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from botorch_nap.tasks.base import SearchSpace, Task, TaskFamily, check_split, deterministic_split
from botorch_nap.tasks.paths import find_data_file
from botorch_nap.tasks.pools import PoolFamily

_CHUNK = 512
OPTIMA_FILE = Path(__file__).with_name("yahpo_optima.json")

#: scenario -> (target name, sign, offset): objective = offset + sign * target.
OBJECTIVES = {
    "lcbench": ("val_accuracy", 1.0, 0.0),
    "rbv2_xgboost": ("acc", 1.0, 0.0),
    "rbv2_rpart": ("acc", 1.0, 0.0),
    "iaml_glmnet": ("mmce", -1.0, 1.0),
}


@dataclass
class _Param:
    """One search-space parameter and how it becomes a YAHPO input."""

    name: str
    kind: str  # "float" | "int" | "cat"
    log: bool
    lower: float
    upper: float
    choices: list[str] | None = None


def _onnx_session(path: Path, n_threads: int):
    try:
        import onnxruntime as ort
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "YAHPO families need onnxruntime: pip install 'botorch-nap[data]' "
            "(or pip install onnxruntime)"
        ) from e
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = n_threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


class YahpoFamily(TaskFamily):
    """A YAHPO Gym scenario as a task family (see module docstring).

    Args:
        scenario: ``lcbench``, ``rbv2_xgboost``, ``rbv2_rpart`` or ``iaml_glmnet``.
        data_dir: data root holding ``yahpo/`` (else ``BOTORCH_NAP_DATA`` / ``../shared/data``).
        n_threads: onnxruntime intra-op threads (1 measured fastest on 2 cores; 0: all).
        cache_points: if set, :meth:`sample_batch` draws its points (without replacement)
            from ``cache_points`` uniformly sampled, evaluated points per task, built once per
            split on first use. The surrogate evaluates only ~3e4 points/s on one core, so
            fresh points (``cache_points=None``) would make training data-bound; the cache
            makes sampling as fast as a pool. ``Task.evaluate`` is always exact.
        cache_seed: seed of the cached points.
    """

    is_pool = False

    def __init__(
        self,
        scenario: str,
        data_dir: str | os.PathLike | None = None,
        n_threads: int = 1,
        cache_points: int | None = 2048,
        cache_seed: int = 0,
    ) -> None:
        if scenario not in OBJECTIVES:
            raise KeyError(f"unknown YAHPO scenario {scenario!r}; known: {list(OBJECTIVES)}")
        self.scenario = self.name = scenario
        self.model_path = find_data_file(f"yahpo/{scenario}/model.onnx", data_dir)
        folder = self.model_path.parent
        meta = json.loads(find_data_file("yahpo/scenarios.json", data_dir).read_text())[scenario]
        cs = json.loads((folder / "config_space.json").read_text())
        self.encoding: dict[str, dict[str, int]] = json.loads(
            (folder / "encoding.json").read_text()
        )
        self.cont_names: list[str] = meta["cont_names"]
        self.cat_names: list[str] = meta["cat_names"]
        self.y_names: list[str] = meta["y_names"]
        self.instance_name: str = meta["instance_names"]
        self.fidelity_names: list[str] = meta["fidelity_params"]
        self.n_threads = n_threads
        self._session = None
        self.cache_points, self.cache_seed = cache_points, cache_seed
        self._cache: dict[str, PoolFamily] = {}

        hps = {h["name"]: h for h in cs["hyperparameters"]}
        # The fidelities' maxima (YAHPO's reference evaluations use these too).
        self.fidelity = {f: float(hps[f]["upper"]) for f in self.fidelity_names}
        self.instances = sorted(hps[self.instance_name]["choices"], key=int)

        names = [n for n in self.cont_names if n not in self.fidelity_names]
        names += [n for n in self.cat_names if n != self.instance_name]
        self.params = [self._param(hps[n]) for n in names]
        self.space = self._space()
        self._index = {p.name: j for j, p in enumerate(self.params)}
        # child -> (parent dim, allowed parent codes)
        self.conditions: dict[str, tuple[int, list[int]]] = {}
        for c in cs.get("conditions", []):
            parent = self.params[self._index[c["parent"]]]
            allowed = c["values"] if c["type"] == "IN" else [c["value"]]
            codes = [parent.choices.index(v) for v in allowed]
            self.conditions[c["child"]] = (self._index[c["parent"]], codes)

        self.target, self.sign, self.offset = OBJECTIVES[scenario]
        self.target_index = self.y_names.index(self.target)
        self._splits = deterministic_split(self.instances)
        self._optima = (
            json.loads(OPTIMA_FILE.read_text()).get(scenario, {}) if OPTIMA_FILE.exists() else {}
        )
        self._tasks: dict[str, YahpoTask] = {}

    # ----------------------------------------------------------------- the space
    @staticmethod
    def _param(h: dict) -> _Param:
        if h["type"] == "categorical":
            k = len(h["choices"])
            return _Param(h["name"], "cat", False, 0.0, float(k - 1), list(h["choices"]))
        kind = "int" if h["type"] == "uniform_int" else "float"
        return _Param(h["name"], kind, bool(h.get("log")), float(h["lower"]), float(h["upper"]))

    def _space(self) -> SearchSpace:
        lo, hi, ints, cats, logs = [], [], [], {}, []
        for j, p in enumerate(self.params):
            if p.log:
                lo.append(math.log10(p.lower))
                hi.append(math.log10(p.upper))
                logs.append(j)
            else:
                lo.append(p.lower)
                hi.append(p.upper)
            if p.kind == "int" and not p.log:
                ints.append(j)
            if p.kind == "cat":
                cats[j] = len(p.choices)
        bounds = torch.tensor([lo, hi], dtype=torch.float64)
        return SearchSpace(bounds, [p.name for p in self.params], ints, cats, logs)

    # ------------------------------------------------------------ conversions
    def config_to_x(self, config: dict) -> Tensor:
        """A YAHPO configuration dict (raw values) -> search-space point ``d``.

        Parameters absent from ``config`` (inactive ones) get the middle of their range;
        they do not affect the output while inactive."""
        x = torch.empty(self.space.dim, dtype=torch.float64)
        for j, p in enumerate(self.params):
            if p.name not in config:
                x[j] = self.space.bounds[:, j].mean()
                if p.kind == "cat" or (p.kind == "int" and not p.log):
                    x[j] = x[j].round()
            elif p.kind == "cat":
                x[j] = p.choices.index(str(config[p.name]))
            else:
                x[j] = math.log10(float(config[p.name])) if p.log else float(config[p.name])
        return x

    def raw_values(self, X: Tensor) -> Tensor:
        """Search-space points ``n x d`` -> raw parameter values ``n x d`` (float64): log dims
        exponentiated, integers rounded, categoricals as codes, everything clipped."""
        X = self.space.round(torch.as_tensor(X, dtype=torch.float64))
        R = X.clone()
        for j, p in enumerate(self.params):
            if p.log:
                R[:, j] = torch.pow(10.0, X[:, j])
            if p.kind == "int":
                R[:, j] = R[:, j].round()
            R[:, j] = R[:, j].clamp(p.lower, p.upper)
        return R

    def encode(self, X: Tensor, instances: list[str] | str) -> tuple[np.ndarray, np.ndarray]:
        """``X`` (``n x d`` search-space points) and their task ids (one per row, or one
        for all) -> ``(x_cat: n x n_cat int32, x_cont: n x n_cont float32)``."""
        X = torch.as_tensor(X, dtype=torch.float64).reshape(-1, self.space.dim)
        n = X.shape[0]
        if isinstance(instances, str):
            instances = [instances] * n
        R = self.raw_values(X).numpy()
        active = np.ones((n, len(self.params)), dtype=bool)
        for child, (pj, codes) in self.conditions.items():
            active[:, self._index[child]] = np.isin(R[:, pj].astype(np.int64), codes)

        x_cont = np.zeros((n, len(self.cont_names)), dtype=np.float64)
        for c, name in enumerate(self.cont_names):
            if name in self.fidelity:
                x_cont[:, c] = self.fidelity[name]
            else:
                j = self._index[name]
                x_cont[:, c] = np.where(active[:, j], R[:, j], 0.0)
        x_cat = np.zeros((n, len(self.cat_names)), dtype=np.int32)
        for c, name in enumerate(self.cat_names):
            enc = self.encoding[name]
            if name == self.instance_name:
                x_cat[:, c] = [enc[str(i)] for i in instances]
            else:
                j = self._index[name]
                table = np.array([enc[v] for v in self.params[j].choices], dtype=np.int32)
                codes = table[R[:, j].astype(np.int64)]
                x_cat[:, c] = np.where(active[:, j], codes, enc["#na#"])
        return x_cat, x_cont.astype(np.float32)

    # ------------------------------------------------------------- evaluation
    @property
    def session(self):
        if self._session is None:
            self._session = _onnx_session(self.model_path, self.n_threads)
        return self._session

    def predict_raw(self, X: Tensor, instances: list[str] | str) -> Tensor:
        """All surrogate outputs: ``n x n_targets`` (float64 of the float32 ONNX output),
        columns in ``y_names`` order."""
        x_cat, x_cont = self.encode(X, instances)
        # Chunks of a few hundred rows run ~2x faster than one big call (cache-friendly).
        out = [
            self.session.run(
                None, {"x_cat": x_cat[i : i + _CHUNK], "x_cont": x_cont[i : i + _CHUNK]}
            )[0]
            for i in range(0, len(x_cat), _CHUNK)
        ]
        return torch.from_numpy(np.concatenate(out).astype(np.float64))

    def objective(self, X: Tensor, instances: list[str] | str) -> Tensor:
        """The maximised objective at ``X`` (``... x d``) -> ``...`` float64."""
        X = torch.as_tensor(X, dtype=torch.float64)
        flat = X.reshape(-1, self.space.dim)
        if flat.shape[0] == 0:
            return torch.zeros(X.shape[:-1], dtype=torch.float64)
        y = self.predict_raw(flat, instances)[:, self.target_index]
        return (self.offset + self.sign * y).reshape(X.shape[:-1])

    # ------------------------------------------------------------ family API
    def split_ids(self, split: str) -> list[str]:
        return list(self._splits[check_split(split)])

    def task(self, task_id) -> YahpoTask:
        task_id = str(task_id)
        if task_id not in self.instances:
            raise KeyError(f"{self.name}: unknown task id {task_id!r}")
        if task_id not in self._tasks:
            self._tasks[task_id] = YahpoTask(self, task_id)
        return self._tasks[task_id]

    def stored_extrema(self, task_id: str) -> tuple[float, float] | None:
        """``(optimum, worst)`` from ``yahpo_optima.json`` if stored for this target."""
        if self._optima.get("target") != self.target:
            return None
        entry = self._optima.get("tasks", {}).get(str(task_id))
        return None if entry is None else (entry["optimum"], entry["worst"])

    def sample_batch(
        self,
        b: int,
        n_points: int,
        generator: torch.Generator | None = None,
        split: str = "train",
    ) -> tuple[Tensor, Tensor]:
        """``b`` tasks of the split (with replacement), ``n_points`` uniform points each,
        evaluated in one ONNX call -> ``X: b x n_points x d``, ``y: b x n_points`` (float64)."""
        ids = self.split_ids(split)
        if not ids:
            raise ValueError(f"{self.name}: split {split!r} has no tasks")
        if self.cache_points is not None:
            return self._cached(split).sample_batch(b, n_points, generator, split)
        pick = torch.randint(len(ids), (b,), generator=generator).tolist()
        X = self.space.sample_uniform(b, n_points, generator=generator)
        rows = [ids[i] for i in pick for _ in range(n_points)]
        y = self.objective(X.reshape(-1, self.space.dim), rows).reshape(b, n_points)
        return X, y

    def _cached(self, split: str) -> PoolFamily:
        """The split's tasks as pools of ``cache_points`` uniform evaluated points each."""
        if split not in self._cache:
            gen = torch.Generator().manual_seed(self.cache_seed)
            pools = {}
            for tid in self.split_ids(split):
                X = self.space.sample_uniform(self.cache_points, generator=gen)
                pools[tid] = (X, self.objective(X, tid))
            self._cache[split] = PoolFamily(self.name, self.space, pools, {split: list(pools)})
        return self._cache[split]


class YahpoTask(Task):
    """One OpenML task of a YAHPO scenario (maximised objective, fidelities at maximum)."""

    def __init__(self, family: YahpoFamily, task_id: str) -> None:
        self.family, self.task_id = family, task_id
        name = f"{family.name}/{task_id}"
        stored = family.stored_extrema(task_id)
        if stored is None:
            warnings.warn(
                f"{name}: no stored optimum in {OPTIMA_FILE.name}; estimating it now "
                "(run python -m botorch_nap.tasks.yahpo_optima to store it)",
                stacklevel=2,
            )
            from botorch_nap.tasks.yahpo_optima import estimate_task_extrema

            stored = estimate_task_extrema(family, task_id)
        super().__init__(name, family.space, *stored)

    def _evaluate(self, X: Tensor) -> Tensor:
        return self.family.objective(X, self.task_id)

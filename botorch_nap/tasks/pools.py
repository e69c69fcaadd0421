"""Tabular pool families: each task is a finite set of evaluated configurations.

:class:`PoolFamily` is generic (used for ``hpobench_xgb`` and for users' own data, see
:mod:`botorch_nap.tasks.own_data`). Pools of different sizes are padded into one
``T x N_max x d`` tensor so that :meth:`PoolFamily.sample_batch` is a handful of batched
tensor ops (no Python loop over tasks).

``hpobench_xgb``: 48 XGBoost HPO tasks (6-d, ~1000 configurations each, maximise y) from the
NAP paper's code (huawei-noah/HEBO, ``NAP/HPO_data``), split as that code does: train 0-19,
validation 20-33, test 34-47. Dims 2-5 are log-uniformly distributed in the data (their
log10 quantiles are evenly spaced), so by default they are log10-transformed; the bounds are
the ranges the data span: dims 0-1 ``[0.05, 1]``, dim 2 ``[1e-5, 1]``, dim 3 ``[0.05, 10]``,
dims 4-5 ``[1e-5, 2]`` (raw units).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from botorch_nap.tasks.base import PoolTask, SearchSpace, TaskFamily, check_split
from botorch_nap.tasks.paths import find_data_file


class PoolFamily(TaskFamily):
    """A family of pool tasks sharing one search space.

    Args:
        name: family name.
        space: the search space (pool rows must lie inside it).
        pools: ``{task_id: (X: N_i x d, y: N_i)}`` in search-space coordinates, y maximised.
        splits: ``{"train": [...], "val": [...], "test": [...]}``, disjoint task ids.
    """

    is_pool = True

    def __init__(
        self,
        name: str,
        space: SearchSpace,
        pools: dict[object, tuple[Tensor, Tensor]],
        splits: dict[str, Sequence],
    ) -> None:
        self.name, self.space = name, space
        seen: set = set()
        for s in ("train", "val", "test"):
            ids = list(splits.get(s, []))
            missing = [i for i in ids if i not in pools]
            if missing:
                raise KeyError(f"{name}: split {s!r} names unknown tasks {missing}")
            if seen & set(ids):
                raise ValueError(f"{name}: split {s!r} overlaps another split: {seen & set(ids)}")
            seen |= set(ids)
        self._splits = {s: list(splits.get(s, [])) for s in ("train", "val", "test")}
        self._tasks = {tid: PoolTask(f"{name}/{tid}", space, X, y) for tid, (X, y) in pools.items()}
        self._padded: dict[str, tuple[Tensor, Tensor, Tensor]] = {}

    def split_ids(self, split: str) -> list:
        return list(self._splits[check_split(split)])

    def task(self, task_id) -> PoolTask:
        if task_id not in self._tasks:
            raise KeyError(f"{self.name}: unknown task id {task_id!r}")
        return self._tasks[task_id]

    def _padded_split(self, split: str) -> tuple[Tensor, Tensor, Tensor]:
        """``(X: T x N_max x d, y: T x N_max, sizes: T)`` for the split, built once."""
        if split not in self._padded:
            tasks = self.tasks(split)
            if not tasks:
                raise ValueError(f"{self.name}: split {split!r} has no tasks")
            n_max = max(len(t) for t in tasks)
            X = torch.zeros(len(tasks), n_max, self.space.dim, dtype=torch.float64)
            y = torch.zeros(len(tasks), n_max, dtype=torch.float64)
            for i, t in enumerate(tasks):
                X[i, : len(t)], y[i, : len(t)] = t.X, t.y
            sizes = torch.tensor([len(t) for t in tasks])
            self._padded[split] = (X, y, sizes)
        return self._padded[split]

    def sample_batch(
        self,
        b: int,
        n_points: int,
        generator: torch.Generator | None = None,
        split: str = "train",
        return_index: bool = False,
    ):
        """``b`` tasks of the split drawn with replacement; ``n_points`` rows of each pool
        without replacement. Returns ``X: b x n_points x d``, ``y: b x n_points`` (float64),
        plus ``(task positions in split_ids: b, row indices: b x n_points)`` if
        ``return_index``.

        Raises:
            ValueError: if ``n_points`` exceeds the smallest pool of the split.
        """
        X, y, sizes = self._padded_split(check_split(split))
        smallest = int(sizes.min())
        if n_points > smallest:
            i = int(sizes.argmin())
            raise ValueError(
                f"{self.name}: n_points={n_points} exceeds the smallest {split} pool "
                f"({self.split_ids(split)[i]!r} has {smallest} rows); sampling is without "
                "replacement"
            )
        pick = torch.randint(len(sizes), (b,), generator=generator)
        # Random keys; padded rows get +inf so they are never among the n smallest keys.
        keys = torch.rand(b, X.shape[1], generator=generator)
        pad = torch.arange(X.shape[1]).unsqueeze(0) >= sizes[pick].unsqueeze(1)
        keys = keys.masked_fill(pad, math.inf)
        rows = keys.topk(n_points, dim=1, largest=False).indices
        Xb = X[pick.unsqueeze(1), rows]
        yb = y[pick.unsqueeze(1), rows]
        if return_index:
            return Xb, yb, (pick, rows)
        return Xb, yb


HPOBENCH_FILE = "hpobench_xgb/hpobench_xgb.npz"
HPOBENCH_SPLITS = {
    "train": list(range(0, 20)),
    "val": list(range(20, 34)),
    "test": list(range(34, 48)),
}
#: Raw-unit bounds of hpobench_xgb's 6 dims (the ranges its data span).
HPOBENCH_RAW_BOUNDS = [
    (0.05, 1.0),
    (0.05, 1.0),
    (1e-5, 1.0),
    (0.05, 10.0),
    (1e-5, 2.0),
    (1e-5, 2.0),
]
HPOBENCH_LOG_DIMS = [2, 3, 4, 5]


def load_hpobench_xgb(
    data_dir: str | os.PathLike | None = None, log_scale: bool = True
) -> PoolFamily:
    """The ``hpobench_xgb`` pool family (see module docstring).

    Args:
        data_dir: folder holding ``hpobench_xgb/hpobench_xgb.npz`` (else the env var
            ``BOTORCH_NAP_DATA`` or ``../shared/data``; see :mod:`botorch_nap.tasks.paths`).
        log_scale: log10-transform dims 2-5 (recommended; their values are log-uniform).
    """
    path = find_data_file(HPOBENCH_FILE, data_dir)
    log_dims = HPOBENCH_LOG_DIMS if log_scale else []
    raw = torch.tensor(HPOBENCH_RAW_BOUNDS, dtype=torch.float64).T.clone()
    bounds = raw.clone()
    bounds[:, log_dims] = raw[:, log_dims].log10()
    space = SearchSpace(bounds, [f"x{i}" for i in range(6)], log_dims=list(log_dims))
    pools = {}
    with np.load(path) as data:
        for i in range(48):
            X = torch.from_numpy(data[f"X_{i:02d}"]).double()
            y = torch.from_numpy(data[f"y_{i:02d}"]).double()
            if log_dims:
                X[:, log_dims] = X[:, log_dims].log10()
            # A few values sit a hair outside the nominal range; clip onto the box.
            pools[i] = (X.clamp(bounds[0], bounds[1]), y)
    return PoolFamily("hpobench_xgb", space, pools, HPOBENCH_SPLITS)

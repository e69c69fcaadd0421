"""The task API: search spaces, black-box tasks (maximised), and task families.

Every task is *maximised*. Points live in "search-space coordinates": the coordinates an
optimiser sees, with log-scaled parameters already in log10 space, integer parameters as
(integer-valued) floats and categorical parameters as codes ``0..k-1`` (floats).

A :class:`TaskFamily` owns a search space and a disjoint train / validation / test split of
task ids, builds :class:`Task` objects and samples batches of evaluated points for training.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

SPLITS = ("train", "val", "test")


@dataclass
class SearchSpace:
    """A box in search-space coordinates, with per-dim types.

    Attributes:
        bounds: ``2 x d`` float64 tensor (lower row, upper row), log-scaled parameters
            already in log10 space.
        names: the ``d`` parameter names.
        integer_dims: dims whose values must be integers (in search-space coordinates).
        categorical_dims: ``{dim: number of categories}``; values are codes ``0..k-1``.
        log_dims: dims that hold log10 of the raw parameter.
        choices: ``{dim: names}`` of categorical dims whose choices have names (code ``c``
            is ``names[c]``); optional.
    """

    bounds: Tensor
    names: list[str]
    integer_dims: list[int] = field(default_factory=list)
    categorical_dims: dict[int, int] = field(default_factory=dict)
    log_dims: list[int] = field(default_factory=list)
    choices: dict[int, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.bounds = torch.as_tensor(self.bounds, dtype=torch.float64)
        if self.bounds.dim() != 2 or self.bounds.shape[0] != 2:
            raise ValueError(f"bounds must be 2 x d, got {tuple(self.bounds.shape)}")
        if len(self.names) != self.bounds.shape[1]:
            raise ValueError(f"{len(self.names)} names for {self.bounds.shape[1]} dims")
        if not (self.bounds[1] > self.bounds[0]).all():
            raise ValueError("bounds must have lower < upper in every dim")
        for j, k in self.categorical_dims.items():
            lo, hi = self.bounds[0, j].item(), self.bounds[1, j].item()
            if lo != 0 or hi != k - 1:
                raise ValueError(f"categorical dim {j} must have bounds [0, {k - 1}]")
        for j, names in self.choices.items():
            if self.categorical_dims.get(j) != len(names):
                raise ValueError(f"dim {j}: {len(names)} choice names for a non-matching dim")

    @property
    def dim(self) -> int:
        return self.bounds.shape[1]

    def category_counts(self) -> list[int] | None:
        """Per dim, the number of choices of a categorical parameter (0 otherwise), as
        ``NAPConfig(categories=...)`` takes it; ``None`` when no dim is categorical."""
        if not self.categorical_dims:
            return None
        return [self.categorical_dims.get(j, 0) for j in range(self.dim)]

    @property
    def continuous_dims(self) -> list[int]:
        """Dims that are neither integer nor categorical."""
        discrete = set(self.integer_dims) | set(self.categorical_dims)
        return [j for j in range(self.dim) if j not in discrete]

    def sample_uniform(
        self, *shape: int, generator: torch.Generator | None = None, dtype=torch.float64
    ) -> Tensor:
        """Uniform points ``*shape x d`` in the box; integer/categorical dims uniform on their
        values (integers by rounding a uniform draw on ``[lo - 0.5, hi + 0.5]``)."""
        lo, hi = self.bounds[0].to(dtype), self.bounds[1].to(dtype)
        U = torch.rand(*shape, self.dim, generator=generator, dtype=dtype)
        X = lo + U * (hi - lo)
        discrete = sorted(set(self.integer_dims) | set(self.categorical_dims))
        if discrete:
            # Widen by half a unit so that the end values are as likely as the inner ones.
            idx = torch.tensor(discrete)
            width = hi[idx] - lo[idx] + 1.0
            X[..., idx] = (lo[idx] - 0.5 + U[..., idx] * width).round().clamp(lo[idx], hi[idx])
        return X

    def round(self, X: Tensor) -> Tensor:
        """Project ``... x d`` points onto the space: clip to the bounds, round discrete dims."""
        X = X.clamp(self.bounds[0].to(X), self.bounds[1].to(X))
        discrete = sorted(set(self.integer_dims) | set(self.categorical_dims))
        if discrete:
            X = X.clone()
            X[..., discrete] = X[..., discrete].round()
        return X


class Task:
    """One black-box function on a :class:`SearchSpace`, maximised.

    Subclasses implement :meth:`_evaluate`; ``optimum`` is the exact or best-known maximum
    and ``worst`` a reference worst value, together defining normalised regret.
    """

    name: str
    space: SearchSpace
    optimum: float
    worst: float

    def __init__(self, name: str, space: SearchSpace, optimum: float, worst: float) -> None:
        self.name = name
        self.space = space
        self.optimum = float(optimum)
        self.worst = float(worst)

    def evaluate(self, X: Tensor) -> Tensor:
        """Evaluate ``... x d`` points (search-space coordinates) -> ``...`` float64 values."""
        X = torch.as_tensor(X)
        if X.shape[-1] != self.space.dim:
            raise ValueError(f"{self.name}: expected ... x {self.space.dim} inputs, got {X.shape}")
        return self._evaluate(X.to(torch.float64)).to(torch.float64)

    def _evaluate(self, X: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def normalized_regret(self, best_y: Tensor | float) -> Tensor:
        """``(optimum - best_y) / (optimum - worst)``, clipped to ``[0, 1]``; shape of best_y."""
        best_y = torch.as_tensor(best_y, dtype=torch.float64)
        span = max(self.optimum - self.worst, 1e-12)
        return ((self.optimum - best_y) / span).clamp(0.0, 1.0)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.name!r}, d={self.space.dim}, optimum={self.optimum:.6g})"
        )


class LazyExtremaTask(Task):
    """A task whose optimum and worst value are estimated on first access (building many
    tasks stays cheap). Subclasses implement :meth:`_evaluate` and :meth:`_extrema`."""

    def __init__(self, name: str, space: SearchSpace) -> None:
        self.name, self.space = name, space
        self._cached_extrema: tuple[float, float] | None = None

    def _extrema(self) -> tuple[float, float]:  # pragma: no cover - abstract
        """``(optimum, worst)``."""
        raise NotImplementedError

    def _get_extrema(self) -> tuple[float, float]:
        if self._cached_extrema is None:
            opt, worst = self._extrema()
            self._cached_extrema = (float(opt), float(worst))
        return self._cached_extrema

    @property
    def optimum(self) -> float:  # type: ignore[override]
        return self._get_extrema()[0]

    @property
    def worst(self) -> float:  # type: ignore[override]
        return self._get_extrema()[1]


class PoolTask(Task):
    """A task known only on a finite candidate set ``X`` (``N x d``) with values ``y`` (``N``).

    ``optimum``/``worst`` default to the pool's max/min. :meth:`evaluate` looks up rows of the
    pool (tolerant to float32 round-off) and raises for points that are not in the pool.
    """

    #: Max distance (in unit-cube coordinates) between a query and its pool row.
    LOOKUP_TOL = 1e-5

    def __init__(
        self,
        name: str,
        space: SearchSpace,
        X: Tensor,
        y: Tensor,
        optimum: float | None = None,
        worst: float | None = None,
    ) -> None:
        X = torch.as_tensor(X, dtype=torch.float64)
        y = torch.as_tensor(y, dtype=torch.float64)
        if X.dim() != 2 or X.shape[1] != space.dim or y.shape != X.shape[:1]:
            raise ValueError(
                f"pool {name}: X must be N x {space.dim} and y N, got {X.shape}, {y.shape}"
            )
        super().__init__(
            name,
            space,
            y.max().item() if optimum is None else optimum,
            y.min().item() if worst is None else worst,
        )
        self.X = X
        self.y = y
        lo, hi = space.bounds[0], space.bounds[1]
        self._U = (X - lo) / (hi - lo)

    def __len__(self) -> int:
        return self.X.shape[0]

    def evaluate_index(self, idx: Tensor | Sequence[int] | int) -> Tensor:
        """Values of pool rows ``idx`` (any integer shape) -> float64 of the same shape."""
        return self.y[torch.as_tensor(idx, dtype=torch.long)]

    def lookup(self, X: Tensor) -> Tensor:
        """Indices (``...``, long) of the pool rows equal to ``... x d`` points ``X``."""
        X = torch.as_tensor(X, dtype=torch.float64)
        lo, hi = self.space.bounds[0], self.space.bounds[1]
        U = ((X - lo) / (hi - lo)).reshape(-1, self.space.dim)
        dist, idx = torch.cdist(U, self._U).min(dim=-1)
        bad = dist > self.LOOKUP_TOL
        if bad.any():
            i = bad.nonzero()[0, 0].item()
            raise ValueError(
                f"pool task {self.name}: {int(bad.sum())} point(s) are not in the pool "
                f"(e.g. {X.reshape(-1, self.space.dim)[i].tolist()}, nearest row {idx[i].item()} "
                f"at unit-cube distance {dist[i].item():.3g}); pool tasks can only be evaluated "
                "on their candidate set `task.X`"
            )
        return idx.reshape(X.shape[:-1])

    def _evaluate(self, X: Tensor) -> Tensor:
        return self.evaluate_index(self.lookup(X))


class TaskFamily:
    """A distribution over tasks on one search space, with a disjoint train/val/test split.

    Subclasses implement :meth:`split_ids`, :meth:`task` and :meth:`sample_batch`.
    """

    name: str
    space: SearchSpace
    is_pool: bool = False

    def split_ids(self, split: str) -> list:  # pragma: no cover - abstract
        raise NotImplementedError

    def task(self, task_id) -> Task:  # pragma: no cover - abstract
        raise NotImplementedError

    def tasks(self, split: str) -> list[Task]:
        return [self.task(i) for i in self.split_ids(split)]

    def sample_batch(
        self,
        b: int,
        n_points: int,
        generator: torch.Generator | None = None,
        split: str = "train",
    ) -> tuple[Tensor, Tensor]:  # pragma: no cover - abstract
        """``b`` tasks of the split, ``n_points`` evaluated points each ->
        ``(X: b x n_points x d, y: b x n_points)``, y maximised."""
        raise NotImplementedError

    def describe(self) -> dict:
        """One row of the families table (name, dims, split sizes)."""
        return {
            "name": self.name,
            "dims": self.space.dim,
            "pool": self.is_pool,
            **{f"n_{s}": len(self.split_ids(s)) for s in SPLITS},
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, d={self.space.dim})"


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return split


def deterministic_split(
    ids: Sequence, fractions: tuple[float, float, float] = (0.7, 0.1, 0.2)
) -> dict[str, list]:
    """Split ``ids`` (already in a canonical, e.g. sorted, order) into train/val/test.

    Counts: ``n_test = max(1, round(f_test n))``, ``n_val = max(1, round(f_val n))`` (when
    ``n >= 3``), the rest train. Test and then validation ids are picked at evenly spaced
    positions of the list (not a contiguous block), so that ids that correlate with the
    order (e.g. OpenML ids with dataset age) spread over all splits. Pure function of ``ids``.
    """
    ids = list(ids)
    n = len(ids)
    if n < 3:
        return {"train": ids, "val": [], "test": []}
    n_test = max(1, round(fractions[2] * n))
    n_val = max(1, round(fractions[1] * n))

    def spaced(pool: list[int], k: int) -> list[int]:
        return [pool[min(len(pool) - 1, math.floor((i + 0.5) * len(pool) / k))] for i in range(k)]

    positions = list(range(n))
    test_pos = spaced(positions, n_test)
    rest = [p for p in positions if p not in set(test_pos)]
    val_pos = spaced(rest, n_val)
    train_pos = [p for p in rest if p not in set(val_pos)]
    return {
        "train": [ids[p] for p in train_pos],
        "val": [ids[p] for p in val_pos],
        "test": [ids[p] for p in test_pos],
    }

"""MetaBO-style families of shifted and scaled classic test functions (Volpp et al., ICLR 2020).

A task is ``f_var(u) = s * g(u - t)`` on the unit cube ``u in [0, 1]^d``, where
``g(u) = -f(lb + u (ub - lb))`` is the base function (``botorch.test_functions``, or
Goldstein-Price here, which BoTorch lacks) mapped to the unit cube and negated so that it
is maximised (Goldstein-Price on a log scale, see :class:`GoldsteinPrice`). Translations
``t`` are in unit-cube units; the base function is evaluated outside its usual box when
``u - t`` leaves the cube (all of these are defined everywhere).

Distributions (as in MetaBO): training and validation tasks draw ``t ~ U[-0.1, 0.1]^d`` and
``s ~ U[0.9, 1.1]``; test tasks draw larger shifts, ``t ~ U[-test_shift, test_shift]^d``
(default 0.2), to measure generalisation beyond the training range.

Optimum: ``s * (-f_min)`` when a known global minimiser of ``f`` lands inside the cube after
the shift, else (and always for the worst value) estimated by dense sampling plus local
optimisation (:func:`~botorch_nap.tasks.optimize.estimate_max`).
"""

from __future__ import annotations

import math

import torch
from botorch.test_functions import synthetic as bt
from torch import Tensor

from botorch_nap.tasks.base import LazyExtremaTask, SearchSpace, TaskFamily, check_split
from botorch_nap.tasks.near import NearPoints
from botorch_nap.tasks.optimize import estimate_max


class GoldsteinPrice:
    """log Goldstein-Price on ``[-2, 2]^2`` (minimum log 3 at ``(0, -1)``); BoTorch has none.

    On a log scale because the raw function spans 3 to ~1e6 over the box, which would make
    normalised regret meaningless (a common choice, e.g. Picheny et al., 2013).
    """

    dim = 2
    bounds = torch.tensor([[-2.0, -2.0], [2.0, 2.0]], dtype=torch.float64)
    optimal_value = math.log(3.0)
    _optimizers = [(0.0, -1.0)]

    def _evaluate_true(self, X: Tensor) -> Tensor:
        x1, x2 = X[..., 0], X[..., 1]
        a = 1 + (x1 + x2 + 1) ** 2 * (19 - 14 * x1 + 3 * x1**2 - 14 * x2 + 6 * x1 * x2 + 3 * x2**2)
        b = 30 + (2 * x1 - 3 * x2) ** 2 * (
            18 - 32 * x1 + 12 * x1**2 + 48 * x2 - 36 * x1 * x2 + 27 * x2**2
        )
        return torch.log(a * b)


def _base(name: str, dim: int | None):
    """The base test function (minimised, original box) for a family name."""
    if name == "branin":
        return bt.Branin()
    if name == "goldstein_price":
        return GoldsteinPrice()
    if name == "hartmann3":
        return bt.Hartmann(dim=3)
    if name == "hartmann6":
        return bt.Hartmann(dim=6)
    ctors = {"ackley": bt.Ackley, "levy": bt.Levy, "styblinski_tang": bt.StyblinskiTang}
    if name in ctors:
        return ctors[name](dim=dim or 2)
    raise KeyError(f"unknown synthetic function {name!r}")


#: Family names, each fixed-dimensional except the last three (``dim=`` kw, default 2).
SYNTHETIC_NAMES = (
    "branin",
    "goldstein_price",
    "hartmann3",
    "hartmann6",
    "ackley",
    "levy",
    "styblinski_tang",
)


class ShiftedTask(LazyExtremaTask):
    """One variant ``s * g(u - t)`` of a base function (see module docstring); its optimum
    and worst value are computed on first access."""

    def __init__(self, name: str, family: SyntheticFamily, shift: Tensor, scale: float) -> None:
        super().__init__(name, family.space)
        self.family, self.shift, self.scale = family, shift, float(scale)

    def _extrema(self) -> tuple[float, float]:
        fn, space = self._evaluate, self.space
        est, _ = estimate_max(fn, space, n_dense=4096, n_rounds=40, differentiable=True, seed=0)
        known = self.family.known_optimum_unit(self.shift)
        optimum = est if known is None else max(est, self.scale * known)
        # The worst value only sets the scale of normalised regret: a cheaper search.
        neg_worst, _ = estimate_max(
            lambda X: -fn(X), space, n_dense=4096, n_rounds=20, n_proposals=8, seed=1
        )
        return optimum, -neg_worst

    def _evaluate(self, X: Tensor) -> Tensor:
        return self.scale * self.family.g(X - self.shift)


class SyntheticFamily(TaskFamily):
    """Shifted/scaled variants of one classic function (MetaBO). See module docstring.

    Args:
        function: one of :data:`SYNTHETIC_NAMES`.
        dim: dimension for ackley, levy and styblinski_tang (default 2); others are fixed.
        shift: training/validation translation half-width (unit-cube units).
        scale_range: range of the scaling ``s``.
        test_shift: test translation half-width.
        n_train, n_val, n_test: numbers of fixed tasks named by each split.
        seed: base seed of the fixed tasks.
        near_frac, near_scale_range, copy_frac: place a share of the sampled points next to
            earlier ones (:class:`~botorch_nap.tasks.near.NearPoints`); 0 (default): uniform.
    """

    is_pool = False

    def __init__(
        self,
        function: str,
        dim: int | None = None,
        shift: float = 0.1,
        scale_range: tuple[float, float] = (0.9, 1.1),
        test_shift: float = 0.2,
        n_train: int = 64,
        n_val: int = 16,
        n_test: int = 32,
        seed: int = 0,
        near_frac: float = 0.0,
        near_scale_range: tuple[float, float] = (1e-4, 0.05),
        copy_frac: float = 0.2,
    ) -> None:
        self.near = NearPoints(
            float(near_frac), tuple(float(v) for v in near_scale_range), float(copy_frac)
        )
        self.base = _base(function, dim)
        d = self.base.dim
        self.name = function if function in SYNTHETIC_NAMES[:4] else f"{function}_{d}d"
        self.function = function
        self.shift, self.test_shift = float(shift), float(test_shift)
        self.scale_range = tuple(float(v) for v in scale_range)
        self.seed = int(seed)
        self.space = SearchSpace(
            torch.stack([torch.zeros(d), torch.ones(d)]).double(), [f"x{i}" for i in range(d)]
        )
        b = torch.as_tensor(self.base.bounds, dtype=torch.float64)
        self._lb, self._width = b[0], b[1] - b[0]
        self._ids = {
            "train": list(range(n_train)),
            "val": list(range(n_train, n_train + n_val)),
            "test": list(range(n_train + n_val, n_train + n_val + n_test)),
        }
        self._tasks: dict[int, ShiftedTask] = {}

    def g(self, U: Tensor) -> Tensor:
        """Base function on unit coordinates, negated: ``... x d -> ...``."""
        # The private method on purpose: the public one rejects points outside the canonical
        # box, which shifted variants legitimately reach.
        return -self.base._evaluate_true(self._lb.to(U) + U * self._width.to(U))

    def known_optimum_unit(self, shift: Tensor) -> float | None:
        """``-f_min`` if a known minimiser lies in the cube after ``shift``, else ``None``."""
        for x in self.base._optimizers:
            u = (torch.tensor(x, dtype=torch.float64) - self._lb) / self._width + shift
            if ((u >= 0) & (u <= 1)).all():
                # Evaluate rather than trust the rounded constant, so the stored optimum is
                # never below a value the task can return at that point.
                return max(-float(self.base.optimal_value), float(self.g(u - shift)))
        return None

    def split_ids(self, split: str) -> list[int]:
        return list(self._ids[check_split(split)])

    def _draw(self, b: int, split: str, generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
        """``b`` (shift ``b x d``, scale ``b``) pairs from the split's distribution."""
        half = self.test_shift if split == "test" else self.shift
        d = self.space.dim
        t = (2 * torch.rand(b, d, generator=generator, dtype=torch.float64) - 1) * half
        lo, hi = self.scale_range
        s = lo + (hi - lo) * torch.rand(b, generator=generator, dtype=torch.float64)
        return t, s

    def _split_of(self, task_id: int) -> str:
        for s, ids in self._ids.items():
            if task_id in ids:
                return s
        raise KeyError(f"{self.name}: unknown task id {task_id}")

    def _params(self, task_id: int) -> tuple[Tensor, float]:
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + int(task_id))
        t, s = self._draw(1, self._split_of(task_id), gen)
        return t[0], float(s[0])

    def task(self, task_id: int) -> ShiftedTask:
        task_id = int(task_id)
        if task_id not in self._tasks:
            t, s = self._params(task_id)
            self._tasks[task_id] = ShiftedTask(f"{self.name}/{task_id}", self, t, s)
        return self._tasks[task_id]

    def sample_batch(
        self,
        b: int,
        n_points: int,
        generator: torch.Generator | None = None,
        split: str = "train",
    ) -> tuple[Tensor, Tensor]:
        """Fresh variants for ``"train"``, the split's fixed variants otherwise;
        ``X: b x n_points x d`` uniform in the cube, ``y: b x n_points``."""
        check_split(split)
        if split == "train":
            t, s = self._draw(b, split, generator)
        else:
            ids = self._ids[split]
            pick = torch.randint(len(ids), (b,), generator=generator).tolist()
            params = [self._params(ids[i]) for i in pick]
            t = torch.stack([p[0] for p in params])
            s = torch.tensor([p[1] for p in params], dtype=torch.float64)
        X = torch.rand(b, n_points, self.space.dim, generator=generator, dtype=torch.float64)
        X = self.near.apply(X, generator)
        y = s.unsqueeze(-1) * self.g(X - t.unsqueeze(1))
        return X, y


class SyntheticMixture(TaskFamily):
    """Several :class:`SyntheticFamily` s as one family, for one variable-dimension network
    (``NAPConfig(min_dim=...)``): each task of a batch is a variant of one member function
    (uniformly chosen), its points zero-padded to the largest member's dimension (the
    padding the network applies to lower-dimensional inputs).

    Split ids are ``"<member name>:<id>"``; benchmark on the members themselves (e.g.
    ``branin``), whose tasks the network accepts unpadded.

    Args:
        functions: member names (:data:`SYNTHETIC_NAMES`), e.g. ``("branin", "hartmann3")``.
        **kw: passed to every member (``near_frac``, ``n_train``, ``seed``, ...).

    Example:
        >>> fam = get_family("synthetic_mix", functions=["branin", "hartmann3"])
        >>> fam.min_dim, fam.space.dim  # (2, 3)
    """

    is_pool = False

    def __init__(self, functions: list[str] | tuple[str, ...] = ("branin", "hartmann3"), **kw):
        if isinstance(functions, str):
            functions = [f.strip() for f in functions.split(",") if f.strip()]
        if len(functions) < 1:
            raise ValueError("functions must name at least one synthetic family")
        self.members = [SyntheticFamily(f, **kw) for f in functions]
        dims = [m.space.dim for m in self.members]
        self.dim, self.min_dim = max(dims), min(dims)
        if self.min_dim == self.dim:
            self.min_dim = None
        self.name = "mix_" + "+".join(m.name for m in self.members)
        self.space = SearchSpace(
            torch.stack([torch.zeros(self.dim), torch.ones(self.dim)]).double(),
            [f"x{i}" for i in range(self.dim)],
        )

    def split_ids(self, split: str) -> list[str]:
        return [f"{m.name}:{i}" for m in self.members for i in m.split_ids(split)]

    def task(self, task_id: str):
        name, _, tid = str(task_id).rpartition(":")
        for m in self.members:
            if m.name == name:
                return m.task(int(tid))
        raise KeyError(f"{self.name}: unknown task id {task_id!r}")

    def sample_batch(
        self,
        b: int,
        n_points: int,
        generator: torch.Generator | None = None,
        split: str = "train",
    ) -> tuple[Tensor, Tensor]:
        """``X: b x n_points x dim`` (zero-padded per member), ``y: b x n_points``."""
        check_split(split)
        which = torch.randint(len(self.members), (b,), generator=generator)
        X = torch.zeros(b, n_points, self.dim, dtype=torch.float64)
        y = torch.zeros(b, n_points, dtype=torch.float64)
        for k, member in enumerate(self.members):
            rows = (which == k).nonzero().flatten()
            if len(rows):
                Xm, ym = member.sample_batch(len(rows), n_points, generator, split)
                X[rows, :, : member.space.dim] = Xm
                y[rows] = ym
        return X, y

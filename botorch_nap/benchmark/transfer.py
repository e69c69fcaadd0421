r"""A transfer-learning baseline: a greedy portfolio of meta-train configurations, then GP-EI.

NAP is meta-trained on a family's training tasks, so part of any gain over GP-EI may be no
more than *knowing where good regions lie across the family*. This module gives that
knowledge to simple methods, so that it can be separated from what NAP does with a run's
own observations:

* :class:`TransferPrior`: for every meta-train task, a k-nearest-neighbour predictor of its
  min-max normalised y (in the unit cube). For pool families the training data are the
  pools; for continuous families ``n_samples`` uniform points per training task.
* :class:`PortfolioAcquisition`: the greedy *portfolio* criterion of Wistuba et al. (2015,
  "Learning hyperparameter optimization initializations") and Feurer et al. (2015,
  "Initializing Bayesian hyperparameter optimization via meta-learning"): the gain of ``x``
  is ``mean_j max(b_j, m_j(x))``, where ``m_j`` is task ``j``'s predictor and ``b_j`` the best
  predicted value on task ``j`` among the points already evaluated. Maximising it greedily
  picks configurations that were good on meta-train tasks *not yet covered* by what has been
  tried (a submodular coverage criterion), rather than ``k`` near-copies of the single
  best-on-average configuration. It never looks at the current task's y.
* :class:`TransferGPEI` (``gp-ei-transfer[:k]``): the first ``k`` steps after the shared
  initial design come from the portfolio, then plain GP-EI. This is the baseline the issue
  asks for: GP-EI that starts at the configurations that did best across the meta-train
  tasks. It keeps the initial design shared with every other method (the portfolio spends
  BO steps, not the initial design), so the comparison stays paired.
* :class:`TransferPortfolio` (``portfolio``): the portfolio for the whole budget, i.e. family
  knowledge alone with no adaptation to the task at hand; a lower bound on what "knowing
  the good regions" buys.

Why this choice over a greedy kNN regressor of y alone: greedily maximising the *mean*
predicted y proposes a cluster of near-identical points around one region, which wastes
evaluations on pools with many tied maxima; the portfolio criterion is the standard
transfer initialisation in HPO (and HPO-B's protocol), and combining it with GP-EI gives a
baseline that both knows the family and adapts to the task, which is the fair competitor to
a meta-learned acquisition function. The predictor itself is a kNN (the meta-train tasks'
pools do not share configurations, so "the value of configuration c on task j" must be
interpolated).

The prior is built once per process and family (it is the analogue of meta-training) and
is not counted in decision time. A decision is the argmax of the criterion over a finite set
(what ``optimize_acqf_discrete`` with ``X_avoid`` does, with the candidates' predictions
cached across steps): the pool for pool tasks, and the top ``top_m`` sampled configurations
of every meta-train task for continuous tasks (the kNN criterion is piecewise constant, so
its gradients are zero and a continuous optimiser could not move).
"""

from __future__ import annotations

import torch
from botorch.acquisition import AcquisitionFunction
from botorch.utils.transforms import t_batch_mode_transform
from torch import Tensor

from botorch_nap.baselines import GPEI, Proposer, unevaluated_mask
from botorch_nap.tasks.base import TaskFamily


class TransferPrior:
    """kNN predictors of normalised y, one per meta-train task (see module docstring).

    Args:
        X_unit: per training task, ``n_j x d`` points in the unit cube.
        y_norm: per training task, ``n_j`` values min-max normalised to ``[0, 1]``.
        bounds: ``2 x d`` search-space bounds (raw points are mapped to the unit cube).
        k: neighbours averaged per prediction.
        configs: ``c x d`` meta-train configurations (raw coordinates) that continuous tasks
            choose from.
    """

    def __init__(
        self,
        X_unit: list[Tensor],
        y_norm: list[Tensor],
        bounds: Tensor,
        k: int = 3,
        configs: Tensor | None = None,
    ) -> None:
        if not X_unit or len(X_unit) != len(y_norm):
            raise ValueError("need one (X, y) pair per training task, and at least one task")
        self.bounds = bounds.to(torch.float64)
        self.k = int(k)
        self.configs = configs
        # Padded J x n_max x d so that one batched distance computation serves every task;
        # padded rows sit at infinite distance and are never neighbours.
        n_max = max(len(y) for y in y_norm)
        d = self.bounds.shape[1]
        self.X_pad = torch.zeros(len(X_unit), n_max, d, dtype=torch.float64)
        self.y_pad = torch.zeros(len(X_unit), n_max, dtype=torch.float64)
        self.pad = torch.ones(len(X_unit), n_max, dtype=torch.bool)
        for j, (x, y) in enumerate(zip(X_unit, y_norm)):
            self.X_pad[j, : len(y)], self.y_pad[j, : len(y)] = x, y
            self.pad[j, : len(y)] = False
        self.k = min(self.k, min(len(y) for y in y_norm))
        self._cache: tuple[Tensor, Tensor] | None = None

    @property
    def n_tasks(self) -> int:
        return self.X_pad.shape[0]

    @classmethod
    def from_family(
        cls,
        family: TaskFamily,
        split: str = "train",
        max_tasks: int = 64,
        n_samples: int = 512,
        top_m: int = 8,
        k: int = 3,
        seed: int = 0,
    ) -> TransferPrior:
        """Build the prior from a family's meta-train tasks (at most ``max_tasks``).

        Values are normalised by each task's own data range (the pool's min/max, or the
        sample's), which for pools equals the task's optimum/worst and for continuous tasks
        avoids the costly global optimisation behind ``Task.optimum``.
        """
        bounds = family.space.bounds.to(torch.float64)
        lo, width = bounds[0], bounds[1] - bounds[0]
        g = torch.Generator().manual_seed(seed)
        X_unit, y_norm, configs = [], [], []
        for task in family.tasks(split)[:max_tasks]:
            if family.is_pool:
                X, y = task.X, task.y
            else:
                X = family.space.sample_uniform(n_samples, generator=g)
                y = task.evaluate(X)
            span = (y.max() - y.min()).clamp_min(1e-12)
            yn = (y - y.min()) / span
            X_unit.append((X - lo) / width)
            y_norm.append(yn)
            configs.append(X[yn.topk(min(top_m, len(yn))).indices])
        if not X_unit:
            raise ValueError(f"{family.name}: split {split!r} has no tasks to transfer from")
        return cls(X_unit, y_norm, bounds, k=k, configs=torch.cat(configs))

    def predict(self, X: Tensor, chunk: int = 256) -> Tensor:
        """Predicted normalised y of raw points ``m x d`` on every training task: ``m x J``."""
        U = (X.to(torch.float64) - self.bounds[0]) / (self.bounds[1] - self.bounds[0])
        sq = (self.X_pad**2).sum(-1).masked_fill(self.pad, float("inf"))  # J x n
        out = []
        for start in range(0, U.shape[0], chunk):
            u = U[start : start + chunk]
            # |x|^2 - 2 u.x orders neighbours as |u - x|^2 does (|u|^2 is constant per row),
            # without an m x n x d difference tensor; chunks bound the J x m x n memory.
            d2 = sq.unsqueeze(1) - 2 * u @ self.X_pad.transpose(1, 2)  # J x m x n
            idx = d2.topk(self.k, dim=-1, largest=False).indices
            out.append(torch.gather(self.y_pad, 1, idx.flatten(1)).view(idx.shape).mean(-1).T)
        return torch.cat(out) if out else torch.zeros(0, self.n_tasks, dtype=torch.float64)

    def predict_cached(self, X: Tensor) -> Tensor:
        """:meth:`predict` for a candidate set that recurs every step (the pool), computed
        once (keyed by the tensor object, which the loop passes unchanged every step)."""
        if self._cache is None or self._cache[0] is not X:
            self._cache = (X, self.predict(X))
        return self._cache[1]


class PortfolioAcquisition(AcquisitionFunction):
    """Greedy portfolio gain ``mean_j max(b_j, m_j(x))`` given the evaluated points.

    A tiny multiple of the mean prediction breaks ties, so that once every training task is
    covered the criterion still prefers configurations that are good on average.
    """

    def __init__(self, prior: TransferPrior, train_X: Tensor) -> None:
        super().__init__(model=None)
        self.prior = prior
        if train_X.shape[0] > 0:
            self.covered = prior.predict(train_X).max(0).values
        else:
            self.covered = torch.zeros(prior.n_tasks, dtype=torch.float64)

    def score(self, pred: Tensor) -> Tensor:
        """The criterion from predictions ``m x J`` -> ``m``."""
        gain = torch.maximum(pred, self.covered).mean(-1)
        return gain + 1e-6 * pred.mean(-1)

    @t_batch_mode_transform(expected_q=1)
    def forward(self, X: Tensor) -> Tensor:
        return self.score(self.prior.predict(X.squeeze(-2))).to(X)


def _portfolio_step(prior: TransferPrior, train_X: Tensor, candidates: Tensor | None) -> Tensor:
    """One greedy portfolio pick among unevaluated ``candidates`` (or the prior's configs).

    The same argmax as ``optimize_acqf_discrete(PortfolioAcquisition(...), choices,
    X_avoid=train_X)``, with the candidates' predictions cached across steps (they do not
    change; only the coverage of the evaluated points does).
    """
    choices = candidates if candidates is not None else prior.configs
    if choices is None:
        raise ValueError("no candidates and no meta-train configurations to choose from")
    free = unevaluated_mask(choices.to(train_X), train_X)
    if not free.any():
        raise ValueError("every portfolio configuration has already been evaluated")
    acqf = PortfolioAcquisition(prior, train_X)
    score = acqf.score(prior.predict_cached(choices)).masked_fill(~free, -float("inf"))
    return choices[score.argmax()].unsqueeze(0).to(train_X)


class TransferGPEI(GPEI):
    """GP-EI whose first ``n_transfer`` steps after the initial design are portfolio picks.

    Args:
        prior: the meta-train :class:`TransferPrior`.
        n_init: size of the shared initial design (steps are counted after it).
        n_transfer: portfolio steps before GP-EI takes over.
    """

    name = "gp-ei-transfer"

    def __init__(self, prior: TransferPrior, n_init: int, n_transfer: int = 5, **kwargs) -> None:
        super().__init__(**kwargs)
        self.prior, self.n_init, self.n_transfer = prior, int(n_init), int(n_transfer)

    def propose(
        self, train_X: Tensor, train_Y: Tensor, bounds: Tensor, candidates: Tensor | None = None
    ) -> Tensor:
        if train_X.shape[0] < self.n_init + self.n_transfer:
            return _portfolio_step(self.prior, train_X, candidates)
        return super().propose(train_X, train_Y, bounds, candidates)


class TransferPortfolio(Proposer):
    """The greedy meta-train portfolio for every step (no use of the task's own y)."""

    name = "portfolio"

    def __init__(self, prior: TransferPrior, **kwargs) -> None:
        super().__init__(**kwargs)
        self.prior = prior

    def propose(
        self, train_X: Tensor, train_Y: Tensor, bounds: Tensor, candidates: Tensor | None = None
    ) -> Tensor:
        return _portfolio_step(self.prior, train_X, candidates)

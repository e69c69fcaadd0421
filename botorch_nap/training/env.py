"""A batched Bayesian-optimisation environment: ``b`` episodes at once, all torch tensors.

An episode is one task with a finite candidate set of ``N`` points: a sub-pool of a pool
task, or ``N`` fresh random points of a continuous task (``family.sample_batch`` supplies
both, already evaluated). It starts with ``n_init`` random candidates evaluated; at each of
``horizon`` steps the policy picks one not-yet-evaluated candidate (its index), which is
evaluated and appended to the history.

The state is stored compactly as the *evaluation order* (``b x (n_init + horizon)``
candidate indices) over the fixed ``X``, ``y``: the state after ``k`` evaluations is
``order[:, :k]``. PPO re-scores any past state from ``(X, y, order, k)`` without copying
histories (:func:`history_batch`).

Regret is measured against the best value of the candidate set (``y_max``) and normalised
by the candidate set's range, so it is scale-free and in ``[0, 1]``:
``r_t = (y_max - best_t) / (y_max - y_min)``.

Rewards (``EnvConfig.reward``), given after every step ``t = 1 .. T``:

``"log_regret"``
    The paper's ``-log10(max(r_t, floor))``. With ``floor = 1e-3`` the reward is 3 once the
    best candidate is found (the paper's code uses a raw, unnormalised regret and floor
    1e-20, which makes rewards depend on the task's y scale).
``"regret"``
    ``-r_t``.
``"vs_npei"`` / ``"vs_npei_log"``
    The paired baseline of DESIGN.md: a greedy NP-EI rollout (``EnvConfig`` plus a
    ``reference`` scorer, normally the frozen warm-start network) is run on the same
    candidates and initial points at reset; the reward is ``r_t^{NP-EI} - r_t`` (or
    ``log10`` of the floored regrets' ratio). It is positive exactly when the policy is ahead
    of NP-EI at step ``t``. As the baseline does not depend on the policy's actions it
    leaves the policy gradient unbiased and only removes task-difficulty variance.

``early_weight`` multiplies the reward of step ``t`` (1-based) by
``1 + early_weight * (T - t) / max(T - 1, 1)``: the first steps, where NP-EI leaves most
headroom, count up to ``1 + early_weight`` times as much as the last.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from botorch_nap.nn.transformer import HistoryEncoding, NAPTransformer
from botorch_nap.normalization import YScale, budget_fraction, fit_y_scale
from botorch_nap.training.common import TRAIN, sample_tasks

REWARDS = ("log_regret", "regret", "vs_npei", "vs_npei_log")

#: ``score_fn(X, y, order, n_hist) -> b x N`` scores (higher = better); evaluated
#: candidates are masked by the caller.
ScoreFn = Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]


@dataclass
class EnvConfig:
    """Episode shape and reward. The paper's: horizon 24 after a few initial points."""

    horizon: int = 24
    n_init: int = 5
    n_candidates: int = 256
    reward: str = "log_regret"
    regret_floor: float = 1e-3
    early_weight: float = 0.0

    def __post_init__(self) -> None:
        if self.reward not in REWARDS:
            raise ValueError(f"reward must be one of {REWARDS}, got {self.reward!r}")
        if self.n_init < 1:
            raise ValueError("n_init must be >= 1 (the history must not be empty)")
        if self.n_candidates < self.n_init + self.horizon:
            raise ValueError(
                f"n_candidates ({self.n_candidates}) must be >= n_init + horizon "
                f"({self.n_init + self.horizon})"
            )


# ---------------------------------------------------------------------------- histories
class History(NamedTuple):
    """A batch of (possibly ragged) histories gathered from ``(X, y, order, n_hist)``.

    hist_x: ``b x n x d``; hist_y: ``b x n`` on the network's y scale (``scale`` below);
    mask: ``b x n`` (True = real point); evaluated: ``b x N`` (candidate already in the
    history); t_frac: ``b`` fraction of the episode's budget spent
    (:func:`~botorch_nap.normalization.budget_fraction` of ``n_hist`` over the episode's
    ``n_init + horizon`` evaluations); scale: the fitted map of raw values onto ``hist_y``'s
    scale, for candidates' values (``(y - mean) / std`` unless the network warps y:
    ``NAPConfig.y_transform``).
    """

    hist_x: Tensor
    hist_y: Tensor
    mask: Tensor
    evaluated: Tensor
    t_frac: Tensor
    scale: YScale

    @property
    def mean(self) -> Tensor:
        """``b``: each history's own mean."""
        return self.scale.mean

    @property
    def std(self) -> Tensor:
        """``b``: each history's own standard deviation (1 for a flat history)."""
        return self.scale.std


def history_batch(
    X: Tensor, y: Tensor, order: Tensor, n_hist: Tensor, y_transform: str = "standardize"
) -> History:
    """Gather the first ``n_hist[i]`` evaluated candidates of episode ``i``.

    ``X``: ``b x N x d``, ``y``: ``b x N``, ``order``: ``b x L`` candidate indices (entries
    at or after ``n_hist`` are ignored, may be ``-1``), ``n_hist``: ``b`` (>= 1). ``L`` is
    the episode's whole budget (``n_init + horizon``), which sets the ``t/T`` feature.
    ``y_transform``: the network's (``NAPConfig.y_transform``).
    """
    b, N, d = X.shape
    n_max = int(n_hist.max())
    mask = torch.arange(n_max, device=X.device).unsqueeze(0) < n_hist.unsqueeze(1)
    idx = order[:, :n_max].clamp_min(0)
    hist_x = X.gather(1, idx.unsqueeze(-1).expand(b, n_max, d))
    hist_y_raw = y.gather(1, idx)
    hist_y, scale = fit_y_scale(hist_y_raw, mask, y_transform)
    evaluated = torch.zeros(b, N, dtype=torch.bool, device=X.device)
    evaluated.scatter_(1, idx, mask)
    t_frac = budget_fraction(n_hist, order.shape[1]).to(X.dtype)
    return History(hist_x, hist_y, mask, evaluated, t_frac, scale)


def encode(net: NAPTransformer, h: History) -> HistoryEncoding:
    """Encode a :class:`History` with the default incumbent and the episode's ``t/T`` (the
    same rules :class:`~botorch_nap.context.HistoryContext` applies at decision time)."""
    return net.encode_history(h.hist_x, h.hist_y.to(net.dtype), mask=h.mask, t_frac=h.t_frac)


def nap_score_fn(net: NAPTransformer, chunk_size: int | None = None) -> ScoreFn:
    """Scores of NAP's acquisition head."""

    def f(X: Tensor, y: Tensor, order: Tensor, n_hist: Tensor) -> Tensor:
        h = history_batch(X, y, order, n_hist, net.config.y_transform)
        return net.score(encode(net, h), X, chunk_size, return_logits=False).acq

    return f


def npei_score_fn(net: NAPTransformer, chunk_size: int | None = None) -> ScoreFn:
    """NP-EI: exact log expected improvement of the bar head over the incumbent."""

    def f(X: Tensor, y: Tensor, order: Tensor, n_hist: Tensor) -> Tensor:
        h = history_batch(X, y, order, n_hist, net.config.y_transform)
        enc = encode(net, h)
        logits = net.score(enc, X, chunk_size).bar_logits
        inc = enc.incumbent.unsqueeze(-1).expand(logits.shape[:-1])
        return net.bar.log_expected_improvement(logits, inc)

    return f


def random_score_fn(generator: torch.Generator) -> ScoreFn:
    """Random search: i.i.d. uniform scores."""

    def f(X: Tensor, y: Tensor, order: Tensor, n_hist: Tensor) -> Tensor:
        return torch.rand(X.shape[:2], generator=generator).to(X.device)

    return f


# ---------------------------------------------------------------------------- the env
class BOEnv:
    """``b`` BO episodes stepped in lockstep.

    Args:
        family: a task family; episodes come from ``family.sample_batch(..., split)``.
        cfg: episode shape and reward.
        split: the family split to draw tasks from.
        generator: drives task sampling and the initial points.
        reference: scorer of the greedy baseline rollout (needed for the ``vs_npei``
            rewards), usually ``npei_score_fn(frozen_warm_start_net)``.
        device, dtype: of ``X`` (``y`` is kept in float64 for exact regrets).
    """

    def __init__(
        self,
        family,
        cfg: EnvConfig,
        split: str = TRAIN,
        generator: torch.Generator | None = None,
        reference: ScoreFn | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        if cfg.reward.startswith("vs_npei") and reference is None:
            raise ValueError(f"reward {cfg.reward!r} needs a reference scorer (the NP-EI net)")
        self.family, self.cfg, self.split = family, cfg, split
        self.generator = generator if generator is not None else torch.Generator()
        self.reference = reference
        self.device, self.dtype = device, dtype

    # ------------------------------------------------------------------ reset
    def reset(self, b: int) -> None:
        """Start ``b`` episodes on fresh tasks with random initial points."""
        X, y = sample_tasks(
            self.family,
            b,
            self.cfg.n_candidates,
            self.generator,
            self.split,
            torch.float64,
            self.device,
        )
        init = torch.rand(b, X.shape[1], generator=self.generator).argsort(-1)
        self.reset_with(X.to(self.dtype), y, init[:, : self.cfg.n_init].to(X.device))

    def reset_with(self, X: Tensor, y: Tensor, init_idx: Tensor) -> None:
        """Start episodes on given candidates: ``X`` ``b x N x d`` (unit cube), ``y`` ``b x N``
        (maximise), ``init_idx`` ``b x n_init`` distinct initial candidate indices."""
        b, N, _ = X.shape
        n_init, T = init_idx.shape[1], self.cfg.horizon
        if N < n_init + T:
            raise ValueError(f"{N} candidates cannot hold {n_init} initial points + {T} steps")
        self.X, self.y = X, y.to(torch.float64)
        dev = X.device
        self.n_init = n_init
        self.order = torch.full((b, n_init + T), -1, dtype=torch.long, device=dev)
        self.order[:, :n_init] = init_idx.to(dev)
        self.evaluated = torch.zeros(b, N, dtype=torch.bool, device=dev)
        self.evaluated.scatter_(1, self.order[:, :n_init], True)
        if int(self.evaluated.sum()) != b * n_init:
            raise ValueError("initial indices must be distinct within each episode")
        self.t = 0
        self.y_max = self.y.max(-1).values
        self.y_min = self.y.min(-1).values
        self.best = self.y.gather(1, self.order[:, :n_init]).max(-1).values
        self.initial_regret = self.normalized_regret()
        self.baseline_regret = None
        if self.cfg.reward.startswith("vs_npei"):
            self.baseline_regret = greedy_rollout(self.clone(reward="regret"), self.reference)

    def clone(self, reward: str | None = None) -> BOEnv:
        """A copy at the same state (tensors cloned); optionally with another reward."""
        cfg = EnvConfig(**{**self.cfg.__dict__, **({"reward": reward} if reward else {})})
        other = BOEnv(
            self.family, cfg, self.split, self.generator, self.reference, self.device, self.dtype
        )
        for k in ("X", "y", "y_max", "y_min"):
            setattr(other, k, getattr(self, k))
        for k in ("order", "evaluated", "best", "initial_regret"):
            setattr(other, k, getattr(self, k).clone())
        other.n_init, other.t, other.baseline_regret = self.n_init, self.t, self.baseline_regret
        return other

    # ------------------------------------------------------------------ state
    @property
    def batch_size(self) -> int:
        return self.X.shape[0]

    @property
    def n_hist(self) -> Tensor:
        """``b``: current history length (the same for every episode)."""
        return torch.full((self.batch_size,), self.n_init + self.t, device=self.X.device)

    @property
    def done(self) -> bool:
        return self.t >= self.cfg.horizon

    def regret(self) -> Tensor:
        """``b`` simple regret against the best candidate, in y units."""
        return self.y_max - self.best

    def normalized_regret(self) -> Tensor:
        """``b`` simple regret divided by the candidate set's range (0 for a flat set)."""
        span = self.y_max - self.y_min
        r = self.regret() / torch.where(span > 0, span, torch.ones_like(span))
        return torch.where(span > 0, r, torch.zeros_like(r))

    def history(self) -> History:
        return history_batch(self.X, self.y, self.order, self.n_hist)

    # ------------------------------------------------------------------ step
    def step(self, action: Tensor) -> Tensor:
        """Evaluate candidate ``action[i]`` (``b`` long) in episode ``i``; returns rewards ``b``.

        Raises ``ValueError`` for an already evaluated candidate (the policy must mask them).
        """
        if self.done:
            raise RuntimeError("episode is over: call reset()")
        action = action.to(self.order.device).long()
        if self.evaluated.gather(1, action.unsqueeze(1)).any():
            bad = self.evaluated.gather(1, action.unsqueeze(1)).squeeze(1).nonzero().flatten()
            raise ValueError(f"episodes {bad.tolist()} chose an already evaluated candidate")
        self.order[:, self.n_init + self.t] = action
        self.evaluated.scatter_(1, action.unsqueeze(1), True)
        self.best = torch.maximum(self.best, self.y.gather(1, action.unsqueeze(1)).squeeze(1))
        self.t += 1
        return self.reward()

    def reward(self) -> Tensor:
        """Reward of the step just taken (``b``, float64), see the module docstring."""
        r = self.normalized_regret()
        floor = self.cfg.regret_floor
        kind = self.cfg.reward
        if kind == "log_regret":
            rew = -torch.log10(r.clamp_min(floor))
        elif kind == "regret":
            rew = -r
        elif kind == "vs_npei":
            rew = self.baseline_regret[:, self.t - 1] - r
        else:  # vs_npei_log
            base = self.baseline_regret[:, self.t - 1]
            rew = torch.log10(base.clamp_min(floor)) - torch.log10(r.clamp_min(floor))
        T = self.cfg.horizon
        w = 1.0 + self.cfg.early_weight * (T - self.t) / max(T - 1, 1)
        return rew * w


# ---------------------------------------------------------------------------- rollouts
def masked_scores(scores: Tensor, evaluated: Tensor) -> Tensor:
    """Scores with evaluated candidates set to ``-inf`` (they can never be picked)."""
    return scores.masked_fill(evaluated, -math.inf)


@torch.no_grad()
def greedy_rollout(env: BOEnv, score_fn: ScoreFn) -> Tensor:
    """Run ``env`` to the end picking the arg-max of ``score_fn``; returns the normalised
    regret after each step, ``b x T`` (float64). ``env`` is advanced in place."""
    out = []
    while not env.done:
        s = score_fn(env.X, env.y, env.order, env.n_hist)
        env.step(masked_scores(s, env.evaluated).argmax(-1))
        out.append(env.normalized_regret())
    return torch.stack(out, dim=1) if out else env.best.new_zeros(env.batch_size, 0)

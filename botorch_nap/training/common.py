"""Pieces shared by NP pretraining and PPO: task sampling, the NP loss, schedules, logs, RNG.

Everything here follows the normalisation rules of :mod:`botorch_nap.normalization`:
x goes to the unit cube by the family's bounds, y is standardised by the *context's* own mean
and std (never by the task's true range), and we maximise.
"""

from __future__ import annotations

import csv
import math
import os
import random
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from botorch_nap.nn.transformer import NAPTransformer
from botorch_nap.normalization import YScale, fit_y_scale, to_unit_cube

# The split names the task families use.
TRAIN, VAL, TEST = "train", "val", "test"


# ---------------------------------------------------------------------------- task sampling
def family_bounds(family) -> Tensor:
    """``2 x d`` search-space bounds of a task family (float64)."""
    return torch.as_tensor(family.space.bounds, dtype=torch.float64)


def sample_tasks(
    family,
    b: int,
    n_points: int,
    generator: torch.Generator,
    split: str = TRAIN,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> tuple[Tensor, Tensor]:
    """Draw ``b`` tasks with ``n_points`` evaluated points each.

    Returns ``X``: ``b x N x d`` in the unit cube and ``y``: ``b x N`` to be *maximised*.
    ``family.sample_batch`` may return ``(X, y)`` or ``(X, y, maximize)``; a ``maximize`` of
    False flips the sign here, at the boundary.
    """
    out = family.sample_batch(b, n_points, generator, split=split)
    X, y = out[0], out[1]
    if len(out) > 2 and isinstance(out[2], bool) and not out[2]:
        y = -y
    X = to_unit_cube(torch.as_tensor(X, dtype=torch.float64), family_bounds(family))
    y = torch.as_tensor(y, dtype=torch.float64)
    return X.to(dtype=dtype, device=device), y.to(dtype=dtype, device=device)


def split_has_tasks(family, split: str) -> bool:
    """Whether ``family`` has any task in ``split`` (synthetic families always do)."""
    try:
        ids = family.split_ids(split)
    except (KeyError, ValueError, AttributeError, NotImplementedError):
        return False
    return ids is None or len(ids) > 0


# ---------------------------------------------------------------------------- the NP loss
def random_context_sizes(
    b: int, n_points: int, generator: torch.Generator, min_context: int = 1
) -> Tensor:
    """Per-task context sizes, uniform on ``{min_context, ..., n_points - 1}`` (shape ``b``).

    Small contexts are as likely as large ones: the first BO steps (5 initial points) are
    where NP-EI has to be good and where a plain "half the points" split never trains.
    """
    hi = n_points - 1
    lo = min(max(min_context, 1), hi)
    return torch.randint(lo, hi + 1, (b,), generator=generator)


def search_like_order(
    X: Tensor,
    y: Tensor,
    n_order: int,
    generator: torch.Generator,
    n_start: int = 5,
    local_prob: float = 0.5,
    k_near: int = 3,
) -> Tensor:
    """An order of each task's points that a search could have evaluated them in.

    ``X``: ``b x N x d`` (unit cube, already in random order), ``y``: ``b x N`` (maximise).
    The first ``n_start`` points keep their random order (an initial design). Then, up to
    position ``n_order``, each next point is, with probability ``local_prob``, one of the
    ``k_near`` unchosen points nearest to the best point chosen so far (exploitation), else
    a uniformly random unchosen point (exploration); the remaining points follow in their
    random order. Returns ``b x N`` indices.

    Which point comes next depends only on the points already chosen, their values and the
    positions of the others, never on an unchosen point's value, as in a real BO history.
    So the first ``n`` points are a context such as a search builds (clustered around its
    incumbents, unlike an iid draw), and the values of the others, the NP's targets, are
    not selected on: the NP learns the same conditional, on histories shaped like the ones
    it will read.
    """
    b, n, _ = X.shape
    n_order = min(n_order, n)
    chosen = torch.zeros(b, n, dtype=torch.bool, device=X.device)
    order = torch.empty(b, n, dtype=torch.long, device=X.device)
    rows = torch.arange(b, device=X.device)
    start = min(n_start, n_order)
    order[:, :start] = torch.arange(start, device=X.device)
    chosen[:, :start] = True
    for t in range(start, n_order):
        best = y.masked_fill(~chosen, -math.inf).argmax(-1)
        dist = (X - X[rows, best].unsqueeze(1)).square().sum(-1).masked_fill(chosen, math.inf)
        k = min(k_near, n - t)
        near = dist.topk(k, largest=False).indices  # b x k
        pick_near = near[rows, torch.randint(k, (b,), generator=generator).to(X.device)]
        keys = torch.rand(b, n, generator=generator).to(X.device).masked_fill(chosen, -1.0)
        pick_any = keys.argmax(-1)
        local = torch.rand(b, generator=generator).to(X.device) < local_prob
        nxt = torch.where(local, pick_near, pick_any)
        order[:, t] = nxt
        chosen[rows, nxt] = True
    if n_order < n:
        # The rest in their random (index) order: a stable sort puts unchosen points first.
        rest = torch.sort(chosen.to(torch.int8), dim=-1, stable=True).indices[:, : n - n_order]
        order[:, n_order:] = rest
    return order


#: How :func:`np_loss` averages the targets' NLL (see there).
LOSS_WEIGHTINGS = ("target", "task")


class ContextSplit(NamedTuple):
    """A batch split at per-task context sizes (:func:`context_split`).

    ``hist_x`` ``b x n_max x d`` and ``y_ctx`` ``b x n_max`` (on the bars' scale) with their
    ``mask``: the history to encode; ``is_context``: ``b x N``, over all points; ``scale``:
    the :class:`~botorch_nap.normalization.YScale` fitted on each context."""

    hist_x: Tensor
    y_ctx: Tensor
    mask: Tensor
    is_context: Tensor
    scale: YScale


def context_split(X: Tensor, y: Tensor, n_context: Tensor, y_transform: str) -> ContextSplit:
    """Point ``j`` of task ``i`` is context when ``j < n_context[i]``; the context's values
    are put on the bars' scale fitted on the context alone (``X`` ``b x N x d``, ``y``
    ``b x N``, ``n_context`` ``b``)."""
    n = X.shape[1]
    idx = torch.arange(n, device=X.device)
    is_context = idx.unsqueeze(0) < n_context.to(X.device).unsqueeze(1)
    n_max = int(n_context.max())
    mask = is_context[:, :n_max]
    y_ctx, scale = fit_y_scale(y[:, :n_max], mask, y_transform)
    return ContextSplit(X[:, :n_max], y_ctx, mask, is_context, scale)


def np_loss(
    net: NAPTransformer,
    X: Tensor,
    y: Tensor,
    n_context: Tensor,
    chunk_size: int | None = None,
    weighting: str = "target",
) -> Tensor:
    """Mean bar NLL of the targets given a per-task random context.

    ``X``: ``b x N x d`` (unit cube), ``y``: ``b x N`` (raw, maximise), ``n_context``: ``b``.
    The points are taken in the given (already random, iid) order: point ``j`` of task ``i``
    is context when ``j < n_context[i]``, else a target. Context and targets are put on the
    bars' scale fitted on the context only (``net.config.y_transform``). Returns a scalar.

    ``weighting``: ``"target"`` averages over all targets of the batch, so a task with a large
    context (few targets left) weighs little; ``"task"`` averages within each task first, so
    every context size weighs alike (what late BO steps, with long histories, need).
    """
    if weighting not in LOSS_WEIGHTINGS:
        raise ValueError(f"weighting must be one of {LOSS_WEIGHTINGS}, got {weighting!r}")
    split = context_split(X, y, n_context, net.config.y_transform)
    enc = net.encode_history(split.hist_x, split.y_ctx, mask=split.mask)
    # Score every point; only non-context ones count. Queries never see each other, so
    # scoring the context points too changes nothing for the targets.
    logits = net.score(enc, X, chunk_size=chunk_size).bar_logits  # b x N x B
    return target_mean(net.bar.nll(logits, split.scale(y)), split.is_context, weighting)


def target_mean(nll: Tensor, is_context: Tensor, weighting: str = "target") -> Tensor:
    """Mean of ``b x N`` per-point losses over the targets (non-context points), averaged
    over all targets (``"target"``) or within each task first (``"task"``)."""
    w = (~is_context).to(nll.dtype)
    if weighting == "task":
        return ((nll * w).sum(1) / w.sum(1).clamp_min(1.0)).mean()
    return (nll * w).sum() / w.sum().clamp_min(1.0)


# ---------------------------------------------------------------------------- schedules
def warmup_linear_lambda(warmup: int, total: int, final_frac: float = 0.0):
    """LR multiplier: linear warm-up over ``warmup`` steps, then linear decay to
    ``final_frac`` at ``total``. Plain function of the step, so the scheduler state is just
    a counter (exact resume)."""

    def f(step: int) -> float:
        if warmup > 0 and step < warmup:
            return (step + 1) / warmup
        if total <= warmup:
            return 1.0
        frac = min(1.0, (step - warmup) / max(1, total - warmup))
        return 1.0 - (1.0 - final_frac) * frac

    return f


# ---------------------------------------------------------------------------- RNG state
def rng_state(generators: dict[str, torch.Generator] | None = None) -> dict[str, Tensor]:
    """All RNG states as tensors (loadable with ``torch.load(weights_only=True)``)."""
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.device_count():
        state["cuda"] = torch.stack(torch.cuda.get_rng_state_all())
    # numpy/python RNGs are not used by the trainers, but seeded code around them may be.
    np_state = np.random.get_state()
    state["numpy_keys"] = torch.as_tensor(np_state[1].astype(np.int64))
    state["numpy_pos"] = torch.tensor([np_state[2], np_state[3]], dtype=torch.int64)
    state["numpy_gauss"] = torch.tensor([np_state[4]], dtype=torch.float64)
    py = random.getstate()
    state["python"] = torch.tensor(py[1], dtype=torch.int64)
    for name, g in (generators or {}).items():
        state[f"gen_{name}"] = g.get_state()
    return state


def set_rng_state(state: dict[str, Tensor], generators: dict[str, torch.Generator] | None = None):
    """Inverse of :func:`rng_state`."""
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available() and state["cuda"].numel():
        torch.cuda.set_rng_state_all(list(state["cuda"]))
    np.random.set_state(
        (
            "MT19937",
            state["numpy_keys"].numpy().astype(np.uint32),
            int(state["numpy_pos"][0]),
            int(state["numpy_pos"][1]),
            float(state["numpy_gauss"][0]),
        )
    )
    py = tuple(int(v) for v in state["python"].tolist())
    random.setstate((3, py, None))
    for name, g in (generators or {}).items():
        g.set_state(state[f"gen_{name}"])


# ---------------------------------------------------------------------------- logs
class CSVLog:
    """Append-only CSV with a fixed header; a resumed run keeps appending to the same file.

    Rows written after the checkpoint being resumed from are dropped on resume
    (:meth:`truncate_after`), so the log of a resumed run equals an uninterrupted one.
    """

    def __init__(self, path: str | os.PathLike, columns: Sequence[str]) -> None:
        self.path = Path(path)
        self.columns = list(columns)
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("w", newline="") as f:
                csv.writer(f).writerow(self.columns)

    def write(self, row: dict) -> None:
        with self.path.open("a", newline="") as f:
            csv.writer(f).writerow([_fmt(row.get(c)) for c in self.columns])

    def truncate_after(self, step: int) -> None:
        """Drop rows whose first column (step / iteration) is beyond ``step``."""
        key = self.columns[0]
        rows = read_csv(self.path)
        with self.path.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(self.columns)
            for r in rows:
                if float(r[key]) <= step:
                    w.writerow([r.get(c, "") for c in self.columns])


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.6g}"
    if isinstance(v, Tensor):
        return _fmt(v.item())
    return str(v)


def read_csv(path: str | os.PathLike) -> list[dict[str, str]]:
    with Path(path).open(newline="") as f:
        return list(csv.DictReader(f))


def to_float(values: Iterable[str]) -> list[float]:
    return [float(v) if v not in ("", None) else math.nan for v in values]

"""The observed history as the network sees it: validated, normalised and encoded once.

Shared by :class:`~botorch_nap.acquisition.nap.NAPAcquisition` and
:class:`~botorch_nap.models.neural_process.NeuralProcessModel`, so that both apply the same
normalisation (:mod:`botorch_nap.normalization`) and the same pending-point rule.

Pending points (``X_pending``) join the context with a *believer* value: the bar mean that
the network predicts for them from the observed history alone (a kriging believer). So a
second point of a q-batch sees the first as if already observed near its predicted value,
which makes the network's uncertainty there collapse and pushes the next pick elsewhere.
"""

from __future__ import annotations

import copy
import itertools
import warnings
import weakref

import torch
from torch import Tensor

from botorch_nap.nn.transformer import HistoryEncoding, NAPConfig, NAPTransformer
from botorch_nap.normalization import (
    YScale,
    budget_fraction,
    check_bounds,
    fit_y_scale,
    to_unit_cube,
)

#: How far (in the network's y units: history standard deviations when standardised) the
#: best observed value must stay below the top of the bars; see :func:`_keep_room_above`.
INCUMBENT_HEADROOM = 1.0


class HistoryScaleWarning(UserWarning):
    """A history's y scale was widened to keep its best value inside the network's bars."""


#: Points may lie this far outside the bounds (relative to the range) before we complain.
BOUNDS_TOL = 1e-6


# network -> {dtype: (parameter versions, frozen copy)}. A BO loop builds a new acquisition
# function every step from the same network; copying it each time costs more than scoring a
# small pool. Tensor version counters change on every in-place update (optimizer steps,
# load_state_dict), so a network trained in between is copied afresh.
_COPIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _versions(network: NAPTransformer) -> tuple:
    # Parameters and buffers directly: walking state_dict() costs a third of a millisecond,
    # a few percent of a whole pool decision.
    tensors = itertools.chain(network.parameters(), network.buffers())
    return tuple((t.data_ptr(), t._version) for t in tensors)


#: What a network may run in: its fused attention path mixes dtypes in half precision.
NETWORK_DTYPES = (torch.float32, torch.float64)


def check_network_dtype(dtype: torch.dtype, what: str = "dtype") -> torch.dtype:
    """``dtype`` if the network can run in it, else ``ValueError`` naming it."""
    if dtype not in NETWORK_DTYPES:
        raise ValueError(
            f"{what} is {dtype}, but the network runs in torch.float32 or torch.float64 only "
            "(half precision is not supported)"
        )
    return dtype


def inference_copy(network: NAPTransformer, dtype: torch.dtype) -> NAPTransformer:
    """A frozen eval-mode copy in ``dtype``; the caller's network is never modified."""
    if not isinstance(network, NAPTransformer):
        raise TypeError(f"network must be a NAPTransformer, got {type(network).__name__}")
    check_network_dtype(dtype)
    per_dtype = _COPIES.setdefault(network, {})
    versions = _versions(network)
    cached = per_dtype.get(dtype)
    # A holder may have moved the shared copy with .to() (BoTorch's analytic acquisitions do
    # that to their model): then it is no longer the copy we cached.
    if cached is not None and cached[0] == versions and cached[1].dtype == dtype:
        return cached[1]
    net = copy.deepcopy(network).to(dtype).eval()
    net.requires_grad_(False)
    per_dtype[dtype] = (versions, net)
    return net


def data_dim(X: Tensor, what: str = "train_X") -> int:
    """The ``d`` of ``n x d`` points, or ``ValueError`` naming ``what`` and its shape (before
    anything reads a dimension off a tensor of the wrong rank)."""
    if not isinstance(X, Tensor):
        raise ValueError(f"{what} must be a torch tensor (n x d), got {type(X).__name__}")
    if X.dim() != 2:
        raise ValueError(f"{what} must have shape n x d, got {tuple(X.shape)}")
    return X.shape[-1]


def _num(x: Tensor | float) -> str:
    # Ten digits: float32 bounds round by ~1e-8 relative, which ``:g``'s six digits hide.
    return f"{float(x):.10g}"


def check_within_bounds(X: Tensor, bounds: Tensor, what: str) -> None:
    """``ValueError`` if any of the ``n x d`` points ``X`` lies outside ``bounds`` by more
    than :data:`BOUNDS_TOL` of the range, naming a row, dim and value."""
    tol = BOUNDS_TOL * (bounds[1] - bounds[0])
    outside = (X < bounds[0] - tol) | (X > bounds[1] + tol)
    if outside.any():
        rows, cols = outside.nonzero(as_tuple=True)
        r, c = int(rows[0]), int(cols[0])
        raise ValueError(
            f"{what} lies outside bounds in {int(outside.any(-1).sum())} row(s), "
            f"e.g. row {r}, dim {c}: value {_num(X[r, c])} not in "
            f"[{_num(bounds[0, c])}, {_num(bounds[1, c])}]"
        )


def check_pending(X_pending: Tensor, bounds: Tensor, within: bool = True) -> None:
    """``ValueError`` naming the problem if pending points (``... x d``) have another ``d``
    than ``bounds``, NaN or inf, or (``within``) lie outside ``bounds``.

    ``NAPAcquisition``'s bounds are the search space, and its pending points join the history,
    which is held to them (``within=True``). A ``NeuralProcessModel``'s bounds may be the box of
    its training data (a learnt ``Normalize``) while the optimiser searches a wider one, whose
    points it scores as queries: its pending points follow the queries' rules.
    """
    d = bounds.shape[-1]
    if X_pending.shape[-1] != d:
        raise ValueError(f"X_pending has {X_pending.shape[-1]} dims, expected {d} (train_X's)")
    if not torch.isfinite(X_pending).all():
        raise ValueError("X_pending contains NaN or inf")
    if within:
        check_within_bounds(X_pending.reshape(-1, d), bounds.to(X_pending), "X_pending")


def validate_training_data(
    train_X: Tensor, train_Y: Tensor, bounds: Tensor | None, config: NAPConfig
) -> tuple[Tensor, Tensor, Tensor]:
    """Check and canonicalise ``n x d`` inputs, ``n`` or ``n x 1`` outputs, ``2 x d`` bounds.

    Returns ``(train_X, train_Y (n), bounds)``; ``bounds=None`` means the unit cube.
    Raises ``ValueError`` naming the problem.
    """
    if not isinstance(train_X, Tensor) or not isinstance(train_Y, Tensor):
        raise ValueError("train_X and train_Y must be torch tensors")
    if not train_X.is_floating_point():
        train_X = train_X.to(torch.float64)
    d, n = data_dim(train_X, "train_X"), train_X.shape[0]
    if not config.accepts_dim(d):
        raise ValueError(
            f"train_X has {d} dims but the network expects dim_x={config.describe_dims()}"
        )
    given = tuple(train_Y.shape)
    if train_Y.dim() == 2 and train_Y.shape[-1] == 1:
        train_Y = train_Y.squeeze(-1)
    if train_Y.dim() != 1 or train_Y.shape[0] != n:
        raise ValueError(
            f"train_Y must have shape n x 1 (or n) with n={n} matching train_X, got {given}"
        )
    # Y keeps its own precision where it has more than X's: float64 values on a large offset
    # cast to float32 X's dtype would lose their digits (a distinct history read as constant).
    y_dtype = torch.promote_types(train_Y.dtype, train_X.dtype)
    train_Y = train_Y.to(y_dtype if y_dtype.is_floating_point else torch.float64)
    if not torch.isfinite(train_X).all():
        raise ValueError("train_X contains NaN or inf")
    if not torch.isfinite(train_Y).all():
        raise ValueError("train_Y contains NaN or inf")
    if bounds is None:
        bounds = torch.stack([torch.zeros(d), torch.ones(d)]).to(train_X)
    bounds = check_bounds(torch.as_tensor(bounds).to(train_X), d)
    for j, k in enumerate(config.categories or []):
        # A categorical dim is decoded as code = round(u (k - 1)): its box must be [0, k-1].
        if k and j < d and (bounds[0, j] != 0 or bounds[1, j] != k - 1):
            raise ValueError(
                f"dim {j} is categorical with {k} choices for this network (codes 0..{k - 1}), "
                f"but its bounds are [{float(bounds[0, j]):g}, {float(bounds[1, j]):g}]"
            )
    check_within_bounds(train_X, bounds, "train_X")
    return train_X, train_Y, bounds


class HistoryContext:
    """Normalised history plus its encoding for one optimisation run.

    Args:
        network: an inference copy (see :func:`inference_copy`).
        train_X: ``n x d`` observed points in search-space units; ``n = 0`` is allowed.
        train_Y: ``n`` observed values, already oriented so that larger is better.
        bounds: ``2 x d`` search-space bounds.
        budget: total number of evaluations of the run, for the ``t/T`` feature; ``None``
            uses the network's training horizon (``t/T = min(n / horizon, 1)``).
    """

    def __init__(
        self,
        network: NAPTransformer,
        train_X: Tensor,
        train_Y: Tensor,
        bounds: Tensor,
        budget: int | None = None,
    ) -> None:
        if budget is not None and budget < 1:
            raise ValueError(f"budget must be a positive number of evaluations, got {budget}")
        self.network = network
        self.bounds = bounds
        self.budget = budget
        self.U = to_unit_cube(train_X, bounds).to(network.dtype)  # n x d
        # Fitted in the data's dtype: float32 would lose the digits of large offsets.
        y_norm, scale = fit_y_scale(train_Y.unsqueeze(0), kind=network.config.y_transform)
        y_norm, scale = _keep_room_above(y_norm.squeeze(0), scale.squeeze(0), network)
        self.y_norm = y_norm.to(network.dtype)  # n
        self.y_scale = scale  # raw y <-> the network's scale
        self.incumbent = self.y_norm.max() if self.y_norm.numel() else self.y_norm.new_zeros(())
        self._encoding: HistoryEncoding | None = None

    @property
    def encoding(self) -> HistoryEncoding:
        """The history's encoding without pending points (computed on first use)."""
        if self._encoding is None:
            self._encoding = self.encode()
        return self._encoding

    def t_frac(self, n_context: int) -> float:
        """:func:`~botorch_nap.normalization.budget_fraction` of ``n_context`` evaluations."""
        budget = self.budget if self.budget is not None else self.network.config.horizon
        return float(budget_fraction(n_context, budget))

    @torch.no_grad()
    def encode(self, X_pending: Tensor | None = None) -> HistoryEncoding:
        """Encode the history, with pending points (search-space units) as believers."""
        U, y = self.U, self.y_norm
        if X_pending is not None and X_pending.numel() > 0:
            U_pend = to_unit_cube(X_pending.reshape(-1, U.shape[-1]), self.bounds).to(U)
            base = self.network.encode_history(
                U[None], y[None], incumbent=self.incumbent, t_frac=self.t_frac(U.shape[0])
            )
            logits = self.network.score(base, U_pend[None]).bar_logits
            believer = self.network.bar.mean(logits)[0]
            U, y = torch.cat([U, U_pend]), torch.cat([y, believer])
        return self.network.encode_history(
            U[None], y[None], incumbent=self.incumbent, t_frac=self.t_frac(U.shape[0])
        )


def _keep_room_above(
    y_norm: Tensor, scale: YScale, network: NAPTransformer
) -> tuple[Tensor, YScale]:
    """Widen the y scale of a history whose best value stands so far above the rest that it
    would lie beyond the network's bars (``n`` values, a single history's scale).

    The bars end ``bar.borders[-1]`` (6 for the shipped networks) history standard deviations
    above its mean. A best value near or past that edge (one outstanding success among many
    poor values, which standardisation puts at up to ``(n - 1) / sqrt(n)``) leaves no bar above
    it: every expected improvement is zero, the acquisition is flat and its pick arbitrary,
    and the posterior contradicts the observation. So the scale is widened until the best
    value sits :data:`INCUMBENT_HEADROOM` below the top edge. Histories that leave that room
    (every committed benchmark run of a network) are untouched. The bottom edge is left
    alone: the context is always oriented so that larger is better (acquisitions with
    ``maximize=False`` and ``NeuralProcessModel(negate_train_ys=True)`` negate ``y`` first),
    and nothing below the incumbent enters an improvement. A model of the *un*-negated
    values read through a weight -1 ``ScalarizedPosteriorTransform`` gets no room below a
    standout minimum: minimise with ``negate_train_ys=True`` instead.
    """
    if y_norm.numel() == 0:
        return y_norm, scale
    top = float(network.bar.borders[-1]) - INCUMBENT_HEADROOM
    peak = float(y_norm.max())
    if top <= 0 or peak <= top:
        return y_norm, scale
    warnings.warn(
        f"the best observed value stands more than {top:g} standard deviations of the "
        "history above its mean, too near or past the top of the network's bars: the "
        "history's y scale is widened to keep room for an improvement above it. If one value "
        "dwarfs the rest, consider a transform of y (e.g. log) before the acquisition.",
        HistoryScaleWarning,
        stacklevel=3,
    )
    factor = peak / top
    return y_norm / factor, scale.widened(factor)


def cast_encoding(enc: HistoryEncoding, dtype: torch.dtype) -> HistoryEncoding:
    """``enc`` in another floating dtype (the mask stays boolean)."""
    return HistoryEncoding(
        [k.to(dtype) for k in enc.keys],
        [v.to(dtype) for v in enc.values],
        enc.mask,
        enc.tokens.to(dtype),
        enc.incumbent.to(dtype),
        enc.t_frac.to(dtype),
        None if enc.pos_scale is None else enc.pos_scale.to(dtype),
    )

r"""NAPAcquisition: the meta-learned network *is* the acquisition function.

No surrogate is fitted. The observed history is the network's context, encoded once when
the acquisition function is built; every candidate is then scored by the acquisition head
against that cached encoding (cost linear in the number of candidates).

Encoding of the search space (the same for training and for use):

* continuous dims: mapped to the unit cube by ``bounds``;
* integer dims: as continuous, rounded by the optimiser (e.g. ``optimize_acqf_mixed_alternating``);
* categorical dims: ordinal codes ``0 .. k-1`` with bounds ``[0, k-1]``, enumerated by
  ``optimize_acqf_mixed`` (``fixed_features_list``) or handled as ``cat_dims`` by
  ``optimize_acqf_mixed_alternating``. A network built with categories
  (``NAPConfig(categories=...)``) decodes the code one-hot; one without sees the code divided
  by ``k - 1``, a number, so neighbouring codes look alike to it.

Evaluated and pending points are never worth re-proposing: the score is lowered smoothly
within ``repeat_radius`` of them (:mod:`botorch_nap.acquisition.repeats`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from botorch.acquisition.acquisition import AcquisitionFunction
from botorch.models.model import Model
from torch import Tensor

from botorch_nap.acquisition.compiled import call_compiled, nap_values
from botorch_nap.acquisition.q_batch import single_point_transform
from botorch_nap.acquisition.repeats import DEFAULT_REPEAT_RADIUS, log_novelty
from botorch_nap.context import (
    HistoryContext,
    cast_encoding,
    check_network_dtype,
    check_pending,
    data_dim,
    inference_copy,
    validate_training_data,
)
from botorch_nap.nn.transformer import GradientPlan, HistoryEncoding, NAPTransformer
from botorch_nap.normalization import to_unit_cube


class NAPAcquisition(AcquisitionFunction):
    r"""Neural acquisition process: scores ``b x 1 x d`` candidates given the history.

    Args:
        network: a (meta-trained) :class:`NAPTransformer`. Eval-mode, gradient-free copies
            are used, so the caller's network is left untouched.
        train_X: ``n x d`` observed points inside ``bounds``.
        train_Y: ``n x 1`` (or ``n``) observed values.
        bounds: ``2 x d`` search-space bounds (``None``: the unit cube).
        maximize: if False, ``train_Y`` is minimised (its sign is flipped on the way in).
        budget: total number of evaluations planned for the run (initial design included),
            used for the network's ``t/T`` feature. ``None`` uses the network's training
            horizon: ``t/T = min(n / config.horizon, 1)``.
        model: optional BoTorch model; NAP needs none and never calls it (Ax passes one).
        chunk_size: candidates scored per chunk (bounds peak memory for large pools).
        dtype: dtype the network runs in. ``None`` (default): calls that need no gradient
            (scoring a pool, BoTorch's raw-sample screening) run in float32, calls that
            backpropagate to ``X`` (the L-BFGS polish of ``optimize_acqf``) in ``train_X``'s
            dtype, on the float32 encoding of the history cast up (the history does not
            depend on ``X``; encoding it is the ``O(n^2)`` part). Values come back in ``X``'s
            dtype either way. A dtype given here is used for every call.
        X_pending: ``m x d`` points submitted but not yet evaluated; they join the context as
            believers (Ax passes them here; BoTorch's ``sequential`` loop via ``set_X_pending``).
        repeat_radius: unit-cube radius within which the score of a candidate falls smoothly
            to ``-inf`` at an evaluated or pending point (``log(1 - exp(-d^2 / r^2))`` is
            added; see :mod:`botorch_nap.acquisition.repeats`). 0 turns it off.
        compile: run the calls that backpropagate to ``X`` (the L-BFGS polish) through
            ``torch.compile`` (:mod:`botorch_nap.acquisition.compiled`): the same values,
            each gradient evaluation about twice as fast, after a one-off compile of about
            30 s per process (about 7 s with PyTorch's on-disk cache warm). Worth it in long
            loops; off by default.

    Example:
        >>> acqf = NAPAcquisition(net, train_X, train_Y, bounds)
        >>> x, _ = optimize_acqf(acqf, bounds, q=1, num_restarts=4, raw_samples=256)
        >>> x, _ = optimize_acqf_discrete(acqf, q=1, choices=pool, X_avoid=train_X)
    """

    def __init__(
        self,
        network: NAPTransformer,
        train_X: Tensor,
        train_Y: Tensor,
        bounds: Tensor | None = None,
        maximize: bool = True,
        budget: int | None = None,
        model: Model | None = None,
        chunk_size: int = 4096,
        dtype: torch.dtype | None = None,
        X_pending: Tensor | None = None,
        repeat_radius: float = DEFAULT_REPEAT_RADIUS,
        compile: bool = False,
    ) -> None:
        super().__init__(model=model)
        # Not ``self.compile``: that would hide ``nn.Module.compile``.
        self.compile_gradients = bool(compile)
        if repeat_radius < 0:
            raise ValueError(f"repeat_radius must be >= 0, got {repeat_radius}")
        self.repeat_radius = float(repeat_radius)
        if not isinstance(network, NAPTransformer):
            raise TypeError(f"network must be a NAPTransformer, got {type(network).__name__}")
        train_X, train_Y, bounds = validate_training_data(train_X, train_Y, bounds, network.config)
        self.maximize = maximize
        self.chunk_size = chunk_size
        self.budget = budget
        self.register_buffer("bounds", bounds)
        self.register_buffer("train_X", train_X)
        self.register_buffer("train_Y", train_Y)
        # Gradient-free calls run in ``_fast_dtype``, backpropagating ones in ``_grad_dtype``.
        fast = torch.float32 if dtype is None else check_network_dtype(dtype)
        self._fast_dtype = fast
        self._grad_dtype = dtype or check_network_dtype(train_X.dtype, "train_X's dtype")
        # Kept out of the module tree, so that ``acqf.to(...)`` never touches the caller's net.
        object.__setattr__(self, "_source", network)
        self._states: dict[torch.dtype, _State] = {}
        self.set_X_pending(X_pending)  # builds the fast state now: bad input fails here

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_checkpoint(
        cls,
        path: str | os.PathLike,
        train_X: Tensor,
        train_Y: Tensor,
        bounds: Tensor | None = None,
        **kwargs,
    ) -> NAPAcquisition:
        """Build from a checkpoint directory written by training or ``NAPTransformer.save``."""
        net = NAPTransformer.load(path, expected_dim=data_dim(train_X), keep_rng=True)
        return cls(net, train_X, train_Y, bounds, **kwargs)

    @classmethod
    def from_pretrained(
        cls, name: str, train_X: Tensor, train_Y: Tensor, bounds: Tensor | None = None, **kwargs
    ) -> NAPAcquisition:
        """Build from a shipped model (``botorch-nap models`` lists them), e.g. "hpobench_xgb"."""
        from botorch_nap.pretrained import checkpoint_path

        return cls.from_checkpoint(checkpoint_path(name, "nap"), train_X, train_Y, bounds, **kwargs)

    # ------------------------------------------------------------------ per-dtype state
    def _state(self, dtype: torch.dtype) -> _State:
        """The network copy, context and encoding in ``dtype``, built on first use."""
        state = self._states.get(dtype)
        if state is None:
            net = inference_copy(self._source, dtype)
            Y = self.train_Y if self.maximize else -self.train_Y
            context = HistoryContext(net, self.train_X, Y, self.bounds, self.budget)
            state = self._states[dtype] = _State(net, context)
        if state.encoding is None:
            pending = self.X_pending is not None and self.X_pending.numel() > 0
            if dtype != self._fast_dtype:
                # The history does not depend on X: the gradient path reuses the fast path's
                # encoding, cast (the O(n^2) encoding is the cost of long histories).
                state.encoding = cast_encoding(self._state(self._fast_dtype).encoding, dtype)
            else:
                # Without pending points the context's own encoding serves (no second encode).
                state.encoding = (
                    state.context.encode(self.X_pending) if pending else state.context.encoding
                )
            state.known = state.context.U
            if pending:
                d = self.train_X.shape[-1]
                U_pend = to_unit_cube(self.X_pending.reshape(-1, d), self.bounds)
                state.known = torch.cat([state.known, U_pend.to(state.known)])
        return state

    @property
    def network(self) -> NAPTransformer:
        """The inference copy that scores gradient-free calls."""
        return self._state(self._fast_dtype).network

    @property
    def X_baseline(self) -> Tensor:
        """The observed points (``n x d``), where BoTorch's mixed optimiser looks for the
        evaluated points to start its local search from."""
        return self.train_X

    @property
    def context(self) -> HistoryContext:
        return self._state(self._fast_dtype).context

    @property
    def _encoding(self) -> HistoryEncoding:
        return self._state(self._fast_dtype).encoding

    # ------------------------------------------------------------------ BoTorch API
    def set_X_pending(self, X_pending: Tensor | None = None) -> None:
        """Pending points join the context with a believer value (:mod:`botorch_nap.context`)."""
        if not hasattr(self, "_states"):  # called by a base-class constructor
            super().set_X_pending(X_pending)
            return
        if X_pending is not None:
            # Before they are set: refused points leave the acquisition as it was.
            check_pending(X_pending, self.bounds)
        super().set_X_pending(X_pending)
        for state in self._states.values():
            state.encoding = state.known = state.plan = None  # re-encoded on next use
        self._state(self._fast_dtype)

    @single_point_transform()
    def forward(self, X: Tensor) -> Tensor:
        """Acquisition values of ``batch_shape x 1 x d`` candidates -> ``batch_shape``."""
        d = self.train_X.shape[-1]
        if X.shape[-1] != d:
            raise ValueError(f"X has {X.shape[-1]} dims, expected {d}")
        if not torch.isfinite(X).all():
            raise ValueError("X contains NaN or inf")
        batch_shape = X.shape[:-2]
        grad = torch.is_grad_enabled() and X.requires_grad
        state = self._state(self._grad_dtype if grad else self._fast_dtype)
        U = to_unit_cube(X.reshape(1, -1, d), self.bounds).to(state.network.dtype)
        if grad and bool(state.encoding.mask.all()):
            # Points that backpropagate (the polish's few restarts): one chunk, through
            # torch.compile or the encoding's gradient plan (fewer operations per pass).
            if state.run_mlp is None:
                state.run_mlp = state.network.has_trained_head()
            args = (state.network, state.encoding, state.known, self.repeat_radius)
            if self.compile_gradients:
                acq = call_compiled(nap_values, U[0], *args, state.run_mlp)
            else:
                if state.plan is None:
                    state.plan = state.network.gradient_plan(state.encoding)
                acq = nap_values(U[0], *args, state.run_mlp, state.plan)
            return acq.reshape(batch_shape).to(X.dtype)
        out = state.network.score(state.encoding, U, self.chunk_size, return_logits=False)
        acq = out.acq[0] + log_novelty(U[0], state.known, self.repeat_radius, self.chunk_size)
        return acq.reshape(batch_shape).to(X.dtype)


@dataclass
class _State:
    """One dtype's network copy, context, encoding (with pending points) and known points."""

    network: NAPTransformer
    context: HistoryContext
    encoding: HistoryEncoding | None = None
    known: Tensor | None = None
    #: Whether the gradient path runs the acquisition MLP (the network copy is frozen, so:
    #: whether its head was trained); decided on first use.
    run_mlp: bool | None = None
    #: The encoding's gradient plan (eager gradient path), built on first use.
    plan: GradientPlan | None = None

r"""NAPAcquisition: the meta-learned network *is* the acquisition function.

No surrogate is fitted. The observed history is the network's context, encoded once when
the acquisition function is built; every candidate is then scored by the acquisition head
against that cached encoding (cost linear in the number of candidates).

Encoding of the search space (the same for training and for use):

* continuous dims: mapped to the unit cube by ``bounds``;
* integer dims: as continuous, rounded by the optimiser (e.g. ``optimize_acqf_mixed_alternating``);
* categorical dims: ordinal codes ``0 .. k-1`` with bounds ``[0, k-1]``, enumerated by
  ``optimize_acqf_mixed`` (``fixed_features_list``) or handled as ``cat_dims`` by
  ``optimize_acqf_mixed_alternating``. The network sees the code divided by ``k - 1``.

Evaluated and pending points are never worth re-proposing: the score is lowered smoothly
within ``repeat_radius`` of them (:mod:`botorch_nap.acquisition.repeats`).
"""

from __future__ import annotations

import os

import torch
from botorch.acquisition.acquisition import AcquisitionFunction
from botorch.models.model import Model
from botorch.utils.transforms import t_batch_mode_transform
from torch import Tensor

from botorch_nap.acquisition.repeats import DEFAULT_REPEAT_RADIUS, log_novelty
from botorch_nap.context import HistoryContext, inference_copy, validate_training_data
from botorch_nap.nn.transformer import NAPTransformer
from botorch_nap.normalization import to_unit_cube


class NAPAcquisition(AcquisitionFunction):
    r"""Neural acquisition process: scores ``b x 1 x d`` candidates given the history.

    Args:
        network: a (meta-trained) :class:`NAPTransformer`. An eval-mode, gradient-free copy
            in ``train_X``'s dtype is used, so the caller's network is left untouched; use
            float64 data for continuous ``optimize_acqf``.
        train_X: ``n x d`` observed points inside ``bounds``.
        train_Y: ``n x 1`` (or ``n``) observed values.
        bounds: ``2 x d`` search-space bounds (``None``: the unit cube).
        maximize: if False, ``train_Y`` is minimised (its sign is flipped on the way in).
        budget: total number of evaluations planned for the run (initial design included),
            used for the network's ``t/T`` feature. ``None`` uses the network's training
            horizon: ``t/T = min(n / config.horizon, 1)``.
        model: optional BoTorch model; NAP needs none and never calls it (Ax passes one).
        chunk_size: candidates scored per chunk (bounds peak memory for large pools).
        dtype: dtype the network runs in (default ``train_X.dtype``). float32 halves the
            cost of scoring a discrete pool; keep float64 for gradient-based optimisation.
        X_pending: ``m x d`` points submitted but not yet evaluated; they join the context as
            believers (Ax passes them here; BoTorch's ``sequential`` loop via ``set_X_pending``).
        repeat_radius: unit-cube radius within which the score of a candidate falls smoothly
            to ``-inf`` at an evaluated or pending point (``log(1 - exp(-d^2 / r^2))`` is
            added; see :mod:`botorch_nap.acquisition.repeats`). 0 turns it off.

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
    ) -> None:
        super().__init__(model=model)
        if repeat_radius < 0:
            raise ValueError(f"repeat_radius must be >= 0, got {repeat_radius}")
        self.repeat_radius = float(repeat_radius)
        if not isinstance(network, NAPTransformer):
            raise TypeError(f"network must be a NAPTransformer, got {type(network).__name__}")
        train_X, train_Y, bounds = validate_training_data(train_X, train_Y, bounds, network.config)
        self.maximize = maximize
        self.chunk_size = chunk_size
        self.network = inference_copy(network, dtype or train_X.dtype)
        self.register_buffer("bounds", bounds)
        self.register_buffer("train_X", train_X)
        self.register_buffer("train_Y", train_Y)
        self.context = HistoryContext(
            self.network, train_X, train_Y if maximize else -train_Y, bounds, budget
        )
        self.set_X_pending(X_pending)

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
        net = NAPTransformer.load(path, expected_dim=train_X.shape[-1])
        return cls(net, train_X, train_Y, bounds, **kwargs)

    @classmethod
    def from_pretrained(
        cls, name: str, train_X: Tensor, train_Y: Tensor, bounds: Tensor | None = None, **kwargs
    ) -> NAPAcquisition:
        """Build from a shipped model (``botorch-nap models`` lists them), e.g. "hpobench_xgb"."""
        from botorch_nap.pretrained import checkpoint_path

        return cls.from_checkpoint(checkpoint_path(name, "nap"), train_X, train_Y, bounds, **kwargs)

    # ------------------------------------------------------------------ BoTorch API
    def set_X_pending(self, X_pending: Tensor | None = None) -> None:
        """Pending points join the context with a believer value (:mod:`botorch_nap.context`)."""
        super().set_X_pending(X_pending)
        if not hasattr(self, "context"):  # called by a base-class constructor
            return
        if self.X_pending is not None:
            if self.X_pending.shape[-1] != self.train_X.shape[-1]:
                raise ValueError(
                    f"X_pending has {self.X_pending.shape[-1]} dims, expected "
                    f"{self.train_X.shape[-1]} (train_X's)"
                )
            if not torch.isfinite(self.X_pending).all():
                raise ValueError("X_pending contains NaN or inf")
        # Without pending points the context's own encoding serves (no second encode).
        pending = self.X_pending is not None and self.X_pending.numel() > 0
        self._encoding = self.context.encode(self.X_pending) if pending else self.context.encoding
        self._known = self.context.U
        if pending:
            U_pend = to_unit_cube(self.X_pending.reshape(-1, self.train_X.shape[-1]), self.bounds)
            self._known = torch.cat([self._known, U_pend.to(self._known)])

    @t_batch_mode_transform(expected_q=1)
    def forward(self, X: Tensor) -> Tensor:
        """Acquisition values of ``batch_shape x 1 x d`` candidates -> ``batch_shape``."""
        d = self.train_X.shape[-1]
        if X.shape[-1] != d:
            raise ValueError(f"X has {X.shape[-1]} dims, expected {d}")
        if not torch.isfinite(X).all():
            raise ValueError("X contains NaN or inf")
        batch_shape = X.shape[:-2]
        U = to_unit_cube(X.reshape(1, -1, d), self.bounds).to(self.network.dtype)
        out = self.network.score(self._encoding, U, self.chunk_size, return_logits=False)
        acq = out.acq[0] + log_novelty(U[0], self._known, self.repeat_radius, self.chunk_size)
        return acq.reshape(batch_shape).to(X.dtype)

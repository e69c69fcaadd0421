r"""NeuralProcessModel: the network's bar head as a BoTorch ``Model``.

The history is the context; ``posterior(X)`` is a ``BoundedRiemannPosterior`` whose
borders are the bar borders mapped back to the **original y units**
(``borders * std + mean`` of ``train_Y``), so its mean and variance are the exact moments of
the bars in the units the user gave, and ``icdf(p)`` (a float ``p``) their quantiles
(``botorch_community``'s posterior leaves BoTorch's ``quantile`` unimplemented). Any BoTorch
acquisition that works from a posterior's mean/variance (``LogExpectedImprovement``,
``UpperConfidenceBound``) runs on it, as does ``botorch_community``'s exact
``DiscretizedExpectedImprovement``; NP-EI is
:class:`~botorch_nap.acquisition.np_ei.NPExpectedImprovement`.
"""

from __future__ import annotations

import os

import torch
from botorch.acquisition.objective import PosteriorTransform, ScalarizedPosteriorTransform
from botorch.exceptions.errors import UnsupportedError
from botorch.models.model import Model
from botorch.models.transforms.input import InputTransform
from botorch_community.posteriors.riemann import BoundedRiemannPosterior
from torch import Tensor

from botorch_nap.context import (
    HistoryContext,
    check_network_dtype,
    check_pending,
    data_dim,
    inference_copy,
    validate_training_data,
)
from botorch_nap.nn.transformer import HistoryEncoding, NAPTransformer
from botorch_nap.normalization import to_unit_cube


class NeuralProcessModel(Model):
    r"""A meta-learned neural process over one task's history (single output).

    Args:
        network: a (pretrained) :class:`NAPTransformer`; an eval-mode copy is used.
        train_X: ``n x d`` observed points (in the model's input space; after
            ``input_transform`` they must lie in ``bounds``).
        train_Y: ``n x 1`` (or ``n``) observations, in any units.
        bounds: ``2 x d`` bounds of the (transformed) inputs; ``None`` = the unit cube,
            which is what a ``Normalize`` input transform produces.
        input_transform: optional BoTorch ``InputTransform`` applied to ``train_X`` and to
            every ``X`` passed to ``posterior``.
        dtype: dtype the network runs in (default ``train_X.dtype``); outputs come back in
            the dtype of the ``X`` passed to ``posterior``, or in float64 where ``train_Y`` is
            float64 (float32 values around a large offset would lose their digits).

    Example:
        >>> model = NeuralProcessModel(net, train_X, train_Y, bounds=bounds)
        >>> post = model.posterior(X)          # batch x q x d -> batch x q x 1 moments
        >>> post.mean, post.variance
    """

    _num_outputs = 1

    def __init__(
        self,
        network: NAPTransformer,
        train_X: Tensor,
        train_Y: Tensor,
        bounds: Tensor | None = None,
        input_transform: InputTransform | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(network, NAPTransformer):
            raise TypeError(f"network must be a NAPTransformer, got {type(network).__name__}")
        # As SingleTaskGP does: the transform sees train_X in train mode (so e.g. a
        # Normalize without bounds learns them), then is stored and used in eval mode.
        with torch.no_grad():
            tX = self.transform_inputs(train_X, input_transform)
        if input_transform is not None:
            self.input_transform = input_transform
        tX, Y, bounds = validate_training_data(tX, train_Y, bounds, network.config)
        if dtype is None:
            check_network_dtype(tX.dtype, "train_X's dtype")
        self.network = inference_copy(network, dtype or tX.dtype)
        self.register_buffer("bounds", bounds)
        self.train_inputs = (train_X,)
        self.train_targets = Y
        self._tX = tX
        self._contexts: dict[bool, HistoryContext] = {}

    @classmethod
    def from_checkpoint(
        cls,
        path: str | os.PathLike,
        train_X: Tensor,
        train_Y: Tensor,
        bounds: Tensor | None = None,
        **kwargs,
    ) -> NeuralProcessModel:
        """Build from a checkpoint directory written by training or ``NAPTransformer.save``
        (``bounds`` positional or by keyword, as for the acquisitions)."""
        net = NAPTransformer.load(path, expected_dim=data_dim(train_X), keep_rng=True)
        return cls(net, train_X, train_Y, bounds, **kwargs)

    @classmethod
    def from_pretrained(
        cls,
        name: str,
        train_X: Tensor,
        train_Y: Tensor,
        bounds: Tensor | None = None,
        **kwargs,
    ) -> NeuralProcessModel:
        """Build from a shipped NP model (``botorch-nap models`` lists them)."""
        from botorch_nap.pretrained import checkpoint_path

        path = checkpoint_path(name, "np")
        return cls.from_checkpoint(path, train_X, train_Y, bounds, **kwargs)

    # ------------------------------------------------------------------ Model API
    @property
    def num_outputs(self) -> int:
        return 1

    @property
    def batch_shape(self) -> torch.Size:
        return torch.Size([])

    # The history is transformed once at construction; BoTorch's train/eval hooks that swap
    # train_inputs between raw and transformed (GP models) have nothing to do here.
    def _set_transformed_inputs(self) -> None:
        pass

    def _revert_to_original_inputs(self) -> None:
        pass

    def _context(self, negate: bool) -> HistoryContext:
        # The network (and so the context) may have been moved to another dtype by .to().
        ctx = self._contexts.get(negate)
        if ctx is None or ctx.U.dtype != self.network.dtype:
            Y = -self.train_targets if negate else self.train_targets
            ctx = HistoryContext(self.network, self._tX.to(self.network.dtype), Y, self.bounds)
            self._contexts[negate] = ctx
        return ctx

    def posterior(
        self,
        X: Tensor,
        output_indices: list[int] | None = None,
        observation_noise: bool | Tensor = False,
        posterior_transform: PosteriorTransform | None = None,
        pending_X: Tensor | None = None,
        negate_train_ys: bool = False,
        **kwargs,
    ) -> BoundedRiemannPosterior:
        r"""Bar posterior at ``batch_shape x q x d`` points (independent per point).

        Args:
            observation_noise: accepted for BoTorch's interface and ignored: the network
                predicts a new *observation* (noise included, as it was trained), so its
                posterior already is what ``observation_noise=True`` asks of a GP.
            pending_X: ``n' x d`` points joining the context with believer values (held to
                the queries' rules: dims, finite).
            negate_train_ys: condition on ``-train_Y`` (used for minimisation by
                ``DiscretizedExpectedImprovement``); the posterior is then over ``-y``.
            posterior_transform: a single-output ``ScalarizedPosteriorTransform`` is applied
                exactly (``w * y + offset``, buckets flipped when ``w < 0``). To model a
                minimised objective prefer ``negate_train_ys=True``: the network reads a
                history oriented so that larger is better, and a standout best value keeps
                room beyond it only on that side (:func:`botorch_nap.context._keep_room_above`).
        Returns:
            ``BoundedRiemannPosterior`` with probabilities ``batch_shape x q x B``.
        """
        if output_indices not in (None, [0]):
            raise UnsupportedError("NeuralProcessModel has a single output")
        enc, U, borders, batch = self.query_inputs(X, pending_X, negate_train_ys)
        logits = self.network.score(enc, U.unsqueeze(0)).bar_logits
        probs = torch.softmax(logits, -1).reshape(*batch, -1).to(borders.dtype)
        if posterior_transform is not None:
            borders, probs = _affine(posterior_transform, borders, probs)
        return NeuralProcessPosterior(borders=borders, probabilities=probs)

    def values_dtype(self, dtype: torch.dtype) -> torch.dtype:
        """The dtype of the posterior in y units for points in ``dtype``: theirs, or float64
        where ``train_Y`` is (float32 bars around a large offset would collapse)."""
        return torch.promote_types(dtype, self.train_targets.dtype)

    def query_inputs(
        self, X: Tensor, pending_X: Tensor | None = None, negate_train_ys: bool = False
    ) -> tuple[HistoryEncoding, Tensor, Tensor, torch.Size]:
        """What :meth:`posterior` hands the network for ``batch_shape x q x d`` points: the
        context's encoding (with ``pending_X`` as believers), the transformed points in the
        unit cube (``m x d``, the network's dtype), the bar borders in y units and the
        points' batch shape (``batch_shape x q``). Checks ``X`` and ``pending_X`` (dims,
        finite). The borders come in ``X``'s dtype, or in float64 where ``train_Y`` is
        float64 and ``X`` float32: float32 borders around a large offset would collapse."""
        if not torch.isfinite(X).all():
            raise ValueError("X contains NaN or inf")
        self.eval()  # input transforms (e.g. a learnt Normalize) must not relearn on X
        tX = self.transform_inputs(X)
        d = self._tX.shape[-1]
        if tX.shape[-1] != d:
            raise ValueError(
                f"X has {tX.shape[-1]} dims (after input transforms), expected {d} (train_X's)"
            )
        ctx = self._context(negate_train_ys)
        if pending_X is None:
            enc = ctx.encoding
        else:
            pending = self.transform_inputs(pending_X)  # in eval mode (above): no refit
            check_pending(pending, self.bounds, within=False)
            enc = ctx.encode(pending)
        U = to_unit_cube(tX.reshape(-1, d), self.bounds).to(self.network.dtype)
        dtype = self.values_dtype(X.dtype)
        borders = ctx.y_scale.inverse(self.network.bar.borders.to(device=X.device, dtype=dtype))
        return enc, U, borders, tX.shape[:-1]


class NeuralProcessPosterior(BoundedRiemannPosterior):
    r"""A ``BoundedRiemannPosterior`` of per-point marginals that refuses joint samples.

    The network predicts each point's distribution given the history, not a joint one over
    several points. Samples drawn for ``q > 1`` points at once would be independent, even for
    one point given twice; BoTorch's Monte Carlo acquisitions over several points (joint
    q-batches, pending points, ``qLogNoisyExpectedImprovement``'s baseline) would then score
    ``[x, x]`` above ``[x]`` and propose a point twice. So ``rsample`` over more than one
    point raises; moments, quantiles and one-point samples work as in the parent, the
    variance summed about the mean (the parent's ``E[y^2] - E[y]^2`` cancels on offset data).
    """

    @property
    def variance(self) -> Tensor:
        """``batch_shape x q x 1``: each bar's spread (uniform within it) plus its centre's
        squared distance to the mean. The parent's ``E[y^2] - E[y]^2`` cancels
        catastrophically when the values sit on an offset large against their spread
        (``1e6 + 1e-3 f`` in float64, ``1e4 + f`` in float32: noise or NaN)."""
        lo, hi = self.borders[:-1], self.borders[1:]
        spread = (lo + hi) / 2 - self.mean  # batch_shape x q x B
        return (self.probabilities * (spread.square() + (hi - lo).square() / 12)).sum(
            -1, keepdim=True
        )

    def rsample_from_base_samples(self, sample_shape: torch.Size, base_samples: Tensor) -> Tensor:
        q = self.probabilities.shape[-2]  # batch_shape x q x B
        if q > 1:
            raise UnsupportedError(
                f"NeuralProcessModel has no joint distribution over {q} points (it predicts "
                "each point's marginal), so Monte Carlo acquisitions over several points "
                "(q > 1, pending points, qLogNoisyExpectedImprovement's baseline) would treat "
                "them as independent. Use a one-point acquisition (NPExpectedImprovement, "
                "LogExpectedImprovement, UpperConfidenceBound, or qLogExpectedImprovement "
                "with q=1 and no pending points); for a batch, NPExpectedImprovement or "
                "NAPAcquisition with optimize_acqf(..., q=k, sequential=True), which condition "
                "on the pending points."
            )
        return super().rsample_from_base_samples(sample_shape, base_samples)


def _affine(transform: PosteriorTransform, borders: Tensor, probs: Tensor) -> tuple[Tensor, Tensor]:
    if not isinstance(transform, ScalarizedPosteriorTransform) or transform.weights.numel() != 1:
        raise UnsupportedError(
            "NeuralProcessModel supports only single-output ScalarizedPosteriorTransform"
        )
    w = float(transform.weights.reshape(-1)[0])
    if w == 0:
        raise UnsupportedError("a zero posterior-transform weight collapses the distribution")
    borders = w * borders + float(transform.offset)
    if w < 0:
        borders, probs = borders.flip(0), probs.flip(-1)
    return borders, probs

r"""NP-EI: exact expected improvement over a neural process's bar posterior.

For a piecewise-uniform posterior EI has a closed form (see
:meth:`BarDistribution.expected_improvement`); the bucket straddling ``best_f`` counts only
its part above ``best_f``. Computed in log space by default so that gradient-based
optimisers keep a signal where EI is tiny (as BoTorch's ``LogExpectedImprovement`` does).
EI is multiplied by a smooth factor that vanishes at evaluated and pending points
(:mod:`botorch_nap.acquisition.repeats`), so that a continuous optimiser never re-proposes one.
"""

from __future__ import annotations

import torch
from botorch.acquisition.acquisition import AcquisitionFunction
from torch import Tensor

from botorch_nap.acquisition.compiled import call_compiled, np_ei_values
from botorch_nap.acquisition.q_batch import single_point_transform
from botorch_nap.acquisition.repeats import DEFAULT_REPEAT_RADIUS, log_novelty
from botorch_nap.context import check_pending, data_dim
from botorch_nap.models.neural_process import NeuralProcessModel
from botorch_nap.nn.bar_distribution import BarDistribution
from botorch_nap.nn.transformer import GradientPlan, HistoryEncoding, NAPTransformer
from botorch_nap.normalization import to_unit_cube


class NPExpectedImprovement(AcquisitionFunction):
    r"""Exact (log) expected improvement of a :class:`NeuralProcessModel`.

    Args:
        model: the neural-process model holding the history.
        best_f: improvement threshold in original y units; default the best observed value.
        maximize: if False, improvement is measured downwards (the model conditions on
            ``-y``, as ``DiscretizedExpectedImprovement`` does).
        log: return ``log EI`` (default) rather than EI.
        X_pending: ``m x d`` pending points, joining the model's context as believers.
        repeat_radius: unit-cube radius of the factor ``1 - exp(-d^2 / r^2)`` that takes EI
            to 0 at evaluated and pending points (0 turns it off).
        compile: run the calls that backpropagate to ``X`` (the L-BFGS polish) through
            ``torch.compile`` (:mod:`botorch_nap.acquisition.compiled`), when the model's
            network and values are in ``X``'s dtype (the default): the same values, faster
            after a one-off compile per process. Off by default.

    Example:
        >>> acqf = NPExpectedImprovement.from_network(net, train_X, train_Y, bounds)
        >>> x, _ = optimize_acqf_discrete(acqf, q=1, choices=pool, X_avoid=train_X)
    """

    def __init__(
        self,
        model: NeuralProcessModel,
        best_f: Tensor | float | None = None,
        maximize: bool = True,
        log: bool = True,
        X_pending: Tensor | None = None,
        repeat_radius: float = DEFAULT_REPEAT_RADIUS,
        compile: bool = False,
    ) -> None:
        super().__init__(model=model)
        # Not ``self.compile``: that would hide ``nn.Module.compile``.
        self.compile_gradients = bool(compile)
        #: (encoding, its gradient plan), for the eager gradient path.
        self._plan: tuple[HistoryEncoding, GradientPlan] | None = None
        if repeat_radius < 0:
            raise ValueError(f"repeat_radius must be >= 0, got {repeat_radius}")
        self.repeat_radius = float(repeat_radius)
        if not isinstance(model, NeuralProcessModel):
            raise TypeError(f"model must be a NeuralProcessModel, got {type(model).__name__}")
        y = model.train_targets
        if best_f is None:
            if y.numel() == 0:
                raise ValueError("best_f is required when the model has no observations")
            best_f = y.max() if maximize else y.min()
        self.maximize = maximize
        self.log = log
        self.register_buffer("best_f", torch.as_tensor(best_f, dtype=y.dtype))
        self.set_X_pending(X_pending)

    @classmethod
    def from_network(
        cls,
        network: NAPTransformer,
        train_X: Tensor,
        train_Y: Tensor,
        bounds: Tensor | None = None,
        maximize: bool = True,
        log: bool = True,
        dtype: torch.dtype | None = None,
        repeat_radius: float = DEFAULT_REPEAT_RADIUS,
        compile: bool = False,
    ) -> NPExpectedImprovement:
        """NP-EI in one call: the network's bar head as a model, plus exact EI."""
        model = NeuralProcessModel(network, train_X, train_Y, bounds=bounds, dtype=dtype)
        return cls(model, maximize=maximize, log=log, repeat_radius=repeat_radius, compile=compile)

    @classmethod
    def from_pretrained(
        cls,
        name: str,
        train_X: Tensor,
        train_Y: Tensor,
        bounds: Tensor | None = None,
        **kwargs,
    ) -> NPExpectedImprovement:
        """NP-EI with a shipped NP model (``botorch-nap models`` lists them), e.g.
        ``NPExpectedImprovement.from_pretrained("hpobench_xgb", train_X, train_Y, bounds)``."""
        from botorch_nap.pretrained import checkpoint_path

        net = NAPTransformer.load(
            checkpoint_path(name, "np"), expected_dim=data_dim(train_X), keep_rng=True
        )
        return cls.from_network(net, train_X, train_Y, bounds, **kwargs)

    @single_point_transform()
    def forward(self, X: Tensor) -> Tensor:
        """``batch_shape x 1 x d`` -> ``batch_shape``."""
        if torch.is_grad_enabled() and X.requires_grad:
            log_ei = self._gradient_log_ei(X)
            if log_ei is not None:
                return log_ei if self.log else log_ei.exp()
        post = self.model.posterior(X, pending_X=self.X_pending, negate_train_ys=not self.maximize)
        bar = BarDistribution(post.borders.detach())
        logits = post.probabilities.squeeze(-2).clamp_min(1e-300).log()
        # In the posterior's dtype (float64 where the model's values are, whatever X's).
        f = self.best_f.to(bar.borders) if self.maximize else -self.best_f.to(bar.borders)
        log_ei = bar.log_expected_improvement(logits, f).to(X.dtype) + self._log_novelty(X)
        return log_ei if self.log else log_ei.exp()

    def _gradient_log_ei(self, X: Tensor) -> Tensor | None:
        """:meth:`forward`'s log EI for points that backpropagate, through
        :func:`~botorch_nap.acquisition.compiled.np_ei_values` (the model's posterior and this
        class's EI in one piece): compiled with ``compile=True``, else eagerly with the
        encoding's gradient plan (fewer operations per pass). None where that path does not
        apply (the network or the bar borders in another dtype than ``X``, a batch of
        histories)."""
        if self.model.network.dtype != X.dtype:
            return None
        if self.model.values_dtype(X.dtype) != X.dtype:
            return None  # the bars in float64 for float32 points: the posterior path does it
        pending = self.X_pending if self.X_pending is not None and self.X_pending.numel() else None
        enc, U, borders, _ = self.model.query_inputs(X, pending, not self.maximize)
        if enc.mask.shape[0] != 1 or not bool(enc.mask.all()):
            return None
        f = self.best_f.to(X) if self.maximize else -self.best_f.to(X)
        args = (self.model.network, enc, borders, f, self._known_U.to(X), self.repeat_radius)
        if self.compile_gradients:
            log_ei = call_compiled(np_ei_values, U, *args)
        else:
            # The model keeps its encoding while the history stays (no pending points): so
            # does the plan, checked by identity.
            if self._plan is None or self._plan[0] is not enc:
                self._plan = (enc, self.model.network.gradient_plan(enc))
            log_ei = np_ei_values(U, *args, self._plan[1])
        return log_ei.reshape(X.shape[:-2])

    def set_X_pending(self, X_pending: Tensor | None = None) -> None:
        """Pending points join the model's context and the repeat factor's known points."""
        model = self.model
        known = model._tX
        if X_pending is not None and X_pending.numel() > 0:
            model.eval()  # a learnt input transform must not refit on the pending points
            pending = model.transform_inputs(X_pending)
            # Before they are set: refused points leave the acquisition as it was.
            check_pending(pending, model.bounds, within=False)
            known = torch.cat([known, pending.reshape(-1, known.shape[-1]).to(known)])
        super().set_X_pending(X_pending)
        # Computed once here, not on every forward of an optimiser's iterations.
        self._known_U = to_unit_cube(known, model.bounds)

    def _log_novelty(self, X: Tensor) -> Tensor:
        """The repeat factor's log for ``batch_shape x 1 x d`` X -> ``batch_shape``."""
        tX = self.model.transform_inputs(X)
        U = to_unit_cube(tX.reshape(-1, tX.shape[-1]), self.model.bounds)
        return log_novelty(U, self._known_U, self.repeat_radius).reshape(X.shape[:-2])

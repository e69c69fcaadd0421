r"""Everything Ax needs to know about NAP, registered once when ``ax_integration`` is imported.

* ``submodel_input_constructor`` for :class:`NeuralProcessModel`: Ax's ``Surrogate`` builds
  the model from a ``ModelConfig`` whose ``model_options`` name a checkpoint
  (``{"checkpoint": "<dir or shipped name>"}``); the network is loaded here.
* ``fit_botorch_model`` for :class:`NeuralProcessModel`: nothing to fit (the network is
  meta-trained; the history is its context).
* ``acqf_input_constructor`` for :class:`NAPAcquisition` and :class:`NPExpectedImprovement`.
* Ax's storage registries (``register_model`` / ``register_acquisition_function``), so that
  an experiment whose generation strategy uses them saves to and loads from JSON.

How Ax's data reaches the network (verified on ax-platform 1.3.1):

* **X**: the adapter hands the model raw parameter values (log10 for log-scale
  parameters; integer values; choice parameters as numeric codes ``0 .. k-1`` under the
  ``Mixed_transforms`` that the strategies in this package use) together with the search
  space digest's ``bounds``. For its GPs the ``Surrogate`` adds a ``Normalize`` input
  transform with exactly those bounds (none if they are already the unit cube). The
  network maps ``bounds`` to the unit cube itself, so that ``Normalize`` is folded into the
  ``NeuralProcessModel``'s ``bounds`` (see :func:`model_space_bounds`), and
  ``NAPAcquisition``, which sees the optimiser's raw ``X``, gets the same raw bounds: both
  put a point at the same unit-cube coordinates, which for a choice parameter is
  ``code / (k - 1)``, the network's training encoding.
* **Y**: winsorised and standardised by Ax's ``Y_trans``; the networks standardise the
  history again themselves, so this is harmless, and predictions are untransformed by Ax.
* **direction**: Ax always maximises ``posterior_transform`` =
  ``ScalarizedPosteriorTransform(weights=[w])``; ``w < 0`` means the metric is minimised, so
  the acquisitions are built with ``maximize=False`` (never by negating Y twice).
* **pending points** (other running trials, earlier arms of a batch) arrive as
  ``X_pending`` and join the network's context with believer values.
"""

from __future__ import annotations

import copy
import logging
import warnings
from typing import Any

import torch
from ax.core.search_space import SearchSpaceDigest
from ax.generators.torch.botorch_modular.surrogate import (
    Surrogate,
    _construct_submodules,
    submodel_input_constructor,
)
from ax.generators.torch.botorch_modular.utils import ModelConfig, fit_botorch_model
from ax.storage.botorch_modular_registry import (
    register_acquisition_function,
    register_model,
)
from botorch.acquisition.input_constructors import acqf_input_constructor
from botorch.acquisition.objective import PosteriorTransform, ScalarizedPosteriorTransform
from botorch.exceptions.errors import UnsupportedError
from botorch.models.model import Model
from botorch.models.transforms.input import InputTransform, Normalize
from botorch.utils.datasets import SupervisedDataset
from torch import Tensor

from ax_integration.checkpoints import load_network
from botorch_nap.acquisition.nap import NAPAcquisition
from botorch_nap.acquisition.np_ei import NPExpectedImprovement
from botorch_nap.acquisition.repeats import DEFAULT_REPEAT_RADIUS
from botorch_nap.models.neural_process import NeuralProcessModel

logger = logging.getLogger(__name__)

#: ``model_options`` keys understood by the NeuralProcessModel constructor below.
MODEL_OPTIONS = ("checkpoint", "kind")


# ---------------------------------------------------------------------- the model
def model_space_bounds(
    raw_bounds: Tensor, input_transform: InputTransform | None
) -> tuple[Tensor, InputTransform | None]:
    """``(bounds, input_transform)`` for a ``NeuralProcessModel`` on Ax's raw inputs.

    Ax's default transform, ``Normalize`` with the digest's bounds (fixed, all dims), is
    folded into the model's ``bounds``: the model maps ``bounds`` to the unit cube itself,
    which is exactly what that ``Normalize`` does, so the model gets ``bounds`` = the
    transform's box and no transform. Any other transform is kept; the model's ``bounds``
    are then the raw box pushed through it (a copy in eval mode), which for monotone
    per-dim transforms is the box of the transformed inputs.
    """
    if input_transform is None:
        return raw_bounds, None
    if (
        isinstance(input_transform, Normalize)
        and not input_transform.learn_bounds
        and getattr(input_transform, "indices", None) is None
    ):
        lo = input_transform.mins.reshape(-1).to(raw_bounds)
        return torch.stack([lo, lo + input_transform.ranges.reshape(-1).to(raw_bounds)]), None
    tf = copy.deepcopy(input_transform).eval()
    with torch.no_grad():
        out = tf(raw_bounds)
    if out.shape != raw_bounds.shape:
        raise UnsupportedError(
            f"NeuralProcessModel cannot use input transform {type(input_transform).__name__}: "
            "it changes the shape of the inputs"
        )
    return torch.stack([out.min(0).values, out.max(0).values]), input_transform


@submodel_input_constructor.register(NeuralProcessModel)
def _neural_process_model_inputs(
    botorch_model_class: type[Model],
    model_config: ModelConfig,
    dataset: SupervisedDataset,
    search_space_digest: SearchSpaceDigest,
    surrogate: Surrogate,
) -> dict[str, Any]:
    """Constructor arguments of a :class:`NeuralProcessModel` from Ax's data.

    ``model_options``: ``checkpoint`` (a checkpoint directory or shipped model name) and
    optionally ``kind`` (``"np"`` or ``"nap"``: which shipped checkpoint a name refers to;
    default ``"nap"``).
    """
    options = dict(model_config.model_options)
    unknown = set(options) - set(MODEL_OPTIONS)
    if unknown:
        raise UnsupportedError(
            f"unknown NeuralProcessModel model_options {sorted(unknown)}; "
            f"supported: {list(MODEL_OPTIONS)}"
        )
    if options.get("checkpoint") is None:
        raise UnsupportedError(
            "NeuralProcessModel needs model_options={'checkpoint': <checkpoint dir or shipped "
            "model name>} (use ax_integration.nap_generation_strategy to set it up)"
        )
    if dataset.Y.shape[-1] != 1:
        raise UnsupportedError("NeuralProcessModel models a single outcome per model")
    X, Y = dataset.X, dataset.Y  # n x d (raw Ax units), n x 1 (transformed by Ax)
    # Builds the input transform exactly as Ax does for its GPs (default: Normalize to the
    # unit cube with the digest's bounds; none if those are already the unit cube).
    submodules = _construct_submodules(
        model_config=model_config,
        dataset=dataset,
        search_space_digest=search_space_digest,
        botorch_model_class=botorch_model_class,
    )
    raw_bounds = torch.tensor(search_space_digest.bounds, dtype=X.dtype, device=X.device).T
    bounds, input_transform = model_space_bounds(
        raw_bounds, submodules.pop("input_transform", None)
    )
    network = load_network(
        options["checkpoint"], expected_dim=X.shape[-1], kind=options.get("kind", "nap")
    )
    _warn_ordinal_choices(network, search_space_digest, options["checkpoint"])
    _check_categorical_inputs(network, search_space_digest, options["checkpoint"])
    return {
        "network": network,
        "train_X": X,
        "train_Y": Y,
        "bounds": bounds,
        "input_transform": input_transform,
    }


def _warn_ordinal_choices(network: Any, digest: SearchSpaceDigest, checkpoint: Any) -> None:
    """Unordered choice parameters reach a network without categorical inputs as the numbers
    ``code / (k - 1)``: neighbours in the list of values look alike to it. Say so; a network
    trained with categories decodes them one-hot instead."""
    categories = list(network.config.categories or [])
    ordinal = [
        digest.feature_names[j] if j < len(digest.feature_names) else f"dim {j}"
        for j in digest.categorical_features
        if j >= len(categories) or not categories[j]
    ]
    # Once per process and network: Ax resets the warnings registry on every trial.
    key = (str(checkpoint), tuple(ordinal))
    if ordinal and key not in _WARNED_ORDINAL:
        _WARNED_ORDINAL.add(key)
        warnings.warn(
            f"unordered choice parameter(s) {ordinal} reach the network of {checkpoint!r} as "
            "ordinal numbers (code / (k - 1)): it was trained without categorical inputs, so "
            "values listed next to each other count as similar. List the values in an order "
            "where neighbours are alike, or train a network with categorical inputs "
            "(botorch-nap fit / pretrain on a family with choices).",
            stacklevel=2,
        )


_WARNED_ORDINAL: set[tuple[str, tuple[str, ...]]] = set()


def _check_categorical_inputs(network: Any, digest: SearchSpaceDigest, checkpoint: Any) -> None:
    """A network's categorical input takes codes ``0 .. k-1``: a continuous Ax parameter there
    would be proposed at fractional values that the network rounds and the user evaluates as
    they are. Refuse it by name (a choice or an int range ``0 .. k-1`` is what fits)."""
    for j, k in enumerate(network.config.categories or []):
        if k and j < len(digest.feature_names) and j not in digest.discrete_choices:
            raise UnsupportedError(
                f"parameter {digest.feature_names[j]!r} is continuous, but input {j} of the "
                f"network of {checkpoint!r} is categorical with {k} choices: make it a choice "
                f"parameter or an int range 0..{k - 1}"
            )


@fit_botorch_model.register(NeuralProcessModel)
def _fit_neural_process_model(model: Model, mll_class: Any = None, mll_options: Any = None) -> None:
    """Nothing to fit: the network is meta-trained and reads the history as its context."""


# ---------------------------------------------------------------------- acquisitions
def _maximize(
    posterior_transform: PosteriorTransform | None,
    objective: Any = None,
    constraints: Any = None,
) -> bool:
    """Direction of the (single) objective from what Ax passes; rejects what NAP can't do."""
    if objective is not None:
        raise UnsupportedError(
            "NAP / NP-EI support one objective without an MC objective "
            f"(got {type(objective).__name__})"
        )
    if constraints:
        raise UnsupportedError("NAP / NP-EI do not support outcome constraints")
    if posterior_transform is None:
        return True
    if not isinstance(posterior_transform, ScalarizedPosteriorTransform) or (
        posterior_transform.weights.numel() != 1
    ):
        what = (
            f"weights {posterior_transform.weights.reshape(-1).tolist()} (an objective that "
            "combines several metrics)"
            if isinstance(posterior_transform, ScalarizedPosteriorTransform)
            else type(posterior_transform).__name__
        )
        raise UnsupportedError(
            "NAP / NP-EI support a single objective metric (a one-weight "
            f"ScalarizedPosteriorTransform), got {what}"
        )
    w = float(posterior_transform.weights.reshape(-1)[0])
    if w == 0:
        raise UnsupportedError("objective weight 0: nothing to optimise")
    return w > 0


def _single_dataset(training_data: Any) -> SupervisedDataset:
    if isinstance(training_data, dict):
        if len(training_data) != 1:
            raise UnsupportedError(
                f"NAP supports a single outcome; got datasets for {sorted(training_data)}"
            )
        training_data = next(iter(training_data.values()))
    return training_data


@acqf_input_constructor(NAPAcquisition)
def construct_inputs_nap(
    model: Model,
    training_data: SupervisedDataset | dict[str, SupervisedDataset],
    bounds: list[tuple[float, float]],
    posterior_transform: PosteriorTransform | None = None,
    X_pending: Tensor | None = None,
    objective: Any = None,
    constraints: Any = None,
    checkpoint: str | None = None,
    kind: str = "nap",
    budget: int | None = None,
    chunk_size: int = 4096,
    repeat_radius: float = DEFAULT_REPEAT_RADIUS,
    compile: bool = False,
) -> dict[str, Any]:
    """Keyword arguments of :class:`NAPAcquisition` from Ax's inputs.

    Args:
        model: Ax's surrogate; used only for its network when ``checkpoint`` is None.
        training_data: one dataset; ``X`` in raw Ax units (``n x d``), ``Y`` ``n x 1``.
        bounds: the search space digest's ``d`` (lower, upper) pairs, raw units (widened
            to hold any trial attached outside them, which Ax keeps for generation).
        posterior_transform: Ax's direction (weight ``-1`` when minimising).
        X_pending: ``m x d`` points of running trials / earlier arms of this batch.
        checkpoint: NAP checkpoint directory or shipped name (``botorch_acqf_options``).
        budget: total evaluations of the run for the ``t/T`` feature.
        repeat_radius: see :class:`NAPAcquisition` (keeps Ax's deduplication from firing).
        compile: see :class:`NAPAcquisition` (the polish's gradients through
            ``torch.compile``).
    """
    maximize = _maximize(posterior_transform, objective, constraints)
    data = _single_dataset(training_data)
    X, Y = data.X, data.Y
    if checkpoint is not None:
        network = load_network(checkpoint, expected_dim=X.shape[-1], kind=kind)
    elif isinstance(model, NeuralProcessModel):
        network = model.network
    else:
        raise UnsupportedError(
            "NAPAcquisition needs botorch_acqf_options={'checkpoint': ...} unless Ax's "
            "model is a NeuralProcessModel"
        )
    box = torch.tensor(bounds, dtype=X.dtype, device=X.device).T
    if X.shape[0]:
        # Ax keeps trials attached outside the search space for generation (it warns when
        # they are attached); the history is held to its bounds, so the box the network
        # reads widens to hold them, as the model's learnt bounds do.
        box = torch.stack(
            [torch.minimum(box[0], X.min(0).values), torch.maximum(box[1], X.max(0).values)]
        )
    return {
        "network": network,
        "train_X": X,
        "train_Y": Y,
        "bounds": box,
        "maximize": maximize,
        "budget": budget,
        "model": model,
        "chunk_size": chunk_size,
        "X_pending": X_pending,
        "repeat_radius": repeat_radius,
        "compile": bool(compile),
    }


@acqf_input_constructor(NPExpectedImprovement)
def construct_inputs_np_ei(
    model: Model,
    posterior_transform: PosteriorTransform | None = None,
    X_pending: Tensor | None = None,
    objective: Any = None,
    constraints: Any = None,
    log: bool = True,
    repeat_radius: float = DEFAULT_REPEAT_RADIUS,
    compile: bool = False,
) -> dict[str, Any]:
    """Keyword arguments of :class:`NPExpectedImprovement` (Ax's model must be the NP)."""
    maximize = _maximize(posterior_transform, objective, constraints)
    if not isinstance(model, NeuralProcessModel):
        raise UnsupportedError(
            "NPExpectedImprovement needs Ax's model to be a NeuralProcessModel, got "
            f"{type(model).__name__}"
        )
    return {
        "model": model,
        "maximize": maximize,
        "log": log,
        "X_pending": X_pending,
        "repeat_radius": repeat_radius,
        "compile": bool(compile),
    }


# ---------------------------------------------------------------------- X_pending shim
# ---------------------------------------------------------------------- storage
def register_all() -> None:
    """Idempotent; called on import of :mod:`ax_integration`."""
    for cls in (NAPAcquisition, NPExpectedImprovement):
        register_acquisition_function(cls)
    register_model(NeuralProcessModel)


register_all()

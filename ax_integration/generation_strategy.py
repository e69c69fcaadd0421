r"""Ready-made Ax generation strategies: Sobol initialisation, then NAP or NP-EI.

Both strategies use Ax's modular BoTorch generator (``Generators.BOTORCH_MODULAR``) with
:class:`~botorch_nap.models.neural_process.NeuralProcessModel` as the surrogate, so Ax's
predictions (``Client.predict``, ``get_best_parameterization(use_model_predictions=True)``,
analyses) come from the network's bar head (Ax's sensitivity analysis, which needs a GP
posterior, reports an error card); only the acquisition differs:

* :func:`nap_generation_strategy`: ``NAPAcquisition`` (the meta-learned acquisition head);
* :func:`np_ei_generation_strategy`: ``NPExpectedImprovement`` (exact EI over the bars).

Example:
    >>> from ax.api.client import Client
    >>> from ax_integration import nap_generation_strategy
    >>> client = Client()
    >>> client.configure_experiment(parameters=[...])
    >>> client.configure_optimization(objective="-loss")
    >>> client.set_generation_strategy(nap_generation_strategy("runs/nap_6d", n_init=5))

Unordered choice parameters stay one dimension each (numeric codes ``0 .. k-1``, Ax's
``Mixed_transforms``) instead of Ax's default one-hot encoding, because that is how the
networks are trained; the checkpoint's ``dim_x`` must equal the number of non-fixed
parameters (or, for a variable-dimension checkpoint such as the shipped ``gp_prior``, lie in
its ``min_dim .. dim_x`` range). A shipped model's name works in place of a path.

The networks model the objective alone: metrics a trial reports besides it are kept by Ax
but not modelled (``fit_tracking_metrics=False``); outcome constraints and several objectives
are refused; a reported SEM is not used (the network reads observed values as they are).

Deduplication is on. When the NAP node cannot produce a new point in 5 attempts Ax falls
back to Sobol for that trial; :class:`NAPGenerationNode` turns that silent fallback into a
:class:`NAPFallbackWarning` and records it in the generator run's ``gen_metadata``
(``trial.generator_runs[0].gen_metadata["nap_fallback"]``; ``_generator_key`` is
``"Fallback_Sobol"``).
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any

from ax.adapter.registry import Generators, Mixed_transforms, Y_trans
from ax.api.client import Client
from ax.core.data import Data
from ax.core.experiment import Experiment
from ax.core.experiment_status import ExperimentStatus
from ax.core.generator_run import GeneratorRun
from ax.core.observation import ObservationFeatures
from ax.core.trial_status import TrialStatus
from ax.generation_strategy.generation_node import MAX_GEN_ATTEMPTS, GenerationNode
from ax.generation_strategy.generation_strategy import GenerationStrategy
from ax.generation_strategy.generator_spec import GeneratorSpec
from ax.generation_strategy.transition_criterion import MaxTrialsAwaitingData, MinTrials
from ax.generators.torch.botorch_modular.surrogate import SurrogateSpec
from ax.generators.torch.botorch_modular.utils import ModelConfig
from ax.storage.json_store.decoder import generation_node_from_json
from ax.storage.json_store.encoders import generation_node_to_dict
from ax.storage.json_store.registry import CORE_DECODER_REGISTRY, CORE_ENCODER_REGISTRY
from ax.utils.common.constants import Keys
from botorch.acquisition.acquisition import AcquisitionFunction

from ax_integration.checkpoints import checkpoint_option
from botorch_nap.acquisition.nap import NAPAcquisition
from botorch_nap.acquisition.np_ei import NPExpectedImprovement
from botorch_nap.models.neural_process import NeuralProcessModel

logger = logging.getLogger(__name__)

#: Key under which a fallback is recorded in ``GeneratorRun.gen_metadata``.
FALLBACK_METADATA_KEY = "nap_fallback"


class NAPFallbackWarning(UserWarning):
    """Ax generated a trial with its fallback (Sobol) instead of the NAP / NP-EI node."""


class NAPGenerationNode(GenerationNode):
    """A ``GenerationNode`` that refuses to fall back to Sobol *silently*.

    Ax's nodes retry generation when the result duplicates an existing arm and, after
    5 attempts, generate the trial with a fallback Sobol model, logging at most a line.
    This node warns (:class:`NAPFallbackWarning`) and writes the reason into the generator
    run's ``gen_metadata["nap_fallback"]`` so the trial itself shows it. Saved to and loaded
    from Ax's JSON like a plain ``GenerationNode`` (registered in Ax's JSON registries).
    """

    def gen(
        self,
        *,
        experiment: Experiment,
        pending_observations: dict[str, list[ObservationFeatures]] | None,
        skip_fit: bool = False,
        data: Data | None = None,
        n: int | None = None,
        **gs_gen_kwargs: Any,
    ) -> GeneratorRun | None:
        gr = super().gen(
            experiment=experiment,
            pending_observations=pending_observations,
            skip_fit=skip_fit,
            data=data,
            n=n,
            **gs_gen_kwargs,
        )
        own = {spec.generator_key for spec in self.generator_specs}
        if gr is not None and gr._generator_key not in own:
            msg = (
                f"node {self.name!r} ({', '.join(sorted(own))}) produced no new point in "
                f"{MAX_GEN_ATTEMPTS} attempts (Ax deduplicates against existing arms: the "
                "search space may be exhausted, or the network keeps proposing evaluated "
                f"points); this trial was generated by {gr._generator_key!r} instead"
            )
            gr._gen_metadata = {**(gr.gen_metadata or {}), FALLBACK_METADATA_KEY: msg}
            logger.warning(msg)
            warnings.warn(msg, NAPFallbackWarning, stacklevel=2)
        return gr

    @classmethod
    def deserialize_init_args(
        cls,
        args: dict[str, Any],
        decoder_registry: Any = None,
        class_decoder_registry: Any = None,
    ) -> dict[str, Any]:
        """Decode with Ax's own ``GenerationNode`` decoder, then re-wrap the fields."""
        registries = {
            k: v
            for k, v in (
                ("decoder_registry", decoder_registry),
                ("class_decoder_registry", class_decoder_registry),
            )
            if v is not None
        }
        node = generation_node_from_json(dict(args), **registries)
        return {
            "name": node.name,
            "generator_specs": node.generator_specs,
            "transition_criteria": node.transition_criteria,
            "pausing_criteria": node.pausing_criteria,
            "best_model_selector": node.best_model_selector,
            "should_deduplicate": node.should_deduplicate,
            "input_constructors": node.input_constructors,
            "previous_node_name": node._previous_node_name,
            "trial_type": node._trial_type,
            "suggested_experiment_status": node.suggested_experiment_status,
        }


# The encoder writes ``"__type": "NAPGenerationNode"`` (it uses the class name); the decoder
# finds the class by that name and calls ``deserialize_init_args`` above.
CORE_ENCODER_REGISTRY[NAPGenerationNode] = generation_node_to_dict
CORE_DECODER_REGISTRY[NAPGenerationNode.__name__] = NAPGenerationNode


def _sobol_node(n_init: int, next_node: str, seed: int | None) -> GenerationNode:
    """``n_init`` Sobol trials (as in Ax's own dispatch), then hand over to ``next_node``."""
    if n_init < 1:
        raise ValueError(f"n_init must be >= 1 (the networks need a history), got {n_init}")
    done = [TrialStatus.FAILED, TrialStatus.ABANDONED]
    return GenerationNode(
        name="Sobol",
        generator_specs=[
            GeneratorSpec(generator_enum=Generators.SOBOL, generator_kwargs={"seed": seed})
        ],
        transition_criteria=[
            MinTrials(
                threshold=n_init,
                transition_to=next_node,
                use_all_trials_in_exp=True,
                not_in_statuses=done,
            ),
            # Do not start the network before it has at least one observation to read.
            MinTrials(
                threshold=max(1, n_init // 2),
                transition_to=next_node,
                use_all_trials_in_exp=True,
                only_in_statuses=[TrialStatus.COMPLETED],
                count_only_trials_with_data=True,
            ),
        ],
        pausing_criteria=[
            MaxTrialsAwaitingData(
                threshold=n_init, not_in_statuses=done, use_all_trials_in_exp=True
            )
        ],
        should_deduplicate=True,
        suggested_experiment_status=ExperimentStatus.INITIALIZATION,
    )


def _network_node(
    name: str,
    model_checkpoint: str,
    model_kind: str,
    acqf_class: type[AcquisitionFunction],
    acqf_options: dict[str, Any],
    optimizer_options: dict[str, Any] | None,
) -> NAPGenerationNode:
    model_config = ModelConfig(
        botorch_model_class=NeuralProcessModel,
        model_options={"checkpoint": model_checkpoint, "kind": model_kind},
        name="NeuralProcessModel",
    )
    return NAPGenerationNode(
        name=name,
        generator_specs=[
            GeneratorSpec(
                generator_enum=Generators.BOTORCH_MODULAR,
                generator_kwargs={
                    "surrogate_spec": SurrogateSpec(model_configs=[model_config]),
                    "botorch_acqf_class": acqf_class,
                    "botorch_acqf_options": acqf_options,
                    # One dim per parameter, choices as ordinal codes (not one-hot).
                    "transforms": Mixed_transforms + Y_trans,
                    # The network models the objective alone: Ax's default also fits every
                    # tracking metric a trial reports, whose datasets NAP cannot take.
                    "fit_tracking_metrics": False,
                },
                generator_gen_kwargs=(
                    {"model_gen_options": {Keys.OPTIMIZER_KWARGS: dict(optimizer_options)}}
                    if optimizer_options
                    else {}
                ),
            )
        ],
        should_deduplicate=True,
        suggested_experiment_status=ExperimentStatus.OPTIMIZATION,
    )


def nap_generation_strategy(
    checkpoint: str | os.PathLike,
    n_init: int = 5,
    budget: int | None = None,
    *,
    model_checkpoint: str | os.PathLike | None = None,
    seed: int | None = None,
    optimizer_options: dict[str, Any] | None = None,
    name: str | None = None,
    compile: bool = False,
) -> GenerationStrategy:
    """Sobol for ``n_init`` trials, then NAP (``NAPAcquisition``) on a ``NeuralProcessModel``.

    Args:
        checkpoint: NAP checkpoint directory, or the name of a shipped model
            (``botorch_nap.pretrained.available()``). Stored in the strategy as a string.
        n_init: Sobol trials before NAP takes over (NAP starts once at least
            ``max(1, n_init // 2)`` of them have data).
        budget: total number of trials planned (initial ones included), for the network's
            ``t/T`` feature; ``None`` uses the network's training horizon.
        model_checkpoint: checkpoint for Ax's model (predictions); default ``checkpoint``
            (a NAP network has a bar head too). A name refers to the shipped ``np`` model.
        seed: Sobol seed.
        optimizer_options: options for Ax's acquisition optimiser, e.g.
            ``{"num_restarts": 4, "raw_samples": 256}`` (Ax's defaults: 20 and 1024).
        name: strategy name (default ``"Sobol+NAP"``).
        compile: NAP's gradients through ``torch.compile`` (``NAPAcquisition(compile=True)``:
            the same acquisition values, each decision faster after a compile of about 30 s).
    """
    ckpt = checkpoint_option(checkpoint, "nap")
    acqf_options = {"checkpoint": ckpt, "kind": "nap", "budget": budget}
    if compile:  # only when asked: strategies stored before the option stay as they were
        acqf_options["compile"] = True
    model_ckpt = ckpt if model_checkpoint is None else checkpoint_option(model_checkpoint, "np")
    node = _network_node(
        "NAP",
        model_ckpt,
        "nap" if model_checkpoint is None else "np",
        NAPAcquisition,
        acqf_options,
        optimizer_options,
    )
    return GenerationStrategy(
        nodes=[_sobol_node(n_init, node.name, seed), node], name=name or "Sobol+NAP"
    )


def np_ei_generation_strategy(
    checkpoint: str | os.PathLike,
    n_init: int = 5,
    *,
    log: bool = True,
    seed: int | None = None,
    optimizer_options: dict[str, Any] | None = None,
    name: str | None = None,
    compile: bool = False,
) -> GenerationStrategy:
    """Sobol for ``n_init`` trials, then NP-EI (exact EI over a ``NeuralProcessModel``'s bars).

    Args:
        checkpoint: NP (or NAP) checkpoint directory, or the name of a shipped ``np`` model.
        n_init: Sobol trials before NP-EI takes over.
        log: optimise log-EI (better gradients where EI is tiny).
        seed: Sobol seed.
        optimizer_options: options for Ax's acquisition optimiser (see
            :func:`nap_generation_strategy`).
        name: strategy name (default ``"Sobol+NP-EI"``).
        compile: NP-EI's gradients through ``torch.compile``
            (``NPExpectedImprovement(compile=True)``, see :func:`nap_generation_strategy`).
    """
    ckpt = checkpoint_option(checkpoint, "np")
    acqf_options: dict[str, Any] = {"log": log}
    if compile:  # only when asked: strategies stored before the option stay as they were
        acqf_options["compile"] = True
    node = _network_node(
        "NP-EI", ckpt, "np", NPExpectedImprovement, acqf_options, optimizer_options
    )
    return GenerationStrategy(
        nodes=[_sobol_node(n_init, node.name, seed), node], name=name or "Sobol+NP-EI"
    )


def fallback_trials(experiment: Experiment | Client) -> dict[int, str]:
    """``{trial index: reason}`` for every trial generated by a fallback, not the network.

    Takes an ``Experiment`` or an ``ax.Client`` (its experiment).

    Example:
        >>> client.set_generation_strategy(nap_generation_strategy("gp_prior"))
        >>> ...  # get_next_trials / complete_trial
        >>> fallback_trials(client)  # {} when the network made every non-Sobol trial
    """
    if isinstance(experiment, Client):
        experiment = experiment._experiment  # the Client keeps it private in ax 1.x
    if not isinstance(experiment, Experiment):
        raise TypeError(
            f"fallback_trials takes an ax Experiment or Client, got {type(experiment).__name__}"
        )
    out = {}
    for index, trial in experiment.trials.items():
        for gr in trial.generator_runs:
            meta = gr.gen_metadata or {}
            if FALLBACK_METADATA_KEY in meta or (gr._generator_key or "").startswith("Fallback"):
                out[index] = meta.get(FALLBACK_METADATA_KEY, f"generated by {gr._generator_key}")
    return out

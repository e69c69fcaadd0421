"""NAP and NP-EI in Ax: generation strategies, plus the registrations Ax needs.

Importing this package registers (once) the input constructors, the model constructor and
fitting routine of :class:`~botorch_nap.models.neural_process.NeuralProcessModel`, and the
JSON storage entries, so that an ``ax.api.client.Client`` using these strategies can be
saved to JSON, loaded and continued. Import it before loading such a snapshot.

Example:
    >>> from ax_integration import nap_generation_strategy
    >>> client.set_generation_strategy(nap_generation_strategy("path/to/checkpoint"))
"""

from ax_integration import registration  # noqa: F401  (registers on import)
from ax_integration.checkpoints import checkpoint_option, load_network, resolve_checkpoint
from ax_integration.generation_strategy import (
    FALLBACK_METADATA_KEY,
    NAPFallbackWarning,
    NAPGenerationNode,
    fallback_trials,
    nap_generation_strategy,
    np_ei_generation_strategy,
)

__all__ = [
    "checkpoint_option",
    "FALLBACK_METADATA_KEY",
    "NAPFallbackWarning",
    "NAPGenerationNode",
    "fallback_trials",
    "load_network",
    "nap_generation_strategy",
    "np_ei_generation_strategy",
    "resolve_checkpoint",
]

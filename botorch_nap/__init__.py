"""botorch-nap: NAP, a meta-learned neural acquisition process, for BoTorch and Ax."""

from botorch_nap.acquisition.nap import NAPAcquisition
from botorch_nap.acquisition.np_ei import NPExpectedImprovement
from botorch_nap.models.neural_process import NeuralProcessModel
from botorch_nap.nn.bar_distribution import BarDistribution
from botorch_nap.nn.transformer import NAPConfig, NAPTransformer

__all__ = [
    "BarDistribution",
    "NAPAcquisition",
    "NAPConfig",
    "NAPTransformer",
    "NPExpectedImprovement",
    "NeuralProcessModel",
]
__version__ = "0.1.0"

from botorch_nap.acquisition.initial_conditions import (
    gen_initial_conditions_near_incumbent,
    sample_near_incumbent,
)
from botorch_nap.acquisition.nap import NAPAcquisition
from botorch_nap.acquisition.np_ei import NPExpectedImprovement

__all__ = [
    "NAPAcquisition",
    "NPExpectedImprovement",
    "gen_initial_conditions_near_incumbent",
    "sample_near_incumbent",
]

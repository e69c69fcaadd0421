from botorch_nap.acquisition.initial_conditions import (
    gen_initial_conditions_near_incumbent,
    sample_near_incumbent,
)
from botorch_nap.acquisition.nap import NAPAcquisition
from botorch_nap.acquisition.np_ei import NPExpectedImprovement
from botorch_nap.acquisition.screened_ascent import gen_candidates_screened_ascent

__all__ = [
    "NAPAcquisition",
    "NPExpectedImprovement",
    "gen_candidates_screened_ascent",
    "gen_initial_conditions_near_incumbent",
    "sample_near_incumbent",
]

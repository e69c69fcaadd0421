from botorch_nap.acquisition.nap import NAPAcquisition
from botorch_nap.acquisition.np_ei import NPExpectedImprovement

__all__ = ["NAPAcquisition", "NPExpectedImprovement"]

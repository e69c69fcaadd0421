"""NAP and NP-EI score one point at a time (``q = 1``), as BoTorch's analytic acquisitions do.

BoTorch's ``t_batch_mode_transform(expected_q=1)`` refuses ``q > 1`` with a bare
``AssertionError`` on the shape; a user who called ``optimize_acqf(acqf, q=4)`` learns more
from the way out: ``sequential=True`` picks the ``q`` points one by one, each earlier one a
pending point of the next.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from botorch.utils.transforms import t_batch_mode_transform
from torch import Tensor


def single_point_transform() -> Callable:
    """``t_batch_mode_transform(expected_q=1)`` with a ``ValueError`` that says what to do
    about ``q > 1``."""
    batch_mode = t_batch_mode_transform(expected_q=1)

    def decorator(method: Callable) -> Callable:
        transformed = batch_mode(method)

        @wraps(method)
        def decorated(acqf: Any, X: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(X, Tensor) and X.dim() >= 2 and X.shape[-2] != 1:
                raise ValueError(
                    f"{type(acqf).__name__} scores one point at a time (q = 1), got X of "
                    f"shape {tuple(X.shape)} (q = {X.shape[-2]}): for a batch of q points "
                    "use optimize_acqf(..., q=q, sequential=True), which picks them one by "
                    "one, each earlier pick a pending point (X_pending) of the next; "
                    "optimize_acqf_mixed and optimize_acqf_mixed_alternating pick q points one "
                    "by one already: pass them return_acq_values=False (only the joint value "
                    "they compute last needs q points at once)"
                )
            return transformed(acqf, X, *args, **kwargs)

        return decorated

    return decorator

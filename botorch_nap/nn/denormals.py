"""Flushing subnormal floats to zero while the network runs.

With a trained distance bias, attention scores between far-apart points are hundreds below
the nearest one's, and ``exp`` of such a gap in float32 lands in the subnormal range
(below ``1.2e-38``), where x86 CPUs compute one to two orders of magnitude slower. Those
weights are far below what float32 can add to a normal sum, so flushing them to zero
changes no output beyond float32 rounding; for a network with sharp distance weights it
made decisions faster (README, "Subnormal floats"; ``benchmarks/bench_decision.py
--baseline-rev``). The CPU flag is per thread and global to it: :func:`flushed_denormals`
sets it for the block it guards and puts back what it found.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


def flushing_denormals() -> bool:
    """Whether this thread flushes subnormal results to zero now (a float32 product that
    would be subnormal comes out as exactly 0)."""
    return bool((torch.tensor(1e-30, dtype=torch.float32) * 1e-10).item() == 0.0)


@contextlib.contextmanager
def flushed_denormals() -> Iterator[None]:
    """Flush subnormal floats to zero inside the block (where the CPU supports it), then
    restore the thread's previous setting."""
    if flushing_denormals():
        yield
        return
    supported = torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if supported:
            torch.set_flush_denormal(False)

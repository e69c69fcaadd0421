"""Benchmark methods with a given L-BFGS-B budget, for checking the continuous optimiser's
default polish (``botorch_nap.baselines.NETWORK_POLISH_MAXITER``) per method:

    PYTHONPATH=benchmarks botorch-nap benchmark --plugin polish_methods \\
        --methods npeiv:m3:lcbench,npeiv:m100:lcbench ...

``npeiv:m<maxiter>:<checkpoint>`` is NP-EI and ``napv:m<maxiter>:<checkpoint>`` NAP, both
with 8 restarts and 256 raw samples like the benchmark's defaults.
"""

from __future__ import annotations

from dataclasses import replace

from botorch_nap.baselines import NAP, NPEI
from botorch_nap.benchmark.methods import load_network, register_method


def _split(arg: str) -> tuple[int, str]:
    variant, ckpt = arg.split(":", 1)
    if not variant.startswith("m") or not variant[1:].isdigit():
        raise ValueError(f"expected m<maxiter>:<checkpoint>, got {arg!r}")
    return int(variant[1:]), ckpt


def _npei(arg: str, ctx):
    maxiter, ckpt = _split(arg)
    net = load_network(ckpt, "np", ctx.family.space)
    return NPEI(net, settings=replace(ctx.settings, maxiter=maxiter))


def _nap(arg: str, ctx):
    maxiter, ckpt = _split(arg)
    net = load_network(ckpt, "nap", ctx.family.space)
    return NAP(net, budget=ctx.n_init + ctx.steps, settings=replace(ctx.settings, maxiter=maxiter))


register_method("npeiv", _npei, "NP-EI with a given maxiter: npeiv:m<maxiter>:<ckpt>", True)
register_method("napv", _nap, "NAP with a given maxiter: napv:m<maxiter>:<ckpt>", True)

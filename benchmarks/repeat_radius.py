"""Benchmark methods with a given repeat radius (``botorch_nap.acquisition.repeats``), for
choosing ``DEFAULT_REPEAT_RADIUS`` by validation regret:

    PYTHONPATH=benchmarks botorch-nap benchmark --plugin repeat_radius \\
        --methods napr:r0.01:synthetic,napr:r0.001:synthetic ...

``napr:r<radius>:<checkpoint>`` is NAP and ``npeir:r<radius>:<checkpoint>`` NP-EI, otherwise
with the benchmark's settings.
"""

from __future__ import annotations

from botorch_nap.baselines import NAP, NPEI
from botorch_nap.benchmark.methods import load_network, register_method


def _split(arg: str) -> tuple[float, str]:
    variant, ckpt = arg.split(":", 1)
    try:
        if not variant.startswith("r"):
            raise ValueError
        return float(variant[1:]), ckpt
    except ValueError:
        raise ValueError(f"expected r<radius>:<checkpoint>, got {arg!r}") from None


def _npei(arg: str, ctx):
    radius, ckpt = _split(arg)
    net = load_network(ckpt, "np", ctx.family.space)
    return NPEI(net, repeat_radius=radius, settings=ctx.settings)


def _nap(arg: str, ctx):
    radius, ckpt = _split(arg)
    net = load_network(ckpt, "nap", ctx.family.space)
    return NAP(net, budget=ctx.n_init + ctx.steps, repeat_radius=radius, settings=ctx.settings)


register_method("npeir", _npei, "NP-EI with a given repeat radius: npeir:r<radius>:<ckpt>", True)
register_method("napr", _nap, "NAP with a given repeat radius: napr:r<radius>:<ckpt>", True)

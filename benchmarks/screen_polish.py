"""Benchmark methods whose continuous decision refines its starts by screened gradient ascent.

A network's continuous decision (README, Speed) screens raw samples without gradients in
float32, then polishes the best 8 with 3 L-BFGS-B iterations in float64: about 7-8 forward +
backward passes at 8 points, most of the decision's time. ``NPEI`` and ``NAP`` take
``screened_ascent=K``: K gradients, each followed by one gradient-free call that screens 24
step lengths along it (``gen_candidates_screened_ascent`` in
:mod:`botorch_nap.acquisition.screened_ascent`).
This plugin names them as methods, so that one benchmark run compares the two:

    PYTHONPATH=benchmarks botorch-nap benchmark --plugin screen_polish \\
        --methods npeia:i2:lcbench,np-ei:lcbench ...

``npeia:i<K>:<checkpoint>`` is NP-EI and ``napa:i<K>:<checkpoint>`` NAP with K iterations;
a shipped model keeps its other decision settings (``botorch_nap.pretrained.DECISIONS``).
"""

from __future__ import annotations

from botorch_nap.baselines import NAP, NPEI
from botorch_nap.benchmark.methods import load_network_and_decisions, register_method


def _split(arg: str) -> tuple[int, str]:
    variant, ckpt = arg.split(":", 1)
    if not variant.startswith("i") or not variant[1:].isdigit():
        raise ValueError(f"expected i<iterations>:<checkpoint>, got {arg!r}")
    return int(variant[1:]), ckpt


def _npei(arg: str, ctx):
    k, ckpt = _split(arg)
    net, decisions = load_network_and_decisions(ckpt, "np", ctx.family.space)
    decisions["screened_ascent"] = k
    return NPEI(net, settings=ctx.settings, **decisions)


def _nap(arg: str, ctx):
    k, ckpt = _split(arg)
    net, decisions = load_network_and_decisions(ckpt, "nap", ctx.family.space)
    decisions["screened_ascent"] = k
    return NAP(net, budget=ctx.n_init + ctx.steps, settings=ctx.settings, **decisions)


register_method("npeia", _npei, "NP-EI, screened gradient ascent: npeia:i<K>:<ckpt>", True)
register_method("napa", _nap, "NAP, screened gradient ascent: napa:i<K>:<ckpt>", True)

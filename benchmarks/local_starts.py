"""Benchmark methods whose continuous search also starts next to the incumbent.

Late in a run GP-EI refines its incumbent with steps of 0.001-0.01 (unit cube) while the
networks never step closer than about 0.02 (README, "local steps"). One reason is the
optimiser rather than the network: a network's decision screens 256 uniform raw samples and
polishes the best few for 3 L-BFGS iterations, so a point next to the incumbent is proposed
only if a raw sample happens to land there. ``NPEI`` and ``NAP`` take ``near_incumbent=K``
(:mod:`botorch_nap.acquisition.initial_conditions`); this plugin names them as methods, so
that one benchmark run compares settings on the same tasks and seeds:

    PYTHONPATH=benchmarks botorch-nap benchmark --plugin local_starts \\
        --methods npeil:s0.01:k64:gp_prior,npeil:s0.01:k0:gp_prior ...

``npeil:s<sigma>:k<K>:<checkpoint>`` is NP-EI whose raw samples are the usual uniform ones
plus ``K`` Gaussian perturbations (std ``sigma`` of each bound's range) of the best
observed point; ``napl:...`` is NAP likewise. ``K = 0`` is the default decision on the same
code path (scrambled Sobol raw samples, then BoTorch's ``initialize_q_batch``). Everything
else is the benchmark's setting (8 restarts, 256 raw samples, the networks' short polish).
"""

from __future__ import annotations

from botorch_nap.baselines import NAP, NPEI
from botorch_nap.benchmark.methods import load_network, register_method


class _OwnStarts:
    """Mixin: every continuous decision goes through the near-incumbent starts, also with
    ``near_incumbent = 0`` (the control arm then differs only in ``K``)."""

    def _starts(self, acqf, train_X, train_Y, bounds):
        return self._near_starts(acqf, train_X, train_Y, bounds)


class LocalNPEI(_OwnStarts, NPEI):
    pass


class LocalNAP(_OwnStarts, NAP):
    pass


def _parse(arg: str) -> tuple[float, int, str]:
    s, k, ckpt = arg.split(":", 2)
    if not (s.startswith("s") and k.startswith("k") and k[1:].isdigit()):
        raise ValueError(f"expected s<sigma>:k<K>:<checkpoint>, got {arg!r}")
    return float(s[1:]), int(k[1:]), ckpt


def _npei(arg: str, ctx):
    sigma, k, ckpt = _parse(arg)
    net = load_network(ckpt, "np", ctx.family.space)
    return LocalNPEI(net, settings=ctx.settings, near_incumbent=k, near_sigma=sigma)


def _nap(arg: str, ctx):
    sigma, k, ckpt = _parse(arg)
    net = load_network(ckpt, "nap", ctx.family.space)
    return LocalNAP(
        net,
        budget=ctx.n_init + ctx.steps,
        settings=ctx.settings,
        near_incumbent=k,
        near_sigma=sigma,
    )


register_method(
    "npeil", _npei, "NP-EI with raw samples at the incumbent: npeil:s<sd>:k<K>:<ckpt>", True
)
register_method("napl", _nap, "NAP with raw samples at the incumbent: napl:s<sd>:k<K>:<ckpt>", True)

"""NP-EI of an ensemble of NPs, for measuring whether averaging training seeds pays:

    PYTHONPATH=benchmarks botorch-nap benchmark --plugin np_ensemble \\
        --methods npeiens:<ckpt1>+<ckpt2>+<ckpt3> ...

The ensemble's predictive density is the mixture of its members' bar densities, and EI is
linear in the density, so its EI is the mean of the members' EIs (computed here in log
space: ``logsumexp`` of the members' log EI minus ``log k``).
"""

from __future__ import annotations

import math

import torch
from botorch.acquisition.acquisition import AcquisitionFunction
from torch import Tensor

from botorch_nap.baselines import NPEI
from botorch_nap.benchmark.methods import load_network, register_method


class MeanEI(AcquisitionFunction):
    """``log(mean_i exp(member_i(X)))`` of log-EI acquisitions ``batch_shape x 1 x d`` ->
    ``batch_shape``."""

    def __init__(self, members: list[AcquisitionFunction]) -> None:
        super().__init__(model=members[0].model)
        self.members = torch.nn.ModuleList(members)

    def forward(self, X: Tensor) -> Tensor:
        logs = torch.stack([m(X) for m in self.members])
        return torch.logsumexp(logs, 0) - math.log(len(self.members))


class NPEIEnsemble(NPEI):
    """NP-EI over the mixture of several NPs' bar densities (one NP-EI proposer per member)."""

    name = "npeiens"

    def __init__(self, networks, **kwargs) -> None:
        super().__init__(networks[0], **kwargs)
        self.members = [NPEI(net, **kwargs) for net in networks]

    def acquisition(self, train_X, train_Y, bounds, pool: bool = False) -> AcquisitionFunction:
        return MeanEI([m.acquisition(train_X, train_Y, bounds, pool) for m in self.members])


def _ensemble(arg: str, ctx):
    nets = [load_network(ckpt, "np", ctx.family.space) for ckpt in arg.split("+")]
    return NPEIEnsemble(nets, settings=ctx.settings)


register_method("npeiens", _ensemble, "NP-EI of a mixture of NPs: npeiens:<ckpt>+<ckpt>...", True)

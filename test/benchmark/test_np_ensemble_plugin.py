"""The measuring plugin ``benchmarks/np_ensemble.py``: NP-EI of a mixture of NPs is the mean
of the members' EIs."""

import math

import torch
from benchmark_scripts import load_script

from botorch_nap import NPExpectedImprovement
from botorch_nap.nn.transformer import NAPConfig, NAPTransformer


def _plugin():
    return load_script("np_ensemble")


def _net(seed):
    torch.manual_seed(seed)
    return NAPTransformer(NAPConfig(dim_x=2, d_model=16, n_layers=1, d_ff=32, n_buckets=16))


def test_mixture_ei_is_the_mean_of_the_members_ei():
    plugin = _plugin()
    g = torch.Generator().manual_seed(0)
    X = torch.rand(8, 2, generator=g, dtype=torch.float64)
    Y = torch.sin(5 * X[:, :1]) + X[:, 1:]
    pool = torch.rand(20, 1, 2, generator=g, dtype=torch.float64)
    nets = [_net(0), _net(1)]
    method = plugin.NPEIEnsemble(nets)
    acqf = method.acquisition(X, Y, torch.tensor([[0.0, 0.0], [1.0, 1.0]]).double(), pool=True)
    members = [NPExpectedImprovement.from_network(n, X, Y, dtype=torch.float32) for n in nets]
    ei = torch.stack([m(pool) for m in members]).exp().mean(0)
    torch.testing.assert_close(acqf(pool), ei.log())
    assert not torch.allclose(members[0](pool), members[1](pool))  # the members differ
    assert method.network is nets[0]  # the proposer's own network is left as it was
    assert math.isfinite(float(acqf(pool).max()))

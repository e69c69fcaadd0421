"""The measuring plugin ``benchmarks/screen_polish.py``: NAP and NP-EI with screened gradient
ascent, keeping a shipped model's other decision settings."""

import pytest
import torch
from benchmark_scripts import load_script

from botorch_nap.baselines import OptimizerSettings
from botorch_nap.benchmark.methods import MethodContext, make_proposer
from botorch_nap.tasks import get_family


@pytest.mark.parametrize("kind", ["npeia", "napa"])
def test_methods_keep_the_shipped_settings_and_decide_in_the_box(kind):
    load_script("screen_polish")
    fam = get_family("branin")
    task = fam.task(fam.split_ids("val")[0])
    ctx = MethodContext(fam, task, 0, 3, 2, OptimizerSettings(num_restarts=2, raw_samples=16))
    method = make_proposer(f"{kind}:i3:gp_prior", ctx)
    assert method.screened_ascent == 3 and method.near_incumbent == 64
    bounds = fam.space.bounds.double()
    g = torch.Generator().manual_seed(0)
    X = bounds[0] + torch.rand(5, 2, generator=g, dtype=torch.float64) * (bounds[1] - bounds[0])
    x = method.propose(X, task._evaluate(X).unsqueeze(-1), bounds)
    assert x.shape == (1, 2) and ((x >= bounds[0]) & (x <= bounds[1])).all()
    with pytest.raises(ValueError, match="i<iterations>"):
        make_proposer(f"{kind}:3:gp_prior", ctx)

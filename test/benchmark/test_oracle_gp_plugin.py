"""The measuring plugin ``benchmarks/oracle_gp.py``: EI under the GP that generated a GP-prior
function, with its true lengthscales, unit variance and zero mean (nothing fitted)."""

import pytest
import torch
from benchmark_scripts import load_script

from botorch_nap.baselines import OptimizerSettings
from botorch_nap.benchmark.methods import MethodContext
from botorch_nap.tasks import get_family


def _plugin():
    return load_script("oracle_gp")


def _context(fam, task_id):
    return MethodContext(fam, fam.task(task_id), 0, 5, 10, OptimizerSettings())


def test_oracle_posterior_is_the_exact_gp_of_the_task():
    plugin = _plugin()
    fam = get_family("gp_prior", dim=2, lengthscale_range=[0.1, 0.3])
    task_id = fam.split_ids("val")[0]
    method = plugin._make(None, _context(fam, task_id))
    ls = fam._prior_params(task_id)[3]
    torch.testing.assert_close(method.lengthscales, ls)

    g = torch.Generator().manual_seed(0)
    X = torch.rand(12, 2, generator=g, dtype=torch.float64)
    Y = fam.task(task_id)._evaluate(X).unsqueeze(-1)
    Xt = torch.rand(6, 2, generator=g, dtype=torch.float64)
    acqf = method.acquisition(X, Y, torch.tensor([[0.0, 0.0], [1.0, 1.0]]).double())
    post = acqf.model.posterior(Xt)

    def k(a, b):
        return torch.exp(-0.5 * (((a[:, None] - b[None]) / ls) ** 2).sum(-1))

    K = k(X, X) + plugin.ORACLE_NOISE_VAR * torch.eye(12, dtype=torch.float64)
    mean = k(Xt, X) @ torch.linalg.solve(K, Y)
    var = 1.0 - (k(Xt, X) @ torch.linalg.solve(K, k(X, Xt))).diagonal()
    torch.testing.assert_close(post.mean.detach(), mean, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(post.variance.detach().squeeze(-1), var, rtol=1e-4, atol=1e-6)
    # At an observed point the noise-free function is known.
    assert float(acqf.model.posterior(X[:1]).variance.detach()) < 1e-5


def test_oracle_refuses_families_without_a_known_gp():
    plugin = _plugin()
    fam = get_family("branin")
    with pytest.raises(ValueError, match="gp_prior"):
        plugin._make(None, _context(fam, fam.split_ids("val")[0]))


def test_bayes_mixture_of_one_draw_is_the_oracle_and_its_weights_follow_the_evidence():
    plugin = _plugin()
    fam = get_family("gp_prior", dim=2, lengthscale_range=[0.1, 0.3])
    task_id = fam.split_ids("val")[0]
    ls = fam._prior_params(task_id)[3]
    g = torch.Generator().manual_seed(1)
    X = torch.rand(15, 2, generator=g, dtype=torch.float64)
    Y = fam.task(task_id)._evaluate(X).unsqueeze(-1)
    bounds = torch.tensor([[0.0, 0.0], [1.0, 1.0]]).double()
    Xt = torch.rand(7, 1, 2, generator=g, dtype=torch.float64)

    oracle = plugin.OracleGPEI(ls).acquisition(X, Y, bounds)
    single = plugin.LengthscaleMixture(X, Y.squeeze(-1), ls.view(1, 2), torch.zeros(1).double())
    one = plugin.MixtureLogEI(single, Y.max(), bounds)
    torch.testing.assert_close(one(Xt), oracle(Xt).detach(), rtol=1e-6, atol=1e-8)

    mixture = plugin.BayesGPEI(0.05, 1.0).acquisition(X, Y, bounds)
    posterior = mixture.mixture
    assert float(posterior.log_w.exp().sum()) == pytest.approx(1.0)
    # Rough data: the evidence favours short lengthscales over the prior's mean (0.525).
    w = posterior.log_w.exp().unsqueeze(-1)
    assert float((w * posterior.ls).sum(0).mean()) < 0.45
    x = Xt.clone().requires_grad_(True)
    mixture(x).sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="lo <= hi"):
        plugin.BayesGPEI(0.5, 0.1)

"""MetaBO-style shifted/scaled test-function families."""

from __future__ import annotations

import pytest
import torch
from botorch.test_functions.synthetic import Branin, Hartmann
from scipy.optimize import minimize

from botorch_nap.tasks import SYNTHETIC_NAMES, SyntheticFamily, get_family


@pytest.mark.parametrize("name", SYNTHETIC_NAMES)
def test_shapes_determinism_and_optimum(name):
    fam = get_family(name, n_test=2)
    d = fam.space.dim
    X, y = fam.sample_batch(4, 30, torch.Generator().manual_seed(0))
    assert X.shape == (4, 30, d) and y.shape == (4, 30)
    assert X.dtype == y.dtype == torch.float64 and torch.isfinite(y).all()
    X2, y2 = fam.sample_batch(4, 30, torch.Generator().manual_seed(0))
    assert torch.equal(X, X2) and torch.equal(y, y2)
    task = fam.task(fam.split_ids("test")[0])
    Xs = fam.space.sample_uniform(5000, generator=torch.Generator().manual_seed(1))
    ys = task.evaluate(Xs)
    span = task.optimum - task.worst
    assert task.optimum >= ys.max().item() and task.worst <= ys.min().item() + 0.01 * span
    # Two-sided: the optimum is attained. L-BFGS-B (scipy, numerical gradients: independent of
    # the library's own search) from the 5 best samples reaches it within 0.1% of the range.
    lo, hi = fam.space.bounds[0].numpy(), fam.space.bounds[1].numpy()
    found = ys.max().item()
    for i in ys.argsort(descending=True)[:5]:
        res = minimize(
            lambda x: -task.evaluate(torch.tensor(x)).item(),
            Xs[i].numpy(),
            bounds=list(zip(lo, hi)),
            method="L-BFGS-B",
        )
        found = max(found, -float(res.fun))
    assert task.optimum - found <= 1e-3 * span, (task.optimum, found)


def test_variant_definition_matches_botorch():
    """f_var(u) = s * (-f(lb + (u - t)(ub - lb))) with BoTorch's Branin."""
    fam = SyntheticFamily("branin")
    task = fam.task(fam.split_ids("val")[0])
    U = torch.rand(20, 2, dtype=torch.float64) * 0.8 + 0.1  # keep u - t inside the box
    lb, ub = torch.tensor([-5.0, 0.0]), torch.tensor([10.0, 15.0])
    expected = -task.scale * Branin().evaluate_true(lb + (U - task.shift) * (ub - lb))
    assert torch.allclose(task.evaluate(U), expected.double())
    assert (task.shift.abs() <= 0.1).all() and 0.9 <= task.scale <= 1.1


def test_known_optimum_used_when_inside():
    fam = SyntheticFamily("hartmann3")
    task = fam.task(fam.split_ids("train")[0])  # |t| <= 0.1 keeps the minimiser inside
    assert task.optimum == pytest.approx(task.scale * -Hartmann(dim=3).optimal_value, rel=1e-4)


def test_splits_disjoint_and_test_shifts_larger():
    fam = SyntheticFamily("levy", dim=3, n_train=4, n_val=4, n_test=40)
    ids = [set(fam.split_ids(s)) for s in ("train", "val", "test")]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    shifts = torch.stack([fam._params(i)[0] for i in fam.split_ids("test")])
    assert shifts.abs().max() > 0.1 and shifts.abs().max() <= 0.2
    assert fam.space.dim == 3 and fam.name == "levy_3d"


def test_mixture_pads_members_and_trains_a_variable_dim_network():
    from botorch_nap.tasks import SyntheticMixture

    fam = get_family("synthetic_mix", functions=["branin", "hartmann3"], near_frac=0.3)
    assert isinstance(fam, SyntheticMixture)
    assert (fam.min_dim, fam.dim, fam.space.dim) == (2, 3, 3)
    X, y = fam.sample_batch(64, 20, torch.Generator().manual_seed(0))
    assert X.shape == (64, 20, 3) and y.shape == (64, 20)
    padded = (X[..., 2] == 0).all(-1)  # Branin rows: third coordinate is padding
    assert 10 < int(padded.sum()) < 54
    # Each row is a variant of its member: Branin rows match a Branin variant's range.
    branin = SyntheticFamily("branin")
    assert float(y[padded].max()) <= branin.scale_range[1] * -0.397887 + 1e-6
    ids = fam.split_ids("test")
    assert ids[0].startswith("branin:") and any(i.startswith("hartmann3:") for i in ids)
    assert fam.task(ids[0]).space.dim == 2
    with pytest.raises(KeyError):
        fam.task("nope:1")
    # The CLI's network builder reads min_dim: a variable-dimension network.
    from types import SimpleNamespace

    from botorch_nap.training.commands import NET_FIELDS, _build_net

    args = SimpleNamespace(init_from=None, **{f"net_{k}": 8 for k in NET_FIELDS})
    args.net_n_heads, args.net_n_layers, args.net_horizon = 2, 1, 50
    net = _build_net(args, fam, torch.device("cpu"))
    assert net.config.min_dim == 2 and net.config.dim_x == 3


def test_synthetic_near_points():
    fam = SyntheticFamily("branin", near_frac=0.5, copy_frac=0.5)
    X, y = fam.sample_batch(4, 50, torch.Generator().manual_seed(0))
    d = torch.cdist(X, X) + 10 * torch.eye(50).double()
    i, j, k = (d == 0).nonzero(as_tuple=True)
    assert len(i) > 0 and torch.equal(y[i, j], y[i, k])

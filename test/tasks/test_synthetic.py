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

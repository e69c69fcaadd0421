"""GP-prior family: shapes, determinism, splits, optimum estimates, kernel behaviour."""

from __future__ import annotations

import pytest
import torch

from botorch_nap.tasks import GPPriorFamily, get_family


@pytest.mark.parametrize("kernel", ["rbf", "matern52"])
@pytest.mark.parametrize("split", ["train", "test"])
def test_sample_batch_shapes_and_determinism(kernel, split):
    fam = GPPriorFamily(dim=3, kernel=kernel, n_features=128)
    X, y = fam.sample_batch(5, 40, torch.Generator().manual_seed(3), split=split)
    assert X.shape == (5, 40, 3) and y.shape == (5, 40)
    assert X.dtype == y.dtype == torch.float64 and torch.isfinite(y).all()
    assert (X >= 0).all() and (X <= 1).all()
    X2, y2 = fam.sample_batch(5, 40, torch.Generator().manual_seed(3), split=split)
    assert torch.equal(X, X2) and torch.equal(y, y2)
    X3, y3 = fam.sample_batch(5, 40, torch.Generator().manual_seed(4), split=split)
    assert not torch.equal(y, y3)
    # The prior has unit variance, so values should look standardised.
    assert 0.3 < y.std() < 3.0


def test_splits_disjoint_and_tasks_fixed():
    fam = GPPriorFamily(dim=2, n_train=5, n_val=3, n_test=4)
    ids = {s: set(fam.split_ids(s)) for s in ("train", "val", "test")}
    assert not (ids["train"] & ids["val"] or ids["train"] & ids["test"] or ids["val"] & ids["test"])
    a = fam.task(fam.split_ids("val")[0])
    b = GPPriorFamily(dim=2, n_train=5, n_val=3, n_test=4).task(fam.split_ids("val")[0])
    X = torch.rand(10, 2, dtype=torch.float64)
    assert torch.equal(a.evaluate(X), b.evaluate(X))


@pytest.mark.parametrize("dim,kernel", [(2, "rbf"), (4, "matern52")])
def test_stored_optimum_bounds_samples(dim, kernel):
    fam = GPPriorFamily(dim=dim, kernel=kernel, n_features=256, n_test=2)
    gen = torch.Generator().manual_seed(0)
    for task in fam.tasks("test"):
        X = fam.space.sample_uniform(20000, generator=gen)
        y = task.evaluate(X)
        assert y.shape == (20000,) and y.dtype == torch.float64
        assert task.optimum >= y.max().item()
        assert task.worst <= y.min().item() + 0.01 * (task.optimum - task.worst)
        assert task.normalized_regret(y.max()).item() < 0.2


def test_fixed_split_batches_come_from_split_tasks():
    fam = GPPriorFamily(dim=2, n_features=64, n_val=2)
    X, y = fam.sample_batch(6, 15, torch.Generator().manual_seed(0), split="val")
    vals = [fam.task(i) for i in fam.split_ids("val")]
    for Xi, yi in zip(X, y):
        assert any(torch.allclose(t.evaluate(Xi), yi) for t in vals)


def test_lengthscale_controls_roughness():
    gen = torch.Generator().manual_seed(0)
    X = torch.linspace(0, 1, 200, dtype=torch.float64).reshape(1, 200, 1).expand(64, 200, 1)

    def mean_abs_step(ls):
        from botorch_nap.tasks.gp_prior import rff_eval, sample_rff_params

        o, p, w = sample_rff_params(64, 1, 512, "rbf", (ls, ls), True, gen)
        return rff_eval(X.contiguous(), o, p, w).diff(dim=1).abs().mean()

    assert mean_abs_step(0.05) > 3 * mean_abs_step(0.5)


def test_registry_builds_gp_prior():
    fam = get_family("gp_prior", dim=5, kernel="matern52")
    assert fam.space.dim == 5 and not fam.is_pool
    with pytest.raises(ValueError, match="kernel"):
        get_family("gp_prior", kernel="nope")


@pytest.mark.parametrize("split", ["train", "val"])
def test_mixed_dimension_family_pads_inactive_dims(split):
    fam = GPPriorFamily(dim=5, min_dim=2, n_features=64)
    assert fam.name == "gp_prior_rbf_2-5d" and fam.min_dim == 2
    X, y = fam.sample_batch(64, 20, torch.Generator().manual_seed(0), split=split)
    k = (X != 0).any(1).sum(-1)  # active dims per function
    assert k.min() >= 2 and k.max() <= 5 and len(set(k.tolist())) > 1
    # Active dims are the leading ones, padded dims are exactly 0 at every point.
    for i in range(64):
        assert (X[i, :, k[i] :] == 0).all() and (X[i, :, : k[i]] > 0).all()
    # A function ignores its inactive coordinates.
    task = fam.task(fam.split_ids("test")[0])
    active = int((task.omega != 0).any(0).sum())
    Z = torch.rand(10, 5, dtype=torch.float64)
    Z2 = Z.clone()
    Z2[:, active:] = torch.rand(10, 5 - active, dtype=torch.float64)
    torch.testing.assert_close(task.evaluate(Z), task.evaluate(Z2))
    with pytest.raises(ValueError, match="min_dim"):
        GPPriorFamily(dim=3, min_dim=4)


def test_near_points_and_exact_copies():
    fam = GPPriorFamily(dim=3, near_frac=0.5, copy_frac=0.5, near_scale_range=(1e-4, 1e-2))
    X, y = fam.sample_batch(8, 60, torch.Generator().manual_seed(0))
    assert ((X >= 0) & (X <= 1)).all()
    d = torch.cdist(X, X)
    d = d + torch.eye(60).double() * 10.0
    nearest = d.min(-1).values
    # About half the points sit next to another (uniform points in 3-d never do at 0.05).
    share_near = float((nearest < 0.05).double().mean())
    assert 0.35 < share_near < 0.9, share_near
    # Exact copies exist, and in a noise-free family they repeat the value exactly.
    i, j, k = (d == 0).nonzero(as_tuple=True)
    assert len(i) > 0
    assert torch.equal(y[i, j], y[i, k])
    # Without near_frac, the family is unchanged (same draws as before the option existed).
    plain = GPPriorFamily(dim=3)
    X0, _ = plain.sample_batch(8, 60, torch.Generator().manual_seed(0))
    assert float((torch.cdist(X0, X0) + torch.eye(60).double() * 10).min()) > 1e-3


def test_per_function_noise_levels():
    fam = GPPriorFamily(
        dim=2, noise_std_range=(0.05, 0.2), noisy_frac=0.5, near_frac=0.5, copy_frac=1.0
    )
    X, y = fam.sample_batch(64, 40, torch.Generator().manual_seed(1))
    d = torch.cdist(X, X) + torch.eye(40).double() * 10.0
    i, j, k = (d == 0).nonzero(as_tuple=True)
    gap = (y[i, j] - y[i, k]).abs()
    per_task = torch.zeros(64).double().index_reduce_(0, i, gap, "amax")
    has_copy = torch.zeros(64, dtype=torch.bool).index_fill_(0, i, True)
    noisy = per_task[has_copy] > 0
    # Some functions are noise-free (copies agree exactly), others noisy (they differ).
    assert 0.2 < float(noisy.double().mean()) < 0.8
    assert float(per_task[has_copy][noisy].max()) < 5 * 0.2 * 2


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"noise_std_range": (0.0, 0.1)}, "noise_std_range"),
        ({"near_frac": 1.5}, "near_frac"),
        ({"copy_frac": -0.1}, "copy_frac"),
        ({"near_scale_range": (0.1, 0.01)}, "near_scale_range"),
    ],
)
def test_new_options_are_validated(kw, match):
    with pytest.raises(ValueError, match=match):
        GPPriorFamily(dim=2, **kw)


@pytest.mark.parametrize("split", ["train", "val"])
def test_sample_batch_with_prior_is_sample_batch_plus_the_prior(split):
    fam = GPPriorFamily(dim=3, min_dim=2, noise_std_range=(0.01, 0.1), noisy_frac=0.5, n_val=3)
    X, y = fam.sample_batch(16, 20, torch.Generator().manual_seed(2), split=split)
    batch = fam.sample_batch_with_prior(16, 20, torch.Generator().manual_seed(2), split=split)
    assert torch.equal(X, batch.X) and torch.equal(y, batch.y) and batch.kernel == "rbf"
    assert batch.lengthscales.shape == (16, 3) and batch.noise_std.shape == (16,)
    lo, hi = fam.lengthscale_range
    assert ((batch.lengthscales >= lo) & (batch.lengthscales <= hi)).all()
    assert (batch.noise_std == 0).any() and (batch.noise_std > 0).any()


def test_fixed_split_batches_carry_their_tasks_lengthscales():
    fam = GPPriorFamily(dim=2, n_features=64, n_val=3)
    batch = fam.sample_batch_with_prior(12, 15, torch.Generator().manual_seed(0), split="val")
    tasks = {i: fam.task(i) for i in fam.split_ids("val")}
    for Xi, yi, ls in zip(batch.X, batch.y, batch.lengthscales):
        (tid,) = [i for i, t in tasks.items() if torch.allclose(t.evaluate(Xi), yi)]
        assert torch.equal(ls, fam._prior_params(tid)[3])
    assert len({tuple(v.tolist()) for v in batch.lengthscales}) > 1


@pytest.mark.parametrize("kernel", ["rbf", "matern52"])
def test_gp_predictive_is_calibrated_on_its_own_prior(kernel):
    from botorch_nap.tasks.gp_prior import gp_predictive

    fam = GPPriorFamily(
        dim=2,
        kernel=kernel,
        lengthscale_range=(0.1, 0.5),
        noise_std_range=(0.01, 0.3),
        noisy_frac=0.5,
    )
    batch = fam.sample_batch_with_prior(64, 40, torch.Generator().manual_seed(0))
    n_ctx = torch.randint(1, 39, (64,), generator=torch.Generator().manual_seed(1))
    mean, var = gp_predictive(batch, n_ctx)
    targets = torch.arange(40).unsqueeze(0) >= n_ctx.unsqueeze(1)
    z = ((batch.y - mean) / var.sqrt())[targets]
    # The predictive of the generating prior: standard normal residuals on held-out points.
    assert abs(float(z.mean())) < 0.1 and 0.9 < float(z.std()) < 1.1, (z.mean(), z.std())
    # Under a wrong prior they are not: too short lengthscales under-state what the context
    # says, too long ones over-state it.
    for factor, bad in ((0.3, lambda sd: sd < 0.88), (3.0, lambda sd: sd > 1.2)):
        wrong = batch._replace(lengthscales=batch.lengthscales * factor)
        m2, v2 = gp_predictive(wrong, n_ctx)
        assert bad(float(((batch.y - m2) / v2.sqrt())[targets].std())), factor


def test_gp_predictive_collapses_at_noise_free_observations_and_matches_a_direct_solve():
    from botorch_nap.tasks.gp_prior import PriorBatch, gp_predictive, kernel_matrix

    g = torch.Generator().manual_seed(0)
    X = torch.rand(2, 7, 2, generator=g, dtype=torch.float64)
    X[:, 5] = X[:, 1]  # a target on a context point
    y = torch.randn(2, 7, generator=g, dtype=torch.float64)
    y[:, 5] = y[:, 1]
    ls = torch.tensor([[0.3, 0.5], [0.2, 0.2]], dtype=torch.float64)
    noise = torch.tensor([0.0, 0.2], dtype=torch.float64)
    mean, var = gp_predictive(PriorBatch(X, y, ls, noise, "rbf"), torch.tensor([4, 3]))
    assert abs(float(mean[0, 5] - y[0, 1])) < 1e-3 and float(var[0, 5]) < 1e-4
    assert float(var[1, 5]) > 0.04  # a noisy function keeps its noise there
    for i, n in enumerate((4, 3)):  # one task at a time, without the batching's padding
        K = kernel_matrix(X[i : i + 1], X[i : i + 1], ls[i : i + 1], "rbf")[0]
        A = K[:n, :n] + (noise[i] ** 2 + 1e-6) * torch.eye(n, dtype=torch.float64)
        m = K[:, :n] @ torch.linalg.solve(A, y[i, :n])
        v = 1 - (K[:, :n] * torch.linalg.solve(A, K[:n, :]).T).sum(-1) + noise[i] ** 2 + 1e-6
        torch.testing.assert_close(mean[i], m)
        torch.testing.assert_close(var[i], v)


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"multiscale_frac": 1.5}, "multiscale_frac"),
        ({"fine_scale_range": (0.0, 0.2)}, "fine_scale_range"),
        ({"fine_weight_range": (0.6, 0.2)}, "fine_weight_range"),
    ],
)
def test_multiscale_options_are_validated(kw, match):
    with pytest.raises(ValueError, match=match):
        GPPriorFamily(dim=2, **kw)


def test_multiscale_functions_add_a_finer_component_and_keep_the_rest_of_the_draws():
    kw = dict(dim=3, min_dim=2, n_features=64, noise_std_range=(0.01, 0.1), near_frac=0.3)
    plain = GPPriorFamily(**kw).sample_batch_with_prior(32, 25, torch.Generator().manual_seed(3))
    fam = GPPriorFamily(multiscale_frac=0.5, fine_scale_range=(0.1, 0.2), **kw)
    multi = fam.sample_batch_with_prior(32, 25, torch.Generator().manual_seed(3))
    assert "multiscale" in fam.name and plain.fine_weight is None
    # The coarse draws (and points) are the plain family's; only the extra draws come after.
    assert torch.equal(plain.lengthscales, multi.lengthscales)
    assert multi.fine_weight.shape == (32,) and multi.fine_lengthscales.shape == (32, 3)
    single = multi.fine_weight == 0
    assert single.any() and (~single).any()
    lo, hi = fam.fine_weight_range
    assert ((multi.fine_weight[~single] >= lo) & (multi.fine_weight[~single] <= hi)).all()
    ratio = multi.fine_lengthscales / multi.lengthscales
    assert ((ratio >= 0.1 - 1e-12) & (ratio <= 0.2 + 1e-12)).all()
    assert not torch.equal(plain.y, multi.y)
    # A fixed task keeps the plain family's draws, its fine features appended: a
    # single-scale task is the plain task, a multi-scale one keeps (1 - a) of its variance.
    plain_fam = GPPriorFamily(**kw)
    weights = []
    for tid in plain_fam.split_ids("val"):
        o, p, w, ls = plain_fam._prior_params(tid)
        o2, p2, w2, ls2, fine_ls, a = fam._prior_params(tid)
        assert torch.equal(o, o2[:64]) and torch.equal(p, p2[:64]) and torch.equal(ls, ls2)
        torch.testing.assert_close(w2[:64], w * (1 - a).sqrt())
        assert float(w2[64:].abs().sum()) == 0.0 if a == 0 else float(w2[64:].abs().sum()) > 0
        weights.append(float(a))
    assert 0.0 in weights and max(weights) > 0
    # Fixed split tasks: a task's own evaluation is the batch's value, and its fine weight
    # travels with it (noise-free here, so that values identify tasks).
    fam = GPPriorFamily(dim=3, n_features=64, multiscale_frac=0.5)
    val = fam.sample_batch_with_prior(12, 10, torch.Generator().manual_seed(0), split="val")
    for Xi, yi, a in zip(val.X, val.y, val.fine_weight):
        (tid,) = [i for i in fam.split_ids("val") if torch.allclose(fam.task(i).evaluate(Xi), yi)]
        assert float(a) == float(fam._prior_params(tid)[5])


def test_gp_predictive_is_calibrated_on_the_multiscale_prior_and_needs_its_fine_part():
    from botorch_nap.tasks.gp_prior import gp_predictive

    fam = GPPriorFamily(
        dim=2,
        lengthscale_range=(0.3, 0.8),
        multiscale_frac=1.0,
        fine_scale_range=(0.1, 0.2),
        fine_weight_range=(0.3, 0.5),
    )
    batch = fam.sample_batch_with_prior(64, 40, torch.Generator().manual_seed(0))
    n_ctx = torch.randint(10, 39, (64,), generator=torch.Generator().manual_seed(1))
    targets = torch.arange(40).unsqueeze(0) >= n_ctx.unsqueeze(1)
    mean, var = gp_predictive(batch, n_ctx)
    z = ((batch.y - mean) / var.sqrt())[targets]
    assert abs(float(z.mean())) < 0.1 and 0.9 < float(z.std()) < 1.1, (z.mean(), z.std())
    # The coarse kernel alone over-states what the context says about the ripples.
    m2, v2 = gp_predictive(batch._replace(fine_weight=None, fine_lengthscales=None), n_ctx)
    assert float(((batch.y - m2) / v2.sqrt())[targets].std()) > 1.3

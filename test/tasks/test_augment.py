"""GP-posterior task augmentation: close to but different from the source, cached, seeded."""

from __future__ import annotations

import pytest
import torch

from botorch_nap.tasks import AugmentedFamily, GPPriorFamily, PoolFamily, SearchSpace


def toy_pool_family() -> PoolFamily:
    """Three smooth 3-d pool tasks (fast to fit, no data files needed)."""
    gen = torch.Generator().manual_seed(0)
    space = SearchSpace(torch.tensor([[0.0, -2.0, 1.0], [1.0, 0.0, 5.0]]), ["a", "b", "c"], [2])
    pools = {}
    for t in range(3):
        X = space.sample_uniform(150, generator=gen)
        y = torch.sin(3 * X[:, 0] + t) + 0.5 * X[:, 1] ** 2 - 0.1 * X[:, 2]
        pools[t] = (X, y)
    return PoolFamily("toy", space, pools, {"train": [0, 1], "val": [2], "test": []})


@pytest.fixture(scope="module")
def aug(tmp_path_factory):
    # Module scope: the GP fits are shared by the tests below.
    cache = tmp_path_factory.mktemp("gp_cache")
    return AugmentedFamily(toy_pool_family(), n_fit=100, jitter=0.02, cache_dir=cache)


def test_close_to_but_not_equal_source(aug):
    task = aug.task(0)
    U = aug._to_unit(task.X)
    gen = torch.Generator().manual_seed(1)
    for _ in range(3):
        y_aug = aug.sample_posterior(0, U, gen)
        corr = torch.corrcoef(torch.stack([y_aug, task.y]))[0, 1]
        assert corr > 0.9
        assert (y_aug - task.y).abs().mean() < 0.2 * task.y.std()
        assert not torch.allclose(y_aug, task.y, atol=1e-4)
    # Two draws are different functions.
    assert not torch.allclose(aug.sample_posterior(0, U, gen), aug.sample_posterior(0, U, gen))


def test_batched_posterior_equals_botorch(aug):
    U = aug._to_unit(aug.task(1).X[:40])
    mean, cov = aug.posterior_mean_cov(1, U.unsqueeze(0))
    post = aug.model(1).posterior(U)
    torch.testing.assert_close(mean[0], post.mean.squeeze(-1).detach())
    torch.testing.assert_close(cov[0], post.distribution.covariance_matrix.detach())


def test_sample_batch_shapes_determinism_and_jitter(aug):
    X, y = aug.sample_batch(5, 30, torch.Generator().manual_seed(0))
    assert X.shape == (5, 30, 3) and y.shape == (5, 30) and y.dtype == torch.float64
    X2, y2 = aug.sample_batch(5, 30, torch.Generator().manual_seed(0))
    assert torch.equal(X, X2) and torch.equal(y, y2)
    space = aug.space
    assert (X >= space.bounds[0]).all() and (X <= space.bounds[1]).all()
    assert torch.equal(X[..., 2], X[..., 2].round())  # integer dims kept integer
    pool_X = torch.cat([aug.task(t).X for t in (0, 1)])
    dist = torch.cdist(aug._to_unit(X[0]), aug._to_unit(pool_X)).min(-1).values
    assert (dist > 0).any() and dist.max() < 0.2  # jittered, but near source points
    # val/test batches are the base family's, unaugmented.
    Xv, yv = aug.sample_batch(2, 10, torch.Generator().manual_seed(0), split="val")
    torch.testing.assert_close(aug.task(2).evaluate(Xv[0]), yv[0])


def test_cache_is_state_dict_file(aug):
    aug.prepare()
    paths = [aug.cache_path(t) for t in aug.split_ids("train")]
    assert all(p.exists() and p.suffix == ".pt" for p in paths)
    blob = torch.load(paths[0], weights_only=True)  # plain tensors, no pickled objects
    assert set(blob) == {"train_X", "train_Y", "state_dict"}
    fresh = AugmentedFamily(aug.base, n_fit=100, jitter=0.02, cache_dir=aug.cache_dir)
    U = torch.rand(10, 3, dtype=torch.float64)
    a = aug.sample_posterior(0, U, torch.Generator().manual_seed(0))
    b = fresh.sample_posterior(0, U, torch.Generator().manual_seed(0))
    torch.testing.assert_close(a, b)


def test_prior_mixing():
    fam = AugmentedFamily(GPPriorFamily(dim=2, n_train=2), n_fit=60, prior_mix=1.0, cache_dir=False)
    X, y = fam.sample_batch(4, 25, torch.Generator().manual_seed(0))
    assert X.shape == (4, 25, 2) and torch.isfinite(y).all()
    assert fam._models == {}  # every element came from the prior: no GP was fitted

"""FSBO: meta-training lowers the NLL of held-out tasks, the checkpoint round-trips, and the
proposer decides through BoTorch from the shared initial points."""

import json

import pytest
import torch

from botorch_nap.baselines import OptimizerSettings
from botorch_nap.benchmark.fsbo import FSBO, FSBOConfig, load, meta_train, nll_per_task
from botorch_nap.benchmark.loop import run_loop
from botorch_nap.tasks import get_family

FAST = OptimizerSettings(num_restarts=2, raw_samples=32)


@pytest.fixture(scope="module")
def family():
    return get_family("branin")


@pytest.fixture(scope="module")
def trained(family, tmp_path_factory):
    out = tmp_path_factory.mktemp("fsbo")
    cfg = FSBOConfig(dim=2, hidden=16, layers=2, lr=1e-2, n_points=30)
    kernel, lik = meta_train(family, cfg, steps=60, out=out, progress=False)
    return out, cfg, kernel, lik


def test_meta_training_lowers_validation_nll(family, trained):
    _, cfg, kernel, lik = trained
    from botorch_nap.benchmark.fsbo import build_kernel

    torch.manual_seed(0)
    fresh_kernel, fresh_lik = build_kernel(cfg)
    before = nll_per_task(family, fresh_kernel, fresh_lik, cfg, "val", n_tasks=8)
    after = nll_per_task(family, kernel, lik, cfg, "val", n_tasks=8)
    assert after < before - 0.05, (before, after)


def test_checkpoint_round_trip_and_errors(trained, tmp_path):
    out, cfg, kernel, lik = trained
    cfg2, k2, l2 = load(out)
    assert cfg2 == cfg
    for (a, va), (b, vb) in zip(kernel.state_dict().items(), k2.state_dict().items()):
        assert a == b and torch.equal(va, vb)
    with pytest.raises(FileNotFoundError, match="no FSBO checkpoint"):
        load(tmp_path)
    (tmp_path / "fsbo.json").write_text(json.dumps({"format": "other"}))
    (tmp_path / "weights.pt").write_bytes(b"")
    with pytest.raises(ValueError, match="not an FSBO checkpoint"):
        load(tmp_path)


def test_fsbo_proposes_valid_points_in_box_and_pool(family, trained):
    out, *_ = trained
    task = family.task(family.split_ids("test")[0])
    bounds = family.space.bounds
    fsbo = FSBO.from_checkpoint(out, settings=FAST)
    res = run_loop(fsbo, task.evaluate, bounds, 4, 3, seed=0)
    assert ((res.X >= bounds[0]) & (res.X <= bounds[1])).all()
    pool = bounds[0] + torch.rand(50, 2, dtype=torch.float64) * (bounds[1] - bounds[0])
    res = run_loop(fsbo, task.evaluate, bounds, 4, 3, candidates=pool, seed=0)
    for x in res.X:
        assert (pool == x).all(-1).any()
    assert torch.unique(res.X, dim=0).shape[0] == 7


def test_fsbo_benchmark_method_records_its_checkpoint(trained, tmp_path):
    from botorch_nap.benchmark.methods import describe_method

    out, *_ = trained
    d = describe_method(f"fsbo:{out}")
    assert d["name"] == "fsbo" and len(d["weights_sha256"]) == 64
    with pytest.raises(FileNotFoundError, match="fsbo-train"):
        describe_method(f"fsbo:{tmp_path}")

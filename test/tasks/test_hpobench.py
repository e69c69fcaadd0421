"""hpobench_xgb pool family on the real data (skipped when ../shared/data is absent)."""

from __future__ import annotations

import pytest
import torch

from botorch_nap.tasks import get_family, load_hpobench_xgb


@pytest.fixture(scope="module")
def fam(require_data):
    return load_hpobench_xgb(require_data("hpobench_xgb/hpobench_xgb.npz"))


def test_paper_split(fam):
    assert fam.split_ids("train") == list(range(20))
    assert fam.split_ids("val") == list(range(20, 34))
    assert fam.split_ids("test") == list(range(34, 48))
    assert fam.is_pool and fam.space.dim == 6 and fam.space.log_dims == [2, 3, 4, 5]
    assert len(fam.task(47)) == 897


def test_sample_batch(fam):
    X, y, (pick, rows) = fam.sample_batch(
        8, 300, torch.Generator().manual_seed(0), split="test", return_index=True
    )
    assert X.shape == (8, 300, 6) and y.shape == (8, 300) and X.dtype == torch.float64
    X2, y2 = fam.sample_batch(8, 300, torch.Generator().manual_seed(0), split="test")
    assert torch.equal(X, X2) and torch.equal(y, y2)
    ids = fam.split_ids("test")
    for i in range(8):
        task = fam.task(ids[pick[i]])
        assert len(set(rows[i].tolist())) == 300  # without replacement
        assert (rows[i] < len(task)).all()  # never a padded row
        assert torch.equal(task.evaluate(X[i]), y[i])  # rows are real pool rows
        assert task.optimum >= y[i].max() and task.worst <= y[i].min()
    assert (X >= fam.space.bounds[0]).all() and (X <= fam.space.bounds[1]).all()


def test_sample_batch_too_many_points(fam):
    with pytest.raises(ValueError, match="897 rows"):
        fam.sample_batch(2, 898, split="test")
    fam.sample_batch(2, 897, split="test")


def test_log_scale_matches_raw(fam, hpobench_dir):
    raw = load_hpobench_xgb(hpobench_dir, log_scale=False)
    assert torch.allclose(fam.task(0).X[:, 2:], raw.task(0).X[:, 2:].log10())
    assert torch.equal(fam.task(0).X[:, :2], raw.task(0).X[:, :2])


def test_missing_data_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="hpobench_xgb.npz"):
        get_family("hpobench_xgb", data_dir=tmp_path)

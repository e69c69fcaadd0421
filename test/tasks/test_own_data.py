"""Users' own data: the folder format of botorch_nap/tasks/OWN_DATA.md."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from botorch_nap.tasks import get_family, load_own_data


def write_folder(root, split=None):
    spec = {
        "name": "toy",
        "objective": "loss",
        "minimize": True,
        "parameters": [
            {"name": "lr", "type": "float", "lower": 1e-4, "upper": 1e-1, "log": True},
            {"name": "layers", "type": "int", "lower": 1, "upper": 4},
            {"name": "opt", "type": "categorical", "choices": ["adam", "sgd"]},
            {"name": "dropout", "type": "float"},
        ],
    }
    if split:
        spec["split"] = split
    (root / "space.json").write_text(json.dumps(spec))
    rng = np.random.default_rng(0)
    for t in range(5):
        n = 30 + t
        lr = 10 ** rng.uniform(-4, -1, n)
        layers = rng.integers(1, 5, n)
        opt = rng.choice(["adam", "sgd"], n)
        drop = rng.uniform(0, 0.5, n)
        loss = (np.log10(lr) + 2.5) ** 2 + 0.1 * layers + (opt == "sgd") + drop + t
        lines = ["opt,lr,layers,dropout,loss,notes"]
        lines += [f"{o},{a},{b},{c},{d},x" for o, a, b, c, d in zip(opt, lr, layers, drop, loss)]
        lines.append("adam,0.01,2,,1.0,missing dropout")  # dropped with a warning
        (root / f"task{t}.csv").write_text("\n".join(lines) + "\n")
    X = np.array([[1e-3, 2, 1, 0.1], [1e-2, 3, 0, 0.2]])
    np.savez(root / "task_npz.npz", X=X, y=np.array([5.0, 6.0]))
    return spec


def test_loads_folder(tmp_path):
    write_folder(tmp_path)
    with pytest.warns(UserWarning, match="dropped 1 row"):
        fam = load_own_data(tmp_path)
    assert fam.name == "toy" and fam.is_pool and fam.space.dim == 4
    assert fam.space.log_dims == [0] and fam.space.integer_dims == [1]
    assert fam.space.categorical_dims == {2: 2}
    assert fam.space.bounds[:, 0].tolist() == pytest.approx([-4.0, -1.0])
    ids = sum((fam.split_ids(s) for s in ("train", "val", "test")), [])
    assert sorted(ids) == ["task0", "task1", "task2", "task3", "task4", "task_npz"]
    t0 = fam.task("task0")
    assert len(t0) == 30
    # minimize=True: the stored objective is the negated loss; log dim in log10 space.
    assert t0.optimum == t0.y.max().item() and (t0.y <= 0).all()
    assert math.isclose(fam.task("task_npz").X[1, 0].item(), -2.0)
    assert fam.task("task_npz").y.tolist() == [-5.0, -6.0]
    X, y = fam.sample_batch(3, 2, torch.Generator().manual_seed(0), split="train")
    assert X.shape == (3, 2, 4) and y.shape == (3, 2)


def test_explicit_split_and_registry(tmp_path):
    split = {"train": ["task0", "task1", "task2"], "val": ["task3"], "test": ["task4", "task_npz"]}
    write_folder(tmp_path, split)
    with pytest.warns(UserWarning):
        fam = get_family(str(tmp_path))
    assert fam.split_ids("test") == ["task4", "task_npz"]
    with pytest.raises(ValueError, match="exceeds the smallest test pool"):
        fam.sample_batch(2, 3, split="test")


def test_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="space.json"):
        load_own_data(tmp_path)
    write_folder(tmp_path)
    (tmp_path / "bad.csv").write_text("lr,layers\n0.1,2\n")
    with pytest.raises(ValueError, match="bad.csv: missing column"):
        load_own_data(tmp_path)

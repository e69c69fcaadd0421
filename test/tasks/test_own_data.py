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


def _edit_space(root, edit):
    spec = json.loads((root / "space.json").read_text())
    edit(spec)
    (root / "space.json").write_text(json.dumps(spec))


@pytest.mark.parametrize(
    "edit, match",
    [
        # A string where JSON wants a boolean would flip the objective (any string is true).
        (lambda s: s.update(minimize="false"), "minimize.*JSON boolean"),
        (lambda s: s["parameters"][0].update(log="false"), "log.*JSON boolean"),
        # Other libraries' keys would be ignored silently, bounds then taken from the data.
        (lambda s: s.update(maximize=True), "unknown key.*maximize.*minimize"),
        (lambda s: s["parameters"][3].update(bounds=[0, 1]), "'dropout'.*unknown key.*lower"),
        (lambda s: s["parameters"][1].update(type="range"), "'layers'.*type must be"),
        (lambda s: s["parameters"][2].pop("choices"), "'opt'.*needs a list of \"choices\""),
        (lambda s: s.update(split={"training": ["task0"]}), "split: unknown key"),
        (lambda s: s.update(tasks="task0,task1"), "tasks.*must be a list"),
        (lambda s: s["parameters"][2].update(choices="ab"), "'opt'.*list of \"choices\""),
        (lambda s: s["parameters"][1].update(lower="1"), "'layers'.*lower.*must be a number"),
    ],
)
def test_space_json_mistakes_are_named(tmp_path, edit, match):
    write_folder(tmp_path)
    _edit_space(tmp_path, edit)
    with pytest.raises(ValueError, match=match):
        load_own_data(tmp_path)


def test_data_mistakes_are_named(tmp_path):
    write_folder(tmp_path)
    # A word in a float column: the file, its line and the column, and the likely fix.
    text = (tmp_path / "task1.csv").read_text().splitlines()
    text[3] = text[3].replace(text[3].split(",")[3], "high", 1)
    (tmp_path / "task1.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(ValueError, match=r"task1.csv: line 4, column 'dropout': 'high'.*categ"):
        load_own_data(tmp_path)


def test_bounds_that_exclude_most_data_are_refused(tmp_path):
    write_folder(tmp_path)
    # lr spans 1e-4..1e-1 in the files; bounds of 1e-2..1e-1 leave out two thirds of them.
    _edit_space(tmp_path, lambda s: s["parameters"][0].update(lower=1e-2))
    with pytest.raises(ValueError, match=r"'lr': \d+% of the rows lie outside"):
        load_own_data(tmp_path)


def test_constant_objective_everywhere_is_refused(tmp_path):
    write_folder(tmp_path)
    for f in tmp_path.glob("task*.csv"):
        rows = f.read_text().splitlines()
        rows[1:] = [",".join(r.split(",")[:4] + ["1.0"] + r.split(",")[5:]) for r in rows[1:]]
        f.write_text("\n".join(rows) + "\n")
    np.savez(tmp_path / "task_npz.npz", X=np.array([[1e-3, 2, 1, 0.1]] * 2), y=np.ones(2))
    with pytest.raises(ValueError, match="constant within every task"):
        load_own_data(tmp_path)


def test_infinite_values_are_named_when_dropped(tmp_path):
    write_folder(tmp_path)
    with open(tmp_path / "task2.csv", "a") as fh:
        fh.write("adam,0.01,2,0.1,inf,x\n")
    with pytest.warns(UserWarning, match=r"task2.csv: dropped 2 row\(s\).*1 of them infinite"):
        load_own_data(tmp_path)


def test_a_log_parameter_with_lower_zero_is_named(tmp_path):
    write_folder(tmp_path)
    _edit_space(tmp_path, lambda s: s["parameters"][0].update(lower=0))
    with pytest.raises(ValueError, match="log parameter 'lr' needs values > 0"):
        load_own_data(tmp_path)

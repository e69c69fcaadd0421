"""Categorical parameters reach the network one-hot, never as ordinal numbers (issue 14)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from botorch_nap.acquisition.nap import NAPAcquisition
from botorch_nap.nn.transformer import NAPConfig, NAPTransformer, check_categories
from botorch_nap.tasks.base import SearchSpace
from botorch_nap.tasks.own_data import load_own_data


def _net(categories, seed=0) -> NAPTransformer:
    torch.manual_seed(seed)
    cfg = NAPConfig(dim_x=len(categories), d_model=32, n_layers=2, d_ff=64, categories=categories)
    return NAPTransformer(cfg).eval()


def test_distinct_choices_are_equally_far_apart():
    net = _net([0, 5])
    codes = torch.arange(5, dtype=torch.float64)
    u = torch.stack([torch.full_like(codes, 0.3), codes / 4], dim=-1)  # unit cube
    enc = net.encode_inputs(u)
    assert enc.shape == (5, 1 + 5) and net.config.input_width == 6
    d = torch.cdist(enc, enc)
    off = d[~torch.eye(5, dtype=torch.bool)]
    # Every pair of distinct choices at the same distance: no order among them.
    assert torch.allclose(off, torch.full_like(off, 2**0.5))
    # The numerical dim passes through unchanged, first.
    assert torch.equal(enc[:, 0], u[:, 0])
    # Codes a hair off (float32 round-off of code / (k - 1)) decode to the same choice.
    assert torch.equal(net.encode_inputs(u + 1e-4 * torch.tensor([0.0, 1.0])), enc)


def test_config_validation_and_old_checkpoints(tmp_path):
    with pytest.raises(ValueError, match="one entry per input dim"):
        NAPConfig(dim_x=3, categories=[0, 4])
    with pytest.raises(ValueError, match="number of choices"):
        NAPConfig(dim_x=2, categories=[0, 1])
    with pytest.raises(ValueError, match="variable-dimension"):
        NAPConfig(dim_x=3, min_dim=2, categories=[0, 0, 3])
    net = _net([3, 0, 4])
    net.save(tmp_path / "ck")
    back = NAPTransformer.load(tmp_path / "ck")
    assert back.config.categories == [3, 0, 4]
    # A checkpoint written before `categories` existed has no such key and loads as numeric.
    cfg = json.loads((tmp_path / "ck" / "config.json").read_text())
    plain = NAPTransformer(NAPConfig(dim_x=3, d_model=32, n_layers=2, d_ff=64))
    plain.save(tmp_path / "old")
    old = json.loads((tmp_path / "old" / "config.json").read_text())
    old["network"].pop("categories")
    (tmp_path / "old" / "config.json").write_text(json.dumps(old))
    assert NAPTransformer.load(tmp_path / "old").config.categories is None
    assert cfg["network"]["categories"] == [3, 0, 4]


def test_network_and_space_must_agree():
    space = SearchSpace(torch.tensor([[0.0, 0.0], [1.0, 3.0]]), ["a", "b"], categorical_dims={1: 4})
    check_categories(_net([0, 4]).config, space)
    with pytest.raises(ValueError, match=r"categorical dims .* \[0, 5\].*\[0, 4\]"):
        check_categories(_net([0, 5]).config, space)
    with pytest.raises(ValueError, match="None"):
        check_categories(NAPConfig(dim_x=2), space)


def _write(root, listing: list[str], X_names: np.ndarray, y: np.ndarray) -> None:
    """An own-data folder whose categorical column is given by name and coded by `listing`."""
    root.mkdir()
    spec = {
        "name": "cat",
        "parameters": [
            {"name": "x", "type": "float", "lower": 0.0, "upper": 1.0},
            {"name": "c", "type": "categorical", "choices": listing},
        ],
        "split": {"train": ["a"], "val": [], "test": []},
    }
    (root / "space.json").write_text(json.dumps(spec))
    codes = np.array([listing.index(n) for n in X_names[:, 1]], dtype=float)
    X = np.stack([X_names[:, 0].astype(float), codes], axis=1)
    np.savez(root / "a.npz", X=X, y=y)


def test_scores_do_not_depend_on_how_choices_are_listed(tmp_path):
    rng = np.random.default_rng(0)
    names = ["red", "green", "blue", "amber"]
    pts = np.stack([rng.uniform(0, 1, 40).astype(str), rng.choice(names, 40)], axis=1)
    y = rng.normal(size=40)
    _write(tmp_path / "one", names, pts, y)
    _write(tmp_path / "two", names[::-1], pts, y)
    fams = [load_own_data(tmp_path / s) for s in ("one", "two")]
    # Both listings code the choices in sorted order: identical points, identical names.
    assert fams[0].space.choices == fams[1].space.choices == {1: sorted(names)}
    assert torch.equal(fams[0].task("a").X, fams[1].task("a").X)
    scores = []
    for fam in fams:
        net = _net(fam.space.category_counts(), seed=3)
        task = fam.task("a")
        acqf = NAPAcquisition(net, task.X[:10], task.y[:10, None], fam.space.bounds)
        scores.append(acqf(task.X[10:, None, :]))
    assert torch.equal(scores[0], scores[1])


def test_network_does_not_see_code_order(tmp_path):
    """Renaming choices (a permutation of codes) and permuting the one-hot weight columns to
    match gives the same scores: the network has no notion of code order or distance."""
    torch.manual_seed(0)
    net = _net([0, 4], seed=1)
    perm = torch.tensor([2, 0, 3, 1])  # new code of old code c is perm[c]
    net2 = _net([0, 4], seed=1)
    with torch.no_grad():
        w = net2.emb_x[0].weight  # d x (1 + 4)
        w[:, 1 + perm] = net.emb_x[0].weight[:, 1:].clone()
    X = torch.stack([torch.rand(30, dtype=torch.float64), torch.randint(0, 4, (30,)).double()], 1)
    y = torch.randn(30, 1, dtype=torch.float64)
    bounds = torch.tensor([[0.0, 0.0], [1.0, 3.0]], dtype=torch.float64)
    X2 = X.clone()
    X2[:, 1] = perm[X[:, 1].long()].double()
    a = NAPAcquisition(net, X[:20], y[:20], bounds)(X[20:, None])
    b = NAPAcquisition(net2, X2[:20], y[:20], bounds)(X2[20:, None])
    assert torch.allclose(a, b, atol=1e-5)


def test_acquisition_checks_categorical_bounds():
    net = _net([0, 4])
    X = torch.tensor([[0.2, 1.0], [0.7, 3.0]], dtype=torch.float64)
    y = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    with pytest.raises(ValueError, match=r"dim 1 is categorical with 4 choices .* \[0, 4\]"):
        NAPAcquisition(net, X, y, torch.tensor([[0.0, 0.0], [1.0, 4.0]], dtype=torch.float64))

"""``benchmarks/ard_scales.py``: the scales an ARD network reads off known GP draws."""

import pytest
import torch
from benchmark_scripts import load_script

from botorch_nap.nn.transformer import NAPConfig, NAPTransformer


def test_median_scales_follow_the_network_and_check_it():
    mod = load_script("ard_scales")
    torch.manual_seed(0)
    cfg = dict(dim_x=4, min_dim=2, d_model=16, n_layers=1, d_ff=32, n_buckets=16)
    net = NAPTransformer(NAPConfig(distance_bias=True, ard_bias=True, **cfg)).eval()
    # Untrained: every scale is exactly 1.
    assert mod.median_scales(net, [0.1, 0.5, 1.0], 20, draws=3) == [1.0, 1.0, 1.0]
    # A scale that grows with a dim's mean squared slope: the rough dim counts more.
    with torch.no_grad():
        net.ard.mlp[0].weight.zero_()
        net.ard.mlp[0].bias.fill_(1.0)
        net.ard.mlp[0].weight[:, 1] = 1.0  # the wider fit's slope feature
        net.ard.mlp[-1].weight.fill_(0.05)
    s = mod.median_scales(net, [0.1, 1.0, 1.0], 40, draws=5)
    assert s[0] > s[1] and s[0] > s[2]
    with pytest.raises(ValueError, match="no ard_bias"):
        mod.median_scales(NAPTransformer(NAPConfig(**cfg)), [0.2, 0.2], 10, draws=1)
    with pytest.raises(ValueError, match="2..4 dims"):
        mod.median_scales(net, [0.2] * 5, 10, draws=1)


def test_family_scales_read_a_family_and_check_the_network():
    from botorch_nap.tasks import get_family

    mod = load_script("ard_scales")
    torch.manual_seed(0)
    cfg = dict(dim_x=4, min_dim=2, d_model=16, n_layers=1, d_ff=32, n_buckets=16)
    net = NAPTransformer(NAPConfig(distance_bias=True, ard_bias=True, **cfg)).eval()
    fam = get_family("levy", dim=3)
    per_dim, (q10, q50, q90) = mod.family_scales(net, fam, 20, draws=4)
    assert per_dim == [1.0, 1.0, 1.0] and q10 == q50 == q90 == 1.0  # untrained: scale 1
    with torch.no_grad():  # a scale that grows with the wider fit's slope
        net.ard.mlp[0].weight.zero_()
        net.ard.mlp[0].bias.fill_(1.0)
        net.ard.mlp[0].weight[:, 1] = 1.0
        net.ard.mlp[-1].weight.fill_(0.05)
    per_dim, (q10, q50, q90) = mod.family_scales(net, fam, 20, draws=6)
    assert len(per_dim) == 3 and q10 <= q50 <= q90 and q90 > 1.0
    with pytest.raises(ValueError, match="2..4 dims"):
        mod.family_scales(net, get_family("levy", dim=5), 10, draws=1)


def test_history_scales_read_a_results_file(tmp_path):
    import json

    mod = load_script("ard_scales")
    torch.manual_seed(0)
    cfg = dict(dim_x=4, min_dim=2, d_model=16, n_layers=1, d_ff=32, n_buckets=16)
    net = NAPTransformer(NAPConfig(distance_bias=True, ard_bias=True, **cfg)).eval()
    g = torch.Generator().manual_seed(1)
    runs = {}
    for i in range(3):
        X = torch.rand(12, 3, generator=g, dtype=torch.float64)
        y = torch.sin(5 * X[:, 0]) + 0.1 * X[:, 1]
        runs[f"m|{i}|0"] = {"method": "m", "X": X.tolist(), "y": y.tolist()}
    runs["other|0|0"] = {"method": "other", "X": [[0.5] * 3] * 12, "y": [0.0] * 12}
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"runs": runs}))
    hist = mod.load_histories(f"{path}:m")
    assert len(hist) == 3
    geo, spread = mod.history_scales(net, hist, 10)
    assert geo == [1.0, 1.0, 1.0] and spread == [1.0, 1.0, 1.0]  # untrained: scale 1
    with torch.no_grad():
        net.ard.mlp[0].weight.zero_()
        net.ard.mlp[0].bias.fill_(1.0)
        net.ard.mlp[0].weight[:, 1] = 1.0  # grows with a dim's own slope
        net.ard.mlp[-1].weight.fill_(0.05)
    geo, spread = mod.history_scales(net, hist, 12)
    assert spread[1] > 1.0  # the sine's dim counts more than the flat one
    with pytest.raises(SystemExit, match="no runs"):
        mod.load_histories(f"{path}:nothing")

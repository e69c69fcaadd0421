import pytest
import torch

from botorch_nap.nn.ard import ARDScales
from botorch_nap.nn.transformer import NAPConfig, NAPTransformer


def _naive_slopes(ard: ARDScales, u, y, mask):
    """The same statistic point by point: a weighted ridge fit around every real point."""
    b, n, p = u.shape
    out = torch.zeros(b, len(ard.log_rho), p, dtype=u.dtype)
    for bi in range(b):
        real = mask[bi].nonzero().flatten().tolist()
        for wi, rho in enumerate(ard.log_rho.exp().tolist()):
            acc = torch.zeros(p, dtype=u.dtype)
            for i in real:
                others = [j for j in real if j != i]
                delta = u[bi, others] - u[bi, i]
                w = torch.softmax(-(delta**2).sum(-1) / rho, 0)
                gram = (w[:, None, None] * delta[:, :, None] * delta[:, None, :]).sum(0)
                rhs = (w[:, None] * delta * (y[bi, others] - y[bi, i])[:, None]).sum(0)
                ridge = ard.ridge * gram.diagonal().mean().clamp_min(1e-8) + 1e-10
                g = torch.linalg.solve(gram + ridge * torch.eye(p, dtype=u.dtype), rhs)
                acc += g**2
            out[bi, wi] = acc / len(real)
    return out


def test_slopes_match_a_point_by_point_fit_and_ignore_padding():
    g = torch.Generator().manual_seed(0)
    ard = ARDScales().double()
    u = torch.rand(2, 12, 3, generator=g, dtype=torch.float64)
    y = torch.randn(2, 12, generator=g, dtype=torch.float64)
    mask = torch.ones(2, 12, dtype=torch.bool)
    mask[1, 9:] = False
    fast = ard.slopes(u, y, mask)
    torch.testing.assert_close(fast, _naive_slopes(ard, u, y, mask))
    # Padded points (any values, NaN included) change nothing.
    u2, y2 = u.clone(), y.clone()
    u2[1, 9:], y2[1, 9:] = float("nan"), float("nan")
    torch.testing.assert_close(ard.slopes(u2, y2, mask), fast)


def test_slopes_tell_the_dim_that_matters_and_padded_dims_have_none():
    g = torch.Generator().manual_seed(1)
    u = torch.rand(1, 80, 4, generator=g, dtype=torch.float64)
    u[..., 3] = 0.0  # a zero-padded dim (a 3-d problem in a 4-d network)
    y = torch.sin(8 * u[..., 0]) + 0.2 * u[..., 1]  # varies along dim 0, barely along 1
    s = ARDScales().double().slopes(u, y, torch.ones(1, 80, dtype=torch.bool))
    wide = s[0, -1]
    assert wide[0] > 5 * wide[1] and wide[0] > 5 * wide[2]
    assert wide[3] < 1e-12


def test_ard_bias_starts_as_the_plain_distance_bias_saves_and_learns(tmp_path):
    torch.manual_seed(0)
    cfg = dict(dim_x=3, d_model=32, n_layers=1, history_layers=1, d_ff=64, n_buckets=16)
    net = NAPTransformer(NAPConfig(distance_bias=True, **cfg)).double().eval()
    torch.nn.init.normal_(net.dist_w, std=0.5)
    ard = net.with_ard_bias().eval()
    hx, hy, qx = torch.rand(2, 20, 3).double(), torch.randn(2, 20).double(), torch.rand(2, 9, 3)
    qx = qx.double()
    torch.testing.assert_close(ard(hx, hy, qx).bar_logits, net(hx, hy, qx).bar_logits)
    # Its scales train, and once they move the predictions do.
    with torch.no_grad():
        ard.ard.mlp[-1].bias.fill_(1.0)  # every distance counts e^1 as much
    moved = ard(hx, hy, qx).bar_logits
    assert not torch.allclose(moved, net(hx, hy, qx).bar_logits)
    ard.train()
    ard(hx, hy, qx).bar_logits.logsumexp(-1).sum().backward()
    assert ard.ard.mlp[-1].weight.grad.abs().sum() > 0
    ard.eval().save(tmp_path / "ard")
    loaded = NAPTransformer.load(tmp_path / "ard").double().eval()
    assert loaded.config.ard_bias
    torch.testing.assert_close(loaded(hx, hy, qx).bar_logits, moved.detach())
    with pytest.raises(ValueError, match="no ARD"):
        ard.with_ard_bias()
    with pytest.raises(ValueError, match="needs distance_bias"):
        NAPConfig(dim_x=3, ard_bias=True)


def test_context_reads_the_history_size_and_active_dims_and_starts_at_zero_weight():
    g = torch.Generator().manual_seed(2)
    plain = ARDScales().double()
    torch.nn.init.normal_(plain.mlp[-1].weight, std=0.5, generator=g)
    ctx = plain.with_context()
    assert ctx.context and ctx.mlp[0].in_features == plain.mlp[0].in_features + 2
    u = torch.rand(2, 30, 4, generator=g, dtype=torch.float64)
    u[1, :, 3] = 0.0  # row 1: a 3-d problem zero-padded to 4 dims
    y = torch.randn(2, 30, generator=g, dtype=torch.float64)
    mask = torch.ones(2, 30, dtype=torch.bool)
    mask[0, 20:] = False
    torch.testing.assert_close(ctx(u, y, mask), plain(u, y, mask))  # zero weight: same scales
    with pytest.raises(ValueError, match="already"):
        ctx.with_context()

    # With weight on the new inputs, the scales depend on the real points' count (padding
    # excluded) and on the active dims (the padded one has no slope).
    with torch.no_grad():
        ctx.mlp[0].weight[:, -2:].normal_(generator=g)
    alone = ctx(u[:1, :20], y[:1, :20], mask[:1, :20])
    torch.testing.assert_close(ctx(u, y, mask)[:1], alone)
    assert not torch.allclose(ctx(u[:1], y[:1], torch.ones(1, 30, dtype=torch.bool)), alone)
    seen = []
    hook = ctx.mlp[0].register_forward_hook(lambda m, i, o: seen.append(i[0]))
    ctx(u, y, torch.ones(2, 30, dtype=torch.bool))
    hook.remove()
    n_feat, dim_feat = seen[0][:, 0, -2], seen[0][:, 0, -1]
    torch.testing.assert_close(n_feat, torch.tensor([30.0, 30.0]).rsqrt().double())
    torch.testing.assert_close(dim_feat, torch.log(torch.tensor([4.0, 3.0])).double())


def test_network_ard_context_keeps_outputs_saves_and_needs_ard(tmp_path):
    torch.manual_seed(0)
    cfg = dict(dim_x=3, d_model=32, n_layers=1, history_layers=1, d_ff=64, n_buckets=16)
    net = NAPTransformer(NAPConfig(distance_bias=True, ard_bias=True, **cfg)).double().eval()
    torch.nn.init.normal_(net.dist_w, std=0.5)
    torch.nn.init.normal_(net.ard.mlp[-1].weight, std=0.5)
    grown = net.with_ard_context().eval()
    hx, hy = torch.rand(2, 20, 3).double(), torch.randn(2, 20).double()
    qx = torch.rand(2, 9, 3).double()
    torch.testing.assert_close(grown(hx, hy, qx).bar_logits, net(hx, hy, qx).bar_logits)
    assert grown.config.ard_context and grown.ard.context
    with pytest.raises(ValueError, match="no context"):
        grown.with_ard_context()
    with pytest.raises(ValueError, match="needs ard_bias"):
        NAPConfig(dim_x=3, distance_bias=True, ard_context=True)
    grown.save(tmp_path / "ctx")
    loaded = NAPTransformer.load(tmp_path / "ctx").double().eval()
    assert loaded.config.ard_context
    torch.testing.assert_close(loaded(hx, hy, qx).bar_logits, grown(hx, hy, qx).bar_logits)

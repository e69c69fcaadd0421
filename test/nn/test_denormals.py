import pytest
import torch

from botorch_nap.nn.denormals import flushed_denormals, flushing_denormals
from botorch_nap.nn.reference import dense_forward
from botorch_nap.nn.transformer import NAPConfig, NAPTransformer


@pytest.fixture
def supported():
    if not torch.set_flush_denormal(False):
        pytest.skip("this CPU cannot flush subnormal floats")


def test_flushes_inside_the_block_and_restores_what_it_found(supported):
    tiny = torch.tensor(1e-30, dtype=torch.float32)
    assert not flushing_denormals() and (tiny * 1e-10).item() > 0
    with flushed_denormals():
        assert flushing_denormals() and (tiny * 1e-10).item() == 0.0
    assert not flushing_denormals()
    with pytest.raises(RuntimeError):  # restored on an error too
        with flushed_denormals():
            raise RuntimeError
    assert not flushing_denormals()
    # A caller who flushes already keeps flushing after the block.
    torch.set_flush_denormal(True)
    try:
        with flushed_denormals():
            pass
        assert flushing_denormals()
    finally:
        torch.set_flush_denormal(False)


def test_a_sharp_distance_bias_scores_as_without_flushing(supported):
    """With weights this sharp, most attention weights between far points are subnormal in
    float32: the network (which flushes them) still matches the unflushed dense reference,
    and leaves the thread's setting as it was."""
    torch.manual_seed(0)
    cfg = NAPConfig(dim_x=3, d_model=32, n_layers=2, d_ff=64, n_buckets=16, distance_bias=True)
    net = NAPTransformer(cfg).eval()
    with torch.no_grad():
        net.dist_w.fill_(10.0)  # w = 100: exp(-100 |u_i - u_j|^2) is subnormal near 0.9
    g = torch.Generator().manual_seed(1)
    hx, hy, qx = (
        torch.rand(2, 40, 3, generator=g),
        torch.randn(2, 40, generator=g),
        torch.rand(2, 50, 3, generator=g),
    )
    out, ref = net(hx, hy, qx), dense_forward(net, hx, hy, qx)
    torch.testing.assert_close(out.bar_logits, ref.bar_logits, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(out.acq, ref.acq, atol=1e-5, rtol=1e-4)
    assert not flushing_denormals()

"""``benchmarks/bench_bf16.py``: its bfloat16-block scoring is the float32 scoring up to
bfloat16's rounding, for a network with the distance bias (the folded fused path)."""

import torch
from benchmark_scripts import load_script

from botorch_nap.nn.transformer import NAPConfig, NAPTransformer


def test_bf16_blocks_score_like_float32_up_to_rounding():
    script = load_script("bench_bf16")
    torch.manual_seed(0)
    net = NAPTransformer(NAPConfig(dim_x=3, d_model=32, n_layers=2, d_ff=64, distance_bias=True))
    net.eval()
    with torch.no_grad():  # non-zero distance weights (they start at 0), so the bias matters
        net.dist_w.uniform_(0.5, 1.5)
    half = NAPTransformer(net.config)
    half.load_state_dict(net.state_dict())
    for block in half.blocks:
        block.to(torch.bfloat16)
    X, y, pool = torch.rand(1, 30, 3), torch.randn(1, 30), torch.rand(1, 200, 3)
    with torch.no_grad():
        enc = net.encode_history(X, y)
        full = net.score(enc, pool, chunk_size=None, return_logits=False).acq
        b16 = script.score_bf16_trunk(half, enc, pool)
    assert b16.dtype == torch.float32 and b16.shape == full.shape
    assert not torch.equal(b16, full)  # it did run in lower precision
    torch.testing.assert_close(b16, full, rtol=0.1, atol=0.1 * float(full.abs().max()))
    assert float(torch.corrcoef(torch.stack([b16[0], full[0]]))[0, 1]) > 0.98

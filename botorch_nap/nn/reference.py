"""Dense-mask reference forward pass of :class:`NAPTransformer` (tests and benchmarks only).

It runs the same weights over one ``(n + m)``-token sequence with an explicit
``(n + m) x (n + m)`` mask (history keys plus self), which is what the split history/query
attention of :mod:`botorch_nap.nn.transformer` computes in ``O(n^2 + n m)``. This costs
``O((n + m)^2)`` memory and exists to check and to measure the efficient path.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from botorch_nap.nn.transformer import NAPTransformer, QueryScores
from botorch_nap.normalization import budget_fraction


def dense_forward(
    net: NAPTransformer,
    hist_x: Tensor,
    hist_y: Tensor,
    query_x: Tensor,
    mask: Tensor | None = None,
    incumbent: Tensor | None = None,
    t_frac: Tensor | float | None = None,
) -> QueryScores:
    """Same contract as ``net(hist_x, hist_y, query_x, ...)``, computed with a dense mask."""
    b, n, _ = hist_x.shape
    m = query_x.shape[1]
    dt = net.dtype
    hist_x, hist_y, query_x = hist_x.to(dt), hist_y.to(dt), query_x.to(dt)
    if mask is None:
        mask = torch.ones(b, n, dtype=torch.bool)
    # Incumbent and t/T exactly as encode_history defines them.
    if incumbent is None:
        if n == 0:
            incumbent = torch.zeros(b, dtype=dt)
        else:
            best = hist_y.masked_fill(~mask, -math.inf).max(-1).values
            incumbent = torch.where(torch.isfinite(best), best, torch.zeros_like(best))
    if t_frac is None:
        t_frac = budget_fraction(mask.sum(-1), net.config.horizon)
    incumbent = torch.as_tensor(incumbent, dtype=dt).expand(b)
    t_frac = torch.as_tensor(t_frac, dtype=dt).expand(b)

    h_hist = net.embed_x(hist_x) + net.emb_y(hist_y.unsqueeze(-1))
    # Per-dim factors of the distance bias's inputs (ard_bias), from the history alone.
    factor = net.ard(net.encode_inputs(hist_x), hist_y, mask)[:, None] if net.config.ard_bias else 1
    if net.history_blocks:  # history-only blocks: the history tokens alone, dense mask
        hist_ok = (mask[:, None, :] | torch.eye(n, dtype=torch.bool)).unsqueeze(1)
        if net.config.distance_bias:
            pos = net.encode_inputs(hist_x) * factor
            d2 = ((pos[:, :, None, :] - pos[:, None, :, :]) ** 2).sum(-1).unsqueeze(1)
        for i, blk in enumerate(net.history_blocks):
            bias = hist_ok
            if net.config.distance_bias:
                w = net.history_distance_weights(i).view(1, -1, 1, 1)
                bias = (-w * d2).masked_fill(~hist_ok, -math.inf)
            q, k, v = blk._split(h_hist)
            h_hist = blk._residual(h_hist, F.scaled_dot_product_attention(q, k, v, attn_mask=bias))
    tokens = torch.cat([h_hist, net.embed_x(query_x)], dim=1)
    key_ok = torch.cat([mask, torch.zeros(b, m, dtype=torch.bool)], dim=1)  # b x (n+m)
    eye = torch.eye(n + m, dtype=torch.bool)
    allowed = (key_ok[:, None, :] | eye).unsqueeze(1)  # b x 1 x (n+m) x (n+m)
    masks = [allowed] * len(net.blocks)
    if net.config.distance_bias:
        pos = net.encode_inputs(torch.cat([hist_x, query_x], dim=1)) * factor
        # The bias as written (the network folds it into the dot product instead).
        d2 = ((pos[:, :, None, :] - pos[:, None, :, :]) ** 2).sum(-1).unsqueeze(1)
        masks = [
            (-net.distance_weights(i).view(1, -1, 1, 1) * d2).masked_fill(~allowed, -math.inf)
            for i in range(len(net.blocks))
        ]
    h = tokens
    for blk, attn_mask in zip(net.blocks, masks):
        q, k, v = blk._split(h)
        attn = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        h = blk._residual(h, attn)
    z = net.ln_f(h[:, n:])
    logits = net.bar_head(z)
    return QueryScores(logits, net.acquisition(z, logits, incumbent, t_frac))

"""Per-dimension widths of the distance bias, read off the history (``NAPConfig.ard_bias``).

An ARD kernel measures ``sum_d (x_id - x_jd)^2 / l_d^2``: a dim along which the function
varies fast counts more. For a GP with an RBF kernel the mean squared partial derivative
along ``d`` is ``sigma^2 / l_d^2``, so local slopes of the observed values say how much each
dim should count. :class:`ARDScales` estimates them by a weighted least-squares fit around
every history point and maps each dim's mean squared slope to a scale of that dim's
distances, with a small MLP that every dim shares (so any number of dims, padded dims
included: their slopes are exactly zero).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

#: Points used for the slope statistics: a longer history is read at evenly spaced indices,
#: so the cost stays ``O(MAX_POINTS^2 d^2)`` at any length.
MAX_POINTS = 256


class ARDScales(nn.Module):
    """Per-dim scales of squared distances, from the history's local slopes.

    Around each history point ``i``, a ridge fit of ``y_j - y_i`` on ``u_j - u_i`` over the
    other points, weighted by ``softmax_j(-|u_j - u_i|^2 / rho)``, gives a slope ``g_i`` (one
    fit per neighbourhood width ``rho``, learnt, ``n_widths`` of them). Each dim's features
    are ``log mean_i g_id^2`` per width and the same averaged over dims (how rough the
    function is overall); an MLP shared by the dims maps them to a log-scale ``a_d``. The
    MLP's last layer starts at zero, so an untrained module scales nothing (the plain
    distance bias).

    ``context=True`` also gives the MLP ``1 / sqrt(n)`` (``n`` the history's real points:
    slopes from 15 points are noisier than from 50, so their scales may need to stay nearer
    1; the feature flattens out for long histories, which training never shows) and
    ``log`` of the number of dims with a nonzero slope (a zero-padded dim has none, and the
    dims' average above counts padded dims too). :meth:`with_context` adds them to a
    trained module at zero weight, so the same scales.

    Example:
        >>> ard = ARDScales()
        >>> u, y = torch.rand(2, 30, 3), torch.randn(2, 30)
        >>> ard(u, y, torch.ones(2, 30, dtype=torch.bool)).shape  # 2 x 3
    """

    #: Features ``context=True`` adds: ``1 / sqrt(n)`` and ``log(active dims)``.
    N_CONTEXT = 2

    def __init__(
        self, n_widths: int = 2, hidden: int = 32, ridge: float = 1e-3, context: bool = False
    ) -> None:
        super().__init__()
        widths = torch.logspace(math.log10(0.01), math.log10(0.1), n_widths)
        self.log_rho = nn.Parameter(widths.log())
        self.ridge = ridge
        self.context = context
        n_in = 2 * n_widths + (self.N_CONTEXT if context else 0)
        self.mlp = nn.Sequential(nn.Linear(n_in, hidden), nn.GELU(), nn.Linear(hidden, 1))
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)

    def with_context(self) -> ARDScales:
        """A copy with ``context=True`` whose new inputs start at zero weight (the same
        scales as this module's)."""
        if self.context:
            raise ValueError("these ARD scales already read the context")
        first = self.mlp[0]
        new = ARDScales(len(self.log_rho), first.out_features, self.ridge, context=True)
        state = dict(self.state_dict())
        w = state["mlp.0.weight"]
        state["mlp.0.weight"] = torch.cat([w, w.new_zeros(w.shape[0], self.N_CONTEXT)], 1)
        new.load_state_dict(state)
        return new.to(dtype=w.dtype, device=w.device)

    def slopes(self, u: Tensor, y: Tensor, mask: Tensor) -> Tensor:
        """Mean squared local slope per width and dim: ``u`` ``b x n x p`` encoded inputs,
        ``y`` ``b x n`` normalised values, ``mask`` ``b x n`` -> ``b x widths x p``."""
        b, n, p = u.shape
        if n > MAX_POINTS:
            idx = torch.linspace(0, n - 1, MAX_POINTS, device=u.device).round().long()
            u, y, mask = u[:, idx], y[:, idx], mask[:, idx]
            n = MAX_POINTS
        u, y = u.masked_fill(~mask[..., None], 0.0), y.masked_fill(~mask, 0.0)
        sq = u.pow(2).sum(-1)
        dist = (sq[:, :, None] + sq[:, None, :] - 2 * u @ u.transpose(1, 2)).clamp_min(0.0)
        pair = mask[:, None, :] & mask[:, :, None]
        pair = pair & ~torch.eye(n, dtype=torch.bool, device=u.device)
        rho = self.log_rho.exp().to(u.dtype)
        logits = -dist[:, None] / rho.view(1, -1, 1, 1)  # b x w x i x j
        weight = torch.softmax(logits.masked_fill(~pair[:, None], -math.inf), dim=-1)
        weight = torch.nan_to_num(weight, nan=0.0)  # a point with no neighbour: no fit
        # Weighted moments of the neighbours by matmuls (no b x n x n x d tensor):
        # sum_j w_ij (u_j - u_i)(u_j - u_i)^T and sum_j w_ij (u_j - u_i)(y_j - y_i).
        total = weight.sum(-1)[..., None]  # b x w x i x 1 (1, or 0 without neighbours)
        uu = (u[..., :, None] * u[..., None, :]).flatten(2)
        feats = torch.cat([uu, u, y[..., None], u * y[..., None]], -1)  # b x j x (p^2 + 2p + 1)
        moments = (weight.flatten(1, 2) @ feats).view(b, len(rho), n, feats.shape[-1])
        m_uu = moments[..., : p * p].unflatten(-1, (p, p))
        m_u = moments[..., p * p : p * p + p]  # b x w x i x p
        m_y = moments[..., p * p + p : p * p + p + 1]  # b x w x i x 1
        m_uy = moments[..., p * p + p + 1 :]  # b x w x i x p
        ui, yi = u[:, None], y[:, None, :, None]  # b x 1 x i x p, b x 1 x i x 1
        outer = ui.unsqueeze(-1) * m_u.unsqueeze(-2)  # u_i (sum_j w_ij u_j)^T
        gram = m_uu - outer - outer.transpose(-1, -2)
        gram = gram + total.unsqueeze(-1) * ui.unsqueeze(-1) * ui.unsqueeze(-2)
        rhs = m_uy - ui * m_y - m_u * yi + total * ui * yi
        eye = torch.eye(p, dtype=u.dtype, device=u.device)
        # Ridge relative to each fit's own spread, so narrow neighbourhoods are not
        # flattened by a fixed penalty.
        scale = gram.diagonal(dim1=-2, dim2=-1).mean(-1).clamp_min(1e-8)
        gram = gram + self.ridge * scale[..., None, None] * eye + 1e-10 * eye
        g = torch.linalg.solve(gram, rhs.unsqueeze(-1)).squeeze(-1)  # b x w x i x p
        keep = mask[:, None, :, None].to(u.dtype)
        return (g.pow(2) * keep).sum(2) / keep.sum(2).clamp_min(1.0)

    def forward(self, u: Tensor, y: Tensor, mask: Tensor) -> Tensor:
        """``b x p`` factors for the encoded inputs (``u * factor``): the square roots of
        the per-dim scales of squared distances (1 for an empty history)."""
        if u.shape[1] == 0:
            return u.new_ones(u.shape[0], u.shape[2])
        s = self.slopes(u, y, mask)  # b x w x p
        own = torch.log(s + 1e-4)
        overall = torch.log(s.mean(-1, keepdim=True) + 1e-4).expand_as(own)
        feats = torch.cat([own, overall], dim=1).transpose(1, 2)  # b x p x 2w
        if self.context:
            n_real = mask.sum(-1).clamp_min(1).to(u.dtype)
            active = (s.sum(1) > 0).sum(-1).clamp_min(1).to(u.dtype)
            ctx = torch.stack([n_real.rsqrt(), torch.log(active)], -1)  # b x 2
            feats = torch.cat([feats, ctx[:, None].expand(-1, feats.shape[1], -1)], -1)
        log_scale = self.mlp(feats).squeeze(-1).clamp(-6.0, 6.0)
        return torch.exp(0.5 * log_scale)

"""NAPTransformer: the network that reads an optimisation history and scores candidates.

Tokens
    history token ``i``: ``emb_x(x_i) + emb_y(y_i)``; query token ``j``: ``emb_x(x_j)``.
    No positional encoding, so the history is an unordered set.
Attention
    history tokens attend to the (unpadded) history; each query attends to the history and
    to itself, never to another query. The history is therefore encoded once
    (:meth:`NAPTransformer.encode_history`, ``O(n^2)``) and queries are scored against the
    cached per-layer keys/values in chunks (:meth:`NAPTransformer.score`, ``O(n m)`` time,
    memory linear in ``m``). A query's outputs never depend on the other queries.
Heads
    bar head: logits over ``B`` buckets of normalised y (the neural-process head);
    acquisition head: one score per query; value head: one value per task (PPO critic).

Inputs are normalised by the caller (:mod:`botorch_nap.normalization`): x in the unit cube,
history y standardised by the history's own statistics.

Categorical inputs
    BoTorch sees a categorical parameter with ``k`` choices as one dim of ordinal codes
    ``0 .. k-1`` (unit cube: ``code / (k - 1)``). A network built with
    ``NAPConfig(categories=...)`` decodes such a dim back to its code and feeds it to the
    embedding *one-hot* (``k`` inputs), so any two distinct choices are equally far apart and
    no order among choices is implied. The encoding lives in the network, so training,
    :class:`~botorch_nap.acquisition.nap.NAPAcquisition`, the neural-process model, the
    benchmark and Ax all see the same thing.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from botorch_nap.nn.ard import ARDScales
from botorch_nap.nn.bar_distribution import BarDistribution
from botorch_nap.normalization import Y_TRANSFORMS, budget_fraction

CHECKPOINT_FORMAT = "botorch-nap/v1"
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.pt"


@dataclass
class NAPConfig:
    """Network size. Defaults train on 2 CPU cores; the paper's size is
    ``NAPConfig(dim_x=d, d_model=512, n_layers=6, n_heads=4, d_ff=1024, n_buckets=1000)``.

    ``horizon`` is the default episode length used for the ``t/T`` feature when the caller
    does not know its budget.

    ``min_dim`` makes a *variable-dimension* network: inputs with any number of dims from
    ``min_dim`` to ``dim_x`` are accepted and zero-padded to ``dim_x`` at the network's entry.
    Such a network must be trained on tasks padded the same way (e.g. ``GPPriorFamily(dim=6,
    min_dim=2)``), so that a padded coordinate means "this dimension does not exist".
    ``None`` (default): exactly ``dim_x`` dims.

    ``categories``: per input dim, the number of choices of a categorical parameter (0 for
    a numerical one); those dims enter one-hot (module docstring). ``None``: all numerical.

    ``x_fourier``: number of random Fourier features of x fed to the embedding beside x
    itself (``sin`` and ``cos`` of ``2 pi x . b_j``, ``b_j`` Gaussian directions with
    scales log-uniform in ``[1, x_fourier_max]``, fixed by a seed of their own), so that
    the embedding can tell apart points closer together than its plain MLP resolves (the
    late, local steps of a run). 0 (default): x alone. Measured so far: no gain (README,
    "local steps").

    ``y_transform``: how history values are put on the bars' scale
    (:func:`~botorch_nap.normalization.fit_y_scale`): ``"standardize"`` (default) or
    ``"yeo-johnson"``, a power warp fitted on the history that spreads out values crowded
    at the top. Training and use apply the same one, read from here. Measured so far: no
    gain on hpobench_xgb, worse on lcbench (README, "y-transform").

    ``distance_bias``: every attention score between two points gets ``-w ||u_i - u_j||^2``
    (``u`` the encoded unit-cube inputs), with one learnt ``w`` per layer and head that
    starts at 0. Dot-product attention over embedded inputs cannot weight history points by
    their distance to a query until later layers have built such features; this bias gives
    every layer a kernel-like locality at any width, which is what sharp predictions next
    to observed points need. It is folded into the dot product (:meth:`Block.fold_distance`):
    ``input_width + 1`` more dims per head, no ``m x n`` tensor, the fused kernels kept
    (``benchmarks/bench_distance_bias.py``). Off by default (older checkpoints load unchanged);
    :meth:`NAPTransformer.with_distance_bias` adds it to a trained network without changing
    its outputs.

    ``history_layers``: blocks that only the history tokens pass through, before the
    ``n_layers`` blocks that history and queries share. Queries never enter them, so they
    add depth to the history's self-attention (where a kernel's interpolation weights have
    to be worked out from all the points) at a cost that does not grow with the number of
    candidates: ``O(n^2)`` per decision, not ``O(m n)``. 0 (default): none.
    :meth:`NAPTransformer.with_history_layers` adds them to a trained network as identities.

    ``ard_bias`` (needs ``distance_bias``): the distance bias measures each input dim by a
    scale read off the history (an ARD kernel's lengthscales, as the data show them:
    :class:`~botorch_nap.nn.ard.ARDScales`), the same for every layer and head. Its MLP
    starts at zero (scale 1: the plain distance bias), so
    :meth:`NAPTransformer.with_ard_bias` adds it to a trained network without changing its
    outputs. ``ard_context`` (needs ``ard_bias``): those scales also read the history's size
    and its number of active dims (``ARDScales(context=True)``);
    :meth:`NAPTransformer.with_ard_context` adds that to a trained network, same outputs.
    """

    dim_x: int
    d_model: int = 128
    n_layers: int = 4
    n_heads: int = 4
    d_ff: int = 256
    n_buckets: int = 128
    y_min: float = -6.0
    y_max: float = 6.0
    dropout: float = 0.0
    horizon: int = 50
    min_dim: int | None = None
    categories: list[int] | None = None
    x_fourier: int = 0
    x_fourier_max: float = 64.0
    y_transform: str = "standardize"
    distance_bias: bool = False
    history_layers: int = 0
    ard_bias: bool = False
    ard_context: bool = False

    def __post_init__(self) -> None:
        if self.dim_x < 1:
            raise ValueError(f"dim_x must be >= 1, got {self.dim_x}")
        if self.categories is not None:
            self.categories = [int(k) for k in self.categories]
            if len(self.categories) != self.dim_x:
                raise ValueError(
                    f"categories must give one entry per input dim ({self.dim_x}), "
                    f"got {len(self.categories)}"
                )
            if any(k == 1 or k < 0 for k in self.categories):
                raise ValueError(
                    "categories entries must be 0 (not categorical) or the number of "
                    f"choices (>= 2), got {self.categories}"
                )
            if self.min_dim is not None and self.min_dim != self.dim_x:
                raise ValueError("a variable-dimension network cannot have categorical dims")
        if self.min_dim is not None and not 1 <= self.min_dim <= self.dim_x:
            raise ValueError(f"min_dim must be in [1, dim_x={self.dim_x}], got {self.min_dim}")
        if self.d_model % self.n_heads != 0:
            raise ValueError(
                f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})"
            )
        if not self.y_min < self.y_max:
            raise ValueError("y_min must be < y_max")
        if self.x_fourier < 0 or not self.x_fourier_max >= 1.0:
            raise ValueError(
                f"x_fourier must be >= 0 and x_fourier_max >= 1, got {self.x_fourier} and "
                f"{self.x_fourier_max}"
            )
        self.distance_bias = bool(self.distance_bias)
        self.ard_bias = bool(self.ard_bias)
        if self.ard_bias and not self.distance_bias:
            raise ValueError("ard_bias scales the distance bias: it needs distance_bias=True")
        self.ard_context = bool(self.ard_context)
        if self.ard_context and not self.ard_bias:
            raise ValueError("ard_context is an input of the ARD scales: it needs ard_bias=True")
        if self.history_layers < 0:
            raise ValueError(f"history_layers must be >= 0, got {self.history_layers}")
        if self.y_transform not in Y_TRANSFORMS:
            raise ValueError(f"y_transform must be one of {Y_TRANSFORMS}, got {self.y_transform!r}")

    @classmethod
    def from_dict(cls, d: dict) -> NAPConfig:
        """A config from a checkpoint's ``network`` dict; ``ValueError`` naming a field that is
        unknown, missing or of the wrong JSON type (``"128"`` for an int, ``true`` for a
        number), before any of it is used."""
        if not isinstance(d, dict):
            raise ValueError(f"the checkpoint's network config is not a dict: {d!r}")
        known = {f.name: f for f in fields(cls)}
        unknown = set(d) - set(known)
        if unknown:
            raise ValueError(f"unknown NAPConfig fields in checkpoint: {sorted(unknown)}")
        if "dim_x" not in d:
            raise ValueError("the checkpoint's network config has no dim_x")
        for name, value in d.items():
            # The dataclass annotations (strings, e.g. "int | None") say what each may be.
            kinds = [k.strip() for k in known[name].type.split("|")]
            if not any(_JSON_TYPES[k](value) for k in kinds):
                want = " or ".join(_TYPE_NAMES.get(k, k) for k in kinds)
                raise ValueError(f"NAPConfig field {name!r} must be {want}, got {value!r}")
        return cls(**d)

    def accepts_dim(self, d: int) -> bool:
        """Whether inputs with ``d`` dims are accepted (``d == dim_x``, or within
        ``[min_dim, dim_x]`` for a variable-dimension network)."""
        lo = self.dim_x if self.min_dim is None else self.min_dim
        return lo <= d <= self.dim_x

    @property
    def input_width(self) -> int:
        """Width of the encoded inputs: one column per numerical dim, ``k`` per categorical."""
        if not self.categories:
            return self.dim_x
        return sum(k if k else 1 for k in self.categories)

    @property
    def embedding_width(self) -> int:
        """Width of ``emb_x``'s input: the encoded inputs and their Fourier features."""
        return self.input_width + 2 * self.x_fourier

    def describe_dims(self) -> str:
        """``"6"`` or ``"2..6"``: the input dims this network accepts, for error messages."""
        if self.min_dim is None or self.min_dim == self.dim_x:
            return str(self.dim_x)
        return f"{self.min_dim}..{self.dim_x}"


def check_categories(config: NAPConfig, space, source: object = "the network") -> None:
    """Raise ``ValueError`` when a network's categorical dims differ from a search space's
    (``space``: a :class:`~botorch_nap.tasks.base.SearchSpace`)."""
    want = space.category_counts()
    have = config.categories if config.categories and any(config.categories) else None
    if have != want:
        raise ValueError(
            f"{source}: the network's categorical dims (choices per dim) are {have}, but the "
            f"search space's are {want}; use a checkpoint trained on this space"
        )


class HistoryEncoding(NamedTuple):
    """The encoded history, reused for every chunk of queries.

    keys, values: per layer, ``b x heads x n x d_head`` (with the distance bias, ``d_head +
    input_width + 1``: :meth:`Block.fold_distance`); mask: ``b x n`` (True = real point);
    tokens: ``b x n x d_model`` final history tokens; incumbent, t_frac: ``b``; pos_scale:
    ``b x input_width`` factors of the queries' encoded inputs in the distance bias (with
    ``ard_bias``), else None.
    """

    keys: list[Tensor]
    values: list[Tensor]
    mask: Tensor
    tokens: Tensor
    incumbent: Tensor
    t_frac: Tensor
    pos_scale: Tensor | None = None


class GradientPlan(NamedTuple):
    """A one-history, padding-free :class:`HistoryEncoding` laid out for queries that
    backpropagate (:meth:`NAPTransformer.gradient_plan`), per layer:

    keys: ``heads x k x n``, the history's keys transposed with the attention scale folded
    in, and with the distance bias the history's encoded inputs times ``2 w`` below them
    (``k = d_head + input_width``); offsets: ``heads x 1 x n``, the bias's ``-w |x_j|^2``
    (None without it); values: ``heads x n x d_head``; self_weights: ``heads x 1``, the
    bias's ``w`` (None without it).
    """

    keys: list[Tensor]
    offsets: list[Tensor | None]
    values: list[Tensor]
    self_weights: list[Tensor | None]


class QueryScores(NamedTuple):
    """bar_logits: ``b x m x B`` (None when not requested); acq: ``b x m``."""

    bar_logits: Tensor | None
    acq: Tensor


# PyTorch's CPU flash-attention kernel, which also returns the log-normaliser. That output
# carries no gradient, so the fused path serves only gradient-free scoring (pools, raw-sample
# screening); anything that backpropagates takes the explicit path below.
_FLASH_CPU = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)


def _fused_ok(*tensors: Tensor) -> bool:
    if _FLASH_CPU is None or any(t.device.type != "cpu" for t in tensors):
        return False
    return not (torch.is_grad_enabled() and any(t.requires_grad for t in tensors))


def _mlp(d_in: int, d_hidden: int, d_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, d_hidden), nn.GELU(), nn.Linear(d_hidden, d_out))


class Block(nn.Module):
    """Pre-LayerNorm transformer block with the history/query split attention."""

    def __init__(self, cfg: NAPConfig) -> None:
        super().__init__()
        self.n_heads = cfg.n_heads
        self.d_head = cfg.d_model // cfg.n_heads
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.ff = _mlp(cfg.d_model, cfg.d_ff, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)

    def _split(self, t: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        b, n, _ = t.shape
        q, k, v = self.qkv(self.ln1(t)).split(self.n_heads * self.d_head, dim=-1)
        shape = (b, n, self.n_heads, self.d_head)
        return (z.view(shape).transpose(1, 2) for z in (q, k, v))

    def _merge(self, t: Tensor) -> Tensor:
        b, _, n, _ = t.shape
        return t.transpose(1, 2).reshape(b, n, self.n_heads * self.d_head)

    def _residual(self, t: Tensor, attn: Tensor) -> Tensor:
        t = t + self.drop(self.proj(self._merge(attn)))
        return t + self.drop(self.ff(self.ln2(t)))

    def fold_distance(
        self, q: Tensor, k: Tensor, v: Tensor, pos: Tensor, w: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Fold the distance bias into the dot product, so that the fused kernels still apply
        and no ``m x n`` bias is ever built.

        ``-w |x_i - x_j|^2 = 2 w x_i . x_j - w |x_j|^2 - w |x_i|^2``, and the last term is the
        same for every key of query ``i``, so the softmax drops it. With ``s`` the attention
        scale, ``q' = [q, 2 w x / s, -w / s]`` and ``k' = [k, x, |x|^2]`` give ``s q'.k' = s
        q.k + 2 w x_i . x_j - w |x_j|^2``. ``v`` gets zeros in the new dims (the kernels want
        one head size), which :meth:`_unfold` drops from the output.

        ``q, k, v``: ``b x heads x n x d_head``; ``pos``: ``b x n x p`` encoded inputs; ``w``:
        ``heads``. Returns them with ``d_head + p + 1`` dims.
        """
        b, h, n, _ = q.shape
        x = pos.unsqueeze(1).expand(b, h, n, pos.shape[-1]).to(q.dtype)
        ws = (w * math.sqrt(self.d_head)).to(q.dtype).view(1, h, 1, 1)  # w / scale
        sq = (x * x).sum(-1, keepdim=True)
        q = torch.cat([q, 2 * ws * x, (-ws).expand(b, h, n, 1)], dim=-1)
        k = torch.cat([k, x, sq], dim=-1)
        v = torch.cat([v, v.new_zeros(b, h, n, x.shape[-1] + 1)], dim=-1)
        return q, k, v

    def _unfold(self, attn: Tensor) -> Tensor:
        return attn[..., : self.d_head] if attn.shape[-1] != self.d_head else attn

    def history(
        self,
        h: Tensor,
        mask: Tensor | None,
        pos: Tensor | None = None,
        w: Tensor | None = None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        """``h``: ``b x n x d``; ``mask``: ``b x n``, or ``None`` when no token is padding.
        ``pos`` (``b x n x input_width``) and ``w`` (``heads``): the distance bias's encoded
        inputs and per-head weights, or None (no bias).

        Returns new tokens and this layer's K, V (folded with the bias, if any).
        """
        q, k, v = self._split(h)
        if pos is not None:
            q, k, v = self.fold_distance(q, k, v, pos, w)
        scale = 1.0 / math.sqrt(self.d_head)
        if mask is None:
            # No n x n mask: PyTorch's fused (flash) kernel keeps memory linear in n.
            attn = F.scaled_dot_product_attention(q, k, v, scale=scale)
        else:
            # Every token may attend to real history tokens and always to itself (so padded
            # rows and an all-padding history never produce an empty softmax).
            eye = torch.eye(h.shape[1], dtype=torch.bool, device=h.device)
            allowed = (mask[:, None, :] | eye).unsqueeze(1)  # b x 1 x n x n
            attn = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, scale=scale)
        return self._residual(h, self._unfold(attn)), k, v

    def _query_fused(self, z: Tensor, k_hist: Tensor, v_hist: Tensor, scale: float) -> Tensor:
        """Gradient-free :meth:`query` for a padding-free history, through PyTorch's fused
        CPU attention kernel, which returns the history part already normalised plus its
        log-normaliser ``lse``. The self token then enters with weight
        ``sigmoid(s_self - lse)``. Elementwise work stays in the ``b x m x h x d_head``
        layout (contiguous), where the head-first views of :meth:`_split` are strided."""
        b, m, _ = z.shape
        q, k, v = self.qkv(self.ln1(z)).view(b, m, 3, self.n_heads, self.d_head).unbind(2)
        s_self = (q * k).sum(-1) * scale  # b x m x h
        out, lse = _FLASH_CPU(q.transpose(1, 2), k_hist, v_hist, scale=scale)[:2]
        w_self = torch.sigmoid(s_self - lse.transpose(1, 2)).unsqueeze(-1)
        attn = torch.lerp(out.transpose(1, 2), v, w_self).reshape(b, m, -1)
        z = z + self.proj(attn)
        return z + self.ff(self.ln2(z))

    def _query_fused_folded(
        self, z: Tensor, k_hist: Tensor, v_hist: Tensor, scale: float, pos: Tensor, w: Tensor
    ) -> Tensor:
        """:meth:`_query_fused` with the distance bias folded in (head-first layout)."""
        q, k, v = self.fold_distance(*self._split(z), pos, w)
        s_self = (q * k).sum(-1) * scale  # b x h x m
        out, lse = _FLASH_CPU(q, k_hist, v_hist, scale=scale)[:2]
        attn = torch.lerp(out, v, torch.sigmoid(s_self - lse).unsqueeze(-1).to(out.dtype))
        return self._residual(z, self._unfold(attn))

    def query(
        self,
        z: Tensor,
        k_hist: Tensor,
        v_hist: Tensor,
        mask: Tensor | None,
        pos: Tensor | None = None,
        w: Tensor | None = None,
    ) -> Tensor:
        """``z``: ``b x m x d`` query tokens attend to the cached history and to themselves.

        ``mask``: ``b x n`` (True = real point), or ``None`` when no history token is padding.
        ``pos`` (``b x m x input_width``) and ``w``: the queries' side of the distance bias
        (the cached keys carry the history's), or None.
        """
        scale = 1.0 / math.sqrt(self.d_head)
        dropout = self.training and self.drop.p > 0
        if mask is None and k_hist.shape[-2] > 0 and not dropout and _fused_ok(z, k_hist, v_hist):
            if pos is not None:
                return self._query_fused_folded(z, k_hist, v_hist, scale, pos, w)
            return self._query_fused(z, k_hist, v_hist, scale)
        q, k_self, v_self = self._split(z)
        if pos is not None:
            q, k_self, v_self = self.fold_distance(q, k_self, v_self, pos, w)
        s_self = (q * k_self).sum(-1, keepdim=True) * scale  # b x h x m x 1
        s_hist = torch.matmul(q, k_hist.transpose(-1, -2)) * scale  # b x h x m x n
        if mask is not None:
            s_hist = s_hist.masked_fill(~mask[:, None, None, :], -math.inf)
        # softmax over [history, self] without concatenating the m x (n + 1) scores: one
        # shared max, then the two parts' exponentials and one normaliser.
        top = torch.maximum(s_hist.amax(-1, keepdim=True), s_self) if s_hist.shape[-1] else s_self
        e_hist, e_self = torch.exp(s_hist - top), torch.exp(s_self - top)
        denom = e_hist.sum(-1, keepdim=True) + e_self
        attn = (torch.matmul(e_hist, v_hist) + e_self * v_self) / denom
        return self._residual(z, self._unfold(attn))

    def query_planned(
        self,
        z: Tensor,
        keys: Tensor,
        offset: Tensor | None,
        values: Tensor,
        self_weight: Tensor | None,
        pos: Tensor | None,
        pos_sq: Tensor | None,
    ) -> Tensor:
        """:meth:`query` for ``m x d`` tokens of one padding-free history, from a layer of a
        :class:`GradientPlan`: the same values in about half the tensor operations
        (each of which costs its overhead twice when a few points backpropagate: the
        L-BFGS-B polish). ``pos``: ``heads x m x input_width`` encoded inputs and
        ``pos_sq``: ``m`` their squared norms (the distance bias), or None.
        """
        m = z.shape[0]
        qkv = self.qkv(self.ln1(z)).view(m, 3, self.n_heads, self.d_head)
        q, k, v = qkv.permute(1, 2, 0, 3).unbind(0)  # each heads x m x d_head
        scale = 1.0 / math.sqrt(self.d_head)
        if offset is None:
            s_hist = torch.matmul(q, keys)  # heads x m x n
            s_self = (q * k).sum(-1) * scale  # heads x m
        else:
            # q' . k' of fold_distance, whose self term reduces to scale q.k + w |x|^2.
            s_hist = torch.baddbmm(offset, torch.cat([q, pos], -1), keys)
            s_self = torch.add(self_weight * pos_sq, (q * k).sum(-1), alpha=scale)
        n = values.shape[-2]
        p = torch.softmax(torch.cat([s_hist, s_self.unsqueeze(-1)], -1), -1)
        attn = torch.baddbmm(p[..., n:] * v, p[..., :n], values)  # heads x m x d_head
        z = z + self.proj(attn.transpose(0, 1).reshape(m, self.n_heads * self.d_head))
        return z + self.ff(self.ln2(z))


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)  # JSON true is no number


#: Checks of a checkpoint's JSON value for each type an NAPConfig annotation names.
_JSON_TYPES = {
    "int": _is_int,
    "float": lambda v: _is_int(v) or isinstance(v, float),
    "bool": lambda v: isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
    "list[int]": lambda v: isinstance(v, list) and all(_is_int(k) for k in v),
    "None": lambda v: v is None,
}
_TYPE_NAMES = {"list[int]": "a list of ints", "None": "null"}


def _load_failure(err: Exception) -> str:
    """The gist of a ``torch.load(weights_only=True)`` failure, without torch's advice to
    retry with ``weights_only=False`` (unsafe, and no help for a damaged file), whatever
    wording this torch version gives it."""
    text = str(err)
    if "WeightsUnpickler error:" in text:
        text = text.split("WeightsUnpickler error:", 1)[1]
    text = text.split("Check the documentation", 1)[0]
    advice = ("weights_only", "arbitrary code", "trust", "file an issue", "safe_globals")
    advice += ("allowlist", "can still be loaded")
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # terminal bold
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(text.split()))
    gist = " ".join(s for s in sentences if not any(a in s for a in advice))
    return gist[:200] or type(err).__name__


class NAPTransformer(nn.Module):
    """The NAP network (see the module docstring).

    Example:
        >>> net = NAPTransformer(NAPConfig(dim_x=2))
        >>> hist_x, hist_y = torch.rand(1, 5, 2), torch.randn(1, 5)
        >>> enc = net.encode_history(hist_x, hist_y)
        >>> out = net.score(enc, torch.rand(1, 1000, 2), chunk_size=256)
        >>> out.acq.shape  # 1 x 1000
    """

    def __init__(self, config: NAPConfig) -> None:
        super().__init__()
        self.config = config
        d = config.d_model
        self.emb_x = _mlp(config.embedding_width, d, d)
        if config.x_fourier:
            # Not learnt and not drawn from the global RNG: the same for every network of
            # this config, so a training seed or an init order cannot change it.
            g = torch.Generator().manual_seed(20261204)
            scales = torch.exp(
                torch.rand(config.x_fourier, generator=g) * math.log(config.x_fourier_max)
            )
            dirs = torch.randn(config.input_width, config.x_fourier, generator=g)
            self.register_buffer("fourier_b", dirs * scales / math.sqrt(config.input_width))
        cats = config.categories or []
        self._numeric = [j for j in range(config.dim_x) if not (cats and cats[j])]
        self._categorical = [(j, k) for j, k in enumerate(cats) if k]
        self.emb_y = _mlp(1, d, d)
        self.history_blocks = nn.ModuleList([Block(config) for _ in range(config.history_layers)])
        self.blocks = nn.ModuleList([Block(config) for _ in range(config.n_layers)])
        self.ln_f = nn.LayerNorm(d)
        self.bar = BarDistribution.uniform(config.n_buckets, (config.y_min, config.y_max))
        self.bar_head = _mlp(d, d, config.n_buckets)
        # Acquisition head: paper inputs (bar probabilities, query embedding, incumbent, t/T)
        # plus the bar's exact log-EI, which is also added as a residual with a learnt scale
        # and the MLP's last layer starts at zero. So an untrained head ranks exactly like
        # NP-EI and RL only has to learn a correction (DESIGN.md, prototype notes).
        self.acq_mlp = _mlp(d + config.n_buckets + 3, d, 1)
        nn.init.zeros_(self.acq_mlp[-1].weight)
        nn.init.zeros_(self.acq_mlp[-1].bias)
        self.acq_ei_scale = nn.Parameter(torch.ones(()))
        self.value_head = _mlp(d + 2, d, 1)
        if config.distance_bias:
            # w = DISTANCE_SCALE * dist_w, so that Adam's steps (about lr each) reach the
            # widths that matter (w ~ 1 / (2 lengthscale^2), 0.5 to 50 in the unit cube) in
            # a few thousand steps.
            self.dist_w = nn.Parameter(torch.zeros(config.n_layers, config.n_heads))
            if config.history_layers:  # absent otherwise: older checkpoints load unchanged
                self.dist_w_history = nn.Parameter(
                    torch.zeros(config.history_layers, config.n_heads)
                )
            if config.ard_bias:
                self.ard = ARDScales(context=config.ard_context)

    DISTANCE_SCALE = 10.0

    def _reconfigured(self, **changes) -> NAPTransformer:
        """A new network of this config with ``changes``, in this network's dtype and
        device, for the ``with_*`` methods to load this one's weights into."""
        net = NAPTransformer(NAPConfig.from_dict({**asdict(self.config), **changes}))
        return net.to(dtype=self.dtype, device=self.bar_head[0].weight.device)

    def with_distance_bias(self) -> NAPTransformer:
        """A copy of this network with ``distance_bias`` on (its ``w`` at 0, so the same
        outputs), for continuing the training of a network trained without it."""
        if self.config.distance_bias:
            raise ValueError("this network already has a distance bias")
        net = self._reconfigured(distance_bias=True)
        missing, unexpected = net.load_state_dict(self.state_dict(), strict=False)
        assert missing == ["dist_w"] and not unexpected, (missing, unexpected)
        return net

    def with_ard_bias(self) -> NAPTransformer:
        """A copy of this network (which has a distance bias) with ``ard_bias`` on, its
        scales at 1, so the same outputs."""
        if not self.config.distance_bias or self.config.ard_bias:
            raise ValueError("with_ard_bias needs a network with a distance bias and no ARD")
        net = self._reconfigured(ard_bias=True)
        missing, unexpected = net.load_state_dict(self.state_dict(), strict=False)
        assert all(k.startswith("ard.") for k in missing) and not unexpected, (missing, unexpected)
        return net

    def with_ard_context(self) -> NAPTransformer:
        """A copy of this network (which has ARD scales without context) whose scales also
        read the history's size and active dims (:meth:`ARDScales.with_context`: the new
        inputs at zero weight, so the same outputs)."""
        if not self.config.ard_bias or self.config.ard_context:
            raise ValueError("with_ard_context needs a network with ARD scales and no context")
        net = self._reconfigured(ard_context=True)
        state = dict(self.state_dict())
        state.update({f"ard.{k}": v for k, v in self.ard.with_context().state_dict().items()})
        net.load_state_dict(state)
        return net

    def with_extra_layers(self, k: int) -> NAPTransformer:
        """A copy of this network with ``k`` more blocks after its last one, each starting as
        the identity (its attention output projection and its feed-forward's last layer at
        zero; their distance weights at 0), so the same outputs: more depth for a trained
        network without training it again from scratch."""
        return self._grown(k, "n_layers", "blocks", "dist_w")

    def with_history_layers(self, k: int) -> NAPTransformer:
        """A copy of this network with ``k`` more history-only blocks (``history_layers``),
        after any it has and before the shared blocks, each starting as the identity (as in
        :meth:`with_extra_layers`), so the same outputs."""
        return self._grown(k, "history_layers", "history_blocks", "dist_w_history")

    def _grown(self, k: int, field: str, blocks: str, dist_key: str) -> NAPTransformer:
        """A copy with config ``field`` (a block count) raised by ``k``: the new blocks of the
        module list ``blocks`` come after the old ones and start as the identity, with their
        rows of the distance weights ``dist_key`` at 0."""
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        n = getattr(self.config, field)
        net = self._reconfigured(**{field: n + k})
        state = dict(self.state_dict())
        if self.config.distance_bias:
            old = state.get(dist_key, state["dist_w"].new_zeros(0, self.config.n_heads))
            state[dist_key] = torch.cat([old, old.new_zeros(k, self.config.n_heads)])
        missing, unexpected = net.load_state_dict(state, strict=False)
        assert not unexpected and all(
            any(name.startswith(f"{blocks}.{i}.") for i in range(n, n + k)) for name in missing
        ), (missing, unexpected)
        with torch.no_grad():
            for block in getattr(net, blocks)[n:]:
                for layer in (block.proj, block.ff[-1]):
                    layer.weight.zero_()
                    layer.bias.zero_()
        return net

    def distance_weights(self, layer: int) -> Tensor:
        """The distance bias's per-head weights ``w`` (``heads``) of block ``layer``."""
        return self.DISTANCE_SCALE * self.dist_w[layer]

    def history_distance_weights(self, layer: int) -> Tensor:
        """:meth:`distance_weights` of history-only block ``layer``."""
        return self.DISTANCE_SCALE * self.dist_w_history[layer]

    # ------------------------------------------------------------------ encoding
    @property
    def dtype(self) -> torch.dtype:
        return self.bar_head[0].weight.dtype

    def _check_x(self, x: Tensor, what: str) -> Tensor:
        """Check a ``b x n x d`` input; zero-pad it to ``dim_x`` for variable-dim networks."""
        if x.dim() != 3 or not self.config.accepts_dim(x.shape[-1]):
            raise ValueError(
                f"{what} must have shape b x n x {self.config.describe_dims()}, "
                f"got {tuple(x.shape)}"
            )
        if x.shape[-1] < self.config.dim_x:
            x = torch.nn.functional.pad(x, (0, self.config.dim_x - x.shape[-1]))
        return x

    def encode_inputs(self, x: Tensor) -> Tensor:
        """Unit-cube ``... x dim_x`` -> the embedding's ``... x input_width`` inputs: numerical
        dims as they are, then each categorical dim one-hot (its code is ``round(u (k-1))``).
        Identity for a network without categorical dims."""
        if not self._categorical:
            return x
        parts = [x[..., self._numeric]]
        for j, k in self._categorical:
            code = (x[..., j] * (k - 1)).round().clamp(0, k - 1).long()
            parts.append(F.one_hot(code, k).to(x.dtype))
        return torch.cat(parts, dim=-1)

    def embed_x(self, x: Tensor) -> Tensor:
        """``emb_x`` of unit-cube points (categorical dims one-hot first, then the Fourier
        features if the config asks for them)."""
        u = self.encode_inputs(x)
        if self.config.x_fourier:
            phase = (2 * math.pi) * (u @ self.fourier_b.to(u.dtype))
            u = torch.cat([u, torch.sin(phase), torch.cos(phase)], dim=-1)
        return self.emb_x(u)

    def encode_history(
        self,
        hist_x: Tensor,
        hist_y: Tensor,
        mask: Tensor | None = None,
        incumbent: Tensor | None = None,
        t_frac: Tensor | float | None = None,
    ) -> HistoryEncoding:
        """Encode ``b x n x d`` history points with normalised values ``b x n``.

        ``mask`` (``b x n``, True = real point) handles ragged histories. ``incumbent``
        defaults to the best real normalised y (0 for an empty history: the prior mean of
        standardised y). ``t_frac`` (``b`` or scalar) is the fraction of budget spent
        (:func:`~botorch_nap.normalization.budget_fraction`); default ``n_real /
        config.horizon`` capped at 1. ``n = 0`` (cold start) is allowed:
        queries then attend only to themselves.
        """
        hist_x = self._check_x(hist_x, "hist_x")
        b, n, _ = hist_x.shape
        if hist_y.shape != (b, n):
            raise ValueError(f"hist_y must have shape {(b, n)}, got {tuple(hist_y.shape)}")
        if mask is None:
            mask = torch.ones(b, n, dtype=torch.bool, device=hist_x.device)
        mask = mask.to(torch.bool)
        hist_x, hist_y = hist_x.to(self.dtype), hist_y.to(self.dtype)
        if incumbent is None:
            masked = hist_y.masked_fill(~mask, -math.inf)
            best = masked.max(-1).values if n > 0 else hist_y.new_full((b,), -math.inf)
            incumbent = torch.where(torch.isfinite(best), best, torch.zeros_like(best))
        incumbent = torch.as_tensor(incumbent, dtype=self.dtype, device=hist_x.device).expand(b)
        if t_frac is None:
            t_frac = budget_fraction(mask.sum(-1), self.config.horizon)
        t_frac = torch.as_tensor(t_frac, dtype=self.dtype, device=hist_x.device).expand(b)

        h = self.embed_x(hist_x) + self.emb_y(hist_y.unsqueeze(-1))
        keys, values = [], []
        attn_mask = None if bool(mask.all()) else mask
        pos = self.encode_inputs(hist_x) if self.config.distance_bias else None
        pos_scale = None
        if self.config.ard_bias:
            pos_scale = self.ard(pos, hist_y, mask)
            pos = pos * pos_scale.unsqueeze(1)
        for i, block in enumerate(self.history_blocks):
            w = None if pos is None else self.history_distance_weights(i)
            h = block.history(h, attn_mask, pos, w)[0]
        for i, block in enumerate(self.blocks):
            w = None if pos is None else self.distance_weights(i)
            h, k, v = block.history(h, attn_mask, pos, w)
            keys.append(k)
            values.append(v)
        return HistoryEncoding(keys, values, mask, self.ln_f(h), incumbent, t_frac, pos_scale)

    # ------------------------------------------------------------------ heads
    def score(
        self,
        enc: HistoryEncoding,
        query_x: Tensor,
        chunk_size: int | None = 4096,
        return_logits: bool = True,
    ) -> QueryScores:
        """Score ``b x m x d`` queries against an encoded history, ``chunk_size`` at a time.

        Peak memory is ``O(b * chunk_size * (n + d_model))`` beyond the outputs.
        """
        logits_out, acq_out = [], []
        for qx, mask in self._query_chunks(enc, query_x, chunk_size):
            logits, acq = self._score_chunk(enc, qx, mask)
            acq_out.append(acq)
            if return_logits:
                logits_out.append(logits)
        acq = torch.cat(acq_out, dim=1)
        logits = torch.cat(logits_out, dim=1) if return_logits else None
        return QueryScores(logits, acq)

    def _query_chunks(self, enc: HistoryEncoding, query_x: Tensor, chunk_size: int | None):
        """Checked ``b x m x d`` queries in the network's dtype, ``chunk_size`` at a time:
        yields ``(chunk, mask)``, where ``mask`` is None for a padding-free history."""
        query_x = self._check_x(query_x, "query_x")
        if query_x.shape[0] != enc.mask.shape[0]:
            raise ValueError(f"query batch {query_x.shape[0]} != history batch {enc.mask.shape[0]}")
        query_x = query_x.to(self.dtype)
        m = query_x.shape[1]
        step = m if not chunk_size or chunk_size >= m else chunk_size
        mask = None if bool(enc.mask.all()) else enc.mask  # skip masking a padding-free history
        for start in range(0, max(m, 1), step):
            yield query_x[:, start : start + step], mask

    def _score_chunk(
        self, enc: HistoryEncoding, qx: Tensor, mask: Tensor | None
    ) -> tuple[Tensor, Tensor]:
        z, logits = self._query_chunk(enc, qx, mask)
        return logits, self.acquisition(z, logits, enc.incumbent, enc.t_frac)

    def _query_chunk(
        self,
        enc: HistoryEncoding,
        qx: Tensor,
        mask: Tensor | None,
        plan: GradientPlan | None = None,
    ) -> tuple[Tensor, Tensor]:
        z = self.embed_x(qx)
        pos = self.encode_inputs(qx) if self.config.distance_bias else None
        if enc.pos_scale is not None:
            pos = pos * enc.pos_scale.unsqueeze(1)
        if plan is not None:
            if qx.shape[0] != 1:
                raise ValueError(f"a gradient plan serves one history, got {qx.shape[0]}")
            return self._query_planned(plan, z, pos)
        for i, (block, k, v) in enumerate(zip(self.blocks, enc.keys, enc.values)):
            w = None if pos is None else self.distance_weights(i)
            z = block.query(z, k, v, mask, pos, w)
        z = self.ln_f(z)
        return z, self.bar_head(z)

    def gradient_plan(self, enc: HistoryEncoding) -> GradientPlan:
        """``enc`` (one history, no padding) laid out for :meth:`query_acquisition` and
        :meth:`query_bar_logits` of points that backpropagate: built once per history, it
        makes each forward + backward pass through a few points about 1.5x faster (fewer
        tensor operations; the same values to rounding). For a frozen network in eval mode
        (gradients reach the points, not the parameters), as the acquisitions hold it."""
        if enc.mask.shape[0] != 1 or not bool(enc.mask.all()):
            raise ValueError("a gradient plan needs one history without padding")
        if self.training or any(p.requires_grad for p in self.parameters()):
            # The plan holds the history's side detached: no gradient would reach the
            # parameters through it, and it has no dropout.
            raise ValueError(
                "a gradient plan is for a frozen network in eval mode (its history side "
                "carries no gradient to the parameters): use inference_copy(), or .eval() "
                "and requires_grad_(False)"
            )
        scale = 1.0 / math.sqrt(self.config.d_model // self.config.n_heads)
        keys, offsets, values, self_weights = [], [], [], []
        with torch.no_grad():
            for i, (block, k, v) in enumerate(zip(self.blocks, enc.keys, enc.values)):
                k, v = k[0], v[0]  # heads x n x width
                dh = block.d_head
                values.append(v[..., :dh].contiguous())
                if not self.config.distance_bias:
                    keys.append((k * scale).transpose(-1, -2).contiguous())
                    offsets.append(None)
                    self_weights.append(None)
                    continue
                # fold_distance's k' = [k, x, |x|^2] and q' = [q, 2 w x / s, -w / s], with
                # the scale s moved onto the keys' side.
                w = self.distance_weights(i).to(k.dtype).view(-1, 1, 1)
                folded = torch.cat([k[..., :dh] * scale, 2 * w * k[..., dh:-1]], -1)
                keys.append(folded.transpose(-1, -2).contiguous())
                offsets.append((-w * k[..., -1:]).transpose(-1, -2).contiguous())
                self_weights.append(w.view(-1, 1))
        return GradientPlan(keys, offsets, values, self_weights)

    def _query_planned(
        self, plan: GradientPlan, z: Tensor, pos: Tensor | None
    ) -> tuple[Tensor, Tensor]:
        """:meth:`_query_chunk`'s blocks, final norm and bar head from a plan: ``z`` and
        ``pos`` are ``1 x m x ...``."""
        z = z[0]
        pos_sq = None
        if pos is not None:
            pos, pos_sq = pos[0], pos[0].square().sum(-1)
            pos = pos.expand(self.config.n_heads, *pos.shape)
        for block, k, off, v, w in zip(self.blocks, *plan):
            z = block.query_planned(z, k, off, v, w, pos, pos_sq)
        z = self.ln_f(z).unsqueeze(0)
        return z, self.bar_head(z)

    def query_acquisition(
        self,
        enc: HistoryEncoding,
        query_x: Tensor,
        run_mlp: bool,
        plan: GradientPlan | None = None,
    ) -> Tensor:
        """Acquisition values of ``b x m x d`` queries against a padding-free history ->
        ``b x m``: :meth:`score`'s ``acq`` in one chunk, with no data-dependent branch or
        shape, so that ``torch.compile`` captures it as one graph (forward and backward).
        The caller decides ``run_mlp`` (:meth:`has_trained_head`, or True where the MLP's
        gradient is needed) and checks that ``enc.mask`` is all True. ``plan``:
        :meth:`gradient_plan` of ``enc`` (``b = 1``), for points that backpropagate eagerly.
        """
        query_x = self._check_x(query_x, "query_x").to(self.dtype)
        z, logits = self._query_chunk(enc, query_x, None, plan)
        return self.acquisition(z, logits, enc.incumbent, enc.t_frac, run_mlp, traceable=True)

    def query_bar_logits(
        self, enc: HistoryEncoding, query_x: Tensor, plan: GradientPlan | None = None
    ) -> Tensor:
        """Bar logits (``b x m x B``) of ``b x m x d`` queries against a padding-free history,
        in one chunk and traceable as :meth:`query_acquisition` (NP-EI's compiled path);
        ``plan`` as there."""
        query_x = self._check_x(query_x, "query_x").to(self.dtype)
        return self._query_chunk(enc, query_x, None, plan)[1]

    def query_features(
        self, enc: HistoryEncoding, query_x: Tensor, chunk_size: int | None = 4096
    ) -> tuple[Tensor, Tensor]:
        """What :meth:`acquisition` reads for ``b x m x d`` queries: their final features
        ``z`` (``b x m x d_model``) and bar logits (``b x m x B``).

        For training the heads alone on a frozen trunk (PPO's ``trainable="policy"``): these
        are then constants, computed once per state.
        """
        parts = [
            self._query_chunk(enc, qx, mask)
            for qx, mask in self._query_chunks(enc, query_x, chunk_size)
        ]
        return torch.cat([z for z, _ in parts], 1), torch.cat([lg for _, lg in parts], 1)

    def acquisition(
        self,
        z: Tensor,
        logits: Tensor,
        incumbent: Tensor,
        t_frac: Tensor,
        run_mlp: bool | None = None,
        traceable: bool = False,
    ) -> Tensor:
        """Acquisition head: ``z`` ``b x m x d``, ``logits`` ``b x m x B`` -> ``b x m``.

        ``run_mlp``: whether to run the acquisition MLP; None decides by
        :meth:`_acq_mlp_is_zero` (a zero MLP is skipped). ``traceable``: no data-dependent
        branch (every bar bucket enters the EI), for :meth:`query_acquisition`.
        """
        b, m, _ = z.shape
        # One threshold per history: the bucket-wise EI terms are computed once per row of
        # ``b``, not once per query.
        log_norm = torch.logsumexp(logits, dim=-1, keepdim=True)
        log_ei = self.bar.log_expected_improvement(
            logits, incumbent.view(b, 1), log_norm=log_norm.squeeze(-1), skip_below=not traceable
        )
        if run_mlp is None:
            run_mlp = not self._acq_mlp_is_zero()
        if not run_mlp:
            # The MLP's last layer is exactly zero (never trained: an NP shipped as its own
            # NAP), so its output is 0 for any finite input: skip it and its b x m x (d + B)
            # features (about 5% of a pool decision: `bench_decision.py --breakdown`).
            return self.acq_ei_scale * log_ei
        feats = torch.cat(
            [
                z,
                torch.exp(logits - log_norm),  # the bar probabilities
                incumbent.view(b, 1, 1).expand(b, m, 1),
                t_frac.view(b, 1, 1).expand(b, m, 1),
                log_ei.unsqueeze(-1),
            ],
            dim=-1,
        )
        return self.acq_ei_scale * log_ei + self.acq_mlp(feats).squeeze(-1)

    def has_trained_head(self) -> bool:
        """Whether the acquisition MLP was trained: its zero-initialised last layer moved
        (else its output is exactly zero and the network ranks like NP-EI)."""
        last = self.acq_mlp[-1]
        return bool(last.weight.detach().any()) or bool(last.bias.detach().any())

    def _acq_mlp_is_zero(self) -> bool:
        """Whether the acquisition MLP's output is identically zero and nothing needs its
        gradient (training must reach the zero-initialised last layer through it)."""
        if torch.is_grad_enabled() and any(p.requires_grad for p in self.acq_mlp.parameters()):
            return False
        return not self.has_trained_head()

    def value(self, enc: HistoryEncoding) -> Tensor:
        """PPO critic: masked mean of the history tokens, incumbent, t/T -> ``b``."""
        return self.value_head(self.value_features(enc)).squeeze(-1)

    def value_features(self, enc: HistoryEncoding) -> Tensor:
        """The critic's input, ``b x (d_model + 2)``: pooled history tokens, incumbent, t/T."""
        w = enc.mask.to(enc.tokens.dtype).unsqueeze(-1)
        pooled = (enc.tokens * w).sum(1) / w.sum(1).clamp_min(1.0)
        return torch.cat([pooled, enc.incumbent.unsqueeze(-1), enc.t_frac.unsqueeze(-1)], -1)

    def forward(
        self,
        hist_x: Tensor,
        hist_y: Tensor,
        query_x: Tensor,
        mask: Tensor | None = None,
        incumbent: Tensor | None = None,
        t_frac: Tensor | float | None = None,
        chunk_size: int | None = 4096,
    ) -> QueryScores:
        """Encode the history and score the queries in one call."""
        enc = self.encode_history(hist_x, hist_y, mask, incumbent, t_frac)
        return self.score(enc, query_x, chunk_size)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    # ------------------------------------------------------------------ checkpoints
    def save(self, path: str | os.PathLike, meta: dict | None = None) -> Path:
        """Write ``path/config.json`` and ``path/weights.pt`` (a plain ``state_dict``).

        Both files are written to temporary names first and renamed, so an interrupted save
        never leaves a half-written checkpoint.
        """
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        cfg = {"format": CHECKPOINT_FORMAT, "network": asdict(self.config), "meta": meta or {}}
        state = {k: v.detach().cpu() for k, v in self.state_dict().items()}
        tmp_w, tmp_c = path / (WEIGHTS_FILE + ".tmp"), path / (CONFIG_FILE + ".tmp")
        torch.save(state, tmp_w)
        tmp_c.write_text(json.dumps(cfg, indent=2))
        os.replace(tmp_w, path / WEIGHTS_FILE)
        os.replace(tmp_c, path / CONFIG_FILE)
        return path

    @classmethod
    def load(
        cls,
        path: str | os.PathLike,
        expected_dim: int | None = None,
        dtype: torch.dtype | None = None,
        keep_rng: bool = False,
    ) -> NAPTransformer:
        """Load a checkpoint written by :meth:`save` (``torch.load(weights_only=True)``).

        Raises ``FileNotFoundError`` for a missing file and ``ValueError`` for a damaged or
        mismatched one (wrong format, config/weights disagreement, ``expected_dim``).

        ``keep_rng``: leave torch's global generator where it was. Building the module draws
        its (then overwritten) random initial weights from it, so a load between
        ``torch.manual_seed`` and an optimiser's raw samples changes those samples, and a
        cached network (Ax, the benchmark) would make a first decision differ from a
        rerun. The user-facing constructors (``from_pretrained``, ``from_checkpoint``, Ax)
        load with it; the default (off) keeps the draws that the training recipes' byte-for-
        byte rebuilds of shipped models were made with.
        """
        net, _ = cls.load_with_meta(path, expected_dim, dtype, keep_rng)
        return net

    @classmethod
    def load_with_meta(
        cls,
        path: str | os.PathLike,
        expected_dim: int | None = None,
        dtype: torch.dtype | None = None,
        keep_rng: bool = False,
    ) -> tuple[NAPTransformer, dict]:
        """:meth:`load` and the checkpoint's ``meta`` dict."""
        path = Path(path)
        cfg_file, w_file = path / CONFIG_FILE, path / WEIGHTS_FILE
        for f in (cfg_file, w_file):
            if not f.is_file():
                raise FileNotFoundError(
                    f"checkpoint file missing: {f} (expected {CONFIG_FILE} "
                    f"and {WEIGHTS_FILE} in {path})"
                )
        try:
            cfg = json.loads(cfg_file.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"damaged checkpoint config {cfg_file}: {e}") from e
        if not isinstance(cfg, dict) or cfg.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(
                f"{cfg_file} is not a botorch-nap checkpoint (format "
                f"{cfg.get('format') if isinstance(cfg, dict) else None!r}, expected "
                f"{CHECKPOINT_FORMAT!r})"
            )
        try:
            config = NAPConfig.from_dict(cfg.get("network"))
        except (ValueError, TypeError) as e:
            raise ValueError(f"{cfg_file}: {e}") from e
        if expected_dim is not None and not config.accepts_dim(expected_dim):
            raise ValueError(
                f"checkpoint {path} is for input dim {config.describe_dims()}, but the data "
                f"have dim {expected_dim}"
            )
        try:
            state = torch.load(w_file, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001 - any unpickling failure means a damaged file
            raise ValueError(
                f"damaged checkpoint weights {w_file}: not a tensor state dict that loads "
                f"safely ({_load_failure(e)}); rewrite it with NAPTransformer.save or "
                "training (checkpoints are never unpickled beyond tensors)"
            ) from e
        if keep_rng:
            with torch.random.fork_rng(devices=[]):
                net = cls(config)
        else:
            net = cls(config)
        try:
            net.load_state_dict(state)
        except (RuntimeError, TypeError, AttributeError) as e:
            raise ValueError(
                f"weights in {w_file} do not match the config in {cfg_file}: {e}"
            ) from e
        for name, t in state.items():
            if t.is_floating_point() and not bool(torch.isfinite(t).all()):
                # A damaged file: every score would be NaN, with no word of where from.
                raise ValueError(f"damaged checkpoint weights {w_file}: {name} has NaN or inf")
        if dtype is not None:
            net = net.to(dtype)
        return net.eval(), cfg.get("meta", {})

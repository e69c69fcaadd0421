"""Distillation: train a student network to predict what trained teacher networks predict.

The student sees the same random context/target splits as in NP pretraining
(:func:`~botorch_nap.training.pretrain.pretrain` with ``teachers=``), but instead of the
targets' observed values it learns, at every query point of the task:

* the teachers' bar distribution (KL from the teachers' mixture: the mean of their bar
  probabilities), and
* the teachers' choice among the task's targets: a softmax over their acquisition scores
  (PPO's policy at temperature 1), the teachers' scores mixed as ``log mean exp``, which for
  NP teachers is the log of the mixture's expected improvement.

A teacher labels every query in every context, where a task's data give one noisy value per
point, so a small, fast student (``d_model 32, 2 layers``) can learn more from a few training
tasks than it learns from their values alone. Model selection stays as in pretraining: the
validation NLL on real held-out values.

When no teacher has a trained acquisition head (NP teachers), the student's head is kept
untrained too (frozen at zero during distillation), so its NAP ranks exactly like its NP-EI
and a pool decision skips the head.

Example:
    >>> teacher = NAPTransformer.load(checkpoint_path("hpobench_xgb", "np"))
    >>> student = NAPTransformer(replace(teacher.config, d_model=32, n_layers=2, d_ff=64))
    >>> pretrain(student, family, steps=6000, teachers=[teacher], out_dir="runs/xgb_small")
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextlib import contextmanager
from typing import NamedTuple

import torch
from torch import Tensor

from botorch_nap.nn.transformer import NAPTransformer
from botorch_nap.training.common import context_split, target_mean

#: Config fields a student must share with its teachers: the same inputs, the same bars on
#: the same scale, and the same default ``t/T`` (the acquisition head reads it).
SHARED_FIELDS = (
    "dim_x",
    "min_dim",
    "categories",
    "n_buckets",
    "y_min",
    "y_max",
    "y_transform",
    "horizon",
)


class DistillLoss(NamedTuple):
    """``total = bars + policy_weight * policy + data_weight * data`` (scalars, nats)."""

    total: Tensor
    bars: Tensor
    policy: Tensor
    data: Tensor


def check_compatible(student: NAPTransformer, teachers: Sequence[NAPTransformer]) -> None:
    """Raise ``ValueError`` naming the first config field (:data:`SHARED_FIELDS`) on which
    a teacher and the student differ, or when there is no teacher."""
    if not teachers:
        raise ValueError("distillation needs at least one teacher network")
    for i, teacher in enumerate(teachers):
        for name in SHARED_FIELDS:
            mine, theirs = getattr(student.config, name), getattr(teacher.config, name)
            if mine != theirs:
                raise ValueError(
                    f"teacher {i} has {name}={theirs!r} but the student has {name}={mine!r}: "
                    f"a student must share {', '.join(SHARED_FIELDS)} with its teachers"
                )


@contextmanager
def frozen_head(net: NAPTransformer, freeze: bool):
    """Within the block, the acquisition head's parameters take no gradient (restored after)."""
    params = [*net.acq_mlp.parameters(), net.acq_ei_scale]
    before = [p.requires_grad for p in params]
    try:
        if freeze:
            for p in params:
                p.requires_grad_(False)
        yield
    finally:
        for p, flag in zip(params, before):
            p.requires_grad_(flag)


@torch.no_grad()
def teacher_targets(
    teachers: Sequence[NAPTransformer], hist_x: Tensor, y_ctx: Tensor, mask: Tensor, query: Tensor
) -> tuple[Tensor, Tensor]:
    """The teachers' mixture at ``b x m x d`` queries given a ``b x n`` history already on
    the bars' scale: bar log-probabilities ``b x m x B`` and acquisition scores ``b x m``."""
    log_probs, acq = [], []
    for t in teachers:
        out = t.score(t.encode_history(hist_x.to(t.dtype), y_ctx.to(t.dtype), mask=mask), query)
        log_probs.append(torch.log_softmax(out.bar_logits, -1))
        acq.append(out.acq)
    k = math.log(len(teachers))
    return torch.stack(log_probs).logsumexp(0) - k, torch.stack(acq).logsumexp(0) - k


def distill_loss(
    student: NAPTransformer,
    teachers: Sequence[NAPTransformer],
    X: Tensor,
    y: Tensor,
    n_context: Tensor,
    policy_weight: float = 1.0,
    chunk_size: int | None = None,
    data_weight: float = 0.0,
) -> DistillLoss:
    """Distillation loss of one batch, laid out as :func:`~botorch_nap.training.common.np_loss`'s.

    ``X``: ``b x N x d`` (unit cube), ``y``: ``b x N`` (raw), ``n_context``: ``b``; point
    ``j`` of task ``i`` is context when ``j < n_context[i]``. ``bars``: the mean over all
    ``b x N`` points of ``KL(teachers || student)`` between bar distributions; ``policy``:
    the mean over tasks of the KL between softmax policies over the task's targets;
    ``data``: the bar NLL of the targets' observed values (the NP loss), from the same
    forward pass, so that with ``data_weight > 0`` the teachers guide the student while the
    data can still take it past them.
    """
    split = context_split(X, y, n_context, student.config.y_transform)
    t_logp, t_acq = teacher_targets(teachers, split.hist_x, split.y_ctx, split.mask, X)
    enc = student.encode_history(split.hist_x, split.y_ctx, mask=split.mask)
    out = student.score(enc, X, chunk_size)
    s_logp = torch.log_softmax(out.bar_logits, -1)
    bars = (t_logp.exp() * (t_logp - s_logp)).sum(-1).mean()
    targets = ~split.is_context
    floor = torch.finfo(out.acq.dtype).min
    t_pol = torch.log_softmax(t_acq.to(out.acq.dtype).masked_fill(~targets, floor), -1)
    s_pol = torch.log_softmax(out.acq.masked_fill(~targets, floor), -1)
    policy = (t_pol.exp() * (t_pol - s_pol)).masked_fill(~targets, 0.0).sum(-1).mean()
    total = bars + policy_weight * policy
    data = bars.new_zeros(())
    if data_weight:
        data = target_mean(student.bar.nll(out.bar_logits, split.scale(y)), split.is_context)
        total = total + data_weight * data
    return DistillLoss(total, bars, policy, data)

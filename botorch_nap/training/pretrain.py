"""Neural-process pretraining: the auxiliary bar loss alone (paper section 3, "NP loss").

Each step draws ``batch_size`` tasks from the family's meta-train split with ``N`` random
points each (``N`` uniform in ``n_points``), splits every task at a random context size
(uniform on ``1 .. N-1``, so small contexts are as common as large ones), standardises y by
the context's own mean/std (the rule used at decision time), and minimises the bar NLL of the
held-out targets. Validation NLL on a fixed set of validation-split tasks drives early
stopping; the best weights are kept and written to ``out_dir``.

The result is the NP-EI baseline (``NeuralProcessModel``) and the warm start for PPO: the
acquisition head of an untrained net ranks exactly like NP-EI.

Example:
    >>> from botorch_nap.tasks import get_family
    >>> fam = get_family("gp_prior", dim=3)
    >>> net = NAPTransformer(NAPConfig(dim_x=3))
    >>> metrics = pretrain(net, fam, steps=2000, out_dir="runs/np_gp3")
"""

from __future__ import annotations

import copy
import math
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch
from tqdm.auto import tqdm

from botorch_nap.nn.transformer import NAPTransformer
from botorch_nap.training.checkpoint import (
    LAST_DIR,
    LOG_FILE,
    find_resume_dir,
    load_training_checkpoint,
    save_training_checkpoint,
)
from botorch_nap.training.common import (
    LOSS_WEIGHTINGS,
    TRAIN,
    VAL,
    CSVLog,
    np_loss,
    random_context_sizes,
    sample_tasks,
    search_like_order,
    split_has_tasks,
    warmup_linear_lambda,
)
from botorch_nap.training.distill import check_compatible, distill_loss, frozen_head
from botorch_nap.training.posterior import posterior_loss

LOG_COLUMNS = ["step", "elapsed_s", "lr", "train_nll", "val_nll", "best_val_nll"]


def _draw(
    family, b, n_points, gen, split, min_context, dtype, device, search_frac=0.0, with_prior=False
):
    """One batch: ``X`` b x N x d, ``y`` b x N (shuffled iid) and context sizes ``b``.

    ``search_frac``: the fraction of tasks whose points are then put in the order a search
    could have evaluated them in (:func:`~botorch_nap.training.common.search_like_order`),
    so that their contexts look like BO histories rather than iid draws. ``with_prior``: the
    tasks come from ``family.sample_batch_with_prior`` (the same draws as ``sample_batch``)
    and a fourth value is returned, the :class:`~botorch_nap.tasks.gp_prior.PriorBatch` of
    the shuffled points."""
    n = int(torch.randint(n_points[0], n_points[1] + 1, (1,), generator=gen))
    prior = None
    if with_prior:
        # Such families sample in the unit cube and maximise, as sample_tasks would return.
        prior = family.sample_batch_with_prior(b, n, gen, split=split)
        X, y = (t.to(dtype=dtype, device=device) for t in (prior.X, prior.y))
    else:
        X, y = sample_tasks(family, b, n, gen, split=split, dtype=dtype, device=device)
    # Shuffle so "the first n_context points" is a uniformly random context whatever order
    # the family returns its points in.
    perm = torch.rand(b, n, generator=gen).argsort(-1).to(X.device)
    X = X.gather(1, perm.unsqueeze(-1).expand_as(X))
    y = y.gather(1, perm)
    n_ctx = random_context_sizes(b, n, gen, min_context)
    if search_frac > 0:
        # The greedy order is ~100 tiny steps per batch: on a GPU it ran launch-bound (a
        # training step 2.5x slower), so it is built on the CPU and only the indices move.
        order = search_like_order(X.cpu(), y.cpu(), int(n_ctx.max()), gen).to(X.device)
        use = (torch.rand(b, generator=gen) < search_frac).to(X.device).unsqueeze(-1)
        order = torch.where(use, order, torch.arange(n, device=X.device).expand(b, n))
        X = X.gather(1, order.unsqueeze(-1).expand_as(X))
        y = y.gather(1, order)
    if prior is not None:
        return X, y, n_ctx, prior._replace(X=X, y=y)
    return X, y, n_ctx


@torch.no_grad()
def validation_nll(net: NAPTransformer, batches, chunk_size: int | None = None) -> float:
    """Mean target NLL over fixed ``(X, y, n_context)`` batches (eval mode)."""
    was_training = net.training
    net.eval()
    total, count = 0.0, 0
    for X, y, n_ctx in batches:
        n_t = float((X.shape[1] - n_ctx).sum())
        total += float(np_loss(net, X, y, n_ctx, chunk_size)) * n_t
        count += n_t
    net.train(was_training)
    return total / max(count, 1.0)


def pretrain(
    net: NAPTransformer,
    family,
    steps: int,
    batch_size: int = 32,
    n_points: tuple[int, int] = (16, 96),
    lr: float = 3e-4,
    seed: int = 0,
    val_every: int = 100,
    val_tasks: int = 128,
    patience: int | None = 10,
    warmup: int | None = None,
    weight_decay: float = 0.0,
    grad_clip: float = 1.0,
    min_context: int = 1,
    out_dir: str | Path | None = None,
    resume: bool = False,
    checkpoint_every: int | None = None,
    time_limit_s: float | None = None,
    stop_at: int | None = None,
    progress: bool = True,
    log_every: int = 10,
    chunk_size: int | None = None,
    meta: dict | None = None,
    loss_weighting: str = "target",
    search_frac: float = 0.0,
    teachers: Sequence[NAPTransformer] = (),
    policy_weight: float = 1.0,
    data_weight: float = 0.0,
    posterior_targets: bool = False,
) -> dict:
    """Train ``net``'s bar head (and trunk) on the NP loss; restore the best weights.

    Args:
        net: the network, trained in place (its device and dtype are used).
        family: a task family (``botorch_nap.tasks``); ``family.sample_batch`` supplies tasks.
        steps: number of optimiser steps (upper bound: early stopping may end sooner).
        batch_size: tasks per step.
        n_points: inclusive range of points per task; each step draws one ``N`` from it.
        lr: peak AdamW learning rate (linear warm-up, then linear decay to 10%).
        seed: seeds the task/context sampler; validation tasks use ``seed + 1``.
        val_every: steps between validations (also at the last step).
        val_tasks: number of fixed validation tasks (``N = n_points[1]``).
        patience: stop after this many validations without improvement (None: never).
        warmup: warm-up steps (default ``min(100, steps // 10)``).
        out_dir: if given, the best network goes to ``out_dir`` (config.json, weights.pt;
            meta has step/family/metrics), a resumable state to ``out_dir/last`` and the log to
            ``out_dir/log.csv``.
        resume: continue from ``out_dir/last`` (exactly: optimizer, scheduler and RNGs).
        checkpoint_every: steps between resumable checkpoints (default ``val_every``).
        time_limit_s: stop (after a final validation) once this much wall time is used.
        stop_at: stop (after a final validation and checkpoint) at this step, with the
            learning-rate schedule of ``steps``: the reproducible way to cut a long run, e.g.
            to rebuild a shipped checkpoint taken from a run that went on.
        progress: show a tqdm bar.
        log_every: steps between CSV rows.
        chunk_size: query chunk size for ``net.score`` (None: all at once).
        meta: extra entries for the checkpoint's meta.
        loss_weighting: the training loss's average over targets, ``"target"`` or ``"task"``
            (:func:`~botorch_nap.training.common.np_loss`). Validation always averages over
            all targets, so validation NLLs stay comparable between the two.
        search_frac: the fraction of training tasks whose context is built the way a
            search builds its history (around its incumbent) instead of drawn iid
            (:func:`~botorch_nap.training.common.search_like_order`); 0 (default) keeps the
            iid contexts and the exact random stream of earlier runs. Validation contexts
            stay iid, so validation NLLs stay comparable.
        teachers: trained networks to distil into ``net`` (:mod:`~botorch_nap.training.distill`):
            the training loss becomes the KL to their predictions (logged as ``train_nll``)
            instead of the NLL of the observed values; validation and model selection stay
            the NLL of real held-out values. ``net`` must share their inputs, bars and
            horizon. Empty (default): plain NP pretraining.
        policy_weight: with ``teachers``, the weight of the policy term of the loss.
        data_weight: with ``teachers``, the weight of the NLL of the observed values (the
            plain NP loss) added to the distillation loss; 0 (default): distillation alone.
        posterior_targets: train on each target's exact predictive distribution under the
            prior that generated its task instead of its sampled value
            (:mod:`~botorch_nap.training.posterior`): the same optimum, less gradient noise.
            Needs a family with ``sample_batch_with_prior`` (``gp_prior``); not with
            ``teachers``. The logged ``train_nll`` is then that cross-entropy, which equals
            the NP loss in expectation.

    Returns:
        ``{"best_val_nll", "best_step", "final_train_nll", "steps", "stopped_early",
        "elapsed_s", "steps_per_s", "val_curve": [(step, val_nll), ...]}``. ``net`` holds the
        best weights on return.
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if loss_weighting not in LOSS_WEIGHTINGS:
        raise ValueError(f"loss_weighting must be one of {LOSS_WEIGHTINGS}, got {loss_weighting!r}")
    if not 0.0 <= search_frac <= 1.0:
        raise ValueError(f"search_frac must be in [0, 1], got {search_frac}")
    if n_points[0] < 2 or n_points[1] < n_points[0]:
        raise ValueError(f"n_points must be (lo, hi) with 2 <= lo <= hi, got {n_points}")
    teachers = list(teachers)
    if posterior_targets:
        if not hasattr(family, "sample_batch_with_prior"):
            raise ValueError(
                f"posterior_targets needs a family that knows the prior of its tasks "
                f"(sample_batch_with_prior, e.g. gp_prior); {type(family).__name__} does not"
            )
        if teachers:
            raise ValueError("posterior_targets and teachers are two different losses: pick one")
    if data_weight < 0 or (data_weight and not teachers):
        raise ValueError(
            f"data_weight must be >= 0 and needs teachers, got {data_weight} with "
            f"{len(teachers)} teacher(s)"
        )
    if teachers:
        check_compatible(net, teachers)
        teachers = [t.eval() for t in teachers]
    # NP teachers rank by EI alone: keep the student's head untrained too (module docstring).
    freeze_head = bool(teachers) and not any(t.has_trained_head() for t in teachers)
    p0 = next(net.parameters())
    device, dtype = p0.device, p0.dtype
    warmup = min(100, steps // 10) if warmup is None else warmup
    checkpoint_every = checkpoint_every or val_every
    out_dir = Path(out_dir) if out_dir is not None else None
    family_name = getattr(family, "name", type(family).__name__)

    val_split = VAL if split_has_tasks(family, VAL) else TRAIN
    if val_split != VAL:
        warnings.warn(
            f"family {family_name!r} has no validation split: validating on fresh train-split "
            "tasks (early stopping then cannot detect overfitting to the training tasks)",
            stacklevel=2,
        )
    gen_val = torch.Generator().manual_seed(seed + 1)
    val_batches = []
    for start in range(0, val_tasks, batch_size):
        b = min(batch_size, val_tasks - start)
        val_batches.append(
            _draw(family, b, (n_points[1],) * 2, gen_val, val_split, min_context, dtype, device)
        )

    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_linear_lambda(warmup, steps, 0.1))
    run_meta = {
        "kind": "distill" if teachers else "pretrain",
        "family": family_name,
        "hparams": {
            "steps": steps,
            "batch_size": batch_size,
            "n_points": list(n_points),
            "lr": lr,
            "seed": seed,
            "min_context": min_context,
            "weight_decay": weight_decay,
            "loss_weighting": loss_weighting,
            "val_every": val_every,
            "patience": patience,
            **({"search_frac": search_frac} if search_frac else {}),
            **({"teachers": len(teachers), "policy_weight": policy_weight} if teachers else {}),
            **({"data_weight": data_weight} if teachers and data_weight else {}),
            **({"posterior_targets": True} if posterior_targets else {}),
        },
        **(meta or {}),
    }

    step, best_val, best_step, bad, val_curve, recent = 0, math.inf, 0, 0, [], []
    best_state = None
    log = None
    if out_dir is not None:
        if resume:
            step, _, extra = load_training_checkpoint(
                find_resume_dir(out_dir), net, opt, sched, {"sampler": gen}
            )
            best_val = float(extra.get("best_val", math.inf))
            best_step, bad = int(extra.get("best_step", 0)), int(extra.get("bad", 0))
            val_curve = [tuple(v) for v in extra.get("val_curve", [])]
            recent = [float(v) for v in extra.get("recent", [])]
            if (out_dir / "weights.pt").is_file():
                best_state = NAPTransformer.load(out_dir).state_dict()
        log = CSVLog(out_dir / LOG_FILE, LOG_COLUMNS)
        # A fresh run starts a fresh log (an old run's rows would be drawn as this one's).
        log.truncate_after(step if resume else -1)

    with frozen_head(net, freeze_head):
        net.train()
        t0 = time.perf_counter()
        start_step = step
        stopped_early = False
        bar = tqdm(total=steps, initial=step, disable=not progress, desc="pretrain", leave=False)
        while step < steps and not (stop_at is not None and step >= stop_at):
            X, y, n_ctx, *prior = _draw(
                family,
                batch_size,
                n_points,
                gen,
                TRAIN,
                min_context,
                dtype,
                device,
                search_frac,
                posterior_targets,
            )
            if posterior_targets:
                loss = posterior_loss(net, prior[0], n_ctx, chunk_size, loss_weighting)
            elif teachers:
                loss = distill_loss(
                    net, teachers, X, y, n_ctx, policy_weight, chunk_size, data_weight
                ).total
            else:
                loss = np_loss(net, X, y, n_ctx, chunk_size, loss_weighting)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if grad_clip:
                torch.nn.utils.clip_grad_norm_(net.parameters(), grad_clip)
            opt.step()
            sched.step()
            step += 1
            recent.append(loss.item())
            bar.update(1)

            elapsed = time.perf_counter() - t0
            out_of_time = (time_limit_s is not None and elapsed >= time_limit_s) or (
                stop_at is not None and step >= stop_at
            )
            row = None
            if step % log_every == 0 or step % val_every == 0 or step == steps or out_of_time:
                row = {
                    "step": step,
                    "elapsed_s": elapsed,
                    "lr": sched.get_last_lr()[0],
                    "train_nll": sum(recent[-log_every:]) / len(recent[-log_every:]),
                }
            if step % val_every == 0 or step == steps or out_of_time:
                v = validation_nll(net, val_batches, chunk_size)
                val_curve.append((step, v))
                if v < best_val:
                    best_val, best_step, bad = v, step, 0
                    best_state = copy.deepcopy(net.state_dict())
                    if out_dir is not None:
                        net.save(out_dir, meta={**run_meta, "step": step, "val_nll": v})
                else:
                    bad += 1
                row.update(val_nll=v, best_val_nll=best_val)
                bar.set_postfix(
                    train=f"{row['train_nll']:.3f}", val=f"{v:.3f}", best=f"{best_val:.3f}"
                )
                if patience is not None and bad >= patience:
                    stopped_early = True
            if row is not None and log is not None:
                log.write(row)
            if out_dir is not None and (
                step % checkpoint_every == 0 or step == steps or stopped_early or out_of_time
            ):
                save_training_checkpoint(
                    out_dir / LAST_DIR,
                    net,
                    opt,
                    sched,
                    step,
                    {**run_meta, "val_nll": val_curve[-1][1] if val_curve else None},
                    generators={"sampler": gen},
                    extra={
                        "best_val": best_val,
                        "best_step": best_step,
                        "bad": bad,
                        "val_curve": [list(v) for v in val_curve],
                        "recent": recent[-log_every:],
                    },
                )
            if stopped_early or out_of_time:
                break
        bar.close()

    elapsed = time.perf_counter() - t0
    if best_state is not None:
        net.load_state_dict(best_state)
    return {
        "best_val_nll": best_val,
        "best_step": best_step,
        "final_train_nll": sum(recent[-log_every:]) / max(1, len(recent[-log_every:])),
        "steps": step,
        "stopped_early": stopped_early,
        "elapsed_s": elapsed,
        "steps_per_s": (step - start_step) / max(elapsed, 1e-9),
        "val_curve": val_curve,
    }

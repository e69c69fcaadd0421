"""PPO for NAP, in the style of CleanRL: one file, hyper-parameters in one dataclass.

Per iteration:

1. **Rollout.** ``episodes_per_iter`` BO episodes (:class:`~botorch_nap.training.env.BOEnv`)
   of ``horizon`` steps. The policy is a softmax over the acquisition values of the
   not-yet-evaluated candidates (temperature; optionally only the top-k), sampled with the
   Gumbel-max trick from our own generator (so a resumed run draws the same actions).
2. **Advantages.** GAE(gamma, lambda) on the per-step rewards; the episode ends at the
   horizon (terminal: ``t/T`` is part of the state, so the cut is Markov).
3. **Update.** ``update_epochs`` passes over the ``b * T`` states in shuffled minibatches.
   Each state is rebuilt from the stored evaluation order (no history copies). Loss =
   clipped policy loss - ``ent_coef`` entropy + ``vf_coef`` (clipped) value loss +
   ``aux_coef`` NP loss. The NP loss is the bar NLL of the *unevaluated candidates* of the
   same states, standardised by the history's statistics: it keeps the bar head calibrated on
   exactly the histories the policy produces, at no extra forward cost. With ``top_k`` and
   ``aux_targets`` set, the update scores only the policy's top-k support and a uniform draw
   of NP-loss targets per state (exact policy terms, an unbiased NP loss; several times
   fewer candidate passes with gradients: ``benchmarks/bench_training.py``). With
   ``trainable="policy"`` and ``cache_frozen``, the trunk and bar head are frozen, so what
   the trainable heads read (candidate features, bar logits, pooled history) is a constant
   of the rollout: it is kept for the policy's support and the update runs the heads alone.
4. **Every** ``val_every`` **iterations** greedy (arg-max) episodes on a fixed set of
   validation-split candidate sets; the network with the lowest mean normalised regret over
   steps 1..T is kept (``out_dir/config.json`` + ``weights.pt``); a resumable checkpoint goes
   to ``out_dir/last`` every ``checkpoint_every`` iterations (exact resume on CPU).

The paper's settings (gamma = lambda = 0.98, clip 0.15, lr 3e-5, aux weight 1, T = 24, 1440
transitions per iteration, top-5 sampling, greedy at test) assume a GPU; the defaults here
are sized for 2 CPU cores. Data parallel: launched by ``torchrun``, each process rolls out
its own episodes and gradients are averaged by DDP (gloo on CPU, nccl on GPU).
"""

from __future__ import annotations

import copy
import math
import os
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import NamedTuple

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn
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
    TRAIN,
    VAL,
    CSVLog,
    split_has_tasks,
    warmup_linear_lambda,
)
from botorch_nap.training.env import (
    BOEnv,
    EnvConfig,
    encode,
    greedy_rollout,
    history_batch,
    nap_score_fn,
    npei_score_fn,
)

REFERENCE_DIR = "reference"
#: "policy": the acquisition MLP, its EI scale and the critic only; the trunk and the bar head
#: stay the NP's, so EI from NAP's own bar head is NP-EI and any gain is the policy's.
TRAINABLE = ("all", "last_block", "heads", "policy")


@dataclass
class PPOConfig:
    """Every PPO hyper-parameter, with defaults that learn on 2 CPU cores."""

    # run
    iterations: int = 200
    seed: int = 0
    # episodes (see EnvConfig)
    episodes_per_iter: int = 16
    horizon: int = 24
    # > horizon: each iteration draws its episodes' horizon uniformly in [horizon,
    # horizon_max], so the t/T feature (n / (n_init + horizon)) is trained over the budgets
    # users pass; validation keeps ``horizon``. 0: always ``horizon``.
    horizon_max: int = 0
    n_init: int = 5
    n_candidates: int = 256
    reward: str = "log_regret"
    regret_floor: float = 1e-3
    early_weight: float = 0.0
    # policy
    temperature: float = 1.0
    top_k: int = 0  # sample among the k best candidates only (0: all); the paper uses 5
    # PPO
    gamma: float = 0.98
    gae_lambda: float = 0.98
    clip_coef: float = 0.15
    clip_vloss: bool = True
    vf_coef: float = 0.5
    ent_coef: float = 0.0
    aux_coef: float = 1.0
    # > 0 (with top_k > 0): the update scores with gradients only each state's top-k allowed
    # candidates (the whole support of the policy, so log-probs, ratios and entropies stay
    # exact) plus this many unevaluated candidates drawn uniformly for the NP loss (an
    # unbiased estimate of its per-state mean, with more variance). 0: every candidate.
    aux_targets: int = 0
    norm_adv: bool = True
    update_epochs: int = 2
    minibatch_size: int = 64  # states (episode, step) per gradient step
    target_kl: float | None = None  # stop the epoch loop early when exceeded
    # optimiser: Adam, linear warm-up then linear decay to final_lr_frac
    lr: float = 1e-4  # heads (acquisition, value, bar)
    trunk_lr_mult: float = 0.2  # trunk lr = lr * trunk_lr_mult (keeps the NP intact)
    trainable: str = "all"  # "all" | "last_block" | "heads" | "policy" (see TRAINABLE)
    warmup_iters: int = 5
    final_lr_frac: float = 0.1
    max_grad_norm: float = 0.5
    value_detach: bool = True  # value loss does not train the trunk (value starts random)
    # With trainable="policy": the update reads the heads' inputs kept from the rollout (the
    # frozen trunk makes them constants) instead of re-running the network. The same losses
    # up to float rounding (the rollout's attention is the fused kernel); off by default so
    # that the shipped recipes rebuild bit for bit.
    cache_frozen: bool = False
    chunk_size: int | None = None
    # validation and checkpoints
    val_every: int = 10
    val_episodes: int = 64
    checkpoint_every: int = 10

    def __post_init__(self) -> None:
        if self.trainable not in TRAINABLE:
            raise ValueError(f"trainable must be one of {TRAINABLE}, got {self.trainable!r}")
        if self.cache_frozen and self.trainable != "policy":
            raise ValueError(
                f"cache_frozen needs trainable='policy' (got {self.trainable!r}): only a "
                "frozen trunk and bar head make the heads' inputs constants of the rollout"
            )
        if self.aux_targets < 0:
            raise ValueError(f"aux_targets must be >= 0, got {self.aux_targets}")
        if self.aux_targets and not self.top_k:
            raise ValueError(
                "aux_targets > 0 needs top_k > 0: without top-k the policy spans every "
                "candidate, so the update must score them all anyway"
            )
        if self.horizon_max and self.horizon_max < self.horizon:
            raise ValueError(
                f"horizon_max ({self.horizon_max}) must be 0 or >= horizon ({self.horizon})"
            )
        self.env_config()  # validates the episode fields
        if self.horizon_max:
            EnvConfig(**{**self.env_config().__dict__, "horizon": self.horizon_max})

    def env_config(self) -> EnvConfig:
        return EnvConfig(
            horizon=self.horizon,
            n_init=self.n_init,
            n_candidates=self.n_candidates,
            reward=self.reward,
            regret_floor=self.regret_floor,
            early_weight=self.early_weight,
        )

    @classmethod
    def from_dict(cls, d: dict) -> PPOConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


# ---------------------------------------------------------------------------- math
def compute_gae(rewards: Tensor, values: Tensor, gamma: float, lam: float) -> tuple[Tensor, Tensor]:
    """GAE over ``b x T`` rewards and values of episodes that terminate after step ``T``.

    Returns ``(advantages, returns)``, both ``b x T``; ``returns = advantages + values``.
    """
    T = rewards.shape[1]
    adv = torch.zeros_like(rewards)
    last = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(T)):
        next_value = values[:, t + 1] if t + 1 < T else torch.zeros_like(last)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        last = delta + gamma * lam * last
        adv[:, t] = last
    return adv, adv + values


def normalize_advantages(adv: Tensor) -> Tensor:
    """A minibatch's advantages (``m``) centred and scaled to unit std (as they are, for
    ``m = 1``)."""
    if adv.numel() <= 1:
        return adv
    return (adv - adv.mean()) / (adv.std() + 1e-8)


def clipped_policy_loss(ratio: Tensor, adv: Tensor, clip_coef: float) -> Tensor:
    """PPO's clipped surrogate, to minimise: ``mean(max(-A r, -A clip(r, 1 - c, 1 + c)))``
    (``ratio`` r = new / old probability of the taken actions, ``adv`` A, both ``m``). A ratio
    already past the clip in the advantage's direction gets no gradient."""
    return torch.max(-adv * ratio, -adv * ratio.clamp(1 - clip_coef, 1 + clip_coef)).mean()


def value_loss(
    new_v: Tensor, old_v: Tensor, returns: Tensor, clip_coef: float, clip: bool
) -> Tensor:
    """Half the mean squared error of the critic's values (``m``) against the returns; with
    ``clip``, the larger of that and the error of ``old_v`` moved at most ``clip_coef``
    towards ``new_v`` (CleanRL's clipped value loss)."""
    if not clip:
        return 0.5 * ((new_v - returns) ** 2).mean()
    v_clipped = old_v + (new_v - old_v).clamp(-clip_coef, clip_coef)
    return 0.5 * torch.max((new_v - returns) ** 2, (v_clipped - returns) ** 2).mean()


def ppo_loss(pg_loss: Tensor, v_loss: Tensor, entropy: Tensor, aux: Tensor, cfg: PPOConfig):
    """The minibatch loss: policy surrogate, minus the entropy bonus, plus the weighted value
    and auxiliary NP losses."""
    return pg_loss - cfg.ent_coef * entropy + cfg.vf_coef * v_loss + cfg.aux_coef * aux


def policy_logits(acq: Tensor, evaluated: Tensor, temperature: float, allowed: Tensor | None):
    """``b x N`` logits of the candidate softmax; evaluated (and not allowed) ones get a
    large negative *finite* value, so entropies and log-probs stay NaN-free."""
    blocked = evaluated if allowed is None else evaluated | ~allowed
    neg = torch.finfo(acq.dtype).min / 4
    return (acq / temperature).masked_fill(blocked, neg)


def top_k_mask(logits: Tensor, evaluated: Tensor, k: int) -> Tensor | None:
    """``b x N`` mask of the ``k`` best unevaluated candidates (None when ``k`` is 0)."""
    if not k:
        return None
    masked = logits.masked_fill(evaluated, -math.inf)
    idx = masked.topk(min(k, logits.shape[1]), dim=-1).indices
    return torch.zeros_like(evaluated).scatter_(1, idx, True) & ~evaluated


def support_index(allowed: Tensor, k: int) -> Tensor:
    """``b x k`` indices of the policy's support: the allowed candidates first (stable sort),
    padded with blocked ones when fewer than ``k`` remain."""
    return allowed.to(torch.int8).argsort(dim=-1, descending=True, stable=True)[:, :k]


def sample_gumbel(logits: Tensor, generator: torch.Generator) -> Tensor:
    """Sample one index per row from ``softmax(logits)`` with the Gumbel-max trick."""
    u = torch.rand(logits.shape, generator=generator, dtype=torch.float64)
    g = -torch.log(-torch.log(u.clamp(1e-20, 1.0 - 1e-12)))
    return (logits.double() + g.to(logits.device)).argmax(-1)


def _bar_nll(net: NAPTransformer, bar_logits: Tensor, y: Tensor, h) -> Tensor:
    """Bar NLL ``s x k`` of raw values ``y`` ``s x k``, put on the history ``h``'s scale
    (the NP loss's per-candidate terms)."""
    y_t = h.scale(y).to(bar_logits.dtype)
    return net.bar.nll(bar_logits, y_t)


class FrozenFeatures(NamedTuple):
    """The inputs of the trainable heads for ``s`` states when the trunk and bar head are
    frozen (``trainable="policy"``): ``z`` ``s x k x d_model`` and ``bar_logits`` ``s x k x
    B`` of ``k`` candidates per state, ``incumbent`` and ``t_frac`` ``s``, ``value_feats``
    ``s x (d_model + 2)`` (:meth:`~botorch_nap.nn.transformer.NAPTransformer.value_features`).
    """

    z: Tensor
    bar_logits: Tensor
    incumbent: Tensor
    t_frac: Tensor
    value_feats: Tensor

    def gather(self, idx: Tensor) -> FrozenFeatures:
        """The candidates ``idx`` (``s x k'``) of each state."""
        z, lg = self.z, self.bar_logits
        return self._replace(
            z=z.gather(1, idx.unsqueeze(-1).expand(-1, -1, z.shape[-1])),
            bar_logits=lg.gather(1, idx.unsqueeze(-1).expand(-1, -1, lg.shape[-1])),
        )


class PolicyHeads(nn.Module):
    """The trainable heads of a ``trainable="policy"`` run on :class:`FrozenFeatures`:
    ``forward(f, evaluated, allowed)`` (``s x k`` masks; ``allowed`` may be None) returns the
    masked logits ``s x k`` and the value ``s``. A module of its own so that DDP can wrap it."""

    def __init__(self, net: NAPTransformer, cfg: PPOConfig) -> None:
        super().__init__()
        self.net, self.cfg = net, cfg

    def forward(
        self, f: FrozenFeatures, evaluated: Tensor, allowed: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        acq = self.net.acquisition(f.z, f.bar_logits, f.incumbent, f.t_frac)
        logits = policy_logits(acq, evaluated, self.cfg.temperature, allowed)
        return logits, self.net.value_head(f.value_feats).squeeze(-1)


class PolicyForward(nn.Module):
    """Everything PPO needs from one batch of states, as one ``forward`` (so DDP can wrap it).

    Inputs: ``X`` ``s x N x d``, ``y`` ``s x N`` (raw, float64), ``order`` ``s x L``,
    ``n_hist`` ``s``, ``allowed`` ``s x N`` or None. Returns logits ``s x N`` (masked), value
    ``s`` and the per-state NP loss ``s`` (mean bar NLL of the unevaluated candidates).

    Subsampled form (``policy_idx`` ``s x k`` and ``aux_keys`` ``s x N`` given): only the
    candidates ``policy_idx`` (the policy's support) and, per state, the ``aux_targets``
    unevaluated candidates with the smallest ``aux_keys`` (uniform keys: a uniform draw
    without replacement) are scored. The logits are then ``s x k``, in ``policy_idx``'s order
    (entries outside ``allowed`` masked), and the NP loss is the mean over the drawn targets.
    """

    def __init__(self, net: NAPTransformer, cfg: PPOConfig) -> None:
        super().__init__()
        self.net, self.cfg = net, cfg

    def forward(
        self,
        X: Tensor,
        y: Tensor,
        order: Tensor,
        n_hist: Tensor,
        allowed: Tensor | None = None,
        policy_idx: Tensor | None = None,
        aux_keys: Tensor | None = None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        net = self.net
        h = history_batch(X, y, order, n_hist, net.config.y_transform)
        enc = encode(net, h)
        evaluated, y_c = h.evaluated, y
        n_policy = None
        if policy_idx is not None:
            s, N, d = X.shape
            # Unevaluated candidates first, in key order; the drawn targets are the first m.
            keys = aux_keys.masked_fill(evaluated, math.inf)
            aux_idx = keys.topk(min(self.cfg.aux_targets, N), dim=-1, largest=False).indices
            idx = torch.cat([policy_idx, aux_idx], dim=1)
            n_policy = policy_idx.shape[1]
            X = X.gather(1, idx.unsqueeze(-1).expand(-1, -1, d))
            y_c, evaluated = y.gather(1, idx), evaluated.gather(1, idx)
            if allowed is not None:
                allowed = allowed.gather(1, idx)
        out = net.score(enc, X, self.cfg.chunk_size)
        logits = policy_logits(out.acq, evaluated, self.cfg.temperature, allowed)
        venc = enc._replace(tokens=enc.tokens.detach()) if self.cfg.value_detach else enc
        value = net.value(venc)
        nll = _bar_nll(net, out.bar_logits, y_c, h)
        w = (~evaluated).to(nll.dtype)
        if n_policy is not None:
            logits, nll, w = logits[:, :n_policy], nll[:, n_policy:], w[:, n_policy:]
        aux = (nll * w).sum(-1) / w.sum(-1).clamp_min(1.0)
        return logits, value, aux

    def frozen_features(
        self, X: Tensor, y: Tensor, order: Tensor, n_hist: Tensor
    ) -> tuple[FrozenFeatures, Tensor, Tensor]:
        """:class:`FrozenFeatures` of every candidate (``k = N``), ``evaluated`` ``s x N`` and
        the per-state NP loss ``s``, for a rollout of a ``trainable="policy"`` run."""
        net = self.net
        h = history_batch(X, y, order, n_hist, net.config.y_transform)
        enc = encode(net, h)
        z, bar_logits = net.query_features(enc, X, self.cfg.chunk_size)
        f = FrozenFeatures(z, bar_logits, enc.incumbent, enc.t_frac, net.value_features(enc))
        w = (~h.evaluated).to(bar_logits.dtype)
        aux = (_bar_nll(net, bar_logits, y, h) * w).sum(-1) / w.sum(-1).clamp_min(1.0)
        return f, h.evaluated, aux


# ---------------------------------------------------------------------------- helpers
def _dist_info() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def set_trainable(net: NAPTransformer, trainable: str) -> None:
    """Freeze the parts of the network PPO must not change."""
    for p in net.parameters():
        p.requires_grad_(trainable == "all")
    if trainable == "all":
        return
    heads = [net.acq_mlp, net.value_head]
    if trainable != "policy":
        heads.append(net.bar_head)
    if trainable == "last_block":
        heads += [net.blocks[-1], net.ln_f]
    for m in heads:
        for p in m.parameters():
            p.requires_grad_(True)
    net.acq_ei_scale.requires_grad_(True)


def make_optimizer(net: NAPTransformer, cfg: PPOConfig) -> torch.optim.Adam:
    """Adam with two groups: heads at ``lr``, the trunk at ``lr * trunk_lr_mult``."""
    head_ids = {
        id(p) for m in (net.acq_mlp, net.value_head, net.bar_head) for p in m.parameters()
    } | {id(net.acq_ei_scale)}
    heads = [p for p in net.parameters() if p.requires_grad and id(p) in head_ids]
    trunk = [p for p in net.parameters() if p.requires_grad and id(p) not in head_ids]
    groups = [{"params": heads, "lr": cfg.lr}]
    if trunk:
        groups.append({"params": trunk, "lr": cfg.lr * cfg.trunk_lr_mult})
    return torch.optim.Adam(groups, lr=cfg.lr, eps=1e-5)


@torch.no_grad()
def validation_episodes(family, cfg: PPOConfig, n: int, seed: int, device, dtype):
    """A fixed set of ``n`` validation candidate sets with initial points (``X, y, init``)."""
    split = VAL if split_has_tasks(family, VAL) else TRAIN
    env = BOEnv(
        family,
        EnvConfig(**{**cfg.env_config().__dict__, "reward": "regret"}),
        split,
        torch.Generator().manual_seed(seed),
        device=device,
        dtype=dtype,
    )
    env.reset(n)
    return env.X, env.y, env.order[:, : env.n_init].clone()


@torch.no_grad()
def evaluate_greedy(score_fn, family, cfg: PPOConfig, episodes, batch: int = 32) -> Tensor:
    """Greedy episodes on fixed ``(X, y, init)``: normalised regret after each step,
    ``n x T`` (regret vs the best candidate of each set)."""
    X, y, init = episodes
    env = BOEnv(family, EnvConfig(**{**cfg.env_config().__dict__, "reward": "regret"}))
    out = []
    for s in range(0, X.shape[0], batch):
        env.reset_with(X[s : s + batch], y[s : s + batch], init[s : s + batch])
        out.append(greedy_rollout(env, score_fn))
    return torch.cat(out)


# ---------------------------------------------------------------------------- training
def train(
    net: NAPTransformer,
    family,
    cfg: PPOConfig,
    out_dir: str | Path | None = None,
    resume: bool = False,
    reference: NAPTransformer | None = None,
    progress: bool = True,
    time_limit_s: float | None = None,
    meta: dict | None = None,
) -> dict:
    """Meta-train ``net`` with PPO + the auxiliary NP loss on ``family`` (in place).

    Args:
        net: the network, usually NP-pretrained (:func:`~botorch_nap.training.pretrain.pretrain`);
            its device and dtype are used.
        family: a task family.
        cfg: the hyper-parameters.
        out_dir: run directory (best network, ``last/`` resumable checkpoint, ``log.csv``).
        resume: continue exactly from ``out_dir/last``.
        reference: frozen NP-EI network of the ``vs_npei`` rewards (default: a frozen copy of
            ``net`` as given, i.e. the warm start; saved to ``out_dir/reference``).
        progress: tqdm bar (rank 0 only).
        time_limit_s: stop after the iteration that crosses this wall time (checkpointed).
        meta: extra checkpoint meta (e.g. the family's CLI spec).

    Returns:
        ``{"iterations", "best_val_regret", "best_iteration", "val_curve", "elapsed_s",
        "iters_per_s", "env_steps_per_s", "rollout_env_steps_per_s", "updates_per_s",
        "rollout_s", "update_s"}`` (``val_curve``: ``(iteration, mean regret over steps,
        final regret)``; an update is one minibatch gradient step); ``net`` holds the *last*
        weights (the best are in ``out_dir``).
    """
    rank, world = _dist_info()
    p0 = next(net.parameters())
    device, dtype = p0.device, p0.dtype
    out_dir = Path(out_dir) if out_dir is not None else None
    family_name = getattr(family, "name", type(family).__name__)
    env_cfg = cfg.env_config()
    T, B = cfg.horizon, cfg.episodes_per_iter

    if world > 1:
        # Every process starts from rank 0's weights (before the reference copy below).
        with torch.no_grad():
            for v in net.state_dict().values():
                dist.broadcast(v, src=0)
    # The paired baseline (vs_npei rewards) is the warm start, frozen, and saved for resume.
    ref_fn = None
    if cfg.reward.startswith("vs_npei"):
        ref_dir = out_dir / REFERENCE_DIR if out_dir is not None else None
        if resume and ref_dir is not None and (ref_dir / "weights.pt").is_file():
            reference = NAPTransformer.load(ref_dir).to(device=device, dtype=dtype)
        elif reference is None:
            reference = copy.deepcopy(net)
        reference.eval().requires_grad_(False)
        if ref_dir is not None and rank == 0 and not resume:
            reference.save(ref_dir, meta={"kind": "ppo_reference", "family": family_name})
        ref_fn = npei_score_fn(reference, cfg.chunk_size)

    set_trainable(net, cfg.trainable)
    opt = make_optimizer(net, cfg)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, warmup_linear_lambda(cfg.warmup_iters, cfg.iterations, cfg.final_lr_frac)
    )
    # Each process draws its own episodes; rank 0 of a 1-process run equals a plain run.
    gen = torch.Generator().manual_seed(cfg.seed + 1_000_003 * rank)
    env = BOEnv(family, env_cfg, TRAIN, gen, ref_fn, device, dtype)
    policy = PolicyForward(net, cfg)
    heads = PolicyHeads(net, cfg) if cfg.cache_frozen else None
    trained = heads if cfg.cache_frozen else policy  # what the update calls
    ddp = (
        nn.parallel.DistributedDataParallel(
            trained, device_ids=[device] if device.type == "cuda" else None
        )
        if world > 1
        else trained
    )
    run_meta = {
        "kind": "ppo",
        "family": family_name,
        "ppo": asdict(cfg),
        "world_size": world,
        **(meta or {}),
    }

    it, best_val, best_iter, val_curve = 0, math.inf, -1, []
    log = None
    if out_dir is not None:
        if resume:
            it, _, extra = load_training_checkpoint(
                _rank_resume_dir(out_dir, rank), net, opt, sched, {"env": gen}
            )
            best_val = float(extra.get("best_val", math.inf))
            best_iter = int(extra.get("best_iter", -1))
            val_curve = [tuple(v) for v in extra.get("val_curve", [])]
        if rank == 0:
            log = CSVLog(out_dir / LOG_FILE, LOG_COLUMNS)
            # A fresh run starts a fresh log (an old run's rows would be drawn as this one's).
            log.truncate_after(it if resume else -1)
    val_eps = None
    if rank == 0 and cfg.val_every:
        val_eps = validation_episodes(family, cfg, cfg.val_episodes, cfg.seed + 1, device, dtype)

    def validate() -> Tensor:
        net.eval()
        r = evaluate_greedy(nap_score_fn(net, cfg.chunk_size), family, cfg, val_eps)
        net.train()
        return r

    # Iteration 0 (the warm start) is validated too: it is the number RL has to beat.
    if rank == 0 and val_eps is not None and it == 0 and not val_curve:
        r = validate()
        v = float(r.mean())
        val_curve.append((0, v, float(r[:, -1].mean())))
        best_val, best_iter = v, 0
        if out_dir is not None:
            net.save(out_dir, meta={**run_meta, "step": 0, "val_regret": v})
        if log is not None:
            log.write(
                {
                    "iteration": 0,
                    "val_regret": v,
                    "val_final_regret": val_curve[-1][2],
                    "best_val_regret": v,
                }
            )

    net.train()
    t0 = time.perf_counter()
    start_it, env_steps = it, 0
    rollout_s, update_s, n_updates = 0.0, 0.0, 0
    bar = tqdm(
        total=cfg.iterations, initial=it, disable=not progress or rank > 0, desc="ppo", leave=False
    )
    while it < cfg.iterations:
        # ---------------------------------------------------------------- 1. rollout
        t_start = time.perf_counter()
        if cfg.horizon_max:
            # Drawn from the run's generator, so a resumed run draws the same horizons.
            T = int(torch.randint(cfg.horizon, cfg.horizon_max + 1, (1,), generator=gen))
            env.cfg.horizon = T
        with torch.no_grad():
            env.reset(B)
            n_state = env.n_init
            actions = torch.zeros(B, T, dtype=torch.long, device=device)
            logprobs = torch.zeros(B, T, dtype=torch.float64, device=device)
            values = torch.zeros(B, T, dtype=torch.float64, device=device)
            rewards = torch.zeros(B, T, dtype=torch.float64, device=device)
            allowed = (
                torch.zeros(B, T, env.X.shape[1], dtype=torch.bool, device=device)
                if cfg.top_k
                else None
            )
            kept: list[tuple] = []  # cache_frozen: per step, the support's head inputs
            for t in range(T):
                n_hist = env.n_hist
                if cfg.cache_frozen:
                    feats, evaluated, aux_t = policy.frozen_features(
                        env.X, env.y, env.order, n_hist
                    )
                    logits, value = heads(feats, evaluated)
                else:
                    logits, value, _ = policy(env.X, env.y, env.order, n_hist)
                if cfg.top_k:
                    allowed[:, t] = top_k_mask(logits, env.evaluated, cfg.top_k)
                    logits = logits.masked_fill(~allowed[:, t], torch.finfo(logits.dtype).min / 4)
                if cfg.cache_frozen:
                    sup = (
                        support_index(allowed[:, t], cfg.top_k)
                        if cfg.top_k
                        else torch.arange(logits.shape[1], device=device).expand_as(logits)
                    )
                    kept.append((feats.gather(sup), sup, evaluated.gather(1, sup), aux_t))
                a = sample_gumbel(logits, gen).to(device)
                actions[:, t] = a
                logprobs[:, t] = F.log_softmax(logits.double(), -1).gather(1, a[:, None])[:, 0]
                values[:, t] = value.double()
                rewards[:, t] = env.step(a)
            env_steps += B * T
            final_regret = env.normalized_regret()
            adv, returns = compute_gae(rewards, values, cfg.gamma, cfg.gae_lambda)
            if cfg.cache_frozen:
                # Stacked to b x T x ...: state (e, t) is entry [e, t], as in the update.
                kept_f = FrozenFeatures(
                    *(torch.stack([k[0][i] for k in kept], 1) for i in range(5))
                )
                kept_sup, kept_eval, kept_aux = (
                    torch.stack([k[i] for k in kept], 1) for i in (1, 2, 3)
                )
                kept_allowed = allowed.gather(2, kept_sup) if cfg.top_k else None
                del kept

        # ---------------------------------------------------------------- 2. update
        t_mid = time.perf_counter()
        rollout_s += t_mid - t_start
        # Flatten the b * T states; state (e, t) is (X[e], y[e], order[e], n_init + t).
        n_states = B * T
        stats = {
            "pg_loss": 0.0,
            "v_loss": 0.0,
            "entropy": 0.0,
            "aux_nll": 0.0,
            "approx_kl": 0.0,
            "clipfrac": 0.0,
        }
        n_mb = 0
        stop = False
        for _epoch in range(cfg.update_epochs):
            perm = torch.randperm(n_states, generator=gen).to(device)
            for s in range(0, n_states, cfg.minibatch_size):
                mb = perm[s : s + cfg.minibatch_size]
                e, t = mb // T, mb % T
                mb_allowed = allowed[e, t] if allowed is not None else None
                mb_actions = actions[e, t]
                if cfg.cache_frozen:
                    if cfg.aux_targets:
                        # The draw the full update makes, so that both modes roll out the
                        # same episodes (the frozen NP loss needs no targets).
                        torch.rand(mb_allowed.shape, generator=gen)
                    logits, new_v = ddp(
                        FrozenFeatures(*(v[e, t] for v in kept_f)),
                        kept_eval[e, t],
                        kept_allowed[e, t] if kept_allowed is not None else None,
                    )
                    aux = kept_aux[e, t]
                    mb_actions = (kept_sup[e, t] == mb_actions[:, None]).to(torch.int8).argmax(-1)
                elif cfg.aux_targets:
                    # The policy's support: the allowed candidates (first, by the stable
                    # sort), padded with blocked ones when fewer than top_k remain.
                    policy_idx = support_index(mb_allowed, cfg.top_k)
                    aux_keys = torch.rand(mb_allowed.shape, generator=gen).to(device)
                    logits, new_v, aux = ddp(
                        env.X[e],
                        env.y[e],
                        env.order[e],
                        n_state + t,
                        mb_allowed,
                        policy_idx,
                        aux_keys,
                    )
                    mb_actions = (policy_idx == mb_actions[:, None]).to(torch.int8).argmax(-1)
                else:
                    logits, new_v, aux = ddp(
                        env.X[e], env.y[e], env.order[e], n_state + t, mb_allowed
                    )
                logp_all = F.log_softmax(logits, -1)
                new_logp = logp_all.gather(1, mb_actions[:, None])[:, 0].double()
                entropy = -(logp_all.exp() * logp_all).sum(-1)
                log_ratio = new_logp - logprobs[e, t]
                ratio = log_ratio.exp()
                with torch.no_grad():
                    approx_kl = ((ratio - 1) - log_ratio).mean()
                    clipfrac = ((ratio - 1.0).abs() > cfg.clip_coef).double().mean()
                mb_adv = adv[e, t]
                if cfg.norm_adv:
                    mb_adv = normalize_advantages(mb_adv)
                pg_loss = clipped_policy_loss(ratio, mb_adv, cfg.clip_coef)
                v_loss = value_loss(
                    new_v.double(), values[e, t], returns[e, t], cfg.clip_coef, cfg.clip_vloss
                )
                ent = entropy.mean()
                aux_loss = aux.mean()
                loss = ppo_loss(pg_loss, v_loss, ent, aux_loss, cfg).to(dtype)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(
                    [p for p in net.parameters() if p.requires_grad], cfg.max_grad_norm
                )
                opt.step()
                for k, v in (
                    ("pg_loss", pg_loss),
                    ("v_loss", v_loss),
                    ("entropy", ent),
                    ("aux_nll", aux_loss),
                    ("approx_kl", approx_kl),
                    ("clipfrac", clipfrac),
                ):
                    stats[k] += float(v.detach())
                n_mb += 1
                if cfg.target_kl is not None and float(approx_kl) > cfg.target_kl:
                    stop = True
                    break
            if stop:
                break
        sched.step()
        it += 1
        bar.update(1)
        update_s += time.perf_counter() - t_mid
        n_updates += n_mb

        # ---------------------------------------------------------------- 3. log, validate
        elapsed = time.perf_counter() - t0
        out_of_time = time_limit_s is not None and elapsed >= time_limit_s
        if world > 1:
            # Every process must stop at the same iteration (else collectives deadlock).
            flag = torch.tensor([float(out_of_time)], device=device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            out_of_time = bool(flag.item())
        if rank == 0:
            row = {
                "iteration": it,
                "elapsed_s": elapsed,
                "lr": sched.get_last_lr()[0],
                "return": float(rewards.sum(1).mean()),
                "final_regret": float(final_regret.mean()),
                **{k: v / max(n_mb, 1) for k, v in stats.items()},
            }
            last_it = it == cfg.iterations or out_of_time
            if val_eps is not None and (it % cfg.val_every == 0 or last_it):
                r = validate()
                v = float(r.mean())
                val_curve.append((it, v, float(r[:, -1].mean())))
                if v < best_val:
                    best_val, best_iter = v, it
                    if out_dir is not None:
                        net.save(out_dir, meta={**run_meta, "step": it, "val_regret": v})
                row.update(
                    val_regret=v, val_final_regret=val_curve[-1][2], best_val_regret=best_val
                )
            bar.set_postfix(
                ret=f"{row['return']:.2f}",
                regret=f"{row['final_regret']:.3f}",
                aux=f"{row['aux_nll']:.3f}",
                val=f"{best_val:.4f}",
            )
            if log is not None:
                log.write(row)
        if out_dir is not None and (
            it % cfg.checkpoint_every == 0 or it == cfg.iterations or out_of_time
        ):
            _save_rank_checkpoint(
                out_dir,
                rank,
                net,
                opt,
                sched,
                it,
                run_meta,
                gen,
                {
                    "best_val": best_val,
                    "best_iter": best_iter,
                    "val_curve": [list(v) for v in val_curve],
                },
            )
        if out_of_time:
            break
    bar.close()
    elapsed = time.perf_counter() - t0
    return {
        "iterations": it,
        "best_val_regret": best_val,
        "best_iteration": best_iter,
        "val_curve": val_curve,
        "elapsed_s": elapsed,
        "iters_per_s": (it - start_it) / max(elapsed, 1e-9),
        "env_steps_per_s": env_steps / max(elapsed, 1e-9),
        "rollout_env_steps_per_s": env_steps / max(rollout_s, 1e-9),
        "updates_per_s": n_updates / max(update_s, 1e-9),
        "rollout_s": rollout_s,
        "update_s": update_s,
    }


LOG_COLUMNS = [
    "iteration",
    "elapsed_s",
    "lr",
    "return",
    "final_regret",
    "pg_loss",
    "v_loss",
    "entropy",
    "aux_nll",
    "approx_kl",
    "clipfrac",
    "val_regret",
    "val_final_regret",
    "best_val_regret",
]


def _rank_dir(out_dir: Path, rank: int) -> Path:
    return out_dir / LAST_DIR if rank == 0 else out_dir / LAST_DIR / f"rank{rank}"


def _rank_resume_dir(out_dir: Path, rank: int) -> Path:
    return find_resume_dir(out_dir) if rank == 0 else _rank_dir(out_dir, rank)


def _save_rank_checkpoint(out_dir, rank, net, opt, sched, it, meta, gen, extra) -> None:
    """Rank 0 writes ``last/``; other ranks write ``last/rank{r}`` (their own RNG streams;
    network and optimizer are identical on every rank under DDP)."""
    save_training_checkpoint(
        _rank_dir(out_dir, rank), net, opt, sched, it, meta, {"env": gen}, extra
    )
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def ddp_setup(device: str = "cpu") -> tuple[int, int, torch.device]:
    """Initialise ``torch.distributed`` from ``torchrun``'s environment (no-op otherwise).

    Returns ``(rank, world_size, device)``; ``device`` is ``cuda:LOCAL_RANK`` for CUDA.
    """
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        dev = torch.device(device)
        return 0, 1, dev
    backend = "nccl" if device.startswith("cuda") else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    local = int(os.environ.get("LOCAL_RANK", 0))
    dev = torch.device(f"cuda:{local}") if device.startswith("cuda") else torch.device(device)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    return dist.get_rank(), dist.get_world_size(), dev

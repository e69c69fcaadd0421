"""``botorch-nap fit``: from a family (e.g. an own-data folder) to a validated model, in one call.

The stages, each resumable (rerun the same command to continue):

1. **Profile** the family: tasks per split, points per task, dims, pools or a box.
2. **Plan** (:func:`plan_fit`): network size, learning rate, schedule, augmentation and the
   time split between NP pretraining, PPO and the verdict, from the rules below. Every rule
   that fires is written down with its reason, in ``fit.json`` and the model card.
3. **NP pretraining** with early stopping on validation NLL (``out/np``). The number of
   steps is set from a short calibration of this machine's speed, so that the learning-rate
   schedule ends with the time budget.
4. **PPO** (``out/ppo``), kept *only if* its greedy validation regret beats the warm start
   (PPO's own iteration-0 validation); otherwise the model is the NP, whose zero-initialised
   acquisition head makes NAP rank exactly like NP-EI.
5. **Verdict**: the model against GP-EI (with a categorical kernel when every parameter is
   categorical) and random on the validation split (same initial
   points; paired Wilcoxon test on the regret AUC; a regret plot), printed plainly and
   written to ``out/MODEL_CARD.md`` with the family's description and the command.

The final checkpoint is ``out/config.json`` + ``out/weights.pt``, usable as
``NAPAcquisition.from_checkpoint(out, ...)`` or ``nap:<out>`` in the benchmark.

Rules (the starting values; issue 17's note records the families they were checked on):

* **Network**: the size of most shipped NPs (d_model 64, 3 layers, 139k parameters) below 60
  minutes; the default NAPConfig (d_model 128, 4 layers, 648k) from 60 minutes with >= 50
  training tasks. Small networks trained in 10-30 CPU-minutes stayed under-trained at the old
  default lr.
* **Learning rate** 1e-3 (NP): 3e-4 left the NP's validation NLL still falling when the time
  ran out (issue 17); 1e-3 trained every shipped network without instability.
* **Augmentation** (GP-posterior task augmentation) below 15 training tasks: with so few
  tasks the NP over-fits (the 20-task hpobench_xgb NP reached train NLL 0.25, validation 0.46).
* **Time split**: NP 55%, PPO 25%, verdict 20% of the budget. The verdict's seeds are sized
  to its share from the measured cost of GP-EI decisions (3 to 10 seeds).
* **Episodes**: 5 initial points and up to 25 steps, bounded by the smallest pool.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from botorch_nap.nn.transformer import WEIGHTS_FILE, NAPConfig, NAPTransformer

FIT_FILE = "fit.json"
CARD_FILE = "MODEL_CARD.md"
CLOCK_FILE = "fit_clock.json"
GP_LABELS = {"gp-ei": "GP-EI", "gp-ei-mixed": "GP-EI (categorical kernel)"}
NP_DIR, PPO_DIR, VERDICT_DIR = "np", "ppo", "verdict"
SPLIT_SHARES = {"np": 0.55, "ppo": 0.25, "verdict": 0.20}
SMALL_NET = dict(d_model=64, n_layers=3, n_heads=4, d_ff=128, n_buckets=128)
MEDIUM_NET = dict(d_model=128, n_layers=4, n_heads=4, d_ff=256, n_buckets=128)
#: Seconds per GP-EI pool decision assumed before anything is measured (this machine: 0.15-0.3).
GP_DECISION_S = 0.3
FEW_TASKS = 15
SIGNIFICANCE = 0.05


@dataclass
class FamilyProfile:
    """What ``fit`` needs to know about a family."""

    name: str
    dim: int
    n_train: int
    n_val: int
    n_test: int
    pool: bool
    min_points: int | None  # smallest pool (train and val tasks); None for a continuous box
    median_points: int | None
    categorical: int = 0  # number of categorical dims

    @property
    def gp_reference(self) -> str:
        """The GP baseline of the verdict: with every dim categorical, an ordinal kernel
        would be meaningless, so GP-EI there uses BoTorch's categorical kernel."""
        return "gp-ei-mixed" if self.categorical == self.dim else "gp-ei"

    def describe(self) -> str:
        kind = (
            f"pools of {self.median_points} evaluated points (median; smallest {self.min_points})"
            if self.pool
            else "a continuous box"
        )
        cats = f" ({self.categorical} categorical)" if self.categorical else ""
        return (
            f"{self.name}: {self.dim} dims{cats}, {kind}; tasks: {self.n_train} train, "
            f"{self.n_val} validation, {self.n_test} test"
        )


def profile_family(family) -> FamilyProfile:
    ids = {s: list(family.split_ids(s)) for s in ("train", "val", "test")}
    sizes = []
    for s in ("train", "val"):
        for i in ids[s]:
            task = family.task(i)
            if hasattr(task, "__len__"):
                sizes.append(len(task))
    pool = bool(sizes)
    return FamilyProfile(
        name=str(getattr(family, "name", type(family).__name__)),
        dim=family.space.dim,
        n_train=len(ids["train"]),
        n_val=len(ids["val"]),
        n_test=len(ids["test"]),
        pool=pool,
        min_points=min(sizes) if pool else None,
        median_points=int(np.median(sizes)) if pool else None,
        categorical=len(family.space.categorical_dims),
    )


@dataclass
class FitPlan:
    """Everything ``fit`` decided, and why (``reasons``)."""

    minutes: float
    network: dict
    lr: float
    augment: bool
    n_points: tuple[int, int]
    n_init: int
    steps: int
    n_candidates: int
    seconds: dict  # stage -> seconds of the budget
    verdict_seeds: int
    reasons: list[str] = field(default_factory=list)


def plan_fit(profile: FamilyProfile, minutes: float) -> FitPlan:
    """The rules of the module docstring, applied to ``profile`` and a budget in minutes."""
    if profile.n_train < 1 or profile.n_val < 1:
        raise ValueError(
            f"{profile.name} needs at least one training and one validation task, has "
            f"{profile.n_train} and {profile.n_val} (set a 'split' in space.json)"
        )
    if minutes <= 0:
        raise ValueError(f"minutes must be positive, got {minutes}")
    reasons = []
    if minutes >= 60 and profile.n_train >= 50:
        network = dict(MEDIUM_NET)
        reasons.append("network d_model 128, 4 layers: >= 60 minutes and >= 50 training tasks")
    else:
        network = dict(SMALL_NET)
        reasons.append(
            "network d_model 64, 3 layers (the size of most shipped NPs): "
            + ("under 60 minutes" if minutes < 60 else "fewer than 50 training tasks")
        )
    reasons.append("NP learning rate 1e-3: 3e-4 left short runs under-trained (issue 17)")
    augment = profile.n_train < FEW_TASKS
    if augment:
        reasons.append(
            f"GP-posterior task augmentation: {profile.n_train} training tasks "
            f"(< {FEW_TASKS}) over-fit the NP"
        )
    if profile.categorical:
        reasons.append(
            f"{profile.categorical} categorical dim(s) enter the network one-hot"
            + (
                "; the verdict's GP-EI uses a categorical kernel (MixedSingleTaskGP)"
                if profile.gp_reference == "gp-ei-mixed"
                else ""
            )
        )
    n_init = 5
    if profile.pool:
        if profile.min_points < n_init + 2:
            raise ValueError(
                f"every task needs at least {n_init + 2} evaluated points; the smallest has "
                f"{profile.min_points}"
            )
        hi = min(96, profile.min_points)
        steps = max(1, min(25, profile.min_points - n_init - 1))
        n_candidates = min(256, profile.min_points)
    else:
        hi, steps, n_candidates = 96, 25, 256
    n_points = (max(2, min(16, hi // 2)), hi)
    if steps < 25:
        reasons.append(
            f"episodes of {n_init} + {steps} steps: the smallest pool has "
            f"{profile.min_points} points"
        )
    budget = minutes * 60.0
    seconds = {k: v * budget for k, v in SPLIT_SHARES.items()}
    per_seed = profile.n_val * steps * (GP_DECISION_S + 0.05)
    seeds = int(np.clip(seconds["verdict"] // max(per_seed, 1e-9), 3, 10))
    reasons.append(
        f"time split NP {SPLIT_SHARES['np']:.0%} / PPO {SPLIT_SHARES['ppo']:.0%} / verdict "
        f"{SPLIT_SHARES['verdict']:.0%}; verdict on {profile.n_val} validation tasks x {seeds} "
        "seeds"
    )
    return FitPlan(
        minutes=minutes,
        network=network,
        lr=1e-3,
        augment=augment,
        n_points=n_points,
        n_init=n_init,
        steps=steps,
        n_candidates=n_candidates,
        seconds=seconds,
        verdict_seeds=seeds,
        reasons=reasons,
    )


# ---------------------------------------------------------------------------- progress
class BudgetBar:
    """A tqdm bar over the time budget (seconds), refreshed once a second by a thread, with
    the current stage as its description: elapsed and remaining time at a glance."""

    def __init__(
        self,
        total_s: float,
        elapsed_s: float = 0.0,
        enabled: bool = True,
        clock_file: Path | None = None,
    ) -> None:
        self.t0 = time.perf_counter() - elapsed_s
        self.total = total_s
        # The spent time is written here every few seconds: a fit killed without a chance
        # to save its state (a session ending) resumes with its budget already spent.
        self.clock_file = clock_file
        self.bar = tqdm(
            total=round(total_s),
            disable=not enabled,
            unit="s",
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} s "
            "[{elapsed} in this call, budget left {remaining}]",
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, daemon=True)
        self._thread.start()

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def stage(self, name: str) -> None:
        self.bar.set_description_str(name)

    def _tick(self) -> None:
        ticks = 0
        while not self._stop.wait(1.0):
            self.bar.n = min(round(self.elapsed()), self.bar.total)
            self.bar.refresh()
            ticks += 1
            if self.clock_file is not None and ticks % 5 == 0:
                self.write_clock()

    def write_clock(self) -> None:
        if self.clock_file is not None:
            tmp = self.clock_file.with_suffix(".tmp")
            tmp.write_text(json.dumps({"elapsed_s": self.elapsed()}))
            tmp.replace(self.clock_file)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.bar.close()


# ---------------------------------------------------------------------------- state
def _load_state(out: Path) -> dict:
    f = out / FIT_FILE
    return json.loads(f.read_text()) if f.is_file() else {}


def _save_state(out: Path, state: dict) -> None:
    tmp = out / (FIT_FILE + ".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(out / FIT_FILE)


def _calibrate_np_rate(net: NAPTransformer, family, plan: FitPlan, seed: int) -> float:
    """Pretraining steps per second on this machine, from a few steps of a throwaway copy."""
    import copy

    from botorch_nap.training.pretrain import pretrain

    probe = copy.deepcopy(net)
    m = pretrain(
        probe,
        family,
        steps=6,
        n_points=plan.n_points,
        lr=plan.lr,
        seed=seed + 1000,
        val_every=10**9,
        val_tasks=4,
        warmup=0,
        progress=False,
    )
    return float(m["steps_per_s"])


# ---------------------------------------------------------------------------- fit
def fit(
    family_spec: dict,
    minutes: float,
    out: str | Path,
    seed: int = 0,
    progress: bool = True,
    command: str | None = None,
    log=print,
) -> dict:
    """Train and validate a model for a family within ``minutes`` of wall time.

    Args:
        family_spec: ``{"name", "kw", "data_dir"}`` as ``botorch-nap pretrain`` records it
            (``name`` a registered family or an own-data folder).
        minutes: the whole budget (training and verdict).
        out: output folder; rerunning with the same folder resumes.
        seed: seeds training and the verdict's benchmark.
        progress: show the budget bar.
        command: the command line to record in the model card.
        log: where progress lines go.

    Returns:
        the ``fit.json`` document: profile, plan, stage results and the verdict.
    """
    from botorch_nap.tasks import get_family

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    state = _load_state(out)
    if state and (state.get("family_spec") != family_spec or state.get("minutes") != minutes):
        raise ValueError(
            f"{out} holds a fit of {state.get('family_spec')} with {state.get('minutes')} "
            f"minutes; use another --out, or the same family and minutes to resume"
        )
    family = get_family(
        family_spec["name"], data_dir=family_spec.get("data_dir"), **family_spec.get("kw", {})
    )
    profile = profile_family(family)
    plan = plan_fit(profile, minutes)
    if not state:
        state = {
            "family_spec": family_spec,
            "minutes": minutes,
            "seed": seed,
            "command": command,
            "profile": asdict(profile),
            "plan": asdict(plan),
            "elapsed_s": 0.0,
            "stages": {},
        }
        _save_state(out, state)
    log(f"family {profile.describe()}")
    for r in plan.reasons:
        log(f"  rule: {r}")
    clock = out / CLOCK_FILE
    spent = state["elapsed_s"]
    if clock.is_file():
        spent = max(spent, float(json.loads(clock.read_text())["elapsed_s"]))
    bar = BudgetBar(minutes * 60.0, spent, enabled=progress, clock_file=clock)
    try:
        train_family = (
            get_family(
                family_spec["name"],
                data_dir=family_spec.get("data_dir"),
                augment=True,
                **family_spec.get("kw", {}),
            )
            if plan.augment
            else family
        )
        _stage_np(out, state, plan, profile, train_family, family_spec, seed, bar, log)
        _stage_ppo(out, state, plan, train_family, family_spec, seed, bar, log)
        _stage_verdict(out, state, plan, family_spec, seed, bar, log)
    finally:
        bar.close()
        state["elapsed_s"] = bar.elapsed()
        _save_state(out, state)
        bar.write_clock()
    write_model_card(out, state)
    log(state["verdict"]["text"])
    log(f"model: {out} (card: {out / CARD_FILE})")
    return state


def _remaining(state: dict, bar: BudgetBar, stage: str) -> float:
    """Seconds until this stage's deadline (the budget shares up to it, cumulated), so an
    overrun of one stage shortens the next; never below 10% of the stage's share."""
    shares = state["plan"]["seconds"]
    order = list(SPLIT_SHARES)
    deadline = sum(shares[s] for s in order[: order.index(stage) + 1])
    return max(deadline - bar.elapsed(), 0.1 * shares[stage])


def _stage_np(out, state, plan, profile, family, family_spec, seed, bar, log) -> None:
    from botorch_nap.training.checkpoint import LAST_DIR
    from botorch_nap.training.pretrain import pretrain

    st = state["stages"].setdefault("np", {})
    if st.get("done"):
        return
    bar.stage("NP pretraining")
    run = out / NP_DIR
    resume = (run / LAST_DIR / WEIGHTS_FILE).is_file()
    torch.manual_seed(seed)
    if resume:
        net = NAPTransformer.load(run / LAST_DIR).train()
    else:
        net = NAPTransformer(
            NAPConfig(
                dim_x=profile.dim,
                min_dim=getattr(family, "min_dim", None),
                categories=family.space.category_counts(),
                horizon=plan.n_init + plan.steps,
                **plan.network,
            )
        ).train()
    if hasattr(family, "prepare"):
        # Augmentation fits one GP per training task once (cached on disk). Done before the
        # speed calibration: timed inside it, minutes of fitting (e.g. 20 categorical dims)
        # read as a near-zero step rate, and the NP was planned for 20 steps.
        t0 = time.perf_counter()
        family.prepare()
        log(f"augmentation: one GP per training task fitted in {time.perf_counter() - t0:.0f} s")
    seconds = _remaining(state, bar, "np")
    if "steps" not in st:
        rate = _calibrate_np_rate(net, family, plan, seed)
        # 90%: validation and checkpoints take the rest.
        st["steps"] = max(20, int(0.9 * rate * seconds))
        st["rate_steps_per_s"] = rate
        _save_state(out, state)
    steps = st["steps"]
    val_every = max(10, steps // 25)
    log(
        f"NP pretraining: {steps} steps planned ({st['rate_steps_per_s']:.1f} steps/s), "
        f"{seconds / 60:.1f} min"
    )
    m = pretrain(
        net,
        family,
        steps=steps,
        n_points=plan.n_points,
        lr=plan.lr,
        seed=seed,
        val_every=val_every,
        patience=8,
        out_dir=run,
        resume=resume,
        time_limit_s=seconds,
        progress=False,
        meta={"family_spec": family_spec, "kind": "np", "fit": True},
    )
    st.update(
        done=True,
        best_val_nll=m["best_val_nll"],
        best_step=m["best_step"],
        steps_run=m["steps"],
        stopped_early=m["stopped_early"],
    )
    log(f"NP: best validation NLL {m['best_val_nll']:.4f} at step {m['best_step']}")
    _save_state(out, state)


def _stage_ppo(out, state, plan, family, family_spec, seed, bar, log) -> None:
    from botorch_nap.training.checkpoint import LAST_DIR
    from botorch_nap.training.ppo import PPOConfig, train

    st = state["stages"].setdefault("ppo", {})
    if st.get("done"):
        return
    bar.stage("PPO")
    run = out / PPO_DIR
    resume = (run / LAST_DIR / WEIGHTS_FILE).is_file()
    seconds = _remaining(state, bar, "ppo")
    cfg = PPOConfig(
        iterations=10_000,  # the time limit ends the run
        seed=seed,
        horizon=plan.steps,
        n_init=plan.n_init,
        n_candidates=plan.n_candidates,
        episodes_per_iter=8,
        val_every=3,
        val_episodes=min(64, 8 * max(1, state["profile"]["n_val"])),
        checkpoint_every=3,
    )
    if resume:
        net = NAPTransformer.load(run / LAST_DIR).train()
    else:
        net = NAPTransformer.load(out / NP_DIR).train()
    log(f"PPO: {seconds / 60:.1f} min")
    m = train(
        net,
        family,
        cfg,
        out_dir=run,
        resume=resume,
        progress=False,
        time_limit_s=seconds,
        meta={"family_spec": family_spec, "fit": True},
    )
    warm = m["val_curve"][0][1] if m["val_curve"] else math.inf
    kept = m["best_iteration"] > 0 and m["best_val_regret"] < warm
    st.update(
        done=True,
        iterations=m["iterations"],
        warm_start_val_regret=warm,
        best_val_regret=m["best_val_regret"],
        best_iteration=m["best_iteration"],
        kept=kept,
    )
    src = run if kept else out / NP_DIR
    NAPTransformer.load(src).save(
        out,
        meta={
            "family_spec": family_spec,
            "kind": "nap",
            "fit": True,
            "source": "ppo" if kept else "np (PPO did not beat the warm start on validation)",
        },
    )
    log(
        f"PPO: validation regret {m['best_val_regret']:.4f} vs warm start {warm:.4f} -> "
        + ("kept" if kept else "not kept: the model is the NP (NAP then ranks like NP-EI)")
    )
    _save_state(out, state)


def _stage_verdict(out, state, plan, family_spec, seed, bar, log) -> None:
    from botorch_nap.benchmark.metrics import summarize
    from botorch_nap.benchmark.report import plot_regret
    from botorch_nap.benchmark.runner import BenchmarkConfig, run_benchmark

    st = state["stages"].setdefault("verdict", {})
    if st.get("done"):
        return
    bar.stage("verdict (validation benchmark)")
    vdir = out / VERDICT_DIR
    vdir.mkdir(exist_ok=True)
    nap = f"nap:{out.resolve()}"
    gp = FamilyProfile(**state["profile"]).gp_reference
    cfg = BenchmarkConfig(
        family=family_spec["name"],
        family_kwargs=family_spec.get("kw", {}),
        data_dir=family_spec.get("data_dir"),
        methods=[nap, gp, "random"],
        split="val",
        seeds=list(range(plan.verdict_seeds)),
        n_init=plan.n_init,
        steps=plan.steps,
        workers=1,
    )
    log(
        f"verdict: {state['profile']['n_val']} validation tasks x {plan.verdict_seeds} seeds, "
        f"{plan.n_init} + {plan.steps} steps, against {GP_LABELS[gp]} and random"
    )
    results = run_benchmark(cfg, vdir / "results.json", progress=False)
    summary = summarize(results, reference=gp, also_vs="random")
    plot = plot_regret(summary, vdir / "regret.png")
    st.update(done=True, **verdict(summary, nap, gp), plot=str(plot.relative_to(out)))
    state["verdict"] = st
    _save_state(out, state)


def verdict(summary: dict, nap: str, reference: str = "gp-ei") -> dict:
    """The plain-words verdict of a validation summary against ``reference`` (a GP-EI)."""
    auc = {m: summary["table"][m]["auc"]["mean"] for m in summary["methods"]}
    vs_gp = summary["tests"][nap]["auc"]
    vs_rand = summary["tests_also"]["tests"][nap]["auc"]
    gp, model = auc[reference], auc[nap]
    label = GP_LABELS[reference]
    n = f"{summary['n_tasks']} validation tasks x {summary['n_seeds']} seeds"
    beats_gp = model < gp and vs_gp["p"] < SIGNIFICANCE
    if beats_gp:
        text = (
            f"USE IT: beats {label} on your validation tasks: regret AUC {model:.4f} vs "
            f"{label} {gp:.4f} ({(gp - model) / max(gp, 1e-12):.0%} lower, paired "
            f"p = {vs_gp['p']:.3g}, {n})."
        )
    else:
        how = "is worse than" if model > gp else "is not significantly better than"
        text = (
            f"DO NOT USE IT YET: does not beat {label} on your validation tasks: regret AUC "
            f"{model:.4f} {how} {label}'s {gp:.4f} (paired p = {vs_gp['p']:.3g}, {n}). Use "
            f"{label}, or give it more tasks / time."
        )
    text += f" Against random search: AUC {auc['random']:.4f} (p = {vs_rand['p']:.3g})."
    return {
        "use_it": beats_gp,
        "text": text,
        "auc": auc,
        "p_vs_gp_ei": vs_gp["p"],
        "p_vs_random": vs_rand["p"],
        "n_tasks": summary["n_tasks"],
        "n_seeds": summary["n_seeds"],
    }


# ---------------------------------------------------------------------------- card
def write_model_card(out: Path, state: dict) -> Path:
    p, plan, st = state["profile"], state["plan"], state["stages"]
    v = state.get("verdict", {})
    np_st, ppo_st = st.get("np", {}), st.get("ppo", {})
    lines = [
        f"# Model card: `{out.name}` (botorch-nap fit)",
        "",
        f"**Verdict.** {v.get('text', 'not reached')}",
        "",
        f"![validation regret]({v['plot']})" if v.get("plot") else "",
        "",
        "## Family",
        "",
        f"{FamilyProfile(**p).describe()}.",
        "",
        "## What fit decided",
        "",
        *[f"* {r}" for r in plan["reasons"]],
        "",
        "## Training",
        "",
        f"* Network: {plan['network']}.",
        f"* NP: {np_st.get('steps_run', '?')} steps of {np_st.get('steps', '?')} planned, best "
        f"validation NLL {np_st.get('best_val_nll', float('nan')):.4f} at step "
        f"{np_st.get('best_step', '?')}.",
        f"* PPO: {ppo_st.get('iterations', '?')} iterations; validation regret "
        f"{ppo_st.get('best_val_regret', float('nan')):.4f} vs warm start "
        f"{ppo_st.get('warm_start_val_regret', float('nan')):.4f}: "
        + ("kept." if ppo_st.get("kept") else "not kept, the model is the NP (NAP = NP-EI)."),
        f"* Wall time: {state.get('elapsed_s', 0) / 60:.1f} of {state['minutes']:g} minutes.",
        "",
        "## Use",
        "",
        "```python",
        "from botorch_nap import NAPAcquisition",
        f'acqf = NAPAcquisition.from_checkpoint("{out.name}", train_X, train_Y, bounds, '
        f"budget={plan['n_init'] + plan['steps']})",
        "```",
        "",
        "## Rebuild",
        "",
        "```",
        state.get("command") or "(command not recorded)",
        "```",
        "",
        "The verdict uses the validation split, which also chose the checkpoints: judge the "
        "final model on the test split (`botorch-nap benchmark --split test ...`).",
        "",
    ]
    path = out / CARD_FILE
    path.write_text("\n".join(line for line in lines if line is not None))
    return path


__all__ = [
    "FamilyProfile",
    "FitPlan",
    "fit",
    "plan_fit",
    "profile_family",
    "verdict",
]

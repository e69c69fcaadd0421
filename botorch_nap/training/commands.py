"""CLI subcommands ``fit``, ``pretrain``, ``train`` and ``plot-training`` (wired in by ``cli.py``).

Usage from the main CLI::

    sub = parser.add_subparsers(dest="command")
    commands.register(sub)
    args = parser.parse_args()
    sys.exit(args.func(args))

Examples::

    botorch-nap pretrain --family gp_prior --family-kw dim=3 --out runs/np_gp3 --steps 3000
    botorch-nap train --family gp_prior --family-kw dim=3 --init-from runs/np_gp3 \\
        --out runs/nap_gp3 --iterations 200
    botorch-nap train --out runs/nap_gp3 --resume          # continues exactly
    torchrun --nproc_per_node 2 -m botorch_nap.cli train ...   # data parallel (gloo / nccl)
    botorch-nap plot-training runs/nap_gp3
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import MISSING, fields
from pathlib import Path

import torch

from botorch_nap.nn.transformer import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    NAPConfig,
    NAPTransformer,
    check_categories,
)
from botorch_nap.training.checkpoint import LAST_DIR

NET_FIELDS = ("d_model", "n_layers", "n_heads", "d_ff", "n_buckets", "horizon")


def _flag(text: str) -> bool:
    """``1/0``, ``true/false``, ``yes/no`` (any case) -> bool, for on/off options (network
    options and PPO's); anything else is refused, not read as False."""
    value = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
    try:
        return value[text.strip().lower()]
    except KeyError:
        raise argparse.ArgumentTypeError(
            f"expected 1/0, true/false or yes/no, got {text!r}"
        ) from None


#: Network options off by default, ``{field: (type, help)}`` (read with their defaults where
#: a caller leaves them out).
NET_OPTIONS = {
    "x_fourier": (int, "random Fourier features of x at the embedding's entry (0: none)"),
    "x_fourier_max": (float, "largest scale of the --x-fourier features (cycles per unit)"),
    "y_transform": (str, "history values onto the bars' scale: standardize or yeo-johnson"),
    "distance_bias": (
        _flag,
        "1: attention scores get -w |x_i - x_j|^2, w learnt per layer and head (with "
        "--init-from: added to the loaded network at w = 0, which keeps its outputs)",
    ),
    "ard_bias": (
        _flag,
        "1 (needs --distance-bias 1): the distance bias scales each input dim by a factor "
        "read off the history's local slopes (an ARD kernel's lengthscales; with "
        "--init-from: added at scale 1, which keeps the loaded network's outputs)",
    ),
    "ard_context": (
        _flag,
        "1 (needs --ard-bias 1): the ARD scales also read the history's size and its number "
        "of active dims (with --init-from: added at zero weight, which keeps the outputs)",
    ),
    "history_layers": (
        int,
        "blocks that only the history passes through, before the shared ones (their cost "
        "does not grow with the number of candidates; 0: none)",
    ),
}


def _parse_kv(items: list[str] | None) -> dict:
    """``--family-kw`` items -> family options (:func:`~botorch_nap.tasks.registry.
    parse_family_kwargs`); a malformed item ends the command with its message."""
    from botorch_nap.tasks.registry import parse_family_kwargs

    try:
        return parse_family_kwargs(items)
    except ValueError as e:
        raise SystemExit(str(e)) from None


def _add_family_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--family",
        help="registered family name (see `botorch-nap tasks`) or the path of a folder in "
        "the own-data format",
    )
    p.add_argument(
        "--family-kw",
        nargs="*",
        action="extend",
        metavar="KEY=VALUE",
        help="family options, e.g. dim=3 kernel=matern52 (or one per --family-kw)",
    )
    p.add_argument("--data-dir", help="data root for file-backed families")
    p.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="GP-posterior task augmentation (default: on when the family has fewer than 15 "
        "training tasks, as `fit` decides)",
    )


def _add_net_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("network (ignored with --init-from / --resume)")
    for name in NET_FIELDS:
        default = NAPConfig.__dataclass_fields__[name].default
        flag = "--net-horizon" if name == "horizon" else f"--{name.replace('_', '-')}"
        help_ = "budget for the t/T feature's default" if name == "horizon" else None
        g.add_argument(flag, dest=f"net_{name}", type=int, default=default, help=help_)
    for name, (type_, help_) in NET_OPTIONS.items():
        default = NAPConfig.__dataclass_fields__[name].default
        flag = f"--{name.replace('_', '-')}"
        g.add_argument(flag, dest=f"net_{name}", type=type_, default=default, help=help_)


def _family_from_args(args, meta: dict | None = None):
    """Build the family from CLI args, or from a run's saved spec (``--resume``)."""
    from botorch_nap.tasks import get_family

    spec = {
        "name": args.family,
        "kw": _parse_kv(args.family_kw),
        "data_dir": args.data_dir,
        "augment": args.augment,
    }
    if meta is not None and args.augment is None:
        # A resumed run keeps its augmentation, even where its family is given again.
        spec["augment"] = meta.get("family_spec", {}).get("augment")
    if args.family is None:
        if meta is None or "family_spec" not in meta:
            raise SystemExit("--family is required (or --resume a run that recorded it)")
        spec = meta["family_spec"]
    try:
        base = get_family(spec["name"], data_dir=spec["data_dir"], **spec["kw"])
    except (KeyError, ValueError, FileNotFoundError) as e:
        if args.family is not None:
            raise
        from botorch_nap.cli import message

        raise SystemExit(
            f"--resume: cannot rebuild the run's family {spec['name']!r} ({message(e)}); a "
            "data folder is recorded as it was given, relative to where the run started: run "
            "from there, or pass --family with its path"
        ) from None
    if spec.get("augment") is None:
        from botorch_nap.training.fit import FEW_TASKS

        # fit's rule: few training tasks over-fit the NP without augmentation.
        n_train = len(base.split_ids("train"))
        spec["augment"] = n_train < FEW_TASKS
        if spec["augment"]:
            print(
                f"{n_train} training tasks (< {FEW_TASKS}): GP-posterior task augmentation on "
                "(--no-augment turns it off)"
            )
    if spec.get("augment"):
        from botorch_nap.tasks.augment import AugmentedFamily

        # What get_family(augment=True) builds, around the family already loaded.
        return AugmentedFamily(base), spec
    return base, spec


def _portable_path(path: str | None) -> str | None:
    """A path for a checkpoint's meta without this machine's folders (relative to the
    working directory when under it, else the folder's name)."""
    from botorch_nap.benchmark.results import portable_arg

    return None if path is None else portable_arg(str(Path(path).resolve()))


def _run_meta(out: Path) -> dict | None:
    for d in (out / LAST_DIR, out):
        if (d / CONFIG_FILE).is_file():
            return json.loads((d / CONFIG_FILE).read_text()).get("meta", {})
    return None


def _refuse_existing_run(out: Path, resume: bool) -> None:
    """A new run must not overwrite a run folder's network and mix its log into the old one."""
    if resume:
        return
    # A checkpoint makes a run; a log alone is a run stopped before its first checkpoint,
    # which --resume cannot continue, so a new run may start there (its log starts afresh).
    found = [n for n in (CONFIG_FILE, WEIGHTS_FILE, LAST_DIR) if (out / n).exists()]
    if found:
        raise SystemExit(
            f"{out} holds a run already ({', '.join(found)}): --resume continues it; to start "
            "afresh choose another --out or delete it"
        )


def _check_resumed_family(family, meta: dict | None, args: argparse.Namespace) -> None:
    """A resumed run's family, given again with --family, must be the one it trained on."""
    if meta is None or args.family is None or "family" not in meta:
        return
    name = getattr(family, "name", type(family).__name__)
    if name != meta["family"]:
        raise SystemExit(
            f"--resume: the run trained on family {meta['family']!r}, --family gives {name!r}; "
            "leave --family out to resume on the run's own, or start a new run with --init-from"
        )


#: ``pretrain`` options that a resumed run takes from its record: the optimiser's and the
#: sampler's states fix them (``hparams`` key, argparse dest, default of a new run).
RESUMED_PRETRAIN = (
    ("lr", "lr", 1e-3),  # fit's rule: 3e-4 left short runs under-trained (issue 17)
    ("seed", "seed", 0),
    ("batch_size", "batch_size", 32),
    ("n_points", "n_points", [16, 96]),
    ("loss_weighting", "loss_weighting", "target"),
    ("search_frac", "search_contexts", 0.0),
)
#: Options a resumed run takes from its record unless given: a larger --steps extends it
#: (its schedule stretched), --val-every / --patience change only when it validates and stops.
#: Runs recorded before they were kept fall back to the defaults.
RECORDED_PRETRAIN = (
    ("steps", "steps", 3000),
    ("val_every", "val_every", 100),
    ("patience", "patience", 10),
)


def _differs(a: object, b: object) -> bool:
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return list(a) != list(b)
    return a != b


def _refuse_changes(given: list[tuple[str, object, object]], what: str) -> None:
    """``SystemExit`` naming every option given on ``--resume`` that differs from the run."""
    if given:
        listed = "; ".join(f"--{flag} {new} (the run's: {old})" for flag, new, old in given)
        raise SystemExit(
            f"{what} --resume continues a run exactly, with its own settings, but {listed}: "
            "leave them out, or start a new run from its network with --init-from"
        )


def _pretrain_hparams(args: argparse.Namespace, meta: dict | None) -> None:
    """Fill ``args``' run options: a new run's defaults, or on ``--resume`` the run's own
    (refusing any given that differ: a resumed optimiser would ignore a new lr silently)."""
    stored = (meta or {}).get("hparams", {}) if args.resume else {}
    changed = []
    for key, dest, default in RESUMED_PRETRAIN:
        given = getattr(args, dest)
        if not args.resume:
            setattr(args, dest, default if given is None else given)
            continue
        run_value = stored.get(key, default)
        if given is not None and _differs(given, run_value):
            changed.append((dest.replace("_", "-"), given, run_value))
        setattr(args, dest, run_value)
    for key, dest, default in RECORDED_PRETRAIN:
        if getattr(args, dest) is None:
            setattr(args, dest, stored.get(key, default))
    _refuse_changes(changed, "pretrain")


def _build_net(args, family, device: torch.device) -> NAPTransformer:
    dim = family.space.dim
    if args.init_from:
        net = NAPTransformer.load(args.init_from, expected_dim=dim)
        check_categories(net.config, family.space, args.init_from)
        if getattr(args, "net_distance_bias", False) and not net.config.distance_bias:
            net = net.with_distance_bias()
        if getattr(args, "net_ard_bias", False) and not net.config.ard_bias:
            net = net.with_ard_bias()
        if getattr(args, "net_ard_context", False) and not net.config.ard_context:
            net = net.with_ard_context()
        if getattr(args, "add_layers", 0):
            net = net.with_extra_layers(args.add_layers)
        if getattr(args, "add_history_layers", 0):
            net = net.with_history_layers(args.add_history_layers)
    else:
        kw = {k: getattr(args, f"net_{k}") for k in NET_FIELDS}
        defaults = NAPConfig.__dataclass_fields__
        kw.update({k: getattr(args, f"net_{k}", defaults[k].default) for k in NET_OPTIONS})
        # A mixed-dimension family (GPPriorFamily(min_dim=...)) trains a variable-dim network.
        net = NAPTransformer(
            NAPConfig(
                dim_x=dim,
                min_dim=getattr(family, "min_dim", None),
                categories=family.space.category_counts(),
                **kw,
            )
        )
    return net.to(device).train()


# ---------------------------------------------------------------------------- pretrain
def _teacher_record(args: list[str]) -> list[str]:
    """Teachers as a run records them: shipped names as given, folders without this
    machine's paths (:func:`_portable_path`)."""
    return [_portable_path(a) if Path(a).expanduser().is_dir() else a for a in args]


def _pretrain(args) -> int:
    from botorch_nap.benchmark.methods import load_network
    from botorch_nap.training.pretrain import pretrain

    out = Path(args.out)
    if args.add_layers < 0 or (args.add_layers and not args.init_from and not args.resume):
        raise SystemExit(f"--add-layers K needs K >= 0 and --init-from, got {args.add_layers}")
    grow_h = args.add_history_layers
    if grow_h < 0 or (grow_h and not args.init_from and not args.resume):
        raise SystemExit(f"--add-history-layers K needs K >= 0 and --init-from, got {grow_h}")
    _refuse_existing_run(out, args.resume)
    meta = _run_meta(out) if args.resume else None
    if args.resume and meta is None:
        raise SystemExit(
            f"--resume: {out} holds no checkpoint to continue (a run stopped before its first "
            "one): start it again without --resume"
        )
    _pretrain_hparams(args, meta)
    fam, spec = _family_from_args(args, meta)
    _check_resumed_family(fam, meta, args)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    if args.resume:  # the run's own network (grown already, if --add-layers made it)
        net = NAPTransformer.load(out / LAST_DIR, expected_dim=fam.space.dim).to(device)
    else:
        net = _build_net(args, fam, device)
    # A resumed distillation reads its teachers from the run's record unless given again.
    teacher_args = args.teacher or (meta or {}).get("teachers") or []
    # A folder or a shipped name (its np/ unless <name>/nap), checked against the family.
    teachers = [load_network(t, "np", fam.space).to(device) for t in teacher_args]
    policy_weight = args.policy_weight
    if policy_weight is None:  # a resumed run keeps its own
        policy_weight = (meta or {}).get("hparams", {}).get("policy_weight", 1.0)
    data_weight = args.data_weight
    if data_weight is None:
        data_weight = (meta or {}).get("hparams", {}).get("data_weight", 0.0)
    if data_weight < 0:
        raise SystemExit(f"--data-weight must be >= 0, got {data_weight}")
    if data_weight and not teachers:
        raise SystemExit("--data-weight needs --teacher (without teachers the loss is the data's)")
    # A resumed run keeps its loss.
    posterior = args.posterior_targets or bool(
        (meta or {}).get("hparams", {}).get("posterior_targets", False)
    )
    if posterior and teachers:
        raise SystemExit("--posterior-targets and --teacher are two different losses: pick one")
    # How many blocks --add-layers appended to the --init-from network (kept when resumed).
    added = (meta or {}).get("added_layers", 0) if args.resume else args.add_layers
    added_h = (meta or {}).get("added_history_layers", 0) if args.resume else grow_h
    what = f"distilling {len(teachers)} teacher(s) into" if teachers else "pretraining"
    print(f"{what} {net.num_parameters():,} parameters on {spec['name']} -> {out}")
    m = pretrain(
        net,
        fam,
        steps=args.steps,
        batch_size=args.batch_size,
        n_points=tuple(args.n_points),
        lr=args.lr,
        seed=args.seed,
        val_every=args.val_every,
        patience=args.patience,
        out_dir=out,
        resume=args.resume,
        time_limit_s=args.time_limit,
        stop_at=args.stop_at,
        progress=not args.no_progress,
        meta={
            "family_spec": spec,
            **({"teachers": _teacher_record(teacher_args)} if teachers else {}),
            **({"added_layers": added} if added else {}),
            **({"added_history_layers": added_h} if added_h else {}),
        },
        loss_weighting=args.loss_weighting,
        search_frac=args.search_contexts,
        teachers=teachers,
        policy_weight=policy_weight,
        data_weight=data_weight,
        posterior_targets=posterior,
    )
    print(
        f"done: {m['steps']} steps, best validation NLL {m['best_val_nll']:.4f} at step "
        f"{m['best_step']} ({m['steps_per_s']:.1f} steps/s); best network in {out}"
    )
    return 0


# ---------------------------------------------------------------------------- train
def _add_ppo_args(p: argparse.ArgumentParser) -> None:
    from botorch_nap.training.ppo import PPOConfig

    g = p.add_argument_group("PPO hyper-parameters (PPOConfig)")
    for f in fields(PPOConfig):
        if f.name in ("iterations", "seed"):
            continue
        flag = f"--{f.name.replace('_', '-')}"
        default = f.default if f.default is not MISSING else None
        if isinstance(default, bool):
            g.add_argument(
                flag,
                type=_flag,
                default=None,
                metavar="BOOL",
                help=f"default {default}",
            )
        else:
            typ = {int: int, float: float, str: str}.get(type(default), float)
            if f.name in ("target_kl",):
                typ = float
            if f.name in ("chunk_size",):
                typ = int
            g.add_argument(flag, type=typ, default=None, help=f"default {default}")


#: PPO options a resumed run may change: a longer run (its schedule stretched), and when it
#: validates, checkpoints or chunks (none changes what it learns from).
RESUMABLE_PPO = ("iterations", "val_every", "checkpoint_every", "chunk_size")


def _train(args) -> int:
    from botorch_nap.training.ppo import PPOConfig, ddp_setup, train

    rank, world, device = ddp_setup(args.device)
    out = Path(args.out)
    _refuse_existing_run(out, args.resume)
    meta = _run_meta(out) if args.resume else None
    if args.resume and (meta is None or "ppo" not in meta):
        raise SystemExit(f"--resume: {out} holds no PPO run")
    fam, spec = _family_from_args(args, meta)
    _check_resumed_family(fam, meta, args)
    cfg_d = dict(meta["ppo"]) if args.resume else {}
    changed = []
    for f in fields(PPOConfig):
        v = getattr(args, f.name, None)
        if v is None:
            continue
        if args.resume and f.name not in RESUMABLE_PPO and _differs(v, cfg_d.get(f.name)):
            changed.append((f.name.replace("_", "-"), v, cfg_d.get(f.name)))
        cfg_d[f.name] = v
    _refuse_changes(changed, "train")
    cfg = PPOConfig.from_dict(cfg_d)
    torch.manual_seed(cfg.seed)
    if args.resume:
        net = NAPTransformer.load(out / LAST_DIR, expected_dim=fam.space.dim).to(device)
    else:
        if not args.init_from:
            print(
                "warning: training from scratch; PPO normally starts from an NP checkpoint "
                "(botorch-nap pretrain ..., then --init-from)",
                file=sys.stderr,
            )
        net = _build_net(args, fam, device)
    if rank == 0:
        print(
            f"PPO on {spec['name']}: {net.num_parameters():,} parameters, world size {world}, "
            f"device {device} -> {out}"
        )
    m = train(
        net,
        fam,
        cfg,
        out_dir=out,
        resume=args.resume,
        progress=not args.no_progress,
        time_limit_s=args.time_limit,
        meta={"family_spec": spec, "init_from": _portable_path(args.init_from)},
    )
    if rank == 0:
        print(
            f"done: {m['iterations']} iterations ({m['iters_per_s']:.3f}/s, "
            f"{m['env_steps_per_s']:.0f} env steps/s); best validation regret "
            f"{m['best_val_regret']:.4f} at iteration {m['best_iteration']} "
            f"(0 = the warm start); best network in {out}"
        )
    if world > 1:
        torch.distributed.destroy_process_group()
    return 0


# ---------------------------------------------------------------------------- fit
def _fit(args) -> int:
    import shlex

    from botorch_nap.training.fit import fit

    spec = {"name": args.family, "kw": _parse_kv(args.family_kw), "data_dir": args.data_dir}
    cmd = ["botorch-nap", "fit", args.family, "--minutes", f"{args.minutes:g}", "--out", args.out]
    if args.family_kw:
        cmd += ["--family-kw", *args.family_kw]
    if args.data_dir:
        cmd += ["--data-dir", args.data_dir]
    if args.seed:
        cmd += ["--seed", str(args.seed)]
    try:
        state = fit(
            spec,
            args.minutes,
            args.out,
            seed=args.seed,
            progress=not args.no_progress,
            command=shlex.join(cmd),
        )
    except ValueError as e:
        raise SystemExit(f"fit: {e}") from e
    return 0 if state["verdict"]["use_it"] else 3


# ---------------------------------------------------------------------------- plot
def _plot(args) -> int:
    from botorch_nap.training.plots import plot_training

    path = plot_training(args.run_dir, args.out)
    print(f"wrote {path}")
    return 0


# ---------------------------------------------------------------------------- register
def register(subparsers) -> None:
    """Add ``pretrain``, ``train`` and ``plot-training`` to an argparse subparsers object.

    Each subparser sets ``func``: call ``args.func(args)`` (returns an exit code).
    """
    p = subparsers.add_parser(
        "pretrain",
        help="NP pretraining (aux loss alone): the NP-EI model and the PPO warm start",
        description="Train the bar head on random context/target splits; keep the best "
        "network on validation NLL.",
    )
    _add_family_args(p)
    _add_net_args(p)
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--init-from", help="continue from a network checkpoint")
    p.add_argument(
        "--add-layers",
        type=int,
        default=0,
        metavar="K",
        help="with --init-from: append K blocks that start as the identity (same outputs), "
        "to train a deeper network from a trained one",
    )
    p.add_argument(
        "--add-history-layers",
        type=int,
        default=0,
        metavar="K",
        help="with --init-from: add K history-only blocks (NAPConfig.history_layers) that "
        "start as the identity, for a deeper history encoding at no cost per candidate",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue --out exactly, with its own settings (a larger --steps extends it)",
    )
    p.add_argument("--steps", type=int, help="default 3000 (a resumed run: its own)")
    p.add_argument("--batch-size", type=int, help="default 32")
    p.add_argument("--n-points", type=int, nargs=2, metavar=("LO", "HI"), help="default 16 96")
    p.add_argument("--lr", type=float, help="default 1e-3")
    p.add_argument("--seed", type=int, help="default 0")
    p.add_argument("--val-every", type=int, help="default 100 (a resumed run: its own)")
    p.add_argument("--patience", type=int, help="default 10 (a resumed run: its own)")
    p.add_argument(
        "--loss-weighting",
        choices=("target", "task"),
        help="average the training NLL over all targets of a batch (target) or per task "
        "first, so that long contexts weigh as much as short ones (task)",
    )
    p.add_argument(
        "--search-contexts",
        type=float,
        metavar="FRAC",
        help="fraction of training tasks whose context is built as a search builds its "
        "history, around its incumbent, instead of drawn iid (default 0: all iid)",
    )
    p.add_argument(
        "--teacher",
        nargs="+",
        metavar="CKPT",
        help="distil these trained networks (folders or shipped names) into the new one: "
        "it learns their predictions instead of the observed values; the network options "
        "set its size, and its bars and horizon must match theirs",
    )
    p.add_argument(
        "--policy-weight",
        type=float,
        help="with --teacher: weight of matching the teachers' choice among the targets "
        "(default 1; a resumed run keeps its own)",
    )
    p.add_argument(
        "--data-weight",
        type=float,
        help="with --teacher: weight of the NLL of the observed values (the plain NP loss) "
        "beside the teachers' predictions, so the student can learn past them (default 0: "
        "the teachers alone; a resumed run keeps its own)",
    )
    p.add_argument(
        "--posterior-targets",
        action="store_true",
        help="train on each target's exact predictive distribution under the prior that "
        "generated its task (its GP lengthscales and noise) instead of its one sampled value: "
        "the same optimum, less gradient noise (families that know their prior: gp_prior)",
    )
    p.add_argument("--time-limit", type=float, help="seconds")
    p.add_argument(
        "--stop-at",
        type=int,
        help="stop at this step, keeping the learning-rate schedule of --steps (resumable)",
    )
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_pretrain)

    t = subparsers.add_parser(
        "train",
        help="meta-train NAP with PPO + the auxiliary NP loss",
        description="PPO on BO episodes of a task family; torchrun for data parallel.",
    )
    _add_family_args(t)
    _add_net_args(t)
    t.add_argument("--out", required=True, help="run directory")
    t.add_argument("--init-from", help="NP checkpoint to start from (botorch-nap pretrain)")
    t.add_argument("--resume", action="store_true", help="continue --out exactly")
    t.add_argument("--iterations", "--steps", dest="iterations", type=int, default=None)
    t.add_argument("--seed", type=int, default=None)
    t.add_argument("--time-limit", type=float, help="seconds")
    t.add_argument("--device", default="cpu", help="cpu or cuda (nccl under torchrun)")
    t.add_argument("--no-progress", action="store_true")
    _add_ppo_args(t)
    t.set_defaults(func=_train)

    f = subparsers.add_parser(
        "fit",
        help="one command: data folder -> trained, validated model with a verdict",
        description="Profile the family, plan the training from documented rules, pretrain "
        "the NP, run PPO (kept only if it helps on validation), then benchmark the model "
        "against GP-EI and random on the validation split and write a model card with the "
        "verdict. Rerun the same command to resume. Exit code 0 when the model beats GP-EI "
        "on validation, 3 when it does not.",
    )
    f.add_argument("family", help="own-data folder (or a registered family name)")
    f.add_argument("--minutes", type=float, default=30.0, help="whole budget (default 30)")
    f.add_argument("--out", required=True, help="output folder (the model and its card)")
    f.add_argument(
        "--family-kw", nargs="*", action="extend", metavar="KEY=VALUE", help="family options"
    )
    f.add_argument("--data-dir", help="data root for file-backed families")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--no-progress", action="store_true")
    f.set_defaults(func=_fit)

    pl = subparsers.add_parser("plot-training", help="draw a run's training curves to PNG")
    pl.add_argument("run_dir")
    pl.add_argument("--out", help="PNG path (default RUN_DIR/curves.png)")
    pl.set_defaults(func=_plot)


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (``python -m botorch_nap.training.commands ...``)."""
    parser = argparse.ArgumentParser(prog="botorch-nap")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

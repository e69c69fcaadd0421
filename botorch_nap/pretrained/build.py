"""``botorch-nap ship``: copy trained runs into ``botorch_nap/pretrained/<name>/`` with a card.

A shipped model is a folder ``<name>/`` with ``np/`` (the pretrained neural process, for
NP-EI) and ``nap/`` (the PPO-trained acquisition), each a plain checkpoint
(``config.json`` + ``weights.pt``), and a ``MODEL_CARD.md`` written from the runs' own
records: family, dims, network size, the commands that made it, training time on this
machine, the validation figures and the weights' sha256 (to check a rebuild).

Example::

    botorch-nap ship hpobench_xgb --np runs/xgb_np --nap runs/xgb_nap \\
        --command "botorch-nap pretrain ..." --command "botorch-nap train ..."
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from pathlib import Path

from botorch_nap.nn.transformer import CONFIG_FILE, WEIGHTS_FILE, NAPTransformer
from botorch_nap.pretrained import ROOT
from botorch_nap.training.checkpoint import LOG_FILE
from botorch_nap.training.common import read_csv
from botorch_nap.training.plots import plot_training

CARD_FILE = "MODEL_CARD.md"
#: The sentence a card carries when its NAP's weights are its NP's (tests look for it).
EQUALS_NP_NOTE = "**This NAP equals its NP.**"
MAX_BYTES = 5 * 1024 * 1024
#: ``meta["kind"]`` of NP checkpoints (``pretrain``, ``fit``'s NP stage, and ``pretrain
#: --teacher``'s students).
NP_KINDS = ("pretrain", "np", "distill")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _log_rows(run: Path) -> list[dict[str, str]]:
    """The rows of a run's ``log.csv`` (none when it has no log)."""
    log = run / LOG_FILE
    return read_csv(log) if log.is_file() else []


def _training_minutes(run: Path) -> float | None:
    """CPU-minutes of a run's ``log.csv`` over all its sessions: each ``--resume`` restarts
    ``elapsed_s`` from 0, so the total is the sum of every session's last value."""
    total, last = 0.0, None
    for t in (float(r["elapsed_s"]) for r in _log_rows(run) if r.get("elapsed_s")):
        if last is not None and t < last:
            total += last
        last = t
    return None if last is None else (total + last) / 60


def _last_step(run: Path) -> int | None:
    """The last step a pretraining run's ``log.csv`` records."""
    return max((int(r["step"]) for r in _log_rows(run)), default=None)


def _first_val(run: Path, column: str) -> float | None:
    return next((float(r[column]) for r in _log_rows(run) if r.get(column)), None)


def _shipped_base(run: Path, root: Path) -> str | None:
    """The shipped model a run dir belongs to (``<root>/<name>/<kind>``), else None."""
    run, root = run.resolve(), Path(root).resolve()
    return run.parent.name if run.parent.parent == root else None


def _summary(kind: str, run: Path, meta: dict, base: str | None = None) -> dict:
    """The card row's training, minutes (as text) and validation; ``base``: the shipped
    model that ``run`` is part of, whose card has them."""
    if base is not None:
        return {
            "training": f"`{base}`'s {kind} (see its card)",
            "minutes": "in its card",
            "validation": f"NLL {meta['val_nll']:.4f} (bar head, validation split)"
            if "val_nll" in meta
            else "see its card",
        }
    minutes = _training_minutes(run)
    if kind == "np" or meta.get("kind") in NP_KINDS:  # an NP shipped as the NAP too
        hp = meta.get("hparams", {})
        steps, done = hp.get("steps", "?"), _last_step(run)
        if isinstance(steps, int) and done is not None and done < steps:
            steps = f"{done} of {steps}"  # stopped early (--stop-at, patience or time)
        what = "NP steps"
        if meta.get("kind") == "distill":
            what = f"distillation steps from {hp.get('teachers', '?')} teacher(s)"
        training = f"{steps} {what} (best at step {meta.get('step')})"
        validation = f"NLL {meta['val_nll']:.4f} (bar head, validation split)"
    else:
        ppo = meta.get("ppo", {})
        warm = _first_val(run, "val_regret")
        training = (
            f"{ppo.get('iterations', '?')} PPO iterations x {ppo.get('episodes_per_iter', '?')} "
            f"episodes of {ppo.get('horizon', '?')} steps (best at iteration {meta.get('step')})"
        )
        validation = f"mean normalised regret {meta['val_regret']:.4f} over steps 1..T" + (
            f" (warm start, iteration 0: {warm:.4f})" if warm is not None else ""
        )
    minutes_text = f"{minutes:.1f}" if minutes is not None else "?"
    return {"training": training, "minutes": minutes_text, "validation": validation}


def ship(
    name: str,
    runs: dict[str, str | Path],
    commands: list[str],
    description: str = "",
    root: Path = ROOT,
    test_note: str = "",
) -> Path:
    """Copy each ``kind -> run dir`` of ``runs`` to ``root/name/kind`` and write the card.

    ``test_note``: what the test split showed (a card section of its own), e.g. that NAP
    differs from its NP without a measured benefit.

    Raises ``ValueError`` when a checkpoint is over 5 MB or the runs disagree on the
    network's input dims.
    """
    if not runs:
        raise ValueError("nothing to ship: give an np and/or a nap run")
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"a model name is one folder name (no '/', no leading '.'): {name!r}")
    final = Path(root) / name
    # Built beside its destination and moved in at the end, so that a failure leaves no
    # half-written model where a loader would find it.
    out = final.with_name(f".{name}.partial")
    shutil.rmtree(out, ignore_errors=True)
    try:
        _build(name, runs, commands, description, Path(root), test_note, out)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    if final.exists():
        shutil.rmtree(final)
    out.rename(final)
    return final


def _build(
    name: str,
    runs: dict[str, str | Path],
    commands: list[str],
    description: str,
    root: Path,
    test_note: str,
    out: Path,
) -> None:
    """Write the model ``name`` (its runs' checkpoints and the card) into ``out``."""
    rows, dims, net_desc, families, categorical = [], set(), "", {}, False
    no_ppo, policy_only, curves = False, False, []
    for kind in ("np", "nap"):
        if kind not in runs:
            continue
        run = Path(runs[kind])
        net, meta = NAPTransformer.load_with_meta(run)
        stage = str(meta.get("source", "")).split(" ")[0]  # "np (PPO did not beat ...)"
        if meta.get("fit") and stage and (run / stage).is_dir():
            # A `botorch-nap fit` folder: its top-level network is a copy of the stage that
            # won (np/ or ppo/), whose run folder has the training record the card reads.
            run = run / stage
            net, meta = NAPTransformer.load_with_meta(run)
        size = (run / WEIGHTS_FILE).stat().st_size
        if size > MAX_BYTES:
            raise ValueError(f"{run / WEIGHTS_FILE} is {size / 2**20:.1f} MB, over 5 MB")
        dims.add(net.config.describe_dims())
        c = net.config
        categorical = categorical or bool(c.categories and any(c.categories))
        net_desc = (
            f"d_model {c.d_model}, {c.n_layers} layers, {c.n_heads} heads, d_ff {c.d_ff}, "
            f"{c.n_buckets} bars over [{c.y_min:g}, {c.y_max:g}]; "
            + ("distance-biased attention; " if c.distance_bias else "")
            + f"{net.num_parameters():,} parameters"
        )
        if meta.get("family"):
            families[kind] = meta["family"]
        no_ppo = no_ppo or (kind == "nap" and meta.get("kind") in NP_KINDS)
        policy_only = policy_only or (
            kind == "nap" and meta.get("ppo", {}).get("trainable") == "policy"
        )
        dest = out / kind
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy2(run / WEIGHTS_FILE, dest / WEIGHTS_FILE)
        shutil.copy2(run / CONFIG_FILE, dest / CONFIG_FILE)
        if (run / LOG_FILE).is_file() and not (kind == "nap" and no_ppo):
            plot_training(run, out / f"{kind}_curves.png", title=f"{name}: {kind} training")
            curves.append(f"![{kind} training curves]({kind}_curves.png)")
        base = _shipped_base(run, root)
        s = _summary(kind, run, meta, base if base != name else None)
        rows.append(
            (
                kind,
                s["training"],
                s["minutes"],
                s["validation"],
                f"{size / 1024:.0f} KiB",
                _sha256(dest / WEIGHTS_FILE),
            )
        )
    if len(dims) != 1:
        raise ValueError(f"the runs of {name!r} disagree on input dims: {sorted(dims)}")
    table = "\n".join("| " + " | ".join(r[:5]) + f" | `{r[5][:16]}` |" for r in rows)
    shas = {r[0]: r[5] for r in rows}
    notes = ""
    if shas.get("nap") is not None and shas.get("nap") == shas.get("np"):
        why = (
            "No PPO policy ships with this network (see below)"
            if no_ppo
            else "PPO never beat its warm start on validation, so the best PPO checkpoint is "
            "the warm start itself"
        )
        notes = (
            f"\n{EQUALS_NP_NOTE} {why}: `nap/` holds the NP's weights, whose acquisition "
            "head (never trained) ranks candidates as NP-EI does.\n"
        )
    if curves:
        notes += "\n## Training curves\n\n" + "\n".join(curves) + "\n"
    if test_note:
        notes += f"\n## On the test split\n\n{test_note}\n"
    use_inputs = (
        "  Categorical dims take ordinal codes `0..k-1` (bounds `[0, k-1]`); the network reads "
        "them one-hot.\n"
        if categorical
        else ""
    )
    if no_ppo and "np" in shas and shas["nap"] != shas["np"]:
        # meta says NP for both, but the weights differ: another NP (another seed or run).
        nap_is = "`nap/` is another NP (no PPO run; its weights differ from `np/`'s)"
    elif no_ppo:
        nap_is = "`nap/` is the same NP (no PPO run)"
    elif policy_only:
        nap_is = (
            "`nap/` is PPO on the acquisition head alone (`--trainable policy`), started "
            "from `np/`: its trunk and bar head are `np/`'s, so EI from `nap/`'s bar head is "
            "NP-EI from `np/`"
        )
    else:
        nap_is = "`nap/` is PPO with the auxiliary NP loss, started from `np/`"
    # One family when both stages trained on it; else each stage's.
    if len(set(families.values())) > 1:
        family = ", ".join(f"`{f}` ({k})" for k, f in families.items())
    else:
        family = f"`{next(iter(families.values()), '')}`"
    if Path(root).resolve() == Path(ROOT).resolve():
        use = (
            f'* **Use:** `NAPAcquisition.from_pretrained("{name}", train_X, train_Y, bounds)`,\n'
            f'  `NPExpectedImprovement.from_pretrained("{name}", ...)`, or `nap:{name}` / '
            f"`np-ei:{name}` in\n  `botorch-nap benchmark --methods`."
        )
    else:
        # from_pretrained looks in the package only: a model shipped elsewhere loads by path.
        where = (Path(root) / name).as_posix()
        use = (
            f'* **Use:** `NAPAcquisition.from_checkpoint("{where}/nap", train_X, train_Y, '
            f'bounds)`,\n  `NPExpectedImprovement.from_checkpoint("{where}/np", ...)`, or '
            f"`nap:{where}/nap` / `np-ei:{where}/np` in\n  `botorch-nap benchmark --methods`."
        )
    recipe = (
        "From the repository root, with the data under `../shared/data` where the family "
        f"needs it:\n\n```bash\n{chr(10).join(commands)}\n```"
        if commands
        else "The commands that made these runs were not recorded (`botorch-nap ship "
        "--command`); each checkpoint's `config.json` keeps its hyper-parameters and family "
        "under `meta`."
    )
    card = f"""# `{name}`: pretrained NAP and NP

{description}

* **Training family:** {family} (training split; model selection on its validation split).
* **Input dims:** {dims.pop()}.
* **Network:** {net_desc}.
{use}
{use_inputs}
| kind | training | minutes on a 2-core CPU (1 thread) | validation | size | sha256 |
| --- | --- | --- | --- | --- | --- |
{table}

`np/` is the neural process alone (its bar head gives NP-EI); {nap_is}. Test-split
results are in the README's Results section, produced by `botorch-nap benchmark` and
`botorch-nap report`.
{notes}
## Reproduce

{recipe}

CPU training with one thread and the same seed reproduces the weights (compare the sha256
prefixes above); other thread counts or a GPU change the floating-point sums and so the
weights, not the recipe.
"""
    (out / CARD_FILE).write_text(card)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="botorch-nap ship", description=__doc__.splitlines()[0].replace("``", "")
    )
    p.add_argument("name", help="the shipped model's name, e.g. hpobench_xgb")
    p.add_argument("--np", dest="np_run", help="NP pretraining run dir")
    p.add_argument("--nap", dest="nap_run", help="PPO run dir")
    p.add_argument("--command", action="append", default=[], help="a command that made it")
    p.add_argument("--description", default="")
    p.add_argument("--test-note", default="", help="what the test split showed (card section)")
    p.add_argument("--root", default=str(ROOT), help="where models ship (default: the package)")
    args = p.parse_args(argv)
    runs = {k: v for k, v in (("np", args.np_run), ("nap", args.nap_run)) if v}
    if not runs:
        raise SystemExit("give --np and/or --nap")
    out = ship(args.name, runs, args.command, args.description, Path(args.root), args.test_note)
    print(f"shipped {args.name} -> {out}")
    print(json.dumps(sorted(str(f.relative_to(out)) for f in out.rglob("*") if f.is_file())))
    return 0

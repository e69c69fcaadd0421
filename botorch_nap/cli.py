"""``botorch-nap`` command line: ``demo``, ``models``, ``tasks``, and the training commands."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path


def _models(_: argparse.Namespace) -> int:
    from botorch_nap.pretrained import available

    entries = available()
    if not entries:
        print("No pretrained models ship with this version yet.")
        return 0
    print(f"{'name':<16} {'kind':<5} {'dims':>5}  {'family':<22} path")
    for e in entries:
        fam = e["meta"].get("family", "")
        print(f"{e['name']:<16} {e['kind']:<5} {e['dims']:>5}  {fam:<22} {e['path']}")
    print("Model cards: botorch_nap/pretrained/<name>/MODEL_CARD.md")
    return 0


def _tasks(args: argparse.Namespace) -> int:
    from botorch_nap.tasks import format_families_table, list_families

    print(format_families_table(list_families(data_dir=args.data_dir)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="botorch-nap", description=(__doc__ or "").replace("``", "")
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo", help="run NAP, NP-EI, GP-EI and random side by side", add_help=False
    )
    demo.set_defaults(func=None)
    ship = sub.add_parser(
        "ship",
        help="copy trained runs into botorch_nap/pretrained/ with a model card",
        add_help=False,
    )
    ship.set_defaults(func=None)
    sub.add_parser("models", help="list shipped pretrained models").set_defaults(func=_models)
    t = sub.add_parser("tasks", help="list task families, dims, splits, data found")
    t.add_argument("--data-dir", default=None, help="folder with the data (default: env/auto)")
    t.set_defaults(func=_tasks)
    from botorch_nap.benchmark import commands as benchmark_commands
    from botorch_nap.tasks.eda import register_command as register_eda
    from botorch_nap.training import commands as training_commands

    training_commands.register(sub)
    benchmark_commands.register(sub)
    register_eda(sub)
    return parser


def message(err: Exception) -> str:
    """An exception's message for one line (KeyError's str() wraps it in quotes)."""
    return str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)


#: Commands whose set-up errors (a bad path, a checkpoint that does not fit, a malformed
#: data folder) print one line naming the problem instead of a traceback; ``benchmark``,
#: ``report`` and ``fit`` do so themselves. BOTORCH_NAP_TRACEBACK=1 shows the traceback.
ONE_LINE_ERRORS = ("pretrain", "train", "plot-training", "ship")


def _one_line_errors(command: str, run: Callable[[], int | None], out: str | None = None) -> int:
    """``run()``'s exit code; a set-up error printed as one line (exit 2), Ctrl-C as a note
    on how to resume (exit 130)."""
    if os.environ.get("BOTORCH_NAP_TRACEBACK", "") not in ("", "0"):
        return int(run() or 0)
    try:
        return int(run() or 0)
    except KeyboardInterrupt:
        if out is not None and (Path(out) / "last").is_dir():
            print(
                f"\ninterrupted; {out}/last holds the latest checkpoint: the same command "
                "plus --resume continues from it",
                file=sys.stderr,
            )
        else:
            print("\ninterrupted (before any checkpoint was written)", file=sys.stderr)
        return 130
    except (ValueError, KeyError, FileNotFoundError) as err:
        msg = message(err)
        if isinstance(err, KeyError) and " " not in msg:
            # A bare key is a bug's KeyError, not a message written for the user.
            msg = f"KeyError {msg!r} (BOTORCH_NAP_TRACEBACK=1 shows where)"
        print(f"botorch-nap {command}: {msg}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "demo":
        from botorch_nap.demo import main as demo_main

        demo_main(argv[1:])
        return 0
    if argv and argv[0] == "ship":
        from botorch_nap.pretrained.build import main as ship_main

        return _one_line_errors("ship", lambda: ship_main(argv[1:]))
    args = build_parser().parse_args(argv)
    if args.command in ONE_LINE_ERRORS:
        run_dir = args.out if args.command in ("pretrain", "train") else None
        return _one_line_errors(args.command, lambda: args.func(args), run_dir)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())

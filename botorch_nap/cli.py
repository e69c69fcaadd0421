"""``botorch-nap`` command line: ``demo``, ``models``, ``tasks``, and the training commands."""

from __future__ import annotations

import argparse
import sys


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
    parser = argparse.ArgumentParser(prog="botorch-nap", description=__doc__)
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


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "demo":
        from botorch_nap.demo import main as demo_main

        demo_main(argv[1:])
        return 0
    if argv and argv[0] == "ship":
        from botorch_nap.pretrained.build import main as ship_main

        return ship_main(argv[1:])
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())

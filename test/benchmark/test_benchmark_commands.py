"""``botorch-nap benchmark`` / ``report`` through argparse (registered on a fresh parser)."""

from __future__ import annotations

import argparse
import json

import pytest

from botorch_nap.benchmark import commands
from botorch_nap.benchmark.report import END_MARK, START_MARK
from botorch_nap.benchmark.results import load_results


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="botorch-nap")
    commands.register(p.add_subparsers(dest="command", required=True))
    return p


def _run(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    return args.func(args)


def test_option_parsing():
    assert commands.parse_task_ids(["34,35", "40-42"]) == ["34", "35", "40", "41", "42"]
    assert commands.parse_task_ids(None) is None
    assert commands.parse_kwargs(["dim=4", "kernel=rbf", "r=[0.1, 0.5]"]) == {
        "dim": 4,
        "kernel": "rbf",
        "r": [0.1, 0.5],
    }
    paper = _parser().parse_args(["benchmark", "--family", "branin", "--paper-protocol"])
    cfg = commands.config_from_args(paper)
    assert (cfg.n_init, cfg.steps, cfg.seeds) == (5, 100, [0, 1, 2, 3, 4])
    more = _parser().parse_args(
        ["benchmark", "--family", "branin", "--paper-protocol", "--seeds", "10"]
    )
    assert commands.config_from_args(more).seeds == list(range(10))
    clash = _parser().parse_args(
        ["benchmark", "--family", "branin", "--paper-protocol", "--steps", "7"]
    )
    with pytest.raises(ValueError, match="paper-protocol"):
        commands.config_from_args(clash)
    m = _parser().parse_args(["benchmark", "--family", "x", "--methods", "gp-ei,random"])
    assert commands.config_from_args(m).methods == ["gp-ei", "random"]


def test_list_methods(capsys):
    assert _run(["benchmark", "--list-methods"]) == 0
    out = capsys.readouterr().out
    for name in ("nap:<checkpoint>", "np-ei:<checkpoint>", "gp-ei", "random", "gp-ei-transfer"):
        assert name in out


def test_benchmark_then_report_commands(tmp_path, capsys):
    out = tmp_path / "res.json"
    argv = ["benchmark", "--family", "branin", "--tasks", "80", "--seeds", "2", "--n-init"]
    argv += ["2", "--steps", "2", "--methods", "random,portfolio", "--out", str(out)]
    assert _run([*argv, "--no-progress"]) == 0
    assert len(load_results(out)["runs"]) == 4
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{START_MARK}\n{END_MARK}\n")
    md = tmp_path / "x.md"
    js = tmp_path / "summary.json"
    argv = ["report", str(out), "--update-readme", str(readme), "--markdown", str(md)]
    assert _run([*argv, "--summary-json", str(js)]) == 0
    assert json.loads(js.read_text())["table"]["random"]["auc"]["mean"] >= 0
    assert md.read_text().startswith("### branin")
    printed = capsys.readouterr().out
    assert "AUC" in printed and "portfolio" in printed and "rank@2" in printed
    assert "| random |" in readme.read_text()
    assert (tmp_path / "res_regret.png").is_file() and (tmp_path / "res_rank.png").is_file()
    # Errors are messages and exit code 2, not tracebacks.
    assert _run(["report", str(tmp_path / "missing.json")]) == 2
    assert _run(["benchmark", "--methods", "random"]) == 2
    assert _run(["benchmark", "--family", "branin", "--methods", "nap:/no/such/ckpt"]) == 2
    assert "no/such/ckpt" in capsys.readouterr().err

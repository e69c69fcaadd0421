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
    # The same syntax as pretrain's: numbers after a comma are a list, without brackets.
    assert commands.parse_kwargs(["lengthscale_range=0.1,0.2", "functions=branin,levy"]) == {
        "lengthscale_range": [0.1, 0.2],
        "functions": "branin,levy",
    }
    with pytest.raises(ValueError, match="KEY=VALUE"):
        commands.parse_kwargs(["dim"])
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
    assert commands.config_from_args(m).pool_size is None
    pooled = _parser().parse_args(["benchmark", "--family", "branin", "--pool-size", "256"])
    assert commands.config_from_args(pooled).pool_size == 256


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


def test_results_record_no_machine_paths(tmp_path, monkeypatch, tiny_net):
    """Run from a temporary directory with a checkpoint inside it and a shipped one: the
    file names the shipped model by name and the other relative to the working directory,
    and no absolute path of this machine appears anywhere in it."""
    monkeypatch.chdir(tmp_path)
    tiny_net().save(tmp_path / "runs" / "np_tiny")
    out = tmp_path / "res.json"
    argv = ["benchmark", "--family", "branin", "--tasks", "80", "--seeds", "1", "--n-init"]
    argv += ["2", "--steps", "1", "--methods", f"np-ei:{tmp_path / 'runs' / 'np_tiny'}"]
    argv += ["--out", str(out), "--no-progress"]
    assert _run(argv) == 0
    argv[argv.index("--methods") + 1] = "nap:gp_prior"
    assert _run(argv) == 0
    text = out.read_text()
    methods = json.loads(text)["methods"]
    assert methods["nap:gp_prior"]["checkpoint"] == "shipped:gp_prior/nap"
    ours = methods[f"np-ei:{tmp_path / 'runs' / 'np_tiny'}"]
    assert ours["checkpoint"] == "runs/np_tiny"
    # Outside the method keys (the user's own spelling), no absolute path remains.
    doc = json.loads(text)
    doc["methods"] = list(doc["methods"].values())
    doc["runs"] = [{k: v for k, v in r.items() if k != "method"} for r in doc["runs"].values()]
    doc["config"]["methods"] = []
    for s in doc["sessions"]:
        s["methods"] = []
        s["argv"] = [a for a in s["argv"] if not a.startswith("np-ei:") and a != "nap:gp_prior"]
    flat = json.dumps(doc)
    for root in {str(tmp_path), "/work/", "/root/", "/home/", "/tmp/"}:
        assert root not in flat, flat[flat.find(root) - 200 : flat.find(root) + 60]


def test_committed_results_hold_no_machine_paths():
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    for f in [repo / "README.md", *sorted((repo / "docs" / "results").glob("*.json"))]:
        text = f.read_text()
        for root in ("/work/", "/root/", "/home/", "/tmp/", "/Users/"):
            assert root not in text, (f.name, root)


def test_report_counts_repeated_proposals(tmp_path, capsys):
    from botorch_nap.benchmark.metrics import count_repeats

    bounds = [[0.0, -5.0], [1.0, 5.0]]
    X = [[0.1, 0.0], [0.5, 1.0], [0.5, 1.0 + 1e-7], [0.3, 2.0], [0.1, 0.0], [0.1, 0.001]]
    # Row 2 is within 1e-6 of row 1 (in the unit cube), row 4 repeats row 0; row 5 is not
    # a repeat (1e-4 away); the initial rows (here 2) never count.
    assert count_repeats(X, bounds, n_init=2) == 2
    assert count_repeats(X, bounds, n_init=5) == 0
    out = tmp_path / "res.json"
    argv = ["benchmark", "--family", "branin", "--tasks", "80", "--seeds", "1", "--n-init"]
    argv += ["2", "--steps", "2", "--methods", "random", "--out", str(out), "--no-progress"]
    assert _run(argv) == 0
    doc = load_results(out)
    run = next(iter(doc["runs"].values()))
    assert run["repeats"] == 0 and doc["bounds"] == [[0.0, 0.0], [1.0, 1.0]]
    # A repeat written into the file (an older file without counts is measured from X).
    run["X"][3] = list(run["X"][0])
    del run["repeats"]
    out.write_text(json.dumps(doc))
    capsys.readouterr()
    assert _run(["report", str(out)]) == 0
    assert "1/2" in capsys.readouterr().out


def test_np_ei_from_a_nap_checkpoint_is_its_own_bar_head():
    """``np-ei:<name>/nap``: EI from the shipped NAP network's bar head (the comparator that
    isolates what the policy adds), distinct from ``np-ei:<name>`` (the NP warm start)."""
    from botorch_nap.benchmark.methods import describe_method, resolve_checkpoint
    from botorch_nap.pretrained import checkpoint_path

    assert resolve_checkpoint("gp_prior/nap", "np") == checkpoint_path("gp_prior", "nap")
    assert resolve_checkpoint("gp_prior", "np") == checkpoint_path("gp_prior", "np")
    assert describe_method("np-ei:gp_prior/nap")["checkpoint"] == "shipped:gp_prior/nap"
    with pytest.raises(FileNotFoundError, match="gp_prior/npx"):
        resolve_checkpoint("gp_prior/npx", "np")


def test_compile_is_an_option_not_a_protocol(tmp_path, tiny_net):
    """`--compile` reaches NAP's decisions (the run compiles its gradients) and is recorded,
    but a file may be resumed without it: the same values either way."""
    from botorch_nap.acquisition import compiled

    tiny_net().save(tmp_path / "nap_tiny")
    out = tmp_path / "res.json"
    argv = ["benchmark", "--family", "branin", "--tasks", "80", "--seeds", "1", "--n-init"]
    argv += ["3", "--steps", "2", "--methods", f"nap:{tmp_path / 'nap_tiny'}"]
    argv += ["--num-restarts", "2", "--raw-samples", "16", "--out", str(out), "--no-progress"]
    compiled._COMPILED.pop(compiled.nap_values, None)
    assert _run([*argv, "--compile"]) == 0
    # Built on the first compiled call, and compiling did not fall back.
    assert compiled.nap_values in compiled._COMPILED and compiled._FAILED is None
    assert load_results(out)["config"]["compile"] is True
    argv[argv.index("--seeds") + 1] = "2"
    assert _run(argv) == 0  # resumed without it: another seed added, no protocol clash
    assert len(load_results(out)["runs"]) == 2

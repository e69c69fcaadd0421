import json
import subprocess
import sys

import pytest

from botorch_nap.cli import main


def test_models_lists_the_shipped_models(capsys):
    from botorch_nap.pretrained import available

    assert main(["models"]) == 0
    out = capsys.readouterr().out
    names = sorted({e["name"] for e in available()})
    assert {"gp_prior", "hpobench_xgb", "lcbench"} <= set(names)
    lines = out.splitlines()
    for name in names:  # one row per shipped model, with its input dims
        assert any(line.split() and line.split()[0] == name for line in lines), out


def test_demo_runs_tiny(capsys, tmp_path, pretrained_2d):
    from botorch_nap.demo import main as demo_main

    ckpt = pretrained_2d.save(tmp_path / "net")
    argv = [
        "--network",
        str(ckpt),
        "--tasks",
        "2",
        "--seeds",
        "1",
        "--steps",
        "2",
        "--workers",
        "1",
    ]
    summary = demo_main([*argv, "--out", str(tmp_path / "demo")])
    assert sorted(m.split(":")[0] for m in summary["methods"]) == [
        "gp-ei",
        "nap",
        "np-ei",
        "random",
    ]
    assert len(summary["cells"]) == 2
    for row in summary["table"].values():
        assert 0.0 <= row["auc"]["mean"] <= 1.0
    out = capsys.readouterr().out
    assert "held-out branin tasks" in out and "Networks: checkpoints" in out and "AUC" in out
    pngs = sorted(p.name for p in (tmp_path / "demo").glob("*.png"))
    assert pngs == ["demo_branin_rank.png", "demo_branin_regret.png"]
    # Resuming finds every run done and adds none.
    results = tmp_path / "demo" / "demo_branin.json"
    before = results.read_text()
    demo_main([*argv, "--out", str(tmp_path / "demo")])
    assert len(json.loads(results.read_text())["runs"]) == 8
    assert json.loads(before)["runs"] == json.loads(results.read_text())["runs"]
    with pytest.raises(FileNotFoundError, match="no shipped nap checkpoint named 'nope'"):
        demo_main(["--model", "nope", "--out", str(tmp_path / "demo2")])


def test_console_script_help():
    out = subprocess.run(
        [sys.executable, "-m", "botorch_nap.cli", "--help"], capture_output=True, text=True
    )
    assert out.returncode == 0 and "demo" in out.stdout


@pytest.mark.parametrize("command", [[], ["demo"], ["benchmark"], ["report"], ["ship"]])
def test_help_texts_carry_no_rest_quotes(command, capsys):
    from botorch_nap.cli import main

    with pytest.raises(SystemExit):
        main([*command, "--help"])
    out = capsys.readouterr().out
    assert "botorch-nap" in out and "``" not in out


def test_tasks_lists_families(capsys):
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    for name in ["gp_prior", "hpobench_xgb", "lcbench"]:
        assert name in out


def test_demo_default_runs_on_the_shipped_models(capsys, tmp_path):
    """`make demo`'s path: the family-trained `synthetic` model and `gp_prior` beside GP-EI
    and random, no data files (tiny budget); `gp_prior` alone where `synthetic` does not
    apply."""
    from botorch_nap.demo import default_models
    from botorch_nap.demo import main as demo_main

    summary = demo_main(["--tasks", "1", "--seeds", "1", "--steps", "1", "--out", str(tmp_path)])
    assert summary["methods"] == [
        "nap:synthetic",
        "np-ei:synthetic",
        "nap:gp_prior",
        "np-ei:gp_prior",
        "gp-ei",
        "random",
    ]
    out = capsys.readouterr().out
    assert "shipped 'synthetic'" in out and "'gp_prior'" in out
    assert default_models("levy") == ["gp_prior"]
    assert default_models("hartmann3") == ["synthetic", "gp_prior"]


def test_benchmark_set_up_errors_are_one_line_before_any_run(capsys, tmp_path):
    out = tmp_path / "r.json"
    common = ["benchmark", "--split", "val", "--seeds", "1", "--steps", "1", "--no-progress"]
    # A shipped checkpoint of other dims: refused up front, not once per (task, seed).
    argv = [*common, "--family", "gp_prior", "--family-kw", "dim=9", "--methods", "nap:gp_prior"]
    assert main([*argv, "--out", str(out)]) == 2
    assert "nap:gp_prior: checkpoint" in capsys.readouterr().err and not out.exists()
    # A family option the family does not have.
    argv = [*common, "--family", "branin", "--family-kw", "bogus=1", "--methods", "random"]
    assert main([*argv, "--out", str(out)]) == 2
    assert "'branin' has no option 'bogus'" in capsys.readouterr().err and not out.exists()


@pytest.mark.parametrize(
    "extra,match",
    [
        (["--family-kw", "dim=3", "--family-kw", "dim=4"], "--family-kw dim given twice: 3 and 4"),
        (["--family-kw", "bogus=1"], "no option 'bogus'"),
    ],
)
def test_fsbo_train_set_up_errors_are_one_line(capsys, tmp_path, extra, match):
    argv = ["fsbo-train", "--family", "gp_prior", "--out", str(tmp_path / "f")]
    assert main([*argv, *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("botorch-nap fsbo-train: ") and match in err and "\n" not in err

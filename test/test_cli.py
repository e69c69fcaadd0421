import subprocess
import sys

from botorch_nap.cli import main


def test_models_lists_or_says_none(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "No pretrained models" in out or "name" in out


def test_demo_runs_tiny(capsys):
    from botorch_nap.demo import main as demo_main

    res = demo_main(["--steps", "1", "--seeds", "1", "--pool-size", "50", "--pretrain-steps", "20"])
    assert len(res) == 8
    for regret, seconds in res.values():
        assert regret >= 0 and seconds >= 0
    out = capsys.readouterr().out
    assert "mean simple regret" in out and "Networks:" in out and "pretrained here" in out


def test_console_script_help():
    out = subprocess.run(
        [sys.executable, "-m", "botorch_nap.cli", "--help"], capture_output=True, text=True
    )
    assert out.returncode == 0 and "demo" in out.stdout


def test_tasks_lists_families(capsys):
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    for name in ["gp_prior", "hpobench_xgb", "lcbench"]:
        assert name in out

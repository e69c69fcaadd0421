import importlib.util
import math
from pathlib import Path

TUTORIALS = Path(__file__).resolve().parents[2] / "tutorials"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, TUTORIALS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_tutorial_01_botorch_loop_runs_tiny(capsys):
    mod = _load("01_botorch_loop")
    out = mod.main(["--steps", "2", "--seeds", "1", "--restarts", "2", "--raw-samples", "16"])
    assert set(out) == {"NAP", "NP-EI", "GP-EI"}
    for regrets in out.values():
        assert len(regrets) == 1 and all(r >= 0 and math.isfinite(r) for r in regrets)
    printed = capsys.readouterr().out
    assert "Networks:" in printed and "ms/decision" in printed

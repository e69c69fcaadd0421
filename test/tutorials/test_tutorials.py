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
    tiny = ["--steps", "2", "--seeds", "1", "--restarts", "2", "--raw-samples", "16"]
    out = mod.main(tiny)
    assert set(out) == {"NAP", "NP-EI", "GP-EI"}
    assert mod.main(tiny) == out  # seeded: a rerun prints the same figures (it did not)
    for regrets in out.values():
        assert len(regrets) == 1 and all(r >= 0 and math.isfinite(r) for r in regrets)
    printed = capsys.readouterr().out
    assert "Networks: shipped model 'gp_prior'" in printed and "ms/decision" in printed
    # Regret is 0 at Branin's minimiser (it read 0.796 there: the optimum's sign was flipped).
    import torch
    from botorch.test_functions import Branin

    branin = Branin(negate=True)
    at_opt = branin(torch.tensor([[math.pi, 2.275]], dtype=torch.float64)).unsqueeze(-1)
    assert abs(mod.simple_regret(branin, at_opt)) < 1e-5


def test_tutorial_03_train_your_own_runs_tiny(tmp_path, capsys):
    mod = _load("03_train_your_own")
    argv = ["--workdir", str(tmp_path), "--n-tasks", "12", "--pretrain-steps", "30"]
    out = mod.main(
        [*argv, "--ppo-iterations", "1", "--episodes", "2", "--steps", "2", "--seeds", "1"]
    )
    assert set(out) == {"NAP", "NP-EI", "random"}
    assert all(0.0 <= r <= 1.0 for r in out.values())
    for kind in ("np", "nap"):
        assert (tmp_path / kind / "config.json").is_file()
    # The written folder is a valid own-data family: 12 tasks, 3 dims, minimised objective.
    from botorch_nap.tasks import get_family

    fam = get_family(str(tmp_path / "data"))
    assert fam.space.dim == 3 and sum(len(fam.split_ids(s)) for s in ("train", "val", "test")) == 12
    printed = capsys.readouterr().out
    assert "held-out tasks" in printed and "PPO iterations" in printed and "over all" in printed


def test_tutorial_03_refuses_more_steps_than_a_held_out_task_has_before_training(tmp_path):
    import pytest

    mod = _load("03_train_your_own")
    argv = ["--workdir", str(tmp_path), "--n-tasks", "12", "--pretrain-steps", "30"]
    with pytest.raises(SystemExit):
        mod.main([*argv, "--steps", "500"])
    assert not (tmp_path / "np").exists()  # refused before any training
    with pytest.raises(SystemExit):
        mod.main([*argv, "--steps", "0"])


def _check_tutorial_04(summary, tmp_path, family):
    assert [m.split(":")[0] for m in summary["methods"]] == ["nap", "np-ei", "gp-ei", "random"]
    for row in summary["table"].values():
        assert 0.0 <= row["auc"]["mean"] <= 1.0
    pngs = {p.name for p in tmp_path.glob("*.png")}
    assert pngs == {f"{family}_regret.png", f"{family}_rank.png", f"{family}_tasks.png"}


def test_tutorial_04_compare_with_gp_runs_tiny_without_data(tmp_path, capsys):
    mod = _load("04_compare_with_gp")
    tiny = ["--tasks", "1", "--seeds", "1", "--steps", "2", "--out", str(tmp_path)]
    summary = mod.main([*tiny, "--model", "gp_prior"])
    _check_tutorial_04(summary, tmp_path, "hartmann3")
    assert "family hartmann3" in capsys.readouterr().out


def test_tutorial_04_compare_with_gp_on_hpobench(tmp_path, require_data):
    mod = _load("04_compare_with_gp")
    data = require_data("hpobench_xgb/hpobench_xgb.npz")
    tiny = ["--tasks", "2", "--seeds", "1", "--steps", "2", "--out", str(tmp_path)]
    summary = mod.main([*tiny, "--data-dir", str(data)])
    _check_tutorial_04(summary, tmp_path, "hpobench_xgb")


def test_tutorial_05_antibody_and_circuits_runs_tiny(require_data, capsys):
    import logging
    import sys

    import torch

    data = require_data("antibody/absolut_energies.csv.gz")
    require_data("epfl/int2float.aig")
    repo = str(TUTORIALS.parent)
    if repo not in sys.path:  # ``ax_integration`` is the package, not the test folder
        sys.path.insert(0, repo)
    threads, level = torch.get_num_threads(), logging.getLogger("ax").level
    try:
        mod = _load("05_antibody_and_circuits")
        tiny = ["--steps", "2", "--trials", "4", "--n-init", "3", "--train-steps", "5"]
        out = mod.main([*tiny, "--data-dir", str(data)])
    finally:
        torch.set_num_threads(threads)
        logging.getLogger("ax").setLevel(level)
    assert set(out["antibody"]) == {"NAP", "GP-EI (categorical kernel)", "random"}
    for best in out["antibody"].values():
        # Best energies so far: 5 initial + 2 steps, never worse (energies: lower is better).
        assert len(best) == 7 and all(b <= a for a, b in zip(best, best[1:]))
        assert best[:5] == out["antibody"]["random"][:5]  # shared initial sequences
    assert set(out["circuits"]) == {"NAP", "Ax default"}
    for best in out["circuits"].values():
        assert len(best) == 4 and all(0.5 < q < 4.0 for q in best)
    printed = capsys.readouterr().out
    assert "Antibody design" in printed and "Logic synthesis" in printed


def test_tutorial_05_takes_the_given_checkpoint_over_the_shipped_model(tmp_path):
    import sys

    import pytest
    import torch

    from botorch_nap.nn.transformer import NAPConfig, NAPTransformer

    repo = str(TUTORIALS.parent)
    if repo not in sys.path:  # ``ax_integration`` is the package, not the test folder
        sys.path.insert(0, repo)
    mod = _load("05_antibody_and_circuits")
    torch.manual_seed(0)
    cfg = dict(d_model=8, n_layers=1, n_heads=1, d_ff=8, n_buckets=8)
    mine = NAPTransformer(NAPConfig(dim_x=20, categories=[7] * 20, **cfg))
    path = str(mine.save(tmp_path / "mine"))
    net, which, spec = mod.find_network("eda", path, train_steps=1)
    assert spec == path and "checkpoint" in which  # the shipped eda model existed: ignored
    assert net.config.d_model == 8
    _, which, spec = mod.find_network("eda", None, train_steps=1)
    assert spec == "eda" and "shipped" in which
    with pytest.raises(FileNotFoundError, match="nope"):  # a wrong path is an error
        mod.find_network("eda", str(tmp_path / "nope"), train_steps=1)
    # --no-shipped: a tiny NP trained here, saved where Ax's strategy can load it.
    net, which, spec = mod.find_network("eda", None, train_steps=2, shipped=False)
    assert "TRAINED" in which and (Path(spec) / "config.json").is_file()
    assert net.config.categories is not None  # one-hot inputs for the choices

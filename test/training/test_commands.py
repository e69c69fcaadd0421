"""CLI subcommands: pretrain -> train --init-from -> train --resume -> plot-training."""

from __future__ import annotations

import json

import pytest
import torch
from training_helpers import log_rows
from training_helpers import run_cli as run

from botorch_nap.nn.transformer import NAPTransformer

FAMILY = ["--family", "gp_prior", "--family-kw", "dim=2", "n_features=64", "n_val=2", "n_test=1"]
NET = ["--d-model", "16", "--n-layers", "1", "--n-heads", "2", "--d-ff", "32", "--n-buckets", "16"]


def test_pretrain_train_resume_plot(tmp_path, capsys):
    np_dir, rl_dir = tmp_path / "np", tmp_path / "rl"
    assert (
        run(
            [
                "pretrain",
                *FAMILY,
                *NET,
                "--out",
                str(np_dir),
                "--steps",
                "20",
                "--batch-size",
                "4",
                "--n-points",
                "6",
                "12",
                "--val-every",
                "10",
                "--loss-weighting",
                "task",
                "--no-progress",
            ]
        )
        == 0
    )
    net = NAPTransformer.load(np_dir, expected_dim=2)
    assert net.config.d_model == 16
    meta = json.loads((np_dir / "config.json").read_text())["meta"]
    spec = meta["family_spec"]
    assert spec["name"] == "gp_prior" and spec["kw"]["dim"] == 2
    assert meta["hparams"]["loss_weighting"] == "task"

    ppo = [
        "--episodes-per-iter",
        "2",
        "--horizon",
        "3",
        "--n-init",
        "2",
        "--n-candidates",
        "12",
        "--minibatch-size",
        "3",
        "--update-epochs",
        "1",
        "--val-every",
        "1",
        "--val-episodes",
        "2",
        "--checkpoint-every",
        "1",
        "--reward",
        "vs_npei",
    ]
    assert (
        run(
            [
                "train",
                *FAMILY,
                "--init-from",
                str(np_dir),
                "--out",
                str(rl_dir),
                "--iterations",
                "2",
                *ppo,
                "--no-progress",
            ]
        )
        == 0
    )
    meta = json.loads((rl_dir / "last" / "config.json").read_text())["meta"]
    assert meta["ppo"]["reward"] == "vs_npei" and meta["ppo"]["horizon"] == 3
    assert meta["step"] == 2
    # --resume needs neither the family nor the hyper-parameters again; extend to 3.
    assert (
        run(["train", "--out", str(rl_dir), "--resume", "--iterations", "3", "--no-progress"]) == 0
    )
    rows = log_rows(rl_dir / "log.csv")
    assert [r["iteration"] for r in rows] == ["0", "1", "2", "3"]

    assert run(["plot-training", str(rl_dir)]) == 0
    assert (rl_dir / "curves.png").stat().st_size > 1000
    assert run(["plot-training", str(np_dir), "--out", str(tmp_path / "np.png")]) == 0
    assert (tmp_path / "np.png").is_file()
    capsys.readouterr()


def test_init_from_wrong_dimension_is_a_clear_error(tmp_path):
    torch.manual_seed(0)
    from training_helpers import tiny_config

    NAPTransformer(tiny_config(dim=3)).save(tmp_path / "np3")
    with pytest.raises(ValueError, match="dim"):
        run(
            [
                "train",
                *FAMILY,
                "--init-from",
                str(tmp_path / "np3"),
                "--out",
                str(tmp_path / "rl"),
                "--iterations",
                "1",
                "--no-progress",
            ]
        )


def test_plot_missing_log(tmp_path):
    with pytest.raises(FileNotFoundError, match="log.csv"):
        run(["plot-training", str(tmp_path)])


def test_same_command_same_weights_and_mixed_dim_family_builds_variable_dim_net(tmp_path):
    """What the model cards promise: rerunning a command gives byte-identical weights."""
    mixed = ["--family", "gp_prior", "--family-kw", "dim=4", "min_dim=2", "n_features=64"]
    argv = [*mixed, *NET, "--steps", "12", "--batch-size", "4", "--n-points", "6", "12"]
    for name in ("a", "b"):
        run(["pretrain", *argv, "--val-every", "6", "--out", str(tmp_path / name), "--no-progress"])
    a, b = ((tmp_path / n / "weights.pt").read_bytes() for n in ("a", "b"))
    assert a == b
    net = NAPTransformer.load(tmp_path / "a", expected_dim=3)
    assert net.config.dim_x == 4 and net.config.min_dim == 2


def test_pretrain_follows_fits_rules_for_few_tasks_and_categories(tmp_path, capsys):
    """Expert defaults follow fit's rules: few training tasks switch augmentation on (unless
    --no-augment), and a categorical space builds a one-hot network."""
    import numpy as np

    from botorch_nap.tasks.own_data import write_own_data

    rng = np.random.default_rng(0)
    tasks = {}
    for t in range(6):
        X = np.stack([rng.random(30), rng.integers(0, 3, 30)], axis=1)
        tasks[f"t{t}"] = (X, -((X[:, 0] - 0.1 * t) ** 2) + (X[:, 1] == t % 3))
    params = [
        {"name": "x", "type": "float", "lower": 0.0, "upper": 1.0},
        {"name": "c", "type": "categorical", "choices": ["a", "b", "c"]},
    ]
    split = {"train": ["t0", "t1", "t2", "t3"], "val": ["t4"], "test": ["t5"]}
    folder = str(write_own_data(tmp_path / "few", tasks, params, split=split))
    base = ["pretrain", "--family", folder, *NET, "--steps", "2", "--batch-size", "2"]
    base += ["--n-points", "4", "8", "--val-every", "1", "--no-progress"]
    assert run([*base, "--out", str(tmp_path / "auto")]) == 0
    assert "augmentation on" in capsys.readouterr().out
    cfg = json.loads((tmp_path / "auto" / "config.json").read_text())
    assert cfg["meta"]["family_spec"]["augment"] is True
    assert cfg["network"]["categories"] == [0, 3]
    assert run([*base, "--no-augment", "--out", str(tmp_path / "off")]) == 0
    off = json.loads((tmp_path / "off" / "config.json").read_text())
    assert off["meta"]["family_spec"]["augment"] is False


def test_family_kw_takes_number_lists_without_brackets():
    """``0.1,1.0`` is a list (a shell would glob ``[0.1,1.0]``); JSON still works; other
    comma-separated values stay strings, as the families that split them expect."""
    from botorch_nap.training.commands import _parse_kv

    kw = _parse_kv(
        [
            "lengthscale_range=0.1,1.0",
            "noise_std_range=[0.001,0.3]",
            "dim=6",
            "kernel=rbf",
            "functions=branin,hartmann3",
            "mixed=1,a",
        ]
    )
    assert kw == {
        "lengthscale_range": [0.1, 1.0],
        "noise_std_range": [0.001, 0.3],
        "dim": 6,
        "kernel": "rbf",
        "functions": "branin,hartmann3",
        "mixed": "1,a",
    }
    with pytest.raises(SystemExit, match="KEY=VALUE"):
        _parse_kv(["dim"])


def test_pretrain_add_layers_grows_the_init_network(tmp_path):
    base = ["pretrain", *FAMILY, "--steps", "4", "--batch-size", "2", "--n-points", "6", "10"]
    base += ["--val-every", "2", "--no-progress"]
    assert run([*base, *NET, "--out", str(tmp_path / "a")]) == 0
    grown = [*base, "--init-from", str(tmp_path / "a"), "--add-layers", "2"]
    assert run([*grown, "--out", str(tmp_path / "b")]) == 0
    net = NAPTransformer.load(tmp_path / "b", expected_dim=2)
    assert net.config.n_layers == 3  # 1 + 2
    meta = json.loads((tmp_path / "b" / "config.json").read_text())["meta"]
    assert meta["added_layers"] == 2
    # Resumed, the run keeps its grown network (no second growth) and its record.
    assert run([*grown, "--out", str(tmp_path / "b"), "--resume", "--steps", "6"]) == 0
    assert NAPTransformer.load(tmp_path / "b").config.n_layers == 3
    with pytest.raises(SystemExit, match="--init-from"):
        run([*base, *NET, "--add-layers", "1", "--out", str(tmp_path / "c")])

    # History-only blocks likewise: grown once, kept on resume; or built from scratch.
    hist = [*base, "--init-from", str(tmp_path / "a"), "--add-history-layers", "2"]
    assert run([*hist, "--out", str(tmp_path / "h")]) == 0
    meta = json.loads((tmp_path / "h" / "config.json").read_text())["meta"]
    assert meta["added_history_layers"] == 2
    assert run([*hist, "--out", str(tmp_path / "h"), "--resume", "--steps", "6"]) == 0
    cfg = NAPTransformer.load(tmp_path / "h").config
    assert (cfg.history_layers, cfg.n_layers) == (2, 1)
    assert run([*base, *NET, "--history-layers", "1", "--out", str(tmp_path / "s")]) == 0
    assert NAPTransformer.load(tmp_path / "s").config.history_layers == 1
    with pytest.raises(SystemExit, match="--init-from"):
        run([*base, *NET, "--add-history-layers", "1", "--out", str(tmp_path / "c")])

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


SMALL = ["--batch-size", "2", "--n-points", "6", "10", "--val-every", "2", "--no-progress"]


def _weights(run_dir):
    return (run_dir / "weights.pt").read_bytes()


def test_pretrain_never_overwrites_a_run(tmp_path):
    out = tmp_path / "a"
    assert run(["pretrain", *FAMILY, *NET, *SMALL, "--steps", "4", "--out", str(out)]) == 0
    before, log = _weights(out), (out / "log.csv").read_text()
    with pytest.raises(SystemExit, match="holds a run already.*--resume"):
        run(["pretrain", *FAMILY, *NET, *SMALL, "--steps", "2", "--out", str(out)])
    assert _weights(out) == before and (out / "log.csv").read_text() == log
    with pytest.raises(SystemExit, match="holds a run already"):
        run(["train", *FAMILY, "--init-from", str(out), "--out", str(out), "--iterations", "1"])
    with pytest.raises(SystemExit, match="holds no checkpoint"):
        run(["pretrain", "--out", str(tmp_path / "none"), "--resume"])


def test_resume_keeps_the_runs_settings_and_refuses_others(tmp_path):
    """A resumed optimiser and sampler keep their own lr and seed: a different value given on
    --resume would be ignored while the record claimed it, so it is refused."""
    out = tmp_path / "a"
    first = [*FAMILY, *NET, *SMALL, "--lr", "0.005", "--seed", "3", "--out", str(out)]
    assert run(["pretrain", *first, "--steps", "6", "--stop-at", "2"]) == 0
    for flag, value in [("--lr", "0.05"), ("--seed", "7"), ("--batch-size", "3")]:
        with pytest.raises(SystemExit, match=f"{flag} {value} \\(the run's: "):
            run(["pretrain", "--out", str(out), "--resume", "--steps", "6", flag, value])
    with pytest.raises(SystemExit, match="n-points \\[6, 12\\]"):
        run(["pretrain", "--out", str(out), "--resume", "--n-points", "6", "12"])
    # Another family (here another dim) is refused before any training.
    other = ["--family", "gp_prior", "--family-kw", "dim=3", "n_features=64"]
    with pytest.raises(SystemExit, match="trained on family"):
        run(["pretrain", *other, "--out", str(out), "--resume"])
    # Without the options, or with the same values, it continues with its own.
    assert run(["pretrain", "--out", str(out), "--resume", "--steps", "6", "--lr", "0.005"]) == 0
    meta = json.loads((out / "last" / "config.json").read_text())["meta"]
    assert meta["step"] == 6 and meta["hparams"]["lr"] == 0.005 and meta["hparams"]["seed"] == 3

    rl = tmp_path / "rl"
    ppo = ["--episodes-per-iter", "2", "--horizon", "3", "--n-candidates", "16"]
    ppo += ["--val-every", "1", "--val-episodes", "2", "--minibatch-size", "4", "--no-progress"]
    base = ["train", *FAMILY, "--init-from", str(out), *ppo]
    assert run([*base, "--out", str(rl), "--iterations", "1"]) == 0
    with pytest.raises(SystemExit, match="--lr 0.01 \\(the run's: 0.0001\\)"):
        run(["train", "--out", str(rl), "--resume", "--iterations", "2", "--lr", "0.01"])
    with pytest.raises(SystemExit, match="trained on family"):
        run(["train", *other, "--out", str(rl), "--resume", "--iterations", "2"])


def test_cli_prints_set_up_errors_in_one_line(tmp_path, capsys):
    from botorch_nap.cli import main as cli_main

    argv = ["pretrain", *FAMILY, *SMALL, "--steps", "2", "--out", str(tmp_path / "s")]
    assert cli_main([*argv, "--init-from", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("botorch-nap pretrain: ") and "Traceback" not in err
    assert cli_main(["ship", "x", "--np", str(tmp_path / "missing"), "--root", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("botorch-nap ship: ")
    # plot-training makes the PNG's folder, and points into a fit folder's runs.
    r = str(tmp_path / "r")
    assert run(["pretrain", *FAMILY, *NET, *SMALL, "--steps", "2", "--out", r]) == 0
    assert run(["plot-training", str(tmp_path / "r"), "--out", str(tmp_path / "new/c.png")]) == 0
    assert (tmp_path / "new" / "c.png").is_file()
    (tmp_path / "fit").mkdir()
    (tmp_path / "r").rename(tmp_path / "fit" / "np")
    with pytest.raises(FileNotFoundError, match="fit` folder: its runs are .*np"):
        run(["plot-training", str(tmp_path / "fit")])


def test_resume_names_an_own_data_folder_it_cannot_find(tmp_path, monkeypatch):
    import numpy as np

    from botorch_nap.tasks.own_data import write_own_data

    rng = np.random.default_rng(0)
    tasks = {}
    for t in range(10):
        X = rng.uniform(0, 1, (24, 2))
        tasks[f"t{t}"] = (X, ((X - 0.1 * t) ** 2).sum(1))
    params = [{"name": n, "type": "float", "lower": 0.0, "upper": 1.0} for n in ("a", "b")]
    write_own_data(tmp_path / "mydata", tasks, params)
    monkeypatch.chdir(tmp_path)
    argv = ["pretrain", "--family", "mydata", "--no-augment", *NET, *SMALL, "--out", "run"]
    assert run([*argv, "--steps", "4", "--stop-at", "2"]) == 0
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    with pytest.raises(SystemExit, match="cannot rebuild the run's family 'mydata'.*--family"):
        run(["pretrain", "--out", "../run", "--resume"])
    # Given its path from here, it resumes.
    assert run(["pretrain", "--family", "../mydata", "--out", "../run", "--resume"]) == 0


def test_a_run_stopped_before_its_first_checkpoint_starts_again(tmp_path):
    """Only a checkpoint makes a run: a folder with a log alone (Ctrl-C before the first
    checkpoint) starts afresh, its log too, and --resume says so."""
    out = tmp_path / "a"
    out.mkdir()
    (out / "log.csv").write_text("step,elapsed_s,lr,train_nll,val_nll,best_val_nll\n10,1,0,9,,\n")
    with pytest.raises(SystemExit, match="no checkpoint to continue.*without --resume"):
        run(["pretrain", "--out", str(out), "--resume"])
    assert run(["pretrain", *FAMILY, *NET, *SMALL, "--steps", "4", "--out", str(out)]) == 0
    assert [r["step"] for r in log_rows(out / "log.csv")][0] != "10"


def test_resume_keeps_steps_and_validation_cadence_without_flags(tmp_path):
    out = tmp_path / "a"
    base = [*FAMILY, *NET, "--batch-size", "2", "--n-points", "6", "10", "--no-progress"]
    first = [*base, "--steps", "8", "--val-every", "4", "--patience", "3", "--out", str(out)]
    assert run(["pretrain", *first, "--stop-at", "4"]) == 0
    assert run(["pretrain", "--out", str(out), "--resume", "--no-progress"]) == 0
    meta = json.loads((out / "last" / "config.json").read_text())["meta"]
    hp = meta["hparams"]
    assert meta["step"] == 8 and (hp["steps"], hp["val_every"], hp["patience"]) == (8, 4, 3)


def test_one_line_errors_name_a_bare_key_as_a_bug(capsys):
    from botorch_nap.cli import _one_line_errors

    def fails():
        raise KeyError("augment")

    assert _one_line_errors("pretrain", fails) == 2
    assert "KeyError 'augment' (BOTORCH_NAP_TRACEBACK=1" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["pretrain", "train", "fit", "benchmark", "fsbo-train"])
def test_family_kw_reads_alike_after_one_flag_or_several(command):
    """``--family-kw a=1 b=2`` and ``--family-kw a=1 --family-kw b=2`` mean the same to every
    command (pretrain kept only the last flag's items; benchmark refused the first form)."""
    from botorch_nap.cli import build_parser
    from botorch_nap.tasks.registry import parse_family_kwargs

    tail = ["--methods", "random"] if command == "benchmark" else ["--out", "x"]
    family = ["gp_prior"] if command == "fit" else ["--family", "gp_prior"]  # fit: positional
    base = [command, *family, *tail]
    one = build_parser().parse_args([*base, "--family-kw", "dim=3", "kernel=matern52"])
    two = build_parser().parse_args(
        [*base, "--family-kw", "dim=3", "--family-kw", "kernel=matern52"]
    )
    assert parse_family_kwargs(one.family_kw) == parse_family_kwargs(two.family_kw)
    assert parse_family_kwargs(two.family_kw) == {"dim": 3, "kernel": "matern52"}


def test_family_kw_refuses_a_key_given_twice_with_two_values():
    from botorch_nap.tasks.registry import parse_family_kwargs

    assert parse_family_kwargs(["dim=3", "dim=3"]) == {"dim": 3}  # a repeat is harmless
    with pytest.raises(ValueError, match="dim given twice: 3 and 4"):
        parse_family_kwargs(["dim=3", "near_frac=0.3", "dim=4"])

"""Shipping trained runs (`botorch-nap ship`), listing and loading shipped models."""

from __future__ import annotations

import functools
import hashlib
import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from botorch_nap.acquisition.nap import NAPAcquisition
from botorch_nap.cli import main as cli_main
from botorch_nap.nn.transformer import NAPConfig, NAPTransformer
from botorch_nap.pretrained import DECISIONS, available, checkpoint_path, decision_defaults
from botorch_nap.pretrained.build import CARD_FILE, ship
from botorch_nap.tasks import get_family
from botorch_nap.training.ppo import PPOConfig, train
from botorch_nap.training.pretrain import pretrain


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    """A 4-step NP run and a 1-iteration PPO run from it, on variable-dim GP-prior tasks."""
    root = tmp_path_factory.mktemp("runs")
    fam = get_family("gp_prior", dim=3, min_dim=2, n_features=64)
    torch.manual_seed(0)
    cfg = NAPConfig(dim_x=3, min_dim=2, d_model=16, n_layers=1, n_heads=2, d_ff=32, n_buckets=16)
    net = NAPTransformer(cfg)
    pretrain(net, fam, steps=4, val_every=2, out_dir=root / "np", progress=False, seed=0)
    nap = NAPTransformer.load(root / "np")
    ppo = PPOConfig(
        iterations=1,
        episodes_per_iter=2,
        horizon=3,
        n_candidates=16,
        val_every=1,
        val_episodes=2,
        minibatch_size=4,
    )
    train(nap, fam, ppo, out_dir=root / "nap", progress=False)
    return root


def test_ship_copies_checkpoints_and_writes_a_card(tiny_runs, tmp_path):
    runs = {"np": tiny_runs / "np", "nap": tiny_runs / "nap"}
    out = ship(
        "tiny",
        runs,
        ["botorch-nap pretrain --x", "botorch-nap train --y"],
        "A test.",
        root=tmp_path,
        test_note="NAP differs from its NP without a measured benefit.",
    )
    for kind in ("np", "nap"):
        net = NAPTransformer.load(out / kind, expected_dim=2)  # variable dim: 2..3
        assert net.config.min_dim == 2
        src = (runs[kind] / "weights.pt").read_bytes()
        assert (out / kind / "weights.pt").read_bytes() == src
    card = (out / CARD_FILE).read_text()
    assert "botorch-nap pretrain --x" in card and "botorch-nap train --y" in card
    assert "Input dims:** 2..3" in card and "gp_prior_rbf_2-3d" in card
    sha = hashlib.sha256((out / "nap" / "weights.pt").read_bytes()).hexdigest()[:16]
    assert sha in card and "NLL" in card and "PPO iterations" in card
    assert "## On the test split\n\nNAP differs from its NP without a measured benefit." in card
    assert "ordinal codes" not in card  # no categorical dims


def test_ship_an_np_as_its_nap_without_ppo(tiny_runs, tmp_path):
    """No PPO run: the NP ships as both kinds, and the card says that no PPO was run (not
    that PPO lost to its warm start) and draws the NP's training curves."""
    from botorch_nap.pretrained.build import EQUALS_NP_NOTE

    out = ship("nopo", {"np": tiny_runs / "np", "nap": tiny_runs / "np"}, [], root=tmp_path)
    card = (out / CARD_FILE).read_text()
    assert EQUALS_NP_NOTE in card and "No PPO policy ships" in card and "never beat" not in card
    assert "`nap/` is the same NP (no PPO run)" in card and "PPO iterations" not in card
    assert (out / "np_curves.png").stat().st_size > 0 and not (out / "nap_curves.png").exists()
    assert "![np training curves](np_curves.png)" in card
    ppo = ship("withppo", {"np": tiny_runs / "np", "nap": tiny_runs / "nap"}, [], root=tmp_path)
    card = (ppo / CARD_FILE).read_text()
    assert "No PPO policy ships" not in card and (ppo / "nap_curves.png").is_file()


def test_ship_names_a_different_np_as_nap_as_another_np(tiny_runs, tmp_path):
    """Two NP runs of different weights as np/ and nap/: the card said "the same NP"."""
    import shutil

    other = tmp_path / "other_np"
    shutil.copytree(tiny_runs / "np", other)
    net = NAPTransformer.load(other)
    with torch.no_grad():
        next(net.parameters()).add_(0.1)
    net.save(other, meta=json.loads((other / "config.json").read_text())["meta"])
    out = ship("twonps", {"np": tiny_runs / "np", "nap": other}, [], root=tmp_path / "ship")
    card = (out / CARD_FILE).read_text()
    assert "is another NP (no PPO run; its weights differ" in card
    assert "is the same NP" not in card


def test_ship_a_distilled_student(tiny_runs, tmp_path):
    """A student of ``pretrain --teacher`` ships as an NP (no PPO run) whose card says how it
    was trained: distillation steps from its teachers, not NP steps."""
    fam = get_family("gp_prior", dim=3, min_dim=2, n_features=64)
    teacher = NAPTransformer.load(tiny_runs / "np")
    torch.manual_seed(1)
    student = NAPTransformer(replace(teacher.config, d_model=8, n_heads=2))
    pretrain(
        student,
        fam,
        steps=4,
        val_every=2,
        out_dir=tmp_path / "student",
        progress=False,
        teachers=[teacher],
    )
    out = ship(
        "small",
        {"np": tmp_path / "student", "nap": tmp_path / "student"},
        [],
        root=tmp_path / "pkg",
    )
    card = (out / CARD_FILE).read_text()
    assert "4 distillation steps from 1 teacher(s)" in card and "NP steps" not in card
    assert "No PPO policy ships" in card and "d_model 8" in card


def test_ship_a_policy_trained_on_another_models_np(tiny_runs, tmp_path):
    """A NAP whose policy alone was trained (``--trainable policy``) on a shipped model's
    NP: the card names both stages' families, points to the base card for the NP, and says
    that the NAP's bar head is the NP's (not that an auxiliary loss trained it)."""
    base = ship("base", {"np": tiny_runs / "np", "nap": tiny_runs / "np"}, [], root=tmp_path)
    policy = tmp_path / "policy_run"
    shutil.copytree(tiny_runs / "nap", policy)
    cfg = json.loads((policy / "config.json").read_text())
    cfg["meta"].update(
        family="gp_prior_rbf_3d", ppo={**cfg["meta"].get("ppo", {}), "trainable": "policy"}
    )
    (policy / "config.json").write_text(json.dumps(cfg))
    out = ship("short", {"np": base / "np", "nap": policy}, [], root=tmp_path)
    card = (out / CARD_FILE).read_text()
    assert "`gp_prior_rbf_2-3d` (np), `gp_prior_rbf_3d` (nap)" in card
    assert "| np | `base`'s np (see its card) | in its card |" in card
    assert "(`--trainable policy`)" in card and "auxiliary NP loss" not in card
    assert (out / "np" / "weights.pt").read_bytes() == (base / "np" / "weights.pt").read_bytes()


def test_card_minutes_add_up_the_sessions_of_a_resumed_run(tmp_path):
    """``elapsed_s`` restarts at each ``--resume``; the card's minutes are their sum."""
    from botorch_nap.pretrained.build import _training_minutes

    (tmp_path / "log.csv").write_text(
        "step,elapsed_s,val_nll\n10,60,\n20,120,1.0\n30,30,\n40,90,0.9\n50,,\n"
    )
    assert _training_minutes(tmp_path) == pytest.approx((120 + 90) / 60)
    assert _training_minutes(tmp_path / "missing") is None


def test_ship_refuses_runs_of_different_dims(tiny_runs, tmp_path):
    other = NAPTransformer(NAPConfig(dim_x=4, d_model=16, n_layers=1, n_heads=2, d_ff=32))
    other.save(tmp_path / "other", meta={"kind": "pretrain", "val_nll": 1.0})
    with pytest.raises(ValueError, match="disagree on input dims"):
        ship("bad", {"np": tmp_path / "other", "nap": tiny_runs / "nap"}, [], root=tmp_path)


def test_missing_shipped_model_names_what_ships():
    with pytest.raises(FileNotFoundError, match="no shipped nap checkpoint named 'nope'"):
        checkpoint_path("nope", "nap")
    with pytest.raises(ValueError, match="kind must be one of"):
        checkpoint_path("gp_prior", "gp")


SHIPPED = sorted({e["name"] for e in available()})


def test_models_command_lists_what_ships(capsys):
    assert cli_main(["models"]) == 0
    out = capsys.readouterr().out
    for name in SHIPPED:
        assert name in out


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_model_is_complete_small_and_loads(name):
    """Both kinds, a card, at most 5 MB each, and weights the card's sha256 names."""
    card = (checkpoint_path(name, "nap").parent / CARD_FILE).read_text()
    for kind in ("np", "nap"):
        path = checkpoint_path(name, kind)
        weights = path / "weights.pt"
        assert weights.stat().st_size <= 5 * 1024 * 1024
        assert hashlib.sha256(weights.read_bytes()).hexdigest()[:16] in card
        cfg = json.loads((path / "config.json").read_text())["network"]
        net = NAPTransformer.load(path)
        assert net.config.dim_x == cfg["dim_x"]
    assert "## Reproduce" in card
    # the NP's pretraining command, or the shipped model whose NP it reuses (whose card has it)
    base = re.search(r"# np/ is botorch_nap/pretrained/(\w+)/np", card)
    kept = re.search(r"# np/ is (docs/results/models/\w+)", card)  # a former shipped NP
    assert (
        "botorch-nap pretrain" in card
        or (base and base.group(1) in SHIPPED)
        or (kept and (Path(__file__).resolve().parents[2] / kept.group(1) / "weights.pt").is_file())
    )
    # the PPO command, unless the card says that none was run (the NP ships as the NAP)
    assert "botorch-nap train" in card or "No PPO policy ships" in card


@pytest.mark.parametrize("name", SHIPPED)
def test_from_pretrained_builds_working_acquisitions(name):
    from botorch.optim import optimize_acqf

    from botorch_nap import NAPAcquisition, NeuralProcessModel, NPExpectedImprovement

    net = NAPTransformer.load(checkpoint_path(name, "nap"))
    d = net.config.min_dim or net.config.dim_x
    g = torch.Generator().manual_seed(0)
    cats = net.config.categories
    if cats and any(cats):
        # A categorical model (antibody, eda): ordinal codes 0..k-1, decisions over a pool.
        from botorch.optim import optimize_acqf_discrete

        counts = torch.tensor(cats, dtype=torch.float64)
        X = (torch.rand(8, d, generator=g, dtype=torch.float64) * counts).floor()
        pool = (torch.rand(64, d, generator=g, dtype=torch.float64) * counts).floor()
        bounds = torch.stack([torch.zeros(d, dtype=torch.float64), counts - 1])
    else:
        X = torch.rand(8, d, generator=g, dtype=torch.float64)
        pool = None
        bounds = torch.stack([torch.zeros(d), torch.ones(d)]).double()
    Y = (X / bounds[1] - 0.3).pow(2).sum(-1, keepdim=True).neg()
    for acqf in (
        NAPAcquisition.from_pretrained(name, X, Y, bounds),
        NPExpectedImprovement.from_pretrained(name, X, Y, bounds),
    ):
        if pool is None:
            x, _ = optimize_acqf(acqf, bounds, q=1, num_restarts=2, raw_samples=32)
            assert x.shape == (1, d) and ((x >= 0) & (x <= 1)).all()
        else:
            x, _ = optimize_acqf_discrete(acqf, q=1, choices=pool)
            assert (pool == x).all(-1).any()
    post = NeuralProcessModel.from_pretrained(name, X, Y, bounds=bounds).posterior(X[:2])
    assert torch.isfinite(post.mean).all()


def test_user_constructors_leave_torchs_generator_alone():
    # torch.manual_seed(0), then a constructor, then optimize_acqf's raw samples: the same
    # samples as without the constructor (so a loop is reproducible however it loads).
    from botorch_nap import NAPAcquisition, NeuralProcessModel, NPExpectedImprovement

    X = torch.rand(6, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    Y = X.sum(-1, keepdim=True)
    torch.manual_seed(0)
    expected = torch.rand(4)
    for build in (
        NAPAcquisition.from_pretrained,
        NPExpectedImprovement.from_pretrained,
        NeuralProcessModel.from_pretrained,
    ):
        torch.manual_seed(0)
        build("gp_prior", X, Y)
        assert torch.equal(torch.rand(4), expected), build


@pytest.mark.parametrize("name", SHIPPED)
def test_a_nap_equal_to_its_np_says_so(name):
    from botorch_nap.pretrained.build import EQUALS_NP_NOTE

    card = (checkpoint_path(name, "nap").parent / CARD_FILE).read_text()
    same = (checkpoint_path(name, "nap") / "weights.pt").read_bytes() == (
        checkpoint_path(name, "np") / "weights.pt"
    ).read_bytes()
    assert (EQUALS_NP_NOTE in card) == same


@pytest.mark.parametrize("name", SHIPPED)
def test_every_card_says_what_nap_adds_over_its_np(name):
    """A shipped NAP either equals its NP (the card says so) or its card reports, from the
    test split, whether it beats its NP (issue 13)."""
    from botorch_nap.pretrained.build import EQUALS_NP_NOTE

    card = (checkpoint_path(name, "nap").parent / CARD_FILE).read_text()
    assert EQUALS_NP_NOTE in card or "## On the test split" in card


def test_ship_writes_the_equality_note(tiny_runs, tmp_path):
    import shutil

    from botorch_nap.pretrained.build import EQUALS_NP_NOTE

    same = tmp_path / "nap_equal_to_np"  # a PPO run whose best checkpoint is the warm start
    shutil.copytree(tiny_runs / "nap", same)
    shutil.copy2(tiny_runs / "np" / "weights.pt", same / "weights.pt")
    card = (
        ship("t", {"np": tiny_runs / "np", "nap": same}, [], root=tmp_path) / CARD_FILE
    ).read_text()
    assert EQUALS_NP_NOTE in card
    differ = tmp_path / "nap_moved"  # a PPO run that changed the weights
    shutil.copytree(tiny_runs / "nap", differ)
    net, meta = NAPTransformer.load_with_meta(differ)
    with torch.no_grad():
        net.acq_mlp[-1].bias.add_(0.1)
    net.save(differ, meta=meta)
    card = (
        ship("u", {"np": tiny_runs / "np", "nap": differ}, [], root=tmp_path) / CARD_FILE
    ).read_text()
    assert EQUALS_NP_NOTE not in card


def test_shipped_models_load_from_an_installed_wheel(tmp_path):
    """The models must ship inside the package (package_data), not only in the source tree:
    build the wheel, install it into an empty folder, and load every model from there with
    the source tree off the import path."""
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    wheels, target = tmp_path / "wheels", tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(repo),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("botorch_nap-*.whl")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import botorch_nap, botorch_nap.pretrained as p;"
        "from botorch_nap.nn.transformer import NAPTransformer;"
        "assert botorch_nap.__file__.startswith(sys.argv[1]), botorch_nap.__file__;"
        "names = sorted({e['name'] for e in p.available()});"
        "[NAPTransformer.load(p.checkpoint_path(n, k)) for n in names for k in ('np', 'nap')];"
        "print(' '.join(names))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(target)], cwd=tmp_path, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == SHIPPED


def test_shipped_files_hold_no_machine_paths():
    from botorch_nap.pretrained import ROOT

    for f in sorted(ROOT.glob("*/*/config.json")) + sorted(ROOT.glob("*/MODEL_CARD.md")):
        text = f.read_text()
        for root in ("/work/", "/root/", "/home/", "/tmp/", "/Users/"):
            assert root not in text, (str(f.relative_to(ROOT)), root)


@functools.cache
def _results_files() -> dict:
    """docs/results/*.json by file name (about 50 MB of JSON: parsed once per session)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "docs" / "results"
    return {f.name: json.loads(f.read_text()) for f in sorted(root.glob("*.json"))}


def _weights_sha(name: str, kind: str) -> str:
    path = checkpoint_path(name, kind) / "weights.pt"
    return hashlib.sha256(path.read_bytes()).hexdigest()


#: Shipped models whose NAP is not their NP (the others' cards say so: see above).
APART_FROM_NP = [n for n in SHIPPED if _weights_sha(n, "nap") != _weights_sha(n, "np")]


def test_committed_results_were_made_with_the_shipped_weights():
    """README's Results come from docs/results; a re-shipped model (or one whose decision
    settings changed) must have its rows rerun (``benchmark --redo-changed``), else the figures
    describe weights or decisions that no longer ship."""
    stale = []
    for fname, data in _results_files().items():
        for m, info in data.get("methods", {}).items():
            ck = info.get("checkpoint") or ""
            if ck.startswith("shipped:"):
                name, _, kind = ck.removeprefix("shipped:").partition("/")
                if info["weights_sha256"] != _weights_sha(name, kind):
                    stale.append(f"{fname}: {m}")
                # Off a pool, the model's decision settings make the decisions too.
                continuous = data.get("config", {}).get("pool_size") is None
                now = decision_defaults(checkpoint_path(name, kind))
                if continuous and info.get("decisions", {}) != now:
                    stale.append(f"{fname}: {m} (decisions {info.get('decisions', {})} != {now})")
    assert not stale, f"results made with other weights or settings than the shipped: {stale}"


@pytest.mark.parametrize("name", APART_FROM_NP)
def test_a_nap_that_differs_from_its_np_beats_its_own_ei_on_test(name):
    """Issue 13: a NAP ships apart from its NP only with a measured benefit. Some results
    file (made with these very weights) must show NAP ahead of EI from its own bar head and
    of NP-EI from its warm start ``np/``, in AUC, paired Wilcoxon p < 0.05."""
    from botorch_nap.benchmark.metrics import summarize

    nap_sha, np_sha = _weights_sha(name, "nap"), _weights_sha(name, "np")
    wins = []
    for fname, data in _results_files().items():
        methods = data.get("methods", {})
        if data["config"].get("split") != "test":
            continue
        if methods.get(f"nap:{name}", {}).get("weights_sha256") != nap_sha:
            continue
        rivals = [
            m
            for m, info in methods.items()
            if m.startswith("np-ei:") and info.get("weights_sha256") in (nap_sha, np_sha)
        ]
        if {methods[m]["weights_sha256"] for m in rivals} != {nap_sha, np_sha}:
            continue  # both comparators must have run beside NAP
        tests = summarize(data, reference=f"nap:{name}", n_boot=10)["tests"]
        if all(tests[m]["auc"]["better"] == "b" and tests[m]["auc"]["p"] < 0.05 for m in rivals):
            wins.append(fname)
    assert wins, f"no results file shows nap:{name} ahead of EI from its own head and its np/"


def test_decision_defaults_belong_to_the_shipped_folders_only(tmp_path):
    """gp_prior's recommended near-incumbent starts come with its shipped folders (both
    kinds), not with a copy of its weights elsewhere, nor with the other shipped models."""
    for kind in ("nap", "np"):
        got = decision_defaults(checkpoint_path("gp_prior", kind))
        assert got == {"near_incumbent": 64, "near_sigma": 0.01}
        got["near_incumbent"] = 0  # a copy: the table itself is untouched
        assert DECISIONS["gp_prior"]["near_incumbent"] == 64
    copy = shutil.copytree(checkpoint_path("gp_prior", "np"), tmp_path / "gp_prior" / "np")
    assert decision_defaults(copy) == {}
    assert decision_defaults(checkpoint_path("gp_prior", "np").parent) == {}  # not a kind
    for entry in available():
        if entry["name"] not in DECISIONS:
            assert decision_defaults(entry["path"]) == {}


def test_ship_elsewhere_says_how_to_load_it_and_what_was_not_recorded(tiny_runs, tmp_path):
    """A model shipped outside the package loads by path (from_pretrained looks in the
    package only); without --command the card says the commands were not recorded."""
    out = ship("mine", {"np": tiny_runs / "np", "nap": tiny_runs / "np"}, [], root=tmp_path)
    card = (out / CARD_FILE).read_text()
    where = (tmp_path / "mine").as_posix()
    assert f'NAPAcquisition.from_checkpoint("{where}/nap"' in card
    assert f"`nap:{where}/nap`" in card and "from_pretrained" not in card
    assert "not recorded" in card and "```bash" not in card
    # The card's own instruction works.
    X, Y = torch.rand(6, 2, dtype=torch.float64), torch.rand(6, 1, dtype=torch.float64)
    NAPAcquisition.from_checkpoint(f"{where}/nap", X, Y)


def test_ship_a_fit_folder_and_a_failure_leaves_nothing(tiny_runs, tmp_path):
    """`botorch-nap fit` output (its top level is a copy of the winning stage) ships with
    that stage's record; a ship that fails leaves no half-written model behind."""
    fit_dir = tmp_path / "fit_out"
    shutil.copytree(tiny_runs / "nap", fit_dir / "ppo")
    net, meta = NAPTransformer.load_with_meta(tiny_runs / "nap")
    net.save(fit_dir, meta={"family_spec": {"name": "gp_prior"}, "fit": True, "source": "ppo"})
    out = ship("fromfit", {"np": tiny_runs / "np", "nap": fit_dir}, [], root=tmp_path / "r")
    assert "PPO iterations" in (out / CARD_FILE).read_text()
    # Where PPO lost, fit keeps the NP and says why in its source.
    np_fit = tmp_path / "fit_np"
    shutil.copytree(tiny_runs / "np", np_fit / "np")
    why = "np (PPO did not beat the warm start on validation)"
    net.save(np_fit, meta={"family_spec": {"name": "gp_prior"}, "fit": True, "source": why})
    out = ship("fromfitnp", {"np": np_fit / "np", "nap": np_fit}, [], root=tmp_path / "r")
    assert "NP steps" in (out / CARD_FILE).read_text()
    with pytest.raises(ValueError, match="one folder name"):
        ship("a/b", {"np": tiny_runs / "np"}, [], root=tmp_path / "r")

    bad = tmp_path / "bad_run"
    NAPTransformer(NAPConfig(dim_x=4, d_model=16, n_layers=1, n_heads=2, d_ff=32)).save(
        bad, meta={"kind": "pretrain", "val_nll": 1.0}
    )
    with pytest.raises(ValueError, match="disagree on input dims"):
        ship("broken", {"np": bad, "nap": tiny_runs / "nap"}, [], root=tmp_path / "r")
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["fromfit", "fromfitnp"]


@pytest.mark.parametrize("name", SHIPPED)
def test_every_image_a_shipped_card_shows_is_there(name):
    card_dir = checkpoint_path(name, "nap").parent
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", (card_dir / CARD_FILE).read_text())
    missing = [i for i in images if not (card_dir / i).is_file()]
    assert not missing, f"{name}'s card shows missing images {missing}"

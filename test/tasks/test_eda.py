"""Logic synthesis through ABC: the live objective, the pool builder and the ``eda`` family.

ABC (Debian package berkeley-abc) is installed by ``make install-dev``; these tests do not
skip without it: they fail naming the package."""

from __future__ import annotations

import json

import pytest
import torch

from botorch_nap.cli import main as cli_main
from botorch_nap.tasks import get_family
from botorch_nap.tasks.eda import (
    DEFAULT_CIRCUITS,
    OPERATORS,
    RESYN2,
    EDAObjective,
    MappedStats,
    find_abc,
    run_abc,
)


def test_live_evaluation_matches_hand_checked_abc_runs(epfl_dir):
    # By hand: berkeley-abc -c "read epfl/router.aig; strash; <ops>; if -K 6; print_stats"
    #   resyn2                                      -> nd = 84, lev = 5
    #   rewrite; rewrite; refactor -z; resub; balance -> nd = 85, lev = 6
    f = EDAObjective("router", length=5, data_dir=epfl_dir)
    assert f.reference == MappedStats(84, 5)
    ops = ["rewrite", "rewrite", "refactor -z", "resub", "balance"]
    assert f.stats(ops) == MappedStats(85, 6)
    assert f.qor(ops) == pytest.approx(85 / 84 + 6 / 5)
    # Codes (what BoTorch optimises) give the same value, batched.
    codes = torch.tensor([OPERATORS.index(o) for o in ops], dtype=torch.float64)
    out = f(torch.stack([codes, codes]))
    assert out.shape == (2,) and out[0].item() == pytest.approx(f.qor(ops))
    assert f.bounds.shape == (2, 5) and f.cat_dims == [0, 1, 2, 3, 4]
    # resyn2 itself scores exactly 2 (both ratios 1).
    assert EDAObjective("router", length=10, data_dir=epfl_dir).qor(list(RESYN2)) == 2.0


def test_bad_sequences_are_refused(epfl_dir):
    f = EDAObjective("ctrl", length=3, data_dir=epfl_dir)
    with pytest.raises(ValueError, match="unknown synthesis operator"):
        f.qor(["balance", "map", "rewrite"])
    with pytest.raises(ValueError, match="expected ... x 3"):
        f(torch.zeros(2, 4))
    with pytest.raises(ValueError, match="codes must lie in 0..6"):
        f(torch.tensor([[0.0, 7.0, 1.0]]))
    with pytest.raises(ValueError, match="NaN"):
        f(torch.tensor([[0.0, float("nan"), 1.0]]))
    with pytest.raises(FileNotFoundError, match="nosuch"):
        EDAObjective("nosuch", data_dir=epfl_dir)


def test_lut_size_is_part_of_the_task(epfl_dir, tmp_path):
    from botorch_nap.tasks.eda import parse_task_name, task_name

    assert task_name("router") == "router" and task_name("router", 4) == "router_k4"
    assert parse_task_name("router_k4") == ("router", 4)
    assert parse_task_name("int2float") == ("int2float", 6)
    # By hand: resyn2 then `if -K 4` on router -> nd = 104, lev = 7.
    f4 = EDAObjective("router", length=2, data_dir=epfl_dir, lut_inputs=4)
    assert f4.reference == MappedStats(104, 7)
    with pytest.raises(ValueError, match="lut_inputs"):
        EDAObjective("router", lut_inputs=1, data_dir=epfl_dir)


def test_missing_abc_names_the_package(monkeypatch, epfl_dir, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no executables at all
    with pytest.raises(RuntimeError, match="berkeley-abc"):
        find_abc()
    with pytest.raises(RuntimeError, match="apt-get install berkeley-abc"):
        run_abc(epfl_dir / "epfl" / "ctrl.aig", ["balance"])


def test_pool_builder_resumes_and_loads_as_a_family(epfl_dir, tmp_path):
    out = tmp_path / "pools"
    args = ["eda-pools", "--out", str(out), "--circuits", "ctrl,router", "--length", "4"]
    args += ["--lut-inputs", "6"]
    args += ["--data-dir", str(epfl_dir), "--no-progress"]
    assert cli_main([*args, "--n", "3"]) == 0
    lines = (out / "cache" / "ctrl.jsonl").read_text().splitlines()
    assert len(lines) == 3
    # A larger n evaluates only the new sequences; the first 3 are the same ones.
    assert cli_main([*args, "--n", "5", "--workers", "2"]) == 0
    lines5 = (out / "cache" / "ctrl.jsonl").read_text().splitlines()
    assert len(lines5) == 5 and lines5[:3] == lines
    fam = get_family("eda", pools=out)
    assert fam.space.category_counts() == [7] * 4
    assert fam.space.choices[0] == list(OPERATORS)
    task = fam.task("router")
    assert len(task) == 5
    # Stored values are -QoR, recomputable live from the cached sequence.
    rec = json.loads((out / "cache" / "router.jsonl").read_text().splitlines()[0])
    f = EDAObjective("router", length=4, data_dir=epfl_dir)
    assert f(torch.tensor([rec["seq"]], dtype=torch.float64)).item() == pytest.approx(rec["qor"])
    row = (task.X == torch.tensor(rec["seq"], dtype=torch.float64)).all(-1)
    assert task.y[row].item() == pytest.approx(-rec["qor"])


def test_shipped_pools():
    fam = get_family("eda")
    assert fam.space.dim == 20 and fam.space.category_counts() == [7] * 20
    ids = [i for s in ("train", "val", "test") for i in fam.split_ids(s)]
    assert sorted(ids) == sorted([*DEFAULT_CIRCUITS, *(f"{c}_k4" for c in DEFAULT_CIRCUITS)])
    assert all(len(fam.task(i)) == 500 for i in ids)
    # Split by circuit: a circuit's LUT-size variants never straddle two splits.
    from botorch_nap.tasks.eda import parse_task_name

    circuits = {
        s: {parse_task_name(t)[0] for t in fam.split_ids(s)} for s in ("train", "val", "test")
    }
    assert not (circuits["train"] & circuits["test"]) and not (circuits["val"] & circuits["test"])
    assert circuits["test"] == {"int2float"} and fam.split_ids("test") == [
        "int2float",
        "int2float_k4",
    ]

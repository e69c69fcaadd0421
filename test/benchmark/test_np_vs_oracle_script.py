"""``benchmarks/np_vs_oracle_gp.py`` runs end to end, with and without the Bayes column."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from botorch_nap.nn.transformer import NAPConfig, NAPTransformer

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "np_vs_oracle_gp.py"


@pytest.mark.parametrize("bayes", [False, True])
def test_script_prints_a_row_per_context_size(tmp_path, bayes):
    torch.manual_seed(0)
    net = NAPTransformer(NAPConfig(dim_x=2, d_model=16, n_layers=1, d_ff=32, n_buckets=16))
    net.save(tmp_path / "net")
    cmd = [sys.executable, str(SCRIPT), str(tmp_path / "net"), "--dim", "2"]
    cmd += ["--ns", "4", "8", "--targets", "5"] + (["--bayes-range", "0.1", "1.0"] * bayes)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert ("Bayes, ls 0.1-1" in lines[1]) == bayes
    rows = [line for line in lines[2:] if line.split("|")[0].strip() in ("4", "8")]
    assert len(rows) == 2
    # exact GP, bars, fitted GP, the network (+ Bayes): every cell a finite number
    cells = [float(c.split()[0]) for c in rows[0].split("|")[1:]]
    assert len(cells) == 4 + bayes and all(torch.isfinite(torch.tensor(cells)))


@pytest.mark.parametrize("pick", ["--near", "--far"])
def test_near_or_far_targets(tmp_path, pick):
    torch.manual_seed(0)
    net = NAPTransformer(NAPConfig(dim_x=2, d_model=16, n_layers=1, d_ff=32, n_buckets=16))
    net.save(tmp_path / "net")
    cmd = [sys.executable, str(SCRIPT), str(tmp_path / "net"), "--dim", "2", "--ns", "6"]
    cmd += ["--targets", "12", "--contexts", "search", pick, "3"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    want = "nearest the best" if pick == "--near" else "farthest from the context"
    assert f"the 3 targets {want}" in out.stdout
    both = cmd + ["--near" if pick == "--far" else "--far", "2"]
    out = subprocess.run(both, capture_output=True, text=True, timeout=600)
    assert out.returncode != 0 and "give one" in out.stderr

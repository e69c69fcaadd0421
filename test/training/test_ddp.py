"""Data parallel: 2 CPU processes (gloo) under torchrun keep identical parameters."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

WORKER = Path(__file__).with_name("ddp_worker.py")


@pytest.mark.parametrize("reward", ["vs_npei", "vs_npei:cache"])
def test_two_process_gloo_parameters_stay_identical(tmp_path, reward):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        str(WORKER),
        str(tmp_path),
        reward,
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert r0["iterations"] == r1["iterations"] == 3
    assert any(not torch.equal(r0["init"][k], r1["init"][k]) for k in r0["init"])
    for k in r0["state"]:
        assert torch.equal(r0["state"][k], r1["state"][k]), k
    assert any(not torch.equal(r0["state"][k], r0["init"][k]) for k in r0["state"])
    # Rank 0 wrote the run; rank 1 its own RNG streams for resume.
    assert (tmp_path / "run" / "last" / "train_state.pt").is_file()
    assert (tmp_path / "run" / "last" / "rank1" / "train_state.pt").is_file()

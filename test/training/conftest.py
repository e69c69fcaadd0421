"""Fixtures for the training tests: tiny networks and a cheap GP-prior family."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from training_helpers import tiny_config

from botorch_nap.nn.transformer import NAPTransformer

DATA_DIR = Path(__file__).resolve().parents[3] / "shared" / "data"


@pytest.fixture
def tiny_net() -> NAPTransformer:
    torch.manual_seed(0)
    return NAPTransformer(tiny_config())


@pytest.fixture(scope="session")
def gp_family():
    from botorch_nap.tasks import get_family

    return get_family("gp_prior", dim=2, n_features=64, n_train=8, n_val=4, n_test=2)


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny networks run ~10x faster single-threaded on a busy 2-core machine (OpenMP
    threads spin-wait for each other on microsecond ops); restored after each test."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def hpobench_family():
    if not (DATA_DIR / "hpobench_xgb" / "hpobench_xgb.npz").is_file():
        pytest.skip(f"hpobench_xgb data not found under {DATA_DIR}")
    from botorch_nap.tasks import get_family

    return get_family("hpobench_xgb", data_dir=DATA_DIR)

"""Shared fixtures for the task-family tests: the repo-relative data folder."""

from __future__ import annotations

from pathlib import Path

import pytest

#: The CI runs in a fresh clone with ``shared/`` beside it.
DATA_DIR = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data").resolve()


def data_dir_or_skip(relpath: str) -> Path:
    """The data root if ``relpath`` exists under it, else skip the test with the reason."""
    if not (DATA_DIR / relpath).exists():
        pytest.skip(f"needs {relpath} under {DATA_DIR} (the repo-relative ../shared/data)")
    return DATA_DIR


@pytest.fixture
def hpobench_dir() -> Path:
    return data_dir_or_skip("hpobench_xgb/hpobench_xgb.npz")


@pytest.fixture
def yahpo_dir() -> Path:
    return data_dir_or_skip("yahpo/scenarios.json")


@pytest.fixture
def antibody_dir() -> Path:
    return data_dir_or_skip("antibody/absolut_energies.csv.gz")


@pytest.fixture
def epfl_dir() -> Path:
    return data_dir_or_skip("epfl/router.aig")

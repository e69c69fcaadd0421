"""Fixtures for the Ax tests: a briefly pretrained 2-d checkpoint on disk, small optimiser.

The checkpoint is the suite's shared ``pretrained_2d`` network (test/conftest.py; trained
once and cached by pytest), written to a session temp dir: Ax options hold paths only.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

# This folder is named like the package under test; with pytest's default "prepend" import
# mode it lands on sys.path and would shadow ``ax_integration`` as a namespace package in an
# environment whose editable install predates the package. Put the repository root first.
REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


@pytest.fixture(scope="session")
def checkpoint_2d(pretrained_2d, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("nap_ckpt_2d")
    pretrained_2d.save(path)
    return str(path)


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny networks gain nothing from intra-op threads, and on a busy 2-core machine two
    OpenMP threads made one NAP forward+backward ~200x slower (800 ms vs 3.5 ms)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(autouse=True)
def _quiet_ax_logs():
    """Ax logs every trial at INFO; keep test output readable."""
    import logging

    logger = logging.getLogger("ax")
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)

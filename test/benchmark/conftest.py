"""Benchmark tests run torch on one thread: several threads on a shared 2-core machine make
small GP fits ~10x slower (thread contention), and the runs here are tiny."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

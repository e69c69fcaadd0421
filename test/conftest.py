"""Shared fixtures: a tiny network, and one briefly pretrained on a 2-d GP prior.

The pretrained fixture is real (the library's own NP pretraining on GP-prior samples,
~30 s on 2 cores); tests that need *sensible* behaviour (q-batches that spread out,
NP-EI that prefers promising regions) use it instead of random weights.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from botorch_nap.nn.transformer import NAPConfig, NAPTransformer

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
TINY = dict(d_model=32, n_layers=2, n_heads=4, d_ff=64, n_buckets=32)


@pytest.fixture
def tiny_net():
    def make(dim: int = 2, seed: int = 0, **kw) -> NAPTransformer:
        torch.manual_seed(seed)
        return NAPTransformer(NAPConfig(dim_x=dim, **{**TINY, **kw}))

    return make


@pytest.fixture(scope="session")
def pretrained_2d(request) -> NAPTransformer:
    from botorch_nap.tasks import get_family
    from botorch_nap.training.pretrain import pretrain

    # Cached in pytest's cache dir across runs (a fresh clone trains it once).
    cache = request.config.cache.mkdir("pretrained_2d_v3")
    if (cache / "config.json").is_file():
        return NAPTransformer.load(cache).eval()
    torch.manual_seed(0)
    net = NAPTransformer(
        NAPConfig(dim_x=2, d_model=64, n_layers=2, n_heads=4, d_ff=128, n_buckets=64)
    )
    pretrain(
        net,
        # The library's continuous prior: smooth to wiggly functions, and points placed next
        # to earlier ones so that the net learns what an observed point means.
        get_family("gp_prior", dim=2, lengthscale_range=(0.1, 1.0), near_frac=0.2),
        steps=1000,
        lr=1e-3,
        batch_size=32,
        n_points=(8, 48),
        val_every=300,
        progress=False,
        seed=0,
    )
    net.save(cache)
    return net.eval()


@pytest.fixture(scope="session")
def require_data():
    """``require_data("hpobench_xgb/hpobench_xgb.npz")`` -> the data root, or skip with why.

    A fixture rather than an importable helper: several test folders have a conftest.py,
    and ``from conftest import ...`` would pick whichever was imported first.
    """

    def need(relpath: str) -> Path:
        if not (SHARED_DATA / relpath).exists():
            pytest.skip(f"needs {relpath} under {SHARED_DATA} (the repo-relative ../shared/data)")
        return SHARED_DATA

    return need


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA

"""Tutorial 2 (NAP in an Ax Client next to Ax's GP) runs end to end in a tiny setting."""

import importlib.util
import logging
import math
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
TUTORIALS = REPO / "tutorials"
# ``ax_integration`` must resolve to the package, not to the test folder of the same name
# (see test/ax_integration/conftest.py), also when this file runs on its own.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

TINY = ["--trials", "5", "--n-init", "3", "--restarts", "2", "--raw-samples", "32"]


@pytest.fixture(autouse=True)
def _restore_globals():
    """The script sets torch's thread count and Ax's log level; keep them to this test."""
    threads, level = torch.get_num_threads(), logging.getLogger("ax").level
    yield
    torch.set_num_threads(threads)
    logging.getLogger("ax").setLevel(level)


def _load():
    spec = importlib.util.spec_from_file_location("tutorial_02", TUTORIALS / "02_ax_client.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def _check(out: dict, printed: str) -> None:
    assert set(out) == {"NAP", "Ax GP"}
    for best in out.values():
        assert len(best) == 5 and all(math.isfinite(v) for v in best)
        assert all(b <= a for a, b in zip(best, best[1:]))  # best-so-far never worsens
    # Same seeded Sobol start for both methods.
    assert out["NAP"][:3] == out["Ax GP"][:3]
    assert "NAP best" in printed and "Ax GP best" in printed and "s/trial" in printed


def test_tutorial_02_with_checkpoint(pretrained_2d, tmp_path, capsys):
    pretrained_2d.save(tmp_path / "ckpt")
    out = _load().main([*TINY, "--checkpoint", str(tmp_path / "ckpt")])
    printed = capsys.readouterr().out
    _check(out, printed)
    assert f"Network: checkpoint {tmp_path / 'ckpt'}" in printed


# A 2-step network is close to random and may re-propose evaluated points; the strategy
# then warns (NAPFallbackWarning) by design.
@pytest.mark.filterwarnings("ignore::ax_integration.NAPFallbackWarning")
def test_tutorial_02_trains_a_tiny_np_when_none_is_given(tmp_path, capsys):
    argv = [*TINY, "--no-shipped", "--train-steps", "2", "--save-checkpoint", str(tmp_path / "np")]
    out = _load().main(argv)
    printed = capsys.readouterr().out
    _check(out, printed)
    assert "TRAINED a tiny NP for 2 steps" in printed
    assert (tmp_path / "np" / "config.json").is_file()


def test_tutorial_02_uses_the_shipped_gp_prior_for_branin(capsys):
    """Without --checkpoint, a shipped model that takes 2-d inputs (gp_prior first) runs; the
    check for one used to need an exact dim_x and trained a tiny NP instead."""
    out = _load().main(TINY)
    printed = capsys.readouterr().out
    _check(out, printed)
    assert "Network: shipped checkpoint 'gp_prior'" in printed

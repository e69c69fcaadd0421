"""Launched by test_ddp.py under torchrun: a tiny PPO run; each rank saves its weights."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from training_helpers import tiny_config  # noqa: E402

from botorch_nap.nn.transformer import NAPTransformer  # noqa: E402
from botorch_nap.tasks import get_family  # noqa: E402
from botorch_nap.training.ppo import PPOConfig, ddp_setup, train  # noqa: E402


def main(out: str, mode: str) -> None:
    # mode: a reward, or "<reward>:cache" for the policy-only update on cached features
    reward, _, cache = mode.partition(":")
    extra = dict(trainable="policy", cache_frozen=True, top_k=3) if cache else {}
    torch.set_num_threads(1)
    rank, world, device = ddp_setup("cpu")
    assert world == 2
    torch.manual_seed(100 + rank)  # different inits: rank 0's must win
    net = NAPTransformer(tiny_config())
    init = {k: v.clone() for k, v in net.state_dict().items()}
    fam = get_family("gp_prior", dim=2, n_features=64, n_train=8, n_val=4, n_test=2)
    cfg = PPOConfig(
        iterations=3,
        episodes_per_iter=3,
        horizon=4,
        n_init=2,
        n_candidates=16,
        minibatch_size=4,
        update_epochs=1,
        val_every=2,
        val_episodes=4,
        checkpoint_every=1,
        warmup_iters=1,
        reward=reward,
        **extra,
    )
    m = train(net, fam, cfg, out_dir=Path(out) / "run", progress=False)
    torch.save(
        {"state": net.state_dict(), "init": init, "iterations": m["iterations"]},
        Path(out) / f"rank{rank}.pt",
    )
    torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

"""BOEnv: rewards and regrets against hand-computed cases, masking, histories."""

from __future__ import annotations

import math

import pytest
import torch

from botorch_nap.normalization import standardize_history
from botorch_nap.training.env import (
    BOEnv,
    EnvConfig,
    greedy_rollout,
    history_batch,
    masked_scores,
    npei_score_fn,
    random_score_fn,
)
from botorch_nap.training.ppo import policy_logits, sample_gumbel, top_k_mask


def hand_env(reward: str, reference=None, **kw) -> BOEnv:
    """One episode over 6 candidates with y = [0, 1, 2, 3, 4, 10]; initial point: index 0."""
    cfg = EnvConfig(horizon=3, n_init=1, n_candidates=6, reward=reward, **kw)
    env = BOEnv(family=None, cfg=cfg, reference=reference)
    X = torch.linspace(0, 1, 6).view(1, 6, 1)
    y = torch.tensor([[0.0, 1.0, 2.0, 3.0, 4.0, 10.0]], dtype=torch.float64)
    env.reset_with(X, y, torch.tensor([[0]]))
    return env


def test_regret_and_log_regret_rewards_hand_case():
    env = hand_env("log_regret", regret_floor=1e-3)
    assert env.initial_regret.item() == pytest.approx(1.0)  # (10 - 0) / (10 - 0)
    r = env.step(torch.tensor([4]))  # best 4: regret 6/10
    assert env.regret().item() == pytest.approx(6.0)
    assert env.normalized_regret().item() == pytest.approx(0.6)
    assert r.item() == pytest.approx(-math.log10(0.6))
    r = env.step(torch.tensor([2]))  # worse point: best stays 4
    assert r.item() == pytest.approx(-math.log10(0.6))
    r = env.step(torch.tensor([5]))  # optimum: regret 0 -> floored at 1e-3 -> reward 3
    assert r.item() == pytest.approx(3.0)
    assert env.done
    with pytest.raises(RuntimeError):
        env.step(torch.tensor([1]))

    env = hand_env("regret")
    assert env.step(torch.tensor([3])).item() == pytest.approx(-0.7)


def test_early_weight_hand_case():
    env = hand_env("regret", early_weight=1.0)  # weights 2, 1.5, 1 for t = 1, 2, 3
    rs = [env.step(torch.tensor([a])).item() for a in (1, 2, 3)]
    assert rs == pytest.approx([-0.9 * 2.0, -0.8 * 1.5, -0.7 * 1.0])


def test_vs_npei_reward_is_regret_difference_to_greedy_reference():
    # The reference prefers low x: its greedy rollout picks 1, 2, 3 (regrets .9, .8, .7).
    ref = lambda X, y, order, n: -X[..., 0]  # noqa: E731
    env = hand_env("vs_npei", reference=ref)
    assert env.baseline_regret[0].tolist() == pytest.approx([0.9, 0.8, 0.7])
    assert env.t == 0 and env.order[0, 1:].tolist() == [-1, -1, -1]  # env itself untouched
    assert env.step(torch.tensor([4])).item() == pytest.approx(0.9 - 0.6)
    assert env.step(torch.tensor([1])).item() == pytest.approx(0.8 - 0.6)
    assert env.step(torch.tensor([5])).item() == pytest.approx(0.7 - 0.0)
    env = hand_env("vs_npei_log", reference=ref, regret_floor=1e-2)
    assert env.step(torch.tensor([5])).item() == pytest.approx(math.log10(0.9) - math.log10(1e-2))
    with pytest.raises(ValueError):
        BOEnv(None, EnvConfig(horizon=3, n_init=1, n_candidates=6, reward="vs_npei"))


def test_flat_candidate_set_has_zero_regret():
    cfg = EnvConfig(horizon=1, n_init=1, n_candidates=2, reward="log_regret")
    env = BOEnv(None, cfg)
    env.reset_with(torch.rand(1, 2, 1), torch.ones(1, 2, dtype=torch.float64), torch.tensor([[0]]))
    assert env.step(torch.tensor([1])).item() == pytest.approx(3.0)


def test_step_rejects_evaluated_candidate():
    env = hand_env("regret")
    with pytest.raises(ValueError, match="already evaluated"):
        env.step(torch.tensor([0]))


def test_history_batch_ragged_matches_manual():
    X = torch.rand(2, 7, 3)
    y = torch.randn(2, 7, dtype=torch.float64)
    order = torch.tensor([[3, 1, 6, 0, -1], [2, 5, 4, 1, 0]])
    n_hist = torch.tensor([2, 4])
    h = history_batch(X, y, order, n_hist)
    assert h.hist_x.shape == (2, 4, 3)
    assert h.mask.tolist() == [[True, True, False, False], [True] * 4]
    assert torch.equal(h.hist_x[1], X[1, [2, 5, 4, 1]])
    assert torch.equal(h.hist_x[0, :2], X[0, [3, 1]])
    yn, mean, std = standardize_history(y[0, [3, 1]].unsqueeze(0))
    assert torch.allclose(h.hist_y[0, :2], yn[0])
    assert h.mean[0] == pytest.approx(mean.item()) and h.std[0] == pytest.approx(std.item())
    assert h.evaluated[0].nonzero().flatten().tolist() == [1, 3]
    assert h.evaluated[1].nonzero().flatten().tolist() == [1, 2, 4, 5]


def test_masking_never_picks_evaluated(gp_family, tiny_net):
    """Scores that *prefer* evaluated points: greedy, sampled and top-k picks avoid them."""
    cfg = EnvConfig(horizon=10, n_init=3, n_candidates=16)
    env = BOEnv(gp_family, cfg, generator=torch.Generator().manual_seed(0))
    env.reset(8)
    gen = torch.Generator().manual_seed(1)
    while not env.done:
        evil = env.evaluated.double() * 1e6 + torch.rand(env.evaluated.shape, generator=gen)
        logits = policy_logits(evil, env.evaluated, 1.0, None)
        allowed = top_k_mask(logits, env.evaluated, 3)
        assert not (allowed & env.evaluated).any()
        assert (allowed.sum(-1) == 3).all()
        a = sample_gumbel(policy_logits(evil, env.evaluated, 1.0, allowed), gen)
        assert not env.evaluated.gather(1, a[:, None]).any()
        assert not env.evaluated.gather(
            1, masked_scores(evil, env.evaluated).argmax(-1)[:, None]
        ).any()
        env.step(a)
    assert (env.evaluated.sum(-1) == 13).all()
    # Greedy rollouts of the network and of random search: all steps distinct.
    for fn in (npei_score_fn(tiny_net), random_score_fn(torch.Generator().manual_seed(2))):
        env.reset(4)
        regrets = greedy_rollout(env, fn)
        assert regrets.shape == (4, 10)
        assert (regrets[:, 1:] <= regrets[:, :-1]).all()  # simple regret never increases
        for row in env.order:
            assert len(set(row.tolist())) == row.numel()


def test_gumbel_sampling_matches_softmax():
    logits = torch.tensor([[0.0, math.log(3.0), -1e30]])
    gen = torch.Generator().manual_seed(0)
    draws = torch.stack([sample_gumbel(logits, gen) for _ in range(4000)])
    freq = torch.bincount(draws.flatten(), minlength=3).double() / draws.numel()
    assert freq[2] == 0
    assert freq[1].item() == pytest.approx(0.75, abs=0.03)


def test_pool_episodes_regret_against_subpool(hpobench_family, tiny_net):
    """Sub-pools of a real pool family: regret is measured against the sub-pool's best."""
    from training_helpers import tiny_config

    from botorch_nap.nn.transformer import NAPTransformer

    net = NAPTransformer(tiny_config(dim=6))
    cfg = EnvConfig(horizon=6, n_init=3, n_candidates=40, reward="vs_npei")
    env = BOEnv(
        hpobench_family,
        cfg,
        generator=torch.Generator().manual_seed(0),
        reference=npei_score_fn(net),
    )
    env.reset(5)
    assert env.X.shape == (5, 40, 6) and 0 <= env.X.min() and env.X.max() <= 1
    assert env.baseline_regret.shape == (5, 6)
    total = torch.zeros(5, dtype=torch.float64)
    while not env.done:
        a = masked_scores(torch.rand(5, 40), env.evaluated).argmax(-1)
        total += env.step(a)
    best = env.y.gather(1, env.order).max(-1).values
    expect = (env.y.max(-1).values - best) / (env.y.max(-1).values - env.y.min(-1).values)
    assert torch.allclose(env.normalized_regret(), expect)
    assert torch.allclose(env.reward(), env.baseline_regret[:, -1] - expect)


def test_history_batch_applies_the_y_transform():
    from botorch_nap.normalization import fit_y_scale

    g = torch.Generator().manual_seed(3)
    X = torch.rand(1, 9, 2, generator=g)
    y = torch.rand(1, 9, generator=g, dtype=torch.float64).log()
    order = torch.tensor([[4, 0, 8, 2, 6, 1, 3]])
    h = history_batch(X, y, order, torch.tensor([7]), "yeo-johnson")
    ref, scale = fit_y_scale(y[:, order[0]], kind="yeo-johnson")
    torch.testing.assert_close(h.hist_y, ref)
    # Unevaluated candidates go through the same fitted map (PPO's auxiliary NP loss).
    torch.testing.assert_close(h.scale(y), scale(y))
    plain = history_batch(X, y, order, torch.tensor([7]))
    assert plain.scale.lam is None and not torch.allclose(plain.hist_y, h.hist_y)

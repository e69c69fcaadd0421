"""PPO: GAE against a plain loop, a short run, and exact (bit-for-bit) resume."""

from __future__ import annotations

import math

import pytest
import torch
from training_helpers import InterruptingFamily, log_rows, same_state, tiny_config

from botorch_nap.nn.transformer import NAPTransformer
from botorch_nap.training.ppo import PPOConfig, compute_gae, train


def gae_reference(rewards: list[float], values: list[float], gamma: float, lam: float):
    """Advantages by definition: A_t = sum_l (gamma lam)^l delta_{t+l}, V after T = 0."""
    T = len(rewards)
    v = values + [0.0]
    deltas = [rewards[t] + gamma * v[t + 1] - v[t] for t in range(T)]
    adv = [sum((gamma * lam) ** (k - t) * deltas[k] for k in range(t, T)) for t in range(T)]
    return adv, [a + vv for a, vv in zip(adv, values)]


@pytest.mark.parametrize("gamma,lam", [(0.98, 0.98), (1.0, 1.0), (0.9, 0.0), (0.5, 0.7)])
def test_gae_matches_reference_loop(gamma, lam):
    g = torch.Generator().manual_seed(0)
    rewards = torch.randn(3, 7, generator=g, dtype=torch.float64)
    values = torch.randn(3, 7, generator=g, dtype=torch.float64)
    adv, ret = compute_gae(rewards, values, gamma, lam)
    for i in range(3):
        a_ref, r_ref = gae_reference(rewards[i].tolist(), values[i].tolist(), gamma, lam)
        assert adv[i].tolist() == pytest.approx(a_ref, rel=1e-10, abs=1e-10)
        assert ret[i].tolist() == pytest.approx(r_ref, rel=1e-10, abs=1e-10)


def test_gae_monte_carlo_case():
    # gamma = lambda = 1: returns are the plain reward-to-go, whatever the values.
    r = torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64)
    _, ret = compute_gae(r, torch.tensor([[5.0, -1.0, 0.5]], dtype=torch.float64), 1.0, 1.0)
    assert ret.tolist() == [[6.0, 5.0, 3.0]]


def small_cfg(**kw) -> PPOConfig:
    base = dict(
        iterations=4,
        episodes_per_iter=4,
        horizon=5,
        n_init=2,
        n_candidates=24,
        minibatch_size=8,
        update_epochs=2,
        val_every=2,
        val_episodes=6,
        checkpoint_every=1,
        warmup_iters=1,
    )
    return PPOConfig(**{**base, **kw})


def test_ppo_run_logs_and_checkpoints(gp_family, tmp_path):
    torch.manual_seed(0)
    net = NAPTransformer(tiny_config())
    m = train(net, gp_family, small_cfg(), out_dir=tmp_path, progress=False)
    assert m["iterations"] == 4
    assert [v[0] for v in m["val_curve"]] == [0, 2, 4]
    rows = log_rows(tmp_path / "log.csv")
    assert [r["iteration"] for r in rows] == ["0", "1", "2", "3", "4"]
    for r in rows[1:]:
        for k in ("return", "pg_loss", "v_loss", "aux_nll", "entropy"):
            assert math.isfinite(float(r[k]))
    best, meta = NAPTransformer.load_with_meta(tmp_path, expected_dim=2)
    assert meta["kind"] == "ppo" and meta["step"] == m["best_iteration"]
    state = torch.load(tmp_path / "last" / "train_state.pt", weights_only=True)
    assert state["step"] == 4
    with pytest.raises(ValueError, match="dim"):
        NAPTransformer.load(tmp_path, expected_dim=3)


@pytest.mark.parametrize(
    "reward,top_k,aux_targets,cache",
    [("log_regret", 0, 0, False), ("vs_npei", 3, 0, False), ("vs_npei", 3, 4, False)]
    + [("vs_npei", 3, 4, True)],
)
def test_resume_is_bit_for_bit(gp_family, tmp_path, reward, top_k, aux_targets, cache):
    cfg = small_cfg(reward=reward, top_k=top_k, aux_targets=aux_targets)
    if cache:
        cfg = small_cfg(reward=reward, top_k=top_k, trainable="policy", cache_frozen=True)
    torch.manual_seed(0)
    net_a = NAPTransformer(tiny_config())
    train(net_a, gp_family, cfg, out_dir=tmp_path / "a", progress=False)

    torch.manual_seed(0)
    net_b = NAPTransformer(tiny_config())
    with pytest.raises(KeyboardInterrupt):  # killed during iteration 3's rollout
        train(net_b, InterruptingFamily(gp_family, 2), cfg, out_dir=tmp_path / "b", progress=False)
    assert torch.load(tmp_path / "b" / "last" / "train_state.pt", weights_only=True)["step"] == 2
    torch.manual_seed(123)  # a different init: everything must come from the checkpoint
    net_c = NAPTransformer(tiny_config())
    m = train(net_c, gp_family, cfg, out_dir=tmp_path / "b", resume=True, progress=False)
    assert m["iterations"] == 4
    assert same_state(net_a, net_c)
    assert log_rows(tmp_path / "a" / "log.csv") == log_rows(tmp_path / "b" / "log.csv")
    best_a = NAPTransformer.load(tmp_path / "a")
    best_b = NAPTransformer.load(tmp_path / "b")
    assert same_state(best_a, best_b)


def test_policy_only_training_leaves_the_np_untouched(gp_family, tmp_path):
    """trainable="policy": the trunk and bar head keep the warm start's weights (so EI from
    NAP's own bar head is exactly NP-EI) while the acquisition head does learn."""
    torch.manual_seed(0)
    net = NAPTransformer(tiny_config())
    start = {k: v.clone() for k, v in net.state_dict().items()}
    train(net, gp_family, small_cfg(trainable="policy", lr=1e-2), out_dir=tmp_path, progress=False)
    last = NAPTransformer.load(tmp_path / "last").state_dict()
    changed = {k for k, v in last.items() if not torch.equal(v, start[k])}
    assert changed, "nothing trained"
    assert all(k.startswith(("acq_mlp.", "acq_ei_scale", "value_head.")) for k in changed), changed
    assert any(k.startswith("acq_mlp.") for k in changed)


def _states(gp_family, n_states=6, n_cand=20, top_k=4):
    """A batch of PPO states (histories of 2..5 points) with a top-k allowed mask."""
    from botorch_nap.training.common import sample_tasks

    g = torch.Generator().manual_seed(3)
    X, y = sample_tasks(gp_family, n_states, n_cand, g, "train", torch.float32, "cpu")
    order = torch.stack([torch.randperm(n_cand, generator=g)[:8] for _ in range(n_states)])
    n_hist = torch.randint(2, 6, (n_states,), generator=g)
    allowed = torch.zeros(n_states, n_cand, dtype=torch.bool)
    for i in range(n_states):
        free = [
            j
            for j in torch.randperm(n_cand, generator=g).tolist()
            if j not in order[i, : n_hist[i]].tolist()
        ]
        allowed[i, free[:top_k]] = True
    return X, y.double(), order, n_hist, allowed


def test_subsampled_update_keeps_the_policy_terms_exact(gp_family):
    """aux_targets > 0 scores only the top-k support for the policy: its log-probs, entropy
    and their gradients equal those of the full pass over every candidate."""
    from botorch_nap.training.ppo import PolicyForward

    torch.manual_seed(0)
    net = NAPTransformer(tiny_config())
    X, y, order, n_hist, allowed = _states(gp_family)
    full_fw = PolicyForward(net, small_cfg(top_k=4))
    sub_fw = PolicyForward(net, small_cfg(top_k=4, aux_targets=5))
    policy_idx = allowed.to(torch.int8).argsort(dim=-1, descending=True, stable=True)[:, :4]
    keys = torch.rand(allowed.shape, generator=torch.Generator().manual_seed(1))

    def policy_terms(fw, *extra):
        net.zero_grad()
        logits, value, _ = fw(X, y, order, n_hist, allowed, *extra)
        logp = torch.log_softmax(logits, -1)
        if extra:  # back to candidate indices
            logp = torch.full(X.shape[:2], -math.inf).scatter(1, policy_idx, logp)
        ent = -(logp.exp() * logp.nan_to_num(neginf=0.0)).sum(-1)
        (logp.gather(1, policy_idx).sum() + ent.sum()).backward()
        grads = {k: p.grad.clone() for k, p in net.named_parameters() if p.grad is not None}
        return logp.gather(1, policy_idx), ent, value, grads

    lp_full, ent_full, v_full, g_full = policy_terms(full_fw)
    lp_sub, ent_sub, v_sub, g_sub = policy_terms(sub_fw, policy_idx, keys)
    torch.testing.assert_close(lp_sub, lp_full, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ent_sub, ent_full, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(v_sub, v_full)
    assert g_full.keys() == g_sub.keys() and g_full
    for k in g_full:
        torch.testing.assert_close(g_sub[k], g_full[k], rtol=1e-4, atol=1e-6)


def test_subsampled_np_loss_is_the_mean_over_the_drawn_targets(gp_family):
    """The NP loss of the subsampled update is the bar NLL averaged over the unevaluated
    candidates with the smallest keys; with more targets than unevaluated candidates it is
    the full loss."""
    from botorch_nap.training.env import encode, history_batch
    from botorch_nap.training.ppo import PolicyForward

    torch.manual_seed(0)
    net = NAPTransformer(tiny_config())
    X, y, order, n_hist, allowed = _states(gp_family)
    policy_idx = allowed.to(torch.int8).argsort(dim=-1, descending=True, stable=True)[:, :4]
    keys = torch.rand(allowed.shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        h = history_batch(X, y, order, n_hist)
        out = net.score(encode(net, h), X)
        y_t = ((y - h.mean[:, None]) / h.std[:, None]).float()
        nll = net.bar.nll(out.bar_logits, y_t)  # s x N, every candidate
        _, _, aux_full = PolicyForward(net, small_cfg(top_k=4))(X, y, order, n_hist, allowed)
        _, _, aux_3 = PolicyForward(net, small_cfg(top_k=4, aux_targets=3))(
            X, y, order, n_hist, allowed, policy_idx, keys
        )
        _, _, aux_all = PolicyForward(net, small_cfg(top_k=4, aux_targets=50))(
            X, y, order, n_hist, allowed, policy_idx, keys
        )
    for i in range(len(X)):
        free = [j for j in keys[i].argsort().tolist() if not h.evaluated[i, j]]
        assert float(aux_3[i]) == pytest.approx(float(nll[i, free[:3]].mean()), rel=1e-5)
    torch.testing.assert_close(aux_all, aux_full, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("top_k,aux_targets", [(0, 0), (3, 0), (3, 4)])
def test_frozen_cache_gives_the_full_updates_result(gp_family, tmp_path, top_k, aux_targets):
    """trainable="policy" with cache_frozen: the update reads the heads' inputs kept from
    the rollout. Same episodes (the first rollout is bit for bit the same, and the RNG
    stream stays aligned), the same losses and, up to float rounding, the same weights as
    re-running the network in the update; and the heads do train."""
    runs = {}
    for cache in (False, True):
        cfg = small_cfg(
            trainable="policy",
            cache_frozen=cache,
            top_k=top_k,
            aux_targets=aux_targets,
            reward="vs_npei",
            lr=1e-2,
        )
        torch.manual_seed(0)
        net = NAPTransformer(tiny_config())
        start = {k: v.clone() for k, v in net.state_dict().items()}
        train(net, gp_family, cfg, out_dir=tmp_path / str(cache), progress=False)
        runs[cache] = net, log_rows(tmp_path / str(cache) / "log.csv")
    (net_a, rows_a), (net_b, rows_b) = runs[False], runs[True]
    assert rows_a[1]["return"] == rows_b[1]["return"]
    # With aux_targets the full update logs its NP loss on a draw of targets; the cache keeps
    # the mean over every unevaluated candidate (the frozen NP loss trains nothing).
    for k in ("pg_loss", "v_loss", "entropy") + (() if aux_targets else ("aux_nll",)):
        assert float(rows_b[1][k]) == pytest.approx(float(rows_a[1][k]), rel=1e-4, abs=1e-6), k
    assert [r["return"] for r in rows_a] == [r["return"] for r in rows_b]  # same episodes
    state_a, state_b = net_a.state_dict(), net_b.state_dict()
    for k in state_a:
        if k == "acq_mlp.2.bias":
            # It shifts every logit alike: its exact gradient is 0, so what Adam steps on is
            # rounding, scaled up to lr.
            continue
        torch.testing.assert_close(state_b[k], state_a[k], rtol=1e-3, atol=1e-4)
    assert not torch.equal(state_b["acq_mlp.2.weight"], start["acq_mlp.2.weight"])


def test_config_validation():
    with pytest.raises(ValueError, match="cache_frozen"):
        PPOConfig(cache_frozen=True)  # trainable="all": the trunk moves, nothing is constant
    with pytest.raises(ValueError, match="top_k"):
        PPOConfig(aux_targets=8)  # top_k = 0: the policy spans every candidate
    with pytest.raises(ValueError, match="aux_targets"):
        PPOConfig(aux_targets=-1, top_k=5)
    with pytest.raises(ValueError):
        PPOConfig(reward="nope")
    with pytest.raises(ValueError):
        PPOConfig(n_candidates=10, horizon=24)
    with pytest.raises(ValueError):
        PPOConfig(trainable="everything")


@pytest.mark.parametrize("top_k,aux_targets,policy_only", [(0, 0, 0), (3, 4, 0), (3, 0, 1)])
def test_ppo_learns_where_the_best_region_is(top_k, aux_targets, policy_only):
    """PPO alone (no auxiliary loss, so only the policy gradient moves the network) must
    learn that large ``x_0`` is rewarded: greedy regret falls and the probability of the
    rewarded action rises. Learning in the wrong direction (e.g. a flipped advantage sign)
    makes both move the other way. The subsampled update (top-k support, ``aux_targets``)
    must learn too, and so must the heads alone on a frozen trunk (``trainable="policy"``
    with the update reading the rollout's features, ``cache_frozen``)."""
    from training_helpers import SlopeFamily

    from botorch_nap.training.env import nap_score_fn
    from botorch_nap.training.ppo import evaluate_greedy, policy_logits, validation_episodes

    fam = SlopeFamily()
    cfg = small_cfg(
        iterations=12,
        episodes_per_iter=8,
        horizon=4,
        n_init=2,
        n_candidates=32,
        minibatch_size=16,
        update_epochs=4,
        reward="regret",
        aux_coef=0.0,
        top_k=top_k,
        aux_targets=aux_targets,
        **(dict(trainable="policy", cache_frozen=True) if policy_only else {}),
        lr=1e-2 if policy_only else 3e-3,  # the heads alone, on random trunk features
        trunk_lr_mult=1.0,
        warmup_iters=0,
        final_lr_frac=1.0,
        val_every=0,
    )
    torch.manual_seed(0)
    net = NAPTransformer(tiny_config())
    episodes = validation_episodes(fam, cfg, 64, seed=99, device="cpu", dtype=torch.float32)
    X, y, init = episodes

    def measure():
        net.eval()
        regret = float(evaluate_greedy(nap_score_fn(net), fam, cfg, episodes).mean())
        with torch.no_grad():  # probability of the best candidate in the first state
            order = torch.cat([init, torch.full((len(X), cfg.horizon), -1)], 1)
            n_hist = torch.full((len(X),), cfg.n_init)
            acq = nap_score_fn(net)(X, y, order, n_hist)
            evaluated = torch.zeros_like(acq, dtype=torch.bool).scatter_(1, init, True)
            p = torch.softmax(policy_logits(acq, evaluated, 1.0, None), -1)
            best = y.masked_fill(evaluated, -1.0).argmax(-1)
            p_best = float(p.gather(1, best[:, None]).mean())
        net.train()
        return regret, p_best

    regret0, p0 = measure()
    train(net, fam, cfg, progress=False)
    regret1, p1 = measure()
    assert regret1 < 0.5 * regret0, (regret0, regret1)
    assert p1 > 2.0 * p0, (p0, p1)


def test_horizon_range_trains_t_over_T_across_budgets(gp_family, monkeypatch):
    """With ``horizon_max`` the episodes' budgets (and so t/T) vary between iterations."""
    import botorch_nap.training.ppo as ppo

    seen = set()
    inner = ppo.history_batch

    def spy(X, y, order, n_hist, *args):
        seen.add(order.shape[1])
        return inner(X, y, order, n_hist, *args)

    monkeypatch.setattr(ppo, "history_batch", spy)
    cfg = small_cfg(iterations=6, horizon=3, horizon_max=6, val_every=0)
    torch.manual_seed(0)
    train(NAPTransformer(tiny_config()), gp_family, cfg, progress=False)
    assert seen <= {cfg.n_init + T for T in range(3, 7)} and len(seen) >= 2, seen
    with pytest.raises(ValueError, match="horizon_max"):
        PPOConfig(horizon=5, horizon_max=4)


def test_aux_np_loss_uses_the_networks_y_scale():
    """PPO's auxiliary NP loss scores candidates' values on the history's fitted scale: for a
    Yeo-Johnson network, the warped one (as in pretraining and at decision time)."""
    from botorch_nap.normalization import fit_y_scale
    from botorch_nap.training.env import history_batch

    net = NAPTransformer(tiny_config(y_transform="yeo-johnson"))
    g = torch.Generator().manual_seed(0)
    X = torch.rand(1, 12, 2, generator=g)
    y = torch.rand(1, 12, generator=g, dtype=torch.float64).log()
    order = torch.tensor([[0, 3, 5, 7, 9, 11, -1]])
    h = history_batch(X, y, order, torch.tensor([6]), net.config.y_transform)
    logits = net.score(net.encode_history(h.hist_x, h.hist_y.float()), X).bar_logits
    _, scale = fit_y_scale(y[:, order[0, :6]], kind="yeo-johnson")
    expected = net.bar.nll(logits, scale(y).float())
    from botorch_nap.training.ppo import _bar_nll

    torch.testing.assert_close(_bar_nll(net, logits, y, h), expected)


def test_clipped_policy_loss_hand_cases():
    from botorch_nap.training.ppo import clipped_policy_loss

    def loss(r, a):
        ratio = torch.tensor([r], dtype=torch.float64, requires_grad=True)
        out = clipped_policy_loss(ratio, torch.tensor([a], dtype=torch.float64), 0.15)
        out.backward()
        return float(out), float(ratio.grad)

    # Past the clip in the advantage's direction: the clipped value, and no gradient.
    assert loss(1.5, 1.0) == (pytest.approx(-1.15), 0.0)
    assert loss(0.5, -1.0) == (pytest.approx(0.85), 0.0)
    # Against the advantage's direction the unclipped (worse) value counts, with its gradient.
    assert loss(1.5, -1.0) == (pytest.approx(1.5), pytest.approx(1.0))
    assert loss(0.5, 1.0) == (pytest.approx(-0.5), pytest.approx(-1.0))
    # Inside the clip range: -A r.
    assert loss(1.1, 2.0) == (pytest.approx(-2.2), pytest.approx(-2.0))
    # A minibatch's loss is the mean over its states.
    ratio = torch.tensor([1.5, 1.1], dtype=torch.float64)
    adv = torch.tensor([1.0, 2.0], dtype=torch.float64)
    assert float(clipped_policy_loss(ratio, adv, 0.15)) == pytest.approx((-1.15 - 2.2) / 2)


def test_value_loss_hand_cases():
    from botorch_nap.training.ppo import value_loss

    def t(*v):
        return torch.tensor(v, dtype=torch.float64)

    # Unclipped: half the squared error against the returns.
    assert float(value_loss(t(1.0), t(0.0), t(3.0), 0.15, clip=False)) == pytest.approx(2.0)
    # Clipped: the new value reached the return, but the old one moved 0.15 did not: the
    # larger error, 0.5 * 0.85^2, counts.
    assert float(value_loss(t(1.0), t(0.0), t(1.0), 0.15, clip=True)) == pytest.approx(0.36125)
    # A move within the clip: the plain error.
    assert float(value_loss(t(0.1), t(0.0), t(1.0), 0.15, clip=True)) == pytest.approx(0.405)
    # The mean over a minibatch.
    two = value_loss(t(1.0, 0.1), t(0.0, 0.0), t(1.0, 1.0), 0.15, clip=True)
    assert float(two) == pytest.approx((0.36125 + 0.405) / 2)
    assert float(value_loss(t(1.0, 0.0), t(0.0, 0.0), t(3.0, 1.0), 0.15, clip=False)) == (
        pytest.approx((2.0 + 0.5) / 2)
    )


def test_ppo_loss_adds_the_terms_with_their_signs():
    from botorch_nap.training.ppo import ppo_loss

    cfg = PPOConfig(ent_coef=0.1, vf_coef=0.5, aux_coef=0.25)
    parts = [torch.tensor(v, dtype=torch.float64) for v in (1.0, 2.0, 3.0, 4.0)]
    # pg - ent_coef * entropy (a bonus) + vf_coef * value + aux_coef * NP loss
    assert float(ppo_loss(*parts, cfg)) == pytest.approx(1.0 - 0.3 + 1.0 + 1.0)


def test_training_discounts_with_its_gamma_and_lambda(gp_family, monkeypatch):
    import botorch_nap.training.ppo as ppo

    seen = []
    inner = ppo.compute_gae

    def spy(rewards, values, gamma, lam):
        seen.append((gamma, lam))
        return inner(rewards, values, gamma, lam)

    monkeypatch.setattr(ppo, "compute_gae", spy)
    torch.manual_seed(0)
    cfg = small_cfg(iterations=1, val_every=0, gamma=0.9, gae_lambda=0.5)
    train(NAPTransformer(tiny_config()), gp_family, cfg, progress=False)
    assert seen == [(0.9, 0.5)]


def test_normalize_advantages_hand_case():
    from botorch_nap.training.ppo import normalize_advantages

    adv = torch.tensor([1.0, 2.0, 6.0], dtype=torch.float64)  # mean 3, std sqrt(7)
    expected = torch.tensor([-2.0, -1.0, 3.0], dtype=torch.float64) / (math.sqrt(7.0) + 1e-8)
    torch.testing.assert_close(normalize_advantages(adv), expected)
    one = torch.tensor([5.0], dtype=torch.float64)
    assert normalize_advantages(one) is one

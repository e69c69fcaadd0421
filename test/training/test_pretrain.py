"""NP pretraining: the loss falls, normalisation uses the context only, best weights are
kept, resume is exact."""

from __future__ import annotations

import json
import math
from dataclasses import asdict

import pytest
import torch
from training_helpers import InterruptingFamily, log_rows, same_state, tiny_config

from botorch_nap.nn.transformer import NAPConfig, NAPTransformer
from botorch_nap.normalization import standardize_history
from botorch_nap.training.common import (
    np_loss,
    random_context_sizes,
    sample_tasks,
    search_like_order,
)
from botorch_nap.training.pretrain import _draw, pretrain, validation_nll


def test_aux_loss_falls_on_gp_prior(gp_family):
    torch.manual_seed(0)
    net = NAPTransformer(tiny_config())
    val = [
        _draw(
            gp_family,
            32,
            (48, 48),
            torch.Generator().manual_seed(9),
            "val",
            1,
            torch.float32,
            "cpu",
        )
    ]
    before = validation_nll(net, val)
    assert before == pytest.approx(math.log(12.0), abs=0.15)  # ~uniform bars over [-6, 6]
    m = pretrain(
        net,
        gp_family,
        steps=300,
        batch_size=16,
        n_points=(8, 48),
        lr=2e-3,
        val_every=100,
        patience=None,
        progress=False,
    )
    after = validation_nll(net, val)
    assert after < before - 0.4, (before, after)
    assert m["best_val_nll"] < before - 0.4
    assert m["steps"] == 300 and m["steps_per_s"] > 0


def test_np_loss_normalises_by_context_only(tiny_net):
    g = torch.Generator().manual_seed(0)
    X = torch.rand(2, 6, 2, generator=g)
    y = torch.randn(2, 6, generator=g) * 10 + 3
    n_ctx = torch.tensor([2, 4])

    def reference(y):
        """Per-task loop: context stats from the context only; returns (mean, terms)."""
        terms = []
        for i in range(2):
            k = int(n_ctx[i])
            yc, mean, std = standardize_history(y[i : i + 1, :k])
            enc = tiny_net.encode_history(X[i : i + 1, :k], yc)
            logits = tiny_net.score(enc, X[i : i + 1, k:]).bar_logits
            terms.append(tiny_net.bar.nll(logits, (y[i : i + 1, k:] - mean) / std).reshape(-1))
        terms = torch.cat(terms)
        return terms.mean(), terms

    loss = np_loss(tiny_net, X, y, n_ctx)
    ref, terms = reference(y)
    assert loss.item() == pytest.approx(ref.item(), rel=1e-5)
    # Changing a target's value changes only its own term, never the context statistics:
    # the loss moves by exactly that term's change over the number of targets.
    y2 = y.clone()
    y2[0, 5] = y[0, :2].mean() - 3 * y[0, :2].std()  # z = -3: another bar than before
    l2 = np_loss(tiny_net, X, y2, n_ctx)
    ref2, terms2 = reference(y2)
    assert l2.item() == pytest.approx(ref2.item(), rel=1e-5)
    changed = (terms2 - terms).abs() > 1e-6
    assert changed.sum() == 1 and bool(changed[3])  # task 0's 4th target is x_5
    expected = (terms2[3] - terms[3]) / terms.numel()
    assert (l2 - loss).item() == pytest.approx(expected.item(), rel=1e-4, abs=1e-6)


def test_np_loss_task_weighting_averages_each_task_first(tiny_net):
    g = torch.Generator().manual_seed(1)
    X = torch.rand(2, 8, 2, generator=g)
    y = torch.randn(2, 8, generator=g)
    n_ctx = torch.tensor([1, 6])  # 7 targets and 2 targets
    per_task = [np_loss(tiny_net, X[i : i + 1], y[i : i + 1], n_ctx[i : i + 1]) for i in range(2)]
    task = np_loss(tiny_net, X, y, n_ctx, weighting="task")
    target = np_loss(tiny_net, X, y, n_ctx, weighting="target")
    assert task.item() == pytest.approx(((per_task[0] + per_task[1]) / 2).item(), rel=1e-5)
    assert target.item() == pytest.approx(
        ((7 * per_task[0] + 2 * per_task[1]) / 9).item(), rel=1e-5
    )
    assert abs(task.item() - target.item()) > 1e-4
    # Equal context sizes: the two averages agree.
    same = torch.tensor([3, 3])
    assert np_loss(tiny_net, X, y, same, weighting="task").item() == pytest.approx(
        np_loss(tiny_net, X, y, same).item(), rel=1e-6
    )
    with pytest.raises(ValueError, match="weighting"):
        np_loss(tiny_net, X, y, n_ctx, weighting="context")


def _tiny_run_hparams(family, out_dir, **kwargs) -> dict:
    """Pretrain a tiny network for 4 steps; the hyperparameters its checkpoint records."""
    torch.manual_seed(0)
    net = NAPTransformer(tiny_config())
    pretrain(
        net,
        family,
        steps=4,
        batch_size=4,
        n_points=(8, 12),
        val_every=2,
        val_tasks=4,
        out_dir=out_dir,
        progress=False,
        **kwargs,
    )
    return json.loads((out_dir / "config.json").read_text())["meta"]["hparams"]


def test_pretrain_records_its_loss_weighting(gp_family, tmp_path, tiny_net):
    assert _tiny_run_hparams(gp_family, tmp_path, loss_weighting="task")["loss_weighting"] == "task"
    with pytest.raises(ValueError, match="loss_weighting"):
        pretrain(tiny_net, gp_family, steps=1, progress=False, loss_weighting="per-point")


def test_search_like_order_never_reads_an_unchosen_value():
    # A real history is chosen from the values seen so far: the first n_order points of the
    # order must not change when the values of the points left out change.
    g = torch.Generator().manual_seed(0)
    X, y = torch.rand(16, 40, 3, generator=g), torch.randn(16, 40, generator=g)
    order = search_like_order(X, y, 25, torch.Generator().manual_seed(1))
    assert torch.equal(order.sort(-1).values, torch.arange(40).expand(16, 40))  # a permutation
    y2 = y.clone()
    rows = torch.arange(16).unsqueeze(-1)
    y2[rows, order[:, 25:]] = torch.randn(16, 15, generator=g) * 100
    again = search_like_order(X, y2, 25, torch.Generator().manual_seed(1))
    assert torch.equal(again[:, :25], order[:, :25])
    # ...whereas the chosen values steer it.
    y3 = y.clone()
    y3[rows, order[:, 5:25]] = -y3[rows, order[:, 5:25]]
    assert not torch.equal(search_like_order(X, y3, 25, torch.Generator().manual_seed(1)), order)


def test_search_like_contexts_cluster_around_their_incumbent():
    g = torch.Generator().manual_seed(0)
    X = torch.rand(64, 60, 2, generator=g)
    y = -(X - 0.3).square().sum(-1)
    order = search_like_order(X, y, 40, g, local_prob=0.8)
    Xs, ys = X.gather(1, order.unsqueeze(-1).expand_as(X)), y.gather(1, order)

    def spread(X_ctx, y_ctx):  # mean distance of the context to its best point
        best = X_ctx[torch.arange(64), y_ctx.argmax(-1)].unsqueeze(1)
        return (X_ctx - best).norm(dim=-1).mean().item()

    assert spread(Xs[:, :40], ys[:, :40]) < 0.8 * spread(X[:, :40], y[:, :40])
    assert ys[:, :40].max(-1).values.mean() > y[:, :40].max(-1).values.mean()


def test_pretrain_with_search_contexts_records_it_and_iid_draws_stay_unchanged(
    gp_family, tmp_path, tiny_net
):
    args = (gp_family, 4, (8, 12), torch.Generator().manual_seed(3), "train", 1)
    X, y, n_ctx = _draw(*args, torch.float32, None)
    X0, y0, n0 = _draw(
        *args[:3], torch.Generator().manual_seed(3), *args[4:], torch.float32, None, 0.0
    )
    assert torch.equal(X, X0) and torch.equal(n_ctx, n0)  # search_frac 0: the old stream
    Xs, ys, ns = _draw(
        *args[:3], torch.Generator().manual_seed(3), *args[4:], torch.float32, None, 1.0
    )
    assert torch.equal(ns, n_ctx) and not torch.equal(Xs, X)
    assert torch.equal(Xs.sort(1).values, X.sort(1).values)  # the same points, reordered
    assert _tiny_run_hparams(gp_family, tmp_path, search_frac=0.5)["search_frac"] == 0.5
    with pytest.raises(ValueError, match="search_frac"):
        pretrain(tiny_net, gp_family, steps=1, progress=False, search_frac=1.5)


def test_context_sizes_cover_small_contexts():
    n = random_context_sizes(4000, 10, torch.Generator().manual_seed(0))
    assert int(n.min()) == 1 and int(n.max()) == 9
    assert (n == 1).float().mean().item() == pytest.approx(1 / 9, abs=0.02)


def test_sample_tasks_unit_cube_and_direction():
    class Fam:
        class space:  # noqa: N801
            bounds = torch.tensor([[0.0, 10.0], [2.0, 20.0]])

        def sample_batch(self, b, n, generator, split="train"):
            X = torch.tensor([[[1.0, 15.0]]]).expand(b, n, 2)
            return X, torch.ones(b, n), False

    X, y = sample_tasks(Fam(), 2, 3, torch.Generator())
    assert X.shape == (2, 3, 2) and torch.allclose(X[0, 0], torch.tensor([0.5, 0.5]))
    assert (y == -1).all()  # minimisation flipped at the boundary


def test_best_weights_kept_and_saved(gp_family, tmp_path):
    torch.manual_seed(0)
    net = NAPTransformer(tiny_config())
    m = pretrain(
        net,
        gp_family,
        steps=60,
        batch_size=8,
        n_points=(6, 16),
        lr=1e-2,
        val_every=10,
        val_tasks=16,
        patience=2,
        out_dir=tmp_path,
        progress=False,
    )
    saved, meta = NAPTransformer.load_with_meta(tmp_path, expected_dim=2)
    assert same_state(saved, net)  # the returned net holds the best weights
    assert meta["step"] == m["best_step"] and meta["kind"] == "pretrain"
    assert meta["val_nll"] == pytest.approx(m["best_val_nll"])
    assert m["best_val_nll"] == min(v for _, v in m["val_curve"])
    if m["stopped_early"]:
        assert m["steps"] - m["best_step"] == 20  # two validations without improvement
    cfg = json.loads((tmp_path / "last" / "config.json").read_text())
    assert cfg["meta"]["step"] == m["steps"]
    torch.load(tmp_path / "last" / "train_state.pt", weights_only=True)
    rows = log_rows(tmp_path / "log.csv")
    assert int(rows[-1]["step"]) == m["steps"]


def _short_run(**kw) -> dict:
    """pretrain() arguments of a short, fully logged run (resume tests)."""
    base = dict(
        steps=40,
        batch_size=8,
        n_points=(6, 16),
        lr=1e-3,
        val_every=10,
        val_tasks=16,
        patience=None,
        log_every=5,
        progress=False,
    )
    return {**base, **kw}


def test_resume_is_bit_for_bit(gp_family, tmp_path):
    kw = _short_run()
    torch.manual_seed(0)
    net_a = NAPTransformer(tiny_config())
    ma = pretrain(net_a, gp_family, out_dir=tmp_path / "a", **kw)
    torch.manual_seed(0)
    with pytest.raises(KeyboardInterrupt):
        pretrain(
            NAPTransformer(tiny_config()),
            InterruptingFamily(gp_family, 25),
            out_dir=tmp_path / "b",
            **kw,
        )
    torch.manual_seed(1)
    net_c = NAPTransformer(tiny_config())
    mc = pretrain(net_c, gp_family, out_dir=tmp_path / "b", resume=True, **kw)
    assert same_state(net_a, net_c)
    assert ma["val_curve"] == mc["val_curve"]
    assert log_rows(tmp_path / "a" / "log.csv") == log_rows(tmp_path / "b" / "log.csv")


def test_stop_at_cuts_a_run_that_resumes_as_if_never_cut(gp_family, tmp_path):
    """stop_at keeps the schedule of ``steps``: the cut run's checkpoint is the uncut run's
    state at that step, and resuming it ends where the uncut run ends."""
    kw = _short_run(steps=20, val_every=5)
    torch.manual_seed(0)
    net_a = NAPTransformer(tiny_config())
    pretrain(net_a, gp_family, out_dir=tmp_path / "a", **kw)
    torch.manual_seed(0)
    mb = pretrain(
        NAPTransformer(tiny_config()), gp_family, out_dir=tmp_path / "b", stop_at=10, **kw
    )
    assert mb["steps"] == 10
    state = torch.load(tmp_path / "b" / "last" / "train_state.pt", weights_only=True)
    assert state["step"] == 10
    torch.manual_seed(1)
    net_c = NAPTransformer(tiny_config())
    mc = pretrain(net_c, gp_family, out_dir=tmp_path / "b", resume=True, **kw)
    assert mc["steps"] == 20
    assert same_state(net_a, net_c)
    assert log_rows(tmp_path / "a" / "log.csv") == log_rows(tmp_path / "b" / "log.csv")


def test_bad_arguments(gp_family, tiny_net):
    with pytest.raises(ValueError):
        pretrain(tiny_net, gp_family, steps=0)
    with pytest.raises(ValueError):
        pretrain(tiny_net, gp_family, steps=5, n_points=(1, 4))
    with pytest.raises(FileNotFoundError):
        pretrain(tiny_net, gp_family, steps=5, out_dir="/nonexistent/x", resume=True)


def test_pretrain_flags_build_fourier_features():
    from botorch_nap.cli import build_parser
    from botorch_nap.tasks import get_family
    from botorch_nap.training.commands import _build_net

    fam = get_family("gp_prior", dim=2)
    base = ["pretrain", "--family", "gp_prior", "--out", "x", "--d-model", "16", "--d-ff", "32"]
    args = build_parser().parse_args(base)
    assert not hasattr(_build_net(args, fam, torch.device("cpu")), "fourier_b")
    args = build_parser().parse_args([*base, "--x-fourier", "6", "--x-fourier-max", "8"])
    net = _build_net(args, fam, torch.device("cpu"))
    assert (net.config.x_fourier, net.config.x_fourier_max) == (6, 8.0)
    assert net.fourier_b.shape == (2, 6) and net.emb_x[0].in_features == 2 + 12


def test_np_loss_puts_targets_on_the_networks_y_scale(tiny_net):
    """A Yeo-Johnson network's loss: context and targets through the scale fitted on each
    task's context alone (the same map as at decision time)."""
    from botorch_nap.normalization import fit_y_scale

    g = torch.Generator().manual_seed(0)
    X = torch.rand(2, 12, 2, generator=g)
    y = torch.rand(2, 12, generator=g).log() * 10  # best values crowded at the top
    n_ctx = torch.tensor([6, 9])
    yj = NAPTransformer(tiny_config(y_transform="yeo-johnson"))
    yj.load_state_dict(tiny_net.state_dict())
    terms = []
    for i in range(2):
        k = int(n_ctx[i])
        yc, scale = fit_y_scale(y[i : i + 1, :k], kind="yeo-johnson")
        assert float(scale.lam) != 1.0  # the warp is on for these contexts
        logits = yj.score(yj.encode_history(X[i : i + 1, :k], yc), X[i : i + 1, k:]).bar_logits
        terms.append(yj.bar.nll(logits, scale(y[i : i + 1, k:])).reshape(-1))
    assert np_loss(yj, X, y, n_ctx).item() == pytest.approx(torch.cat(terms).mean().item(), 1e-5)
    # The same weights on the plain scale score another loss.
    assert abs(np_loss(tiny_net, X, y, n_ctx).item() - np_loss(yj, X, y, n_ctx).item()) > 1e-3


def test_pretrain_flag_sets_the_y_transform():
    from botorch_nap.cli import build_parser
    from botorch_nap.tasks import get_family
    from botorch_nap.training.commands import _build_net

    fam = get_family("gp_prior", dim=2)
    base = ["pretrain", "--family", "gp_prior", "--out", "x", "--d-model", "16", "--d-ff", "32"]
    args = build_parser().parse_args(base)
    assert _build_net(args, fam, torch.device("cpu")).config.y_transform == "standardize"
    args = build_parser().parse_args([*base, "--y-transform", "yeo-johnson"])
    assert _build_net(args, fam, torch.device("cpu")).config.y_transform == "yeo-johnson"
    args = build_parser().parse_args([*base, "--y-transform", "log"])
    with pytest.raises(ValueError, match="y_transform"):
        _build_net(args, fam, torch.device("cpu"))


def test_pretrain_flag_adds_the_distance_bias_also_to_a_loaded_network(tmp_path):
    from botorch_nap.cli import build_parser
    from botorch_nap.tasks import get_family
    from botorch_nap.training.commands import _build_net

    fam = get_family("gp_prior", dim=2)
    base = ["pretrain", "--family", "gp_prior", "--out", "x", "--d-model", "16", "--d-ff", "32"]
    cpu = torch.device("cpu")
    assert not _build_net(build_parser().parse_args(base), fam, cpu).config.distance_bias
    net = _build_net(build_parser().parse_args([*base, "--distance-bias", "1"]), fam, cpu)
    assert net.config.distance_bias and net.dist_w.shape == (net.config.n_layers, 4)
    with pytest.raises(SystemExit):  # argparse names the bad value
        build_parser().parse_args([*base, "--distance-bias", "maybe"])

    plain = NAPTransformer(tiny_config())
    plain.save(tmp_path / "plain")
    for flag, wanted in (("0", False), ("1", True)):
        args = build_parser().parse_args(
            [*base, "--init-from", str(tmp_path / "plain"), "--distance-bias", flag]
        )
        net = _build_net(args, fam, cpu)
        assert net.config.distance_bias is wanted
        # Either way the loaded weights, so the same predictions to start from.
        X, y = torch.rand(1, 6, 2), torch.randn(1, 6)
        with torch.no_grad():
            a = net.eval().score(net.encode_history(X[:, :4], y[:, :4]), X[:, 4:]).bar_logits
            b = plain.eval().score(plain.encode_history(X[:, :4], y[:, :4]), X[:, 4:]).bar_logits
        torch.testing.assert_close(a, b)


def test_pretrain_ard_flag_builds_or_adds_the_scales_and_trains_them(tmp_path):
    from botorch_nap.cli import build_parser, main
    from botorch_nap.tasks import get_family
    from botorch_nap.training.commands import _build_net

    fam = get_family("gp_prior", dim=2)
    base = ["pretrain", "--family", "gp_prior", "--out", "x", "--d-model", "16", "--d-ff", "32"]
    cpu = torch.device("cpu")
    net = _build_net(
        build_parser().parse_args([*base, "--distance-bias", "1", "--ard-bias", "1"]), fam, cpu
    )
    assert net.config.ard_bias and hasattr(net, "ard")
    with pytest.raises(ValueError, match="needs distance_bias"):
        _build_net(build_parser().parse_args([*base, "--ard-bias", "1"]), fam, cpu)

    # Added to a loaded network with a distance bias: the same predictions to start from,
    # and a short run moves the scales away from 1.
    biased = NAPTransformer(NAPConfig(**{**asdict(tiny_config()), "distance_bias": True}))
    biased.save(tmp_path / "biased")
    args = build_parser().parse_args(
        [*base, "--init-from", str(tmp_path / "biased"), "--ard-bias", "1"]
    )
    grown = _build_net(args, fam, cpu).eval()
    X, y = torch.rand(1, 9, 2), torch.randn(1, 9)
    with torch.no_grad():
        a = grown.score(grown.encode_history(X[:, :6], y[:, :6]), X[:, 6:]).bar_logits
        b = biased.eval().score(biased.encode_history(X[:, :6], y[:, :6]), X[:, 6:]).bar_logits
    torch.testing.assert_close(a, b)
    out = tmp_path / "run"
    cmd = [
        "pretrain",
        "--family",
        "gp_prior",
        "--family-kw",
        "dim=2",
        "--init-from",
        str(tmp_path / "biased"),
        "--ard-bias",
        "1",
        "--steps",
        "30",
        "--val-every",
        "10",
        "--batch-size",
        "4",
        "--out",
        str(out),
    ]
    assert main(cmd) == 0
    trained = NAPTransformer.load(out)
    assert trained.config.ard_bias and trained.ard.mlp[-1].weight.abs().sum() > 0

    # --ard-context 1 on a network with ARD scales: the context inputs added at zero weight.
    args = build_parser().parse_args([*base, "--init-from", str(out), "--ard-context", "1"])
    ctx = _build_net(args, fam, cpu).eval()
    assert ctx.config.ard_context
    with torch.no_grad():
        a = ctx.score(ctx.encode_history(X[:, :6], y[:, :6]), X[:, 6:]).bar_logits
        b = trained.eval().score(trained.encode_history(X[:, :6], y[:, :6]), X[:, 6:])
    torch.testing.assert_close(a, b.bar_logits)

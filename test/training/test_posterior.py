"""Posterior targets: the Gaussian in the bars, the loss's agreement with the NP loss, and
pretraining with it (recorded, resumed, refused where it cannot apply)."""

from __future__ import annotations

import json

import pytest
import torch
from training_helpers import run_cli, tiny_config

from botorch_nap.nn.transformer import NAPTransformer
from botorch_nap.normalization import fit_y_scale
from botorch_nap.tasks.gp_prior import PriorBatch
from botorch_nap.training.common import np_loss
from botorch_nap.training.posterior import gaussian_in_bars, posterior_loss
from botorch_nap.training.pretrain import _draw, pretrain


@pytest.mark.parametrize("transform", ["standardize", "yeo-johnson"])
def test_gaussian_in_bars_sums_to_one_and_lands_in_the_right_bar(tiny_net, transform):
    y = torch.randn(3, 10, dtype=torch.float64) * 2 + 1
    _, scale = fit_y_scale(y, torch.ones_like(y, dtype=torch.bool), transform)
    mean = torch.tensor([[0.5, 1.0], [2.0, -1.0], [1.0, 30.0]], dtype=torch.float64)
    p = gaussian_in_bars(tiny_net.bar, scale, mean, torch.full_like(mean, 1e-10))
    assert p.shape == (3, 2, tiny_net.bar.n_buckets)
    torch.testing.assert_close(p.sum(-1), torch.ones_like(mean))
    # A sharp Gaussian puts its mass into the bar that holds its mean on the task's scale
    # (the edge bar for a mean beyond the bars' range, where the bars clamp values).
    where = tiny_net.bar.bucket_index(scale(mean).clamp(-6, 6).float())
    assert torch.equal(p.argmax(-1), where) and (p.max(-1).values > 0.99).all()
    wide = gaussian_in_bars(tiny_net.bar, scale, mean, torch.full_like(mean, 4.0))
    assert (wide[:2].max(-1).values < 0.5).all()  # spread over several bars in range


def test_posterior_loss_is_the_np_loss_where_the_value_is_known(tiny_net):
    # Noise-free targets that repeat context points: the predictive is a point mass at the
    # observed value, so the two losses agree.
    g = torch.Generator().manual_seed(0)
    X = torch.rand(4, 10, 2, generator=g, dtype=torch.float64)
    X[:, 5:] = X[:, :5]
    y = torch.randn(4, 10, generator=g, dtype=torch.float64)
    y[:, 5:] = y[:, :5]
    batch = PriorBatch(X, y, torch.full((4, 2), 0.3).double(), torch.zeros(4).double(), "rbf")
    n_ctx = torch.full((4,), 5)
    with torch.no_grad():
        post = posterior_loss(tiny_net, batch, n_ctx)
        plain = np_loss(tiny_net, X.float(), y.float(), n_ctx)
    assert float(post) == pytest.approx(float(plain), abs=2e-3)


@pytest.mark.parametrize("multiscale", [False, True])
def test_posterior_loss_equals_the_np_loss_on_average(gp_family, multiscale):
    if multiscale:  # the sum kernel's posterior must be as exact as the plain one
        from botorch_nap.tasks import get_family

        gp_family = get_family(
            "gp_prior",
            dim=2,
            n_features=64,
            n_val=4,
            multiscale_frac=1.0,
            fine_weight_range=(0.3, 0.5),
        )
    torch.manual_seed(0)
    net = NAPTransformer(tiny_config())
    pretrain(
        net,
        gp_family,
        steps=60,
        batch_size=16,
        n_points=(8, 24),
        lr=3e-3,
        val_every=60,
        patience=None,
        progress=False,
    )
    g = torch.Generator().manual_seed(1)
    post, plain = [], []
    with torch.no_grad():
        for _ in range(30):
            X, y, n_ctx, batch = _draw(
                gp_family, 32, (8, 24), g, "train", 1, torch.float32, "cpu", with_prior=True
            )
            post.append(float(posterior_loss(net, batch, n_ctx)))
            plain.append(float(np_loss(net, X, y, n_ctx)))
    post, plain = torch.tensor(post), torch.tensor(plain)
    gap = (post - plain).mean()
    # Unbiased: the mean difference is within noise; and the posterior loss, the expectation
    # over the values, varies less from batch to batch.
    assert abs(float(gap)) < 3 * float((post - plain).std()) / 30**0.5 + 0.01, gap
    assert float((post - plain).abs().mean()) > 1e-3


def test_pretrain_with_posterior_targets_learns_and_records_it(gp_family, tmp_path):
    torch.manual_seed(0)
    net = NAPTransformer(tiny_config())
    m = pretrain(
        net,
        gp_family,
        steps=200,
        batch_size=16,
        n_points=(8, 32),
        lr=3e-3,
        val_every=100,
        patience=None,
        progress=False,
        out_dir=tmp_path,
        posterior_targets=True,
    )
    assert m["val_curve"][-1][1] < 2.0  # from ~log(12) = 2.48 for uniform bars
    meta = json.loads((tmp_path / "config.json").read_text())["meta"]
    assert meta["hparams"]["posterior_targets"] is True


def test_posterior_targets_refused_where_they_cannot_apply(tiny_net, gp_family):
    from botorch_nap.tasks import get_family

    with pytest.raises(ValueError, match="knows the prior"):
        pretrain(tiny_net, get_family("branin"), steps=1, progress=False, posterior_targets=True)
    with pytest.raises(ValueError, match="pick one"):
        pretrain(
            tiny_net,
            gp_family,
            steps=1,
            progress=False,
            posterior_targets=True,
            teachers=[NAPTransformer(tiny_config())],
        )


def test_cli_posterior_targets_are_recorded_kept_on_resume_and_checked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    family = ["--family", "gp_prior", "--family-kw", "dim=2", "n_features=64", "n_val=2"]
    net = [
        "--d-model",
        "8",
        "--n-layers",
        "1",
        "--n-heads",
        "2",
        "--d-ff",
        "16",
        "--n-buckets",
        "16",
    ]
    short = ["--batch-size", "4", "--n-points", "6", "12", "--val-every", "5", "--no-progress"]
    args = ["pretrain", *family, *net, *short, "--out", "run"]
    assert run_cli([*args, "--steps", "10", "--stop-at", "5", "--posterior-targets"]) == 0
    meta = json.loads((tmp_path / "run" / "config.json").read_text())["meta"]
    assert meta["hparams"]["posterior_targets"] is True
    # A resumed run keeps its loss without the flag.
    assert run_cli(["pretrain", "--out", "run", "--steps", "10", "--resume", *short]) == 0
    last = json.loads((tmp_path / "run" / "last" / "config.json").read_text())["meta"]
    assert last["hparams"]["posterior_targets"] is True and last["step"] == 10
    NAPTransformer(tiny_config(n_buckets=16)).save(tmp_path / "teacher")
    with pytest.raises(SystemExit, match="pick one"):
        run_cli([*args[:-1], "run2", "--steps", "2", "--posterior-targets", "--teacher", "teacher"])

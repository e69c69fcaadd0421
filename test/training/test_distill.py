"""Distillation (``pretrain(teachers=...)``, ``pretrain --teacher``): the loss is zero for a
copy of the teacher, falls in training, keeps an NP teacher's student an NP, learns a
trained head, and refuses teachers that do not fit."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from training_helpers import run_cli, tiny_config

from botorch_nap.nn.transformer import NAPTransformer
from botorch_nap.training.distill import check_compatible, distill_loss
from botorch_nap.training.pretrain import _draw, pretrain


def batch(family, seed: int = 3, b: int = 16, n: int = 24):
    g = torch.Generator().manual_seed(seed)
    return _draw(family, b, (n, n), g, "val", 1, torch.float32, "cpu")


def distinct_teacher(seed: int, head: bool = False) -> NAPTransformer:
    """A tiny network with large random weights, so that its predictions are far from a
    freshly initialised student's (sharp, varied bar distributions)."""
    torch.manual_seed(seed)
    net = NAPTransformer(tiny_config())
    with torch.no_grad():
        for name, p in net.named_parameters():
            if "acq_mlp" not in name and p.dim() > 1:
                p.mul_(3.0)
        if head:  # a trained acquisition head: its last layer has moved from zero
            net.acq_mlp[0].weight.mul_(5.0)
            net.acq_mlp[-1].weight.normal_(0.0, 3.0)
    return net.eval()


def test_loss_is_zero_for_a_copy_and_positive_otherwise(gp_family):
    teacher = distinct_teacher(0, head=True)
    X, y, n_ctx = batch(gp_family)
    with torch.no_grad():
        same = distill_loss(copy.deepcopy(teacher), [teacher], X, y, n_ctx)
        assert float(same.bars) == pytest.approx(0.0, abs=1e-5)
        assert float(same.policy) == pytest.approx(0.0, abs=1e-5)
        torch.manual_seed(1)
        other = distill_loss(NAPTransformer(tiny_config()), [teacher], X, y, n_ctx, policy_weight=2)
        assert float(other.bars) > 0.1 and float(other.policy) > 0.01
        assert float(other.total) == pytest.approx(float(other.bars + 2 * other.policy), rel=1e-5)


def test_bars_term_is_kl_from_the_teacher_to_the_student(gp_family):
    """KL(teacher || student), mass-covering, as documented, not the reverse (mode-seeking)."""
    import torch.nn.functional as F

    from botorch_nap.training.common import context_split
    from botorch_nap.training.distill import teacher_targets

    teacher = distinct_teacher(0)
    torch.manual_seed(1)
    student = NAPTransformer(tiny_config())
    X, y, n_ctx = batch(gp_family)
    with torch.no_grad():
        loss = distill_loss(student, [teacher], X, y, n_ctx)
        split = context_split(X, y, n_ctx, student.config.y_transform)
        t_logp, _ = teacher_targets([teacher], split.hist_x, split.y_ctx, split.mask, X)
        enc = student.encode_history(split.hist_x, split.y_ctx, mask=split.mask)
        s_logp = torch.log_softmax(student.score(enc, X).bar_logits, -1)
        forward = F.kl_div(s_logp, t_logp, log_target=True, reduction="none").sum(-1).mean()
        reverse = F.kl_div(t_logp, s_logp, log_target=True, reduction="none").sum(-1).mean()
    assert float(loss.bars) == pytest.approx(float(forward), rel=1e-5)
    assert abs(float(forward) - float(reverse)) > 0.05 * float(forward)  # the test can tell


def test_data_term_is_the_np_loss_from_the_same_forward_pass(gp_family):
    from botorch_nap.training.common import np_loss

    teacher = distinct_teacher(0, head=True)
    torch.manual_seed(1)
    student = NAPTransformer(tiny_config())
    X, y, n_ctx = batch(gp_family)
    with torch.no_grad():
        plain = distill_loss(student, [teacher], X, y, n_ctx)
        mixed = distill_loss(student, [teacher], X, y, n_ctx, data_weight=0.5)
        nll = np_loss(student, X, y, n_ctx)
    assert float(plain.data) == 0.0  # not computed without a weight
    assert float(mixed.data) == pytest.approx(float(nll), rel=1e-5)
    assert float(mixed.data) > 0.5  # a fresh student is far from the values
    assert float(mixed.total) == pytest.approx(float(plain.total + 0.5 * mixed.data), rel=1e-5)
    # A copy of the teacher has no distillation loss left, only the data's.
    with torch.no_grad():
        same = distill_loss(copy.deepcopy(teacher), [teacher], X, y, n_ctx, data_weight=1.0)
        teacher_nll = np_loss(teacher, X, y, n_ctx)
    assert float(same.total) == pytest.approx(float(same.data), abs=1e-4)
    assert float(same.data) == pytest.approx(float(teacher_nll), rel=1e-5)


def test_two_identical_teachers_are_one(gp_family):
    teacher = distinct_teacher(0, head=True)
    torch.manual_seed(1)
    student = NAPTransformer(tiny_config())
    X, y, n_ctx = batch(gp_family)
    one = distill_loss(student, [teacher], X, y, n_ctx)
    two = distill_loss(student, [teacher, copy.deepcopy(teacher)], X, y, n_ctx)
    assert torch.allclose(one.total, two.total, atol=1e-5)


def distil(teacher: NAPTransformer, family):
    """150 steps of distilling ``teacher`` into a fresh tiny student. Returns the student,
    the loss on a fixed batch before and after, and ``pretrain``'s metrics."""
    torch.manual_seed(1)
    student = NAPTransformer(tiny_config())
    X, y, n_ctx = batch(family)
    with torch.no_grad():
        before = distill_loss(student, [teacher], X, y, n_ctx)
    m = pretrain(
        student,
        family,
        steps=150,
        batch_size=8,
        n_points=(8, 24),
        lr=3e-3,
        val_every=50,
        patience=None,
        progress=False,
        teachers=[teacher],
    )
    with torch.no_grad():
        after = distill_loss(student, [teacher], X, y, n_ctx)
    return student, before, after, m


def test_student_learns_the_teacher_and_keeps_an_np_head_untrained(gp_family):
    teacher = distinct_teacher(0)
    assert not teacher.has_trained_head()
    student, before, after, m = distil(teacher, gp_family)
    assert float(after.bars) < 0.3 * float(before.bars), (before, after)
    # An NP teacher's student stays an NP: its head is exactly the untrained one, and
    # trainable again afterwards.
    assert not student.has_trained_head()
    assert student.acq_ei_scale.item() == 1.0
    assert all(p.requires_grad for p in student.parameters())
    assert m["steps"] == 150 and len(m["val_curve"]) == 3


def test_a_trained_head_is_learnt(gp_family):
    student, before, after, _ = distil(distinct_teacher(0, head=True), gp_family)
    assert student.has_trained_head()
    assert float(after.policy) < 0.75 * float(before.policy), (before, after)


def test_teachers_must_fit_the_student(gp_family):
    student = NAPTransformer(tiny_config())
    with pytest.raises(ValueError, match="n_buckets=32"):
        check_compatible(student, [NAPTransformer(tiny_config(n_buckets=32))])
    with pytest.raises(ValueError, match="horizon"):
        pretrain(
            student,
            gp_family,
            steps=1,
            progress=False,
            teachers=[NAPTransformer(tiny_config(horizon=20))],
        )
    with pytest.raises(ValueError, match="at least one teacher"):
        check_compatible(student, [])
    with pytest.raises(ValueError, match="needs teachers"):
        pretrain(student, gp_family, steps=1, progress=False, data_weight=1.0)
    # The size may differ: that is the point.
    check_compatible(student, [NAPTransformer(tiny_config(d_model=32, n_layers=2))])


FAMILY = ["--family", "gp_prior", "--family-kw", "dim=2", "n_features=64", "n_val=2", "n_test=1"]
NET = ["--d-model", "16", "--n-layers", "1", "--n-heads", "2", "--d-ff", "32", "--n-buckets", "16"]
SHORT = ["--batch-size", "4", "--n-points", "6", "12", "--val-every", "5", "--no-progress"]


def test_cli_distils_records_its_teachers_and_resumes(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    distinct_teacher(0).save(tmp_path / "teacher")
    small = ["--d-model", "8", *NET[2:]]
    args = ["pretrain", *FAMILY, *small, *SHORT, "--teacher", "teacher", "--out", "student"]
    assert run_cli([*args, "--steps", "10", "--stop-at", "5", "--policy-weight", "0.5"]) == 0
    assert "distilling 1 teacher(s)" in capsys.readouterr().out
    meta = json.loads((tmp_path / "student" / "config.json").read_text())["meta"]
    assert meta["kind"] == "distill" and meta["teachers"] == ["teacher"]
    assert meta["hparams"]["teachers"] == 1
    # --resume finds the teachers in the run's record.
    assert run_cli(["pretrain", "--out", "student", "--steps", "10", "--resume", *SHORT]) == 0
    assert "distilling 1 teacher(s)" in capsys.readouterr().out
    net = NAPTransformer.load(tmp_path / "student", expected_dim=2)
    assert net.config.d_model == 8 and not net.has_trained_head()
    # The resumed run kept its policy weight (its resume state is written last).
    last = json.loads((tmp_path / "student" / "last" / "config.json").read_text())["meta"]
    assert last["hparams"]["policy_weight"] == 0.5 and last["teachers"] == ["teacher"]


def test_cli_data_weight_is_recorded_kept_on_resume_and_checked(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    distinct_teacher(0).save(tmp_path / "teacher")
    small = ["--d-model", "8", *NET[2:]]
    args = ["pretrain", *FAMILY, *small, *SHORT, "--out", "student"]
    with pytest.raises(SystemExit, match="needs --teacher"):
        run_cli([*args, "--steps", "2", "--data-weight", "1"])
    with pytest.raises(SystemExit, match=">= 0"):
        run_cli([*args, "--steps", "2", "--teacher", "teacher", "--data-weight", "-1"])
    assert (
        run_cli(
            [
                *args,
                "--teacher",
                "teacher",
                "--steps",
                "10",
                "--stop-at",
                "5",
                "--data-weight",
                "0.25",
            ]
        )
        == 0
    )
    assert run_cli(["pretrain", "--out", "student", "--steps", "10", "--resume", *SHORT]) == 0
    last = json.loads((tmp_path / "student" / "last" / "config.json").read_text())["meta"]
    assert last["hparams"]["data_weight"] == 0.25 and last["step"] == 10


def test_cli_names_a_teacher_that_does_not_fit(tmp_path):
    NAPTransformer(tiny_config(n_buckets=32)).save(tmp_path / "teacher")
    argv = ["pretrain", *FAMILY, *NET, *SHORT, "--steps", "2", "--out", str(tmp_path / "s")]
    with pytest.raises(ValueError, match="n_buckets"):
        run_cli([*argv, "--teacher", str(tmp_path / "teacher")])
    NAPTransformer(tiny_config(dim=3)).save(tmp_path / "teacher3")
    with pytest.raises(ValueError, match="input dim 3"):
        run_cli([*argv, "--teacher", str(tmp_path / "teacher3")])

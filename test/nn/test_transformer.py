import json

import pytest
import torch

from botorch_nap.nn.reference import dense_forward
from botorch_nap.nn.transformer import NAPConfig, NAPTransformer

TINY = dict(d_model=32, n_layers=2, n_heads=4, d_ff=64, n_buckets=16)


def _net(dim=3, dtype=torch.float64, seed=0, **kw):
    torch.manual_seed(seed)
    net = NAPTransformer(NAPConfig(dim_x=dim, **{**TINY, **kw})).to(dtype).eval()
    # Give the zero-initialised acquisition MLP weights so its path is exercised too.
    torch.nn.init.normal_(net.acq_mlp[-1].weight, std=0.1)
    if net.config.distance_bias:  # and the zero-initialised distance bias (w about 5)
        torch.nn.init.normal_(net.dist_w, std=0.5)
        if net.config.history_layers:
            torch.nn.init.normal_(net.dist_w_history, std=0.5)
    if net.config.ard_bias:  # and the zero-initialised scales (factors about e^+-1)
        torch.nn.init.normal_(net.ard.mlp[-1].weight, std=0.5)
    return net


#: The attention variants every equivalence test runs on: plain, with a distance bias, and
#: with history-only blocks (with and without the bias).
VARIANTS = pytest.mark.parametrize(
    "variant",
    [
        {},
        {"distance_bias": True},
        {"history_layers": 1},
        {"history_layers": 2, "distance_bias": True},
        {"history_layers": 1, "distance_bias": True, "ard_bias": True},
    ],
    ids=["", "dist", "hist", "hist-dist", "hist-ard"],
)


def _data(b=2, n=7, m=11, d=3, dtype=torch.float64, seed=1):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.rand(b, n, d, generator=g, dtype=dtype),
        torch.randn(b, n, generator=g, dtype=dtype),
        torch.rand(b, m, d, generator=g, dtype=dtype),
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@VARIANTS
def test_matches_dense_mask_reference(dtype, variant):
    net = _net(dtype=dtype, **variant)
    hx, hy, qx = _data(dtype=dtype)
    out, ref = net(hx, hy, qx), dense_forward(net, hx, hy, qx)
    tol = dict(atol=1e-5, rtol=1e-4) if dtype == torch.float32 else dict(atol=1e-10, rtol=1e-9)
    torch.testing.assert_close(out.acq, ref.acq, **tol)
    torch.testing.assert_close(out.bar_logits, ref.bar_logits, **tol)
    assert out.acq.dtype == dtype


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@VARIANTS
def test_gradient_free_fused_path_matches_reference_and_gradient_path(dtype, variant):
    # Without gradients the query attention runs PyTorch's fused kernel; with them it runs
    # the explicit softmax. Both must equal the dense reference.
    net = _net(dtype=dtype, **variant)
    net.requires_grad_(False)
    hx, hy, qx = _data(dtype=dtype, n=40, m=30)
    ref = dense_forward(net, hx, hy, qx)
    with torch.no_grad():
        fused = net(hx, hy, qx)
    q = qx.clone().requires_grad_(True)
    explicit = net(hx, hy, q)
    explicit.acq.sum().backward()
    tol = dict(atol=1e-5, rtol=1e-4) if dtype == torch.float32 else dict(atol=1e-10, rtol=1e-9)
    for out in (fused, explicit):
        torch.testing.assert_close(out.acq, ref.acq, **tol)
        torch.testing.assert_close(out.bar_logits, ref.bar_logits, **tol)
    assert torch.isfinite(q.grad).all() and q.grad.abs().sum() > 0


@VARIANTS
def test_history_permutation_invariance(variant):
    net = _net(**variant)
    hx, hy, qx = _data()
    perm = torch.randperm(hx.shape[1], generator=torch.Generator().manual_seed(5))
    a, b = net(hx, hy, qx), net(hx[:, perm], hy[:, perm], qx)
    torch.testing.assert_close(a.acq, b.acq)
    torch.testing.assert_close(a.bar_logits, b.bar_logits)


@VARIANTS
def test_query_independence_and_chunking(variant):
    net = _net(**variant)
    hx, hy, qx = _data(m=50)
    full = net(hx, hy, qx, chunk_size=None)
    chunked = net(hx, hy, qx, chunk_size=7)
    alone = net(hx, hy, qx[:, 13:14])
    shuffled = net(hx, hy, qx.flip(1))
    torch.testing.assert_close(full.acq, chunked.acq)
    torch.testing.assert_close(full.acq[:, 13:14], alone.acq)
    torch.testing.assert_close(full.acq, shuffled.acq.flip(1))


@VARIANTS
def test_padded_history_equals_unpadded(variant):
    net = _net(**variant)
    hx, hy, qx = _data(b=1, n=5)
    pad_x = torch.cat([hx, torch.rand(1, 4, 3, dtype=hx.dtype)], 1)
    pad_y = torch.cat([hy, torch.randn(1, 4, dtype=hy.dtype) * 100], 1)
    mask = torch.tensor([[True] * 5 + [False] * 4])
    a = net(hx, hy, qx)
    b = net(pad_x, pad_y, qx, mask=mask)
    torch.testing.assert_close(a.acq, b.acq)
    torch.testing.assert_close(a.bar_logits, b.bar_logits)
    # Ragged batch: task 0 has 5 real points, task 1 has 9.
    hx2, hy2, qx2 = _data(b=1, n=9, seed=3)
    batch = net(
        torch.cat([pad_x, hx2]),
        torch.cat([pad_y, hy2]),
        torch.cat([qx, qx2]),
        mask=torch.cat([mask, torch.ones(1, 9, dtype=torch.bool)]),
    )
    torch.testing.assert_close(batch.acq[0], a.acq[0])
    torch.testing.assert_close(batch.acq[1], net(hx2, hy2, qx2).acq[0])
    torch.testing.assert_close(
        net.value(net.encode_history(pad_x, pad_y, mask)), net.value(net.encode_history(hx, hy))
    )


@VARIANTS
def test_empty_history_cold_start_works(variant):
    net = _net(**variant)
    _, _, qx = _data()
    hx, hy = torch.zeros(2, 0, 3, dtype=torch.float64), torch.zeros(2, 0, dtype=torch.float64)
    out = net(hx, hy, qx)
    assert torch.isfinite(out.acq).all() and torch.isfinite(out.bar_logits).all()
    torch.testing.assert_close(out.acq, dense_forward(net, hx, hy, qx).acq)
    # Fully padded history behaves like the empty one.
    hx1, hy1, _ = _data()
    padded = net(hx1, hy1, qx, mask=torch.zeros(2, 7, dtype=torch.bool))
    torch.testing.assert_close(padded.acq, out.acq)


@VARIANTS
def test_finite_gradients_wrt_queries(variant):
    net = _net(**variant)
    hx, hy, qx = _data()
    qx.requires_grad_(True)
    out = net(hx, hy, qx)
    (out.acq.sum() + out.bar_logits.sum()).backward()
    assert qx.grad is not None and torch.isfinite(qx.grad).all() and qx.grad.abs().sum() > 0


def test_history_changes_outputs():
    net = _net()
    hx, hy, qx = _data()
    a, b = net(hx, hy, qx), net(hx, -hy, qx)
    assert not torch.allclose(a.bar_logits, b.bar_logits)


def test_untrained_acquisition_head_equals_bar_log_ei():
    torch.manual_seed(0)
    net = NAPTransformer(NAPConfig(dim_x=3, **TINY)).double()
    hx, hy, qx = _data()
    out = net(hx, hy, qx)
    inc = hy.max(-1).values.unsqueeze(-1).expand(-1, qx.shape[1])
    torch.testing.assert_close(out.acq, net.bar.log_expected_improvement(out.bar_logits, inc))


def test_zero_acquisition_mlp_is_skipped_only_where_nothing_changes():
    # An untrained head's MLP outputs exactly 0, so inference skips it: the scores must be
    # the very bits the full head gives. Training must still reach the zero last layer.
    torch.manual_seed(0)
    net = NAPTransformer(NAPConfig(dim_x=3, **TINY)).double()
    hx, hy, qx = _data()
    enc = net.encode_history(hx, hy)
    with torch.no_grad():
        z, logits = net.query_features(enc, qx)
        assert net._acq_mlp_is_zero()
        skipped = net.acquisition(z, logits, enc.incumbent, enc.t_frac)
        net.acq_mlp[-1].bias.add_(1e-300)  # no longer zero: the full head runs
        assert not net._acq_mlp_is_zero()
        full = net.acquisition(z, logits, enc.incumbent, enc.t_frac)
        net.acq_mlp[-1].bias.zero_()
    assert torch.equal(skipped, full)
    # With gradients on, the head is not skipped and its last layer gets a gradient.
    assert not net._acq_mlp_is_zero()
    net.score(enc, qx).acq.sum().backward()
    assert net.acq_mlp[-1].weight.grad is not None and net.acq_mlp[-1].weight.grad.abs().sum() > 0
    # A frozen copy (what NAPAcquisition uses) skips it even with gradients on, and keeps
    # gradients with respect to the queries.
    net.requires_grad_(False)
    assert net._acq_mlp_is_zero()
    q = qx.clone().requires_grad_(True)
    net(hx, hy, q).acq.sum().backward()
    assert torch.isfinite(q.grad).all() and q.grad.abs().sum() > 0


def test_bad_shapes_raise():
    net = _net()
    hx, hy, qx = _data()
    with pytest.raises(ValueError, match="hist_x"):
        net(hx[..., :2], hy, qx)
    with pytest.raises(ValueError, match="hist_y"):
        net(hx, hy[:, :3], qx)
    with pytest.raises(ValueError, match="query_x"):
        net(hx, hy, qx[..., :2])
    with pytest.raises(ValueError, match="divisible"):
        NAPConfig(dim_x=2, d_model=30, n_heads=4)


def test_paper_size_reachable_by_config():
    cfg = NAPConfig(dim_x=6, d_model=512, n_layers=6, n_heads=4, d_ff=1024, n_buckets=1000)
    n = NAPTransformer(cfg).num_parameters()
    assert 10e6 < n < 25e6


@VARIANTS
def test_gradient_plan_gives_the_query_paths_values_and_gradients(variant):
    net = _net(**variant).requires_grad_(False)  # frozen, as the acquisitions hold it
    hx, hy, qx = _data(b=1, m=5)
    enc = net.encode_history(hx, hy)
    plan = net.gradient_plan(enc)
    for run_mlp in (False, True):
        U = qx.clone().requires_grad_(True)
        ref = net.query_acquisition(enc, U, run_mlp)
        (g_ref,) = torch.autograd.grad(ref.sum(), U)
        U = qx.clone().requires_grad_(True)
        got = net.query_acquisition(enc, U, run_mlp, plan)
        (g_got,) = torch.autograd.grad(got.sum(), U)
        torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(g_got, g_ref, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(
        net.query_bar_logits(enc, qx, plan), net.query_bar_logits(enc, qx), rtol=1e-12, atol=1e-12
    )
    # And against score()'s chunked, masked-or-fused paths: one query's value.
    torch.testing.assert_close(
        net.query_acquisition(enc, qx[:, :1], True, plan),
        net.score(enc, qx[:, :1]).acq,
        rtol=1e-12,
        atol=1e-12,
    )


def test_gradient_plan_needs_one_history_without_padding_and_a_frozen_network():
    net = _net(distance_bias=True)
    hx, hy, _ = _data(b=1)
    # Its history side is detached: no gradient would reach the parameters through it.
    with pytest.raises(ValueError, match="frozen network in eval mode"):
        net.gradient_plan(net.encode_history(hx, hy))
    net.requires_grad_(False).train()
    with pytest.raises(ValueError, match="frozen network in eval mode"):
        net.gradient_plan(net.encode_history(hx, hy))
    net.eval()
    hx, hy, _ = _data(b=2)
    with pytest.raises(ValueError, match="one history without padding"):
        net.gradient_plan(net.encode_history(hx, hy))
    mask = torch.ones(1, hx.shape[1], dtype=torch.bool)
    mask[0, -1] = False
    with pytest.raises(ValueError, match="one history without padding"):
        net.gradient_plan(net.encode_history(hx[:1], hy[:1], mask))
    enc = net.encode_history(hx[:1], hy[:1])
    with pytest.raises(ValueError, match="serves one history, got 2"):
        net.query_bar_logits(
            enc, torch.rand(2, 3, hx.shape[-1], dtype=hx.dtype), net.gradient_plan(enc)
        )


def test_save_load_roundtrip_and_errors(tmp_path):
    net = _net(dtype=torch.float32)
    net.save(tmp_path / "ck", meta={"family": "test"})
    loaded, meta = NAPTransformer.load_with_meta(tmp_path / "ck", expected_dim=3)
    assert meta == {"family": "test"}
    hx, hy, qx = _data(dtype=torch.float32)
    torch.testing.assert_close(loaded(hx, hy, qx).acq, net(hx, hy, qx).acq)

    with pytest.raises(ValueError, match="input dim 3"):
        NAPTransformer.load(tmp_path / "ck", expected_dim=5)
    with pytest.raises(FileNotFoundError, match="weights.pt"):
        NAPTransformer.load(tmp_path / "missing")

    cfg = json.loads((tmp_path / "ck" / "config.json").read_text())
    cfg["network"]["d_model"] = 64
    (tmp_path / "ck" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="do not match the config"):
        NAPTransformer.load(tmp_path / "ck")

    cfg["format"] = "something-else"
    (tmp_path / "ck" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="not a botorch-nap checkpoint"):
        NAPTransformer.load(tmp_path / "ck")

    net.save(tmp_path / "ck2")
    (tmp_path / "ck2" / "weights.pt").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="damaged") as err:
        NAPTransformer.load(tmp_path / "ck2")
    assert "weights_only` set to `False`" not in str(err.value)  # torch's unsafe advice
    (tmp_path / "ck2" / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="damaged"):
        NAPTransformer.load(tmp_path / "ck2")


def test_load_with_keep_rng_leaves_torchs_generator_where_it_was(tmp_path):
    _net(dtype=torch.float32).save(tmp_path / "ck")
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    kept = NAPTransformer.load(tmp_path / "ck", keep_rng=True)
    assert torch.equal(torch.rand(3), expected)
    # The default still draws (the training recipes' rebuilds depend on it), same weights.
    torch.manual_seed(0)
    drawn = NAPTransformer.load(tmp_path / "ck")
    assert not torch.equal(torch.rand(3), expected)
    for a, b in zip(kept.state_dict().values(), drawn.state_dict().values()):
        assert torch.equal(a, b)


def test_checkpoint_refuses_arbitrary_pickles(tmp_path):
    net = _net(dtype=torch.float32)
    net.save(tmp_path / "ck")

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"x": Evil()}, tmp_path / "ck" / "weights.pt")
    with pytest.raises(ValueError, match="damaged") as err:
        NAPTransformer.load(tmp_path / "ck")
    # The reason, not torch's advice to retry unsafely (its wording changed with torch 2.13:
    # the message kept the advice and was cut before the reason).
    message = str(err.value)
    assert "global print was not an allowed global" in message.lower()
    for advice in ("weights_only", "trust", "safe_globals", "allowlist"):
        assert advice not in message


@pytest.mark.parametrize(
    "field,value,match",
    [
        ("d_model", "128", "'d_model' must be int, got '128'"),
        ("dim_x", True, "'dim_x' must be int, got True"),
        ("dim_x", 3.0, "'dim_x' must be int, got 3.0"),
        ("distance_bias", 1, "'distance_bias' must be bool"),
        ("horizon", None, "'horizon' must be int, got None"),
        ("categories", ["a", "b", "c"], "'categories' must be a list of ints"),
        ("dim_x", "drop", "no dim_x"),
    ],
)
def test_a_config_field_of_the_wrong_type_is_named_with_its_file(tmp_path, field, value, match):
    _net(dtype=torch.float32).save(tmp_path / "ck")
    path = tmp_path / "ck" / "config.json"
    cfg = json.loads(path.read_text())
    if value == "drop":
        del cfg["network"][field]
    else:
        cfg["network"][field] = value
    path.write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match=match) as err:
        NAPTransformer.load(tmp_path / "ck")
    assert str(path) in str(err.value)


def test_weights_with_nan_are_refused_by_name(tmp_path):
    _net(dtype=torch.float32).save(tmp_path / "ck")
    w = tmp_path / "ck" / "weights.pt"
    state = torch.load(w, weights_only=True)
    name = next(k for k, t in state.items() if t.is_floating_point() and t.numel() > 1)
    state[name][0] = float("nan")
    torch.save(state, w)
    with pytest.raises(ValueError, match=f"{name} has NaN or inf"):
        NAPTransformer.load(tmp_path / "ck")


def test_variable_dim_network_pads_inputs_with_zeros(tmp_path):
    torch.manual_seed(0)
    net = NAPTransformer(NAPConfig(dim_x=5, d_model=32, n_layers=2, d_ff=64, min_dim=2)).eval()
    hx, hy, qx = torch.rand(1, 7, 3), torch.randn(1, 7), torch.rand(1, 4, 3)
    pad = torch.zeros(1, 7, 2), torch.zeros(1, 4, 2)
    short = net.score(net.encode_history(hx, hy), qx)
    full = net.score(
        net.encode_history(torch.cat([hx, pad[0]], -1), hy), torch.cat([qx, pad[1]], -1)
    )
    torch.testing.assert_close(short.acq, full.acq)
    torch.testing.assert_close(short.bar_logits, full.bar_logits)
    for bad in (1, 6):
        with pytest.raises(ValueError, match=r"b x n x 2\.\.5"):
            net.encode_history(torch.rand(1, 3, bad), torch.randn(1, 3))
    net.save(tmp_path / "ckpt")
    assert NAPTransformer.load(tmp_path / "ckpt", expected_dim=2).config.min_dim == 2
    with pytest.raises(ValueError, match="input dim 2..5"):
        NAPTransformer.load(tmp_path / "ckpt", expected_dim=6)
    # A fixed-dim network still refuses other dims.
    fixed = NAPTransformer(NAPConfig(dim_x=5, d_model=32, n_layers=1, d_ff=64))
    with pytest.raises(ValueError, match="b x n x 5"):
        fixed.encode_history(torch.rand(1, 3, 3), torch.randn(1, 3))
    with pytest.raises(ValueError, match="min_dim"):
        NAPConfig(dim_x=3, min_dim=4)


def test_fourier_features_fixed_saved_and_padding_safe(tmp_path):
    cfg = dict(dim_x=4, d_model=32, n_layers=1, d_ff=64, min_dim=2, x_fourier=8)
    torch.manual_seed(0)
    a = NAPTransformer(NAPConfig(**cfg)).eval()
    torch.manual_seed(1)
    b = NAPTransformer(NAPConfig(**cfg))
    # The features come from their own seed: the global RNG (training seed) cannot move them.
    torch.testing.assert_close(a.fourier_b, b.fourier_b, rtol=0, atol=0)
    assert a.fourier_b.shape == (4, 8)
    assert NAPTransformer(NAPConfig(**cfg)).emb_x[0].in_features == 4 + 16
    # A padded (non-existent) dim adds nothing to the phases: short inputs == zero-padded.
    hx, hy, qx = torch.rand(1, 6, 2), torch.randn(1, 6), torch.rand(1, 3, 2)
    short = a.score(a.encode_history(hx, hy), qx).bar_logits
    pad = a.score(
        a.encode_history(torch.nn.functional.pad(hx, (0, 2)), hy),
        torch.nn.functional.pad(qx, (0, 2)),
    ).bar_logits
    torch.testing.assert_close(short, pad)
    a.save(tmp_path / "f")
    loaded = NAPTransformer.load(tmp_path / "f")
    assert loaded.config.x_fourier == 8
    torch.testing.assert_close(loaded.score(loaded.encode_history(hx, hy), qx).bar_logits, short)
    # Without them the embedding reads x alone; a network with them reads more than x.
    plain = _net(dim=2)
    assert plain.emb_x[0].in_features == 2 and not hasattr(plain, "fourier_b")
    for bad in (dict(x_fourier=-1), dict(x_fourier=4, x_fourier_max=0.5)):
        with pytest.raises(ValueError, match="x_fourier"):
            NAPConfig(dim_x=2, **bad)


def test_y_transform_is_saved_and_checked(tmp_path):
    net = _net(dim=2, y_transform="yeo-johnson")
    net.save(tmp_path / "yj")
    assert NAPTransformer.load(tmp_path / "yj").config.y_transform == "yeo-johnson"
    cfg = json.loads((tmp_path / "yj" / "config.json").read_text())["network"]
    cfg.pop("y_transform")  # a checkpoint from before the option: plain standardisation
    assert NAPConfig.from_dict(cfg).y_transform == "standardize"
    with pytest.raises(ValueError, match="y_transform"):
        NAPConfig(dim_x=2, y_transform="box-cox")


def test_distance_bias_is_saved_added_at_zero_and_makes_attention_local(tmp_path):
    net = _net(dim=2, distance_bias=True, dtype=torch.float32)
    net.save(tmp_path / "db")
    loaded = NAPTransformer.load(tmp_path / "db")
    assert loaded.config.distance_bias and torch.equal(loaded.dist_w, net.dist_w)
    cfg = json.loads((tmp_path / "db" / "config.json").read_text())["network"]
    cfg.pop("distance_bias")  # a checkpoint from before the option
    assert NAPConfig.from_dict(cfg).distance_bias is False

    # Added to a trained network at w = 0: the same outputs, and w then trains.
    plain = _net(dim=2)
    grown = plain.with_distance_bias()
    hx, hy, qx = _data(d=2)
    torch.testing.assert_close(grown(hx, hy, qx).bar_logits, plain(hx, hy, qx).bar_logits)
    grown(hx, hy, qx).bar_logits.logsumexp(-1).sum().backward()
    assert grown.dist_w.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="already"):
        grown.with_distance_bias()

    # A large positive w: a query next to one history point reads that point only, so the
    # values of far points no longer matter; without the bias they do.
    hx = torch.tensor([[[0.1, 0.1], [0.9, 0.9], [0.9, 0.1]]], dtype=torch.float64)
    hy = torch.tensor([[1.0, -1.0, 0.5]], dtype=torch.float64)
    far_y = torch.tensor([[1.0, 3.0, -2.0]], dtype=torch.float64)
    qx = torch.tensor([[[0.1, 0.1]]], dtype=torch.float64)
    local = _net(dim=2, distance_bias=True)
    with torch.no_grad():
        local.dist_w.fill_(1e3)
    for net, same in ((local, True), (_net(dim=2), False)):
        a, b = net(hx, hy, qx).bar_logits, net(hx, far_y, qx).bar_logits
        assert torch.allclose(a, b, atol=1e-8) is same


@pytest.mark.parametrize("distance_bias", [False, True])
def test_extra_layers_start_as_the_identity_and_then_train(distance_bias):
    net = _net(dim=3, distance_bias=distance_bias)
    deeper = net.with_extra_layers(2)
    assert deeper.config.n_layers == net.config.n_layers + 2
    hx, hy, qx = _data()
    with torch.no_grad():
        a, b = net(hx, hy, qx), deeper.eval()(hx, hy, qx)
    torch.testing.assert_close(b.bar_logits, a.bar_logits)
    torch.testing.assert_close(b.acq, a.acq)
    # The new blocks learn: the zeroed layers get gradients, and after one step the
    # network's outputs move.
    deeper.train()
    deeper(hx, hy, qx).bar_logits.logsumexp(-1).sum().backward()
    new = deeper.blocks[-1]
    assert new.proj.weight.grad.abs().sum() > 0 and new.ff[-1].weight.grad.abs().sum() > 0
    with torch.no_grad():  # not a constant: the final LayerNorm would remove that
        new.ff[-1].bias.add_(0.1 * torch.randn_like(new.ff[-1].bias))
    assert not torch.allclose(deeper.eval()(hx, hy, qx).bar_logits, a.bar_logits)
    with pytest.raises(ValueError, match="k must be >= 1"):
        net.with_extra_layers(0)


@pytest.mark.parametrize("distance_bias", [False, True])
def test_history_layers_start_as_the_identity_are_saved_and_queries_skip_them(
    distance_bias, tmp_path
):
    net = _net(dim=3, distance_bias=distance_bias)
    grown = net.with_history_layers(2)
    assert grown.config.history_layers == 2 and grown.config.n_layers == net.config.n_layers
    hx, hy, qx = _data()
    with torch.no_grad():
        a, b = net(hx, hy, qx), grown.eval()(hx, hy, qx)
    torch.testing.assert_close(b.bar_logits, a.bar_logits)
    torch.testing.assert_close(b.acq, a.acq)
    # They learn, and once trained they change the outputs through the history alone.
    grown.train()
    grown(hx, hy, qx).bar_logits.logsumexp(-1).sum().backward()
    new = grown.history_blocks[-1]
    assert new.proj.weight.grad.abs().sum() > 0 and new.ff[-1].weight.grad.abs().sum() > 0
    with torch.no_grad():
        new.ff[-1].bias.add_(0.1 * torch.randn_like(new.ff[-1].bias))
        new.proj.weight.add_(0.1 * torch.randn_like(new.proj.weight))
    if distance_bias:  # once the attention's output counts, its distance weights learn too
        grown.zero_grad()
        grown(hx, hy, qx).bar_logits.logsumexp(-1).sum().backward()
        assert grown.dist_w_history.grad.abs().sum() > 0
    grown.eval()
    with torch.no_grad():
        moved = grown(hx, hy, qx).bar_logits
    assert not torch.allclose(moved, a.bar_logits)
    # Queries never pass through them: the encoded history's keys and values are all a
    # query reads, and there is one per shared block.
    enc = grown.encode_history(hx, hy)
    assert len(enc.keys) == grown.config.n_layers
    # Saved and loaded with them; growing again appends after the ones there.
    grown.save(tmp_path / "h")
    loaded = NAPTransformer.load(tmp_path / "h").double().eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded(hx, hy, qx).bar_logits, moved)
    again = loaded.with_history_layers(1)
    assert again.config.history_layers == 3
    with torch.no_grad():
        torch.testing.assert_close(again.eval()(hx, hy, qx).bar_logits, moved)
    with pytest.raises(ValueError, match="k must be >= 1"):
        net.with_history_layers(0)
    with pytest.raises(ValueError, match="history_layers must be >= 0"):
        NAPConfig(dim_x=3, history_layers=-1)


@pytest.mark.parametrize("distance_bias", [False, True])
def test_query_acquisition_is_scores_acq_with_or_without_the_mlp(distance_bias):
    torch.manual_seed(0)
    net = NAPTransformer(NAPConfig(dim_x=3, distance_bias=distance_bias, **TINY)).double()
    hx, hy, qx = _data()
    enc = net.encode_history(hx[:1], hy[:1])
    with torch.no_grad():
        net.acq_mlp[-1].weight.normal_(0, 0.1)
        if distance_bias:
            net.dist_w.fill_(0.3)
    full = net.score(enc, qx[:1]).acq
    torch.testing.assert_close(net.query_acquisition(enc, qx[:1], run_mlp=True), full)
    without = net.query_acquisition(enc, qx[:1], run_mlp=False)
    assert not torch.allclose(without, full)  # the MLP adds something here
    with torch.no_grad():
        net.acq_mlp[-1].weight.zero_()
    torch.testing.assert_close(without, net.score(enc, qx[:1]).acq)

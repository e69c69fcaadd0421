"""``benchmarks/bench_decision.py``'s network choice: shipped name, run folder, default size,
and history-only blocks added for timing."""

import pytest
import torch
from benchmark_scripts import load_script

from botorch_nap.nn.transformer import NAPConfig, NAPTransformer


def test_load_network_default_folder_and_history_layers(tmp_path):
    mod = load_script("bench_decision")
    net = mod.load_network("default", 32, 2, history_layers=3)
    assert (net.config.d_model, net.config.n_layers, net.config.history_layers) == (32, 2, 3)
    assert not net.config.distance_bias
    assert mod.load_network("default", 32, 1, distance_bias=True).config.distance_bias
    ard = mod.load_network("default", 32, 1, ard_bias=True).config
    assert ard.ard_bias and ard.distance_bias
    torch.manual_seed(0)
    saved = NAPTransformer(NAPConfig(dim_x=mod.D, d_model=16, n_layers=1, d_ff=32))
    saved.save(tmp_path / "run")
    assert mod.load_network(str(tmp_path / "run"), None, None).config.history_layers == 0
    grown = mod.load_network(str(tmp_path / "run"), None, None, history_layers=2)
    assert grown.config.history_layers == 2 and grown.config.n_layers == 1
    for flag in ("distance_bias", "ard_bias"):
        with pytest.raises(SystemExit, match="ard-bias"):
            mod.load_network(str(tmp_path / "run"), None, None, **{flag: True})


def test_pool_macs_counts_candidates_and_history_separately():
    mod = load_script("bench_decision")
    cfg = NAPConfig(dim_x=6, d_model=128, n_layers=4, d_ff=256, n_buckets=128)
    base = mod.pool_macs(cfg, 100, 1000)
    # A shared block's linear layers alone: 1000 x (3 + 1 + 2 * 2) x 128^2.
    assert base["candidates"] > 4 * 1000 * 8 * 128**2
    # Twice the candidates: about twice the candidate cost, the same history cost.
    double = mod.pool_macs(cfg, 100, 2000)
    assert double["candidates"] == 2 * base["candidates"]
    assert double["history"] == base["history"]
    # History-only blocks add to the history's cost only.
    hist = mod.pool_macs(NAPConfig(**{**cfg.__dict__, "history_layers": 4}), 100, 1000)
    assert hist["candidates"] == base["candidates"] and hist["history"] > base["history"]
    # The distance bias widens each head by input_width + 1 in the attention.
    biased = mod.pool_macs(NAPConfig(**{**cfg.__dict__, "distance_bias": True}), 100, 1000)
    assert biased["candidates"] - base["candidates"] == 4 * 1000 * 4 * 101 * 2 * 7
    assert mod.matmul_gflops(32, 64, repeats=3) > 0


def test_continuous_breakdown_counts_the_polish_evaluations(capsys):
    mod = load_script("bench_decision")
    torch.manual_seed(0)
    net = NAPTransformer(NAPConfig(dim_x=mod.D, d_model=16, n_layers=1, d_ff=32))
    mod.continuous_breakdown(net, 20, restarts=2, raw_samples=16, repeats=2)
    out = capsys.readouterr().out
    lines = {ln.split("  ")[1].strip(): ln for ln in out.splitlines() if ln.startswith("  ")}
    assert any(k.startswith("raw-sample screening (16") for k in lines)
    assert any(k.startswith("NAP continuous decision") for k in lines)
    evals = int(out.rsplit("median", 1)[1])
    assert 2 <= evals <= 1 + 3 * 20  # a first evaluation, then 3 iterations' line searches


def test_near_incumbent_reaches_the_timed_methods():
    """`--near-incumbent K` times NAP and NP-EI as `nap:gp_prior` decides (K starts next to
    the incumbent); GP-EI is unchanged, and 0 keeps the plain decision."""
    mod = load_script("bench_decision")
    torch.manual_seed(0)
    net = NAPTransformer(NAPConfig(dim_x=mod.D, d_model=16, n_layers=1, d_ff=32))
    settings = mod.OptimizerSettings(num_restarts=2, raw_samples=16)
    for name in ("NAP", "NP-EI"):
        assert mod.make_method(name, net, settings, 64).near_incumbent == 64
        assert mod.make_method(name, net, settings).near_incumbent == 0
    assert mod.make_method("GP-EI", net, settings, 64).near_incumbent == 0


def test_screened_ascent_reaches_the_timed_methods_but_not_their_lbfgs_twins():
    mod = load_script("bench_decision")
    net = NAPTransformer(NAPConfig(dim_x=mod.D, d_model=16, n_layers=1, d_ff=32))
    settings = mod.OptimizerSettings(num_restarts=2, raw_samples=16)
    for name in ("NAP", "NP-EI"):
        assert mod.make_method(name, net, settings, 0, 2).screened_ascent == 2
        twin = mod.make_method(f"{name}-lbfgs", net, settings, 64, 2)
        assert type(twin).__name__ == type(mod.make_method(name, net, settings)).__name__
        assert twin.screened_ascent == 0 and twin.near_incumbent == 64
    assert mod.make_method("GP-EI", net, settings, 0, 2).screened_ascent == 0


def test_compile_reaches_the_networks_but_not_their_eager_twins_nor_gp_ei():
    mod = load_script("bench_decision")
    net = NAPTransformer(NAPConfig(dim_x=mod.D, d_model=16, n_layers=1, d_ff=32))
    settings = mod.OptimizerSettings(num_restarts=2, raw_samples=16)
    for name in ("NAP", "NP-EI"):
        assert mod.make_method(name, net, settings, 64, 0, True).compile
        eager = mod.make_method(f"{name}-eager", net, settings, 64, 0, True)
        assert type(eager).__name__ == type(mod.make_method(name, net, settings)).__name__
        assert not eager.compile and eager.near_incumbent == 64
        assert not mod.make_method(name, net, settings).compile
    assert not hasattr(mod.make_method("GP-EI", net, settings, 0, 0, True), "compile")

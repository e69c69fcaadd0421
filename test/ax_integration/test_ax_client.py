"""NAP and NP-EI generation strategies driven by a real ``ax.api.client.Client``."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
import torch
from ax.adapter.registry import Generators
from ax.api.client import Client
from ax.api.configs import ChoiceParameterConfig, RangeParameterConfig
from ax.exceptions.generation_strategy import GenerationStrategyRepeatedPoints
from ax.generation_strategy.generation_node import GenerationNode
from ax.generation_strategy.generation_strategy import GenerationStrategy
from ax.generation_strategy.generator_spec import GeneratorSpec
from botorch.acquisition.input_constructors import ACQF_INPUT_CONSTRUCTOR_REGISTRY
from botorch.models.transforms.input import Normalize, Warp

from ax_integration import (
    FALLBACK_METADATA_KEY,
    NAPFallbackWarning,
    NAPGenerationNode,
    fallback_trials,
    nap_generation_strategy,
    np_ei_generation_strategy,
)
from ax_integration.registration import model_space_bounds
from botorch_nap import NAPAcquisition, NPExpectedImprovement

#: Small acquisition-optimiser settings (Ax's defaults: 20 restarts, 1024 raw samples).
FAST_OPT = {"num_restarts": 4, "raw_samples": 128}

# Branin's box in raw units; objectives are written in unit-cube coordinates of this box.
LO, HI = np.array([-5.0, 0.0]), np.array([10.0, 15.0])


def _client(seed: int = 0, objective: str = "-f", log_y: bool = False) -> Client:
    client = Client(random_seed=seed)
    client.configure_experiment(
        parameters=[
            RangeParameterConfig(name="x", parameter_type="float", bounds=(-5.0, 10.0)),
            RangeParameterConfig(
                name="y",
                parameter_type="float",
                bounds=(0.1, 15.0) if log_y else (0.0, 15.0),
                scaling="log" if log_y else "linear",
            ),
        ]
    )
    client.configure_optimization(objective=objective)
    return client


def _sq_dist(p: dict, centre: tuple[float, float]) -> float:
    u = (np.array([p["x"], p["y"]]) - LO) / (HI - LO)
    return float(((u - np.asarray(centre)) ** 2).sum())


def _run(client: Client, evaluate, n_trials: int, batch: int = 1) -> list[float]:
    values = []
    while len(values) < n_trials:
        for index, params in client.get_next_trials(max_trials=batch).items():
            value = evaluate(params)
            client.complete_trial(index, raw_data={"f": value})
            values.append(value)
    return values


def _keys(client: Client) -> list[str]:
    return [t.generator_runs[0]._generator_key for t in client._experiment.trials.values()]


def _nodes(client: Client) -> list[str]:
    return [t.generator_runs[0]._generation_node_name for t in client._experiment.trials.values()]


@pytest.fixture
def spy_acqf_inputs(monkeypatch):
    """Record what Ax hands the acquisition input constructors (and what they return)."""
    calls: list[dict] = []
    for cls in (NAPAcquisition, NPExpectedImprovement):
        inner = ACQF_INPUT_CONSTRUCTOR_REGISTRY[cls]

        def spy(*args, _inner=inner, **kwargs):
            out = _inner(*args, **kwargs)
            calls.append({"kwargs": kwargs, "out": out})
            return out

        monkeypatch.setitem(ACQF_INPUT_CONSTRUCTOR_REGISTRY, cls, spy)
    return calls


# --------------------------------------------------------------------------- structure
def test_sobol_then_nap_node_and_model_predictions(checkpoint_2d, spy_acqf_inputs):
    client = _client(log_y=True)
    client.set_generation_strategy(
        nap_generation_strategy(checkpoint_2d, n_init=3, budget=6, optimizer_options=FAST_OPT)
    )
    _run(client, lambda p: _sq_dist(p, (0.3, 0.6)), 6)

    assert _keys(client) == ["Sobol"] * 3 + ["BoTorch"] * 3
    assert _nodes(client) == ["Sobol"] * 3 + ["NAP"] * 3
    assert fallback_trials(client._experiment) == {}
    # What NAP saw: raw (log10 for y) X with the digest's bounds, minimisation, budget.
    call = spy_acqf_inputs[-1]
    assert call["kwargs"]["bounds"] == [(-5.0, 10.0), (-1.0, math.log10(15.0))]
    assert call["out"]["maximize"] is False and call["out"]["budget"] == 6
    model = call["kwargs"]["model"]
    assert type(model).__name__ == "NeuralProcessModel"
    # Ax's default Normalize was folded into the model's bounds (same unit-cube map).
    torch.testing.assert_close(model.bounds, call["out"]["bounds"])

    # The Ax-side model serves predictions in the metric's units.
    (pred,) = client.predict([{"x": 0.0, "y": 1.0}])
    mean, sem = pred["f"]
    assert math.isfinite(mean) and math.isfinite(sem) and sem > 0
    params, _, index, _ = client.get_best_parameterization(use_model_predictions=True)
    assert set(params) == {"x", "y"} and 0 <= index < 6


@pytest.mark.parametrize("strategy", [nap_generation_strategy, np_ei_generation_strategy])
def test_a_tracking_metric_beside_the_objective_leaves_the_network_working(checkpoint_2d, strategy):
    """Trials that also report a metric the objective does not use (runtime, memory): Ax
    fits every tracking metric by default, and NAP refused the second dataset on every
    trial after the Sobol ones."""
    client, plain = _client(), _client()
    for c in (client, plain):
        c.set_generation_strategy(strategy(checkpoint_2d, n_init=3, optimizer_options=FAST_OPT))
    for _ in range(5):
        for index, params in client.get_next_trials(max_trials=1).items():
            f = _sq_dist(params, (0.3, 0.6))
            client.complete_trial(index, raw_data={"f": f, "runtime_s": 1.0 + params["x"] ** 2})
    _run(plain, lambda p: _sq_dist(p, (0.3, 0.6)), 5)
    assert _nodes(client)[3:] == _nodes(plain)[3:] and _nodes(client)[3] != "Sobol"
    arms = [t.arms[0].parameters for t in client._experiment.trials.values()]
    same = [t.arms[0].parameters for t in plain._experiment.trials.values()]
    assert arms == same  # the extra metric changes nothing the network reads


def test_a_trial_attached_outside_the_search_space_leaves_nap_working(checkpoint_2d):
    """Ax keeps such a trial for generation (with a warning); the history's bounds widen to
    hold it (NAP refused the history on every later trial, and a completed trial cannot be
    marked failed)."""
    client = _client()
    client.set_generation_strategy(
        nap_generation_strategy(checkpoint_2d, n_init=3, budget=8, optimizer_options=FAST_OPT)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        index = client.attach_trial({"x": 12.0, "y": 5.0})  # x's box is [-5, 10]
    client.complete_trial(index, raw_data={"f": 0.5})
    _run(client, lambda p: _sq_dist(p, (0.3, 0.6)), 6)
    assert _nodes(client)[-3:] == ["NAP"] * 3 and fallback_trials(client._experiment) == {}
    new = [t.arms[0].parameters for t in list(client._experiment.trials.values())[-3:]]
    assert all(-5.0 <= p["x"] <= 10.0 and 0.0 <= p["y"] <= 15.0 for p in new)


def test_np_ei_strategy(checkpoint_2d, spy_acqf_inputs):
    client = _client(objective="f")
    client.set_generation_strategy(
        np_ei_generation_strategy(checkpoint_2d, n_init=3, optimizer_options=FAST_OPT)
    )
    _run(client, lambda p: -_sq_dist(p, (0.6, 0.4)), 5)
    assert _keys(client) == ["Sobol"] * 3 + ["BoTorch"] * 2
    assert _nodes(client)[3:] == ["NP-EI"] * 2
    assert spy_acqf_inputs[-1]["out"]["maximize"] is True
    assert all(math.isfinite(m) for m, _ in (r["f"] for r in client.predict([{"x": 1, "y": 2}])))


# --------------------------------------------------------------------------- direction
def test_minimise_f_equals_maximise_minus_f(checkpoint_2d):
    """Ax's direction reaches NAP through the posterior transform only: minimising f and
    maximising -f must pick exactly the same points."""
    runs = []
    for objective, sign in (("-f", 1.0), ("f", -1.0)):
        client = _client(seed=3, objective=objective)
        client.set_generation_strategy(
            nap_generation_strategy(checkpoint_2d, n_init=3, seed=3, optimizer_options=FAST_OPT)
        )
        _run(client, lambda p, s=sign: s * _sq_dist(p, (0.3, 0.6)), 6)
        runs.append([t.arm.parameters for t in client._experiment.trials.values()])
    for a, b in zip(*runs):
        assert a == pytest.approx(b, rel=1e-6, abs=1e-9)


def test_same_seed_same_suggestions_whether_or_not_the_network_is_cached(checkpoint_2d):
    """The network is loaded on first use, inside Ax's seeded ``gen``: loading must not move
    torch's generator, or a process's first run differs from every rerun on the same data."""
    from ax_integration import checkpoints

    checkpoints._load_cached.cache_clear()
    runs = []
    for _ in range(2):  # the first loads the network, the second finds it cached
        client = _client(seed=5)
        client.set_generation_strategy(
            nap_generation_strategy(checkpoint_2d, n_init=3, seed=5, optimizer_options=FAST_OPT)
        )
        _run(client, lambda p: -_sq_dist(p, (0.3, 0.6)), 5)
        runs.append([t.arm.parameters for t in client._experiment.trials.values()])
    assert runs[0] == runs[1]


def _sobol_only(seed: int) -> GenerationStrategy:
    node = GenerationNode(
        name="Sobol",
        generator_specs=[
            GeneratorSpec(generator_enum=Generators.SOBOL, model_kwargs={"seed": seed})
        ],
    )
    return GenerationStrategy(nodes=[node], name="Sobol only")


@pytest.mark.parametrize(
    "objective,centre", [("-f", (0.35, 0.7)), ("f", (0.7, 0.3))], ids=["minimise", "maximise"]
)
def test_nap_beats_sobol_from_the_same_start(checkpoint_2d, objective, centre):
    """What the NAP node proposes must beat what a no-op node would: each seed is run twice
    from the same 4 Sobol points, once continued by 10 NAP trials and once by 10 more Sobol
    points (Ax's own space-filling design, stronger than uniform random). Over 5 seeds NAP's
    final best must be better on average, NAP's proposals must land near the optimum (squared
    distance < 0.01, ~3% of the square) far more often than Sobol's, and NAP must improve on
    its own Sobol phase in most seeds. Deterministic: the Client and Sobol are seeded."""
    n_init, n_nap, seeds = 4, 10, range(5)
    sign = 1.0 if objective == "-f" else -1.0  # metric = sign * squared distance
    nap_final, sobol_final, nap_close, sobol_close, improved = [], [], [], [], 0
    for seed in seeds:
        client = _client(seed=seed, objective=objective)
        client.set_generation_strategy(
            nap_generation_strategy(
                checkpoint_2d, n_init=n_init, seed=seed, optimizer_options=FAST_OPT
            )
        )
        dist = [sign * v for v in _run(client, lambda p: sign * _sq_dist(p, centre), 14)]
        assert _keys(client)[n_init:] == ["BoTorch"] * n_nap
        assert _nodes(client)[n_init:] == ["NAP"] * n_nap
        nap_final.append(min(dist))
        nap_close.extend(d < 0.01 for d in dist[n_init:])
        improved += min(dist[n_init:]) < min(dist[:n_init])

        sobol = _client(seed=seed, objective=objective)
        sobol.set_generation_strategy(_sobol_only(seed))
        s_dist = [sign * v for v in _run(sobol, lambda p: sign * _sq_dist(p, centre), 14)]
        assert s_dist[:n_init] == pytest.approx(dist[:n_init])  # the same start
        sobol_final.append(min(s_dist))
        sobol_close.extend(d < 0.01 for d in s_dist[n_init:])
    assert np.mean(nap_final) < np.mean(sobol_final), (nap_final, sobol_final)
    assert np.mean(nap_close) >= 2 * max(np.mean(sobol_close), 0.03), (nap_close, sobol_close)
    assert improved >= 3, nap_final


# --------------------------------------------------------------------------- storage
def test_json_save_load_continue(checkpoint_2d, tmp_path):
    client = _client()
    client.set_generation_strategy(
        nap_generation_strategy(checkpoint_2d, n_init=3, budget=10, optimizer_options=FAST_OPT)
    )
    evaluate = lambda p: _sq_dist(p, (0.3, 0.6))  # noqa: E731
    _run(client, evaluate, 4)
    path = tmp_path / "snapshot.json"
    client.save_to_json_file(str(path))
    # Options are plain data: the checkpoint is stored as a path string.
    assert checkpoint_2d in path.read_text() and "NAPGenerationNode" in path.read_text()
    json.loads(path.read_text())

    loaded = Client.load_from_json_file(str(path))
    node = loaded._generation_strategy.nodes_by_name["NAP"]
    assert isinstance(node, NAPGenerationNode)
    spec = node.generator_specs[0]
    assert spec.generator_kwargs["botorch_acqf_class"] is NAPAcquisition
    assert spec.generator_kwargs["botorch_acqf_options"]["budget"] == 10
    _run(loaded, evaluate, 2)
    assert _keys(loaded) == ["Sobol"] * 3 + ["BoTorch"] * 3
    assert fallback_trials(loaded._experiment) == {}


# --------------------------------------------------------------------------- search spaces
CHOICE_BONUS = {"a": 0.0, "b": 3.0, "c": 1.0, "d": 2.0}


def _run_choice_and_integer(checkpoint: str, trials: int) -> Client:
    """NAP on an integer parameter ``n`` and an unordered choice ``c`` (values a..d)."""
    client = Client(random_seed=0)
    client.configure_experiment(
        parameters=[
            RangeParameterConfig(name="n", parameter_type="int", bounds=(0, 20)),
            ChoiceParameterConfig(
                name="c", parameter_type="str", values=list(CHOICE_BONUS), is_ordered=False
            ),
        ]
    )
    client.configure_optimization(objective="f")
    client.set_generation_strategy(
        nap_generation_strategy(checkpoint, n_init=4, optimizer_options=FAST_OPT)
    )
    _run(client, lambda p: CHOICE_BONUS[p["c"]] - abs(p["n"] - 13) / 5, trials)
    return client


def test_choice_and_integer_parameters(checkpoint_2d, spy_acqf_inputs):
    # A network without categorical inputs reads the choice as a number: the user is told,
    # once (Ax resets the warnings registry on every trial).
    from ax_integration import registration

    registration._WARNED_ORDINAL.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client = _run_choice_and_integer(checkpoint_2d, 7)
    told = [w for w in caught if "unordered choice parameter(s) ['c']" in str(w.message)]
    assert len(told) == 1 and "ordinal" in str(told[0].message)
    assert _keys(client) == ["Sobol"] * 4 + ["BoTorch"] * 3
    for trial in client._experiment.trials.values():
        p = trial.arm.parameters
        assert isinstance(p["n"], int) and 0 <= p["n"] <= 20 and p["c"] in CHOICE_BONUS
    # One model dim per parameter: the choice is an ordinal code 0..3, not one-hot.
    call = spy_acqf_inputs[-1]
    assert call["kwargs"]["bounds"] == [(0, 20), (0, 3)]
    assert call["out"]["train_X"].shape == (6, 2)


def test_choice_parameters_reach_a_categorical_network_one_hot(tmp_path, spy_acqf_inputs):
    """A network built with NAPConfig(categories=...) serves an Ax choice parameter: Ax hands
    the ordinal code (values in sorted order, as the own-data loader codes them) and the
    network decodes it one-hot."""
    from botorch_nap.nn.transformer import NAPConfig, NAPTransformer

    torch.manual_seed(0)
    cfg = NAPConfig(dim_x=2, d_model=32, n_layers=2, d_ff=64, categories=[0, 4])
    NAPTransformer(cfg).save(tmp_path / "cat")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client = _run_choice_and_integer(str(tmp_path / "cat"), 6)
    assert not [w for w in caught if "unordered choice" in str(w.message)]
    assert _keys(client) == ["Sobol"] * 4 + ["BoTorch"] * 2
    acqf = NAPAcquisition(**spy_acqf_inputs[-1]["out"])
    assert acqf.network.config.categories == [0, 4]
    assert acqf.network.encode_inputs(torch.tensor([[0.5, 1 / 3]])).tolist() == [
        [0.5, 0.0, 1.0, 0.0, 0.0]
    ]


def test_a_continuous_parameter_on_a_categorical_input_is_refused_by_name(tmp_path):
    """A float range 0..3 passed the bounds check of a 4-choice input: the network proposed
    fractional values, rounded them itself, and the user evaluated them as they were."""
    from botorch.exceptions.errors import UnsupportedError

    from botorch_nap.nn.transformer import NAPConfig, NAPTransformer

    torch.manual_seed(0)
    NAPTransformer(NAPConfig(dim_x=2, d_model=32, n_layers=2, d_ff=64, categories=[0, 4])).save(
        tmp_path / "cat"
    )
    client = Client(random_seed=0)
    client.configure_experiment(
        parameters=[
            RangeParameterConfig(name="n", parameter_type="int", bounds=(0, 20)),
            RangeParameterConfig(name="c", parameter_type="float", bounds=(0.0, 3.0)),
        ]
    )
    client.configure_optimization(objective="f")
    client.set_generation_strategy(
        nap_generation_strategy(str(tmp_path / "cat"), n_init=3, optimizer_options=FAST_OPT)
    )
    with pytest.raises(UnsupportedError, match="'c' is continuous.*categorical with 4 choices"):
        _run(client, lambda p: p["c"] - abs(p["n"] - 13) / 5, 5)


def test_batch_of_three_pending_trials_are_distinct(checkpoint_2d, spy_acqf_inputs):
    client = _client()
    client.set_generation_strategy(
        nap_generation_strategy(checkpoint_2d, n_init=3, optimizer_options=FAST_OPT)
    )
    evaluate = lambda p: _sq_dist(p, (0.3, 0.6))  # noqa: E731
    # Ax moves to the next node one trial at a time; the batch comes after the first.
    _run(client, evaluate, 4)
    spy_acqf_inputs.clear()
    batch = client.get_next_trials(max_trials=3)
    assert len(batch) == 3
    points = {(p["x"], p["y"]) for p in batch.values()}
    assert len(points) == 3
    assert _keys(client)[-3:] == ["BoTorch"] * 3
    # Each trial of the batch saw the earlier ones as pending points.
    pending = [c["out"]["X_pending"] for c in spy_acqf_inputs]
    assert [0 if x is None else x.shape[0] for x in pending] == [0, 1, 2]


# --------------------------------------------------------------------------- fallback guard
def test_fallback_to_sobol_is_loud(checkpoint_2d, monkeypatch):
    client = _client()
    client.set_generation_strategy(
        nap_generation_strategy(checkpoint_2d, n_init=2, optimizer_options=FAST_OPT)
    )
    _run(client, lambda p: _sq_dist(p, (0.3, 0.6)), 2)
    node = client._generation_strategy.nodes_by_name["NAP"]

    def always_duplicate(**kwargs):
        raise GenerationStrategyRepeatedPoints("every candidate duplicated an existing arm")

    # What Ax's deduplication raises after 5 duplicates; Ax then uses its Sobol fallback.
    monkeypatch.setattr(node, "_gen_maybe_deduplicate", always_duplicate)
    with pytest.warns(NAPFallbackWarning, match="Fallback_Sobol"):
        (index,) = client.get_next_trials(max_trials=1)
    gr = client._experiment.trials[index].generator_runs[0]
    assert gr._generator_key == "Fallback_Sobol"
    assert "Fallback_Sobol" in gr.gen_metadata[FALLBACK_METADATA_KEY]
    assert set(fallback_trials(client._experiment)) == {index}
    assert fallback_trials(client) == fallback_trials(client._experiment)  # a Client too
    with pytest.raises(TypeError, match="Experiment or Client"):
        fallback_trials(client._experiment.trials)


# --------------------------------------------------------------------------- errors, units
def test_checkpoint_dim_mismatch_is_explained(checkpoint_2d):
    client = Client(random_seed=0)
    client.configure_experiment(
        parameters=[
            RangeParameterConfig(name=f"x{i}", parameter_type="float", bounds=(0.0, 1.0))
            for i in range(3)
        ]
    )
    client.configure_optimization(objective="-f")
    client.set_generation_strategy(nap_generation_strategy(checkpoint_2d, n_init=2))
    for index, p in client.get_next_trials(max_trials=2).items():
        client.complete_trial(index, raw_data={"f": sum(p.values())})
    with pytest.raises(ValueError, match="dim_x=2.*3 input dims"):
        client.get_next_trials(max_trials=1)


def test_strategy_options_are_plain_data(checkpoint_2d, tmp_path):
    from pathlib import Path

    gs = nap_generation_strategy(Path(checkpoint_2d), n_init=2, budget=20)
    kwargs = gs.nodes_by_name["NAP"].generator_specs[0].generator_kwargs
    assert kwargs["botorch_acqf_options"] == {
        "checkpoint": checkpoint_2d,
        "kind": "nap",
        "budget": 20,
    }
    (config,) = kwargs["surrogate_spec"].model_configs
    assert config.model_options == {"checkpoint": checkpoint_2d, "kind": "nap"}
    with pytest.raises(FileNotFoundError, match="no shipped nap checkpoint named 'nope'"):
        nap_generation_strategy("nope")
    with pytest.raises(FileNotFoundError, match="not a checkpoint directory"):
        np_ei_generation_strategy(tmp_path)
    with pytest.raises(ValueError, match="n_init"):
        nap_generation_strategy(checkpoint_2d, n_init=0)


def test_shipped_model_names_stay_names(checkpoint_2d, tmp_path, monkeypatch):
    """A shipped model is stored by name (portable), and resolved where it is loaded."""
    import shutil

    from ax_integration import load_network
    from botorch_nap import pretrained

    shutil.copytree(checkpoint_2d, tmp_path / "toy2d" / "nap")
    monkeypatch.setattr(pretrained, "ROOT", tmp_path)
    gs = nap_generation_strategy("toy2d", n_init=2)
    kwargs = gs.nodes_by_name["NAP"].generator_specs[0].generator_kwargs
    assert kwargs["botorch_acqf_options"]["checkpoint"] == "toy2d"
    assert load_network("toy2d", expected_dim=2).config.dim_x == 2
    with pytest.raises(FileNotFoundError, match="no shipped np checkpoint named 'toy2d'"):
        np_ei_generation_strategy("toy2d")


def test_model_space_bounds():
    raw = torch.tensor([[-5.0, -1.0], [10.0, 1.2]], dtype=torch.float64)
    assert model_space_bounds(raw, None) == (raw, None)
    # Ax's default: Normalize with the digest's bounds -> folded into the model's bounds.
    bounds, tf = model_space_bounds(raw, Normalize(2, bounds=raw))
    assert tf is None
    torch.testing.assert_close(bounds, raw)
    # Any other transform is kept; bounds are the raw box pushed through it.
    warp = Warp(d=2, indices=[0, 1], bounds=raw)
    bounds, tf = model_space_bounds(raw, warp)
    assert tf is warp and bounds.shape == (2, 2) and (bounds[1] > bounds[0]).all()
    # A decreasing transform maps the lower corner above the upper one: bounds stay ordered.
    from botorch.models.transforms.input import AffineInputTransform

    flip = AffineInputTransform(2, coefficient=torch.tensor([-1.0, 1.0]), offset=torch.zeros(2))
    unit = torch.tensor([[0.0, 0.0], [1.0, 2.0]], dtype=torch.float64)
    bounds, _ = model_space_bounds(unit, flip)
    torch.testing.assert_close(bounds, torch.tensor([[-1.0, 0.0], [0.0, 2.0]]).to(bounds))


def test_registrations_are_in_place():
    from ax.generators.torch.botorch_modular.utils import fit_botorch_model
    from ax.storage.botorch_modular_registry import CLASS_TO_REGISTRY
    from botorch.acquisition.acquisition import AcquisitionFunction
    from botorch.models.model import Model

    from botorch_nap import NeuralProcessModel

    assert CLASS_TO_REGISTRY[AcquisitionFunction][NAPAcquisition] == "NAPAcquisition"
    assert CLASS_TO_REGISTRY[AcquisitionFunction][NPExpectedImprovement] == "NPExpectedImprovement"
    assert CLASS_TO_REGISTRY[Model][NeuralProcessModel] == "NeuralProcessModel"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit_botorch_model(object.__new__(NeuralProcessModel), mll_class=None)  # no-op


def test_shipped_variable_dim_model_by_name_in_ax():
    """The shipped dimension-agnostic gp_prior model, named, drives a 3-parameter experiment."""
    client = Client(random_seed=0)
    client.configure_experiment(
        parameters=[
            RangeParameterConfig(name=n, parameter_type="float", bounds=(0.0, 1.0))
            for n in ("a", "b", "c")
        ]
    )
    client.configure_optimization(objective="-f")
    client.set_generation_strategy(
        nap_generation_strategy("gp_prior", n_init=3, optimizer_options=FAST_OPT)
    )
    _run(client, lambda p: (p["a"] - 0.2) ** 2 + (p["b"] - 0.7) ** 2 + p["c"] ** 2, 5)
    assert _nodes(client) == ["Sobol"] * 3 + ["NAP"] * 2
    assert fallback_trials(client._experiment) == {}


# --------------------------------------------------------------------------- refusals
def _dataset(n: int = 4, m: int = 1):
    from botorch.utils.datasets import SupervisedDataset

    X = torch.rand(n, 2, dtype=torch.float64)
    return SupervisedDataset(
        X,
        torch.rand(n, m, dtype=torch.float64),
        feature_names=["x", "y"],
        outcome_names=[f"f{i}" for i in range(m)],
    )


def test_np_ei_constructor_passes_the_users_options_on(checkpoint_2d):
    from ax_integration.registration import construct_inputs_np_ei
    from botorch_nap import NeuralProcessModel

    X = torch.rand(6, 2, dtype=torch.float64)
    model = NeuralProcessModel.from_checkpoint(checkpoint_2d, X, X.sum(-1, keepdim=True))
    kw = construct_inputs_np_ei(model=model, log=False, repeat_radius=0.05)
    assert kw["log"] is False and kw["repeat_radius"] == 0.05 and kw["maximize"] is True


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"constraints": [lambda Z: Z[..., 0]]}, "outcome constraints"),
        ({"posterior_transform": "two"}, r"single objective metric.*weights \[1.0, -1.0\]"),
        ({"posterior_transform": "zero"}, "weight 0"),
        ({"objective": "mc"}, "one objective without an MC objective"),
        ({"training_data": "two"}, "single outcome"),
    ],
)
def test_ax_constructors_refuse_what_nap_cannot_do(checkpoint_2d, kwargs, match):
    from botorch.acquisition.objective import GenericMCObjective, ScalarizedPosteriorTransform
    from botorch.exceptions.errors import UnsupportedError

    from ax_integration.registration import construct_inputs_nap, construct_inputs_np_ei

    transforms = {
        "two": ScalarizedPosteriorTransform(weights=torch.tensor([1.0, -1.0])),
        "zero": ScalarizedPosteriorTransform(weights=torch.tensor([0.0])),
    }
    kw = dict(kwargs)
    if "posterior_transform" in kw:
        kw["posterior_transform"] = transforms[kw["posterior_transform"]]
    if kw.get("objective") == "mc":
        kw["objective"] = GenericMCObjective(lambda Z, X=None: Z[..., 0])
    data = {"a": _dataset(), "b": _dataset()} if kw.pop("training_data", None) else _dataset()
    with pytest.raises(UnsupportedError, match=match):
        construct_inputs_nap(
            model=None,
            training_data=data,
            bounds=[(0.0, 1.0), (0.0, 1.0)],
            checkpoint=checkpoint_2d,
            **kw,
        )
    if "training_data" not in kwargs:  # NP-EI shares the direction rules
        with pytest.raises(UnsupportedError, match=match):
            construct_inputs_np_ei(model=None, **kw)


def test_unknown_model_options_are_refused(checkpoint_2d):
    from ax.generators.torch.botorch_modular.utils import ModelConfig
    from botorch.exceptions.errors import UnsupportedError

    from ax_integration.registration import _neural_process_model_inputs
    from botorch_nap import NeuralProcessModel

    config = ModelConfig(
        botorch_model_class=NeuralProcessModel,
        model_options={"checkpoint": checkpoint_2d, "lengthscale": 0.3},
    )
    with pytest.raises(
        UnsupportedError, match=r"unknown NeuralProcessModel model_options \['lengthscale'\]"
    ):
        _neural_process_model_inputs(NeuralProcessModel, config, _dataset(), None, None)
    config = ModelConfig(botorch_model_class=NeuralProcessModel, model_options={})
    with pytest.raises(UnsupportedError, match="needs model_options"):
        _neural_process_model_inputs(NeuralProcessModel, config, _dataset(), None, None)
    config = ModelConfig(
        botorch_model_class=NeuralProcessModel, model_options={"checkpoint": checkpoint_2d}
    )
    with pytest.raises(UnsupportedError, match="single outcome per model"):
        _neural_process_model_inputs(NeuralProcessModel, config, _dataset(m=2), None, None)


def test_outcome_constraints_reach_the_user_from_a_real_client(checkpoint_2d):
    """Through Ax itself, not only the constructor: a constrained experiment must not
    silently get NAP trials that ignore the constraint."""
    client = _client()
    client.configure_optimization(objective="-f", outcome_constraints=["g <= 1.0"])
    client.set_generation_strategy(
        nap_generation_strategy(checkpoint_2d, n_init=2, optimizer_options=FAST_OPT)
    )
    for _ in range(2):
        for index, p in client.get_next_trials(max_trials=1).items():
            client.complete_trial(index, raw_data={"f": _sq_dist(p, (0.3, 0.6)), "g": 0.0})
    with pytest.raises(Exception, match="outcome constraints") as err:
        client.get_next_trials(max_trials=1)
    assert "outcome constraints" in str(err.value)


def test_shipped_gp_prior_improves_on_its_sobol_trials_on_branin():
    """A real Client, the shipped model by name, Ax's own optimiser settings: on Branin, the
    8 NAP trials after 4 Sobol trials beat the best Sobol trial in at least 4 of 5 seeds
    (before the repeat guard NAP re-proposed evaluated points and Ax fell back to Sobol)."""
    from botorch.test_functions import Branin

    branin, improved = Branin(), 0
    for seed in range(5):
        client = Client(random_seed=seed)
        client.configure_experiment(
            parameters=[
                RangeParameterConfig(name="x1", parameter_type="float", bounds=(-5.0, 10.0)),
                RangeParameterConfig(name="x2", parameter_type="float", bounds=(0.0, 15.0)),
            ]
        )
        client.configure_optimization(objective="-f")
        client.set_generation_strategy(nap_generation_strategy("gp_prior", n_init=4, seed=seed))
        values = _run(client, lambda p: float(branin(torch.tensor([[p["x1"], p["x2"]]]))), 12)
        assert _nodes(client) == ["Sobol"] * 4 + ["NAP"] * 8
        assert fallback_trials(client._experiment) == {}
        improved += min(values[4:]) < min(values[:4])
    assert improved >= 4


def test_network_strategies_can_compile_their_gradients(checkpoint_2d, spy_acqf_inputs):
    from botorch_nap.acquisition import compiled

    gs = nap_generation_strategy(checkpoint_2d, n_init=3, budget=5, optimizer_options=FAST_OPT)
    assert (
        "compile"
        not in gs.nodes_by_name["NAP"].generator_specs[0].generator_kwargs["botorch_acqf_options"]
    )  # strategies stored before the option are unchanged
    client = _client()
    client.set_generation_strategy(
        nap_generation_strategy(
            checkpoint_2d, n_init=3, budget=5, optimizer_options=FAST_OPT, compile=True
        )
    )
    _run(client, lambda p: _sq_dist(p, (0.3, 0.6)), 5)
    assert _nodes(client) == ["Sobol"] * 3 + ["NAP"] * 2
    assert fallback_trials(client._experiment) == {}
    assert spy_acqf_inputs[-1]["out"]["compile"] is True
    assert compiled.nap_values in compiled._COMPILED and compiled._FAILED is None

    # NP-EI likewise.
    client = _client()
    client.set_generation_strategy(
        np_ei_generation_strategy(checkpoint_2d, n_init=3, optimizer_options=FAST_OPT, compile=True)
    )
    _run(client, lambda p: _sq_dist(p, (0.3, 0.6)), 5)
    assert _nodes(client) == ["Sobol"] * 3 + ["NP-EI"] * 2
    assert fallback_trials(client._experiment) == {}
    assert spy_acqf_inputs[-1]["out"]["compile"] is True
    assert compiled.np_ei_values in compiled._COMPILED and compiled._FAILED is None

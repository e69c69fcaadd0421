"""The runner: tiny benchmarks end to end, shared initial points, resume, processes."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from botorch_nap.baselines import OptimizerSettings, RandomSearch
from botorch_nap.benchmark.commands import report_paths
from botorch_nap.benchmark.methods import METHODS, register_method
from botorch_nap.benchmark.metrics import summarize
from botorch_nap.benchmark.report import END_MARK, START_MARK
from botorch_nap.benchmark.results import SCHEMA, load_results, run_key
from botorch_nap.benchmark.runner import (
    BenchmarkConfig,
    design_seed,
    method_seed,
    random_pool,
    run_benchmark,
    run_one,
)

FAST = OptimizerSettings(num_restarts=2, raw_samples=16, maxiter=10)
BRANIN_TASKS = [80, 81]  # the first two of branin's test split


def _checkpoint(tiny_net, path, dim: int) -> str:
    tiny_net(dim=dim).save(path)
    return str(path)


def _initial_points(results: dict, n_init: int) -> dict:
    """``{(task, seed): {method: first n_init points}}``."""
    out: dict = {}
    for r in results["runs"].values():
        out.setdefault((r["task"], r["seed"]), {})[r["method"]] = r["X"][:n_init]
    return out


def test_tiny_benchmark_on_hpobench_writes_json_and_plots(shared_data, tiny_net, tmp_path):
    ckpt = _checkpoint(tiny_net, tmp_path / "ckpt", dim=6)
    methods = [f"nap:{ckpt}", f"np-ei:{ckpt}", "gp-ei", "random", "gp-ei-transfer:2"]
    cfg = BenchmarkConfig(
        "hpobench_xgb",
        methods,
        data_dir=str(shared_data),
        task_ids=[34, 35],
        seeds=[0, 1],
        n_init=5,
        steps=5,
        optimizer=FAST,
    )
    out = tmp_path / "res" / "results.json"
    results = run_benchmark(cfg, out, progress=False)
    on_disk = load_results(out)
    assert on_disk["schema"] == SCHEMA and on_disk["runs"].keys() == results["runs"].keys()
    assert len(on_disk["runs"]) == 5 * 2 * 2 and not on_disk["failures"]
    session = on_disk["sessions"][0]
    assert session["packages"]["torch"] and "git_commit" in session
    assert on_disk["methods"][f"nap:{ckpt}"]["weights_sha256"]
    assert on_disk["config"]["task_ids"] == [34, 35] and on_disk["config"]["seeds"] == [0, 1]
    assert on_disk["tasks"]["34"]["pool_size"] > 100
    for r in on_disk["runs"].values():
        reg = np.array(r["regret"])
        assert len(reg) == 6 and len(r["decision_s"]) == 5 and len(r["y"]) == 10
        assert ((reg >= 0) & (reg <= 1)).all() and (np.diff(reg) <= 0).all()
        X = np.array(r["X"])
        assert len({tuple(x) for x in X}) == len(X)  # the pool route never repeats a point

    # The same (task, seed) starts every method from the same points; other seeds differ.
    starts = _initial_points(on_disk, 5)
    for by_method in starts.values():
        assert len(by_method) == 5
        first = next(iter(by_method.values()))
        assert all(x == first for x in by_method.values())
    assert starts[(34, 0)]["random"] != starts[(34, 1)]["random"]

    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n## Results\n\n{START_MARK}\nold\n{END_MARK}\n\n## After\n")
    md = tmp_path / "RESULTS.md"
    assert report_paths([out], plots=True, markdown=str(md), readme=str(readme)) == 0
    for suffix in ("regret", "rank"):
        png = out.parent / f"results_{suffix}.png"
        assert png.stat().st_size > 1000
    text = readme.read_text()
    assert "old" not in text and "## After" in text and "| method |" in text
    assert "res/results_regret.png" in text and "AUC" in md.read_text()
    report_paths([out], plots=False, readme=str(readme))  # idempotent: one block stays
    assert readme.read_text().count(START_MARK) == 1


def test_continuous_family_and_transfer_methods(tiny_net, tmp_path):
    ckpt = _checkpoint(tiny_net, tmp_path / "ckpt", dim=2)
    methods = [f"nap:{ckpt}", "random", "portfolio", "gp-ei-transfer:1"]
    cfg = BenchmarkConfig(
        "branin", methods, task_ids=BRANIN_TASKS[:1], seeds=[0], n_init=3, steps=2, optimizer=FAST
    )
    results = run_benchmark(cfg, tmp_path / "r.json", progress=False)
    assert len(results["runs"]) == 4 and not results["failures"]
    for r in results["runs"].values():
        X = np.array(r["X"])
        assert X.shape == (5, 2) and (X >= 0).all() and (X <= 1).all()
    s = summarize(results, n_boot=20)
    assert s["reference"] == f"nap:{ckpt}" and set(s["tests"]) == set(methods[1:])


def test_pool_size_makes_a_continuous_family_pick_among_shared_random_candidates(
    tiny_net, tmp_path
):
    ckpt = _checkpoint(tiny_net, tmp_path / "ckpt", dim=2)
    methods = [f"nap:{ckpt}", f"np-ei:{ckpt}", "gp-ei", "random"]
    cfg = BenchmarkConfig(
        "branin",
        methods,
        task_ids=BRANIN_TASKS,
        seeds=[0, 1],
        n_init=3,
        steps=3,
        optimizer=FAST,
        pool_size=40,
    )
    out = tmp_path / "r.json"
    results = run_benchmark(cfg, out, progress=False)
    assert len(results["runs"]) == 4 * 2 * 2 and not results["failures"]
    assert results["config"]["pool_size"] == 40 and results["tasks"]["80"]["pool_size"] == 40
    bounds = torch.tensor(results["bounds"], dtype=torch.float64)
    for r in results["runs"].values():
        pool = random_pool(bounds, 40, design_seed("branin", r["task"], r["seed"]))
        X = torch.tensor(r["X"], dtype=torch.float64)
        # Every evaluated point, initial ones included, is a row of the (task, seed)'s pool.
        assert ((X[:, None] - pool[None]).abs().amax(-1) == 0).any(-1).all()
        assert len({tuple(x) for x in r["X"]}) == 6 and r["repeats"] == 0
    # Pools differ between seeds, so runs are not all confined to one set of points.
    p0, p1 = (random_pool(bounds, 40, design_seed("branin", 80, s)) for s in (0, 1))
    assert not torch.equal(p0, p1)
    # The report names the pools, so a pooled and a box run of a family read apart.
    from botorch_nap.benchmark.report import format_markdown

    md = format_markdown(summarize(results, n_boot=20), results)
    assert md.startswith("### branin (test split, pools of 40 candidates)")
    # The box and a pool are different protocols: resuming across them is refused.
    box = BenchmarkConfig(
        "branin", ["random"], task_ids=BRANIN_TASKS, seeds=[0], n_init=3, steps=3, optimizer=FAST
    )
    with pytest.raises(ValueError, match="pool_size"):
        run_benchmark(box, out, progress=False)


@pytest.mark.parametrize(
    "family, size, match",
    [("hpobench_xgb", 100, "already a pool"), ("branin", 5, "smaller than n_init")],
)
def test_pool_size_refused_where_it_cannot_apply(shared_data, tmp_path, family, size, match):
    cfg = BenchmarkConfig(
        family,
        ["random"],
        data_dir=str(shared_data),
        seeds=[0],
        n_init=3,
        steps=3,
        pool_size=size,
    )
    with pytest.raises(ValueError, match=match):
        run_benchmark(cfg, tmp_path / "r.json", progress=False)


def test_resume_refuses_a_checkpoint_whose_weights_changed(tiny_net, tmp_path):
    """Runs made with other weights must not be mixed in under the same name: the resume
    refuses, and --redo-changed drops that method's runs (only its) and redoes them."""
    ckpt = _checkpoint(tiny_net, tmp_path / "ckpt", dim=2)
    cfg = BenchmarkConfig(
        "branin",
        [f"np-ei:{ckpt}", "random"],
        task_ids=BRANIN_TASKS[:1],
        seeds=[0, 1],
        n_init=3,
        steps=1,
        optimizer=FAST,
    )
    out = tmp_path / "r.json"
    first = run_benchmark(cfg, out, progress=False)
    random_runs = {k: v["finished"] for k, v in first["runs"].items() if v["method"] == "random"}
    run_benchmark(cfg, out, progress=False)  # same weights: resumes (nothing to do)
    tiny_net(dim=2, seed=1).save(tmp_path / "ckpt")  # retrained in place
    with pytest.raises(ValueError, match=r"np-ei:.*weights changed.*--redo-changed"):
        run_benchmark(cfg, out, progress=False)
    assert load_results(out)["runs"] == first["runs"]  # nothing lost by the refusal
    again = run_benchmark(cfg, out, progress=False, redo_changed=True)
    new_sha = again["methods"][f"np-ei:{ckpt}"]["weights_sha256"]
    assert new_sha != first["methods"][f"np-ei:{ckpt}"]["weights_sha256"]
    assert len(again["runs"]) == 4 and again["sessions"][-1]["runs_before"] == 2  # 2 redone
    for k, r in again["runs"].items():
        if r["method"] == "random":
            assert r["finished"] == random_runs[k]  # kept


@pytest.fixture
def counting_method():
    """A registered method ``counting`` (random search) that counts its runs and can be
    made to raise at the n-th run."""
    state = {"calls": 0, "raise_at": None, "error": KeyboardInterrupt}

    def factory(arg, ctx):
        state["calls"] += 1
        if state["raise_at"] is not None and state["calls"] == state["raise_at"]:
            raise state["error"]("interrupted on purpose")
        return RandomSearch(generator=torch.Generator().manual_seed(ctx.seed))

    register_method("counting", factory, "random search that counts its runs")
    yield state
    del METHODS["counting"]


def test_redo_drops_and_reruns_only_the_named_methods(counting_method, tmp_path):
    """After a change of the code behind a method, --redo reruns its stored runs (only its)."""
    cfg = BenchmarkConfig(
        "branin",
        ["counting", "random"],
        task_ids=BRANIN_TASKS[:1],
        seeds=[0, 1],
        n_init=2,
        steps=1,
    )
    out = tmp_path / "r.json"
    first = run_benchmark(cfg, out, progress=False)
    assert counting_method["calls"] == 2
    again = run_benchmark(cfg, out, progress=False, redo=["counting"])
    assert counting_method["calls"] == 4  # both counting runs again, nothing else
    assert again["sessions"][-1]["runs_before"] == 2 and len(again["runs"]) == 4
    for k, r in again["runs"].items():
        if r["method"] == "random":
            assert r == first["runs"][k]
    with pytest.raises(ValueError, match="--redo names methods that are not in --methods: smac"):
        run_benchmark(cfg, out, progress=False, redo=["smac"])
    assert load_results(out)["runs"] == again["runs"]
    assert counting_method["calls"] == 4


def test_interrupted_benchmark_resumes_without_redoing_runs(counting_method, tmp_path):
    out = tmp_path / "r.json"
    cfg = BenchmarkConfig(
        "branin", ["counting"], task_ids=BRANIN_TASKS, seeds=[0, 1], n_init=2, steps=2
    )
    counting_method["raise_at"] = 3
    with pytest.raises(KeyboardInterrupt):
        run_benchmark(cfg, out, progress=False)
    saved = load_results(out)
    assert len(saved["runs"]) == 2  # written after each run, before the interruption
    before = {k: v["finished"] for k, v in saved["runs"].items()}

    counting_method.update(calls=0, raise_at=None)
    results = run_benchmark(cfg, out, progress=False)
    assert counting_method["calls"] == 2 and len(results["runs"]) == 4
    assert all(results["runs"][k]["finished"] == t for k, t in before.items())
    assert len(results["sessions"]) == 2 and results["sessions"][1]["runs_before"] == 2

    counting_method["calls"] = 0
    run_benchmark(cfg, out, progress=False)  # nothing left to do
    assert counting_method["calls"] == 0

    # More seeds on resume: only the new cells run. A failing run is recorded and retried.
    counting_method.update(calls=0, raise_at=1, error=RuntimeError)
    cfg.seeds = [0, 1, 2]
    results = run_benchmark(cfg, out, progress=False)
    assert counting_method["calls"] == 2 and len(results["runs"]) == 5
    assert list(results["failures"]) == [run_key("counting", 80, 2)]
    counting_method.update(calls=0, raise_at=None)
    results = run_benchmark(cfg, out, progress=False)
    assert counting_method["calls"] == 1 and len(results["runs"]) == 6 and not results["failures"]

    cfg.steps = 3  # another protocol must not be mixed into the same file
    with pytest.raises(ValueError, match="another protocol"):
        run_benchmark(cfg, out, progress=False)


def test_seeds_are_shared_across_methods_and_runs_are_deterministic(counting_method):
    assert design_seed("branin", 80, 0) == design_seed("branin", 80, 0)
    assert design_seed("branin", 80, 0) != design_seed("branin", 80, 1)
    assert method_seed("random", "branin", 80, 0) != method_seed("gp-ei", "branin", 80, 0)
    cfg = BenchmarkConfig("branin", [], task_ids=BRANIN_TASKS, n_init=3, steps=2).to_json()
    a, _ = run_one(cfg, "random", 80, 0)
    b, _ = run_one(cfg, "random", 80, 0)
    c, _ = run_one(cfg, "counting", 80, 0)
    assert a["X"] == b["X"] and a["y"] == b["y"]
    assert c["X"][:3] == a["X"][:3] and c["X"][3:] != a["X"][3:]


def test_a_network_run_is_the_same_whether_it_loads_its_network_or_finds_it_cached(
    tiny_net, tmp_path
):
    """The first run of a worker loads the checkpoint (building a module draws random
    weights) and later ones find it cached: the run's seeded stream must not see that."""
    from botorch_nap.benchmark import methods

    ckpt = _checkpoint(tiny_net, tmp_path / "np_tiny", 2)
    cfg = BenchmarkConfig("branin", [], task_ids=BRANIN_TASKS, n_init=3, steps=2)
    cfg.optimizer = FAST
    cfg = cfg.to_json()
    methods._load_network.cache_clear()
    first, _ = run_one(cfg, f"np-ei:{ckpt}", 80, 0)  # loads
    again, _ = run_one(cfg, f"np-ei:{ckpt}", 80, 0)  # cached
    assert first["X"] == again["X"]


def test_worker_processes_give_the_same_results(tmp_path):
    kw = dict(task_ids=BRANIN_TASKS[:1], seeds=[0, 1], n_init=2, steps=2)
    serial = run_benchmark(
        BenchmarkConfig("branin", ["random"], **kw), tmp_path / "a.json", progress=False
    )
    parallel = run_benchmark(
        BenchmarkConfig("branin", ["random"], workers=2, **kw), tmp_path / "b.json", progress=False
    )
    assert serial["runs"].keys() == parallel["runs"].keys()
    for k, r in serial["runs"].items():
        assert r["X"] == parallel["runs"][k]["X"] and r["regret"] == parallel["runs"][k]["regret"]


def test_shipped_decision_settings_reach_the_proposers_and_the_record(monkeypatch, tmp_path):
    """`nap:gp_prior` / `np-ei:gp_prior` decide with the model's recommended near-incumbent
    starts; a copy of the same weights elsewhere does not. The results file records the
    settings, and a resume refuses runs made with other settings (--redo-changed redoes
    them), as it does for changed weights; pools, which never use them, are not refused."""
    from botorch_nap import pretrained
    from botorch_nap.benchmark.methods import MethodContext, describe_method, make_proposer
    from botorch_nap.tasks import get_family

    fam = get_family("branin")
    ctx = MethodContext(fam, fam.task(BRANIN_TASKS[0]), 0, 3, 1, FAST)
    for spec in ("nap:gp_prior", "np-ei:gp_prior", "np-ei:gp_prior/nap"):
        assert make_proposer(spec, ctx).near_incumbent == 64
        assert describe_method(spec)["decisions"]["near_incumbent"] == 64
    copy = tmp_path / "copy"
    shutil.copytree(pretrained.checkpoint_path("gp_prior", "np"), copy)
    assert make_proposer(f"np-ei:{copy}", ctx).near_incumbent == 0
    assert "decisions" not in describe_method(f"np-ei:{copy}")

    def config(**kw) -> BenchmarkConfig:
        one = {"task_ids": BRANIN_TASKS[:1], "seeds": [0], "n_init": 3, "steps": 1}
        return BenchmarkConfig("branin", ["np-ei:gp_prior"], optimizer=FAST, **one, **kw)

    cfg, pool_cfg = config(), config(pool_size=32)
    out = tmp_path / "r.json"
    first = run_benchmark(cfg, out, progress=False)
    assert first["methods"]["np-ei:gp_prior"]["decisions"]["near_incumbent"] == 64
    pool_out = tmp_path / "pool.json"
    run_benchmark(pool_cfg, pool_out, progress=False)
    monkeypatch.setitem(
        pretrained.DECISIONS, "gp_prior", {"near_incumbent": 16, "near_sigma": 0.01}
    )
    run_benchmark(pool_cfg, pool_out, progress=False)  # a pool: nothing to refuse
    with pytest.raises(ValueError, match=r"np-ei:gp_prior: its shipped model's decision settings"):
        run_benchmark(cfg, out, progress=False)
    assert load_results(out)["runs"] == first["runs"]  # nothing lost by the refusal
    again = run_benchmark(cfg, out, progress=False, redo_changed=True)
    assert again["methods"]["np-ei:gp_prior"]["decisions"]["near_incumbent"] == 16
    assert again["sessions"][-1]["runs_before"] == 0 and len(again["runs"]) == 1


def test_an_empty_split_or_pools_below_the_budget_are_refused_before_any_file(tmp_path):
    """A split without tasks used to "succeed" with 0 runs and write a file that then blocked
    the right split; pools smaller than n_init + steps failed in every run."""
    from botorch_nap.tasks.own_data import write_own_data

    rng = np.random.default_rng(0)
    tasks = {f"t{i}": (rng.uniform(0, 1, (6 + i, 2)), rng.normal(size=6 + i)) for i in range(3)}
    params = [{"name": n, "type": "float", "lower": 0.0, "upper": 1.0} for n in "ab"]
    split = {"train": ["t0", "t1"], "val": [], "test": ["t2"]}
    folder = write_own_data(tmp_path / "tiny", tasks, params, split=split)
    out = tmp_path / "r.json"
    cfg = BenchmarkConfig(str(folder), ["random"], split="val", seeds=[0], n_init=2, steps=2)
    with pytest.raises(ValueError, match=r"'val' split has no tasks \(train 2, val 0, test 1\)"):
        run_benchmark(cfg, out, progress=False)
    big = BenchmarkConfig(str(folder), ["random"], split="train", seeds=[0], n_init=3, steps=4)
    with pytest.raises(ValueError, match=r"= 7 evaluations, but task\(s\) t0 \(6\) hold fewer"):
        run_benchmark(big, out, progress=False)
    assert not out.exists()
    ok = BenchmarkConfig(str(folder), ["random"], split="train", seeds=[0], n_init=3, steps=3)
    assert len(run_benchmark(ok, out, progress=False)["runs"]) == 2


def test_smac_rows_repeat_across_processes_whatever_their_hash_salt(tmp_path):
    """SMAC3's choices depend on Python's string-hash salt; its runs are made in a process
    with PYTHONHASHSEED=0, so a rerun in another process (another salt) repeats them."""
    import json
    import os
    import subprocess
    import sys

    pytest.importorskip("smac")
    kw = dict(task_ids=[80], seeds=[0], n_init=3, steps=4, optimizer=FAST)
    here = run_benchmark(
        BenchmarkConfig("gp_prior", ["smac"], family_kwargs={"dim": 3}, **kw),
        tmp_path / "here.json",
        progress=False,
    )
    other = tmp_path / "other.json"
    argv = ["benchmark", "--family", "gp_prior", "--family-kw", "dim=3", "--tasks", "80"]
    argv += ["--seeds", "1", "--n-init", "3", "--steps", "4", "--methods", "smac"]
    argv += ["--num-restarts", "2", "--raw-samples", "16", "--maxiter", "10"]
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    cmd = [sys.executable, "-m", "botorch_nap.cli", *argv, "--no-progress", "--out", str(other)]
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    there = json.loads(other.read_text())
    (key,) = here["runs"]
    assert here["runs"][key]["y"] == there["runs"][key]["y"]


def test_duplicates_and_methods_that_cannot_run_are_settled_before_any_file(tmp_path):
    """A method, task or seed named twice runs and counts once; a method argument that
    cannot work (an argument for a method without one, gp-ei-mixed on a continuous family,
    a non-integer k) is refused up front instead of failing in every run."""
    out = tmp_path / "r.json"
    kw = dict(n_init=2, steps=2, optimizer=FAST)
    for methods, match in [
        (["random:foo"], "takes no argument"),
        (["gp-ei-mixed"], "no categorical parameter"),
        (["gp-ei-transfer:x"], "whole number"),
    ]:
        with pytest.raises(ValueError, match=match):
            run_benchmark(BenchmarkConfig("branin", methods, seeds=[0], **kw), out, progress=False)
        assert not out.exists()
    with pytest.raises(ValueError, match="at least one seed"):
        run_benchmark(BenchmarkConfig("branin", ["random"], seeds=[], **kw), out, progress=False)
    cfg = BenchmarkConfig("branin", ["random", "random"], task_ids=[80, 80], seeds=[0, 0], **kw)
    res = run_benchmark(cfg, out, progress=False)
    assert res["config"]["methods"] == ["random"] and res["config"]["task_ids"] == [80]
    assert res["config"]["seeds"] == [0] and len(res["runs"]) == 1


def test_report_names_failed_runs_and_keeps_same_named_files_plots_apart(tmp_path, capsys):
    from botorch_nap.benchmark.results import load_results, save_results

    kw = dict(task_ids=BRANIN_TASKS[:1], seeds=[0], n_init=2, steps=2, optimizer=FAST)
    paths = []
    for sub in ("a", "b"):
        out = tmp_path / sub / "branin.json"
        run_benchmark(BenchmarkConfig("branin", ["random", "gp-ei"], **kw), out, progress=False)
        paths.append(out)
    res = load_results(paths[0])
    res["failures"]["ucb:2|80|1"] = {"error": "ValueError: boom", "time": "t"}
    save_results(res, paths[0])
    assert report_paths(paths, plots=True, out_dir=str(tmp_path / "plots")) == 0
    text = capsys.readouterr().out
    assert "ucb:2: 1 run(s) failed, not in the table (first: ValueError: boom)" in text
    names = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert "a_branin_regret.png" in names and "b_branin_regret.png" in names
    # Over several files a method need be in one only; in none, it is refused by name.
    other = tmp_path / "c" / "branin.json"
    run_benchmark(BenchmarkConfig("branin", ["random"], **kw), other, progress=False)
    assert report_paths([paths[1], other], plots=False, methods=["gp-ei", "random"]) == 0
    with pytest.raises(ValueError, match=r"\['rnadom'\] are in none"):
        report_paths([paths[1], other], plots=False, methods=["rnadom"])
    # Unreadable files are named.
    (tmp_path / "empty.json").write_text("")
    with pytest.raises(ValueError, match="empty.json: not a results file"):
        load_results(tmp_path / "empty.json")
    with pytest.raises(ValueError, match="a folder, not a results file"):
        load_results(tmp_path / "a")

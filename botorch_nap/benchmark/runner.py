r"""Seeds x tasks x methods: the benchmark runner behind ``botorch-nap benchmark``.

Every (method, task, seed) run goes through :func:`~botorch_nap.benchmark.loop.run_loop`:
``n_init`` initial points, then ``steps`` calls of the method's ``propose``. Protocol:

* **Shared initial points.** The initial design's seed depends on (family, task, seed) only
  (:func:`design_seed`), so every method starts a given (task, seed) from the same points,
  as HPO-B does; paired comparisons are then over identical starts.
* **Deterministic seeding.** The method's own randomness (random search, GP-EI's raw samples
  and restarts) is seeded from (method, task, seed) (:func:`method_seed`) inside a forked
  RNG, so a run gives the same result in any process and in any order (SMAC3, whose
  choices also follow Python's string-hash salt, runs in a process with PYTHONHASHSEED=0).
* **Resumable.** Results go to one JSON file (:mod:`~botorch_nap.benchmark.results`),
  rewritten atomically after every finished run; a rerun with the same ``--out`` skips
  finished runs and retries failed ones. Methods, seeds and tasks may be added on resume
  (new seeds and tasks run for every method the file holds);
  the protocol (family, split, budget, optimiser settings) may not change.
* **Processes.** ``workers > 1`` spreads runs over ``concurrent.futures`` processes
  (``spawn``; each with ``threads`` torch threads, default 1, so that workers do not fight
  over cores). Runs are ordered seed-major, so an interrupted benchmark holds complete
  (task, seed) cells for every method.

Example:
    >>> cfg = BenchmarkConfig("hpobench_xgb", ["np-ei:ckpt", "gp-ei", "random"], seeds=[0, 1])
    >>> results = run_benchmark(cfg, "results.json")
"""

from __future__ import annotations

import hashlib
import importlib
import json
import multiprocessing
import os
import subprocess
import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import Tensor
from tqdm.auto import tqdm

from botorch_nap.baselines import NAP, NPEI, OptimizerSettings
from botorch_nap.benchmark.loop import run_loop
from botorch_nap.benchmark.methods import (
    MethodContext,
    check_method_fits,
    describe_method,
    make_proposer,
)
from botorch_nap.benchmark.metrics import count_repeats
from botorch_nap.benchmark.results import (
    check_compatible,
    environment,
    load_results,
    new_results,
    now,
    run_key,
    save_results,
)
from botorch_nap.tasks.base import TaskFamily

#: HPO-B's protocol, used by the NAP paper: 5 initial points, 100 steps, 5 seeds.
PAPER_PROTOCOL = {"n_init": 5, "steps": 100, "seeds": 5}


@dataclass
class BenchmarkConfig:
    """What to run. ``task_ids=None`` means the whole ``split``; ``threads``: torch threads
    per worker process (``None``: 1), or in this process when ``workers == 1`` (``None``:
    unchanged). One thread per process is usually fastest for these small models, and much
    faster than several on a busy machine.
    ``plugins``: modules imported (in every worker too) before running, e.g. ones that call
    :func:`~botorch_nap.benchmark.methods.register_method`."""

    family: str
    methods: list[str]
    family_kwargs: dict = field(default_factory=dict)
    data_dir: str | None = None
    split: str = "test"
    task_ids: list | None = None
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    n_init: int = 5
    steps: int = 50
    optimizer: OptimizerSettings = field(default_factory=OptimizerSettings)
    workers: int = 1
    threads: int | None = None
    plugins: list[str] = field(default_factory=list)
    #: Continuous families only: each (task, seed) draws this many uniform candidates, and
    #: every method picks among them (``optimize_acqf_discrete``) instead of searching the
    #: box: the setting PPO trains in (``PPOConfig.n_candidates``). ``None``: the box.
    pool_size: int | None = None
    #: NAP's and NP-EI's continuous decisions backpropagate through ``torch.compile``
    #: (``compile=True``: the same values, faster after a one-off compile per worker). Not
    #: part of the protocol: a file may be resumed with or without it.
    compile: bool = False

    def to_json(self) -> dict:
        d = asdict(self)
        d["optimizer"] = asdict(self.optimizer)
        return d


def _stable_seed(*parts) -> int:
    """A seed from a hash of ``parts`` (Python's ``hash`` is salted per process)."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def random_pool(bounds: Tensor, size: int, seed: int) -> Tensor:
    """``size x d`` uniform points in ``bounds`` (``2 x d``), deterministic in ``seed``."""
    g = torch.Generator().manual_seed(_stable_seed("pool", seed))
    u = torch.rand(size, bounds.shape[-1], generator=g, dtype=torch.float64)
    return bounds[0] + u * (bounds[1] - bounds[0])


def check_pool_size(family: TaskFamily, pool_size: int | None, n_init: int, steps: int) -> None:
    """Refuse a ``pool_size`` that the family or the budget cannot take, naming why."""
    if pool_size is None:
        return
    if family.is_pool:
        raise ValueError(f"pool_size: {family.name} is already a pool family (drop --pool-size)")
    if family.space.categorical_dims:
        raise ValueError(
            f"pool_size: {family.name} has categorical dims; random pools are for continuous "
            "families only"
        )
    if pool_size < n_init + steps:
        raise ValueError(
            f"pool_size={pool_size} is smaller than n_init + steps = {n_init + steps}: the "
            "run would exhaust the pool"
        )


def design_seed(family: str, task_id, seed: int) -> int:
    """Seed of the initial design of (task, seed): independent of the method."""
    return _stable_seed("design", family, task_id, seed)


def method_seed(method: str, family: str, task_id, seed: int) -> int:
    """Seed of a method's own randomness in one run."""
    return _stable_seed("method", method, family, task_id, seed)


_FAMILIES: dict[str, TaskFamily] = {}


def get_cached_family(name: str, family_kwargs: dict, data_dir: str | None) -> TaskFamily:
    """The family, built once per process (tasks cache their optimum inside it)."""
    from botorch_nap.tasks import get_family

    key = json.dumps([name, family_kwargs, data_dir], sort_keys=True, default=str)
    if key not in _FAMILIES:
        _FAMILIES[key] = get_family(name, data_dir=data_dir, **family_kwargs)
    return _FAMILIES[key]


def check_pools_hold_the_budget(family: TaskFamily, task_ids: list, budget: int) -> None:
    """A pool task needs ``n_init + steps`` distinct candidates: refuse smaller pools up front
    (each of their runs would fail once its pool ran out). Only for in-memory pools
    (users' own data), whose sizes cost nothing to read."""
    from botorch_nap.tasks.pools import PoolFamily

    if not isinstance(family, PoolFamily):
        return
    sizes = {t: len(family.task(t)) for t in task_ids}
    small = {t: n for t, n in sizes.items() if n < budget}
    if small:
        listed = ", ".join(f"{t} ({n})" for t, n in list(small.items())[:5])
        more = f" and {len(small) - 5} more" if len(small) > 5 else ""
        raise ValueError(
            f"{family.name}: n_init + steps = {budget} evaluations, but task(s) {listed}{more} "
            "hold fewer candidates: lower --steps / --n-init, or leave them out with --tasks"
        )


def resolve_task_ids(family: TaskFamily, split: str, wanted: list | None) -> list:
    """The split's ids, or the ``wanted`` ones (matched as strings, so CLI input works)."""
    ids = family.split_ids(split)
    if wanted is None:
        return ids
    by_str = {str(i): i for i in ids}
    missing = [w for w in wanted if str(w) not in by_str]
    if missing:
        raise KeyError(f"{family.name}: tasks {missing} are not in the {split!r} split {ids}")
    return [by_str[str(w)] for w in wanted]


def run_one(config: dict, method: str, task_id, seed: int) -> tuple[dict, dict]:
    """One (method, task, seed) run -> (run record, task info); see the results schema."""
    family = get_cached_family(config["family"], config["family_kwargs"], config["data_dir"])
    task = family.task(task_id)
    n_init, steps = config["n_init"], config["steps"]
    d_seed = design_seed(config["family"], task_id, seed)
    m_seed = method_seed(method, config["family"], task_id, seed)
    settings = OptimizerSettings(**config["optimizer"])
    candidates = task.X if family.is_pool else None
    if config.get("pool_size"):
        # Seeded like the initial design: every method sees the same pool in a (task, seed).
        candidates = random_pool(family.space.bounds, config["pool_size"], d_seed)
    t0 = time.perf_counter()
    with torch.random.fork_rng():
        torch.manual_seed(m_seed)
        ctx = MethodContext(family, task, m_seed, n_init, steps, settings)
        proposer = make_proposer(method, ctx)
        if config.get("compile") and isinstance(proposer, (NAP, NPEI)):
            proposer.compile = True
        if not family.is_pool and family.space.categorical_dims:
            proposer.cat_dims = dict(family.space.categorical_dims)
        res = run_loop(
            proposer, task.evaluate, family.space.bounds, n_init, steps, candidates, d_seed
        )
    best = res.best[n_init - 1 :]
    record = {
        "method": method,
        "task": task_id,
        "seed": seed,
        "design_seed": d_seed,
        "method_seed": m_seed,
        "y": res.Y.tolist(),
        "X": res.X.tolist(),
        "best": best.tolist(),
        "regret": task.normalized_regret(best).tolist(),
        "decision_s": list(res.decision_s),
        "repeats": count_repeats(res.X, family.space.bounds, n_init),
        "wall_s": time.perf_counter() - t0,
        "finished": now(),
    }
    info = {
        "id": task_id,
        "name": task.name,
        "optimum": float(task.optimum),
        "worst": float(task.worst),
        "pool_size": int(task.X.shape[0]) if family.is_pool else config.get("pool_size"),
    }
    return record, info


def import_plugins(modules: list[str]) -> None:
    """Import modules that register extra methods (spawned workers start from scratch)."""
    for name in modules:
        importlib.import_module(name)


def _init_worker(threads: int, plugins: list[str]) -> None:
    torch.set_num_threads(threads)
    import_plugins(plugins)


#: Methods whose choices depend on Python's per-process string-hash salt (SMAC3 iterates
#: sets of configurations): their runs are made in a process started with PYTHONHASHSEED=0,
#: so that a rerun repeats them as every other method's does.
HASH_DEPENDENT = ("smac",)


def needs_fixed_hash(method: str) -> bool:
    """Whether ``method``'s runs must leave this process to be reproducible."""
    return method.split(":")[0] in HASH_DEPENDENT and sys.flags.hash_randomization != 0


def run_one_fixed_hash(cfg: dict, method: str, task_id, seed: int, threads: int = 1):
    """:func:`run_one` in a fresh Python process whose string hashes are unsalted
    (``PYTHONHASHSEED=0``); the same ``(run record, task info)``."""
    request = json.dumps({"cfg": cfg, "job": [method, task_id, seed], "threads": threads})
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run(
        [sys.executable, "-m", "botorch_nap.benchmark.runner"],
        input=request,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"{method}: its fixed-hash process failed: {tail[0]}")
    reply = json.loads(lines[-1])
    if "error" in reply:
        raise RuntimeError(reply["error"])
    return reply["run"], reply["info"]


def _fixed_hash_main() -> None:
    """``python -m botorch_nap.benchmark.runner``: one run, request on stdin, reply on the
    last line of stdout (see :func:`run_one_fixed_hash`)."""
    request = json.loads(sys.stdin.read())
    _init_worker(request["threads"], request["cfg"].get("plugins", []))
    try:
        run, info = run_one(request["cfg"], *request["job"])
    except Exception as err:  # noqa: BLE001 - reported to the parent, recorded as a failure
        print(json.dumps({"error": f"{type(err).__name__}: {err}"}))
        return
    print(json.dumps({"run": run, "info": info}))


def _unique(items: list) -> list:
    """``items`` without repeats (order kept; compared as strings, as ids are)."""
    seen: set[str] = set()
    return [v for v in items if not (str(v) in seen or seen.add(str(v)))]


def _merge(old: list, new: list) -> list:
    """``old`` then the items of ``new`` it lacks (order kept; ids compared as strings)."""
    return _unique([*old, *new])


def _changed_checkpoints(results: dict, described: dict[str, dict], redo: bool, out: Path) -> None:
    """Refuse (or, with ``redo``, drop the runs of) methods whose checkpoint's weights are not
    the ones their stored runs were made with, or, off a pool, whose shipped model's decision
    settings (``decisions``) changed: mixing them would report neither.
    ``described``: ``{spec: describe_method(spec)}`` as of now."""
    continuous = results["config"].get("pool_size") is None
    for spec, current in described.items():
        stored = results["methods"].get(spec)
        if stored is None:
            continue
        old, new = stored.get("weights_sha256"), current.get("weights_sha256")
        if old is not None and new is not None and old != new:
            what = f"its checkpoint's weights changed (sha256 {old[:12]}... -> {new[:12]}...)"
        elif continuous and stored.get("decisions", {}) != current.get("decisions", {}):
            what = (
                f"its shipped model's decision settings changed ({stored.get('decisions', {})} "
                f"-> {current.get('decisions', {})})"
            )
        else:
            continue
        keys = [k for k, r in results["runs"].items() if r["method"] == spec]
        if not redo:
            raise ValueError(
                f"{spec}: {what} since the {len(keys)} runs in {out} were made; rerun with "
                "--redo-changed to drop those runs and redo them, or write to a new --out"
            )
        _drop_runs(results, spec)
        results["methods"][spec] = current


def _drop_runs(results: dict, spec: str) -> None:
    """Forget ``spec``'s stored runs and failures (they will be run again)."""
    for k in [k for k, r in results["runs"].items() if r["method"] == spec]:
        del results["runs"][k]
    for k in [k for k in results["failures"] if k.startswith(f"{spec}|")]:
        del results["failures"][k]


def run_benchmark(
    config: BenchmarkConfig,
    out: str | Path,
    progress: bool = True,
    redo_changed: bool = False,
    redo: list[str] | None = None,
) -> dict:
    """Run every missing (method, task, seed) of ``config``, saving to ``out`` after each.

    Returns the results document (also on disk). Runs that raise are recorded under
    ``failures`` and retried on the next call; ``KeyboardInterrupt`` stops the benchmark
    with every finished run saved. A method whose checkpoint changed since its stored runs
    raises ``ValueError``; ``redo_changed`` drops those runs and runs them again. ``redo``
    names methods (of ``config.methods``) whose stored runs are dropped and run again, e.g.
    after a change of the code that makes their decisions.
    """
    unknown = sorted(set(redo or []) - set(config.methods))
    if unknown:
        raise ValueError(f"--redo names methods that are not in --methods: {', '.join(unknown)}")
    if config.n_init < 1 or config.steps < 1:
        raise ValueError("n_init and steps must be >= 1")
    if not config.seeds:
        raise ValueError("seeds: at least one seed is needed")
    out = Path(out)
    import_plugins(config.plugins)
    family = get_cached_family(config.family, config.family_kwargs, config.data_dir)
    check_pool_size(family, config.pool_size, config.n_init, config.steps)
    # Through JSON once, so that the comparison on resume sees what the file holds
    # (tuples become lists, and so on).
    cfg = json.loads(json.dumps(config.to_json()))
    # A method, seed or task named twice would run once but count twice in every summary.
    cfg["methods"] = _unique(cfg["methods"])
    cfg["seeds"] = _unique(cfg["seeds"])
    cfg["task_ids"] = _unique(resolve_task_ids(family, config.split, config.task_ids))
    if not cfg["task_ids"]:
        sizes = ", ".join(f"{s} {len(family.split_ids(s))}" for s in ("train", "val", "test"))
        raise ValueError(
            f"{family.name}: the {config.split!r} split has no tasks ({sizes}): nothing to run"
        )
    check_pools_hold_the_budget(family, cfg["task_ids"], config.n_init + config.steps)
    # Fails fast on an unknown method or a missing checkpoint; hashes each checkpoint once.
    described = {spec: describe_method(spec) for spec in config.methods}
    for spec in config.methods:
        check_method_fits(spec, family.space)  # a checkpoint of another dim: say so now
    stored_cells: set[tuple[str, int]] = set()
    if out.exists():
        results = load_results(out)
        stored = results["config"]
        stored_cells = {(str(t), int(s)) for t in stored["task_ids"] for s in stored["seeds"]}
        check_compatible(stored, cfg)
        _changed_checkpoints(results, described, redo_changed, out)
        for spec in redo or []:
            _drop_runs(results, spec)
            results["methods"][spec] = described[spec]
        cfg["methods"] = _merge(stored["methods"], cfg["methods"])
        cfg["seeds"] = [int(s) for s in _merge(stored["seeds"], cfg["seeds"])]
        cfg["task_ids"] = _merge(stored["task_ids"], cfg["task_ids"])
        results["config"] = cfg
    else:
        results = new_results(cfg)
    for spec in cfg["methods"]:
        if spec not in results["methods"]:
            results["methods"][spec] = described.get(spec) or describe_method(spec)
    # The search space's bounds: lets the report measure distances (e.g. repeats) in the
    # unit cube without rebuilding the family.
    results.setdefault("bounds", family.space.bounds.tolist())
    results["sessions"].append(
        {
            "started": now(),
            **environment(),
            "methods": list(config.methods),
            "runs_before": len(results["runs"]),
        }
    )
    # Seed-major order: an interrupted benchmark holds whole (task, seed) cells.
    todo = [
        (m, t, s)
        for s in cfg["seeds"]
        for t in cfg["task_ids"]
        for m in cfg["methods"]
        if run_key(m, t, s) not in results["runs"]
    ]
    others = sorted(
        {m for m, t, s in todo if m not in config.methods and (str(t), s) not in stored_cells}
    )
    if others and progress:
        # A resume runs the file's whole grid: new seeds or tasks for its other methods too.
        print(f"{out} also holds {', '.join(others)}: their runs of the new cells run too")
    save_results(results, out)
    bar = tqdm(total=len(todo), desc=f"benchmark {config.family}", unit="run", disable=not progress)

    def finished(job: tuple, outcome: tuple[dict, dict] | BaseException) -> None:
        key = run_key(*job)
        if isinstance(outcome, BaseException):
            msg = "".join(traceback.format_exception_only(type(outcome), outcome)).strip()
            results["failures"][key] = {"error": msg, "time": now()}
            bar.write(f"run {key} failed: {msg}")
        else:
            record, info = outcome
            results["runs"][key] = record
            results["tasks"].setdefault(str(job[1]), info)
            results["failures"].pop(key, None)
        save_results(results, out)
        bar.set_postfix_str(key, refresh=False)
        bar.update(1)

    threads_before = torch.get_num_threads()
    if config.workers <= 1 and config.threads:
        torch.set_num_threads(config.threads)
    results["sessions"][-1]["torch_threads"] = (
        torch.get_num_threads() if config.workers <= 1 else config.threads or 1
    )
    try:
        if config.workers <= 1:
            for job in todo:
                try:
                    if needs_fixed_hash(job[0]):
                        outcome = run_one_fixed_hash(cfg, *job, torch.get_num_threads())
                    else:
                        outcome = run_one(cfg, *job)
                except Exception as err:  # noqa: BLE001 - recorded, retried on resume
                    outcome = err
                finished(job, outcome)
        else:
            _run_parallel(cfg, todo, config.workers, config.threads or 1, finished)
    finally:
        bar.close()
        torch.set_num_threads(threads_before)
    return results


def _run_parallel(cfg: dict, todo: list, workers: int, threads: int, finished) -> None:
    ctx = multiprocessing.get_context("spawn")  # fork + torch threads can deadlock
    pool = ProcessPoolExecutor(
        workers, mp_context=ctx, initializer=_init_worker, initargs=(threads, cfg["plugins"])
    )
    futures: dict[Future, tuple] = {}
    try:
        for job in todo:
            if needs_fixed_hash(job[0]):
                futures[pool.submit(run_one_fixed_hash, cfg, *job, threads)] = job
            else:
                futures[pool.submit(run_one, cfg, *job)] = job
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                err = fut.exception()
                finished(futures[fut], err if err is not None else fut.result())
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


if __name__ == "__main__":
    _fixed_hash_main()

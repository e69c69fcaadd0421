"""Logic synthesis with ABC: the live :class:`EDAObjective` and the ``eda`` pool family.

A point is a sequence of ``L`` synthesis operators applied to an EPFL circuit (AIGER file
``epfl/<circuit>.aig`` under the data root), as BOiLS (Grosnit et al., 2022) defines the
problem, evaluated live by ABC (the Debian package ``berkeley-abc``):

* **operators** (:data:`OPERATORS`, BOiLS's standard set): ``balance``, ``refactor``,
  ``refactor -z``, ``resub``, ``resub -z``, ``rewrite``, ``rewrite -z``; ``L = 20`` by
  default. A sequence is ``L`` categorical dims (``s1 .. sL``), codes ``0..6`` in that
  (sorted) order.
* **evaluation**: ``read <circuit>.aig; strash; <op 1>; ...; <op L>; if -K 6; print_stats``:
  technology mapping onto 6-input LUTs; *area* is the LUT count (``nd``), *delay* the
  number of LUT levels (``lev``).
* **QoR** (lower is better): ``area / area_ref + delay / delay_ref``, the reference being
  ABC's ``resyn2`` script run through the same pipeline (so ``resyn2`` itself scores 2.0).
  Tasks maximise, so the pool families store ``-QoR``.

The ``eda`` family is a pool family in the users' own-data format (one task per circuit and
LUT size, :data:`DEFAULT_LUT_INPUTS` = 6 and 4, ids ``<circuit>`` and ``<circuit>_k4``:
``N`` random sequences and their QoR), built by ``botorch-nap eda-pools`` (progress bar,
per-task cache, resumable) from :data:`DEFAULT_CIRCUITS`, the EPFL circuits that evaluate
in well under a second here. ``get_family("eda")`` loads the pools shipped in
``botorch_nap/tasks/eda_pools`` (or ``pools=<folder>``); the split is by circuit
(:func:`~botorch_nap.tasks.base.deterministic_split` over the sorted circuit names; a
circuit's tasks share its split): train cavlc, ctrl, i2c, priority, router; validation max;
test int2float.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from botorch_nap.tasks.base import deterministic_split
from botorch_nap.tasks.paths import find_data_file

ABC_PACKAGE = "berkeley-abc"
#: In sorted order, as the own-data loader codes categorical choices: a code means the same
#: operator in the pools, in :class:`EDAObjective` and in a network's one-hot inputs.
OPERATORS = (
    "balance",
    "refactor",
    "refactor -z",
    "resub",
    "resub -z",
    "rewrite",
    "rewrite -z",
)
RESYN2 = (
    "balance",
    "rewrite",
    "refactor",
    "balance",
    "rewrite",
    "rewrite -z",
    "balance",
    "refactor -z",
    "rewrite -z",
    "balance",
)
SEQUENCE_LENGTH = 20
LUT_INPUTS = 6
#: EPFL circuits whose 20-step evaluation takes under half a second here and whose QoR varies
#: over random sequences (adder, bar and dec score the same for every sequence we tried; the
#: other EPFL circuits take 1.4-10 s per sequence).
DEFAULT_CIRCUITS = ("cavlc", "ctrl", "i2c", "int2float", "max", "priority", "router")
#: LUT sizes of the shipped pools: each circuit is a task per size (14 tasks, not 7).
DEFAULT_LUT_INPUTS = (6, 4)
SHIPPED_POOLS = Path(__file__).resolve().parent / "eda_pools"
_STATS = re.compile(r"nd\s*=\s*(\d+).*?lev\s*=\s*(\d+)")


def find_abc() -> str:
    """Path of the ABC executable; ``RuntimeError`` naming the package when it is missing."""
    for name in (ABC_PACKAGE, "yosys-abc"):
        path = shutil.which(name)
        if path:
            return path
    raise RuntimeError(
        f"ABC is not installed: the logic-synthesis tasks need the Debian package "
        f"{ABC_PACKAGE!r} (apt-get install {ABC_PACKAGE}; `make install-dev` does it as root)"
    )


@dataclass(frozen=True)
class MappedStats:
    """A mapped circuit: LUT count (area) and LUT levels (delay)."""

    luts: int
    levels: int

    def qor(self, reference: MappedStats) -> float:
        """``luts / luts_ref + levels / levels_ref`` (lower is better; the reference: 2)."""
        return self.luts / reference.luts + self.levels / reference.levels


def run_abc(
    circuit: Path,
    operators: tuple[str, ...] | list[str],
    lut_inputs: int = LUT_INPUTS,
    timeout: float = 300.0,
) -> MappedStats:
    """Apply ``operators`` to an AIGER circuit with ABC, map to ``lut_inputs``-input LUTs,
    return the stats."""
    bad = [op for op in operators if op not in OPERATORS]
    if bad:
        raise ValueError(f"unknown synthesis operator(s) {bad}; known: {list(OPERATORS)}")
    script = "; ".join(
        [f"read {circuit}", "strash", *operators, f"if -K {lut_inputs}", "print_stats"]
    )
    done = subprocess.run(
        [find_abc(), "-c", script], capture_output=True, text=True, timeout=timeout
    )
    found = _STATS.findall(done.stdout)
    if done.returncode != 0 or not found:
        tail = (done.stderr or done.stdout).strip()[-400:]
        raise RuntimeError(f"ABC failed on {circuit.name} (exit {done.returncode}): {tail}")
    luts, levels = found[-1]
    return MappedStats(int(luts), int(levels))


def circuit_path(circuit: str, data_dir: str | os.PathLike | None = None) -> Path:
    """``epfl/<circuit>.aig`` under the data root (clear error when missing)."""
    return find_data_file(f"epfl/{circuit}.aig", data_dir)


def task_name(circuit: str, lut_inputs: int = LUT_INPUTS) -> str:
    """A pool task's id: the circuit for 6-LUT mapping, ``<circuit>_k<K>`` otherwise."""
    return circuit if lut_inputs == LUT_INPUTS else f"{circuit}_k{lut_inputs}"


def parse_task_name(name: str) -> tuple[str, int]:
    """``(circuit, lut_inputs)`` of a task id written by :func:`task_name`."""
    m = re.fullmatch(r"(.+)_k(\d+)", name)
    return (m.group(1), int(m.group(2))) if m else (name, LUT_INPUTS)


class EDAObjective:
    """QoR of synthesis sequences on one circuit (lower is better), evaluated live by ABC.

    Usable directly in a BoTorch or Ax loop: :meth:`__call__` takes ``... x L`` operator
    codes (floats or ints, ``0..6`` in :data:`OPERATORS` order) and returns ``...`` QoR
    values; :meth:`qor` takes operator names. ``bounds`` (``2 x L``) and ``cat_dims`` are
    what BoTorch's ``optimize_acqf_mixed_alternating`` and ``MixedSingleTaskGP`` take.
    Results are cached per sequence.

    Example:
        >>> f = EDAObjective("ctrl")
        >>> f.qor(["balance", "rewrite -z"] * 10)
        >>> f(torch.zeros(3, 20))  # 3 sequences of 20 x "balance" -> 3 QoR values
    """

    def __init__(
        self,
        circuit: str,
        length: int = SEQUENCE_LENGTH,
        data_dir: str | os.PathLike | None = None,
        lut_inputs: int = LUT_INPUTS,
    ) -> None:
        if length < 1:
            raise ValueError(f"length must be >= 1, got {length}")
        if lut_inputs < 2:
            raise ValueError(f"lut_inputs must be >= 2, got {lut_inputs}")
        self.circuit, self.length, self.lut_inputs = circuit, length, lut_inputs
        self.path = circuit_path(circuit, data_dir)
        self.reference = run_abc(self.path, RESYN2, lut_inputs)
        self._cache: dict[tuple[int, ...], float] = {}
        self.bounds = torch.tensor([[0.0] * length, [len(OPERATORS) - 1.0] * length])
        self.cat_dims = list(range(length))

    def stats(self, operators: list[str] | tuple[str, ...]) -> MappedStats:
        return run_abc(self.path, tuple(operators), self.lut_inputs)

    def qor(self, operators: list[str] | tuple[str, ...]) -> float:
        """QoR of a sequence of operator names (any length; ``L`` for the search space)."""
        codes = tuple(OPERATORS.index(op) if op in OPERATORS else -1 for op in operators)
        if -1 in codes:
            raise ValueError(f"unknown synthesis operator in {list(operators)}; known: {OPERATORS}")
        if codes not in self._cache:
            self._cache[codes] = self.stats(operators).qor(self.reference)
        return self._cache[codes]

    def decode(self, x: Tensor | list) -> list[str]:
        """One sequence of codes -> operator names (checks length and range)."""
        codes = torch.as_tensor(x, dtype=torch.float64).reshape(-1)
        if codes.numel() != self.length:
            raise ValueError(f"a sequence has {self.length} operators, got {codes.numel()}")
        if not torch.isfinite(codes).all():
            raise ValueError("sequence codes contain NaN or inf")
        idx = codes.round().long()
        if (idx < 0).any() or (idx >= len(OPERATORS)).any():
            raise ValueError(f"operator codes must lie in 0..{len(OPERATORS) - 1}")
        return [OPERATORS[i] for i in idx.tolist()]

    def __call__(self, X: Tensor) -> Tensor:
        X = torch.as_tensor(X)
        if X.shape[-1] != self.length:
            raise ValueError(f"expected ... x {self.length} operator codes, got {tuple(X.shape)}")
        flat = X.reshape(-1, self.length)
        out = torch.tensor([self.qor(self.decode(x)) for x in flat], dtype=torch.float64)
        return out.reshape(X.shape[:-1])


# ---------------------------------------------------------------------------- pools
def _space_json(length: int, tasks: list[str]) -> dict:
    # Split by circuit: a circuit's tasks (one per LUT size) share a split, so no test
    # circuit is seen in training under another LUT size.
    circuits = sorted({parse_task_name(t)[0] for t in tasks})
    by_circuit = deterministic_split(circuits)
    split = {s: [t for t in tasks if parse_task_name(t)[0] in by_circuit[s]] for s in by_circuit}
    return {
        "split": split,
        "name": "eda",
        "objective": "qor",
        "minimize": True,
        "description": (
            f"ABC synthesis sequences of {length} operators on EPFL circuits; QoR = LUTs / "
            "LUTs(resyn2) + levels / levels(resyn2) after `if -K 6` (botorch_nap/tasks/eda.py)"
        ),
        "parameters": [
            {"name": f"s{i + 1}", "type": "categorical", "choices": list(OPERATORS)}
            for i in range(length)
        ],
        "tasks": tasks,
    }


def _sequences(circuit: str, n: int, length: int, seed: int) -> np.ndarray:
    """The circuit's ``n`` random sequences (distinct), a pure function of the arguments."""
    rng = np.random.default_rng([seed, *circuit.encode()])
    seen: dict[tuple, None] = {}
    # One row per draw, so that the first n sequences are the same for any larger n.
    while len(seen) < n:
        seen.setdefault(tuple(int(v) for v in rng.integers(0, len(OPERATORS), length)), None)
    return np.array(list(seen), dtype=np.int64).reshape(n, length)


def build_eda_pools(
    out: str | os.PathLike,
    circuits: list[str] | tuple[str, ...] = DEFAULT_CIRCUITS,
    n: int = 500,
    length: int = SEQUENCE_LENGTH,
    seed: int = 0,
    workers: int = 1,
    data_dir: str | os.PathLike | None = None,
    progress: bool = True,
    lut_inputs: tuple[int, ...] = DEFAULT_LUT_INPUTS,
) -> Path:
    """Evaluate ``n`` random sequences per (circuit, LUT size) into an own-data folder
    (``space.json`` + one ``<task>.npz`` each, task ids from :func:`task_name`; QoR as the
    objective, minimised).

    Every evaluation is appended to ``out/cache/<task>.jsonl`` as it finishes, so an
    interrupted build resumes where it stopped; rerunning with a larger ``n`` extends the
    pools (a task's first ``n`` sequences are the same for any larger ``n``).
    """
    out = Path(out).expanduser()
    cache_dir = out / "cache"
    cache_dir.mkdir(parents=True, exist_ok=True)
    find_abc()
    tasks = [task_name(c, k) for c in circuits for k in lut_inputs]
    todo: list[tuple[str, tuple[int, ...]]] = []
    seqs: dict[str, list[tuple[int, ...]]] = {}
    done: dict[str, dict[tuple[int, ...], dict]] = {}
    refs: dict[str, MappedStats] = {}
    for t in tasks:
        c, k = parse_task_name(t)
        path = circuit_path(c, data_dir)
        ref_file = cache_dir / f"{t}.ref.json"
        if ref_file.is_file():
            refs[t] = MappedStats(**json.loads(ref_file.read_text()))
        else:
            refs[t] = run_abc(path, RESYN2, k)
            ref_file.write_text(json.dumps(refs[t].__dict__))
        done[t] = {}
        cache = cache_dir / f"{t}.jsonl"
        if cache.is_file():
            for line in cache.read_text().splitlines():
                if line.strip():
                    rec = json.loads(line)
                    done[t][tuple(rec["seq"])] = rec
        seqs[t] = [tuple(int(v) for v in s) for s in _sequences(t, n, length, seed)]
        todo += [(t, s) for s in seqs[t] if s not in done[t]]

    def evaluate(job: tuple[str, tuple[int, ...]]) -> tuple[str, dict]:
        t, seq = job
        c, k = parse_task_name(t)
        st = run_abc(circuit_path(c, data_dir), tuple(OPERATORS[i] for i in seq), k)
        rec = {"seq": list(seq), "luts": st.luts, "levels": st.levels}
        return t, {**rec, "qor": st.qor(refs[t])}

    bar = tqdm(total=len(todo), desc="eda pools", unit="seq", disable=not progress)
    with ThreadPoolExecutor(max(1, workers)) as pool:
        for t, rec in pool.map(evaluate, todo):
            with (cache_dir / f"{t}.jsonl").open("a") as fh:
                fh.write(json.dumps(rec) + "\n")
            done[t][tuple(rec["seq"])] = rec
            bar.update(1)
    bar.close()

    for t in tasks:
        recs = [done[t][s] for s in seqs[t]]
        X = np.array([r["seq"] for r in recs], dtype=np.float64)
        y = np.array([r["qor"] for r in recs], dtype=np.float64)
        tmp = Path(tempfile.mkstemp(suffix=".npz", dir=out)[1])
        np.savez(tmp, X=X, y=y)
        tmp.replace(out / f"{t}.npz")
    (out / "space.json").write_text(json.dumps(_space_json(length, tasks), indent=2))
    return out


def load_eda(pools: str | os.PathLike | None = None, **kw):
    """The ``eda`` pool family from a folder built by :func:`build_eda_pools` (default: the
    pools shipped with the package)."""
    from botorch_nap.tasks.own_data import load_own_data

    folder = Path(pools).expanduser() if pools is not None else SHIPPED_POOLS
    if not (folder / "space.json").is_file():
        raise FileNotFoundError(
            f"no EDA pools in {folder}: build them with `botorch-nap eda-pools --out {folder}`"
        )
    return load_own_data(folder, name="eda", **kw)


def eda_pools_command(args) -> int:
    """``botorch-nap eda-pools``."""
    out = build_eda_pools(
        args.out,
        circuits=args.circuits.split(",") if args.circuits else DEFAULT_CIRCUITS,
        n=args.n,
        length=args.length,
        seed=args.seed,
        workers=args.workers,
        data_dir=args.data_dir,
        progress=not args.no_progress,
        lut_inputs=tuple(int(k) for k in args.lut_inputs.split(",")),
    )
    print(f"EDA pools in {out} (use --family {out}, or get_family('eda', pools='{out}'))")
    return 0


def register_command(sub) -> None:
    p = sub.add_parser(
        "eda-pools",
        help="evaluate random ABC synthesis sequences per EPFL circuit into an own-data folder",
    )
    p.add_argument("--out", required=True, help="output folder (rerun to resume)")
    p.add_argument(
        "--circuits", default=None, help=f"comma-separated (default: {','.join(DEFAULT_CIRCUITS)})"
    )
    p.add_argument("--n", type=int, default=500, help="sequences per circuit")
    p.add_argument("--length", type=int, default=SEQUENCE_LENGTH, help="operators per sequence")
    p.add_argument(
        "--lut-inputs",
        default=",".join(map(str, DEFAULT_LUT_INPUTS)),
        help="LUT sizes K for `if -K` (each circuit is a task per K)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=1, help="ABC processes at once")
    p.add_argument("--data-dir", default=None, help="data root holding epfl/")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=eda_pools_command)

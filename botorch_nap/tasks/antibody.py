"""The ``antibody`` family: CDRH3 design against Absolut! binding energies, as pools.

Data: ``antibody/absolut_energies.csv.gz`` under the data root (columns
``antigen,cdrh3,binding_energy``; 27 antigens, 380 to 9,586 distinct 11-residue CDRH3
sequences each; see ``../shared/data/README.md``). One pool task per antigen:

* **space**: 11 categorical dims (``p1 .. p11``, the residue positions), each over the 20
  amino acids coded ``0..19`` in alphabetical order of their one-letter codes
  (:data:`AMINO_ACIDS`). Networks built for this space see each position one-hot
  (:class:`~botorch_nap.nn.transformer.NAPConfig` ``categories``).
* **objective**: minus the binding energy (lower energy = stronger binding; tasks maximise).
* **pools**: every sequence of the antigen, or a fixed random subset of ``max_pool`` of them
  (default 2,000: GP baselines and the benchmark stay affordable, and the best sequence is
  still rare). The pool's best value is the task optimum.
* **split**: by antigen, :func:`~botorch_nap.tasks.base.deterministic_split` over the sorted
  antigen names (19 train, 3 validation, 5 test), so no antigen's sequences appear in two
  splits.

:func:`random_hit_chance` gives the chance that uniform random search finds a pool's best
sequence within a budget; the README quotes it for the test antigens at the benchmark's 35.
"""

from __future__ import annotations

import csv
import gzip
import math
import os

import numpy as np
import torch

from botorch_nap.tasks.base import SearchSpace, deterministic_split
from botorch_nap.tasks.paths import find_data_file
from botorch_nap.tasks.pools import PoolFamily

ANTIBODY_FILE = "antibody/absolut_energies.csv.gz"
AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"
CDRH3_LENGTH = 11


def antibody_space() -> SearchSpace:
    """11 positions x 20 amino acids, as categorical codes."""
    k = len(AMINO_ACIDS)
    bounds = torch.tensor([[0.0] * CDRH3_LENGTH, [k - 1.0] * CDRH3_LENGTH], dtype=torch.float64)
    return SearchSpace(
        bounds,
        [f"p{i + 1}" for i in range(CDRH3_LENGTH)],
        categorical_dims={j: k for j in range(CDRH3_LENGTH)},
        choices={j: list(AMINO_ACIDS) for j in range(CDRH3_LENGTH)},
    )


def encode_sequences(seqs: list[str]) -> torch.Tensor:
    """CDRH3 strings -> ``n x 11`` float64 codes (raises on a wrong length or residue)."""
    index = {a: i for i, a in enumerate(AMINO_ACIDS)}
    out = np.empty((len(seqs), CDRH3_LENGTH))
    for r, s in enumerate(seqs):
        if len(s) != CDRH3_LENGTH or any(c not in index for c in s):
            raise ValueError(f"CDRH3 {s!r}: expected {CDRH3_LENGTH} residues from {AMINO_ACIDS!r}")
        out[r] = [index[c] for c in s]
    return torch.from_numpy(out)


def decode_sequences(X: torch.Tensor) -> list[str]:
    """``n x 11`` codes -> CDRH3 strings."""
    return ["".join(AMINO_ACIDS[int(round(v))] for v in row) for row in X.tolist()]


def random_hit_chance(pool_y: torch.Tensor, draws: int) -> float:
    """Chance that ``draws`` distinct uniform draws from the pool include a best row
    (hypergeometric: ``1 - C(N - m, draws) / C(N, draws)`` with ``m`` best rows)."""
    n = int(pool_y.numel())
    m = int((pool_y == pool_y.max()).sum())
    if draws >= n - m + 1:
        return 1.0
    # log C(N-m, k) - log C(N, k), in floats: pools have thousands of rows.
    miss = sum(math.log((n - m - i) / (n - i)) for i in range(draws))
    return 1.0 - math.exp(miss)


def load_antibody(
    data_dir: str | os.PathLike | None = None, max_pool: int | None = 2000, seed: int = 0
) -> PoolFamily:
    """The ``antibody`` pool family (module docstring).

    Args:
        data_dir: data root holding ``antibody/absolut_energies.csv.gz``.
        max_pool: cap on a pool's size (a fixed random subset, seeded by ``seed``); ``None``
            keeps every sequence.
        seed: seeds the subsets.
    """
    path = find_data_file(ANTIBODY_FILE, data_dir)
    by_antigen: dict[str, tuple[list[str], list[float]]] = {}
    with gzip.open(path, "rt", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"antigen", "cdrh3", "binding_energy"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: missing column(s) {sorted(missing)}")
        for row in reader:
            seqs, energies = by_antigen.setdefault(row["antigen"], ([], []))
            seqs.append(row["cdrh3"])
            energies.append(float(row["binding_energy"]))
    if max_pool is not None and max_pool < 2:
        raise ValueError(f"max_pool must be >= 2 or None, got {max_pool}")
    pools = {}
    for antigen in sorted(by_antigen):
        seqs, energies = by_antigen[antigen]
        X = encode_sequences(seqs)
        y = -torch.tensor(energies, dtype=torch.float64)
        if max_pool is not None and len(seqs) > max_pool:
            g = torch.Generator().manual_seed(seed + sum(map(ord, antigen)))
            keep = torch.randperm(len(seqs), generator=g)[:max_pool].sort().values
            X, y = X[keep], y[keep]
        pools[antigen] = (X, y)
    return PoolFamily("antibody", antibody_space(), pools, deterministic_split(sorted(pools)))

"""The antibody family: Absolut! CDRH3 binding energies as categorical pools (issue 14)."""

from __future__ import annotations

import math

import pytest
import torch

from botorch_nap.tasks import get_family
from botorch_nap.tasks.antibody import (
    AMINO_ACIDS,
    decode_sequences,
    encode_sequences,
    load_antibody,
    random_hit_chance,
)


def test_loads_with_a_deterministic_split_by_antigen(antibody_dir):
    fam = get_family("antibody", data_dir=antibody_dir)
    assert fam.is_pool and fam.space.dim == 11
    assert fam.space.categorical_dims == {j: 20 for j in range(11)}
    assert fam.space.category_counts() == [20] * 11
    sizes = {s: len(fam.split_ids(s)) for s in ("train", "val", "test")}
    assert sizes == {"train": 19, "val": 3, "test": 5}
    ids = [i for s in ("train", "val", "test") for i in fam.split_ids(s)]
    assert len(set(ids)) == 27
    assert load_antibody(antibody_dir).split_ids("test") == fam.split_ids("test")
    # Pools are capped at 2000 rows; every value is minus an energy (energies are < 0).
    for tid in ids:
        t = fam.task(tid)
        assert 380 <= len(t) <= 2000 and (t.y > 0).all()
        assert ((t.X == t.X.round()) & (t.X >= 0) & (t.X <= 19)).all()


def test_hand_checked_row(antibody_dir):
    # First data row of the file: 1ADQ_A,AAAAACAYKYY,-69.9600 (full pool, no subsample).
    fam = load_antibody(antibody_dir, max_pool=None)
    t = fam.task("1ADQ_A")
    assert len(t) == 9577
    x = encode_sequences(["AAAAACAYKYY"])
    assert x[0].tolist() == [0, 0, 0, 0, 0, 1, 0, 19, 8, 19, 19]
    assert t.evaluate(x).item() == pytest.approx(69.96)
    assert decode_sequences(t.X[:1]) == ["AAAAACAYKYY"]


def test_sequence_codes_round_trip_and_errors():
    seqs = ["ACDEFGHIKLM", "NPQRSTVWYAA"]
    assert decode_sequences(encode_sequences(seqs)) == seqs
    assert AMINO_ACIDS == "".join(sorted(AMINO_ACIDS))
    with pytest.raises(ValueError, match="expected 11 residues"):
        encode_sequences(["ACDE"])
    with pytest.raises(ValueError, match="expected 11 residues"):
        encode_sequences(["ACDEFGHIKLX"])


def test_random_hit_chance():
    y = torch.tensor([1.0, 0.0, 0.0, 0.0])
    assert random_hit_chance(y, 2) == pytest.approx(0.5)
    assert random_hit_chance(torch.tensor([1.0, 1.0, 0.0, 0.0]), 2) == pytest.approx(1 - 1 / 6)
    assert random_hit_chance(y, 4) == 1.0
    big = torch.arange(2000.0)
    assert math.isclose(random_hit_chance(big, 55), 55 / 2000, rel_tol=1e-9)

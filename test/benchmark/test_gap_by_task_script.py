"""``benchmarks/gap_by_task.py``: the ratio of two methods' mean regrets and how much it owes
to which tasks a split holds."""

import pytest
from benchmark_scripts import BENCHMARKS, load_script


def test_ratio_and_its_interval_over_tasks(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # it imports its sibling compare_arms
    mod = load_script("gap_by_task")
    tasks = ["1", "2", "3", "4"]
    cells = [(t, s) for t in tasks for s in range(2)]
    rb = {c: 1.0 for c in cells}
    same = {c: 2.0 for c in cells}
    ratio, (lo, hi) = mod.ratio_over_tasks(same, rb, cells, tasks, n_boot=200)
    assert ratio == pytest.approx(2.0) and lo == pytest.approx(2.0) and hi == pytest.approx(2.0)
    # One hard task carries the gap: the ratio is 2.5, and redrawing tasks moves it a lot.
    one = {c: (7.0 if c[0] == "4" else 1.0) for c in cells}
    ratio, (lo, hi) = mod.ratio_over_tasks(one, rb, cells, tasks, n_boot=2000)
    assert ratio == pytest.approx(2.5)
    assert lo < 1.5 and hi > 3.5

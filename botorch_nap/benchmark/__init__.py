"""Benchmark harness: the BO loop, methods, runner, metrics and report.

* :mod:`~botorch_nap.benchmark.loop`: one BO run (shared initial design, ``propose`` calls).
* :mod:`~botorch_nap.benchmark.methods`: the method registry (``nap:<ckpt>``, ``np-ei:<ckpt>``,
  ``gp-ei``, ``random``, ``gp-ei-transfer``, ``portfolio``).
* :mod:`~botorch_nap.benchmark.transfer`: the meta-train transfer baselines.
* :mod:`~botorch_nap.benchmark.runner`: seeds x tasks x methods, resumable, in processes.
* :mod:`~botorch_nap.benchmark.results`: the JSON results file (schema in its docstring).
* :mod:`~botorch_nap.benchmark.metrics`: regret, AUC, ranks, bootstrap CIs, Wilcoxon.
* :mod:`~botorch_nap.benchmark.report`: text and Markdown tables, regret and rank plots.
* :mod:`~botorch_nap.benchmark.commands`: ``botorch-nap benchmark`` / ``botorch-nap report``.
"""

from botorch_nap.benchmark.loop import LoopResult, initial_design, run_loop

__all__ = ["LoopResult", "initial_design", "run_loop"]

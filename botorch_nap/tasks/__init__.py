"""Task families for meta-training and benchmarking NAP.

* :mod:`~botorch_nap.tasks.base`: :class:`SearchSpace`, :class:`Task`, :class:`PoolTask`,
  :class:`TaskFamily` (every task is maximised).
* synthetic (no files): :class:`GPPriorFamily` (RFF GP-prior samples, any d) and MetaBO-style
  shifted/scaled classic functions (:class:`SyntheticFamily`).
* pools: ``hpobench_xgb`` and users' own evaluated data (:func:`load_own_data`,
  see ``OWN_DATA.md``).
* YAHPO Gym surrogates via onnxruntime (:class:`YahpoFamily`).
* :class:`AugmentedFamily`: GP-posterior task augmentation for families with few tasks.

``get_family(name, data_dir=None, **kw)`` builds any of them by name;
``list_families(data_dir)`` lists them with dims, split sizes and whether data were found.
"""

from botorch_nap.tasks.augment import AugmentedFamily
from botorch_nap.tasks.base import (
    SPLITS,
    PoolTask,
    SearchSpace,
    Task,
    TaskFamily,
    deterministic_split,
)
from botorch_nap.tasks.gp_prior import GPPriorFamily, GPPriorTask
from botorch_nap.tasks.own_data import load_own_data
from botorch_nap.tasks.paths import ENV_VAR, find_data_file, resolve_data_dir
from botorch_nap.tasks.pools import PoolFamily, load_hpobench_xgb
from botorch_nap.tasks.registry import (
    family_names,
    format_families_table,
    get_family,
    list_families,
)
from botorch_nap.tasks.synthetic import (
    SYNTHETIC_NAMES,
    ShiftedTask,
    SyntheticFamily,
    SyntheticMixture,
)
from botorch_nap.tasks.yahpo import YahpoFamily, YahpoTask

__all__ = [
    "AugmentedFamily",
    "ENV_VAR",
    "SPLITS",
    "SYNTHETIC_NAMES",
    "GPPriorFamily",
    "GPPriorTask",
    "PoolFamily",
    "PoolTask",
    "SearchSpace",
    "ShiftedTask",
    "SyntheticFamily",
    "SyntheticMixture",
    "Task",
    "TaskFamily",
    "YahpoFamily",
    "YahpoTask",
    "deterministic_split",
    "family_names",
    "find_data_file",
    "format_families_table",
    "get_family",
    "list_families",
    "load_hpobench_xgb",
    "load_own_data",
    "resolve_data_dir",
]

r"""The benchmark's method registry: a method is named by a spec string ``name[:arg]``.

Built in:

==========================  =============================================================
``nap:<checkpoint>``        NAP's acquisition head (:class:`~botorch_nap.baselines.NAP`),
                            ``budget = n_init + steps``
``np-ei:<checkpoint>``      exact EI over the network's bar posterior
                            (:class:`~botorch_nap.baselines.NPEI`)
``gp-ei``                   BoTorch ``SingleTaskGP`` + ``LogExpectedImprovement``
``random``                  uniform in the box / over unevaluated pool points
``gp-ei-transfer[:k]``      ``k`` (default 5) greedy meta-train portfolio steps, then GP-EI
                            (:mod:`botorch_nap.benchmark.transfer` says why this baseline)
``portfolio``               the meta-train portfolio for every step (no adaptation)
``optuna-tpe``              Optuna's multivariate TPE (:mod:`~botorch_nap.benchmark.peers`)
``ax-default``              a plain Ax ``Client``, Ax's default strategy (same module)
``smac``, ``hebo``          SMAC3 (random forest) and HEBO (same module)
``fsbo:<checkpoint>``       FSBO (:mod:`~botorch_nap.benchmark.fsbo`), meta-trained by
                            ``botorch-nap fsbo-train``
==========================  =============================================================

``<checkpoint>`` is a checkpoint folder (``config.json`` + ``weights.pt``) or the name of a
shipped checkpoint (:mod:`botorch_nap.pretrained`; kind ``nap`` for NAP, ``np`` for NP-EI),
or ``<name>/<kind>`` for a shipped checkpoint of the other kind.

**The honest comparator.** ``np-ei:<a NAP checkpoint>`` (e.g. ``np-ei:gp_prior/nap`` or
``np-ei:runs/my_nap``) is EI from the NAP network's *own* bar head: the same network, the
acquisition head replaced by exact EI. PPO trains the bar head further through its auxiliary
loss, so a gain of NAP over its NP-EI warm start may come from a better NP alone; only a gain
over ``np-ei:<the NAP checkpoint>`` is the policy's.

Every method is a :class:`~botorch_nap.baselines.Proposer`, so it decides through the same
public BoTorch route as a user would (``optimize_acqf`` / ``optimize_acqf_discrete``).
Add a method with :func:`register_method`::

    def make_ucb(arg, ctx):
        return MyUCB(beta=float(arg or 2.0), settings=ctx.settings)

    register_method("ucb", make_ucb, "GP-UCB with beta=<arg>")
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch

from botorch_nap.baselines import (
    GPEI,
    NAP,
    NPEI,
    GPEIMixed,
    OptimizerSettings,
    Proposer,
    RandomSearch,
)
from botorch_nap.nn.transformer import NAPTransformer, check_categories
from botorch_nap.pretrained import decision_defaults
from botorch_nap.tasks.base import SearchSpace, Task, TaskFamily


@dataclass
class MethodContext:
    """What a method factory may use to build its proposer for one run.

    Attributes:
        family: the task family (its train split is what transfer methods may learn from).
        task: the task being optimised.
        seed: the run's seed for the method's own randomness (differs between methods, and
            is deterministic in (method, task, seed)).
        n_init: size of the shared initial design.
        steps: number of BO steps after it.
        settings: continuous optimiser settings shared by all methods.
    """

    family: TaskFamily
    task: Task
    seed: int
    n_init: int
    steps: int
    settings: OptimizerSettings


Factory = Callable[[str | None, MethodContext], Proposer]


@dataclass
class MethodEntry:
    """A registered method: its factory, whether it needs an argument, and a help line."""

    name: str
    factory: Factory
    help: str = ""
    needs_arg: bool = False
    #: False: the method takes no argument, and ``name:arg`` is refused (None: unknown).
    takes_arg: bool | None = None
    #: ``check(arg, space)`` raises ``ValueError`` where the method cannot run on ``space``
    #: (called once before a benchmark, instead of failing in every run).
    check: Callable[[str | None, SearchSpace], None] | None = None


METHODS: dict[str, MethodEntry] = {}


def register_method(
    name: str,
    factory: Factory,
    help: str = "",
    needs_arg: bool = False,
    takes_arg: bool | None = None,
    check: Callable[[str | None, SearchSpace], None] | None = None,
) -> None:
    """Register (or replace) the method ``name``; specs are ``name`` or ``name:arg``.

    ``takes_arg=False`` refuses ``name:arg``; ``check(arg, space)`` says up front (by a
    ``ValueError``) that the method cannot run on a family's search space."""
    if ":" in name:
        raise ValueError(f"method names cannot contain ':', got {name!r}")
    METHODS[name] = MethodEntry(name, factory, help, needs_arg, takes_arg, check)


def parse_method(spec: str) -> tuple[str, str | None]:
    """``"nap:path/to/ckpt" -> ("nap", "path/to/ckpt")``; validates against the registry."""
    name, _, arg = spec.partition(":")
    if name not in METHODS:
        raise KeyError(f"unknown method {name!r} in {spec!r}; known: {', '.join(sorted(METHODS))}")
    if METHODS[name].needs_arg and not arg:
        raise ValueError(f"method {name!r} needs an argument: {name}:<checkpoint>")
    return name, (arg or None)


def make_proposer(spec: str, ctx: MethodContext) -> Proposer:
    """Build the proposer of method ``spec`` for one run."""
    name, arg = parse_method(spec)
    return METHODS[name].factory(arg, ctx)


# ----------------------------------------------------------------------------- checkpoints
def resolve_checkpoint(arg: str, kind: str) -> Path:
    """A checkpoint folder from a path or a shipped name (``kind``: ``nap`` or ``np``)."""
    path = Path(arg).expanduser()
    if (path / "config.json").is_file():
        return path.resolve()
    from botorch_nap.pretrained import KINDS, checkpoint_path

    name, _, other = arg.partition("/")
    if other in KINDS:  # "gp_prior/nap": a shipped checkpoint of the named kind
        name, kind = name, other
    else:
        name = arg
    try:
        return checkpoint_path(name, kind)
    except (FileNotFoundError, ValueError) as err:
        raise FileNotFoundError(
            f"checkpoint {arg!r}: not a folder with config.json, nor a shipped {kind} "
            f"checkpoint ({err})"
        ) from None


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@lru_cache(maxsize=16)
def _load_network(path: str, dim: int, mtime: float) -> NAPTransformer:
    # Cached per process (``mtime`` in the key: a retrained checkpoint is reloaded). Building
    # the module draws its random initial weights from torch's global generator, inside the
    # run's seeded stream: without keep_rng, a run that loads its network would draw other
    # raw samples than one that finds it cached (a worker's first run differed from a rerun).
    return NAPTransformer.load(path, expected_dim=dim, keep_rng=True).eval()


def load_network(arg: str, kind: str, space: SearchSpace) -> NAPTransformer:
    """The (cached, eval-mode) network of a checkpoint, checked against the task's space
    (its dim and its categorical dims)."""
    return load_network_and_decisions(arg, kind, space)[0]


def load_network_and_decisions(
    arg: str, kind: str, space: SearchSpace
) -> tuple[NAPTransformer, dict]:
    """:func:`load_network` and the shipped model's decision settings (``{}`` if none)."""
    path = resolve_checkpoint(arg, kind)
    net = _load_network(str(path), space.dim, (path / "weights.pt").stat().st_mtime)
    check_categories(net.config, space, f"checkpoint {arg!r}")
    return net, decision_defaults(path)


def check_method_fits(spec: str, space: SearchSpace) -> None:
    """Raise ``ValueError`` when a network method's checkpoint does not fit ``space`` (its
    dim or categorical dims): before any run, not once per (task, seed)."""
    name, arg = parse_method(spec)
    entry = METHODS[name]
    if arg is not None and entry.takes_arg is False:
        raise ValueError(f"{spec}: method {name!r} takes no argument (give it as {name!r})")
    if entry.check is not None:
        try:
            entry.check(arg, space)
        except ValueError as e:
            raise ValueError(f"{spec}: {e}") from e


def _check_network(kind: str) -> Callable[[str | None, SearchSpace], None]:
    def check(arg: str | None, space: SearchSpace) -> None:
        load_network_and_decisions(arg, kind, space)

    return check


def portable_checkpoint(path: Path) -> str:
    """How a results file names a checkpoint without any path of this machine: a shipped
    model as ``shipped:<name>/<kind>``, others relative to the working directory (the usual
    case: ``runs/...``) or else to the repository; anything elsewhere by its folder name
    (the recorded sha256 identifies the weights)."""
    from botorch_nap.pretrained import ROOT

    path = Path(path).resolve()
    if path.is_relative_to(ROOT):
        return "shipped:" + path.relative_to(ROOT).as_posix()
    for base in (Path.cwd().resolve(), ROOT.parents[1]):
        if path.is_relative_to(base):
            return path.relative_to(base).as_posix()
    return path.name


def describe_method(spec: str) -> dict:
    """What the results file records about a method: its checkpoint, named portably
    (:func:`portable_checkpoint`), and the weights' sha256."""
    name, arg = parse_method(spec)
    out: dict = {"name": name, "arg": arg, "help": METHODS[name].help}
    kind = {"nap": "nap", "np-ei": "np"}.get(name)
    if kind is not None and arg:
        path = resolve_checkpoint(arg, kind)
        out["checkpoint"] = portable_checkpoint(path)
        if os.path.isabs(arg):  # the user's spelling, minus this machine's folders
            out["arg"] = out["checkpoint"]
        weights = path / "weights.pt"
        if weights.is_file():
            out["weights_sha256"] = _file_sha256(weights)
        decisions = decision_defaults(path)
        if decisions:
            out["decisions"] = decisions
    if name == "fsbo" and arg:
        path = Path(arg).expanduser()
        if not (path / "fsbo.json").is_file():
            raise FileNotFoundError(
                f"fsbo:{arg}: no FSBO checkpoint there (make one with botorch-nap fsbo-train)"
            )
        out["checkpoint"] = portable_checkpoint(path.resolve())
        if os.path.isabs(arg):
            out["arg"] = out["checkpoint"]
        out["weights_sha256"] = _file_sha256(path / "weights.pt")
    return out


# ----------------------------------------------------------------------------- built-ins
def _nap(arg: str | None, ctx: MethodContext) -> Proposer:
    net, decisions = load_network_and_decisions(arg, "nap", ctx.family.space)
    return NAP(net, budget=ctx.n_init + ctx.steps, settings=ctx.settings, **decisions)


def _np_ei(arg: str | None, ctx: MethodContext) -> Proposer:
    net, decisions = load_network_and_decisions(arg, "np", ctx.family.space)
    return NPEI(net, settings=ctx.settings, **decisions)


def _gp_ei(arg: str | None, ctx: MethodContext) -> Proposer:
    return GPEI(settings=ctx.settings)


def _gp_ei_mixed(arg: str | None, ctx: MethodContext) -> Proposer:
    cat_dims = dict(ctx.family.space.categorical_dims)
    if not cat_dims:
        raise ValueError(f"gp-ei-mixed: family {ctx.family.name} has no categorical parameter")
    return GPEIMixed(cat_dims, settings=ctx.settings)


def _random(arg: str | None, ctx: MethodContext) -> Proposer:
    return RandomSearch(generator=torch.Generator().manual_seed(ctx.seed))


_PRIORS: dict[int, object] = {}


def transfer_prior(family: TaskFamily):
    """The family's :class:`~botorch_nap.benchmark.transfer.TransferPrior`, built once per
    process (keyed by the family object, which the runner caches per process)."""
    from botorch_nap.benchmark.transfer import TransferPrior

    key = id(family)
    if key not in _PRIORS:
        _PRIORS[key] = (family, TransferPrior.from_family(family))
    return _PRIORS[key][1]


def _gp_ei_transfer(arg: str | None, ctx: MethodContext) -> Proposer:
    from botorch_nap.benchmark.transfer import TransferGPEI

    k = 5 if arg is None else int(arg)
    return TransferGPEI(transfer_prior(ctx.family), ctx.n_init, k, settings=ctx.settings)


def _portfolio(arg: str | None, ctx: MethodContext) -> Proposer:
    from botorch_nap.benchmark.transfer import TransferPortfolio

    return TransferPortfolio(transfer_prior(ctx.family), settings=ctx.settings)


def _check_categorical(arg: str | None, space: SearchSpace) -> None:
    if not space.categorical_dims:
        raise ValueError("the family has no categorical parameter (use gp-ei)")


def _check_transfer(arg: str | None, space: SearchSpace) -> None:
    if arg is not None and not (arg.isdigit() and int(arg) >= 1):
        raise ValueError(f"k must be a whole number >= 1 (portfolio steps), got {arg!r}")


register_method(
    "nap",
    _nap,
    "NAP acquisition head of <checkpoint>",
    needs_arg=True,
    check=_check_network("nap"),
)
register_method(
    "np-ei",
    _np_ei,
    "exact EI over the bar posterior of <checkpoint>",
    needs_arg=True,
    check=_check_network("np"),
)
register_method("gp-ei", _gp_ei, "BoTorch SingleTaskGP + LogEI", takes_arg=False)
register_method(
    "gp-ei-mixed",
    _gp_ei_mixed,
    "BoTorch MixedSingleTaskGP (categorical kernel) + LogEI",
    takes_arg=False,
    check=_check_categorical,
)
register_method("random", _random, "uniform random search", takes_arg=False)
register_method(
    "gp-ei-transfer",
    _gp_ei_transfer,
    "k (default 5) meta-train portfolio steps, then GP-EI",
    check=_check_transfer,
)
register_method(
    "portfolio", _portfolio, "greedy meta-train portfolio for every step", takes_arg=False
)


def _fsbo(arg: str | None, ctx: MethodContext) -> Proposer:
    from botorch_nap.benchmark.fsbo import FSBO

    return FSBO.from_checkpoint(arg, settings=ctx.settings)


def _register_peers() -> None:
    from botorch_nap.benchmark import peers

    peers.register()
    register_method(
        "fsbo",
        _fsbo,
        "FSBO: deep-kernel GP meta-trained by `botorch-nap fsbo-train`, fine-tuned per step",
        needs_arg=True,
        check=_check_fsbo,
    )


def _check_fsbo(arg: str | None, space: SearchSpace) -> None:
    from botorch_nap.benchmark.fsbo import load

    cfg = load(arg)[0]
    if cfg.dim != space.dim:
        raise ValueError(f"the FSBO checkpoint takes {cfg.dim} dims, the family has {space.dim}")


_register_peers()

r"""Other optimisers in the benchmark, run from the same initial points as ours (issue 15).

==================  ==========================================================================
``optuna-tpe``      Optuna's TPE sampler, ``multivariate=True``, its other defaults (the first
                    10 completed trials are its random start-up, the shared initial points
                    included); extra ``[peers]`` (``optuna``)
``smac``            SMAC3's hyperparameter-optimisation facade (random forest, its local and
                    random search of the acquisition), an empty initial design of its own;
                    extra ``[peers]`` (``smac``)
``hebo``            HEBO 0.3.6 with its default GP; it pins numpy<1.25, so it is installed
                    without its pins (``make install-peers``) and runs on numpy 2
``ax-default``      a plain Ax ``Client`` with no generation strategy set: Ax's own default
                    (Sobol, then its modular BoTorch GP); extra ``[ax]``
==================  ==========================================================================

Every peer is a stateful :class:`~botorch_nap.baselines.Proposer` built per run. At each
step it is first *told* every evaluated point it has not seen (the shared initial design on
the first call: Optuna ``add_trial``, Ax ``attach_trial`` + ``complete_trial``), then asked
for one point through its own loop (``study.ask`` / ``get_next_trials``). Its own history
therefore holds exactly the loop's evaluations (:meth:`PeerProposer.history`).

**Pools.** These peers propose continuous points; on a pool the proposal is mapped to the
nearest unevaluated pool point (Euclidean distance in the unit cube of the bounds). The
asked point is then closed as failed (Optuna) or abandoned (Ax), and the pool point that was
evaluated is told as a new observation, so that a peer never learns a value at a point that
was not evaluated. In the box the asked point is evaluated as is and completed.

All dimensions are given to the peers as floats over the task's bounds, as GP-EI and NAP see
them (integer and categorical parameters of a continuous family are rounded by the task). So
on a categorical pool (``antibody``, ``eda``) a peer treats the category codes as ordered
numbers and its proposal is snapped to the nearest pool point: not how Optuna or SMAC would
model those parameters natively, which a comparison on such families should keep in mind.
"""

from __future__ import annotations

import torch
from torch import Tensor

from botorch_nap.baselines import Proposer, _unevaluated
from botorch_nap.normalization import to_unit_cube


def nearest_unevaluated(x: Tensor, candidates: Tensor, train_X: Tensor, bounds: Tensor) -> Tensor:
    """The unevaluated pool row nearest to ``x`` (``1 x d``) in the unit cube -> ``1 x d``."""
    free = _unevaluated(candidates, train_X)
    if free.shape[0] == 0:
        raise ValueError("every candidate has already been evaluated")
    U = to_unit_cube(free.to(torch.float64), bounds.to(torch.float64))
    u = to_unit_cube(x.to(torch.float64), bounds.to(torch.float64))
    return free[(U - u).square().sum(-1).argmin()].unsqueeze(0).to(train_X)


class PeerProposer(Proposer):
    """Tell-then-ask wrapper of a stateful optimiser (see the module docstring).

    Subclasses implement :meth:`_start` (given the bounds), :meth:`_observe` (a new
    evaluated point, and whether it is the point last asked), :meth:`_ask` (``1 x d``) and
    :meth:`_drop_asked` (the asked point was not evaluated).
    """

    def __init__(self, seed: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.seed = int(seed)
        self._started = False
        self._told = 0
        self._asked: Tensor | None = None
        self._history: list[Tensor] = []

    def history(self) -> Tensor:
        """Every point the peer was told, in order (``k x d``)."""
        if not self._history:
            return torch.empty(0)
        return torch.stack(self._history)

    def propose(
        self, train_X: Tensor, train_Y: Tensor, bounds: Tensor, candidates: Tensor | None = None
    ) -> Tensor:
        if not self._started:
            self._start(bounds.to(torch.float64))
            self._started = True
        Y = train_Y.reshape(-1)
        for i in range(self._told, train_X.shape[0]):
            x, y = train_X[i].to(torch.float64), float(Y[i])
            was_asked = self._asked is not None and bool(torch.equal(x, self._asked[0]))
            if self._asked is not None and not was_asked:
                self._drop_asked()
            self._observe(x, y, was_asked)
            self._asked = None
            self._history.append(x)
        self._told = train_X.shape[0]
        x = self._ask().to(torch.float64)
        lo, hi = bounds.to(x)
        x = torch.minimum(torch.maximum(x, lo), hi)
        if candidates is None:
            self._asked = x
            return x.to(train_X)
        chosen = nearest_unevaluated(x, candidates, train_X, bounds)
        same = bool(torch.equal(chosen.to(torch.float64), x))
        self._asked = x if same else None
        if not same:
            self._drop_asked()
        return chosen

    # subclass interface -------------------------------------------------------------
    def _start(self, bounds: Tensor) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _observe(self, x: Tensor, y: float, was_asked: bool) -> None:  # pragma: no cover
        raise NotImplementedError

    def _ask(self) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _drop_asked(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


def _names(d: int) -> list[str]:
    return [f"x{j}" for j in range(d)]


class OptunaTPE(PeerProposer):
    """Optuna's multivariate TPE (maximising), told the loop's evaluations with ``add_trial``."""

    name = "optuna-tpe"

    def _start(self, bounds: Tensor) -> None:
        try:
            import optuna
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError(
                "optuna-tpe needs optuna: pip install 'botorch-nap[peers]' (or optuna)"
            ) from e
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._optuna = optuna
        self._dists = {
            n: optuna.distributions.FloatDistribution(float(lo), float(hi))
            for n, lo, hi in zip(_names(bounds.shape[1]), bounds[0], bounds[1])
        }
        sampler = optuna.samplers.TPESampler(multivariate=True, seed=self.seed)
        self.study = optuna.create_study(direction="maximize", sampler=sampler)
        self._trial = None

    def _observe(self, x: Tensor, y: float, was_asked: bool) -> None:
        if was_asked and self._trial is not None:
            self.study.tell(self._trial, y)
        else:
            params = {n: float(v) for n, v in zip(self._dists, x.tolist())}
            trial = self._optuna.trial.create_trial(
                params=params, distributions=self._dists, value=y
            )
            self.study.add_trial(trial)
        self._trial = None

    def _ask(self) -> Tensor:
        self._trial = self.study.ask(self._dists)
        return torch.tensor([[self._trial.params[n] for n in self._dists]], dtype=torch.float64)

    def _drop_asked(self) -> None:
        if self._trial is not None:
            self.study.tell(self._trial, state=self._optuna.trial.TrialState.FAIL)
            self._trial = None


class AxDefault(PeerProposer):
    """A plain Ax ``Client`` (no generation strategy configured: Ax's default)."""

    name = "ax-default"

    def _start(self, bounds: Tensor) -> None:
        import logging

        from ax.api.client import Client
        from ax.api.configs import RangeParameterConfig
        from ax.utils.common.logger import set_stderr_log_level

        # Ax logs every trial at INFO on its own stderr handler: thousands of lines per
        # benchmark. Warnings still show.
        set_stderr_log_level(logging.WARNING)
        self._names = _names(bounds.shape[1])
        self.client = Client(random_seed=self.seed)
        self.client.configure_experiment(
            parameters=[
                RangeParameterConfig(name=n, parameter_type="float", bounds=(float(lo), float(hi)))
                for n, lo, hi in zip(self._names, bounds[0], bounds[1])
            ]
        )
        self.client.configure_optimization(objective="y")
        self._index: int | None = None

    def _observe(self, x: Tensor, y: float, was_asked: bool) -> None:
        if not (was_asked and self._index is not None):
            params = {n: float(v) for n, v in zip(self._names, x.tolist())}
            self._index = self.client.attach_trial(parameters=params)
        self.client.complete_trial(trial_index=self._index, raw_data={"y": y})
        self._index = None

    def _ask(self) -> Tensor:
        ((index, params),) = self.client.get_next_trials(max_trials=1).items()
        self._index = index
        return torch.tensor([[float(params[n]) for n in self._names]], dtype=torch.float64)

    def _drop_asked(self) -> None:
        if self._index is not None:
            self.client.mark_trial_abandoned(trial_index=self._index)
            self._index = None


class SMAC3(PeerProposer):
    """SMAC3's hyperparameter-optimisation facade (its random forest), told the loop's
    evaluations with ``tell`` (cost = -y: SMAC minimises). Its own initial design is empty:
    the shared initial points are its start."""

    name = "smac"

    def _start(self, bounds: Tensor) -> None:
        import tempfile

        try:
            from ConfigSpace import Configuration, ConfigurationSpace, Float
            from smac import HyperparameterOptimizationFacade, Scenario
            from smac.runhistory.dataclasses import TrialInfo, TrialValue
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("smac needs SMAC3: pip install 'botorch-nap[peers]' (or smac)") from e
        self._Configuration, self._TrialInfo, self._TrialValue = (
            Configuration,
            TrialInfo,
            TrialValue,
        )
        self._names = _names(bounds.shape[1])
        self.space = ConfigurationSpace(seed=self.seed)
        self.space.add(
            [Float(n, (float(lo), float(hi))) for n, lo, hi in zip(self._names, *bounds)]
        )
        self._dir = tempfile.TemporaryDirectory(prefix="smac_")
        scenario = Scenario(
            self.space,
            deterministic=True,
            n_trials=10**6,
            seed=self.seed,
            output_directory=self._dir.name,
        )
        facade = HyperparameterOptimizationFacade
        self.smac = facade(
            scenario,
            lambda config, seed=0: 0.0,  # never called: ask/tell only
            intensifier=facade.get_intensifier(scenario, max_config_calls=1),
            initial_design=facade.get_initial_design(scenario, n_configs=0),
            overwrite=True,
            logging_level=40,
        )
        self._info = None

    def _observe(self, x: Tensor, y: float, was_asked: bool) -> None:
        if was_asked and self._info is not None:
            info = self._info
        else:
            values = {n: float(v) for n, v in zip(self._names, x.tolist())}
            info = self._TrialInfo(config=self._Configuration(self.space, values=values), seed=0)
        self.smac.tell(info, self._TrialValue(cost=-y))
        self._info = None

    def _ask(self) -> Tensor:
        self._info = self.smac.ask()
        return torch.tensor(
            [[float(self._info.config[n]) for n in self._names]], dtype=torch.float64
        )

    def _drop_asked(self) -> None:
        # The asked configuration was not evaluated (a pool point near it was): SMAC is
        # simply never told about it, so no value is attributed to it.
        self._info = None


class HEBOPeer(PeerProposer):
    """HEBO (Huawei's NeurIPS 2020 black-box winner) with its default GP model, told the
    loop's evaluations with ``observe`` (it minimises: -y).

    HEBO 0.3.6 pins ``numpy<1.25``; it runs on numpy 2 when installed without its pins
    (``make install-peers``, see the Makefile), its compiled pymoo parts falling back to
    Python.
    """

    name = "hebo"

    def _start(self, bounds: Tensor) -> None:
        try:
            import pandas as pd
            from hebo.design_space.design_space import DesignSpace
            from hebo.optimizers.hebo import HEBO
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError(
                "hebo needs HEBO, which pins numpy<1.25: install it without its pins with "
                "`make install-peers` (pip install --no-deps hebo==0.3.6 pymoo==0.6.0 "
                "disjoint-set, then autograd cma alive-progress Deprecated)"
            ) from e
        import numpy as np

        # HEBO draws from the global generators; seed them once per run for repeatability.
        np.random.seed(self.seed)
        torch.manual_seed(self.seed)
        self._pd = pd
        self._names = _names(bounds.shape[1])
        space = DesignSpace().parse(
            [
                {"name": n, "type": "num", "lb": float(lo), "ub": float(hi)}
                for n, lo, hi in zip(self._names, *bounds)
            ]
        )
        self.opt = HEBO(space, scramble_seed=self.seed)

    def _observe(self, x: Tensor, y: float, was_asked: bool) -> None:
        import numpy as np

        row = self._pd.DataFrame([dict(zip(self._names, x.tolist()))])
        self.opt.observe(row, np.array([[-y]]))

    def _ask(self) -> Tensor:
        rec = self.opt.suggest(n_suggestions=1)
        return torch.tensor(rec[self._names].to_numpy(dtype=float), dtype=torch.float64)

    def _drop_asked(self) -> None:
        pass  # HEBO keeps no record of a suggestion until it is observed


def register() -> None:
    """Register the peers as benchmark methods (done on import of the methods module)."""
    from botorch_nap.benchmark.methods import register_method

    register_method(
        "optuna-tpe",
        lambda arg, ctx: OptunaTPE(seed=ctx.seed, settings=ctx.settings),
        "Optuna TPE (multivariate), told the shared initial points [peers]",
        takes_arg=False,
    )
    register_method(
        "smac",
        lambda arg, ctx: SMAC3(seed=ctx.seed, settings=ctx.settings),
        "SMAC3 hyperparameter-optimisation facade (random forest), told the shared "
        "initial points [peers]",
        takes_arg=False,
    )
    register_method(
        "hebo",
        lambda arg, ctx: HEBOPeer(seed=ctx.seed, settings=ctx.settings),
        "HEBO (default GP), told the shared initial points [make install-peers]",
        takes_arg=False,
    )
    register_method(
        "ax-default",
        lambda arg, ctx: AxDefault(seed=ctx.seed, settings=ctx.settings),
        "a plain Ax Client with Ax's default strategy, told the shared initial points [ax]",
        takes_arg=False,
    )

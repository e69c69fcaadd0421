r"""FSBO (Wistuba & Grabocka, ICLR 2021): a deep-kernel GP meta-trained on the family's tasks.

The kernel is ``ScaleKernel(Matern-5/2(g(x), g(x')))`` with ``g`` an MLP feature extractor
(:class:`FeatureKernel`). **Meta-training** (:func:`meta_train`): every step draws one
training task (``n_points`` of its points, inputs mapped to the unit cube by the family's
bounds, y standardised) and takes an Adam step on the GP's negative marginal log-likelihood;
the extractor, kernel and noise are shared across tasks. **Use** (:class:`FSBO`): at each BO
step the meta-trained parameters are copied, fine-tuned on the target's history by 50 Adam
steps on its marginal likelihood (as FSBO does), and ``LogExpectedImprovement`` is maximised
like GP-EI's. FSBO's own warm-start initial design is left out, so that every method starts from
the same shared initial points.

Checkpoints follow the library's rule: ``fsbo.json`` (config) + ``weights.pt`` (a plain
state_dict, loaded with ``weights_only=True``).

Example:
    >>> cfg = FSBOConfig(dim=6)
    >>> kernel, lik = meta_train(family, cfg, steps=2000, out="runs/fsbo_xgb")
    >>> x = FSBO.from_checkpoint("runs/fsbo_xgb").propose(train_X, train_Y, bounds, pool)
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from botorch.acquisition import AcquisitionFunction, LogExpectedImprovement
from botorch.models import SingleTaskGP
from botorch.models.transforms.input import Normalize
from botorch.models.transforms.outcome import Standardize
from gpytorch.kernels import Kernel, MaternKernel, ScaleKernel
from gpytorch.likelihoods import GaussianLikelihood
from gpytorch.mlls import ExactMarginalLogLikelihood
from torch import Tensor, nn
from tqdm.auto import tqdm

from botorch_nap.baselines import Proposer

CONFIG_FILE, WEIGHTS_FILE = "fsbo.json", "weights.pt"
FORMAT = "botorch-nap-fsbo/v1"


@dataclass
class FSBOConfig:
    """Deep-kernel size and meta-training settings (FSBO's paper: 3 x 32 ReLU, Matern-5/2)."""

    dim: int
    hidden: int = 32
    layers: int = 3
    lr: float = 1e-3
    n_points: int = 50


class FeatureKernel(Kernel):
    """``base(g(x1), g(x2))``: a base kernel on learnt features."""

    def __init__(self, extractor: nn.Module, base: Kernel) -> None:
        super().__init__()
        self.extractor = extractor
        self.base = base

    def forward(self, x1: Tensor, x2: Tensor, diag: bool = False, **params) -> Tensor:
        return self.base.forward(self.extractor(x1), self.extractor(x2), diag=diag, **params)


def build_kernel(cfg: FSBOConfig) -> tuple[ScaleKernel, GaussianLikelihood]:
    layers: list[nn.Module] = []
    d_in = cfg.dim
    for _ in range(cfg.layers):
        layers += [nn.Linear(d_in, cfg.hidden), nn.ReLU()]
        d_in = cfg.hidden
    extractor = nn.Sequential(*layers).double()
    kernel = ScaleKernel(FeatureKernel(extractor, MaternKernel(nu=2.5, ard_num_dims=cfg.hidden)))
    return kernel.double(), GaussianLikelihood().double()


def _gp(X: Tensor, y: Tensor, kernel: Kernel, lik: GaussianLikelihood, **kw) -> SingleTaskGP:
    return SingleTaskGP(X, y, covar_module=kernel, likelihood=lik, **kw)


def meta_train(
    family,
    cfg: FSBOConfig,
    steps: int,
    out: str | os.PathLike | None = None,
    seed: int = 0,
    time_limit_s: float | None = None,
    progress: bool = True,
) -> tuple[ScaleKernel, GaussianLikelihood]:
    """Meta-train the shared deep kernel on ``family``'s training tasks (see module docstring).

    Returns the kernel and likelihood; with ``out``, also saves them there (and every 100
    steps, so an interrupted run keeps its last checkpoint).
    """
    if family.space.dim != cfg.dim:
        raise ValueError(f"config dim {cfg.dim} != family dim {family.space.dim}")
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    kernel, lik = build_kernel(cfg)
    opt = torch.optim.Adam(list(kernel.parameters()) + list(lik.parameters()), lr=cfg.lr)
    lo, hi = family.space.bounds.to(torch.float64)
    t0 = time.perf_counter()
    bar = tqdm(range(steps), disable=not progress, desc="fsbo meta-train")
    losses = []
    for step in bar:
        X, y = family.sample_batch(1, cfg.n_points, generator=g, split="train")
        X = ((X[0] - lo) / (hi - lo)).to(torch.float64)
        y = y[0].to(torch.float64)
        y = ((y - y.mean()) / y.std().clamp_min(1e-9)).unsqueeze(-1)
        model = _gp(X, y, kernel, lik)
        mll = ExactMarginalLogLikelihood(lik, model)
        model.train()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loss = -mll(model(X), y.squeeze(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        if progress:
            bar.set_postfix(nll=f"{sum(losses[-50:]) / len(losses[-50:]):.3f}")
        done = step + 1 == steps
        if out is not None and ((step + 1) % 100 == 0 or done):
            save(out, cfg, kernel, lik, {"steps": step + 1, "nll": losses[-1]})
        if time_limit_s is not None and time.perf_counter() - t0 >= time_limit_s:
            if out is not None:
                save(out, cfg, kernel, lik, {"steps": step + 1, "nll": losses[-1]})
            break
    bar.close()
    return kernel, lik


def save(out, cfg: FSBOConfig, kernel: Kernel, lik: GaussianLikelihood, meta: dict) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    state = {f"kernel.{k}": v.detach().cpu() for k, v in kernel.state_dict().items()}
    state.update({f"likelihood.{k}": v.detach().cpu() for k, v in lik.state_dict().items()})
    tmp = out / (WEIGHTS_FILE + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, out / WEIGHTS_FILE)
    (out / CONFIG_FILE).write_text(
        json.dumps({"format": FORMAT, "config": asdict(cfg), "meta": meta}, indent=2)
    )
    return out


def load(path) -> tuple[FSBOConfig, ScaleKernel, GaussianLikelihood]:
    """Load a checkpoint written by :func:`save` (``weights_only=True``)."""
    path = Path(path)
    cfg_file = path / CONFIG_FILE
    if not cfg_file.is_file() or not (path / WEIGHTS_FILE).is_file():
        raise FileNotFoundError(f"{path} holds no FSBO checkpoint ({CONFIG_FILE}, {WEIGHTS_FILE})")
    doc = json.loads(cfg_file.read_text())
    if doc.get("format") != FORMAT:
        raise ValueError(f"{cfg_file} is not an FSBO checkpoint (format {doc.get('format')!r})")
    cfg = FSBOConfig(**doc["config"])
    kernel, lik = build_kernel(cfg)
    state = torch.load(path / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    kernel.load_state_dict({k[7:]: v for k, v in state.items() if k.startswith("kernel.")})
    lik.load_state_dict({k[11:]: v for k, v in state.items() if k.startswith("likelihood.")})
    return cfg, kernel, lik


class FSBO(Proposer):
    """FSBO at decision time: the meta-trained deep kernel, fine-tuned on the history."""

    name = "fsbo"

    def __init__(
        self,
        cfg: FSBOConfig,
        kernel: Kernel,
        lik: GaussianLikelihood,
        finetune_steps: int = 50,
        **kw,
    ) -> None:
        super().__init__(**kw)
        self.cfg, self.kernel, self.lik = cfg, kernel, lik
        self.finetune_steps = int(finetune_steps)

    @classmethod
    def from_checkpoint(cls, path, **kw) -> FSBO:
        return cls(*load(path), **kw)

    def acquisition(
        self, train_X: Tensor, train_Y: Tensor, bounds: Tensor, pool: bool = False
    ) -> AcquisitionFunction:
        if train_X.shape[-1] != self.cfg.dim:
            raise ValueError(f"train_X has {train_X.shape[-1]} dims, FSBO expects {self.cfg.dim}")
        X, Y = train_X.to(torch.float64), train_Y.to(torch.float64).reshape(-1, 1)
        Y = Y if self.maximize else -Y
        kernel, lik = copy.deepcopy(self.kernel), copy.deepcopy(self.lik)
        model = _gp(
            X,
            Y,
            kernel,
            lik,
            input_transform=Normalize(X.shape[-1], bounds=bounds.to(X)),
            outcome_transform=Standardize(1),
        )
        # Fine-tuning as FSBO does it: a few Adam steps on the marginal likelihood from the
        # meta-trained start (BoTorch's L-BFGS fit over the extractor's thousands of weights
        # took ~30 s a decision).
        mll = ExactMarginalLogLikelihood(model.likelihood, model)
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=self.cfg.lr)
        X_in, y_in = model.train_inputs[0], model.train_targets
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(self.finetune_steps):
                opt.zero_grad()
                loss = -mll(model(X_in), y_in)
                loss.backward()
                opt.step()
        model.eval()
        return LogExpectedImprovement(model, best_f=Y.max())


def nll_per_task(family, kernel, lik, cfg: FSBOConfig, split: str, n_tasks: int = 16) -> float:
    """Mean negative MLL per point of ``n_tasks`` tasks of ``split`` (a quick check)."""
    g = torch.Generator().manual_seed(12345)
    lo, hi = family.space.bounds.to(torch.float64)
    X, y = family.sample_batch(n_tasks, cfg.n_points, generator=g, split=split)
    total = 0.0
    with torch.no_grad():
        for i in range(n_tasks):
            Xi = ((X[i] - lo) / (hi - lo)).to(torch.float64)
            yi = y[i].to(torch.float64)
            yi = (yi - yi.mean()) / yi.std().clamp_min(1e-9)
            model = _gp(Xi, yi.unsqueeze(-1), kernel, lik)
            model.train()
            mll = ExactMarginalLogLikelihood(lik, model)
            total += -float(mll(model(Xi), yi))
    return total / n_tasks if not math.isnan(total) else math.nan

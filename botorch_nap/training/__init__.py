"""Meta-training: NP pretraining (aux loss alone) and PPO with the auxiliary loss.

* :func:`~botorch_nap.training.pretrain.pretrain`: the bar head on random context/target
  splits; early stopping on validation NLL (the NP-EI baseline and the PPO warm start).
* :class:`~botorch_nap.training.env.BOEnv`: batched BO episodes over candidate sets.
* :func:`~botorch_nap.training.ppo.train` with :class:`~botorch_nap.training.ppo.PPOConfig`.
"""

from botorch_nap.training.env import BOEnv, EnvConfig
from botorch_nap.training.ppo import PPOConfig, compute_gae, train
from botorch_nap.training.pretrain import pretrain

__all__ = ["BOEnv", "EnvConfig", "PPOConfig", "compute_gae", "pretrain", "train"]

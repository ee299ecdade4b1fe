"""The trainer: config, advantages, losses, checkpoints, metrics and the training loop.

``Trainer`` is imported lazily (``from turngym.trainer import Trainer``) so that the building
blocks can be used, and this package imported, without pulling in the loop's dependencies.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from turngym.trainer.advantages import (
    compute_advantages,
    grpo_advantages,
    reinforce_pp_advantages,
    rloo_advantages,
)
from turngym.trainer.checkpoint import CheckpointError, CheckpointManager, rng_state, set_rng_state
from turngym.trainer.config import (
    AlgoConfig,
    CheckpointConfig,
    ConfigError,
    EnvConfig,
    EvalConfig,
    LoraConfig,
    ModelConfig,
    OptimConfig,
    RolloutConfig,
    TrainConfig,
)
from turngym.trainer.losses import kl_penalty, policy_loss, sequence_logprobs, token_entropy
from turngym.trainer.metrics import (
    ConsoleProgress,
    MetricsLogger,
    aggregate_trajectory_metrics,
    plot_rewards,
    read_metrics,
)
from turngym.trainer.rubric import RewardTerm, Rubric
from turngym.trainer.task_selection import MoppsSelector

if TYPE_CHECKING:
    from turngym.trainer.trainer import Trainer

__all__ = [
    "AlgoConfig",
    "CheckpointConfig",
    "CheckpointError",
    "CheckpointManager",
    "ConfigError",
    "ConsoleProgress",
    "EnvConfig",
    "EvalConfig",
    "LoraConfig",
    "MetricsLogger",
    "MoppsSelector",
    "ModelConfig",
    "OptimConfig",
    "RewardTerm",
    "RolloutConfig",
    "Rubric",
    "TrainConfig",
    "Trainer",
    "aggregate_trajectory_metrics",
    "compute_advantages",
    "grpo_advantages",
    "kl_penalty",
    "plot_rewards",
    "policy_loss",
    "read_metrics",
    "reinforce_pp_advantages",
    "rloo_advantages",
    "rng_state",
    "sequence_logprobs",
    "token_entropy",
    "set_rng_state",
]


def __getattr__(name: str) -> Any:
    if name == "Trainer":
        return importlib.import_module("turngym.trainer.trainer").Trainer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""The turngym.trainer package exports its building blocks and resolves Trainer lazily."""

from __future__ import annotations

import pytest

import turngym.trainer as trainer_pkg


def test_exports() -> None:
    for name in ("TrainConfig", "ConfigError", "CheckpointManager", "MetricsLogger", "policy_loss"):
        assert name in trainer_pkg.__all__ and hasattr(trainer_pkg, name)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        trainer_pkg.Nope  # noqa: B018

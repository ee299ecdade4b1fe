"""Multi-reward rubrics: weights, log-only terms, errors, and training on a rubric alone."""

from __future__ import annotations

import pytest

from turngym.core import Message
from turngym.core.trajectory import StopReason, Trajectory
from turngym.trainer.config import ConfigError
from turngym.trainer.rubric import (
    RewardTerm,
    Rubric,
    RubricError,
    brevity,
    has_boxed_answer,
    load_reward_fn,
)


def says_ing(completions, **kwargs):
    """1.0 when the reply contains 'ing' (the Keyword env's own reward, as a rubric term)."""
    return [1.0 if "ing" in c.lower() else 0.0 for c in completions]


def wrong_length(completions, **kwargs):
    return [1.0]


def episode(reply: str, env_reward: float) -> Trajectory:
    return Trajectory(
        segments=(),
        messages=(Message("user", "q"), Message("assistant", reply)),
        turn_rewards=(env_reward,),
        terminated=True,
        truncated=False,
        stop_reason=StopReason.TERMINATED,
        info={"success": env_reward > 0},
    )


def test_weighted_sum_and_log_only_terms_by_hand():
    rubric = Rubric(
        [RewardTerm("boxed", has_boxed_answer, 0.5), RewardTerm("short", brevity, 0.0)],
        env_weight=2.0,
    )
    eps = [episode("\\boxed{4}", 1.0), episode("x" * 200, 0.0)]
    totals, metrics = rubric.score(eps)
    # episode 1: 2.0 * 1 + 0.5 * 1 + 0 * (1 - 9/400); episode 2: 2.0 * 0 + 0.5 * 0 + 0 * 0.5
    assert totals == pytest.approx([2.5, 0.0])
    assert metrics["reward/env"] == pytest.approx(0.5)
    assert metrics["reward/boxed"] == pytest.approx(0.5)
    assert metrics["reward/short"] == pytest.approx(((1 - 9 / 400) + 0.5) / 2)  # logged anyway


def test_rubric_errors_are_clear():
    with pytest.raises(RubricError, match="returned 1 values for 2 episodes"):
        Rubric([RewardTerm("bad", wrong_length)]).score([episode("a", 0), episode("b", 0)])
    with pytest.raises(RubricError, match="package.module:function"):
        load_reward_fn("not_a_spec")
    with pytest.raises(RubricError, match="cannot load"):
        load_reward_fn("tests.trainer.test_rubric:nope")
    with pytest.raises(RubricError, match="unique"):
        Rubric([RewardTerm("env", brevity)])


def test_training_on_a_rubric_alone(tiny_model_path, tmp_path):
    from tests.trainer.test_training_loop import keyword_config
    from turngym.trainer.trainer import Trainer

    # The env pays for "apple"; the rubric pays for "ing"; only the rubric is trained on.
    cfg = keyword_config(
        tiny_model_path,
        tmp_path,
        **{"env.kwargs.keyword": "apple", "env_reward_weight": 0.0},
    ).apply_overrides(['rewards=[{"fn": "tests.trainer.test_rubric:says_ing", "name": "ing"}]'])
    trainer = Trainer(cfg, log=lambda s: None)
    history = [trainer.train_step() for _ in range(24)]
    ing = [m["reward/ing"] for m in history]
    assert sum(ing[:3]) / 3 < 0.45 and sum(ing[-4:]) / 4 > 0.7, ing
    assert all(m["reward/train_mean"] == pytest.approx(m["reward/ing"]) for m in history)


def test_bad_reward_config_fails_before_training(tiny_model_path, tmp_path):
    from tests.trainer.test_training_loop import keyword_config
    from turngym.trainer.trainer import Trainer

    cfg = keyword_config(tiny_model_path, tmp_path).apply_overrides(
        ['rewards=[{"fn": "no.such.module:f"}]']
    )
    with pytest.raises(ConfigError, match="no.such.module"):
        Trainer(cfg, log=lambda s: None)

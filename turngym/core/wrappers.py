"""Wrappers that ``turngym.make`` applies to every text env."""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym

from turngym.core.trajectory import StopReason


class TurnLimit(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Truncates an episode after ``max_turns`` steps and says so in ``info["stop_reason"]``.

    Unlike Gymnasium's ``TimeLimit`` it records why the episode ended, so a rollout can tell a
    turn cap (a truncation, not to be scored as a real ending) from the env's own termination.
    """

    def __init__(self, env: gym.Env, max_turns: int):
        if not isinstance(max_turns, int) or isinstance(max_turns, bool) or max_turns <= 0:
            raise ValueError(f"TurnLimit.max_turns must be a positive int, got {max_turns!r}")
        gym.utils.RecordConstructorArgs.__init__(self, max_turns=max_turns)
        gym.Wrapper.__init__(self, env)
        self.max_turns = max_turns
        self._turns = 0

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self._turns = 0
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._turns += 1
        if self._turns >= self.max_turns and not (terminated or truncated):
            truncated = True
            info = dict(info)
            info["stop_reason"] = StopReason.TURN_LIMIT.value
        return obs, reward, terminated, truncated, info

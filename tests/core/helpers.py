"""Small envs used by several tests."""

from __future__ import annotations

from turngym.core.messages import Message
from turngym.envs.base import StepOutcome, Task, TextEnv


class NeverEndingEnv(TextEnv):
    """Echoes every action back as a user message and never ends on its own."""

    def num_tasks(self, split: str = "train") -> int | None:
        return 4

    def get_task(self, index: int, split: str = "train") -> Task:
        return {"id": f"{split}-{index}"}

    def initial_messages(self, task: Task) -> list[Message]:
        return [Message("system", "Talk."), Message("user", f"task {task['id']}")]

    def on_action(self, action: str) -> StepOutcome:
        return StepOutcome(messages=[Message("user", f"you said {len(action)} chars")], reward=0.1)


class CrashingEnv(NeverEndingEnv):
    """Raises on the second step (or on reset when asked to)."""

    def __init__(self, crash_on_reset: bool = False, crash_at_turn: int = 1, **kw):
        super().__init__(**kw)
        self.crash_on_reset = crash_on_reset
        self.crash_at_turn = crash_at_turn

    def on_reset(self, task: Task) -> None:
        if self.crash_on_reset:
            raise RuntimeError("env exploded on reset")

    def on_action(self, action: str) -> StepOutcome:
        if self.turn >= self.crash_at_turn:
            raise RuntimeError("env exploded on step")
        return super().on_action(action)


class BrokenContractEnv(NeverEndingEnv):
    """Ends episodes without a stop_reason and truncates on its own: check_env must object."""

    def step(self, action):
        obs, reward, term, trunc, info = super().step(action)
        return obs, reward, True, True, {}

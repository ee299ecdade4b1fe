"""``turngym/Keyword-v0``: say a given word. The smallest learnable env, for tests and demos."""

from __future__ import annotations

from typing import Any

from turngym.core.messages import Message
from turngym.envs.base import StepOutcome, Task, TextEnv

_WORDS = ("apple", "river", "yes", "blue", "seven", "hello", "stone", "paper")


class KeywordEnv(TextEnv):
    """Single-turn: reward 1 when the reply contains the task's keyword (case-insensitive)."""

    def __init__(
        self,
        *,
        keyword: str | None = None,
        words: tuple[str, ...] = _WORDS,
        render_mode: str | None = None,
    ):
        super().__init__(render_mode=render_mode)
        if keyword is not None and not keyword:
            raise ValueError("keyword must be a non-empty string or None")
        self.keyword = keyword
        self.words = tuple(words)

    def num_tasks(self, split: str = "train") -> int | None:
        return 1 if self.keyword is not None else len(self.words)

    def get_task(self, index: int, split: str = "train") -> Task:
        word = self.keyword if self.keyword is not None else self.words[index % len(self.words)]
        return {"id": f"keyword-{word}", "keyword": word}

    def initial_messages(self, task: Task) -> list[Message]:
        return [Message("user", f"Reply with the word '{task['keyword']}'.")]

    def on_action(self, action: str) -> StepOutcome:
        assert self.task is not None
        hit = self.task["keyword"].lower() in action.lower()
        return StepOutcome(reward=1.0 if hit else 0.0, done=True, info={"success": hit})

    def probe_actions(self) -> list[str]:
        return ["", "apple"]

    def episode_info(self) -> dict[str, Any]:
        return {}

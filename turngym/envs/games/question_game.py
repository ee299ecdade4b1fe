"""The turn logic that Twenty Questions and Guess My City share.

Both are LMRL-Gym question games (Abdulhai et al., 2023): each assistant turn is a question or
a guess, a rule-based oracle answers it, a correct guess wins and running out of questions
loses. :class:`QuestionGameEnv` keeps the score (questions used, wrong guesses, messages not
understood), pays the reward and says how many questions are left; a game supplies only its
oracle's reply and the name of its hidden item.
"""

from __future__ import annotations

from typing import Any, Protocol

from turngym.core.messages import Message
from turngym.envs.base import StepOutcome, TextEnv
from turngym.envs.games.common import ItemSplits

__all__ = ["GameReply", "QuestionGameEnv"]


class GameReply(Protocol):
    """What :class:`QuestionGameEnv` reads from an oracle's reply."""

    @property
    def text(self) -> str:
        """What the oracle says."""
        ...

    @property
    def kind(self) -> str:
        """``"guess"``, ``"help"`` (not understood) or a game's own kind of answer."""
        ...

    @property
    def correct(self) -> bool:
        """A guess that names the hidden item."""
        ...


class QuestionGameEnv(TextEnv):
    """A game of questions about a hidden item, answered by an oracle, within a budget.

    Every turn uses one of ``max_questions`` and earns ``-question_cost``; the turn of the
    correct guess adds ``success_reward`` and ends the episode (``info["success"] = True``);
    the last question without it ends the episode too (success False). The last step's
    ``info`` holds :meth:`final_info` as well. ``episode_info`` counts ``questions``,
    ``wrong_guesses`` and ``not_understood`` (replies of kind ``"help"``).

    Subclasses set ``self.splits`` (an :class:`~turngym.envs.games.common.ItemSplits`) and
    implement :meth:`answer` and :meth:`final_info`; ``on_reset`` calls
    :meth:`reset_counts`.

    Args:
        max_questions: Turns before the game is lost.
        question_cost: Subtracted from the reward of every turn (>= 0).
        success_reward: Added on the turn of the correct guess.
        render_mode: ``"ansi"`` or None.

    Raises:
        ValueError: ``max_questions < 1`` or ``question_cost < 0``.
    """

    splits: ItemSplits

    def __init__(
        self,
        *,
        max_questions: int,
        question_cost: float,
        success_reward: float,
        render_mode: str | None = None,
    ):
        super().__init__(render_mode=render_mode)
        if max_questions < 1:
            raise ValueError(f"max_questions must be >= 1, got {max_questions!r}")
        if question_cost < 0:
            raise ValueError(f"question_cost must be >= 0, got {question_cost!r}")
        self.max_questions = int(max_questions)
        self.question_cost = float(question_cost)
        self.success_reward = float(success_reward)
        self._counts = self._zero_counts()

    def answer(self, action: str) -> GameReply:
        """The oracle's reply to one assistant message about the hidden item."""
        raise NotImplementedError(f"{type(self).__name__} must implement answer()")

    def final_info(self) -> dict[str, Any]:
        """What the last step's ``info`` adds besides ``success`` (the hidden item's name)."""
        raise NotImplementedError(f"{type(self).__name__} must implement final_info()")

    def reset_counts(self) -> None:
        """Start the score of a new episode."""
        self._counts = self._zero_counts()

    def num_tasks(self, split: str = "train") -> int | None:
        return self.splits.num_tasks(split)

    def on_action(self, action: str) -> StepOutcome:
        reply = self.answer(action)
        self._counts["questions"] += 1
        if reply.kind == "guess" and not reply.correct:
            self._counts["wrong_guesses"] += 1
        if reply.kind == "help":
            self._counts["not_understood"] += 1
        reward = 0.0 - self.question_cost  # 0.0 - 0.0 is +0.0, not -0.0
        final = self.final_info()
        if reply.correct:
            return StepOutcome(
                reward=reward + self.success_reward, done=True, info={"success": True, **final}
            )
        left = self.max_questions - self._counts["questions"]
        if left <= 0:
            return StepOutcome(reward=reward, done=True, info={"success": False, **final})
        text = f"{reply.text} ({left} question{'s' if left != 1 else ''} left)"
        return StepOutcome(messages=[Message("user", text)], reward=reward)

    def episode_info(self) -> dict[str, Any]:
        return dict(self._counts)

    @staticmethod
    def _zero_counts() -> dict[str, int]:
        return {"questions": 0, "wrong_guesses": 0, "not_understood": 0}

"""``turngym/CoopAnswer-v0``: a pioneer and an observer answer the same task (cooperative).

After CORY (Ma et al., 2024, "Coevolving with the Other You: Fine-Tuning LLM with Sequential
Cooperative Multi-Agent Reinforcement Learning"): two copies of a model play a *pioneer*, who
answers a task, and an *observer*, who sees the task and the pioneer's answer and answers
again. Both are trained on the shared reward, and they swap roles periodically, so the
observer's skill of improving on an answer flows back into the pioneer.

Tasks are generated here, seeded: small arithmetic (``"What is 37 + 48?"``) and word tasks
(reverse a word, count its vowels, upper-case it, its first or last letter).

Protocol (PettingZoo AEC): the pioneer moves first, then the observer, then the game ends.
An answer is written in square brackets (``[85]``; a bare short answer works too); text in
``<think>...</think>`` is stripped first, so the observer sees only the pioneer's public
text. A message with no answer is an illegal move (see ``illegal_move_rule``). Roles: by
default ``player_0`` is the pioneer; ``swap_every=k`` swaps the roles every ``k`` episodes
(resets), and ``reset(options={"swap_roles": True})`` swaps them for one episode.

Reward (cooperative, shared): both players get the number of correct answers (0, 1 or 2;
``shared_reward="mean"`` gives their mean instead). A forfeit ends the game with 0 for both.
Retry penalties, personal, come on top.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from turngym.core.messages import Message
from turngym.envs.multiagent.base import MoveResult, TextGameEnv, parse_bracketed_move

__all__ = ["CoopAnswerEnv", "generate_task", "random_answer", "strong_answer"]

_WORD_LIST = ("planet", "banana", "river", "garden", "silver", "tomato", "window", "puzzle",
              "orange", "kitten", "rocket", "meadow")  # fmt: skip
SHARED_REWARDS: tuple[str, ...] = ("sum", "mean")


def generate_task(rng: np.random.Generator) -> dict[str, str]:
    """A seeded task: ``{"question", "answer", "kind"}``."""
    kind = str(rng.choice(["add", "sub", "mul", "reverse", "vowels", "upper", "first_last"]))
    a, b = int(rng.integers(10, 100)), int(rng.integers(2, 13))
    word = str(rng.choice(_WORD_LIST))
    if kind == "add":
        c = int(rng.integers(10, 100))
        return {"kind": kind, "question": f"What is {a} + {c}?", "answer": str(a + c)}
    if kind == "sub":
        c = int(rng.integers(10, 100))
        return {"kind": kind, "question": f"What is {a} - {c}?", "answer": str(a - c)}
    if kind == "mul":
        return {"kind": kind, "question": f"What is {a} * {b}?", "answer": str(a * b)}
    if kind == "reverse":
        return {
            "kind": kind,
            "question": f"Write the word '{word}' backwards.",
            "answer": word[::-1],
        }
    if kind == "vowels":
        count = sum(ch in "aeiou" for ch in word)
        return {
            "kind": kind,
            "question": f"How many vowels (a, e, i, o, u) are in '{word}'?",
            "answer": str(count),
        }
    if kind == "upper":
        return {
            "kind": kind,
            "question": f"Write '{word}' in capital letters.",
            "answer": word.upper(),
        }
    return {
        "kind": kind,
        "question": f"What are the first and last letters of '{word}'? Answer like: p t",
        "answer": f"{word[0]} {word[-1]}",
    }


def answer_matches(given: str | None, expected: str) -> bool:
    """Exact match after trimming; case-insensitive except for the upper-case task."""
    if given is None:
        return False
    given = given.strip()
    if expected.isupper():
        return given == expected
    return given.lower() == expected.lower()


class CoopAnswerEnv(TextGameEnv):
    """Pioneer answers, observer improves; both share the task reward (CORY). See the module
    docstring.

    Args:
        swap_every: Swap the roles every this many episodes (None: never).
        shared_reward: ``"sum"`` (CORY's collective reward) or ``"mean"`` of the two answers'
            correctness.
        illegal_move_rule, max_retries, illegal_move_penalty, max_action_chars, render_mode:
            See :class:`~turngym.envs.multiagent.base.TextGameEnv`.
    """

    metadata: ClassVar[dict[str, Any]] = {**TextGameEnv.metadata, "name": "coop_answer_v0"}
    reset_options: ClassVar[tuple[str, ...]] = ("swap_roles", "task")

    def __init__(self, *, swap_every: int | None = None, shared_reward: str = "sum", **kwargs: Any):
        super().__init__(**kwargs)
        if swap_every is not None and (not isinstance(swap_every, int) or swap_every < 1):
            raise ValueError(f"swap_every must be a positive int or None, got {swap_every!r}")
        if shared_reward not in SHARED_REWARDS:
            raise ValueError(
                f"shared_reward must be one of {SHARED_REWARDS}, got {shared_reward!r}"
            )
        self.swap_every = swap_every
        self.shared_reward = shared_reward
        self.episodes = 0
        self.task: dict[str, str] = {}
        self.roles: dict[str, str] = {}
        self.answers: dict[str, str | None] = {}

    def new_game(
        self, rng: np.random.Generator, options: dict[str, Any]
    ) -> tuple[dict[str, list[Message]], str]:
        swapped = self.swap_every is not None and (self.episodes // self.swap_every) % 2 == 1
        if options.get("swap_roles"):
            swapped = not swapped
        self.episodes += 1
        pioneer, observer = self.possible_agents[::-1] if swapped else self.possible_agents
        self.roles = {pioneer: "pioneer", observer: "observer"}
        task = dict(options["task"]) if "task" in options else generate_task(rng)
        if not task.get("question") or "answer" not in task:
            raise ValueError(f"options['task'] needs 'question' and 'answer', got {task!r}")
        self.task = {k: str(v) for k, v in task.items()}
        self.answers = {}
        rules = (
            "You and a partner solve the same task and share the reward: one point for each "
            "correct answer. Give your final answer in square brackets, e.g. [42]. "
            "Private reasoning inside <think></think> is not shown to your partner."
        )
        opening = {
            pioneer: [
                Message("system", rules + " You answer first."),
                Message("user", self.task["question"]),
            ],
            observer: [
                Message(
                    "system", rules + " You answer second, after seeing your partner's answer."
                ),
            ],
        }
        return opening, pioneer

    def role(self, agent: str) -> str:
        return self.roles.get(agent, "?")

    def forfeit_rewards(self, agent: str) -> dict[str, float]:
        return dict.fromkeys(self.possible_agents, 0.0)

    def apply_move(self, agent: str, text: str) -> MoveResult:
        answer = parse_bracketed_move(text, lower=False)  # case matters for one task kind
        if not answer:
            return MoveResult(
                legal=False, error="no answer found; give it in square brackets, e.g. [42]."
            )
        self.answers[self.roles[agent]] = answer
        self.log(f"{self.roles[agent]} {agent}: {text}")
        if self.roles[agent] == "pioneer":
            observer = self.other(agent)
            shown = (
                f"Task: {self.task['question']}\n\nYour partner answered:\n{text}\n\nYour answer?"
            )
            return MoveResult(messages={observer: [Message("user", shown)]})
        correct = {
            role: answer_matches(self.answers[role], self.task["answer"])
            for role in ("pioneer", "observer")
        }
        points = float(sum(correct.values()))
        if self.shared_reward == "mean":
            points /= 2
        verdicts = {role: "right" if ok else "wrong" for role, ok in correct.items()}
        closing = (
            f"Game over. Correct answer: [{self.task['answer']}]. Pioneer "
            f"{verdicts['pioneer']}, observer {verdicts['observer']}."
        )
        return MoveResult(
            messages={a: [Message("user", closing)] for a in self.possible_agents},
            rewards=dict.fromkeys(self.possible_agents, points),
            done=True,
            outcome={
                "pioneer_correct": correct["pioneer"],
                "observer_correct": correct["observer"],
            },
        )

    def board_text(self) -> str:
        return f"task {self.task} | roles {self.roles} | answers {self.answers}"


def strong_answer(env: CoopAnswerEnv, agent: str, rng: np.random.Generator) -> str:
    """Solves the task (a scripted oracle, standing in for a capable model)."""
    return f"<think>solve it</think>The answer is [{env.task['answer']}]."


def random_answer(env: CoopAnswerEnv, agent: str, rng: np.random.Generator) -> str:
    """A random number in brackets: a legal but almost always wrong answer."""
    return f"[{int(rng.integers(0, 200))}]"

"""The base class of turngym's multi-turn text envs.

A :class:`TextEnv` is a ``gymnasium.Env`` whose actions are the assistant's text and whose
observations are tuples of new :class:`~turngym.core.Message`. A subclass supplies tasks and
the reaction to one action; the base class handles seeding, task selection, episode state,
step-after-end errors and ``info`` bookkeeping.

Tasks are plain dicts with at least an ``"id"``. The trainer selects them by index so that
the G episodes of a GRPO group see the same task:
``env.reset(seed=s, options={"task_index": i, "split": "train"})``, or passes one directly
with ``options={"task": {...}}``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from turngym.core.messages import Message
from turngym.core.spaces import ConversationSpace, TextSpace
from turngym.core.trajectory import StopReason

Task = dict[str, Any]
SPLITS = ("train", "test")


class EpisodeOverError(RuntimeError):
    """``step`` was called after the episode ended; call ``reset`` first."""


@dataclass
class StepOutcome:
    """What a subclass's ``on_action`` returns for one assistant turn."""

    messages: list[Message] = field(default_factory=list)
    """New messages for the agent (tool results, feedback); empty when the episode ends."""
    reward: float = 0.0
    """Reward of this turn."""
    done: bool = False
    """The task reached a real ending (answer given, goal reached)."""
    info: dict[str, Any] = field(default_factory=dict)
    """Extra info for this step (merged into the step's ``info``)."""


class TextEnv(gym.Env[tuple[Message, ...], str]):
    """Base class for multi-turn text envs.

    Subclasses implement :meth:`get_task`, :meth:`initial_messages` and :meth:`on_action`,
    and may override :meth:`num_tasks`, :meth:`episode_info` and :meth:`probe_actions`.

    ``info`` of ``reset`` holds ``task_id`` and ``tools`` (JSON schemas of the tools the agent
    may call, possibly empty); ``info`` of ``step`` holds ``turn``, and ``stop_reason`` once the
    episode ends.
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi"]}

    def __init__(self, *, render_mode: str | None = None, max_action_chars: int = 100_000):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode {render_mode!r} is not supported; choose from {self.metadata['render_modes']}"
            )
        self.render_mode = render_mode
        self.observation_space = ConversationSpace()
        self.action_space = TextSpace(max_length=max_action_chars)
        self.task: Task | None = None
        self.turn = 0
        self._done = True
        self._transcript: list[Message] = []

    # ---- to implement -------------------------------------------------------------------

    def num_tasks(self, split: str = "train") -> int | None:
        """How many tasks a split holds; None for an unbounded generator."""
        return None

    def get_task(self, index: int, split: str = "train") -> Task:
        """The task at ``index`` of ``split`` (deterministic: same index, same task)."""
        raise NotImplementedError

    def initial_messages(self, task: Task) -> list[Message]:
        """The first observation for ``task``: usually a system prompt and the question."""
        raise NotImplementedError

    def on_action(self, action: str) -> StepOutcome:
        """React to one assistant turn (``self.task`` and ``self.turn`` are set)."""
        raise NotImplementedError

    def tool_schemas(self) -> list[dict[str, Any]]:
        """JSON schemas of the tools the agent may call (reported in ``info["tools"]``)."""
        return []

    def episode_info(self) -> dict[str, Any]:
        """Per-episode counters to add to every step's ``info`` (override to add more)."""
        return {}

    def probe_actions(self) -> list[str]:
        """Actions ``check_env`` should try (e.g. a correct answer, a malformed call)."""
        return []

    def on_reset(self, task: Task) -> None:
        """Hook to (re)build per-episode state before the first observation."""

    # ---- gymnasium API ------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: Mapping[str, Any] | None = None
    ) -> tuple[tuple[Message, ...], dict[str, Any]]:
        """Start an episode on a task from ``options`` or drawn with the env's RNG.

        Options:
            task: a task dict to use as is.
            task_index / split: pick the task at that index of that split.
        """
        super().reset(seed=seed)
        options = dict(options or {})
        unknown = set(options) - {"task", "task_index", "split"}
        if unknown:
            raise ValueError(
                f"{type(self).__name__}.reset got unknown options {sorted(unknown)}; "
                "use 'task', or 'task_index' with 'split'"
            )
        split = options.get("split", "train")
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        if "task" in options:
            task = dict(options["task"])
        else:
            total = self.num_tasks(split)
            if total == 0:
                raise ValueError(f"{type(self).__name__} has no tasks in split {split!r}")
            if "task_index" in options:
                index = int(options["task_index"])
                if index < 0 or (total is not None and index >= total):
                    raise ValueError(
                        f"task_index {index} is out of range for split {split!r} "
                        f"({total if total is not None else 'unbounded'} tasks)"
                    )
            else:
                index = int(self.np_random.integers(0, total if total is not None else 2**31 - 1))
            task = self.get_task(index, split)
        self.task = task
        self.turn = 0
        self._done = False
        self.on_reset(task)
        obs = tuple(self.initial_messages(task))
        self._transcript = list(obs)
        info = {"task_id": str(task.get("id", "")), "tools": copy.deepcopy(self.tool_schemas())}
        return obs, info

    def step(self, action: str) -> tuple[tuple[Message, ...], float, bool, bool, dict[str, Any]]:
        """Play one assistant turn."""
        if self._done:
            raise EpisodeOverError(
                f"{type(self).__name__}.step called after the episode ended; call reset() first"
            )
        if not isinstance(action, str):
            raise TypeError(
                f"action must be the assistant's text (str), got {type(action).__name__}"
            )
        self._transcript.append(Message("assistant", action))
        outcome = self.on_action(action)
        self.turn += 1
        self._transcript.extend(outcome.messages)
        info: dict[str, Any] = {"turn": self.turn, **self.episode_info(), **outcome.info}
        if outcome.done:
            self._done = True
            info.setdefault("stop_reason", StopReason.TERMINATED.value)
        return tuple(outcome.messages), float(outcome.reward), bool(outcome.done), False, info

    def render(self) -> str | None:
        """The conversation so far as plain text (``render_mode="ansi"``)."""
        if self.render_mode != "ansi":
            return None
        return "\n".join(f"[{m.role}] {m.text}" for m in self._transcript)

    def close(self) -> None:
        """Release resources; safe to call more than once."""
        self._done = True


def seeded_rng(*parts: int | str) -> np.random.Generator:
    """A numpy Generator seeded from a tuple of ints/strings (stable across processes)."""
    import hashlib

    digest = hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))

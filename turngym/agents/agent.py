"""One episode of an agent in an env: observation → tokens → action text → Trajectory.

:class:`Episode` is a small state machine the rollout runner drives: it asks for the next
prompt, receives a :class:`~turngym.agents.backend.Generation`, steps the env, and appends
the template delta of the env's answer. Generation is done by the caller, so the prompts of
many episodes can be sampled in one batch.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from turngym.agents.backend import Generation
from turngym.agents.chat import ChatRenderer, TemplateMismatchError
from turngym.core.messages import Message
from turngym.core.trajectory import Segment, StopReason, Trajectory


@dataclass
class _SegmentBuilder:
    token_ids: list[int] = field(default_factory=list)
    loss_mask: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    turn_spans: list[tuple[int, int]] = field(default_factory=list)
    turn_indices: list[int] = field(default_factory=list)

    def add_context(self, ids: list[int]) -> None:
        self.token_ids.extend(ids)
        self.loss_mask.extend([0] * len(ids))
        self.logprobs.extend([0.0] * len(ids))

    def add_sampled(self, ids: tuple[int, ...], logprobs: tuple[float, ...], turn: int) -> None:
        start = len(self.token_ids)
        self.token_ids.extend(ids)
        self.loss_mask.extend([1] * len(ids))
        self.logprobs.extend(logprobs)
        self.turn_spans.append((start, len(self.token_ids)))
        self.turn_indices.append(turn)

    def freeze(self) -> Segment:
        return Segment(
            token_ids=tuple(self.token_ids),
            loss_mask=tuple(self.loss_mask),
            logprobs=tuple(self.logprobs),
            turn_spans=tuple(self.turn_spans),
            turn_indices=tuple(self.turn_indices),
        )


@dataclass(frozen=True)
class EpisodeSpec:
    """What one episode should play."""

    seed: int
    """Seed for ``env.reset``."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """Options for ``env.reset`` (e.g. ``{"task_index": 3, "split": "train"}``)."""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """Copied into the trajectory's metadata (group index, task index, ...)."""


class Episode:
    """Drives one env through one episode, building its Trajectory.

    Args:
        env: A fresh or reusable env (it is reset here).
        spec: Seed, reset options and metadata.
        renderer: Chat renderer of the policy's tokenizer.
        max_new_tokens: Per-turn sampling cap.
        max_episode_tokens: Budget for all tokens of the episode (all segments).
        max_context: Longest sequence the model accepts (None: no check).
        timeout_s: Wall-clock budget, checked between turns (an env step in progress is
            not interrupted here: tools bound their own time).
        allow_new_segments: On a template mismatch, start a new segment (True) or end the
            episode with ``agent_error`` (False).
    """

    def __init__(
        self,
        env: gym.Env,
        spec: EpisodeSpec,
        renderer: ChatRenderer,
        *,
        max_new_tokens: int,
        max_episode_tokens: int,
        max_context: int | None = None,
        timeout_s: float | None = None,
        allow_new_segments: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.env = env
        self.spec = spec
        self.renderer = renderer
        self.max_new_tokens = max_new_tokens
        self.max_episode_tokens = max_episode_tokens
        self.max_context = max_context
        self.timeout_s = timeout_s
        self.allow_new_segments = allow_new_segments
        self._clock = clock
        self.messages: list[Message] = []
        self.tools: list[dict[str, Any]] | None = None
        self.segments: list[Segment] = []
        self.current = _SegmentBuilder()
        self.turn_rewards: list[float] = []
        self.info: dict[str, Any] = {}
        self.terminated = False
        self.truncated = False
        self.stop_reason: StopReason | None = None
        self.error: str | None = None
        self.error_traceback: str | None = None
        self.started = 0.0
        self.env_time_s = 0.0

    # ---- lifecycle ----------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self.stop_reason is not None

    def start(self) -> None:
        """Reset the env and render the first prompt."""
        self.started = self._clock()
        try:
            t0 = self._clock()
            obs, info = self.env.reset(seed=self.spec.seed, options=dict(self.spec.options))
            self.env_time_s += self._clock() - t0
        except Exception as exc:  # noqa: BLE001 - errors are data: the episode fails, the run lives
            self._fail(StopReason.ENV_ERROR, exc)
            return
        self.info = dict(info)
        self.tools = list(info.get("tools") or []) or None
        self.messages = list(obs)
        try:
            self.current.add_context(self.renderer.prompt_ids(self.messages, tools=self.tools))
        except Exception as exc:  # noqa: BLE001
            self._fail(StopReason.AGENT_ERROR, exc)
            return
        self._check_budgets()

    def prompt(self) -> list[int]:
        """Token ids to sample the next turn from (the current segment so far)."""
        return self.current.token_ids

    def token_cap(self) -> int:
        """How many tokens the next turn may sample within every budget."""
        used = self._tokens_used()
        cap = min(self.max_new_tokens, self.max_episode_tokens - used)
        if self.max_context is not None:
            cap = min(cap, self.max_context - len(self.current.token_ids))
        return cap

    def _tokens_used(self) -> int:
        return sum(len(s) for s in self.segments) + len(self.current.token_ids)

    def _check_budgets(self) -> None:
        if self.done:
            return
        if self.timeout_s is not None and self._clock() - self.started > self.timeout_s:
            self._end(StopReason.TIMEOUT, truncated=True)
        elif self.max_context is not None and len(self.current.token_ids) >= self.max_context:
            self._end(StopReason.CONTEXT_LIMIT, truncated=True)
        elif self._tokens_used() >= self.max_episode_tokens or self.token_cap() <= 0:
            self._end(StopReason.TOKEN_BUDGET, truncated=True)

    def advance(self, generation: Generation) -> None:
        """Append a sampled turn, step the env with its text, and render the env's answer."""
        if self.done:
            raise RuntimeError("advance() on a finished episode")
        turn = len(self.turn_rewards)
        self.current.add_sampled(generation.token_ids, generation.logprobs, turn)
        text, stop_id = self.renderer.split_action(generation.token_ids)
        self.messages.append(Message("assistant", text))
        try:
            t0 = self._clock()
            obs, reward, terminated, truncated, info = self.env.step(text)
            self.env_time_s += self._clock() - t0
            # An answer gymnasium accepts but turngym cannot use is the env's error, too.
            reward = float(reward)
            new_messages = list(obs)
            if not all(isinstance(m, Message) for m in new_messages):
                raise TypeError("the env's observation must be a sequence of turngym Message")
            reason = None
            if terminated or truncated:
                default = StopReason.TERMINATED if terminated else StopReason.TURN_LIMIT
                reason = StopReason(info.get("stop_reason", default.value))
        except Exception as exc:  # noqa: BLE001 - errors are data
            self._fail(StopReason.ENV_ERROR, exc)
            return
        self.turn_rewards.append(reward)
        self.info = dict(info)
        self.messages.extend(new_messages)
        if reason is not None:
            self._end(reason, truncated=truncated)
            return
        try:
            cont = self.renderer.continuation_ids(
                self.messages[: len(self.messages) - len(new_messages)],
                stop_id,
                new_messages,
                tools=self.tools,
            )
            self.current.add_context(cont)
        except TemplateMismatchError as exc:
            if not self.allow_new_segments:
                self._fail(StopReason.AGENT_ERROR, exc)
                return
            # The template rewrote history: train the old tokens as they were and restart the
            # context from a fresh rendering of the whole conversation.
            self.segments.append(self.current.freeze())
            self.current = _SegmentBuilder()
            try:
                self.current.add_context(self.renderer.prompt_ids(self.messages, tools=self.tools))
            except Exception as render_exc:  # noqa: BLE001
                self._fail(StopReason.AGENT_ERROR, render_exc)
                return
        except Exception as exc:  # noqa: BLE001
            self._fail(StopReason.AGENT_ERROR, exc)
            return
        self._check_budgets()

    def abort(self, reason: StopReason, error: BaseException | str) -> None:
        """End the episode from outside (e.g. the backend failed for the whole batch)."""
        if not self.done:
            self._fail(reason, error)

    # ---- endings ------------------------------------------------------------------------

    def _end(self, reason: StopReason, *, truncated: bool) -> None:
        self.stop_reason = reason
        self.truncated = truncated
        self.terminated = not truncated and not reason.is_failure

    def _fail(self, reason: StopReason, exc: BaseException | str) -> None:
        if isinstance(exc, BaseException):
            self.error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            self.error_traceback = "".join(traceback.format_exception(exc))
        else:
            self.error = exc
        self.stop_reason = reason
        self.terminated = False
        self.truncated = False

    def trajectory(self) -> Trajectory:
        """The finished episode."""
        if not self.done:
            raise RuntimeError("trajectory() before the episode ended")
        segments = [*self.segments]
        # Context after the last sampled token prompted a turn that never happened: drop it,
        # so a budget-truncated episode stays within its budget and ends on a sampled token.
        current = self.current
        last = max((end for _, end in current.turn_spans), default=0)
        if current.turn_spans and last < len(current.token_ids):
            del current.token_ids[last:], current.loss_mask[last:], current.logprobs[last:]
        if current.turn_spans:
            segments.append(current.freeze())
        info = dict(self.info)
        info.setdefault("stop_reason", self.stop_reason.value)
        return Trajectory(
            segments=tuple(segments),
            messages=tuple(self.messages),
            turn_rewards=tuple(self.turn_rewards),
            terminated=self.terminated,
            truncated=self.truncated,
            stop_reason=self.stop_reason,
            info=info,
            metadata={
                **self.spec.metadata,
                "seed": self.spec.seed,
                "error": self.error,
                "wall_s": self._clock() - self.started,
                "env_s": self.env_time_s,
            },
        )

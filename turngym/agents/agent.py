"""One episode of an agent in an env: observation → tokens → action text → Trajectory.

:class:`Episode` is a small state machine the rollout runner drives: it asks for the next
prompt, receives a :class:`~turngym.agents.backend.Generation`, steps the env, and appends
the template delta of the env's answer. Generation is done by the caller, so the prompts of
many episodes can be sampled in one batch. Context management (full history, sliding window,
summaries the policy writes itself) lives in :mod:`turngym.agents.context`.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from turngym.agents.backend import Generation
from turngym.agents.chat import ChatRenderer, RenderedTokens, TemplateMismatchError
from turngym.agents.context import ContextConfig, truncate_observation
from turngym.core.messages import Message
from turngym.core.trajectory import Segment, StopReason, Trajectory


@dataclass
class _SegmentBuilder:
    token_ids: list[int] = field(default_factory=list)
    loss_mask: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    turn_spans: list[tuple[int, int]] = field(default_factory=list)
    turn_indices: list[int] = field(default_factory=list)
    vision: Any = None
    """The segment's images so far (a ``VisionInputs``), None while it holds none."""

    def add_context(self, ids: Sequence[int] | RenderedTokens) -> None:
        """Append context tokens (mask 0); rendered tokens bring their images along."""
        if isinstance(ids, RenderedTokens):
            if ids.vision is not None:
                # Spans of a rendering are relative to its first token: place them here.
                self.vision = ids.vision.placed_after(self.vision, len(self.token_ids))
            ids = ids.token_ids
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

    def truncate(self, length: int) -> None:
        """Keep the first ``length`` tokens, and the images among them."""
        del self.token_ids[length:], self.loss_mask[length:], self.logprobs[length:]
        if self.vision is not None:
            self.vision = self.vision.truncated(length)

    def freeze(self) -> Segment:
        return Segment(
            token_ids=tuple(self.token_ids),
            loss_mask=tuple(self.loss_mask),
            logprobs=tuple(self.logprobs),
            turn_spans=tuple(self.turn_spans),
            turn_indices=tuple(self.turn_indices),
            vision=self.vision,
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

    Context management (:mod:`turngym.agents.context`) decides what the model sees: the whole
    conversation, a sliding window, or a policy-written summary. Whenever earlier context is
    dropped or rewritten (a window slides, a summary replaces the history, or the chat template
    renders history differently) the prompt is no longer a token-exact extension of the
    previous one, so the finished tokens are kept as one :class:`Segment` and a new one starts
    from a fresh rendering of the new context (all of it context, loss mask 0).

    A summary turn is sampled like any other turn: while one is pending, :meth:`prompt` is the
    conversation followed by the summary request, and the sampled tokens carry loss (mask 1) in
    the segment they close. The summary is not sent to the env.

    Args:
        env: A fresh or reusable env (it is reset here).
        spec: Seed, reset options and metadata.
        renderer: Chat renderer of the policy's tokenizer, or a
            :class:`~turngym.agents.vision.VisionChatRenderer` for a vision-language model
            (each segment then carries its images in ``Segment.vision``).
        max_new_tokens: Per-turn sampling cap.
        max_episode_tokens: Budget for the tokens the episode adds: the first prompt, every
            sampled token (summaries included) and every env answer (and summary request).
            A segment's restated prefix (the first observation, a window or a summary
            re-rendered when the context restarts) is not counted again: it is the same
            information re-encoded, and the working context is bounded by ``max_context``.
        max_context: Longest sequence the model accepts (None: no check).
        timeout_s: Wall-clock budget, checked between turns (an env step in progress is
            not interrupted here: tools bound their own time).
        allow_new_segments: On a template mismatch, start a new segment (True) or end the
            episode with ``agent_error`` (False). Policies other than ``full`` need True.
        context: Context management (default: full history, no truncation).
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
        context: ContextConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        context = context if context is not None else ContextConfig()
        if not isinstance(context, ContextConfig):
            raise TypeError(
                f"context must be a turngym.agents.context.ContextConfig, got {type(context).__name__}"
            )
        if context.policy != "full" and not allow_new_segments:
            raise ValueError(
                f"context policy {context.policy!r} restarts the context in new segments; "
                "pass allow_new_segments=True (or use policy='full')"
            )
        if (
            context.policy == "summarize"
            and context.summary_trigger_tokens is None
            and context.summarize_every_turns is None
            and max_context is None
        ):
            raise ValueError(
                "context policy 'summarize' needs a trigger: set summary_trigger_tokens or "
                "summarize_every_turns, or use a backend that reports max_context"
            )
        self.env = env
        self.spec = spec
        self.renderer = renderer
        self.max_new_tokens = max_new_tokens
        self.max_episode_tokens = max_episode_tokens
        self.max_context = max_context
        self.timeout_s = timeout_s
        self.allow_new_segments = allow_new_segments
        self.context_config = context
        self._clock = clock
        self.messages: list[Message] = []
        """The whole conversation (summary requests and summaries included), for logs."""
        self.context: list[Message] = []
        """What the current segment renders: the working context."""
        self.tools: list[dict[str, Any]] | None = None
        self.segments: list[Segment] = []
        self.segment_messages: list[tuple[Message, ...]] = []
        self.segment_starts: list[str] = []
        self.current = _SegmentBuilder()
        self.turn_rewards: list[float] = []
        self.info: dict[str, Any] = {}
        self.task_id: Any = None
        self.terminated = False
        self.truncated = False
        self.stop_reason: StopReason | None = None
        self.error: str | None = None
        self.error_traceback: str | None = None
        self.started = 0.0
        self.env_time_s = 0.0
        self.summary_rounds = 0
        self.summary_spans: list[tuple[int, int, int]] = []
        self.observation_chars_cut = 0
        self._awaiting_summary = False
        self._first_observation: list[Message] = []
        self._window: list[list[Message]] = []  # turns in the context: [assistant, *env answer]
        self._turns_since_summary = 0
        self._summary_positions: set[int] = set()  # indices into self.messages
        # Tokens counted toward max_episode_tokens (see the class docstring): restarted
        # segments re-encode earlier context, which must not eat the budget again.
        self.tokens_added = 0

    # ---- lifecycle ----------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self.stop_reason is not None

    @property
    def awaiting_summary(self) -> bool:
        """Whether the next sampled turn is the summary (not sent to the env)."""
        return self._awaiting_summary

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
        # Later steps' infos replace this one; the task's id is only promised at reset.
        self.task_id = info.get("task_id")
        self.tools = list(info.get("tools") or []) or None
        self.messages = list(obs)
        self._first_observation = list(obs)
        self.context = list(obs)
        self.segment_starts.append("reset")
        try:
            self.current.add_context(self.renderer.render_prompt(self.context, tools=self.tools))
        except Exception as exc:  # noqa: BLE001
            self._fail(StopReason.AGENT_ERROR, exc)
            return
        self.tokens_added = len(self.current.token_ids)
        self._check_budgets()

    def prompt(self) -> list[int]:
        """Token ids to sample the next turn from (the current segment so far).

        While a summary is pending this is the conversation followed by the summary request.
        """
        return self.current.token_ids

    def prompt_vision(self) -> Any:
        """The images of :meth:`prompt` (a ``VisionInputs``, spans from its first token), or
        None when it holds none (always None with a text renderer)."""
        return self.current.vision

    def token_cap(self) -> int:
        """How many tokens the next turn may sample within every budget."""
        used = self._tokens_used()
        turn_cap = self.max_new_tokens
        if self._awaiting_summary and self.context_config.summary_max_new_tokens is not None:
            turn_cap = min(turn_cap, self.context_config.summary_max_new_tokens)
        cap = min(turn_cap, self.max_episode_tokens - used)
        if self.max_context is not None:
            cap = min(cap, self.max_context - len(self.current.token_ids))
        return cap

    def _tokens_used(self) -> int:
        return self.tokens_added

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
        """Append a sampled turn, step the env with its text, and render the env's answer.

        A pending summary turn is not sent to the env: it restarts the context instead.
        """
        if self.done:
            raise RuntimeError("advance() on a finished episode")
        if self._awaiting_summary:
            try:
                self._take_summary(generation)
            except Exception as exc:  # noqa: BLE001 - a rendering failure ends this episode only
                self._fail(StopReason.AGENT_ERROR, exc)
                return
            self._check_budgets()
            return
        turn = len(self.turn_rewards)
        self.current.add_sampled(generation.token_ids, generation.logprobs, turn)
        self.tokens_added += len(generation.token_ids)
        text, stop_id = self.renderer.split_action(generation.token_ids)
        action = Message("assistant", text)
        self.messages.append(action)
        self.context.append(action)
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
        new_messages, cut = truncate_observation(
            new_messages, self.context_config.max_observation_chars
        )
        self.observation_chars_cut += cut
        self.turn_rewards.append(reward)
        self.info = dict(info)
        self.messages.extend(new_messages)
        if reason is not None:
            self._end(reason, truncated=truncated)
            return
        self._window.append([action, *new_messages])
        self._turns_since_summary += 1
        try:
            self._continue(stop_id, new_messages)
        except Exception as exc:  # noqa: BLE001 - incl. TemplateMismatchError without segments
            self._fail(StopReason.AGENT_ERROR, exc)
            return
        self._check_budgets()

    def abort(self, reason: StopReason, error: BaseException | str) -> None:
        """End the episode from outside (e.g. the backend failed for the whole batch)."""
        if not self.done:
            self._fail(reason, error)

    # ---- context management -------------------------------------------------------------

    def _continue(self, stop_id: int | None, new_messages: list[Message]) -> None:
        """Extend the context with the env's answer, or restart it in a new segment."""
        cfg = self.context_config
        if cfg.policy == "sliding_window" and len(self._window) > cfg.window_turns:
            # The restart below re-encodes the window with the env's answer inside it; the
            # budget counts only that answer, as if it had been appended.
            self.tokens_added += self._added_tokens(self._delta(stop_id, new_messages))
            self._window = self._window[-cfg.window_turns :]
            self._restart(
                [*self._first_observation, *(m for t in self._window for m in t)], "window"
            )
            return
        plan = self._delta(stop_id, new_messages)
        if self._wants_summary(plan):
            request = cfg.summary_request_message()
            new_messages = [*new_messages, request]
            plan = self._delta(stop_id, new_messages)
            self._summary_positions.add(len(self.messages))
            self.messages.append(request)
            self._awaiting_summary = True
        kind, rendered = plan
        self.tokens_added += self._added_tokens(plan)
        if kind == "append":
            self.current.add_context(rendered)
            self.context.extend(new_messages)
        else:
            self._restart([*self.context, *new_messages], "template", rendered=rendered)

    def _delta(
        self, stop_id: int | None, new_messages: list[Message]
    ) -> tuple[str, RenderedTokens]:
        """``("append", tokens)`` to extend the segment, or ``("restart", tokens)`` of a fresh
        one (tokens with their images)."""
        try:
            return "append", self.renderer.render_continuation(
                self.context, stop_id, new_messages, tools=self.tools
            )
        except TemplateMismatchError:
            if not self.allow_new_segments:
                raise
            # The template rewrote history: train the old tokens as they were and restart the
            # context from a fresh rendering of the whole conversation.
            return "restart", self.renderer.render_prompt(
                [*self.context, *new_messages], tools=self.tools
            )

    def _added_tokens(self, plan: tuple[str, RenderedTokens]) -> int:
        """Tokens the new messages add to the conversation, for the episode budget.

        An append adds exactly its tokens. A template restart re-renders the whole
        conversation (possibly shorter, e.g. without earlier reasoning): its growth over the
        current segment stands in for the new messages (approximate; never negative).
        """
        kind, rendered = plan
        if kind == "append":
            return len(rendered.token_ids)
        return max(0, len(rendered.token_ids) - len(self.current.token_ids))

    def _wants_summary(self, plan: tuple[str, RenderedTokens]) -> bool:
        cfg = self.context_config
        if cfg.policy != "summarize" or self.summary_rounds >= cfg.max_summary_rounds:
            return False
        every = cfg.summarize_every_turns
        if every is not None and self._turns_since_summary >= every:
            return True
        kind, rendered = plan
        added = len(rendered.token_ids)
        next_prompt = len(self.current.token_ids) + added if kind == "append" else added
        if cfg.summary_trigger_tokens is not None:
            return next_prompt > cfg.summary_trigger_tokens
        if self.max_context is None:
            return False  # only the turn trigger applies (checked in __init__)
        return next_prompt > cfg.summary_trigger_fraction * self.max_context

    def _take_summary(self, generation: Generation) -> None:
        """Keep the sampled summary (loss mask 1) and restart from [first obs, summary]."""
        start = len(self.current.token_ids)
        self.current.add_sampled(generation.token_ids, generation.logprobs, len(self.turn_rewards))
        self.tokens_added += len(generation.token_ids)
        self.summary_spans.append((len(self.segments), start, len(self.current.token_ids)))
        text, _ = self.renderer.split_action(generation.token_ids)
        summary = Message("assistant", text)
        self._summary_positions.add(len(self.messages))
        self.messages.append(summary)
        self.context.append(summary)
        self.summary_rounds += 1
        self._awaiting_summary = False
        self._turns_since_summary = 0
        self._window = []
        self._restart(
            [*self._first_observation, self.context_config.summary_message(text)], "summary"
        )

    def _restart(
        self, context: list[Message], reason: str, *, rendered: RenderedTokens | None = None
    ) -> None:
        """Close the current segment and start one whose context is ``context`` (mask 0)."""
        if rendered is None:
            rendered = self.renderer.render_prompt(context, tools=self.tools)
        self.segments.append(self.current.freeze())
        self.segment_messages.append(tuple(self.context))
        self.current = _SegmentBuilder()
        self.current.add_context(rendered)
        self.context = context
        self.segment_starts.append(reason)

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
        """The finished episode.

        Besides the rollout metadata, ``metadata`` records the context management:
        ``context_policy``, ``summary_rounds``, ``summary_spans`` (``(segment, start, end)`` of
        each sampled summary), ``summary_message_indices`` (positions of summary requests and
        summaries in ``messages``), ``segment_starts`` (why each segment began: ``reset``,
        ``summary``, ``window`` or ``template``), ``segment_messages`` (the conversation each
        segment renders, ending with its last sampled turn), ``context_tokens_per_segment``,
        ``peak_context_tokens``, ``full_history_tokens`` (the length the unmanaged conversation
        would have had, summaries left out), ``tokens_saved`` (that minus the peak),
        ``observation_chars_cut`` and ``episode_tokens`` (the tokens counted toward
        ``max_episode_tokens``: restated prefixes of restarted segments left out; the context
        after the last sampled token, dropped from the segments, still counts).
        """
        if not self.done:
            raise RuntimeError("trajectory() before the episode ended")
        segments = [*self.segments]
        segment_messages = [*self.segment_messages]
        # Context after the last sampled token prompted a turn that never happened: drop it,
        # so a budget-truncated episode stays within its budget and ends on a sampled token.
        current = self.current
        last = max((end for _, end in current.turn_spans), default=0)
        if current.turn_spans and last < len(current.token_ids):
            current.truncate(last)  # the images of the dropped context go with it
        if current.turn_spans:
            segments.append(current.freeze())
            context = list(self.context)
            while context and context[-1].role != "assistant":
                context.pop()
            segment_messages.append(tuple(context))
        info = dict(self.info)
        info.setdefault("stop_reason", self.stop_reason.value)
        lengths = [len(s) for s in segments]
        peak = max(lengths, default=0)
        full = self._full_history_tokens(peak, len(segments))
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
                "task_id": self.task_id,
                "error": self.error,
                "wall_s": self._clock() - self.started,
                "env_s": self.env_time_s,
                "context_policy": self.context_config.policy,
                "summary_rounds": self.summary_rounds,
                "summary_spans": tuple(self.summary_spans),
                "summary_message_indices": tuple(sorted(self._summary_positions)),
                "segment_starts": tuple(self.segment_starts[: len(segments)]),
                "segment_messages": tuple(segment_messages),
                "context_tokens_per_segment": tuple(lengths),
                "peak_context_tokens": peak,
                "full_history_tokens": full,
                "tokens_saved": max(0, full - peak) if full is not None else None,
                "observation_chars_cut": self.observation_chars_cut,
                "episode_tokens": self.tokens_added,
            },
        )

    def _full_history_tokens(self, peak: int, num_segments: int) -> int | None:
        """Tokens of the conversation up to its last action without any context management.

        One segment means nothing was dropped: that is the peak itself. Otherwise the text is
        rendered and tokenized once (approximate by a token or two at the seams, which is fine
        for a metric and never used for training).
        """
        if num_segments <= 1:
            return peak
        history = [m for i, m in enumerate(self.messages) if i not in self._summary_positions]
        while history and history[-1].role != "assistant":
            history.pop()
        try:
            text = self.renderer.render_text(history, add_generation_prompt=False, tools=self.tools)
            return len(self.renderer.encode(text))
        except Exception:  # noqa: BLE001 - a metric must not fail an episode
            return None

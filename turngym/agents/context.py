"""Context management for long horizons: full history, sliding window, trainable summaries.

An agent's prompt grows with every turn. This module says what the model sees next:

- ``full``: the whole conversation (the default; the episode ends with ``context_limit`` once
  it no longer fits).
- ``sliding_window``: the env's first observation (system prompt and task) plus the last
  ``window_turns`` turns (an assistant message and the env's answer to it).
- ``summarize``: SUPO-style summarization (Lu et al. 2025, *Scaling LLM Multi-turn RL with
  End-to-end Summarization-based Context Management*, arXiv:2510.06727). When the next prompt
  would exceed a token budget (or every k turns), the agent is asked to summarize its progress;
  the summary is **sampled by the policy** and trained on like any other turn, then the context
  restarts as ``[first observation, summary]``.
- Tool-output truncation (``max_observation_chars``) combines with any policy: long env
  messages keep their head and tail with a marker saying how much was cut.

Dropping or rewriting earlier context cannot stay a token-exact extension of the previous
prompt, so the :class:`~turngym.agents.agent.Episode` then starts a new
:class:`~turngym.core.trajectory.Segment` of the same trajectory (the same mechanism a chat
template that rewrites history triggers). Each segment is trained as its own sequence with
the episode's advantage.

What it does NOT cover: retrieval of dropped turns, summaries written by another model, and
token-level truncation (truncation counts characters, so it needs no tokenizer).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

from turngym.core.messages import Message
from turngym.core.trajectory import Trajectory

ContextPolicy = Literal["full", "sliding_window", "summarize"]
CONTEXT_POLICIES: tuple[str, ...] = ("full", "sliding_window", "summarize")

DEFAULT_SUMMARY_REQUEST = (
    "Your context is about to be reset. Summarize your progress so far: what the task is, what "
    "you have done and learned, every number or fact you still need, and what to do next. "
    "Only this summary will remain."
)
DEFAULT_SUMMARY_TEMPLATE = "Summary of your progress so far:\n{summary}\n\nContinue the task."


@dataclass(frozen=True)
class ContextConfig:
    """How an episode's context is managed (plain fields, so it builds from a YAML mapping).

    Example:
        >>> ContextConfig(policy="summarize", summary_trigger_tokens=3000).max_summary_rounds
        2
    """

    policy: ContextPolicy = "full"
    """``full``, ``sliding_window`` or ``summarize`` (see the module docstring)."""
    window_turns: int = 4
    """``sliding_window``: how many most recent turns stay besides the first observation."""
    max_observation_chars: int | None = None
    """Cut env/tool messages (not the first observation) longer than this to their head and
    tail, with a marker; ``None`` keeps them whole. Combines with every policy."""
    summary_trigger_tokens: int | None = None
    """``summarize``: ask for a summary once the next prompt would be longer than this.
    ``None``: ``summary_trigger_fraction`` of the model's context. Leave room above it for one
    turn, one env answer, the request and the summary: the summary is only asked for after
    an env answer has made the prompt long, and an answer's length is not known before."""
    summary_trigger_fraction: float = 0.7
    """``summarize`` without ``summary_trigger_tokens``: the trigger as a fraction of the
    model's context (``max_context``)."""
    summarize_every_turns: int | None = None
    """``summarize``: also ask for a summary after this many env turns since the last
    (re)start of the context; ``None``: only the token trigger."""
    max_summary_rounds: int = 2
    """``summarize``: most summaries per training episode; after that the context grows
    until the episode ends (possibly with ``context_limit``)."""
    eval_max_summary_rounds: int | None = None
    """Most summaries per evaluation episode (``None``: as in training); see :meth:`for_eval`."""
    summary_max_new_tokens: int | None = None
    """Token cap of the summary turn (``None``: the normal turn cap)."""
    summary_request: str = DEFAULT_SUMMARY_REQUEST
    """The user message that asks for the summary."""
    summary_role: Literal["user", "assistant"] = "user"
    """Role of the summary in the restarted context. ``user`` suits every template; some
    templates refuse two assistant messages in a row."""
    summary_template: str = DEFAULT_SUMMARY_TEMPLATE
    """Text of the summary message in the restarted context; ``{summary}`` is the sampled
    summary."""

    def __post_init__(self) -> None:
        if self.policy not in CONTEXT_POLICIES:
            raise ValueError(
                f"context policy must be one of {CONTEXT_POLICIES}, got {self.policy!r}"
            )
        if self.window_turns < 1:
            raise ValueError(f"window_turns must be >= 1, got {self.window_turns}")
        if self.max_observation_chars is not None and self.max_observation_chars < 64:
            raise ValueError(
                f"max_observation_chars must be >= 64 (room for the cut marker) or None, "
                f"got {self.max_observation_chars}"
            )
        for name in ("summary_trigger_tokens", "summarize_every_turns", "summary_max_new_tokens"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1 or None, got {value}")
        if not 0.0 < self.summary_trigger_fraction <= 1.0:
            raise ValueError(
                f"summary_trigger_fraction must be in (0, 1], got {self.summary_trigger_fraction}"
            )
        for name in ("max_summary_rounds", "eval_max_summary_rounds"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        if self.summary_role not in ("user", "assistant"):
            raise ValueError(
                f"summary_role must be 'user' or 'assistant', got {self.summary_role!r}"
            )
        if "{summary}" not in self.summary_template:
            raise ValueError(
                "summary_template must contain '{summary}' (where the sampled summary goes), "
                f"got {self.summary_template!r}"
            )
        if not self.summary_request.strip():
            raise ValueError("summary_request must not be empty")

    def for_eval(self) -> ContextConfig:
        """The config evaluation episodes use (``eval_max_summary_rounds`` applied)."""
        if self.eval_max_summary_rounds is None:
            return self
        return replace(self, max_summary_rounds=self.eval_max_summary_rounds)

    def summary_message(self, summary: str) -> Message:
        """The message that stands for all dropped context after a summary."""
        return Message(self.summary_role, self.summary_template.format(summary=summary.strip()))

    def summary_request_message(self) -> Message:
        """The user message asking for a summary."""
        return Message("user", self.summary_request)


# ---- tool-output truncation ------------------------------------------------------------------


def truncate_text(text: str, max_chars: int) -> tuple[str, int]:
    """Keep the head and tail of ``text``, replacing the middle by a marker.

    The marker says how many characters and lines were removed, so the agent knows output is
    missing (and can ask for less, e.g. ``print(x[:20])``).

    Args:
        text: The text to shorten.
        max_chars: Budget for the head and tail together (the marker comes on top).

    Returns:
        The shortened text and the number of characters cut (0 when it fit).
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be >= 1, got {max_chars}")
    if len(text) <= max_chars:
        return text, 0
    head_len = (max_chars + 1) // 2
    tail_len = max_chars - head_len
    cut = text[head_len : len(text) - tail_len]
    marker = f"\n[... {len(cut)} chars ({cut.count(chr(10))} line breaks) cut ...]\n"
    return text[:head_len] + marker + text[len(text) - tail_len :], len(cut)


def truncate_observation(
    messages: Iterable[Message], max_chars: int | None
) -> tuple[list[Message], int]:
    """Truncate the text of each message longer than ``max_chars`` (see :func:`truncate_text`).

    Multi-part messages (images) are left whole: cutting between parts would change what the
    images refer to.

    Returns:
        The messages, and the total number of characters cut.
    """
    out: list[Message] = []
    total = 0
    for m in messages:
        if max_chars is None or not isinstance(m.content, str):
            out.append(m)
            continue
        text, cut = truncate_text(m.content, max_chars)
        total += cut
        out.append(replace(m, content=text) if cut else m)
    return out, total


def conversation_without_summaries(trajectory: Trajectory) -> tuple[Message, ...]:
    """The episode's messages with the summary requests and summaries left out.

    What the env and the agent exchanged, one assistant message per env turn: use it where
    turns are matched to ``turn_rewards`` (e.g. GiGPO's anchor states, a rubric's last reply).
    """
    skip = set(trajectory.metadata.get("summary_message_indices", ()))
    return tuple(m for i, m in enumerate(trajectory.messages) if i not in skip)


# ---- metrics ---------------------------------------------------------------------------------


def context_metrics(trajectories: Iterable[Trajectory]) -> dict[str, float]:
    """``context/*`` means over episodes: segments, summaries, peak context and tokens saved.

    Reads the metadata :class:`~turngym.agents.agent.Episode` records (episodes without it,
    e.g. failed before the first turn, are skipped).
    """
    keys = {
        "context/segments_mean": "num_segments",
        "context/summary_rounds_mean": "summary_rounds",
        "context/peak_tokens_mean": "peak_context_tokens",
        "context/full_history_tokens_mean": "full_history_tokens",
        "context/tokens_saved_mean": "tokens_saved",
        "context/observation_chars_cut_mean": "observation_chars_cut",
    }
    values: dict[str, list[float]] = {k: [] for k in keys}
    for t in trajectories:
        meta = dict(t.metadata)
        meta["num_segments"] = len(t.segments)
        for metric, key in keys.items():
            v = meta.get(key)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                values[metric].append(float(v))
    return {k: sum(v) / len(v) for k, v in values.items() if v}

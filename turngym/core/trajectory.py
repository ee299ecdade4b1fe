"""Trajectories: what an episode leaves for the trainer.

A :class:`Trajectory` is one episode. It holds one or more :class:`Segment`: token sequences
that are each trained as their own sequence. An episode has several segments only when its
context was restarted (a summarization, or a chat template that rewrites earlier turns so
the next prompt is not an extension of the previous one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from turngym.core.messages import Message


class StopReason(str, Enum):
    """Why an episode ended. ``info["stop_reason"]`` carries the value string."""

    TERMINATED = "terminated"
    """The env reached a real end (answer given, goal reached, game over)."""
    TURN_LIMIT = "turn_limit"
    """The turn cap was reached (a truncation)."""
    TOKEN_BUDGET = "token_budget"
    """The episode's total token budget was spent (a truncation)."""
    CONTEXT_LIMIT = "context_limit"
    """The next prompt would not fit the model's context window (a truncation)."""
    TIMEOUT = "timeout"
    """The per-episode wall-clock timeout expired (a truncation)."""
    ENV_ERROR = "env_error"
    """The env raised an exception; the episode is a failure, not a data point."""
    AGENT_ERROR = "agent_error"
    """Generation or rendering failed (e.g. a template prefix mismatch with segments disabled)."""

    @property
    def is_truncation(self) -> bool:
        """Whether this ending is a cut-off rather than a real ending of the task."""
        return self in (
            StopReason.TURN_LIMIT,
            StopReason.TOKEN_BUDGET,
            StopReason.CONTEXT_LIMIT,
            StopReason.TIMEOUT,
        )

    @property
    def is_failure(self) -> bool:
        """Whether the episode failed for a reason outside the policy's control."""
        return self in (StopReason.ENV_ERROR, StopReason.AGENT_ERROR)


@dataclass(frozen=True)
class Segment:
    """One token sequence of an episode, trained as a sequence of its own.

    All per-token fields have the same length.
    """

    token_ids: tuple[int, ...]
    """Prompt, sampled and observation tokens, in order."""
    loss_mask: tuple[int, ...]
    """1 exactly on tokens the policy sampled, 0 on every context token."""
    logprobs: tuple[float, ...]
    """Behaviour log-probabilities of sampled tokens (0.0 where ``loss_mask`` is 0)."""
    turn_spans: tuple[tuple[int, int], ...]
    """``(start, end)`` token index ranges of each assistant turn's sampled tokens."""
    turn_indices: tuple[int, ...]
    """For each span, the episode-level turn number (0-based) it belongs to."""
    vision: Any = None
    """The images among ``token_ids`` for a vision-language model: a
    :class:`turngym.agents.vision.VisionInputs` (each image's token span and processed
    pixels, which the trainer feeds back to the model), or None for text. Typed ``Any`` so that
    core imports no torch. Compared by identity (the record is never compared pixel by pixel),
    like :class:`~turngym.core.messages.ImagePart`: two segments are equal when their tokens are
    and they hold the same image record (or both none)."""

    def __post_init__(self) -> None:
        n = len(self.token_ids)
        if len(self.loss_mask) != n or len(self.logprobs) != n:
            raise ValueError(
                f"Segment fields disagree in length: token_ids={n}, loss_mask={len(self.loss_mask)}, "
                f"logprobs={len(self.logprobs)}"
            )
        if len(self.turn_spans) != len(self.turn_indices):
            raise ValueError("Segment.turn_spans and turn_indices must have the same length")
        if self.vision is not None:
            self._check_vision(n)

    def _check_vision(self, n: int) -> None:
        # Duck-typed (core stays torch-free): images must lie inside the tokens, on context.
        images = getattr(self.vision, "images", None)
        if images is None:
            raise TypeError(
                "Segment.vision must be a turngym.agents.vision.VisionInputs (or None), got "
                f"{type(self.vision).__name__}"
            )
        for k, image in enumerate(images):
            if not 0 <= image.start <= image.end <= n:
                raise ValueError(
                    f"Segment.vision image {k} spans tokens {image.start}:{image.end} outside the "
                    f"segment's {n} tokens; truncate the VisionInputs with the tokens"
                )
            if any(self.loss_mask[image.start : image.end]):
                raise ValueError(
                    f"Segment.vision image {k} (tokens {image.start}:{image.end}) overlaps sampled "
                    "tokens (loss mask 1); image tokens must be context"
                )

    @property
    def num_images(self) -> int:
        """How many images the segment's tokens hold (0 for text)."""
        return 0 if self.vision is None else len(self.vision.images)

    @property
    def num_sampled(self) -> int:
        """How many tokens carry loss."""
        return sum(self.loss_mask)

    def __len__(self) -> int:
        return len(self.token_ids)


@dataclass(frozen=True)
class Trajectory:
    """One finished episode."""

    segments: tuple[Segment, ...]
    """Token sequences of the episode (more than one after a context restart)."""
    messages: tuple[Message, ...]
    """The whole conversation as text, for logging and viewing (not for training)."""
    turn_rewards: tuple[float, ...]
    """Reward of each env step, in order."""
    terminated: bool
    """The env reached a real ending."""
    truncated: bool
    """The episode was cut off (turn cap, token budget, context, timeout)."""
    stop_reason: StopReason
    """Why the episode ended."""
    info: Mapping[str, Any] = field(default_factory=dict)
    """The env's last ``info`` dict."""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """Where it came from: env id, task id, group index, seed, timings, error text."""

    @property
    def reward(self) -> float:
        """The episode's return: the sum of its per-turn rewards."""
        return float(sum(self.turn_rewards))

    @property
    def num_turns(self) -> int:
        """How many assistant turns were taken."""
        return len(self.turn_rewards)

    @property
    def failed(self) -> bool:
        """Whether the episode ended by an error outside the policy's control."""
        return self.stop_reason.is_failure

    @property
    def num_sampled_tokens(self) -> int:
        """Tokens that carry loss, over all segments."""
        return sum(s.num_sampled for s in self.segments)

    @property
    def num_tokens(self) -> int:
        """All tokens, over all segments."""
        return sum(len(s) for s in self.segments)

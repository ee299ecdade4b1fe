"""The backend interface: prompt token ids in, sampled token ids and logprobs out.

Every backend (transformers here; vLLM and OpenAI-compatible servers plug in behind the same
call) takes token ids, never text, so trajectories stay token-exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable


@dataclass(frozen=True)
class SamplingParams:
    """How to sample one assistant turn."""

    max_new_tokens: int = 256
    """Cap on sampled tokens per turn (a prompt may get a lower cap from its token budget)."""
    temperature: float = 1.0
    """Softmax temperature; 0 means greedy decoding."""
    top_p: float = 1.0
    """Nucleus sampling mass (1.0 = off)."""
    top_k: int = 0
    """Keep only the k most likely tokens (0 = off)."""
    stop_token_ids: tuple[int, ...] = ()
    """Tokens that end a turn; they are kept as the last sampled token."""
    seed: int | None = None
    """Seed for the sampling RNG of this call (None: not reseeded)."""

    def __post_init__(self) -> None:
        if self.max_new_tokens <= 0:
            raise ValueError(f"max_new_tokens must be positive, got {self.max_new_tokens}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {self.top_k}")


@dataclass(frozen=True)
class Generation:
    """One sampled continuation."""

    token_ids: tuple[int, ...]
    """Sampled ids, ending with the stop token when ``finish_reason == "stop"``."""
    logprobs: tuple[float, ...]
    """Log-probability of each sampled id under the temperature-scaled policy, before
    top-p/top-k truncation (what the trainer recomputes)."""
    finish_reason: Literal["stop", "length"]
    """``stop``: a stop token was sampled; ``length``: the token cap was reached."""


@runtime_checkable
class Backend(Protocol):
    """Anything that samples continuations of token-id prompts."""

    @property
    def max_context(self) -> int | None:
        """Longest sequence (prompt + new tokens) the model accepts; None if unknown."""
        ...

    def generate(
        self,
        prompts: Sequence[Sequence[int]],
        params: SamplingParams,
        max_new_tokens: Sequence[int] | None = None,
    ) -> list[Generation]:
        """Sample one continuation per prompt.

        Args:
            prompts: Token ids of each prompt.
            params: Sampling parameters shared by all prompts.
            max_new_tokens: Optional per-prompt caps (each at most ``params.max_new_tokens``).
        """
        ...

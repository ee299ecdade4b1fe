"""Gymnasium spaces for text environments.

Gymnasium's own ``spaces.Text`` restricts characters to a fixed charset, which model output
never respects; these spaces accept any string and any conversation.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from turngym.core.messages import Message

_SAMPLE_ALPHABET = list("abcdefghijklmnopqrstuvwxyz0123456789 .,:;()[]{}<>=+-*/\\'\"\n`_")


class TextSpace(spaces.Space[str]):
    """Any unicode string up to ``max_length`` characters: the action space of text envs.

    ``sample()`` draws random printable text; it exists for checkers and smoke tests, it is
    not a useful policy.
    """

    def __init__(self, max_length: int = 100_000, seed: int | np.random.Generator | None = None):
        if max_length <= 0:
            raise ValueError(f"TextSpace.max_length must be positive, got {max_length}")
        self.max_length = max_length
        super().__init__(shape=None, dtype=None, seed=seed)

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        """A random short string (length 0 to min(64, max_length))."""
        length = int(self.np_random.integers(0, min(64, self.max_length) + 1))
        idx = self.np_random.integers(0, len(_SAMPLE_ALPHABET), size=length)
        return "".join(_SAMPLE_ALPHABET[i] for i in idx)

    def contains(self, x: Any) -> bool:
        """Whether ``x`` is a string no longer than ``max_length``."""
        return isinstance(x, str) and len(x) <= self.max_length

    @property
    def is_np_flattenable(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"TextSpace(max_length={self.max_length})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TextSpace) and other.max_length == self.max_length


class ConversationSpace(spaces.Space[tuple[Message, ...]]):
    """A tuple of :class:`Message`: the observation space of text envs.

    An observation holds the messages that are new since the previous one (the first holds
    the system prompt and the task).
    """

    def __init__(self, max_messages: int = 64, seed: int | np.random.Generator | None = None):
        self.max_messages = max_messages
        super().__init__(shape=None, dtype=None, seed=seed)

    def sample(self, mask: Any = None, probability: Any = None) -> tuple[Message, ...]:
        """One random user message (for checkers)."""
        return (Message("user", TextSpace(seed=int(self.np_random.integers(2**31))).sample()),)

    def contains(self, x: Any) -> bool:
        """Whether ``x`` is a tuple of at most ``max_messages`` Message objects."""
        return (
            isinstance(x, tuple)
            and len(x) <= self.max_messages
            and all(isinstance(m, Message) for m in x)
        )

    @property
    def is_np_flattenable(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"ConversationSpace(max_messages={self.max_messages})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ConversationSpace) and other.max_messages == self.max_messages

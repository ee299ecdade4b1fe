"""Messages: the unit of conversation between an agent and an environment.

Observations of every turngym text env are tuples of :class:`Message`. Messages are frozen so
that an observation handed to a user can never change under them, and so that two observations
compare by value (Gymnasium's determinism checks rely on that).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]
ROLES: tuple[str, ...] = ("system", "user", "assistant", "tool")


@dataclass(frozen=True)
class TextPart:
    """A span of text inside a multi-part message."""

    text: str
    """The text itself."""

    def to_dict(self) -> dict[str, Any]:
        """The part as a chat-template content item."""
        return {"type": "text", "text": self.text}


@dataclass(frozen=True, eq=False)
class ImagePart:
    """An image inside a multi-part message.

    Equality is by identity of the underlying image object or, for paths, by the path: pixel
    arrays are not compared element-wise here.
    """

    image: Any
    """A PIL image, a numpy array (H, W, C) or a file path."""

    def to_dict(self) -> dict[str, Any]:
        """The part as a chat-template content item (the pixels travel separately)."""
        return {"type": "image"}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ImagePart):
            return NotImplemented
        if isinstance(self.image, str) or isinstance(other.image, str):
            return self.image == other.image
        return self.image is other.image

    def __hash__(self) -> int:
        return hash(self.image) if isinstance(self.image, str) else id(self.image)


ContentPart = TextPart | ImagePart


@dataclass(frozen=True)
class ToolCall:
    """A call of a named tool with JSON-compatible arguments, as parsed from model text."""

    name: str
    """The tool's name, as in its schema."""
    arguments: Mapping[str, Any] = field(default_factory=dict)
    """Keyword arguments for the tool (JSON-compatible values)."""
    id: str | None = None
    """An identifier linking the call to its result message, when the format has one."""

    def to_dict(self) -> dict[str, Any]:
        """The call in the OpenAI / chat-template shape."""
        out: dict[str, Any] = {
            "type": "function",
            "function": {"name": self.name, "arguments": dict(self.arguments)},
        }
        if self.id is not None:
            out["id"] = self.id
        return out

    def __hash__(self) -> int:
        return hash(
            (self.name, json.dumps(dict(self.arguments), sort_keys=True, default=str), self.id)
        )


@dataclass(frozen=True)
class Message:
    """One message of a conversation.

    Example:
        >>> Message("user", "What is 2 + 2?").text
        'What is 2 + 2?'
    """

    role: Role
    """Who speaks: ``system``, ``user``, ``assistant`` or ``tool``."""
    content: str | tuple[ContentPart, ...]
    """Plain text, or a tuple of text and image parts."""
    name: str | None = None
    """For tool messages, the tool's name."""
    tool_call_id: str | None = None
    """For tool messages, the id of the call this answers (when the call format has ids)."""
    tool_calls: tuple[ToolCall, ...] = ()
    """For assistant messages, the tool calls parsed from the content (informational)."""

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(
                f"Message role {self.role!r} is not one of {ROLES}; use 'tool' for tool results "
                "and 'user' for environment feedback."
            )
        if isinstance(self.content, list):
            object.__setattr__(self, "content", tuple(self.content))
        if isinstance(self.content, tuple):
            for part in self.content:
                if not isinstance(part, (TextPart, ImagePart)):
                    raise TypeError(
                        f"Message content parts must be TextPart or ImagePart, got {type(part).__name__}"
                    )
        elif not isinstance(self.content, str):
            raise TypeError(
                f"Message content must be a str or a tuple of parts, got {type(self.content).__name__}"
            )
        if isinstance(self.tool_calls, list):
            object.__setattr__(self, "tool_calls", tuple(self.tool_calls))

    @property
    def text(self) -> str:
        """The message's text, with the text parts of a multi-part message joined."""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content if isinstance(p, TextPart))

    @property
    def images(self) -> tuple[Any, ...]:
        """The images of a multi-part message, in order."""
        if isinstance(self.content, str):
            return ()
        return tuple(p.image for p in self.content if isinstance(p, ImagePart))

    def to_dict(self) -> dict[str, Any]:
        """The message as the dict a Hugging Face chat template expects."""
        out: dict[str, Any] = {"role": self.role}
        if isinstance(self.content, str):
            out["content"] = self.content
        else:
            out["content"] = [p.to_dict() for p in self.content]
        if self.name is not None:
            out["name"] = self.name
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Message:
        """Build a message from the chat-template / OpenAI dict shape (text parts only)."""
        content = data.get("content") or ""  # OpenAI sends None for tool-call-only messages
        if isinstance(content, Sequence) and not isinstance(content, str):
            parts: list[ContentPart] = []
            for item in content:
                if item.get("type") == "text":
                    parts.append(TextPart(item["text"]))
                elif item.get("type") == "image":
                    parts.append(ImagePart(item.get("image")))
                else:
                    raise ValueError(f"unknown content part type {item.get('type')!r}")
            content = tuple(parts)
        return cls(
            role=data["role"],
            content=content,
            name=data.get("name"),
            tool_call_id=data.get("tool_call_id"),
        )


def system(text: str) -> Message:
    """A system message."""
    return Message("system", text)


def user(text: str) -> Message:
    """A user message."""
    return Message("user", text)


def assistant(text: str) -> Message:
    """An assistant message."""
    return Message("assistant", text)


def tool(text: str, name: str | None = None, tool_call_id: str | None = None) -> Message:
    """A tool-result message."""
    return Message("tool", text, name=name, tool_call_id=tool_call_id)

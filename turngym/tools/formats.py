"""Tool-call formats: how tool calls are written in model text, parsed back, and explained.

A :class:`ToolCallFormat` turns an assistant message into :class:`~turngym.core.ToolCall`
objects (``parse``), writes calls as text (``render``, for scripted policies and tests) and
tells a model how to call tools in the system prompt (``instructions``).

Parsing never raises on model text: every problem (malformed JSON, a missing name, an unclosed
tag or fence) becomes a :class:`ToolCallParseError` in the :class:`ParseResult`, so that an env
can show it to the model and count it.

Formats:
    ``hermes``: ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``, as in the Qwen and
        Hermes chat templates; any number of calls per message.
    ``python``: fenced ```` ```python ```` (or ```` ```py ````) blocks, each a call of the
        ``python`` tool with ``{"code": ...}``.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from turngym.core.messages import ToolCall

__all__ = [
    "FORMATS",
    "HermesFormat",
    "ParseResult",
    "PythonBlockFormat",
    "ToolCallFormat",
    "ToolCallParseError",
    "get_format",
]

_SNIPPET_CHARS = 200


@dataclass(frozen=True)
class ToolCallParseError:
    """One tool call that could not be parsed."""

    message: str
    """What is wrong, written for the model (e.g. "invalid JSON in <tool_call>: ...")."""
    raw: str
    """The offending text (cut to a few hundred characters)."""


@dataclass
class ParseResult:
    """The tool calls found in one message, and the attempts that failed."""

    calls: list[ToolCall] = field(default_factory=list)
    """Well-formed calls, in the order they appear."""
    errors: list[ToolCallParseError] = field(default_factory=list)
    """Malformed call attempts, in the order they appear."""

    @property
    def ok(self) -> bool:
        """Whether no call attempt was malformed."""
        return not self.errors

    @property
    def attempted(self) -> bool:
        """Whether the text tried to call a tool at all (well-formed or not)."""
        return bool(self.calls or self.errors)


def _snippet(text: str) -> str:
    return text if len(text) <= _SNIPPET_CHARS else text[:_SNIPPET_CHARS] + "..."


class ToolCallFormat:
    """Base class of tool-call formats."""

    name: str = ""
    """The name :func:`get_format` knows the format by."""

    def parse(self, text: str) -> ParseResult:
        """The calls and malformed call attempts in ``text``; never raises on model text."""
        raise NotImplementedError

    def render(self, calls: Sequence[ToolCall]) -> str:
        """``calls`` written as an assistant would write them in this format."""
        raise NotImplementedError

    def instructions(self, schemas: Sequence[dict[str, Any]]) -> str:
        """System-prompt text telling a model how to call the tools ``schemas`` describe."""
        raise NotImplementedError

    def strip_calls(self, text: str) -> str:
        """``text`` without its call spans (e.g. to look for a final answer outside code)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


# ---- hermes ----------------------------------------------------------------------------


class HermesFormat(ToolCallFormat):
    """``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` (Qwen 2.5/3, Hermes).

    Lenient where models commonly drift: ``arguments`` may be a JSON-encoded string (as in the
    OpenAI API) or be named ``parameters``; a missing ``arguments`` means no arguments; raw
    newlines inside JSON strings (common in code arguments) are accepted.
    """

    name = "hermes"
    OPEN = "<tool_call>"
    CLOSE = "</tool_call>"

    def parse(self, text: str) -> ParseResult:
        result = ParseResult()
        pos = 0
        while True:
            start = text.find(self.OPEN, pos)
            stray = text.find(self.CLOSE, pos)
            if stray != -1 and (start == -1 or stray < start):
                result.errors.append(
                    ToolCallParseError(
                        f"found {self.CLOSE} without a matching {self.OPEN}",
                        _snippet(text[max(0, stray - 100) : stray + len(self.CLOSE)]),
                    )
                )
                pos = stray + len(self.CLOSE)
                continue
            if start == -1:
                break
            body_start = start + len(self.OPEN)
            end = text.find(self.CLOSE, body_start)
            if end == -1:
                result.errors.append(
                    ToolCallParseError(
                        f"unclosed {self.OPEN}: end the call with {self.CLOSE}",
                        _snippet(text[start:]),
                    )
                )
                break
            body = text[body_start:end]
            call_or_error = self._parse_body(body)
            if isinstance(call_or_error, ToolCall):
                result.calls.append(call_or_error)
            else:
                result.errors.append(call_or_error)
            pos = end + len(self.CLOSE)
        return result

    def _parse_body(self, body: str) -> ToolCall | ToolCallParseError:
        raw = _snippet(body.strip())
        try:
            data = json.loads(body, strict=False)
        except json.JSONDecodeError as exc:
            return ToolCallParseError(f"invalid JSON in {self.OPEN}: {exc}", raw)
        if not isinstance(data, dict):
            return ToolCallParseError(
                f'{self.OPEN} must hold a JSON object {{"name": ..., "arguments": {{...}}}}, '
                f"got {type(data).__name__}",
                raw,
            )
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            return ToolCallParseError(f'{self.OPEN} object needs a "name" string', raw)
        arguments: Any = data.get("arguments", data.get("parameters", {}))
        if isinstance(arguments, str):
            with contextlib.suppress(json.JSONDecodeError):
                arguments = json.loads(arguments, strict=False) if arguments.strip() else {}
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            return ToolCallParseError(
                f'"arguments" of tool {name!r} must be a JSON object, got {type(arguments).__name__}',
                raw,
            )
        call_id = data.get("id")
        return ToolCall(name.strip(), arguments, id=call_id if isinstance(call_id, str) else None)

    def render(self, calls: Sequence[ToolCall]) -> str:
        return "\n".join(
            f"{self.OPEN}\n"
            + json.dumps({"name": c.name, "arguments": dict(c.arguments)}, ensure_ascii=False)
            + f"\n{self.CLOSE}"
            for c in calls
        )

    def instructions(self, schemas: Sequence[dict[str, Any]]) -> str:
        tools = "\n".join(json.dumps(s, ensure_ascii=False) for s in schemas)
        return (
            "# Tools\n\n"
            "You may call one or more functions to assist with the user query.\n\n"
            "You are provided with function signatures within <tools></tools> XML tags:\n"
            f"<tools>\n{tools}\n</tools>\n\n"
            "For each function call, return a json object with function name and arguments "
            "within <tool_call></tool_call> XML tags:\n"
            '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
        )

    def strip_calls(self, text: str) -> str:
        text = re.sub(re.escape(self.OPEN) + r".*?" + re.escape(self.CLOSE), "", text, flags=re.S)
        start = text.find(self.OPEN)
        return text if start == -1 else text[:start]


# ---- python blocks ---------------------------------------------------------------------

_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$")
_PYTHON_INFO = {"python", "py", "python3"}


@dataclass(frozen=True)
class _Block:
    info: str
    code: str
    start: int
    end: int
    closed: bool


def _fenced_blocks(text: str) -> list[_Block]:
    """Fenced code blocks of ``text`` (CommonMark-like), with character offsets.

    A code line that ends with the opening fence (```` print(1)``` ````) also closes its block:
    small models often write that.
    """
    blocks: list[_Block] = []
    offset = 0
    fence: str | None = None
    info = ""
    start = 0
    code: list[str] = []
    for line in text.splitlines(keepends=True):
        bare = line.rstrip("\r\n")
        line_start, offset = offset, offset + len(line)
        if fence is None:
            match = _FENCE_RE.match(bare)
            if match:
                fence, info, start, code = match.group(1), match.group(2).lower(), line_start, []
            continue
        stripped = bare.strip()
        if set(stripped) == {fence[0]} and len(stripped) >= len(fence):
            blocks.append(_Block(info, "".join(code), start, offset, closed=True))
            fence = None
        elif fence[0] == "`" and stripped.endswith("```") and stripped.strip("`"):
            code.append(bare.rstrip().rstrip("`") + "\n")
            blocks.append(_Block(info, "".join(code), start, offset, closed=True))
            fence = None
        else:
            code.append(line if line.endswith("\n") else line + "\n")
    if fence is not None:
        blocks.append(_Block(info, "".join(code), start, len(text), closed=False))
    return blocks


class PythonBlockFormat(ToolCallFormat):
    """Fenced ```` ```python ```` / ```` ```py ```` blocks, each a call of one code tool.

    Other fenced blocks (```` ```text ````, plain ```` ``` ````) are ignored. An unclosed
    python fence and an empty python block are errors.

    Args:
        tool_name: Name of the tool each block calls.
        argument: Name of the argument that receives the code.
    """

    name = "python"

    def __init__(self, tool_name: str = "python", argument: str = "code"):
        self.tool_name = tool_name
        self.argument = argument

    def parse(self, text: str) -> ParseResult:
        result = ParseResult()
        for block in _fenced_blocks(text):
            if block.info not in _PYTHON_INFO:
                continue
            raw = _snippet(text[block.start : block.end])
            if not block.closed:
                result.errors.append(
                    ToolCallParseError("unclosed ```python block: end the code with ```", raw)
                )
            elif not block.code.strip():
                result.errors.append(ToolCallParseError("empty ```python block", raw))
            else:
                result.calls.append(ToolCall(self.tool_name, {self.argument: block.code}))
        return result

    def render(self, calls: Sequence[ToolCall]) -> str:
        parts = []
        for call in calls:
            code = str(call.arguments.get(self.argument, ""))
            parts.append(f"```python\n{code.rstrip()}\n```")
        return "\n\n".join(parts)

    def instructions(self, schemas: Sequence[dict[str, Any]]) -> str:
        return (
            "To run Python code, write it in a fenced code block:\n"
            "```python\nprint(2 + 2)\n```\n"
            "Every such block in your message is run, in order, and you are shown its output "
            "(what it prints, and any error). Use print() to see values."
        )

    def strip_calls(self, text: str) -> str:
        out, pos = [], 0
        for block in _fenced_blocks(text):
            out.append(text[pos : block.start])
            pos = block.end
        out.append(text[pos:])
        return "".join(out)

    def __repr__(self) -> str:
        return f"PythonBlockFormat(tool_name={self.tool_name!r}, argument={self.argument!r})"


FORMATS: dict[str, type[ToolCallFormat]] = {"hermes": HermesFormat, "python": PythonBlockFormat}
"""Known formats by name."""


def get_format(name: str) -> ToolCallFormat:
    """A new instance of the tool-call format called ``name`` (``"hermes"`` or ``"python"``).

    Raises:
        ValueError: ``name`` is not a known format (the message lists them).
    """
    try:
        return FORMATS[name]()
    except KeyError:
        raise ValueError(
            f"unknown tool-call format {name!r}; known formats: {', '.join(sorted(FORMATS))}"
        ) from None

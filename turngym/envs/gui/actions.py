"""Strict parsing of GUI actions from model text.

The last non-empty line of a reply is the action (earlier lines may hold reasoning); it must
be exactly one of::

    click(x, y)        click pixel (x, y) of the screenshot (integers, origin top-left)
    click(e7)          click the element with accessibility id e7 (quotes optional)
    type("text")       type text into the focused text box (a quoted string)
    scroll(dx, dy)     scroll the content by dy pixels (positive: down)
    key(name)          press enter, tab, backspace, escape, up, down or space
    done()             declare the task finished (the goal is judged now)

A reply that is not one of these raises :class:`ActionParseError`, whose message is written
for the model (it says what was wrong and shows the right form).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from turngym.envs.gui.app import KEY_NAMES

ACTION_HELP = (
    'click(x, y) | click(e7) | type("text") | scroll(dx, dy) | key(name) | done()  '
    f"(key names: {', '.join(KEY_NAMES)})"
)

_CALL_RE = re.compile(r"^([A-Za-z_]+)\s*\((.*)\)$", re.S)
_INT_RE = re.compile(r"^[+-]?\d+$")
_ID_RE = re.compile(r"^e\d+$")
_MAX_COORD = 100_000


class ActionParseError(ValueError):
    """A reply is not a valid GUI action; the message says why and how to fix it."""


@dataclass(frozen=True)
class GuiAction:
    """One parsed GUI action."""

    kind: str
    """``click``, ``type``, ``scroll``, ``key`` or ``done``."""
    x: int | None = None
    """Click x (pixel clicks) or scroll dx."""
    y: int | None = None
    """Click y (pixel clicks) or scroll dy."""
    element_id: str | None = None
    """Element id for ``click(e7)``."""
    text: str | None = None
    """Text for ``type`` or key name for ``key``."""

    def render(self) -> str:
        """The action written in the syntax :func:`parse_action` reads."""
        if self.kind == "click":
            return f"click({self.element_id})" if self.element_id else f"click({self.x}, {self.y})"
        if self.kind == "type":
            return f"type({_quote(self.text or '')})"
        if self.kind == "scroll":
            return f"scroll({self.x}, {self.y})"
        if self.kind == "key":
            return f"key({self.text})"
        return "done()"


def _quote(text: str) -> str:
    import json

    return json.dumps(text, ensure_ascii=False)


def _ints(args: str, n: int, call: str) -> list[int]:
    parts = [p.strip() for p in args.split(",")]
    if len(parts) != n or not all(_INT_RE.match(p) for p in parts):
        raise ActionParseError(
            f"{call}(...) takes {n} integers separated by a comma, got ({args.strip()})"
        )
    values = [int(p) for p in parts]
    if any(abs(v) > _MAX_COORD for v in values):
        raise ActionParseError(f"{call}(...) numbers must be within +-{_MAX_COORD}")
    return values


def parse_action(text: str) -> GuiAction:
    """Parse the action on the last non-empty line of ``text``.

    Raises:
        ActionParseError: The line is not exactly one valid action.
    """
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        raise ActionParseError(f"empty reply: end your reply with one action, e.g. {ACTION_HELP}")
    line = lines[-1].strip("`").strip()
    match = _CALL_RE.match(line)
    if not match:
        raise ActionParseError(
            f"could not read an action from the last line {line[:80]!r}; "
            f"it must be exactly one of: {ACTION_HELP}"
        )
    name, args = match.group(1).lower(), match.group(2).strip()
    if name == "click":
        bare = args.strip("'\"")
        if _ID_RE.match(bare):
            return GuiAction("click", element_id=bare)
        if "," not in args:
            raise ActionParseError(
                f"click({args}) is neither click(x, y) with two integers nor click(e7) with an "
                "element id from the accessibility tree"
            )
        x, y = _ints(args, 2, "click")
        return GuiAction("click", x=x, y=y)
    if name == "type":
        try:
            value = ast.literal_eval(args) if args else None
        except (ValueError, SyntaxError):
            value = None
        if not isinstance(value, str):
            raise ActionParseError(
                f'type(...) takes one quoted string, e.g. type("Alice Chen"); got type({args[:60]})'
            )
        if not value:
            raise ActionParseError('type("") types nothing; give the text to type')
        return GuiAction("type", text=value)
    if name == "scroll":
        dx, dy = _ints(args, 2, "scroll")
        return GuiAction("scroll", x=dx, y=dy)
    if name == "key":
        key = args.strip("'\"").lower()
        if key not in KEY_NAMES:
            raise ActionParseError(
                f"key({args}) is not a known key; use one of {', '.join(KEY_NAMES)}"
            )
        return GuiAction("key", text=key)
    if name == "done":
        if args:
            raise ActionParseError(f"done() takes no arguments, got done({args[:40]})")
        return GuiAction("done")
    raise ActionParseError(f"unknown action {name!r}; use one of: {ACTION_HELP}")

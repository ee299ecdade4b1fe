"""The synthetic app model behind ``turngym/GUI-v0``: widgets, state, layout and behaviour.

An :class:`App` is one window: a title bar, an optional menu bar, a vertically scrolling
content area of widgets (headings, text boxes, check boxes, switches, drop-downs, buttons,
list rows), a status bar, and at most one overlay at a time (an open drop-down or menu) or a
modal dialog. Its state is plain data (:meth:`App.state`), so goals are judged on it and two
apps compare by it.

Every widget becomes an accessibility node (:class:`Element`: id, role, name, bounds, state)
with an id fixed when the app is built, so ``click(e7)`` names the same widget all episode.
Only nodes visible on screen are listed, as in a real accessibility snapshot of a viewport:
an agent must scroll to reach what is below the fold.

What this does NOT model: text selection and caret movement inside a text box, drag and
drop, double clicks, hover, and horizontal scrolling (``dx`` of ``scroll`` is accepted and
ignored because no app is wider than the screen).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

KEY_NAMES: tuple[str, ...] = ("enter", "tab", "backspace", "escape", "up", "down", "space")
"""Key names ``key(name)`` accepts."""

MAX_FIELD_CHARS = 64
"""Longest value a text box holds (typing more is cut off, like a ``maxlength`` input)."""


@dataclass(frozen=True)
class Layout:
    """Geometry knobs that vary between generated apps (so pixels alone do not give tasks away)."""

    name: str
    """A short name for the layout (reported in ``info``)."""
    label_position: str = "left"
    """Where a text box's label goes: ``"left"`` of the box or ``"above"`` it."""
    row_height: int = 26
    """Height of list rows, check boxes and switches, in pixels."""
    button_align: str = "right"
    """Alignment of button rows: ``"left"`` or ``"right"``."""
    margin: int = 16
    """Left/right margin of the content area, in pixels."""
    spacing: int = 8
    """Vertical gap between widgets, in pixels."""


LAYOUTS: tuple[Layout, ...] = (
    Layout("compact", label_position="left", row_height=24, button_align="right", margin=12),
    Layout("roomy", label_position="above", row_height=30, button_align="left", margin=20),
    Layout("classic", label_position="left", row_height=28, button_align="left", spacing=10),
    Layout("stacked", label_position="above", row_height=26, button_align="right", spacing=6),
)


@dataclass(frozen=True)
class Widget:
    """One widget of an app's content area (or of its menu bar / dialog), as built."""

    key: str
    """Stable key of the widget in the app's state (e.g. ``"field:name"``)."""
    kind: str
    """``heading``, ``text``, ``textbox``, ``checkbox``, ``switch``, ``combobox``, ``button``,
    ``listitem``, ``menu``, ``menuitem``, ``option`` or ``dialogbutton``."""
    name: str
    """The visible label (the accessible name)."""
    options: tuple[str, ...] = ()
    """For a combobox: its choices; for a menu: its items."""
    action: str = ""
    """For a button: what it does (``submit``, ``save``, ``open``, ``cancel``, ``ok``)."""


@dataclass(frozen=True)
class Element:
    """One node of the accessibility tree: what an agent (or a screen reader) can see of a widget."""

    id: str
    """Stable id, e.g. ``"e7"``: ``click(e7)`` clicks this element."""
    role: str
    """ARIA-like role: ``button``, ``textbox``, ``checkbox``, ``switch``, ``combobox``,
    ``option``, ``listitem``, ``menu``, ``menuitem``, ``heading``, ``text``, ``dialog``,
    ``status`` (the status bar's message)."""
    name: str
    """Accessible name (the label the user reads)."""
    bounds: tuple[int, int, int, int]
    """Visible bounds on the screenshot, ``(x1, y1, x2, y2)`` in pixels, end-exclusive."""
    state: dict[str, Any] = field(default_factory=dict, compare=False)
    """State flags and values (``value``, ``checked``, ``focused``, ``selected``,
    ``expanded``); only the ones that apply to the role. Not part of equality or hashing."""
    key: str = field(default="", repr=False)
    """The widget's key in the app (internal; not shown to the agent)."""

    @property
    def center(self) -> tuple[int, int]:
        """The pixel at the middle of the visible bounds (where a click lands)."""
        x1, y1, x2, y2 = self.bounds
        return (x1 + x2 - 1) // 2, (y1 + y2 - 1) // 2

    def contains(self, x: int, y: int) -> bool:
        """Whether pixel ``(x, y)`` lies inside the visible bounds."""
        x1, y1, x2, y2 = self.bounds
        return x1 <= x < x2 and y1 <= y < y2

    def describe(self) -> str:
        """One line of the text accessibility tree."""
        flags = []
        for name, value in self.state.items():
            if isinstance(value, bool):
                flags.append(f"{name}={'true' if value else 'false'}")
            else:
                flags.append(f"{name}={json.dumps(value)}")
        extra = (" " + " ".join(flags)) if flags else ""
        return f"[{self.id}] {self.role} {json.dumps(self.name)} bounds={list(self.bounds)}{extra}"


@dataclass
class Dialog:
    """A modal confirmation dialog (only its buttons respond while it is open)."""

    title: str
    """Title line."""
    text: str
    """Question shown to the user."""
    on_ok: str
    """What OK does: ``"submit"`` or ``"save"``."""


class App:
    """A synthetic single-window app: widgets, state, layout, hit-testing and behaviour.

    Args:
        title: Window title.
        widgets: Content widgets, top to bottom.
        menus: Menu-bar menus (``kind="menu"`` widgets whose ``options`` are the items).
        confirm: Ask for confirmation in a dialog before ``submit`` / ``save`` take effect.
        screen_size: ``(width, height)`` of the screenshot in pixels.
        layout: Geometry variant.
        font_size: Base font size in pixels (used for layout heights).
    """

    TITLE_H = 28
    MENUBAR_H = 24
    STATUS_H = 22
    SCROLL_STEP_LIMIT = 2000

    def __init__(
        self,
        *,
        title: str,
        widgets: list[Widget],
        menus: list[Widget] | None = None,
        confirm: bool = False,
        screen_size: tuple[int, int] = (512, 384),
        layout: Layout = LAYOUTS[0],
        font_size: int = 13,
    ):
        self.title = title
        self.widgets = list(widgets)
        self.menus = list(menus or [])
        self.confirm = confirm
        self.width, self.height = screen_size
        self.layout = layout
        self.font_size = font_size
        keys = [w.key for w in self.widgets] + [m.key for m in self.menus]
        if len(set(keys)) != len(keys):
            raise ValueError(f"widget keys must be unique, got duplicates in {keys}")
        self._by_key = {w.key: w for w in self.widgets + self.menus}
        # ids are fixed at build time so that an id names the same widget all episode
        self.ids: dict[str, str] = {}
        counter = 0

        def new_id(key: str) -> None:
            nonlocal counter
            counter += 1
            self.ids[key] = f"e{counter}"

        for menu in self.menus:
            new_id(menu.key)
            for item in menu.options:
                new_id(f"{menu.key}/{item}")
        for w in self.widgets:
            new_id(w.key)
            for option in w.options:
                new_id(f"{w.key}/{option}")
        for name in ("status", "dialog", "dialog/OK", "dialog/Cancel"):
            new_id(name)
        self.values: dict[str, Any] = {}
        for w in self.widgets:
            if w.kind == "textbox":
                self.values[w.key] = ""
            elif w.kind in ("checkbox", "switch"):
                self.values[w.key] = False
            elif w.kind == "combobox":
                self.values[w.key] = w.options[0]
        self.focus: str | None = None
        self.selected: str | None = None
        self.expanded: str | None = None
        self.dialog: Dialog | None = None
        self.scroll_y = 0
        self.submitted: dict[str, Any] | None = None
        self.saved: dict[str, Any] | None = None
        self.opened: str | None = None
        self.commands: list[str] = []
        self.menus_opened: list[str] = []
        self.status = "Ready"
        self._content_layout = self._layout_content()

    def widget(self, key: str) -> Widget:
        """The widget (content or menu) with that key.

        Raises:
            KeyError: No widget has that key.
        """
        try:
            return self._by_key[key]
        except KeyError:
            raise KeyError(f"no widget with key {key!r}") from None

    # ---- state -----------------------------------------------------------------------------

    def set_initial(self, values: dict[str, Any]) -> None:
        """Set widget values before the episode starts (e.g. settings already switched on)."""
        for key, value in values.items():
            if key not in self.values:
                raise KeyError(f"no widget with a value under key {key!r}")
            self.values[key] = value

    def state(self) -> dict[str, Any]:
        """Everything that makes two apps look and behave differently, as JSON-able data."""
        return {
            "values": copy.deepcopy(self.values),
            "focus": self.focus,
            "selected": self.selected,
            "expanded": self.expanded,
            "dialog": None if self.dialog is None else self.dialog.on_ok,
            "scroll_y": self.scroll_y,
            "submitted": copy.deepcopy(self.submitted),
            "saved": copy.deepcopy(self.saved),
            "opened": self.opened,
            "commands": list(self.commands),
            "status": self.status,
        }

    def fingerprint(self) -> str:
        """A canonical string of :meth:`state` (equal fingerprints: identical screens)."""
        return json.dumps(self.state(), sort_keys=True)

    def clone(self) -> App:
        """An independent copy (to try an action without touching this app)."""
        return copy.deepcopy(self)

    # ---- layout ----------------------------------------------------------------------------

    @property
    def content_top(self) -> int:
        """Screen y where the scrolling content area starts."""
        return self.TITLE_H + (self.MENUBAR_H if self.menus else 0)

    @property
    def content_bottom(self) -> int:
        """Screen y where the scrolling content area ends (the status bar starts)."""
        return self.height - self.STATUS_H

    @property
    def max_scroll(self) -> int:
        """Largest useful ``scroll_y``."""
        viewport = self.content_bottom - self.content_top
        return max(0, self._content_height - viewport)

    def _layout_content(self) -> dict[str, tuple[int, int, int, int]]:
        """Bounds of each content widget in content coordinates (y from the content top)."""
        lay = self.layout
        boxes: dict[str, tuple[int, int, int, int]] = {}
        x1, x2 = lay.margin, self.width - lay.margin
        y = lay.spacing
        line = self.font_size + 6
        i = 0
        while i < len(self.widgets):
            w = self.widgets[i]
            if w.kind == "button":
                # consecutive buttons share one row
                row = [w]
                while i + 1 < len(self.widgets) and self.widgets[i + 1].kind == "button":
                    i += 1
                    row.append(self.widgets[i])
                widths = [max(72, 8 * len(b.name) + 24) for b in row]
                total = sum(widths) + 8 * (len(row) - 1)
                bx = x1 if lay.button_align == "left" else x2 - total
                for b, bw in zip(row, widths, strict=True):
                    boxes[b.key] = (bx, y, bx + bw, y + line + 12)
                    bx += bw + 8
                y += line + 12 + lay.spacing
            elif w.kind == "heading":
                boxes[w.key] = (x1, y, x2, y + line + 6)
                y += line + 6 + lay.spacing
            elif w.kind == "text":
                boxes[w.key] = (x1, y, x2, y + line)
                y += line + lay.spacing
            elif w.kind == "textbox":
                height = line + 10 + (line if lay.label_position == "above" else 0)
                boxes[w.key] = (x1, y, x2, y + height)
                y += height + lay.spacing
            elif w.kind == "combobox":
                boxes[w.key] = (x1, y, x2, y + line + 10)
                y += line + 10 + lay.spacing
            elif w.kind in ("checkbox", "switch"):
                boxes[w.key] = (x1, y, x2, y + lay.row_height)
                y += lay.row_height + lay.spacing // 2
            elif w.kind == "listitem":
                boxes[w.key] = (x1, y, x2, y + lay.row_height)
                y += lay.row_height
                if i + 1 >= len(self.widgets) or self.widgets[i + 1].kind != "listitem":
                    y += lay.spacing
            else:
                raise ValueError(f"unknown widget kind {w.kind!r} for {w.key!r}")
            i += 1
        self._content_height = y + lay.spacing
        return boxes

    def content_box(self, key: str) -> tuple[int, int, int, int]:
        """Full bounds of a content widget on screen (may lie outside the viewport)."""
        x1, y1, x2, y2 = self._content_layout[key]
        dy = self.content_top - self.scroll_y
        return x1, y1 + dy, x2, y2 + dy

    def control_box(self, key: str) -> tuple[int, int, int, int]:
        """Screen bounds of the interactive part of a textbox/combobox (the box itself)."""
        x1, y1, x2, y2 = self.content_box(key)
        w = self._by_key[key]
        line = self.font_size + 6
        if w.kind == "textbox" and self.layout.label_position == "above":
            return x1, y1 + line, x2, y2
        if w.kind in ("textbox", "combobox"):
            return x1 + 130, y1, x2, y2
        return x1, y1, x2, y2

    def _visible(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int] | None:
        x1, y1, x2, y2 = box
        top, bottom = self.content_top, self.content_bottom
        y1c, y2c = max(y1, top), min(y2, bottom)
        if y2c - y1c < 4:  # a sliver is not clickable in practice
            return None
        return x1, y1c, x2, y2c

    def menu_boxes(self) -> dict[str, tuple[int, int, int, int]]:
        """Screen bounds of the menu-bar titles."""
        boxes = {}
        x = 8
        for menu in self.menus:
            w = 8 * len(menu.name) + 16
            boxes[menu.key] = (x, self.TITLE_H, x + w, self.TITLE_H + self.MENUBAR_H)
            x += w
        return boxes

    def overlay_boxes(self) -> dict[str, tuple[int, int, int, int]]:
        """Screen bounds of the open drop-down's options or the open menu's items."""
        if self.expanded is None:
            return {}
        w = self._by_key[self.expanded]
        item_h = self.font_size + 9
        if w.kind == "menu":
            mx1, _, _, my2 = self.menu_boxes()[w.key]
            width = max(8 * len(o) for o in w.options) + 32
            return {
                f"{w.key}/{o}": (mx1, my2 + k * item_h, mx1 + width, my2 + (k + 1) * item_h)
                for k, o in enumerate(w.options)
            }
        bx1, by1, bx2, by2 = self.control_box(w.key)
        total = item_h * len(w.options)
        # open upwards when the list would run off the bottom of the screen
        top = by2 if by2 + total <= self.content_bottom else by1 - total
        return {
            f"{w.key}/{o}": (bx1, top + k * item_h, bx2, top + (k + 1) * item_h)
            for k, o in enumerate(w.options)
        }

    def dialog_boxes(self) -> dict[str, tuple[int, int, int, int]]:
        """Screen bounds of the dialog frame and its two buttons (empty when no dialog)."""
        if self.dialog is None:
            return {}
        dw, dh = min(320, self.width - 40), 130
        x1, y1 = (self.width - dw) // 2, (self.height - dh) // 2
        by = y1 + dh - 40
        return {
            "dialog": (x1, y1, x1 + dw, y1 + dh),
            "dialog/OK": (x1 + dw - 176, by, x1 + dw - 96, by + 28),
            "dialog/Cancel": (x1 + dw - 88, by, x1 + dw - 8, by + 28),
        }

    # ---- accessibility tree ----------------------------------------------------------------

    def elements(self) -> list[Element]:
        """The visible accessibility nodes, in reading order (topmost layer last)."""
        out: list[Element] = []
        for key, box in self.menu_boxes().items():
            out.append(
                Element(
                    self.ids[key],
                    "menu",
                    self._by_key[key].name,
                    box,
                    {"expanded": self.expanded == key},
                    key,
                )
            )
        for w in self.widgets:
            box = self._visible(
                self.control_box(w.key)
                if w.kind in ("textbox", "combobox")
                else self.content_box(w.key)
            )
            if box is None:
                continue
            state: dict[str, Any] = {}
            role = w.kind
            if w.kind == "textbox":
                state = {"value": self.values[w.key], "focused": self.focus == w.key}
            elif w.kind in ("checkbox", "switch"):
                state = {"checked": bool(self.values[w.key])}
            elif w.kind == "combobox":
                state = {"value": self.values[w.key], "expanded": self.expanded == w.key}
            elif w.kind == "listitem":
                state = {"selected": self.selected == w.key}
            out.append(Element(self.ids[w.key], role, w.name, box, state, w.key))
        for key, box in self.overlay_boxes().items():
            parent, _, name = key.partition("/")
            role = "menuitem" if self._by_key[parent].kind == "menu" else "option"
            state = {}
            if role == "option":
                state = {"selected": self.values[parent] == name}
            out.append(Element(self.ids[key], role, name, box, state, key))
        out.append(
            Element(
                self.ids["status"],
                "status",
                self.status,
                (0, self.content_bottom, self.width, self.height),
                {},
                "status",
            )
        )
        dialog = self.dialog_boxes()
        if dialog and self.dialog is not None:
            out.append(Element(self.ids["dialog"], "dialog", self.dialog.title, dialog["dialog"]))
            for key in ("dialog/OK", "dialog/Cancel"):
                out.append(
                    Element(self.ids[key], "button", key.split("/")[1], dialog[key], {}, key)
                )
        return out

    def accessibility_text(self) -> str:
        """The accessibility tree as text: one line per visible element."""
        lines = [f'window "{self.title}" size={self.width}x{self.height}']
        lines += ["  " + e.describe() for e in self.elements()]
        return "\n".join(lines)

    def element_by_id(self, element_id: str) -> Element | None:
        """The visible element with that id, or None."""
        for e in self.elements():
            if e.id == element_id:
                return e
        return None

    def known_id(self, element_id: str) -> bool:
        """Whether the id names any widget of this app (visible or not)."""
        return element_id in self.ids.values()

    def hit_test(self, x: int, y: int) -> Element | None:
        """The element a click at ``(x, y)`` lands on, honouring modal layers."""
        elements = self.elements()
        if self.dialog is not None:
            candidates = [e for e in elements if e.key.startswith("dialog/")]
        elif self.expanded is not None:
            candidates = [e for e in elements if e.role in ("option", "menuitem")]
            candidates += [e for e in elements if e.role == "menu"]
        else:
            candidates = [e for e in elements if e.role not in ("option", "menuitem", "status")]
        for e in reversed(candidates):
            if e.contains(x, y):
                return e
        return None

    # ---- behaviour -------------------------------------------------------------------------

    def click(self, x: int, y: int) -> str:
        """Click pixel ``(x, y)``; returns a short note of what happened (for the status bar)."""
        target = self.hit_test(x, y)
        if target is None:
            return self._click_on_nothing()
        return self._activate(target)

    def activate(self, element_id: str | None) -> str:
        """Apply a click whose target was found by someone else's hit-testing (a browser's).

        The Playwright backend dispatches real mouse events and lets Chromium decide which
        element receives them; this applies the result to the model exactly as :meth:`click`
        would have for the same target.

        Args:
            element_id: Id of the visible element that received the click, or None when the
                click landed on nothing (which closes an open menu, as in :meth:`click`).

        Raises:
            ValueError: ``element_id`` is not a visible element now (the page and the model
                disagree: a bug in the front end, not an agent error).
        """
        if element_id is None:
            return self._click_on_nothing()
        target = self.element_by_id(element_id)
        if target is None:
            raise ValueError(
                f"element {element_id!r} received a click but is not visible in the app model; "
                "the rendered page is out of sync with the app"
            )
        return self._activate(target)

    def _click_on_nothing(self) -> str:
        if self.expanded is not None and self.dialog is None:
            self.expanded = None  # a click outside an open menu closes it
        return "nothing"

    def _activate(self, e: Element) -> str:
        w = self._by_key.get(e.key.split("/")[0])
        if e.key == "dialog/OK" and self.dialog is not None:
            action = self.dialog.on_ok
            self.dialog = None
            self._commit(action)
            return "ok"
        if e.key == "dialog/Cancel":
            self.dialog = None
            self.status = "Cancelled"
            return "cancel"
        if w is None:
            return "nothing"
        if e.role == "menu":
            self.expanded = None if self.expanded == w.key else w.key
            if self.expanded is not None:
                self.menus_opened.append(w.name)
            return "menu"
        if e.role == "menuitem":
            command = f"{w.name} > {e.name}"
            self.commands.append(command)
            self.expanded = None
            self.status = f"Ran {command}"
            return "command"
        if e.role == "option":
            self.values[w.key] = e.name
            self.expanded = None
            return "option"
        self.expanded = None
        if w.kind == "textbox":
            self.focus = w.key
            return "focus"
        self.focus = None
        if w.kind in ("checkbox", "switch"):
            self.values[w.key] = not self.values[w.key]
            return "toggle"
        if w.kind == "combobox":
            self.expanded = w.key
            return "expand"
        if w.kind == "listitem":
            self.selected = w.key
            return "select"
        if w.kind == "button":
            return self._press_button(w)
        return "nothing"

    def _press_button(self, w: Widget) -> str:
        if w.action in ("submit", "save"):
            if self.confirm:
                verb = "Submit this form?" if w.action == "submit" else "Save these settings?"
                self.dialog = Dialog("Please confirm", verb, w.action)
                return "dialog"
            self._commit(w.action)
            return w.action
        if w.action == "open":
            return self._open_selected()
        if w.action == "cancel":
            for key in self.values:
                if self._by_key[key].kind == "textbox":
                    self.values[key] = ""
            self.status = "Cleared"
            return "cancel"
        return "nothing"

    def _commit(self, action: str) -> None:
        snapshot = copy.deepcopy(self.values)
        if action == "submit":
            self.submitted = snapshot
            self.status = "Form submitted"
        else:
            self.saved = snapshot
            self.status = "Settings saved"

    def _open_selected(self) -> str:
        if self.selected is None:
            self.status = "Select an item first"
            return "nothing"
        self.opened = self._by_key[self.selected].name
        self.status = f"Opened {self.opened}"
        return "open"

    def type_text(self, text: str) -> str:
        """Type ``text`` into the focused text box (nothing happens without focus)."""
        if self.dialog is not None or self.focus is None:
            return "nothing"
        self.values[self.focus] = (self.values[self.focus] + text)[:MAX_FIELD_CHARS]
        return "typed"

    def set_field_value(self, key: str, value: str) -> None:
        """Set a text box's value to what a front end's own text editing produced.

        The Playwright backend types with real key events into a real ``<input>`` and reads the
        value back; it is cut to :data:`MAX_FIELD_CHARS` as :meth:`type_text` does.

        Raises:
            KeyError: ``key`` is not a text box of this app.
            TypeError: ``value`` is not a string.
        """
        if key not in self.values or self._by_key[key].kind != "textbox":
            raise KeyError(f"no text box with key {key!r}")
        if not isinstance(value, str):
            raise TypeError(f"a text box value must be a str, got {type(value).__name__}")
        self.values[key] = value[:MAX_FIELD_CHARS]

    def press(self, key: str) -> str:
        """Press a named key (one of :data:`KEY_NAMES`)."""
        if key not in KEY_NAMES:
            raise ValueError(f"unknown key {key!r}; use one of {', '.join(KEY_NAMES)}")
        if self.dialog is not None:
            if key == "enter":
                return self._activate(Element("", "button", "OK", (0, 0, 0, 0), {}, "dialog/OK"))
            if key == "escape":
                self.dialog = None
                self.status = "Cancelled"
                return "cancel"
            return "nothing"
        if key == "escape":
            if self.expanded is not None:
                self.expanded = None
                return "collapse"
            if self.focus is not None:
                self.focus = None
                return "blur"
            return "nothing"
        if self.expanded is not None and key in ("up", "down", "enter"):
            return "nothing"  # keyboard navigation inside menus is not modelled
        if key == "tab":
            boxes = [w.key for w in self.widgets if w.kind == "textbox"]
            if not boxes:
                return "nothing"
            nxt = 0 if self.focus not in boxes else (boxes.index(self.focus) + 1) % len(boxes)
            self.focus = boxes[nxt]
            self._scroll_into_view(self.focus)
            return "focus"
        if key == "backspace":
            if self.focus is None or not self.values[self.focus]:
                return "nothing"
            self.values[self.focus] = self.values[self.focus][:-1]
            return "typed"
        if key == "space":
            return self.type_text(" ")
        rows = [w.key for w in self.widgets if w.kind == "listitem"]
        if key in ("up", "down") and rows:
            if self.selected is None:
                self.selected = rows[0]
            else:
                k = rows.index(self.selected) + (1 if key == "down" else -1)
                self.selected = rows[max(0, min(len(rows) - 1, k))]
            self._scroll_into_view(self.selected)
            return "select"
        if key == "enter" and self.selected is not None and self.focus is None:
            return self._open_selected()
        return "nothing"

    def scroll(self, dx: int, dy: int) -> str:
        """Scroll the content area by ``dy`` pixels (positive: down); clamps at the ends."""
        if self.dialog is not None:
            return "nothing"
        before = self.scroll_y
        self.scroll_y = max(0, min(self.max_scroll, self.scroll_y + dy))
        if self.scroll_y != before:
            self.expanded = None  # real drop-downs close when the page scrolls
            return "scroll"
        return "nothing"

    def _scroll_into_view(self, key: str) -> None:
        x1, y1, x2, y2 = self.content_box(key)
        if y1 < self.content_top:
            self.scroll_y = max(0, self.scroll_y - (self.content_top - y1))
        elif y2 > self.content_bottom:
            self.scroll_y = min(self.max_scroll, self.scroll_y + (y2 - self.content_bottom))

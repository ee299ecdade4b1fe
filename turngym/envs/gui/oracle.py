"""Scripted policies for ``turngym/GUI-v0``: an oracle that reads the accessibility tree, and a
random one. They exist to show that tasks are solvable and not solvable by chance (tests,
smoke runs, baselines); they are not agents.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from turngym.core.messages import Message
from turngym.envs.gui.app import KEY_NAMES, Element
from turngym.envs.gui.tasks import Goal

_LINE_RE = re.compile(
    r'^\s*\[(?P<id>e\d+)\] (?P<role>\w+) (?P<name>"(?:[^"\\]|\\.)*") '
    r"bounds=\[(?P<b>[-\d, ]+)\](?P<rest>.*)$"
)
_FLAG_RE = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|true|false)')


def parse_tree(text: str) -> list[Element]:
    """The elements of an accessibility tree written by ``App.accessibility_text``."""
    out = []
    for line in text.splitlines():
        m = _LINE_RE.match(line)
        if not m:
            continue
        bounds = tuple(int(v) for v in m.group("b").split(","))
        state = {k: json.loads(v) for k, v in _FLAG_RE.findall(m.group("rest"))}
        out.append(
            Element(m.group("id"), m.group("role"), json.loads(m.group("name")), bounds, state)
        )  # type: ignore[arg-type]
    return out


def latest_tree(observation: tuple[Message, ...]) -> list[Element]:
    """The elements of the last accessibility tree in an observation ([] when it has none)."""
    for message in reversed(observation):
        if "Accessibility tree" in message.text:
            return parse_tree(message.text)
    return []


class GuiOracle:
    """Solves a GUI-v0 task from its goal and the accessibility tree of each screen.

    Args:
        goal: The task's goal (``env.unwrapped.generated.goal``).
        names: Accessible name of each widget key the goal mentions (the "known target").
        by_id: Click with ``click(eN)``; otherwise click the centre pixel ``click(x, y)``
            (exercising pixel hit-testing).
    """

    def __init__(self, goal: Goal, names: dict[str, str], *, by_id: bool = True):
        self.goal = goal
        self.names = dict(names)
        self.by_id = by_id
        self._scroll_dir = 1
        self._last_tree: list[tuple[str, str, Any]] = []
        # targets seen holding their value; only the oracle acts, so they stay set
        self._confirmed: set[str] = set()

    def _click(self, e: Element) -> str:
        return f"click({e.id})" if self.by_id else "click({}, {})".format(*e.center)

    def _scroll(self, elements: list[Element]) -> str:
        # turn around when a scroll changed nothing (an end of the page was reached)
        snapshot = [(e.id, e.role, e.bounds) for e in elements]
        if snapshot == self._last_tree:
            self._scroll_dir = -self._scroll_dir
        self._last_tree = snapshot
        return f"scroll(0, {80 * self._scroll_dir})"

    def act(self, elements: list[Element]) -> str:
        """The next action for the screen described by ``elements``."""
        by_role: dict[str, list[Element]] = {}
        for e in elements:
            by_role.setdefault(e.role, []).append(e)

        def find(role: str, name: str) -> Element | None:
            return next((e for e in by_role.get(role, []) if e.name == name), None)

        status = by_role.get("status", [None])[0]
        status_text = status.name if status else ""
        if by_role.get("dialog"):
            ok = find("button", "OK")
            return self._click(ok) if ok else "key(enter)"
        kind, target = self.goal.kind, self.goal.target
        if kind in ("form", "settings"):
            done_text = "Form submitted" if kind == "form" else "Settings saved"
            pending = self._pending_values(elements)
            if pending is None:
                return self._scroll(elements)
            if pending:
                return pending
            if status_text == done_text:
                return "done()"
            button = find("button", "Submit" if kind == "form" else "Save")
            return self._click(button) if button else self._scroll(elements)
        if kind == "list":
            if status_text == f"Opened {target['name']}":
                return "done()"
            row = find("listitem", target["name"])
            if row is None:
                return self._scroll(elements)
            if not row.state.get("selected"):
                return self._click(row)
            return "key(enter)"
        command = target["command"]
        if status_text == f"Ran {command}":
            return "done()"
        menu_name, item_name = command.split(" > ")
        item = find("menuitem", item_name)
        menu = find("menu", menu_name)
        if item is not None and menu is not None and menu.state.get("expanded"):
            return self._click(item)
        assert menu is not None, "the menu bar is always visible"
        return self._click(menu)

    def _pending_values(self, elements: list[Element]) -> str | None:
        """The next action to set a target value; "" when all hold; None when one is off-screen."""
        names = self._target_names()
        expanded = next(
            (e for e in elements if e.role == "combobox" and e.state.get("expanded")), None
        )
        for name, want in names.items():
            if name in self._confirmed:
                continue
            e = next((x for x in elements if x.name == name and x.role != "option"), None)
            if e is None:
                return None
            if e.role == "textbox":
                value = e.state.get("value", "")
                if value == want:
                    self._confirmed.add(name)
                    continue
                if not e.state.get("focused"):
                    return self._click(e)
                if want.startswith(value):
                    return f"type({json.dumps(want[len(value) :])})"
                return "key(backspace)"
            if e.role in ("checkbox", "switch"):
                if e.state.get("checked") != want:
                    return self._click(e) if expanded is None else "key(escape)"
                self._confirmed.add(name)
                continue
            if e.role == "combobox" and e.state.get("value") != want:
                if e.state.get("expanded"):
                    option = next(x for x in elements if x.role == "option" and x.name == want)
                    return self._click(option)
                return self._click(e) if expanded is None else "key(escape)"
            if e.role == "combobox":
                self._confirmed.add(name)
        return ""

    def _target_names(self) -> dict[str, Any]:
        # goal keys are "field:name" / "set:Name" / "check"; the tree shows accessible names
        return {self.names[key]: want for key, want in self.goal.target["values"].items()}

    @classmethod
    def for_env(cls, env: Any, *, by_id: bool = True) -> GuiOracle:
        """The oracle for the task a (possibly wrapped) ``GUIEnv`` was just reset to."""
        generated = env.unwrapped.generated
        names = {w.key: w.name for w in generated.app.widgets}
        return cls(generated.goal, names, by_id=by_id)


def random_action(rng: np.random.Generator, width: int = 512, height: int = 384) -> str:
    """A random, well-formed action (a chance baseline)."""
    roll = rng.random()
    if roll < 0.45:
        return f"click({int(rng.integers(width))}, {int(rng.integers(height))})"
    if roll < 0.6:
        return f"click(e{int(rng.integers(1, 40))})"
    if roll < 0.72:
        word = str(rng.choice(["Alice", "Lyon", "hello", "42", "Kim Park"]))
        return f'type("{word}")'
    if roll < 0.84:
        return f"scroll(0, {int(rng.choice([-120, -60, 60, 120]))})"
    if roll < 0.95:
        return f"key({KEY_NAMES[int(rng.integers(len(KEY_NAMES)))]})"
    return "done()"

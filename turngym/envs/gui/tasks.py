"""Seeded generator of GUI tasks: an app, an instruction, and a goal judged on app state.

Four task kinds:

- ``form``: fill some text boxes (and maybe tick a check box) of a form, then submit it
  (sometimes through a confirmation dialog). Goal: the submitted values match.
- ``settings``: change two or three settings (switches, check boxes, drop-downs) on a page
  that may need scrolling, then save. Goal: the saved values match.
- ``list``: find an item in a long list (scrolling) and open it (select + Open, or Enter).
  Goal: the opened item is the target.
- ``menu``: run a command from the menu bar (``Menu > Item``). Goal: the last command run is
  the target.

The train and test splits draw from different seeds and from disjoint halves of the word
pools (names, cities, file names), so test tasks hold values never typed in training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from turngym.envs.base import seeded_rng
from turngym.envs.gui.app import LAYOUTS, App, Widget
from turngym.envs.gui.render import THEMES, Theme

TASK_KINDS: tuple[str, ...] = ("form", "settings", "list", "menu")

_FIRST = (
    "Alice", "Bruno", "Chen", "Dana", "Emil", "Farah", "Goran", "Hana", "Ivan", "Jia",
    "Kofi", "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tara",
)  # fmt: skip
_LAST = (
    "Adams", "Berg", "Costa", "Diaz", "Evans", "Fischer", "Garcia", "Huang", "Ito", "Jensen",
    "Kim", "Lopez", "Moreau", "Novak", "Okafor", "Park", "Rossi", "Silva", "Tanaka", "Weber",
)  # fmt: skip
_CITIES = (
    "Lyon", "Porto", "Osaka", "Quito", "Perth", "Tunis", "Bergen", "Cusco", "Dakar", "Gdansk",
    "Hanoi", "Izmir", "Jaipur", "Kyoto", "Lagos", "Malmo", "Nantes", "Oslo", "Split", "Turin",
)  # fmt: skip
_FILE_STEMS = (
    "budget", "invoice", "notes", "report", "summary", "draft", "photo", "backup", "agenda",
    "contract", "resume", "schedule", "poster", "slides", "receipt", "memo", "plan", "survey",
    "letter", "chart",
)  # fmt: skip
_FILE_EXTS = (".pdf", ".docx", ".xlsx", ".png", ".txt", ".csv")
_SWITCHES = (
    "Wi-Fi", "Bluetooth", "Airplane mode", "Location", "Notifications", "Auto-update",
    "Dark mode", "Sync photos", "Do not disturb", "Battery saver", "Hotspot", "NFC",
)  # fmt: skip
_COMBOS = {
    "Language": ("English", "French", "German", "Spanish", "Japanese"),
    "Font size": ("Small", "Medium", "Large", "Huge"),
    "Time zone": ("UTC", "CET", "EST", "PST", "JST"),
    "Units": ("Metric", "Imperial"),
    "Start page": ("Home", "Inbox", "Calendar", "Files"),
}
_MENUS = {
    "File": ("New", "Open...", "Save", "Save as...", "Export", "Print", "Close"),
    "Edit": ("Undo", "Redo", "Cut", "Copy", "Paste", "Find", "Replace"),
    "View": ("Zoom in", "Zoom out", "Full screen", "Show grid", "Show ruler"),
    "Insert": ("Image", "Table", "Link", "Comment", "Page break"),
    "Tools": ("Spelling", "Word count", "Macros", "Options"),
    "Help": ("Documentation", "Shortcuts", "About"),
}
_FORM_FIELDS = ("Name", "Email", "City", "Phone", "Company", "Username")
_CHECKS = ("Subscribe to newsletter", "Remember me", "I accept the terms", "Send a copy to me")


@dataclass(frozen=True)
class Goal:
    """What a task asks for, checked against the app's state."""

    kind: str
    """The task kind (one of :data:`TASK_KINDS`)."""
    instruction: str
    """The instruction shown to the agent."""
    target: dict[str, Any]
    """What must hold: widget values (form/settings), ``opened`` (list) or ``command`` (menu)."""

    def subgoals(self, app: App) -> dict[str, bool]:
        """Named sub-goals and whether each holds now; the last one is the whole goal."""
        out: dict[str, bool] = {}
        if self.kind in ("form", "settings"):
            committed = app.submitted if self.kind == "form" else app.saved
            for key, value in self.target["values"].items():
                out[f"value:{key}"] = app.values[key] == value
            out["committed"] = committed is not None and all(
                committed[k] == v for k, v in self.target["values"].items()
            )
        elif self.kind == "list":
            out["selected"] = app.selected == self.target["key"]
            out["opened"] = app.opened == self.target["name"]
        else:
            menu = self.target["command"].split(" > ")[0]
            out["menu_opened"] = menu in app.menus_opened
            out["ran_command"] = bool(app.commands) and app.commands[-1] == self.target["command"]
        return out

    def achieved(self, app: App) -> bool:
        """Whether the goal holds on ``app``'s state."""
        return list(self.subgoals(app).values())[-1]


@dataclass
class GeneratedTask:
    """An app ready to play, with its goal and look."""

    app: App
    """The app in its initial state."""
    goal: Goal
    """What to achieve."""
    theme: Theme
    """The visual theme."""


def _half(pool: Sequence[str], split: str) -> list[str]:
    # disjoint halves keep test values unseen in training
    return list(pool[0::2] if split == "train" else pool[1::2])


def _pick(rng: np.random.Generator, pool: Sequence[Any], k: int | None = None) -> Any:
    if k is None:
        return pool[int(rng.integers(len(pool)))]
    idx = rng.choice(len(pool), size=k, replace=False)
    return [pool[int(i)] for i in idx]


def generate_task(
    kind: str,
    seed: int,
    split: str = "train",
    *,
    screen_size: tuple[int, int] = (512, 384),
) -> GeneratedTask:
    """Build the app and goal of one task, deterministically from ``(kind, seed, split)``.

    Raises:
        ValueError: ``kind`` is not one of :data:`TASK_KINDS`.
    """
    if kind not in TASK_KINDS:
        raise ValueError(f"unknown GUI task kind {kind!r}; choose from {TASK_KINDS}")
    rng = seeded_rng("gui", kind, split, seed)
    theme = _pick(rng, THEMES)
    layout = _pick(rng, LAYOUTS)
    font_size = int(rng.integers(12, 15))
    common: dict[str, Any] = {"screen_size": screen_size, "layout": layout, "font_size": font_size}
    if kind == "form":
        app, goal = _form(rng, split, common)
    elif kind == "settings":
        app, goal = _settings(rng, split, common)
    elif kind == "list":
        app, goal = _list(rng, split, common)
    else:
        app, goal = _menu(rng, split, common)
    return GeneratedTask(app=app, goal=goal, theme=theme)


def _form(rng: np.random.Generator, split: str, common: dict[str, Any]) -> tuple[App, Goal]:
    fields = _pick(rng, _FORM_FIELDS, int(rng.integers(3, 5)))
    fields = [f for f in _FORM_FIELDS if f in fields]  # a stable, natural order
    check = _pick(rng, _CHECKS) if rng.random() < 0.6 else None
    title = _pick(rng, ("Sign up", "Contact us", "New account", "Registration", "Order details"))
    widgets = [Widget("heading", "heading", title)]
    widgets += [Widget(f"field:{f.lower()}", "textbox", f) for f in fields]
    if check:
        widgets.append(Widget("check", "checkbox", check))
    widgets += [Widget("btn:submit", "button", "Submit", action="submit")]
    widgets += [Widget("btn:clear", "button", "Clear", action="cancel")]
    app = App(title=title, widgets=widgets, confirm=bool(rng.random() < 0.5), **common)
    first, last, city = _pick(rng, _half(_FIRST, split)), _pick(rng, _half(_LAST, split)), None
    city = _pick(rng, _half(_CITIES, split))
    values_for = {
        "Name": f"{first} {last}",
        "Email": f"{first.lower()}.{last.lower()}@example.com",
        "City": city,
        "Phone": "".join(str(int(d)) for d in rng.integers(0, 10, size=8)),
        "Company": f"{last} {_pick(rng, ('Labs', 'Ltd', 'Group', 'Studio'))}",
        "Username": f"{first.lower()}{int(rng.integers(10, 99))}",
    }
    # ask for a subset of the fields: leaving the rest empty is part of reading the task
    asked = _pick(rng, fields, int(rng.integers(2, len(fields) + 1)))
    asked = [f for f in fields if f in asked]
    target: dict[str, Any] = {f"field:{f.lower()}": values_for[f] for f in asked}
    parts = [f"{f}: {values_for[f]!r}" for f in asked]
    if check:
        target["check"] = True
        parts.append(f"tick {check!r}")
    instruction = f"Fill in the {title!r} form with {'; '.join(parts)}. Then submit it" + (
        " and confirm." if app.confirm else "."
    )
    return app, Goal("form", instruction, {"values": target})


def _settings(rng: np.random.Generator, split: str, common: dict[str, Any]) -> tuple[App, Goal]:
    switches = _pick(rng, _SWITCHES, int(rng.integers(5, 9)))
    combos = _pick(rng, list(_COMBOS), int(rng.integers(1, 3)))
    widgets = [Widget("heading", "heading", "Settings")]
    items: list[Widget] = []
    for name in switches:
        kind = "switch" if rng.random() < 0.7 else "checkbox"
        items.append(Widget(f"set:{name}", kind, name))
    for name in combos:
        items.append(Widget(f"set:{name}", "combobox", name, options=_COMBOS[name]))
    order = rng.permutation(len(items))
    widgets += [items[int(i)] for i in order]
    widgets.append(Widget("btn:save", "button", "Save", action="save"))
    app = App(title="Settings", widgets=widgets, confirm=bool(rng.random() < 0.4), **common)
    initial = {w.key: bool(rng.random() < 0.5) for w in items if w.kind != "combobox"}
    initial.update({w.key: _pick(rng, w.options) for w in items if w.kind == "combobox"})
    app.set_initial(initial)
    changed = _pick(rng, items, int(rng.integers(2, 4)))
    target: dict[str, Any] = {}
    parts = []
    for w in changed:
        if w.kind == "combobox":
            choice = _pick(rng, [o for o in w.options if o != initial[w.key]])
            target[w.key] = choice
            parts.append(f"set {w.name!r} to {choice!r}")
        else:
            target[w.key] = not initial[w.key]
            parts.append(f"turn {'on' if target[w.key] else 'off'} {w.name!r}")
    instruction = "In Settings, " + ", ".join(parts) + ", then click Save"
    instruction += " and confirm." if app.confirm else "."
    return app, Goal("settings", instruction, {"values": target})


def _list(rng: np.random.Generator, split: str, common: dict[str, Any]) -> tuple[App, Goal]:
    stems = _half(_FILE_STEMS, split)
    count = int(rng.integers(12, 22))
    names: list[str] = []
    while len(names) < count:
        name = f"{_pick(rng, stems)}_{int(rng.integers(2019, 2026))}{_pick(rng, _FILE_EXTS)}"
        if name not in names:
            names.append(name)
    if rng.random() < 0.5:
        names.sort()
    folder = _pick(rng, ("Documents", "Downloads", "Projects", "Shared"))
    widgets = [Widget("heading", "heading", folder), Widget("hint", "text", f"{count} items")]
    widgets += [Widget(f"row:{k}", "listitem", n) for k, n in enumerate(names)]
    widgets.append(Widget("btn:open", "button", "Open", action="open"))
    app = App(title=f"Files - {folder}", widgets=widgets, **common)
    # prefer targets below the fold so that scrolling is part of the task
    k = int(rng.integers(len(names) // 2, len(names)))
    instruction = f"Open the file {names[k]!r} in the {folder} folder."
    return app, Goal("list", instruction, {"key": f"row:{k}", "name": names[k]})


def _menu(rng: np.random.Generator, split: str, common: dict[str, Any]) -> tuple[App, Goal]:
    names = _pick(rng, list(_MENUS), int(rng.integers(3, 6)))
    names = [n for n in _MENUS if n in names]
    menus = [Widget(f"menu:{n}", "menu", n, options=_MENUS[n]) for n in names]
    doc = _pick(rng, ("Untitled", "Quarterly plan", "Trip notes", "Thesis draft"))
    widgets = [
        Widget("heading", "heading", doc),
        Widget("t1", "text", "Use the menu bar at the top of the window."),
        Widget("t2", "text", f"Last edited {int(rng.integers(2, 59))} minutes ago."),
    ]
    app = App(title=f"{doc} - Editor", widgets=widgets, menus=menus, **common)
    menu = _pick(rng, names)
    item = _pick(rng, _MENUS[menu])
    command = f"{menu} > {item}"
    return app, Goal("menu", f"Use the menu bar to run {command}.", {"command": command})

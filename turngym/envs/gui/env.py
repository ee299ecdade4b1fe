"""``turngym/GUI-v0`` and ``turngym/GUIInverseDynamics-v0``: synthetic apps seen as screenshots.

GUI-v0 protocol:
    Observation: a user message with the task, a screenshot (``ImagePart`` holding a PIL RGB
    image) and, unless ``observation="screenshot"``, the accessibility tree as text (one line
    per visible element: id, role, name, bounds, state). After each action: a new screenshot
    (and tree), or an error message when the action could not be read.
    Action: the last non-empty line of the reply is one of ``click(x, y)``, ``click(e7)``,
    ``type("text")``, ``scroll(dx, dy)``, ``key(name)``, ``done()`` (see
    :mod:`turngym.envs.gui.actions`).
    Reward: on ``done()``, 1.0 when the goal holds on the app's state (e.g. the form was
    submitted with the asked values), else 0.0; with ``partial_credit=True`` a failed episode
    earns the fraction of sub-goals met, times 0.5. Other steps earn 0. ``info`` carries
    ``success``, ``subgoals`` and ``invalid_actions``.

GUIInverseDynamics-v0 protocol (the UI-dynamics idea of UIShift: learn GUI grounding from
before/after pairs of one action, labelled by the action actually applied, no human labels):
    Observation: "before" and "after" screenshots of one action, plus the accessibility tree
    of the "before" screen. Action: the action that was applied, in GUI-v0's syntax. Reward:
    1.0 when the named action, applied to the "before" app, produces the same app state as
    the true one (so ``click(e7)`` and a ``click(x, y)`` inside e7 are both right), else 0.0.
    One turn.

Screenshots are :class:`~turngym.envs.gui.images.FrozenImage` objects interned per env
(identical pixels give the identical, deep-copy-proof image object), so seeded resets compare
equal under ``ImagePart``'s identity equality. Treat them as read-only.
"""

from __future__ import annotations

from typing import Any, Protocol

from PIL import Image

from turngym.core.messages import ImagePart, Message, TextPart
from turngym.envs.base import SPLITS, StepOutcome, Task, TextEnv
from turngym.envs.gui.actions import ACTION_HELP, ActionParseError, GuiAction, parse_action
from turngym.envs.gui.app import KEY_NAMES, App
from turngym.envs.gui.images import ImageInterner
from turngym.envs.gui.render import Theme, render_app
from turngym.envs.gui.tasks import TASK_KINDS, GeneratedTask, generate_task

OBSERVATION_MODES = ("screenshot", "screenshot+a11y")
BACKENDS = ("pillow", "playwright")
_TASKS_PER_SPLIT = {"train": 100_000, "test": 1_000}

SYSTEM_PROMPT = (
    "You operate a computer app by looking at screenshots. Coordinates are pixels of the "
    "screenshot, origin at the top-left. Each turn, think briefly if you like, then end your "
    "reply with exactly one action on its own last line:\n"
    "  click(x, y)     click a pixel\n"
    "  click(e7)       click the element with that id in the accessibility tree\n"
    '  type("text")    type into the focused text box (click it first)\n'
    "  scroll(dx, dy)  scroll the page (dy > 0 scrolls down)\n"
    f"  key(name)       press a key: {', '.join(KEY_NAMES)}\n"
    "  done()          you are finished (the task is checked then)\n"
)


class GuiActor(Protocol):
    """What carries out an action: the :class:`App` model itself (Pillow backend) or a
    :class:`~turngym.envs.gui.html.BrowserDriver` that sends real input events to Chromium and
    applies what the page received to the model (Playwright backend)."""

    def click(self, x: int, y: int) -> str:
        """Click pixel ``(x, y)``; returns a short note of what happened."""
        ...

    def type_text(self, text: str) -> str:
        """Type ``text`` into the focused text box."""
        ...

    def press(self, key: str) -> str:
        """Press a named key (one of ``KEY_NAMES``)."""
        ...

    def scroll(self, dx: int, dy: int) -> str:
        """Scroll the content by ``dy`` pixels (positive: down)."""
        ...


def apply_action(app: App, action: GuiAction, actor: GuiActor | None = None) -> str:
    """Apply a parsed action to ``app``; returns a short note of what happened.

    Args:
        app: The app model (element ids and screen bounds are checked against it).
        action: The parsed action.
        actor: Who performs the click/type/key/scroll (default: ``app`` itself); the
            Playwright backend passes a driver that goes through the browser.

    Raises:
        ActionParseError: ``click(eN)`` names an unknown or off-screen element, or a click
            lies outside the screen (errors the agent can fix).
    """
    act: GuiActor = app if actor is None else actor
    if action.kind == "click":
        if action.element_id is not None:
            element = app.element_by_id(action.element_id)
            if element is None:
                if app.known_id(action.element_id):
                    raise ActionParseError(
                        f"element {action.element_id} is not visible on the screen now; scroll "
                        "or close what covers it, and use an id from the current tree"
                    )
                raise ActionParseError(
                    f"there is no element {action.element_id}; use an id from the accessibility tree"
                )
            return act.click(*element.center)
        assert action.x is not None and action.y is not None
        if not (0 <= action.x < app.width and 0 <= action.y < app.height):
            raise ActionParseError(
                f"click({action.x}, {action.y}) is outside the {app.width}x{app.height} screen"
            )
        return act.click(action.x, action.y)
    if action.kind == "type":
        return act.type_text(action.text or "")
    if action.kind == "scroll":
        return act.scroll(action.x or 0, action.y or 0)
    if action.kind == "key":
        return act.press(action.text or "")
    return "done"


def _task_for(index: int, split: str, kinds: tuple[str, ...]) -> Task:
    kind = kinds[index % len(kinds)]
    return {"id": f"gui-{split}-{index}-{kind}", "kind": kind, "seed": index, "split": split}


def _validate(
    kinds: tuple[str, ...] | list[str] | None, screen_size: Any
) -> tuple[tuple[str, ...], tuple[int, int]]:
    chosen = tuple(kinds) if kinds else TASK_KINDS
    bad = [k for k in chosen if k not in TASK_KINDS]
    if bad:
        raise ValueError(f"unknown GUI task kinds {bad}; choose from {TASK_KINDS}")
    try:
        w, h = (int(v) for v in screen_size)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"screen_size must be (width, height), got {screen_size!r}") from exc
    if not (320 <= w <= 2048 and 240 <= h <= 2048):
        raise ValueError(f"screen_size must be between 320x240 and 2048x2048, got {w}x{h}")
    return chosen, (w, h)


def _build(task: Task, screen_size: tuple[int, int]) -> GeneratedTask:
    for key in ("kind", "seed"):
        if key not in task:
            raise ValueError(f"a GUI task needs {key!r}; got keys {sorted(task)}")
    split = task.get("split", "train")
    if split not in SPLITS:
        raise ValueError(f"task split must be one of {SPLITS}, got {split!r}")
    return generate_task(task["kind"], int(task["seed"]), split, screen_size=screen_size)


class GUIEnv(TextEnv):
    """Operate a synthetic app (form, settings, file list, menus) from screenshots; reward on done().

    Args:
        observation: ``"screenshot+a11y"`` (default) or ``"screenshot"`` (pixels only).
        kinds: Task kinds to draw (default: all of ``form``, ``settings``, ``list``, ``menu``).
        screen_size: Screenshot size ``(width, height)``.
        partial_credit: On a failed ``done()``, pay 0.5 x the fraction of sub-goals met.
        backend: ``"pillow"`` (default) draws screens with Pillow and applies actions to the
            app model; ``"playwright"`` renders the same screens as HTML in headless Chromium
            and sends clicks, typing, keys and wheel scrolls to that page as real input
            events (optional; see :mod:`turngym.envs.gui.html`). Tasks, ids, coordinates and
            rewards are the same.
        render_mode: ``"ansi"`` (transcript) or ``"rgb_array"`` (the current screenshot).
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi", "rgb_array"], "render_fps": 1}

    def __init__(
        self,
        *,
        observation: str = "screenshot+a11y",
        kinds: tuple[str, ...] | list[str] | None = None,
        screen_size: tuple[int, int] | list[int] = (512, 384),
        partial_credit: bool = False,
        backend: str = "pillow",
        render_mode: str | None = None,
    ):
        super().__init__(render_mode=render_mode, max_action_chars=4_000)
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        self.backend = backend
        self._chromium: Any = None
        if backend == "playwright":
            from turngym.envs.gui.html import ChromiumRenderer

            self._chromium = ChromiumRenderer()  # fails here, with the reason, if unavailable
        if observation not in OBSERVATION_MODES:
            raise ValueError(f"observation must be one of {OBSERVATION_MODES}, got {observation!r}")
        self.observation_mode = observation
        self.kinds, self.screen_size = _validate(kinds, screen_size)
        self.partial_credit = bool(partial_credit)
        self.app: App | None = None
        self.generated: GeneratedTask | None = None
        self._images = ImageInterner()
        self.invalid_actions = 0

    def num_tasks(self, split: str = "train") -> int | None:
        return _TASKS_PER_SPLIT[split]

    def get_task(self, index: int, split: str = "train") -> Task:
        return _task_for(index, split, self.kinds)

    def on_reset(self, task: Task) -> None:
        self.generated = _build(task, self.screen_size)
        self.app = self.generated.app
        self.invalid_actions = 0

    def screenshot(self) -> Image.Image:
        """The current screen (interned: do not modify it)."""
        assert self.app is not None and self.generated is not None
        if self._chromium is not None:
            return self._images.intern(self._chromium.render(self.app, self.generated.theme))
        return self._images.intern(render_app(self.app, self.generated.theme))

    def _screen_parts(self, lead: str) -> tuple[TextPart | ImagePart, ...]:
        assert self.app is not None
        parts: list[TextPart | ImagePart] = [TextPart(lead), ImagePart(self.screenshot())]
        if self.observation_mode == "screenshot+a11y":
            parts.append(TextPart("\nAccessibility tree:\n" + self.app.accessibility_text()))
        return tuple(parts)

    def initial_messages(self, task: Task) -> list[Message]:
        assert self.generated is not None and self.app is not None
        lead = (
            f"Task: {self.generated.goal.instruction}\n"
            f"Screenshot ({self.app.width}x{self.app.height}):\n"
        )
        return [Message("system", SYSTEM_PROMPT), Message("user", self._screen_parts(lead))]

    def on_action(self, action: str) -> StepOutcome:
        assert self.app is not None and self.generated is not None
        try:
            parsed = parse_action(action)
            if parsed.kind == "done":
                return self._finish()
            actor = None
            if self._chromium is not None:  # real input events through the browser page
                actor = self._chromium.driver(self.app, self.generated.theme)
            effect = apply_action(self.app, parsed, actor)
        except ActionParseError as exc:
            self.invalid_actions += 1
            return StepOutcome(
                [Message("user", f"Invalid action: {exc}\nValid actions: {ACTION_HELP}")],
                info={"action_error": str(exc)},
            )
        lead = f"Screenshot after {parsed.render()}:\n"
        return StepOutcome([Message("user", self._screen_parts(lead))], info={"effect": effect})

    def _finish(self) -> StepOutcome:
        assert self.app is not None and self.generated is not None
        subgoals = self.generated.goal.subgoals(self.app)
        success = list(subgoals.values())[-1]
        if success:
            reward = 1.0
        elif self.partial_credit:
            reward = 0.5 * sum(subgoals.values()) / len(subgoals)
        else:
            reward = 0.0
        return StepOutcome(
            reward=reward, done=True, info={"success": success, "subgoals": subgoals}
        )

    def episode_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"invalid_actions": self.invalid_actions}
        if self.generated is not None:
            info["task_kind"] = self.generated.goal.kind
            info["theme"] = self.generated.theme.name
        return info

    def probe_actions(self) -> list[str]:
        return [
            "click(e1)",
            'type("Alice")',
            "scroll(0, 120)",
            "key(tab)",
            "click(9999, 1)",
            "done()",
        ]

    def render(self) -> Any:
        """The transcript (``"ansi"``) or the current screenshot as an array (``"rgb_array"``)."""
        if self.render_mode == "rgb_array":
            import numpy as np

            return None if self.app is None else np.asarray(self.screenshot())
        return super().render()

    def close(self) -> None:
        """End the episode and stop the browser of the playwright backend, if any."""
        if self._chromium is not None:
            self._chromium.close()
        super().close()


def sample_effective_action(app: App, rng: Any, theme: Theme) -> GuiAction | None:
    """A random action that visibly changes ``app`` (None when none is found in 50 tries).

    "Visibly" means the screenshot changes: an action whose effect cannot be seen (running a
    menu command a second time) could not be named from the pictures.
    """
    texts = ("Hello", "Paris", "42", "Ana Lee", "x")
    before = render_app(app, theme).tobytes()
    elements = [e for e in app.elements() if e.role not in ("heading", "text", "dialog", "status")]
    # commit to one action type for the first tries, so that clicks (effective almost
    # always) do not crowd out typing, keys and scrolling
    wanted = str(rng.choice(["click", "type", "scroll", "key"], p=[0.4, 0.2, 0.2, 0.2]))
    for attempt in range(50):
        kind = wanted if attempt < 20 else str(rng.choice(["click", "type", "scroll", "key"]))
        if kind == "click" and elements:
            e = elements[int(rng.integers(len(elements)))]
            if rng.random() < 0.5:
                action = GuiAction("click", element_id=e.id)
            else:
                x1, y1, x2, y2 = e.bounds
                action = GuiAction(
                    "click", x=int(rng.integers(x1, x2)), y=int(rng.integers(y1, y2))
                )
        elif kind == "type":
            action = GuiAction("type", text=texts[int(rng.integers(len(texts)))])
        elif kind == "scroll":
            action = GuiAction("scroll", x=0, y=int(rng.choice([-120, -60, 60, 120])))
        else:
            action = GuiAction("key", text=KEY_NAMES[int(rng.integers(len(KEY_NAMES)))])
        trial = app.clone()
        try:
            apply_action(trial, action)
        except ActionParseError:
            continue
        if render_app(trial, theme).tobytes() != before:
            return action
    return None


class GUIInverseDynamicsEnv(TextEnv):
    """Name the one GUI action that turned a "before" screenshot into an "after" one.

    Args:
        kinds: Task kinds whose apps are used (default: all).
        screen_size: Screenshot size ``(width, height)``.
        warmup_actions: Up to this many random effective actions are applied before the
            pair is taken, so "before" screens are not always the pristine app.
        a11y: Include the "before" accessibility tree (ids for ``click(eN)`` answers).
    """

    def __init__(
        self,
        *,
        kinds: tuple[str, ...] | list[str] | None = None,
        screen_size: tuple[int, int] | list[int] = (512, 384),
        warmup_actions: int = 2,
        a11y: bool = True,
        render_mode: str | None = None,
    ):
        super().__init__(render_mode=render_mode, max_action_chars=4_000)
        self.kinds, self.screen_size = _validate(kinds, screen_size)
        if warmup_actions < 0:
            raise ValueError(f"warmup_actions must be >= 0, got {warmup_actions}")
        self.warmup_actions = int(warmup_actions)
        self.a11y = bool(a11y)
        self._images = ImageInterner()
        self.before: App | None = None
        self.after: App | None = None
        self.true_action: GuiAction | None = None
        self.theme: Theme | None = None

    def num_tasks(self, split: str = "train") -> int | None:
        return _TASKS_PER_SPLIT[split]

    def get_task(self, index: int, split: str = "train") -> Task:
        task = _task_for(index, split, self.kinds)
        task["id"] = task["id"].replace("gui-", "gui-idm-")
        return task

    def on_reset(self, task: Task) -> None:
        from turngym.envs.base import seeded_rng

        generated = _build(task, self.screen_size)
        self.theme = generated.theme
        app = generated.app
        rng = seeded_rng("gui-idm", task.get("split", "train"), int(task["seed"]), task["kind"])
        for _ in range(int(rng.integers(0, self.warmup_actions + 1))):
            warm = sample_effective_action(app, rng, self.theme)
            if warm is not None:
                apply_action(app, warm)
        boxes = [e for e in app.elements() if e.role == "textbox"]
        if boxes and app.dialog is None and rng.random() < 0.5:
            # a focused text box makes typing (and backspace) possible as the named action
            apply_action(
                app, GuiAction("click", element_id=boxes[int(rng.integers(len(boxes)))].id)
            )
        action = sample_effective_action(app, rng, self.theme)
        if action is None:  # every app has clickable widgets; this is a generator bug
            raise RuntimeError(f"no effective action found for task {task}")
        self.before = app
        self.after = app.clone()
        apply_action(self.after, action)
        self.true_action = action

    def initial_messages(self, task: Task) -> list[Message]:
        assert self.before is not None and self.after is not None
        before = self._images.intern(render_app(self.before, self.theme))
        after = self._images.intern(render_app(self.after, self.theme))
        prompt = (
            "One action was applied to this app between the two screenshots. Which one? "
            "Reply with the action on the last line, in this syntax: " + ACTION_HELP
        )
        parts: list[TextPart | ImagePart] = [
            TextPart("Before:\n"),
            ImagePart(before),
            TextPart("\nAfter:\n"),
            ImagePart(after),
        ]
        if self.a11y:
            parts.append(
                TextPart("\nAccessibility tree before:\n" + self.before.accessibility_text())
            )
        parts.append(TextPart("\n" + prompt))
        return [Message("user", tuple(parts))]

    def on_action(self, action: str) -> StepOutcome:
        assert self.before is not None and self.after is not None and self.true_action
        info: dict[str, Any] = {"true_action": self.true_action.render()}
        try:
            parsed = parse_action(action)
            trial = self.before.clone()
            apply_action(trial, parsed)
        except ActionParseError as exc:
            return StepOutcome(
                reward=0.0, done=True, info={**info, "success": False, "action_error": str(exc)}
            )
        # judged on pixels: any action that makes the same "after" screen is right
        same = parsed.kind != "done" and (
            render_app(trial, self.theme).tobytes() == render_app(self.after, self.theme).tobytes()
        )
        info.update(
            success=same,
            predicted_action=parsed.render(),
            action_type_match=parsed.kind == self.true_action.kind,
        )
        return StepOutcome(reward=1.0 if same else 0.0, done=True, info=info)

    def probe_actions(self) -> list[str]:
        return ["click(e1)", "done()", "scroll(0, 60)", "nonsense"]

"""Optional Playwright backend: the apps as HTML pages in headless Chromium, driven by real input.

``GUIEnv(backend="playwright")`` keeps one Chromium page per env. Every screen is an HTML page
(real ``<input>``, ``<button>`` and ARIA-roled elements placed at the app's layout
coordinates, styled with the theme's colours, ``data-turngym-id`` naming each element's
accessibility id) and the screenshot is Chromium's. Actions go through that page as real
input events (:class:`BrowserDriver`):

- ``click``: ``page.mouse.click`` at the pixel; Chromium's hit-testing decides which element
  receives it, a capturing ``click`` listener reports that element's id, and the app model
  activates that element (:meth:`App.activate`). A click that reaches no element reports
  nothing, exactly like the Pillow backend's click on empty space. ``click(e7)`` clicks e7's
  centre the same way, so whatever covers it there gets the click.
- ``type``: ``page.keyboard.type`` into the ``<input>`` of the model's focused text box
  (focused in the DOM on every render); the input's value afterwards is read back into the
  model. Backspace and Space (``key``) are the browser's own text editing, read back the same.
- other keys: ``page.keyboard.press``; a ``keydown`` listener reports the key the page got.
- ``scroll``: ``page.mouse.wheel``; a non-passive ``wheel`` listener reports the delta and
  cancels the page's own scrolling.

After every action the page is rebuilt from the model and screenshotted.

What it does NOT cover: app behaviour in the page. What an element *does* when clicked
(toggle, open a drop-down, submit, confirm), what Enter/Tab/Escape/arrows mean, and how far
the content scrolls are decided by the Python :class:`App` model, one source of truth shared
with the Pillow backend (so for the same actions the app state and the reward are identical;
the tests check this step by step). The page is rebuilt after each action, so DOM state the
model lacks (caret position, a text selection, native focus moves) does not carry over;
text selection, drag and drop, hover and double clicks are not modelled. The hit-test
agreement is by construction of the page (square clickable boxes, a click-swallowing layer
under open menus, slivers ignoring the pointer) and is checked point by point in the tests,
not proven. ``type()`` text with control characters (line breaks, tabs) is refused, as a
one-line ``<input>`` cannot hold it. The accessibility tree in observations is the model's,
not Chromium's. GUIInverseDynamics-v0 stays on Pillow.

Threads: Playwright's sync API objects only work on the thread that created them, so every
Playwright call of the process runs on one dedicated daemon thread (``turngym-playwright``);
the renderer's and driver's methods hand their work to it and wait, re-raising its errors.
Envs can therefore be created, stepped and closed from any thread (a rollout engine's
thread pools, the main thread, code inside a running asyncio loop), and all envs of the
process share one browser, a page each. Their actions are serialized on that thread: several
envs stepped from several threads take turns in the one browser rather than running in
parallel. A browser that crashed or was closed is relaunched by the next action (its pages
are rebuilt from the models); Playwright and the browser are stopped by the last env's
``close()`` or, for envs left open, at interpreter exit.

Setup (offline once installed)::

    pip install playwright
    apt-get install -y chromium          # Debian's build; or: playwright install chromium

The browser is found through ``$TURNGYM_CHROMIUM``, then ``chromium`` /
``chromium-browser`` / ``google-chrome`` on ``PATH``, then Playwright's own download.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import html
import io
import os
import queue
import shutil
import threading
import unicodedata
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, ParamSpec, TypeVar

from PIL import Image

from turngym.envs.gui.actions import ActionParseError
from turngym.envs.gui.app import KEY_NAMES, MAX_FIELD_CHARS, App
from turngym.envs.gui.render import Theme

_BROWSERS = ("chromium", "chromium-browser", "google-chrome")

P = ParamSpec("P")
T = TypeVar("T")


def find_chromium() -> str | None:
    """Path of a Chromium executable ($TURNGYM_CHROMIUM, then PATH), or None."""
    env = os.environ.get("TURNGYM_CHROMIUM")
    if env:
        return env
    for name in _BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def unavailable_reason() -> str | None:
    """Why the Playwright backend cannot run here (None when it can, as far as we can tell)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the 'playwright' package is not installed (pip install playwright)"
    chosen = os.environ.get("TURNGYM_CHROMIUM")
    if chosen and not os.path.exists(chosen):
        return f"$TURNGYM_CHROMIUM points at {chosen!r}, which does not exist"
    if find_chromium() is None:
        try:
            path = _PLAYWRIGHT_THREAD.call(_playwright_chromium)
        except Exception as exc:  # noqa: BLE001 - any failure means "not available"
            return f"playwright cannot locate Chromium ({exc})"
        if not path or not os.path.exists(path):
            return (
                "no Chromium found: apt-get install -y chromium, set $TURNGYM_CHROMIUM, "
                "or run `playwright install chromium`"
            )
    return None


_PLAYWRIGHT_CHROMIUM: list[str] = []  # Playwright's own Chromium path, once looked up


def _playwright_chromium() -> str:
    """Where Playwright's own Chromium download lives (run on the Playwright thread)."""
    if not _PLAYWRIGHT_CHROMIUM:
        if _SHARED["playwright"] is not None:
            # a second sync_playwright() on the thread that runs one would fail
            path = _SHARED["playwright"].chromium.executable_path
        else:
            from playwright.sync_api import sync_playwright

            with sync_playwright() as p:
                path = p.chromium.executable_path
        _PLAYWRIGHT_CHROMIUM.append(path)
    return _PLAYWRIGHT_CHROMIUM[0]


def _rgb(colour: tuple[int, int, int]) -> str:
    return "rgb({},{},{})".format(*colour)


def _box_style(box: tuple[int, int, int, int], top: int = 0) -> str:
    x1, y1, x2, y2 = box
    return f"left:{x1}px;top:{y1 - top}px;width:{x2 - x1}px;height:{y2 - y1}px;"


# Collects what the page received during one action; Python drains it after the action (a
# poll, not expose_function callbacks, so nothing re-enters Python while Playwright waits).
# It also gives the model's focused text box the DOM focus, caret at the end, on every render.
_PAGE_SCRIPT = """
(() => {
  const log = (window.__turngymEvents = []);
  const idOf = (t) => {
    const el = t instanceof Element ? t.closest("[data-turngym-id]") : null;
    return el ? el.getAttribute("data-turngym-id") : null;
  };
  document.addEventListener("click", (e) => {
    log.push({type: "click", id: idOf(e.target), x: e.clientX, y: e.clientY});
  }, true);
  document.addEventListener("keydown", (e) => {
    log.push({type: "key", key: e.key});
    if (e.key === "Tab") e.preventDefault();  // the app model moves the focus, not the page
  }, true);
  window.addEventListener("wheel", (e) => {
    e.preventDefault();  // the app scrolls its content; the page must stay put
    log.push({type: "wheel", dx: e.deltaX, dy: e.deltaY, mode: e.deltaMode});
  }, {passive: false, capture: true});
  const field = document.querySelector("[data-turngym-focused]");
  if (field) {
    field.focus({preventScroll: true});
    field.setSelectionRange(field.value.length, field.value.length);
  }
})();
"""

_FILL = "left:0;top:0;width:100%;height:100%;"
_NO_POINTER = "pointer-events:none;"


def app_to_html(app: App, theme: Theme) -> str:
    """The app's current screen as a self-contained HTML page of ``app.width`` x ``app.height``.

    The page is built so that Chromium's hit-testing agrees with :meth:`App.hit_test`: every
    clickable element is a square box carrying ``data-turngym-id`` at its accessibility
    bounds (rounded visuals sit inside it, so corners still count), slivers the model does not
    list ignore the pointer, an open menu or drop-down puts a transparent layer under itself
    that swallows clicks elsewhere, and a dialog puts a backdrop over the rest.
    """
    t = theme
    esc = html.escape
    fs = app.font_size
    ids = app.ids
    top = app.content_top
    # what the model lists is what may receive clicks (it drops slivers under 4 px)
    listed = {e.key for e in app.elements()}
    parts: list[str] = []
    # content: every widget at its screen coordinates inside a clipping viewport; off-screen
    # ones too, so that a focused text box scrolled out of view still takes typing
    content: list[str] = []
    for w in app.widgets:
        box = app.content_box(w.key)
        tag_id = f'data-turngym-id="{ids[w.key]}"'
        pointer = "" if w.key in listed else _NO_POINTER
        style = _box_style(box, top) + pointer
        if w.kind == "heading":
            content.append(
                f'<h1 {tag_id} style="{style}font-size:{fs + 4}px;margin:0;font-weight:bold;'
                f'border-bottom:1px solid {_rgb(t.muted)}">{esc(w.name)}</h1>'
            )
        elif w.kind == "text":
            content.append(
                f'<div role="text" {tag_id} style="{style}color:{_rgb(t.muted)};'
                f'line-height:{box[3] - box[1]}px">{esc(w.name)}</div>'
            )
        elif w.kind in ("textbox", "combobox"):
            cbox = app.control_box(w.key)
            label_box = (
                box
                if app.layout.label_position == "left" or w.kind == "combobox"
                else (box[0], box[1], box[2], cbox[1])
            )
            content.append(
                f'<label style="{_box_style(label_box, top)}'
                f'line-height:{label_box[3] - label_box[1]}px">{esc(w.name)}</label>'
            )
            focused = app.focus == w.key
            border = f"{2 if focused else 1}px solid {_rgb(t.accent if focused else t.muted)}"
            value = esc(str(app.values[w.key]))
            frame = (
                f"{_FILL}border:{border};border-radius:{t.radius}px;background:{_rgb(t.surface)};"
            )
            cstyle = _box_style(cbox, top) + pointer
            if w.kind == "textbox":
                dom_focus = " data-turngym-focused" if focused and app.dialog is None else ""
                content.append(
                    f'<div {tag_id} style="{cstyle}"><input aria-label="{esc(w.name)}" '
                    f'value="{value}" autocomplete="off" spellcheck="false"{dom_focus} '
                    f'style="{frame}color:{_rgb(t.text)};padding:0 8px;font:inherit;'
                    f'outline:none"></div>'
                )
            else:
                expanded = str(app.expanded == w.key).lower()
                content.append(
                    f'<div role="combobox" {tag_id} aria-expanded="{expanded}" style="{cstyle}">'
                    f'<div style="{frame}padding:0 8px;line-height:{cbox[3] - cbox[1] - 2}px">'
                    f'{value}<span style="float:right;margin-right:8px">&#9662;</span></div></div>'
                )
        elif w.kind in ("checkbox", "switch"):
            on = bool(app.values[w.key])
            role = "checkbox" if w.kind == "checkbox" else "switch"
            mark = (
                f'<span style="display:inline-block;width:14px;height:14px;margin-right:10px;'
                f"vertical-align:middle;border:1px solid {_rgb(t.accent if on else t.muted)};"
                f"background:{_rgb(t.accent if on else t.surface)};color:{_rgb(t.accent_text)};"
                f'font-size:11px;text-align:center;line-height:14px">{"&#10003;" if on else ""}</span>'
            )
            pill = (
                f'<span style="position:absolute;right:4px;top:50%;transform:translateY(-50%);'
                f'width:34px;height:18px;border-radius:9px;background:{_rgb(t.accent if on else t.muted)}">'
                f'<span style="position:absolute;top:2px;{"right" if on else "left"}:2px;width:14px;'
                f'height:14px;border-radius:7px;background:{_rgb(t.surface)}"></span></span>'
            )
            body = f"{mark}{esc(w.name)}" if role == "checkbox" else f"{esc(w.name)}{pill}"
            content.append(
                f'<div role="{role}" {tag_id} aria-checked="{str(on).lower()}" '
                f'style="{style}line-height:{box[3] - box[1]}px">{body}</div>'
            )
        elif w.kind == "listitem":
            selected = app.selected == w.key
            content.append(
                f'<div role="listitem" {tag_id} aria-selected="{str(selected).lower()}" style="{style}'
                f"background:{_rgb(t.selection if selected else t.surface)};padding-left:28px;"
                f'line-height:{box[3] - box[1]}px">{esc(w.name)}</div>'
            )
        elif w.kind == "button":
            primary = w.action in ("submit", "save", "open")
            content.append(_button_html(tag_id, style, w.name, t, primary))
    viewport = (0, app.content_top, app.width, app.content_bottom)
    parts.append(f'<div style="{_box_style(viewport)}">{"".join(content)}</div>')
    parts.append(
        f'<div style="{_box_style((0, 0, app.width, app.TITLE_H))}background:{_rgb(t.titlebar)};'
        f"color:{_rgb(t.titlebar_text)};padding-left:12px;line-height:{app.TITLE_H}px;"
        f'font-size:{fs + 1}px">{esc(app.title)}</div>'
    )
    if app.menus:
        bar = (0, app.TITLE_H, app.width, app.content_top)
        parts.append(
            f'<div role="menubar" style="{_box_style(bar)}background:{_rgb(t.surface)};'
            f'border-bottom:1px solid {_rgb(t.muted)}"></div>'
        )
    # the status bar is not clickable in the model: clicks fall through it to the page
    status = (0, app.content_bottom, app.width, app.height)
    parts.append(
        f'<div role="status" data-turngym-id="{ids["status"]}" style="{_box_style(status)}'
        f"{_NO_POINTER}background:{_rgb(t.titlebar)};color:{_rgb(t.titlebar_text)};"
        f'padding-left:10px;font-size:{fs - 1}px;line-height:{app.STATUS_H}px">{esc(app.status)}</div>'
    )
    if app.expanded is not None:
        # an open menu is modal for the mouse: a click anywhere but on it or on a menu title
        # lands on this layer, reports nothing, and the model closes the menu
        parts.append(f'<div style="{_box_style((0, 0, app.width, app.height))}"></div>')
    for key, box in app.overlay_boxes().items():
        parent, _, name = key.partition("/")
        role = "menuitem" if app.widget(parent).kind == "menu" else "option"
        chosen = role == "option" and app.values[parent] == name
        parts.append(
            f'<div role="{role}" data-turngym-id="{ids[key]}" style="{_box_style(box)}'
            f"background:{_rgb(t.selection if chosen else t.surface)};border:1px solid {_rgb(t.muted)};"
            f'padding-left:10px;line-height:{box[3] - box[1] - 2}px">{esc(name)}</div>'
        )
    # menu titles after the overlay: where they overlap, the model's hit test prefers them
    for key, box in app.menu_boxes().items():
        bg = _rgb(t.selection if app.expanded == key else t.surface)
        expanded = str(app.expanded == key).lower()
        parts.append(
            f'<div role="menu" data-turngym-id="{ids[key]}" aria-expanded="{expanded}" '
            f'style="{_box_style(box)}background:{bg};padding-left:8px;'
            f'line-height:{box[3] - box[1]}px">{esc(app.widget(key).name)}</div>'
        )
    if app.dialog is not None:
        boxes = app.dialog_boxes()
        parts.append(
            f'<div style="{_box_style((0, 0, app.width, app.height))}background:rgba(0,0,0,0.35)"></div>'
        )
        parts.append(
            f'<div role="dialog" aria-modal="true" data-turngym-id="{ids["dialog"]}" '
            f'style="{_box_style(boxes["dialog"])}{_NO_POINTER}background:{_rgb(t.surface)};'
            f'border:1px solid {_rgb(t.muted)};border-radius:{t.radius}px;padding:12px 14px">'
            f'<b style="font-size:{fs + 2}px">{esc(app.dialog.title)}</b>'
            f"<p>{esc(app.dialog.text)}</p></div>"
        )
        for key, primary in (("dialog/OK", True), ("dialog/Cancel", False)):
            parts.append(
                _button_html(
                    f'data-turngym-id="{ids[key]}"',
                    _box_style(boxes[key]),
                    key.split("/")[1],
                    t,
                    primary,
                )
            )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><style>"
        f"html,body{{margin:0;width:{app.width}px;height:{app.height}px;overflow:hidden;"
        f"background:{_rgb(t.background)};color:{_rgb(t.text)};font:{fs}px sans-serif}}"
        # overflow:clip everywhere: text spilling out of a box must not catch clicks, and no
        # box is a scroll container that focusing or typing could scroll under the mouse
        "*{position:absolute;box-sizing:border-box;white-space:nowrap;overflow:clip}"
        "b,p,span,div>span{position:static}p{margin:8px 0 0 0}"
        "</style></head><body>" + "".join(parts) + f"<script>{_PAGE_SCRIPT}</script></body></html>"
    )


def _button_html(tag_id: str, style: str, label: str, t: Theme, primary: bool) -> str:
    # the id sits on a square box: Chromium does not hit the cut-off corners of a rounded
    # element, the model does
    fill = _rgb(t.accent if primary else t.surface)
    ink = _rgb(t.accent_text if primary else t.text)
    return (
        f'<div {tag_id} style="{style}"><button style="{_FILL}background:{fill};color:{ink};'
        f"border:1px solid {_rgb(t.muted) if not primary else fill};"
        f'border-radius:{t.radius}px;font:inherit">{html.escape(label)}</button></div>'
    )


# our key names -> Playwright's, and the DOM's KeyboardEvent.key back to ours
_PLAYWRIGHT_KEYS: dict[str, str] = {
    "enter": "Enter",
    "tab": "Tab",
    "backspace": "Backspace",
    "escape": "Escape",
    "up": "ArrowUp",
    "down": "ArrowDown",
    "space": "Space",
}
_DOM_KEYS: dict[str, str] = {
    "Enter": "enter",
    "Tab": "tab",
    "Backspace": "backspace",
    "Escape": "escape",
    "ArrowUp": "up",
    "ArrowDown": "down",
    " ": "space",
}
# keys whose effect is text editing: the browser's own editing of the <input> is read back
_EDITING_KEYS = ("backspace", "space")

_FOCUSED_FIELD_JS = """() => {
  const a = document.activeElement;
  if (!a || a.tagName !== "INPUT") return null;
  const box = a.closest("[data-turngym-id]");
  return {id: box ? box.getAttribute("data-turngym-id") : null, value: a.value};
}"""


# Playwright's sync API objects only work on the thread that created them, while envs are
# created, stepped and closed from whatever thread the caller uses (rollout engines step them
# from short-lived thread pools). So every Playwright call of this process runs on one
# long-lived thread, and the public methods below hand their work to it and wait. It is a
# plain daemon thread rather than a ThreadPoolExecutor: the executor's workers are stopped
# before ``atexit`` handlers run, and the atexit shutdown still needs this thread to close the
# browser and stop Playwright on.
class _PlaywrightThread:
    """One daemon thread that runs every Playwright call of the process, in submission order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None

    def on_thread(self) -> bool:
        """Whether the caller is the Playwright thread itself."""
        return self._thread is not None and threading.current_thread() is self._thread

    def alive(self) -> bool:
        """Whether the thread has been started and still runs."""
        return self._thread is not None and self._thread.is_alive()

    def call(self, fn: Callable[..., T], *args: Any, timeout: float | None = None) -> T:
        """``fn(*args)`` run on the Playwright thread; its result, or its exception re-raised.

        From the Playwright thread itself it is a direct call: queueing it there would wait
        for a job that can only run after the current one returns (a deadlock).
        """
        if self.on_thread():
            return fn(*args)
        future: Future[T] = Future()
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._serve, name="turngym-playwright", daemon=True
                )
                self._thread.start()
            self._jobs.put((lambda: fn(*args), future))
        return future.result(timeout)

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fn, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn()
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
                future.set_exception(exc)
            else:
                future.set_result(result)

    def stop(self) -> None:
        """Let the thread finish its queued jobs and end (a later :meth:`call` starts anew)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                self._jobs.put(None)
            self._thread = None


_PLAYWRIGHT_THREAD = _PlaywrightThread()


def _on_playwright_thread(fn: Callable[P, T]) -> Callable[P, T]:
    """Decorator: the method runs on the Playwright thread, whichever thread calls it."""

    @functools.wraps(fn)
    def call(*args: P.args, **kwargs: P.kwargs) -> T:
        return _PLAYWRIGHT_THREAD.call(functools.partial(fn, *args, **kwargs))

    return call


# State of the process's Playwright instance; touched only on the Playwright thread. One
# browser per executable, shared by the envs using it (each keeps its own page), counted and
# closed by the last user; Playwright stops when no browser is left.
_SHARED: dict[str, Any] = {"playwright": None, "browsers": {}, "users": {}}


def _launch(executable: str | None) -> Any:
    # --no-sandbox: containers running as root cannot use Chromium's own sandbox; the pages
    # are generated here, never fetched
    return _SHARED["playwright"].chromium.launch(
        executable_path=executable, headless=True, args=["--no-sandbox"]
    )


def _stop_playwright_if_unused() -> None:
    if _SHARED["playwright"] is not None and not _SHARED["users"]:
        playwright, _SHARED["playwright"] = _SHARED["playwright"], None
        playwright.stop()


def _acquire_browser(executable: str | None) -> None:
    """Count one more user of ``executable``'s browser, starting Playwright and it if needed."""
    if _SHARED["playwright"] is None:
        from playwright.sync_api import sync_playwright

        _SHARED["playwright"] = sync_playwright().start()
    if executable not in _SHARED["users"]:
        try:
            _SHARED["browsers"][executable] = _launch(executable)
        except BaseException:
            # do not leave a Playwright instance running that nothing will stop
            _stop_playwright_if_unused()
            raise
        _SHARED["users"][executable] = 0
    _SHARED["users"][executable] += 1


def _browser(executable: str | None) -> Any:
    """The connected browser for ``executable`` (a user must hold it), relaunched if it died."""
    browser = _SHARED["browsers"][executable]
    if not browser.is_connected():
        # a crashed or closed browser would fail every later call of every env using it
        _SHARED["browsers"][executable] = browser = _launch(executable)
    return browser


def _release_browser(executable: str | None) -> None:
    """One user fewer; the last closes the browser, and Playwright when no browser is left."""
    if executable not in _SHARED["users"]:
        raise RuntimeError(f"no playwright GUI env holds the browser {executable!r}")
    _SHARED["users"][executable] -= 1
    if _SHARED["users"][executable] > 0:
        return
    del _SHARED["users"][executable]
    browser = _SHARED["browsers"].pop(executable)
    try:
        if browser.is_connected():
            browser.close()
    finally:
        _stop_playwright_if_unused()


def _shutdown_playwright() -> None:
    """Close every browser and stop Playwright (at interpreter exit; envs left open die)."""
    if _PLAYWRIGHT_THREAD.alive():

        def close_all() -> None:
            try:
                for browser in _SHARED["browsers"].values():
                    if browser.is_connected():
                        browser.close()
            finally:
                _SHARED["browsers"].clear()
                _SHARED["users"].clear()
                _stop_playwright_if_unused()

        # exiting anyway: on failure the driver and browser die with the process
        with contextlib.suppress(Exception):
            _PLAYWRIGHT_THREAD.call(close_all, timeout=30)
        _PLAYWRIGHT_THREAD.stop()


atexit.register(_shutdown_playwright)


class ChromiumRenderer:
    """One headless Chromium page per env: renders apps and feeds actions through it.

    :meth:`render` loads the app's screen as HTML (:func:`app_to_html`) and screenshots it.
    :meth:`driver` returns the object that applies an agent's actions *through the page*: real
    mouse, keyboard and wheel events, whose outcome (which element got the click, what the
    ``<input>`` holds after typing) is read back from the DOM and applied to the :class:`App`
    model, which stays the single source of truth for behaviour and judging.

    Every method may be called from any thread: the Playwright work runs on the process's one
    Playwright thread, and the envs share one browser per executable, a page each.

    Args:
        executable: Chromium binary (default: :func:`find_chromium`, else Playwright's own).
    """

    def __init__(self, executable: str | None = None):
        reason = unavailable_reason()
        if reason is not None:
            raise RuntimeError(f"the playwright GUI backend is unavailable: {reason}")
        self.executable = executable or find_chromium()
        self._acquired = False
        self._page: Any = None
        # the app and state the page shows now (None: it may have been changed by events)
        self._shown: tuple[App, str, Theme] | None = None

    @property
    def page(self) -> Any:
        """The Playwright ``Page`` (None before the first render).

        Usable only on the Playwright thread: pass work on it to :meth:`call_with_page`.
        """
        return self._page

    @_on_playwright_thread
    def call_with_page(self, fn: Callable[[Any], T]) -> T:
        """``fn(page)`` run on the Playwright thread (for tests and debugging)."""
        return fn(self._page)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression evaluated in the page (for tests, debugging)."""
        return self.call_with_page(lambda page: page.evaluate(expression))

    def _page_usable(self) -> bool:
        if self._page is None or self._page.is_closed():
            return False
        return self._page.context.browser.is_connected()

    def _load(self, app: App, theme: Theme) -> None:
        if not self._acquired:
            _acquire_browser(self.executable)
            self._acquired = True
        size = {"width": app.width, "height": app.height}
        if not self._page_usable() or self._page.viewport_size != size:
            if self._page is not None:
                self._close_page()
            self._page = _browser(self.executable).new_page(viewport=size)
        self._page.set_content(app_to_html(app, theme))
        self._shown = (app, app.fingerprint(), theme)

    def _close_page(self) -> None:
        page, self._page, self._shown = self._page, None, None
        if not page.is_closed() and page.context.browser.is_connected():
            page.close()

    @_on_playwright_thread
    def show(self, app: App, theme: Theme) -> None:
        """Make the page show ``app``'s current screen (reloads it only when it is stale)."""
        shown = self._shown
        stale = shown is None or (shown[0], shown[1], shown[2]) != (app, app.fingerprint(), theme)
        if stale or not self._page_usable():
            self._load(app, theme)

    @_on_playwright_thread
    def render(self, app: App, theme: Theme) -> Image.Image:
        """The screenshot of ``app`` rendered by Chromium (RGB, ``app.width`` x ``app.height``).

        The page is always reloaded from the model first, so what an action did to the DOM
        (native focus moves, caret, typed text) never outlives the action.
        """
        self._load(app, theme)
        png = self._page.screenshot(type="png")  # Playwright hides the text caret by default
        return Image.open(io.BytesIO(png)).convert("RGB")

    def driver(self, app: App, theme: Theme) -> BrowserDriver:
        """The actions of :func:`~turngym.envs.gui.env.apply_action`, applied through this page."""
        return BrowserDriver(self, app, theme)

    @_on_playwright_thread
    def hit_ids(self, app: App, theme: Theme, points: list[tuple[int, int]]) -> list[str | None]:
        """Which element a real mouse click at each pixel reaches in the page (None: no element).

        The clicks only reach the page's listeners; the model is not changed. For checking
        that the page's hit-testing agrees with :meth:`App.hit_test`.
        """
        self.show(app, theme)
        for x, y in points:
            self._page.mouse.click(x, y)
        # one click event per click, in order (read once: a round trip per point is slow)
        clicks = [e for e in self._events() if e["type"] == "click"]
        if [(e["x"], e["y"]) for e in clicks] != [(x, y) for x, y in points]:
            raise RuntimeError("the page did not receive exactly one click per point")
        return [e["id"] for e in clicks]

    def _events(self) -> list[dict[str, Any]]:
        # an action may leave the DOM changed in ways the model does not know (a native focus
        # move, text typed with no model focus): the page counts as stale until reloaded
        self._shown = None
        return list(self._page.evaluate("() => window.__turngymEvents.splice(0)"))

    @_on_playwright_thread
    def close(self) -> None:
        """Close the page, and the browser when no other env uses it (idempotent)."""
        if not self._acquired:
            return
        self._acquired = False
        try:
            if self._page is not None:
                self._close_page()
        finally:
            # even when closing the page failed: the browser must not outlive its last env
            self._page = None
            self._shown = None
            _release_browser(self.executable)


class BrowserDriver:
    """Applies GUI actions to an :class:`App` by sending real input events to Chromium.

    Same methods, arguments and return notes as the model's own (:meth:`App.click`,
    :meth:`App.type_text`, :meth:`App.press`, :meth:`App.scroll`), so
    :func:`~turngym.envs.gui.env.apply_action` drives either one:

    - ``click(x, y)``: ``page.mouse.click`` at the pixel; Chromium's hit-testing
      picks the element, a capturing ``click`` listener reports its ``data-turngym-id`` and
      :meth:`App.activate` applies it (a click on no element closes an open menu, as before).
    - ``type_text``: ``page.keyboard.type`` into the focused ``<input>`` (the model's focused
      text box, focused in the DOM on every render); the input's value afterwards is written
      back with :meth:`App.set_field_value`.
    - ``press``: ``page.keyboard.press``; a ``keydown`` listener reports which key the page
      received. Backspace and Space are text editing: the ``<input>``'s value is read back;
      the other keys go to :meth:`App.press` (the model owns focus order, dialogs, lists).
    - ``scroll``: ``page.mouse.wheel``; a non-passive ``wheel`` listener reports the delta
      (and cancels the page's own scrolling) and :meth:`App.scroll` applies it.

    Args:
        renderer: The renderer owning the page.
        app: The app the actions change.
        theme: Theme the page is rendered with.
    """

    def __init__(self, renderer: ChromiumRenderer, app: App, theme: Theme):
        self.renderer = renderer
        self.app = app
        self.theme = theme

    def _page(self) -> Any:
        self.renderer.show(self.app, self.theme)
        return self.renderer.page

    @_on_playwright_thread
    def click(self, x: int, y: int) -> str:
        """Click pixel ``(x, y)`` with the browser's mouse; returns the model's note."""
        page = self._page()
        # integer coordinates: Chromium hit-tests the point (x, y) against [left, right) like
        # the model does; a half-pixel offset would be rounded up into the next pixel
        page.mouse.click(x, y)
        clicks = [e for e in self.renderer._events() if e["type"] == "click"]
        return self.app.activate(clicks[-1]["id"] if clicks else None)

    @_on_playwright_thread
    def type_text(self, text: str) -> str:
        """Type ``text`` with the browser's keyboard into the focused ``<input>``.

        Raises:
            ActionParseError: ``text`` holds a control character (a line break, a tab) or a
                lone surrogate, which a one-line ``<input>`` cannot hold: a real keyboard
                would press Enter or Tab.
        """
        bad = sorted({c for c in text if unicodedata.category(c) in ("Cc", "Cs")})
        if bad:
            raise ActionParseError(
                f"type() text holds control characters or lone surrogates {bad} that a "
                "one-line text box cannot hold; type plain text and use key(enter) or "
                "key(tab) for those keys"
            )
        page = self._page()
        field = self._focused_field()
        if field is None:
            # keys still go to the page (where nothing takes them), capped like a full box
            page.keyboard.type(text[:MAX_FIELD_CHARS])
            self.renderer._events()
            return "nothing"
        key, before = field
        # typing past the limit is cut off by the model anyway: do not type what cannot land
        page.keyboard.type(text[: max(0, MAX_FIELD_CHARS - len(before))])
        self.renderer._events()
        after = self._read_focused(key)
        self.app.set_field_value(key, after)
        return "typed"

    @_on_playwright_thread
    def press(self, key: str) -> str:
        """Press a named key (one of :data:`KEY_NAMES`) with the browser's keyboard."""
        if key not in KEY_NAMES:
            raise ValueError(f"unknown key {key!r}; use one of {', '.join(KEY_NAMES)}")
        page = self._page()
        field = self._focused_field()
        page.keyboard.press(_PLAYWRIGHT_KEYS[key])
        received = [e["key"] for e in self.renderer._events() if e["type"] == "key"]
        if not received:
            return "nothing"
        name = _DOM_KEYS.get(received[0])
        if name is None:
            raise RuntimeError(f"the page received key {received[0]!r} for key({key})")
        if name not in _EDITING_KEYS:
            return self.app.press(name)
        if field is None:  # no text box has the focus: nothing to edit
            return "nothing"
        field_key, before = field
        after = self._read_focused(field_key)
        self.app.set_field_value(field_key, after)
        # the model's notes: Backspace on an empty box did nothing, Space always types
        return "nothing" if name == "backspace" and not before else "typed"

    @_on_playwright_thread
    def scroll(self, dx: int, dy: int) -> str:
        """Turn the browser's mouse wheel by ``(dx, dy)`` pixels; the model scrolls."""
        page = self._page()
        page.mouse.wheel(dx, dy)
        wheels = [e for e in self.renderer._events() if e["type"] == "wheel"]
        if not wheels:
            return "nothing"
        if any(e["mode"] != 0 for e in wheels):  # 0: DOM_DELTA_PIXEL
            raise RuntimeError(f"the page received wheel deltas not in pixels: {wheels}")
        return self.app.scroll(
            round(sum(e["dx"] for e in wheels)), round(sum(e["dy"] for e in wheels))
        )

    def _focused_field(self) -> tuple[str, str] | None:
        """(key, value) of the ``<input>`` focused in the page; checked against the model."""
        found = self.renderer.page.evaluate(_FOCUSED_FIELD_JS)
        key = None if found is None else self._key_of(found["id"])
        expected = self.app.focus if self.app.dialog is None else None
        if key != expected:
            raise RuntimeError(
                f"the page's focused text box ({key}) is not the app model's ({expected})"
            )
        return None if found is None or key is None else (key, str(found["value"]))

    def _read_focused(self, key: str) -> str:
        found = self.renderer.page.evaluate(_FOCUSED_FIELD_JS)
        if found is None or self._key_of(found["id"]) != key:
            raise RuntimeError(f"the text box {key!r} lost the page's focus while typing")
        return str(found["value"])

    def _key_of(self, element_id: str | None) -> str | None:
        for key, known in self.app.ids.items():
            if known == element_id:
                return key
        return None

"""Optional Playwright backend: the same apps as HTML pages, screenshotted by headless Chromium.

``GUIEnv(backend="playwright")`` renders every screen as an HTML page (real ``<input>``,
``<button>`` and ARIA-roled elements placed at the app's layout coordinates, styled with the
theme's colours, ``data-turngym-id`` naming each element's accessibility id) and takes the
screenshot with Chromium. Behaviour and judging stay in the Python :class:`App` model, so
tasks, ids, coordinates and rewards are identical across backends; only the pixels (browser
text rendering, system fonts) differ. That makes it a check that a policy does not overfit to
Pillow's rendering, and a starting point for real web pages.

Setup (offline once installed)::

    pip install playwright
    apt-get install -y chromium          # Debian's build; or: playwright install chromium

The browser is found through ``$TURNGYM_CHROMIUM``, then ``chromium`` /
``chromium-browser`` / ``google-chrome`` on ``PATH``, then Playwright's own download.

What it does NOT cover: DOM event handling (clicks are applied to the Python model, not
dispatched in the page), and use from inside a running asyncio event loop (Playwright's sync
API refuses that; run the env in a worker thread).
"""

from __future__ import annotations

import html
import io
import os
import shutil
from typing import Any

from PIL import Image

from turngym.envs.gui.app import App
from turngym.envs.gui.render import Theme

_BROWSERS = ("chromium", "chromium-browser", "google-chrome")


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
            from playwright.sync_api import sync_playwright

            with sync_playwright() as p:
                path = p.chromium.executable_path
        except Exception as exc:  # noqa: BLE001 - any failure means "not available"
            return f"playwright cannot locate Chromium ({exc})"
        if not path or not os.path.exists(path):
            return (
                "no Chromium found: apt-get install -y chromium, set $TURNGYM_CHROMIUM, "
                "or run `playwright install chromium`"
            )
    return None


def _rgb(colour: tuple[int, int, int]) -> str:
    return "rgb({},{},{})".format(*colour)


def _box_style(box: tuple[int, int, int, int], top: int = 0) -> str:
    x1, y1, x2, y2 = box
    return f"left:{x1}px;top:{y1 - top}px;width:{x2 - x1}px;height:{y2 - y1}px;"


def app_to_html(app: App, theme: Theme) -> str:
    """The app's current screen as a self-contained HTML page of ``app.width`` x ``app.height``."""
    t = theme
    esc = html.escape
    fs = app.font_size
    ids = app.ids
    parts: list[str] = []
    top = app.content_top
    # content: widgets at their screen coordinates inside a clipping viewport
    content: list[str] = []
    for w in app.widgets:
        box = app.content_box(w.key)
        if box[3] < app.content_top or box[1] > app.content_bottom:
            continue
        tag_id = f'data-turngym-id="{ids[w.key]}"'
        style = _box_style(box, top)
        if w.kind == "heading":
            content.append(
                f'<h1 {tag_id} style="{style}font-size:{fs + 4}px;margin:0;'
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
                f'<label style="{_box_style(label_box, top)}line-height:{label_box[3] - label_box[1]}px">{esc(w.name)}</label>'
            )
            focused = app.focus == w.key
            border = f"{2 if focused else 1}px solid {_rgb(t.accent if focused else t.muted)}"
            value = esc(str(app.values[w.key]))
            if w.kind == "textbox":
                content.append(
                    f'<input {tag_id} aria-label="{esc(w.name)}" value="{value}" style="'
                    f"{_box_style(cbox, top)}border:{border};border-radius:{t.radius}px;"
                    f'background:{_rgb(t.surface)};color:{_rgb(t.text)};padding:0 8px">'
                )
            else:
                content.append(
                    f'<div role="combobox" {tag_id} aria-expanded="{str(app.expanded == w.key).lower()}" '
                    f'style="{_box_style(cbox, top)}border:{border};border-radius:{t.radius}px;'
                    f'background:{_rgb(t.surface)};padding:0 8px;line-height:{cbox[3] - cbox[1]}px">'
                    f'{value}<span style="float:right;margin-right:8px">&#9662;</span></div>'
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
                f'box-sizing:border-box;line-height:{box[3] - box[1]}px">{esc(w.name)}</div>'
            )
        elif w.kind == "button":
            primary = w.action in ("submit", "save", "open")
            content.append(_button_html(tag_id, style, w.name, t, primary))
    viewport = (0, app.content_top, app.width, app.content_bottom)
    parts.append(f'<div style="{_box_style(viewport)}overflow:hidden">{"".join(content)}</div>')
    parts.append(
        f'<div style="{_box_style((0, 0, app.width, app.TITLE_H))}background:{_rgb(t.titlebar)};'
        f"color:{_rgb(t.titlebar_text)};padding-left:12px;line-height:{app.TITLE_H}px;"
        f'box-sizing:border-box;font-size:{fs + 1}px">{esc(app.title)}</div>'
    )
    if app.menus:
        bar = (0, app.TITLE_H, app.width, app.content_top)
        parts.append(
            f'<div role="menubar" style="{_box_style(bar)}background:{_rgb(t.surface)};'
            f'border-bottom:1px solid {_rgb(t.muted)}"></div>'
        )
    for key, box in app.menu_boxes().items():
        bg = _rgb(t.selection if app.expanded == key else t.surface)
        parts.append(
            f'<div role="menu" data-turngym-id="{ids[key]}" style="{_box_style(box)}background:{bg};'
            f'padding-left:8px;box-sizing:border-box;line-height:{box[3] - box[1]}px">'
            f"{esc(app.widget(key).name)}</div>"
        )
    status = (0, app.content_bottom, app.width, app.height)
    parts.append(
        f'<div role="status" data-turngym-id="{ids["status"]}" style="{_box_style(status)}'
        f"background:{_rgb(t.titlebar)};color:{_rgb(t.titlebar_text)};padding-left:10px;"
        f'box-sizing:border-box;font-size:{fs - 1}px;line-height:{app.STATUS_H}px">{esc(app.status)}</div>'
    )
    for key, box in app.overlay_boxes().items():
        parent, _, name = key.partition("/")
        role = "menuitem" if app.widget(parent).kind == "menu" else "option"
        chosen = role == "option" and app.values[parent] == name
        parts.append(
            f'<div role="{role}" data-turngym-id="{ids[key]}" style="{_box_style(box)}'
            f"background:{_rgb(t.selection if chosen else t.surface)};border:1px solid {_rgb(t.muted)};"
            f'box-sizing:border-box;padding-left:10px;line-height:{box[3] - box[1] - 2}px">{esc(name)}</div>'
        )
    if app.dialog is not None:
        boxes = app.dialog_boxes()
        parts.append(
            f'<div style="{_box_style((0, 0, app.width, app.height))}background:rgba(0,0,0,0.35)"></div>'
        )
        parts.append(
            f'<div role="dialog" data-turngym-id="{ids["dialog"]}" style="{_box_style(boxes["dialog"])}'
            f"background:{_rgb(t.surface)};border:1px solid {_rgb(t.muted)};border-radius:{t.radius}px;"
            f'padding:12px 14px;box-sizing:border-box"><b style="font-size:{fs + 2}px">'
            f"{esc(app.dialog.title)}</b><p>{esc(app.dialog.text)}</p></div>"
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
        "*{position:absolute;box-sizing:border-box;white-space:nowrap}"
        "b,p,span,div>span{position:static}p{margin:8px 0 0 0}"
        "</style></head><body>" + "".join(parts) + "</body></html>"
    )


def _button_html(tag_id: str, style: str, label: str, t: Theme, primary: bool) -> str:
    fill = _rgb(t.accent if primary else t.surface)
    ink = _rgb(t.accent_text if primary else t.text)
    return (
        f'<button {tag_id} style="{style}background:{fill};color:{ink};border:1px solid '
        f'{_rgb(t.muted) if not primary else fill};border-radius:{t.radius}px;font:inherit">'
        f"{html.escape(label)}</button>"
    )


class ChromiumRenderer:
    """Screenshots HTML renderings of apps in one headless Chromium page (started lazily).

    Args:
        executable: Chromium binary (default: :func:`find_chromium`, else Playwright's own).
    """

    def __init__(self, executable: str | None = None):
        reason = unavailable_reason()
        if reason is not None:
            raise RuntimeError(f"the playwright GUI backend is unavailable: {reason}")
        self.executable = executable or find_chromium()
        self._playwright: Any = None
        self._browser: Any = None
        self._page: Any = None

    def _start(self) -> None:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        # --no-sandbox: containers running as root cannot use Chromium's own sandbox; the
        # pages are generated here, never fetched
        self._browser = self._playwright.chromium.launch(
            executable_path=self.executable, headless=True, args=["--no-sandbox"]
        )

    def render(self, app: App, theme: Theme) -> Image.Image:
        """The screenshot of ``app`` rendered by Chromium (RGB, ``app.width`` x ``app.height``)."""
        if self._browser is None:
            self._start()
        size = {"width": app.width, "height": app.height}
        if self._page is None or self._page.viewport_size != size:
            if self._page is not None:
                self._page.close()
            self._page = self._browser.new_page(viewport=size)
        self._page.set_content(app_to_html(app, theme))
        png = self._page.screenshot(type="png")
        return Image.open(io.BytesIO(png)).convert("RGB")

    def close(self) -> None:
        """Stop the browser (safe to call more than once)."""
        if self._browser is not None:
            self._browser.close()
            self._browser = None
            self._page = None
        if self._playwright is not None:
            self._playwright.stop()
            self._playwright = None

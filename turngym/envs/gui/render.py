"""Pillow rendering of an :class:`~turngym.envs.gui.app.App` in one of several visual themes.

Text uses Pillow's bundled font (``ImageFont.load_default(size=...)``), so screenshots are the
same on every machine and nothing depends on system fonts.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from turngym.envs.gui.app import App

RGB = tuple[int, int, int]
Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Theme:
    """Colours of one visual theme."""

    name: str
    """Short name (reported in ``info``)."""
    background: RGB
    """Window background."""
    surface: RGB
    """Inputs, rows and dialogs."""
    text: RGB
    """Body text."""
    muted: RGB
    """Secondary text and borders of inactive controls."""
    accent: RGB
    """Primary buttons, checked controls, focus rings."""
    accent_text: RGB
    """Text on the accent colour."""
    selection: RGB
    """Background of selected rows and options."""
    titlebar: RGB
    """Title bar and menu bar."""
    titlebar_text: RGB
    """Text on the title bar."""
    radius: int = 4
    """Corner radius of controls."""


THEMES: tuple[Theme, ...] = (
    Theme(
        "light",
        (245, 246, 248),
        (255, 255, 255),
        (30, 30, 35),
        (140, 145, 155),
        (37, 99, 235),
        (255, 255, 255),
        (210, 225, 252),
        (228, 230, 235),
        (30, 30, 35),
    ),
    Theme(
        "dark",
        (32, 33, 38),
        (48, 50, 56),
        (232, 232, 236),
        (130, 134, 142),
        (94, 160, 255),
        (15, 20, 30),
        (60, 80, 120),
        (20, 21, 25),
        (220, 220, 225),
        radius=6,
    ),
    Theme(
        "ocean",
        (228, 240, 246),
        (250, 253, 255),
        (16, 42, 67),
        (110, 140, 160),
        (0, 128, 128),
        (255, 255, 255),
        (190, 228, 228),
        (16, 78, 110),
        (240, 248, 255),
        radius=8,
    ),
    Theme(
        "contrast",
        (255, 255, 255),
        (255, 255, 255),
        (0, 0, 0),
        (0, 0, 0),
        (0, 0, 0),
        (255, 255, 0),
        (255, 255, 0),
        (0, 0, 0),
        (255, 255, 255),
        radius=0,
    ),
    Theme(
        "sepia",
        (244, 236, 220),
        (252, 247, 236),
        (70, 50, 30),
        (160, 135, 105),
        (170, 90, 40),
        (255, 250, 240),
        (235, 210, 175),
        (120, 90, 60),
        (252, 247, 236),
        radius=3,
    ),
)
THEMES_BY_NAME = {t.name: t for t in THEMES}


@functools.lru_cache(maxsize=16)
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font at ``size`` pixels (cached: loading it is not free)."""
    return ImageFont.load_default(size=size)


def _text_mid(
    draw: ImageDraw.ImageDraw, x: int, y1: int, y2: int, text: str, fill: RGB, size: int
) -> None:
    draw.text((x, (y1 + y2) // 2), text, fill=fill, font=font(size), anchor="lm")


def render_app(app: App, theme: Theme) -> Image.Image:
    """A screenshot of ``app`` (RGB, ``app.width`` x ``app.height``)."""
    t = theme
    fs = app.font_size
    img = Image.new("RGB", (app.width, app.height), t.background)
    draw = ImageDraw.Draw(img)

    # content first, then chrome over it (the chrome hides rows scrolled under it)
    for w in app.widgets:
        box = app.content_box(w.key)
        if box[3] < app.content_top or box[1] > app.content_bottom:
            continue
        _draw_widget(draw, app, w.key, box, t, fs)

    draw.rectangle((0, 0, app.width, app.TITLE_H - 1), fill=t.titlebar)
    _text_mid(draw, 12, 0, app.TITLE_H, app.title, t.titlebar_text, fs + 1)
    for k, colour in enumerate(((230, 80, 70), (240, 180, 50), (90, 190, 90))):
        cx = app.width - 18 - 18 * k
        draw.ellipse((cx - 5, 9, cx + 5, 19), fill=colour)
    if app.menus:
        draw.rectangle((0, app.TITLE_H, app.width, app.TITLE_H + app.MENUBAR_H - 1), fill=t.surface)
        for key, (x1, y1, x2, y2) in app.menu_boxes().items():
            if app.expanded == key:
                draw.rectangle((x1, y1, x2 - 1, y2 - 1), fill=t.selection)
            _text_mid(draw, x1 + 8, y1, y2, app.widget(key).name, t.text, fs)
        draw.line((0, app.content_top - 1, app.width, app.content_top - 1), fill=t.muted)
    draw.rectangle((0, app.content_bottom, app.width, app.height), fill=t.titlebar)
    _text_mid(draw, 10, app.content_bottom, app.height, app.status, t.titlebar_text, fs - 1)
    if app.max_scroll > 0:  # a scroll bar says there is more below (or above)
        track = app.content_bottom - app.content_top
        thumb = max(20, track * track // (track + app.max_scroll))
        top = app.content_top + (track - thumb) * app.scroll_y // app.max_scroll
        draw.rectangle((app.width - 6, top, app.width - 2, top + thumb), fill=t.muted)

    overlay = app.overlay_boxes()
    if overlay:
        xs = [b for b in overlay.values()]
        frame = (
            min(b[0] for b in xs),
            min(b[1] for b in xs),
            max(b[2] for b in xs),
            max(b[3] for b in xs),
        )
        draw.rectangle((frame[0] + 3, frame[1] + 3, frame[2] + 3, frame[3] + 3), fill=t.muted)
        draw.rectangle(frame, fill=t.surface, outline=t.muted)
        for key, (x1, y1, x2, y2) in overlay.items():
            parent, _, name = key.partition("/")
            if app.widget(parent).kind == "combobox" and app.values[parent] == name:
                draw.rectangle((x1 + 1, y1, x2 - 1, y2 - 1), fill=t.selection)
            _text_mid(draw, x1 + 10, y1, y2, name, t.text, fs)

    if app.dialog is not None:
        dim = Image.new("RGB", img.size, (0, 0, 0))
        img = Image.blend(img, dim, 0.35)
        draw = ImageDraw.Draw(img)
        boxes = app.dialog_boxes()
        x1, y1, x2, y2 = boxes["dialog"]
        draw.rounded_rectangle((x1, y1, x2, y2), radius=t.radius, fill=t.surface, outline=t.muted)
        draw.text((x1 + 14, y1 + 12), app.dialog.title, fill=t.text, font=font(fs + 2))
        draw.text((x1 + 14, y1 + 40), app.dialog.text, fill=t.text, font=font(fs))
        for key, primary in (("dialog/OK", True), ("dialog/Cancel", False)):
            _button(draw, boxes[key], key.split("/")[1], t, fs, primary)
    return img


def _button(
    draw: ImageDraw.ImageDraw, box: Box, label: str, t: Theme, fs: int, primary: bool
) -> None:
    fill = t.accent if primary else t.surface
    ink = t.accent_text if primary else t.text
    draw.rounded_rectangle(
        box, radius=t.radius, fill=fill, outline=t.muted if not primary else fill
    )
    x1, y1, x2, y2 = box
    draw.text(((x1 + x2) // 2, (y1 + y2) // 2), label, fill=ink, font=font(fs), anchor="mm")


def _draw_widget(
    draw: ImageDraw.ImageDraw, app: App, key: str, box: Box, t: Theme, fs: int
) -> None:
    w = app.widget(key)
    x1, y1, x2, y2 = box
    if w.kind == "heading":
        _text_mid(draw, x1, y1, y2, w.name, t.text, fs + 4)
        draw.line((x1, y2 - 1, x2, y2 - 1), fill=t.muted)
    elif w.kind == "text":
        _text_mid(draw, x1, y1, y2, w.name, t.muted, fs)
    elif w.kind == "textbox":
        cx1, cy1, cx2, cy2 = app.control_box(key)
        if app.layout.label_position == "above":
            _text_mid(draw, x1, y1, cy1, w.name, t.text, fs)
        else:
            _text_mid(draw, x1, y1, y2, w.name, t.text, fs)
        focused = app.focus == key
        draw.rounded_rectangle(
            (cx1, cy1, cx2 - 1, cy2 - 1),
            radius=t.radius,
            fill=t.surface,
            outline=t.accent if focused else t.muted,
            width=2 if focused else 1,
        )
        value = str(app.values[key])
        _text_mid(draw, cx1 + 8, cy1, cy2, value, t.text, fs)
        if focused:
            caret_x = cx1 + 9 + int(draw.textlength(value, font=font(fs)))
            draw.line((caret_x, cy1 + 5, caret_x, cy2 - 6), fill=t.text, width=1)
    elif w.kind == "combobox":
        cx1, cy1, cx2, cy2 = app.control_box(key)
        _text_mid(draw, x1, y1, y2, w.name, t.text, fs)
        draw.rounded_rectangle(
            (cx1, cy1, cx2 - 1, cy2 - 1), radius=t.radius, fill=t.surface, outline=t.muted
        )
        _text_mid(draw, cx1 + 8, cy1, cy2, str(app.values[key]), t.text, fs)
        mx, my = cx2 - 16, (cy1 + cy2) // 2
        draw.polygon([(mx - 5, my - 3), (mx + 5, my - 3), (mx, my + 3)], fill=t.text)
    elif w.kind == "checkbox":
        size = min(16, y2 - y1 - 6)
        by = (y1 + y2 - size) // 2
        checked = bool(app.values[key])
        draw.rectangle(
            (x1, by, x1 + size, by + size),
            fill=t.accent if checked else t.surface,
            outline=t.accent if checked else t.muted,
        )
        if checked:
            draw.line(
                [
                    (x1 + 3, by + size // 2),
                    (x1 + size // 2 - 1, by + size - 4),
                    (x1 + size - 3, by + 3),
                ],
                fill=t.accent_text,
                width=2,
            )
        _text_mid(draw, x1 + size + 10, y1, y2, w.name, t.text, fs)
    elif w.kind == "switch":
        _text_mid(draw, x1, y1, y2, w.name, t.text, fs)
        on = bool(app.values[key])
        h = min(18, y2 - y1 - 6)
        sy = (y1 + y2 - h) // 2
        sx2 = x2 - 4
        sx1 = sx2 - 2 * h
        draw.rounded_rectangle(
            (sx1, sy, sx2, sy + h), radius=h // 2, fill=t.accent if on else t.muted
        )
        knob_x = sx2 - h if on else sx1
        draw.ellipse((knob_x + 2, sy + 2, knob_x + h - 2, sy + h - 2), fill=t.surface)
        _text_mid(draw, sx1 - 34, y1, y2, "On" if on else "Off", t.muted, fs - 1)
    elif w.kind == "listitem":
        selected = app.selected == key
        draw.rectangle((x1, y1, x2 - 1, y2 - 1), fill=t.selection if selected else t.surface)
        draw.line((x1, y2 - 1, x2 - 1, y2 - 1), fill=t.background)
        draw.rectangle(
            (x1 + 8, y1 + (y2 - y1) // 2 - 5, x1 + 18, y1 + (y2 - y1) // 2 + 5), outline=t.muted
        )
        _text_mid(draw, x1 + 28, y1, y2, w.name, t.text, fs)
    elif w.kind == "button":
        _button(draw, box, w.name, t, fs, primary=w.action in ("submit", "save", "open"))

"""Seeded generator of visual-search scenes: a large cluttered image hiding one small target.

Three kinds:

- ``number``: small tags with 4-digit numbers; the target tag has a unique colour.
  Question: "What number is on the <colour> tag?"
- ``word``: small shapes with a word inside; the target shape is the only one of its kind.
  Question: "What word is written inside the <shape>?"
- ``shape``: many small shapes; exactly one is of the asked kind.
  Question: "What colour is the only <shape>?"

The details are drawn small (about 1% of the image width) so that a downscaled overview
does not show them legibly: zooming in is needed. Train and test use different seeds and
disjoint halves of the word pool.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from turngym.envs.base import seeded_rng

SCENE_KINDS: tuple[str, ...] = ("number", "word", "shape")

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "blue": (40, 80, 220),
    "green": (30, 150, 60),
    "orange": (240, 140, 20),
    "purple": (140, 60, 190),
    "black": (20, 20, 20),
}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star", "diamond")
_WORDS = (
    "apple", "bridge", "candle", "dragon", "engine", "forest", "garden", "harbor", "island",
    "jungle", "kettle", "ladder", "magnet", "needle", "orange", "pepper", "quartz", "rocket",
    "saddle", "tunnel", "velvet", "walnut", "yellow", "zipper",
)  # fmt: skip


@dataclass(frozen=True)
class Scene:
    """One generated scene: the image, the question, the answer and where the target is."""

    image: Image.Image
    """The full-resolution RGB image."""
    question: str
    """What the agent must find out."""
    answer: str
    """The correct answer (compared after normalisation)."""
    target_box: tuple[int, int, int, int]
    """Bounds of the target in full-image pixels ``(x1, y1, x2, y2)``."""
    kind: str
    """The scene kind (one of :data:`SCENE_KINDS`)."""


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _shape(
    draw: ImageDraw.ImageDraw,
    kind: str,
    box: tuple[int, int, int, int],
    fill: tuple[int, int, int],
    outline: tuple[int, int, int] | None = None,
) -> None:
    x1, y1, x2, y2 = box
    cx, cy, r = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / 2
    if kind == "circle":
        draw.ellipse(box, fill=fill, outline=outline, width=2)
    elif kind == "square":
        draw.rectangle(box, fill=fill, outline=outline, width=2)
    elif kind == "triangle":
        draw.polygon([(cx, y1), (x2, y2), (x1, y2)], fill=fill, outline=outline)
    elif kind == "diamond":
        draw.polygon([(cx, y1), (x2, cy), (cx, y2), (x1, cy)], fill=fill, outline=outline)
    else:  # a five-pointed star
        points = []
        for k in range(10):
            radius = r if k % 2 == 0 else r * 0.45
            angle = -np.pi / 2 + k * np.pi / 5
            points.append((cx + radius * np.cos(angle), cy + radius * np.sin(angle)))
        draw.polygon(points, fill=fill, outline=outline)


def _place(
    rng: np.random.Generator,
    taken: list[tuple[int, int, int, int]],
    w: int,
    h: int,
    size: tuple[int, int],
    pad: int = 6,
) -> tuple[int, int, int, int]:
    """A box of ``size`` that overlaps no taken box (best effort after 200 tries)."""
    bw, bh = size
    box = (0, 0, bw, bh)
    for _ in range(200):
        x, y = int(rng.integers(pad, w - bw - pad)), int(rng.integers(pad, h - bh - pad))
        box = (x, y, x + bw, y + bh)
        if all(
            box[2] + pad < t[0] or t[2] + pad < box[0] or box[3] + pad < t[1] or t[3] + pad < box[1]
            for t in taken
        ):
            break
    taken.append(box)
    return box


def _background(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    w, h = size
    base = rng.integers(215, 245, size=3)
    img = Image.new("RGB", size, tuple(int(v) for v in base))
    draw = ImageDraw.Draw(img)
    # large soft blocks and lines: clutter that a downscaled overview still shows
    for _ in range(40):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        bw, bh = int(rng.integers(w // 20, w // 4)), int(rng.integers(h // 20, h // 4))
        colour = tuple(int(v) for v in rng.integers(170, 250, size=3))
        draw.rectangle((x, y, x + bw, y + bh), fill=colour)
    for _ in range(60):
        pts = [(int(rng.integers(0, w)), int(rng.integers(0, h))) for _ in range(2)]
        colour = tuple(int(v) for v in rng.integers(120, 220, size=3))
        draw.line(pts, fill=colour, width=int(rng.integers(1, 4)))
    return img


def generate_scene(
    kind: str, seed: int, split: str = "train", *, size: tuple[int, int] = (1600, 1200)
) -> Scene:
    """Build one scene deterministically from ``(kind, seed, split, size)``.

    Raises:
        ValueError: ``kind`` is not one of :data:`SCENE_KINDS`.
    """
    if kind not in SCENE_KINDS:
        raise ValueError(f"unknown visual-search kind {kind!r}; choose from {SCENE_KINDS}")
    rng = seeded_rng("visual-search", kind, split, seed, *size)
    w, h = size
    img = _background(rng, size)
    draw = ImageDraw.Draw(img)
    taken: list[tuple[int, int, int, int]] = []
    unit = max(10, w // 100)  # detail size: ~1% of the width
    colour_names = list(COLOURS)
    n_distractors = int(rng.integers(14, 24))

    if kind == "number":
        target_colour = colour_names[int(rng.integers(len(colour_names)))]
        others = [c for c in colour_names if c != target_colour]
        numbers = rng.choice(np.arange(1000, 10000), size=n_distractors + 1, replace=False)
        font = _font(unit)
        tag = (int(unit * 3.6), int(unit * 1.6))
        target_box = (0, 0, 0, 0)
        for k, number in enumerate(numbers):
            colour = target_colour if k == 0 else others[int(rng.integers(len(others)))]
            box = _place(rng, taken, w, h, tag)
            draw.rectangle(
                box, fill=(250, 250, 250), outline=COLOURS[colour], width=max(2, unit // 5)
            )
            draw.text(
                ((box[0] + box[2]) // 2, (box[1] + box[3]) // 2),
                str(int(number)),
                fill=(20, 20, 20),
                font=font,
                anchor="mm",
            )
            if k == 0:
                target_box = box
        question = f"What number is written on the tag with the {target_colour} border?"
        return Scene(img, question, str(int(numbers[0])), target_box, kind)

    if kind == "word":
        pool = list(_WORDS[0::2] if split == "train" else _WORDS[1::2])
        target_shape = SHAPES[int(rng.integers(len(SHAPES)))]
        others = [s for s in SHAPES if s != target_shape and s not in ("triangle", "star")]
        words = [
            pool[int(i)]
            for i in rng.choice(len(pool), size=min(len(pool), n_distractors + 1), replace=False)
        ]
        font = _font(max(8, int(unit * 0.8)))
        side = int(unit * 4.2)
        target_box = (0, 0, 0, 0)
        for k, word in enumerate(words):
            shape = target_shape if k == 0 else others[int(rng.integers(len(others)))]
            box = _place(rng, taken, w, h, (side, side))
            colour = COLOURS[colour_names[int(rng.integers(len(colour_names)))]]
            _shape(draw, shape, box, fill=(252, 252, 252), outline=colour)
            cx, cy = (box[0] + box[2]) // 2, (box[1] + box[3]) // 2
            # triangles and stars are narrow at the top: put the word in their wide lower part
            ty = cy + side // 6 if shape in ("triangle", "star") else cy
            draw.text((cx, ty), word, fill=(20, 20, 20), font=font, anchor="mm")
            if k == 0:
                target_box = box
        question = f"What word is written inside the only {target_shape}?"
        return Scene(img, question, words[0], target_box, kind)

    target_shape = SHAPES[int(rng.integers(len(SHAPES)))]
    others = [s for s in SHAPES if s != target_shape]
    target_colour = colour_names[int(rng.integers(len(colour_names)))]
    side = int(unit * 1.6)
    target_box = (0, 0, 0, 0)
    for k in range(n_distractors + 1):
        shape = target_shape if k == 0 else others[int(rng.integers(len(others)))]
        colour = target_colour if k == 0 else colour_names[int(rng.integers(len(colour_names)))]
        box = _place(rng, taken, w, h, (side, side))
        _shape(draw, shape, box, fill=COLOURS[colour])
        if k == 0:
            target_box = box
    question = f"What colour is the only {target_shape}? (one of: {', '.join(colour_names)})"
    return Scene(img, question, target_colour, target_box, kind)

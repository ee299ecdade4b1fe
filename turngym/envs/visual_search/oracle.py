"""Scripted policies for ``turngym/VisualSearch-v0``: an oracle that knows where the target
is, and a random one. They show the protocol works end to end and that chance is low; they
are not agents (the oracle reads the answer from the scene, it does not do OCR).
"""

from __future__ import annotations

import json

import numpy as np

from turngym.envs.visual_search.scenes import COLOURS, SHAPES, Scene


def _call(name: str, arguments: dict[str, float]) -> str:
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


class VisualSearchOracle:
    """Crops around the known target (``margin`` pixels around it), then answers.

    Args:
        scene: The episode's scene (``env.unwrapped.scene``).
        margin: Extra pixels around the target box in the crop.
        use_zoom: Use ``zoom`` at the target's centre instead of ``crop``.
    """

    def __init__(self, scene: Scene, *, margin: int = 40, use_zoom: bool = False):
        self.scene = scene
        self.margin = margin
        self.use_zoom = use_zoom
        self._looked = False

    def act(self) -> str:
        """The next reply (hermes tool-call format)."""
        if self._looked:
            return f"The detail is readable now.\n<answer>{self.scene.answer}</answer>"
        self._looked = True
        x1, y1, x2, y2 = self.scene.target_box
        if self.use_zoom:
            w, h = self.scene.image.size
            # the largest factor whose view still holds the target with the margin
            factor = min(w / (x2 - x1 + 2 * self.margin), h / (y2 - y1 + 2 * self.margin), 32)
            return _call("zoom", {"x": (x1 + x2) // 2, "y": (y1 + y2) // 2, "factor": factor})
        m = self.margin
        return _call("crop", {"x1": x1 - m, "y1": y1 - m, "x2": x2 + m, "y2": y2 + m})


def random_reply(rng: np.random.Generator, size: tuple[int, int] = (1600, 1200)) -> str:
    """A random crop or a random plausible answer (a chance baseline)."""
    w, h = size
    if rng.random() < 0.5:
        x1, y1 = int(rng.integers(0, w - 100)), int(rng.integers(0, h - 100))
        side = int(rng.integers(100, 500))
        return _call("crop", {"x1": x1, "y1": y1, "x2": x1 + side, "y2": y1 + side})
    guesses = [*COLOURS, *SHAPES, str(int(rng.integers(1000, 10000))), "apple", "garden"]
    return f"<answer>{guesses[int(rng.integers(len(guesses)))]}</answer>"

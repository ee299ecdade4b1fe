"""``turngym/VisualSearch-v0``: find a small detail in a high-resolution image by zooming in.

The idea is "thinking with images" / active perception (V*, Wu & Xie 2023; DeepEyes, 2025):
a vision-language model sees a downscaled overview in which the detail is illegible, and must
crop the full-resolution image where it suspects the target before answering.

Protocol:
    Observation: the question and an overview image (the full image downscaled so that its
    long side is ``overview_max_side``), with the full size stated; coordinates are always
    full-image pixels. Each tool call returns a ``tool`` message holding the cropped region,
    upscaled or downscaled so its long side is ``crop_max_side``.
    Action: tool calls in the chosen tool-call format (default ``hermes``:
    ``<tool_call>{"name": "crop", "arguments": {"x1": .., "y1": .., "x2": .., "y2": ..}}
    </tool_call>``; ``zoom`` takes ``x``, ``y``, ``factor``), at most ``max_calls_per_turn``
    per reply; or a final answer ``<answer>...</answer>``, which ends the episode.
    A reply with both tool calls and an answer runs the calls and ignores the answer.
    Reward: 1.0 when the answer matches (case, spaces and punctuation ignored), else 0.0.
    Each step's ``info["crop_hits"]`` says, per crop run that turn, whether it contained the
    whole target; the final ``info`` lists every crop's box and hit (``crops``), ``crop_hit``
    (any crop did), ``num_crops`` and ``success``.

What it does NOT cover: answers that need reasoning over several regions, and judging
free-form answers (answers are a number, a word or a colour name).
"""

from __future__ import annotations

import re
from typing import Any

from PIL import Image

from turngym.core.messages import ImagePart, Message, TextPart
from turngym.envs.base import SPLITS, StepOutcome, Task, TextEnv
from turngym.envs.gui.images import ImageInterner
from turngym.envs.visual_search.scenes import SCENE_KINDS, Scene, generate_scene
from turngym.tools.base import ToolArgumentError, schema_from_function, validate_arguments
from turngym.tools.formats import get_format

_ANSWER_RE = re.compile(r"<answer>(.*?)</answer>", re.S | re.I)
_TASKS_PER_SPLIT = {"train": 100_000, "test": 1_000}
MIN_CROP = 16
"""Smallest crop side in full-image pixels (smaller boxes are refused)."""


def crop(x1: int, y1: int, x2: int, y2: int) -> None:
    """Show the region (x1, y1)-(x2, y2) of the full-resolution image, enlarged.

    Args:
        x1: Left edge, in full-image pixels.
        y1: Top edge, in full-image pixels.
        x2: Right edge (exclusive), in full-image pixels.
        y2: Bottom edge (exclusive), in full-image pixels.
    """


def zoom(x: int, y: int, factor: float) -> None:
    """Show the full-resolution image magnified around (x, y).

    Args:
        x: Centre x, in full-image pixels.
        y: Centre y, in full-image pixels.
        factor: Magnification (2 shows half the width and height; from 1 to 32).
    """


_SCHEMAS = {fn.__name__: schema_from_function(fn) for fn in (crop, zoom)}


def normalize_answer(text: str) -> str:
    """Lower-case ``text`` and drop everything but letters and digits."""
    return re.sub(r"[^0-9a-z]", "", text.lower())


def _box_contains(outer: tuple[int, int, int, int], inner: tuple[int, int, int, int]) -> bool:
    return (
        outer[0] <= inner[0]
        and outer[1] <= inner[1]
        and outer[2] >= inner[2]
        and outer[3] >= inner[3]
    )


class VisualSearchEnv(TextEnv):
    """Find a small number, word or shape in a large image, cropping/zooming in; answer in <answer>.

    Args:
        kinds: Scene kinds to draw (default: ``number``, ``word``, ``shape``).
        image_size: Full image size ``(width, height)`` (default 1600x1200).
        overview_max_side: Long side of the overview image in the first observation.
        crop_max_side: Long side of each crop/zoom image returned by a tool.
        tool_format: Tool-call format name (see :mod:`turngym.tools.formats`).
        max_calls_per_turn: Tool calls executed per reply (more are refused with a note).
        render_mode: ``"ansi"`` for the transcript.
    """

    def __init__(
        self,
        *,
        kinds: tuple[str, ...] | list[str] | None = None,
        image_size: tuple[int, int] | list[int] = (1600, 1200),
        overview_max_side: int = 640,
        crop_max_side: int = 512,
        tool_format: str = "hermes",
        max_calls_per_turn: int = 2,
        render_mode: str | None = None,
    ):
        super().__init__(render_mode=render_mode, max_action_chars=8_000)
        self.kinds = tuple(kinds) if kinds else SCENE_KINDS
        bad = [k for k in self.kinds if k not in SCENE_KINDS]
        if bad:
            raise ValueError(f"unknown visual-search kinds {bad}; choose from {SCENE_KINDS}")
        try:
            w, h = (int(v) for v in image_size)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"image_size must be (width, height), got {image_size!r}") from exc
        if not (400 <= w <= 4096 and 300 <= h <= 4096):
            raise ValueError(f"image_size must be between 400x300 and 4096x4096, got {w}x{h}")
        self.image_size = (w, h)
        for name, value in (
            ("overview_max_side", overview_max_side),
            ("crop_max_side", crop_max_side),
        ):
            if not 64 <= int(value) <= 4096:
                raise ValueError(f"{name} must be between 64 and 4096, got {value}")
        if max_calls_per_turn < 1:
            raise ValueError(f"max_calls_per_turn must be >= 1, got {max_calls_per_turn}")
        self.overview_max_side = int(overview_max_side)
        self.crop_max_side = int(crop_max_side)
        self.format = get_format(tool_format)
        self.max_calls_per_turn = int(max_calls_per_turn)
        self.scene: Scene | None = None
        self.crops: list[dict[str, Any]] = []
        self.bad_calls = 0
        self._images = ImageInterner()

    # ---- tasks ----------------------------------------------------------------------------

    def num_tasks(self, split: str = "train") -> int | None:
        return _TASKS_PER_SPLIT[split]

    def get_task(self, index: int, split: str = "train") -> Task:
        kind = self.kinds[index % len(self.kinds)]
        return {
            "id": f"vsearch-{split}-{index}-{kind}",
            "kind": kind,
            "seed": index,
            "split": split,
        }

    def on_reset(self, task: Task) -> None:
        for key in ("kind", "seed"):
            if key not in task:
                raise ValueError(f"a visual-search task needs {key!r}; got keys {sorted(task)}")
        split = task.get("split", "train")
        if split not in SPLITS:
            raise ValueError(f"task split must be one of {SPLITS}, got {split!r}")
        self.scene = generate_scene(task["kind"], int(task["seed"]), split, size=self.image_size)
        self.crops = []
        self.bad_calls = 0

    def tool_schemas(self) -> list[dict[str, Any]]:
        return [{"type": "function", "function": dict(s)} for s in _SCHEMAS.values()]

    # ---- images ---------------------------------------------------------------------------

    def _scaled(self, image: Image.Image, max_side: int) -> Image.Image:
        scale = max_side / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        resample = Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC
        return self._images.intern(image.resize(size, resample))

    def overview(self) -> Image.Image:
        """The downscaled full image shown first."""
        assert self.scene is not None
        return self._scaled(self.scene.image, self.overview_max_side)

    def crop_image(self, box: tuple[int, int, int, int]) -> Image.Image:
        """The region ``box`` of the full image, scaled to ``crop_max_side``."""
        assert self.scene is not None
        return self._scaled(self.scene.image.crop(box), self.crop_max_side)

    # ---- protocol -------------------------------------------------------------------------

    def initial_messages(self, task: Task) -> list[Message]:
        assert self.scene is not None
        w, h = self.image_size
        system = (
            "You answer questions about a large image. You see a small overview first; to see "
            f"details, call the tools. Coordinates are pixels of the full {w}x{h} image.\n\n"
            + self.format.instructions(self.tool_schemas())
            + "\n\nWhen you know the answer, reply with <answer>your answer</answer>."
        )
        overview = self.overview()
        user = (
            TextPart(
                f"Question: {self.scene.question}\n"
                f"Overview (full image {w}x{h}, shown at {overview.width}x{overview.height}):\n"
            ),
            ImagePart(overview),
        )
        return [Message("system", system), Message("user", user)]

    def _resolve_box(self, name: str, arguments: dict[str, Any]) -> tuple[int, int, int, int]:
        w, h = self.image_size
        args = validate_arguments(name, _SCHEMAS[name]["parameters"], arguments)
        if name == "crop":
            x1, y1, x2, y2 = (int(args[k]) for k in ("x1", "y1", "x2", "y2"))
        else:
            factor = float(args["factor"])
            if not 1 <= factor <= 32:
                raise ToolArgumentError(name, "factor", f"must be between 1 and 32, got {factor}")
            cw, ch = w / factor, h / factor
            x, y = float(args["x"]), float(args["y"])
            x1 = int(round(min(max(x - cw / 2, 0), w - cw)))
            y1 = int(round(min(max(y - ch / 2, 0), h - ch)))
            x2, y2 = x1 + int(round(cw)), y1 + int(round(ch))
        x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
        if x2 - x1 < MIN_CROP or y2 - y1 < MIN_CROP:
            raise ToolArgumentError(
                name,
                None,
                f"give a region at least {MIN_CROP}x{MIN_CROP} pixels inside the {w}x{h} image "
                f"(x1 < x2, y1 < y2); after clipping it was ({x1}, {y1}, {x2}, {y2})",
            )
        return x1, y1, x2, y2

    def on_action(self, action: str) -> StepOutcome:
        assert self.scene is not None
        parsed = self.format.parse(action)
        answers = _ANSWER_RE.findall(self.format.strip_calls(action))
        if answers and not parsed.calls:
            given = answers[-1].strip()
            success = normalize_answer(given) == normalize_answer(self.scene.answer)
            info = {
                "success": success,
                "answer": given,
                "crops": list(self.crops),
                "crop_hit": any(c["contains_target"] for c in self.crops),
                "num_crops": len(self.crops),
            }
            return StepOutcome(reward=1.0 if success else 0.0, done=True, info=info)
        messages: list[Message] = []
        crops_before = len(self.crops)
        for error in parsed.errors:
            self.bad_calls += 1
            messages.append(Message("user", f"Tool call error: {error.message}"))
        for k, call in enumerate(parsed.calls):
            if k >= self.max_calls_per_turn:
                messages.append(
                    Message(
                        "user",
                        f"Only {self.max_calls_per_turn} tool calls run per reply; "
                        f"{len(parsed.calls) - k} were skipped.",
                    )
                )
                break
            if call.name not in _SCHEMAS:
                self.bad_calls += 1
                messages.append(
                    Message(
                        "tool",
                        f"unknown tool {call.name!r}; use crop or zoom",
                        name=call.name,
                        tool_call_id=call.id,
                    )
                )
                continue
            try:
                box = self._resolve_box(call.name, dict(call.arguments))
            except ToolArgumentError as exc:
                self.bad_calls += 1
                messages.append(
                    Message("tool", f"Error: {exc}", name=call.name, tool_call_id=call.id)
                )
                continue
            hit = _box_contains(box, self.scene.target_box)
            self.crops.append({"box": list(box), "contains_target": hit})
            image = self.crop_image(box)
            content = (
                TextPart(
                    f"Region ({box[0]}, {box[1]})-({box[2]}, {box[3]}) shown at "
                    f"{image.width}x{image.height}:\n"
                ),
                ImagePart(image),
            )
            messages.append(Message("tool", content, name=call.name, tool_call_id=call.id))
        turn_hits = [c["contains_target"] for c in self.crops[crops_before:]]
        if not messages:
            messages.append(
                Message(
                    "user", "Call crop or zoom to look closer, or reply with <answer>...</answer>."
                )
            )
        return StepOutcome(messages, info={"crop_hits": turn_hits})

    def episode_info(self) -> dict[str, Any]:
        return {"num_crops": len(self.crops), "bad_calls": self.bad_calls}

    def probe_actions(self) -> list[str]:
        return [
            '<tool_call>{"name": "crop", "arguments": {"x1": 0, "y1": 0, "x2": 400, "y2": 300}}</tool_call>',
            '<tool_call>{"name": "zoom", "arguments": {"x": 800, "y": 600, "factor": 4}}</tool_call>',
            '<tool_call>{"name": "crop", "arguments": {"x1": 5, "y1": 5, "x2": 6, "y2": 6}}</tool_call>',
            "<answer>red</answer>",
            "I am not sure.",
        ]

"""Images through the stack: vision-language models (VLMs) as turngym policies.

Image parts of observations (:class:`~turngym.core.messages.ImagePart`) go through the chat
template as placeholders (``<|vision_start|><|image_pad|><|vision_end|>`` for Qwen2-VL,
``<image>`` for Idefics3 / SmolVLM) and the model's ``transformers`` processor turns each
placeholder into the image's run of placeholder tokens plus its pixel tensors. The rules of
:mod:`turngym.agents.chat` hold unchanged:

- **Token exactness.** The prompt of a turn is the previous tokens, the sampled tokens, and
  the template delta of the env's answer. A delta with images is expanded image by image, so
  ``render(history + new)`` equals ``render(history) + sampled + delta`` token for token,
  images included (the tests check it against the processor's own output, too).
- **Masking.** Every image token is context (loss mask 0): images are never targets.
- **A segment carries its images.** :class:`VisionInputs` records, per segment, each image's
  token span and processed pixels, so the trainer can recompute logprobs with the same
  pixels the sampler saw. :func:`vision_forward_kwargs` turns the records of a batch into the
  model's keyword arguments (``pixel_values`` with ``image_grid_thw`` and M-RoPE position ids
  for the Qwen2-VL family; ``pixel_values`` with ``pixel_attention_mask`` for Idefics3),
  for left-padded (sampling) and right-padded (training) batches alike.

Two families are supported and tested with tiny random models
(:mod:`turngym.agents.tiny_vlm`): Qwen2-VL / Qwen2.5-VL (images as a flat list of patches,
``image_grid_thw``; Wang et al. 2024, "Qwen2-VL") and Idefics3 / SmolVLM (images as tiles,
``pixel_attention_mask``; Laurençon et al. 2024, "Building and better understanding
vision-language models"; Marafioti et al. 2025, "SmolVLM").

What it does NOT cover: videos, images given by URL (no network at run time), processors
whose per-image outputs are neither patches + ``image_grid_thw`` nor tiles (e.g. LLaVA's
``image_sizes``), and vLLM sampling with images.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import torch

from turngym.agents.chat import ChatRenderer, RenderedTokens
from turngym.core.messages import Message

ImageLayout = Literal["patches", "tiles"]
"""How a processor lays out an image's pixels.

``patches``: ``pixel_values`` is ``(num_patches, patch_dim)`` with an ``image_grid_thw`` row
per image (Qwen2-VL, Qwen2.5-VL). ``tiles``: ``pixel_values`` is ``(1, num_tiles, C, H, W)``
per image, optionally with a ``pixel_attention_mask`` (Idefics3, SmolVLM).
"""

# Keys of a processor's output that describe text, not pixels.
_TEXT_KEYS = frozenset({"input_ids", "attention_mask", "mm_token_type_ids", "token_type_ids"})


# ==========================================================================================
# Records
# ==========================================================================================


@dataclass(frozen=True, eq=False)
class SegmentImage:
    """One image of a token sequence: where its tokens are and its processed pixels."""

    start: int
    """Index of the first token of the image's expansion in the sequence."""
    end: int
    """One past the last token of the expansion (all of ``start:end`` is context)."""
    num_image_tokens: int
    """How many of the expansion's tokens are the processor's image token (the positions
    whose embeddings the vision features replace)."""
    tensors: Mapping[str, torch.Tensor]
    """The processor's pixel outputs for this image alone, on the CPU: ``pixel_values`` and
    ``image_grid_thw`` (patches), or ``pixel_values`` ``(tiles, C, H, W)`` and
    ``pixel_attention_mask`` ``(tiles, H, W)`` (tiles)."""

    def shifted(self, offset: int) -> SegmentImage:
        """The same image, ``offset`` tokens later in the sequence."""
        return replace(self, start=self.start + offset, end=self.end + offset)


@dataclass(frozen=True, eq=False)
class VisionInputs:
    """The images of one token sequence (a prompt or a :class:`~turngym.core.Segment`).

    Example:
        >>> empty = VisionInputs(layout="patches", image_token_id=7)
        >>> empty.num_images
        0
    """

    layout: ImageLayout
    """How the pixels are laid out (see :data:`ImageLayout`)."""
    image_token_id: int
    """The processor's image placeholder token id."""
    images: tuple[SegmentImage, ...] = ()
    """The images in the order their tokens appear."""

    @property
    def num_images(self) -> int:
        """How many images the sequence holds."""
        return len(self.images)

    def image_token_positions(self) -> list[int]:
        """Indices of every token inside an image span (all context, loss mask 0)."""
        return [i for image in self.images for i in range(image.start, image.end)]

    def shifted(self, offset: int) -> VisionInputs:
        """The same images, ``offset`` tokens later (e.g. after ``offset`` tokens of padding)."""
        return replace(self, images=tuple(image.shifted(offset) for image in self.images))

    def then(self, other: VisionInputs, offset: int) -> VisionInputs:
        """These images followed by ``other``'s, whose tokens start at ``offset``.

        Args:
            other: The images of tokens appended to this sequence.
            offset: Length of this sequence when ``other``'s tokens were appended.
        """
        if (other.layout, other.image_token_id) != (self.layout, self.image_token_id):
            raise ValueError(
                "cannot join VisionInputs of different processors "
                f"({self.layout}/{self.image_token_id} vs {other.layout}/{other.image_token_id})"
            )
        last_end = self.images[-1].end if self.images else 0
        if other.images and offset < last_end:
            raise ValueError(
                f"offset {offset} would place new images before the end of the last image "
                f"({last_end}); pass the sequence length at which the new tokens start"
            )
        return replace(self, images=self.images + other.shifted(offset).images)

    def placed_after(self, previous: VisionInputs | None, offset: int) -> VisionInputs:
        """``previous``'s images (if any) followed by these, whose tokens start at ``offset``.

        What a segment builder does when it appends rendered tokens: ``vision =
        rendered.vision.placed_after(vision, len(token_ids))``.
        """
        if previous is None:
            return self.shifted(offset)
        return previous.then(self, offset)

    def truncated(self, length: int) -> VisionInputs:
        """The images of the first ``length`` tokens (a sequence cut after its last sample).

        Raises:
            ValueError: The cut falls inside an image's tokens.
        """
        kept = []
        for image in self.images:
            if image.end <= length:
                kept.append(image)
            elif image.start < length:
                raise ValueError(
                    f"cutting the sequence at {length} splits an image (tokens {image.start}:"
                    f"{image.end}); cut before or after it"
                )
        return replace(self, images=tuple(kept))


# ==========================================================================================
# Rendering
# ==========================================================================================


class VisionChatRenderer(ChatRenderer):
    """Renders conversations with images to token ids and :class:`VisionInputs`.

    A :class:`~turngym.agents.chat.ChatRenderer` whose tokens come from the model's
    processor: :meth:`render_prompt` and :meth:`render_continuation` return the ids together
    with the images; :meth:`prompt_ids` and :meth:`continuation_ids` keep the text
    renderer's interface (ids only), so code written for text models renders the same
    tokens.

    Each image is processed on its own and its expansion spliced in place of its
    placeholder, which is what the processor does for a whole text as long as the
    placeholder is a special token (checked here): so a template delta expands exactly as it
    would inside the full conversation.

    Args:
        processor: A ``transformers`` processor with an image processor and a tokenizer
            (e.g. from :func:`load_processor`).
        chat_template: A Jinja template overriding the processor's / tokenizer's own.
        tool_role: ``"tool"`` or ``"user"`` (see :class:`ChatRenderer`); image parts of tool
            messages are kept either way.
        stop_token_ids: Tokens that end an assistant turn (default: EOS and the template's
            end-of-turn token).
        text_as_parts: Render plain-text messages as a list with one text part, for
            templates that index ``message['content'][0]`` (Idefics3 / SmolVLM style).
            Default: on for those processors, off otherwise.
        pixel_dtype: dtype the pixel tensors are kept in. The models cast pixels to their
            own dtype, so for a bf16 model ``torch.bfloat16`` halves the memory of stored
            trajectories and changes nothing the model sees.
    """

    def __init__(
        self,
        processor: Any,
        *,
        chat_template: str | None = None,
        tool_role: Literal["tool", "user"] = "tool",
        stop_token_ids: Sequence[int] | None = None,
        text_as_parts: bool | None = None,
        pixel_dtype: torch.dtype = torch.float32,
    ):
        if not isinstance(pixel_dtype, torch.dtype) or not pixel_dtype.is_floating_point:
            raise TypeError(f"pixel_dtype must be a floating torch.dtype, got {pixel_dtype!r}")
        self.pixel_dtype = pixel_dtype
        tokenizer = getattr(processor, "tokenizer", None)
        if tokenizer is None or getattr(processor, "image_processor", None) is None:
            raise TypeError(
                "VisionChatRenderer needs a transformers processor with a tokenizer and an "
                f"image processor, got {type(processor).__name__}; load one with "
                "turngym.agents.vision.load_processor(path)"
            )
        image_token = getattr(processor, "image_token", None)
        if not isinstance(image_token, str) or not image_token:
            raise ValueError(
                f"{type(processor).__name__} names no image placeholder token "
                "(processor.image_token); this processor is not supported"
            )
        # Splicing per-image expansions is exact only if the placeholder splits the text
        # for the tokenizer, i.e. is a single special/added token.
        ids = tokenizer(image_token, add_special_tokens=False)["input_ids"]
        if len(ids) != 1 or ids[0] not in _added_token_ids(tokenizer):
            raise ValueError(
                f"the image placeholder {image_token!r} is not one special token of the "
                "tokenizer; add it with tokenizer.add_special_tokens(...)"
            )
        self.processor = processor
        self.image_token = image_token
        self.image_token_id = int(ids[0])
        self.text_as_parts = (
            text_as_parts
            if text_as_parts is not None
            else type(processor).__name__.startswith(("Idefics", "SmolVLM"))
        )
        template = (
            chat_template
            or getattr(processor, "chat_template", None)
            or getattr(tokenizer, "chat_template", None)
        )
        super().__init__(
            tokenizer, chat_template=template, tool_role=tool_role, stop_token_ids=stop_token_ids
        )
        self.layout = self._probe_layout()

    # ---- text ---------------------------------------------------------------------------

    def _dicts(self, messages: Sequence[Message]) -> list[dict[str, Any]]:
        out = []
        for m in messages:
            d = m.to_dict()
            if self.text_as_parts and isinstance(d["content"], str):
                d["content"] = [{"type": "text", "text": d["content"]}]
            if m.role == "tool" and self.tool_role == "user":
                d = {"role": "user", "content": d["content"]}
            out.append(d)
        return out

    # ---- tokens and images --------------------------------------------------------------

    def render_prompt(
        self, messages: Sequence[Message], *, tools: list[dict[str, Any]] | None = None
    ) -> RenderedTokens:
        """Token ids and images of a conversation followed by the generation prompt."""
        text = self.render_text(messages, add_generation_prompt=True, tools=tools)
        return self.encode_with_images(text, _images_of(messages))

    def render_continuation(
        self,
        history: Sequence[Message],
        stop_token_id: int | None,
        new_messages: Sequence[Message],
        *,
        tools: list[dict[str, Any]] | None = None,
    ) -> RenderedTokens:
        """Context tokens and images to append after a sampled turn.

        See :meth:`ChatRenderer.continuation_text` for the arguments; image spans are
        relative to the start of the returned tokens (use :meth:`VisionInputs.then` with the
        sequence length to add them to a segment's images).

        Raises:
            TemplateMismatchError: The template rewrites history (start a new segment).
        """
        text = self.continuation_text(history, stop_token_id, new_messages, tools=tools)
        return self.encode_with_images(text, _images_of(new_messages))

    def prompt_ids(
        self, messages: Sequence[Message], *, tools: list[dict[str, Any]] | None = None
    ) -> list[int]:
        """Token ids of :meth:`render_prompt` (images expanded, pixels left out)."""
        return list(self.render_prompt(messages, tools=tools).token_ids)

    def continuation_ids(
        self,
        history: Sequence[Message],
        stop_token_id: int | None,
        new_messages: Sequence[Message],
        *,
        tools: list[dict[str, Any]] | None = None,
    ) -> list[int]:
        """Token ids of :meth:`render_continuation` (images expanded, pixels left out)."""
        rendered = self.render_continuation(history, stop_token_id, new_messages, tools=tools)
        return list(rendered.token_ids)

    def encode_with_images(self, text: str, images: Sequence[Any]) -> RenderedTokens:
        """Token ids of ``text`` with each image placeholder expanded by the processor.

        Args:
            text: Rendered template text holding one ``processor.image_token`` per image.
            images: The images, in the order of their placeholders (PIL images, ``(H, W, C)``
                arrays or local file paths).

        Raises:
            ValueError: The number of placeholders and of images differ.
        """
        pieces = text.split(self.image_token)
        if len(pieces) - 1 != len(images):
            raise ValueError(
                f"the rendered text holds {len(pieces) - 1} image placeholder(s) "
                f"({self.image_token!r}) for {len(images)} image(s); the chat template must "
                "render every image part once (and text must not contain the placeholder)"
            )
        ids: list[int] = []
        placed: list[SegmentImage] = []
        for i, piece in enumerate(pieces):
            if piece:
                ids.extend(self.encode(piece))
            if i < len(images):
                expansion, tensors = self._process_image(images[i])
                placed.append(
                    SegmentImage(
                        start=len(ids),
                        end=len(ids) + len(expansion),
                        num_image_tokens=sum(t == self.image_token_id for t in expansion),
                        tensors=tensors,
                    )
                )
                ids.extend(expansion)
        vision = VisionInputs(
            layout=self.layout, image_token_id=self.image_token_id, images=tuple(placed)
        )
        return RenderedTokens(tuple(ids), vision)

    def _process_image(self, image: Any) -> tuple[list[int], dict[str, torch.Tensor]]:
        """The expansion ids of one image and its pixel tensors (batch dim dropped for tiles)."""
        with self._lock:
            out = self.processor(
                text=[self.image_token],
                images=[to_pil_rgb(image)],
                return_tensors="pt",
                add_special_tokens=False,
            )
        expansion = [int(t) for t in out["input_ids"][0]]
        tensors = {k: v for k, v in out.items() if k not in _TEXT_KEYS}
        if "pixel_values" not in tensors:
            raise ValueError(
                f"{type(self.processor).__name__} returned no pixel_values for an image"
            )
        if tensors["pixel_values"].ndim == 5:  # (1, tiles, C, H, W): one sample
            tensors = {k: v[0] for k, v in tensors.items()}
        return expansion, {
            k: v.detach().cpu().to(self.pixel_dtype if v.is_floating_point() else v.dtype)
            for k, v in tensors.items()
        }

    def _probe_layout(self) -> ImageLayout:
        """Process a tiny blank image once to learn how this processor lays out pixels."""
        import numpy as np

        _, tensors = self._process_image(np.zeros((32, 32, 3), dtype=np.uint8))
        pixels = tensors["pixel_values"]
        if pixels.ndim == 2 and "image_grid_thw" in tensors:
            return "patches"
        if pixels.ndim == 4:
            return "tiles"
        raise ValueError(
            f"{type(self.processor).__name__} lays out pixels as {tuple(pixels.shape)} with keys "
            f"{sorted(tensors)}; supported are patches + image_grid_thw (Qwen2-VL family) and "
            "tiles (Idefics3 / SmolVLM)"
        )


def to_pil_rgb(image: Any) -> Any:
    """A PIL RGB image from a PIL image, a uint8 ``(H, W)`` / ``(H, W, C)`` array or a path.

    Raises:
        ValueError: ``image`` is a URL (no network at run time) or of another type.
    """
    import numpy as np
    from PIL import Image

    if isinstance(image, Image.Image):
        return image if image.mode == "RGB" else image.convert("RGB")
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8:
            # Floats may mean 0-1 or 0-255; guessing wrong would silently blank the image.
            raise ValueError(
                f"an image array must be uint8 (0-255), got {image.dtype}; convert it first"
            )
        return Image.fromarray(image).convert("RGB")
    if isinstance(image, (str, Path)):
        if str(image).startswith(("http://", "https://")):
            raise ValueError(
                f"image {str(image)[:80]!r} is a URL; turngym fetches nothing at run time: "
                "pass a PIL image, an array or a local file path"
            )
        with Image.open(image) as opened:
            return opened.convert("RGB")
    raise ValueError(
        f"an ImagePart's image must be a PIL image, an (H, W, C) array or a local path, "
        f"got {type(image).__name__}"
    )


def _images_of(messages: Sequence[Message]) -> list[Any]:
    return [image for m in messages for image in m.images]


def _added_token_ids(tokenizer: Any) -> set[int]:
    ids = set(getattr(tokenizer, "all_special_ids", []) or [])
    ids |= set((getattr(tokenizer, "added_tokens_decoder", None) or {}).keys())
    return ids


# ==========================================================================================
# Model inputs
# ==========================================================================================


def vision_forward_kwargs(
    model: Any,
    input_ids_BT: torch.Tensor,
    attention_BT: torch.Tensor,
    visions: Sequence[VisionInputs | None],
) -> dict[str, torch.Tensor]:
    """Keyword arguments that give a VLM's forward the images of a padded batch.

    Works for left padding (sampling) and right padding (training): each row's images are
    placed from its first attended token. Use the same function for both, so the trainer
    recomputes logprobs with exactly the pixels and positions the sampler used.

    Args:
        model: The VLM (a ``transformers`` model, possibly wrapped by peft).
        input_ids_BT: ``(B, T)`` padded token ids.
        attention_BT: ``(B, T)`` attention mask (1 on real tokens, contiguous per row).
        visions: One entry per row: its :class:`VisionInputs`, or None for a text-only row.

    Returns:
        ``{}`` when no row has an image. Patches layout: ``pixel_values``,
        ``image_grid_thw``, ``mm_token_type_ids`` and, for models with multimodal RoPE
        (Qwen2-VL family), ``position_ids`` ``(3, B, T)``. Tiles layout: ``pixel_values``
        ``(B, max_tiles, C, H, W)`` and ``pixel_attention_mask`` (rows padded with zero
        tiles, which the model drops).

    Raises:
        ValueError: The list does not match the batch, or an image's span does not hold its
            placeholder tokens in ``input_ids_BT`` (the records belong to other sequences).
    """
    B, T = input_ids_BT.shape
    if len(visions) != B:
        raise ValueError(f"got {len(visions)} VisionInputs for a batch of {B} rows")
    present = [v for v in visions if v is not None and v.images]
    if not present:
        return {}
    layouts = {(v.layout, v.image_token_id) for v in present}
    if len(layouts) != 1:
        raise ValueError(f"a batch mixes VisionInputs of different processors: {layouts}")
    layout, image_token_id = layouts.pop()
    device = input_ids_BT.device
    ids_cpu = input_ids_BT.detach().cpu()
    attn_cpu = attention_BT.detach().cpu()
    mm_types_BT = torch.zeros((B, T), dtype=torch.long)
    for row, vision in enumerate(visions):
        if vision is None:
            continue
        first = int(attn_cpu[row].argmax()) if bool(attn_cpu[row].any()) else 0
        length = int(attn_cpu[row].sum())
        for k, image in enumerate(vision.images):
            if image.start < 0 or image.end > length:
                raise ValueError(
                    f"row {row}: image {k} spans tokens {image.start}:{image.end} but the row "
                    f"has {length} tokens; the VisionInputs belong to another sequence"
                )
            span = ids_cpu[row, first + image.start : first + image.end]
            is_image = span == image_token_id
            if int(is_image.sum()) != image.num_image_tokens:
                raise ValueError(
                    f"row {row}: image {k} expects {image.num_image_tokens} image tokens at "
                    f"{image.start}:{image.end}, found {int(is_image.sum())}; the VisionInputs "
                    "belong to another sequence or were shifted wrongly"
                )
            mm_types_BT[row, first + image.start : first + image.end] = is_image.long()
        expected = sum(image.num_image_tokens for image in vision.images)
        found = int((ids_cpu[row] == image_token_id).sum())
        if found != expected:
            # The model fills every placeholder token with image features, so a stray one
            # (e.g. sampled by the policy) would misalign all images after it.
            raise ValueError(
                f"row {row} holds {found} image placeholder tokens but its images fill "
                f"{expected}; a placeholder outside the images (sampled by the policy, or in "
                "env text) cannot be fed to the model"
            )
    if layout == "patches":
        images = [image for v in visions if v is not None for image in v.images]
        kwargs: dict[str, torch.Tensor] = {
            "pixel_values": torch.cat([im.tensors["pixel_values"] for im in images]).to(device),
            "image_grid_thw": torch.cat([im.tensors["image_grid_thw"] for im in images]).to(device),
            "mm_token_type_ids": mm_types_BT.to(device),
        }
        rope_index = _find_rope_index(model)
        if rope_index is not None:
            # Multimodal RoPE: image tokens sit on a (t, h, w) grid, text follows the grid's
            # largest extent. Computed here from the attention mask, so left and right
            # padding give every real token the same position.
            positions, _ = rope_index(
                input_ids_BT,
                mm_token_type_ids=kwargs["mm_token_type_ids"],
                image_grid_thw=kwargs["image_grid_thw"],
                attention_mask=attention_BT,
            )
            kwargs["position_ids"] = positions
        return kwargs
    # Tiles: (B, max_tiles, C, H, W); zero tiles are padding the model removes.
    per_row = [
        [im.tensors for im in v.images] if v is not None and v.images else [] for v in visions
    ]
    sample = present[0].images[0].tensors
    tile_counts = [sum(int(t["pixel_values"].shape[0]) for t in row) for row in per_row]
    max_tiles = max(tile_counts)
    kwargs = {}
    for key, example in sample.items():
        out = torch.zeros((B, max_tiles, *example.shape[1:]), dtype=example.dtype)
        for row, tensors in enumerate(per_row):
            if tensors:
                stacked = torch.cat([t[key] for t in tensors])
                out[row, : stacked.shape[0]] = stacked
        kwargs[key] = out.to(device)
    return kwargs


def _find_rope_index(model: Any) -> Any:
    """The model's multimodal RoPE index function (Qwen2-VL family), or None."""
    for module in model.modules():
        fn = getattr(module, "get_rope_index", None)
        if callable(fn):
            return fn
    return None


# ==========================================================================================
# Loading
# ==========================================================================================


def load_processor(path: str | Path) -> Any:
    """Load a VLM's processor from a local folder, without torchvision if need be.

    ``transformers`` 5 builds the Qwen2-VL and SmolVLM processors with a video processor,
    which needs torchvision. Without torchvision, the same processor class is built without
    its video processor (images work exactly the same; videos are refused).

    Args:
        path: A folder with the processor's files (``processor_config.json`` or
            ``preprocessor_config.json``, tokenizer files).
    """
    from transformers import AutoProcessor
    from transformers.utils import is_torchvision_available

    try:
        return AutoProcessor.from_pretrained(path)
    except (ImportError, OSError):
        # OSError: a folder saved from an image-only processor (e.g. a training checkpoint)
        # has no video processor config for AutoProcessor to load.
        if is_torchvision_available():
            raise
        name = _processor_class_name(Path(path))
        if name is None:
            raise
        return image_only_processor_class(name).from_pretrained(path)


def image_only_processor_class(name: str) -> type:
    """A processor class like ``transformers.<name>`` built without a video processor.

    The class keeps its parent's name, so a saved config still names the real processor.
    """
    import transformers

    if name in _IMAGE_ONLY:
        return _IMAGE_ONLY[name]
    parent = getattr(transformers, name, None)
    if parent is None:
        raise ValueError(f"transformers has no processor class {name!r}")

    def __init__(self: Any, image_processor: Any = None, tokenizer: Any = None, **kwargs: Any):
        parent.__init__(
            self,
            image_processor=image_processor,
            tokenizer=tokenizer,
            video_processor=None,
            **kwargs,
        )

    cls = type(name, (parent,), {"__init__": __init__, "__module__": __name__})
    _IMAGE_ONLY[name] = cls
    return cls


_IMAGE_ONLY: dict[str, type] = {}


def _processor_class_name(path: Path) -> str | None:
    for file in ("processor_config.json", "preprocessor_config.json", "tokenizer_config.json"):
        if (path / file).exists():
            name = json.loads((path / file).read_text()).get("processor_class")
            if name:
                return str(name)
    return None


def is_vision_model(path: str | Path) -> bool:
    """Whether the model folder holds a vision-language model (its config has a vision part).

    Such models load with :func:`load_vision_model` (``AutoModelForCausalLM`` refuses them).
    """
    config = Path(path) / "config.json"
    if not config.exists():
        raise ValueError(f"{path} has no config.json; pass a model folder")
    return "vision_config" in json.loads(config.read_text())


def load_vision_model(path: str | Path, *, device: str = "auto", dtype: str = "auto") -> Any:
    """Load a VLM for image-text-to-text generation from a local folder.

    Args:
        path: The model folder (config and safetensors weights).
        device: ``auto``, ``cpu`` or ``cuda[:i]``.
        dtype: ``auto``, ``float32``, ``bfloat16`` or ``float16``.
    """
    from transformers import AutoModelForImageTextToText

    from turngym.agents.hf import pick_device, pick_dtype

    dev = pick_device(device)
    model = AutoModelForImageTextToText.from_pretrained(path, dtype=pick_dtype(dtype, dev))
    return model.to(dev)

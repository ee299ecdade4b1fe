"""Screenshots as shared, read-only observation images.

``ImagePart`` compares images by identity (pixels are not compared element-wise), and
Gymnasium's checker deep-copies observations before comparing them. Screenshots here are
therefore :class:`FrozenImage` objects: a PIL image whose ``copy.deepcopy`` returns itself
(the idiom for immutable values), interned per env by pixel content so that equal screens
are the same object. Do not draw on them; ``image.copy()`` gives an ordinary, mutable image.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

from PIL import Image


class FrozenImage(Image.Image):
    """A PIL image treated as immutable: ``deepcopy`` shares it instead of copying pixels."""

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenImage:
        return self

    def __copy__(self) -> FrozenImage:
        return self


def freeze(image: Image.Image) -> FrozenImage:
    """``image`` as a :class:`FrozenImage` (the same object, re-classed; pixels untouched)."""
    if not isinstance(image, FrozenImage):
        image.load()
        image.__class__ = FrozenImage
    return image  # type: ignore[return-value]


class ImageInterner:
    """Returns one shared :class:`FrozenImage` per distinct pixel content (LRU-bounded).

    Args:
        capacity: How many distinct images to remember.
    """

    def __init__(self, capacity: int = 64):
        if capacity <= 0:
            raise ValueError(f"capacity must be positive, got {capacity}")
        self.capacity = capacity
        self._images: OrderedDict[str, FrozenImage] = OrderedDict()

    def intern(self, image: Image.Image) -> FrozenImage:
        """The shared image with ``image``'s pixels (``image`` itself the first time)."""
        digest = f"{image.mode}{image.size}" + hashlib.sha1(image.tobytes()).hexdigest()
        found = self._images.get(digest)
        if found is not None:
            self._images.move_to_end(digest)
            return found
        frozen = freeze(image)
        self._images[digest] = frozen
        if len(self._images) > self.capacity:
            self._images.popitem(last=False)
        return frozen

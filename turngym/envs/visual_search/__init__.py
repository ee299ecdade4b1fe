"""``turngym/VisualSearch-v0``: find a small detail in a large image by cropping and zooming.

See :mod:`turngym.envs.visual_search.env` for the protocol and reward and
:mod:`turngym.envs.visual_search.scenes` for the scene generator.
"""

from turngym.envs.visual_search.env import VisualSearchEnv, normalize_answer
from turngym.envs.visual_search.oracle import VisualSearchOracle, random_reply
from turngym.envs.visual_search.scenes import SCENE_KINDS, Scene, generate_scene

__all__ = [
    "SCENE_KINDS",
    "Scene",
    "VisualSearchEnv",
    "VisualSearchOracle",
    "generate_scene",
    "normalize_answer",
    "random_reply",
]

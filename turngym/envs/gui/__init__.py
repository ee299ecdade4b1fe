"""Synthetic GUI environments rendered with Pillow: ``turngym/GUI-v0`` and
``turngym/GUIInverseDynamics-v0``.

See :mod:`turngym.envs.gui.env` for the protocols and rewards, :mod:`turngym.envs.gui.app`
for the app model and its accessibility tree, :mod:`turngym.envs.gui.tasks` for the task
generator and :mod:`turngym.envs.gui.oracle` for scripted policies.
"""

from turngym.envs.gui.actions import ActionParseError, GuiAction, parse_action
from turngym.envs.gui.app import App, Element
from turngym.envs.gui.env import GUIEnv, GUIInverseDynamicsEnv
from turngym.envs.gui.tasks import TASK_KINDS, Goal, generate_task

__all__ = [
    "TASK_KINDS",
    "ActionParseError",
    "App",
    "Element",
    "GUIEnv",
    "GUIInverseDynamicsEnv",
    "Goal",
    "GuiAction",
    "generate_task",
    "parse_action",
]

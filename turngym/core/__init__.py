"""The vocabulary every part of turngym speaks. Imports neither torch nor transformers."""

from turngym.core.checker import EnvCheckError, check_env
from turngym.core.messages import ContentPart, ImagePart, Message, TextPart, ToolCall
from turngym.core.registry import (
    EnvEntryPointError,
    UnknownEnvError,
    describe,
    make,
    multi_agent_api,
    register,
    registered_ids,
    spec,
)
from turngym.core.spaces import ConversationSpace, TextSpace
from turngym.core.trajectory import Segment, StopReason, Trajectory
from turngym.core.wrappers import TurnLimit

__all__ = [
    "ContentPart",
    "ConversationSpace",
    "EnvCheckError",
    "EnvEntryPointError",
    "ImagePart",
    "Message",
    "Segment",
    "StopReason",
    "TextPart",
    "TextSpace",
    "ToolCall",
    "Trajectory",
    "TurnLimit",
    "UnknownEnvError",
    "check_env",
    "describe",
    "make",
    "register",
    "multi_agent_api",
    "registered_ids",
    "spec",
]

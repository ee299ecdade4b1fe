"""turngym: reinforcement learning for multi-turn, tool-using LLM agents."""

from turngym import envs as _builtin_envs  # noqa: F401  (registers the built-in ids)
from turngym.core import (
    EnvCheckError,
    EnvEntryPointError,
    Message,
    Segment,
    StopReason,
    ToolCall,
    Trajectory,
    UnknownEnvError,
    check_env,
    describe,
    make,
    multi_agent_api,
    register,
    registered_ids,
    spec,
)

__version__ = "0.1.0"

__all__ = [
    "EnvCheckError",
    "EnvEntryPointError",
    "Message",
    "Segment",
    "StopReason",
    "ToolCall",
    "Trajectory",
    "UnknownEnvError",
    "check_env",
    "describe",
    "make",
    "register",
    "multi_agent_api",
    "registered_ids",
    "spec",
    "__version__",
]

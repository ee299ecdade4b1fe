"""``turngym/FunctionCalling-v0``: calling typed APIs correctly.

* :mod:`.apps`: the tool catalog, small apps (calendar, messages, files, bank, shop,
  conversions, lookups) over an in-memory per-episode world.
* :mod:`.tasks`: the seeded task generator (BFCL categories plus stateful multi-turn tasks) and
  the JSONL task loader.
* :mod:`.matching`: call matching and goal assertions (the rewards).
* :mod:`.retrieval`: BM25 top-k tool retrieval for large catalogs.
* :mod:`.env`: :class:`FunctionCallingEnv`.
"""

from turngym.envs.function_calling.apps import Apps, ToolError, build_tools, tool_schemas
from turngym.envs.function_calling.env import FunctionCallingEnv
from turngym.envs.function_calling.matching import (
    check_assertions,
    match_call,
    match_turn,
    values_equal,
)
from turngym.envs.function_calling.retrieval import rank_tools
from turngym.envs.function_calling.tasks import (
    CATEGORIES,
    FunctionCallingTaskGenerator,
    FunctionCallingTaskSet,
    load_tasks_jsonl,
    reference_solution,
)

__all__ = [
    "CATEGORIES",
    "Apps",
    "FunctionCallingEnv",
    "FunctionCallingTaskGenerator",
    "FunctionCallingTaskSet",
    "ToolError",
    "build_tools",
    "check_assertions",
    "load_tasks_jsonl",
    "match_call",
    "match_turn",
    "rank_tools",
    "reference_solution",
    "tool_schemas",
    "values_equal",
]

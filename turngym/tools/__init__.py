"""Things an agent can call, usable without any env. Imports neither torch nor transformers.

* :mod:`turngym.tools.base`: the :class:`Tool` class, the :func:`tool` decorator (JSON schema
  from a typed signature and a Google-style docstring), :class:`ToolArgumentError`.
* :mod:`turngym.tools.formats`: how calls are written in model text (``hermes``, ``python``).
* :mod:`turngym.tools.sandbox`: where untrusted code runs (:func:`make_sandbox`).
* :mod:`turngym.tools.python`: the :class:`PythonInterpreter` tool.
"""

from turngym.tools.base import FunctionTool, Tool, ToolArgumentError, tool
from turngym.tools.formats import (
    HermesFormat,
    ParseResult,
    PythonBlockFormat,
    ToolCallFormat,
    ToolCallParseError,
    get_format,
)
from turngym.tools.python import PythonInterpreter, format_exec_result
from turngym.tools.sandbox import ExecResult, LocalSandbox, Sandbox, make_sandbox

__all__ = [
    "ExecResult",
    "FunctionTool",
    "HermesFormat",
    "LocalSandbox",
    "ParseResult",
    "PythonBlockFormat",
    "PythonInterpreter",
    "Sandbox",
    "Tool",
    "ToolArgumentError",
    "ToolCallFormat",
    "ToolCallParseError",
    "format_exec_result",
    "get_format",
    "make_sandbox",
    "tool",
]

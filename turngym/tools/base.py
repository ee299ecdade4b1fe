"""Tools: named, described, JSON-schema-typed callables an agent can invoke.

A :class:`Tool` has a ``name``, a ``description`` and ``parameters`` (a JSON schema of its
keyword arguments). ``schema()`` gives the OpenAI-style function schema that chat templates
render; calling the tool validates the arguments against ``parameters`` first, so a model's bad
call becomes a :class:`ToolArgumentError` that names the argument, never a ``TypeError`` from
deep inside the tool.

Most tools are plain functions turned into tools by :func:`tool`, which derives the schema
from the typed signature and the Google-style docstring::

    @tool
    def add(a: int, b: int = 0) -> int:
        \"\"\"Add two integers.

        Args:
            a: The first addend.
            b: The second addend.
        \"\"\"
        return a + b

    add.schema()["function"]["parameters"]["required"]  # ["a"]
    add(a=2, b=3)  # "5"

What this does NOT cover: running untrusted code (see ``turngym.tools.sandbox``) or parsing
calls out of model text (see ``turngym.tools.formats``).
"""

from __future__ import annotations

import enum
import inspect
import json
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Union

__all__ = [
    "FunctionTool",
    "Tool",
    "ToolArgumentError",
    "parse_google_docstring",
    "schema_from_function",
    "tool",
    "validate_arguments",
]

_JSON_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "array": "an array",
    "object": "an object",
    "null": "null",
}


class ToolArgumentError(ValueError):
    """A tool was called with arguments that do not match its schema.

    The message names the tool, the argument and what was expected, so that it can be shown to
    the model as is.
    """

    def __init__(self, tool_name: str, argument: str | None, message: str):
        self.tool_name = tool_name
        """The tool that was called."""
        self.argument = argument
        """The offending argument (None when the problem is the arguments as a whole)."""
        where = f"argument '{argument}'" if argument is not None else "arguments"
        super().__init__(f"tool '{tool_name}': {where} {message}")


# ---- the Tool base class ---------------------------------------------------------------


class Tool:
    """Base class of tools.

    Subclasses set ``name``, ``description`` and ``parameters`` (class attributes or in
    ``__init__``) and implement :meth:`run`. Calling the tool validates the keyword arguments
    against ``parameters`` and returns ``run``'s text.
    """

    name: str
    """The name models call the tool by (``[A-Za-z0-9_-]``, as function-calling APIs require)."""
    description: str
    """What the tool does, for the model."""
    parameters: dict[str, Any]
    """JSON schema (``{"type": "object", "properties": ..., "required": ...}``) of the arguments."""

    def schema(self) -> dict[str, Any]:
        """The OpenAI-style schema: ``{"type": "function", "function": {name, description, parameters}}``."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": json.loads(json.dumps(self.parameters)),
            },
        }

    def validate(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """Check ``arguments`` against ``parameters``; return them, coerced (int to float).

        Raises:
            ToolArgumentError: An argument is missing, unknown or of the wrong type.
        """
        return validate_arguments(self.name, self.parameters, arguments)

    def run(self, **kwargs: Any) -> str:
        """Do the work with validated arguments; return the text shown to the model."""
        raise NotImplementedError

    def __call__(self, **kwargs: Any) -> str:
        """Validate ``kwargs`` and run the tool.

        Raises:
            ToolArgumentError: The arguments do not match the schema.
        """
        return self.run(**self.validate(kwargs))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    @classmethod
    def from_function(
        cls, fn: Callable[..., Any], *, name: str | None = None, description: str | None = None
    ) -> FunctionTool:
        """A tool calling ``fn``, with its schema derived from the signature and docstring.

        Args:
            fn: A function whose parameters all have type annotations.
            name: The tool name; defaults to ``fn.__name__``.
            description: Overrides the docstring's first paragraph.

        Raises:
            TypeError: A parameter has no annotation or an unsupported type, or the docstring
                documents a parameter the function does not have.
        """
        return FunctionTool(fn, name=name, description=description)


class FunctionTool(Tool):
    """A tool wrapping a Python function (built by :func:`tool` / :meth:`Tool.from_function`).

    The function's return value becomes the tool's text: a string as is, ``None`` as an empty
    string, anything else as JSON (or ``str()`` when it is not JSON-serializable).
    """

    def __init__(
        self, fn: Callable[..., Any], *, name: str | None = None, description: str | None = None
    ):
        derived = schema_from_function(fn)
        self.fn = fn
        """The wrapped function."""
        self.name = name or derived["name"]
        self.description = description if description is not None else derived["description"]
        self.parameters = derived["parameters"]
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn

    def run(self, **kwargs: Any) -> str:
        result = self.fn(**kwargs)
        if isinstance(result, str):
            return result
        if result is None:
            return ""
        try:
            return json.dumps(result, ensure_ascii=False)
        except (TypeError, ValueError):
            return str(result)


@typing.overload
def tool(fn: Callable[..., Any], /) -> FunctionTool: ...


@typing.overload
def tool(
    *, name: str | None = None, description: str | None = None
) -> Callable[[Callable[..., Any]], FunctionTool]: ...


def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
) -> FunctionTool | Callable[[Callable[..., Any]], FunctionTool]:
    """Decorator turning a typed, documented function into a :class:`Tool`.

    Use bare (``@tool``) or with overrides (``@tool(name="search")``).

    Args:
        fn: The function (when used bare).
        name: The tool name; defaults to the function's name.
        description: Overrides the docstring's first paragraph.
    """
    if fn is not None:
        return FunctionTool(fn, name=name, description=description)

    def decorate(f: Callable[..., Any]) -> FunctionTool:
        return FunctionTool(f, name=name, description=description)

    return decorate


# ---- schema from a signature -----------------------------------------------------------


def schema_from_function(fn: Callable[..., Any]) -> dict[str, Any]:
    """``{"name", "description", "parameters"}`` derived from ``fn``'s signature and docstring.

    Supported annotations: ``str``, ``int``, ``float``, ``bool``, ``list[X]``, ``tuple[X, ...]``,
    ``dict`` / ``dict[str, X]``, ``Optional[X]`` / ``X | None``, unions of these, ``Literal[...]``,
    ``Enum`` subclasses and ``Any``. Parameters without a default are required.

    Raises:
        TypeError: A parameter is ``*args``/``**kwargs``, has no annotation or an unsupported
            type, or the docstring documents a parameter the function does not have.
    """
    fn_name = getattr(fn, "__name__", type(fn).__name__)
    try:
        hints = typing.get_type_hints(fn)
    except Exception as exc:  # noqa: BLE001 - any failure to resolve annotations is reported
        raise TypeError(f"cannot resolve the type annotations of {fn_name}: {exc}") from exc
    description, arg_docs = parse_google_docstring(inspect.getdoc(fn) or "")
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TypeError(
                f"{fn_name}: *args/**kwargs cannot be described by a JSON schema; "
                f"list the parameters explicitly (found '{param.name}')"
            )
        if param.name not in hints:
            raise TypeError(f"{fn_name}: parameter '{param.name}' needs a type annotation")
        try:
            prop = _type_schema(hints[param.name])
        except TypeError as exc:
            raise TypeError(f"{fn_name}: parameter '{param.name}': {exc}") from exc
        if param.name in arg_docs:
            prop["description"] = arg_docs[param.name]
        if param.default is param.empty:
            required.append(param.name)
        elif _is_json_value(param.default):
            prop["default"] = param.default
        properties[param.name] = prop
    unknown = sorted(set(arg_docs) - set(properties))
    if unknown:
        raise TypeError(
            f"{fn_name}: the docstring's Args section documents {unknown}, which are not parameters"
        )
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    return {"name": fn_name, "description": description, "parameters": parameters}


def _is_json_value(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _type_schema(tp: Any) -> dict[str, Any]:
    """JSON schema of one Python type annotation."""
    if tp is Any:
        return {}
    if tp is type(None):
        return {"type": "null"}
    simple = {str: "string", int: "integer", float: "number", bool: "boolean"}
    if tp in simple:
        return {"type": simple[tp]}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        values = [m.value for m in tp]
        return {**_literal_type(values), "enum": values}
    if tp in (list, tuple, Sequence):
        return {"type": "array"}
    if tp in (dict, Mapping):
        return {"type": "object"}
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        values = list(args)
        return {**_literal_type(values), "enum": values}
    if origin is Union or (hasattr(types, "UnionType") and origin is types.UnionType):
        nullable = type(None) in args
        subs = [_type_schema(a) for a in args if a is not type(None)]
        if len(subs) == 1:
            out = subs[0]
        elif all(set(s) == {"type"} and isinstance(s["type"], str) for s in subs):
            out = {"type": [s["type"] for s in subs]}
        else:
            out = {"anyOf": subs}
        if nullable:
            out["nullable"] = True
        return out
    if origin in (list, Sequence):
        return {"type": "array", "items": _type_schema(args[0])} if args else {"type": "array"}
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": _type_schema(args[0])}
        raise TypeError(f"only tuple[X, ...] is supported, not {tp}")
    if origin in (dict, Mapping):
        if args and args[0] is not str:
            raise TypeError(f"JSON objects have string keys; {tp} does not")
        out = {"type": "object"}
        if len(args) == 2 and args[1] is not Any:
            out["additionalProperties"] = _type_schema(args[1])
        return out
    raise TypeError(
        f"unsupported type {tp!r} (use str, int, float, bool, list, dict, Literal, ...)"
    )


def _literal_type(values: list[Any]) -> dict[str, Any]:
    kinds = {_json_type_of(v) for v in values}
    return {"type": kinds.pop()} if len(kinds) == 1 else {}


# ---- docstrings ------------------------------------------------------------------------

_SECTION_RE = re.compile(
    r"^(Args|Arguments|Parameters|Returns|Return|Yields|Raises|Examples?|Notes?|Warnings?|"
    r"See Also|Attributes|Todo|References)\s*:\s*$"
)
_ARG_LINE_RE = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def parse_google_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into its first paragraph and its ``Args:`` entries.

    Args:
        doc: The docstring (indentation is normalized).

    Returns:
        ``(description, {argument: description})``; wrapped lines are joined with spaces.
    """
    lines = inspect.cleandoc(doc).splitlines() if doc else []
    summary: list[str] = []
    for line in lines:
        if not line.strip() or _SECTION_RE.match(line.strip()):
            break
        summary.append(line.strip())
    args: dict[str, str] = {}
    in_args = False
    arg_indent: int | None = None
    current: str | None = None
    for line in lines:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if indent == 0 and stripped:
            in_args = stripped in ("Args:", "Arguments:", "Parameters:")
            arg_indent, current = None, None
            continue
        if not in_args or not stripped:
            continue
        if arg_indent is None:
            arg_indent = indent
        match = _ARG_LINE_RE.match(stripped) if indent <= arg_indent else None
        if match:
            current = match.group(1)
            args[current] = match.group(2).strip()
        elif current is not None:
            args[current] = f"{args[current]} {stripped}".strip()
    return " ".join(summary), args


# ---- validation ------------------------------------------------------------------------


def validate_arguments(
    tool_name: str, parameters: Mapping[str, Any], arguments: Any
) -> dict[str, Any]:
    """Check ``arguments`` against an object schema; return a coerced copy.

    Supports the subset of JSON schema that :func:`schema_from_function` writes (``type`` as a
    string or list, ``enum``, ``items``, ``properties``, ``required``, ``additionalProperties``,
    ``anyOf``, ``nullable``). Integers are accepted (and converted) where numbers are expected.

    Raises:
        ToolArgumentError: Naming the tool, the argument and the expected type.
    """
    if not isinstance(arguments, Mapping):
        raise ToolArgumentError(
            tool_name,
            None,
            f"must be an object of keyword arguments, got {_json_type_of(arguments)}",
        )
    properties: Mapping[str, Any] = parameters.get("properties", {})
    unknown = [k for k in arguments if k not in properties]
    if unknown and parameters.get("additionalProperties", True) is False:
        expected = ", ".join(f"'{k}'" for k in properties) or "none"
        raise ToolArgumentError(
            tool_name, str(unknown[0]), f"is not a parameter of this tool (expected: {expected})"
        )
    for key in parameters.get("required", []):
        if key not in arguments:
            raise ToolArgumentError(
                tool_name, key, f"is required ({_describe(properties.get(key, {}))}) but missing"
            )
    out: dict[str, Any] = {}
    for key, value in arguments.items():
        out[key] = _check(value, properties.get(key, {}), tool_name, str(key))
    return out


def _check(value: Any, schema: Mapping[str, Any], tool_name: str, path: str) -> Any:
    if value is None and schema.get("nullable"):
        return None
    if "enum" in schema and value not in schema["enum"]:
        choices = ", ".join(json.dumps(v) for v in schema["enum"])
        raise ToolArgumentError(tool_name, path, f"must be one of {choices}, got {_show(value)}")
    if "anyOf" in schema:
        for option in schema["anyOf"]:
            try:
                return _check(value, option, tool_name, path)
            except ToolArgumentError:
                continue
        raise ToolArgumentError(
            tool_name,
            path,
            f"must be {_describe(schema)}, got {_json_type_of(value)} {_show(value)}",
        )
    declared = schema.get("type")
    if declared is None:
        return value
    kinds = [declared] if isinstance(declared, str) else list(declared)
    for kind in kinds:
        if _matches(value, kind):
            return _convert(value, kind, schema, tool_name, path)
    raise ToolArgumentError(
        tool_name, path, f"must be {_describe(schema)}, got {_json_type_of(value)} {_show(value)}"
    )


def _matches(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "array":
        return isinstance(value, (list, tuple))
    if kind == "object":
        return isinstance(value, Mapping)
    if kind == "null":
        return value is None
    return True


def _convert(value: Any, kind: str, schema: Mapping[str, Any], tool_name: str, path: str) -> Any:
    if kind == "number":
        return float(value)
    if kind == "array":
        items = schema.get("items", {})
        return [_check(v, items, tool_name, f"{path}[{i}]") for i, v in enumerate(value)]
    if kind == "object":
        extra = schema.get("additionalProperties", {})
        props = schema.get("properties", {})
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ToolArgumentError(tool_name, path, f"must have string keys, got {k!r}")
            sub = props.get(k, extra if isinstance(extra, Mapping) else {})
            out[k] = _check(v, sub, tool_name, f"{path}.{k}")
        return out
    return value


def _json_type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _describe(schema: Mapping[str, Any]) -> str:
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    if "anyOf" in schema:
        text = " or ".join(_describe(s) for s in schema["anyOf"])
    else:
        declared = schema.get("type")
        if declared is None:
            return "any value"
        kinds = [declared] if isinstance(declared, str) else list(declared)
        names = []
        for kind in kinds:
            name = _JSON_TYPE_NAMES.get(kind, kind)
            item_kind = schema.get("items", {}).get("type") if kind == "array" else None
            if isinstance(item_kind, str) and item_kind in _JSON_TYPE_NAMES:
                name += f" of {_JSON_TYPE_NAMES[item_kind].split(' ', 1)[-1]}s"
            names.append(name)
        text = " or ".join(names)
    return text + (" or null" if schema.get("nullable") else "")


def _show(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return f"({text[:limit]}...)" if len(text) > limit else f"({text})"

"""Tool schemas derived from signatures and docstrings; argument validation."""

from __future__ import annotations

import subprocess
import sys
from typing import Any, Literal, Optional

import pytest

from turngym.tools import FunctionTool, Tool, ToolArgumentError, tool
from turngym.tools.base import parse_google_docstring


@tool
def search(
    query: str,
    top_k: int = 5,
    threshold: float = 0.5,
    exact: bool = False,
    tags: list[str] | None = None,
    mode: Literal["bm25", "dense"] = "bm25",
    filters: dict[str, int] | None = None,
    weights: Optional[list[float]] = None,  # noqa: UP045 - Optional is part of what is tested
) -> list[str]:
    """Search the corpus for passages.

    Longer explanation that is not part of the description.

    Args:
        query: What to look for.
        top_k: How many passages to return,
            at most.
        threshold (float): Minimum score.
        exact: Match the query exactly.
        tags: Only passages with these tags.
        mode: The retriever.
        filters: Field filters.
        weights: Per-field weights.

    Returns:
        The passages.
    """
    return [query] * top_k


def test_schema_shape_and_description():
    schema = search.schema()
    assert schema["type"] == "function"
    fn = schema["function"]
    assert fn["name"] == "search"
    assert fn["description"] == "Search the corpus for passages."
    assert fn["parameters"]["type"] == "object"
    assert fn["parameters"]["required"] == ["query"]
    assert fn["parameters"]["additionalProperties"] is False


def test_property_types_and_descriptions():
    props = search.parameters["properties"]
    assert props["query"] == {"type": "string", "description": "What to look for."}
    assert props["top_k"]["type"] == "integer"
    assert props["top_k"]["default"] == 5
    assert props["top_k"]["description"] == "How many passages to return, at most."
    assert props["threshold"]["type"] == "number"
    assert props["threshold"]["description"] == "Minimum score."
    assert props["exact"]["type"] == "boolean"
    assert props["tags"]["type"] == "array"
    assert props["tags"]["items"] == {"type": "string"}
    assert props["tags"]["nullable"] is True
    assert props["mode"]["enum"] == ["bm25", "dense"]
    assert props["mode"]["type"] == "string"
    assert props["filters"]["type"] == "object"
    assert props["filters"]["additionalProperties"] == {"type": "integer"}
    assert props["weights"]["items"] == {"type": "number"}
    assert props["weights"]["nullable"] is True


def test_schema_is_a_copy():
    schema = search.schema()
    schema["function"]["parameters"]["required"].append("top_k")
    assert search.parameters["required"] == ["query"]


def test_call_returns_text_and_coerces_int_to_float():
    @tool
    def scale(x: float, factor: float = 2.0) -> float:
        """Scale a number."""
        assert isinstance(x, float)
        return x * factor

    assert scale(x=3) == "6.0"
    assert search(query="a", top_k=2) == '["a", "a"]'


def test_from_function_and_overrides():
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    t = Tool.from_function(add, name="plus", description="Adds.")
    assert isinstance(t, FunctionTool)
    assert t.name == "plus" and t.description == "Adds."
    assert t(a=1, b=2) == "3"

    @tool(name="minus")
    def sub(a: int, b: int) -> int:
        """Subtract."""
        return a - b

    assert sub.name == "minus" and sub(a=5, b=2) == "3"


@pytest.mark.parametrize(
    "kwargs, argument, fragment",
    [
        ({}, "query", "is required (a string) but missing"),
        ({"query": "q", "topk": 3}, "topk", "is not a parameter of this tool"),
        ({"query": 3}, "query", "must be a string, got integer (3)"),
        ({"query": "q", "top_k": "5"}, "top_k", "must be an integer, got string ('5')"),
        ({"query": "q", "top_k": True}, "top_k", "must be an integer, got boolean"),
        ({"query": "q", "exact": "yes"}, "exact", "must be a boolean"),
        ({"query": "q", "tags": ["a", 2]}, "tags[1]", "must be a string, got integer"),
        ({"query": "q", "tags": "a"}, "tags", "must be an array of strings or null"),
        ({"query": "q", "mode": "sparse"}, "mode", 'must be one of "bm25", "dense"'),
        ({"query": "q", "filters": {"year": "2020"}}, "filters.year", "must be an integer"),
    ],
)
def test_bad_arguments_raise_tool_argument_error(
    kwargs: dict[str, Any], argument: str, fragment: str
) -> None:
    with pytest.raises(ToolArgumentError) as info:
        search(**kwargs)
    assert info.value.argument == argument
    assert info.value.tool_name == "search"
    message = str(info.value)
    assert message.startswith(f"tool 'search': argument '{argument}'")
    assert fragment in message


def test_none_allowed_for_optional():
    assert search(query="q", tags=None, top_k=1) == '["q"]'


@pytest.mark.parametrize(
    "source, fragment",
    [
        ("def f(x): pass", "needs a type annotation"),
        ("def f(*args: int): pass", "*args/**kwargs"),
        ("def f(x: set[int]): pass", "unsupported type"),
        ("def f(x: dict[int, str]): pass", "string keys"),
        ('def f(x: int):\n    """Doc.\n\n    Args:\n        y: nope.\n    """', "documents ['y']"),
    ],
)
def test_unsupported_signatures_fail_at_definition(source: str, fragment: str) -> None:
    namespace: dict[str, Any] = {}
    exec(source, namespace)
    with pytest.raises(TypeError) as info:
        tool(namespace["f"])
    assert fragment in str(info.value)


def test_parse_google_docstring_sections():
    description, args = parse_google_docstring(
        """First line
        continues here.

        Args:
            a (int): Alpha
                wrapped.
            b: Beta.

        Raises:
            ValueError: never an argument.
        """
    )
    assert description == "First line continues here."
    assert args == {"a": "Alpha wrapped.", "b": "Beta."}


def test_tools_do_not_import_torch():
    code = (
        "import sys, turngym.tools, turngym.envs.code_interpreter; "
        "bad = [m for m in ('torch', 'transformers') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

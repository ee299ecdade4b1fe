"""Tool-call formats: Hermes ``<tool_call>`` JSON and fenced python blocks."""

from __future__ import annotations

import pytest

from turngym.core import ToolCall
from turngym.tools import HermesFormat, PythonBlockFormat, get_format

# ---- hermes ----------------------------------------------------------------------------


def test_hermes_single_and_multiple_calls():
    text = (
        "Let me check.\n"
        '<tool_call>\n{"name": "search", "arguments": {"query": "rl", "top_k": 2}}\n</tool_call>\n'
        '<tool_call>{"name": "python", "arguments": {"code": "print(1)\nprint(2)"}}</tool_call>'
    )
    result = HermesFormat().parse(text)
    assert result.ok and result.attempted
    assert result.calls == [
        ToolCall("search", {"query": "rl", "top_k": 2}),
        ToolCall("python", {"code": "print(1)\nprint(2)"}),
    ]


def test_hermes_lenient_argument_forms():
    fmt = HermesFormat()
    as_string = fmt.parse('<tool_call>{"name": "f", "arguments": "{\\"x\\": 1}"}</tool_call>')
    assert as_string.calls == [ToolCall("f", {"x": 1})]
    no_args = fmt.parse('<tool_call>{"name": "now"}</tool_call>')
    assert no_args.calls == [ToolCall("now", {})]
    parameters = fmt.parse('<tool_call>{"name": "f", "parameters": {"y": 2}}</tool_call>')
    assert parameters.calls == [ToolCall("f", {"y": 2})]


@pytest.mark.parametrize(
    "text, fragment",
    [
        ('<tool_call>{"name": "f", "arguments": {</tool_call>', "invalid JSON"),
        ('<tool_call>{"arguments": {"x": 1}}</tool_call>', '"name"'),
        ('<tool_call>{"name": "", "arguments": {}}</tool_call>', '"name"'),
        ('<tool_call>{"name": "f", "arguments": [1, 2]}</tool_call>', "must be a JSON object"),
        ('<tool_call>["f", {}]</tool_call>', "must hold a JSON object"),
        ('<tool_call>{"name": "f", "arguments": {}}', "unclosed <tool_call>"),
        ('{"name": "f"}</tool_call>', "without a matching <tool_call>"),
    ],
)
def test_hermes_malformed_calls_are_structured_errors(text: str, fragment: str) -> None:
    result = HermesFormat().parse(text)
    assert not result.ok and result.attempted
    assert result.calls == []
    assert len(result.errors) == 1
    assert fragment in result.errors[0].message
    assert result.errors[0].raw


def test_hermes_good_and_bad_calls_together():
    text = (
        '<tool_call>{"name": "a", "arguments": {}}</tool_call>'
        "<tool_call>{oops}</tool_call>"
        '<tool_call>{"name": "b", "arguments": {}}</tool_call>'
    )
    result = HermesFormat().parse(text)
    assert [c.name for c in result.calls] == ["a", "b"]
    assert len(result.errors) == 1


def test_hermes_no_calls():
    result = HermesFormat().parse("Just text, no calls.")
    assert result.ok and not result.attempted


def test_hermes_render_round_trip_and_instructions():
    fmt = HermesFormat()
    calls = [ToolCall("python", {"code": 'print("hi")\nx = 1'}), ToolCall("f", {"n": 3})]
    assert fmt.parse(fmt.render(calls)).calls == calls
    schema = {"type": "function", "function": {"name": "f", "description": "d", "parameters": {}}}
    text = fmt.instructions([schema])
    assert "<tools>" in text and '"name": "f"' in text and "<tool_call>" in text


def test_hermes_strip_calls():
    fmt = HermesFormat()
    text = 'a <tool_call>{"name": "f"}</tool_call> b <tool_call>{"name": "g"'
    assert fmt.strip_calls(text) == "a  b "


# ---- python blocks ---------------------------------------------------------------------


def test_python_blocks_in_order_with_py_alias():
    text = "First:\n```python\nx = 1\nprint(x)\n```\nthen\n```py\nprint(x + 1)\n```\n"
    result = PythonBlockFormat().parse(text)
    assert result.ok
    assert result.calls == [
        ToolCall("python", {"code": "x = 1\nprint(x)\n"}),
        ToolCall("python", {"code": "print(x + 1)\n"}),
    ]


def test_python_ignores_other_fences_and_inline_code():
    text = (
        "Output:\n```\n```python\nnot code\n```\nand ```python x``` inline\n```text\nprint(1)\n```"
    )
    result = PythonBlockFormat().parse(text)
    assert result.calls == [] and result.ok and not result.attempted


def test_python_unclosed_and_empty_blocks_are_errors():
    unclosed = PythonBlockFormat().parse("```python\nprint(1)\n")
    assert not unclosed.ok and unclosed.calls == []
    assert "unclosed" in unclosed.errors[0].message
    assert "print(1)" in unclosed.errors[0].raw
    empty = PythonBlockFormat().parse("```python\n\n```")
    assert [e.message for e in empty.errors] == ["empty ```python block"]


def test_python_closing_fence_on_the_code_line():
    result = PythonBlockFormat().parse("```python\nprint(2 + 2)```")
    assert result.calls == [ToolCall("python", {"code": "print(2 + 2)\n"})]


def test_python_longer_fence_holds_inner_backticks():
    text = "````python\ns = '''\n```\n'''\nprint(s)\n````"
    result = PythonBlockFormat().parse(text)
    assert result.calls == [ToolCall("python", {"code": "s = '''\n```\n'''\nprint(s)\n"})]


def test_python_render_round_trip_and_strip():
    fmt = PythonBlockFormat()
    calls = [ToolCall("python", {"code": "print(1)\n"}), ToolCall("python", {"code": "y = 2\n"})]
    rendered = fmt.render(calls)
    assert fmt.parse(rendered).calls == calls
    assert fmt.strip_calls("a\n```python\nprint('\\\\boxed{1}')\n```\nb").strip() == "a\nb"
    assert "```python" in fmt.instructions([])


def test_get_format():
    assert isinstance(get_format("hermes"), HermesFormat)
    assert isinstance(get_format("python"), PythonBlockFormat)
    assert get_format("python") is not get_format("python")
    with pytest.raises(ValueError, match="known formats: hermes, python"):
        get_format("xml")

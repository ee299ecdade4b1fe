"""PythonInterpreter: state by replay, output formatting, argument validation."""

from __future__ import annotations

import pytest

from turngym.tools import PythonInterpreter, ToolArgumentError, format_exec_result
from turngym.tools.sandbox import ExecResult, LocalSandbox


@pytest.fixture
def python() -> PythonInterpreter:
    interpreter = PythonInterpreter(LocalSandbox(timeout_s=5.0), timeout_s=0.5)
    yield interpreter
    interpreter.close()


def test_state_persists_and_replay_is_silent(python: PythonInterpreter) -> None:
    assert python(code="x = 20\nprint('set x')") == "set x"
    assert python(code="def f(n):\n    return n + x\n") == "[no output]"
    assert python(code="print(f(22))") == "42"  # nothing printed again by the replay
    assert len(python.cells) == 3


def test_last_expression_is_shown(python: PythonInterpreter) -> None:
    assert python(code="y = 6\ny * 7") == "42"
    assert python(code="'text'") == "'text'"
    assert python(code="None") == "[no output]"


def test_error_traceback_names_cells_and_failed_cells_are_not_replayed(
    python: PythonInterpreter,
) -> None:
    python(code="def g(n):\n    return 1 / n\n")
    text = python(code="counter = 1\ng(0)")
    assert "ZeroDivisionError: division by zero" in text
    assert 'File "<cell 2>", line 2' in text
    assert 'File "<cell 1>", line 2, in g' in text
    assert "_turngym_driver" not in text
    assert len(python.cells) == 1
    assert "NameError" in python(code="print(counter)")


def test_syntax_error(python: PythonInterpreter) -> None:
    text = python(code="print(")
    assert "SyntaxError" in text and "Traceback" not in text


def test_timeout_note(python: PythonInterpreter) -> None:
    text = python(code="print('start')\nwhile True:\n    pass")
    assert text.splitlines() == ["start", "[timed out after 0.5s]"]


def test_reset_forgets_state(python: PythonInterpreter) -> None:
    python(code="z = 1")
    python.reset()
    assert python.cells == ()
    assert "NameError" in python(code="z")


def test_keep_state_false() -> None:
    interpreter = PythonInterpreter(LocalSandbox(timeout_s=5.0), keep_state=False)
    try:
        interpreter(code="a = 1")
        assert "NameError" in interpreter(code="a")
    finally:
        interpreter.close()


def test_arguments_are_validated(python: PythonInterpreter) -> None:
    with pytest.raises(ToolArgumentError, match="argument 'code' must be a string"):
        python(code=["print(1)"])
    with pytest.raises(ToolArgumentError, match="argument 'code' is required"):
        python()
    assert python.schema()["function"]["name"] == "python"


def test_format_exec_result_notes_and_trimming() -> None:
    long_err = "\n".join(f"line {i}" for i in range(50))
    text = format_exec_result(ExecResult("out\n", long_err, 1, "error", 0.1), max_stderr_lines=5)
    assert text.splitlines() == [
        "out",
        "[... 45 earlier lines omitted]",
        "line 45",
        "line 46",
        "line 47",
        "line 48",
        "line 49",
    ]
    assert (
        format_exec_result(ExecResult("", "", -9, "timeout", 5.0), timeout_s=5)
        == "[timed out after 5s]"
    )
    assert "[output truncated" in format_exec_result(
        ExecResult("x" * 10, "", -9, "output_truncated", 0.1)
    )
    assert format_exec_result(ExecResult("", "MemoryError\n", 1, "oom", 0.1)).endswith(
        "[out of memory]"
    )
    assert format_exec_result(ExecResult("", "", 3, "error", 0.1)) == "[exit code 3]"
    assert format_exec_result(ExecResult("", "", -11, "killed", 0.1)) == "[killed by signal 11]"
    assert format_exec_result(ExecResult("", "", 0, "ok", 0.1)) == "[no output]"

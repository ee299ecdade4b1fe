"""PythonInterpreter with state kept in a sandbox session (local and bwrap)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from turngym.tools import PythonInterpreter
from turngym.tools.sandbox import RESTART_NOTE, ExecResult, find_bwrap, make_sandbox


@pytest.fixture(params=["local", "bwrap"])
def python(request: pytest.FixtureRequest) -> Iterator[PythonInterpreter]:
    if request.param == "bwrap" and find_bwrap() is None:
        pytest.skip("bubblewrap is not installed (apt-get install bubblewrap)")
    interpreter = PythonInterpreter(
        make_sandbox(request.param, timeout_s=5.0), timeout_s=0.5, state="session"
    )
    yield interpreter
    interpreter.close()


def test_state_persists_and_side_effects_happen_once(python: PythonInterpreter) -> None:
    assert python.state == "session"
    assert python(code="x = 20\nprint('set x')") == "set x"
    assert python(code="def f(n):\n    return n + x\n") == "[no output]"
    assert python(code="with open('log', 'a') as fh:\n    fh.write('.')") == "[no output]"
    assert python(code="print(f(22))") == "42"
    assert python(code="open('log').read()") == "'.'"  # appended once, not on every call
    assert len(python.cells) == 5


def test_errors_keep_partial_effects_and_name_cells(python: PythonInterpreter) -> None:
    python(code="def g(n):\n    return 1 / n\n")
    text = python(code="counter = 1\ng(0)")
    assert "ZeroDivisionError: division by zero" in text
    assert 'File "<cell 2>", line 2' in text and 'File "<cell 1>", line 2, in g' in text
    assert "_turngym" not in text
    assert python(code="counter") == "1"


def test_timeout_restarts_the_session_and_says_so(python: PythonInterpreter) -> None:
    python(code="z = 1")
    assert python(code="print('start', flush=True)\nwhile True:\n    pass").splitlines() == [
        "start",
        "[timed out after 0.5s]",
    ]
    text = python(code="print('after')")
    assert text.splitlines() == ["after", RESTART_NOTE]
    assert python.cells == ("print('after')",)
    assert "NameError" in python(code="z")


def test_reset_starts_a_fresh_session(python: PythonInterpreter) -> None:
    python(code="w = 1")
    python.reset()
    assert python.cells == ()
    text = python(code="w")
    assert "NameError" in text and RESTART_NOTE not in text


def test_state_choice() -> None:
    class NoSessions:
        def run(self, code: str, *, timeout: float | None = None) -> ExecResult:
            return ExecResult("", "", 0, "ok", 0.0)

        def close(self) -> None:
            pass

    with pytest.raises(ValueError, match="needs a sandbox with session"):
        PythonInterpreter(NoSessions(), state="session")
    assert PythonInterpreter(NoSessions(), state="auto").state == "replay"
    auto = PythonInterpreter(make_sandbox("local"), state="auto")
    assert auto.state == "session"
    auto.close()
    with pytest.raises(ValueError, match="state must be"):
        PythonInterpreter(NoSessions(), state="kernel")  # type: ignore[arg-type]

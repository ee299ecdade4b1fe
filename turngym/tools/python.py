"""``PythonInterpreter``: a ``python(code)`` tool with notebook-like state, over any Sandbox.

State is kept within an episode in one of two ways (``state=``):
    * ``"session"``: one persistent interpreter per episode (a sandbox session, see
      :mod:`turngym.tools.sandbox.session`), like a notebook kernel: each call runs only the
      new cell, side effects happen once, files persist, and a failed cell keeps its partial
      effects. A call that times out (or floods output, or crashes the interpreter) ends the
      session: the next call starts a fresh one and its output says earlier state was lost.
    * ``"replay"`` (the default): each call runs in a fresh sandbox process, described below.
    ``"auto"`` picks ``session`` when the sandbox can start sessions, else ``replay``.

With replay, each call runs in a fresh sandbox process. State is kept by **replay**: the
program sent to the sandbox first re-runs every earlier successful cell with its output
suppressed (at the file-descriptor level, so child processes are silent too), then runs the
new cell. The new cell's last expression, if any, is printed like in a notebook.

Limits of replay, by design:
    * side effects are replayed: a cell that appends to a file, draws random numbers or reads
      the clock does so again on every later call, and may see different values;
    * the timeout covers the replay too, so slow cells make every later call slower;
    * only cells that ended ``ok`` are replayed: the effects of a cell that raised halfway are
      lost (unlike Jupyter);
    * each call gets a fresh working directory, so files exist only as replay recreates them.
"""

from __future__ import annotations

from typing import Any, Literal

from turngym.tools.base import Tool
from turngym.tools.sandbox import RESTART_NOTE, ExecResult, Sandbox, SandboxSession, make_sandbox

__all__ = ["PythonInterpreter", "format_exec_result"]

_DRIVER = """\
def _turngym_driver(cells):
    import ast, linecache, os, sys, traceback
    ns = sys.modules["__main__"].__dict__
    ns.pop("_turngym_driver", None)
    names = [f"<cell {i + 1}>" for i in range(len(cells))]
    for name, src in zip(names, cells):
        linecache.cache[name] = (len(src), None, src.splitlines(True), name)
    if len(cells) > 1:
        sys.stdout.flush(); sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1); os.dup2(devnull, 2)
        try:
            for name, src in zip(names[:-1], cells[:-1]):
                try:
                    exec(compile(src, name, "exec"), ns)
                except BaseException:
                    pass
        finally:
            sys.stdout.flush(); sys.stderr.flush()
            os.dup2(saved[0], 1); os.dup2(saved[1], 2)
            for fd in (*saved, devnull):
                os.close(fd)
    name, src = names[-1], cells[-1]
    try:
        tree = ast.parse(src, name)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, name, "exec"), ns)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), name, "eval"), ns)
            if value is not None:
                print(repr(value))
    except SystemExit:
        raise
    except BaseException as exc:
        tb = exc.__traceback__
        if isinstance(exc, SyntaxError):
            tb = None
        else:
            tb = tb.tb_next if tb is not None else None
        traceback.print_exception(type(exc), exc, tb)
        sys.stderr.flush()
        sys.exit(1)
"""


def _program(cells: list[str]) -> str:
    return f"{_DRIVER}\n_turngym_driver({cells!r})\n"


def format_exec_result(
    result: ExecResult, *, timeout_s: float | None = None, max_stderr_lines: int = 20
) -> str:
    """The text a model sees for one run: stdout, then stderr's last lines, then status notes.

    Deterministic for a given result except for its ``wall_time_s`` (which is not shown).

    Args:
        result: The sandbox result.
        timeout_s: The timeout the run had, to say "[timed out after 5s]".
        max_stderr_lines: Keep only this many last lines of stderr (tracebacks end with the
            useful part).
    """
    parts: list[str] = []
    if result.stdout:
        parts.append(result.stdout.rstrip("\n"))
    err_lines = result.stderr.rstrip().splitlines()
    if err_lines:
        if len(err_lines) > max_stderr_lines:
            omitted = len(err_lines) - max_stderr_lines
            err_lines = [f"[... {omitted} earlier lines omitted]", *err_lines[-max_stderr_lines:]]
        parts.append("\n".join(err_lines))
    if result.status == "timeout":
        parts.append(f"[timed out after {timeout_s:g}s]" if timeout_s else "[timed out]")
    elif result.status == "output_truncated":
        parts.append("[output truncated: the output limit was reached and the program was stopped]")
    elif result.status == "oom":
        parts.append("[out of memory]")
    elif result.status == "killed":
        parts.append(f"[killed by signal {-(result.exit_code or 0)}]")
    elif result.status == "error" and not err_lines:
        parts.append(f"[exit code {result.exit_code}]")
    return "\n".join(parts) if parts else "[no output]"


class PythonInterpreter(Tool):
    """Runs Python code in a sandbox and returns its output; state persists across calls.

    See the module docstring for how state is kept (session or replay) and what each does not
    cover.

    Args:
        sandbox: Where code runs; defaults to ``make_sandbox("local")``. The interpreter owns a
            sandbox it created, and closes it in :meth:`close`; a sandbox passed in is closed
            too unless ``owns_sandbox=False``.
        timeout_s: Wall-clock limit per call (replay included); None for the sandbox's default.
        keep_state: Replay earlier successful cells before each new one.
        max_stderr_lines: Lines of stderr kept in the tool's text.
        owns_sandbox: Whether :meth:`close` closes the sandbox.
        state: ``"replay"``, ``"session"`` (the sandbox must have ``session()``) or
            ``"auto"`` (session if the sandbox supports it); see the module docstring.
    """

    name = "python"
    description = (
        "Run Python code and return what it prints (stdout, then errors). Variables, functions "
        "and imports persist between calls. The value of the last expression is printed."
    )
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {"code": {"type": "string", "description": "The Python code to run."}},
        "required": ["code"],
        "additionalProperties": False,
    }

    def __init__(
        self,
        sandbox: Sandbox | None = None,
        *,
        timeout_s: float | None = None,
        keep_state: bool = True,
        max_stderr_lines: int = 20,
        owns_sandbox: bool = True,
        state: Literal["replay", "session", "auto"] = "replay",
    ):
        if state not in ("replay", "session", "auto"):
            raise ValueError(f"state must be 'replay', 'session' or 'auto', got {state!r}")
        self.sandbox: Sandbox = sandbox if sandbox is not None else make_sandbox("local")
        has_sessions = callable(getattr(self.sandbox, "session", None))
        if state == "session" and not has_sessions:
            raise ValueError(
                f"state='session' needs a sandbox with session(); got {self.sandbox!r}"
            )
        self.state: Literal["replay", "session"] = (
            "session" if state == "session" or (state == "auto" and has_sessions) else "replay"
        )
        """How state is kept: ``"replay"`` or ``"session"`` (``"auto"`` resolved)."""
        self._session: SandboxSession | None = None
        self.timeout_s = timeout_s
        self.keep_state = keep_state
        self.max_stderr_lines = max_stderr_lines
        self._owns_sandbox = owns_sandbox
        self._cells: list[str] = []
        self._closed = False

    @property
    def cells(self) -> tuple[str, ...]:
        """The successful cells so far (what the next call replays; with a session, the
        successful cells since the session last started)."""
        return tuple(self._cells)

    def execute(self, code: str) -> ExecResult:
        """Run one cell (in the session, or after replaying the state); record it if ``ok``."""
        if self.keep_state and self.state == "session":
            if self._session is None:
                self._session = self.sandbox.session(timeout_s=self.timeout_s)  # type: ignore[attr-defined]
            result = self._session.run(code, timeout=self.timeout_s)
            if result.stderr.startswith(RESTART_NOTE):
                self._cells.clear()
            if result.ok:
                self._cells.append(code)
            return result
        cells = [*self._cells, code] if self.keep_state else [code]
        result = self.sandbox.run(_program(cells), timeout=self.timeout_s)
        if result.ok and self.keep_state:
            self._cells.append(code)
        return result

    def format(self, result: ExecResult) -> str:
        """The tool text for ``result`` (see :func:`format_exec_result`)."""
        timeout = (
            self.timeout_s
            if self.timeout_s is not None
            else getattr(self.sandbox, "timeout_s", None)
        )
        return format_exec_result(result, timeout_s=timeout, max_stderr_lines=self.max_stderr_lines)

    def run(self, code: str) -> str:
        """Run ``code`` and return the text the model sees."""
        return self.format(self.execute(code))

    def reset(self) -> None:
        """Forget all state (start a new episode; a session is closed, the next call starts
        a fresh one)."""
        self._cells.clear()
        self._close_session()

    def close(self) -> None:
        """Close the session, and the sandbox if this interpreter owns it; idempotent."""
        self._close_session()
        if not self._closed and self._owns_sandbox:
            self.sandbox.close()
        self._closed = True

    def _close_session(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            session.close()

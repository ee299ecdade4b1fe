"""``E2BSandbox``: run Python in E2B cloud sandboxes (Firecracker micro-VMs) through their SDK.

Uses ``e2b_code_interpreter.Sandbox`` (``pip install 'turngym[e2b]'``) and an API key (the
``api_key`` argument or the ``E2B_API_KEY`` environment variable). Each
:meth:`E2BSandbox.run` creates a fresh remote sandbox, runs the program in its Jupyter kernel
with ``run_code(code, timeout=...)`` and kills the sandbox afterwards, so runs share nothing.
:meth:`E2BSandbox.session` keeps one remote sandbox (one kernel) for the session's life:
variables live across cells, and a cell's last expression is printed like in a notebook (the
kernel's main result).

Mapping to :class:`~turngym.tools.sandbox.base.ExecResult`:
    * the kernel's stdout/stderr messages, capped per stream at ``max_output_bytes``; a run
      that passes the cap is stopped (the request is dropped and the sandbox killed): status
      ``output_truncated``;
    * an ``Execution.error``: status ``error``, exit code 1, the traceback (colour codes
      removed) appended to stderr; ``MemoryError`` gives ``oom``; ``SystemExit`` gives its
      code (``ok`` for 0);
    * the SDK's execution timeout: status ``timeout`` (the sandbox is killed: a session's state
      is lost, and its next cell starts a fresh sandbox with
      :data:`~turngym.tools.sandbox.session.RESTART_NOTE` at the start of stderr);
    * the sandbox vanishing mid-run, or any other error during ``run_code``: status
      ``killed`` with the SDK's message in stderr (never an exception: it may be the code's
      doing);
    * an ``exit_code`` of None when the kernel gave none (timeout, truncation, kill).
Errors that are the service's, not the code's (no API key, key refused, service unreachable,
rate limit, SDK missing) raise :class:`~turngym.tools.sandbox.docker.SandboxUnavailableError`
with what to do. SDK exceptions are recognised by class name (``TimeoutException``,
``AuthenticationException``, ...), so this module imports the SDK only to create sandboxes.

Limits: the wall-clock timeout and the output cap are enforced here; memory, CPU and disk are
the template's (``template``), not set per run. Internet access is off
(``allow_internet_access=False``) unless asked for.

NOT exercised here: this module was written and unit-tested without an E2B API key or network
access. The tests drive it through a fake sandbox class (injected as ``sandbox_factory``) that
mimics the SDK's ``run_code`` (callbacks, ``Execution`` with ``logs``/``error``/``results``,
its exception classes by name); the real-service tests skip without ``E2B_API_KEY``. The
SDK's behaviour was read from its source (``e2b-code-interpreter`` 2.x), not observed: in
particular that ``allow_internet_access=False`` really blocks the network, what a kernel
crash looks like to ``run_code``, and the exact traceback format.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from turngym.tools.sandbox._lifecycle import SandboxLifecycle, SessionLifecycle, check_positive
from turngym.tools.sandbox.base import ExecResult, ExecStatus, SandboxClosedError
from turngym.tools.sandbox.docker import SandboxUnavailableError

__all__ = ["E2B_API_KEY_ENV", "E2B_PIP_EXTRA", "E2BSandbox", "E2BSession"]

E2B_API_KEY_ENV = "E2B_API_KEY"
"""The environment variable the API key is read from."""
E2B_PIP_EXTRA = "turngym[e2b]"
"""The pip extra that installs the ``e2b-code-interpreter`` SDK."""
_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# Exceptions that are the service's fault (raised as SandboxUnavailableError), by class name.
_SERVICE_ERRORS = frozenset(
    {
        "AuthenticationException",
        "RateLimitException",
        "ServiceBusyException",
        "SandboxUnreachableException",
        "ConnectError",
        "ConnectTimeout",
    }
)
_GONE_ERRORS = frozenset({"SandboxNotRunningException", "SandboxNotFoundException"})


class _OutputCapExceeded(Exception):
    """Raised from an output callback to stop a run that passed the output cap."""


def _names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


class _Capped:
    """A byte buffer that keeps at most ``cap`` bytes and remembers whether more came."""

    def __init__(self, cap: int):
        self.cap = cap
        self.buf = bytearray()
        self.over = False

    def add(self, text: str) -> None:
        data = text.encode("utf-8", "replace")
        room = self.cap - len(self.buf)
        self.buf += data[: max(room, 0)]
        self.over |= len(data) > room

    def text(self) -> str:
        return self.buf.decode("utf-8", "replace")


def _message_text(message: Any) -> str:
    """The text of an SDK ``OutputMessage`` (or a plain string)."""
    return message if isinstance(message, str) else str(getattr(message, "line", message))


class E2BSandbox(SandboxLifecycle):
    """Runs Python programs in E2B cloud sandboxes. See the module docstring.

    Args:
        api_key: The E2B API key; None to read ``E2B_API_KEY``.
        template: The sandbox template (image and resources); None for the SDK's default
            code-interpreter template.
        timeout_s: Default wall-clock limit per run (per cell in a session), in seconds.
        max_output_bytes: Cap on the bytes kept from stdout, and separately from stderr.
        sandbox_lifetime_s: How long a remote sandbox may live before E2B kills it (a
            session's whole life), in seconds.
        request_timeout_s: Limit on each request to the service (connecting, creating).
        allow_internet_access: Let the sandboxed code reach the internet (off by default).
        envs: Environment variables for the sandboxed code.
        sandbox_factory: A callable returning a new started sandbox with the SDK's
            ``run_code``/``kill`` API; None for ``e2b_code_interpreter.Sandbox.create`` with
            the arguments above. Given a factory, no API key is needed here.

    Raises:
        SandboxUnavailableError: No factory was given and the SDK is not installed or no API
            key is set (the message says what to do).
        ValueError: A limit is not positive.
    """

    backend = "e2b"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        template: str | None = None,
        timeout_s: float = 10.0,
        max_output_bytes: int = 65_536,
        sandbox_lifetime_s: int = 600,
        request_timeout_s: float = 30.0,
        allow_internet_access: bool = False,
        envs: Mapping[str, str] | None = None,
        sandbox_factory: Callable[[], Any] | None = None,
    ):
        check_positive(
            "E2BSandbox",
            timeout_s=timeout_s,
            max_output_bytes=max_output_bytes,
            sandbox_lifetime_s=sandbox_lifetime_s,
            request_timeout_s=request_timeout_s,
        )
        self.template = template
        self.timeout_s = float(timeout_s)
        self.max_output_bytes = int(max_output_bytes)
        self.sandbox_lifetime_s = int(sandbox_lifetime_s)
        self.request_timeout_s = float(request_timeout_s)
        self.allow_internet_access = allow_internet_access
        self.envs = dict(envs or {})
        self._factory = sandbox_factory or self._default_factory(api_key)
        self._init_lifecycle(set())

    def _default_factory(self, api_key: str | None) -> Callable[[], Any]:
        key = api_key or os.environ.get(E2B_API_KEY_ENV)
        if not key:
            raise SandboxUnavailableError(
                "sandbox backend 'e2b' needs an E2B API key: set the "
                f"{E2B_API_KEY_ENV} environment variable (https://e2b.dev/dashboard) or pass "
                "api_key=...; or use make_sandbox('bwrap') to run code locally"
            )
        try:
            from e2b_code_interpreter import Sandbox
        except ImportError as exc:
            raise SandboxUnavailableError(
                "sandbox backend 'e2b' needs the e2b-code-interpreter SDK: "
                f"pip install '{E2B_PIP_EXTRA}' (or pip install e2b-code-interpreter)"
            ) from exc

        def create() -> Any:
            return Sandbox.create(
                template=self.template,
                timeout=self.sandbox_lifetime_s,
                envs=self.envs or None,
                allow_internet_access=self.allow_internet_access,
                api_key=key,
                request_timeout=self.request_timeout_s,
            )

        return create

    # ---- public API ---------------------------------------------------------------------

    def run(self, code: str, *, timeout: float | None = None) -> ExecResult:
        """Run ``code`` in a fresh remote sandbox, killed afterwards.

        Args:
            code: Python source (run in the sandbox's kernel; its last expression is NOT
                printed, as for a program).
            timeout: Wall-clock limit for the execution in seconds (creating the sandbox is
                not counted); None for ``timeout_s``.

        Returns:
            The result; never raises for anything the code does.

        Raises:
            SandboxClosedError: The sandbox was closed.
            ValueError: ``timeout`` is not positive.
            SandboxUnavailableError: No sandbox could be created (key refused, service
                unreachable, rate limit), or the service failed mid-run.
        """
        self._check_open()
        limit = self.resolve_timeout(timeout)
        remote = self.create_remote()
        try:
            result, _ = self.execute(remote, code, limit, notebook=False)
            return result
        finally:
            self.kill_remote(remote)

    def session(self, *, timeout_s: float | None = None) -> E2BSession:
        """Start a session: one remote sandbox whose kernel keeps variables across cells.

        Args:
            timeout_s: Default per-cell wall-clock limit; None for the sandbox's ``timeout_s``.

        Returns:
            An :class:`E2BSession`; the remote sandbox starts on its first ``run``. Close it
            (or this sandbox) when the episode ends, or E2B bills it until
            ``sandbox_lifetime_s``.
        """
        self._check_open()
        session = E2BSession(self, timeout_s=timeout_s)
        self._add_session(session)
        return session

    def __repr__(self) -> str:
        return (
            f"E2BSandbox(template={self.template!r}, timeout_s={self.timeout_s}, "
            f"max_output_bytes={self.max_output_bytes}, "
            f"allow_internet_access={self.allow_internet_access})"
        )

    # ---- helpers shared with sessions ---------------------------------------------------

    def create_remote(self) -> Any:
        """Create and track a remote sandbox.

        Raises:
            SandboxUnavailableError: The service refused or could not be reached.
            SandboxClosedError: This sandbox was closed meanwhile.
        """
        try:
            remote = self._factory()
        except Exception as exc:
            names = _names(exc)
            if "AuthenticationException" in names:
                what = f"refused the API key (check {E2B_API_KEY_ENV})"
            else:
                what = "could not create a sandbox"
            raise SandboxUnavailableError(
                f"sandbox backend 'e2b': the E2B service {what} ({type(exc).__name__}: {exc}); "
                "check the key, network access to e2b.dev, and the template name"
            ) from exc
        if self._track(remote):  # close() raced with this start
            self.kill_remote(remote)
            raise SandboxClosedError("E2BSandbox used after close()")
        return remote

    def kill_remote(self, remote: Any) -> None:
        """Kill a remote sandbox and stop tracking it (errors are ignored: it may be gone)."""
        self._untrack(remote)
        with contextlib.suppress(Exception):
            remote.kill()

    def _kill_running(self, item: Any) -> None:
        self.kill_remote(item)

    def execute(
        self, remote: Any, code: str, timeout: float, *, notebook: bool
    ) -> tuple[ExecResult, bool]:
        """Run ``code`` in the kernel of ``remote``.

        Args:
            remote: A sandbox from :meth:`create_remote`.
            code: Python source.
            timeout: Wall-clock limit in seconds.
            notebook: Print the cell's main result (its last expression) on stdout.

        Returns:
            ``(result, dead)``: ``dead`` says the remote sandbox must not be used again
            (timeout, output cap, vanished): the caller kills it.

        Raises:
            SandboxUnavailableError: The service failed (not the code).
        """
        out, err = _Capped(self.max_output_bytes), _Capped(self.max_output_bytes)

        def on_stdout(message: Any) -> None:
            out.add(_message_text(message))
            if out.over:
                raise _OutputCapExceeded

        def on_stderr(message: Any) -> None:
            err.add(_message_text(message))
            if err.over:
                raise _OutputCapExceeded

        start = time.monotonic()
        try:
            execution = remote.run_code(
                code,
                on_stdout=on_stdout,
                on_stderr=on_stderr,
                timeout=timeout,
                request_timeout=self.request_timeout_s,
            )
        except _OutputCapExceeded:
            return self._ended(out, err, "output_truncated", "", start), True
        except Exception as exc:
            names = _names(exc)
            if names & _SERVICE_ERRORS:
                raise SandboxUnavailableError(
                    f"sandbox backend 'e2b': the E2B service failed mid-run "
                    f"({type(exc).__name__}: {exc})"
                ) from exc
            if names & _GONE_ERRORS:
                note = f"[e2b sandbox ended during the run: {exc}]\n"
                return self._ended(out, err, "killed", note, start), True
            if "TimeoutException" in names and "Request timed out" not in str(exc):
                return self._ended(out, err, "timeout", "", start), True
            note = f"[e2b run failed: {type(exc).__name__}: {exc}]\n"
            return self._ended(out, err, "killed", note, start), True
        return self._finished(execution, notebook, start), False

    def _ended(
        self, out: _Capped, err: _Capped, status: ExecStatus, note: str, start: float
    ) -> ExecResult:
        return ExecResult(
            stdout=out.text(),
            stderr=err.text() + note,
            exit_code=None,
            status=status,
            wall_time_s=time.monotonic() - start,
        )

    def _finished(self, execution: Any, notebook: bool, start: float) -> ExecResult:
        out, err = _Capped(self.max_output_bytes), _Capped(self.max_output_bytes)
        logs = getattr(execution, "logs", None)
        for line in getattr(logs, "stdout", None) or []:
            out.add(_message_text(line))
        for line in getattr(logs, "stderr", None) or []:
            err.add(_message_text(line))
        if notebook:
            for result in getattr(execution, "results", None) or []:
                text = getattr(result, "text", None)
                if getattr(result, "is_main_result", False) and text is not None:
                    out.add(text + "\n")
        exit_code, status = 0, "ok"
        error = getattr(execution, "error", None)
        if error is not None:
            name, value = str(getattr(error, "name", "")), str(getattr(error, "value", ""))
            exit_code, status = 1, "error"
            if name == "SystemExit":
                exit_code = _exit_code(value)
                status = "ok" if exit_code == 0 else "error"
            elif name == "MemoryError":
                status = "oom"
            if name != "SystemExit" or exit_code != 0:
                traceback = _ANSI_RE.sub("", str(getattr(error, "traceback", "") or ""))
                if not traceback.strip():
                    traceback = f"{name}: {value}"
                err.add(traceback.rstrip("\n") + "\n")
        if out.over or err.over:
            status, exit_code = "output_truncated", None
        return ExecResult(
            stdout=out.text(),
            stderr=err.text(),
            exit_code=exit_code,
            status=status,  # type: ignore[arg-type]
            wall_time_s=time.monotonic() - start,
        )

    def _forget(self, session: E2BSession) -> None:
        with self._lock:
            self._sessions.discard(session)


def _exit_code(value: str) -> int:
    """The exit status of ``SystemExit(value)`` as the kernel reported ``value``."""
    value = value.strip()
    if value in ("", "None"):
        return 0
    try:
        return int(value)
    except ValueError:
        return 1


class E2BSession(SessionLifecycle):
    """A persistent kernel in one remote E2B sandbox: variables live across ``run`` calls.

    Made by :meth:`E2BSandbox.session`. The remote sandbox starts on the first :meth:`run` and
    is killed by :meth:`close`, or by a cell that times out, passes the output cap or loses the
    sandbox: the next run then starts a fresh one and its stderr starts with
    :data:`~turngym.tools.sandbox.session.RESTART_NOTE`. Calls are serialized.

    Args:
        sandbox: The sandbox whose service settings and limits the session uses.
        timeout_s: Default per-cell wall-clock limit; None for the sandbox's ``timeout_s``.
    """

    def __init__(self, sandbox: E2BSandbox, *, timeout_s: float | None = None):
        self._init_session(sandbox, timeout_s)
        self._remote: Any | None = None
        self.starts = 0
        """How many remote sandboxes this session has started (more than 1: restarted)."""

    @property
    def alive(self) -> bool:
        """Whether a remote sandbox is running (state from earlier cells is available)."""
        return self._remote is not None

    def run(self, code: str, *, timeout: float | None = None) -> ExecResult:
        """Run one cell in the session's kernel.

        Args:
            code: Python source; its last expression, if any, is printed like in a notebook.
            timeout: Wall-clock limit for this cell; None for the session's ``timeout_s``.

        Returns:
            The cell's result (see the module docstring for the mapping).

        Raises:
            SandboxClosedError: The session or its sandbox was closed.
            ValueError: ``timeout`` is not positive.
            SandboxUnavailableError: The service failed (not the code).
        """
        limit = self._cell_limit(timeout)
        with self._lock:
            if self._closed or self.sandbox.closed:
                raise SandboxClosedError("E2BSession.run called after close()")
            note = ""
            if self._remote is None:
                self._remote = self.sandbox.create_remote()
                self.starts += 1
                note = self._take_restart_note()
            try:
                result, dead = self.sandbox.execute(self._remote, code, limit, notebook=True)
            except BaseException:
                self._drop()
                raise
            if dead:
                self._drop()
            if note:
                result = ExecResult(
                    stdout=result.stdout,
                    stderr=note + result.stderr,
                    exit_code=result.exit_code,
                    status=result.status,
                    wall_time_s=result.wall_time_s,
                )
            return result

    def close(self) -> None:
        """Kill the remote sandbox; safe to call more than once."""
        self._closed = True
        remote = self._remote
        if remote is not None:
            self.sandbox.kill_remote(remote)  # unblocks a run in progress
        with self._lock:
            self._remote = None
        self.sandbox._forget(self)

    def _drop(self) -> None:
        remote, self._remote = self._remote, None
        if remote is not None:
            self.sandbox.kill_remote(remote)
            self._lost_state = True

    def __repr__(self) -> str:
        return f"E2BSession(alive={self.alive}, starts={self.starts})"

"""The lifecycle every sandbox backend shares: tracking, ``close``, timeouts, CPU limits.

:class:`SandboxLifecycle` keeps what a backend has running (processes, containers, remote
sandboxes) and its sessions, and implements ``close``, ``closed``, the context-manager
protocol and :meth:`~SandboxLifecycle.resolve_timeout`. :class:`LimitedSandbox` adds the
resource limits shared by the ``local``, ``bwrap`` and ``docker`` backends.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, MutableSet
from typing import Any, TypeVar

from turngym.tools.sandbox.base import SandboxClosedError

__all__ = [
    "RESTART_NOTE",
    "LimitedSandbox",
    "SandboxLifecycle",
    "SessionLifecycle",
    "check_positive",
]

RESTART_NOTE = "[session restarted: the previous one ended, variables from earlier cells are lost]"
"""First line of stderr of the first cell run in a restarted session."""

_S = TypeVar("_S", bound="SandboxLifecycle")


def check_positive(owner: str, **values: float | None) -> None:
    """Raise ``ValueError`` naming the first value that is set but not positive."""
    for label, value in values.items():
        if value is not None and not value > 0:
            raise ValueError(f"{owner} {label} must be positive, got {value!r}")


class SandboxLifecycle:
    """Tracks running work and sessions; ``close`` kills both and refuses new runs.

    Subclasses call :meth:`_init_lifecycle` from ``__init__`` and implement
    :meth:`_kill_running` (stop one tracked item).
    """

    timeout_s: float

    def _init_lifecycle(self, sessions: MutableSet[Any]) -> None:
        self._lock = threading.Lock()
        self._running: set[Any] = set()
        self._sessions: MutableSet[Any] = sessions
        self._closed = False

    def close(self) -> None:
        """Kill everything still running and every session, refuse new runs; idempotent."""
        with self._lock:
            self._closed = True
            running = list(self._running)
            sessions = list(self._sessions)
        for item in running:
            self._kill_running(item)
        for session in sessions:
            session.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def resolve_timeout(self, timeout: float | None) -> float:
        """``timeout`` checked, or the sandbox's default."""
        limit = self.timeout_s if timeout is None else float(timeout)
        if not limit > 0:
            raise ValueError(f"timeout must be positive, got {timeout!r}")
        return limit

    def _kill_running(self, item: Any) -> None:
        """Stop one tracked item (a process, container or remote sandbox)."""
        raise NotImplementedError

    def _track(self, item: Any) -> bool:
        """Track ``item`` as running; return whether the sandbox was closed meanwhile."""
        with self._lock:
            self._running.add(item)
            return self._closed

    def _untrack(self, item: Any) -> None:
        with self._lock:
            self._running.discard(item)

    def _add_session(self, session: Any) -> None:
        self._check_open()
        with self._lock:
            self._sessions.add(session)

    def _check_open(self) -> None:
        if self._closed:
            raise SandboxClosedError(f"{type(self).__name__} used after close()")


class LimitedSandbox(SandboxLifecycle):
    """A :class:`SandboxLifecycle` with the limits the ``local``, ``bwrap`` and ``docker``
    backends share (see :class:`~turngym.tools.sandbox._process.ProcessSandbox`)."""

    def _init_limits(
        self,
        *,
        timeout_s: float,
        memory_mb: int | None,
        cpu_time_s: float | None,
        max_output_bytes: int,
        max_file_bytes: int | None,
        max_open_files: int | None,
        sessions: MutableSet[Any],
        extra: Iterable[tuple[str, float | None]] = (),
    ) -> None:
        """Check every limit (then ``extra``) is positive, store them, start the lifecycle."""
        check_positive(
            type(self).__name__,
            timeout_s=timeout_s,
            memory_mb=memory_mb,
            cpu_time_s=cpu_time_s,
            max_output_bytes=max_output_bytes,
            max_file_bytes=max_file_bytes,
            max_open_files=max_open_files,
            **dict(extra),
        )
        self.timeout_s = float(timeout_s)
        self.memory_mb = memory_mb
        self.cpu_time_s = cpu_time_s
        self.max_output_bytes = int(max_output_bytes)
        self.max_file_bytes = max_file_bytes
        self.max_open_files = max_open_files
        self._init_lifecycle(sessions)

    def cpu_limit(self, timeout: float) -> float:
        """CPU seconds allowed for a run with wall limit ``timeout``."""
        return self.cpu_time_s if self.cpu_time_s is not None else math.ceil(timeout) + 1


_T = TypeVar("_T", bound="SessionLifecycle")


class SessionLifecycle:
    """What the persistent sessions of every backend share: the default cell timeout, the
    lock that serializes calls, ``closed`` / lost-state flags and the context manager.

    Subclasses call :meth:`_init_session` from ``__init__``; the default :meth:`close`
    calls :meth:`_interrupt` (unblock a run in progress) and then :meth:`_stop` under the lock.
    """

    def _init_session(self, sandbox: Any, timeout_s: float | None) -> None:
        self.sandbox = sandbox
        self.timeout_s = sandbox.resolve_timeout(timeout_s)
        self._lock = threading.Lock()
        self._closed = False
        self._lost_state = False

    def close(self) -> None:
        """Kill the interpreter and release its resources; safe to call more than once."""
        self._closed = True
        self._interrupt()
        with self._lock:
            self._stop()

    def __enter__(self: _T) -> _T:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _cell_limit(self, timeout: float | None) -> float:
        """``timeout`` checked, or the session's default."""
        return self.sandbox.resolve_timeout(timeout if timeout is not None else self.timeout_s)

    def _take_restart_note(self) -> str:
        """The note that starts a cell's stderr after a restart lost the state, once."""
        if not self._lost_state:
            return ""
        self._lost_state = False
        return RESTART_NOTE + "\n"

    def _interrupt(self) -> None:
        """Kill the running interpreter without the lock (unblocks a run in progress)."""
        raise NotImplementedError

    def _stop(self) -> None:
        """Under the lock: stop the interpreter and release what it holds."""
        raise NotImplementedError

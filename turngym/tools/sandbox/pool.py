"""``SessionPool``: sessions started ahead of time, so an episode never waits for start-up.

A pool keeps up to ``size`` fresh sessions ready (interpreter started, no cell run) on one
sandbox, refilling in background threads. :meth:`SessionPool.acquire` hands out a ready one
(or, when none is ready, starts one in the caller's thread: it never waits for another
caller's session); :meth:`SessionPool.release` closes it. Sessions are never reused: state,
files and processes of one episode cannot leak into the next.

The pool is also a :class:`~turngym.tools.sandbox.base.SessionSandbox`: ``pool.session()``
is ``acquire()`` and closing that session is ``release``, so anything that takes a sandbox
with sessions (``PythonInterpreter(pool, state="session")``) can use a pool unchanged.

What it does NOT do: reuse or reset interpreters (a fresh process per episode is what keeps
episodes apart); limit how many sessions are out at once (``size`` is the number kept ready,
each one a live process holding its limits' worth of memory at most); restart a session
that dies while handed out (the session itself restarts on its next ``run``).
"""

from __future__ import annotations

import contextlib
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING

from turngym.tools.sandbox.base import ExecResult, SandboxClosedError

if TYPE_CHECKING:
    from turngym.tools.sandbox._process import ProcessSandbox
    from turngym.tools.sandbox.session import ProcessSession

__all__ = ["SessionPool"]

_MAX_BACKOFF_S = 5.0
_JOIN_S = 10.0


class SessionPool:
    """Keeps ``size`` fresh sessions of ``sandbox`` started and ready; thread-safe.

    Args:
        sandbox: A process-based sandbox (``local`` or ``bwrap``) whose sessions to keep.
        size: How many ready sessions to keep (also how many start when the pool is made).
        timeout_s: Default per-cell wall-clock limit of the sessions; None for the sandbox's.
        start_threads: Background threads starting sessions (each start is mostly waiting
            for a process, but costs a core for tens of milliseconds).
        owns_sandbox: Whether :meth:`close` also closes ``sandbox``.

    Raises:
        ValueError: ``size`` or ``start_threads`` is not positive.
        SandboxClosedError: ``sandbox`` is closed.
    """

    def __init__(
        self,
        sandbox: ProcessSandbox,
        *,
        size: int = 4,
        timeout_s: float | None = None,
        start_threads: int = 1,
        owns_sandbox: bool = False,
    ):
        if size < 1:
            raise ValueError(f"SessionPool size must be positive, got {size!r}")
        if start_threads < 1:
            raise ValueError(f"SessionPool start_threads must be positive, got {start_threads!r}")
        if sandbox.closed:
            raise SandboxClosedError("SessionPool needs an open sandbox")
        self.sandbox = sandbox
        self.size = int(size)
        self.timeout_s = sandbox.resolve_timeout(timeout_s)
        """Default per-cell wall-clock limit of the pool's sessions."""
        self.owns_sandbox = owns_sandbox
        self.hits = 0
        """Acquires answered with a session that was already started."""
        self.misses = 0
        """Acquires that had to start a session (none was ready)."""
        self.start_errors = 0
        """Background starts that failed (the pool backs off and tries again)."""
        self.last_error: BaseException | None = None
        """The latest background start failure, if any."""
        self._cond = threading.Condition()
        self._ready: deque[ProcessSession] = deque()
        self._starting: set[ProcessSession] = set()
        self._out: weakref.WeakSet[ProcessSession] = weakref.WeakSet()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._fill, name=f"turngym-session-pool-{i}", daemon=True)
            for i in range(int(start_threads))
        ]
        for thread in self._threads:
            thread.start()

    # ---- public API ---------------------------------------------------------------------

    def acquire(self) -> ProcessSession:
        """A fresh session, started ahead of time when one is ready.

        Returns:
            A running session nobody else has used; :meth:`release` (or ``close``) it when
            the episode ends.

        Raises:
            SandboxClosedError: The pool or its sandbox was closed.
            RuntimeError: No session was ready and one could not be started.
        """
        while True:
            with self._cond:
                self._check_open()
                if not self._ready:
                    break
                session = self._ready.popleft()
                self._cond.notify_all()  # a slot to refill
                if session.alive:
                    self._out.add(session)
                    self.hits += 1
                    return session
            session.close()  # died while it waited (e.g. killed from outside): discard it
        session = self.sandbox.session(timeout_s=self.timeout_s)
        with self._cond:
            if self._closed:
                session.close()
                self._check_open()
            self._out.add(session)
            self.misses += 1
        try:
            session.start()
        except BaseException:
            session.close()
            raise
        return session

    def release(self, session: ProcessSession) -> None:
        """Close a session from :meth:`acquire`: its interpreter, processes and files go.

        Releasing twice (or after ``session.close()``) is harmless.
        """
        with self._cond:
            self._out.discard(session)
        session.close()

    @contextlib.contextmanager
    def lease(self) -> Iterator[ProcessSession]:
        """``with pool.lease() as session:``: acquire, then release on the way out."""
        session = self.acquire()
        try:
            yield session
        finally:
            self.release(session)

    def session(self, *, timeout_s: float | None = None) -> ProcessSession:
        """:meth:`acquire`, for the :class:`~turngym.tools.sandbox.base.SessionSandbox`
        protocol; closing the session releases it.

        Args:
            timeout_s: Default per-cell limit for this session; None for the pool's.
        """
        session = self.acquire()
        if timeout_s is not None:
            session.timeout_s = self.sandbox.resolve_timeout(timeout_s)
        return session

    def run(self, code: str, *, timeout: float | None = None) -> ExecResult:
        """Run one program in a fresh process of the sandbox (no session involved)."""
        self._check_open()
        return self.sandbox.run(code, timeout=timeout)

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until ``size`` sessions are ready (or the pool closes, or ``timeout``).

        Returns:
            Whether ``size`` sessions are ready.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._closed and len(self._ready) < self.size:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self._cond.wait(remaining)
            return not self._closed and len(self._ready) >= self.size

    @property
    def ready(self) -> int:
        """How many started sessions are waiting to be acquired."""
        return len(self._ready)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def close(self) -> None:
        """Kill every session of the pool (ready, starting, or handed out); idempotent.

        Also closes the sandbox if the pool owns it.
        """
        with self._cond:
            self._closed = True
            doomed = [*self._ready, *self._starting, *self._out]
            self._ready.clear()
            self._cond.notify_all()
        for session in doomed:
            session.close()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(_JOIN_S)
        with self._cond:  # a start that finished while closing
            doomed = [*self._ready, *self._starting, *self._out]
            self._ready.clear()
        for session in doomed:
            session.close()
        if self.owns_sandbox:
            self.sandbox.close()

    def __enter__(self) -> SessionPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"SessionPool(backend={self.sandbox.backend!r}, size={self.size}, "
            f"ready={self.ready}, hits={self.hits}, misses={self.misses}, closed={self._closed})"
        )

    # ---- background starts --------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed or self.sandbox.closed:
            raise SandboxClosedError("SessionPool used after close()")

    def _fill(self) -> None:
        """One starter thread: keep ``ready + starting`` at ``size`` until the pool closes."""
        backoff = 0.0
        while True:
            with self._cond:
                if backoff > 0:  # the last start failed: wait a little before the next
                    self._cond.wait_for(lambda: self._closed, timeout=backoff)
                self._cond.wait_for(
                    lambda: self._closed or len(self._ready) + len(self._starting) < self.size
                )
                if self._closed:
                    return
                try:
                    session = self.sandbox.session(timeout_s=self.timeout_s)
                except SandboxClosedError:
                    return
                self._starting.add(session)
            try:
                session.start()
            except Exception as exc:  # a host problem: count it, back off, try again
                session.close()
                with self._cond:
                    self._starting.discard(session)
                    self.start_errors += 1
                    self.last_error = exc
                backoff = min(max(2 * backoff, 0.05), _MAX_BACKOFF_S)
                continue
            backoff = 0.0
            with self._cond:
                self._starting.discard(session)
                if not self._closed:
                    self._ready.append(session)
                    self._cond.notify_all()
                    continue
            session.close()
            return

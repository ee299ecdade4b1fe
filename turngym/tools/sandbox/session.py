"""Persistent sandbox sessions: one long-lived interpreter whose variables live across cells.

A session is a small REPL server (:data:`SERVER`) started in the sandbox like any program (so
it has the same namespaces, limits and process cap). This side talks to it over pipes:
    * requests go to the server's stdin, replies come back on a separate pipe, both framed as a
      4-byte big-endian length plus a UTF-8 JSON object;
    * the program's own stdout and stderr are the process's stdout and stderr pipes, read here
      with the sandbox's output cap per cell, at the file-descriptor level (so output of child
      processes and C extensions is captured too); ``input()`` sees end of file.

Each cell runs with ``exec`` in one persistent globals dict (``__main__``'s), is named
``<cell N>`` in tracebacks, and its last expression, if any, is printed like in a notebook.
Failed cells keep their partial effects, as in Jupyter.

Limits per cell: the wall-clock timeout and the output cap stop the cell by killing the whole
session (every process in it); the CPU limit is a soft ``RLIMIT_CPU`` raised before each cell
to the CPU time used so far plus the sandbox's CPU allowance (code can raise its own soft
limit, up to the hard limit, so the wall-clock timeout is the limit that always holds). A
session that died (timeout, flood, crash, ``os._exit``) is restarted fresh on the next
``run``, whose stderr then starts with :data:`RESTART_NOTE`: earlier state is lost.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import shutil
import struct
import subprocess
import time
from typing import TYPE_CHECKING, Any

from turngym.tools.sandbox._lifecycle import RESTART_NOTE, SessionLifecycle
from turngym.tools.sandbox._process import (
    Launched,
    exec_status,
    has_exited,
    read_capped,
)
from turngym.tools.sandbox.base import ExecResult, ExecStatus, SandboxClosedError

if TYPE_CHECKING:
    from turngym.tools.sandbox._process import ProcessSandbox

__all__ = ["RESTART_NOTE", "SERVER", "ProcessSession"]

_START_TIMEOUT_S = 60.0
_POLL_S = 0.05
_EXIT_WAIT_S = 0.5
_HEADER = struct.Struct(">I")

# The REPL server, run as ``python -c``; ``{ctl_fd}`` is the reply pipe's descriptor.
SERVER = r"""
def _turngym_session(ctl_fd):
    import ast, json, linecache, math, os, struct, sys, traceback
    try:
        import resource
    except ImportError:
        resource = None
    ns = sys.modules["__main__"].__dict__
    ns.pop("_turngym_session", None)
    ctl_in = os.dup(0)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    ctl_out = os.dup(ctl_fd)
    os.close(ctl_fd)

    def read_exact(n):
        data = b""
        while len(data) < n:
            chunk = os.read(ctl_in, n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def send(obj):
        body = json.dumps(obj).encode()
        data = struct.pack(">I", len(body)) + body
        while data:
            data = data[os.write(ctl_out, data):]

    def cpu_used():
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    send({"ready": True})
    count = 0
    while True:
        header = read_exact(4)
        if header is None:
            return
        request = json.loads(read_exact(struct.unpack(">I", header)[0]))
        count += 1
        name = f"<cell {count}>"
        src = request["code"]
        linecache.cache[name] = (len(src), None, src.splitlines(True), name)
        cpu = request.get("cpu_s")
        if cpu and resource is not None:
            soft = math.ceil(cpu_used() + cpu)
            hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
            if hard != resource.RLIM_INFINITY:
                soft = min(soft, hard)
            resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
        exit_code = 0
        try:
            tree = ast.parse(src, name)
            last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
            exec(compile(tree, name, "exec"), ns)
            if last is not None:
                value = eval(compile(ast.Expression(last.value), name, "eval"), ns)
                if value is not None:
                    print(repr(value))
        except SystemExit as exc:
            code = exc.code
            exit_code = code if isinstance(code, int) else (0 if code is None else 1)
            if code is not None and not isinstance(code, int):
                print(code, file=sys.stderr)
        except BaseException as exc:
            tb = None if isinstance(exc, SyntaxError) else exc.__traceback__
            tb = tb.tb_next if tb is not None else None
            traceback.print_exception(type(exc), exc, tb)
            exit_code = 1
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            except BaseException:
                pass
        send({"exit_code": exit_code})


_turngym_session({ctl_fd})
"""


class ProcessSession(SessionLifecycle):
    """A persistent interpreter in a process-based sandbox (``local`` or ``bwrap``).

    Made by :meth:`~turngym.tools.sandbox.LocalSandbox.session` or
    :meth:`~turngym.tools.sandbox.BwrapSandbox.session`; see the module docstring. The
    interpreter starts on the first :meth:`run` and lives until :meth:`close` (or until a cell
    kills it: the next run starts a fresh one). Calls are serialized; the working directory
    (``/work`` under bwrap) persists for the session's life and is removed with it.

    Args:
        sandbox: The sandbox whose backend and limits the session uses.
        timeout_s: Default per-cell wall-clock limit; None for the sandbox's ``timeout_s``.
    """

    def __init__(self, sandbox: ProcessSandbox, *, timeout_s: float | None = None):
        self._init_session(sandbox, timeout_s)
        self._launched: Launched | None = None
        self._ctl_read: int | None = None
        self._workdir: str | None = None
        self.starts = 0
        """How many interpreters this session has started (more than 1: it was restarted)."""
        self.started_at: float | None = None
        """``time.monotonic()`` when the latest interpreter was ready; None before the first."""

    # ---- public API ---------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        """Whether the interpreter is running (state from earlier cells is available)."""
        launched = self._launched
        return launched is not None and not has_exited(launched.proc)

    def run(self, code: str, *, timeout: float | None = None) -> ExecResult:
        """Run one cell in the persistent interpreter.

        Args:
            code: Python source; its last expression, if any, is printed with ``repr``.
            timeout: Wall-clock limit for this cell; None for the session's ``timeout_s``.

        Returns:
            The cell's result: ``exit_code`` 1 and status ``error`` if it raised (traceback in
            stderr), the ``SystemExit`` code if it called ``sys.exit``; ``timeout``,
            ``output_truncated``, ``oom`` or ``killed`` if the session died with it (the next
            run starts a fresh one).

        Raises:
            SandboxClosedError: The session or its sandbox was closed.
            ValueError: ``timeout`` is not positive.
            RuntimeError: The interpreter could not be started (a host problem).
        """
        limit = self._cell_limit(timeout)
        with self._lock:
            self._ensure_started("run")
            return self._cell(code, limit, self._take_restart_note())

    def start(self) -> None:
        """Start the interpreter now (if it is not running), so that no cell waits for it.

        :class:`~turngym.tools.sandbox.pool.SessionPool` uses this to start sessions ahead
        of time. A no-op while the interpreter runs.

        Raises:
            SandboxClosedError: The session or its sandbox was closed.
            RuntimeError: The interpreter could not be started (a host problem).
        """
        with self._lock:
            self._ensure_started("start")

    @property
    def pid(self) -> int | None:
        """Host pid of the process this side waits on (``bwrap`` or the interpreter), or None
        if none is running."""
        launched = self._launched
        return None if launched is None else launched.proc.pid

    def close(self) -> None:
        """Kill the interpreter and remove its working directory; safe to call more than once."""
        super().close()

    def _interrupt(self) -> None:
        launched = self._launched
        if launched is not None:
            launched.kill()

    def __repr__(self) -> str:
        return (
            f"ProcessSession(backend={self.sandbox.backend!r}, alive={self.alive}, "
            f"starts={self.starts})"
        )

    # ---- the interpreter's life ---------------------------------------------------------

    def _ensure_started(self, what: str) -> None:
        """Under the lock: refuse if closed, reap a dead interpreter, start one if none runs."""
        if self._closed or self.sandbox.closed:
            raise SandboxClosedError(f"SandboxSession.{what} called after close()")
        if self._launched is not None and has_exited(self._launched.proc):
            self._stop()
            self._lost_state = True
        if self._launched is None:
            self._start()

    def _start(self) -> None:
        workdir = self.sandbox.make_workdir()
        ctl_read, ctl_write = os.pipe()
        try:
            launched = self.sandbox.start(
                workdir,
                SERVER.replace("{ctl_fd}", str(ctl_write)),
                cpu_s=None,
                stdin=subprocess.PIPE,
                pass_fds=(ctl_write,),
            )
        except BaseException:
            os.close(ctl_read)
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        finally:
            os.close(ctl_write)
        self._launched, self._ctl_read, self._workdir = launched, ctl_read, workdir
        self.starts += 1
        out, err = bytearray(), bytearray()
        reply, ended = self._exchange(None, time.monotonic() + _START_TIMEOUT_S, out, err)
        if reply is None or not reply.get("ready"):
            self._stop()
            detail = err.decode("utf-8", "replace").strip() or "no reply"
            why = "timed out" if not ended else "ended"
            raise RuntimeError(f"sandbox session could not start ({why}): {detail[-2000:]}")
        self.started_at = time.monotonic()

    def _stop(self) -> int | None:
        """Kill and reap the interpreter, close its pipes, remove its working directory.

        Returns:
            The interpreter's exit status, or None if none was running.
        """
        launched, self._launched = self._launched, None
        returncode = None
        if launched is not None:
            launched.kill()
            returncode = self.sandbox.finish(launched)
            for pipe in (launched.proc.stdin, launched.proc.stdout, launched.proc.stderr):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()
        if self._ctl_read is not None:
            os.close(self._ctl_read)
            self._ctl_read = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
        return returncode

    # ---- one cell -----------------------------------------------------------------------

    def _cell(self, code: str, timeout: float, note: str) -> ExecResult:
        start = time.monotonic()
        out, err = bytearray(), bytearray()
        request = {"code": code, "cpu_s": self.sandbox.cpu_limit(timeout)}
        reply, ended = self._exchange(request, start + timeout, out, err)
        truncated = reply is not None and bool(reply.get("truncated", False))
        stderr = note + err.decode("utf-8", "replace")
        stdout = out.decode("utf-8", "replace")
        result = cell_result(reply, stdout, stderr, start, truncated=truncated)
        if result is not None:
            return result
        # The session is over: timed out, flooded, or the interpreter died.
        if ended and self._launched is not None:  # let it finish dying: keep its own status
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._launched.proc.wait(timeout=_EXIT_WAIT_S)
        returncode = self._stop()
        assert returncode is not None
        self._lost_state = True
        timed_out = not ended and not truncated
        status = exec_status(returncode, stderr, timed_out=timed_out, truncated=truncated)
        if status == "ok":  # the interpreter ended cleanly mid-cell (e.g. os._exit(0))
            status = "error"
        return ExecResult(stdout, stderr, returncode, status, time.monotonic() - start)

    def _exchange(
        self,
        request: dict[str, Any] | None,
        deadline: float,
        out: bytearray,
        err: bytearray,
    ) -> tuple[dict[str, Any] | None, bool]:
        """Send ``request`` (if any) and read output until a reply, the deadline, or the end.

        Returns:
            ``(reply, ended)``: the reply (with ``"truncated": True`` added, and the session to
            be killed, if the output cap was passed), or None on timeout or end; ``ended`` says
            the interpreter ended (closed its reply pipe) rather than timing out.
        """
        launched, ctl = self._launched, self._ctl_read
        assert launched is not None and ctl is not None
        proc = launched.proc
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        cap = self.sandbox.max_output_bytes
        if request is not None:
            body = json.dumps(request).encode()
            try:
                proc.stdin.write(frame_request(body))
                proc.stdin.flush()
            except (BrokenPipeError, OSError):
                return None, True
        buffers = {proc.stdout: out, proc.stderr: err}
        reply_buf = bytearray()
        truncated = False
        with selectors.DefaultSelector() as sel:
            for pipe in buffers:
                os.set_blocking(pipe.fileno(), False)
                sel.register(pipe, selectors.EVENT_READ)
            os.set_blocking(ctl, False)
            sel.register(ctl, selectors.EVENT_READ)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None, False
                for key, _ in sel.select(timeout=min(remaining, _POLL_S)):
                    if key.fileobj == ctl:
                        try:
                            chunk = os.read(ctl, 65536)
                        except BlockingIOError:
                            continue
                        if not chunk:
                            return None, True
                        reply_buf += chunk
                    else:
                        buf = buffers[key.fileobj]  # type: ignore[index]
                        truncated |= read_capped(sel, key.fileobj, buf, cap)  # type: ignore[arg-type]
                if truncated:
                    return {"truncated": True}, False
                reply = parse_reply(reply_buf)
                if reply is not None:
                    # All the cell wrote to its pipes is in them by now: drain without waiting.
                    for pipe, buf in buffers.items():
                        if _drain(pipe.fileno(), buf, cap):
                            reply["truncated"] = True
                    return reply, False
                if has_exited(proc):  # e.g. a forked child still holds the reply pipe
                    return None, True


def _drain(fd: int, buf: bytearray, cap: int) -> bool:
    """Read what is already in a non-blocking pipe; return whether the cap was passed."""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except (BlockingIOError, OSError):
            return False
        if not chunk:
            return False
        room = cap - len(buf)
        buf += chunk[: max(room, 0)]
        if len(chunk) > room:
            return True


def cell_result(
    reply: dict[str, Any] | None, stdout: str, stderr: str, start: float, *, truncated: bool
) -> ExecResult | None:
    """The result of a cell the REPL server finished (its ``reply`` has an ``exit_code``);
    None if the cell did not finish (no reply, or its output passed the cap)."""
    if reply is None or "exit_code" not in reply or truncated:
        return None
    exit_code = int(reply["exit_code"])
    status: ExecStatus = "ok" if exit_code == 0 else "error"
    if exit_code != 0 and exec_status(exit_code, stderr, timed_out=False, truncated=False) == "oom":
        status = "oom"
    return ExecResult(stdout, stderr, exit_code, status, time.monotonic() - start)


def frame_request(body: bytes) -> bytes:
    """``body`` (a JSON request) framed for the REPL server: a 4-byte big-endian length first."""
    return _HEADER.pack(len(body)) + body


def parse_reply(buf: bytearray) -> dict[str, Any] | None:
    """The REPL server's framed JSON reply at the start of ``buf``; None if it is incomplete.

    A reply that is not a JSON object reads as ``{"exit_code": 1, "corrupt": True}``.
    """
    if len(buf) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack_from(buf)
    if len(buf) < _HEADER.size + size:
        return None
    try:
        reply = json.loads(bytes(buf[_HEADER.size : _HEADER.size + size]))
    except ValueError:
        return {"exit_code": 1, "corrupt": True}
    return reply if isinstance(reply, dict) else {"exit_code": 1, "corrupt": True}

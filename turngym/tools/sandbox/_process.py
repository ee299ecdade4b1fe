"""What the process-based backends (``local``, ``bwrap``) share: limits, capped reading, kills.

:class:`ProcessSandbox` runs one program per ``run`` in a fresh working directory and reads
its output with a cap; a backend only says how to start the interpreter (:meth:`_launch`):
as a plain child process (``local``) or inside bubblewrap namespaces (``bwrap``). Sessions
(:mod:`turngym.tools.sandbox.session`) start their long-lived interpreter the same way.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from turngym.tools.sandbox._lifecycle import LimitedSandbox
from turngym.tools.sandbox.base import ExecResult, ExecStatus

if TYPE_CHECKING:
    from turngym.tools.sandbox.session import ProcessSession

try:
    import resource
except ImportError:  # pragma: no cover - not POSIX
    resource = None  # type: ignore[assignment]

SCRIPT_NAME = "main.py"
# Runs main.py as __main__ without defining any name in it; tracebacks show "main.py".
RUN_BOOTSTRAP = (
    f"exec(compile(open({SCRIPT_NAME!r}, 'rb').read(), {SCRIPT_NAME!r}, 'exec', dont_inherit=True))"
)
POLL_S = 0.05
READ_CHUNK = 65536
DRAIN_S = 1.0
_MEMORY_ERROR_RE = re.compile(r"\bMemoryError\b|Cannot allocate memory|std::bad_alloc")
THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


# ---- a started interpreter ------------------------------------------------------------------


@dataclass(eq=False)
class Launched:
    """A sandboxed interpreter that a backend started, and how to stop it."""

    proc: subprocess.Popen[bytes]
    """The process this side waits on (the interpreter itself, or ``bwrap``)."""
    kill: Callable[[], None]
    """SIGKILL the program and everything the backend can reach that it started."""
    release: Callable[[], None] = lambda: None
    """Free what the backend set up for this process (after it ended and was reaped)."""
    returncode_map: Callable[[int], int] = field(default=lambda rc: rc)
    """Turn the waited process's status into the program's (``bwrap`` reports signals as
    ``128 + n``)."""


# ---- limits ---------------------------------------------------------------------------------


def rlimits(
    *,
    cpu_s: float | None,
    memory_mb: int | None,
    max_file_bytes: int | None,
    max_open_files: int | None,
    max_processes: int | None = None,
) -> list[tuple[int, int, int]]:
    """The ``(resource, soft, hard)`` rlimits for these limits (no core dumps, always)."""
    if resource is None:  # pragma: no cover - not POSIX
        return []
    limits: list[tuple[int, int, int]] = [(resource.RLIMIT_CORE, 0, 0)]
    if cpu_s is not None:
        cpu = math.ceil(cpu_s)
        limits.append((resource.RLIMIT_CPU, cpu, cpu + 1))
    if memory_mb is not None:
        size = int(memory_mb) * 2**20
        limits.append((resource.RLIMIT_AS, size, size))
    if max_file_bytes is not None:
        limits.append((resource.RLIMIT_FSIZE, int(max_file_bytes), int(max_file_bytes)))
    if max_open_files is not None:
        limits.append((resource.RLIMIT_NOFILE, int(max_open_files), int(max_open_files)))
    if max_processes is not None:
        limits.append((resource.RLIMIT_NPROC, int(max_processes), int(max_processes)))
    return limits


def preexec(
    limits: list[tuple[int, int, int]], *, join_cgroup: str | None = None
) -> Callable[[], None] | None:
    """A ``preexec_fn`` that sets ``limits`` and optionally moves the child into a cgroup.

    It only calls ``getrlimit``/``setrlimit`` and ``os.open``/``write``/``close`` on a path
    prepared beforehand: it imports nothing and takes no lock, which is what makes
    ``preexec_fn`` risky in a threaded caller.
    """
    if resource is None:  # pragma: no cover - not POSIX
        return None
    procs_path = join_cgroup

    def apply() -> None:  # runs in the child between fork and exec: keep it minimal
        if procs_path is not None:
            fd = os.open(procs_path, os.O_WRONLY)
            try:
                os.write(fd, b"0")
            finally:
                os.close(fd)
        for res, soft, hard in limits:
            _, current_hard = resource.getrlimit(res)
            if current_hard != resource.RLIM_INFINITY:
                soft, hard = min(soft, current_hard), min(hard, current_hard)
            resource.setrlimit(res, (soft, hard))

    return apply


# ---- processes ------------------------------------------------------------------------------


def has_exited(proc: subprocess.Popen[bytes]) -> bool:
    """Whether ``proc`` has ended, without reaping it where possible (its pid stays valid)."""
    if proc.returncode is not None:
        return True
    if hasattr(os, "waitid"):
        try:
            return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            return True
    return proc.poll() is not None  # pragma: no cover - platforms without waitid


def pidfd(pid: int) -> int | None:
    """A descriptor that becomes readable when process ``pid`` ends, or None (not Linux 5.3+).

    The caller closes it. ``pid`` must be an unreaped child, so that it cannot have been reused.
    """
    pidfd_open = getattr(os, "pidfd_open", None)
    if pidfd_open is None:
        return None
    try:
        return pidfd_open(pid)
    except OSError:
        return None


def kill_group(pgid: int) -> None:
    """SIGKILL a process group, ignoring one that is gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def exec_status(returncode: int, stderr: str, *, timed_out: bool, truncated: bool) -> ExecStatus:
    """The :class:`ExecResult` status for a finished program."""
    if timed_out:
        return "timeout"
    if truncated:
        return "output_truncated"
    if returncode == 0:
        return "ok"
    if returncode == -getattr(signal, "SIGXCPU", 24):
        return "timeout"
    tail = "\n".join(stderr.strip().splitlines()[-5:])
    if _MEMORY_ERROR_RE.search(tail):
        return "oom"
    if returncode < 0:
        return "killed"
    return "error"


# ---- capped reading -------------------------------------------------------------------------


def read_capped(
    sel: selectors.BaseSelector, pipe: IO[bytes] | int, buf: bytearray, cap: int
) -> bool:
    """Read one chunk from ``pipe`` into ``buf``, keeping at most ``cap`` bytes in it.

    Unregisters ``pipe`` from ``sel`` at end of file.

    Returns:
        Whether more than ``cap`` bytes were written in all (the excess is dropped).
    """
    fd = pipe if isinstance(pipe, int) else pipe.fileno()
    try:
        chunk = os.read(fd, READ_CHUNK)
    except BlockingIOError:
        return False
    if not chunk:
        sel.unregister(pipe)
        return False
    room = cap - len(buf)
    buf += chunk[: max(room, 0)]
    return len(chunk) > room


def collect(
    launched: Launched,
    buffers: dict[IO[bytes], bytearray],
    *,
    deadline: float,
    cap: int,
) -> tuple[bool, bool]:
    """Read the pipes (capped) until the program ends, times out or floods; then kill it.

    Returns:
        ``(timed_out, truncated)``.
    """
    proc = launched.proc
    timed_out = truncated = False
    with selectors.DefaultSelector() as sel:
        for pipe in buffers:
            os.set_blocking(pipe.fileno(), False)
            sel.register(pipe, selectors.EVENT_READ)
        # A pidfd becomes readable when the program ends (it is not reaped): waiting on it
        # instead of polling saves up to a poll interval per run.
        exit_fd = pidfd(proc.pid)
        if exit_fd is not None:
            sel.register(exit_fd, selectors.EVENT_READ)
        try:
            while not has_exited(proc):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    timed_out = True
                    break
                if not sel.get_map():  # pipes closed, program still running (no pidfd)
                    time.sleep(min(remaining, 0.005))
                    continue
                for key, _ in sel.select(timeout=min(remaining, POLL_S)):
                    if key.fileobj != exit_fd:
                        truncated |= read_capped(sel, key.fileobj, buffers[key.fileobj], cap)  # type: ignore[index,arg-type]
                if truncated:
                    break
        finally:
            if exit_fd is not None:
                sel.unregister(exit_fd)
                os.close(exit_fd)
        # The program is done (or must stop): kill it and whatever it left behind, then drain
        # what was written before the kill. The main process is not reaped yet, so its pid
        # (and process group id) cannot have been reused.
        launched.kill()
        drain_deadline = time.monotonic() + DRAIN_S
        while sel.get_map() and not truncated:
            remaining = drain_deadline - time.monotonic()
            if remaining <= 0:  # a process that escaped the kill still holds a pipe
                break
            for key, _ in sel.select(timeout=remaining):
                truncated |= read_capped(sel, key.fileobj, buffers[key.fileobj], cap)  # type: ignore[index,arg-type]
    return timed_out, truncated


# ---- the shared sandbox ---------------------------------------------------------------------


class ProcessSandbox(LimitedSandbox):
    """Base of the process-based backends: limits, ``run``, ``session``, ``close``.

    Subclasses implement :meth:`_launch` (start the interpreter on a ``-c`` program in a
    working directory) and may override :meth:`_workdir_inside` / :meth:`_check_ready`.

    Args:
        timeout_s: Default wall-clock limit per run (per cell in a session), in seconds.
        memory_mb: Address-space limit (``RLIMIT_AS``) per process, in MiB; None for none.
        cpu_time_s: CPU-seconds limit (``RLIMIT_CPU``); None for the run's timeout rounded up
            plus one second.
        max_output_bytes: Cap on the bytes kept from stdout, and separately from stderr.
        max_file_bytes: Largest file the program may write (``RLIMIT_FSIZE``); None for none.
        max_open_files: Limit on open file descriptors (``RLIMIT_NOFILE``); None for none.
    """

    backend: str = "process"
    """The backend's name in :func:`~turngym.tools.sandbox.make_sandbox`."""

    def __init__(
        self,
        *,
        timeout_s: float = 10.0,
        memory_mb: int | None = 1024,
        cpu_time_s: float | None = None,
        max_output_bytes: int = 65_536,
        max_file_bytes: int | None = 16 * 2**20,
        max_open_files: int | None = 256,
    ):
        if os.name != "posix":
            raise OSError(f"{type(self).__name__} needs a POSIX system (process groups, rlimits)")
        self._init_limits(
            timeout_s=timeout_s,
            memory_mb=memory_mb,
            cpu_time_s=cpu_time_s,
            max_output_bytes=max_output_bytes,
            max_file_bytes=max_file_bytes,
            max_open_files=max_open_files,
            sessions=weakref.WeakSet(),
        )

    # ---- public API ---------------------------------------------------------------------

    def run(self, code: str, *, timeout: float | None = None) -> ExecResult:
        """Run ``code`` as ``__main__`` in a fresh temporary directory.

        Args:
            code: Python source.
            timeout: Wall-clock limit in seconds; None for ``timeout_s``.

        Returns:
            The result; never raises for anything the code does.

        Raises:
            SandboxClosedError: The sandbox was closed.
            ValueError: ``timeout`` is not positive.
            RuntimeError: The interpreter could not be started (a host problem, not the code's).
        """
        self._check_open()
        limit = self.resolve_timeout(timeout)
        workdir = self.make_workdir()
        try:
            with open(os.path.join(workdir, SCRIPT_NAME), "w", encoding="utf-8") as f:
                f.write(code)
            return self._execute(workdir, limit)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def session(self, *, timeout_s: float | None = None) -> ProcessSession:
        """Start a persistent interpreter whose variables live across ``run`` calls.

        Args:
            timeout_s: Default per-cell wall-clock limit; None for the sandbox's ``timeout_s``.

        Returns:
            A :class:`~turngym.tools.sandbox.session.ProcessSession`; close it (or the
            sandbox) when the episode ends.
        """
        from turngym.tools.sandbox.session import ProcessSession

        self._check_open()
        session = ProcessSession(self, timeout_s=timeout_s)
        self._add_session(session)
        return session

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(timeout_s={self.timeout_s}, memory_mb={self.memory_mb}, "
            f"max_output_bytes={self.max_output_bytes})"
        )

    # ---- helpers shared with sessions ---------------------------------------------------

    def make_workdir(self) -> str:
        """A fresh private temporary directory on the host for one run or session."""
        return tempfile.mkdtemp(prefix=f"turngym-{self.backend}-")

    def start(
        self,
        workdir: str,
        program: str,
        *,
        cpu_s: float | None,
        stdin: int | None = subprocess.DEVNULL,
        pass_fds: Iterable[int] = (),
    ) -> Launched:
        """Start the interpreter on the ``-c`` ``program`` in ``workdir``, and track it.

        Raises:
            RuntimeError: The interpreter could not be started.
        """
        launched = self._launch(workdir, program, cpu_s=cpu_s, stdin=stdin, pass_fds=pass_fds)
        if self._track(launched):  # close() raced with this start: do not leave it running
            launched.kill()
        return launched

    def finish(self, launched: Launched) -> int:
        """Reap a killed or ended process, untrack it, release it; return its status."""
        try:
            returncode = launched.proc.wait()
        finally:
            self._untrack(launched)
            launched.release()
        return launched.returncode_map(returncode)

    def _kill_running(self, item: Launched) -> None:
        item.kill()

    # ---- one run ------------------------------------------------------------------------

    def _execute(self, workdir: str, timeout: float) -> ExecResult:
        start = time.monotonic()
        launched = self.start(workdir, RUN_BOOTSTRAP, cpu_s=self.cpu_limit(timeout))
        proc = launched.proc
        try:
            assert proc.stdout is not None and proc.stderr is not None
            out, err = bytearray(), bytearray()
            timed_out, truncated = collect(
                launched,
                {proc.stdout: out, proc.stderr: err},
                deadline=start + timeout,
                cap=self.max_output_bytes,
            )
        finally:
            returncode = self.finish(launched)
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
        stderr = err.decode("utf-8", "replace")
        return ExecResult(
            stdout=out.decode("utf-8", "replace"),
            stderr=stderr,
            exit_code=returncode,
            status=exec_status(returncode, stderr, timed_out=timed_out, truncated=truncated),
            wall_time_s=time.monotonic() - start,
        )

    def _launch(
        self,
        workdir: str,
        program: str,
        *,
        cpu_s: float | None,
        stdin: int | None,
        pass_fds: Iterable[int],
    ) -> Launched:
        """Start the interpreter on ``-c program`` with cwd ``workdir``, limits applied.

        stdout and stderr must be pipes (``proc.stdout`` / ``proc.stderr``).
        """
        raise NotImplementedError

    def _rlimits(
        self, cpu_s: float | None, *, max_processes: int | None = None
    ) -> list[tuple[int, int, int]]:
        """The rlimits for a process started with CPU limit ``cpu_s`` under this sandbox."""
        return rlimits(
            cpu_s=cpu_s,
            memory_mb=self.memory_mb,
            max_file_bytes=self.max_file_bytes,
            max_open_files=self.max_open_files,
            max_processes=max_processes,
        )

    def _popen(self, argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        try:
            return subprocess.Popen(
                argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                close_fds=True,
                **kwargs,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise RuntimeError(f"{type(self).__name__} could not start {argv[0]!r}: {exc}") from exc

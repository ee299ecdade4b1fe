"""``LocalSandbox``: run Python in a child process of this one, with limits. Development only.

**This is NOT a security boundary.** The code runs as the current user on the host: it can read
and write every file that user can, open network connections, and start processes that leave
the process group (``setsid``) and so outlive the kill. Use it for development, tests and
trusted code. Untrusted model code belongs in the hardened ``bwrap`` backend (a later issue;
it plugs in behind ``make_sandbox(backend=...)``).

What it does give:
    * a fresh temporary working directory per run (also ``HOME`` and ``TMPDIR``), removed after;
    * ``python -I`` (the current interpreter, isolated mode: no ``PYTHON*`` variables, no user
      site-packages, no script directory on ``sys.path``), stdin at end-of-file;
    * a scrubbed environment: ``PATH``, ``LANG``, ``HOME``, ``TMPDIR`` and single-thread
      settings for numeric libraries, nothing else from the caller (no secrets);
    * a wall-clock timeout that SIGKILLs the whole process group (the program and everything
      it started that stayed in the group); the group is also killed when the program ends, so
      background children do not outlive their run;
    * rlimits set in the child (by a ``preexec_fn`` that only calls ``getrlimit``/``setrlimit``:
      it imports nothing and takes no lock, which is what makes ``preexec_fn`` risky in a
      threaded caller): address space (memory), CPU seconds, file size, open files, no core
      dumps;
    * an output cap per stream, read incrementally: output is never buffered beyond the cap,
      and a program that exceeds it is stopped (status ``output_truncated``).
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
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from typing import IO

from turngym.tools.sandbox.base import ExecResult, ExecStatus, SandboxClosedError

try:
    import resource
except ImportError:  # pragma: no cover - not POSIX
    resource = None  # type: ignore[assignment]

__all__ = ["LocalSandbox"]

_SCRIPT_NAME = "main.py"
# Runs main.py as __main__ without defining any name in it; tracebacks show "main.py".
_BOOTSTRAP = f"exec(compile(open({_SCRIPT_NAME!r}, 'rb').read(), {_SCRIPT_NAME!r}, 'exec', dont_inherit=True))"
_POLL_S = 0.05
_READ_CHUNK = 65536
_DRAIN_S = 1.0
_MEMORY_ERROR_RE = re.compile(r"\bMemoryError\b|Cannot allocate memory|std::bad_alloc")


class LocalSandbox:
    """Runs Python programs as local subprocesses with time, memory, file and output limits.

    NOT a security boundary (see the module docstring): it protects the caller from runaway
    programs (infinite loops, memory bombs, output floods, stray child processes), not from
    hostile ones.

    Args:
        timeout_s: Default wall-clock limit per run, in seconds.
        memory_mb: Address-space limit (``RLIMIT_AS``) in MiB; None for none.
        cpu_time_s: CPU-seconds limit (``RLIMIT_CPU``); None for the run's timeout rounded up
            plus one second.
        max_output_bytes: Cap on the bytes kept from stdout, and separately from stderr.
        max_file_bytes: Largest file the program may write (``RLIMIT_FSIZE``); None for none.
        max_open_files: Limit on open file descriptors (``RLIMIT_NOFILE``); None for none.
        python: The interpreter to run; defaults to ``sys.executable``.
        extra_env: More environment variables for the program (nothing else is passed on).
    """

    def __init__(
        self,
        *,
        timeout_s: float = 10.0,
        memory_mb: int | None = 1024,
        cpu_time_s: float | None = None,
        max_output_bytes: int = 65_536,
        max_file_bytes: int | None = 16 * 2**20,
        max_open_files: int | None = 256,
        python: str | None = None,
        extra_env: Mapping[str, str] | None = None,
    ):
        if os.name != "posix":
            raise OSError("LocalSandbox needs a POSIX system (process groups, rlimits)")
        for label, value in (
            ("timeout_s", timeout_s),
            ("memory_mb", memory_mb),
            ("cpu_time_s", cpu_time_s),
            ("max_output_bytes", max_output_bytes),
            ("max_file_bytes", max_file_bytes),
            ("max_open_files", max_open_files),
        ):
            if value is not None and not value > 0:
                raise ValueError(f"LocalSandbox {label} must be positive, got {value!r}")
        self.timeout_s = float(timeout_s)
        self.memory_mb = memory_mb
        self.cpu_time_s = cpu_time_s
        self.max_output_bytes = int(max_output_bytes)
        self.max_file_bytes = max_file_bytes
        self.max_open_files = max_open_files
        self.python = python or sys.executable
        self.extra_env = dict(extra_env or {})
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[bytes]] = set()
        self._closed = False

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
        if self._closed:
            raise SandboxClosedError("LocalSandbox.run called after close()")
        limit = self.timeout_s if timeout is None else float(timeout)
        if not limit > 0:
            raise ValueError(f"timeout must be positive, got {timeout!r}")
        workdir = tempfile.mkdtemp(prefix="turngym-sandbox-")
        try:
            with open(os.path.join(workdir, _SCRIPT_NAME), "w", encoding="utf-8") as f:
                f.write(code)
            return self._execute(workdir, limit)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def close(self) -> None:
        """Kill every program still running and refuse new runs; safe to call more than once."""
        with self._lock:
            self._closed = True
            running = list(self._running)
        for proc in running:
            _kill_group(proc.pid)

    def __enter__(self) -> LocalSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"LocalSandbox(timeout_s={self.timeout_s}, memory_mb={self.memory_mb}, "
            f"max_output_bytes={self.max_output_bytes})"
        )

    # ---- one run ------------------------------------------------------------------------

    def _execute(self, workdir: str, timeout: float) -> ExecResult:
        start = time.monotonic()
        try:
            proc = subprocess.Popen(
                [self.python, "-I", "-u", "-X", "utf8", "-c", _BOOTSTRAP],
                cwd=workdir,
                env=self._child_env(workdir),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                close_fds=True,
                preexec_fn=self._limits_fn(timeout),
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise RuntimeError(f"LocalSandbox could not start {self.python!r}: {exc}") from exc
        with self._lock:
            self._running.add(proc)
        try:
            assert proc.stdout is not None and proc.stderr is not None
            out, err = bytearray(), bytearray()
            timed_out, truncated = self._collect(
                proc, {proc.stdout: out, proc.stderr: err}, timeout, start
            )
            returncode = proc.wait()
        finally:
            with self._lock:
                self._running.discard(proc)
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
        stderr = err.decode("utf-8", "replace")
        return ExecResult(
            stdout=out.decode("utf-8", "replace"),
            stderr=stderr,
            exit_code=returncode,
            status=_status(returncode, stderr, timed_out=timed_out, truncated=truncated),
            wall_time_s=time.monotonic() - start,
        )

    def _collect(
        self,
        proc: subprocess.Popen[bytes],
        buffers: dict[IO[bytes], bytearray],
        timeout: float,
        start: float,
    ) -> tuple[bool, bool]:
        """Read both pipes (capped) until the program ends, times out or floods; kill its group.

        Returns:
            ``(timed_out, truncated)``.
        """
        deadline = start + timeout
        timed_out = truncated = False
        with selectors.DefaultSelector() as sel:
            for pipe in buffers:
                os.set_blocking(pipe.fileno(), False)
                sel.register(pipe, selectors.EVENT_READ)
            while not _has_exited(proc):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    timed_out = True
                    break
                if not sel.get_map():  # pipes closed, program still running
                    time.sleep(min(remaining, 0.005))
                    continue
                for key, _ in sel.select(timeout=min(remaining, _POLL_S)):
                    truncated |= self._read_into(sel, key.fileobj, buffers)  # type: ignore[arg-type]
                if truncated:
                    break
            # The program is done (or must stop): kill it and everything it left in its group,
            # then drain what was written before the kill. The leader is not reaped yet, so its
            # process group id cannot have been reused.
            _kill_group(proc.pid)
            drain_deadline = time.monotonic() + _DRAIN_S
            while sel.get_map() and not truncated:
                remaining = drain_deadline - time.monotonic()
                if remaining <= 0:  # a process that left the group still holds a pipe
                    break
                for key, _ in sel.select(timeout=remaining):
                    truncated |= self._read_into(sel, key.fileobj, buffers)  # type: ignore[arg-type]
        return timed_out, truncated

    def _read_into(
        self, sel: selectors.BaseSelector, pipe: IO[bytes], buffers: dict[IO[bytes], bytearray]
    ) -> bool:
        """Read one chunk from ``pipe`` into its buffer; return whether the cap was exceeded."""
        try:
            chunk = os.read(pipe.fileno(), _READ_CHUNK)
        except BlockingIOError:
            return False
        if not chunk:
            sel.unregister(pipe)
            return False
        buf = buffers[pipe]
        room = self.max_output_bytes - len(buf)
        buf += chunk[: max(room, 0)]
        return len(chunk) > room

    def _child_env(self, workdir: str) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "HOME": workdir,
            "TMPDIR": workdir,
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }
        env.update(self.extra_env)
        return env

    def _limits_fn(self, timeout: float) -> Callable[[], None] | None:
        if resource is None:  # pragma: no cover - not POSIX
            return None
        cpu = self.cpu_time_s if self.cpu_time_s is not None else math.ceil(timeout) + 1
        limits: list[tuple[int, int, int]] = [(resource.RLIMIT_CORE, 0, 0)]
        cpu_s = math.ceil(cpu)
        limits.append((resource.RLIMIT_CPU, cpu_s, cpu_s + 1))
        if self.memory_mb is not None:
            size = int(self.memory_mb) * 2**20
            limits.append((resource.RLIMIT_AS, size, size))
        if self.max_file_bytes is not None:
            limits.append(
                (resource.RLIMIT_FSIZE, int(self.max_file_bytes), int(self.max_file_bytes))
            )
        if self.max_open_files is not None:
            limits.append(
                (resource.RLIMIT_NOFILE, int(self.max_open_files), int(self.max_open_files))
            )

        def apply_limits() -> None:  # runs in the child between fork and exec: keep it minimal
            for res, soft, hard in limits:
                _, current_hard = resource.getrlimit(res)
                if current_hard != resource.RLIM_INFINITY:
                    soft, hard = min(soft, current_hard), min(hard, current_hard)
                resource.setrlimit(res, (soft, hard))

        return apply_limits


def _has_exited(proc: subprocess.Popen[bytes]) -> bool:
    """Whether the program's main process has ended, without reaping it where possible."""
    if hasattr(os, "waitid"):
        try:
            return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            return True
    return proc.poll() is not None  # pragma: no cover - platforms without waitid


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _status(returncode: int, stderr: str, *, timed_out: bool, truncated: bool) -> ExecStatus:
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

"""``LocalSandbox``: run Python in a child process of this one, with limits. Development only.

**This is NOT a security boundary.** The code runs as the current user on the host: it can read
and write every file that user can, open network connections, and start processes that leave
the process group (``setsid``) and so outlive the kill. Use it for development, tests and
trusted code. Untrusted model code belongs in the hardened ``bwrap`` backend
(``make_sandbox(backend="bwrap")``).

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
      and a program that exceeds it is stopped (status ``output_truncated``);
    * persistent sessions (:meth:`LocalSandbox.session`), with the same limits per cell.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping

from turngym.tools.sandbox._process import (
    THREAD_ENV,
    Launched,
    ProcessSandbox,
    kill_group,
    preexec,
)

__all__ = ["LocalSandbox"]


class LocalSandbox(ProcessSandbox):
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

    backend = "local"

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
        super().__init__(
            timeout_s=timeout_s,
            memory_mb=memory_mb,
            cpu_time_s=cpu_time_s,
            max_output_bytes=max_output_bytes,
            max_file_bytes=max_file_bytes,
            max_open_files=max_open_files,
        )
        self.python = python or sys.executable
        self.extra_env = dict(extra_env or {})

    def _launch(
        self,
        workdir: str,
        program: str,
        *,
        cpu_s: float | None,
        stdin: int | None,
        pass_fds: Iterable[int],
    ) -> Launched:
        limits = self._rlimits(cpu_s)
        proc = self._popen(
            [self.python, "-I", "-u", "-X", "utf8", "-c", program],
            cwd=workdir,
            env=self._child_env(workdir),
            stdin=stdin,
            pass_fds=tuple(pass_fds),
            preexec_fn=preexec(limits),
        )
        return Launched(proc=proc, kill=lambda: kill_group(proc.pid))

    def _child_env(self, workdir: str) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "HOME": workdir,
            "TMPDIR": workdir,
            **THREAD_ENV,
        }
        env.update(self.extra_env)
        return env

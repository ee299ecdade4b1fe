"""The sandbox protocol: run a Python program, get back an :class:`ExecResult`.

Every backend (``local``, ``bwrap``; ``docker``, ``e2b`` planned) implements :class:`Sandbox`.
A backend never raises for anything the code did: a timeout, a crash, an output flood or a
memory bomb all end as an ``ExecResult`` with the matching ``status``. Backends that can keep
an interpreter alive across calls also implement :class:`SessionSandbox`: ``session()`` gives
a :class:`SandboxSession` (notebook-like state).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

__all__ = [
    "EXEC_STATUSES",
    "ExecResult",
    "ExecStatus",
    "Sandbox",
    "SandboxClosedError",
    "SandboxSession",
    "SessionSandbox",
]

ExecStatus = Literal["ok", "error", "timeout", "oom", "killed", "output_truncated"]
EXEC_STATUSES: tuple[str, ...] = ("ok", "error", "timeout", "oom", "killed", "output_truncated")


class SandboxClosedError(RuntimeError):
    """``run`` was called on a sandbox after ``close``."""


@dataclass(frozen=True)
class ExecResult:
    """The outcome of running one program in a sandbox."""

    stdout: str
    """What the program wrote to standard output (capped; decoded as UTF-8 with replacement)."""
    stderr: str
    """What it wrote to standard error: tracebacks, warnings (capped the same way)."""
    exit_code: int | None
    """The process's exit status; negative for a signal (``-9``: killed); None if unknown."""
    status: ExecStatus
    """``ok`` (exit 0), ``error`` (non-zero exit), ``timeout`` (wall or CPU limit hit),
    ``oom`` (memory limit hit), ``killed`` (ended by a signal the sandbox did not send), or
    ``output_truncated`` (stopped for writing more than the output cap)."""
    wall_time_s: float
    """Wall-clock seconds from start to end (not deterministic: keep it out of env infos)."""

    @property
    def ok(self) -> bool:
        """Whether the program ran to completion with exit status 0."""
        return self.status == "ok"


@runtime_checkable
class Sandbox(Protocol):
    """Runs Python programs in isolation from the caller.

    Implementations must be safe to call from several threads (each ``run`` is independent)
    and must not raise for anything the program does.
    """

    def run(self, code: str, *, timeout: float | None = None) -> ExecResult:
        """Run ``code`` as a Python program in a fresh working directory.

        Args:
            code: Python source, run as ``__main__``.
            timeout: Wall-clock limit in seconds; None for the sandbox's default.
        """
        ...

    def close(self) -> None:
        """Stop running programs and release resources; safe to call more than once."""
        ...


@runtime_checkable
class SandboxSession(Protocol):
    """A persistent interpreter in a sandbox: variables live across ``run`` calls.

    A cell that ends the interpreter (timeout, output flood, crash) loses the state; the next
    ``run`` starts a fresh interpreter and says so at the start of its stderr.
    """

    def run(self, code: str, *, timeout: float | None = None) -> ExecResult:
        """Run one cell; its last expression, if any, is printed like in a notebook.

        Args:
            code: Python source.
            timeout: Wall-clock limit for this cell; None for the session's default.
        """
        ...

    def close(self) -> None:
        """Kill the interpreter and release its resources; safe to call more than once."""
        ...


@runtime_checkable
class SessionSandbox(Sandbox, Protocol):
    """A :class:`Sandbox` that can also start persistent sessions."""

    def session(self, *, timeout_s: float | None = None) -> SandboxSession:
        """Start a persistent interpreter with this sandbox's isolation and limits.

        Args:
            timeout_s: Default per-cell wall-clock limit; None for the sandbox's default.
        """
        ...

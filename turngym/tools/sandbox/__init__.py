"""Sandboxes: run untrusted Python behind one protocol, whatever the backend.

``make_sandbox(backend, **limits)`` builds one. Backends:
    ``bwrap``: bubblewrap namespaces (no network, host files hidden, process cap, every
        process killed with the run): the one for untrusted code. Needs the ``bwrap`` binary
        (Debian/Ubuntu package ``bubblewrap``). See :class:`BwrapSandbox`.
    ``local``: a subprocess with limits, for development only: NOT a security boundary.
Both give persistent sessions (``sandbox.session()``, notebook-like state). Planned (not
implemented yet): ``docker`` and ``e2b``.
"""

from __future__ import annotations

from typing import Any

from turngym.tools.sandbox.base import (
    EXEC_STATUSES,
    ExecResult,
    ExecStatus,
    Sandbox,
    SandboxClosedError,
    SandboxSession,
    SessionSandbox,
)
from turngym.tools.sandbox.bwrap import (
    BWRAP_APT_PACKAGE,
    BwrapNotFoundError,
    BwrapSandbox,
    find_bwrap,
)
from turngym.tools.sandbox.local import LocalSandbox
from turngym.tools.sandbox.session import RESTART_NOTE, ProcessSession

__all__ = [
    "BACKENDS",
    "BWRAP_APT_PACKAGE",
    "EXEC_STATUSES",
    "PLANNED_BACKENDS",
    "RESTART_NOTE",
    "BwrapNotFoundError",
    "BwrapSandbox",
    "ExecResult",
    "ExecStatus",
    "LocalSandbox",
    "ProcessSession",
    "Sandbox",
    "SandboxClosedError",
    "SandboxSession",
    "SessionSandbox",
    "available_backends",
    "find_bwrap",
    "make_sandbox",
]

BACKENDS: dict[str, type] = {"bwrap": BwrapSandbox, "local": LocalSandbox}
"""Implemented backends by name."""
PLANNED_BACKENDS: tuple[str, ...] = ("docker", "e2b")
"""Backends that are planned but not implemented yet."""


def available_backends() -> list[str]:
    """The implemented backends that can run on this machine (``bwrap`` needs its binary)."""
    return [name for name in BACKENDS if name != "bwrap" or find_bwrap() is not None]


def make_sandbox(backend: str = "local", **limits: Any) -> Sandbox:
    """Build a sandbox.

    Args:
        backend: ``"bwrap"`` (the hardened one, for untrusted code) or ``"local"``
            (development only, not a security boundary).
        **limits: Passed to the backend's constructor, e.g. ``timeout_s``, ``memory_mb``,
            ``max_output_bytes`` (see :class:`LocalSandbox`), ``max_processes``
            (:class:`BwrapSandbox` only).

    Raises:
        ValueError: Unknown or not yet implemented backend (the message lists the known ones).
        BwrapNotFoundError: ``bwrap`` was asked for but its binary is not installed (the
            message names the package).
        TypeError: A limit the backend does not take.
    """
    if backend not in BACKENDS:
        known = ", ".join(repr(b) for b in BACKENDS)
        planned = ", ".join(repr(b) for b in PLANNED_BACKENDS)
        status = (
            "is planned but not implemented yet" if backend in PLANNED_BACKENDS else "is unknown"
        )
        raise ValueError(
            f"sandbox backend {backend!r} {status}; known backends: {known} (planned: {planned})"
        )
    if backend == "bwrap" and find_bwrap() is None and "bwrap" not in limits:
        available = ", ".join(repr(b) for b in available_backends())
        raise BwrapNotFoundError(
            "sandbox backend 'bwrap' needs the bubblewrap binary 'bwrap', which is not on PATH: "
            f"install the {BWRAP_APT_PACKAGE!r} package (apt-get install {BWRAP_APT_PACKAGE}); "
            f"backends available here: {available}"
        )
    return BACKENDS[backend](**limits)

"""Sandboxes: run untrusted Python behind one protocol, whatever the backend.

``make_sandbox(backend, **limits)`` builds one. Backends:
    ``local``: a subprocess with limits, for development only: NOT a security boundary.
Planned (not implemented yet): ``bwrap`` (bubblewrap namespaces, the hardened default to be),
``docker`` and ``e2b``.
"""

from __future__ import annotations

from typing import Any

from turngym.tools.sandbox.base import (
    EXEC_STATUSES,
    ExecResult,
    ExecStatus,
    Sandbox,
    SandboxClosedError,
)
from turngym.tools.sandbox.local import LocalSandbox

__all__ = [
    "BACKENDS",
    "EXEC_STATUSES",
    "ExecResult",
    "ExecStatus",
    "LocalSandbox",
    "PLANNED_BACKENDS",
    "Sandbox",
    "SandboxClosedError",
    "make_sandbox",
]

BACKENDS: dict[str, type] = {"local": LocalSandbox}
"""Implemented backends by name."""
PLANNED_BACKENDS: tuple[str, ...] = ("bwrap", "docker", "e2b")
"""Backends that are planned but not implemented yet."""


def make_sandbox(backend: str = "local", **limits: Any) -> Sandbox:
    """Build a sandbox.

    Args:
        backend: ``"local"`` (development only, not a security boundary).
        **limits: Passed to the backend's constructor, e.g. ``timeout_s``, ``memory_mb``,
            ``max_output_bytes`` (see :class:`LocalSandbox`).

    Raises:
        ValueError: Unknown or not yet implemented backend (the message lists the known ones).
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
    return BACKENDS[backend](**limits)

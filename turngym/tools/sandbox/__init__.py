"""Sandboxes: run untrusted Python behind one protocol, whatever the backend.

``make_sandbox(backend, **limits)`` builds one. Backends:
    ``bwrap``: bubblewrap namespaces (no network, host files hidden, process cap, every
        process killed with the run): the one for untrusted code. Needs the ``bwrap`` binary
        (Debian/Ubuntu package ``bubblewrap``). See :class:`BwrapSandbox`.
    ``local``: a subprocess with limits, for development only: NOT a security boundary.
    ``docker``: a fresh locked-down container per run (no network, read-only root, non-root,
        memory/pids/CPU limits), through the ``docker`` SDK (``pip install 'turngym[docker]'``)
        and a running daemon. See :class:`DockerSandbox`.
    ``e2b``: E2B cloud sandboxes (``pip install 'turngym[e2b]'``, ``E2B_API_KEY``). See
        :class:`E2BSandbox`.
All four give persistent sessions (``sandbox.session()``,
notebook-like state). A backend whose SDK, daemon or key is missing raises
:class:`SandboxUnavailableError` saying what to do.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
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
from turngym.tools.sandbox.docker import (
    DockerSandbox,
    DockerSession,
    SandboxUnavailableError,
    connect_docker,
)
from turngym.tools.sandbox.e2b import E2B_API_KEY_ENV, E2BSandbox, E2BSession
from turngym.tools.sandbox.local import LocalSandbox
from turngym.tools.sandbox.pool import SessionPool
from turngym.tools.sandbox.session import RESTART_NOTE, ProcessSession

__all__ = [
    "SessionPool",
    "BACKENDS",
    "BWRAP_APT_PACKAGE",
    "EXEC_STATUSES",
    "PLANNED_BACKENDS",
    "RESTART_NOTE",
    "BwrapNotFoundError",
    "BwrapSandbox",
    "DockerSandbox",
    "DockerSession",
    "E2BSandbox",
    "E2BSession",
    "ExecResult",
    "ExecStatus",
    "LocalSandbox",
    "ProcessSession",
    "Sandbox",
    "SandboxClosedError",
    "SandboxSession",
    "SandboxUnavailableError",
    "SessionSandbox",
    "available_backends",
    "find_bwrap",
    "make_sandbox",
]

BACKENDS: dict[str, type] = {
    "bwrap": BwrapSandbox,
    "local": LocalSandbox,
    "docker": DockerSandbox,
    "e2b": E2BSandbox,
}
"""Implemented backends by name."""
PLANNED_BACKENDS: tuple[str, ...] = ()
"""Backends that are planned but not implemented yet."""


def available_backends() -> list[str]:
    """The implemented backends that can run on this machine.

    ``bwrap`` needs its binary; ``docker`` its SDK and a daemon that answers (asked once per
    call: this may take a moment when none runs); ``e2b`` its SDK and ``E2B_API_KEY`` (the
    service itself is not contacted).
    """
    return [name for name in BACKENDS if _backend_available(name)]


def _backend_available(name: str) -> bool:
    if name == "bwrap":
        return find_bwrap() is not None
    if name == "docker":
        try:
            connect_docker(timeout_s=3.0).close()
        except Exception:
            return False
        return True
    if name == "e2b":
        return (
            bool(os.environ.get(E2B_API_KEY_ENV))
            and importlib.util.find_spec("e2b_code_interpreter") is not None
        )
    return True


def make_sandbox(backend: str = "auto", **limits: Any) -> Sandbox:
    """Build a sandbox.

    Args:
        backend: ``"auto"`` (the default: ``"bwrap"`` when its binary is installed, else
            ``"local"`` with a warning), ``"bwrap"`` (the hardened one, for untrusted code), ``"local"``
            (development only, not a security boundary), ``"docker"`` (a container per run)
            or ``"e2b"`` (E2B cloud sandboxes).
        **limits: Passed to the backend's constructor, e.g. ``timeout_s``, ``memory_mb``,
            ``max_output_bytes`` (see :class:`LocalSandbox`), ``max_processes``
            (:class:`BwrapSandbox`, :class:`DockerSandbox`), ``image`` (docker),
            ``api_key`` / ``template`` (:class:`E2BSandbox`, which takes no memory limit).

    Raises:
        ValueError: Unknown or not yet implemented backend (the message lists the known ones).
        BwrapNotFoundError: ``bwrap`` was asked for but its binary is not installed (the
            message names the package).
        SandboxUnavailableError: ``docker`` or ``e2b`` was asked for but its SDK, daemon or
            API key is missing (the message says what to do).
        TypeError: A limit the backend does not take.
    """
    if backend == "auto":
        if find_bwrap() is not None:
            backend = "bwrap"
        else:
            warnings.warn(
                "bubblewrap is not installed, so model code runs in the 'local' sandbox, which is "
                f"NOT a security boundary; install it with apt-get install {BWRAP_APT_PACKAGE}",
                stacklevel=2,
            )
            backend = "local"
    if backend not in BACKENDS:
        known = ", ".join(repr(b) for b in BACKENDS)
        planned = ", ".join(repr(b) for b in PLANNED_BACKENDS)
        status = (
            "is planned but not implemented yet" if backend in PLANNED_BACKENDS else "is unknown"
        )
        planned = f" (planned: {planned})" if planned else ""
        raise ValueError(f"sandbox backend {backend!r} {status}; known backends: {known}{planned}")
    if backend == "bwrap" and find_bwrap() is None and "bwrap" not in limits:
        available = ", ".join(repr(b) for b in available_backends())
        raise BwrapNotFoundError(
            "sandbox backend 'bwrap' needs the bubblewrap binary 'bwrap', which is not on PATH: "
            f"install the {BWRAP_APT_PACKAGE!r} package (apt-get install {BWRAP_APT_PACKAGE}); "
            f"backends available here: {available}"
        )
    return BACKENDS[backend](**limits)

"""``DockerSandbox``: run Python in a throw-away Docker container per run, with limits.

Each :meth:`DockerSandbox.run` creates one container from ``image`` (``python:3.11-slim`` by
default; it must already be on the host: nothing is pulled at run time) through the ``docker``
Python SDK (``pip install 'turngym[docker]'``) and removes it afterwards. The container gets:
    * no network (``network_mode="none"``: only a loopback device);
    * a read-only root file system, a size-capped writable tmpfs at ``/work`` (the working
      directory and ``HOME``) and one at ``/tmp``;
    * a non-root user (``65534:65534``, "nobody"), every capability dropped
      (``cap_drop=["ALL"]``) and ``no-new-privileges``;
    * a memory cgroup limit with no swap (``mem_limit`` = ``memswap_limit``), a pids cgroup
      limit (``pids_limit``: processes and threads), a CPU share (``nano_cpus``);
    * rlimits: CPU seconds, file size, open files, no core dumps;
    * Docker's init process as PID 1 (``init=True``), so a kill takes every process in the
      container with it and zombies are reaped;
    * an allow-listed environment (``HOME``, ``TMPDIR``, ``LANG``, single-thread settings for
      numeric libraries, plus ``extra_env``) on top of the image's own.

The program arrives as command-line arguments (split in chunks under the kernel's per-argument
limit; programs over :data:`MAX_CODE_BYTES` are refused with status ``error``), is written to
``/work/main.py`` by a one-line bootstrap, and runs as ``__main__`` from there, so tracebacks
show ``File "main.py"`` with its source lines, as on the other backends. Output is read while
the program runs (``attach`` with ``demux``) and capped per stream; a program that passes the
cap, or the wall-clock timeout, has its container killed (``output_truncated`` / ``timeout``).
A container the kernel's OOM killer hit (``State.OOMKilled``) ends as ``oom``. Docker reports
death by signal ``n`` as exit status ``128 + n``, which is mapped back to ``-n`` (as for
``bwrap``: a program that calls ``sys.exit(137)`` reads as killed by SIGKILL).

Persistent sessions (:meth:`DockerSandbox.session`, :class:`DockerSession`) run one
long-lived container with the same options plus an open stdin: inside it, the REPL server of
:mod:`turngym.tools.sandbox.session` (same protocol, same cell semantics as on ``local`` and
``bwrap``) sits behind a small relay (:data:`RELAY`) that carries the server's stdout, stderr
and replies over the container's one attach stream.

NOT exercised here: this module was written and unit-tested without a Docker daemon. The
tests drive it through fake ``DockerClient`` objects: one records the arguments and plays back
output, exit codes, OOM flags and hangs; for sessions, one runs the container's command with
the local interpreter behind Docker's attach framing, so the relay, the REPL server and this
side's parsing run for real, but no container does. The real-daemon tests skip when no daemon
answers. Whether a given daemon honours every option (e.g. ``pids_limit`` needs the pids
cgroup controller, rootless Docker may ignore ``mem_limit`` without cgroup v2 delegation),
and the attach socket over TLS (``DOCKER_HOST=tcp://`` with TLS: select on an SSL socket may
miss buffered data), were not checked.
"""

from __future__ import annotations

import contextlib
import json
import math
import select
import struct
import threading
import time
import weakref
from collections.abc import Mapping
from typing import Any

from turngym.tools.sandbox._lifecycle import LimitedSandbox, SessionLifecycle
from turngym.tools.sandbox._process import THREAD_ENV, exec_status
from turngym.tools.sandbox.base import ExecResult, ExecStatus, SandboxClosedError
from turngym.tools.sandbox.session import SERVER, cell_result, frame_request, parse_reply

__all__ = [
    "DEFAULT_IMAGE",
    "DOCKER_PIP_EXTRA",
    "MAX_CODE_BYTES",
    "RELAY",
    "DockerSandbox",
    "DockerSession",
    "SandboxUnavailableError",
]

DEFAULT_IMAGE = "python:3.11-slim"
"""The image :class:`DockerSandbox` runs by default (``docker pull python:3.11-slim``)."""
DOCKER_PIP_EXTRA = "turngym[docker]"
"""The pip extra that installs the ``docker`` SDK."""
MAX_CODE_BYTES = 1_000_000
"""Largest program (UTF-8 bytes) :class:`DockerSandbox` passes to a container."""
WORKDIR_INSIDE = "/work"
_ARG_CHUNK_CHARS = 30_000  # 4 bytes a char at most: under the kernel's 128 KiB per argument
_SANDBOX_USER = "65534:65534"
_LABEL = "turngym.sandbox"
_EXIT_WAIT_S = 10.0
_READER_JOIN_S = 2.0
# Writes the program (the arguments after -c's) to main.py, forgets the arguments, and runs
# main.py as __main__ without defining any name in it.
_BOOTSTRAP = (
    "(lambda s: (open('main.py', 'w', encoding='utf-8').write(''.join(s.argv[1:])), "
    "s.argv.__setitem__(slice(None), ['main.py'])))(__import__('sys'));"
    "exec(compile(open('main.py', 'rb').read(), 'main.py', 'exec', dont_inherit=True))"
)


class SandboxUnavailableError(RuntimeError):
    """A sandbox backend cannot run here: its SDK, service, daemon, image or key is missing.

    The message says what to install, start or set. Raised when a sandbox is built (or, for
    remote services, when one is started), never for anything the sandboxed code did.
    """


def _signal_status(code: int) -> int:
    """Docker's exit status ``128 + n`` (death by signal ``n``) as ``-n``."""
    return -(code - 128) if 128 < code < 128 + 65 else code


class DockerSandbox(LimitedSandbox):
    """Runs each Python program in a fresh, locked-down Docker container. See the module doc.

    Args:
        image: The image to run; it must provide ``python`` and already be on the host.
        timeout_s: Default wall-clock limit per run, in seconds.
        memory_mb: Memory cgroup limit (RAM, no swap) for the whole container, in MiB; None
            for none.
        cpu_time_s: CPU-seconds limit (``RLIMIT_CPU``); None for the run's timeout rounded up
            plus one second.
        max_output_bytes: Cap on the bytes kept from stdout, and separately from stderr.
        max_file_bytes: Largest file the program may write (``RLIMIT_FSIZE``); None for none.
        max_open_files: Limit on open file descriptors (``RLIMIT_NOFILE``); None for none.
        max_processes: Cap on the container's tasks (processes and threads, ``pids_limit``);
            None for none.
        cpus: CPU share of the container (``nano_cpus``), e.g. ``1.0`` for one core.
        tmp_mb: Size of each of the ``/work`` and ``/tmp`` tmpfs mounts, in MiB.
        network_disabled: Run without a network (``network_mode="none"``). Turning it off
            gives the container Docker's default bridge network: only for trusted code.
        user: The ``uid:gid`` the program runs as.
        python: The interpreter's name or path inside the image.
        extra_env: More environment variables for the program.
        client: A ``docker.DockerClient`` (or anything with the same ``containers`` API);
            None to connect with ``docker.from_env()``.

    Raises:
        SandboxUnavailableError: The ``docker`` SDK is not installed or the daemon does not
            answer (the message says what to do).
        ValueError: A limit is not positive.
    """

    backend = "docker"

    def __init__(
        self,
        *,
        image: str = DEFAULT_IMAGE,
        timeout_s: float = 10.0,
        memory_mb: int | None = 1024,
        cpu_time_s: float | None = None,
        max_output_bytes: int = 65_536,
        max_file_bytes: int | None = 16 * 2**20,
        max_open_files: int | None = 256,
        max_processes: int | None = 64,
        cpus: float | None = 1.0,
        tmp_mb: int = 64,
        network_disabled: bool = True,
        user: str = _SANDBOX_USER,
        python: str = "python",
        extra_env: Mapping[str, str] | None = None,
        client: Any | None = None,
    ):
        self._init_limits(
            timeout_s=timeout_s,
            memory_mb=memory_mb,
            cpu_time_s=cpu_time_s,
            max_output_bytes=max_output_bytes,
            max_file_bytes=max_file_bytes,
            max_open_files=max_open_files,
            sessions=weakref.WeakSet(),
            extra=[("max_processes", max_processes), ("cpus", cpus), ("tmp_mb", tmp_mb)],
        )
        self.image = image
        self.max_processes = max_processes
        self.cpus = cpus
        self.tmp_mb = int(tmp_mb)
        self.network_disabled = network_disabled
        self.user = user
        self.python = python
        self.extra_env = dict(extra_env or {})
        self.client = client if client is not None else connect_docker()

    # ---- public API ---------------------------------------------------------------------

    def run(self, code: str, *, timeout: float | None = None) -> ExecResult:
        """Run ``code`` as ``__main__`` in a fresh container; the container is removed after.

        Args:
            code: Python source.
            timeout: Wall-clock limit in seconds (from the container's start); None for
                ``timeout_s``.

        Returns:
            The result; never raises for anything the code does.

        Raises:
            SandboxClosedError: The sandbox was closed.
            ValueError: ``timeout`` is not positive.
            SandboxUnavailableError: The image is missing or the daemon stopped answering.
        """
        self._check_open()
        limit = self.resolve_timeout(timeout)
        start = time.monotonic()
        if len(code.encode("utf-8", "surrogatepass")) > MAX_CODE_BYTES:
            return ExecResult(
                stdout="",
                stderr=f"program too large for the docker sandbox (over {MAX_CODE_BYTES} bytes)\n",
                exit_code=None,
                status="error",
                wall_time_s=time.monotonic() - start,
            )
        container = self._create(code, limit)
        try:
            return self._execute(container, limit)
        finally:
            self._untrack(container)
            with contextlib.suppress(Exception):
                container.remove(force=True)

    def session(self, *, timeout_s: float | None = None) -> DockerSession:
        """Start a persistent interpreter in a long-lived container (see :class:`DockerSession`).

        Args:
            timeout_s: Default per-cell wall-clock limit; None for the sandbox's ``timeout_s``.

        Returns:
            A :class:`DockerSession`; its container starts on the first ``run``. Close it (or
            the sandbox) when the episode ends.
        """
        self._check_open()
        session = DockerSession(self, timeout_s=timeout_s)
        self._add_session(session)
        return session

    def __repr__(self) -> str:
        return (
            f"DockerSandbox(image={self.image!r}, timeout_s={self.timeout_s}, "
            f"memory_mb={self.memory_mb}, max_processes={self.max_processes}, "
            f"network_disabled={self.network_disabled})"
        )

    def _kill_running(self, item: Any) -> None:
        with contextlib.suppress(Exception):
            item.kill()

    # ---- the container ------------------------------------------------------------------

    def container_options(
        self, code: str, timeout: float, *, session: bool = False
    ) -> dict[str, Any]:
        """The keyword arguments for ``client.containers.create`` that run ``code``.

        Args:
            code: Python source (ignored for a session).
            timeout: The run's wall-clock limit (sets the CPU-seconds limit's default).
            session: Options for a session's container instead: the relay and REPL server
                with stdin open, and no CPU rlimit (the server sets one per cell).
        """
        ulimits: list[dict[str, Any]] = [{"name": "core", "soft": 0, "hard": 0}]
        if not session:
            cpu = math.ceil(self.cpu_limit(timeout))
            ulimits.append({"name": "cpu", "soft": cpu, "hard": cpu + 1})
        if self.max_file_bytes is not None:
            size = int(self.max_file_bytes)
            ulimits.append({"name": "fsize", "soft": size, "hard": size})
        if self.max_open_files is not None:
            files = int(self.max_open_files)
            ulimits.append({"name": "nofile", "soft": files, "hard": files})
        chunks = [code[i : i + _ARG_CHUNK_CHARS] for i in range(0, len(code), _ARG_CHUNK_CHARS)]
        program = [RELAY, SERVER] if session else [_BOOTSTRAP, *chunks]
        tmpfs_opts = f"rw,nosuid,nodev,size={self.tmp_mb}m,mode=1777"
        options: dict[str, Any] = {
            "image": self.image,
            "command": [self.python, "-I", "-u", "-X", "utf8", "-c", *program],
            "user": self.user,
            "working_dir": WORKDIR_INSIDE,
            "environment": self._env(),
            "read_only": True,
            "tmpfs": {WORKDIR_INSIDE: tmpfs_opts, "/tmp": tmpfs_opts},
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges"],
            "ulimits": ulimits,
            "init": True,
            "detach": True,
            "stdin_open": session,
            "tty": False,
            "labels": {_LABEL: "1"},
        }
        if self.network_disabled:
            options["network_mode"] = "none"
        if self.memory_mb is not None:
            options["mem_limit"] = f"{int(self.memory_mb)}m"
            options["memswap_limit"] = f"{int(self.memory_mb)}m"
        if self.max_processes is not None:
            options["pids_limit"] = int(self.max_processes)
        if self.cpus is not None:
            options["nano_cpus"] = int(self.cpus * 1e9)
        return options

    def _env(self) -> dict[str, str]:
        env = {
            "HOME": WORKDIR_INSIDE,
            "TMPDIR": "/tmp",
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            **THREAD_ENV,
        }
        env.update(self.extra_env)
        return env

    def _create(self, code: str, timeout: float) -> Any:
        return self._create_container(self.container_options(code, timeout))

    def _create_container(self, options: dict[str, Any]) -> Any:
        """Create a container with ``options`` and track it (killed by :meth:`close`)."""
        try:
            container = self.client.containers.create(**options)
        except Exception as exc:
            raise _unavailable(exc, self.image) from exc
        if self._track(container):  # close() raced with this run
            with contextlib.suppress(Exception):
                container.remove(force=True)
            raise SandboxClosedError("DockerSandbox used after close()")
        return container

    def _execute(self, container: Any, timeout: float) -> ExecResult:
        out, err = bytearray(), bytearray()
        flags = {"truncated": False, "broken": False}
        done = threading.Event()
        try:
            stream = container.attach(stdout=True, stderr=True, stream=True, logs=True, demux=True)
        except Exception as exc:
            raise _unavailable(exc, self.image) from exc
        cap = self.max_output_bytes

        def read() -> None:
            try:
                for frame_out, frame_err in stream:
                    for chunk, buf in ((frame_out, out), (frame_err, err)):
                        if chunk:
                            room = cap - len(buf)
                            buf += chunk[: max(room, 0)]
                            if len(chunk) > room:
                                flags["truncated"] = True
                    if flags["truncated"]:
                        return
            except Exception:  # the stream broke: the caller waits for the container instead
                flags["broken"] = True
            finally:
                done.set()

        reader = threading.Thread(target=read, name="turngym-docker-reader", daemon=True)
        start = time.monotonic()
        try:
            container.start()
        except Exception as exc:
            with contextlib.suppress(Exception):
                stream.close()
            raise _unavailable(exc, self.image) from exc
        reader.start()
        finished = done.wait(timeout)
        truncated = flags["truncated"]
        if finished and flags["broken"] and not truncated:
            # The output stream broke before the end (e.g. the client's read timeout during a
            # long silence): wait for the container itself until the deadline.
            remaining = start + timeout - time.monotonic()
            try:
                container.wait(timeout=max(remaining, 0.1))
            except Exception:
                finished = False
        timed_out = not finished
        if timed_out or truncated:
            with contextlib.suppress(Exception):
                container.kill()
        returncode: int | None = None
        try:
            state = container.wait(timeout=_EXIT_WAIT_S)
            returncode = _signal_status(int(state.get("StatusCode", -1)))
        except Exception:  # the daemon did not report an exit: treat the run as killed
            with contextlib.suppress(Exception):
                container.kill()
        wall = time.monotonic() - start
        with contextlib.suppress(Exception):
            stream.close()
        reader.join(_READER_JOIN_S)
        oom_killed = False
        with contextlib.suppress(Exception):
            container.reload()
            oom_killed = bool(container.attrs.get("State", {}).get("OOMKilled", False))
        stderr = err.decode("utf-8", "replace")
        status: ExecStatus
        if timed_out:
            status = "timeout"
        elif truncated:
            status = "output_truncated"
        elif oom_killed:
            status = "oom"
        elif returncode is None:
            status = "killed"
        else:
            status = exec_status(returncode, stderr, timed_out=False, truncated=False)
        return ExecResult(
            stdout=out.decode("utf-8", "replace"),
            stderr=stderr,
            exit_code=returncode,
            status=status,
            wall_time_s=wall,
        )


# ---- connecting -----------------------------------------------------------------------------


def connect_docker(timeout_s: float = 60.0) -> Any:
    """A ``docker.DockerClient`` from the environment (``DOCKER_HOST`` or the local socket).

    Args:
        timeout_s: The client's default request timeout, in seconds.

    Raises:
        SandboxUnavailableError: The SDK is missing or the daemon does not answer.
    """
    try:
        import docker
    except ImportError as exc:
        raise SandboxUnavailableError(
            "sandbox backend 'docker' needs the docker Python SDK: "
            f"pip install '{DOCKER_PIP_EXTRA}' (or pip install docker)"
        ) from exc
    try:
        client = docker.from_env(timeout=timeout_s)
        client.ping()
    except Exception as exc:
        raise SandboxUnavailableError(
            "sandbox backend 'docker' cannot reach a Docker daemon "
            f"({type(exc).__name__}: {exc}): start Docker (e.g. systemctl start docker), or "
            "point DOCKER_HOST at a running daemon, and check that this user may use it "
            "(member of the 'docker' group); or use make_sandbox('bwrap')"
        ) from exc
    return client


def _unavailable(exc: Exception, image: str) -> SandboxUnavailableError:
    """A clear error for a daemon-side failure (not the code's): missing image, daemon gone."""
    if type(exc).__name__ == "ImageNotFound":
        return SandboxUnavailableError(
            f"sandbox backend 'docker': image {image!r} is not on this host; "
            f"run `docker pull {image}` first (nothing is pulled at run time)"
        )
    return SandboxUnavailableError(
        f"sandbox backend 'docker': the Docker daemon failed ({type(exc).__name__}: {exc}); "
        "check that it is running (docker info)"
    )


# ---- persistent sessions --------------------------------------------------------------------

# Runs in the session's container: starts the REPL server of turngym.tools.sandbox.session
# (its source is argv[1]) with a reply pipe, and multiplexes the server's stdout (channel 1),
# stderr (2) and replies (3) onto the container's stdout as frames: 1-byte channel, 4-byte
# big-endian length, data; the server's exit status is the last frame (channel 4). The
# container's stdin is the server's request stream. Output the server wrote before a reply is
# always framed before that reply.
RELAY = r"""
def _turngym_relay(server):
    import os, selectors, struct, subprocess, sys
    r, w = os.pipe()
    child = subprocess.Popen(
        [sys.executable, "-I", "-u", "-X", "utf8", "-c", server.replace("{ctl_fd}", str(w))],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(w,),
    )
    os.close(w)
    os.close(0)

    def emit(channel, data):
        msg = struct.pack(">BI", channel, len(data)) + data
        while msg:
            msg = msg[os.write(1, msg):]

    def drain(fd, channel):
        while True:
            try:
                data = os.read(fd, 65536)
            except (BlockingIOError, OSError):
                return
            if not data:
                return
            emit(channel, data)

    fds = {child.stdout.fileno(): 1, child.stderr.fileno(): 2, r: 3}
    sel = selectors.DefaultSelector()
    for fd, channel in fds.items():
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ, channel)
    while sel.get_map():
        for key, _ in sel.select():
            if key.data == 3:  # a reply: first pass on what the cell wrote before it
                drain(child.stdout.fileno(), 1)
                drain(child.stderr.fileno(), 2)
            try:
                data = os.read(key.fd, 65536)
            except BlockingIOError:
                continue
            if data:
                emit(key.data, data)
            else:
                sel.unregister(key.fd)
    emit(4, str(child.wait()).encode())


_turngym_relay(__import__("sys").argv.pop(1))
"""
_RELAY_HEADER = struct.Struct(">BI")
_DOCKER_HEADER = struct.Struct(">BxxxL")
_SESSION_START_S = 60.0


class _Attached:
    """The attach socket of a session's container: writes requests, reads relay frames."""

    def __init__(self, sock: Any):
        self.sock = sock
        self.raw = getattr(sock, "_sock", sock)  # docker-py gives a SocketIO around the socket
        self.docker_buf = bytearray()
        self.relay_buf = bytearray()
        self.eof = False

    def send(self, data: bytes) -> None:
        self.raw.sendall(data)

    def read(self, deadline: float) -> list[tuple[int, bytes]] | None:
        """Relay frames that arrived before ``deadline``; None at the deadline.

        Returns an empty list at end of stream (:attr:`eof` is then set).
        """
        while True:
            frames = self._frames()
            if frames or self.eof:
                return frames
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([self.raw], [], [], min(remaining, 0.05))
            if not ready:
                continue
            try:
                chunk = self.raw.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                chunk = b""
            if not chunk:
                self.eof = True
            self.docker_buf += chunk

    def _frames(self) -> list[tuple[int, bytes]]:
        # Docker's attach stream: 8-byte headers (stream type, size); stdout carries the relay.
        buf = self.docker_buf
        while len(buf) >= _DOCKER_HEADER.size:
            stream_type, size = _DOCKER_HEADER.unpack_from(buf)
            if len(buf) < _DOCKER_HEADER.size + size:
                break
            payload = bytes(buf[_DOCKER_HEADER.size : _DOCKER_HEADER.size + size])
            del buf[: _DOCKER_HEADER.size + size]
            if stream_type == 1:
                self.relay_buf += payload
        frames = []
        relay = self.relay_buf
        while len(relay) >= _RELAY_HEADER.size:
            channel, size = _RELAY_HEADER.unpack_from(relay)
            if len(relay) < _RELAY_HEADER.size + size:
                break
            frames.append((channel, bytes(relay[_RELAY_HEADER.size : _RELAY_HEADER.size + size])))
            del relay[: _RELAY_HEADER.size + size]
        return frames

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.sock.close()


class DockerSession(SessionLifecycle):
    """A persistent interpreter in one long-lived container: variables live across cells.

    Made by :meth:`DockerSandbox.session`. The container (same isolation and limits as a run's,
    its ``/work`` kept for the session's life) runs the REPL server of
    :mod:`turngym.tools.sandbox.session` behind a small relay (:data:`RELAY`) that carries the
    server's stdout, stderr and replies over the container's attach stream; requests go to the
    container's stdin with the server's own framing. A cell that times out or passes the
    output cap kills the container; so does a crash of the server. The next run starts a fresh
    one and its stderr starts with :data:`~turngym.tools.sandbox.session.RESTART_NOTE`. The
    CPU limit is per cell, as for the other backends. Calls are serialized.

    Args:
        sandbox: The sandbox whose image, isolation and limits the session uses.
        timeout_s: Default per-cell wall-clock limit; None for the sandbox's ``timeout_s``.
    """

    def __init__(self, sandbox: DockerSandbox, *, timeout_s: float | None = None):
        self._init_session(sandbox, timeout_s)
        self._container: Any | None = None
        self._attached: _Attached | None = None
        self._oom_killed = False
        self.starts = 0
        """How many containers this session has started (more than 1: it was restarted)."""

    @property
    def alive(self) -> bool:
        """Whether the interpreter's container runs (state from earlier cells is available)."""
        return self._attached is not None and not self._attached.eof

    def run(self, code: str, *, timeout: float | None = None) -> ExecResult:
        """Run one cell in the persistent interpreter.

        Args:
            code: Python source; its last expression, if any, is printed with ``repr``.
            timeout: Wall-clock limit for this cell; None for the session's ``timeout_s``.

        Returns:
            The cell's result, as for :class:`~turngym.tools.sandbox.session.ProcessSession`.

        Raises:
            SandboxClosedError: The session or its sandbox was closed.
            ValueError: ``timeout`` is not positive.
            SandboxUnavailableError: The container could not be started.
        """
        limit = self._cell_limit(timeout)
        with self._lock:
            if self._closed or self.sandbox.closed:
                raise SandboxClosedError("SandboxSession.run called after close()")
            if self._attached is not None and self._attached.eof:
                self._stop()
                self._lost_state = True
            note = ""
            if self._attached is None:
                self._start()
                note = self._take_restart_note()
            return self._cell(code, limit, note)

    def close(self) -> None:
        """Kill and remove the container; safe to call more than once."""
        super().close()

    def _interrupt(self) -> None:
        container = self._container
        if container is not None:
            with contextlib.suppress(Exception):
                container.kill()

    def __repr__(self) -> str:
        return (
            f"DockerSession(image={self.sandbox.image!r}, alive={self.alive}, starts={self.starts})"
        )

    # ---- the container's life -----------------------------------------------------------

    def _start(self) -> None:
        sandbox = self.sandbox
        options = sandbox.container_options("", sandbox.timeout_s, session=True)
        container = sandbox._create_container(options)
        self._container = container
        try:
            sock = sandbox.client.api.attach_socket(
                container.id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
            )
            self._attached = _Attached(sock)
            container.start()
        except Exception as exc:
            self._stop()
            raise _unavailable(exc, sandbox.image) from exc
        self.starts += 1
        reply_buf = bytearray()
        err = bytearray()
        deadline = time.monotonic() + _SESSION_START_S
        while True:
            frames = self._attached.read(deadline)
            if frames is None or not frames:
                break
            for channel, data in frames:
                if channel == 3:
                    reply_buf += data
                elif channel == 2:
                    err += data
            reply = parse_reply(reply_buf)
            if reply is not None:
                if reply.get("ready"):
                    return
                break
        self._stop()
        detail = err.decode("utf-8", "replace").strip() or "no reply"
        raise SandboxUnavailableError(
            f"docker sandbox session could not start in image {sandbox.image!r}: {detail[-2000:]}"
        )

    def _stop(self) -> int | None:
        """Kill and remove the container; return its exit status (None if none ran)."""
        container, self._container = self._container, None
        attached, self._attached = self._attached, None
        returncode = None
        if container is not None:
            with contextlib.suppress(Exception):
                container.kill()
            with contextlib.suppress(Exception):
                returncode = _signal_status(int(container.wait(timeout=_EXIT_WAIT_S)["StatusCode"]))
            self._oom_killed = False
            with contextlib.suppress(Exception):
                container.reload()
                self._oom_killed = bool(container.attrs.get("State", {}).get("OOMKilled"))
            with contextlib.suppress(Exception):
                container.remove(force=True)
            self.sandbox._untrack(container)
        if attached is not None:
            attached.close()
        return returncode

    # ---- one cell -------------------------------------------------------------------------

    def _cell(self, code: str, timeout: float, note: str) -> ExecResult:
        attached = self._attached
        assert attached is not None
        start = time.monotonic()
        cap = self.sandbox.max_output_bytes
        out, err, reply_buf = bytearray(), bytearray(), bytearray()
        exit_status: int | None = None
        truncated = timed_out = False
        reply: dict[str, Any] | None = None
        body = json.dumps({"code": code, "cpu_s": self.sandbox.cpu_limit(timeout)}).encode()
        try:
            attached.send(frame_request(body))
        except OSError:
            attached.eof = True
        while reply is None and not attached.eof and not truncated:
            frames = attached.read(start + timeout)
            if frames is None:
                timed_out = True
                break
            for channel, data in frames:
                if channel in (1, 2):
                    buf = out if channel == 1 else err
                    room = cap - len(buf)
                    buf += data[: max(room, 0)]
                    truncated |= len(data) > room
                elif channel == 3:
                    reply_buf += data
                elif channel == 4:
                    with contextlib.suppress(ValueError):
                        exit_status = int(data)
            reply = parse_reply(reply_buf)
        stdout = out.decode("utf-8", "replace")
        stderr = note + err.decode("utf-8", "replace")
        result = cell_result(reply, stdout, stderr, start, truncated=truncated)
        if result is not None:
            return result
        # The session is over: timed out, flooded, or the interpreter (or container) died.
        if attached.eof and exit_status is None:  # read what is left: the exit status frame
            for channel, data in attached.read(time.monotonic()) or []:
                if channel == 4:
                    with contextlib.suppress(ValueError):
                        exit_status = int(data)
        container_status = self._stop()
        self._lost_state = True
        returncode = exit_status if exit_status is not None else container_status
        status: ExecStatus
        if timed_out:
            status = "timeout"
        elif truncated:
            status = "output_truncated"
        elif self._oom_killed:
            status = "oom"
        elif returncode is None:
            status = "killed"
        else:
            status = exec_status(returncode, stderr, timed_out=False, truncated=False)
            if status == "ok":  # the interpreter ended cleanly mid-cell (e.g. os._exit(0))
                status = "error"
        if timed_out or truncated:
            returncode = -9
        return ExecResult(stdout, stderr, returncode, status, time.monotonic() - start)

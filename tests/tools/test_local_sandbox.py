"""LocalSandbox: limits, kills and statuses; make_sandbox."""

from __future__ import annotations

import json
import os
import resource
import time
from pathlib import Path

import pytest

from turngym.tools.sandbox import (
    ExecResult,
    LocalSandbox,
    Sandbox,
    SandboxClosedError,
    make_sandbox,
)


@pytest.fixture
def sandbox() -> LocalSandbox:
    box = LocalSandbox(timeout_s=5.0, memory_mb=512, max_output_bytes=10_000)
    yield box
    box.close()


def test_ok_run(sandbox: LocalSandbox) -> None:
    result = sandbox.run("print('hello'); import sys; print('warn', file=sys.stderr)")
    assert isinstance(result, ExecResult)
    assert result.status == "ok" and result.ok
    assert result.stdout == "hello\n"
    assert result.stderr == "warn\n"
    assert result.exit_code == 0
    assert result.wall_time_s > 0


def test_python_error(sandbox: LocalSandbox) -> None:
    result = sandbox.run("x = 1\nraise ValueError('bad value')")
    assert result.status == "error" and not result.ok
    assert result.exit_code == 1
    assert "Traceback" in result.stderr
    assert "ValueError: bad value" in result.stderr
    assert 'File "main.py", line 2' in result.stderr


def test_exit_code_and_fresh_workdir(sandbox: LocalSandbox) -> None:
    assert sandbox.run("import sys; sys.exit(3)").exit_code == 3
    first = sandbox.run("open('marker', 'w').write('x'); import os; print(os.getcwd())")
    second = sandbox.run("import os; print(os.path.exists('marker'), os.getcwd())")
    assert second.stdout.split()[0] == "False"
    assert not Path(first.stdout.strip()).exists()  # removed after the run


def test_stdin_is_closed(sandbox: LocalSandbox) -> None:
    result = sandbox.run("input()")
    assert result.status == "error" and "EOFError" in result.stderr


def test_infinite_loop_times_out_and_kills_the_group(sandbox: LocalSandbox, tmp_path: Path) -> None:
    marker = tmp_path / "late"
    child = f"import time; time.sleep(1.0); open({str(marker)!r}, 'w').write('x')"
    code = (
        "import subprocess, sys\n"
        f"subprocess.Popen([sys.executable, '-c', {child!r}])\n"
        "while True:\n    pass\n"
    )
    start = time.monotonic()
    result = sandbox.run(code, timeout=0.3)
    elapsed = time.monotonic() - start
    assert result.status == "timeout"
    assert result.exit_code == -9
    assert elapsed < 2.0
    time.sleep(1.5 - elapsed)
    assert not marker.exists(), "a child of the timed-out program survived the kill"


def test_background_child_is_killed_when_the_program_ends(
    sandbox: LocalSandbox, tmp_path: Path
) -> None:
    marker = tmp_path / "late"
    child = f"import time; time.sleep(1.0); open({str(marker)!r}, 'w').write('x')"
    code = (
        "import subprocess, sys\n"
        f"subprocess.Popen([sys.executable, '-c', {child!r}],\n"
        "                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print('done')\n"
    )
    result = sandbox.run(code)
    assert result.status == "ok" and result.stdout == "done\n"
    assert result.wall_time_s < 1.0  # did not wait for the child
    time.sleep(1.5)
    assert not marker.exists()


def test_program_that_closes_its_pipes_still_times_out(sandbox: LocalSandbox) -> None:
    result = sandbox.run("import os, time\nos.close(1); os.close(2)\ntime.sleep(60)", timeout=0.5)
    assert result.status == "timeout"


@pytest.mark.parametrize(
    "code",
    [
        "while True:\n    print('x' * 1000)",
        "print('a' * 10_000_000)",
        "import sys\nwhile True: sys.stderr.write('e' * 999)",
    ],
)
def test_output_flood_is_capped_and_stopped(sandbox: LocalSandbox, code: str) -> None:
    start = time.monotonic()
    result = sandbox.run(code)
    assert result.status == "output_truncated"
    assert len(result.stdout.encode()) <= 10_000
    assert len(result.stderr.encode()) <= 10_000
    assert max(len(result.stdout), len(result.stderr)) == 10_000
    assert time.monotonic() - start < 4.0  # stopped at the cap, not at the timeout


def test_environment_is_scrubbed(sandbox: LocalSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TURNGYM_TEST_SECRET", "hunter2")
    monkeypatch.setenv("PYTHONSTARTUP", "/nonexistent")
    result = sandbox.run(
        "import json, os\n"
        "print(os.environ.get('TURNGYM_TEST_SECRET'))\n"
        "print(json.dumps(sorted(os.environ)))\n"
        "print(os.environ['HOME'] == os.getcwd())"
    )
    secret, names, home_is_cwd = result.stdout.splitlines()
    assert secret == "None"
    assert "hunter2" not in result.stdout
    allowed = {
        "PATH",
        "LANG",
        "HOME",
        "TMPDIR",
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "LC_CTYPE",
    }
    assert set(json.loads(names)) <= allowed
    assert home_is_cwd == "True"


def test_memory_bomb_ends_without_hurting_the_caller(sandbox: LocalSandbox) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = sandbox.run("chunks = []\nwhile True:\n    chunks.append(bytearray(10**7))")
    assert result.status == "oom"  # MemoryError under RLIMIT_AS is recognised as such
    assert "MemoryError" in result.stderr
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KiB
    assert sandbox.run("print(1)").ok


def test_file_size_limit() -> None:
    with LocalSandbox(max_file_bytes=1000) as box:
        result = box.run("with open('big', 'w') as f:\n    f.write('x' * 50_000)")
    assert result.status == "error"
    assert "OSError: [Errno 27] File too large" in result.stderr


def test_killed_by_signal(sandbox: LocalSandbox) -> None:
    result = sandbox.run("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)")
    assert result.status == "killed" and result.exit_code == -11


def test_close_is_idempotent_and_blocks_runs() -> None:
    box = make_sandbox("local", timeout_s=1.0)
    assert isinstance(box, Sandbox)
    box.close()
    box.close()
    with pytest.raises(SandboxClosedError):
        box.run("print(1)")


def test_make_sandbox_errors() -> None:
    with pytest.raises(
        ValueError, match="known backends: 'bwrap', 'local', 'docker', 'e2b'"
    ) as info:
        make_sandbox("nope")
    assert "'nope' is unknown" in str(info.value)
    with pytest.raises(TypeError):
        make_sandbox("local", not_a_limit=1)
    with pytest.raises(ValueError, match="timeout_s must be positive"):
        make_sandbox("local", timeout_s=0)


def test_local_sandbox_says_it_is_not_a_security_boundary() -> None:
    assert "NOT a security boundary" in (LocalSandbox.__doc__ or "")
    import turngym.tools.sandbox.local as local

    assert "NOT a security boundary" in (local.__doc__ or "")


def test_isolated_mode(sandbox: LocalSandbox) -> None:
    result = sandbox.run("import sys; print(sys.flags.isolated, sys.executable)")
    isolated, executable = result.stdout.split()
    assert isolated == "1"
    assert os.path.realpath(executable) == os.path.realpath(__import__("sys").executable)

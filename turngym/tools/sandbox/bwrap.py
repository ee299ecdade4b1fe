"""``BwrapSandbox``: run Python inside bubblewrap namespaces. The hardened backend.

Each run (or session) is one ``bwrap`` process. Inside it:
    * every namespace is unshared (``--unshare-all``: user, pid, net, ipc, uts, cgroup), so the
      network is a private loopback only, nothing on the host (not even a listener on the
      host's 127.0.0.1) is reachable; nested user namespaces are refused
      (``--disable-userns``, where bwrap supports it);
    * the program runs as uid/gid 65534 with no capabilities, in a new session (no terminal
      to inject input into), and dies with its parent (``--die-with-parent``);
    * the file system is empty except: ``/usr`` (and the ``/bin``, ``/lib*`` links) read-only,
      the interpreter's own prefix read-only at ``/opt/python`` when it lives outside
      ``/usr`` (``LD_LIBRARY_PATH`` points there), each of the interpreter's site-packages
      directories read-only at ``/opt/site-packages/<i>`` (only those directories: a venv's
      packages import, the repository around it and ``/root`` stay invisible; their ``.pth``
      files are read once, when the sandbox is made, and editable installs' finders, which
      point into the hidden host tree, are skipped), a fresh
      ``/proc`` and minimal ``/dev``, a size-capped ``/tmp`` tmpfs, and a private writable
      working directory bound at ``/work`` (a fresh host temp dir per run, removed after);
      the root itself is read-only;
    * ``--clearenv`` then an allow-list: ``PATH``, ``LANG``, ``HOME=/work``, ``TMPDIR=/tmp``,
      ``PYTHONDONTWRITEBYTECODE`` and single-thread settings for numeric libraries;
    * rlimits (set on ``bwrap`` before it starts, inherited by everything inside): address
      space, CPU seconds, file size, open files, no core dumps;
    * a process cap: the ``pids`` cgroup (v1 ``/sys/fs/cgroup/pids`` or v2 with the ``pids``
      controller, root only) with ``pids.max``, one cgroup per run at a time (on cgroup v1 a
      cgroup is reused, with a launcher thread living in it, once the kernel has released
      every task of its last run: a process forked there is born in it, which saves the
      10-20 ms a move into a cgroup costs; a cgroup per run otherwise). ``RLIMIT_NPROC`` is the
      fallback where no cgroup can be made, and it does NOT hold when the caller is root (the
      kernel exempts the host's root user, also inside a user namespace):
      :attr:`BwrapSandbox.process_cap` says which one is in force (``cgroup``, ``rlimit`` or
      ``none``);
    * a wall-clock timeout that SIGKILLs ``bwrap``: its pid namespace goes with it, and so does
      every process the program started, also ones that called ``setsid`` or double-forked.
      Background processes also end when the main program ends.

What it does NOT cover: no seccomp filter (the kernel's whole syscall surface is reachable, so
a kernel exploit is a sandbox escape); no memory cgroup (``RLIMIT_AS`` is per process: N
processes may use N times the cap; the process cap bounds N); no disk quota beyond the
per-file size limit and the ``/tmp`` size (the working directory is on the host's disk); CPU
use of concurrent runs is not shared out. A program killed by signal ``n`` is reported by
``bwrap`` as exit status ``128 + n``, which this backend maps back to ``-n``: a program that
really calls ``sys.exit(137)`` is indistinguishable from one killed by SIGKILL.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from typing import Any, Literal, TypeVar

from turngym.tools.sandbox._lifecycle import check_positive
from turngym.tools.sandbox._process import (
    THREAD_ENV,
    Launched,
    ProcessSandbox,
    kill_group,
    preexec,
)
from turngym.tools.sandbox.base import SandboxClosedError

__all__ = ["BWRAP_APT_PACKAGE", "BwrapNotFoundError", "BwrapSandbox", "find_bwrap"]

BWRAP_APT_PACKAGE = "bubblewrap"
"""The Debian/Ubuntu package that provides the ``bwrap`` binary."""

WORKDIR_INSIDE = "/work"
_PYTHON_INSIDE = "/opt/python"
_SITE_INSIDE = "/opt/site-packages"
_SANDBOX_UID = 65534
_ETC_FILES = ("/etc/ld.so.cache", "/etc/localtime")
_CGROUP_ROOT = "/sys/fs/cgroup"
_cgroup_ids = itertools.count()
_JOIN_S = 5.0
_MAX_SLOTS = 64  # per sandbox; past that (many runs per second), a cgroup per run
_IDLE_S = 30.0  # a reusable cgroup unused this long is removed
T = TypeVar("T")

ProcessCap = Literal["cgroup", "rlimit", "none"]


class BwrapNotFoundError(RuntimeError):
    """The ``bwrap`` binary is not installed (``apt-get install bubblewrap``)."""


def find_bwrap() -> str | None:
    """The path of the ``bwrap`` binary, or None if it is not installed."""
    return shutil.which("bwrap")


class BwrapSandbox(ProcessSandbox):
    """Runs Python programs inside bubblewrap namespaces, with limits. See the module docstring.

    Args:
        timeout_s: Default wall-clock limit per run (per cell in a session), in seconds.
        memory_mb: Address-space limit (``RLIMIT_AS``) per process, in MiB; None for none.
        cpu_time_s: CPU-seconds limit (``RLIMIT_CPU``); None for the run's timeout rounded up
            plus one second.
        max_output_bytes: Cap on the bytes kept from stdout, and separately from stderr.
        max_file_bytes: Largest file the program may write (``RLIMIT_FSIZE``); None for none.
        max_open_files: Limit on open file descriptors (``RLIMIT_NOFILE``); None for none.
        max_processes: Cap on the tasks (processes and threads) the program and its
            descendants may have at once; None for none. Enforced by the pids cgroup where
            possible (see :attr:`process_cap`).
        tmp_mb: Size of the private ``/tmp`` tmpfs, in MiB.
        python: The host interpreter to run (its prefix and site-packages are bound read-only);
            defaults to ``sys.executable``.
        extra_env: More environment variables for the program.
        bwrap: Path of the ``bwrap`` binary; found on ``PATH`` by default.

    Raises:
        BwrapNotFoundError: ``bwrap`` is not installed.
    """

    backend = "bwrap"

    def __init__(
        self,
        *,
        timeout_s: float = 10.0,
        memory_mb: int | None = 1024,
        cpu_time_s: float | None = None,
        max_output_bytes: int = 65_536,
        max_file_bytes: int | None = 16 * 2**20,
        max_open_files: int | None = 256,
        max_processes: int | None = 64,
        tmp_mb: int = 64,
        python: str | None = None,
        extra_env: Mapping[str, str] | None = None,
        bwrap: str | None = None,
    ):
        super().__init__(
            timeout_s=timeout_s,
            memory_mb=memory_mb,
            cpu_time_s=cpu_time_s,
            max_output_bytes=max_output_bytes,
            max_file_bytes=max_file_bytes,
            max_open_files=max_open_files,
        )
        check_positive("BwrapSandbox", max_processes=max_processes, tmp_mb=tmp_mb)
        found = bwrap or find_bwrap()
        if found is None or not os.access(found, os.X_OK):
            raise BwrapNotFoundError(
                "the 'bwrap' backend needs the bubblewrap binary, which is not installed: "
                f"apt-get install {BWRAP_APT_PACKAGE}"
            )
        self.bwrap = found
        self.max_processes = max_processes
        self.tmp_mb = int(tmp_mb)
        self.python = python or sys.executable
        self.extra_env = dict(extra_env or {})
        self._layout = _interpreter_layout(self.python)
        self._options = _bwrap_options(self.bwrap)
        self._preamble = _site_preamble(self._layout)
        cgroup_parent = _pids_cgroup_parent() if max_processes is not None else None
        self._cgroup_parent = cgroup_parent
        self.process_cap: ProcessCap = (
            "none"
            if max_processes is None
            else "cgroup"
            if cgroup_parent is not None
            else "rlimit"
            if os.geteuid() != 0
            else "none"
        )
        """How :attr:`max_processes` is enforced: ``cgroup`` (pids cgroup, holds for every
        uid), ``rlimit`` (``RLIMIT_NPROC``, the caller is not root) or ``none``."""
        self._busy_cgroups: list[str] = []  # per-run cgroups to remove once their tasks are gone
        self._slots: _CgroupSlots | None = None
        if cgroup_parent is not None and max_processes is not None:
            # bwrap, its init process (pid 1 inside) and the launcher thread count too.
            self._slots = _CgroupSlots(cgroup_parent, int(max_processes) + 3)
        if cgroup_parent is not None:
            weakref.finalize(self, _cleanup, self._slots, self._busy_cgroups, self._lock)

    def __repr__(self) -> str:
        return (
            f"BwrapSandbox(timeout_s={self.timeout_s}, memory_mb={self.memory_mb}, "
            f"max_processes={self.max_processes}, process_cap={self.process_cap!r})"
        )

    # ---- launching ----------------------------------------------------------------------

    def _launch(
        self,
        workdir: str,
        program: str,
        *,
        cpu_s: float | None,
        stdin: int | None,
        pass_fds: Iterable[int],
    ) -> Launched:
        limits = self._rlimits(
            cpu_s, max_processes=self.max_processes if self.process_cap == "rlimit" else None
        )
        argv = self.command(workdir, program)
        fds = tuple(pass_fds)
        slot = self._slots.take() if self._slots is not None else None
        if slot is not None:  # started by a thread that lives in a reused pids cgroup
            try:
                proc = slot.call(
                    lambda: self._popen(
                        argv, cwd="/", env={}, stdin=stdin, pass_fds=fds, preexec_fn=preexec(limits)
                    )
                )
            except BaseException:
                self._slots.give_back(slot)  # type: ignore[union-attr]
                raise
            slots = self._slots

            def kill() -> None:
                kill_group(proc.pid)
                _kill_cgroup(slot.path)

            def release() -> None:
                slots.give_back(slot)  # type: ignore[union-attr]

            return Launched(proc=proc, kill=kill, release=release, returncode_map=_signal_status)
        cgroup = self._make_cgroup()
        try:
            proc = self._popen(
                argv,
                cwd="/",
                env={},
                stdin=stdin,
                pass_fds=fds,
                preexec_fn=preexec(
                    limits,
                    join_cgroup=os.path.join(cgroup, "cgroup.procs") if cgroup else None,
                ),
            )
        except BaseException:
            if cgroup is not None:
                _remove_cgroup(cgroup)
            raise

        def kill() -> None:
            kill_group(proc.pid)
            if cgroup is not None:
                _kill_cgroup(cgroup)

        def release() -> None:
            if cgroup is not None and not _try_rmdir(cgroup):
                # Its last tasks are still being released: remove it later, not waiting here.
                with self._lock:
                    self._busy_cgroups.append(cgroup)

        return Launched(proc=proc, kill=kill, release=release, returncode_map=_signal_status)

    def command(self, workdir: str, program: str) -> list[str]:
        """The ``bwrap`` command line that runs ``python -c program`` with ``workdir`` at /work.

        Args:
            workdir: Host directory bound read-write at ``/work`` (the working directory).
            program: Python source for ``-c``.
        """
        layout = self._layout
        argv = [self.bwrap, "--unshare-all", "--unshare-user"]
        if "--disable-userns" in self._options:
            argv.append("--disable-userns")
        argv += [
            "--uid", str(_SANDBOX_UID), "--gid", str(_SANDBOX_UID),
            "--hostname", "sandbox",
            "--die-with-parent", "--new-session", "--clearenv",
            "--cap-drop", "ALL",
            "--ro-bind", "/usr", "/usr",
        ]  # fmt: skip
        for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
            if os.path.islink(top):
                argv += ["--symlink", os.readlink(top), top]
            elif os.path.isdir(top):
                argv += ["--ro-bind", top, top]
        for path in _ETC_FILES:
            argv += ["--ro-bind-try", path, path]
        for host, inside in layout.binds:
            argv += ["--ro-bind", host, inside]
        argv += ["--proc", "/proc", "--dev", "/dev"]
        if "--size" in self._options:
            argv += ["--size", str(self.tmp_mb * 2**20)]
        argv += ["--tmpfs", "/tmp", "--bind", workdir, WORKDIR_INSIDE]
        argv += ["--remount-ro", "/", "--chdir", WORKDIR_INSIDE]
        for name, value in self._env().items():
            argv += ["--setenv", name, value]
        argv += [layout.executable, "-I", "-S", "-B", "-u", "-X", "utf8", "-c"]
        argv.append(self._preamble + program)
        return argv

    def _env(self) -> dict[str, str]:
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "HOME": WORKDIR_INSIDE,
            "TMPDIR": "/tmp",
            "PYTHONDONTWRITEBYTECODE": "1",
            **THREAD_ENV,
        }
        if self._layout.library_path:
            env["LD_LIBRARY_PATH"] = self._layout.library_path
        env.update(self.extra_env)
        return env

    def close(self) -> None:
        """Kill every program and session still running, refuse new runs; idempotent."""
        super().close()
        _cleanup(self._slots, self._busy_cgroups, self._lock)

    def _make_cgroup(self) -> str | None:
        if self._cgroup_parent is None or self.max_processes is None:
            return None
        with self._lock:
            busy = self._busy_cgroups[:]
            self._busy_cgroups.clear()
        still = [path for path in busy if not _try_rmdir(path)]
        if still:
            with self._lock:
                self._busy_cgroups.extend(still)
        # bwrap itself and its init process (pid 1 inside) are in the cgroup too.
        return _new_cgroup(self._cgroup_parent, int(self.max_processes) + 2)


# ---- the interpreter inside -----------------------------------------------------------------


class _Layout:
    """Where the host interpreter appears inside the sandbox."""

    def __init__(
        self,
        executable: str,
        binds: list[tuple[str, str]],
        site_dirs: list[tuple[str, str]],
        library_path: str | None,
    ):
        self.executable = executable
        self.binds = binds
        self.site_dirs = site_dirs
        """``(host path, path inside)`` of each site-packages directory, in ``sys.path`` order."""
        self.library_path = library_path

    def inside(self, host_path: str) -> str | None:
        """Where ``host_path`` appears inside the sandbox, or None if it is not visible."""
        if _under(host_path, "/usr"):
            return host_path
        for host, inside in self.binds:
            if _under(host_path, host):
                return inside + host_path[len(host) :]
        return None


_QUERY = (
    "import json, os, site, sys; print(json.dumps({"
    "'executable': os.path.realpath(sys.executable), "
    "'base_prefix': os.path.realpath(sys.base_prefix), "
    "'sites': [os.path.realpath(p) for p in site.getsitepackages() if os.path.isdir(p)]}))"
)


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


@functools.lru_cache(maxsize=8)
def _interpreter_layout(python: str) -> _Layout:
    """Ask ``python`` where it lives and map that into the sandbox (cached per interpreter)."""
    try:
        out = subprocess.run(
            [python, "-I", "-c", _QUERY], capture_output=True, text=True, timeout=30, check=True
        ).stdout
        info = json.loads(out)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        raise RuntimeError(
            f"BwrapSandbox could not inspect the interpreter {python!r}: {exc}"
        ) from exc
    executable, base = info["executable"], info["base_prefix"]
    binds: list[tuple[str, str]] = []
    library_path = None
    if _under(base, "/usr"):
        inside_exe = executable
        if not _under(executable, "/usr"):
            raise RuntimeError(f"BwrapSandbox: interpreter {executable} is outside /usr")
    else:
        if not _under(executable, base):
            raise RuntimeError(
                f"BwrapSandbox: interpreter {executable} is not under its prefix {base}"
            )
        binds.append((base, _PYTHON_INSIDE))
        inside_exe = _PYTHON_INSIDE + executable[len(base) :]
        library_path = _PYTHON_INSIDE + "/lib"
    site_dirs: list[tuple[str, str]] = []
    for i, site in enumerate(info["sites"]):
        if _under(site, "/usr"):
            site_dirs.append((site, site))
        elif _under(site, base) and binds:
            site_dirs.append((site, _PYTHON_INSIDE + site[len(base) :]))
        else:
            inside = f"{_SITE_INSIDE}/{i}"
            binds.append((site, inside))
            site_dirs.append((site, inside))
    return _Layout(inside_exe, binds, site_dirs, library_path)


# What the preamble runs inside (in its own globals, so ``__main__`` stays clean): the
# site-packages directories and the ``.pth`` paths read on the host, then the ``.pth`` import
# lines, each guarded like ``site`` does (an error skips the line), then quit()/help().
_SITE_CODE = """\
import sys, site
sys.path.extend({paths!r})
for line in {lines!r}:
    try:
        exec(line, {{}})
    except Exception:
        pass
site.setquit()
site.sethelper()
"""


def _site_preamble(layout: _Layout) -> str:
    """The code run before the program to set up ``sys.path`` (the interpreter runs ``-S``).

    This does what ``site.addsitedir`` would do for each site-packages directory, but reads the
    ``.pth`` files once here on the host instead of on every start: a path line is added when
    it is visible inside the sandbox; an ``import`` line is run inside, except those of
    ``__editable__*.pth`` files (editable installs' finders point into host source trees that
    the sandbox hides, and importing them costs about 10 ms per start).
    """
    paths: list[str] = []
    lines: list[str] = []
    for host_site, inside_site in layout.site_dirs:
        if inside_site not in paths:
            paths.append(inside_site)
        try:
            names = sorted(n for n in os.listdir(host_site) if n.endswith(".pth"))
        except OSError:
            continue
        for name in names:
            if name.startswith("."):
                continue
            try:
                with open(os.path.join(host_site, name), encoding="utf-8") as f:
                    content = f.read().splitlines()
            except (OSError, UnicodeDecodeError):
                continue
            for raw in content:
                line = raw.rstrip()
                if not line or line.startswith("#"):
                    continue
                if line.startswith(("import ", "import\t")):
                    if not name.startswith("__editable__"):
                        lines.append(line)
                    continue
                host_path = os.path.realpath(os.path.join(host_site, line))
                inside = layout.inside(host_path) if os.path.exists(host_path) else None
                if inside is not None and inside not in paths:
                    paths.append(inside)
    code = _SITE_CODE.format(paths=paths, lines=lines)
    return f"exec({code!r}, {{}});"


@functools.lru_cache(maxsize=8)
def _bwrap_options(bwrap: str) -> frozenset[str]:
    """The long options this ``bwrap`` build knows (from ``--help``)."""
    try:
        text = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    return frozenset(word for word in text.split() if word.startswith("--"))


def _signal_status(returncode: int) -> int:
    """bwrap exits ``128 + n`` when the program died of signal ``n``: map that back to ``-n``."""
    if 128 < returncode <= 128 + 64:
        return -(returncode - 128)
    return returncode


# ---- the pids cgroup ------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _pids_cgroup_parent() -> str | None:
    """A directory under which per-run pids cgroups can be made, or None (not root, none)."""
    if os.geteuid() != 0:
        return None
    v1 = os.path.join(_CGROUP_ROOT, "pids")
    try:
        if os.path.isfile(os.path.join(v1, "cgroup.procs")):
            parent = os.path.join(v1, "turngym")
            os.makedirs(parent, exist_ok=True)
            return parent
        with open(os.path.join(_CGROUP_ROOT, "cgroup.controllers")) as f:
            if "pids" not in f.read().split():
                return None
        parent = os.path.join(_CGROUP_ROOT, "turngym")
        os.makedirs(parent, exist_ok=True)
        for path in (_CGROUP_ROOT, parent):
            with open(os.path.join(path, "cgroup.subtree_control"), "w") as f:
                f.write("+pids")
        return parent
    except OSError:
        return None


def _cgroup_pids(path: str) -> list[int]:
    try:
        with open(os.path.join(path, "cgroup.procs")) as f:
            return [int(line) for line in f if line.strip()]
    except (OSError, ValueError):
        return []


def _new_cgroup(parent: str, pids_max: int) -> str:
    """Make a pids cgroup under ``parent`` whose ``pids.max`` is ``pids_max``."""
    path = os.path.join(parent, f"{os.getpid()}-{next(_cgroup_ids)}")
    os.mkdir(path)
    try:
        with open(os.path.join(path, "pids.max"), "w") as f:
            f.write(str(pids_max))
    except OSError:
        _remove_cgroup(path)
        raise
    return path


def _kill_cgroup(path: str) -> None:
    """SIGKILL every process in the cgroup, except this one (a launcher thread lives there)."""
    me = os.getpid()
    for pid in _cgroup_pids(path):
        if pid != me:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


class _Slot:
    """A pids cgroup with a thread of this process living in it, which starts the runs.

    A process forked by that thread is born in the cgroup. Moving a process into a cgroup
    costs an RCU grace period (often 10 ms or more) on cgroup v1 and removing a cgroup has to
    wait for its last tasks to be released: a slot does neither per run. It serves one run (or
    session) at a time: ``pids.max`` caps that run's tasks (plus bwrap's two and the thread).
    """

    def __init__(self, parent: str, pids_max: int):
        self.path = _new_cgroup(parent, pids_max)
        self._requests: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        self._lock = threading.Lock()
        self._stopped = False
        joined: Future[None] = Future()
        self._thread = threading.Thread(
            target=self._serve, args=(joined,), name="turngym-bwrap-launcher", daemon=True
        )
        self._thread.start()
        try:
            joined.result()
        except BaseException:
            self._thread.join()
            _remove_cgroup(self.path)
            raise

    def _serve(self, joined: Future[None]) -> None:
        try:  # cgroup v1 only: v2 refuses single threads in a domain cgroup
            with open(os.path.join(self.path, "tasks"), "w") as f:
                f.write(str(threading.get_native_id()))
        except OSError as exc:
            joined.set_exception(exc)
            return
        joined.set_result(None)
        while True:
            request = self._requests.get()
            if request is None:
                return
            fn, result = request
            try:
                result.set_result(fn())
            except BaseException as exc:  # handed to the caller
                result.set_exception(exc)
            del request, fn, result  # keep nothing (the sandbox) alive while idle

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` in the slot's thread and return its result (or raise its exception)."""
        result: Future[T] = Future()
        with self._lock:
            if self._stopped:
                raise SandboxClosedError("BwrapSandbox used after close()")
            self._requests.put((fn, result))
        return result.result()

    def drained(self) -> bool:
        """Whether only the launcher thread is charged to the cgroup.

        Not as soon as the last run was reaped: the kernel releases the charge of a pid
        namespace's tasks up to about a second later, and until then they would count
        against the next run's cap.
        """
        try:
            with open(os.path.join(self.path, "pids.current")) as f:
                return int(f.read()) <= 1
        except (OSError, ValueError):
            return False

    def close(self) -> None:
        """Stop the thread and remove the cgroup (killing what is left in it)."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            self._requests.put(None)
        if self._thread is not threading.current_thread():
            self._thread.join(_JOIN_S)
        _remove_cgroup(self.path)


class _CgroupSlots:
    """The slots of one sandbox: a free slot whose last run is gone is reused, else a new one
    is made, up to :data:`_MAX_SLOTS` (then ``take`` gives None: a cgroup per run). Slots idle
    for :data:`_IDLE_S` are closed. Falls back (``take`` gives None) where a thread cannot
    join a cgroup on its own (cgroup v2)."""

    def __init__(self, parent: str, pids_max: int):
        self._parent = parent
        self._pids_max = pids_max
        self._lock = threading.Lock()
        self._free: list[tuple[float, _Slot]] = []  # (when given back, slot), oldest first
        self._all: list[_Slot] = []
        self._making = 0
        self._closed = False
        self._supported = True
        self._pid = os.getpid()

    def take(self) -> _Slot | None:
        """A drained slot for one run, or None (closed, too many, or unsupported here)."""
        now = time.monotonic()
        with self._lock:
            if self._closed or not self._supported or os.getpid() != self._pid:
                return None  # (in a forked child the launcher threads do not exist)
            idle = [slot for since, slot in self._free if now - since > _IDLE_S]
            if idle:
                self._free = [(since, slot) for since, slot in self._free if slot not in idle]
                self._all = [slot for slot in self._all if slot not in idle]
            found = None
            for i, (_, slot) in enumerate(self._free):
                if slot.drained():
                    found = self._free.pop(i)[1]
                    break
            make = found is None and len(self._all) + self._making < _MAX_SLOTS
            if make:
                self._making += 1
        for slot in idle:
            slot.close()
        if not make:
            return found
        try:
            made: _Slot | None = _Slot(self._parent, self._pids_max)
        except OSError:
            made = None
        with self._lock:
            self._making -= 1
            if made is None:
                self._supported = False
                return None
            if not self._closed:
                self._all.append(made)
                return made
        made.close()
        return None

    def give_back(self, slot: _Slot) -> None:
        """Return a slot after its run was reaped (it is reused once drained)."""
        with self._lock:
            if not self._closed and slot in self._all:
                self._free.append((time.monotonic(), slot))
                return
        slot.close()

    def close(self) -> None:
        """Stop every slot's thread and remove its cgroup; idempotent."""
        with self._lock:
            self._closed = True
            slots, self._all, self._free = self._all, [], []
        for slot in slots:
            slot.close()


def _cleanup(slots: _CgroupSlots | None, busy: list[str], lock: threading.Lock) -> None:
    """Close a sandbox's cgroup slots and remove its per-run cgroups left to remove later."""
    if slots is not None:
        slots.close()
    with lock:
        paths = busy[:]
        busy.clear()
    for path in paths:
        _remove_cgroup(path)


def _try_rmdir(path: str) -> bool:
    """Remove an empty cgroup now; False (after killing what is left) if it is still busy."""
    try:
        os.rmdir(path)
    except FileNotFoundError:
        pass
    except OSError:
        _kill_cgroup(path)
        return False
    return True


def _remove_cgroup(path: str, wait_s: float = 2.0) -> None:
    """Kill what is left in the cgroup and remove it (waits briefly for the kills to land)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                return  # left behind; an empty cgroup costs nothing
            _kill_cgroup(path)
            time.sleep(0.005)

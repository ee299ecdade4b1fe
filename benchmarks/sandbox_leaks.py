"""Leak check at scale: thousands of runs and session cells, then count what is left.

For each backend available here (``local``, and ``bwrap`` where its binary is installed) it
runs ``--runs`` programs with ``sandbox.run`` and ``--cells`` cells in sessions taken from a
:class:`~turngym.tools.sandbox.pool.SessionPool` (``--cells-per-session`` each, then released),
from ``--threads`` threads. The programs mix successes, errors, crashes, timeouts, output
floods, background children left running and (bwrap only: ``local`` is not a boundary)
children that escape with ``setsid``; cells that time out or flood end their session, which
restarts. Before and after, it counts:
    * host processes: this process's descendants, and every pid in this process's per-run
      pids cgroups (bwrap);
    * open file descriptors of this process (``/proc/self/fd``) and its threads;
    * leftover working directories (temp dirs are made in a private folder for the check);
    * leftover per-run cgroups (bwrap with the pids cgroup).
While a bwrap sandbox is open it keeps up to 64 pids cgroups for reuse, each with one idle
launcher thread, and per-run cgroups whose removal waits for the next run (see
:mod:`turngym.tools.sandbox.bwrap`): they show in ``threads`` and ``cgroups`` until the sandbox
is closed. ``peak`` is the most seen while the work ran (sampled every 0.2 s; the sampler
thread is counted in it), ``after`` is once the work is done, ``closed`` once the sandbox is
closed.

Usage::

    python benchmarks/sandbox_leaks.py [--runs 1500] [--cells 3500] [--threads 2]
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from turngym.tools.sandbox import available_backends, make_sandbox
from turngym.tools.sandbox._process import ProcessSandbox
from turngym.tools.sandbox.pool import SessionPool

SETTLE_S = 0.5


# ---- counting ---------------------------------------------------------------------------------


def _parents() -> dict[int, int]:
    """``pid -> ppid`` for every process on the host."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                table[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return table


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = collections.defaultdict(list)
    for pid, ppid in _parents().items():
        children[ppid].append(pid)
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _own_cgroups() -> list[str]:
    """This process's per-run pids cgroups that still exist."""
    from turngym.tools.sandbox.bwrap import _pids_cgroup_parent

    parent = _pids_cgroup_parent()
    if parent is None:
        return []
    prefix = f"{os.getpid()}-"
    return [os.path.join(parent, n) for n in os.listdir(parent) if n.startswith(prefix)]


def _cgroup_pids(cgroups: list[str]) -> set[int]:
    pids: set[int] = set()
    for path in cgroups:
        try:
            with open(os.path.join(path, "cgroup.procs")) as f:
                pids.update(int(line) for line in f if line.strip())
        except OSError:
            continue
    return pids


def _snapshot(tmp: str) -> dict[str, int]:
    cgroups = _own_cgroups()
    return {
        # (this process is in the cgroups too: bwrap's launcher threads live there)
        "processes": len((_descendants(os.getpid()) | _cgroup_pids(cgroups)) - {os.getpid()}),
        "open fds": len(os.listdir("/proc/self/fd")),
        "threads": threading.active_count(),
        "temp dirs": len(os.listdir(tmp)),
        "cgroups": len(cgroups),
    }


# ---- the workload ---------------------------------------------------------------------------


def _run_program(i: int, backend: str) -> tuple[str, float | None]:
    """The i-th program for ``sandbox.run`` and its timeout (None for the default)."""
    if i % 100 == 7:
        return "while True:\n    pass", 0.3
    if i % 50 == 3:
        return "while True:\n    print('x' * 1000)", None
    if i % 50 == 11 and backend == "bwrap":  # local cannot stop these (not a boundary)
        return (
            "import subprocess, sys\n"
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'],\n"
            "                 start_new_session=True)\nprint('escaped?')"
        ), None
    if i % 20 == 5:
        return (
            "import subprocess, sys\n"
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\nprint('bg')"
        ), None
    if i % 10 == 1:
        return "raise ValueError('bad')", None
    if i % 25 == 9:
        return "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)", None
    if i % 10 == 2:
        return "f = [open('f%d' % k, 'w') for k in range(100)]\nprint(len(f))", None
    return f"print({i} * 2)", None


def _cell(i: int) -> tuple[str, float | None]:
    """The i-th cell of a session and its timeout."""
    if i % 500 == 499:
        return "while True:\n    pass", 0.3
    if i % 500 == 250:
        return "while True:\n    print('y' * 1000)", None
    if i % 10 == 3:
        return "1 / 0", None
    if i == 0:
        return "n = 0", None
    return "n = globals().get('n', 0) + 1\nn", None


def _workload(
    sandbox: ProcessSandbox, backend: str, args: argparse.Namespace
) -> collections.Counter[str]:
    statuses: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()

    def run_one(i: int) -> None:
        code, timeout = _run_program(i, backend)
        result = sandbox.run(code, timeout=timeout)
        with lock:
            statuses[f"run/{result.status}"] += 1

    sessions = -(-args.cells // args.cells_per_session)
    with SessionPool(sandbox, size=args.threads) as pool:

        def episode(j: int) -> None:
            with pool.lease() as session:
                for k in range(
                    min(args.cells_per_session, args.cells - j * args.cells_per_session)
                ):
                    code, timeout = _cell(j * args.cells_per_session + k)
                    result = session.run(code, timeout=timeout)
                    with lock:
                        statuses[f"cell/{result.status}"] += 1

        with ThreadPoolExecutor(args.threads) as workers:
            list(workers.map(run_one, range(args.runs)))
            list(workers.map(episode, range(sessions)))
        statuses["pool/hits"] = pool.hits
        statuses["pool/misses"] = pool.misses
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1500, help="sandbox.run calls per backend")
    parser.add_argument("--cells", type=int, default=3500, help="session cells per backend")
    parser.add_argument("--cells-per-session", type=int, default=35)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--backends", nargs="+", default=available_backends())
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="turngym-leaks-")
    tempfile.tempdir = tmp  # every working directory the sandboxes make lands here
    try:
        print(f"python {sys.version.split()[0]}, pid {os.getpid()}, temp dirs in {tmp}")
        total = 0
        for backend in args.backends:
            sandbox = make_sandbox(backend, timeout_s=10.0, memory_mb=512)
            assert isinstance(sandbox, ProcessSandbox)
            sandbox.run("pass")  # caches (interpreter layout, cgroup parent), first fds
            time.sleep(SETTLE_S)
            before = _snapshot(tmp)
            peak = dict(before)
            stop = threading.Event()

            def sample(stop: threading.Event = stop, peak: dict[str, int] = peak) -> None:
                while not stop.wait(0.2):  # shows the counters do see the sandboxes' processes
                    for key, value in _snapshot(tmp).items():
                        peak[key] = max(peak[key], value)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            start = time.perf_counter()
            statuses = _workload(sandbox, backend, args)
            elapsed = time.perf_counter() - start
            stop.set()
            sampler.join()
            time.sleep(SETTLE_S)
            after = _snapshot(tmp)
            sandbox.close()
            closed = _snapshot(tmp)
            done = args.runs + args.cells
            total += done
            print(f"\n[{backend}] {done} executions ({args.runs} runs, {args.cells} cells) "
                  f"in {elapsed:.1f} s, {args.threads} threads")  # fmt: skip
            print(f"  {'':10} {'before':>7} {'peak':>7} {'after':>7} {'closed':>7}")
            for key in before:
                print(
                    f"  {key:10} {before[key]:7d} {peak[key]:7d} {after[key]:7d} {closed[key]:7d}"
                )
            print("  statuses: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
        print(f"\n{total} executions in all")
    finally:
        tempfile.tempdir = None
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Sandbox latency: cold runs, warm session cells, and throughput with concurrent sessions.

For each backend available here (``local``, and ``bwrap`` where its binary is installed),
measured in the same process against a baseline of plain
``subprocess.run([sys.executable, "-c", ...])``:
    * cold start: one ``sandbox.run("print(1)")`` (new process, and namespaces for bwrap), on
      a fresh sandbox and after ``--warmup-s`` seconds of runs (steady state: bwrap then
      reuses per-run pids cgroups);
    * warm session: p50/p99 latency of one small cell in a running session;
    * throughput: cells per second with N sessions running cells concurrently (one thread
      each), against N threads calling the baseline.

Usage::

    python benchmarks/sandbox_latency.py [--cold 30] [--cells 200] [--concurrency 1 4 8]
        [--warmup-s 2]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from turngym.tools.sandbox import available_backends, make_sandbox


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def _timed(fn: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def _baseline_once() -> None:
    subprocess.run([sys.executable, "-c", "print(1)"], capture_output=True, check=True)


def _throughput(worker: Callable[[int], int], n: int) -> float:
    """Cells per second with ``n`` threads each running ``worker(i)`` (returns cells done)."""
    with ThreadPoolExecutor(n) as pool:
        start = time.perf_counter()
        done = sum(pool.map(worker, range(n)))
        return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=30, help="cold runs per backend")
    parser.add_argument("--cells", type=int, default=200, help="warm cells per session")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument(
        "--per-worker",
        type=int,
        default=200,
        help="cells per concurrent worker (session start included)",
    )
    parser.add_argument(
        "--warmup-s", type=float, default=2.0, help="seconds of runs before the cold timing"
    )
    args = parser.parse_args()

    print(f"python {sys.version.split()[0]}, backends: {', '.join(available_backends())}")
    _baseline_once()  # warm the page cache
    base_cold = _timed(_baseline_once, args.cold)
    base_p50 = statistics.median(base_cold)
    print(
        f"\nbaseline subprocess.run(python -c 'print(1)'): p50 {base_p50 * 1e3:.1f} ms, "
        f"p99 {_percentile(base_cold, 99) * 1e3:.1f} ms"
    )

    def baseline_worker(_: int) -> int:
        for _ in range(args.per_worker):
            _baseline_once()
        return args.per_worker

    base_tput = {n: _throughput(baseline_worker, n) for n in args.concurrency}
    print(
        "baseline throughput: "
        + ", ".join(f"N={n}: {base_tput[n]:.1f}/s" for n in args.concurrency)
    )

    for backend in available_backends():
        fresh, cold, warm, tput = _bench_backend(backend, args)
        cold_p50, warm_p50 = statistics.median(cold), statistics.median(warm)
        fresh_p50 = statistics.median(fresh)
        print(f"\n[{backend}]")
        print(
            f"  cold run, fresh box:   p50 {fresh_p50 * 1e3:7.2f} ms  "
            f"p99 {_percentile(fresh, 99) * 1e3:7.2f} ms  ({fresh_p50 / base_p50:.2f}x baseline)"
        )
        print(
            f"  cold run('print(1)'):  p50 {cold_p50 * 1e3:7.2f} ms  "
            f"p99 {_percentile(cold, 99) * 1e3:7.2f} ms  ({cold_p50 / base_p50:.2f}x baseline, "
            f"after {args.warmup_s:g} s of runs)"
        )
        print(
            f"  warm session cell:     p50 {warm_p50 * 1e3:7.3f} ms  "
            f"p99 {_percentile(warm, 99) * 1e3:7.3f} ms  "
            f"(baseline / warm p50 = {base_p50 / warm_p50:.0f}x faster)"
        )
        for n in args.concurrency:
            print(
                f"  {n} concurrent sessions: {tput[n]:9.1f} cells/s  "
                f"({tput[n] / base_tput[n]:.1f}x baseline's {base_tput[n]:.1f} runs/s)"
            )


def _bench_backend(
    backend: str, args: argparse.Namespace
) -> tuple[list[float], list[float], list[float], dict[int, float]]:
    """Cold run times (fresh sandbox, then after ``--warmup-s`` of runs), warm cell times,
    and cells/s per concurrency for one backend."""
    sandbox = make_sandbox(backend, timeout_s=30.0)
    try:
        sandbox.run("print(1)")  # warm caches (interpreter layout, page cache)
        fresh = _timed(lambda: sandbox.run("print(1)"), args.cold)
        # bwrap reuses a pids cgroup once the kernel has released the last run's tasks (up
        # to ~1 s later): after a while of runs, most runs find one ready.
        until = time.perf_counter() + args.warmup_s
        while time.perf_counter() < until:
            sandbox.run("print(1)")
        cold = _timed(lambda: sandbox.run("print(1)"), args.cold)
        with sandbox.session() as session:
            session.run("x = 0")  # starts the interpreter
            warm = _timed(lambda: session.run("x += 1\nx"), args.cells)
            assert session.run("x").stdout == f"{args.cells}\n"

        def worker(_: int) -> int:
            with sandbox.session() as s:
                s.run("x = 0")
                for _ in range(args.per_worker):
                    s.run("x += 1\nx")
            return args.per_worker

        tput = {n: _throughput(worker, n) for n in args.concurrency}
    finally:
        sandbox.close()
    return fresh, cold, warm, tput


if __name__ == "__main__":
    main()

"""Metrics: per-step JSONL logs, a live console display, reward curves, rollout summaries.

Metric names live in namespaces: ``reward/``, ``env/``, ``rollout/``, ``stop/<reason>``,
``loss/``, ``perf/``, ``eval/``.

What this module does NOT cover: remote trackers (wandb, tensorboard); the JSONL file is the
record of a run, and anything else can be fed from it.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from turngym.core.trajectory import Trajectory

__all__ = [
    "ConsoleProgress",
    "MetricsLogger",
    "aggregate_trajectory_metrics",
    "plot_rewards",
    "read_metrics",
]

DEFAULT_PROGRESS_KEYS: tuple[str, ...] = ("reward/mean", "loss/policy", "perf/step_s")


# ---------------------------------------------------------------------------------------------
# JSONL log
# ---------------------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    """A JSON-safe version of ``value``: non-finite floats become null, tensors and numpy
    scalars become Python numbers, unknown objects their ``str``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    shape = getattr(value, "shape", None)  # torch tensors, numpy arrays and numpy bools
    if shape is not None and hasattr(value, "tolist"):
        return _jsonable(value.item() if math.prod(shape) == 1 else value.tolist())
    return str(value)


def truncate_jsonl_after_step(path: str | Path, step: int) -> None:
    """Drop the records of steps after ``step`` (and torn lines) from a JSONL log, atomically.

    A resumed run replays the steps after its checkpoint; their earlier records (metrics,
    rollout samples) would otherwise appear twice.
    """
    path = Path(path)
    if not path.exists():
        return
    kept = [
        json.dumps(r, allow_nan=False)
        for r in read_metrics(path)
        if isinstance(r.get("step"), int) and r["step"] <= step
    ]
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    tmp.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
    os.replace(tmp, path)


class MetricsLogger:
    """Appends one JSON object per step to a ``.jsonl`` file, flushed line by line.

    Each line is ``{"step": k, "time": <unix seconds>, **metrics}``. Non-finite floats are
    written as ``null`` (so every line is strict JSON), tensors and numpy scalars as numbers.

    Args:
        path: The JSONL file (parent folders are created; an existing file is appended to).
        truncate_after_step: When resuming from step k, pass k: lines of steps after k (logged
            before a crash, then lost with the un-checkpointed work) are dropped first, so the
            file has one line per step. A torn last line is dropped too.

    Example:
        >>> with MetricsLogger(tmp_path / "metrics.jsonl") as log:  # doctest: +SKIP
        ...     log.log(1, {"reward/mean": 0.5})
    """

    def __init__(self, path: str | Path, *, truncate_after_step: int | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if truncate_after_step is not None:
            truncate_jsonl_after_step(self.path, truncate_after_step)
        self._file: TextIO | None = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def log(self, step: int, metrics: Mapping[str, Any]) -> None:
        """Append one line for ``step`` and flush it to the OS."""
        if self._file is None:
            raise ValueError(f"MetricsLogger for {self.path} is closed")
        record = {"step": int(step), "time": time.time()}
        record.update({str(k): _jsonable(v) for k, v in metrics.items() if k not in record})
        self._file.write(json.dumps(record, allow_nan=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> MetricsLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """Read a metrics JSONL file, skipping blank and unparsable lines (e.g. a torn last line).

    Returns:
        The records in file order.
    """
    records: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                records.append(record)
    return records


# ---------------------------------------------------------------------------------------------
# Console
# ---------------------------------------------------------------------------------------------


def _format_value(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    return f"{float(value):.4g}"


def _format_duration(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class ConsoleProgress:
    """A live progress display: bar, step i/N, elapsed, ETA and the last step's key metrics.

    On a terminal it uses ``rich``; when the stream is not a TTY (logs, CI) it prints one
    plain line per step instead. Disabled, it does nothing.

    Args:
        total_steps: N, the step count of the whole run.
        enabled: False makes every method a no-op.
        start_step: Steps already done (when resuming), so the bar and ETA start there.
        keys: Metric names shown after the bar, when present in the step's metrics.
        stream: Where to write; defaults to ``sys.stdout``.
    """

    def __init__(
        self,
        total_steps: int,
        enabled: bool = True,
        *,
        start_step: int = 0,
        keys: Sequence[str] = DEFAULT_PROGRESS_KEYS,
        stream: TextIO | None = None,
    ) -> None:
        self.total_steps = total_steps
        self.enabled = enabled
        self.keys = tuple(keys)
        self.stream = stream if stream is not None else sys.stdout
        self._start_step = start_step
        self._start_time = time.monotonic()
        self._progress: Any = None
        self._task: Any = None
        isatty = getattr(self.stream, "isatty", None)
        self.live = bool(enabled and callable(isatty) and isatty())
        if self.live:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("[bold]step"),
                MofNCompleteColumn(),
                BarColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[metrics]}"),
                console=Console(file=self.stream),
            )
            self._progress.start()
            self._task = self._progress.add_task(
                "train", total=total_steps, completed=start_step, metrics=""
            )

    def _summary(self, metrics: Mapping[str, Any]) -> str:
        return " | ".join(f"{k} {_format_value(metrics[k])}" for k in self.keys if k in metrics)

    def update(self, step: int, metrics: Mapping[str, Any]) -> None:
        """Show that ``step`` steps are done (1-based index of the step just finished)."""
        if not self.enabled:
            return
        summary = self._summary(metrics)
        if self._progress is not None:
            self._progress.update(self._task, completed=step, metrics=summary)
            return
        elapsed = time.monotonic() - self._start_time
        done = step - self._start_step
        eta = elapsed / done * (self.total_steps - step) if done > 0 else float("nan")
        parts = [
            f"step {step}/{self.total_steps}",
            f"elapsed {_format_duration(elapsed)}",
            f"eta {_format_duration(eta) if math.isfinite(eta) else '?'}",
        ]
        if summary:
            parts.append(summary)
        print(" | ".join(parts), file=self.stream, flush=True)

    def write(self, text: str) -> None:
        """Print a line (e.g. an eval result) without breaking the live display."""
        if not self.enabled:
            return
        if self._progress is not None:
            self._progress.console.print(text, markup=False, highlight=False)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        """Stop the live display (idempotent)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __enter__(self) -> ConsoleProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------
# Reward curve
# ---------------------------------------------------------------------------------------------


def _series(records: Iterable[Mapping[str, Any]], key: str) -> tuple[list[int], list[float]]:
    by_step: dict[int, float] = {}
    for r in records:  # later lines win: a resumed run re-logs its steps
        step, value = r.get("step"), r.get(key)
        if (
            isinstance(step, int)
            and isinstance(value, (int, float))
            and not isinstance(value, bool)
            and math.isfinite(value)
        ):
            by_step[step] = float(value)
    steps = sorted(by_step)
    return steps, [by_step[s] for s in steps]


def _moving_average(values: Sequence[float], window: int) -> list[float]:
    out: list[float] = []
    total = 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def plot_rewards(
    metrics_jsonl_path: str | Path,
    out_png: str | Path,
    keys: Sequence[str] = ("reward/mean",),
    eval_key: str | None = "eval/reward_mean",
    *,
    window: int | None = None,
) -> Path:
    """Draw the reward curve of a run as a PNG.

    Each training key is drawn per step (faint) with its trailing moving average (solid);
    eval points, when the log has any, are drawn as markers. Uses matplotlib's Agg canvas
    directly, so no display and no pyplot global state are involved. A log with no data yet
    still gives a (labelled, empty) figure.

    Args:
        metrics_jsonl_path: The run's metrics JSONL (see :class:`MetricsLogger`).
        out_png: Where to write the PNG (parent folders are created).
        keys: Training metrics to draw.
        eval_key: Evaluation metric to draw as points; None for none.
        window: Moving-average window in steps; default about a tenth of the run (1..25).

    Returns:
        ``out_png`` as a Path.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    records = read_metrics(metrics_jsonl_path) if Path(metrics_jsonl_path).exists() else []
    fig = Figure(figsize=(8, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    drawn = False
    for i, key in enumerate(keys):
        steps, values = _series(records, key)
        if not steps:
            continue
        color = f"C{i}"
        w = window or max(1, min(25, len(values) // 10))
        ax.plot(steps, values, color=color, alpha=0.3, linewidth=1)
        ax.plot(
            steps, _moving_average(values, w), color=color, linewidth=2, label=f"{key} (avg {w})"
        )
        drawn = True
    if eval_key:
        steps, values = _series(records, eval_key)
        if steps:
            ax.plot(steps, values, "o--", color="black", markersize=5, label=eval_key)
            drawn = True
    if drawn:
        ax.legend(loc="best")
    else:
        ax.text(0.5, 0.5, "no reward data yet", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("step")
    ax.set_ylabel("reward")
    ax.set_title(Path(metrics_jsonl_path).parent.name or "rewards")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png")
    return out


# ---------------------------------------------------------------------------------------------
# Rollout summaries
# ---------------------------------------------------------------------------------------------


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def aggregate_trajectory_metrics(trajectories: Iterable[Trajectory]) -> dict[str, float]:
    """Summarise a batch of episodes as flat, namespaced metrics.

    Over **all** episodes: ``rollout/episodes``, ``rollout/failed`` (count of episodes that
    ended by an env or agent error), ``rollout/failed_frac`` and ``stop/<reason>`` (fraction
    of episodes per stop reason seen).

    Over the episodes that did **not** fail (a failed episode is not a data point about the
    policy): ``reward/mean``, ``reward/std`` (population std), ``reward/max``, ``reward/min``,
    ``env/turns_mean``, ``rollout/tokens_sampled_mean``, ``rollout/tokens_mean``, and
    ``env/<key>``: the mean of every bool / int / float entry of the episodes' final ``info``
    (over the episodes that have it). These are absent when every episode failed.

    Args:
        trajectories: Finished episodes.

    Returns:
        Metric name to float.
    """
    trajs = list(trajectories)
    n = len(trajs)
    out: dict[str, float] = {"rollout/episodes": float(n)}
    failed = sum(1 for t in trajs if t.failed)
    out["rollout/failed"] = float(failed)
    out["rollout/failed_frac"] = failed / n if n else 0.0
    for reason, count in sorted(Counter(t.stop_reason.value for t in trajs).items()):
        out[f"stop/{reason}"] = count / n
    ok = [t for t in trajs if not t.failed]
    if not ok:
        return out
    rewards = [t.reward for t in ok]
    mean = _mean(rewards)
    out["reward/mean"] = mean
    out["reward/std"] = math.sqrt(_mean([(r - mean) ** 2 for r in rewards]))
    out["reward/max"] = max(rewards)
    out["reward/min"] = min(rewards)
    out["env/turns_mean"] = _mean([float(t.num_turns) for t in ok])
    out["rollout/tokens_sampled_mean"] = _mean([float(t.num_sampled_tokens) for t in ok])
    out["rollout/tokens_mean"] = _mean([float(t.num_tokens) for t in ok])
    info_values: dict[str, list[float]] = {}
    for t in ok:
        for key, value in t.info.items():
            if isinstance(value, (bool, numbers.Real)) and math.isfinite(float(value)):
                info_values.setdefault(str(key), []).append(float(value))
    for key in sorted(info_values):
        out.setdefault(f"env/{key}", _mean(info_values[key]))
    return out

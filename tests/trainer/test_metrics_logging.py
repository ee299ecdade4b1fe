"""MetricsLogger, ConsoleProgress, plot_rewards and aggregate_trajectory_metrics."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from turngym.core.trajectory import Segment, StopReason, Trajectory
from turngym.trainer.metrics import (
    ConsoleProgress,
    MetricsLogger,
    aggregate_trajectory_metrics,
    plot_rewards,
    read_metrics,
)


def strict_lines(path: Path) -> list[dict]:
    def no_constants(name: str) -> None:
        raise AssertionError(f"non-standard JSON constant {name}")

    return [json.loads(line, parse_constant=no_constants) for line in path.read_text().splitlines()]


def test_logger_writes_strict_jsonl_and_survives_non_finite_values(tmp_path: Path) -> None:
    path = tmp_path / "run" / "metrics.jsonl"
    with MetricsLogger(path) as log:
        log.log(1, {"reward/mean": 0.5, "loss/policy": float("nan"), "perf/x": float("inf")})
        log.log(
            2,
            {"t": torch.tensor(2.5), "n": np.float32(1.5), "i": np.int64(3), "ok": True, "s": "hi"},
        )
        assert len(path.read_text().splitlines()) == 2  # flushed before close
    lines = strict_lines(path)
    assert lines[0]["step"] == 1 and lines[0]["reward/mean"] == 0.5
    assert lines[0]["loss/policy"] is None and lines[0]["perf/x"] is None
    assert isinstance(lines[0]["time"], float)
    assert lines[1] | {"time": 0} == {
        "step": 2,
        "time": 0,
        "t": 2.5,
        "n": 1.5,
        "i": 3,
        "ok": True,
        "s": "hi",
    }
    with pytest.raises(ValueError, match="closed"):
        log.log(3, {})


def test_logger_truncates_steps_after_a_resume_point(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    with MetricsLogger(path) as log:
        for step in range(1, 6):
            log.log(step, {"reward/mean": step})
    with open(path, "a") as f:
        f.write('{"step": 6, "rew')  # torn by a crash
    with MetricsLogger(path, truncate_after_step=3) as log:
        log.log(4, {"reward/mean": 40})
    assert [r["step"] for r in strict_lines(path)] == [1, 2, 3, 4]
    assert read_metrics(path)[-1]["reward/mean"] == 40


def test_plot_rewards_writes_a_png(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    with MetricsLogger(path) as log:
        for step in range(1, 31):
            metrics = {"reward/mean": math.sin(step / 5) + step / 30}
            if step % 10 == 0:
                metrics["eval/reward_mean"] = step / 30
            log.log(step, metrics)
    out = plot_rewards(path, tmp_path / "plots" / "reward.png")
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    import matplotlib.image

    assert matplotlib.image.imread(out).shape[:2] == (450, 800)

    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert plot_rewards(empty, tmp_path / "empty.png").stat().st_size > 0


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_console_progress_plain_lines_when_not_a_tty() -> None:
    stream = io.StringIO()
    progress = ConsoleProgress(3, stream=stream)
    assert not progress.live
    progress.update(1, {"reward/mean": 0.123456, "loss/policy": -0.5, "other": 1})
    progress.write("eval: 0.5")
    progress.close()
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("step 1/3 | elapsed 0:00 | eta ")
    assert "reward/mean 0.1235 | loss/policy -0.5" in lines[0] and "other" not in lines[0]
    assert lines[1] == "eval: 0.5"


def test_console_progress_live_and_disabled() -> None:
    stream = FakeTTY()
    with ConsoleProgress(4, stream=stream, start_step=1) as progress:
        assert progress.live
        progress.update(4, {"reward/mean": 0.75})
    out = stream.getvalue()
    assert "4/4" in out and "reward/mean 0.75" in out

    quiet = io.StringIO()
    off = ConsoleProgress(4, enabled=False, stream=quiet)
    off.update(1, {"reward/mean": 1.0})
    off.close()
    assert quiet.getvalue() == ""


def traj(
    rewards: tuple[float, ...], stop: StopReason, info: dict, n_tokens: int, n_sampled: int
) -> Trajectory:
    mask = (0,) * (n_tokens - n_sampled) + (1,) * n_sampled
    seg = Segment(tuple(range(n_tokens)), mask, (0.0,) * n_tokens, (), ())
    return Trajectory(
        segments=(seg,),
        messages=(),
        turn_rewards=rewards,
        terminated=stop is StopReason.TERMINATED,
        truncated=stop.is_truncation,
        stop_reason=stop,
        info=info,
    )


def test_aggregate_trajectory_metrics_by_hand() -> None:
    trajs = [
        traj((0.0, 1.0), StopReason.TERMINATED, {"success": True, "score": 3, "note": "x"}, 5, 2),
        traj((0.0,), StopReason.TURN_LIMIT, {"success": False, "score": 1}, 4, 3),
        traj(
            (0.5, 0.5, 1.0),
            StopReason.TERMINATED,
            {"success": True, "stop_reason": "terminated"},
            6,
            1,
        ),
        traj((), StopReason.ENV_ERROR, {"success": False, "score": 100}, 1, 0),
    ]
    m = aggregate_trajectory_metrics(trajs)
    expected = {
        "rollout/episodes": 4.0,
        "rollout/failed": 1.0,
        "rollout/failed_frac": 0.25,
        "stop/terminated": 0.5,
        "stop/turn_limit": 0.25,
        "stop/env_error": 0.25,
        # rewards 1, 0, 2 (the failed episode is not a data point)
        "reward/mean": 1.0,
        "reward/std": math.sqrt(2 / 3),
        "reward/max": 2.0,
        "reward/min": 0.0,
        "env/turns_mean": 2.0,
        "rollout/tokens_sampled_mean": 2.0,
        "rollout/tokens_mean": 5.0,
        "env/success": 2 / 3,
        "env/score": 2.0,
    }
    assert m.keys() == expected.keys()
    for key, value in expected.items():
        assert m[key] == pytest.approx(value), key


def test_aggregate_when_everything_failed_or_nothing_ran() -> None:
    m = aggregate_trajectory_metrics([traj((), StopReason.AGENT_ERROR, {}, 1, 0)])
    assert m == {
        "rollout/episodes": 1.0,
        "rollout/failed": 1.0,
        "rollout/failed_frac": 1.0,
        "stop/agent_error": 1.0,
    }
    assert aggregate_trajectory_metrics([]) == {
        "rollout/episodes": 0.0,
        "rollout/failed": 0.0,
        "rollout/failed_frac": 0.0,
    }

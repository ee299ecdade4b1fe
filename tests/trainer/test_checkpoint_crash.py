"""A process SIGKILLed while it checkpoints: no half-written save is ever loaded, no work is lost.

Two levels:

- :class:`~turngym.trainer.checkpoint.CheckpointManager` in a child process that saves in a
  loop (a 4 MiB tensor, written slowly in some trials so the kill lands inside the file) and
  is killed at chosen and at random moments. A fresh manager then removes the leftovers and
  loads the newest complete, hash-verified checkpoint: the last one the child reported, or the
  one after it if the child died between publishing it and reporting.
- ``Trainer.fit`` in a child process with ``checkpoint.every=1``, killed once k steps are in
  ``metrics.jsonl``, a torn line appended as if the kill hit a write, then resumed in this
  process: the run's metrics equal an uninterrupted run's, one line per step.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from turngym.trainer import TrainConfig
from turngym.trainer.checkpoint import CheckpointManager
from turngym.trainer.metrics import read_metrics
from turngym.trainer.trainer import Trainer

ROWS = 1024  # a (1024, 1024) float32 weight: 4 MiB
TENSOR_BYTES = ROWS * 1024 * 4
_TMP = re.compile(r"\.tmp-")
_SAVE_TMP = re.compile(r"^step_\d+\.tmp-\d+-[0-9a-f]+$")  # a save in progress (not a deletion)

# A fork server: it imports torch once, then each "run ROOT PAUSE REPORT" forks a saver that
# saves step 1, 2, ... forever with every parameter equal to the step and appends each step
# to REPORT once its save returned (PAUSE: seconds to sleep per MiB written; 0: the real
# writer). "reap PID" waits for a saver and prints the signal that ended it. Forking saves a
# torch import (seconds on a busy machine) per trial; the saver is a process of its own, so a
# SIGKILL hits it exactly as it would hit a trainer.
SAVER_SERVER = f"""
import os, sys, time, traceback
import torch
import safetensors.torch
import turngym.trainer.checkpoint as ck

real_save_file = ck.save_file

def save_forever(root, pause, report):
    def slow_save_file(tensors, path, metadata=None):
        data = safetensors.torch.save(tensors, metadata=metadata)
        with open(path, "wb") as f:
            for i in range(0, len(data), 1 << 20):
                f.write(data[i : i + (1 << 20)])
                f.flush()
                time.sleep(pause)

    ck.save_file = slow_save_file if pause > 0 else real_save_file
    torch.manual_seed(0)
    model = torch.nn.Linear(1024, {ROWS})
    opt = torch.optim.AdamW(model.parameters(), lr=0.1)
    manager = ck.CheckpointManager(root, keep=2)
    step = 0
    while True:
        step += 1
        with torch.no_grad():
            for p in model.parameters():
                p.fill_(float(step))
        manager.save(step, model, opt, extra={{"value": float(step)}})
        with open(report, "a") as f:
            f.write(f"{{step}}\\n")

for line in sys.stdin:
    cmd, *args = line.split()
    if cmd == "run":
        pid = os.fork()
        if pid == 0:
            try:
                save_forever(args[0], float(args[1]), args[2])
            except BaseException:
                with open(args[2], "a") as f:
                    f.write("error " + traceback.format_exc().replace(chr(10), " | ") + chr(10))
            finally:
                os._exit(1)
        print(pid, flush=True)
    elif cmd == "reap":
        _, status = os.waitpid(int(args[0]), 0)
        print(os.WTERMSIG(status) if os.WIFSIGNALED(status) else -1, flush=True)
"""


class SaverServer:
    """Talks to the fork server: start a saver, and reap it after the kill."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SAVER_SERVER],
            env=one_thread_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, line: str) -> int:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        assert answer, f"the saver server died (exit {self.proc.poll()})"
        return int(answer)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def one_thread_env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def saver_server() -> Iterator[SaverServer]:
    server = SaverServer()
    yield server
    server.close()


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tmp_entries(root: Path) -> list[str]:
    return sorted(e.name for e in root.iterdir() if _TMP.search(e.name))


def partial_tensor_file(root: Path) -> bool:
    """Whether a save in progress has written part, not all, of its tensor file."""
    for entry in root.glob("step_*.tmp-*/trainable.safetensors"):
        try:
            size = entry.stat().st_size
        except FileNotFoundError:
            continue
        if 0 < size < TENSOR_BYTES:
            return True
    return False


def kill_saver(
    server: SaverServer,
    root: Path,
    pause: float,
    ready: Callable[[], bool],
    timeout_s: float = 60.0,
) -> list[int]:
    """Start a saver, SIGKILL it once ``ready()`` holds, return the steps it reported."""
    report = root.parent / "reported"
    report.touch()
    pid = server.ask(f"run {root} {pause} {report}")
    deadline = time.monotonic() + timeout_s
    try:
        while not ready():
            text = report.read_text()
            assert "error" not in text, text
            assert time.monotonic() < deadline, "the moment to kill never came"
            time.sleep(0.002)
    finally:
        os.kill(pid, signal.SIGKILL)
        # Reaped before anything looks at the folder: a zombie's pid still counts as alive.
        assert server.ask(f"reap {pid}") == signal.SIGKILL
    return [int(x) for x in report.read_text().split()]


def published(root: Path) -> bool:
    return (root / "latest").exists()


@pytest.mark.parametrize(
    "moment",
    ["tmp_dir_appears", "inside_tensor_file", "random_slow", "random_fast"],
)
def test_sigkill_while_saving_leaves_the_last_complete_checkpoint(
    saver_server: SaverServer, tmp_path: Path, moment: str
) -> None:
    root = tmp_path / "ckpt"
    root.mkdir()
    rng = random.Random(moment)  # seeded per trial: the same kill times on every run
    # The slow writer (20 ms per MiB) keeps a save in progress long enough for the polling
    # below to see it; "random_fast" uses safetensors' own writer.
    pause = 0.0 if moment == "random_fast" else 0.02
    if moment == "tmp_dir_appears":

        def ready() -> bool:  # a later save has just made its tmp folder
            return published(root) and any(_SAVE_TMP.match(e.name) for e in root.iterdir())

    elif moment == "inside_tensor_file":

        def ready() -> bool:
            return published(root) and partial_tensor_file(root)

    else:
        delay = rng.uniform(0.0, 1.5)
        since: dict[str, float] = {}

        def ready() -> bool:  # a random moment after the first checkpoint was published
            if not published(root):
                return False
            start = since.setdefault("published", time.monotonic())
            return time.monotonic() - start >= delay

    reported = kill_saver(saver_server, root, pause, ready)
    leftovers = tmp_entries(root)
    if moment in ("tmp_dir_appears", "inside_tensor_file"):
        assert leftovers, "the kill should have left a half-written save behind"

    manager = CheckpointManager(root, keep=2)  # a fresh process's view: leftovers go
    assert tmp_entries(root) == []
    model = torch.nn.Linear(1024, ROWS)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    state = manager.load_latest(model, optimizer)
    assert state is not None
    step = state["step"]
    last = reported[-1] if reported else 0
    # The newest complete one: the last reported, or the next if the kill came between its
    # publication and the report.
    assert max(last, 1) <= step <= last + 1, (reported, step, leftovers)
    assert state["extra"]["value"] == float(step)
    assert all(torch.equal(p, torch.full_like(p, float(step))) for p in model.parameters())
    assert state["path"].name == f"step_{step:06d}"
    # Every folder left is a complete checkpoint (a folder is only ever renamed into place
    # complete, and out of place before it is deleted), the newest being the one loaded.
    complete = [p.name for p in manager.list_complete()]
    assert sorted(p.name for p in root.iterdir() if p.name != "latest") == complete
    assert complete[-1] == f"step_{step:06d}"

    # Training goes on from it: the next save is published and found.
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(float(step + 1))
    manager.save(step + 1, model, optimizer, extra={"value": float(step + 1)})
    again = CheckpointManager(root, keep=2).load_latest(torch.nn.Linear(1024, ROWS))
    assert again is not None and again["step"] == step + 1
    assert manager.latest_pointer() == f"step_{step + 1:06d}"


# ---- the trainer: kill, resume, compare ---------------------------------------------------


def keyword_config(model: Path, out: Path, **over: Any) -> TrainConfig:
    data = {
        "model": {"name": str(model)},
        "env": {"id": "turngym/Keyword-v0", "kwargs": {"keyword": "ing"}},
        "rollout": {"tasks_per_step": 2, "group_size": 4, "max_new_tokens": 4},
        "optim": {"lr": 1e-2, "micro_batch_size": 16},
        "steps": 3,
        "seed": 0,
        "output_dir": str(out),
        "progress": False,
        "plot": False,
        "log_samples": 2,
        "checkpoint": {"every": 1, "resume": True, "save_final_model": False, "keep": 2},
    }
    return TrainConfig.from_dict(data).apply_overrides([f"{k}={v}" for k, v in over.items()])


FIT = """
import sys
from turngym.trainer import TrainConfig
from turngym.trainer.trainer import Trainer
Trainer(TrainConfig.from_yaml(sys.argv[1]), log=lambda s: None).fit()
"""

COMPARED = ("reward/mean", "reward/std", "loss/policy", "loss/total", "optim/grad_norm")


def step_lines(path: Path) -> list[dict[str, Any]]:
    return [r for r in read_metrics(path) if "rollout/episodes" in r]


def test_fit_killed_mid_run_resumes_to_the_same_metrics(
    tiny_model_path: Path, tmp_path: Path
) -> None:
    kill_after = 2
    straight_cfg = keyword_config(tiny_model_path, tmp_path / "straight")
    Trainer(straight_cfg, log=lambda s: None).fit()
    straight = step_lines(tmp_path / "straight" / "metrics.jsonl")
    assert [r["step"] for r in straight] == [1, 2, 3]
    assert any("loss/policy" in r for r in straight)  # something was trained to compare

    out = tmp_path / "killed"
    cfg = keyword_config(tiny_model_path, out)
    out.mkdir()
    cfg.to_yaml(tmp_path / "killed.yaml")
    metrics = out / "metrics.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-c", FIT, str(tmp_path / "killed.yaml")],
        env=one_thread_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    try:
        # Killed as soon as step k is logged: its checkpoint is being written, or about to be.
        while not (metrics.exists() and len(step_lines(metrics)) >= kill_after):
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "the child never logged its steps"
            time.sleep(0.005)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
    assert proc.returncode == -signal.SIGKILL, err
    logged = len(step_lines(metrics))
    assert kill_after <= logged < 3
    with open(metrics, "a", encoding="utf-8") as f:  # as if the kill hit a write of a line
        f.write('{"step": 9, "reward/mean": 0.')

    resumed = Trainer(keyword_config(tiny_model_path, out), log=lambda s: None)
    # The newest complete checkpoint: step k, or k - 1 when the kill beat step k's save.
    assert logged - 1 <= resumed.step <= logged
    assert not list((out / "checkpoints").glob("*.tmp-*"))  # the killed save's leftovers
    resumed.fit()

    lines = (out / "metrics.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line is strict JSON again
    assert [r["step"] for r in records] == [1, 2, 3]  # one per step: replays replaced
    for mine, ref in zip(records, straight, strict=True):
        for key in COMPARED:
            assert (key in mine) == (key in ref), key
            if key.startswith("reward/"):
                assert mine.get(key) == ref.get(key), (mine["step"], key)
            elif key in ref:
                assert mine[key] == pytest.approx(ref[key], rel=1e-5, abs=1e-7), (mine["step"], key)


def test_replayed_steps_do_not_duplicate_logged_samples(
    tiny_model_path: Path, tmp_path: Path
) -> None:
    cfg = keyword_config(tiny_model_path, tmp_path, **{"steps": 2, "checkpoint.keep": 3})
    Trainer(cfg, log=lambda s: None).fit()
    # A crash after step 2 was logged but before its checkpoint was published.
    step2 = tmp_path / "checkpoints" / "step_000002"
    for f in step2.iterdir():
        f.unlink()
    step2.rmdir()
    resumed = Trainer(cfg, log=lambda s: None)
    assert resumed.step == 1
    resumed.fit()
    assert [r["step"] for r in step_lines(tmp_path / "metrics.jsonl")] == [1, 2]
    samples = [json.loads(x) for x in (tmp_path / "rollouts.jsonl").read_text().splitlines()]
    assert Counter(s["step"] for s in samples) == {1: 2, 2: 2}
    # Each episode names its task twice: the index in the split and the env's id from reset.
    assert all(isinstance(s["task_index"], int) for s in samples)
    assert all(isinstance(s["task_id"], str) and s["task_id"] for s in samples), samples

"""Fault injection: env exceptions, real sandbox timeouts and garbage model output in a run.

"Errors are data" (DESIGN.md): a crashing env, a tool that times out and a model that emits
nonsense must each end as an observation, a ``stop_reason`` or a low reward, and be counted,
never stop a training run. Every fault here is drawn from a seeded hash of something the run
fixes (the episode's reset seed and attempt, the sampling seed of the turn), so the counts are
exact: each is checked three ways, against what the env and the backend recorded, against
``rollouts.jsonl`` and against ``metrics.jsonl``.
"""

from __future__ import annotations

import json
import math
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest

import turngym
from turngym.agents.backend import Generation, SamplingParams
from turngym.core.messages import Message
from turngym.envs.base import StepOutcome, Task, TextEnv, seeded_rng
from turngym.tools.formats import HermesFormat
from turngym.tools.python import format_exec_result
from turngym.tools.sandbox import make_sandbox
from turngym.trainer import TrainConfig
from turngym.trainer.metrics import read_metrics
from turngym.trainer.trainer import Trainer

ENV_ID = "turngymtest/FaultyKeyword-v0"
RAISE_RATE = 0.2
TIMEOUT_RATE = 0.2
GARBAGE_RATE = 0.2
TOOL_TIMEOUT_S = 0.2
INJECTED = "injected env fault"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ---- the faulty env ---------------------------------------------------------------------


@dataclass
class Ledger:
    """What the faulty env and the garbage backend did, shared by every env instance."""

    resets: Counter[int] = field(default_factory=Counter)
    """Resets per reset seed (a retry replays the seed, so its count is the attempt)."""
    episodes: list[tuple[int, int, str]] = field(default_factory=list)
    """``(seed, attempt, fault)`` per reset; fault is ``raise``, ``timeout`` or ``none``."""
    actions: list[str] = field(default_factory=list)
    """Every action text ``step`` received."""
    unclosed_calls: int = 0
    """Actions whose tool call the Hermes parser reported as unclosed."""
    timeouts: list[str] = field(default_factory=list)
    """The sandbox's answers to the runaway program (each a real timeout)."""
    garbage: Counter[str] = field(default_factory=Counter)
    """Garbage generations returned by the backend, by kind."""
    lock: threading.Lock = field(default_factory=threading.Lock)


class FaultyKeywordEnv(TextEnv):
    """Two turns: turn 1 may crash or run a runaway tool, turn 2 is scored like Keyword-v0.

    Observation/action protocol: the user asks for a keyword; after the first reply the env
    answers with a tool result (the output of a program that loops forever, when the episode
    drew a timeout) or a prompt to reply again; the second reply ends the episode. Reward: 1 if
    the second reply contains the keyword, else 0. With probability ``RAISE_RATE`` (drawn from
    the reset seed and the attempt) ``step`` raises on turn 1; with ``TIMEOUT_RATE`` it runs
    ``while True: pass`` in a real local sandbox with a 0.2 s limit.
    """

    def __init__(self, *, ledger: Ledger, keyword: str = "ing", render_mode: str | None = None):
        super().__init__(render_mode=render_mode)
        self.ledger = ledger
        self.keyword = keyword
        self.fault = "none"
        self.tool_timeouts = 0
        self._sandbox = make_sandbox("local", timeout_s=TOOL_TIMEOUT_S, memory_mb=256)

    def num_tasks(self, split: str = "train") -> int | None:
        return 2

    def get_task(self, index: int, split: str = "train") -> Task:
        return {"id": f"faulty-{index}", "keyword": self.keyword}

    def reset(
        self, *, seed: int | None = None, options: Mapping[str, Any] | None = None
    ) -> tuple[tuple[Message, ...], dict[str, Any]]:
        assert seed is not None, "the trainer always seeds its episodes"
        with self.ledger.lock:
            attempt = self.ledger.resets[seed]
            self.ledger.resets[seed] += 1
        u = float(seeded_rng("fault", seed, attempt).random())
        self.fault = "raise" if u < RAISE_RATE else "timeout" if u < 2 * TIMEOUT_RATE else "none"
        with self.ledger.lock:
            self.ledger.episodes.append((seed, attempt, self.fault))
        self.tool_timeouts = 0
        return super().reset(seed=seed, options=options)

    def episode_info(self) -> dict[str, Any]:
        # In every step's info, so the trainer's env/tool_timeouts metric counts them. The task
        # id too: a finished episode's record takes it from the last step's info.
        assert self.task is not None
        return {"tool_timeouts": self.tool_timeouts, "task_id": self.task["id"]}

    def initial_messages(self, task: Task) -> list[Message]:
        return [Message("user", f"Reply with the word '{task['keyword']}'.")]

    def on_action(self, action: str) -> StepOutcome:
        assert self.task is not None
        parsed = HermesFormat().parse(action)
        with self.ledger.lock:
            self.ledger.actions.append(action)
            self.ledger.unclosed_calls += any("unclosed" in e.message for e in parsed.errors)
        if self.turn == 0:
            if self.fault == "raise":
                raise RuntimeError(INJECTED)
            if self.fault == "timeout":
                result = self._sandbox.run("while True: pass")
                text = format_exec_result(result, timeout_s=TOOL_TIMEOUT_S)
                self.tool_timeouts += result.status == "timeout"
                with self.ledger.lock:
                    self.ledger.timeouts.append(text)
                return StepOutcome(messages=[Message("tool", text, name="python")])
            errors = "; ".join(e.message for e in parsed.errors)
            answer = f"Tool call error: {errors}. Again, please." if errors else "Again, please."
            return StepOutcome(messages=[Message("user", answer)])
        hit = self.task["keyword"].lower() in action.lower()
        return StepOutcome(reward=float(hit), done=True, info={"success": hit})

    def close(self) -> None:
        self._sandbox.close()
        super().close()


# ---- the garbage backend ----------------------------------------------------------------


def byte_level_char(byte: int) -> str:
    """The character a GPT-2 style byte-level BPE vocabulary uses for one raw byte."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    if byte in printable:
        return chr(byte)
    return chr(256 + [b for b in range(256) if b not in printable].index(byte))


class GarbageBackend:
    """Wraps a backend; a seeded fifth of the generations are replaced by garbage.

    Kinds: random token ids from the whole vocabulary (special tokens included), bytes that
    are not valid UTF-8, and a tool call cut off before it closes (no stop token, as when the
    length cap hits). The draw hashes the turn's sampling seed and the prompt's position in
    the batch, both fixed by the run's seed.
    """

    def __init__(self, inner: Any, tokenizer: Any, ledger: Ledger):
        self.inner = inner
        self.ledger = ledger
        self.vocab_size = len(tokenizer)
        # Continuation bytes only: no sequence of them is valid UTF-8.
        self.invalid_utf8_ids = tokenizer.convert_tokens_to_ids(
            [byte_level_char(b) for b in (0x80, 0x9F, 0xBF)]
        )
        unk = tokenizer.unk_token_id
        assert all(0 <= i < self.vocab_size and i != unk for i in self.invalid_utf8_ids)
        self.tool_call_ids = tokenizer.encode(
            '<tool_call>{"name": "python"', add_special_tokens=False
        )
        self.logprob = -math.log(self.vocab_size)

    @property
    def max_context(self) -> int | None:
        return self.inner.max_context

    def generate(
        self,
        prompts: Sequence[Sequence[int]],
        params: SamplingParams,
        max_new_tokens: Sequence[int] | None = None,
    ) -> list[Generation]:
        out = list(self.inner.generate(prompts, params, max_new_tokens))
        stops = set(params.stop_token_ids)
        for i in range(len(out)):
            rng = seeded_rng("garbage", params.seed if params.seed is not None else -1, i)
            if rng.random() >= GARBAGE_RATE:
                continue
            cap = max_new_tokens[i] if max_new_tokens is not None else params.max_new_tokens
            kind = ("random_ids", "invalid_utf8", "unclosed_tool_call")[int(rng.integers(3))]
            if kind == "random_ids":
                ids = [int(t) for t in rng.integers(0, self.vocab_size, size=cap) if t not in stops]
            elif kind == "invalid_utf8":
                ids = [self.invalid_utf8_ids[int(k)] for k in rng.integers(0, 3, size=cap)]
            else:
                ids = list(self.tool_call_ids)
            ids = ids[:cap] or [self.invalid_utf8_ids[0]]
            out[i] = Generation(tuple(ids), (self.logprob,) * len(ids), "length")
            with self.ledger.lock:
                self.ledger.garbage[kind] += 1
        return out


# ---- the runs ---------------------------------------------------------------------------


def faulty_config(model: Path, out: Path, **over: Any) -> TrainConfig:
    data = {
        "model": {"name": str(model)},
        "env": {"id": ENV_ID},
        # 12 new tokens leave room for the whole cut-off tool call (11 tokens).
        "rollout": {"tasks_per_step": 2, "group_size": 4, "max_new_tokens": 12},
        "optim": {"lr": 1e-3, "micro_batch_size": 16},
        "steps": 3,
        "seed": 0,
        "output_dir": str(out),
        "progress": False,
        "plot": False,
        "log_samples": 10_000,  # every episode, failed and retried ones included
        "checkpoint": {"every": 0, "resume": False, "save_final_model": False},
    }
    return TrainConfig.from_dict(data).apply_overrides([f"{k}={v}" for k, v in over.items()])


@dataclass(frozen=True)
class FaultyRun:
    """A finished run with faults, and what it wrote."""

    ledger: Ledger
    """The faults the env and the backend injected."""
    metrics: list[dict[str, Any]]
    """The step lines of ``metrics.jsonl``."""
    rollouts: list[dict[str, Any]]
    """Every episode from ``rollouts.jsonl`` (failed and retried ones included)."""


def run_with_faults(cfg: TrainConfig) -> FaultyRun:
    """``Trainer.fit`` on the faulty env with the garbage backend (the env is registered only
    for the run, so the registry-wide env checks never see it)."""
    ledger = Ledger()
    turngym.register(ENV_ID, lambda **kw: FaultyKeywordEnv(ledger=ledger, **kw))
    try:
        trainer = Trainer(cfg, log=lambda s: None)
        trainer.runner.backend = GarbageBackend(trainer.runner.backend, trainer.tokenizer, ledger)
        trainer.fit()
    finally:
        gym.registry.pop(ENV_ID, None)
    out = Path(cfg.output_dir)
    metrics = [r for r in read_metrics(out / "metrics.jsonl") if "rollout/episodes" in r]
    rollouts = [json.loads(x) for x in (out / "rollouts.jsonl").read_text().splitlines()]
    return FaultyRun(ledger, metrics, rollouts)


@pytest.fixture(scope="module")
def retry_run(tiny_model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> FaultyRun:
    over = {"rollout.failure_policy": "retry", "rollout.max_retries": 2}
    return run_with_faults(faulty_config(tiny_model_path, tmp_path_factory.mktemp("retry"), **over))


@pytest.fixture(scope="module")
def min_group_run(tiny_model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> FaultyRun:
    # min_group_size = group_size: one failed episode drops its whole group.
    over = {"rollout.failure_policy": "min_group", "rollout.min_group_size": 4}
    return run_with_faults(faulty_config(tiny_model_path, tmp_path_factory.mktemp("mg"), **over))


@pytest.mark.parametrize("policy", ["retry", "min_group"])
def test_every_fault_is_survived_and_counted(policy: str, request: pytest.FixtureRequest) -> None:
    run: FaultyRun = request.getfixturevalue(f"{policy}_run")
    ledger, metrics, rollouts, steps = run.ledger, run.metrics, run.rollouts, 3
    assert [m["step"] for m in metrics] == list(range(1, steps + 1))
    raises = sum(f == "raise" for _, _, f in ledger.episodes)
    timeouts = sum(f == "timeout" for _, _, f in ledger.episodes)
    # The seed gives a run with every kind of fault (if not, pick another seed).
    assert raises >= 2 and timeouts >= 2, ledger.episodes
    assert set(ledger.garbage) == {"random_ids", "invalid_utf8", "unclosed_tool_call"}

    # Every episode played (retries included) is in the metrics and in rollouts.jsonl.
    assert sum(m["rollout/episodes"] for m in metrics) == len(ledger.episodes) == len(rollouts)
    # Exactly the injected env exceptions failed, as env errors carrying their message.
    failed = [r for r in rollouts if r["stop_reason"] in ("env_error", "agent_error")]
    assert sum(m["rollout/failed"] for m in metrics) == raises == len(failed)
    assert all(r["stop_reason"] == "env_error" and INJECTED in r["error"] for r in failed)

    # Timeouts were real sandbox timeouts, shown to the agent as an observation.
    assert len(ledger.timeouts) == timeouts
    assert all(f"[timed out after {TOOL_TIMEOUT_S:g}s]" in t for t in ledger.timeouts)
    seen = [m["text"] for r in rollouts for m in r["messages"] if m["role"] == "tool"]
    assert Counter(seen) == Counter(ledger.timeouts)

    # ... and are counted in metrics.jsonl: env/tool_timeouts is the mean over the episodes
    # trained on (all good ones under retry; those of the groups kept under min_group).
    bad_groups = {(r["step"], r["task_index"]) for r in rollouts if r["stop_reason"] == "env_error"}
    for m in metrics:
        kept = [
            r
            for r in rollouts
            if r["step"] == m["step"]
            and r["stop_reason"] != "env_error"
            and (policy == "retry" or (r["step"], r["task_index"]) not in bad_groups)
        ]
        assert len(kept) == m["rollout/groups_kept"] * 4
        shown = sum(msg["role"] == "tool" for r in kept for msg in r["messages"])
        if kept:
            assert m["env/tool_timeouts"] * len(kept) == pytest.approx(shown), m["step"]

    # Garbage reached the env as text (never a crash, never an agent error): every cut-off
    # tool call became a parse error (the env parses before it may raise), answered to the
    # agent on turn 1, and invalid UTF-8 became replacement characters.
    assert ledger.unclosed_calls >= ledger.garbage["unclosed_tool_call"]
    answered = [
        msg["text"]
        for r in rollouts
        for msg in r["messages"]
        if msg["role"] == "user" and "unclosed <tool_call>" in msg["text"]
    ]
    assert 1 <= len(answered) <= ledger.unclosed_calls
    assert sum("\ufffd" in a for a in ledger.actions) >= ledger.garbage["invalid_utf8"]
    # One env step per sampled turn, whatever the turn's text.
    assert len(ledger.actions) == sum(
        m["role"] == "assistant" for r in rollouts for m in r["messages"]
    )
    for r in rollouts:
        assert math.isfinite(r["reward"]) and r["reward"] in (0.0, 1.0), r
    for m in metrics:
        assert m["optim/nonfinite_skipped"] == 0.0
        # Written as null if it was not finite; absent when every group of the step was dropped.
        assert m.get("loss/total", 0.0) is not None, m


def test_retry_replays_failed_episodes_and_counts_the_retries(retry_run: FaultyRun) -> None:
    ledger, metrics = retry_run.ledger, retry_run.metrics
    # A retry replays the failed episode's seed: one retry per failed attempt below the cap.
    retried = sum(f == "raise" and a < 2 for _, a, f in ledger.episodes)
    assert retried >= 1
    assert sum(m["rollout/retried"] for m in metrics) == retried
    assert all(a == 0 or (s, a - 1, "raise") in ledger.episodes for s, a, _ in ledger.episodes)
    # With this seed no episode failed three times in a row, so every group was kept.
    assert not any(f == "raise" and a == 2 for _, a, f in ledger.episodes)
    assert sum(m["rollout/groups_kept"] for m in metrics) == 3 * 2
    assert sum(m["rollout/groups_dropped"] for m in metrics) == 0
    assert all(m.get("reward/mean") is not None for m in metrics)


def test_min_group_drops_groups_with_a_failed_episode(min_group_run: FaultyRun) -> None:
    ledger, metrics = min_group_run.ledger, min_group_run.metrics
    rollouts = min_group_run.rollouts
    assert all(a == 0 for _, a, _ in ledger.episodes)  # no retries under min_group
    assert sum(m["rollout/retried"] for m in metrics) == 0
    bad_groups = {(r["step"], r["task_index"]) for r in rollouts if r["stop_reason"] == "env_error"}
    dropped = sum(m["rollout/groups_dropped"] for m in metrics)
    assert dropped == len(bad_groups) >= 1
    assert sum(m["rollout/groups_kept"] for m in metrics) == 3 * 2 - dropped


@pytest.mark.parametrize("policy", ["retry", "min_group"])
def test_failed_fraction_counts_every_episode(policy: str, request: pytest.FixtureRequest) -> None:
    run: FaultyRun = request.getfixturevalue(f"{policy}_run")
    assert sum(m["rollout/failed"] for m in run.metrics) >= 1
    for m in run.metrics:
        assert m["rollout/failed_frac"] == pytest.approx(
            m["rollout/failed"] / m["rollout/episodes"]
        )

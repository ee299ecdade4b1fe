"""``turngym/LongCount-v0``: a long-horizon memory task whose history outgrows a small context.

The env reads out a ledger one record per turn. Each record is a line with a value followed by
filler log lines (noise the agent must not need), so the conversation grows by roughly
``filler_lines * 12`` tokens per turn. After the last record it asks for the sum of all values.
An agent that keeps the whole history runs out of context on long ledgers; one that keeps a
running total in a summary (or its own replies) can finish in any context.

Protocol:
    Observation: a system prompt and the task; then, after each assistant turn, one user message
    with the next record (``Record i/N: value = v`` and filler lines), and after the last record
    the question ``What is the sum of all N values? Answer as \\boxed{<number>}.``
    Action: any text. Replies to records are not scored (they are the agent's notes); the reply
    to the question is scored.
    Reward: 1.0 when the last ``\\boxed{...}`` of the final reply holds the correct sum, else 0.0;
    the episode terminates after that reply (``info["success"]``). Episodes last exactly
    ``num_records + 1`` turns.
"""

from __future__ import annotations

import re
from typing import Any

from turngym.core.messages import Message
from turngym.envs.base import StepOutcome, Task, TextEnv, seeded_rng

_BOXED = re.compile(r"\\boxed\{\s*(-?\d+)\s*\}")
_FILLER_WORDS = (
    "sync", "cache", "worker", "shard", "flush", "retry", "queue", "ack", "lease", "index",
    "compact", "probe", "heartbeat", "snapshot", "merge", "spill",
)  # fmt: skip
SYSTEM_PROMPT = (
    "You are reading a ledger, one record per turn. Keep track of the values: at the end you "
    "must give their sum as \\boxed{<number>}. Ignore the log lines."
)


class LongCountEnv(TextEnv):
    """Sum values read out over many turns, padded with filler (see the module docstring).

    Args:
        num_records: Records per episode (turns before the question).
        filler_lines: Noise lines after each record's value.
        max_value: Values are drawn from ``1..max_value``.
        num_train_tasks: Tasks in the train split (the test split has a quarter as many).
        render_mode: ``"ansi"`` or None.
    """

    def __init__(
        self,
        *,
        num_records: int = 8,
        filler_lines: int = 6,
        max_value: int = 20,
        num_train_tasks: int = 1000,
        render_mode: str | None = None,
    ):
        super().__init__(render_mode=render_mode)
        if num_records < 1:
            raise ValueError(f"num_records must be >= 1, got {num_records}")
        if filler_lines < 0:
            raise ValueError(f"filler_lines must be >= 0, got {filler_lines}")
        if max_value < 1:
            raise ValueError(f"max_value must be >= 1, got {max_value}")
        if num_train_tasks < 1:
            raise ValueError(f"num_train_tasks must be >= 1, got {num_train_tasks}")
        self.num_records = num_records
        self.filler_lines = filler_lines
        self.max_value = max_value
        self.num_train_tasks = num_train_tasks

    def num_tasks(self, split: str = "train") -> int | None:
        return self.num_train_tasks if split == "train" else max(1, self.num_train_tasks // 4)

    def get_task(self, index: int, split: str = "train") -> Task:
        rng = seeded_rng("long-count", split, index, self.num_records, self.max_value)
        values = [int(v) for v in rng.integers(1, self.max_value + 1, size=self.num_records)]
        fillers = [
            [
                f"[{rng.integers(0, 10_000):04d}] {' '.join(rng.choice(_FILLER_WORDS, size=4))}"
                for _ in range(self.filler_lines)
            ]
            for _ in range(self.num_records)
        ]
        return {"id": f"longcount-{split}-{index}", "values": values, "fillers": fillers}

    def initial_messages(self, task: Task) -> list[Message]:
        return [
            Message("system", SYSTEM_PROMPT),
            Message("user", f"The ledger has {len(task['values'])} records. Say 'ready'."),
        ]

    def _record(self, i: int) -> Message:
        assert self.task is not None
        n = len(self.task["values"])
        lines = [f"Record {i + 1}/{n}: value = {self.task['values'][i]}", *self.task["fillers"][i]]
        return Message("user", "\n".join(lines))

    def on_action(self, action: str) -> StepOutcome:
        assert self.task is not None
        n = len(self.task["values"])
        if self.turn < n:
            message = self._record(self.turn)
            if self.turn == n - 1:
                message = Message(
                    "user",
                    f"{message.text}\n\nThat was the last record. What is the sum of all {n} "
                    "values? Answer as \\boxed{<number>}.",
                )
            return StepOutcome(messages=[message])
        answers = _BOXED.findall(action)
        success = bool(answers) and int(answers[-1]) == sum(self.task["values"])
        return StepOutcome(reward=float(success), done=True, info={"success": success})

    def episode_info(self) -> dict[str, Any]:
        return {"records_shown": min(self.turn, self.num_records)}

    def probe_actions(self) -> list[str]:
        return ["ready", "\\boxed{0}"]

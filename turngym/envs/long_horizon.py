"""``turngym/LongCount-v0``: a long-horizon memory task whose history outgrows a small context.

The env reads out a ledger one record per turn. Each record is a line with a value followed by
filler log lines (noise the agent must not need), so the conversation grows by roughly
``filler_lines * 12`` tokens per turn. After the last record it asks for the sum of all values
(``question="sum"``, the default), the value of record 1 (``"first"``) or the largest value
(``"max"``). An agent that keeps the whole history runs out of context on long ledgers; one
that keeps what it needs (a running total, record 1's value) in a summary can finish in any
context; a sliding window that has dropped the early records cannot.

For small models (SmolLM2-135M cannot add a handful of numbers, but recalls record 1 from its
context) use ``question="first", answer_format="first_line_number", ask_for_notes=True``: see
docs/long_horizon.md for measured success rates.

Protocol:
    Observation: a system prompt and the task; then, after each assistant turn, one user message
    with the next record (``Record i/N: value = v`` and filler lines; with ``ask_for_notes``
    also :data:`NOTE_REQUEST`), and after the last record the question, e.g. ``What is the sum
    of all N values? Answer as \\boxed{<number>}.``
    Action: any text. Replies to records are not scored (they are the agent's notes); the reply
    to the question is scored.
    Reward: 1.0 when the last ``\\boxed{...}`` of the final reply holds the correct answer
    (with ``answer_format="first_line_number"`` and no ``\\boxed{}``: the last integer of the
    reply's first non-empty line), else 0.0;
    the episode terminates after that reply (``info["success"]``). Episodes last exactly
    ``num_records + 1`` turns.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from turngym.core.messages import Message
from turngym.envs.base import StepOutcome, Task, TextEnv, seeded_rng

_BOXED = re.compile(r"\\boxed\{\s*(-?\d+)\s*\}")
_INTEGER = re.compile(r"-?\d+")
KICKOFF = "The ledger has {n} records. Say 'ready'."
"""The task message (``{n}``: the number of records)."""
NOTE_KICKOFF = (
    "Records follow, one per turn. After each record, reply with one line: "
    "Record <i>: value = <value>. Reply 'Record 0: value = 0' now."
)
"""The task message with ``ask_for_notes=True``. Small models copy their first reply into every
later turn (SmolLM2-135M answers "The ledger has 6 records." to every record after the plain
kickoff); a first reply already in note form keeps their later replies useful notes."""
NOTE_REQUEST = "Reply with: Record {index}: value = <value>."
"""Appended to every record but the last with ``ask_for_notes=True`` (``{index}``: 1-based)."""
_FILLER_WORDS = (
    "sync", "cache", "worker", "shard", "flush", "retry", "queue", "ack", "lease", "index",
    "compact", "probe", "heartbeat", "snapshot", "merge", "spill",
)  # fmt: skip
SYSTEM_PROMPT = (
    "You are reading a ledger, one record per turn. Keep track of the values: at the end you "
    "must give their sum as \\boxed{<number>}. Ignore the log lines."
)
LongCountQuestion = Literal["sum", "first", "max"]
QUESTIONS: tuple[str, ...] = ("sum", "first", "max")
"""What the final question asks for (``question=``): each needs something from every record or
from the first one, so it stays a memory task once the early turns are out of the context."""
_TARGET = {
    "sum": "their sum",
    "first": "the value of record 1",
    "max": "the largest value",
}
_QUESTION = {
    "sum": "What is the sum of all {n} values?",
    "first": "What was the value of record 1?",
    "max": "What is the largest of all {n} values?",
}


def system_prompt(question: str = "sum") -> str:
    """The env's system prompt for a question kind (``sum`` gives :data:`SYSTEM_PROMPT`)."""
    return SYSTEM_PROMPT.replace("their sum", _TARGET[question])


def answer(values: list[int], question: str = "sum") -> int:
    """The correct answer to ``question`` for a ledger's values."""
    if question == "sum":
        return sum(values)
    if question == "first":
        return values[0]
    return max(values)


class LongCountEnv(TextEnv):
    """Sum values read out over many turns, padded with filler (see the module docstring).

    Args:
        num_records: Records per episode (turns before the question).
        filler_lines: Noise lines after each record's value.
        max_value: Values are drawn from ``1..max_value``.
        num_train_tasks: Tasks in the train split (the test split has a quarter as many).
        question: What the final question asks for: ``"sum"`` (the default), ``"first"`` (the
            value of record 1, pure recall across the whole episode) or ``"max"`` (the largest
            value, a running maximum). ``first`` and ``max`` suit small models that cannot add
            many numbers in one reply; all three need information that a context which drops
            early turns no longer holds.
        answer_format: ``"boxed"`` (the default): the last ``\\boxed{n}`` of the final reply is
            the answer. ``"first_line_number"``: the same, but a reply without ``\\boxed{}``
            is scored by the last integer of its first non-empty line (small models such as
            SmolLM2-135M answer "The value of record 1 is 7." or "Record 1: value = 7",
            ignore the format instruction, and often go on copying filler lines).
        ask_for_notes: Append :data:`NOTE_REQUEST` to every record but the last, so the
            agent's replies are notes (small models otherwise repeat their first reply).
        render_mode: ``"ansi"`` or None.
    """

    def __init__(
        self,
        *,
        num_records: int = 8,
        filler_lines: int = 6,
        max_value: int = 20,
        num_train_tasks: int = 1000,
        question: LongCountQuestion = "sum",
        answer_format: Literal["boxed", "first_line_number"] = "boxed",
        ask_for_notes: bool = False,
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
        if question not in QUESTIONS:
            raise ValueError(f"question must be one of {QUESTIONS}, got {question!r}")
        if answer_format not in ("boxed", "first_line_number"):
            raise ValueError(
                f"answer_format must be 'boxed' or 'first_line_number', got {answer_format!r}"
            )
        self.num_records = num_records
        self.filler_lines = filler_lines
        self.max_value = max_value
        self.num_train_tasks = num_train_tasks
        self.question = question
        self.answer_format = answer_format
        self.ask_for_notes = ask_for_notes

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
            Message("system", system_prompt(self.question)),
            Message(
                "user",
                (NOTE_KICKOFF if self.ask_for_notes else KICKOFF).format(n=len(task["values"])),
            ),
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
                question = _QUESTION[self.question].format(n=n)
                message = Message(
                    "user",
                    f"{message.text}\n\nThat was the last record. {question} "
                    "Answer as \\boxed{<number>}.",
                )
            elif self.ask_for_notes:
                note = NOTE_REQUEST.format(index=self.turn + 1)
                message = Message("user", f"{message.text}\n\n{note}")
            return StepOutcome(messages=[message])
        answers = _BOXED.findall(action)
        if not answers and self.answer_format == "first_line_number":
            first_line = next((line for line in action.splitlines() if line.strip()), "")
            answers = _INTEGER.findall(first_line)
        success = bool(answers) and int(answers[-1]) == answer(self.task["values"], self.question)
        return StepOutcome(reward=float(success), done=True, info={"success": success})

    def episode_info(self) -> dict[str, Any]:
        return {"records_shown": min(self.turn, self.num_records)}

    def probe_actions(self) -> list[str]:
        return ["ready", "\\boxed{0}"]

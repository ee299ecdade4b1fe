"""Fixed task sets and JSONL task files: the pieces every task source of turngym shares.

Train and test never share a task: a task belongs to the test split exactly when a stable hash
of its text (:func:`hash_unit`) falls below ``test_fraction``. The same rule splits generated
streams and user JSONL files. :mod:`turngym.envs.math_tasks` re-exports :class:`TaskFileError`
and :func:`hash_unit`, where they were first defined.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from turngym.envs.base import SPLITS, Task

__all__ = [
    "FixedTaskSet",
    "TaskFileError",
    "check_generator_index",
    "check_split",
    "hash_unit",
    "hash_split",
    "iter_jsonl_rows",
    "train_test_from_jsonl",
]


class TaskFileError(ValueError):
    """A task file has a bad row; the message names the file and line."""


def hash_unit(text: str) -> float:
    """A stable pseudo-random number in [0, 1) from ``text`` (same in every process)."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "little") / 2**64


def check_split(split: str) -> None:
    """Raise a clear ``ValueError`` unless ``split`` is ``"train"`` or ``"test"``."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")


def check_generator_index(index: int, split: str, num_test_tasks: int) -> None:
    """Raise ``IndexError`` for an index outside a generator's unbounded train split or its
    ``num_test_tasks``-long test split (``split`` must already be checked)."""
    if index < 0 or (split == "test" and index >= num_test_tasks):
        size = None if split == "train" else num_test_tasks
        raise IndexError(
            f"task index {index} is out of range for the {split} split "
            f"({size or 'unbounded'} tasks)"
        )


def iter_jsonl_rows(path: Path) -> Iterator[tuple[int, str, Any]]:
    """``(line number, "file:line", parsed row)`` for every non-blank line of a JSONL file.

    Raises:
        FileNotFoundError: No such file.
        TaskFileError: A line is not valid JSON (the message names the file and line).
    """
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise TaskFileError(
                    f"{where}: invalid JSON ({exc.msg} at column {exc.colno})"
                ) from None
            yield lineno, where, row


def hash_split(
    tasks: Sequence[Task], test_fraction: float, split_of: Callable[[Task, float], str]
) -> tuple[list[Task], list[Task]]:
    """``(train, test)`` by ``split_of(task, test_fraction)``, keeping the order of ``tasks``."""
    train = [t for t in tasks if split_of(t, test_fraction) == "train"]
    test = [t for t in tasks if split_of(t, test_fraction) == "test"]
    return train, test


def train_test_from_jsonl(
    path: str | Path,
    *,
    test_path: str | Path | None,
    test_fraction: float,
    load: Callable[[str | Path], list[Task]],
    split_of: Callable[[Task, float], str],
    keep: Callable[[Task], bool] | None = None,
    filter_name: str = "filter",
) -> tuple[list[Task], list[Task]]:
    """``(train, test)`` from ``load(path)``: ``load(test_path)`` is the test split when given,
    else ``path`` is split by :func:`hash_split`; then only tasks that ``keep`` are kept.

    Raises:
        ValueError: ``test_fraction`` outside [0, 1) when it is used.
        TaskFileError: From ``load``, or no training task left (the message names ``path``
            and ``filter_name``).
    """
    tasks = load(path)
    if test_path is not None:
        train, test = tasks, load(test_path)
    else:
        if not 0.0 <= test_fraction < 1.0:
            raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction!r}")
        train, test = hash_split(tasks, test_fraction, split_of)
    if keep is not None:
        train = [t for t in train if keep(t)]
        test = [t for t in test if keep(t)]
    if not train:
        raise TaskFileError(f"{path}: no training tasks (after the test split and {filter_name})")
    return train, test


class FixedTaskSet:
    """A fixed list of tasks per split (e.g. loaded from JSONL).

    ``get_task`` returns a copy (:meth:`copy_task`), so that an env may change its task.

    Args:
        train: Training tasks.
        test: Test tasks.
    """

    def __init__(self, train: Sequence[Task], test: Sequence[Task]):
        self.splits: dict[str, list[Task]] = {"train": list(train), "test": list(test)}

    def num_tasks(self, split: str = "train") -> int | None:
        check_split(split)
        return len(self.splits[split])

    def get_task(self, index: int, split: str = "train") -> Task:
        check_split(split)
        tasks = self.splits[split]
        if not 0 <= index < len(tasks):
            raise IndexError(
                f"task index {index} is out of range for the {split} split ({len(tasks)} tasks)"
            )
        return self.copy_task(tasks[index])

    @staticmethod
    def copy_task(task: Task) -> Task:
        """The copy ``get_task`` hands out: a shallow one (tasks of nested values override)."""
        return dict(task)

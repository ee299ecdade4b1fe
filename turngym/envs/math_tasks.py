"""Math tasks with verifiable answers: a seeded generator in difficulty levels, and a JSONL loader.

Generated levels:
    0. a number up to 20 plus or minus a digit (a warm-up that very small models can answer
       without code, so that RL has a reward signal from the first step; about 300 distinct
       questions);
    1. one-step arithmetic on two-digit numbers;
    2. multi-step arithmetic, percentages, remainders, small word problems;
    3. where code helps: sums of series, counting primes, gcd/lcm of several numbers, number of
       divisors, modular exponentiation, binomial coefficients;
    4. harder: 3x3 linear systems, digit sums of large powers, Fibonacci numbers modulo m,
       Euler's totient.

Train and test never share a question: a question belongs to the test split exactly when a
hash of its text falls below ``test_fraction``, and the generator draws again until the
question lands in the split asked for. The same hash splits user JSONL files.

A task is a dict ``{"id", "question", "answer" (a string), "level"}``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from turngym.envs.base import Task, seeded_rng
from turngym.envs.task_files import (
    FixedTaskSet,
    TaskFileError,
    check_generator_index,
    check_split,
    hash_split,
    hash_unit,
    iter_jsonl_rows,
    train_test_from_jsonl,
)

__all__ = [
    "LEVELS",
    "MathTaskGenerator",
    "TaskFileError",
    "TaskSet",
    "TaskSource",
    "generate_problem",
    "hash_unit",
    "load_tasks_jsonl",
    "split_by_hash",
]

LEVELS: tuple[int, ...] = (0, 1, 2, 3, 4)
"""The difficulty levels the generator knows."""

Problem = tuple[str, str]


class TaskSource(Protocol):
    """Where an env gets tasks: by index, per split."""

    def num_tasks(self, split: str = "train") -> int | None:
        """How many tasks ``split`` holds; None for an unbounded generator."""
        ...

    def get_task(self, index: int, split: str = "train") -> Task:
        """The task at ``index`` of ``split`` (a new dict each call)."""
        ...


def _split_of(question: str, test_fraction: float) -> str:
    return "test" if hash_unit(question) < test_fraction else "train"


# ---- the generator ---------------------------------------------------------------------


def _ri(rng: np.random.Generator, low: int, high: int) -> int:
    """A uniform int in [low, high]."""
    return int(rng.integers(low, high + 1))


def _level0(rng: np.random.Generator) -> Problem:
    # Warm-up: within reach of very small models without code, so RL has a signal to start.
    a, b = _ri(rng, 1, 20), _ri(rng, 1, 9)
    if _ri(rng, 0, 1) == 0 or a <= b:
        return f"What is {a} + {b}?", str(a + b)
    return f"What is {a} - {b}?", str(a - b)


def _level1(rng: np.random.Generator) -> Problem:
    a, b = _ri(rng, 10, 99), _ri(rng, 10, 99)
    kind = _ri(rng, 0, 3)
    if kind == 0:
        return f"What is {a} + {b}?", str(a + b)
    if kind == 1:
        a, b = max(a, b), min(a, b)
        return f"What is {a} - {b}?", str(a - b)
    if kind == 2:
        return f"What is {a} * {b}?", str(a * b)
    divisor = _ri(rng, 2, 9)
    quotient = _ri(rng, -(-10 // divisor), 99 // divisor)
    return f"What is {divisor * quotient} divided by {divisor}?", str(quotient)


def _level2(rng: np.random.Generator) -> Problem:
    kind = _ri(rng, 0, 5)
    if kind == 0:
        a, b, c, d = (_ri(rng, 2, 99) for _ in range(4))
        return f"What is {a} + {b} * {c} - {d}?", str(a + b * c - d)
    if kind == 1:
        a, b, c, d = (_ri(rng, 2, 99) for _ in range(4))
        return f"What is ({a} + {b}) * {c} - {d}?", str((a + b) * c - d)
    if kind == 2:
        percent, base = 5 * _ri(rng, 1, 19), 20 * _ri(rng, 1, 50)
        return f"What is {percent}% of {base}?", str(percent * base // 100)
    if kind == 3:
        a, b = _ri(rng, 100, 9999), _ri(rng, 3, 97)
        return f"What is the remainder when {a} is divided by {b}?", str(a % b)
    if kind == 4:
        count, price = _ri(rng, 2, 12), _ri(rng, 2, 30)
        bill = next(b for b in (50, 100, 200, 500) if b >= count * price)
        return (
            f"Sam buys {count} notebooks at {price} dollars each and pays with a {bill} dollar "
            "bill. How much change, in dollars, does Sam get back?",
            str(bill - count * price),
        )
    numbers = [_ri(rng, 10, 99) for _ in range(5)]
    numbers[-1] += -sum(numbers) % 5  # make the mean an integer
    listed = ", ".join(map(str, numbers))
    return f"What is the average of {listed}?", str(sum(numbers) // 5)


def _count_primes_below(n: int) -> int:
    sieve = np.ones(n, dtype=bool)
    sieve[:2] = False
    for p in range(2, math.isqrt(n - 1) + 1):
        if sieve[p]:
            sieve[p * p :: p] = False
    return int(sieve.sum())


def _num_divisors(n: int) -> int:
    count, p = 1, 2
    while p * p <= n:
        exponent = 0
        while n % p == 0:
            n //= p
            exponent += 1
        count *= exponent + 1
        p += 1
    return count * (2 if n > 1 else 1)


def _multiples_sum(step: int, below: int) -> int:
    count = (below - 1) // step
    return step * count * (count + 1) // 2


def _level3(rng: np.random.Generator) -> Problem:
    kind = _ri(rng, 0, 7)
    if kind == 0:
        n, power = _ri(rng, 20, 500), _ri(rng, 2, 3)
        word = "squares" if power == 2 else "cubes"
        return (
            f"What is the sum of the {word} of the integers from 1 to {n}?",
            str(sum(k**power for k in range(1, n + 1))),
        )
    if kind == 1:
        a = _ri(rng, 3, 12)
        b = _ri(rng, a + 1, 13)
        if b % a == 0:  # "multiples of 4 or 12" would be a trick question
            b += 1
        n = _ri(rng, 500, 100_000)
        total = _multiples_sum(a, n) + _multiples_sum(b, n) - _multiples_sum(math.lcm(a, b), n)
        return (
            f"What is the sum of all positive integers below {n} that are multiples of {a} or {b}?",
            str(total),
        )
    if kind == 2:
        n = _ri(rng, 1000, 50_000)
        return f"How many prime numbers are there below {n}?", str(_count_primes_below(n))
    if kind == 3:
        g = _ri(rng, 2, 60)
        numbers = [g * _ri(rng, 10, 999) for _ in range(3)]
        return (
            f"What is the greatest common divisor of {numbers[0]}, {numbers[1]} and {numbers[2]}?",
            str(math.gcd(*numbers)),
        )
    if kind == 4:
        numbers = [_ri(rng, 2, 40) for _ in range(4)]
        listed = f"{numbers[0]}, {numbers[1]}, {numbers[2]} and {numbers[3]}"
        return f"What is the least common multiple of {listed}?", str(math.lcm(*numbers))
    if kind == 5:
        n = _ri(rng, 1000, 1_000_000)
        return f"How many positive divisors does {n} have?", str(_num_divisors(n))
    if kind == 6:
        a, b, m = _ri(rng, 2, 99), _ri(rng, 100, 1_000_000), _ri(rng, 7, 9999)
        return f"What is the remainder when {a}^{b} is divided by {m}?", str(pow(a, b, m))
    n = _ri(rng, 10, 40)
    k = _ri(rng, 2, n - 2)
    return (
        f"In how many ways can {k} items be chosen from {n} distinct items (order does not matter)?",
        str(math.comb(n, k)),
    )


def _linear_term(coef: int, var: str, first: bool) -> str:
    sign = "-" if coef < 0 else ("" if first else "+")
    size = "" if abs(coef) == 1 else str(abs(coef))
    return f"{sign}{size}{var}" if first else f" {sign} {size}{var}"


def _det3(m: list[list[int]]) -> int:
    return (
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    )


def _level4(rng: np.random.Generator) -> Problem:
    kind = _ri(rng, 0, 3)
    if kind == 0:
        solution = [_ri(rng, -9, 9) for _ in range(3)]
        while True:
            matrix = [[_ri(rng, -6, 6) for _ in range(3)] for _ in range(3)]
            if _det3(matrix) != 0:
                break
        lines = []
        for row in matrix:
            terms = [(c, v) for c, v in zip(row, "xyz", strict=True) if c != 0]
            lhs = "".join(_linear_term(c, v, i == 0) for i, (c, v) in enumerate(terms))
            lines.append(f"{lhs} = {sum(c * s for c, s in zip(row, solution, strict=True))}")
        target = _ri(rng, 0, 2)
        return (
            "Solve the system of equations\n" + "\n".join(lines) + f"\nWhat is {'xyz'[target]}?",
            str(solution[target]),
        )
    if kind == 1:
        base, exponent = _ri(rng, 2, 9), _ri(rng, 50, 999)
        return (
            f"What is the sum of the digits of {base}^{exponent}?",
            str(sum(int(d) for d in str(base**exponent))),
        )
    if kind == 2:
        n, m = _ri(rng, 50, 10_000), _ri(rng, 1000, 99_999)
        a, b = 0, 1
        for _ in range(n):
            a, b = b, (a + b) % m
        return (
            f"The Fibonacci numbers are F(1) = F(2) = 1 and F(n) = F(n-1) + F(n-2). "
            f"What is the remainder when F({n}) is divided by {m}?",
            str(a),
        )
    n = _ri(rng, 1000, 1_000_000)
    phi, rest, p = n, n, 2
    while p * p <= rest:
        if rest % p == 0:
            phi -= phi // p
            while rest % p == 0:
                rest //= p
        p += 1
    if rest > 1:
        phi -= phi // rest
    return f"How many integers from 1 to {n} are coprime to {n}?", str(phi)


_GENERATORS: dict[int, Callable[[np.random.Generator], Problem]] = {
    0: _level0,
    1: _level1,
    2: _level2,
    3: _level3,
    4: _level4,
}


def generate_problem(rng: np.random.Generator, level: int) -> Problem:
    """One ``(question, answer)`` pair of the given level, drawn with ``rng``.

    Raises:
        ValueError: Unknown level.
    """
    if level not in _GENERATORS:
        raise ValueError(f"unknown math level {level!r}; levels are {LEVELS}")
    return _GENERATORS[level](rng)


class MathTaskGenerator:
    """An unbounded, seeded stream of generated math tasks; see the module docstring.

    ``get_task(index, split)`` depends only on ``(seed, levels, test_fraction, split, index)``.

    Args:
        seed: Which problems: different seeds give different streams.
        levels: Levels to draw from (uniformly).
        test_fraction: Share of the question space reserved for the test split.
        num_test_tasks: Size of the (finite) test split; the train split is unbounded.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        levels: Sequence[int] = (1, 2, 3),
        test_fraction: float = 0.1,
        num_test_tasks: int = 200,
    ):
        levels = tuple(int(level) for level in levels)
        if not levels or any(level not in _GENERATORS for level in levels):
            raise ValueError(f"levels must be a non-empty list drawn from {LEVELS}, got {levels!r}")
        if not 0.0 < test_fraction < 1.0:
            raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
        if num_test_tasks < 0:
            raise ValueError(f"num_test_tasks must be >= 0, got {num_test_tasks!r}")
        self.seed = seed
        self.levels = levels
        self.test_fraction = test_fraction
        self.num_test_tasks = num_test_tasks

    def num_tasks(self, split: str = "train") -> int | None:
        check_split(split)
        return None if split == "train" else self.num_test_tasks

    def get_task(self, index: int, split: str = "train") -> Task:
        check_split(split)
        check_generator_index(index, split, self.num_test_tasks)
        rng = seeded_rng("math", self.seed, split, index)
        for _ in range(10_000):
            level = self.levels[int(rng.integers(len(self.levels)))]
            question, answer = generate_problem(rng, level)
            if _split_of(question, self.test_fraction) == split:
                return {
                    "id": f"math-{self.seed}-{split}-{index}",
                    "question": question,
                    "answer": answer,
                    "level": level,
                }
        raise RuntimeError(f"could not draw a {split} question in 10000 tries")  # pragma: no cover


# ---- task files ------------------------------------------------------------------------


def _task_from_row(row: Any, where: str, default_id: str) -> Task:
    if not isinstance(row, dict):
        raise TaskFileError(f"{where}: expected a JSON object, got {type(row).__name__}")
    question = row.get("question")
    if not isinstance(question, str) or not question.strip():
        raise TaskFileError(f'{where}: "question" must be a non-empty string')
    answer = row.get("answer")
    if (
        isinstance(answer, bool)
        or not isinstance(answer, (str, int, float))
        or not str(answer).strip()
    ):
        raise TaskFileError(f'{where}: "answer" must be a non-empty string or a number')
    task = dict(row)
    task["answer"] = str(answer).strip()
    task_id = row.get("id", default_id)
    if not isinstance(task_id, (str, int)) or isinstance(task_id, bool):
        raise TaskFileError(f'{where}: "id" must be a string or an integer')
    task["id"] = str(task_id)
    if "level" in row and (not isinstance(row["level"], int) or isinstance(row["level"], bool)):
        raise TaskFileError(f'{where}: "level" must be an integer')
    return task


def load_tasks_jsonl(path: str | Path) -> list[Task]:
    """Tasks from a JSONL file: one ``{"question", "answer"}`` object per line.

    Optional keys: ``"id"`` (default ``"<file stem>-<line>"``), ``"level"`` (an int); other
    keys are kept. Blank lines are skipped. Answers that are numbers become strings.

    Raises:
        FileNotFoundError: No such file.
        TaskFileError: A bad row, a duplicate id or an empty file (the message names the file
            and line).
    """
    path = Path(path)
    tasks: list[Task] = []
    lines_of: dict[str, int] = {}
    for lineno, where, row in iter_jsonl_rows(path):
        task = _task_from_row(row, where, default_id=f"{path.stem}-{lineno}")
        if task["id"] in lines_of:
            raise TaskFileError(
                f"{where}: duplicate id {task['id']!r} (first on line {lines_of[task['id']]})"
            )
        lines_of[task["id"]] = lineno
        tasks.append(task)
    if not tasks:
        raise TaskFileError(f"{path}: no tasks found")
    return tasks


def split_by_hash(tasks: Sequence[Task], test_fraction: float) -> tuple[list[Task], list[Task]]:
    """``(train, test)``: a task goes to test when the hash of its question is below the fraction.

    Deterministic and order-preserving; equal questions always land in the same split.
    """
    return hash_split(tasks, test_fraction, _question_split)


def _question_split(task: Task, test_fraction: float) -> str:
    return _split_of(task["question"], test_fraction)


class TaskSet(FixedTaskSet):
    """A fixed list of tasks per split (e.g. loaded from JSONL).

    Args:
        train: Training tasks.
        test: Test tasks.
    """

    @classmethod
    def from_jsonl(
        cls,
        path: str | Path,
        *,
        test_path: str | Path | None = None,
        test_fraction: float = 0.1,
        levels: Sequence[int] | None = None,
    ) -> TaskSet:
        """Load tasks; split ``path`` by hash unless ``test_path`` gives the test tasks.

        Args:
            path: JSONL of training tasks (or of all tasks, when ``test_path`` is None).
            test_path: JSONL of test tasks.
            test_fraction: Share of ``path`` to hold out when there is no ``test_path``.
            levels: Keep only tasks with these ``"level"`` values (None keeps all).

        Raises:
            TaskFileError: A bad file, or no training task left.
        """
        kept = None if levels is None else set(levels)
        train, test = train_test_from_jsonl(
            path,
            test_path=test_path,
            test_fraction=test_fraction,
            load=load_tasks_jsonl,
            split_of=_question_split,
            keep=None if kept is None else (lambda t: t.get("level") in kept),
            filter_name="level filter",
        )
        return cls(train, test)

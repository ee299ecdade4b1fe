"""The math task generator and the JSONL loader."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from turngym.envs.base import seeded_rng
from turngym.envs.math_tasks import (
    LEVELS,
    MathTaskGenerator,
    TaskFileError,
    TaskSet,
    generate_problem,
    load_tasks_jsonl,
    split_by_hash,
)


def test_get_task_is_deterministic_per_seed_split_index() -> None:
    a = MathTaskGenerator(seed=7, levels=LEVELS)
    b = MathTaskGenerator(seed=7, levels=LEVELS)
    for split in ("train", "test"):
        for index in range(50):
            assert a.get_task(index, split) == b.get_task(index, split)
    assert a.get_task(3) is not a.get_task(3)


def test_seeds_and_indices_differ() -> None:
    a, b = MathTaskGenerator(seed=0), MathTaskGenerator(seed=1)
    questions_a = [a.get_task(i)["question"] for i in range(50)]
    questions_b = [b.get_task(i)["question"] for i in range(50)]
    assert questions_a != questions_b
    assert len(set(questions_a)) > 40


def test_train_and_test_are_disjoint() -> None:
    gen = MathTaskGenerator(seed=0, levels=LEVELS, num_test_tasks=500)
    train = {gen.get_task(i, "train")["question"] for i in range(3000)}
    test = {gen.get_task(i, "test")["question"] for i in range(500)}
    assert len(train) > 2500 and len(test) > 400
    assert not train & test


def test_task_shape_and_levels() -> None:
    gen = MathTaskGenerator(seed=0, levels=(1, 2, 3, 4))
    seen = set()
    for i in range(200):
        task = gen.get_task(i)
        assert set(task) == {"id", "question", "answer", "level"}
        assert isinstance(task["answer"], str) and task["answer"]
        assert task["id"] == f"math-0-train-{i}"
        seen.add(task["level"])
    assert seen == {1, 2, 3, 4}
    only_one = MathTaskGenerator(levels=[1])
    assert {only_one.get_task(i)["level"] for i in range(20)} == {1}


@pytest.mark.parametrize("level", LEVELS)
def test_generated_answers_agree_with_an_independent_computation(level: int) -> None:
    checked = 0
    for index in range(60):
        question, answer = generate_problem(seeded_rng("check", level, index), level)
        expected = _independent_answer(question)
        if expected is not None:
            assert int(answer) == expected, question
            checked += 1
    assert checked >= 30, f"only {checked} of 60 level-{level} questions could be checked"


def _independent_answer(question: str) -> int | None:
    """The answer recomputed with sympy from the question text, for the kinds it can parse."""
    import math

    import sympy
    from sympy.parsing.sympy_parser import (
        implicit_multiplication,
        parse_expr,
        standard_transformations,
    )

    words = question.replace("?", "").split()
    if re.fullmatch(r"What is [\d()+\-* ]+\?", question):
        return int(sympy.sympify(question[8:-1]))
    if match := re.fullmatch(r"What is (\d+) divided by (\d+)\?", question):
        return int(sympy.Rational(int(match[1]), int(match[2])))
    if match := re.fullmatch(r"What is (\d+)% of (\d+)\?", question):
        return int(sympy.Rational(int(match[1]) * int(match[2]), 100))
    if match := re.fullmatch(
        r"What is the remainder when (\d+)(?:\^(\d+))? is divided by (\d+)\?", question
    ):
        return pow(int(match[1]), int(match[2] or 1), int(match[3]))
    if match := re.fullmatch(
        r"What is the sum of the (squares|cubes) of the integers from 1 to (\d+)\?", question
    ):
        k, n = sympy.symbols("k n")
        power = 2 if match[1] == "squares" else 3
        return int(sympy.summation(k**power, (k, 1, int(match[2]))))
    if match := re.fullmatch(
        r"What is the sum of all positive integers below (\d+) that are multiples of (\d+) or (\d+)\?",
        question,
    ):
        n, a, b = int(match[1]), int(match[2]), int(match[3])
        return sum(k for k in range(1, n) if k % a == 0 or k % b == 0)
    if question.startswith(
        ("What is the greatest common divisor of ", "What is the least common multiple of ")
    ):
        numbers = [int(n) for n in re.findall(r"\d+", question)]
        return int(sympy.gcd(numbers) if "greatest" in question else sympy.lcm(numbers))
    if question.startswith("How many prime numbers are there below "):
        return int(sympy.primepi(int(words[-1]) - 1))
    if question.startswith("How many positive divisors does "):
        return int(sympy.divisor_count(int(words[5])))
    if question.startswith("In how many ways"):
        return math.comb(int(words[10]), int(words[5]))
    if question.startswith("What is the sum of the digits of "):
        base, exponent = words[-1].split("^")
        return sum(map(int, str(sympy.Integer(base) ** int(exponent))))
    if "coprime" in question:
        return int(sympy.totient(int(words[6])))
    if question.startswith("Solve the system"):
        transformations = (*standard_transformations, implicit_multiplication)
        lines = question.splitlines()
        equations = [
            sympy.Eq(
                *(parse_expr(side, transformations=transformations) for side in row.split("="))
            )
            for row in lines[1:4]
        ]
        solution = sympy.solve(equations, sympy.symbols("x y z"))
        return int(solution[sympy.Symbol(lines[-1].split()[2].rstrip("?"))])
    if "Fibonacci" in question:
        n, m = int(re.search(r"F\((\d+)\) is", question)[1]), int(words[-1])
        return int(sympy.fibonacci(n) % m)
    return None


def test_test_split_is_finite() -> None:
    gen = MathTaskGenerator(num_test_tasks=5)
    assert gen.num_tasks("test") == 5 and gen.num_tasks("train") is None
    with pytest.raises(IndexError):
        gen.get_task(5, "test")
    with pytest.raises(ValueError, match="split must be one of"):
        gen.get_task(0, "dev")


def test_generator_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="levels"):
        MathTaskGenerator(levels=[9])
    with pytest.raises(ValueError, match="test_fraction"):
        MathTaskGenerator(test_fraction=1.0)


# ---- JSONL -----------------------------------------------------------------------------


def _write(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_load_tasks_jsonl(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "tasks.jsonl",
        [
            {"question": "1+1?", "answer": 2},
            "",
            {"question": "2+2?", "answer": "4", "id": "four", "level": 1, "source": "me"},
        ],
    )
    tasks = load_tasks_jsonl(path)
    assert tasks == [
        {"question": "1+1?", "answer": "2", "id": "tasks-1"},
        {"question": "2+2?", "answer": "4", "id": "four", "level": 1, "source": "me"},
    ]


@pytest.mark.parametrize(
    "bad_line, fragment",
    [
        ('{"question": "q", "answer": ', "invalid JSON"),
        ('["q", "a"]', "expected a JSON object"),
        ('{"answer": "1"}', '"question" must be a non-empty string'),
        ('{"question": "q"}', '"answer" must be a non-empty string or a number'),
        ('{"question": "q", "answer": true}', '"answer"'),
        ('{"question": "q", "answer": "1", "level": "hard"}', '"level" must be an integer'),
        ('{"question": "q", "answer": "1", "id": "a"}', "duplicate id 'a' (first on line 1)"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path: Path, bad_line: str, fragment: str) -> None:
    path = _write(tmp_path / "t.jsonl", ['{"question": "ok", "answer": "1", "id": "a"}', bad_line])
    with pytest.raises(TaskFileError) as info:
        load_tasks_jsonl(path)
    assert f"{path}:2: " in str(info.value)
    assert fragment in str(info.value)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n")
    with pytest.raises(TaskFileError, match="no tasks"):
        load_tasks_jsonl(path)


def test_split_by_hash_is_deterministic_and_disjoint(tmp_path: Path) -> None:
    tasks = [{"id": str(i), "question": f"q{i}", "answer": "1"} for i in range(1000)]
    train, test = split_by_hash(tasks, 0.2)
    assert split_by_hash(tasks, 0.2) == (train, test)
    assert len(train) + len(test) == 1000
    assert 120 < len(test) < 280
    assert not {t["id"] for t in train} & {t["id"] for t in test}


def test_task_set_from_files(tmp_path: Path) -> None:
    rows = [{"question": f"q{i}", "answer": str(i), "level": i % 2} for i in range(100)]
    path = _write(tmp_path / "all.jsonl", rows)
    split = TaskSet.from_jsonl(path, test_fraction=0.3)
    assert split.num_tasks("train") + split.num_tasks("test") == 100
    assert split.num_tasks("test") > 0
    test_path = _write(tmp_path / "test.jsonl", [{"question": "t", "answer": "0"}])
    separate = TaskSet.from_jsonl(path, test_path=test_path)
    assert separate.num_tasks("train") == 100 and separate.num_tasks("test") == 1
    assert separate.get_task(0, "test")["question"] == "t"
    filtered = TaskSet.from_jsonl(path, test_path=test_path, levels=[1])
    assert filtered.num_tasks("train") == 50
    with pytest.raises(IndexError):
        separate.get_task(100)

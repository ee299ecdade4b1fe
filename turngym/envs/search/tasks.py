"""Question sets for the search env: the user's JSONL QA files.

A QA file holds one JSON object per line: ``{"question": str, "answers": [str, ...]}``, with
optional ``"id"``, ``"gold_ids"`` (ids of the passages that hold the evidence, used for the
``gold_retrieved`` info) and ``"hops"``. A bad line raises :class:`QAFileError` naming the file
and the line number.
"""

from __future__ import annotations

import json
from pathlib import Path

from turngym.envs.base import Task

__all__ = ["QAFileError", "load_qa_jsonl"]


class QAFileError(ValueError):
    """A QA file has a bad line; the message names the file and the line number."""


def load_qa_jsonl(path: str | Path) -> list[Task]:
    """Read a QA set (see the module docstring); ``answers`` may also be a single string.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        QAFileError: A line is not valid JSON, lacks ``question`` or ``answers``, has fields of
            the wrong type, or the file holds no question.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"QA file {path} does not exist")
    tasks: list[Task] = []
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if line.strip():
                tasks.append(_parse_row(line, f"{path}:{line_no}", line_no))
    if not tasks:
        raise QAFileError(f"{path}: the QA file holds no questions")
    return tasks


def _parse_row(line: str, where: str, line_no: int) -> Task:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise QAFileError(f"{where}: not valid JSON ({exc.msg})") from None
    if not isinstance(row, dict):
        raise QAFileError(
            f'{where}: expected a JSON object {{"question", "answers"}}, got {type(row).__name__}'
        )
    missing = [key for key in ("question", "answers") if key not in row]
    if missing:
        raise QAFileError(
            f'{where}: missing field(s) {missing}; each line needs "question" and "answers"'
        )
    question, answers = row["question"], row["answers"]
    if not isinstance(question, str) or not question.strip():
        raise QAFileError(f'{where}: "question" must be a non-empty string')
    if isinstance(answers, str):
        answers = [answers]
    if (
        not isinstance(answers, list)
        or not answers
        or not all(isinstance(a, str) and a.strip() for a in answers)
    ):
        raise QAFileError(f'{where}: "answers" must be a non-empty list of non-empty strings')
    task: Task = {
        "id": str(row.get("id", f"qa-{line_no}")),
        "question": question.strip(),
        "answers": [a.strip() for a in answers],
    }
    if "gold_ids" in row:
        gold = row["gold_ids"]
        if not isinstance(gold, list) or not all(isinstance(g, (str, int)) for g in gold):
            raise QAFileError(f'{where}: "gold_ids" must be a list of passage ids')
        task["gold_ids"] = [str(g) for g in gold]
    if "hops" in row:
        if not isinstance(row["hops"], int) or isinstance(row["hops"], bool) or row["hops"] < 1:
            raise QAFileError(f'{where}: "hops" must be a positive integer')
        task["hops"] = row["hops"]
    return task

"""Simulated patients: a rule-based one and one driven by any chat model.

RESEARCH SIMULATION ONLY, NOT MEDICAL ADVICE.

Both patients share one question parser, :func:`match_findings`, which maps the doctor's free
text to the findings it asks about through the vocabulary's synonyms. The rule-based patient
answers exactly those findings in lay words; the LLM patient lets a chat model answer, with
the case record in its system instructions. In both, the findings the question asked about
count as *revealed* (with the case's true value) for the rewards, so the rewards do not depend
on how the LLM phrased its answer.

What the parser does NOT do: understand negation, hypotheticals, anatomy beyond the listed
phrases, or follow-up references ("and the other one?"). A question it cannot map gets "I
don't understand" from the rule-based patient.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from turngym.envs.clinical.cases import PatientCase
from turngym.envs.clinical.table import ConditionTable

__all__ = [
    "LLMPatient",
    "PatientReply",
    "Responder",
    "RuleBasedPatient",
    "match_findings",
    "normalize",
]

Responder = Callable[[list[dict[str, str]]], str]
"""A chat model: OpenAI-style messages (``{"role", "content"}`` dicts) in, reply text out."""

_CLAUSE_SPLIT = re.compile(r"[?.!;,:\n]+|\b(?:or|and|also|plus|then)\b")
_NON_WORD = re.compile(r"[^a-z0-9]+")
_DEMOGRAPHIC_TRIGGERS = {
    "age": ({"how", "old"}, {"age"}, {"your", "years"}),
    "sex": ({"sex"}, {"gender"}, {"male"}, {"female"}),
    "onset": (
        {"how", "long"},
        {"when", "start"},
        {"when", "started"},
        {"when", "begin"},
        {"when", "began"},
        {"duration"},
        {"onset"},
        {"since", "when"},
    ),
    "complaint": (
        {"brings"},
        {"brought"},
        {"main", "problem"},
        {"chief", "complaint"},
        {"what", "wrong"},
    ),
}
_ONSET_TEXT = {
    "hours": "It started suddenly, a few hours ago.",
    "days": "It started a few days ago.",
    "weeks": "It's been going on for weeks, maybe longer.",
}
_NOT_UNDERSTOOD = (
    "Sorry, I don't understand what you're asking. Could you ask me about a specific symptom?"
)


def normalize(text: str) -> list[list[str]]:
    """Lower-case the text and split it into clauses of words (punctuation and "or", "and",
    ... separate clauses, so "fever or cough?" asks two things)."""
    text = text.lower().replace("'", "").replace("\u2019", "")
    clauses = []
    for clause in _CLAUSE_SPLIT.split(text):
        words = [w for w in _NON_WORD.split(clause) if w]
        if words:
            clauses.append(words)
    return clauses


def _stem_in(stem: str, words: Sequence[str]) -> bool:
    # short stems match whole words only ("ear" must not match "early"); longer ones prefixes
    for w in words:
        if w == stem or w in (stem + "s", stem + "es"):
            return True
        if len(stem) >= 4 and w.startswith(stem):
            return True
    return False


def match_findings(text: str, table: ConditionTable) -> list[str]:
    """Finding ids the doctor's text asks about, in order of first mention.

    A synonym (a tuple of stems) matches when all its stems occur in one clause. When every
    synonym a finding matched is a strict subset of a synonym another finding matched, the
    more specific finding wins (e.g. "ct head" asks for brain imaging, not about headache).
    """
    clauses = normalize(text)
    matched: dict[str, list[frozenset[str]]] = {}
    first_clause: dict[str, int] = {}
    for ci, words in enumerate(clauses):
        for finding in table.findings:
            for synonym in finding.synonyms:
                if all(_stem_in(stem, words) for stem in synonym):
                    matched.setdefault(finding.id, []).append(frozenset(synonym))
                    first_clause.setdefault(finding.id, ci)
    all_triggers = [(fid, t) for fid, ts in matched.items() for t in ts]
    kept = []
    for fid, triggers in matched.items():
        dominated = all(
            any(other != fid and t < t_other for other, t_other in all_triggers) for t in triggers
        )
        if not dominated:
            kept.append(fid)
    order = {f.id: i for i, f in enumerate(table.findings)}
    return sorted(kept, key=lambda fid: (first_clause[fid], order[fid]))


def _asks_demographics(text: str) -> list[str]:
    asked = []
    for clause in normalize(text):
        words = set(clause)
        for topic, triggers in _DEMOGRAPHIC_TRIGGERS.items():
            if topic not in asked and any(t <= words for t in triggers):
                asked.append(topic)
    return asked


@dataclass(frozen=True)
class PatientReply:
    """The patient's answer to one doctor turn."""

    text: str
    """What the patient says."""
    revealed: dict[str, bool] = field(default_factory=dict)
    """Finding id -> present, for every finding the question asked about."""
    understood: bool = True
    """Whether the question mapped to any finding or demographic topic."""
    error: str | None = None
    """Why the patient simulator failed this turn (LLM patient only), else None."""


def _chief_complaint_text(case: PatientCase, table: ConditionTable) -> str:
    text = table.finding(case.chief_complaint).lay_present.removeprefix("Yes, ")
    return text[:1].upper() + text[1:]


class RuleBasedPatient:
    """Answers from the case record: what is asked, in lay words, nothing volunteered.

    Present findings get their lay "present" phrasing, absent ones their "absent" phrasing
    (a "no"), several findings in one question get one answer each, and a question that maps
    to nothing gets "I don't understand". Deterministic.

    Args:
        table: The condition table whose vocabulary parses the questions.
    """

    def __init__(self, table: ConditionTable):
        self.table = table
        self.case: PatientCase | None = None

    def reset(self, case: PatientCase) -> None:
        """Start a consultation with a new case."""
        self.case = case

    def opening(self) -> str:
        """What the patient says first (the chief complaint, in lay words)."""
        return _chief_complaint_text(self._case(), self.table)

    def answer(self, question: str) -> PatientReply:
        """Answer one doctor turn."""
        case = self._case()
        asked = match_findings(question, self.table)
        present = set(case.present)
        revealed = {fid: fid in present for fid in asked}
        parts = []
        for topic in _asks_demographics(question):
            if topic == "age":
                parts.append(f"I'm {case.age}.")
            elif topic == "sex":
                parts.append(f"I'm {case.sex}.")
            elif topic == "onset":
                parts.append(_ONSET_TEXT[self.table.condition(case.condition).onset])
            else:
                parts.append(f"I came in because: {self.opening()}")
        for fid in asked:
            finding = self.table.finding(fid)
            parts.append(finding.lay_present if revealed[fid] else finding.lay_absent)
        if not parts:
            return PatientReply(_NOT_UNDERSTOOD, {}, understood=False)
        return PatientReply(" ".join(parts), revealed)

    def _case(self) -> PatientCase:
        if self.case is None:
            raise RuntimeError("the patient has no case; call reset(case) first")
        return self.case


class LLMPatient:
    """A patient played by a chat model through a ``responder`` callable.

    The system instructions hold the case record: demographics, the chief complaint, every
    present finding in lay words, and the exam and test results to report when the doctor
    examines or tests; everything else is absent. The diagnosis itself is left out, so the
    model cannot leak it. Which findings a question *revealed* (for the rewards) comes from
    :func:`match_findings`, not from the model's text.

    A responder that raises is reported as data (the reply says the patient could not answer
    and ``error`` holds the exception), never as an exception of the env.

    Args:
        table: The condition table.
        responder: ``(messages) -> str``, e.g. an OpenAI-compatible chat client.
        extra_instructions: Appended to the system instructions.
    """

    def __init__(self, table: ConditionTable, responder: Responder, extra_instructions: str = ""):
        if not callable(responder):
            raise TypeError(
                f"responder must be a callable (messages: list[dict]) -> str, got "
                f"{type(responder).__name__}"
            )
        self.table = table
        self.responder = responder
        self.extra_instructions = extra_instructions
        self.case: PatientCase | None = None
        self.history: list[dict[str, str]] = []

    def reset(self, case: PatientCase) -> None:
        """Start a consultation with a new case (clears the chat history)."""
        self.case = case
        self.history = [{"role": "system", "content": self.system_instructions(case)}]

    def opening(self) -> str:
        """What the patient says first (the chief complaint, fixed so episodes start alike)."""
        if self.case is None:
            raise RuntimeError("the patient has no case; call reset(case) first")
        return _chief_complaint_text(self.case, self.table)

    def system_instructions(self, case: PatientCase) -> str:
        """The system prompt with the case record."""
        present = [self.table.finding(fid) for fid in case.present]
        told = [
            f"- {f.lay_present.removeprefix('Yes, ')}"
            for f in present
            if f.kind not in ("exam", "test")
        ]
        results = [f"- {f.lay_present}" for f in present if f.kind in ("exam", "test")]
        negatives = [
            f.lay_absent
            for f in self.table.findings
            if f.kind in ("exam", "test") and f.id not in case.present
        ]
        lines = [
            "You are role-playing a patient in a RESEARCH SIMULATION of a medical interview. "
            "This is not real medical care.",
            f"You are a {case.age}-year-old {case.sex}. You came in because: {self.opening()}",
            f"When asked how long: {_ONSET_TEXT[self.table.condition(case.condition).onset]}",
            "Your case record (what is true about you):",
            *(told or ["- (nothing else)"]),
            "If the doctor examines you or orders a test, report these results:",
            *(results or ["- (all normal)"]),
            "Any other examination or test is normal, for example: " + " ".join(negatives[:6]),
            "Rules: answer only what the doctor asks, in plain everyday words, in one to three "
            "sentences. Do not volunteer findings you were not asked about. If asked about a "
            "symptom or history item not in your record, say you do not have it. If you do not "
            "understand the question, say so. You do not know your diagnosis; never guess it.",
        ]
        if self.extra_instructions:
            lines.append(self.extra_instructions)
        return "\n".join(lines)

    def answer(self, question: str) -> PatientReply:
        """Ask the responder for the patient's reply to one doctor turn."""
        if self.case is None:
            raise RuntimeError("the patient has no case; call reset(case) first")
        asked = match_findings(question, self.table)
        present = set(self.case.present)
        revealed = {fid: fid in present for fid in asked}
        self.history.append({"role": "user", "content": question})
        try:
            text = self.responder([dict(m) for m in self.history])
        except Exception as exc:  # noqa: BLE001 - a failing model is data, not a crash
            self.history.pop()
            error = f"{type(exc).__name__}: {exc}"
            return PatientReply(
                "(The simulated patient could not answer this turn.)",
                {},
                understood=False,
                error=error,
            )
        if not isinstance(text, str):
            raise TypeError(f"responder must return str, got {type(text).__name__}")
        self.history.append({"role": "assistant", "content": text})
        return PatientReply(text, revealed, understood=bool(asked))

"""``turngym/ClinicalDialogue-v0``: a doctor agent interviews a simulated patient.

RESEARCH SIMULATION ONLY, NOT MEDICAL ADVICE. The conditions, probabilities and patients are a
hand-written toy model for studying multi-turn information seeking; nothing here may be used
to diagnose or treat anyone.

Protocol:

* **Observation at reset:** a system prompt (rules, disclaimer) and a user message with the
  patient's age, sex and chief complaint (one present symptom, in lay words). Nothing else
  about the case is shown.
* **Action:** either a question in free text (one or several things per turn: "Any fever or
  cough? Let me listen to your chest."), or a final ``<diagnosis>...</diagnosis>``, which may
  hold a ranked differential (one item per line, numbered or not). A diagnosis ends the
  episode (terminated); a question in the same message is ignored.
* **Reply:** a ``user`` message with the patient's answer (rule-based by default: only what
  was asked, "no" for absent findings, "I don't understand" for unparseable questions;
  exam and test requests are answered as "Exam: ..." / "Test: ..." results).
* **Turn cap:** at most ``max_questions`` questions; after the last one the patient's reply
  says to diagnose now, and a further non-diagnosis turn truncates the episode
  (``stop_reason="turn_limit"``, no diagnosis credit). The env enforces the cap itself, so the
  consultation summary is always in the last ``info``.

Reward: ``sum(weights[k] * info["reward_terms"][k])`` per step, with the terms

* ``diagnosis`` (final turn): 1.0 when the true condition is ranked first,
  ``differential_decay ** (rank - 1)`` when lower in the first ``max_differential`` items
  (names, ids and aliases accepted; see :mod:`~turngym.envs.clinical.scoring`), else 0;
* ``info_gain`` (question turns): the realised drop in entropy (bits) of the naive-Bayes
  posterior over conditions caused by the findings the question revealed;
* ``shapley`` (final turn, only with a diagnosis): ``v(all) - v(empty)``, the sum of the
  ProMed-style Shapley values of the questions, where ``v(S)`` is the posterior probability
  of the true condition given the chief complaint and the findings revealed by questions
  ``S``; the per-question values are in ``info["consultation"]["shapley_values"]`` for
  per-turn credit assignment;
* ``turn_cost`` (question turns): -1 per question.

Every step's ``info`` holds ``reward_terms`` (this step's values), ``reward_weights`` and
``reward_totals`` (episode sums so far, what the rubric functions of
:mod:`~turngym.envs.clinical.rewards` read from the last ``info``). The last step adds
``consultation``: the questions' findings asked, revealed present / absent, missed key
findings, information gain and Shapley value per question, the posterior of the true
condition and the parsed diagnosis; and ``correct`` / ``success`` (top-1 correct).

What it does NOT cover: real clinical reasoning (findings are independent given the
condition, tests are free and instant), demographics in the posterior, treatment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from turngym.core.messages import Message
from turngym.core.trajectory import StopReason
from turngym.envs.base import StepOutcome, Task, TextEnv, seeded_rng
from turngym.envs.clinical.bayes import NaiveBayesModel, shapley_values
from turngym.envs.clinical.cases import CaseGenerator, PatientCase
from turngym.envs.clinical.patient import LLMPatient, PatientReply, Responder, RuleBasedPatient
from turngym.envs.clinical.scoring import parse_diagnosis, score_diagnosis
from turngym.envs.clinical.table import ConditionTable, default_table

__all__ = ["DEFAULT_REWARD_WEIGHTS", "REWARD_TERMS", "ClinicalDialogueEnv"]

REWARD_TERMS = ("diagnosis", "info_gain", "shapley", "turn_cost")
DEFAULT_REWARD_WEIGHTS: Mapping[str, float] = {
    "diagnosis": 1.0,
    "info_gain": 0.05,
    "shapley": 0.5,
    "turn_cost": 0.01,
}

_DISCLAIMER = (
    "This is a research simulation with a simulated patient, not medical advice or real care."
)


class ClinicalDialogueEnv(TextEnv):
    """A doctor agent interviews a simulated patient, then gives a ``<diagnosis>``.

    RESEARCH SIMULATION ONLY, NOT MEDICAL ADVICE. See the module docstring for the protocol
    and the reward terms.

    Args:
        patient: ``"rule"`` (deterministic rule-based patient) or ``"llm"`` (a chat model
            through ``responder``).
        responder: ``(messages: list[dict[str, str]]) -> str``; for ``patient="llm"``.
        patient_llm: Instead of ``responder`` (e.g. from a YAML config): keyword arguments of
            :class:`turngym.tools.openai_chat.OpenAIChatClient`, at least ``base_url`` and
            ``model`` of an OpenAI-compatible server that plays the patient.
        seed: Seed of the case generator (which patients), not of the episode RNG.
        num_cases: Cases over both splits.
        test_fraction: Share of cases in the test split.
        max_questions: Questions allowed before the doctor must diagnose.
        reward_weights: Weights of the terms in :data:`REWARD_TERMS` (missing ones keep their
            defaults; 0 logs a term without rewarding it).
        leak: ``P(finding | condition)`` for findings a condition does not list.
        differential_decay: Credit factor per rank below the first in a differential.
        max_differential: Differential items considered.
        shapley_exact_max: Up to this many informative questions the Shapley values are exact;
            above, Monte Carlo over ``shapley_permutations`` permutations.
        shapley_permutations: Permutations of the Monte Carlo estimate.
        table: A custom condition table (default: the built-in one).
        system_prompt: Replaces the default system prompt.
        render_mode: ``"ansi"`` or None.
    """

    def __init__(
        self,
        *,
        patient: str = "rule",
        responder: Responder | None = None,
        patient_llm: Mapping[str, Any] | None = None,
        seed: int = 0,
        num_cases: int = 600,
        test_fraction: float = 0.2,
        max_questions: int = 12,
        reward_weights: Mapping[str, float] | None = None,
        leak: float = 0.01,
        differential_decay: float = 0.5,
        max_differential: int = 5,
        shapley_exact_max: int = 8,
        shapley_permutations: int = 200,
        table: ConditionTable | None = None,
        system_prompt: str | None = None,
        render_mode: str | None = None,
    ):
        super().__init__(render_mode=render_mode)
        if max_questions < 1:
            raise ValueError(f"max_questions must be >= 1, got {max_questions!r}")
        if not 0.0 <= differential_decay <= 1.0:
            raise ValueError(f"differential_decay must be in [0, 1], got {differential_decay!r}")
        if max_differential < 1:
            raise ValueError(f"max_differential must be >= 1, got {max_differential!r}")
        if shapley_exact_max < 0 or shapley_permutations < 1:
            raise ValueError("shapley_exact_max must be >= 0 and shapley_permutations >= 1")
        weights = dict(DEFAULT_REWARD_WEIGHTS)
        unknown = set(reward_weights or {}) - set(REWARD_TERMS)
        if unknown:
            raise ValueError(
                f"reward_weights has unknown terms {sorted(unknown)}; use {list(REWARD_TERMS)}"
            )
        weights.update({k: float(v) for k, v in (reward_weights or {}).items()})
        self.reward_weights = weights
        self.table = table if table is not None else default_table()
        self.model = NaiveBayesModel(self.table, leak=leak)
        self.cases = CaseGenerator(
            self.model, seed=seed, num_cases=num_cases, test_fraction=test_fraction
        )
        self.patient: RuleBasedPatient | LLMPatient
        if patient == "rule":
            self.patient = RuleBasedPatient(self.table)
        elif patient == "llm":
            if responder is None and patient_llm is not None:
                from turngym.tools.openai_chat import OpenAIChatClient

                try:
                    responder = OpenAIChatClient(**dict(patient_llm))
                except TypeError as exc:
                    raise ValueError(
                        f"patient_llm={dict(patient_llm)!r} does not fit OpenAIChatClient: {exc}"
                    ) from exc
            if responder is None:
                raise ValueError(
                    "patient='llm' needs responder=, a callable (messages: list[dict]) -> str, "
                    "e.g. the client of turngym.tools.openai_chat"
                )
            self.patient = LLMPatient(self.table, responder)
        else:
            raise ValueError(f"patient must be 'rule' or 'llm', got {patient!r}")
        self.max_questions = int(max_questions)
        self.differential_decay = float(differential_decay)
        self.max_differential = int(max_differential)
        self.shapley_exact_max = int(shapley_exact_max)
        self.shapley_permutations = int(shapley_permutations)
        self.system_prompt = system_prompt if system_prompt is not None else self._default_prompt()
        self.case: PatientCase | None = None
        self._reset_episode_state()

    # ---- tasks --------------------------------------------------------------------------

    def num_tasks(self, split: str = "train") -> int | None:
        return self.cases.num_cases(split)

    def get_task(self, index: int, split: str = "train") -> Task:
        return self.cases.case(index, split).to_task()

    def on_reset(self, task: Task) -> None:
        self.case = PatientCase.from_task(task, self.table)
        self.patient.reset(self.case)
        self._reset_episode_state()
        self._known = {self.case.chief_complaint: True}

    def initial_messages(self, task: Task) -> list[Message]:
        assert self.case is not None
        pronoun = "She" if self.case.sex == "female" else "He"
        person = "woman" if self.case.sex == "female" else "man"
        opening = (
            f"A {self.case.age}-year-old {person} comes in. {pronoun} says: "
            f'"{self.patient.opening()}"'
        )
        return [Message("system", self.system_prompt), Message("user", opening)]

    # ---- one turn -----------------------------------------------------------------------

    def on_action(self, action: str) -> StepOutcome:
        assert self.case is not None
        items = parse_diagnosis(action)
        if items is not None:
            return self._diagnose(items)
        if len(self._questions) >= self.max_questions:
            self._truncate = True
            # Shapley values go in the summary, but without a diagnosis they earn no reward
            return StepOutcome(info=self._final_info(self._shapley()))
        reply = self.patient.answer(action)
        return self._question(action, reply)

    def _question(self, action: str, reply: PatientReply) -> StepOutcome:
        if reply.error is not None:
            self._patient_errors += 1
        if not reply.understood:
            self._not_understood += 1
        new = {f: v for f, v in reply.revealed.items() if f not in self._known}
        gain = self.model.information_gain(self._known, new) if new else 0.0
        self._known.update(new)
        self._questions.append(action)
        self._asked.append(list(reply.revealed))
        self._question_reveals.append(new)
        self._question_gains.append(gain)
        terms = {"diagnosis": 0.0, "info_gain": gain, "shapley": 0.0, "turn_cost": -1.0}
        text = reply.text
        if len(self._questions) == self.max_questions:
            text += (
                f"\n\n(You have asked {self.max_questions} questions, the maximum. Give your "
                "diagnosis now as <diagnosis>...</diagnosis>.)"
            )
        return StepOutcome(
            messages=[Message("user", text)],
            reward=self._add_terms(terms),
            info={"reward_terms": terms, "revealed": dict(reply.revealed)},
        )

    def _diagnose(self, items: list[str]) -> StepOutcome:
        assert self.case is not None
        scored = score_diagnosis(
            items,
            self.case.condition,
            self.table,
            decay=self.differential_decay,
            max_differential=self.max_differential,
        )
        values = self._shapley()
        terms = {
            "diagnosis": scored.score,
            "info_gain": 0.0,
            "shapley": float(sum(values)),
            "turn_cost": 0.0,
        }
        reward = self._add_terms(terms)
        info = self._final_info(values)
        info["consultation"].update(
            diagnosis=list(scored.items),
            diagnosis_matched=list(scored.matched),
            diagnosis_rank=scored.rank,
        )
        correct = scored.rank == 1
        info.update(reward_terms=terms, correct=correct, success=correct)
        return StepOutcome(reward=reward, done=True, info=info)

    def step(self, action: str) -> tuple[tuple[Message, ...], float, bool, bool, dict[str, Any]]:
        """Play one doctor turn (see the module docstring)."""
        obs, reward, terminated, truncated, info = super().step(action)
        if self._truncate:
            # the turn cap is a truncation, not a real ending: no diagnosis was given
            self._done = True
            truncated = True
            info["stop_reason"] = StopReason.TURN_LIMIT.value
            info.update(correct=False, success=False)
        return obs, reward, terminated, truncated, info

    # ---- rewards and info ---------------------------------------------------------------

    def _add_terms(self, terms: Mapping[str, float]) -> float:
        for k, v in terms.items():
            self._totals[k] += v
        return float(sum(self.reward_weights[k] * v for k, v in terms.items()))

    def _shapley(self) -> list[float]:
        assert self.case is not None
        return shapley_values(
            self.model,
            self.case.condition,
            {self.case.chief_complaint: True},
            self._question_reveals,
            exact_max_questions=self.shapley_exact_max,
            num_permutations=self.shapley_permutations,
            rng=seeded_rng("clinical-shapley", self.case.id, len(self._questions)),
        )

    def _final_info(self, shapley: list[float] | None) -> dict[str, Any]:
        assert self.case is not None
        cond = self.table.condition(self.case.condition)
        present = set(self.case.present)
        asked = [f for fs in self._asked for f in fs]
        missed = [f for f in cond.key_findings if f in present and f not in self._known]
        post = self.model.posterior(self._known)
        consultation = {
            "disclaimer": _DISCLAIMER,
            "true_condition": self.case.condition,
            "chief_complaint": self.case.chief_complaint,
            "questions": len(self._questions),
            "asked": list(dict.fromkeys(asked)),
            "revealed_present": [f for f, v in self._known.items() if v],
            "revealed_absent": [f for f, v in self._known.items() if not v],
            "missed_key_findings": missed,
            "question_information_gain": list(self._question_gains),
            "shapley_values": list(shapley) if shapley is not None else None,
            "posterior_true": float(post[self.model.condition_index(self.case.condition)]),
            "map_condition": self.model.condition_ids[int(post.argmax())],
            "diagnosis": None,
            "diagnosis_matched": None,
            "diagnosis_rank": None,
        }
        return {"reward_terms": dict.fromkeys(REWARD_TERMS, 0.0), "consultation": consultation}

    def episode_info(self) -> dict[str, Any]:
        return {
            "questions": len(self._questions),
            "not_understood": self._not_understood,
            "patient_errors": self._patient_errors,
            "reward_weights": dict(self.reward_weights),
            "reward_totals": dict(self._totals),
        }

    def probe_actions(self) -> list[str]:
        probes = []
        if self.case is not None:
            probes.append(
                f"<diagnosis>{self.table.condition(self.case.condition).name}</diagnosis>"
            )
        return [
            *probes,
            "Do you have a fever or a cough? Let me listen to your chest.",
            "<diagnosis>\n1. Influenza\n2. Common cold\n3. Pneumonia\n</diagnosis>",
            "<diagnosis></diagnosis>",
            "What is the capital of France?",
            "",
        ]

    # ---- helpers ------------------------------------------------------------------------

    def _reset_episode_state(self) -> None:
        self._known: dict[str, bool] = {}
        self._questions: list[str] = []
        self._asked: list[list[str]] = []
        self._question_reveals: list[dict[str, bool]] = []
        self._question_gains: list[float] = []
        self._totals = dict.fromkeys(REWARD_TERMS, 0.0)
        self._not_understood = 0
        self._patient_errors = 0
        self._truncate = False

    def _default_prompt(self) -> str:
        return (
            f"You are a doctor in a simulated consultation. {_DISCLAIMER}\n\n"
            "Interview the patient to find the most likely diagnosis. Each message you write is "
            "either a question (you may ask about several symptoms, history or risk factors at "
            "once, examine the patient, or order a test) or your final diagnosis. Ask "
            "informative questions; each question has a small cost. You may ask at most "
            f"{self.max_questions} questions.\n\n"
            "Give the final answer as <diagnosis>CONDITION</diagnosis>, or a ranked "
            "differential, one per line:\n<diagnosis>\n1. most likely\n2. next\n</diagnosis>\n"
            "The first item earns full credit when correct; lower items earn partial credit. "
            "The diagnosis ends the consultation."
        )

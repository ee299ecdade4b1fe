"""``turngym/ClinicalDialogue-v0``: a doctor agent interviews a simulated patient.

RESEARCH SIMULATION ONLY, NOT MEDICAL ADVICE. The condition table is a hand-written toy model
for studying multi-turn information seeking by LLM agents; it is not clinical knowledge fit
for any real use.

Modules: :mod:`.table` (conditions and finding vocabulary), :mod:`.bayes` (naive-Bayes
posterior, information gain, Shapley attribution), :mod:`.cases` (seeded patient cases),
:mod:`.patient` (rule-based and LLM patients), :mod:`.scoring` (diagnosis parsing and credit),
:mod:`.env` (the env) and :mod:`.rewards` (rubric functions).
"""

from turngym.envs.clinical.bayes import NaiveBayesModel, entropy_bits, shapley_values
from turngym.envs.clinical.cases import CaseGenerator, PatientCase
from turngym.envs.clinical.env import DEFAULT_REWARD_WEIGHTS, REWARD_TERMS, ClinicalDialogueEnv
from turngym.envs.clinical.patient import LLMPatient, PatientReply, RuleBasedPatient, match_findings
from turngym.envs.clinical.scoring import match_condition, parse_diagnosis, score_diagnosis
from turngym.envs.clinical.table import Condition, ConditionTable, Finding, default_table

__all__ = [
    "DEFAULT_REWARD_WEIGHTS",
    "REWARD_TERMS",
    "CaseGenerator",
    "ClinicalDialogueEnv",
    "Condition",
    "ConditionTable",
    "Finding",
    "LLMPatient",
    "NaiveBayesModel",
    "PatientCase",
    "PatientReply",
    "RuleBasedPatient",
    "default_table",
    "entropy_bits",
    "match_condition",
    "match_findings",
    "parse_diagnosis",
    "score_diagnosis",
    "shapley_values",
]

"""``turngym/Search-v0``: multi-hop QA over an encyclopedia with a ``search`` tool.

* :mod:`~turngym.envs.search.world`: the seeded fictional encyclopedia and its 1-4 hop
  bridge/comparison questions.
* :mod:`~turngym.envs.search.scoring`: SQuAD-normalized exact match, token F1, TruthRL's
  ternary reward.
* :mod:`~turngym.envs.search.tasks`: the user's JSONL QA sets.
* :mod:`~turngym.envs.search.env`: :class:`SearchEnv`.
"""

from turngym.envs.search.env import SearchEnv
from turngym.envs.search.scoring import (
    REWARD_MODES,
    AnswerScore,
    answer_reward,
    exact_match,
    extract_tagged_answer,
    is_abstention,
    normalize_answer,
    score_answer,
    ternary_reward,
    token_f1,
)
from turngym.envs.search.tasks import QAFileError, load_qa_jsonl
from turngym.envs.search.world import KINDS, Entity, QuestionGenerator, World, generate_world

__all__ = [
    "KINDS",
    "REWARD_MODES",
    "AnswerScore",
    "Entity",
    "QAFileError",
    "QuestionGenerator",
    "SearchEnv",
    "World",
    "answer_reward",
    "exact_match",
    "extract_tagged_answer",
    "generate_world",
    "is_abstention",
    "load_qa_jsonl",
    "normalize_answer",
    "score_answer",
    "ternary_reward",
    "token_f1",
]

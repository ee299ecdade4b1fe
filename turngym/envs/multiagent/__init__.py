"""Multi-agent text games on PettingZoo's API (AEC, and Parallel where moves are simultaneous).

Build them through the registry, e.g. ``turngym.make("turngym/TicTacToe-v0")``; see
``docs/multiagent.md`` and :mod:`turngym.envs.multiagent.base` for the shared protocol
(observations, actions, illegal moves, infos). Importing this package needs ``pettingzoo``.
"""

from turngym.envs.multiagent.base import (
    ILLEGAL_MOVE_RULES,
    AgentObservation,
    MoveResult,
    SimultaneousTextGameEnv,
    TextGameEnv,
    parse_bracketed_move,
    play_episode,
    strip_private_reasoning,
)
from turngym.envs.multiagent.code_tests import CodeTestDuelEnv
from turngym.envs.multiagent.cooperative import CoopAnswerEnv
from turngym.envs.multiagent.kuhn_poker import KuhnPokerEnv
from turngym.envs.multiagent.negotiation import NegotiationEnv
from turngym.envs.multiagent.red_team import RedTeamEnv
from turngym.envs.multiagent.tictactoe import TicTacToeEnv

__all__ = [
    "ILLEGAL_MOVE_RULES",
    "AgentObservation",
    "CodeTestDuelEnv",
    "CoopAnswerEnv",
    "KuhnPokerEnv",
    "MoveResult",
    "NegotiationEnv",
    "RedTeamEnv",
    "SimultaneousTextGameEnv",
    "TextGameEnv",
    "TicTacToeEnv",
    "parse_bracketed_move",
    "play_episode",
    "strip_private_reasoning",
]

"""Shared machinery of turngym's multi-agent text games (PettingZoo AEC and Parallel APIs).

Every game here speaks PettingZoo's API with text on both sides:

- **Agents** are ``"player_0"``, ``"player_1"`` (PettingZoo's naming); what a player does in
  the game is its *role* (``"x"``, ``"attacker"``, ``"pioneer"``, ...), reported in
  ``infos[agent]["role"]`` and by :meth:`TextGameEnv.role`, so a self-play trainer can swap
  roles without renaming agents.
- **Observations** are :class:`AgentObservation`: a tuple of the :class:`~turngym.core.Message`
  that are new to that agent since it last acted (its first one holds a system prompt and the
  opening user message). This is the single-agent ``TextEnv`` convention: an agent appends its
  observation to its own conversation, samples a reply, and that reply is its action.
  ``observe(agent)`` does not consume anything; acting does. :meth:`TextGameEnv.conversation`
  gives an agent's whole conversation so far (its own actions included, verbatim).
- **Actions** are the agent's text (a :class:`~turngym.core.TextSpace`). Private reasoning in
  ``<think>...</think>`` is stripped (:func:`strip_private_reasoning`) before the game reads
  the action or shows any of it to the other player. Moves are written in square brackets,
  e.g. ``[4]`` or ``[bet]``; the last bracketed move counts (:func:`parse_bracketed_move`).
- **Illegal moves** follow ``illegal_move_rule``: ``"retry"`` gives the mover
  ``-illegal_move_penalty``, tells it what was wrong, and lets it move again, up to
  ``max_retries`` times in a row, after which it forfeits; ``"forfeit"`` ends the game at the
  first illegal move; ``"random_move"`` (turn-based games that list their legal moves:
  TicTacToe, Kuhn Poker) gives the mover ``-illegal_move_penalty`` and plays a uniformly random
  legal move on its behalf, telling it which, so a weak policy's games still finish and what
  it learns from is the moves it chose. ``infos[agent]["illegal_moves"]`` counts illegal
  moves per episode. A penalty is outside the game's payoff, so it breaks zero-sum totals;
  forfeits keep them.
- **infos** of every agent hold ``role``, ``illegal_moves``, ``turn`` (moves made, legal or
  not), and once the game is over ``stop_reason`` (``"terminated"``, ``"forfeit"`` or
  ``"turn_limit"``) plus game-specific outcome keys.

What this module does NOT cover: more than one game per episode, or agents joining mid-game.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from pettingzoo import AECEnv, ParallelEnv

from turngym.core.messages import Message
from turngym.core.spaces import ConversationSpace, TextSpace

__all__ = [
    "ILLEGAL_MOVE_RULES",
    "AgentObservation",
    "MoveResult",
    "SimultaneousTextGameEnv",
    "TextGameEnv",
    "parse_bracketed_move",
    "play_episode",
    "strip_private_reasoning",
]

ILLEGAL_MOVE_RULES: tuple[str, ...] = ("retry", "forfeit", "random_move")
_THINK = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL | re.IGNORECASE)
_STRAY_CLOSE = re.compile(r"^.*?</think>", re.DOTALL | re.IGNORECASE)
_BRACKETED = re.compile(r"\[([^\[\]\n]{0,200})\]")

Policy = Callable[[Any, str, np.random.Generator], str]
"""A scripted policy: ``(env, agent, rng) -> action text`` (it may read the env's state)."""


class AgentObservation(tuple):  # type: ignore[type-arg]
    """A tuple of :class:`~turngym.core.Message`: what one agent is shown at its turn.

    A plain tuple with ``dtype = None``: PettingZoo's ``api_test`` compares an observation's
    ``dtype`` with its space's, which for a :class:`~turngym.core.ConversationSpace` is None.
    """

    dtype: ClassVar[None] = None

    @property
    def text(self) -> str:
        """The messages' text joined by blank lines (for logs and string-only policies)."""
        return "\n\n".join(m.text for m in self)


def strip_private_reasoning(text: str) -> str:
    """Remove ``<think>...</think>`` spans (an unclosed one runs to the end) and trim.

    A ``</think>`` with no opening tag (templates that open the block in the prompt) hides
    everything before it.
    """
    text = _STRAY_CLOSE.sub("", text) if "<think>" not in text.lower() else text
    return _THINK.sub("", text).strip()


def parse_bracketed_move(text: str, *, lower: bool = True) -> str | None:
    """The last ``[move]`` in ``text``, whitespace-normalised (and lower-cased by default).

    Without brackets, a short one-line text is taken whole (``"bet"``, ``"4"``), so that terse
    policies work too; anything else gives None.
    """
    found = _BRACKETED.findall(text)
    if found:
        move = " ".join(found[-1].split())
    else:
        stripped = text.strip()
        if not stripped or "\n" in stripped or len(stripped) > 40:
            return None
        move = " ".join(stripped.strip(".!").split())
    return move.lower() if lower else move


@dataclass
class MoveResult:
    """What a game's :meth:`TextGameEnv.apply_move` returns for one action."""

    legal: bool = True
    """Whether the move was legal; an illegal one changes no game state."""
    error: str = ""
    """Why the move was illegal (shown to the mover; say what a legal move looks like)."""
    messages: dict[str, list[Message]] = field(default_factory=dict)
    """New messages for each agent (appended to what it observes next)."""
    rewards: dict[str, float] = field(default_factory=dict)
    """Rewards of this move per agent (usually the payoffs, once the game ends)."""
    done: bool = False
    """The game reached a real ending."""
    truncated: bool = False
    """The game was cut by a cap rather than played out (with ``done``)."""
    next_agent: str | None = None
    """Who moves next (None: the other player of a two-player game)."""
    outcome: dict[str, Any] = field(default_factory=dict)
    """Outcome keys added to every agent's info when the game ends (winner, scores, ...)."""


def _check_rule(rule: str, max_retries: int, penalty: float) -> None:
    if rule not in ILLEGAL_MOVE_RULES:
        raise ValueError(f"illegal_move_rule must be one of {ILLEGAL_MOVE_RULES}, got {rule!r}")
    if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
        raise ValueError(f"max_retries must be an int >= 0, got {max_retries!r}")
    if penalty < 0:
        raise ValueError(f"illegal_move_penalty must be >= 0 (it is subtracted), got {penalty!r}")


class _TextGameCommon:
    """Construction, spaces, seeding and reset-option checks shared by the AEC and the
    Parallel base."""

    reset_options: ClassVar[tuple[str, ...]] = ()
    """Option keys a game reads in ``reset(options=...)``."""
    np_random: np.random.Generator
    metadata: ClassVar[dict[str, Any]]
    possible_agents: list[str]

    def _setup_common(
        self,
        *,
        illegal_move_rule: str,
        max_retries: int,
        illegal_move_penalty: float,
        max_action_chars: int,
        render_mode: str | None,
    ) -> None:
        """Check and store the constructor arguments both bases take; build the spaces."""
        _check_rule(illegal_move_rule, max_retries, illegal_move_penalty)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode {render_mode!r} is not supported; choose from "
                f"{self.metadata['render_modes']}"
            )
        self.illegal_move_rule = illegal_move_rule
        self.max_retries = max_retries
        self.illegal_move_penalty = float(illegal_move_penalty)
        self.render_mode = render_mode
        if not getattr(self, "possible_agents", None):
            self.possible_agents = ["player_0", "player_1"]
        self.agents: list[str] = []
        self._observation_spaces = {a: ConversationSpace() for a in self.possible_agents}
        self._action_spaces = {
            a: TextSpace(max_length=max_action_chars) for a in self.possible_agents
        }

    def observation_space(self, agent: str) -> ConversationSpace:
        """A :class:`~turngym.core.ConversationSpace` (the same object for every call)."""
        return self._observation_spaces[agent]

    def action_space(self, agent: str) -> TextSpace:
        """A :class:`~turngym.core.TextSpace` (the same object for every call)."""
        return self._action_spaces[agent]

    def _seed_and_options(
        self, seed: int | None, options: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        if seed is not None:
            self.np_random = np.random.default_rng(seed)
        elif not hasattr(self, "np_random"):
            self.np_random = np.random.default_rng()
        options = dict(options or {})
        unknown = sorted(set(options) - set(self.reset_options))
        if unknown:
            # PettingZoo's api_test resets with a dummy option, so this warns, not raises.
            warnings.warn(
                f"{type(self).__name__}.reset ignores unknown options {unknown}; "
                f"it reads {list(self.reset_options) or 'none'}",
                stacklevel=3,
            )
        return {k: v for k, v in options.items() if k in self.reset_options}


class TextGameEnv(_TextGameCommon, AECEnv):
    """Base of turn-based text games (PettingZoo AEC); see the module docstring.

    Subclasses implement :meth:`new_game`, :meth:`apply_move` and :meth:`board_text`, and may
    override :meth:`forfeit_rewards` (default: zero-sum, the forfeiting player -1, the others
    share +1), :meth:`role` and :meth:`probe_moves`; games that implement :meth:`legal_moves`
    also support ``illegal_move_rule="random_move"``.

    Args:
        illegal_move_rule: ``"retry"``, ``"forfeit"`` or ``"random_move"`` (see the module
            docstring).
        max_retries: Illegal moves in a row allowed under ``"retry"`` before a forfeit.
        illegal_move_penalty: Reward subtracted per illegal move under ``"retry"`` and
            ``"random_move"``.
        max_action_chars: Longest accepted action text.
        render_mode: ``"ansi"`` (``render()`` returns the game as text) or None.
    """

    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": ["ansi"],
        "name": "text_game_v0",
        "is_parallelizable": False,
    }
    possible_agents: list[str]

    def __init__(
        self,
        *,
        illegal_move_rule: str = "retry",
        max_retries: int = 2,
        illegal_move_penalty: float = 0.1,
        max_action_chars: int = 20_000,
        render_mode: str | None = None,
    ):
        super().__init__()
        self._setup_common(
            illegal_move_rule=illegal_move_rule,
            max_retries=max_retries,
            illegal_move_penalty=illegal_move_penalty,
            max_action_chars=max_action_chars,
            render_mode=render_mode,
        )
        self._inbox: dict[str, list[Message]] = {}
        self._conversations: dict[str, list[Message]] = {}
        self._log: list[str] = []
        self._illegal: dict[str, int] = {}
        self._strikes = 0
        self._turn = 0
        self._over = True
        if illegal_move_rule == "random_move" and type(self).legal_moves is TextGameEnv.legal_moves:
            raise ValueError(
                f"illegal_move_rule='random_move' needs the game to list its legal moves, and "
                f"{type(self).__name__} does not implement legal_moves(); use 'retry' or 'forfeit'"
            )

    # ---- to implement -------------------------------------------------------------------

    def new_game(
        self, rng: np.random.Generator, options: dict[str, Any]
    ) -> tuple[dict[str, list[Message]], str]:
        """Set up a game; return each agent's opening messages and who moves first."""
        raise NotImplementedError

    def apply_move(self, agent: str, text: str) -> MoveResult:
        """Play ``agent``'s move, given its public text (reasoning already stripped)."""
        raise NotImplementedError

    def board_text(self) -> str:
        """The game state as text, for ``render()``."""
        raise NotImplementedError

    def role(self, agent: str) -> str:
        """What ``agent`` does in this game (reported in ``infos[agent]["role"]``)."""
        return agent

    def forfeit_rewards(self, agent: str) -> dict[str, float]:
        """Payoffs when ``agent`` forfeits (default: zero-sum, -1 for it, +1 shared by others)."""
        others = [a for a in self.possible_agents if a != agent]
        return {agent: -1.0, **{a: 1.0 / len(others) for a in others}}

    def probe_moves(self, agent: str) -> list[str]:
        """A few legal move texts for ``agent`` now (for tests and examples)."""
        return []

    def legal_moves(self, agent: str) -> list[str]:
        """Every legal move text for ``agent`` now (needed by ``illegal_move_rule="random_move"``).

        Raises:
            NotImplementedError: The game does not enumerate its moves.
        """
        raise NotImplementedError(f"{type(self).__name__} does not list its legal moves")

    # ---- PettingZoo API -----------------------------------------------------------------

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        """Start a game. ``seed`` makes it reproducible; ``options`` are game-specific."""
        game_options = self._seed_and_options(seed, options)
        self.agents = list(self.possible_agents)
        self._inbox = {a: [] for a in self.agents}
        self._conversations = {a: [] for a in self.agents}
        self._illegal = dict.fromkeys(self.agents, 0)
        self._strikes = 0
        self._turn = 0
        self._log = []
        opening, first = self.new_game(self.np_random, game_options)
        if first not in self.agents:
            raise RuntimeError(f"{type(self).__name__}.new_game named an unknown first mover")
        self._deliver(opening)
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos = {a: {} for a in self.agents}
        self._skip_agent_selection = None
        self.agent_selection = first
        self._outcome: dict[str, Any] = {}
        self._over = False
        self._update_infos({})

    def observe(self, agent: str) -> AgentObservation:
        """The messages new to ``agent`` since it last acted (nothing is consumed here)."""
        return AgentObservation(self._inbox.get(agent, ()))

    def conversation(self, agent: str) -> tuple[Message, ...]:
        """Everything ``agent`` was shown and said this episode, in order."""
        return tuple(self._conversations.get(agent, ()))

    def step(self, action: str | None) -> None:
        """Play the selected agent's action text (None for an agent whose game is over)."""
        agent = self.agent_selection
        if not self.agents:
            raise RuntimeError(f"{type(self).__name__}.step called with no agents; call reset()")
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        if not isinstance(action, str):
            raise TypeError(
                f"action of {agent} must be its reply text (str), got {type(action).__name__}"
            )
        self._cumulative_rewards[agent] = 0.0
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._inbox[agent] = []
        self._conversations[agent].append(Message("assistant", action))
        self._turn += 1
        result = self.apply_move(agent, strip_private_reasoning(action))
        if result.legal:
            self._strikes = 0
            self._add_rewards(result.rewards)
            self._deliver(result.messages)
            if result.done:
                self._end(result.outcome, truncated=result.truncated)
            else:
                self.agent_selection = result.next_agent or self._next_of(agent)
        else:
            self._illegal[agent] += 1
            self._strikes += 1
            self._log.append(f"{agent} ({self.role(agent)}) illegal move: {result.error}")
            if self.illegal_move_rule == "random_move":
                self._play_random_instead(agent, result.error)
            elif self.illegal_move_rule == "forfeit" or self._strikes > self.max_retries:
                self._add_rewards(self.forfeit_rewards(agent))
                note = f"{agent} ({self.role(agent)}) forfeits: {result.error}"
                self._deliver({a: [Message("user", f"Game over. {note}")] for a in self.agents})
                self._end({"forfeited_by": agent}, stop_reason="forfeit")
            else:
                self.rewards[agent] -= self.illegal_move_penalty
                left = self.max_retries - self._strikes + 1
                text = (
                    f"Illegal move: {result.error} Try again "
                    f"({left} {'try' if left == 1 else 'tries'} left before you forfeit)."
                )
                self._deliver({agent: [Message("user", text)]})
        self._accumulate_rewards()
        self._update_infos({})

    def _play_random_instead(self, agent: str, error: str) -> None:
        """``random_move`` rule: penalise the mover and play a random legal move for it."""
        self._strikes = 0
        self.rewards[agent] -= self.illegal_move_penalty
        moves = self.legal_moves(agent)
        if not moves:
            raise RuntimeError(f"{type(self).__name__}.legal_moves({agent!r}) is empty mid-game")
        move = moves[int(self.np_random.integers(len(moves)))]
        result = self.apply_move(agent, move)
        if not result.legal:
            raise RuntimeError(
                f"{type(self).__name__}.legal_moves listed {move!r}, which apply_move refused: "
                f"{result.error}"
            )
        self._log.append(f"{agent} ({self.role(agent)}) random move instead: {move}")
        note = Message(
            "user", f"Illegal move: {error} A random legal move, {move}, was played for you."
        )
        # The note comes first: the game's own messages (the board, the verdict) follow it.
        messages = {a: list(m) for a, m in result.messages.items()}
        messages[agent] = [note, *messages.get(agent, [])]
        self._add_rewards(result.rewards)
        self._deliver(messages)
        if result.done:
            self._end(result.outcome, truncated=result.truncated)
        else:
            self.agent_selection = result.next_agent or self._next_of(agent)

    def render(self) -> str | None:
        """The game state and move log as text (``render_mode="ansi"``)."""
        if self.render_mode != "ansi":
            return None
        return "\n".join([self.board_text(), *self._log])

    def close(self) -> None:
        """Release resources; safe to call more than once."""
        self._over = True

    # ---- helpers for subclasses ---------------------------------------------------------

    def other(self, agent: str) -> str:
        """The other player of a two-player game."""
        return self._next_of(agent)

    def log(self, line: str) -> None:
        """Add a line to the move log shown by ``render()``."""
        self._log.append(line)

    # ---- internals ----------------------------------------------------------------------

    def _next_of(self, agent: str) -> str:
        order = self.possible_agents
        return order[(order.index(agent) + 1) % len(order)]

    def _deliver(self, messages: Mapping[str, list[Message]]) -> None:
        for agent, new in messages.items():
            self._inbox[agent].extend(new)
            self._conversations[agent].extend(new)

    def _add_rewards(self, rewards: Mapping[str, float]) -> None:
        for agent, value in rewards.items():
            self.rewards[agent] += float(value)

    def _end(
        self, outcome: dict[str, Any], *, truncated: bool = False, stop_reason: str | None = None
    ) -> None:
        self._over = True
        reason = stop_reason or ("turn_limit" if truncated else "terminated")
        for agent in self.agents:
            if truncated:
                self.truncations[agent] = True
            else:
                self.terminations[agent] = True
        self._outcome = {"stop_reason": reason, **outcome}
        self._log.append(f"game over: {self._outcome}")

    def _update_infos(self, extra: dict[str, Any]) -> None:
        outcome = getattr(self, "_outcome", {}) if self._over else {}
        for agent in self.agents:
            self.infos[agent] = {
                "role": self.role(agent),
                "illegal_moves": self._illegal[agent],
                "turn": self._turn,
                **outcome,
                **extra,
            }


class SimultaneousTextGameEnv(_TextGameCommon, ParallelEnv):
    """Base of games whose players move at the same time (PettingZoo Parallel API).

    Each ``step`` takes one action text per live agent. A legal move is kept; an illegal one
    follows ``illegal_move_rule`` like in :class:`TextGameEnv`: under ``"retry"`` the mover is
    penalised and asked again at the next ``step`` (actions sent by agents whose move is
    already in are ignored; ``infos[agent]["awaiting_move"]`` says who must act), and an agent
    out of retries forfeits, which each game scores (see :meth:`resolve`). Once every move is
    in, :meth:`resolve` scores the game and it ends.

    Subclasses implement :meth:`new_game`, :meth:`check_move`, :meth:`resolve` and
    :meth:`board_text`, and may override :meth:`role`.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "name": "text_game_par_v0"}
    possible_agents: list[str]

    def __init__(
        self,
        *,
        illegal_move_rule: str = "retry",
        max_retries: int = 2,
        illegal_move_penalty: float = 0.1,
        max_action_chars: int = 20_000,
        render_mode: str | None = None,
    ):
        if illegal_move_rule == "random_move":
            raise ValueError(
                f"illegal_move_rule='random_move' is for turn-based games; {type(self).__name__} "
                "has simultaneous moves: use 'retry' or 'forfeit'"
            )
        self._setup_common(
            illegal_move_rule=illegal_move_rule,
            max_retries=max_retries,
            illegal_move_penalty=illegal_move_penalty,
            max_action_chars=max_action_chars,
            render_mode=render_mode,
        )
        self._moves: dict[str, str | None] = {}
        self._illegal: dict[str, int] = {}
        self._strikes: dict[str, int] = {}
        self._conversations: dict[str, list[Message]] = {}
        self._log: list[str] = []
        self._turn = 0

    # ---- to implement -------------------------------------------------------------------

    def new_game(
        self, rng: np.random.Generator, options: dict[str, Any]
    ) -> dict[str, list[Message]]:
        """Set up a game; return each agent's opening messages."""
        raise NotImplementedError

    def check_move(self, agent: str, text: str) -> str:
        """Why ``text`` is not a legal move for ``agent`` (empty string: it is legal)."""
        raise NotImplementedError

    def resolve(
        self, moves: dict[str, str | None]
    ) -> tuple[dict[str, float], dict[str, list[Message]], dict[str, Any]]:
        """Score the game from each agent's public move text (None: it forfeited).

        Returns the rewards, the closing messages per agent, and outcome keys for the infos.
        """
        raise NotImplementedError

    def board_text(self) -> str:
        """The game state as text, for ``render()``."""
        raise NotImplementedError

    def role(self, agent: str) -> str:
        """What ``agent`` does in this game (reported in ``infos[agent]["role"]``)."""
        return agent

    # ---- PettingZoo API -----------------------------------------------------------------

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, AgentObservation], dict[str, dict[str, Any]]]:
        """Start a game; returns each agent's opening observation and info."""
        game_options = self._seed_and_options(seed, options)
        self.agents = list(self.possible_agents)
        self._moves = dict.fromkeys(self.agents)
        self._illegal = dict.fromkeys(self.agents, 0)
        self._strikes = dict.fromkeys(self.agents, 0)
        self._conversations = {a: [] for a in self.agents}
        self._log = []
        self._turn = 0
        self._outcome: dict[str, Any] = {}
        opening = self.new_game(self.np_random, game_options)
        for agent, messages in opening.items():
            self._conversations[agent].extend(messages)
        observations = {a: AgentObservation(opening.get(a, [])) for a in self.agents}
        return observations, self._infos(self.agents)

    def conversation(self, agent: str) -> tuple[Message, ...]:
        """Everything ``agent`` was shown and said this episode, in order."""
        return tuple(self._conversations.get(agent, ()))

    def step(
        self, actions: dict[str, str]
    ) -> tuple[
        dict[str, AgentObservation],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        """Take the pending agents' action texts; score the game once every move is in."""
        if not self.agents:
            raise RuntimeError(f"{type(self).__name__}.step called after the game ended; reset()")
        pending = [a for a in self.agents if self._moves[a] is None and self._strikes[a] >= 0]
        missing = [a for a in pending if a not in actions]
        if missing:
            raise ValueError(f"step needs an action for {missing} (pending agents: {pending})")
        self._turn += 1
        rewards = dict.fromkeys(self.agents, 0.0)
        messages: dict[str, list[Message]] = {a: [] for a in self.agents}
        for agent in pending:
            action = actions[agent]
            if not isinstance(action, str):
                raise TypeError(
                    f"action of {agent} must be its reply text (str), got {type(action).__name__}"
                )
            self._conversations[agent].append(Message("assistant", action))
            public = strip_private_reasoning(action)
            error = self.check_move(agent, public)
            if not error:
                self._moves[agent] = public
                continue
            self._illegal[agent] += 1
            self._strikes[agent] += 1
            self._log.append(f"{agent} ({self.role(agent)}) illegal move: {error}")
            if self.illegal_move_rule == "forfeit" or self._strikes[agent] > self.max_retries:
                self._strikes[agent] = -1  # forfeited: its move stays None
                self._log.append(f"{agent} ({self.role(agent)}) forfeits")
            else:
                rewards[agent] -= self.illegal_move_penalty
                left = self.max_retries - self._strikes[agent] + 1
                messages[agent].append(
                    Message(
                        "user",
                        f"Illegal move: {error} Try again ({left} "
                        f"{'try' if left == 1 else 'tries'} left before you forfeit).",
                    )
                )
        done = all(self._moves[a] is not None or self._strikes[a] < 0 for a in self.agents)
        if done:
            payoffs, closing, outcome = self.resolve(dict(self._moves))
            forfeited = [a for a in self.agents if self._strikes[a] < 0]
            self._outcome = {
                "stop_reason": "forfeit" if forfeited else "terminated",
                **({"forfeited_by": forfeited} if forfeited else {}),
                **outcome,
            }
            self._log.append(f"game over: {self._outcome}")
            for agent in self.agents:
                rewards[agent] += float(payoffs.get(agent, 0.0))
                messages[agent].extend(closing.get(agent, []))
        for agent, new in messages.items():
            self._conversations[agent].extend(new)
        observations = {a: AgentObservation(messages[a]) for a in self.agents}
        terminations = dict.fromkeys(self.agents, done)
        truncations = dict.fromkeys(self.agents, False)
        infos = self._infos(self.agents)
        if done:
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    def render(self) -> str | None:
        """The game state and move log as text (``render_mode="ansi"``)."""
        if self.render_mode != "ansi":
            return None
        return "\n".join([self.board_text(), *self._log])

    def close(self) -> None:
        """Release resources; safe to call more than once."""

    def _infos(self, agents: list[str]) -> dict[str, dict[str, Any]]:
        return {
            a: {
                "role": self.role(a),
                "illegal_moves": self._illegal[a],
                "turn": self._turn,
                "awaiting_move": self._moves[a] is None and self._strikes[a] >= 0,
                **self._outcome,
            }
            for a in agents
        }


def play_episode(
    env: TextGameEnv | SimultaneousTextGameEnv,
    policies: Mapping[str, Policy],
    *,
    seed: int | None = None,
    options: dict[str, Any] | None = None,
) -> dict[str, float]:
    """Play one game with scripted policies (keyed by agent); return each agent's total reward.

    The policies' RNG is seeded from ``seed`` too, so a seeded episode is reproducible.
    """
    rng = np.random.default_rng(None if seed is None else seed + 1_000_003)
    totals = dict.fromkeys(env.possible_agents, 0.0)
    if isinstance(env, SimultaneousTextGameEnv):
        _, infos = env.reset(seed=seed, options=options)
        while env.agents:
            actions = {a: policies[a](env, a, rng) for a in env.agents if infos[a]["awaiting_move"]}
            _, rewards, _, _, infos = env.step(actions)
            for agent, value in rewards.items():
                totals[agent] += value
        return totals
    env.reset(seed=seed, options=options)
    for agent in env.agent_iter():
        _, reward, terminated, truncated, _ = env.last(observe=False)
        totals[agent] += reward
        env.step(None if terminated or truncated else policies[agent](env, agent, rng))
    return totals

"""``turngym/KuhnPoker-v0``: Kuhn poker in text, one of SPIRAL's three zero-sum games.

Kuhn poker (Kuhn, 1950) is the smallest interesting poker: a deck of three cards (J < Q < K),
one private card each, an ante of 1 chip each, one betting round with bets of 1 chip.

Protocol (PettingZoo AEC): ``player_0`` acts first (``reset(options={"swap_roles": True})``
makes ``player_1`` first). Actions are ``check``, ``bet``, ``call`` or ``fold``, written in
square brackets (``[bet]``; a bare ``bet`` works too). Sequences: check-check (showdown for
the antes), bet-call (showdown for 2 chips each), bet-fold (the bettor wins the antes),
check-bet-call, check-bet-fold. Each observation holds the agent's card, the betting so far
and the legal actions. An action that is not legal now is illegal (see ``illegal_move_rule``).

Reward (zero-sum): the chips won or lost, net of the ante: +-1 after a fold or a checked-down
showdown, +-2 after a called bet; a forfeit scores -1 / +1. Retry penalties come on top.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from turngym.core.messages import Message
from turngym.envs.multiagent.base import MoveResult, TextGameEnv, parse_bracketed_move

__all__ = ["CARDS", "KuhnPokerEnv", "random_move", "strong_move"]

CARDS: tuple[str, ...] = ("J", "Q", "K")
_RULES = (
    "You are playing Kuhn poker. The deck has three cards: J < Q < K. Each player antes 1 "
    "chip and gets one private card. In one betting round players may [check] or [bet] 1 "
    "chip; facing a bet you may [call] (match it) or [fold] (lose the antes). If nobody folds, "
    "the higher card wins the pot. Write your action in square brackets, e.g. [check]. "
    "You may think first; only the last bracketed action counts."
)


class KuhnPokerEnv(TextGameEnv):
    """Kuhn poker in text; reward = chips won (zero-sum). See the module docstring.

    Args:
        illegal_move_rule, max_retries, illegal_move_penalty, max_action_chars, render_mode:
            See :class:`~turngym.envs.multiagent.base.TextGameEnv`.
    """

    metadata: ClassVar[dict[str, Any]] = {**TextGameEnv.metadata, "name": "kuhn_poker_v0"}
    reset_options: ClassVar[tuple[str, ...]] = ("swap_roles", "cards")

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.cards: dict[str, str] = {}
        self.history: list[str] = []
        self.order: list[str] = list(self.possible_agents)

    def new_game(
        self, rng: np.random.Generator, options: dict[str, Any]
    ) -> tuple[dict[str, list[Message]], str]:
        self.order = list(
            self.possible_agents[::-1] if options.get("swap_roles") else self.possible_agents
        )
        if "cards" in options:  # e.g. {"player_0": "K", "player_1": "J"} for hand-made cases
            dealt = dict(options["cards"])
            if (
                sorted(dealt) != sorted(self.possible_agents)
                or len(set(dealt.values())) != 2
                or not set(dealt.values()) <= set(CARDS)
            ):
                raise ValueError(
                    f"options['cards'] must give each of {self.possible_agents} a different "
                    f"card of {CARDS}, got {dealt!r}"
                )
            self.cards = dealt
        else:
            deal = rng.permutation(3)[:2]
            self.cards = {a: CARDS[int(i)] for a, i in zip(self.order, deal, strict=True)}
        self.history = []
        first, second = self.order
        opening = {
            first: [
                Message("system", _RULES),
                Message(
                    "user",
                    f"Your card: {self.cards[first]}. You act first. Legal actions: [check] [bet].",
                ),
            ],
            second: [
                Message("system", _RULES),
                Message("user", f"Your card: {self.cards[second]}. Your opponent acts first."),
            ],
        }
        return opening, first

    def role(self, agent: str) -> str:
        return "first" if agent == self.order[0] else "second"

    def legal_actions(self) -> list[str]:
        """The actions legal for the player to act now."""
        return ["call", "fold"] if self.history and self.history[-1] == "bet" else ["check", "bet"]

    def apply_move(self, agent: str, text: str) -> MoveResult:
        move = parse_bracketed_move(text)
        legal = self.legal_actions()
        if move not in legal:
            found = "no action found" if move is None else f"[{move}] is not legal now"
            return MoveResult(
                legal=False, error=f"{found}; write one of {' '.join(f'[{a}]' for a in legal)}."
            )
        self.history.append(move)
        self.log(f"{agent} ({self.cards[agent]}) -> {move}")
        opponent = self.other(agent)
        seq = "-".join(self.history)
        payoff: dict[str, float] | None = None
        if move == "fold":
            payoff = {opponent: 1.0, agent: -1.0}
        elif seq in ("check-check", "bet-call", "check-bet-call"):
            stake = 1.0 if seq == "check-check" else 2.0
            best = max(self.cards, key=lambda a: CARDS.index(self.cards[a]))
            loser = self.other(best)
            payoff = {best: stake, loser: -stake}
        if payoff is not None:
            winner = max(payoff, key=lambda a: payoff[a])
            reveal = ", ".join(f"{a} had {self.cards[a]}" for a in self.possible_agents)
            closing = (
                f"Game over after {seq}: {winner} wins {abs(payoff[winner]):g} chip(s) ({reveal})."
            )
            return MoveResult(
                messages={a: [Message("user", closing)] for a in self.possible_agents},
                rewards=payoff,
                done=True,
                outcome={"winner": winner, "betting": seq, "cards": dict(self.cards)},
            )
        nxt = " ".join(f"[{a}]" for a in self.legal_actions())
        return MoveResult(
            messages={
                opponent: [Message("user", f"Your opponent chose [{move}]. Legal actions: {nxt}.")]
            }
        )

    def board_text(self) -> str:
        cards = ", ".join(f"{a}: {c}" for a, c in self.cards.items())
        return f"cards {cards} | betting: {'-'.join(self.history) or '(none)'}"

    def probe_moves(self, agent: str) -> list[str]:
        return [f"[{a}]" for a in self.legal_actions()]

    def legal_moves(self, agent: str) -> list[str]:
        return self.probe_moves(agent)


def random_move(env: KuhnPokerEnv, agent: str, rng: np.random.Generator) -> str:
    """A uniformly random legal action."""
    return f"[{rng.choice(env.legal_actions())}]"


def strong_move(env: KuhnPokerEnv, agent: str, rng: np.random.Generator) -> str:
    """An aggressive value strategy: bet with K or Q and bluff a J half the time; facing a bet,
    call with K or Q and fold a J.

    It beats a random opponent (which folds and calls blindly) by about +0.4 chips a game; it
    is not an equilibrium strategy (a sound opponent punishes its Q bets). It reads only its
    own card and the public betting.
    """
    card, legal = env.cards[agent], env.legal_actions()
    if "call" in legal:
        return "[call]" if card in ("K", "Q") else "[fold]"
    if card in ("K", "Q"):
        return "[bet]"
    return "<think>bluff</think>[bet]" if rng.random() < 0.5 else "[check]"

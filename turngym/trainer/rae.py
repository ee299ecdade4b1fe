"""Credit for multi-agent games: reward routing, role-conditioned baselines and Elo ratings.

Pure Python, no torch: every function here can be checked by hand.

- :func:`route_rewards`: each player's training reward from the game's returns, as the game
  gives them (``individual``), made exactly zero-sum (``zero_sum``), or shared by the team
  (``shared``, cooperative games such as CORY's pioneer/observer).
- :class:`RoleBaselines`: SPIRAL's Role-conditioned Advantage Estimation (RAE; Liu et al.,
  2025): one baseline per (game, role), an exponential moving average of that role's returns,
  and ``advantage = return - baseline``. In zero-sum games the first mover often has an edge
  (TicTacToe's X); a per-role baseline removes it, so neither role learns from the seat bias.
- :class:`EloRatings`: Elo ratings of the learner, its frozen snapshots and fixed opponents,
  updated after each game (expected score ``1 / (1 + 10^((R_b - R_a) / 400))``, update
  ``K * (score - expected)``).

What it does NOT cover: per-turn credit within a game (every turn of a player shares its
game's advantage), and ratings of more than two players per game.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

RewardRouting = Literal["individual", "zero_sum", "shared"]
REWARD_ROUTINGS: tuple[str, ...] = ("individual", "zero_sum", "shared")


def route_rewards(returns: Mapping[str, float], mode: str) -> dict[str, float]:
    """Each player's training reward from the game's returns.

    Args:
        returns: The env's total reward per agent.
        mode: ``individual`` keeps them; ``zero_sum`` subtracts the mean of all players
            (``r_i - mean(r)``: two players get ``(r_i - r_j) / 2``, so e.g. illegal-move
            penalties that break the game's zero-sum totals are shared out); ``shared`` gives
            every player the mean (a team reward).

    Raises:
        ValueError: An unknown mode, or no returns.
    """
    if mode not in REWARD_ROUTINGS:
        raise ValueError(f"reward routing must be one of {REWARD_ROUTINGS}, got {mode!r}")
    if not returns:
        raise ValueError("route_rewards needs the return of at least one player")
    values = {a: float(r) for a, r in returns.items()}
    mean = sum(values.values()) / len(values)
    if mode == "individual":
        return values
    if mode == "zero_sum":
        return {a: r - mean for a, r in values.items()}
    return dict.fromkeys(values, mean)


class RoleBaselines:
    """SPIRAL's role-conditioned baselines: an EMA of returns per (game, role).

    ``advantages`` subtracts each key's baseline as it was *before* the batch (so a return is
    never compared with a baseline it is part of), then folds the batch's returns into the EMA
    one by one: ``b <- decay * b + (1 - decay) * R``. A key seen for the first time starts at
    ``initial`` (0: the expected payoff of a fair zero-sum game).

    Args:
        decay: The EMA's weight on the old baseline, in [0, 1) (SPIRAL uses 0.95).
        initial: The first baseline of a new key.
    """

    def __init__(self, decay: float = 0.95, initial: float = 0.0):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"RAE decay must be in [0, 1), got {decay}")
        if not math.isfinite(initial):
            raise ValueError(f"RAE initial baseline must be finite, got {initial}")
        self.decay = float(decay)
        self.initial = float(initial)
        self.baselines: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    @staticmethod
    def key(game: str, role: str) -> str:
        """The baseline's key, ``"<game>/<role>"``."""
        return f"{game}/{role}"

    def baseline(self, key: str) -> float:
        """The current baseline of ``key`` (``initial`` if unseen)."""
        return self.baselines.get(key, self.initial)

    def advantages(self, keys: Iterable[str], returns: Iterable[float]) -> list[float]:
        """``return - baseline(key)`` for each pair, then update the baselines with the returns.

        Raises:
            ValueError: ``keys`` and ``returns`` differ in length, or a return is not finite.
        """
        keys, returns = list(keys), [float(r) for r in returns]
        if len(keys) != len(returns):
            raise ValueError(f"got {len(keys)} keys but {len(returns)} returns")
        if not all(math.isfinite(r) for r in returns):
            raise ValueError(f"returns must be finite, got {returns}")
        out = [r - self.baseline(k) for k, r in zip(keys, returns, strict=True)]
        for k, r in zip(keys, returns, strict=True):
            self.baselines[k] = self.decay * self.baseline(k) + (1.0 - self.decay) * r
            self.counts[k] = self.counts.get(k, 0) + 1
        return out

    def state_dict(self) -> dict[str, Any]:
        """Baselines and counts, for checkpoints."""
        return {"baselines": dict(self.baselines), "counts": dict(self.counts)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        self.baselines = {str(k): float(v) for k, v in state["baselines"].items()}
        self.counts = {str(k): int(v) for k, v in state["counts"].items()}


def expected_score(rating_a: float, rating_b: float) -> float:
    """Elo's expected score of a player rated ``rating_a`` against one rated ``rating_b``."""
    return 1.0 / (1.0 + 10.0 ** ((rating_b - rating_a) / 400.0))


@dataclass(frozen=True)
class EloUpdate:
    """One rated game."""

    player: str
    """The first player (usually the learner)."""
    opponent: str
    """The second player."""
    score: float
    """The first player's score: 1 win, 0.5 draw, 0 loss."""
    player_rating: float
    """The first player's rating after the game."""
    opponent_rating: float
    """The second player's rating after the game."""


@dataclass
class EloRatings:
    """Elo ratings updated after each game.

    Anchors (e.g. a scripted ``random`` opponent) keep their rating fixed, so ratings stay
    comparable across runs; their games still move the other player's rating.
    """

    k: float = 32.0
    """The update's step size."""
    initial: float = 1000.0
    """Rating of a new player."""
    anchors: dict[str, float] = field(default_factory=dict)
    """Players with a fixed rating."""
    ratings: dict[str, float] = field(default_factory=dict)
    """Current rating per player (anchors included once seen)."""
    games: dict[str, int] = field(default_factory=dict)
    """Rated games per player."""

    def __post_init__(self) -> None:
        if not (self.k > 0 and math.isfinite(self.k)):
            raise ValueError(f"Elo k must be a finite number > 0, got {self.k}")
        for name, value in self.anchors.items():
            self.ratings[name] = float(value)

    def rating(self, player: str) -> float:
        """The player's rating (``initial`` for a new one)."""
        return self.ratings.get(player, self.anchors.get(player, self.initial))

    def add(self, player: str, rating: float | None = None) -> None:
        """Register a player (e.g. a snapshot inheriting the learner's rating)."""
        self.ratings[player] = float(self.rating(player) if rating is None else rating)

    def update(self, player: str, opponent: str, score: float) -> EloUpdate:
        """Rate one game between ``player`` and ``opponent``; ``score`` is the player's.

        Raises:
            ValueError: ``score`` outside [0, 1], or a player rated against itself.
        """
        if not 0.0 <= score <= 1.0:
            raise ValueError(f"Elo score must be in [0, 1] (1 win, 0.5 draw, 0 loss), got {score}")
        if player == opponent:
            raise ValueError(f"cannot rate {player!r} against itself (self-play games are unrated)")
        ra, rb = self.rating(player), self.rating(opponent)
        ea = expected_score(ra, rb)
        if player not in self.anchors:
            self.ratings[player] = ra + self.k * (score - ea)
        else:
            self.ratings[player] = ra
        if opponent not in self.anchors:
            self.ratings[opponent] = rb + self.k * ((1.0 - score) - (1.0 - ea))
        else:
            self.ratings[opponent] = rb
        for p in (player, opponent):
            self.games[p] = self.games.get(p, 0) + 1
        return EloUpdate(player, opponent, score, self.ratings[player], self.ratings[opponent])

    def state_dict(self) -> dict[str, Any]:
        """Ratings and game counts, for checkpoints."""
        return {"ratings": dict(self.ratings), "games": dict(self.games)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        self.ratings = {str(k): float(v) for k, v in state["ratings"].items()}
        self.games = {str(k): int(v) for k, v in state["games"].items()}

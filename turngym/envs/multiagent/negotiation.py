"""``turngym/Negotiation-v0``: split a pool of items with private values (zero-sum).

A simple negotiation in the spirit of SPIRAL's third game (Liu et al., 2025) and of "Deal or
No Deal?" (Lewis et al., 2017): a pool of books, hats and balls is to be split between two
players. Each player values every item type privately; the values are drawn so that the
whole pool is worth ``pool_value`` to each player.

Protocol (PettingZoo AEC): players alternate, ``player_0`` first (``reset(options=
{"swap_roles": True})`` makes ``player_1`` first). A move is either

- ``[propose B H L]``: "I take B books, H hats and L balls; you get the rest" (replaces any
  earlier offer), or
- ``[accept]``: take the other player's standing offer, which ends the game.

After ``max_moves`` moves without a deal the game ends with no deal. Each observation holds
the pool, the agent's own values and the other player's latest offer.

Reward (zero-sum): with a deal, each player's score is the value of what it gets divided by
``pool_value`` (in [0, 1]); its reward is its score minus the other's score. No deal gives
0 each; a forfeit gives -1 / +1. Retry penalties come on top.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from turngym.core.messages import Message
from turngym.envs.multiagent.base import MoveResult, TextGameEnv, parse_bracketed_move

__all__ = ["ITEMS", "NegotiationEnv", "random_move", "strong_move"]

ITEMS: tuple[str, ...] = ("books", "hats", "balls")


class NegotiationEnv(TextGameEnv):
    """Split a pool of items with private values; reward = own score - other's (zero-sum).

    See the module docstring for the protocol.

    Args:
        max_moves: Moves (by both players together) before the game ends without a deal.
        pool_value: What the whole pool is worth to each player.
        illegal_move_rule, max_retries, illegal_move_penalty, max_action_chars, render_mode:
            See :class:`~turngym.envs.multiagent.base.TextGameEnv`.
    """

    metadata: ClassVar[dict[str, Any]] = {**TextGameEnv.metadata, "name": "negotiation_v0"}
    reset_options: ClassVar[tuple[str, ...]] = ("swap_roles", "counts", "values")

    def __init__(self, *, max_moves: int = 6, pool_value: int = 10, **kwargs: Any):
        super().__init__(**kwargs)
        if not isinstance(max_moves, int) or max_moves < 2:
            raise ValueError(
                f"max_moves must be an int >= 2 (a proposal and a reply), got {max_moves!r}"
            )
        if not isinstance(pool_value, int) or pool_value < 1:
            raise ValueError(f"pool_value must be a positive int, got {pool_value!r}")
        self.max_moves = max_moves
        self.pool_value = pool_value
        self.counts: tuple[int, ...] = ()
        self.values: dict[str, tuple[int, ...]] = {}
        self.offer: tuple[str, tuple[int, ...]] | None = None
        self.moves = 0
        self.order: list[str] = list(self.possible_agents)

    # ---- setup --------------------------------------------------------------------------

    def _has_valuation(self) -> bool:
        a, b, c = self.counts
        top = self.pool_value + 1
        return any(
            a * x + b * y + c * z == self.pool_value
            for x in range(top)
            for y in range(top)
            for z in range(top)
        )

    def _draw_values(self, rng: np.random.Generator) -> tuple[int, ...]:
        while True:  # rejection sampling: a few dozen draws at most for these sizes
            values = tuple(int(v) for v in rng.integers(0, self.pool_value + 1, size=len(ITEMS)))
            if sum(c * v for c, v in zip(self.counts, values, strict=True)) == self.pool_value:
                return values

    def new_game(
        self, rng: np.random.Generator, options: dict[str, Any]
    ) -> tuple[dict[str, list[Message]], str]:
        self.order = list(
            self.possible_agents[::-1] if options.get("swap_roles") else self.possible_agents
        )
        if "counts" in options:
            self.counts = tuple(int(c) for c in options["counts"])
            if len(self.counts) != len(ITEMS) or min(self.counts) < 0:
                raise ValueError(
                    f"options['counts'] must be {len(ITEMS)} ints >= 0, got {self.counts}"
                )
            if "values" not in options and not self._has_valuation():
                raise ValueError(
                    f"no item values make counts {self.counts} worth pool_value={self.pool_value}; "
                    "choose other counts or pass options['values']"
                )
        else:
            while True:  # at least 4 items, and counts that some values add up to pool_value
                self.counts = tuple(int(c) for c in rng.integers(1, 4, size=len(ITEMS)))
                if sum(self.counts) >= 4 and self._has_valuation():
                    break
        if "values" in options:
            self.values = {
                a: tuple(int(v) for v in options["values"][a]) for a in self.possible_agents
            }
        else:
            self.values = {a: self._draw_values(rng) for a in self.possible_agents}
        for agent, vals in self.values.items():
            total = sum(c * v for c, v in zip(self.counts, vals, strict=True))
            if len(vals) != len(ITEMS) or total != self.pool_value:
                raise ValueError(
                    f"values of {agent} must be {len(ITEMS)} ints worth "
                    f"pool_value={self.pool_value} "
                    f"for counts {self.counts}, got {vals} (worth {total})"
                )
        self.offer = None
        self.moves = 0
        opening = {a: [Message("system", self._rules(a))] for a in self.possible_agents}
        opening[self.order[0]].append(Message("user", "You move first. Make a proposal."))
        return opening, self.order[0]

    def _rules(self, agent: str) -> str:
        pool = ", ".join(f"{c} {name}" for c, name in zip(self.counts, ITEMS, strict=True))
        vals = ", ".join(f"{name}: {v}" for name, v in zip(ITEMS, self.values[agent], strict=True))
        return (
            f"You are negotiating how to split a pool of items: {pool}. Your private values per "
            f"item are {vals} (the pool is worth {self.pool_value} to you; the other player "
            "values items differently and you do not know how). Your score is the value you get "
            "divided by the pool's worth, and you win by scoring more than the other player. "
            "Each turn either propose what YOU take with [propose B H L] (numbers of books, hats, "
            "balls; the other player gets the rest), or accept the other player's latest offer "
            f"with [accept]. After {self.max_moves} moves in total without a deal, nobody gets "
            "anything. You may think first; only the last bracketed move counts."
        )

    def role(self, agent: str) -> str:
        return "first" if agent == self.order[0] else "second"

    # ---- moves --------------------------------------------------------------------------

    def value(self, agent: str, bundle: tuple[int, ...]) -> int:
        """What ``bundle`` (counts per item type) is worth to ``agent``."""
        return sum(b * v for b, v in zip(bundle, self.values[agent], strict=True))

    def offered_to(self, agent: str) -> tuple[int, ...] | None:
        """What ``agent`` would get by accepting the standing offer (None: no offer for it)."""
        if self.offer is None or self.offer[0] == agent:
            return None
        return tuple(c - t for c, t in zip(self.counts, self.offer[1], strict=True))

    def apply_move(self, agent: str, text: str) -> MoveResult:
        move = parse_bracketed_move(text) or ""
        words = move.split()
        opponent = self.other(agent)
        if words == ["accept"]:
            mine = self.offered_to(agent)
            if mine is None:
                return MoveResult(
                    legal=False,
                    error="there is no offer from the other player to accept; "
                    "make one with [propose B H L].",
                )
            self.moves += 1
            proposer_gets = self.offer[1] if self.offer else ()
            got = {agent: mine, opponent: proposer_gets}
            scores = {a: self.value(a, got[a]) / self.pool_value for a in self.possible_agents}
            rewards = {a: scores[a] - scores[self.other(a)] for a in self.possible_agents}
            self.log(f"{agent} accepts: {got}")
            closing = "Deal. " + "; ".join(
                f"{a} gets {self._bundle_text(got[a])} (score {scores[a]:.2f})"
                for a in self.possible_agents
            )
            return MoveResult(
                messages={a: [Message("user", closing)] for a in self.possible_agents},
                rewards=rewards,
                done=True,
                outcome={"deal": True, "scores": scores},
            )
        if (
            len(words) == 1 + len(ITEMS)
            and words[0] == "propose"
            and all(w.isdigit() for w in words[1:])
        ):
            take = tuple(int(w) for w in words[1:])
            if any(t > c for t, c in zip(take, self.counts, strict=True)):
                return MoveResult(
                    legal=False,
                    error="you cannot take more than the pool holds "
                    f"({self._bundle_text(self.counts)}).",
                )
            self.offer = (agent, take)
            self.moves += 1
            self.log(f"{agent} proposes to take {take}")
            if self.moves >= self.max_moves:
                closing = f"No deal after {self.max_moves} moves: nobody gets anything."
                return MoveResult(
                    messages={a: [Message("user", closing)] for a in self.possible_agents},
                    rewards=dict.fromkeys(self.possible_agents, 0.0),
                    done=True,
                    outcome={"deal": False, "scores": dict.fromkeys(self.possible_agents, 0.0)},
                )
            give = tuple(c - t for c, t in zip(self.counts, take, strict=True))
            left = self.max_moves - self.moves
            text_out = (
                f"The other player proposes to take {self._bundle_text(take)}, leaving you "
                f"{self._bundle_text(give)} (worth {self.value(opponent, give)} to you). "
                f"[accept] or make a counter-proposal; {left} move(s) left."
            )
            return MoveResult(messages={opponent: [Message("user", text_out)]})
        return MoveResult(
            legal=False,
            error="write [propose B H L] with three whole numbers (books, hats, balls you take) "
            f"or [accept]; got {move or 'nothing'!r}.",
        )

    def _bundle_text(self, bundle: tuple[int, ...]) -> str:
        return ", ".join(f"{n} {name}" for n, name in zip(bundle, ITEMS, strict=True))

    def board_text(self) -> str:
        vals = "; ".join(f"{a} values {v}" for a, v in self.values.items())
        return (
            f"pool {self.counts} ({', '.join(ITEMS)}); {vals}; standing offer {self.offer}; "
            f"moves {self.moves}/{self.max_moves}"
        )

    def probe_moves(self, agent: str) -> list[str]:
        moves = [f"[propose {' '.join(str(c) for c in self.counts)}]", "[propose 0 0 0]"]
        return [*moves, "[accept]"] if self.offered_to(agent) is not None else moves


def random_move(env: NegotiationEnv, agent: str, rng: np.random.Generator) -> str:
    """Accept a standing offer half the time, else propose a uniformly random split."""
    if env.offered_to(agent) is not None and rng.random() < 0.5:
        return "[accept]"
    take = [int(rng.integers(0, c + 1)) for c in env.counts]
    return f"[propose {' '.join(map(str, take))}]"


def strong_move(env: NegotiationEnv, agent: str, rng: np.random.Generator) -> str:
    """Accept offers worth at least 60% of the pool to itself; else ask for every item it
    values, leaving the other player the items worth nothing to it.

    It reads only its own values and the public offers.
    """
    mine = env.offered_to(agent)
    if mine is not None and env.value(agent, mine) >= 0.6 * env.pool_value:
        return "[accept]"
    take = [c if v > 0 else 0 for c, v in zip(env.counts, env.values[agent], strict=True)]
    return f"<think>keep what I value</think>[propose {' '.join(map(str, take))}]"

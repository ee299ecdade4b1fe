"""``turngym/TicTacToe-v0``: tic-tac-toe in text, one of SPIRAL's three zero-sum self-play games.

SPIRAL (Liu et al., 2025, "SPIRAL: Self-Play on Zero-Sum Games Incentivizes Reasoning via
Multi-Agent Multi-Turn Reinforcement Learning") trains one model on TicTacToe, Kuhn Poker and
Simple Negotiation against itself.

Protocol (PettingZoo AEC): ``player_0`` plays X and moves first (``reset(options={"swap_roles":
True})`` makes ``player_1`` X). Cells are numbered 0-8, row by row; a move is the cell in
square brackets, e.g. ``[4]`` (a bare ``4`` works too). Each observation shows the board and
the opponent's last move. A move on an occupied or non-existent cell is illegal (see
``illegal_move_rule`` in :mod:`turngym.envs.multiagent.base`).

Reward (zero-sum): +1 to the winner and -1 to the loser when the game ends, 0 each for a draw;
a forfeit scores like a loss. Retry penalties (``illegal_move_penalty``) come on top.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from turngym.core.messages import Message
from turngym.envs.multiagent.base import MoveResult, TextGameEnv, parse_bracketed_move

__all__ = ["TicTacToeEnv", "random_move", "strong_move"]

LINES: tuple[tuple[int, int, int], ...] = (
    (0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6),
)  # fmt: skip

_RULES = (
    "You are playing tic-tac-toe as {mark}. The board has cells numbered 0 to 8, row by row:\n"
    " 0 | 1 | 2\n 3 | 4 | 5\n 6 | 7 | 8\n"
    "Players take turns placing their mark on an empty cell; three in a row, column or "
    "diagonal wins. Give your move as the cell number in square brackets, e.g. [4]. "
    "You may think first; only the last bracketed number counts."
)


def winner_of(board: list[str]) -> str | None:
    """``"X"`` or ``"O"`` when that mark has three in a line, else None."""
    for a, b, c in LINES:
        if board[a] != " " and board[a] == board[b] == board[c]:
            return board[a]
    return None


def board_string(board: list[str]) -> str:
    """The board with free cells shown by their numbers."""
    cells = [mark if mark != " " else str(i) for i, mark in enumerate(board)]
    rows = [" " + " | ".join(cells[r * 3 : r * 3 + 3]) for r in range(3)]
    return "\n---+---+---\n".join(rows)


class TicTacToeEnv(TextGameEnv):
    """Tic-tac-toe in text; +1 win, -1 loss, 0 draw (zero-sum). See the module docstring.

    Args:
        illegal_move_rule, max_retries, illegal_move_penalty, max_action_chars, render_mode:
            See :class:`~turngym.envs.multiagent.base.TextGameEnv`.
    """

    metadata: ClassVar[dict[str, Any]] = {
        **TextGameEnv.metadata,
        "name": "tictactoe_v0",
    }
    reset_options: ClassVar[tuple[str, ...]] = ("swap_roles",)

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.board: list[str] = [" "] * 9
        self.marks: dict[str, str] = {}

    def new_game(
        self, rng: np.random.Generator, options: dict[str, Any]
    ) -> tuple[dict[str, list[Message]], str]:
        self.board = [" "] * 9
        x, o = self.possible_agents[::-1] if options.get("swap_roles") else self.possible_agents
        self.marks = {x: "X", o: "O"}
        opening = {
            x: [
                Message("system", _RULES.format(mark="X")),
                Message("user", f"You move first.\n{board_string(self.board)}\nYour move?"),
            ],
            o: [Message("system", _RULES.format(mark="O"))],
        }
        return opening, x

    def role(self, agent: str) -> str:
        return self.marks.get(agent, "?").lower()

    def legal_cells(self) -> list[int]:
        """The free cells."""
        return [i for i, mark in enumerate(self.board) if mark == " "]

    def apply_move(self, agent: str, text: str) -> MoveResult:
        move = parse_bracketed_move(text)
        free = self.legal_cells()
        if move is None or not move.isdigit() or int(move) not in range(9):
            return MoveResult(
                legal=False,
                error=f"no cell number found; write one of {free} in brackets, e.g. [{free[0]}].",
            )
        cell = int(move)
        if cell not in free:
            return MoveResult(legal=False, error=f"cell {cell} is taken; free cells: {free}.")
        mark = self.marks[agent]
        self.board[cell] = mark
        self.log(f"{agent} ({mark}) -> {cell}")
        opponent = self.other(agent)
        board = board_string(self.board)
        winner = winner_of(self.board)
        if winner is not None or not self.legal_cells():
            if winner is None:
                rewards = {agent: 0.0, opponent: 0.0}
                verdict, outcome = "It is a draw.", {"winner": None}
            else:
                rewards = {agent: 1.0, opponent: -1.0}
                verdict, outcome = f"{mark} wins.", {"winner": agent}
            return MoveResult(
                messages={
                    agent: [Message("user", f"{board}\nGame over. {verdict}")],
                    opponent: [
                        Message("user", f"{mark} played [{cell}].\n{board}\nGame over. {verdict}")
                    ],
                },
                rewards=rewards,
                done=True,
                outcome=outcome,
            )
        return MoveResult(
            messages={opponent: [Message("user", f"{mark} played [{cell}].\n{board}\nYour move?")]}
        )

    def board_text(self) -> str:
        return board_string(self.board)

    def probe_moves(self, agent: str) -> list[str]:
        return [f"[{cell}]" for cell in self.legal_cells()]

    def legal_moves(self, agent: str) -> list[str]:
        return self.probe_moves(agent)


def random_move(env: TicTacToeEnv, agent: str, rng: np.random.Generator) -> str:
    """A uniformly random free cell."""
    return f"[{int(rng.choice(env.legal_cells()))}]"


def strong_move(env: TicTacToeEnv, agent: str, rng: np.random.Generator) -> str:
    """Win if possible, else block, else centre, else a corner, else any free cell."""
    board, mine = env.board, env.marks[agent]
    theirs = "O" if mine == "X" else "X"
    free = env.legal_cells()
    for mark in (mine, theirs):
        for cell in free:
            trial = list(board)
            trial[cell] = mark
            if winner_of(trial) == mark:
                return f"<think>{'win' if mark == mine else 'block'}</think>[{cell}]"
    for group in ([4], [0, 2, 6, 8], free):
        options = [c for c in group if c in free]
        if options:
            return f"[{int(rng.choice(options))}]"
    raise RuntimeError("strong_move called on a full board")

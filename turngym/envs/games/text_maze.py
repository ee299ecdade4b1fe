"""``turngym/TextMaze-v0``: find the exit of a seeded grid maze, seeing only the adjacent cells.

In the spirit of LMRL-Gym's partially observed maze task (Abdulhai et al., 2023): the agent
never sees the map, only what lies next to it, so it has to remember where it has been.

Mazes are perfect mazes (exactly one path between two cells) carved by a seeded
depth-first backtracker on a ``height`` x ``width`` grid; the exit is the cell farthest from
the start. A maze is stored as text rows, ``#`` for walls and ``.`` for open floor: cell
``(r, c)`` is character ``(2r + 1, 2c + 1)``, and the character between two cells says
whether a wall separates them.

Protocol:
    * Observation at reset: a system message with the rules, a user message describing the
      four directions around the start, e.g. ``north: wall | east: open | south: open |
      west: wall``. A direction holding the exit reads ``exit``.
    * Each assistant turn is one move: a message naming ``north``, ``south``, ``east`` or
      ``west`` (or ``<move>east</move>``, or just ``n``/``s``/``e``/``w``). When several
      directions are named, the last one counts, so agents may think aloud first.
    * The reply says whether the move happened ("You move east.") or hit a wall ("A wall
      blocks the way east; you stay where you are."), then describes the new surroundings.
      A message naming no direction gets a reminder and costs a step.

Reward: ``-step_cost`` on every turn, plus ``goal_reward`` on the move that reaches the exit,
which ends the episode (``terminated``, ``info["success"] = True``). There is no losing ending:
the registered turn cap truncates an episode that wanders (``stop_reason="turn_limit"``).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np

from turngym.core.messages import Message
from turngym.envs.base import StepOutcome, Task, TextEnv, seeded_rng
from turngym.envs.games.common import check_split, extract_tag, split_of

__all__ = ["DIRECTIONS", "TextMazeEnv", "describe_surroundings", "generate_maze", "parse_move"]

DIRECTIONS: dict[str, tuple[int, int]] = {
    "north": (-1, 0),
    "east": (0, 1),
    "south": (1, 0),
    "west": (0, -1),
}
"""Moves in (row, column) steps; north is up."""
_DIRECTION_WORD = re.compile(r"\b(north|south|east|west)\b")
_LETTER = {"n": "north", "s": "south", "e": "east", "w": "west"}

Cell = tuple[int, int]


def generate_maze(rng: np.random.Generator, width: int, height: int) -> list[str]:
    """Carve a perfect maze with an iterative depth-first backtracker.

    Args:
        rng: Source of randomness (the maze depends only on its state).
        width: Cells per row, >= 2.
        height: Rows of cells, >= 2.

    Returns:
        ``2 * height + 1`` strings of ``2 * width + 1`` characters, ``#`` or ``.``.
    """
    grid = [["#"] * (2 * width + 1) for _ in range(2 * height + 1)]
    start = (int(rng.integers(height)), int(rng.integers(width)))
    seen = {start}
    stack = [start]
    grid[2 * start[0] + 1][2 * start[1] + 1] = "."
    while stack:
        r, c = stack[-1]
        options = [
            (dr, dc)
            for dr, dc in DIRECTIONS.values()
            if 0 <= r + dr < height and 0 <= c + dc < width and (r + dr, c + dc) not in seen
        ]
        if not options:
            stack.pop()
            continue
        dr, dc = options[int(rng.integers(len(options)))]
        nxt = (r + dr, c + dc)
        grid[2 * r + 1 + dr][2 * c + 1 + dc] = "."
        grid[2 * nxt[0] + 1][2 * nxt[1] + 1] = "."
        seen.add(nxt)
        stack.append(nxt)
    return ["".join(row) for row in grid]


def _open(grid: Sequence[str], cell: Cell, direction: str) -> bool:
    dr, dc = DIRECTIONS[direction]
    return grid[2 * cell[0] + 1 + dr][2 * cell[1] + 1 + dc] == "."


def _distances(grid: Sequence[str], start: Cell) -> dict[Cell, int]:
    dist = {start: 0}
    queue = deque([start])
    while queue:
        cell = queue.popleft()
        for name, (dr, dc) in DIRECTIONS.items():
            nxt = (cell[0] + dr, cell[1] + dc)
            if nxt not in dist and _open(grid, cell, name):
                dist[nxt] = dist[cell] + 1
                queue.append(nxt)
    return dist


def describe_surroundings(grid: Sequence[str], cell: Cell, goal: Cell) -> str:
    """``"north: wall | east: open | south: exit | west: wall"`` for the agent at ``cell``."""
    parts = []
    for name, (dr, dc) in DIRECTIONS.items():
        if not _open(grid, cell, name):
            what = "wall"
        elif (cell[0] + dr, cell[1] + dc) == goal:
            what = "exit"
        else:
            what = "open"
        parts.append(f"{name}: {what}")
    return " | ".join(parts)


def parse_move(action: str) -> str | None:
    """The direction an assistant message asks for (the last one named), or None."""
    tagged = extract_tag(action, "move")
    text = (tagged if tagged is not None else action).lower()
    words = _DIRECTION_WORD.findall(text)
    if words:
        return words[-1]
    return _LETTER.get(text.strip().strip(".!"))


_SYSTEM_PROMPT = (
    "You are in a maze of {height} by {width} rooms and must find the exit. You cannot see the "
    "map: after each move you are told what lies in each direction next to you (wall, open "
    "or exit). Reply with one direction per message: north, south, east or west. Each move "
    "costs a little; reaching the exit wins. Remember where you have been."
)


class TextMazeEnv(TextEnv):
    """A partially observed grid maze played in text; see the module docstring.

    ``info`` of every step holds ``steps``, ``wall_bumps``, ``invalid_moves`` and
    ``cells_visited``; the step that reaches the exit adds ``success``, and every step holds
    ``shortest_path`` (start to exit) for reference.

    Args:
        width: Cells per row (2 to 20).
        height: Rows of cells (2 to 20).
        seed: Which mazes: task ``i`` of a split depends only on (seed, size, split, i).
        test_fraction: Share of maze layouts reserved for the test split (by a hash).
        num_test_tasks: Size of the (finite) test split; the train split is unbounded.
        goal_reward: Added on the move that reaches the exit.
        step_cost: Subtracted on every turn (>= 0).
        show_position: Also tell the agent its (row, column), making the task fully
            observed up to the walls (off by default).
        render_mode: ``"ansi"`` or None.
    """

    def __init__(
        self,
        *,
        width: int = 5,
        height: int = 5,
        seed: int = 0,
        test_fraction: float = 0.2,
        num_test_tasks: int = 100,
        goal_reward: float = 1.0,
        step_cost: float = 0.01,
        show_position: bool = False,
        render_mode: str | None = None,
    ):
        super().__init__(render_mode=render_mode)
        for name, value in (("width", width), ("height", height)):
            if not isinstance(value, int) or not 2 <= value <= 20:
                raise ValueError(f"{name} must be an int from 2 to 20, got {value!r}")
        if not 0.0 < test_fraction < 1.0:
            raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
        if num_test_tasks < 1:
            raise ValueError(f"num_test_tasks must be >= 1, got {num_test_tasks!r}")
        if step_cost < 0:
            raise ValueError(f"step_cost must be >= 0, got {step_cost!r}")
        self.width, self.height = width, height
        self.seed = int(seed)
        self.test_fraction = float(test_fraction)
        self.num_test_tasks = int(num_test_tasks)
        self.goal_reward = float(goal_reward)
        self.step_cost = float(step_cost)
        self.show_position = bool(show_position)
        self.grid: list[str] = []
        self.position: Cell = (0, 0)
        self.goal: Cell = (0, 0)
        self._visited: set[Cell] = set()
        self._shortest = 0
        self._counts = self._zero_counts()

    # ---- tasks --------------------------------------------------------------------------

    def num_tasks(self, split: str = "train") -> int | None:
        check_split(split)
        return None if split == "train" else self.num_test_tasks

    def get_task(self, index: int, split: str = "train") -> Task:
        check_split(split)
        if index < 0 or (split == "test" and index >= self.num_test_tasks):
            raise IndexError(f"task index {index} is out of range for the {split} split")
        rng = seeded_rng("text-maze", self.seed, self.width, self.height, split, index)
        for _ in range(10_000):
            grid = generate_maze(rng, self.width, self.height)
            start = (int(rng.integers(self.height)), int(rng.integers(self.width)))
            dist = _distances(grid, start)
            far = max(dist.values())
            ends = sorted(cell for cell, d in dist.items() if d == far)
            goal = ends[int(rng.integers(len(ends)))]
            key = "\n".join(grid) + f"|{start}|{goal}"
            if split_of(key, self.test_fraction, "text-maze") == split:
                return {
                    "id": f"maze-{self.width}x{self.height}-{self.seed}-{split}-{index}",
                    "grid": grid,
                    "start": list(start),
                    "goal": list(goal),
                }
        raise RuntimeError(f"could not draw a {split} maze in 10000 tries")  # pragma: no cover

    def on_reset(self, task: Task) -> None:
        grid = task.get("grid")
        if not isinstance(grid, list) or not grid or not all(isinstance(r, str) for r in grid):
            raise ValueError("TextMaze task needs 'grid': a list of strings of '#' and '.'")
        rows, cols = len(grid), len(grid[0])
        if rows % 2 == 0 or cols % 2 == 0 or any(len(r) != cols for r in grid):
            raise ValueError(
                "TextMaze task 'grid' must be 2*height+1 rows of 2*width+1 characters each"
            )
        if set("".join(grid)) - {"#", "."}:
            raise ValueError("TextMaze task 'grid' may hold only '#' (wall) and '.' (open)")
        height, width = rows // 2, cols // 2
        cells = {}
        for key in ("start", "goal"):
            value = task.get(key)
            if (
                not isinstance(value, (list, tuple))
                or len(value) != 2
                or not (0 <= int(value[0]) < height and 0 <= int(value[1]) < width)
            ):
                raise ValueError(
                    f"TextMaze task {key!r} must be [row, column] inside the {height}x{width} grid"
                )
            cells[key] = (int(value[0]), int(value[1]))
        self.grid = list(grid)
        self.position, self.goal = cells["start"], cells["goal"]
        dist = _distances(self.grid, self.position)
        if self.goal not in dist:
            raise ValueError("TextMaze task: the goal cannot be reached from the start")
        self._shortest = dist[self.goal]
        self._visited = {self.position}
        self._counts = self._zero_counts()

    def initial_messages(self, task: Task) -> list[Message]:
        height, width = len(self.grid) // 2, len(self.grid[0]) // 2
        return [
            Message("system", _SYSTEM_PROMPT.format(height=height, width=width)),
            Message("user", f"You are at the start. {self._surroundings()}"),
        ]

    # ---- one turn -----------------------------------------------------------------------

    def on_action(self, action: str) -> StepOutcome:
        self._counts["steps"] += 1
        reward = -self.step_cost
        direction = parse_move(action)
        if direction is None:
            self._counts["invalid_moves"] += 1
            text = "I did not understand that move. Reply with north, south, east or west."
        elif not _open(self.grid, self.position, direction):
            self._counts["wall_bumps"] += 1
            text = f"A wall blocks the way {direction}; you stay where you are."
        else:
            dr, dc = DIRECTIONS[direction]
            self.position = (self.position[0] + dr, self.position[1] + dc)
            self._visited.add(self.position)
            if self.position == self.goal:
                return StepOutcome(
                    reward=reward + self.goal_reward, done=True, info={"success": True}
                )
            text = f"You move {direction}."
        return StepOutcome(
            messages=[Message("user", f"{text} {self._surroundings()}")], reward=reward
        )

    def _surroundings(self) -> str:
        where = f"You are at row {self.position[0]}, column {self.position[1]}. "
        return (where if self.show_position else "") + describe_surroundings(
            self.grid, self.position, self.goal
        )

    def episode_info(self) -> dict[str, Any]:
        return {
            **self._counts,
            "cells_visited": len(self._visited),
            "shortest_path": self._shortest,
        }

    def probe_actions(self) -> list[str]:
        return ["north", "I will go <move>east</move>", "s", "Let me think.", ""]

    def render(self) -> str | None:
        """The map with the agent (``A``) and exit (``X``), then the conversation."""
        if self.render_mode != "ansi" or not self.grid:
            return super().render()
        rows = [list(r) for r in self.grid]
        rows[2 * self.goal[0] + 1][2 * self.goal[1] + 1] = "X"
        rows[2 * self.position[0] + 1][2 * self.position[1] + 1] = "A"
        conversation = super().render() or ""
        return "\n".join("".join(r) for r in rows) + "\n" + conversation

    @staticmethod
    def _zero_counts() -> dict[str, int]:
        return {"steps": 0, "wall_bumps": 0, "invalid_moves": 0}

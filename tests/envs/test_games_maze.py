"""turngym/TextMaze-v0: maze generation, partial observations, moves, rewards, splits."""

from __future__ import annotations

import pytest

import turngym
from turngym.envs.base import seeded_rng
from turngym.envs.games.text_maze import (
    TextMazeEnv,
    describe_surroundings,
    generate_maze,
    parse_move,
)

# 2 x 2 rooms: (0,0)-(0,1) open, (0,1)-(1,1) open, (1,1)-(1,0) open, (0,0)-(1,0) walled.
# From the start (0,0) the exit (1,0) is three moves away: east, south, west.
U_MAZE = {
    "id": "u",
    "grid": ["#####", "#...#", "###.#", "#...#", "#####"],
    "start": [0, 0],
    "goal": [1, 0],
}


def _open_edges(grid: list[str]) -> int:
    return sum(
        grid[r][c] == "."
        for r in range(1, len(grid) - 1)
        for c in range(1, len(grid[0]) - 1)
        if (r % 2) != (c % 2)  # between two cells
    )


@pytest.mark.parametrize(("width", "height"), [(2, 2), (5, 5), (7, 3)])
def test_generated_mazes_are_perfect(width: int, height: int) -> None:
    grid = generate_maze(seeded_rng("t", width, height), width, height)
    assert len(grid) == 2 * height + 1 and {len(r) for r in grid} == {2 * width + 1}
    # a spanning tree: every cell open, exactly cells - 1 passages, borders closed
    assert all(grid[2 * r + 1][2 * c + 1] == "." for r in range(height) for c in range(width))
    assert _open_edges(grid) == width * height - 1
    assert set(grid[0]) == set(grid[-1]) == {"#"}
    env = TextMazeEnv(width=width, height=height)
    env.reset(options={"task": {"id": "g", "grid": grid, "start": [0, 0], "goal": [0, 0]}})
    assert env.episode_info()["shortest_path"] == 0  # reset checks connectivity via BFS


def test_tasks_are_seeded_and_splits_disjoint() -> None:
    env = TextMazeEnv()
    assert env.num_tasks("train") is None and env.num_tasks("test") == 100
    assert env.get_task(3, "train") == TextMazeEnv().get_task(3, "train")
    assert env.get_task(3, "train") != TextMazeEnv(seed=1).get_task(3, "train")
    layouts = {s: {tuple(env.get_task(i, s)["grid"]) for i in range(40)} for s in ("train", "test")}
    assert not layouts["train"] & layouts["test"]
    task = env.get_task(0, "test")
    env.reset(options={"task": task})
    assert env.episode_info()["shortest_path"] >= 4  # the exit is the farthest cell


def test_observations_show_only_adjacent_cells() -> None:
    env = TextMazeEnv()
    obs, _ = env.reset(options={"task": U_MAZE})
    assert (
        obs[1].text == "You are at the start. north: wall | east: open | south: wall | west: wall"
    )
    assert "row" not in obs[1].text  # position hidden by default
    assert describe_surroundings(U_MAZE["grid"], (1, 1), (1, 0)).endswith("west: exit")


def test_moves_walls_and_reaching_the_exit() -> None:
    env = TextMazeEnv(step_cost=0.05)
    env.reset(options={"task": U_MAZE})
    obs, reward, terminated, _, info = env.step("south")
    assert obs[0].text.startswith("A wall blocks the way south; you stay where you are.")
    assert reward == pytest.approx(-0.05) and info["wall_bumps"] == 1
    obs, *_ = env.step("Not west or north... I go <move>east</move>.")
    assert obs[0].text == "You move east. north: wall | east: wall | south: open | west: open"
    obs, _, _, _, info = env.step("hmm")
    assert "did not understand" in obs[0].text and info["invalid_moves"] == 1
    obs, *_ = env.step("s")
    assert obs[0].text.endswith("west: exit")
    obs, reward, terminated, truncated, info = env.step("west")
    assert terminated and not truncated and obs == ()
    assert reward == pytest.approx(1.0 - 0.05) and info["success"] is True
    assert info["steps"] == 5 and info["cells_visited"] == 4 and info["shortest_path"] == 3


def test_show_position_and_render() -> None:
    env = TextMazeEnv(show_position=True, render_mode="ansi")
    obs, _ = env.reset(options={"task": U_MAZE})
    assert "You are at row 0, column 0." in obs[1].text
    env.step("east")
    assert env.render().splitlines()[:5] == ["#####", "#..A#", "###.#", "#X..#", "#####"]


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("north", "north"),
        ("Go EAST.", "east"),
        ("Not north; I'll go south", "south"),  # the last direction named
        ("<move>west</move> (north was a wall)", "west"),  # a tag wins
        ("w", "west"),
        ("it's late", None),
        ("", None),
    ],
)
def test_parse_move(action: str, expected: str | None) -> None:
    assert parse_move(action) == expected


def test_turn_cap_truncates_a_wandering_agent() -> None:
    env = turngym.make("turngym/TextMaze-v0")
    turngym.check_env(env)
    env.reset(seed=0, options={"task": U_MAZE})
    for turn in range(60):
        _, _, terminated, truncated, info = env.step("north")
        assert not terminated and truncated == (turn == 59)
    assert info["stop_reason"] == "turn_limit"


def test_bad_tasks_and_arguments_are_clear_errors() -> None:
    env = TextMazeEnv()
    with pytest.raises(ValueError, match="'grid'"):
        env.reset(options={"task": {"id": "x", "start": [0, 0], "goal": [0, 0]}})
    with pytest.raises(ValueError, match="only '#'"):
        env.reset(
            options={"task": {**U_MAZE, "grid": ["#####", "#.x.#", "###.#", "#...#", "#####"]}}
        )
    with pytest.raises(ValueError, match="'goal' must be"):
        env.reset(options={"task": {**U_MAZE, "goal": [5, 5]}})
    walled = {**U_MAZE, "grid": ["#####", "#.#.#", "#####", "#...#", "#####"]}
    with pytest.raises(ValueError, match="cannot be reached"):
        env.reset(options={"task": {**walled, "goal": [0, 1]}})
    with pytest.raises(ValueError, match="width"):
        TextMazeEnv(width=1)
    with pytest.raises(ValueError, match="step_cost"):
        TextMazeEnv(step_cost=-0.1)

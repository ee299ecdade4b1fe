"""Tests of turngym/VisualSearch-v0 (find a small detail in a large image with crop/zoom)."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import turngym
from turngym.core import ImagePart
from turngym.envs.visual_search import (
    SCENE_KINDS,
    VisualSearchOracle,
    generate_scene,
    normalize_answer,
    random_reply,
)

N_EPISODES = 20
SMALL = {"image_size": [800, 600], "overview_max_side": 320, "crop_max_side": 256}


def _crop(x1: int, y1: int, x2: int, y2: int) -> str:
    args = {"x1": x1, "y1": y1, "x2": x2, "y2": y2}
    return f"<tool_call>{json.dumps({'name': 'crop', 'arguments': args})}</tool_call>"


@pytest.mark.parametrize("use_zoom", [False, True], ids=["crop", "zoom"])
def test_oracle_solves_and_its_crops_hold_the_target(use_zoom: bool) -> None:
    env = turngym.make("turngym/VisualSearch-v0", **SMALL)
    kinds = set()
    for index in range(N_EPISODES):
        obs, info = env.reset(seed=index, options={"task_index": index, "split": "test"})
        oracle = VisualSearchOracle(env.unwrapped.scene, use_zoom=use_zoom)
        obs, reward, terminated, _, _ = env.step(oracle.act())
        assert not terminated and obs[0].role == "tool"
        assert isinstance(obs[0].content[1], ImagePart) and max(obs[0].images[0].size) == 256
        _, reward, terminated, _, info = env.step(oracle.act())
        assert terminated and reward == 1.0 and info["success"]
        assert info["crop_hit"] and info["num_crops"] == 1
        kinds.add(info["answer"] and env.unwrapped.scene.kind)
    assert kinds == set(SCENE_KINDS)


def test_random_policy_rarely_succeeds_and_misses_are_recorded() -> None:
    env = turngym.make("turngym/VisualSearch-v0", **SMALL)
    rng = np.random.default_rng(0)
    rewards, hits = [], []
    for index in range(N_EPISODES):
        env.reset(seed=index, options={"task_index": index})
        for _ in range(6):
            _, reward, terminated, truncated, info = env.step(random_reply(rng, (800, 600)))
            if terminated or truncated:
                break
        rewards.append(reward)
        hits.extend(c["contains_target"] for c in env.unwrapped.crops)
    assert np.mean(rewards) <= 0.15
    assert hits and not all(hits)  # random crops usually miss the target


def test_crop_far_from_target_is_marked_as_a_miss() -> None:
    env = turngym.make("turngym/VisualSearch-v0", **SMALL)
    env.reset(options={"task_index": 4})
    x1, y1, x2, y2 = env.unwrapped.scene.target_box
    far_x = 0 if x1 > 400 else 600
    assert env.step(_crop(far_x, 0, far_x + 150, 150))[4]["crop_hits"] == [False]
    assert env.step(_crop(x1 - 2, y1 - 2, x2 + 2, y2 + 2))[4]["crop_hits"] == [True]
    _, reward, _, _, info = env.step("<answer>definitely wrong</answer>")
    assert [c["contains_target"] for c in info["crops"]] == [False, True]
    assert reward == 0.0 and info["crop_hit"] and not info["success"]


def test_overview_is_downscaled_and_coordinates_are_full_size() -> None:
    env = turngym.make("turngym/VisualSearch-v0")  # the registered 1600x1200 default
    obs, info = env.reset(options={"task_index": 0})
    overview = obs[-1].images[0]
    assert overview.size == (640, 480) and "1600x1200" in obs[-1].text
    assert [t["function"]["name"] for t in info["tools"]] == ["crop", "zoom"]
    scene = env.unwrapped.scene
    assert scene.image.size == (1600, 1200)
    x1, y1, x2, y2 = scene.target_box
    assert (x2 - x1) * (y2 - y1) < 0.01 * 1600 * 1200  # the detail is small


@pytest.mark.parametrize(
    ("reply", "needle"),
    [
        (_crop(10, 10, 12, 12), "at least 16x16"),
        ('<tool_call>{"name": "crop", "arguments": {"x1": 1}}</tool_call>', "'y1' is required"),
        (
            '<tool_call>{"name": "crop", "arguments": {"x1": "a", "y1": 0, "x2": 9, "y2": 9}}'
            "</tool_call>",
            "'x1'",
        ),
        (
            '<tool_call>{"name": "zoom", "arguments": {"x": 1, "y": 1, "factor": 99}}</tool_call>',
            "between 1 and 32",
        ),
        ('<tool_call>{"name": "rotate", "arguments": {}}</tool_call>', "unknown tool"),
        ("<tool_call>{not json</tool_call>", "invalid JSON"),
        ("I think it is red", "Call crop or zoom"),
    ],
)
def test_bad_calls_become_observations(reply: str, needle: str) -> None:
    env = turngym.make("turngym/VisualSearch-v0", **SMALL)
    env.reset(options={"task_index": 1})
    obs, reward, terminated, _, info = env.step(reply)
    assert not terminated and reward == 0.0
    assert needle in " ".join(m.text for m in obs)


def test_answers_are_normalized_and_too_many_calls_are_capped() -> None:
    assert normalize_answer(" Red. ") == normalize_answer("red") == "red"
    env = turngym.make("turngym/VisualSearch-v0", max_calls_per_turn=1, **SMALL)
    env.reset(options={"task_index": 2})
    obs, *_ = env.step(_crop(0, 0, 100, 100) + _crop(100, 100, 200, 200))
    assert len(env.unwrapped.crops) == 1 and "were skipped" in obs[-1].text
    answer = env.unwrapped.scene.answer
    _, reward, terminated, _, _ = env.step(f"So: <answer> {answer.upper()} </answer>")
    assert terminated and reward == 1.0


def test_scenes_are_seeded_and_splits_differ() -> None:
    a = generate_scene("word", 3, "train", size=(800, 600))
    b = generate_scene("word", 3, "train", size=(800, 600))
    assert a.image.tobytes() == b.image.tobytes() and a.answer == b.answer
    train = {generate_scene("word", i, "train", size=(800, 600)).answer for i in range(8)}
    test = {generate_scene("word", i, "test", size=(800, 600)).answer for i in range(8)}
    assert not train & test
    with pytest.raises(ValueError, match="unknown visual-search kind"):
        generate_scene("face", 0)


def test_bad_constructor_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="image_size must be between"):
        turngym.make("turngym/VisualSearch-v0", image_size=(10, 10))
    with pytest.raises(ValueError, match="unknown visual-search kinds"):
        turngym.make("turngym/VisualSearch-v0", kinds=["face"])
    with pytest.raises(ValueError, match="unknown tool-call format"):
        turngym.make("turngym/VisualSearch-v0", tool_format="xml")


def test_check_env() -> None:
    turngym.check_env(turngym.make("turngym/VisualSearch-v0", **SMALL))


def test_play_saves_the_overview_and_crops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from turngym.cli import main

    stdin = _crop(0, 0, 200, 200) + "\n.\n<answer>x</answer>\n.\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    kwargs = json.dumps(SMALL)
    code = main(
        ["play", "turngym/VisualSearch-v0", "--kwargs", kwargs, "--image-dir", str(tmp_path)]
    )
    out = capsys.readouterr().out
    saved = sorted(tmp_path.glob("*.png"))
    assert code == 0 and "episode over" in out and len(saved) == 2
    assert Image.open(saved[0]).size == (320, 240) and Image.open(saved[1]).size == (256, 256)

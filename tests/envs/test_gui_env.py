"""Tests of turngym/GUI-v0 and turngym/GUIInverseDynamics-v0 (synthetic apps, Pillow screens)."""

from __future__ import annotations

import copy
import io
import sys
from collections import Counter
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from PIL import Image

import turngym
from turngym.core import ImagePart, Message
from turngym.envs.gui.actions import ActionParseError, parse_action
from turngym.envs.gui.app import App, Widget
from turngym.envs.gui.images import FrozenImage
from turngym.envs.gui.oracle import GuiOracle, latest_tree, parse_tree, random_action
from turngym.envs.gui.tasks import TASK_KINDS, generate_task

N_EPISODES = 20


def _random_episode(
    env: gym.Env, rng: np.random.Generator, index: int, max_steps: int = 30
) -> float:
    env.reset(seed=index, options={"task_index": index})
    reward = 0.0
    for _ in range(max_steps):
        _, reward, terminated, truncated, _ = env.step(random_action(rng))
        if terminated or truncated:
            break
    return float(reward)


@pytest.mark.parametrize("by_id", [True, False], ids=["click-by-id", "click-by-pixel"])
def test_oracle_solves_every_task_kind(by_id: bool) -> None:
    env = turngym.make("turngym/GUI-v0")
    kinds: Counter[str] = Counter()
    for index in range(N_EPISODES):
        obs, _ = env.reset(seed=index, options={"task_index": index, "split": "test"})
        oracle = GuiOracle.for_env(env, by_id=by_id)
        for _ in range(30):
            obs, reward, terminated, truncated, info = env.step(oracle.act(latest_tree(obs)))
            if terminated or truncated:
                break
        assert terminated and reward == 1.0, (index, info)
        assert info["success"] and all(info["subgoals"].values())
        kinds[info["task_kind"]] += 1
    assert set(kinds) == set(TASK_KINDS)


def test_random_policy_rarely_succeeds() -> None:
    env = turngym.make("turngym/GUI-v0")
    rng = np.random.default_rng(0)
    rewards = [_random_episode(env, rng, i) for i in range(N_EPISODES)]
    assert np.mean(rewards) <= 0.1


def test_done_without_work_fails_and_partial_credit_counts_subgoals() -> None:
    env = turngym.make("turngym/GUI-v0", kinds=["form"], partial_credit=True)
    obs, _ = env.reset(options={"task_index": 0})
    tree = latest_tree(obs)
    goal = env.unwrapped.generated.goal
    field_key, value = next(
        (k, v) for k, v in goal.target["values"].items() if k.startswith("field:")
    )
    name = next(w.name for w in env.unwrapped.app.widgets if w.key == field_key)
    box = next(e for e in tree if e.role == "textbox" and e.name == name)
    env.step(f"click({box.id})")
    obs, _, _, _, _ = env.step(f'type("{value}")')
    assert any(e.state.get("value") == value for e in latest_tree(obs))
    _, reward, terminated, _, info = env.step("done()")
    assert terminated and not info["success"]
    met = sum(info["subgoals"].values())
    assert met >= 1 and reward == pytest.approx(0.5 * met / len(info["subgoals"]))
    env.reset(options={"task_index": 0})
    _, reward, _, _, info = env.step("done()")
    assert reward == 0.0 and info["subgoals"]["committed"] is False


def test_observation_has_screenshot_and_optional_tree() -> None:
    env = turngym.make("turngym/GUI-v0")
    obs, info = env.reset(seed=3, options={"task_index": 3})
    user = obs[-1]
    assert isinstance(user.content[1], ImagePart)
    image = user.images[0]
    assert isinstance(image, Image.Image) and image.size == (512, 384) and image.mode == "RGB"
    assert "Accessibility tree" in user.text and info["task_id"].startswith("gui-train-3")
    bare = turngym.make("turngym/GUI-v0", observation="screenshot", screen_size=[400, 300])
    obs, _ = bare.reset(seed=3, options={"task_index": 3})
    assert "Accessibility tree" not in obs[-1].text and obs[-1].images[0].size == (400, 300)


def test_screens_are_deterministic_shared_and_deepcopy_proof() -> None:
    env = turngym.make("turngym/GUI-v0")
    a, _ = env.reset(seed=1, options={"task_index": 5})
    b, _ = env.reset(seed=1, options={"task_index": 5})
    assert a == b and copy.deepcopy(a) == a
    assert isinstance(a[-1].images[0], FrozenImage)
    after, *_ = env.step("scroll(0, 60)")
    # pixels change only when the screen does (the list task scrolls; others may not move)
    before_bytes = a[-1].images[0].tobytes()
    changed = after[-1].images[0].tobytes() != before_bytes
    assert changed == (env.unwrapped.app.scroll_y != 0)


def test_train_and_test_splits_differ() -> None:
    env = turngym.make("turngym/GUI-v0", kinds=["form"])
    train = set()
    test = set()
    for i in range(10):
        env.reset(options={"task_index": i, "split": "train"})
        train.update(str(v) for v in env.unwrapped.generated.goal.target["values"].values())
        env.reset(options={"task_index": i, "split": "test"})
        test.update(str(v) for v in env.unwrapped.generated.goal.target["values"].values())
    assert not (train & test) - {"True"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty reply"),
        ("click me", "could not read an action"),
        ("click(12)", "neither click"),
        ("click(1.5, 2)", "takes 2 integers"),
        ("type(Alice)", "quoted string"),
        ('type("")', "types nothing"),
        ("key(f5)", "not a known key"),
        ("done(now)", "takes no arguments"),
        ("drag(1, 2)", "unknown action"),
    ],
)
def test_parse_action_rejects_with_clear_messages(text: str, message: str) -> None:
    with pytest.raises(ActionParseError, match=message):
        parse_action(text)


def test_parse_action_reads_the_last_line() -> None:
    assert parse_action("I will click Save.\nclick(e12)").element_id == "e12"
    assert parse_action('click("e3")').element_id == "e3"
    assert (parse_action("click( 10 ,20 )").x, parse_action("click(10, 20)").y) == (10, 20)
    assert parse_action("type('a \"b\"')").text == 'a "b"'
    assert parse_action("`key(Enter)`").text == "enter"
    assert parse_action("scroll(0, -120)").y == -120


def test_invalid_actions_become_observations() -> None:
    env = turngym.make("turngym/GUI-v0", kinds=["list"])
    env.reset(options={"task_index": 0})
    for action, needle in [
        ("hello", "could not read an action"),
        ("click(e999)", "there is no element e999"),
        ("click(600, 10)", "outside the 512x384 screen"),
    ]:
        obs, reward, terminated, _, info = env.step(action)
        assert not terminated and reward == 0.0
        assert needle in obs[0].text and "Invalid action" in obs[0].text
    assert info["invalid_actions"] == 3
    # the last rows of a long list exist but are below the fold
    app = env.unwrapped.app
    hidden = app.ids[[w.key for w in app.widgets if w.kind == "listitem"][-1]]
    obs, *_ = env.step(f"click({hidden})")
    assert "not visible on the screen" in obs[0].text


def test_app_behaviour_dialog_menu_and_keys() -> None:
    app = App(
        title="T",
        widgets=[
            Widget("f", "textbox", "Name"),
            Widget("c", "combobox", "Size", options=("S", "M", "L")),
            Widget("b", "button", "Submit", action="submit"),
        ],
        menus=[Widget("m", "menu", "File", options=("New", "Quit"))],
        confirm=True,
    )
    by_name = {e.name: e for e in app.elements()}
    app.click(*by_name["Name"].center)
    app.type_text("Ann")
    app.press("backspace")
    assert app.values["f"] == "An"
    app.click(*by_name["Size"].center)
    option = next(e for e in app.elements() if e.role == "option" and e.name == "L")
    app.click(*option.center)
    assert app.values["c"] == "L" and app.expanded is None
    app.click(*by_name["Submit"].center)
    assert app.dialog is not None and app.submitted is None
    app.click(*by_name["Name"].center)  # modal: clicks behind the dialog do nothing
    assert app.submitted is None
    app.press("enter")
    assert app.submitted == {"f": "An", "c": "L"} and app.status == "Form submitted"
    app.click(*by_name["File"].center)
    quit_item = next(e for e in app.elements() if e.name == "Quit")
    app.click(*quit_item.center)
    assert app.commands == ["File > Quit"]
    with pytest.raises(ValueError, match="unknown key"):
        app.press("f5")
    with pytest.raises(ValueError, match="unique"):
        App(title="x", widgets=[Widget("a", "text", "1"), Widget("a", "text", "2")])


def test_tree_round_trips_through_text() -> None:
    task = generate_task("settings", 7)
    parsed = parse_tree(task.app.accessibility_text())
    assert [(e.id, e.role, e.name, e.bounds, e.state) for e in parsed] == [
        (e.id, e.role, e.name, e.bounds, e.state) for e in task.app.elements()
    ]


def test_bad_constructor_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="observation must be one of"):
        turngym.make("turngym/GUI-v0", observation="pixels")
    with pytest.raises(ValueError, match="unknown GUI task kinds"):
        turngym.make("turngym/GUI-v0", kinds=["game"])
    with pytest.raises(ValueError, match="screen_size must be between"):
        turngym.make("turngym/GUI-v0", screen_size=(10, 10))
    with pytest.raises(ValueError, match="unknown GUI task kind"):
        generate_task("game", 0)


def test_reset_with_an_explicit_task() -> None:
    env = turngym.make("turngym/GUI-v0")
    obs, info = env.reset(options={"task": {"id": "mine", "kind": "menu", "seed": 3}})
    assert info["task_id"] == "mine" and "menu bar" in obs[-1].text
    with pytest.raises(ValueError, match="needs 'kind'"):
        env.reset(options={"task": {"id": "bad", "seed": 3}})
    with pytest.raises(ValueError, match="task split must be one of"):
        env.reset(options={"task": {"kind": "menu", "seed": 3, "split": "dev"}})


def test_rgb_array_render() -> None:
    env = turngym.make("turngym/GUI-v0", render_mode="rgb_array")
    env.reset(options={"task_index": 2})
    frame = env.render()
    assert isinstance(frame, np.ndarray) and frame.shape == (384, 512, 3)


def test_inverse_dynamics_rewards_effect_equivalent_answers() -> None:
    env = turngym.make("turngym/GUIInverseDynamics-v0")
    rng = np.random.default_rng(0)
    true_wins, random_wins, kinds = 0.0, 0.0, Counter()
    for index in range(N_EPISODES):
        obs, _ = env.reset(seed=index, options={"task_index": index})
        assert len(obs[0].images) == 2 and obs[0].images[0] is not obs[0].images[1]
        true = env.unwrapped.true_action
        kinds[true.kind] += 1
        _, reward, terminated, _, info = env.step(true.render())
        assert terminated and info["true_action"] == true.render()
        true_wins += reward
        env.reset(seed=index, options={"task_index": index})
        random_wins += env.step(random_action(rng))[1]
    assert true_wins == N_EPISODES
    assert random_wins / N_EPISODES <= 0.15
    # a pixel click inside the clicked element is the same action as naming its id
    for index in range(N_EPISODES):
        env.reset(options={"task_index": index})
        true = env.unwrapped.true_action
        if true.kind == "click" and true.element_id:
            element = env.unwrapped.before.element_by_id(true.element_id)
            assert env.step("click({}, {})".format(*element.center))[1] == 1.0
            break
    else:
        pytest.fail("no click-by-id action among the sampled tasks")
    env.reset(options={"task_index": 0})
    _, reward, terminated, _, info = env.step("not an action")
    assert terminated and reward == 0.0 and "could not read" in info["action_error"]


@pytest.mark.parametrize("env_id", ["turngym/GUI-v0", "turngym/GUIInverseDynamics-v0"])
def test_check_env(env_id: str) -> None:
    turngym.check_env(turngym.make(env_id))


def test_play_saves_screenshots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from turngym.cli import main

    monkeypatch.setattr(sys, "stdin", io.StringIO("click(e1)\n.\ndone()\n.\n"))
    code = main(
        ["play", "turngym/GUI-v0", "--task-index", "1", "--image-dir", str(tmp_path / "shots")]
    )
    out = capsys.readouterr().out
    assert code == 0 and "episode over" in out
    saved = sorted((tmp_path / "shots").glob("*.png"))
    assert len(saved) == 2 and all(str(p) in out for p in saved)
    assert Image.open(saved[0]).size == (512, 384)


def test_messages_hold_images_as_parts() -> None:
    env = turngym.make("turngym/GUI-v0")
    obs, _ = env.reset(options={"task_index": 0})
    assert all(isinstance(m, Message) for m in obs)
    assert obs[-1].to_dict()["content"][1] == {"type": "image"}

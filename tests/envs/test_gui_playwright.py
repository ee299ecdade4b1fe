"""The optional Playwright backend of turngym/GUI-v0: screens rendered and actions driven in Chromium.

These tests skip where Playwright or Chromium is missing; with ``TURNGYM_REQUIRE_PLAYWRIGHT=1``
they fail there instead (for CI that installs both). One browser page serves the whole module.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

import turngym
from turngym.envs.gui import html as html_backend
from turngym.envs.gui.app import MAX_FIELD_CHARS, App
from turngym.envs.gui.html import ChromiumRenderer, app_to_html, unavailable_reason
from turngym.envs.gui.oracle import GuiOracle, latest_tree, random_action
from turngym.envs.gui.tasks import TASK_KINDS, generate_task

_REASON = unavailable_reason()


def test_html_page_carries_ids_roles_values_and_the_event_script() -> None:
    task = generate_task("form", 0)
    app = task.app
    box = next(w for w in app.widgets if w.kind == "textbox")
    app.focus = box.key
    app.type_text("Zoë <b>")
    page = app_to_html(app, task.theme)
    assert f'data-turngym-id="{app.ids[box.key]}"' in page
    assert 'value="Zoë &lt;b&gt;"' in page  # user text is escaped, not markup
    assert f"width:{app.width}px" in page
    assert page.count("data-turngym-focused") == 2  # the focused input, and the script
    assert "window.__turngymEvents" in page
    app.focus = None
    assert "data-turngym-focused " not in app_to_html(app, task.theme)


def test_unknown_backend_is_rejected() -> None:
    with pytest.raises(ValueError, match="backend must be one of"):
        turngym.make("turngym/GUI-v0", backend="selenium")


def test_a_failed_launch_leaves_no_playwright_running(tmp_path: Any) -> None:
    if _REASON is not None:
        pytest.skip(f"playwright backend unavailable: {_REASON}")
    task = generate_task("form", 0)
    renderer = ChromiumRenderer(executable=str(tmp_path / "no-such-chromium"))
    with pytest.raises(Exception, match="no-such-chromium"):
        renderer.render(task.app, task.theme)
    assert str(tmp_path / "no-such-chromium") not in html_backend._SHARED["users"]
    # Playwright runs only while some env holds a browser (none when this test runs alone)
    assert html_backend._SHARED["playwright"] is None or html_backend._SHARED["users"]
    renderer.close()  # nothing acquired: nothing to release


@pytest.fixture(scope="module")
def pw_env() -> Iterator[Any]:
    if _REASON is not None:
        if os.environ.get("TURNGYM_REQUIRE_PLAYWRIGHT") == "1":
            pytest.fail(f"TURNGYM_REQUIRE_PLAYWRIGHT=1 but the backend is unavailable: {_REASON}")
        pytest.skip(f"playwright backend unavailable: {_REASON}")
    env = turngym.make("turngym/GUI-v0", backend="playwright")
    yield env
    env.close()
    env.close()  # idempotent


def _state(env: Any) -> dict[str, Any]:
    return env.unwrapped.app.state()


def _run_both(pw_env: Any, task: dict[str, Any], actions: list[str]) -> list[dict[str, Any]]:
    """Play ``actions`` on both backends; assert identical outcomes step by step; pw steps."""
    pillow = turngym.make("turngym/GUI-v0")
    pillow.reset(options={"task": task})
    pw_env.reset(options={"task": task})
    assert _state(pillow) == _state(pw_env)
    steps = []
    for action in actions:
        _, r1, t1, _, i1 = pillow.step(action)
        _, r2, t2, _, i2 = pw_env.step(action)
        assert (r2, t2, i2.get("effect"), i2.get("action_error")) == (
            r1,
            t1,
            i1.get("effect"),
            i1.get("action_error"),
        ), action
        assert _state(pw_env) == _state(pillow), action
        steps.append({"action": action, "effect": i2.get("effect"), "state": _state(pw_env)})
        if t1:
            break
    return steps


def _task(kind: str, seed: int, split: str = "test") -> dict[str, Any]:
    return {"id": f"t-{kind}-{seed}", "kind": kind, "seed": seed, "split": split}


def _dom_focus(pw_env: Any) -> str | None:
    return pw_env.unwrapped._chromium.evaluate(
        "() => document.activeElement && document.activeElement.tagName === 'INPUT'"
        " ? document.activeElement.getAttribute('aria-label') : null"
    )


def test_playwright_backend_renders_the_same_tasks_and_the_oracle_solves_them(
    pw_env: Any,
) -> None:
    pillow = turngym.make("turngym/GUI-v0")
    for index in range(4):  # one task of each kind
        obs, _ = pw_env.reset(options={"task_index": index})
        ref, _ = pillow.reset(options={"task_index": index})
        image = obs[-1].images[0]
        assert image.size == (512, 384) and image.mode == "RGB"
        # same app, same tree, different renderer
        assert obs[-1].text == ref[-1].text
        pixels = np.asarray(image, dtype=np.int16)
        assert pixels.std() > 10  # not a blank page
        assert np.abs(pixels - np.asarray(ref[-1].images[0], dtype=np.int16)).mean() > 0
        oracle = GuiOracle.for_env(pw_env, by_id=False)
        for _ in range(30):
            obs, reward, terminated, truncated, _ = pw_env.step(oracle.act(latest_tree(obs)))
            if terminated or truncated:
                break
        assert terminated and reward == 1.0


def test_oracle_episodes_match_the_pillow_backend_step_by_step(pw_env: Any) -> None:
    pillow = turngym.make("turngym/GUI-v0")
    kinds, themes, steps = set(), set(), 0
    for index in range(16):
        obs, _ = pillow.reset(options={"task_index": index, "split": "test"})
        pw_obs, _ = pw_env.reset(options={"task_index": index, "split": "test"})
        oracle = GuiOracle.for_env(pillow, by_id=index % 2 == 0)
        for _ in range(30):
            action = oracle.act(latest_tree(obs))
            obs, r1, t1, _, i1 = pillow.step(action)
            pw_obs, r2, t2, _, i2 = pw_env.step(action)
            steps += 1
            assert _state(pw_env) == _state(pillow), (index, action)
            assert (r2, t2, i2.get("effect")) == (r1, t1, i1.get("effect")), (index, action)
            assert [m.text for m in pw_obs] == [m.text for m in obs]  # the same trees
            if t1:
                break
        assert t1 and r1 == 1.0, (index, i1)
        kinds.add(i1["task_kind"])
        themes.add(i1["theme"])
    assert kinds == set(TASK_KINDS) and len(themes) >= 3 and steps > 60


def test_random_episodes_match_the_pillow_backend_step_by_step(pw_env: Any) -> None:
    # random clicks anywhere, unknown ids, typing, keys and scrolls: the rough edges
    rng = np.random.default_rng(7)
    effects: set[str] = set()
    for index in range(6):
        actions = [random_action(rng) for _ in range(20)]
        # focus a text box early so that typing and editing keys have something to act on
        actions.insert(0, "key(tab)")
        for step in _run_both(pw_env, _task(TASK_KINDS[index % 4], 100 + index), actions):
            effects.add(str(step["effect"]))
    assert {"focus", "typed", "scroll", "nothing"} <= effects


def _screens() -> Iterator[tuple[str, App, Any]]:
    """App states that stress hit-testing: overlays, a dialog, slivers at the viewport edges."""
    rng = np.random.default_rng(3)
    for seed in range(2):
        for kind in TASK_KINDS:
            task = generate_task(kind, seed, "test")
            app = task.app
            yield f"{kind}{seed}", app, task.theme
            if kind == "list":
                viewport = app.content_bottom - app.content_top
                below = [w for w in app.widgets if app.content_box(w.key)[1] > app.content_bottom]
                for w in below[:2]:
                    # leave a 2-3 px sliver of a row at the bottom or at the top edge (the model
                    # does not list it; the page must not let it take clicks)
                    _, y1, _, y2 = app.content_box(w.key)  # unscrolled: content_top-based
                    y1, y2 = y1 - app.content_top, y2 - app.content_top
                    for scroll in (y1 - viewport + 2, y2 - 3, int(rng.integers(app.max_scroll))):
                        scrolled = app.clone()
                        scrolled.scroll_y = max(0, min(app.max_scroll, scroll))
                        yield f"{kind}{seed}-scroll{scrolled.scroll_y}", scrolled, task.theme
            for w in app.widgets + app.menus:
                if w.kind in ("combobox", "menu"):
                    opened = app.clone()
                    opened.expanded = w.key
                    yield f"{kind}{seed}-open-{w.key}", opened, task.theme
                    break
            submit = next((w for w in app.widgets if w.action in ("submit", "save")), None)
            if app.confirm and submit is not None:
                asking = app.clone()
                asking.click(*asking.element_by_id(asking.ids[submit.key]).center)
                assert asking.dialog is not None
                yield f"{kind}{seed}-dialog", asking, task.theme


def test_browser_hit_testing_agrees_with_the_app_model(pw_env: Any) -> None:
    renderer = pw_env.unwrapped._chromium
    rng = np.random.default_rng(0)
    checked = hits = screens = slivers = 0
    for name, app, theme in _screens():
        screens += 1
        for w in app.widgets:
            _, y1, _, y2 = app.content_box(w.key)
            slivers += 0 < min(y2, app.content_bottom) - max(y1, app.content_top) < 4
        points: set[tuple[int, int]] = set()
        for e in app.elements():
            x1, y1, x2, y2 = e.bounds
            points.add(e.center)
            # corners (rounded in the page) and pixels just outside two edges
            points |= {(x1, y1), (x2 - 1, y1), (x1, y2 - 1), (x2 - 1, y2 - 1)}
            points |= {(x1 - 1, y1), (x2 - 1, y2)}
        points |= {(int(x), int(y)) for x, y in rng.integers(0, (app.width, app.height), (30, 2))}
        inside = sorted((x, y) for x, y in points if 0 <= x < app.width and 0 <= y < app.height)
        before = app.state()
        found = renderer.hit_ids(app, theme, inside)
        for (x, y), got in zip(inside, found, strict=True):
            want = app.hit_test(x, y)
            assert got == (want.id if want else None), (name, (x, y), want)
            hits += want is not None
        checked += len(inside)
        assert app.state() == before  # probing the page does not touch the model
    assert screens >= 25 and slivers >= 2 and checked > 1500 and hits > 1000


def test_a_click_on_empty_space_changes_nothing_but_closes_an_open_menu(pw_env: Any) -> None:
    task = _task("settings", 0)
    pw_env.reset(options={"task": task})
    app = pw_env.unwrapped.app
    x, y = 2, app.content_top + 5  # the left margin, beside every widget
    assert app.hit_test(x, y) is None
    before = app.state()
    _, _, _, _, info = pw_env.step(f"click({x}, {y})")
    assert info["effect"] == "nothing" and _state(pw_env) == before
    combo = next(e for e in app.elements() if e.role == "combobox")
    steps = _run_both(pw_env, task, [f"click({combo.id})", f"click({x}, {y})"])
    assert steps[0]["state"]["expanded"] is not None
    assert steps[1]["effect"] == "nothing" and steps[1]["state"]["expanded"] is None


def test_clicks_and_typing_go_through_the_page_not_the_model(
    pw_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> str:
        raise AssertionError("the playwright backend must not use the model's own input path")

    pw_env.reset(options={"task": _task("form", 1)})
    box = next(e for e in pw_env.unwrapped.app.elements() if e.role == "textbox")
    for name in ("click", "hit_test", "type_text"):
        monkeypatch.setattr(App, name, refuse)
    _, _, _, _, info = pw_env.step("click({}, {})".format(*box.center))
    assert info["effect"] == "focus" and _dom_focus(pw_env) == box.name
    _, _, _, _, info = pw_env.step('type("Ada")')
    assert info["effect"] == "typed"
    assert pw_env.unwrapped.app.values[pw_env.unwrapped.app.focus] == "Ada"


def test_typing_special_characters_backspace_and_the_length_limit(pw_env: Any) -> None:
    pw_env.reset(options={"task": _task("form", 2)})
    box = next(e for e in pw_env.unwrapped.app.elements() if e.role == "textbox")
    tricky = 'Zoë "O\'Neil" <b>&amp; \\ 😀 ü'
    actions = [f"click({box.id})", f"type({json.dumps(tricky, ensure_ascii=False)})"]
    actions += ["key(backspace)", "key(backspace)", "key(space)", 'type("x")']
    steps = _run_both(pw_env, _task("form", 2), actions)
    key = pw_env.unwrapped.app.focus
    assert steps[1]["state"]["values"][key] == tricky
    assert steps[-1]["state"]["values"][key] == tricky[:-2] + " x"
    # a typed value comes back from the real <input>, and the next render puts it there
    renderer = pw_env.unwrapped._chromium
    assert renderer.evaluate("() => document.activeElement.value") == tricky[:-2] + " x"
    # astral characters (the emoji) are erased whole by Backspace, as in the model
    emoji_end = tricky[: tricky.index("😀") + 1]
    steps = _run_both(
        pw_env,
        _task("form", 2),
        [
            f"click({box.id})",
            f"type({json.dumps(emoji_end, ensure_ascii=False)})",
            "key(backspace)",
        ],
    )
    assert steps[-1]["state"]["values"][key] == emoji_end[:-1]
    # past the limit the rest is cut off; Backspace on an empty box does nothing
    steps = _run_both(
        pw_env,
        _task("form", 2),
        [f"click({box.id})", f'type("{"y" * 70}")', "key(tab)", "key(backspace)"],
    )
    assert steps[1]["state"]["values"][key] == "y" * MAX_FIELD_CHARS
    assert steps[-1]["effect"] in ("nothing", "typed")
    assert _dom_focus(pw_env) is not None  # tab moved the DOM focus with the model's


def test_control_characters_are_refused_with_a_clear_error(pw_env: Any) -> None:
    pw_env.reset(options={"task": _task("form", 2)})
    box = next(e for e in pw_env.unwrapped.app.elements() if e.role == "textbox")
    pw_env.step(f"click({box.id})")
    before = _state(pw_env)
    obs, reward, _, _, info = pw_env.step('type("a\\nb")')
    assert "control characters" in info["action_error"] and "key(enter)" in info["action_error"]
    assert "Invalid action" in obs[-1].text and reward == 0.0
    assert _state(pw_env) == before
    _, _, _, _, info = pw_env.step('type("ok\\ud800")')  # a lone surrogate
    assert "lone surrogates" in info["action_error"] and _state(pw_env) == before


def _confirm_task() -> dict[str, Any]:
    for seed in range(50):
        if generate_task("form", seed, "test").app.confirm:
            return _task("form", seed)
    raise AssertionError("no form task with a confirmation dialog in 50 seeds")


def test_enter_confirms_a_dialog_and_opens_a_selected_file(pw_env: Any) -> None:
    task = _confirm_task()
    app = generate_task("form", task["seed"], "test").app
    submit = app.ids["btn:submit"]
    steps = _run_both(pw_env, task, [f"click({submit})", "key(enter)"])
    assert steps[0]["effect"] == "dialog"
    assert steps[1]["state"]["submitted"] is not None and steps[1]["state"]["dialog"] is None
    # in a file list: Down selects the first row, Enter opens it
    steps = _run_both(pw_env, _task("list", 0), ["key(down)", "key(enter)"])
    assert steps[1]["effect"] == "open" and steps[1]["state"]["opened"] is not None


def test_the_wheel_scrolls_the_app_not_the_page(pw_env: Any) -> None:
    task = _task("list", 1)
    actions = ["scroll(0, 120)", "scroll(0, -50)", "scroll(0, 100000)", "scroll(0, -100000)"]
    steps = _run_both(pw_env, task, actions)
    max_scroll = pw_env.unwrapped.app.max_scroll
    assert max_scroll > 120
    assert [s["state"]["scroll_y"] for s in steps] == [120, 70, max_scroll, 0]
    renderer = pw_env.unwrapped._chromium
    assert renderer.evaluate("() => [window.scrollY, document.scrollingElement.scrollTop]") == [
        0,
        0,
    ]
    # under a dialog the wheel does nothing
    confirm = _confirm_task()
    submit = generate_task("form", confirm["seed"], "test").app.ids["btn:submit"]
    steps = _run_both(pw_env, confirm, [f"click({submit})", "scroll(0, 60)"])
    assert steps[1]["effect"] == "nothing" and steps[1]["state"]["dialog"] == "submit"


def test_envs_of_one_thread_share_its_browser_and_close_independently(pw_env: Any) -> None:
    other = turngym.make("turngym/GUI-v0", backend="playwright", screen_size=(400, 300))
    task = _task("list", 3)
    for env in (other, pw_env):
        env.reset(options={"task": task})
        env.step("scroll(0, 60)")
    assert other.unwrapped._chromium.page is not pw_env.unwrapped._chromium.page
    other.close()  # the page goes; the browser stays for pw_env
    pw_env.step("scroll(0, 60)")
    assert other.unwrapped.app.scroll_y == 60 and pw_env.unwrapped.app.scroll_y == 120


def test_an_env_on_a_worker_thread_shares_the_browser_and_closes_there(pw_env: Any) -> None:
    pw_env.reset(options={"task": _task("form", 0)})
    shared = pw_env.unwrapped._chromium.call_with_page(lambda page: page.context.browser)
    results: list[Any] = []

    def work() -> None:
        try:
            for _ in range(2):  # a second env after the first closed
                env = turngym.make("turngym/GUI-v0", backend="playwright")
                env.reset(options={"task": _task("form", 0)})
                _, _, _, _, info = env.step("key(tab)")
                browser = env.unwrapped._chromium.call_with_page(lambda p: p.context.browser)
                results.append((info["effect"], browser is shared))
                env.close()
        except Exception as exc:  # noqa: BLE001 - reported to the test's thread below
            results.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(timeout=60)
    assert results == [("focus", True), ("focus", True)]


def _users() -> int:
    return sum(html_backend._SHARED["users"].values())


def _episode_actions(seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["key(tab)", 'type("Ada")'] + [random_action(rng) for _ in range(5)]


def test_envs_move_between_pool_threads_and_close_on_the_main_thread(pw_env: Any) -> None:
    """A rollout engine's pattern: a fresh pool per batch steps each env on any of its threads."""
    pw_env.reset(options={"task": _task("form", 0)})  # the module's env holds the browser
    users = _users()
    envs = [turngym.make("turngym/GUI-v0", backend="playwright") for _ in range(4)]
    threads_of: list[list[threading.Thread]] = [[] for _ in envs]
    states: dict[tuple[int, int], list[dict[str, Any]]] = {}

    def reset(index: int, task: dict[str, Any]) -> None:
        threads_of[index].append(threading.current_thread())
        envs[index].reset(options={"task": task})

    def step(index: int, action: str) -> dict[str, Any]:
        threads_of[index].append(threading.current_thread())
        if not envs[index].unwrapped._done:  # a random click may have ended the episode
            envs[index].step(action)
        return _state(envs[index])

    for batch in range(2):
        tasks = [_task(TASK_KINDS[i], 10 * batch + i) for i in range(4)]
        actions = [_episode_actions(10 * batch + i) for i in range(4)]
        with ThreadPoolExecutor(4) as pool:  # a fresh pool: new threads every batch
            list(pool.map(reset, range(4), tasks))
            for n in range(len(actions[0])):
                # all four envs step at once; which thread gets which env is up to the pool
                stepped = list(pool.map(step, range(4), [a[n] for a in actions]))
                for i, state in enumerate(stepped):
                    states.setdefault((batch, i), []).append(state)
        for i in range(4):
            pillow = turngym.make("turngym/GUI-v0")
            pillow.reset(options={"task": tasks[i]})
            expected = []
            for action in actions[i]:
                if not pillow.unwrapped._done:
                    pillow.step(action)
                expected.append(_state(pillow))
            assert states[(batch, i)] == expected, (batch, i)
    renderers = [env.unwrapped._chromium for env in envs]
    # every Playwright call ran on the one Playwright thread; one browser, a page each
    names = {r.call_with_page(lambda page: threading.current_thread().name) for r in renderers}
    assert names == {"turngym-playwright"}
    browsers = {id(r.call_with_page(lambda page: page.context.browser)) for r in renderers}
    assert len(browsers) == 1 and len({id(r.page) for r in renderers}) == 4
    for threads in threads_of:
        assert len({id(t) for t in threads}) >= 2  # each env ran on threads of both pools
        assert threading.main_thread() not in threads
    assert _users() == users + 4
    for env in envs:
        env.close()  # on the main thread, not where the envs stepped
    assert _users() == users and all(r.page is None for r in renderers)


def test_an_env_steps_inside_a_running_asyncio_loop(pw_env: Any) -> None:
    async def play() -> list[str]:
        env = turngym.make("turngym/GUI-v0", backend="playwright")
        env.reset(options={"task": _task("form", 0)})
        effects = [env.step("key(tab)")[4]["effect"], pw_env.step("key(tab)")[4]["effect"]]
        env.close()
        return effects

    pw_env.reset(options={"task": _task("form", 0)})
    assert asyncio.run(play()) == ["focus", "focus"]


def test_errors_cross_back_and_nested_calls_do_not_deadlock(pw_env: Any) -> None:
    pw_env.reset(options={"task": _task("form", 0)})
    renderer = pw_env.unwrapped._chromium
    driver = renderer.driver(pw_env.unwrapped.app, pw_env.unwrapped.generated.theme)
    with pytest.raises(ValueError, match="unknown key 'f1'"):
        driver.press("f1")
    # a call made on the Playwright thread runs there directly instead of queueing behind itself
    assert renderer.call_with_page(lambda page: renderer.evaluate("1 + 1")) == 2


def test_close_releases_the_browser_when_closing_the_page_fails(
    pw_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pw_env.reset(options={"task": _task("form", 0)})
    users = _users()
    env = turngym.make("turngym/GUI-v0", backend="playwright")
    env.reset(options={"task": _task("list", 0)})
    assert _users() == users + 1
    page = env.unwrapped._chromium.page

    def fail(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("page.close failed")

    monkeypatch.setattr(type(page), "close", fail)
    with pytest.raises(RuntimeError, match="page.close failed"):
        env.close()
    assert _users() == users  # released all the same
    monkeypatch.undo()
    env.close()  # already closed: nothing left to release
    assert _users() == users
    env.unwrapped._chromium.call_with_page(lambda _: page.close())
    pw_env.step("key(tab)")  # the shared browser still serves the module's env


def test_a_disconnected_browser_is_relaunched(pw_env: Any) -> None:
    task = _task("form", 3)
    pw_env.reset(options={"task": task})
    renderer = pw_env.unwrapped._chromium
    old = renderer.call_with_page(lambda page: page.context.browser)
    renderer.call_with_page(lambda _: old.close())  # as if Chromium had crashed
    assert not renderer.call_with_page(lambda _: old.is_connected())
    # mid-episode: the next action rebuilds the page from the model in a new browser
    steps = _run_both(pw_env, task, ["key(tab)", 'type("Ada")'])
    assert steps[-1]["effect"] == "typed"
    new = renderer.call_with_page(lambda page: page.context.browser)
    assert new is not old and renderer.call_with_page(lambda _: new.is_connected())
    other = turngym.make("turngym/GUI-v0", backend="playwright")  # later envs get it too
    other.reset(options={"task": task})
    assert other.unwrapped._chromium.call_with_page(lambda page: page.context.browser) is new
    other.close()

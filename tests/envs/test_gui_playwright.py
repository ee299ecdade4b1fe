"""The optional Playwright backend of turngym/GUI-v0 (skips where Playwright/Chromium are missing)."""

from __future__ import annotations

import numpy as np
import pytest

import turngym
from turngym.envs.gui.html import app_to_html, unavailable_reason
from turngym.envs.gui.oracle import GuiOracle, latest_tree
from turngym.envs.gui.tasks import generate_task


def test_html_page_carries_ids_roles_and_values() -> None:
    task = generate_task("form", 0)
    app = task.app
    box = next(w for w in app.widgets if w.kind == "textbox")
    app.focus = box.key
    app.type_text("Zoë <b>")
    page = app_to_html(app, task.theme)
    assert f'data-turngym-id="{app.ids[box.key]}"' in page
    assert 'value="Zoë &lt;b&gt;"' in page  # user text is escaped, not markup
    assert f"width:{app.width}px" in page


_REASON = unavailable_reason()


@pytest.mark.skipif(_REASON is not None, reason=f"playwright backend unavailable: {_REASON}")
def test_playwright_backend_renders_the_same_tasks_and_the_oracle_solves_them() -> None:
    env = turngym.make("turngym/GUI-v0", backend="playwright")
    pillow = turngym.make("turngym/GUI-v0")
    try:
        for index in range(4):  # one task of each kind
            obs, _ = env.reset(options={"task_index": index})
            ref, _ = pillow.reset(options={"task_index": index})
            image = obs[-1].images[0]
            assert image.size == (512, 384) and image.mode == "RGB"
            # same app, same tree, different renderer
            assert obs[-1].text == ref[-1].text
            pixels = np.asarray(image, dtype=np.int16)
            assert pixels.std() > 10  # not a blank page
            assert np.abs(pixels - np.asarray(ref[-1].images[0], dtype=np.int16)).mean() > 0
            oracle = GuiOracle.for_env(env, by_id=False)
            for _ in range(30):
                obs, reward, terminated, truncated, _ = env.step(oracle.act(latest_tree(obs)))
                if terminated or truncated:
                    break
            assert terminated and reward == 1.0
    finally:
        env.close()
        env.close()  # idempotent


def test_unknown_backend_is_rejected() -> None:
    with pytest.raises(ValueError, match="backend must be one of"):
        turngym.make("turngym/GUI-v0", backend="selenium")

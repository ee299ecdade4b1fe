"""A GRPO step of a tiny vision-language model on screenshots, through the real Trainer."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from turngym.trainer.config import TrainConfig
from turngym.trainer.trainer import Trainer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "vision_gui.yaml"


@pytest.fixture(scope="module")
def tiny_qwen2_vl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from turngym.agents.tiny_vlm import make_tiny_vlm

    return Path(make_tiny_vlm(tmp_path_factory.mktemp("vlm") / "tiny", "qwen2_vl"))


@pytest.mark.parametrize("backend", ["pillow", "playwright"])
def test_a_vlm_trains_on_gui_screenshots(tiny_qwen2_vl: Path, tmp_path: Path, backend: str) -> None:
    """Also with the Playwright backend: the rollout engine steps the envs from its worker
    threads, which Playwright's thread-bound sync API must survive."""
    if backend == "playwright":
        import os

        from turngym.envs.gui.html import unavailable_reason

        reason = unavailable_reason()
        if reason is not None:
            if os.environ.get("TURNGYM_REQUIRE_PLAYWRIGHT") == "1":
                pytest.fail(
                    f"TURNGYM_REQUIRE_PLAYWRIGHT=1 but the backend is unavailable: {reason}"
                )
            pytest.skip(reason)
    cfg = TrainConfig.from_yaml(
        EXAMPLE,
        [
            f"model.name={tiny_qwen2_vl}",
            "model.device=cpu",
            "model.dtype=float32",
            "model.max_context=4096",
            "steps=2",
            "rollout.tasks_per_step=1",
            "rollout.group_size=4",
            "rollout.max_new_tokens=6",
            "rollout.max_episode_tokens=3000",
            "rollout.temperature=1.0",
            "env.max_turns=3",
            "env.kwargs.observation=screenshot",
            "env.kwargs.screen_size=[320,240]",
            f"env.kwargs.backend={backend}",
            "eval.every=0",
            "checkpoint.every=0",
            "checkpoint.save_final_model=true",
            "algo.kl_coef=0.01",
            "algo.entropy_coef=0.001",  # every sequence reaches the loss, rewards or not
            f"output_dir={tmp_path}",
            "progress=false",
            "plot=false",
        ],
    ).validate()
    trainer = Trainer(cfg, log=lambda s: None)
    assert type(trainer.renderer).__name__ == "VisionChatRenderer"
    images_per_row: list[int] = []
    real = trainer._micro_batch_loss

    def spy(chunk, *args, **kwargs):  # noqa: ANN001, ANN202
        images_per_row.extend(0 if s.vision is None else s.vision.num_images for s in chunk)
        return real(chunk, *args, **kwargs)

    trainer._micro_batch_loss = spy  # type: ignore[method-assign]
    before = [p.detach().clone() for p in trainer.model.parameters()]
    trainer.fit()
    assert images_per_row and all(n >= 1 for n in images_per_row)  # screenshots reach the loss
    import json

    # Two steps: the second reuses the first step's envs from the rollout's env pool.
    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in lines] == [1, 2]
    assert all(m["rollout/failed"] == 0 and m["rollout/retried"] == 0 for m in lines), lines
    changed = sum(not torch.equal(p, q) for p, q in zip(trainer.model.parameters(), before))
    assert changed > 0
    from turngym.trainer.vision_support import load_policy

    model, _, renderer = load_policy(tmp_path / "final_model", torch.float32, "cpu")
    assert type(renderer).__name__ == "VisionChatRenderer"

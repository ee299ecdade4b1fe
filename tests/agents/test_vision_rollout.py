"""Images through the rollout: Segment.vision, Episode, RolloutRunner, and the trainer's forward."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest
import torch

import turngym
from turngym.agents.backend import Generation, SamplingParams
from turngym.agents.chat import ChatRenderer
from turngym.agents.context import ContextConfig
from turngym.agents.hf import HFBackend
from turngym.agents.rollout import GroupSpec, RolloutRunner
from turngym.agents.tiny_vlm import make_tiny_vlm
from turngym.agents.vision import VisionChatRenderer, VisionInputs
from turngym.core.trajectory import Segment, StopReason, Trajectory
from turngym.trainer.losses import sequence_logprobs
from turngym.trainer.vision_support import forward_kwargs, load_policy

GUI_KWARGS = {"observation": "screenshot", "screen_size": (320, 240)}


@pytest.fixture(scope="module")
def vlm(tmp_path_factory: pytest.TempPathFactory, default_model_path: Path):
    """(model, processor, renderer) of a tiny random Qwen2-VL, loaded like the trainer does."""
    folder = make_tiny_vlm(
        tmp_path_factory.mktemp("qwen2_vl") / "model",
        "qwen2_vl",
        tokenizer_from=str(default_model_path),
    )
    return load_policy(folder, torch.float32, "cpu")


class ActionOverride(gym.Wrapper):
    """Replaces every action with a fixed one, so a random policy still gets new screenshots
    (or crops) every turn; the policy's own sampled text stays in its trajectory."""

    def __init__(self, env: gym.Env, action: str):
        super().__init__(env)
        self.action = action

    def step(self, action: Any) -> Any:
        return self.env.step(self.action)


class ScriptedBackend:
    """Answers every prompt with a fixed reply and records what it was given."""

    def __init__(self, renderer: ChatRenderer, reply: str):
        self.ids = (*renderer.encode(reply), renderer.stop_token_ids[-1])
        self.calls: list[tuple[list[tuple[int, ...]], Any]] = []

    @property
    def max_context(self) -> int | None:
        return None

    def generate(
        self,
        prompts: Sequence[Sequence[int]],
        params: SamplingParams,
        max_new_tokens: Sequence[int] | None = None,
        *,
        vision: Sequence[VisionInputs | None] | None = None,
    ) -> list[Generation]:
        self.calls.append(([tuple(p) for p in prompts], vision))
        return [Generation(self.ids, (-1.0,) * len(self.ids), "stop") for _ in prompts]


class TextOnlyBackend(ScriptedBackend):
    """A backend whose generate takes no vision= (like the OpenAI backend)."""

    def generate(  # type: ignore[override]
        self,
        prompts: Sequence[Sequence[int]],
        params: SamplingParams,
        max_new_tokens: Sequence[int] | None = None,
    ) -> list[Generation]:
        return super().generate(prompts, params, max_new_tokens)


def right_padded(segments: Sequence[Segment], pad_id: int) -> tuple[torch.Tensor, ...]:
    """``(ids, attention, loss mask, behaviour logprobs)`` as the trainer pads a chunk."""
    L = max(len(s) for s in segments)
    ids_BT = torch.full((len(segments), L), pad_id, dtype=torch.long)
    attn_BT = torch.zeros((len(segments), L), dtype=torch.long)
    mask_BT = torch.zeros((len(segments), L))
    old_BT = torch.zeros((len(segments), L))
    for i, s in enumerate(segments):
        n = len(s)
        ids_BT[i, :n] = torch.tensor(s.token_ids)
        attn_BT[i, :n] = 1
        mask_BT[i, :n] = torch.tensor(s.loss_mask, dtype=torch.float32)
        old_BT[i, :n] = torch.tensor(s.logprobs)
    return ids_BT, attn_BT, mask_BT, old_BT


def segment_images(trajectory: Trajectory, index: int) -> list[Any]:
    """The images of the conversation a segment renders, in order."""
    return [im for m in trajectory.metadata["segment_messages"][index] for im in m.images]


def check_images_are_context(segment: Segment, renderer: VisionChatRenderer) -> None:
    """Every image span holds its placeholder tokens, all context, and nothing else does."""
    assert isinstance(segment.vision, VisionInputs)
    for image in segment.vision.images:
        span = segment.token_ids[image.start : image.end]
        assert span.count(renderer.image_token_id) == image.num_image_tokens > 0
        assert not any(segment.loss_mask[image.start : image.end])
    placeholders = segment.token_ids.count(renderer.image_token_id)
    assert placeholders == sum(image.num_image_tokens for image in segment.vision.images)


# ---- sampling with the tiny VLM, then the trainer's forward ------------------------------------


@pytest.mark.parametrize(
    ("env_id", "env_kwargs", "override"),
    [
        ("turngym/GUI-v0", {**GUI_KWARGS, "max_turns": 3}, "scroll(0, 40)"),
        (
            "turngym/VisualSearch-v0",
            {
                "image_size": (400, 300),
                "overview_max_side": 64,
                "crop_max_side": 64,
                "max_turns": 2,
            },
            '<tool_call>{"name": "crop", "arguments": '
            '{"x1": 0, "y1": 0, "x2": 200, "y2": 150}}</tool_call>',
        ),
    ],
    ids=["gui", "visual_search"],
)
def test_rollout_carries_images_and_training_logprobs_match_sampling(
    vlm, env_id: str, env_kwargs: dict[str, Any], override: str
) -> None:
    model, _, renderer = vlm
    backend = HFBackend(model, pad_token_id=renderer.tokenizer.pad_token_id)
    calls: list[tuple[list[list[int]], Any]] = []
    generate = backend.generate

    def recording_generate(prompts, params, max_new_tokens=None, **kwargs):
        calls.append(([list(p) for p in prompts], kwargs.get("vision")))
        return generate(prompts, params, max_new_tokens, **kwargs)

    backend.generate = recording_generate  # type: ignore[method-assign]
    runner = RolloutRunner(
        lambda: ActionOverride(turngym.make(env_id, **env_kwargs), override),
        backend,
        renderer,
        sampling=SamplingParams(max_new_tokens=4, temperature=1.0, seed=0),
        max_episode_tokens=100_000,
        failure_policy="fail_fast",
    )
    result = runner.run_groups([GroupSpec({"task_index": 0, "split": "train"}, seed=3)], 2)
    trajectories = result.groups[0]
    assert len(trajectories) == 2
    turns = env_kwargs["max_turns"]
    segments = []
    for t in trajectories:
        assert t.stop_reason is StopReason.TURN_LIMIT and t.num_turns == turns, t.metadata
        (segment,) = t.segments
        segments.append(segment)
        images = segment_images(t, 0)
        # The first observation and the answer to every turn but the last hold an image (the
        # last answer would come after the last sampled token: the episode ended there).
        assert segment.num_images == len(images) == turns
        check_images_are_context(segment, renderer)
        # Each image's tokens and pixels are the processor's for the env's image.
        for placed, image in zip(segment.vision.images, images, strict=True):
            alone = renderer.encode_with_images(renderer.image_token, [image])
            assert segment.token_ids[placed.start : placed.end] == alone.token_ids
            (reference,) = alone.vision.images
            assert all(torch.equal(placed.tensors[k], reference.tensors[k]) for k in placed.tensors)

    # Every turn's batch got each prompt's images, spans relative to the prompt: the prompt is
    # a prefix of its segment and its images are the segment's first ones.
    assert len(calls) == turns
    for prompts, visions in calls:
        assert visions is not None and len(visions) == len(prompts) == 2
        for prompt, vision, segment in zip(prompts, visions, segments, strict=True):
            assert tuple(prompt) == segment.token_ids[: len(prompt)]
            kept = segment.vision.images[: vision.num_images]
            assert [(i.start, i.end) for i in vision.images] == [(i.start, i.end) for i in kept]
            assert all(a.tensors is b.tensors for a, b in zip(vision.images, kept, strict=True))
    assert [v.num_images for _, (v, _) in calls] == list(range(1, turns + 1))

    # The trainer's forward (right-padded, images through forward_kwargs) recomputes the
    # sampler's logprobs (left-padded, KV-cached decoding).
    ids_BT, attn_BT, mask_BT, old_BT = right_padded(segments, renderer.tokenizer.pad_token_id)
    kwargs = forward_kwargs(model, ids_BT, attn_BT, segments)
    assert {"pixel_values", "image_grid_thw", "position_ids"} <= kwargs.keys()
    with torch.no_grad():
        logits = model(input_ids=ids_BT, attention_mask=attn_BT, **kwargs).logits
        blind = model(input_ids=ids_BT, attention_mask=attn_BT).logits
    sampled = mask_BT.bool()
    assert int(sampled.sum()) == sum(s.num_sampled for s in segments) > 0
    error = (sequence_logprobs(logits, ids_BT, temperature=1.0)[sampled] - old_BT[sampled]).abs()
    assert float(error.max()) < 2e-4, float(error.max())
    # Without the images the model computes something else: the check above has teeth.
    blind_error = sequence_logprobs(blind, ids_BT, temperature=1.0)[sampled] - old_BT[sampled]
    assert float(blind_error.abs().max()) > 1e-2


# ---- token exactness and segment bookkeeping (scripted replies, no model) ---------------------


def test_scripted_rollout_is_token_exact_with_images(vlm) -> None:
    _, _, renderer = vlm
    backend = ScriptedBackend(renderer, "scroll(0, 40)")
    runner = RolloutRunner(
        lambda: turngym.make("turngym/GUI-v0", max_turns=3, **GUI_KWARGS),
        backend,
        renderer,
        sampling=SamplingParams(max_new_tokens=16),
        failure_policy="fail_fast",
    )
    result = runner.run_groups([GroupSpec({"task_index": 1, "split": "train"}, seed=0)], 2)
    for t in result.groups[0]:
        (segment,) = t.segments
        conversation = list(t.metadata["segment_messages"][0])
        images = segment_images(t, 0)
        # The whole conversation rendered at once, every screenshot expanded by the processor,
        # is the segment the episode built turn by turn (up to its last sampled token).
        text = renderer.render_text(conversation, add_generation_prompt=False)
        whole = renderer.encode_with_images(text, images)
        assert segment.token_ids == whole.token_ids[: len(segment)]
        assert [(i.start, i.end) for i in segment.vision.images] == [
            (i.start, i.end) for i in whole.vision.images
        ]
        check_images_are_context(segment, renderer)
    assert all(v is not None for _, v in backend.calls)


def test_sliding_window_restarts_carry_their_own_images(vlm) -> None:
    _, _, renderer = vlm
    backend = ScriptedBackend(renderer, "scroll(0, 40)")
    runner = RolloutRunner(
        lambda: turngym.make("turngym/GUI-v0", max_turns=4, **GUI_KWARGS),
        backend,
        renderer,
        sampling=SamplingParams(max_new_tokens=16),
        failure_policy="fail_fast",
        context=ContextConfig(policy="sliding_window", window_turns=1),
    )
    (t,) = runner.run_groups([GroupSpec({"task_index": 2}, seed=0)], 1).groups[0]
    assert len(t.segments) >= 2 and t.metadata["segment_starts"][1] == "window"
    for index, segment in enumerate(t.segments):
        # A restarted segment renders its window afresh: its images are its own, from 0.
        assert segment.num_images == len(segment_images(t, index)) > 0
        check_images_are_context(segment, renderer)


def test_budget_truncation_drops_the_images_after_the_last_sample(vlm) -> None:
    _, _, renderer = vlm
    backend = ScriptedBackend(renderer, "scroll(0, 40)")
    probe = RolloutRunner(
        lambda: turngym.make("turngym/GUI-v0", max_turns=2, **GUI_KWARGS),
        backend,
        renderer,
        sampling=SamplingParams(max_new_tokens=16),
        failure_policy="fail_fast",
    )
    (full,) = probe.run_groups([GroupSpec({"task_index": 0}, seed=0)], 1).groups[0]
    # A budget of exactly the second prompt: one turn is sampled, the env's answer (with a
    # screenshot) is appended, then the spent budget ends the episode before the second turn.
    budget = len(full.segments[0]) - len(backend.ids)
    runner = RolloutRunner(
        lambda: turngym.make("turngym/GUI-v0", max_turns=5, **GUI_KWARGS),
        backend,
        renderer,
        sampling=SamplingParams(max_new_tokens=16),
        max_episode_tokens=budget,
        failure_policy="fail_fast",
    )
    (t,) = runner.run_groups([GroupSpec({"task_index": 0}, seed=0)], 1).groups[0]
    assert t.stop_reason is StopReason.TOKEN_BUDGET and t.num_turns == 1
    (segment,) = t.segments
    last_sample = segment.turn_spans[-1][1]
    assert len(segment) == last_sample  # the trailing context was cut ...
    assert segment.num_images == 1  # ... and the screenshot in it went with it
    assert segment.vision.images[0].end <= last_sample


# ---- text models are unaffected ------------------------------------------------------------


def test_text_rollout_calls_a_text_backend_without_vision(tokenizer) -> None:
    from tests.core.helpers import NeverEndingEnv
    from turngym.core.wrappers import TurnLimit

    renderer = ChatRenderer(tokenizer)
    backend = TextOnlyBackend(renderer, "hello")
    runner = RolloutRunner(
        lambda: TurnLimit(NeverEndingEnv(), 2),
        backend,
        renderer,
        sampling=SamplingParams(max_new_tokens=8),
        failure_policy="fail_fast",
    )
    (t,) = runner.run_groups([GroupSpec({"task_index": 0}, seed=0)], 1).groups[0]
    assert t.num_turns == 2 and all(s.vision is None and s.num_images == 0 for s in t.segments)
    assert len(backend.calls) == 2 and all(v is None for _, v in backend.calls)
    ids_BT, attn_BT, _, _ = right_padded(t.segments, 0)
    assert forward_kwargs(None, ids_BT, attn_BT, t.segments) == {}


def test_vision_renderer_needs_a_backend_that_takes_images(vlm, tokenizer) -> None:
    _, _, renderer = vlm
    with pytest.raises(TypeError, match="vision="):
        RolloutRunner(
            lambda: turngym.make("turngym/GUI-v0", **GUI_KWARGS),
            TextOnlyBackend(ChatRenderer(tokenizer), "x"),
            renderer,
            sampling=SamplingParams(max_new_tokens=4),
        )


def test_load_policy_tells_text_from_vision_models(vlm, tiny_model_path: Path) -> None:
    model, processor, renderer = vlm
    assert isinstance(renderer, VisionChatRenderer) and renderer.processor is processor
    assert type(model).__name__ == "Qwen2VLForConditionalGeneration"
    assert renderer.pixel_dtype == torch.float32
    text_model, tokenizer, text_renderer = load_policy(tiny_model_path, torch.float32, "cpu")
    assert type(text_renderer) is ChatRenderer and text_renderer.tokenizer is tokenizer
    assert type(text_model).__name__ == "LlamaForCausalLM"
    with pytest.raises(TypeError, match="floating torch.dtype"):
        load_policy(tiny_model_path, "bfloat16", "cpu")  # type: ignore[arg-type]


def test_load_policy_keeps_pixels_in_the_model_dtype(vlm) -> None:
    _, processor, _ = vlm
    path = processor.tokenizer.name_or_path
    model, _, renderer = load_policy(path, torch.bfloat16, "cpu")
    assert renderer.pixel_dtype == torch.bfloat16
    assert next(model.parameters()).dtype == torch.bfloat16


def test_a_saved_policy_loads_again_as_a_vlm(vlm, tmp_path: Path) -> None:
    """What the trainer's save_model writes (model + processor) is a VLM folder again."""
    model, processor, renderer = vlm
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    again, _, again_renderer = load_policy(tmp_path, torch.float32, "cpu")
    assert isinstance(again_renderer, VisionChatRenderer)
    assert type(again) is type(model)
    observation, _ = turngym.make("turngym/GUI-v0", **GUI_KWARGS).reset(seed=0)
    before, after = renderer.render_prompt(observation), again_renderer.render_prompt(observation)
    assert before.token_ids == after.token_ids
    pixels = [i.tensors["pixel_values"] for i in (*before.vision.images, *after.vision.images)]
    assert len(pixels) == 2 and torch.equal(pixels[0], pixels[1])


# ---- bad input ---------------------------------------------------------------------------------


def test_forward_kwargs_refuses_what_does_not_fit(vlm) -> None:
    model, _, renderer = vlm
    rendered = renderer.render_prompt(
        turngym.make("turngym/GUI-v0", **GUI_KWARGS).reset(seed=0, options={"task_index": 0})[0]
    )
    ids_BT = torch.tensor([rendered.token_ids])
    attn_BT = torch.ones_like(ids_BT)
    with pytest.raises(ValueError, match="batch of 1 rows"):
        forward_kwargs(model, ids_BT, attn_BT, [rendered.vision, rendered.vision])
    with pytest.raises(TypeError, match="vision attribute"):
        forward_kwargs(model, ids_BT, attn_BT, ["not a sequence"])
    with pytest.raises(ValueError, match="image tokens"):
        forward_kwargs(model, ids_BT, attn_BT, [rendered.vision.shifted(2)])
    assert "pixel_values" in forward_kwargs(model, ids_BT, attn_BT, [rendered.vision])
    assert forward_kwargs(model, ids_BT, attn_BT, [None]) == {}


def test_segment_checks_its_images(vlm) -> None:
    _, _, renderer = vlm
    rendered = renderer.render_prompt(
        turngym.make("turngym/GUI-v0", **GUI_KWARGS).reset(seed=0, options={"task_index": 0})[0]
    )
    n = len(rendered.token_ids)

    def segment(vision: Any, sampled_at: int | None = None) -> Segment:
        mask = [0] * (n + 1)
        at = n if sampled_at is None else sampled_at
        mask[at] = 1
        ids = (*rendered.token_ids, 5)
        return Segment(ids, tuple(mask), (0.0,) * (n + 1), ((at, at + 1),), (0,), vision=vision)

    ok = segment(rendered.vision)
    assert ok.num_images == 1
    # Equality is by the identity of the image record, consistent with the hash.
    assert ok == segment(rendered.vision) and hash(ok) == hash(segment(rendered.vision))
    assert ok != segment(rendered.vision.shifted(0))  # an equal-looking but other record
    assert segment(None) == segment(None) and segment(None).num_images == 0
    with pytest.raises(ValueError, match="outside the segment"):
        segment(rendered.vision.shifted(n))
    image = rendered.vision.images[0]
    with pytest.raises(ValueError, match="overlaps sampled tokens"):
        segment(rendered.vision, sampled_at=image.start)
    with pytest.raises(TypeError, match="VisionInputs"):
        segment({"pixel_values": 0})

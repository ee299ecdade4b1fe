"""Images through the stack: rendering, masking, token exactness, sampling and training."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from turngym.agents.backend import SamplingParams
from turngym.agents.chat import ChatRenderer
from turngym.agents.hf import HFBackend
from turngym.agents.tiny_vlm import VLM_FAMILIES, make_tiny_vlm
from turngym.agents.vision import (
    RenderedTokens,
    VisionChatRenderer,
    VisionInputs,
    is_vision_model,
    load_processor,
    load_vision_model,
    to_pil_rgb,
    vision_forward_kwargs,
)
from turngym.core.messages import ImagePart, Message, TextPart
from turngym.trainer.losses import policy_loss, sequence_logprobs


def noise_image(seed: int, height: int, width: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


@pytest.fixture(scope="module", params=VLM_FAMILIES)
def vlm(request, tmp_path_factory: pytest.TempPathFactory, default_model_path: Path):
    """(family, renderer, model) of a tiny random VLM of each family."""
    folder = make_tiny_vlm(
        tmp_path_factory.mktemp(request.param) / "model",
        request.param,
        tokenizer_from=str(default_model_path),
    )
    renderer = VisionChatRenderer(load_processor(folder))
    model = load_vision_model(folder, device="cpu", dtype="float32")
    return request.param, renderer, model


# ---- a scripted episode, built the way the agent builds a segment -----------------------


@dataclass
class VisionSegment:
    """Token ids, loss mask and images of one segment, grown turn by turn."""

    token_ids: list[int] = field(default_factory=list)
    loss_mask: list[int] = field(default_factory=list)
    vision: VisionInputs | None = None

    def add_context(self, rendered: RenderedTokens) -> None:
        assert rendered.vision is not None
        self.vision = rendered.vision.placed_after(self.vision, len(self.token_ids))
        self.token_ids.extend(rendered.token_ids)
        self.loss_mask.extend([0] * len(rendered.token_ids))

    def add_sampled(self, ids: list[int]) -> None:
        self.token_ids.extend(ids)
        self.loss_mask.extend([1] * len(ids))


def env_turns() -> list[list[Message]]:
    """Observations of a three-turn visual episode: the first, then two env answers."""
    return [
        [
            Message("system", "You look at pictures."),
            Message(
                "user",
                (
                    TextPart("Compare "),
                    ImagePart(noise_image(1, 32, 32)),
                    TextPart(" and "),
                    ImagePart(noise_image(2, 48, 64)),
                    TextPart("."),
                ),
            ),
        ],
        [Message("user", (TextPart("Now this one:"), ImagePart(noise_image(3, 64, 40))))],
        [
            Message(
                "tool",
                (ImagePart(noise_image(4, 32, 48)), TextPart("crop done")),
                name="crop",
            )
        ],
    ]


def scripted_episode(renderer: VisionChatRenderer, replies: list[str]):
    """Render an episode turn by turn with pre-written replies (each ending in a stop token)."""
    observations = env_turns()
    segment = VisionSegment()
    history = list(observations[0])
    segment.add_context(renderer.render_prompt(history))
    stop = renderer.stop_token_ids[-1]
    for turn, reply in enumerate(replies):
        segment.add_sampled([*renderer.encode(reply), stop])
        history.append(Message("assistant", reply))
        if turn + 1 < len(observations):
            new = observations[turn + 1]
            segment.add_context(renderer.render_continuation(history, stop, new))
            history.extend(new)
    return segment, history


# ---- rendering ----------------------------------------------------------------------------


def test_rendering_matches_the_processor_for_both_families(vlm) -> None:
    family, renderer, _ = vlm
    messages = env_turns()[0]
    text = renderer.render_text(messages, add_generation_prompt=True)
    placeholder = "<|image_pad|>" if family.startswith("qwen") else "<image>"
    assert text.count(placeholder) == 2
    rendered = renderer.render_prompt(messages)
    images = [im for m in messages for im in m.images]
    reference = renderer.processor(
        text=[text], images=images, return_tensors="pt", add_special_tokens=False
    )
    assert list(rendered.token_ids) == reference["input_ids"][0].tolist()
    assert rendered.vision.num_images == 2
    pixels = torch.cat([im.tensors["pixel_values"] for im in rendered.vision.images])
    expected = reference["pixel_values"]
    assert torch.equal(pixels, expected if family.startswith("qwen") else expected[0])
    for image in rendered.vision.images:
        span = rendered.token_ids[image.start : image.end]
        assert span.count(renderer.image_token_id) == image.num_image_tokens > 0
        if family.startswith("qwen"):  # 2x2 patches merge into one token
            assert image.num_image_tokens == int(image.tensors["image_grid_thw"].prod()) // 4
        else:  # 4 tokens per 32x32 tile
            assert image.num_image_tokens == 4 * image.tensors["pixel_values"].shape[0]
    if family.startswith("qwen"):  # Qwen keeps sizes; Idefics3 scales every image to 64 px
        first, second = rendered.vision.images
        assert second.num_image_tokens > first.num_image_tokens


def test_image_tokens_are_context_and_rendering_is_token_exact_over_turns(vlm) -> None:
    _, renderer, _ = vlm
    replies = ["two squares", "a third", "done"]
    segment, history = scripted_episode(renderer, replies)
    assert segment.vision is not None and segment.vision.num_images == 4

    # Token exactness: the whole conversation rendered at once is the built segment.
    full = renderer.render_text(history, add_generation_prompt=False)
    whole = renderer.encode_with_images(full, [im for m in history for im in m.images])
    last_closing = renderer.encode(full.rsplit(replies[-1], 1)[1])
    assert list(whole.token_ids) == segment.token_ids[: len(segment.token_ids) - 1] + last_closing
    assert [(i.start, i.end) for i in whole.vision.images] == [
        (i.start, i.end) for i in segment.vision.images
    ]
    for a, b in zip(whole.vision.images, segment.vision.images, strict=True):
        assert a.tensors.keys() == b.tensors.keys()
        assert all(torch.equal(a.tensors[k], b.tensors[k]) for k in a.tensors)

    # Masking: every image token is context, and exactly the replies carry loss.
    positions = segment.vision.image_token_positions()
    assert len(positions) >= sum(i.num_image_tokens for i in segment.vision.images) > 0
    assert all(segment.loss_mask[p] == 0 for p in positions)
    sampled = [t for t, m in zip(segment.token_ids, segment.loss_mask, strict=True) if m]
    stop = renderer.stop_token_ids[-1]
    assert sampled == [t for r in replies for t in [*renderer.encode(r), stop]]


def test_truncating_a_segment_drops_the_images_after_the_cut(vlm) -> None:
    _, renderer, _ = vlm
    segment, _ = scripted_episode(renderer, ["a", "b", "c"])
    assert segment.vision is not None
    third = segment.vision.images[2]
    kept = segment.vision.truncated(third.start)
    assert kept.num_images == 2
    with pytest.raises(ValueError, match="splits an image"):
        segment.vision.truncated(third.start + 1)


def test_episode_on_the_gui_env_renders_screenshots_token_exactly(vlm) -> None:
    """The agent's Episode, unchanged, with a VisionChatRenderer on turngym/GUI-v0."""
    import turngym
    from turngym.agents.agent import Episode, EpisodeSpec
    from turngym.agents.backend import Generation

    _, renderer, _ = vlm
    env = turngym.make("turngym/GUI-v0", max_turns=3)
    episode = Episode(
        env, EpisodeSpec(seed=0), renderer, max_new_tokens=32, max_episode_tokens=100_000
    )
    episode.start()
    prompts = []
    for reply in ["scroll(0, 40)", "scroll(0, -40)", "done()"]:
        if episode.done:
            break
        prompts.append(list(episode.prompt()))
        ids = (*renderer.encode(reply), renderer.stop_token_ids[-1])
        episode.advance(Generation(ids, tuple([-1.0] * len(ids)), "stop"))
    trajectory = episode.trajectory()
    assert trajectory.stop_reason.value in ("terminated", "turn_limit"), trajectory.metadata
    (segment,) = trajectory.segments
    conversation = list(trajectory.metadata["segment_messages"][0])
    screenshots = [im for m in conversation for im in m.images]
    assert len(screenshots) >= 2  # one per observation the policy saw
    # The episode's tokens are the conversation rendered at once, screenshots expanded.
    text = renderer.render_text(conversation, add_generation_prompt=False)
    whole = renderer.encode_with_images(text, screenshots)
    assert list(segment.token_ids) == list(whole.token_ids[: len(segment)])
    assert all(segment.token_ids[: len(p)] == tuple(p) for p in prompts)
    # Every screenshot token is context.
    assert all(segment.loss_mask[i] == 0 for i in whole.vision.image_token_positions())


# ---- sampling and training ----------------------------------------------------------------


def test_generate_then_train_with_images(vlm) -> None:
    """Render -> sample with the tiny VLM (2 episodes, 2 turns, left-padded) -> train."""
    _, renderer, model = vlm
    backend = HFBackend(model, pad_token_id=renderer.tokenizer.pad_token_id)
    params = SamplingParams(
        max_new_tokens=6, temperature=1.0, stop_token_ids=renderer.stop_token_ids, seed=0
    )
    observations = env_turns()
    # Episode 1 starts without the system message, so the two prompts differ in length.
    histories = [list(observations[0]), list(observations[0][1:])]
    segments = [VisionSegment(), VisionSegment()]
    behaviour: list[list[float]] = [[], []]
    for segment, history in zip(segments, histories, strict=True):
        segment.add_context(renderer.render_prompt(history))
    for turn in range(2):
        generations = backend.generate(
            [s.token_ids for s in segments], params, vision=[s.vision for s in segments]
        )
        for i, generation in enumerate(generations):
            assert len(generation.token_ids) > 0
            segments[i].add_sampled(list(generation.token_ids))
            behaviour[i].extend(generation.logprobs)
            text, stop = renderer.split_action(generation.token_ids)
            histories[i].append(Message("assistant", text))
            if turn == 0:
                new = observations[1]
                segments[i].add_context(renderer.render_continuation(histories[i], stop, new))
                histories[i].extend(new)
    assert all(s.vision is not None and s.vision.num_images == 3 for s in segments)

    # Training forward on a right-padded batch, as the trainer builds it.
    L = max(len(s.token_ids) for s in segments)
    ids_BT = torch.full((2, L), renderer.tokenizer.pad_token_id, dtype=torch.long)
    attn_BT = torch.zeros((2, L), dtype=torch.long)
    mask_BT = torch.zeros((2, L))
    old_BT = torch.zeros((2, L))
    for i, s in enumerate(segments):
        n = len(s.token_ids)
        ids_BT[i, :n] = torch.tensor(s.token_ids)
        attn_BT[i, :n] = 1
        mask_BT[i, :n] = torch.tensor(s.loss_mask, dtype=torch.float32)
        old_BT[i, :n][torch.tensor(s.loss_mask, dtype=torch.bool)] = torch.tensor(behaviour[i])
    model.train()
    model.zero_grad(set_to_none=True)
    kwargs = vision_forward_kwargs(model, ids_BT, attn_BT, [s.vision for s in segments])
    logits = model(input_ids=ids_BT, attention_mask=attn_BT, **kwargs).logits
    logprobs_BT = sequence_logprobs(logits, ids_BT, temperature=1.0)
    # On-policy: the trainer's logprobs equal the sampler's (same pixels, same positions).
    on = mask_BT.bool()
    assert torch.allclose(logprobs_BT[on], old_BT[on], atol=2e-4), (
        (logprobs_BT[on] - old_BT[on]).abs().max()
    )
    loss, _ = policy_loss(logprobs_BT, old_BT, torch.tensor([1.0, -0.5]), mask_BT, clip_eps=0.2)
    loss.backward()
    model.eval()
    vision_grads = [
        p.grad for n, p in model.named_parameters() if "visual" in n or "vision_model" in n
    ]
    assert vision_grads and any(g is not None and g.abs().sum() > 0 for g in vision_grads)


def test_pixels_reach_the_model(vlm) -> None:
    """Changing an image changes the logits after it, and only after it."""
    _, renderer, model = vlm
    messages = env_turns()[0]
    rendered = renderer.render_prompt(messages)
    other = renderer.render_prompt(
        [
            messages[0],
            Message(
                "user",
                (
                    TextPart("Compare "),
                    ImagePart(noise_image(9, 32, 32)),
                    TextPart(" and "),
                    ImagePart(noise_image(2, 48, 64)),
                    TextPart("."),
                ),
            ),
        ]
    )
    assert other.token_ids == rendered.token_ids  # same sizes, same tokens: only pixels differ
    ids_BT = torch.tensor([rendered.token_ids])
    attn_BT = torch.ones_like(ids_BT)
    with torch.no_grad():
        a = model(
            input_ids=ids_BT,
            attention_mask=attn_BT,
            **vision_forward_kwargs(model, ids_BT, attn_BT, [rendered.vision]),
        ).logits
        b = model(
            input_ids=ids_BT,
            attention_mask=attn_BT,
            **vision_forward_kwargs(model, ids_BT, attn_BT, [other.vision]),
        ).logits
    start = rendered.vision.images[0].start
    assert torch.allclose(a[0, :start], b[0, :start])
    assert (a[0, -1] - b[0, -1]).abs().max() > 1e-6


def test_pixels_can_be_kept_in_bfloat16(vlm) -> None:
    _, renderer, model = vlm
    half = VisionChatRenderer(renderer.processor, pixel_dtype=torch.bfloat16)
    rendered = half.render_prompt(env_turns()[0])
    (first, _) = rendered.vision.images
    assert first.tensors["pixel_values"].dtype == torch.bfloat16
    reference = renderer.render_prompt(env_turns()[0]).vision.images[0].tensors["pixel_values"]
    assert torch.allclose(first.tensors["pixel_values"].float(), reference, atol=2e-2)
    ids_BT = torch.tensor([rendered.token_ids])
    attn_BT = torch.ones_like(ids_BT)
    with torch.no_grad():
        logits = model(
            input_ids=ids_BT,
            attention_mask=attn_BT,
            **vision_forward_kwargs(model, ids_BT, attn_BT, [rendered.vision]),
        ).logits
    assert torch.isfinite(logits).all()
    with pytest.raises(TypeError, match="pixel_dtype"):
        VisionChatRenderer(renderer.processor, pixel_dtype=torch.int8)


def test_backend_reads_the_context_length_of_a_vlm(vlm) -> None:
    _, renderer, model = vlm
    assert HFBackend(model, pad_token_id=0).max_context == 4096


# ---- bad input ----------------------------------------------------------------------------


def test_text_renderer_refuses_images(tokenizer) -> None:
    renderer = ChatRenderer(tokenizer)
    message = Message("user", (TextPart("see"), ImagePart(noise_image(0, 8, 8))))
    with pytest.raises(ValueError, match="VisionChatRenderer"):
        renderer.prompt_ids([message])


def test_text_renderer_renders_tokens_without_images(tokenizer) -> None:
    renderer = ChatRenderer(tokenizer)
    history = [Message("user", "hi"), Message("assistant", "hello")]
    rendered = renderer.render_prompt(history[:1])
    assert rendered.vision is None
    assert list(rendered.token_ids) == renderer.prompt_ids(history[:1])
    stop = renderer.stop_token_ids[-1]
    new = [Message("user", "again")]
    continued = renderer.render_continuation(history, stop, new)
    assert continued.vision is None
    assert list(continued.token_ids) == renderer.continuation_ids(history, stop, new)


def test_vision_renderer_needs_a_processor(tokenizer) -> None:
    with pytest.raises(TypeError, match="processor"):
        VisionChatRenderer(tokenizer)


def test_placeholder_count_must_match_the_images(vlm) -> None:
    _, renderer, _ = vlm
    text = f"two {renderer.image_token} {renderer.image_token}"
    with pytest.raises(ValueError, match="2 image placeholder"):
        renderer.encode_with_images(text, [noise_image(0, 32, 32)])


def test_forward_kwargs_check_that_images_fit_their_rows(vlm) -> None:
    _, renderer, model = vlm
    rendered = renderer.render_prompt(env_turns()[0])
    ids_BT = torch.tensor([rendered.token_ids])
    attn_BT = torch.ones_like(ids_BT)
    with pytest.raises(ValueError, match="one entry|for a batch"):
        vision_forward_kwargs(model, ids_BT, attn_BT, [rendered.vision, rendered.vision])
    with pytest.raises(ValueError, match="image tokens"):
        vision_forward_kwargs(model, ids_BT, attn_BT, [rendered.vision.shifted(3)])
    assert vision_forward_kwargs(model, ids_BT, attn_BT, [None]) == {}
    stray_BT = torch.cat([ids_BT, torch.tensor([[renderer.image_token_id]])], dim=1)
    with pytest.raises(ValueError, match="placeholder outside the images"):
        vision_forward_kwargs(model, stray_BT, torch.ones_like(stray_BT), [rendered.vision])


def test_vision_models_are_told_apart(vlm, tiny_model_path: Path, tmp_path: Path) -> None:
    _, renderer, model = vlm
    assert is_vision_model(model.name_or_path)
    assert not is_vision_model(tiny_model_path)
    with pytest.raises(ValueError, match="config.json"):
        is_vision_model(tmp_path)


def test_joining_images_out_of_order_is_refused(vlm) -> None:
    _, renderer, _ = vlm
    rendered = renderer.render_prompt(env_turns()[0])
    with pytest.raises(ValueError, match="offset"):
        rendered.vision.then(rendered.vision, 1)


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("https://example.com/cat.png", "URL"),
        (3.5, "PIL image"),
        (np.zeros((4, 4, 3), dtype=np.float32), "uint8"),
    ],
)
def test_images_must_be_local(image: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        to_pil_rgb(image)


def test_arrays_and_paths_become_rgb_images(tmp_path: Path) -> None:
    gray = np.full((6, 5), 200, dtype=np.uint8)
    assert to_pil_rgb(gray).mode == "RGB" and to_pil_rgb(gray).size == (5, 6)
    path = tmp_path / "x.png"
    Image.fromarray(gray).save(path)
    loaded = to_pil_rgb(str(path))
    assert loaded.mode == "RGB" and np.asarray(loaded)[0, 0].tolist() == [200, 200, 200]


def test_unknown_family_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="family must be one of"):
        make_tiny_vlm(tmp_path / "m", "llava")  # type: ignore[arg-type]

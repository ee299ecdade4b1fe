"""Context management: sliding window, tool-output truncation, trainable summaries (SUPO)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.core.helpers import NeverEndingEnv
from turngym.agents.agent import Episode, EpisodeSpec
from turngym.agents.backend import Generation, SamplingParams
from turngym.agents.chat import ChatRenderer
from turngym.agents.context import (
    ContextConfig,
    context_metrics,
    conversation_without_summaries,
    truncate_observation,
    truncate_text,
)
from turngym.core import Message
from turngym.core.trajectory import StopReason, Trajectory
from turngym.core.wrappers import TurnLimit
from turngym.envs.base import StepOutcome
from turngym.envs.long_horizon import LongCountEnv

TEMPLATES = Path(__file__).parent / "templates"
CLOSING = "<|im_end|>\n"


class ReplyBackend:
    """Scripted replies: ``replies[i]`` for the i-th normal turn, a fixed text for summaries."""

    max_context = None

    def __init__(self, renderer: ChatRenderer, replies: Sequence[str], summary: str = "S"):
        self.renderer = renderer
        self.replies = list(replies)
        self.summary = summary
        self.prompts: list[list[int]] = []
        self.sampled: list[list[int]] = []
        self.summary_prompts: list[str] = []
        self.caps: list[tuple[bool, int]] = []  # (was a summary, token cap it was given)
        self.turn = 0

    def generate(self, prompts, params, max_new_tokens=None):
        out = []
        for j, p in enumerate(prompts):
            self.prompts.append(list(p))
            tail = self.renderer.decode(p[-80:])
            is_summary = ContextConfig().summary_request in tail
            self.caps.append((is_summary, max_new_tokens[j] if max_new_tokens else -1))
            if is_summary:
                self.summary_prompts.append(self.renderer.decode(p))
                text = f"{self.summary} #{len(self.summary_prompts)}"
            else:
                text = self.replies[self.turn % len(self.replies)]
                self.turn += 1
            ids = [*self.renderer.encode(text), self.renderer.stop_token_ids[-1]]
            self.sampled.append(ids)
            out.append(
                Generation(tuple(ids), tuple(-0.1 - 0.01 * k for k in range(len(ids))), "stop")
            )
        return out


def play(env, renderer: ChatRenderer, backend: ReplyBackend, **kw) -> tuple[Episode, Trajectory]:
    kw.setdefault("max_new_tokens", 64)
    kw.setdefault("max_episode_tokens", 100_000)
    ep = Episode(env, EpisodeSpec(seed=0, options={"task_index": 0}), renderer, **kw)
    ep.start()
    while not ep.done:
        (gen,) = backend.generate([ep.prompt()], SamplingParams(), [ep.token_cap()])
        ep.advance(gen)
    return ep, ep.trajectory()


def assert_segments_exact(renderer: ChatRenderer, traj: Trajectory, sampled: list[list[int]]):
    """Every segment spells its own conversation through the template; masks mark samples."""
    assert len(traj.metadata["segment_messages"]) == len(traj.segments)
    spans = []
    for seg, msgs in zip(traj.segments, traj.metadata["segment_messages"], strict=True):
        text = renderer.decode(seg.token_ids)
        full = renderer.render_text(list(msgs), add_generation_prompt=False)
        assert full.startswith(text) and len(full) - len(text) <= len(CLOSING)
        # ChatML prompts end on special tokens, so the whole segment also re-tokenizes equal
        assert renderer.encode(full)[: len(seg)] == list(seg.token_ids)
        mask = [0] * len(seg)
        for a, b in seg.turn_spans:
            mask[a:b] = [1] * (b - a)
            spans.append(list(seg.token_ids[a:b]))
        assert list(seg.loss_mask) == mask
        assert all(lp == 0.0 for lp, m in zip(seg.logprobs, seg.loss_mask) if not m)
        assert seg.turn_spans[-1][1] == len(seg)  # a segment ends on its last sampled token
    assert spans == sampled  # every sampled token trained exactly once, in order


def user_renderer(tokenizer) -> ChatRenderer:
    return ChatRenderer(tokenizer)


# ---- config -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"policy": "rolling"}, "context policy must be one of"),
        ({"window_turns": 0}, "window_turns must be >= 1"),
        ({"max_observation_chars": 10}, "max_observation_chars must be >= 64"),
        ({"summary_template": "no placeholder"}, r"must contain '\{summary\}'"),
        ({"summary_trigger_tokens": 0}, "summary_trigger_tokens must be >= 1"),
        ({"max_summary_rounds": -1}, "max_summary_rounds must be >= 0"),
        ({"summary_trigger_fraction": 1.5}, r"summary_trigger_fraction must be in \(0, 1\]"),
        ({"summary_role": "tool"}, "summary_role must be 'user' or 'assistant'"),
        ({"summary_request": "  "}, "summary_request must not be empty"),
    ],
)
def test_bad_config_is_a_clear_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ContextConfig(**kwargs)


def test_episode_rejects_policies_it_cannot_run(tokenizer):
    r = user_renderer(tokenizer)
    env = NeverEndingEnv()
    with pytest.raises(ValueError, match="needs a trigger"):
        Episode(env, EpisodeSpec(0), r, max_new_tokens=8, max_episode_tokens=100,
                context=ContextConfig(policy="summarize"))  # fmt: skip
    with pytest.raises(ValueError, match="allow_new_segments=True"):
        Episode(env, EpisodeSpec(0), r, max_new_tokens=8, max_episode_tokens=100,
                allow_new_segments=False, context=ContextConfig(policy="sliding_window"))  # fmt: skip
    with pytest.raises(TypeError, match="ContextConfig"):
        Episode(env, EpisodeSpec(0), r, max_new_tokens=8, max_episode_tokens=100,
                context={"policy": "full"})  # fmt: skip


def test_eval_rounds_are_separate_from_training():
    cfg = ContextConfig(policy="summarize", max_summary_rounds=3, eval_max_summary_rounds=7)
    assert cfg.max_summary_rounds == 3 and cfg.for_eval().max_summary_rounds == 7
    assert ContextConfig(max_summary_rounds=3).for_eval().max_summary_rounds == 3


# ---- truncation ---------------------------------------------------------------------------


def test_truncation_keeps_head_and_tail_and_counts_the_cut():
    lines = [f"line {i:03d}" for i in range(200)]  # 8 chars + newline each
    text = "\n".join(lines)
    out, cut = truncate_text(text, 100)
    head, tail = out.split("\n[... ", 1)[0], out.rsplit(" cut ...]\n", 1)[1]
    assert text.startswith(head) and text.endswith(tail) and len(head) + len(tail) == 100
    assert cut == len(text) - 100
    middle = text[len(head) : len(text) - len(tail)]
    assert f"[... {cut} chars ({middle.count(chr(10))} line breaks) cut ...]" in out
    assert middle.count("\n") > 150  # the marker counts real line breaks, not a constant
    assert truncate_text("short", 100) == ("short", 0)
    with pytest.raises(ValueError, match="max_chars must be >= 1"):
        truncate_text("x", 0)


def test_truncation_leaves_multipart_and_short_messages_alone():
    from turngym.core import ImagePart, TextPart

    parts = Message("user", (TextPart("x" * 500), ImagePart("img.png")))
    msgs, cut = truncate_observation(
        [Message("tool", "y" * 300), parts, Message("user", "ok")], 100
    )
    assert cut == 200 and len(msgs[0].text) < 300 and msgs[1] is parts and msgs[2].text == "ok"


class LoudEnv(NeverEndingEnv):
    """Answers every turn with a 1,000-character tool output."""

    def on_action(self, action: str) -> StepOutcome:
        body = "\n".join(f"out {self.turn}-{i:02d} " + "z" * 40 for i in range(20))
        return StepOutcome(messages=[Message("tool", body)], reward=0.0)


def test_truncated_observations_stay_one_segment_and_are_counted(tokenizer):
    r = user_renderer(tokenizer)
    backend = ReplyBackend(r, ["a", "b", "c"])
    cfg = ContextConfig(max_observation_chars=200)
    ep, traj = play(TurnLimit(LoudEnv(), 3), r, backend, context=cfg)
    tools = [m for m in traj.messages if m.role == "tool"]
    raw = "\n".join(f"out 0-{i:02d} " + "z" * 40 for i in range(20))
    assert tools[0].text == truncate_text(raw, 200)[0]
    assert traj.metadata["observation_chars_cut"] == sum(len(raw) - 200 for _ in tools)
    assert len(traj.segments) == 1
    assert_segments_exact(r, traj, backend.sampled)


# ---- sliding window -----------------------------------------------------------------------


def test_sliding_window_keeps_first_observation_and_last_k_turns(tokenizer):
    r = user_renderer(tokenizer)
    replies = [f"reply-{i}" for i in range(6)]
    backend = ReplyBackend(r, replies)
    ep, traj = play(
        TurnLimit(NeverEndingEnv(), 6), r, backend, context=ContextConfig("sliding_window", 2)
    )
    assert traj.num_turns == 6
    # turns 0-2 fit (2 in the window + the new action); then every env answer drops the oldest
    # turn, except the last, which ends the episode
    assert traj.metadata["segment_starts"] == ("reset", "window", "window", "window")
    assert [len(s.turn_spans) for s in traj.segments] == [3, 1, 1, 1]
    first_obs = list(traj.messages[:2])
    for k, msgs in enumerate(traj.metadata["segment_messages"][1:], start=1):
        assert list(msgs[:2]) == first_obs
        shown = [m.text for m in msgs if m.role == "assistant"]
        assert shown == replies[k : k + 3]  # last 2 complete turns, then the new action
    # a window prompt is rendered fresh: its context is exactly the template's rendering
    seg = traj.segments[3]
    ctx = list(traj.metadata["segment_messages"][3][:-1])
    start = seg.turn_spans[0][0]
    assert list(seg.token_ids[:start]) == r.prompt_ids(ctx)
    assert set(seg.loss_mask[:start]) == {0}
    assert_segments_exact(r, traj, backend.sampled)


# ---- summarization ------------------------------------------------------------------------


def summarize_cfg(**kw) -> ContextConfig:
    return ContextConfig(policy="summarize", **kw)


def test_summary_is_sampled_trained_and_restarts_the_context(tokenizer):
    r = user_renderer(tokenizer)
    env = LongCountEnv(num_records=6, filler_lines=6)
    backend = ReplyBackend(r, ["noted", "noted", "\\boxed{0}"], summary="running total")
    ep, traj = play(env, r, backend, context=summarize_cfg(summary_trigger_tokens=350))
    # the summaries were not sent to the env: it saw exactly N + 1 actions and ended itself
    assert traj.stop_reason is StopReason.TERMINATED and traj.num_turns == 7
    rounds = traj.metadata["summary_rounds"]
    assert rounds == len(backend.summary_prompts) >= 1
    assert traj.metadata["segment_starts"] == ("reset",) + ("summary",) * rounds
    assert len(traj.segments) == rounds + 1
    for i, (seg_idx, a, b) in enumerate(traj.metadata["summary_spans"]):
        seg = traj.segments[seg_idx]
        # the summary is the last sampled turn of the segment it closes, with loss
        assert (a, b) == seg.turn_spans[-1] and b == len(seg)
        assert set(seg.loss_mask[a:b]) == {1}
        assert r.decode(seg.token_ids[a:b]).startswith(f"running total #{i + 1}")
        # the request came right before it, as context
        assert ContextConfig().summary_request in r.decode(seg.token_ids[:a])
        # the next segment restarts from [system, task, summary] rendered fresh, all mask 0
        nxt = traj.segments[seg_idx + 1]
        restart = [*traj.messages[:2], Message("user", ContextConfig().summary_template.format(
            summary=f"running total #{i + 1}"))]  # fmt: skip
        start = nxt.turn_spans[0][0]
        assert list(nxt.token_ids[:start]) == r.prompt_ids(restart)
        assert set(nxt.loss_mask[:start]) == {0}
    assert_segments_exact(r, traj, backend.sampled)
    # every prompt the backend saw is the start of the segment it was sampled in
    for prompt in backend.prompts:
        assert any(list(s.token_ids[: len(prompt)]) == prompt for s in traj.segments)
    # bookkeeping
    meta = traj.metadata
    assert meta["peak_context_tokens"] == max(len(s) for s in traj.segments)
    assert meta["context_tokens_per_segment"] == tuple(len(s) for s in traj.segments)
    assert meta["full_history_tokens"] > 350 and meta["tokens_saved"] > 0
    assert meta["tokens_saved"] == meta["full_history_tokens"] - meta["peak_context_tokens"]
    assert all(len(s) <= 350 + 64 + 80 for s in traj.segments)  # trigger + a turn + request
    # without the summary exchange, the conversation has one assistant message per env turn
    plain = conversation_without_summaries(traj)
    assert sum(m.role == "assistant" for m in plain) == traj.num_turns
    assert len(plain) == len(traj.messages) - 2 * rounds
    assert not any(ContextConfig().summary_request == m.text for m in plain)
    m = context_metrics([traj])
    assert m["context/summary_rounds_mean"] == rounds and m["context/segments_mean"] == rounds + 1


def test_summary_is_not_an_action_and_has_its_own_token_cap(tokenizer):
    r = user_renderer(tokenizer)
    env = LongCountEnv(num_records=5, filler_lines=6, render_mode="ansi")
    backend = ReplyBackend(r, ["noted"], summary="running total")
    cfg = summarize_cfg(summary_trigger_tokens=300, summary_max_new_tokens=7)
    ep, traj = play(env, r, backend, context=cfg, max_new_tokens=40)
    assert traj.metadata["summary_rounds"] >= 1
    assert "running total" not in env.render()  # the env never saw a summary
    assert "noted" in env.render()
    caps = {kind: {c for k, c in backend.caps if k == kind} for kind in (True, False)}
    assert caps[True] == {7} and caps[False] == {40}


def test_truncation_combines_with_summaries(tokenizer):
    r = user_renderer(tokenizer)
    env = LongCountEnv(num_records=6, filler_lines=12)
    backend = ReplyBackend(r, ["noted"])
    cfg = summarize_cfg(summary_trigger_tokens=300, max_observation_chars=160)
    ep, traj = play(env, r, backend, context=cfg)
    assert traj.metadata["observation_chars_cut"] > 0 and traj.metadata["summary_rounds"] >= 1
    records = [m.text for m in traj.messages if m.text.startswith("Record ")]
    assert len(records) == 6 and all(
        "chars (" in t and "line breaks) cut ...]" in t for t in records
    )
    assert all("value = " in t.splitlines()[0] for t in records)  # the head keeps the value
    assert_segments_exact(r, traj, backend.sampled)


def test_runner_plays_summaries_with_the_eval_round_cap(tokenizer):
    from turngym.agents.rollout import GroupSpec, RolloutRunner

    r = user_renderer(tokenizer)
    cfg = summarize_cfg(summarize_every_turns=1, max_summary_rounds=1, eval_max_summary_rounds=3)
    rounds = {}
    for name, context in (("train", cfg), ("eval", cfg.for_eval())):
        runner = RolloutRunner(
            lambda: TurnLimit(NeverEndingEnv(), 5),
            ReplyBackend(r, ["ok"]),
            r,
            sampling=SamplingParams(max_new_tokens=16),
            failure_policy="fail_fast",
            context=context,
        )
        trajs = runner.run_groups([GroupSpec({"task_index": 0}, seed=0)], 2).all_trajectories
        rounds[name] = {t.metadata["summary_rounds"] for t in trajs}
        assert all(t.num_turns == 5 for t in trajs)
    assert rounds == {"train": {1}, "eval": {3}}


def test_summary_every_k_turns_and_round_cap(tokenizer):
    r = user_renderer(tokenizer)
    backend = ReplyBackend(r, ["ok"])
    cfg = summarize_cfg(summarize_every_turns=2, max_summary_rounds=2)
    ep, traj = play(TurnLimit(NeverEndingEnv(), 7), r, backend, context=cfg)
    assert traj.metadata["summary_rounds"] == 2  # capped, though 7 turns allow 3
    # summaries were asked after env turns 2 and 4 (counted from the start / last summary)
    assert [seg for seg, _, _ in traj.metadata["summary_spans"]] == [0, 1]
    assert [len(s.turn_spans) for s in traj.segments] == [3, 3, 3]
    assert traj.num_turns == 7
    assert_segments_exact(r, traj, backend.sampled)


def test_summary_rounds_exhausted_ends_with_context_limit(tokenizer):
    r = user_renderer(tokenizer)
    env = LongCountEnv(num_records=10, filler_lines=6)
    backend = ReplyBackend(r, ["noted"])
    cfg = summarize_cfg(summary_trigger_tokens=300, max_summary_rounds=1)
    ep, traj = play(env, r, backend, context=cfg, max_context=420)
    assert traj.metadata["summary_rounds"] == 1
    assert traj.stop_reason is StopReason.CONTEXT_LIMIT and traj.truncated
    assert_segments_exact(r, traj, backend.sampled)


def test_summary_as_assistant_message(tokenizer):
    r = user_renderer(tokenizer)
    backend = ReplyBackend(r, ["ok"], summary="notes")
    cfg = summarize_cfg(summarize_every_turns=1, max_summary_rounds=1, summary_role="assistant",
                        summary_template="{summary}")  # fmt: skip
    ep, traj = play(TurnLimit(NeverEndingEnv(), 2), r, backend, context=cfg)
    restart = traj.metadata["segment_messages"][1]
    assert restart[2] == Message("assistant", "notes #1")
    assert_segments_exact(r, traj, backend.sampled)


# ---- templates that rewrite history -------------------------------------------------------


class ToolThenUserEnv(NeverEndingEnv):
    """Answers with a tool message, except every third turn with a user message."""

    def on_action(self, action: str) -> StepOutcome:
        if self.turn % 3 == 2:
            return StepOutcome(messages=[Message("user", f"user note {self.turn}")])
        return StepOutcome(messages=[Message("tool", f"tool out {self.turn}")])


def qwen3_renderer(tokenizer) -> ChatRenderer:
    tok = copy.deepcopy(tokenizer)
    return ChatRenderer(tok, chat_template=(TEMPLATES / "qwen3_style.jinja").read_text())


def test_reasoning_stripping_template_restarts_only_on_a_new_user_message(tokenizer):
    r = qwen3_renderer(tokenizer)
    replies = [f"<think>plan {i}</think> act {i}" for i in range(7)]
    backend = ReplyBackend(r, replies)
    ep, traj = play(TurnLimit(ToolThenUserEnv(), 7), r, backend)
    # tool answers extend the prompt (reasoning kept); each user message rewrites history
    assert traj.metadata["segment_starts"] == ("reset", "template", "template")
    assert [len(s.turn_spans) for s in traj.segments] == [3, 3, 1]
    ctx = r.decode(
        [t for t, m in zip(traj.segments[1].token_ids, traj.segments[1].loss_mask) if not m]
    )
    assert "plan 0" not in ctx and "act 0" in ctx  # the restarted context shows it stripped
    assert_segments_exact(r, traj, backend.sampled)


def test_rewriting_template_combined_with_summaries(tokenizer):
    r = qwen3_renderer(tokenizer)
    replies = [f"<think>plan {i}</think> act {i}" for i in range(9)]
    backend = ReplyBackend(r, replies, summary="<think>hmm</think> summary")
    cfg = summarize_cfg(summarize_every_turns=4, max_summary_rounds=2)
    ep, traj = play(TurnLimit(ToolThenUserEnv(), 9), r, backend, context=cfg)
    starts = traj.metadata["segment_starts"]
    assert starts.count("summary") == 2 and "template" in starts
    assert traj.num_turns == 9
    assert_segments_exact(r, traj, backend.sampled)


# ---- with a real (tiny) model -------------------------------------------------------------


class CappedBackend:
    """A backend view with a small context window."""

    def __init__(self, inner, max_context: int):
        self.inner, self.max_context = inner, max_context

    def generate(self, prompts, params, max_new_tokens=None):
        return self.inner.generate(prompts, params, max_new_tokens)


@pytest.fixture(scope="module")
def tiny(tiny_model_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_path)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_path, dtype=torch.float32)
    return tok, model


def run_long_count(tiny, context: ContextConfig) -> list[Trajectory]:
    from turngym.agents.hf import HFBackend
    from turngym.agents.rollout import GroupSpec, RolloutRunner

    tok, model = tiny
    runner = RolloutRunner(
        lambda: LongCountEnv(num_records=4, filler_lines=10),
        CappedBackend(HFBackend(model, pad_token_id=tok.pad_token_id), 512),
        ChatRenderer(tok),
        sampling=SamplingParams(max_new_tokens=8, temperature=1.0, seed=5),
        max_episode_tokens=20_000,
        failure_policy="fail_fast",
        context=context,
    )
    result = runner.run_groups([GroupSpec({"task_index": 0}, seed=1)], 1)
    return [t for g in result.groups for t in g]


def test_tiny_model_overflows_without_summaries_and_finishes_with_them(tiny):
    import torch

    from turngym.trainer.losses import sequence_logprobs

    full = run_long_count(tiny, ContextConfig())
    assert all(t.stop_reason is StopReason.CONTEXT_LIMIT for t in full)
    assert all(t.num_turns < 5 for t in full)
    summarized = run_long_count(
        tiny,
        summarize_cfg(max_summary_rounds=6, summary_trigger_fraction=0.5),
    )
    assert all(t.stop_reason is StopReason.TERMINATED and t.num_turns == 5 for t in summarized)
    tok, model = tiny
    for t in summarized:
        assert t.metadata["summary_rounds"] >= 1
        assert all(len(s) <= 512 for s in t.segments)
        assert t.metadata["full_history_tokens"] > 512
        for seg in t.segments:
            # the trainer's recomputation of each segment reproduces the behaviour logprobs,
            # summary tokens included
            ids = torch.tensor([seg.token_ids])
            with torch.no_grad():
                lp = sequence_logprobs(model(input_ids=ids).logits, ids, temperature=1.0)[0]
            mask = torch.tensor(seg.loss_mask, dtype=torch.bool)
            assert torch.allclose(lp[mask], torch.tensor(seg.logprobs)[mask], atol=1e-4)
        for seg_idx, a, b in t.metadata["summary_spans"]:
            assert set(t.segments[seg_idx].loss_mask[a:b]) == {1}


# ---- what the trainer makes of segments ---------------------------------------------------


def test_trainer_gives_each_segment_its_own_sequence_with_the_episode_advantage(tokenizer):
    from turngym.trainer.trainer import trajectories_to_sequences

    r = user_renderer(tokenizer)
    group = []
    for answer in (
        "\\boxed{0}",
        f"\\boxed{{{sum(LongCountEnv(num_records=6).get_task(0)['values'][:6])}}}",
    ):
        backend = ReplyBackend(r, ["noted"] * 6 + [answer])
        env = LongCountEnv(num_records=6, filler_lines=6)
        group.append(play(env, r, backend, context=summarize_cfg(summary_trigger_tokens=350))[1])
    rewards = [t.reward for t in group]
    assert rewards == [0.0, 1.0]
    seqs, adv = trajectories_to_sequences([group], std_normalize=False)
    assert len(seqs) == sum(len(t.segments) for t in group) > 2
    k = 0
    for i, t in enumerate(group):
        for seg in t.segments:
            assert seqs[k].token_ids == list(seg.token_ids)
            assert seqs[k].loss_mask == list(seg.loss_mask)
            assert seqs[k].advantage == pytest.approx(float(adv[i]))
            k += 1
    assert adv[0] < 0 < adv[1]


def test_context_metrics_skip_episodes_without_context_metadata():
    from turngym.core.trajectory import Segment

    seg = Segment((1, 2), (0, 1), (0.0, -0.5), ((1, 2),), (0,))
    bare = Trajectory((seg, seg), (), (0.0,), True, False, StopReason.TERMINATED)
    rich = Trajectory(
        (seg,), (), (0.0,), True, False, StopReason.TERMINATED,
        metadata={"summary_rounds": 3, "tokens_saved": 10, "full_history_tokens": None},
    )  # fmt: skip
    m = context_metrics([bare, rich])
    assert m["context/segments_mean"] == 1.5
    assert m["context/summary_rounds_mean"] == 3.0 and m["context/tokens_saved_mean"] == 10.0
    assert "context/full_history_tokens_mean" not in m


# ---- episode token budget -----------------------------------------------------------------


def added_tokens(r: ChatRenderer, traj: Trajectory) -> int:
    """Tokens a summarizing episode added, read off its segments: the first segment whole,
    then each later one without its restated prefix (everything before its first sample)."""
    first, *rest = traj.segments
    return len(first) + sum(len(s) - s.turn_spans[0][0] for s in rest)


@pytest.mark.parametrize("policy", ["summarize", "sliding_window"])
def test_budget_counts_added_tokens_not_restated_prefixes(tokenizer, policy):
    r = user_renderer(tokenizer)
    cfg = (
        summarize_cfg(summarize_every_turns=1, max_summary_rounds=10)
        if policy == "summarize"
        else ContextConfig("sliding_window", window_turns=1)
    )
    env_factory = lambda: LongCountEnv(num_records=6, filler_lines=6)  # noqa: E731
    _, unlimited = play(env_factory(), r, ReplyBackend(r, ["noted", "\\boxed{0}"]), context=cfg)
    assert unlimited.stop_reason is StopReason.TERMINATED and len(unlimited.segments) >= 5
    all_tokens = sum(len(s) for s in unlimited.segments)
    used = unlimited.metadata["episode_tokens"]
    # every restart restated [system, task, ...]: counting it again would cost this much more
    assert all_tokens - used > 5 * len(r.prompt_ids(list(unlimited.messages[:2])))
    # a budget between the two: the episode now finishes (it would have ended token_budget)
    budget = (used + all_tokens) // 2
    _, traj = play(
        env_factory(),
        r,
        ReplyBackend(r, ["noted", "\\boxed{0}"]),
        context=cfg,
        max_episode_tokens=budget,
    )
    assert traj.stop_reason is StopReason.TERMINATED and traj.num_turns == 7
    assert traj.metadata["episode_tokens"] == used <= budget < sum(len(s) for s in traj.segments)
    if policy == "summarize":
        # restarts only restate earlier context: what was added is the segments minus prefixes
        assert used == added_tokens(r, traj)
    # and a budget below what the episode adds still truncates it
    _, short = play(
        env_factory(),
        r,
        ReplyBackend(r, ["noted", "\\boxed{0}"]),
        context=cfg,
        max_episode_tokens=used // 2,
    )
    assert short.stop_reason is StopReason.TOKEN_BUDGET and short.truncated
    assert short.num_turns < 7 and short.num_sampled_tokens < used // 2


def test_budget_of_full_history_is_the_conversation_length(tokenizer):
    r = user_renderer(tokenizer)
    _, traj = play(LongCountEnv(num_records=4, filler_lines=2), r, ReplyBackend(r, ["noted"]))
    assert len(traj.segments) == 1
    assert traj.metadata["episode_tokens"] == len(traj.segments[0])

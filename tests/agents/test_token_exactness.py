"""Token exactness: the ids given to the trainer are the sampled ids plus template deltas."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.core.helpers import NeverEndingEnv
from turngym.agents.agent import Episode, EpisodeSpec
from turngym.agents.backend import Generation, SamplingParams
from turngym.agents.chat import ChatRenderer, TemplateMismatchError
from turngym.core import Message
from turngym.core.wrappers import TurnLimit

TEMPLATES = Path(__file__).parent / "templates"
EXTRA_SPECIALS = {
    "llama3_style": ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
    "gemma_style": ["<start_of_turn>", "<end_of_turn>"],
    "strips_reasoning": [],
}


def renderer_for(tokenizer, family: str) -> ChatRenderer:
    if family == "default":
        return ChatRenderer(tokenizer)
    tok = copy.deepcopy(tokenizer)
    if EXTRA_SPECIALS[family]:
        tok.add_special_tokens({"additional_special_tokens": EXTRA_SPECIALS[family]})
    return ChatRenderer(tok, chat_template=(TEMPLATES / f"{family}.jinja").read_text())


class ScriptedBackend:
    """Returns pre-written replies, tokenized, with or without a stop token."""

    def __init__(self, renderer: ChatRenderer, replies: Sequence[str], stop: Sequence[bool]):
        self.renderer, self.replies, self.stop = renderer, list(replies), list(stop)
        self.calls = 0
        self.prompts: list[list[int]] = []

    max_context = None

    def generate(self, prompts, params, max_new_tokens=None):
        out = []
        for p in prompts:
            self.prompts.append(list(p))
            i = self.calls
            self.calls += 1
            ids = self.renderer.encode(self.replies[i])
            if self.stop[i]:
                ids.append(self.renderer.stop_token_ids[-1])
            out.append(
                Generation(
                    tuple(ids),
                    tuple(-0.5 - 0.01 * k for k in range(len(ids))),
                    "stop" if self.stop[i] else "length",
                )
            )
        return out


def play(renderer: ChatRenderer, replies: list[str], stop: list[bool], max_turns: int):
    env = TurnLimit(NeverEndingEnv(), max_turns)
    backend = ScriptedBackend(renderer, replies, stop)
    ep = Episode(env, EpisodeSpec(seed=0), renderer, max_new_tokens=64, max_episode_tokens=100_000)
    ep.start()
    sampled: list[list[int]] = []
    while not ep.done:
        prompt = list(ep.prompt())
        (gen,) = backend.generate([prompt], SamplingParams())
        sampled.append(list(gen.token_ids))
        ep.advance(gen)
    return ep.trajectory(), sampled, backend


@pytest.mark.parametrize("family", ["default", "llama3_style", "gemma_style"])
def test_ids_are_sampled_tokens_plus_template_deltas(tokenizer, family):
    r = renderer_for(tokenizer, family)
    replies = ["First answer: 42.", "Second, with ```python\nprint(1)\n```", "Done \\boxed{3}"]
    traj, sampled, backend = play(r, replies, [True, True, True], max_turns=3)
    assert len(traj.segments) == 1
    seg = traj.segments[0]
    ids, mask = list(seg.token_ids), list(seg.loss_mask)
    # loss mask is 1 exactly on the sampled tokens, in order, with their logprobs
    assert [t for t, m in zip(ids, mask) if m] == [t for s in sampled for t in s]
    assert sum(mask) == sum(len(s) for s in sampled)
    assert all(lp == 0.0 for lp, m in zip(seg.logprobs, mask) if not m)
    assert [ids[a:b] for a, b in seg.turn_spans] == sampled
    # every prompt the backend saw is a prefix of the final sequence (nothing re-tokenized)
    for p in backend.prompts:
        assert ids[: len(p)] == p
    # independently: the ids spell the template's own rendering of the whole conversation
    conv = list(traj.messages)
    while conv[-1].role != "assistant":  # the env's last answer ends the episode, untokenized
        conv.pop()
    full = r.render_text(conv, add_generation_prompt=False)
    assert r.decode(ids) == full[: len(r.decode(ids))]
    assert len(full) - len(r.decode(ids)) <= len("<|im_end|>\n")  # only the last closing is missing
    if family == "default":
        # ChatML ends each prompt on a special token, so here even re-tokenizing the whole text
        # agrees; templates whose generation prompt ends in mergeable text ("\n\n" in Llama 3)
        # tokenize differently in one piece, which is exactly why we never re-tokenize.
        assert r.encode(full)[: len(ids)] == ids


def test_length_cut_turn_is_closed_with_context_tokens(tokenizer):
    r = renderer_for(tokenizer, "default")
    traj, sampled, _ = play(r, ["cut off mid", "fine"], [False, True], max_turns=2)
    seg = traj.segments[0]
    a, b = seg.turn_spans[0]
    # right after the unfinished turn comes the template closing, as context (mask 0)
    closing = r.encode("<|im_end|>\n")
    assert list(seg.token_ids[b : b + len(closing)]) == closing
    assert set(seg.loss_mask[b : b + len(closing)]) == {0}


def test_history_rewriting_template_starts_new_segment(tokenizer):
    r = renderer_for(tokenizer, "strips_reasoning")
    replies = ["<think>secret plan</think> step one", "<think>more</think> step two", "end"]
    traj, sampled, _ = play(r, replies, [True, True, True], max_turns=3)
    assert len(traj.segments) == 3  # each rewrite of history restarts the context
    for seg, s in zip(traj.segments, sampled):
        assert [t for t, m in zip(seg.token_ids, seg.loss_mask) if m] == s
        assert seg.turn_indices == (sampled.index(s),)
    # the second segment's context shows the earlier turn without its reasoning
    second = r.decode(
        [t for t, m in zip(traj.segments[1].token_ids, traj.segments[1].loss_mask) if not m]
    )
    assert "secret plan" not in second and "step one" in second


def test_mismatch_is_reported_not_trained_on(tokenizer):
    r = renderer_for(tokenizer, "strips_reasoning")
    history = [Message("user", "q"), Message("assistant", "<think>x</think> a")]
    with pytest.raises(TemplateMismatchError):
        r.continuation_ids(history, r.stop_token_ids[0], [Message("user", "next")])


def test_stop_tokens_detected_per_template(tokenizer):
    assert (
        tokenizer.convert_tokens_to_ids("<|im_end|>")
        in renderer_for(tokenizer, "default").stop_token_ids
    )
    llama = renderer_for(tokenizer, "llama3_style")
    assert llama.tokenizer.convert_tokens_to_ids("<|eot_id|>") in llama.stop_token_ids
    gemma = renderer_for(tokenizer, "gemma_style")
    assert gemma.tokenizer.convert_tokens_to_ids("<end_of_turn>") in gemma.stop_token_ids


def test_real_sampling_logprobs_match_recomputation(tiny_model_path):
    """With a real (tiny) model: recomputing logprobs on the trainer's ids reproduces the
    behaviour logprobs, so the trainer sees exactly what the sampler saw."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from turngym.agents.hf import HFBackend
    from turngym.agents.rollout import GroupSpec, RolloutRunner
    from turngym.trainer.losses import sequence_logprobs

    tok = AutoTokenizer.from_pretrained(tiny_model_path)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_path, dtype=torch.float32)
    r = ChatRenderer(tok)
    runner = RolloutRunner(
        lambda: TurnLimit(NeverEndingEnv(), 3),
        HFBackend(model, pad_token_id=tok.pad_token_id),
        r,
        sampling=SamplingParams(max_new_tokens=12, temperature=0.9, seed=3),
    )
    result = runner.run_groups(
        [GroupSpec({"task_index": 0}, seed=1), GroupSpec({"task_index": 1}, seed=9)], 3
    )
    trajs = [t for g in result.groups for t in g]
    assert len(trajs) == 6 and all(t.num_turns == 3 for t in trajs)
    for t in trajs:
        (seg,) = t.segments
        ids = torch.tensor([seg.token_ids])
        with torch.no_grad():
            lp = sequence_logprobs(model(input_ids=ids).logits, ids, temperature=0.9)[0]
        mask = torch.tensor(seg.loss_mask, dtype=torch.bool)
        assert mask.sum() == sum(b - a for a, b in seg.turn_spans) > 0
        assert torch.allclose(lp[mask], torch.tensor(seg.logprobs)[mask], atol=1e-4)

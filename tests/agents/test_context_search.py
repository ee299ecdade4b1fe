"""The long-horizon Search-v0 configuration: full history overflows, summaries finish the task."""

from __future__ import annotations

from pathlib import Path

import turngym
from tests.agents.test_context import ReplyBackend, assert_segments_exact
from turngym.agents.agent import Episode, EpisodeSpec
from turngym.agents.backend import SamplingParams
from turngym.agents.chat import ChatRenderer
from turngym.agents.context import ContextConfig
from turngym.core.trajectory import StopReason
from turngym.trainer.config import TrainConfig

CONFIG = Path(__file__).resolve().parents[2] / "examples" / "long_horizon_search.yaml"
# test task 2 is a 2-hop question whose answer is 1101; the searches below return 10 passages
SEARCHES = [
    '<tool_call>{"name": "search", "arguments": {"query": "Daefaecoum Douchoufeim", "k": 10}}'
    "</tool_call>",
    '<tool_call>{"name": "search", "arguments": {"query": "shipwright Zerev", "k": 10}}'
    "</tool_call>",
    '<tool_call>{"name": "search", "arguments": {"query": "Zerev founded", "k": 10}}</tool_call>',
    '<tool_call>{"name": "search", "arguments": {"query": "Esmira region city", "k": 10}}'
    "</tool_call>",
]
REPLIES = [*SEARCHES, "Zerev was founded in 1101. <answer>1101</answer>"]


def run(tokenizer, context: ContextConfig, max_context: int):
    env = turngym.make("turngym/Search-v0", max_turns=16, top_k=10)
    renderer = ChatRenderer(tokenizer)
    backend = ReplyBackend(renderer, REPLIES, summary="Searching for when Zerev was founded")
    ep = Episode(
        env,
        EpisodeSpec(seed=0, options={"task_index": 2, "split": "test"}),
        renderer,
        max_new_tokens=128,
        max_episode_tokens=100_000,
        max_context=max_context,
        context=context,
    )
    ep.start()
    while not ep.done:
        (gen,) = backend.generate([ep.prompt()], SamplingParams(), [ep.token_cap()])
        ep.advance(gen)
    env.close()
    return ep.trajectory(), backend, renderer


def test_full_history_overflows_the_context(tokenizer):
    traj, _, _ = run(tokenizer, ContextConfig(), max_context=1536)
    assert traj.stop_reason == StopReason.CONTEXT_LIMIT and traj.reward == 0.0


def test_summaries_let_the_episode_finish(tokenizer):
    context = ContextConfig(policy="summarize", summary_trigger_fraction=0.6, max_summary_rounds=4)
    traj, backend, renderer = run(tokenizer, context, max_context=1536)
    assert traj.stop_reason == StopReason.TERMINATED and traj.reward == 1.0
    assert traj.metadata["summary_rounds"] >= 1 and len(traj.segments) >= 2
    assert traj.metadata["peak_context_tokens"] <= 1536
    assert traj.metadata["full_history_tokens"] > 1536  # what full history would have needed
    assert_segments_exact(renderer, traj, backend.sampled)


def test_the_example_config_is_a_summarizing_search_run():
    cfg = TrainConfig.from_yaml(CONFIG).validate()
    assert cfg.env.id == "turngym/Search-v0" and cfg.context.policy == "summarize"
    assert cfg.context.eval_max_summary_rounds > cfg.context.max_summary_rounds
    assert cfg.context.for_eval().max_summary_rounds == cfg.context.eval_max_summary_rounds

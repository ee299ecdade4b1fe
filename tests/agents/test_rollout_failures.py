"""Errors are data: crashing envs and failing backends end episodes, not runs."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from tests.core.helpers import CrashingEnv, NeverEndingEnv
from turngym.agents.backend import SamplingParams
from turngym.agents.chat import ChatRenderer
from turngym.agents.hf import HFBackend
from turngym.agents.rollout import GroupSpec, RolloutError, RolloutRunner
from turngym.core import StopReason
from turngym.core.wrappers import TurnLimit


@pytest.fixture(scope="module")
def policy(tiny_model_path):
    tok = AutoTokenizer.from_pretrained(tiny_model_path)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_path, dtype=torch.float32)
    return HFBackend(model, pad_token_id=tok.pad_token_id), ChatRenderer(tok)


def runner(policy, factory, **kw) -> RolloutRunner:
    backend, renderer = policy
    return RolloutRunner(
        factory, backend, renderer, sampling=SamplingParams(max_new_tokens=6, seed=0), **kw
    )


def test_env_raising_on_step_ends_episode_with_env_error(policy):
    r = runner(
        policy, lambda: TurnLimit(CrashingEnv(crash_at_turn=1), 4), failure_policy="min_group"
    )
    result = r.run_groups([GroupSpec({"task_index": 0}, seed=0)], 2)
    assert result.groups == []  # both episodes failed: the group is dropped, the run goes on
    assert result.metrics["rollout/failed"] == 2 and result.metrics["rollout/groups_dropped"] == 1
    for t in result.all_trajectories:
        assert (
            t.stop_reason is StopReason.ENV_ERROR and "env exploded on step" in t.metadata["error"]
        )
        assert (
            t.num_turns == 1 and t.segments[0].num_sampled > 0
        )  # the turn before the crash is kept


def test_env_raising_on_reset(policy):
    r = runner(policy, lambda: CrashingEnv(crash_on_reset=True), failure_policy="min_group")
    result = r.run_groups([GroupSpec({"task_index": 0}, seed=0)], 1)
    (t,) = result.all_trajectories
    assert t.stop_reason is StopReason.ENV_ERROR and t.segments == ()


def test_fail_fast_raises_with_the_env_error(policy):
    r = runner(policy, lambda: CrashingEnv(crash_at_turn=0), failure_policy="fail_fast")
    with pytest.raises(RolloutError, match="env exploded"):
        r.run_groups([GroupSpec({"task_index": 0}, seed=0)], 1)


def test_retry_replays_failed_episodes_on_fresh_envs(policy):
    made = []

    def flaky():
        # the first two envs crash at once; later ones behave
        env = TurnLimit(CrashingEnv(crash_at_turn=0 if len(made) < 2 else 99), 2)
        made.append(env)
        return env

    r = runner(policy, flaky, failure_policy="retry", max_retries=2, min_group_size=2)
    result = r.run_groups([GroupSpec({"task_index": 0}, seed=0)], 2)
    assert len(result.groups) == 1 and len(result.groups[0]) == 2
    assert result.metrics["rollout/retried"] == 2 and result.metrics["rollout/failed"] == 2
    assert all(not t.failed for t in result.groups[0])
    assert {t.metadata["attempt"] for t in result.groups[0]} == {1}


def test_min_group_size_drops_thin_groups(policy):
    calls = iter(range(100))
    r = runner(
        policy,
        lambda: TurnLimit(CrashingEnv(crash_at_turn=0 if next(calls) % 2 else 99), 1),
        failure_policy="min_group",
        min_group_size=3,
    )
    result = r.run_groups([GroupSpec({"task_index": 0}, seed=0)], 4)
    assert result.groups == [] and result.metrics["rollout/groups_dropped"] == 1


def test_token_budget_and_context_limit_truncate(policy):
    r = runner(policy, lambda: NeverEndingEnv(), max_episode_tokens=60)
    (t,) = r.run_groups([GroupSpec({"task_index": 0}, seed=0)], 1).all_trajectories
    assert t.stop_reason is StopReason.TOKEN_BUDGET and t.truncated and not t.terminated
    assert t.num_tokens <= 60
    assert t.segments[-1].loss_mask[-1] == 1  # ends on a sampled token
    tiny_context = runner(policy, lambda: NeverEndingEnv(), max_episode_tokens=10_000)
    tiny_context.backend = _Capped(tiny_context.backend, 40)
    (t,) = tiny_context.run_groups([GroupSpec({"task_index": 0}, seed=0)], 1).all_trajectories
    assert t.stop_reason is StopReason.CONTEXT_LIMIT and t.truncated
    assert t.num_tokens <= 40


class _Capped:
    def __init__(self, inner, n):
        self.inner, self.max_context = inner, n

    def generate(self, *a, **k):
        return self.inner.generate(*a, **k)


def test_backend_failure_ends_episodes_as_agent_error(policy):
    class Broken:
        max_context = None

        def generate(self, prompts, params, max_new_tokens=None):
            raise RuntimeError("CUDA out of memory (simulated)")

    _, renderer = policy
    r = RolloutRunner(
        lambda: NeverEndingEnv(),
        Broken(),
        renderer,
        sampling=SamplingParams(),
        failure_policy="min_group",
    )
    (t,) = r.run_groups([GroupSpec({"task_index": 0}, seed=0)], 1).all_trajectories
    assert t.stop_reason is StopReason.AGENT_ERROR and "out of memory" in t.metadata["error"]


def test_episode_timeout(policy):
    backend, renderer = policy
    clock = iter(float(i) for i in range(1000))
    from turngym.agents.agent import Episode, EpisodeSpec

    ep = Episode(
        NeverEndingEnv(),
        EpisodeSpec(seed=0),
        renderer,
        max_new_tokens=4,
        max_episode_tokens=10_000,
        timeout_s=5,
        clock=lambda: next(clock),
    )
    ep.start()
    while not ep.done:
        ep.advance(backend.generate([ep.prompt()], SamplingParams(max_new_tokens=4, seed=0))[0])
    assert ep.trajectory().stop_reason is StopReason.TIMEOUT


class RecordingBackend:
    """Wraps a backend and records the sampling seed of every call."""

    def __init__(self, inner):
        self.inner, self.seeds = inner, []

    @property
    def max_context(self):
        return self.inner.max_context

    def generate(self, prompts, params, max_new_tokens=None):
        self.seeds.append(params.seed)
        return self.inner.generate(prompts, params, max_new_tokens)


def test_turns_and_retries_draw_fresh_sampling_seeds(policy):
    backend, renderer = policy
    recorder = RecordingBackend(backend)
    made = []

    def crash_first():
        env = TurnLimit(CrashingEnv(crash_at_turn=1 if not made else 99), 3)
        made.append(env)
        return env

    r = RolloutRunner(
        crash_first,
        recorder,
        renderer,
        sampling=SamplingParams(max_new_tokens=3, seed=5),
        failure_policy="retry",
    )
    r.run_groups([GroupSpec({"task_index": 0}, seed=0)], 1)
    # attempt 0: 2 turns (crash at the second); attempt 1: 3 turns. All seeds distinct.
    assert len(recorder.seeds) == 5 and len(set(recorder.seeds)) == 5


class BadAnswerEnv(NeverEndingEnv):
    """Ends with a stop_reason turngym does not know: valid for gymnasium, not for us."""

    closed = 0

    def step(self, action):
        obs, reward, term, trunc, info = super().step(action)
        return obs, reward, True, False, {"stop_reason": "solved"}

    def close(self):
        BadAnswerEnv.closed += 1
        super().close()


def test_env_answer_turngym_cannot_use_is_an_env_error_and_env_is_dropped(policy):
    r = runner(policy, lambda: BadAnswerEnv(), failure_policy="min_group")
    result = r.run_groups([GroupSpec({"task_index": 0}, seed=0)], 2)
    assert all(t.stop_reason is StopReason.ENV_ERROR for t in result.all_trajectories)
    assert "'solved' is not a valid StopReason" in result.all_trajectories[0].metadata["error"]
    assert BadAnswerEnv.closed == 2 and r._pool == []

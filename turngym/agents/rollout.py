"""Rollouts: B tasks × G episodes, every active episode of a turn sampled in one batch.

The runner owns the failure policy, which decides what reaches the trainer when envs crash:

- ``fail_fast``: the first failed episode raises :class:`RolloutError` (debugging).
- ``retry``: a failed episode is replayed on a fresh env (same task and seed) up to
  ``max_retries`` times; groups left with fewer than ``min_group_size`` good episodes are
  dropped.
- ``min_group``: no retries; groups with fewer than ``min_group_size`` good episodes are
  dropped, the failed episodes of kept groups are left out.

Failed episodes are always counted in the metrics (``rollout/failed``, ``rollout/retried``,
``rollout/groups_dropped``).

Images: with a :class:`~turngym.agents.vision.VisionChatRenderer`, each episode's prompt carries
its images (:meth:`Episode.prompt_vision`) and the runner passes them to the backend as
``vision=[...]`` whenever some prompt of the batch holds an image; text-only batches call the
backend exactly as before, so text backends keep their signature.

What it does NOT cover: asynchronous / off-policy rollouts overlapping training, and
multi-agent turn orchestration (a later issue).
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import itertools
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import gymnasium as gym

from turngym.agents.agent import Episode, EpisodeSpec
from turngym.agents.backend import Backend, SamplingParams
from turngym.agents.chat import ChatRenderer
from turngym.agents.context import ContextConfig
from turngym.core.trajectory import StopReason, Trajectory

FailurePolicy = Literal["fail_fast", "retry", "min_group"]
FAILURE_POLICIES: tuple[str, ...] = ("fail_fast", "retry", "min_group")


class RolloutError(RuntimeError):
    """An episode failed under the ``fail_fast`` policy."""


@dataclass(frozen=True)
class GroupSpec:
    """G episodes of the same task."""

    options: Mapping[str, Any]
    """``env.reset`` options selecting the task (e.g. ``{"task_index": 3, "split": "train"}``)."""
    seed: int
    """Base seed; episode j of the group resets with ``seed + j``."""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """Copied into each trajectory's metadata."""


@dataclass
class RolloutResult:
    """What a rollout produced."""

    groups: list[list[Trajectory]]
    """Kept groups (each with at least ``min_group_size`` good episodes), failed ones removed."""
    all_trajectories: list[Trajectory]
    """Every finished episode, failed and retried ones included (for metrics and logs)."""
    metrics: dict[str, float]
    """``rollout/*`` counters and timings."""


class RolloutRunner:
    """Plays groups of episodes with one backend.

    Args:
        env_factory: Builds a fresh env (e.g. ``lambda: turngym.make(id)``).
        backend: Samples token ids.
        renderer: The policy tokenizer's chat renderer.
        sampling: Sampling parameters (stop tokens default to the renderer's).
        max_episode_tokens: Token budget of an episode.
        episode_timeout_s: Wall-clock budget of an episode (None: none).
        failure_policy: ``fail_fast``, ``retry`` or ``min_group`` (see module docstring).
        max_retries: Replays of a failed episode under ``retry``.
        min_group_size: Fewest good episodes a group needs to be kept.
        env_workers: Threads stepping envs in parallel (tools that wait on subprocesses).
        context: Context management of every episode (full history, sliding window,
            summarization; see :mod:`turngym.agents.context`). Evaluation runners take
            ``context.for_eval()`` so that summaries are capped by ``eval_max_summary_rounds``.
    """

    def __init__(
        self,
        env_factory: Callable[[], gym.Env],
        backend: Backend,
        renderer: ChatRenderer,
        *,
        sampling: SamplingParams,
        max_episode_tokens: int = 4096,
        episode_timeout_s: float | None = None,
        failure_policy: FailurePolicy = "retry",
        max_retries: int = 2,
        min_group_size: int = 1,
        env_workers: int = 4,
        context: ContextConfig | None = None,
    ):
        if failure_policy not in FAILURE_POLICIES:
            raise ValueError(
                f"failure_policy must be one of {FAILURE_POLICIES}, got {failure_policy!r}"
            )
        if not sampling.stop_token_ids:
            sampling = replace(sampling, stop_token_ids=renderer.stop_token_ids)
        if _renders_images(renderer) and not accepts_vision(backend):
            raise TypeError(
                f"the renderer ({type(renderer).__name__}) puts images in prompts, but "
                f"{type(backend).__name__}.generate takes no vision= argument; sample a "
                "vision-language model with turngym.agents.hf.HFBackend (or a wrapper that "
                "forwards vision=)"
            )
        self.env_factory = env_factory
        self.backend = backend
        self.renderer = renderer
        self.sampling = sampling
        self.max_episode_tokens = max_episode_tokens
        self.episode_timeout_s = episode_timeout_s
        self.failure_policy = failure_policy
        self.max_retries = max_retries
        self.min_group_size = min_group_size
        self.env_workers = max(1, env_workers)
        self.context = context if context is not None else ContextConfig()
        self._pool: list[gym.Env] = []

    # ---- envs ---------------------------------------------------------------------------

    def _take_env(self) -> gym.Env:
        return self._pool.pop() if self._pool else self.env_factory()

    def _return_env(self, env: gym.Env, healthy: bool) -> None:
        if healthy:
            self._pool.append(env)
        else:
            # A broken env may fail to close; it is dropped either way.
            with contextlib.suppress(Exception):
                env.close()

    def close(self) -> None:
        """Close pooled envs."""
        while self._pool:
            self._return_env(self._pool.pop(), healthy=False)

    # ---- episodes -----------------------------------------------------------------------

    def run_episodes(self, specs: Sequence[EpisodeSpec], *, salt: int = 0) -> list[Trajectory]:
        """Play one episode per spec; each turn samples all active episodes in one batch.

        Args:
            specs: The episodes.
            salt: Mixed into the sampling seed of every turn (e.g. the retry attempt), so
                that neither turns nor retries replay the same random draws.
        """
        episodes = [
            Episode(
                self._take_env(),
                spec,
                self.renderer,
                max_new_tokens=self.sampling.max_new_tokens,
                max_episode_tokens=self.max_episode_tokens,
                max_context=self.backend.max_context,
                timeout_s=self.episode_timeout_s,
                context=self.context,
            )
            for spec in specs
        ]
        try:
            self._play(episodes, salt)
        finally:
            # Envs go back to the pool (or are closed) even if something unexpected escaped.
            for e in episodes:
                self._return_env(
                    e.env, healthy=e.done and e.stop_reason is not StopReason.ENV_ERROR
                )
        return [e.trajectory() for e in episodes]

    def _play(self, episodes: list[Episode], salt: int) -> None:
        with ThreadPoolExecutor(self.env_workers) as pool:
            list(pool.map(lambda e: e.start(), episodes))
            for turn in itertools.count():
                active = [e for e in episodes if not e.done]
                if not active:
                    break
                params = self.sampling
                if params.seed is not None:
                    params = replace(params, seed=derive_seed(params.seed, salt, turn))
                visions = [e.prompt_vision() for e in active]
                # Text-only batches call the backend as before (text backends take no vision=).
                images = {"vision": visions} if any(_has_images(v) for v in visions) else {}
                try:
                    gens = self.backend.generate(
                        [e.prompt() for e in active],
                        params,
                        max_new_tokens=[e.token_cap() for e in active],
                        **images,
                    )
                except Exception as exc:  # noqa: BLE001 - the backend failing ends these episodes
                    for e in active:
                        e.abort(StopReason.AGENT_ERROR, exc)
                    continue
                list(
                    pool.map(lambda pair: pair[0].advance(pair[1]), zip(active, gens, strict=True))
                )

    def run_groups(self, groups: Sequence[GroupSpec], group_size: int) -> RolloutResult:
        """Play ``group_size`` episodes of each group under the failure policy."""
        t0 = time.perf_counter()
        specs = [
            EpisodeSpec(
                seed=g.seed + j,
                options=g.options,
                metadata={**g.metadata, "group": gi, "sample": j, "attempt": 0},
            )
            for gi, g in enumerate(groups)
            for j in range(group_size)
        ]
        finished = self.run_episodes(specs)
        everything = list(finished)
        retried = 0
        if self.failure_policy == "fail_fast":
            for t in finished:
                if t.failed:
                    raise RolloutError(
                        f"episode failed ({t.stop_reason.value}) under failure_policy=fail_fast: "
                        f"{t.metadata.get('error')}"
                    )
        elif self.failure_policy == "retry":
            for attempt in range(1, self.max_retries + 1):
                failed_idx = [i for i, t in enumerate(finished) if t.failed]
                if not failed_idx:
                    break
                retry_specs = [
                    replace(specs[i], metadata={**specs[i].metadata, "attempt": attempt})
                    for i in failed_idx
                ]
                retried += len(retry_specs)
                redone = self.run_episodes(retry_specs, salt=attempt)
                everything.extend(redone)
                for i, t in zip(failed_idx, redone, strict=True):
                    finished[i] = t
        kept: list[list[Trajectory]] = []
        dropped = 0
        for gi in range(len(groups)):
            members = finished[gi * group_size : (gi + 1) * group_size]
            good = [t for t in members if not t.failed]
            if len(good) >= max(1, self.min_group_size):
                kept.append(good)
            else:
                dropped += 1
        metrics = {
            "rollout/episodes": float(len(everything)),
            "rollout/failed": float(sum(t.failed for t in everything)),
            "rollout/retried": float(retried),
            "rollout/groups_kept": float(len(kept)),
            "rollout/groups_dropped": float(dropped),
            "perf/rollout_s": time.perf_counter() - t0,
        }
        return RolloutResult(groups=kept, all_trajectories=everything, metrics=metrics)


def _has_images(vision: Any) -> bool:
    return vision is not None and len(vision.images) > 0


def _renders_images(renderer: ChatRenderer) -> bool:
    # Importing turngym.agents.vision pulls in torch; a renderer of that class exists only if
    # the module was imported, so look it up instead of importing it.
    module = sys.modules.get("turngym.agents.vision")
    return module is not None and isinstance(renderer, module.VisionChatRenderer)


def accepts_vision(backend: Any) -> bool:
    """Whether ``backend.generate`` takes a ``vision=`` argument (or any keyword)."""
    try:
        parameters = inspect.signature(backend.generate).parameters.values()
    except (TypeError, ValueError):  # a builtin or C callable: trust it
        return True
    return any(p.name == "vision" or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def derive_seed(*parts: int | str) -> int:
    """A 31-bit seed from a tuple (stable across processes and Python versions)."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF

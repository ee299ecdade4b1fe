"""``check_env``: the conformance checker every registered env must pass.

It runs Gymnasium's own checker on the unwrapped env, then the checks specific to turngym's
text envs: observation and action types, seeded determinism of ``reset``, the meaning of
``terminated`` / ``truncated`` and ``info["stop_reason"]``, an episode that ends under the
turn cap, and an idempotent ``close``.

What it does NOT cover: the quality of rewards, or whether an env is solvable; envs test
that themselves (e.g. with scripted oracle policies).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
from gymnasium.utils.env_checker import check_env as gym_check_env
from gymnasium.utils.env_checker import data_equivalence

from turngym.core.messages import Message
from turngym.core.trajectory import StopReason
from turngym.core.wrappers import TurnLimit

_VALID_STOP_REASONS = {r.value for r in StopReason}


class EnvCheckError(AssertionError):
    """An env broke the turngym env contract."""


def _fail(env: gym.Env, what: str) -> None:
    name = env.spec.id if env.spec is not None else type(env.unwrapped).__name__
    raise EnvCheckError(f"{name}: {what}")


def _check_obs(env: gym.Env, obs: Any, where: str) -> None:
    if not isinstance(obs, tuple) or not all(isinstance(m, Message) for m in obs):
        _fail(
            env, f"{where} must return a tuple of Message as observation, got {type(obs).__name__}"
        )
    if obs not in env.observation_space:
        _fail(
            env,
            f"{where} returned an observation outside observation_space {env.observation_space}",
        )


def _check_step_result(
    env: gym.Env, result: Any, where: str
) -> tuple[Any, float, bool, bool, dict]:
    if not isinstance(result, tuple) or len(result) != 5:
        _fail(env, f"{where} must return (obs, reward, terminated, truncated, info)")
    obs, reward, terminated, truncated, info = result
    _check_obs(env, obs, where)
    if not isinstance(reward, (int, float)) or isinstance(reward, bool):
        _fail(env, f"{where} reward must be a float, got {type(reward).__name__}")
    if not isinstance(terminated, bool) or not isinstance(truncated, bool):
        _fail(env, f"{where} terminated and truncated must be bool")
    if terminated and truncated:
        _fail(env, f"{where} returned terminated and truncated both True; an episode ends one way")
    if not isinstance(info, dict):
        _fail(env, f"{where} info must be a dict")
    if terminated or truncated:
        reason = info.get("stop_reason")
        if reason not in _VALID_STOP_REASONS:
            _fail(
                env,
                f"{where} ended the episode without a valid info['stop_reason'] (got {reason!r})",
            )
        if truncated and not StopReason(reason).is_truncation:
            _fail(env, f"{where} truncated with stop_reason {reason!r}, which is not a truncation")
        if terminated and StopReason(reason).is_truncation:
            _fail(env, f"{where} terminated with stop_reason {reason!r}, which is a truncation")
    return obs, float(reward), terminated, truncated, info


def check_env(
    env: gym.Env,
    *,
    probe_actions: Sequence[str] = (),
    max_turns: int = 8,
    seed: int = 0,
    gymnasium_checks: bool = True,
) -> None:
    """Check that an env follows the turngym text-env contract; raise ``EnvCheckError`` if not.

    Args:
        env: The env, wrapped (as from ``make``) or not.
        probe_actions: Extra actions to play (e.g. a correct answer and a malformed tool
            call); the env's own ``probe_actions()`` are added when it has that method.
        max_turns: Cap used for the "episode ends" check.
        seed: Seed for the determinism checks.
        gymnasium_checks: Also run ``gymnasium.utils.env_checker.check_env``.

    Raises:
        EnvCheckError: With a message naming the broken rule.
    """
    base = env.unwrapped
    if gymnasium_checks:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gym_check_env(base, skip_render_check=True)

    actions = list(probe_actions)
    if hasattr(base, "probe_actions"):
        actions.extend(base.probe_actions())
    env.action_space.seed(seed)
    actions.append(env.action_space.sample())

    # --- reset: types and seeded determinism ---
    result = env.reset(seed=seed)
    if not isinstance(result, tuple) or len(result) != 2:
        _fail(env, "reset() must return (obs, info)")
    obs_a, info_a = result
    _check_obs(env, obs_a, "reset()")
    if not isinstance(info_a, dict):
        _fail(env, "reset() info must be a dict")
    if not obs_a:
        _fail(env, "reset() must return at least one message (the task)")
    obs_b, info_b = env.reset(seed=seed)
    if not (data_equivalence(obs_a, obs_b) and data_equivalence(info_a, info_b)):
        _fail(env, "reset(seed=s) twice gave different observations or infos")
    if env.spec is None or not env.spec.nondeterministic:
        for action in actions:
            outs = []
            for _ in range(2):
                env.reset(seed=seed)
                outs.append(_check_step_result(env, env.step(action), f"step({action[:40]!r})"))
            (o1, r1, t1, u1, _), (o2, r2, t2, u2, _) = outs
            if not (data_equivalence(o1, o2) and r1 == r2 and t1 == t2 and u1 == u2):
                _fail(
                    env, f"step({action[:40]!r}) after the same seeded reset is not deterministic"
                )

    # --- every probe action is handled, and an episode ends under a turn cap ---
    capped = TurnLimit(env, max_turns)
    for action in actions:
        capped.reset(seed=seed)
        for turn in range(max_turns + 1):
            _, _, terminated, truncated, _ = _check_step_result(
                capped, capped.step(action), f"step({action[:40]!r}) turn {turn}"
            )
            if terminated or truncated:
                break
        else:
            _fail(env, f"episode did not end after {max_turns} turns under TurnLimit")

    # --- close is idempotent ---
    env.close()
    try:
        env.close()
    except Exception as exc:  # noqa: BLE001 - any exception is the failure being checked
        _fail(env, f"close() twice raised {type(exc).__name__}: {exc}")

"""Credit assignment inside an episode: GAE over tokens or turns, and GiGPO's step groups.

:mod:`turngym.trainer.advantages` gives one advantage per *episode*. The functions here give
one per *decision point* (a sampled token, or an assistant turn), for the estimators that
tell turns of one episode apart:

========================== ===============================================================
``"gae"``                  PPO with GAE over sampled tokens, values from a learned critic
``"gae_turn"``             GAE over assistant turns: a turn-level critic (VL-DAC)
``"gigpo"``                GRPO's episode advantage plus a step-level advantage among
                           turns of a group that start from the same env state (GiGPO)
========================== ===============================================================

All functions are pure: plain floats and lists in, plain floats out, computed in float64.

What this module does NOT cover: where the values come from (:mod:`turngym.trainer.value`)
and how decision points map to token positions (the trainer does that).
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Hashable, Sequence

from turngym.core.messages import Message

__all__ = [
    "discounted_returns",
    "gae",
    "gigpo_step_advantages",
    "turn_state_keys",
]


def gae(
    rewards: Sequence[float],
    values: Sequence[float],
    *,
    bootstrap: float,
    gamma: float = 1.0,
    lam: float = 0.95,
) -> tuple[list[float], list[float]]:
    """Generalized Advantage Estimation over one episode's decision points.

    Schulman et al. 2016, *High-Dimensional Continuous Control Using Generalized Advantage
    Estimation* (arXiv:1506.02438), Eq. 16::

        delta_t = r_t + gamma * V(s_{t+1}) - V(s_t)
        A_t     = delta_t + gamma * lam * A_{t+1}

    with ``V(s_n) = bootstrap`` after the last point. For an episode that *terminated* the
    caller passes ``bootstrap=0``; for one that was *truncated* (turn cap, token budget), the
    critic's value of the state it was cut off in, so a cut is not scored as a real ending.

    Args:
        rewards: Reward received after each decision point, shape ``(n,)``.
        values: Critic value of the state at each decision point, shape ``(n,)``.
        bootstrap: Value of the state after the last point (0 for a terminal state).
        gamma: Discount per decision point.
        lam: GAE's lambda (1: Monte Carlo returns minus values; 0: one-step TD).

    Returns:
        ``(advantages, returns)``, each of length ``n``; ``returns = advantages + values`` are
        the critic's regression targets.

    Raises:
        ValueError: On different lengths, or gamma / lam outside [0, 1].
    """
    if len(rewards) != len(values):
        raise ValueError(f"gae: {len(rewards)} rewards but {len(values)} values")
    if not (0.0 <= gamma <= 1.0 and 0.0 <= lam <= 1.0):
        raise ValueError(f"gae: gamma={gamma} and lam={lam} must lie in [0, 1]")
    n = len(rewards)
    advantages = [0.0] * n
    running = 0.0
    next_value = float(bootstrap)
    for t in range(n - 1, -1, -1):
        delta = float(rewards[t]) + gamma * next_value - float(values[t])
        running = delta + gamma * lam * running
        advantages[t] = running
        next_value = float(values[t])
    returns = [a + float(v) for a, v in zip(advantages, values, strict=True)]
    return advantages, returns


def discounted_returns(rewards: Sequence[float], gamma: float = 1.0) -> list[float]:
    """``G_k = sum_{j >= k} gamma^(j-k) r_j`` for every step ``k`` of one episode."""
    out = [0.0] * len(rewards)
    running = 0.0
    for k in range(len(rewards) - 1, -1, -1):
        running = float(rewards[k]) + gamma * running
        out[k] = running
    return out


def gigpo_step_advantages(
    step_returns: Sequence[float],
    anchor_keys: Sequence[Hashable],
    *,
    std_normalize: bool = True,
    eps: float = 1e-6,
) -> list[float]:
    """GiGPO's step-level advantages: returns compared among steps from the same state.

    Feng et al. 2025, *Group-in-Group Policy Optimization for LLM Agent Training*
    (arXiv:2505.10978), Sec. 4.2: the episodes of one group start from the same task, so they
    often pass through identical env states ("anchor states"). All steps of the group taken
    from one anchor state form a step-level group; a step's advantage is its discounted
    return from that step on, normalized within its step group (mean, and the population std
    unless ``std_normalize`` is off). A state visited once gets 0: nothing to compare with.

    Args:
        step_returns: Discounted return from each step, for all steps of one episode group
            (see :func:`discounted_returns`).
        anchor_keys: The env state each step was taken in (any hashable, e.g.
            :func:`turn_state_keys`), aligned with ``step_returns``.
        std_normalize: Divide by the step group's std plus ``eps``.
        eps: Added to the std.

    Returns:
        One step advantage per entry of ``step_returns``.

    Raises:
        ValueError: If the two sequences differ in length.
    """
    if len(step_returns) != len(anchor_keys):
        raise ValueError(
            f"gigpo_step_advantages: {len(step_returns)} returns but {len(anchor_keys)} keys"
        )
    members: dict[Hashable, list[int]] = defaultdict(list)
    for i, key in enumerate(anchor_keys):
        members[key].append(i)
    out = [0.0] * len(step_returns)
    for idx in members.values():
        if len(idx) < 2:
            continue
        vals = [float(step_returns[i]) for i in idx]
        mean = math.fsum(vals) / len(vals)
        std = math.sqrt(math.fsum((v - mean) ** 2 for v in vals) / len(vals))
        for i, v in zip(idx, vals, strict=True):
            out[i] = (v - mean) / (std + eps) if std_normalize else v - mean
    return out


def turn_state_keys(messages: Sequence[Message]) -> list[str]:
    """A key for the env state each assistant turn was taken in, from the conversation.

    The state before turn ``k`` is identified by the messages the env showed since the
    previous assistant turn (for turn 0: the initial system and user messages): two turns
    share a key exactly when they were shown the same text. This is GiGPO's anchor-state
    matching for envs whose latest observation describes the state (games, web pages, app
    screens); for envs whose observation is only a delta, keys match less often and GiGPO
    falls back towards plain GRPO.

    Returns:
        One hex digest per assistant message, in order.
    """
    keys: list[str] = []
    h = hashlib.sha256()
    for m in messages:
        if m.role == "assistant":
            keys.append(h.hexdigest())
            h = hashlib.sha256()
            continue
        h.update(f"{m.role}\x00{m.name or ''}\x00{m.text}\x01".encode())
    return keys

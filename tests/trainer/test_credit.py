"""Credit assignment by hand: GAE over tokens and turns, GiGPO step groups, state keys."""

from __future__ import annotations

import pytest
import torch

from turngym.core.messages import assistant, system, user
from turngym.core.trajectory import Segment, StopReason, Trajectory
from turngym.trainer.credit import discounted_returns, gae, gigpo_step_advantages, turn_state_keys
from turngym.trainer.trainer import (
    Sequence,
    gae_credit,
    gigpo_credit,
    training_turn_rewards,
    trajectories_to_sequences,
)
from turngym.trainer.value import ValueHead, clipped_value_loss, values_before_tokens


def test_gae_by_hand() -> None:
    rewards, values = [0.0, 0.0, 1.0], [0.5, 0.2, 0.1]
    adv, ret = gae(rewards, values, bootstrap=0.0, gamma=1.0, lam=1.0)
    assert adv == pytest.approx([0.5, 0.8, 0.9])  # Monte Carlo return 1 minus each value
    assert ret == pytest.approx([1.0, 1.0, 1.0])
    adv, _ = gae(rewards, values, bootstrap=0.0, gamma=1.0, lam=0.0)
    assert adv == pytest.approx([-0.3, -0.1, 0.9])  # one-step TD errors
    # gamma 0.9, lam 0.5: deltas -0.32, -0.11, 0.9; A1 = -0.11 + 0.45 * 0.9; A0 = -0.32 + 0.45 A1
    adv, _ = gae(rewards, values, bootstrap=0.0, gamma=0.9, lam=0.5)
    assert adv == pytest.approx([-0.18725, 0.295, 0.9])


def test_gae_bootstraps_a_truncated_episode() -> None:
    adv, ret = gae([0.0, 1.0], [0.2, 0.5], bootstrap=0.9, gamma=1.0, lam=1.0)
    assert adv == pytest.approx([1.7, 1.4])
    assert ret == pytest.approx([1.9, 1.9])


def test_gae_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="2 rewards but 1 values"):
        gae([0.0, 1.0], [0.1], bootstrap=0.0)
    with pytest.raises(ValueError, match="must lie in"):
        gae([1.0], [0.0], bootstrap=0.0, gamma=1.5)


def test_discounted_returns_and_gigpo_step_groups() -> None:
    assert discounted_returns([1.0, 0.0, 2.0], 0.5) == pytest.approx([1.5, 1.0, 2.0])
    adv = gigpo_step_advantages([1.0, 0.0, 3.0, 5.0], ["a", "a", "b", "c"])
    assert adv == pytest.approx([1.0, -1.0, 0.0, 0.0], abs=1e-5)  # singletons get 0
    adv = gigpo_step_advantages([1.0, 0.0, 3.0], ["a", "a", "a"], std_normalize=False)
    assert adv == pytest.approx([-1 / 3, -4 / 3, 5 / 3])  # mean 4/3
    with pytest.raises(ValueError, match="3 returns but 2 keys"):
        gigpo_step_advantages([1.0, 0.0, 3.0], ["a", "a"])


def test_turn_state_keys_match_on_the_same_observation() -> None:
    def conv(obs: str) -> list:
        return [
            system("play"),
            user("start"),
            assistant("go"),
            user(obs),
            assistant("go"),
        ]

    a, b, c = (
        turn_state_keys(conv("room 1")),
        turn_state_keys(conv("room 1")),
        turn_state_keys(conv("room 2")),
    )
    assert len(a) == 2 and a == b
    assert a[0] == c[0] and a[1] != c[1]


def _trajectory(turn_rewards, *, terminated=True, obs="same", extra_turn=True) -> Trajectory:
    # tokens: prompt prompt | a a | obs | a  -> turn 0 at [2, 4), turn 1 at [5, 6)
    seg = Segment(
        token_ids=(1, 2, 3, 4, 5, 6),
        loss_mask=(0, 0, 1, 1, 0, 1),
        logprobs=(0.0, 0.0, -1.0, -1.0, 0.0, -1.0),
        turn_spans=((2, 4), (5, 6)),
        turn_indices=(0, 1),
    )
    messages = [user("task"), assistant("x"), user(obs)]
    if extra_turn:
        messages.append(assistant("y"))
    return Trajectory(
        segments=(seg,),
        messages=tuple(messages),
        turn_rewards=tuple(turn_rewards),
        terminated=terminated,
        truncated=not terminated,
        stop_reason=StopReason.TERMINATED if terminated else StopReason.TURN_LIMIT,
    )


VALUES = ([0.0, 0.1, 0.2, 0.3, 0.4, 0.5], 0.9)  # (before each token, after the last)


def _seqs(traj: Trajectory) -> list[Sequence]:
    seqs, _ = trajectories_to_sequences([[traj]], std_normalize=False)
    return seqs


def test_token_level_gae_credit_by_hand() -> None:
    traj = _trajectory([0.0, 1.0])
    seqs = _seqs(traj)
    gae_credit(
        [traj],
        seqs,
        [1.0],
        [VALUES],
        env_weight=1.0,
        turn_level=False,
        gamma=1.0,
        lam=1.0,
        whiten=False,
    )
    s = seqs[0]
    assert s.value_mask == [0, 0, 1, 1, 0, 1]
    assert s.token_advantages == pytest.approx([0, 0, 0.8, 0.7, 0, 0.5])
    assert s.returns == pytest.approx([0, 0, 1, 1, 0, 1])
    assert s.old_values == VALUES[0]


def test_turn_level_gae_credit_by_hand_and_truncation_bootstrap() -> None:
    traj = _trajectory([0.0, 1.0], terminated=False)
    seqs = _seqs(traj)
    gae_credit(
        [traj],
        seqs,
        [1.0],
        [VALUES],
        env_weight=1.0,
        turn_level=True,
        gamma=1.0,
        lam=1.0,
        whiten=False,
    )
    s = seqs[0]
    # values only at the state before each turn (positions 2 and 5), every token of a turn
    # shares its turn's advantage; truncated: bootstrap from 0.9, not 0
    assert s.value_mask == [0, 0, 1, 0, 0, 1]
    assert s.token_advantages == pytest.approx([0, 0, 1.7, 1.7, 0, 1.4])
    assert s.returns == pytest.approx([0, 0, 1.9, 0, 0, 1.9])


def test_whitened_gae_has_zero_mean_over_sampled_tokens() -> None:
    traj = _trajectory([0.0, 1.0])
    seqs = _seqs(traj)
    gae_credit(
        [traj],
        seqs,
        [1.0],
        [VALUES],
        env_weight=1.0,
        turn_level=False,
        gamma=1.0,
        lam=1.0,
        whiten=True,
    )
    sampled = [a for a, m in zip(seqs[0].token_advantages, seqs[0].loss_mask) if m]
    assert sum(sampled) == pytest.approx(0.0, abs=1e-6)
    assert torch.tensor(sampled).std(unbiased=False) == pytest.approx(1.0, abs=1e-3)


def test_rubric_reward_arrives_with_the_last_turn() -> None:
    traj = _trajectory([0.25, 1.0])
    assert training_turn_rewards(traj, 2.0, env_weight=0.5) == pytest.approx(
        [0.125, 1.875]
    )  # sums to 2.0


@pytest.mark.parametrize("same_state", [True, False])
def test_gigpo_credit_by_hand(same_state: bool) -> None:
    win = _trajectory([0.0, 1.0], obs="hall")
    lose = _trajectory([0.0, 0.0], obs="hall" if same_state else "cellar")
    groups = [[win, lose]]
    seqs, _ = trajectories_to_sequences(groups, std_normalize=True)
    assert [s.advantage for s in seqs] == pytest.approx([1.0, -1.0], abs=1e-5)
    metrics = gigpo_credit(
        groups, seqs, [1.0, 0.0], env_weight=1.0, gamma=1.0, step_weight=1.0, std_normalize=True
    )
    # turn 0: both from the initial state, returns 1 vs 0 -> step advantages +1 / -1;
    # turn 1: shared only if both saw "hall"
    second = 1.0 if same_state else 0.0
    assert seqs[0].token_advantages == pytest.approx([0, 0, 2, 2, 0, 1 + second], abs=1e-4)
    assert seqs[1].token_advantages == pytest.approx([0, 0, -2, -2, 0, -1 - second], abs=1e-4)
    assert metrics["algo/gigpo_shared_turn_frac"] == (1.0 if same_state else 0.5)


def test_value_head_starts_at_zero_and_shifts_to_the_state_before_a_token() -> None:
    head = ValueHead(8)
    assert torch.equal(head(torch.randn(2, 5, 8)), torch.zeros(2, 5))
    v = torch.tensor([[1.0, 2.0, 3.0]])
    assert values_before_tokens(v).tolist() == [[0.0, 1.0, 2.0]]


def test_clipped_value_loss_by_hand() -> None:
    values = torch.tensor([[0.0, 1.0, 0.5]], requires_grad=True)
    old = torch.tensor([[0.0, 0.5, 0.5]])
    ret = torch.tensor([[0.0, 2.0, 0.0]])
    mask = torch.tensor([[0.0, 1.0, 1.0]])
    loss, m = clipped_value_loss(values, old, ret, mask, clip=0.2)
    # pos 1: max((1-2)^2, (0.7-2)^2) = 1.69; pos 2: max(0.25, 0.25) = 0.25 -> 0.5 * 1.94 / 2
    assert float(loss.detach()) == pytest.approx(0.485)
    assert m["value/clip_frac"] == 0.5
    loss.backward()
    assert values.grad is not None and values.grad[0, 0] == 0.0  # masked position
    plain, _ = clipped_value_loss(values, old, ret, mask, clip=None)
    assert float(plain.detach()) == pytest.approx(0.5 * (1.0 + 0.25) / 2)

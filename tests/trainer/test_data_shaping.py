"""Data shaping before advantages: void turns, zero-variance groups, over-length masking."""

from __future__ import annotations

import pytest

from turngym.core.trajectory import Segment, StopReason, Trajectory
from turngym.trainer.trainer import shape_groups, trajectories_to_sequences


def traj(reward: float, *, void: int = 0, truncated: bool = False) -> Trajectory:
    seg = Segment((1, 2, 3), (0, 1, 1), (0.0, -0.5, -0.5), ((1, 3),), (0,))
    return Trajectory(
        segments=(seg,),
        messages=(),
        turn_rewards=(reward,),
        terminated=not truncated,
        truncated=truncated,
        stop_reason=StopReason.TURN_LIMIT if truncated else StopReason.TERMINATED,
        info={"void_turns": void},
    )


def test_void_episodes_dropped_and_zero_variance_groups_counted():
    groups = [[traj(1), traj(0, void=1), traj(0)], [traj(1), traj(1)], [traj(0, void=2)]]
    kept, m = shape_groups(groups, drop_void_turns=True, dynamic_sampling=False)
    assert [len(g) for g in kept] == [2, 2]  # the all-void group vanished
    assert m["data/void_dropped"] == 2 and m["data/zero_variance_groups"] == 1
    kept, m = shape_groups(groups, drop_void_turns=True, dynamic_sampling=True)
    assert [len(g) for g in kept] == [2]  # the all-ones group is dropped too
    kept, m = shape_groups(groups, drop_void_turns=False, dynamic_sampling=False)
    assert [len(g) for g in kept] == [3, 2, 1] and m["data/void_dropped"] == 0


def test_truncated_episodes_count_in_the_baseline_but_carry_no_loss():
    group = [traj(1), traj(0), traj(0, truncated=True), traj(1, truncated=True)]
    seqs, adv = trajectories_to_sequences([group], std_normalize=False, mask_truncated=True)
    # baseline = mean(1, 0, 0, 1) = 0.5 includes the truncated ones: advantages +-0.5
    assert adv.tolist() == pytest.approx([0.5, -0.5, -0.5, 0.5])
    assert [s.advantage for s in seqs] == pytest.approx([0.5, -0.5])
    seqs, _ = trajectories_to_sequences([group], std_normalize=False, mask_truncated=False)
    assert len(seqs) == 4

"""MoPPS-style task selection: posteriors by hand, selection, and exact resume."""

from __future__ import annotations

import numpy as np
import pytest

from turngym.trainer.task_selection import MoppsSelector


def test_posterior_updates_and_decay_by_hand():
    sel = MoppsSelector(decay=0.5, prior=(1.0, 1.0))
    sel.update({3: (2.0, 4)})
    assert sel.posterior(3) == (3.0, 3.0)  # 1 + 2 successes, 1 + 2 failures
    sel.update({})
    # decay toward the prior: 1 + 0.5 * (3 - 1) = 2
    assert sel.posterior(3) == (2.0, 2.0)
    assert sel.posterior(99) == (1.0, 1.0)


def test_selects_the_tasks_closest_to_the_target():
    sel = MoppsSelector(candidates_per_slot=3)
    sel.posteriors = {0: (1.0, 999.0), 1: (500.0, 500.0), 2: (999.0, 1.0)}
    rng = np.random.default_rng(0)
    assert sel.select(lambda n: [0, 1, 2][:n], 1, rng) == [1]
    sel.posteriors[0] = (480.0, 520.0)
    assert sorted(sel.select(lambda n: [0, 1, 2][:n], 2, rng)) == [0, 1]


def test_state_roundtrip_and_bad_arguments():
    sel = MoppsSelector()
    sel.update({5: (1.0, 2)})
    other = MoppsSelector()
    other.load_state_dict(sel.state_dict())
    assert other.posteriors == sel.posteriors
    with pytest.raises(ValueError, match="target"):
        MoppsSelector(target=1.0)


def test_trainer_with_mopps_resumes_exactly(tiny_model_path, tmp_path):
    from tests.trainer.test_training_loop import keyword_config
    from turngym.trainer.trainer import Trainer

    over = {
        "env.kwargs.keyword": "null",  # no fixed keyword: 8 tasks
        "algo.task_selection": "mopps",
        "checkpoint.resume": True,
        "optim.lr": 1e-3,
    }
    straight = Trainer(keyword_config(tiny_model_path, tmp_path / "a", **over), log=lambda s: None)
    for _ in range(3):
        last = straight.train_step()
    assert straight.selector is not None and len(straight.selector.posteriors) > 2
    tasks_straight = [t.metadata["task_index"] for t in straight._last_trajectories]

    first = Trainer(keyword_config(tiny_model_path, tmp_path / "b", **over), log=lambda s: None)
    first.train_step()
    first.train_step()
    first.save_checkpoint()
    resumed = Trainer(keyword_config(tiny_model_path, tmp_path / "b", **over), log=lambda s: None)
    assert resumed.selector.posteriors == first.selector.posteriors
    again = resumed.train_step()
    assert [t.metadata["task_index"] for t in resumed._last_trajectories] == tasks_straight
    assert again["reward/mean"] == pytest.approx(last["reward/mean"])

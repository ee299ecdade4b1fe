"""PPO with a critic (GAE over tokens or turns), GiGPO and several updates per step, end to end."""

from __future__ import annotations

import pytest
import torch

from tests.trainer.test_training_loop import keyword_config, run_steps
from turngym.trainer.trainer import Trainer


@pytest.mark.parametrize(
    "overrides",
    [
        {"algo.advantage": "gae"},
        {"algo.advantage": "gae_turn"},
        {"algo.advantage": "gigpo"},
        {"algo.ppo_epochs": 2, "algo.num_minibatches": 2, "optim.lr": 1.5e-2},
    ],
    ids=["gae_value_head", "gae_turn", "gigpo", "two_epochs_two_minibatches"],
)
def test_value_based_and_multi_update_variants_learn(tiny_model_path, tmp_path, overrides):
    trainer = Trainer(keyword_config(tiny_model_path, tmp_path, **overrides), log=lambda s: None)
    rewards = run_steps(trainer, 24)
    assert sum(rewards[:3]) / 3 < 0.45 and sum(rewards[-4:]) / 4 > 0.75, str(rewards)


def test_critic_is_trained_and_logged(tiny_model_path, tmp_path):
    over = {"algo.advantage": "gae", "algo.ppo_epochs": 2, "algo.num_minibatches": 2}
    trainer = Trainer(keyword_config(tiny_model_path, tmp_path, **over), log=lambda s: None)
    assert trainer.value_head is not None and trainer.critic is None
    before = trainer.value_head.proj.weight.detach().clone()
    metrics = trainer.train_step()
    assert metrics["optim/updates"] == 4.0
    assert metrics["value/loss"] > 0  # the zero-initialised head is wrong on rewarded episodes
    assert "value/explained_variance" in metrics
    assert not torch.equal(trainer.value_head.proj.weight, before)


def test_separate_critic_resumes_exactly(tiny_model_path, tmp_path):
    over = {"algo.advantage": "gae", "algo.critic": "separate", "optim.lr": 1e-3}
    straight = Trainer(keyword_config(tiny_model_path, tmp_path / "a", **over), log=lambda s: None)
    expected = [straight.train_step() for _ in range(3)]

    over_b = {**over, "checkpoint.resume": True}
    first = Trainer(keyword_config(tiny_model_path, tmp_path / "b", **over_b), log=lambda s: None)
    first.train_step()
    first.train_step()
    first.save_checkpoint()
    del first
    resumed = Trainer(keyword_config(tiny_model_path, tmp_path / "b", **over_b), log=lambda s: None)
    assert resumed.step == 2
    got = resumed.train_step()
    for key in ("loss/policy", "value/loss", "value/mean", "optim/grad_norm", "value/grad_norm"):
        assert got[key] == pytest.approx(expected[2][key], rel=1e-5, abs=1e-7), key
    assert resumed.critic is not None and straight.critic is not None
    for p, q in zip(straight.critic.parameters(), resumed.critic.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-6)


def test_bad_value_settings_are_named(tiny_model_path, tmp_path):
    from turngym.trainer.config import ConfigError

    cfg = keyword_config(
        tiny_model_path, tmp_path, **{"algo.gae_lambda": 1.5, "algo.ppo_epochs": 0}
    )
    with pytest.raises(ConfigError) as err:
        cfg.validate()
    assert "algo.gae_lambda" in str(err.value) and "algo.ppo_epochs" in str(err.value)


def test_tis_over_several_updates_uses_the_pre_update_policy_as_pi_old(tiny_model_path, tmp_path):
    over = {"algo.tis_cap": 2.0, "algo.ppo_epochs": 2, "optim.lr": 1e-2}
    trainer = Trainer(keyword_config(tiny_model_path, tmp_path, **over), log=lambda s: None)
    seen: list[list[tuple[list[int], list[float], list[float]]]] = []
    real = trainer.update

    def spy(seqs, **kwargs):  # noqa: ANN001, ANN202
        seen.append([(s.loss_mask, s.old_logprobs, list(s.pre_update_logprobs)) for s in seqs])
        return real(seqs, **kwargs)

    trainer.update = spy  # type: ignore[method-assign]
    trainer.train_step()
    assert len(seen) == 2 and seen[0]
    # computed once before the first update and kept for the second one
    assert sorted(r[2] for r in seen[0]) == sorted(r[2] for r in seen[1])
    # it is the sampling policy itself: equal to the behaviour logprobs on sampled tokens
    for mask, behaviour, pi_old in seen[0]:
        on = [(b, o) for m, b, o in zip(mask, behaviour, pi_old, strict=True) if m]
        assert on and all(abs(b - o) < 1e-3 for b, o in on)

"""End-to-end behaviour of the training loop on a tiny model (CPU, seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from turngym.trainer import TrainConfig
from turngym.trainer.trainer import Trainer, has_reward_variance, task_indices


def keyword_config(model: Path, out: Path, **over) -> TrainConfig:
    data = {
        "model": {"name": str(model)},
        # About 5% of the vocabulary contains "ing": a random tiny model says it in ~20% of
        # 4-token replies, so there is reward variance to learn from from the first step.
        "env": {"id": "turngym/Keyword-v0", "kwargs": {"keyword": "ing"}},
        "rollout": {"tasks_per_step": 2, "group_size": 8, "max_new_tokens": 4},
        "optim": {"lr": 3e-2, "micro_batch_size": 16},
        "steps": 20,
        "seed": 0,
        "output_dir": str(out),
        "progress": False,
        "plot": False,
        "checkpoint": {"every": 0, "resume": False, "save_final_model": False},
    }
    cfg = TrainConfig.from_dict(data)
    return cfg.apply_overrides([f"{k}={v}" for k, v in over.items()])


def run_steps(trainer: Trainer, n: int) -> list[float]:
    return [trainer.train_step().get("reward/mean", 0.0) for _ in range(n)]


def test_trainer_learns_a_trivial_env(tiny_model_path, tmp_path):
    # measured: about 0.2 for the first steps, 1.0 from step ~12 (0.75 by step 20 on other seeds)
    rewards = run_steps(Trainer(keyword_config(tiny_model_path, tmp_path), log=lambda s: None), 30)
    early, late = sum(rewards[:3]) / 3, sum(rewards[-5:]) / 5
    assert early < 0.45, rewards
    assert late > 0.7, rewards


def test_a_sign_error_in_the_loss_makes_learning_fail(tiny_model_path, tmp_path, monkeypatch):
    import turngym.trainer.trainer as trainer_module

    real = trainer_module.policy_loss

    def flipped(*args, **kwargs):
        loss, metrics = real(*args, **kwargs)
        return -loss, metrics

    monkeypatch.setattr(trainer_module, "policy_loss", flipped)
    rewards = run_steps(Trainer(keyword_config(tiny_model_path, tmp_path), log=lambda s: None), 20)
    assert sum(rewards[-5:]) / 5 < 0.3, rewards


def test_checkpoint_then_resume_matches_uninterrupted_run(tiny_model_path, tmp_path):
    cfg_a = keyword_config(tiny_model_path, tmp_path / "a", **{"optim.lr": 1e-3})
    straight = Trainer(cfg_a, log=lambda s: None)
    metrics_straight = [straight.train_step() for _ in range(3)]

    cfg_b = keyword_config(
        tiny_model_path, tmp_path / "b", **{"optim.lr": 1e-3, "checkpoint.resume": True}
    )
    first = Trainer(cfg_b, log=lambda s: None)
    first.train_step()
    first.train_step()
    first.save_checkpoint()
    del first
    resumed = Trainer(cfg_b, log=lambda s: None)
    assert resumed.step == 2
    next_metrics = resumed.train_step()

    for key in ("loss/policy", "reward/mean", "optim/grad_norm"):
        assert next_metrics[key] == pytest.approx(metrics_straight[2][key], rel=1e-5, abs=1e-7), key
    for (name, p), (_, q) in zip(
        straight.model.named_parameters(), resumed.model.named_parameters(), strict=True
    ):
        assert torch.allclose(p, q, atol=1e-6), name


def test_task_schedule_covers_each_epoch_once():
    seen = [i for step in range(5) for i in task_indices(10, seed=1, step=step, count=2)]
    assert sorted(seen) == list(range(10))
    assert task_indices(10, 1, 3, 2) == task_indices(10, 1, 3, 2)
    assert task_indices(None, 1, 0, 4) != task_indices(None, 1, 1, 4)


def test_fit_writes_metrics_checkpoint_plot_and_model(tiny_model_path, tmp_path):
    cfg = keyword_config(
        tiny_model_path,
        tmp_path,
        **{
            "steps": 2,
            "plot": True,
            "checkpoint.every": 1,
            "checkpoint.save_final_model": True,
            "eval.num_tasks": 2,
            "eval.before_training": True,
        },
    )
    Trainer(cfg, log=lambda s: None).fit()
    import json

    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert len(lines) == 4  # eval before training, 2 steps, eval after training
    assert "eval/success_rate" in lines[0] and "eval/success_rate" in lines[-1]
    assert [x["step"] for x in lines] == [0, 1, 2, 2]
    assert (tmp_path / "reward_curve.png").stat().st_size > 1000
    assert (tmp_path / "final_model" / "config.json").exists()
    assert (tmp_path / "checkpoints" / "latest").exists()


def test_lora_training_updates_only_adapters(tiny_model_path, tmp_path):
    cfg = keyword_config(
        tiny_model_path,
        tmp_path,
        **{"steps": 1, "lora.enabled": True, "lora.r": 4, "algo.kl_coef": 0.05},
    )
    trainer = Trainer(cfg, log=lambda s: None)
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    metrics = trainer.train_step()
    assert "loss/kl" in metrics
    changed = {n for n, p in trainer.model.named_parameters() if not torch.equal(p, before[n])}
    assert changed and all("lora_" in n for n in changed)


def test_dropout_is_off_when_logprobs_are_recomputed(tiny_model_path, tmp_path):
    """On-policy, the importance ratio must be exactly 1 even with LoRA dropout configured."""
    cfg = keyword_config(
        tiny_model_path, tmp_path, **{"lora.enabled": True, "lora.dropout": 0.3, "optim.lr": 1e-2}
    )
    trainer = Trainer(cfg, log=lambda s: None)
    for _ in range(3):
        metrics = trainer.train_step()
        if "loss/ratio_mean" in metrics:
            assert metrics["loss/ratio_mean"] == pytest.approx(1.0, abs=1e-4)
            assert metrics["loss/clip_frac"] == 0.0


@pytest.mark.parametrize(
    "overrides",
    [
        {"algo.advantage": "rloo"},
        {"algo.advantage": "reinforce_pp_baseline"},
        {"algo.policy_loss": "gspo", "algo.loss_agg": "sequence"},
        {"algo.tis_cap": 2.0, "algo.entropy_coef": 0.001},
    ],
    ids=["rloo", "reinforce_pp_baseline", "gspo", "tis_entropy"],
)
def test_algorithm_variants_learn_the_trivial_env(tiny_model_path, tmp_path, overrides):
    trainer = Trainer(keyword_config(tiny_model_path, tmp_path, **overrides), log=lambda s: None)
    # measured: these reach reward 1.0 between steps 8 and 18 (GRPO with std: about 12)
    rewards = run_steps(trainer, 24)
    assert sum(rewards[:3]) / 3 < 0.45 and sum(rewards[-4:]) / 4 > 0.75, str(rewards)


def test_dynamic_sampling_keeps_only_groups_with_reward_variance(tiny_model_path, tmp_path):
    cfg = keyword_config(
        tiny_model_path,
        tmp_path,
        **{"algo.dynamic_sampling": True, "algo.max_refill_rounds": 3, "rollout.group_size": 4},
    )
    trainer = Trainer(cfg, log=lambda s: None)
    refilled = False
    for _ in range(3):
        metrics = trainer.train_step()
        assert all(has_reward_variance(g) for g in trainer._last_groups)
        assert len(trainer._last_groups) <= cfg.rollout.tasks_per_step
        refilled |= metrics["data/rollout_rounds"] > 1
        # every dropped group was counted, and rollouts of refill rounds were added up
        assert metrics["rollout/episodes"] == 4 * 2 * metrics["data/rollout_rounds"]
    assert refilled  # with ~20% success and groups of 4, some groups have no variance


def test_kl_schedules_by_hand():
    from turngym.trainer.trainer import kl_coef_at

    assert kl_coef_at(5, 11, 0.1, None, "linear") == 0.1  # no final value: constant
    assert kl_coef_at(5, 11, 0.1, 0.0, "constant") == 0.1
    assert kl_coef_at(0, 11, 0.1, 0.0, "linear") == pytest.approx(0.1)
    assert kl_coef_at(5, 11, 0.1, 0.0, "linear") == pytest.approx(0.05)  # halfway
    assert kl_coef_at(10, 11, 0.1, 0.0, "linear") == pytest.approx(0.0)
    # cosine: final + (start - final) * (1 + cos(pi * 5/10)) / 2 = 0.1 * 0.5
    assert kl_coef_at(5, 11, 0.1, 0.0, "cosine") == pytest.approx(0.05)
    # a quarter of the way: 0.1 * (1 + cos(pi/4)) / 2 = 0.0853553
    assert kl_coef_at(2, 9, 0.1, 0.0, "cosine") == pytest.approx(0.0853553, abs=1e-6)


def test_reference_refresh_resets_the_kl_and_survives_resume(tiny_model_path, tmp_path):
    over = {"algo.kl_coef": 0.1, "algo.kl_estimator": "k1", "optim.lr": 1e-2}
    plain = Trainer(keyword_config(tiny_model_path, tmp_path / "plain", **over), log=lambda s: None)
    plain.train_step()
    assert plain.train_step()["loss/kl"] != pytest.approx(0.0, abs=1e-6)

    over_r = {**over, "algo.ref_refresh_every": 1, "checkpoint.resume": True}
    fresh = Trainer(keyword_config(tiny_model_path, tmp_path / "r", **over_r), log=lambda s: None)
    fresh.train_step()
    # the policy that sampled step 2 is the reference: on-policy, k1 KL is zero
    assert fresh.train_step()["loss/kl"] == pytest.approx(0.0, abs=1e-5)
    fresh.save_checkpoint()
    third = fresh.train_step()
    resumed = Trainer(keyword_config(tiny_model_path, tmp_path / "r", **over_r), log=lambda s: None)
    assert resumed.step == 2
    again = resumed.train_step()
    for key in ("loss/kl", "loss/policy", "optim/grad_norm"):
        assert again[key] == pytest.approx(third[key], rel=1e-5, abs=1e-7), key


def test_refresh_with_lora_is_rejected(tiny_model_path, tmp_path):
    from turngym.trainer.config import ConfigError

    with pytest.raises(ConfigError, match="algo.ref_refresh_every"):
        keyword_config(
            tiny_model_path, tmp_path, **{"lora.enabled": True, "algo.ref_refresh_every": 5}
        ).validate()

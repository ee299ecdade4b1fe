"""The self-play trainer: config, one short run on a tiny model, ratings, pool, checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from turngym.trainer.config import ConfigError
from turngym.trainer.selfplay import SelfPlayConfig, SelfPlayTrainer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "selfplay_tictactoe.yaml"


def tiny_config(model: Path, out: Path, **selfplay) -> SelfPlayConfig:
    return SelfPlayConfig.from_dict(
        {
            "model": {"name": str(model)},
            "env": {"id": "turngym/TicTacToe-v0"},
            "rollout": {"max_new_tokens": 3, "max_episode_tokens": 1024},
            "optim": {"lr": 1e-3, "micro_batch_size": 16},
            "steps": 2,
            "seed": 0,
            "output_dir": str(out),
            "progress": False,
            "plot": False,
            "checkpoint": {"every": 1, "resume": True, "save_final_model": False},
            "selfplay": {
                "games_per_step": 4,
                "opponents": [
                    {"kind": "self", "weight": 1.0},
                    {"kind": "pool", "weight": 1.0},
                    {
                        "kind": "scripted",
                        "weight": 1.0,
                        "policy": "turngym.envs.multiagent.tictactoe:random_move",
                        "name": "random",
                    },
                ],
                "pool": {"snapshot_every": 1},
                "eval": {"games": 2},
                **selfplay,
            },
        }
    )


# ---- config -----------------------------------------------------------------------------------


def test_config_layout_overrides_and_errors(tmp_path):
    cfg = SelfPlayConfig.from_yaml(EXAMPLE, ["selfplay.games_per_step=8", "optim.lr=2e-6"])
    assert cfg.selfplay.games_per_step == 8 and cfg.train.optim.lr == 2e-6
    assert cfg.train.env.id == "turngym/TicTacToe-v0"
    cfg.validate()
    again = SelfPlayConfig.from_dict(cfg.to_dict())
    assert again.to_dict() == cfg.to_dict()
    with pytest.raises(ConfigError, match="games_per_step"):
        SelfPlayConfig.from_dict({"selfplay": {"games_per_step": 0}}).validate()
    with pytest.raises(ConfigError, match="selfplay"):
        SelfPlayConfig.from_dict({"selfplay": {"gmaes_per_step": 4}})
    with pytest.raises(ConfigError, match="unknown key"):
        cfg.apply_overrides(["selfplay.pool.size=3"])
    with pytest.raises(ConfigError, match="needs policy"):
        SelfPlayConfig.from_dict({"selfplay": {"opponents": [{"kind": "scripted"}]}}).validate()
    with pytest.raises(ConfigError, match="reward_routing|routing"):
        SelfPlayConfig.from_dict({"selfplay": {"reward_routing": "team"}})


def test_a_single_agent_env_is_refused(tiny_model_path, tmp_path):
    cfg = tiny_config(tiny_model_path, tmp_path)
    cfg.train.env.id = "turngym/Keyword-v0"
    with pytest.raises(ConfigError, match="single-agent env"):
        SelfPlayTrainer(cfg, log=lambda s: None)


def test_custom_opponent_must_be_given(tiny_model_path, tmp_path):
    cfg = tiny_config(
        tiny_model_path, tmp_path, opponents=[{"kind": "custom", "name": "gpt", "weight": 1.0}]
    )
    with pytest.raises(ConfigError, match="was not passed"):
        SelfPlayTrainer(cfg, log=lambda s: None)


# ---- a short run ------------------------------------------------------------------------------


def test_short_run_rates_snapshots_logs_and_resumes(tiny_model_path, tmp_path):
    cfg = tiny_config(tiny_model_path, tmp_path / "run")
    trainer = SelfPlayTrainer(cfg, log=lambda s: None)
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    saved: list[int] = []
    save = trainer.save_checkpoint

    def spy_save():  # noqa: ANN202
        saved.append(trainer.step)
        return save()

    trainer.save_checkpoint = spy_save  # type: ignore[method-assign]
    trainer.fit()
    assert trainer.step == 2
    assert saved == [1, 2]  # checkpoint.every=1: once per step, the last one not twice
    changed = any(
        not bool((p.detach() == before[n]).all()) for n, p in trainer.model.named_parameters()
    )
    assert changed  # the policy was updated
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [1, 2]
    last = lines[-1]
    # Snapshots taken after each step are rated with the learner's rating at that time.
    assert {"elo/learner", "elo/learner@1", "elo/learner@2", "elo/random"} <= set(last)
    assert last["elo/random"] == 1000.0  # anchor
    assert last["selfplay/games"] == 4.0 and last["selfplay/pool_size"] == 2.0
    assert any(k.startswith("rae/TicTacToe-v0/") for k in last)
    assert any(k.startswith("vs/") and k.endswith("/win_rate") for k in last)
    # Every learner trajectory reached the update: sequences = trainable seats with tokens.
    trainable = sum(len(r.trainable_trajectories()) for r in trainer.last_results)
    assert last["train/sequences"] == trainable > 0
    state = trainer.state_dict()

    # A pool game: the frozen copy plays with the snapshot's weights and is not trained on.
    from turngym.agents.multiagent import ModelPolicy
    from turngym.trainer.selfplay import _Plan

    snapshot = trainer.pool.snapshots[0]
    learner = ModelPolicy("learner", trainer.trainer.backend, trainer.renderer, trainer._sampling())
    games = trainer.play(
        [_Plan(snapshot.name, None, snapshot)] * 2, learner=learner, seed_tag="t", step=0
    )
    assert all(g.policies == {"player_0": "learner", "player_1": "learner@1"} for g in games)
    assert all(not g.trajectories["player_1"].metadata["trainable"] for g in games)
    frozen = dict(trainer._opponent_backend.model.named_parameters())
    assert all(torch.equal(frozen[n], v) for n, v in snapshot.state.items())
    assert any(
        not torch.equal(frozen[n], p.detach()) for n, p in trainer.model.named_parameters()
    )  # the learner moved on after step 1

    resumed = SelfPlayTrainer(cfg, log=lambda s: None)
    assert resumed.step == 2
    assert [s.name for s in resumed.pool.snapshots] == ["learner@1", "learner@2"]
    assert resumed.elo.ratings == pytest.approx(state["elo"]["ratings"])
    assert resumed.rae.baselines == pytest.approx(state["rae"]["baselines"])
    for (n, p), (_, q) in zip(
        trainer.model.named_parameters(), resumed.model.named_parameters(), strict=True
    ):
        assert bool((p == q).all()), n

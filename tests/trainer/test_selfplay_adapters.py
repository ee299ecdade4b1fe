"""Per-role LoRA adapters in self-play: each role samples and trains only its own adapter."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from turngym.trainer.config import ConfigError
from turngym.trainer.selfplay import (
    SelfPlayConfig,
    SelfPlayTrainer,
    _adapter_of_parameter,
    _Plan,
)

ADAPTERS = {"x": "ax", "o": "ao"}
RANDOM = "turngym.envs.multiagent.tictactoe:random_move"


def adapter_config(model: Path, out: Path, *, lora: bool = True, **selfplay) -> SelfPlayConfig:
    data = {
        "model": {"name": str(model)},
        "lora": {"enabled": lora, "r": 4, "alpha": 8},
        "env": {"id": "turngym/TicTacToe-v0"},
        "rollout": {"max_new_tokens": 3, "max_episode_tokens": 1024},
        "optim": {"lr": 1e-2, "micro_batch_size": 3},
        "steps": 1,
        "seed": 0,
        "output_dir": str(out),
        "progress": False,
        "plot": False,
        "checkpoint": {"every": 1, "resume": True, "save_final_model": False},
        "selfplay": {
            "games_per_step": 4,
            # A scripted opponent that plays legal moves: the learner moves in every game,
            # as x in even games and as o in odd ones (swap_roles), so both adapters sample.
            "opponents": [{"kind": "scripted", "policy": RANDOM, "name": "random"}],
            "role_adapters": dict(ADAPTERS),
            **selfplay,
        },
    }
    return SelfPlayConfig.from_dict(data)


def params_by_adapter(model: torch.nn.Module) -> dict[str | None, dict[str, torch.Tensor]]:
    """``{adapter (None: base weights): {name: a copy}}``."""
    out: dict[str | None, dict[str, torch.Tensor]] = {}
    for name, p in model.named_parameters():
        out.setdefault(_adapter_of_parameter(name), {})[name] = p.detach().clone()
    return out


def changed(before: dict[str, torch.Tensor], model: torch.nn.Module) -> bool:
    now = dict(model.named_parameters())
    return any(not torch.equal(now[n].detach(), v) for n, v in before.items())


# ---- config -----------------------------------------------------------------------------------


def test_bad_role_adapter_configs_are_refused(tiny_model_path, tmp_path, one_torch_thread):
    with pytest.raises(ConfigError, match=r"selfplay\.role_adapters.*lora\.enabled: true"):
        adapter_config(tiny_model_path, tmp_path, lora=False).validate()
    with pytest.raises(ConfigError, match=r"role_adapters\.x.*'a\.b'"):
        adapter_config(tiny_model_path, tmp_path, role_adapters={"x": "a.b", "o": "b"}).validate()
    cfg = adapter_config(tiny_model_path, tmp_path)
    cfg.train.algo.advantage = "gae"
    with pytest.raises(ConfigError, match="critic is not per role"):
        cfg.validate()
    cfg = adapter_config(tiny_model_path, tmp_path)
    cfg.train.model.backend = "openai"
    with pytest.raises(ConfigError, match="model.backend must be 'hf'"):
        cfg.validate()
    # Agent ids are not TicTacToe's roles: under swap_roles player_0 plays x and o in turn.
    ids = adapter_config(
        tiny_model_path, tmp_path, role_adapters={"player_0": "a", "player_1": "b"}
    )
    with pytest.raises(ConfigError, match=r"roles are \['o', 'x'\].*not roles: \['player_0'"):
        SelfPlayTrainer(ids, log=lambda s: None)
    half = adapter_config(tiny_model_path, tmp_path, role_adapters={"x": "ax"})
    with pytest.raises(ConfigError, match=r"missing: \['o'\]"):
        SelfPlayTrainer(half, log=lambda s: None)


# ---- the update -------------------------------------------------------------------------------


@pytest.mark.parametrize("silent_role", ["o", "x"])
def test_each_role_trains_only_its_own_adapter(
    tiny_model_path, tmp_path, one_torch_thread, silent_role
):
    # KL on: no sequence is skipped, so the silent role's sequences do go through the loss
    # (with its adapter) and the KL reference pass disables the adapters with two of them.
    cfg = adapter_config(tiny_model_path, tmp_path / "run")
    cfg.train.algo.kl_coef = 0.05
    trainer = SelfPlayTrainer(cfg, log=lambda s: None)
    model = trainer.model
    assert set(model.peft_config) == {"ax", "ao"}  # the Trainer's "default" adapter is gone
    trained_role = "x" if silent_role == "o" else "o"
    silent, trained = ADAPTERS[silent_role], ADAPTERS[trained_role]
    # Every sequence of the silent role gets advantage 0; the other role's get 1.
    trainer.rae.advantages = lambda keys, returns: [  # type: ignore[method-assign]
        0.0 if k.endswith(f"/{silent_role}") else 1.0 for k in keys
    ]
    seen: list[tuple[str, list]] = []
    real_loss = trainer.trainer._micro_batch_loss

    def spy(chunk, *args):  # noqa: ANN001, ANN202
        seen.append((model.active_adapter, list(chunk)))
        return real_loss(chunk, *args)

    trainer.trainer._micro_batch_loss = spy  # type: ignore[method-assign]
    before = params_by_adapter(model)
    metrics = trainer.train_step()

    assert metrics["optim/update_applied"] == 1.0
    assert (
        metrics[f"adapter/{silent}/sequences"] > 0 and metrics[f"adapter/{trained}/sequences"] > 0
    )
    assert changed(before[trained], model)
    assert not changed(before[silent], model)
    assert not changed(before[None], model)  # the base model never trains

    # Each micro-batch holds one adapter's sequences, scored with that adapter active, and
    # each sequence is exactly a learner seat's segment of that adapter's role (its own mask).
    segments = {}
    for game in trainer.last_results:
        for agent, t in game.trajectories.items():
            if t.metadata["trainable"]:
                for seg in t.segments:
                    segments[tuple(seg.token_ids)] = (ADAPTERS[game.roles[agent]], seg)
    scored = [s for _, chunk in seen for s in chunk]
    assert len(scored) == len(segments) == metrics["train/sequences"]
    for active, chunk in seen:
        assert len({s.adapter for s in chunk}) == 1 and chunk[0].adapter == active
        for s in chunk:
            adapter, seg = segments[tuple(s.token_ids)]
            assert adapter == active
            assert s.loss_mask == list(seg.loss_mask) and 0 < sum(s.loss_mask) < len(s.loss_mask)
            assert s.advantage == (0.0 if adapter == silent else 1.0)
    # Both adapters stay trainable after the switches (checkpoints select by requires_grad).
    assert all(
        p.requires_grad
        for n, p in model.named_parameters()
        if _adapter_of_parameter(n) in ("ax", "ao")
    )


def test_kl_reference_is_the_base_model_with_the_adapters_off(tiny_model_path, tmp_path):
    from transformers import AutoModelForCausalLM

    cfg = adapter_config(tiny_model_path, tmp_path / "run")
    trainer = SelfPlayTrainer(cfg, log=lambda s: None)
    with torch.no_grad():  # both adapters away from zero, so that they change the output
        for n, p in trainer.model.named_parameters():
            if _adapter_of_parameter(n) is not None:
                p.add_(0.05 * torch.randn_like(p))
    base = AutoModelForCausalLM.from_pretrained(tiny_model_path).eval()
    ids = torch.tensor([[1, 5, 9, 13, 17, 21]])
    with torch.no_grad():
        want = base(input_ids=ids).logits
        with trainer.model.disable_adapter():
            reference = trainer.model(input_ids=ids).logits
        outputs = {}
        for adapter in ("ax", "ao"):
            trainer.model.set_adapter(adapter)
            outputs[adapter] = trainer.model(input_ids=ids).logits
    torch.testing.assert_close(reference, want)
    assert not torch.allclose(outputs["ax"], want) and not torch.allclose(outputs["ao"], want)
    assert not torch.allclose(outputs["ax"], outputs["ao"])


# ---- seats, pool and checkpoints --------------------------------------------------------------


def test_adapters_follow_roles_snapshots_hold_both_and_resume_restores_them(
    tiny_model_path, tmp_path, one_torch_thread
):
    cfg = adapter_config(
        tiny_model_path,
        tmp_path / "run",
        opponents=[{"kind": "scripted", "policy": RANDOM, "name": "random"}, {"kind": "pool"}],
        pool={"snapshot_every": 1},
    )
    cfg.train.steps = 2
    trainer = SelfPlayTrainer(cfg, log=lambda s: None)
    initial = params_by_adapter(trainer.model)
    trainer.fit()
    assert trainer.step == 2
    trained = params_by_adapter(trainer.model)
    for adapter in ("ax", "ao"):  # lora_B starts at zero: both adapters moved
        assert any(not torch.equal(initial[adapter][n], v) for n, v in trained[adapter].items())

    # Self-play: each seat plays with its role's adapter, whichever seat holds the role.
    learner = trainer._learner(None, 0, "test")
    games = trainer.play([_Plan("learner", None)] * 2, learner=learner, seed_tag="t", step=0)
    for g in games:
        assert g.policies == {a: f"learner:{ADAPTERS[r]}" for a, r in g.roles.items()}
    assert {g.roles["player_0"] for g in games} == {"x", "o"}
    ev = trainer.evaluate(2)  # the learner plays the scripted opponent with its role adapters
    assert ev["failed_games"] == 0.0 and ev["random/games"] == 2.0

    # A snapshot holds both adapters; the frozen copy plays each role with that role's one.
    snapshot = trainer.pool.snapshots[0]
    assert {_adapter_of_parameter(n) for n in snapshot.state} == {"ax", "ao"}
    games = trainer.play(
        [_Plan(snapshot.name, None, snapshot)] * 2, learner=learner, seed_tag="t", step=0
    )
    for g in games:
        assert g.policies["player_1"] == f"learner@1:{ADAPTERS[g.roles['player_1']]}"
        assert not g.trajectories["player_1"].metadata["trainable"]
    frozen = dict(trainer._opponent_backend.model.named_parameters())
    assert all(torch.equal(frozen[n], v) for n, v in snapshot.state.items())

    resumed = SelfPlayTrainer(cfg, log=lambda s: None)
    assert resumed.step == 2
    again = params_by_adapter(resumed.model)
    for adapter in ("ax", "ao", None):
        assert again[adapter].keys() == trained[adapter].keys()
        for n, v in trained[adapter].items():
            assert torch.equal(again[adapter][n], v), n
    assert [s.name for s in resumed.pool.snapshots] == ["learner@1", "learner@2"]
    for s, r in zip(trainer.pool.snapshots, resumed.pool.snapshots, strict=True):
        assert all(torch.equal(s.state[n], r.state[n]) for n in s.state)
    # The optimizer holds both adapters' moments.
    opt = resumed.trainer.optimizer
    assert len(opt.state) == len(trained["ax"]) + len(trained["ao"])
    # The final model: peft's folder with every adapter.
    out = resumed.trainer.save_model(tmp_path / "final")
    assert all((out / a / "adapter_model.safetensors").is_file() for a in ("ax", "ao"))

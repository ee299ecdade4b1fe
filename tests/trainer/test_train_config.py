"""TrainConfig: YAML roundtrip, overrides, error messages, validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from turngym.trainer.config import ConfigError, TrainConfig


def test_defaults_are_valid_and_typed() -> None:
    cfg = TrainConfig().validate()
    assert cfg.rollout.group_size == 8 and cfg.optim.betas == (0.9, 0.999)
    assert cfg.lora.target_modules == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert issubclass(ConfigError, ValueError)


def test_yaml_roundtrip(tmp_path: Path) -> None:
    cfg = TrainConfig.from_dict(
        {
            "model": {"name": "/models/tiny", "dtype": "bfloat16", "max_context": 4096},
            "lora": {"enabled": True, "r": 8, "target_modules": ["q_proj"]},
            "env": {"id": "turngym/Keyword-v0", "kwargs": {"levels": [1, 2], "mode": {"a": 1}}},
            "algo": {"clip_eps_high": 0.28, "loss_agg": "sequence"},
            "optim": {"betas": [0.8, 0.95], "lr": 2},
            "steps": 7,
        }
    )
    path = tmp_path / "sub" / "cfg.yaml"
    text = cfg.to_yaml(path)
    assert "clip_eps_high: 0.28" in text
    again = TrainConfig.from_yaml(path)
    assert again == cfg
    assert again.optim.betas == (0.8, 0.95) and isinstance(again.optim.lr, float)
    assert again.to_dict() == cfg.to_dict()


def test_yaml_scientific_notation_without_dot_is_a_float(tmp_path: Path) -> None:
    # PyYAML (YAML 1.1) reads "3e-5" as a string; a float field accepts it anyway.
    path = tmp_path / "c.yaml"
    path.write_text("optim:\n  lr: 3e-5\n")
    assert TrainConfig.from_yaml(path).optim.lr == 3e-5


def test_from_yaml_applies_overrides_in_order(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("rollout:\n  group_size: 16\nseed: 3\n")
    cfg = TrainConfig.from_yaml(path, ["rollout.group_size=4", "rollout.group_size=6"])
    assert cfg.rollout.group_size == 6 and cfg.seed == 3


def test_override_parsing() -> None:
    base = TrainConfig()
    cfg = base.apply_overrides(
        [
            "optim.lr=3e-5",
            "rollout.group_size=4",
            "env.kwargs.levels=[1,2]",
            "env.kwargs.nested.deep=true",
            "model.name=123",
            "algo.clip_eps_high=0.28",
            "model.max_context=null",
            "optim.betas=[0.8, 0.95]",
            "output_dir=runs/a=b",
            "lora.target_modules=[q_proj, v_proj]",
        ]
    )
    assert cfg.optim.lr == 3e-5
    assert cfg.rollout.group_size == 4
    assert cfg.env.kwargs == {"levels": [1, 2], "nested": {"deep": True}}
    assert cfg.model.name == "123"  # a string field keeps the literal text
    assert cfg.algo.clip_eps_high == 0.28
    assert cfg.model.max_context is None
    assert cfg.optim.betas == (0.8, 0.95)
    assert cfg.output_dir == "runs/a=b"
    assert cfg.lora.target_modules == ["q_proj", "v_proj"]
    assert base == TrainConfig()  # the original is untouched


def test_unknown_key_names_dotted_path_and_suggests() -> None:
    with pytest.raises(ConfigError) as info:
        TrainConfig().apply_overrides(["optim.lrr=1e-4"])
    msg = str(info.value)
    assert "'optim.lrr'" in msg and "Did you mean 'optim.lr'" in msg and "weight_decay" in msg

    with pytest.raises(ConfigError) as info:
        TrainConfig.from_dict({"rollout": {"grop_size": 4}})
    msg = str(info.value)
    assert "'rollout.grop_size'" in msg and "'rollout.group_size'" in msg

    with pytest.raises(
        ConfigError, match="unknown config key 'zzz'.*Valid keys: model, openai, lora"
    ):
        TrainConfig.from_dict({"zzz": 1})


@pytest.mark.parametrize(
    ("data", "fragments"),
    [
        ({"rollout": {"group_size": 4.5}}, ["rollout.group_size", "expected int", "4.5"]),
        ({"steps": True}, ["steps", "expected int", "True"]),
        ({"lora": {"enabled": 1}}, ["lora.enabled", "expected bool", "1"]),
        ({"optim": {"lr": "fast"}}, ["optim.lr", "expected float", "'fast'"]),
        ({"optim": {"lr": False}}, ["optim.lr", "expected float", "False"]),
        ({"model": {"dtype": "fp8"}}, ["model.dtype", "one of 'auto'", "'fp8'"]),
        ({"lora": {"target_modules": "q_proj"}}, ["lora.target_modules", "expected list[str]"]),
        ({"lora": {"target_modules": ["q", 3]}}, ["lora.target_modules[1]", "expected str"]),
        ({"optim": {"betas": [0.9]}}, ["optim.betas", "2 items"]),
        ({"model": {"max_context": "big"}}, ["model.max_context", "int or null", "'big'"]),
        ({"env": {"kwargs": [1]}}, ["env.kwargs", "expected dict[str, any]"]),
        ({"model": 3}, ["model", "mapping of ModelConfig"]),
        ({"algo": {"loss_agg": None}}, ["algo.loss_agg", "None"]),
    ],
)
def test_type_errors_name_path_expected_and_value(data: dict, fragments: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        TrainConfig.from_dict(data)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_int_is_accepted_for_float_fields() -> None:
    cfg = TrainConfig.from_dict({"optim": {"lr": 1}, "rollout": {"episode_timeout_s": 30}})
    assert cfg.optim.lr == 1.0 and isinstance(cfg.optim.lr, float)
    assert isinstance(cfg.rollout.episode_timeout_s, float)


def test_override_type_error_and_malformed_overrides() -> None:
    with pytest.raises(ConfigError, match=r"rollout\.group_size: expected int, got 'many'"):
        TrainConfig().apply_overrides(["rollout.group_size=many"])
    with pytest.raises(ConfigError, match="dotted.path=value"):
        TrainConfig().apply_overrides(["optim.lr"])
    with pytest.raises(ConfigError, match="not a mapping"):
        TrainConfig().apply_overrides(["optim.lr.x=1"])
    with pytest.raises(ConfigError, match="empty component"):
        TrainConfig().apply_overrides(["optim..lr=1"])


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        TrainConfig.from_yaml(tmp_path / "missing.yaml")
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="must contain a YAML mapping.*got list"):
        TrainConfig.from_yaml(listing)
    broken = tmp_path / "broken.yaml"
    broken.write_text("optim: {lr: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        TrainConfig.from_yaml(broken)
    typo = tmp_path / "typo.yaml"
    typo.write_text("optim:\n  lrr: 1\n")
    with pytest.raises(ConfigError, match=r"typo\.yaml.*'optim\.lrr'"):
        TrainConfig.from_yaml(typo)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert TrainConfig.from_yaml(empty) == TrainConfig()


def test_validate_lists_every_problem_by_path() -> None:
    cfg = TrainConfig().apply_overrides(
        ["rollout.min_group_size=9", "rollout.top_p=0", "optim.lr=-1", "checkpoint.keep=0"]
    )
    with pytest.raises(ConfigError) as info:
        cfg.validate()
    msg = str(info.value)
    for path in ("rollout.min_group_size", "rollout.top_p", "optim.lr", "checkpoint.keep"):
        assert path in msg
    assert "rollout.group_size" not in msg.replace("[1, rollout.group_size = 8]", "")
    TrainConfig().apply_overrides(["rollout.group_size=2", "rollout.min_group_size=2"]).validate()

"""The examples a user copies from must keep working."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from turngym.trainer import TrainConfig

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_custom_env_example_runs():
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "custom_env.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "'beta!' -> reward 1.0, terminated=True" in out.stdout


def test_every_example_config_is_valid():
    configs = sorted(EXAMPLES.glob("*.yaml")) + sorted((EXAMPLES / "envs").glob("*.yaml"))
    assert configs
    for path in configs:
        data = yaml.safe_load(path.read_text())
        assert isinstance(data, dict)
        if "selfplay" in data:  # a self-play run: TrainConfig keys plus a selfplay: section
            from turngym.trainer.selfplay import SelfPlayConfig

            SelfPlayConfig.from_yaml(path).validate()
            continue
        TrainConfig.from_yaml(path).validate()


def test_env_example_configs_build_their_env():
    import turngym

    configs = sorted((EXAMPLES / "envs").glob("*.yaml"))
    assert len(configs) >= 7
    for path in configs:
        cfg = TrainConfig.from_yaml(path)
        env = turngym.make(cfg.env.id, max_turns=cfg.env.max_turns, **cfg.env.kwargs)
        obs, info = env.reset(seed=0, options={"task_index": 0, "split": "test"})
        assert obs and obs[-1].text, path.name
        env.close()

"""The command line, run as a user runs it (a subprocess of the installed ``turngym``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def turngym_cmd() -> list[str]:
    exe = shutil.which("turngym", path=os.path.dirname(sys.executable))
    return [exe] if exe else [sys.executable, "-m", "turngym.cli"]


def run(*args: str, stdin: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*turngym_cmd(), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


def test_envs_lists_builtin_ids():
    out = run("envs")
    assert out.returncode == 0, out.stderr
    assert "turngym/CodeInterpreter-v0" in out.stdout and "turngym/Keyword-v0" in out.stdout


def test_quickstart_config_trains_through_the_cli(tiny_model_path, tmp_path):
    """The main job's path cannot rot: the README's config, a tiny model swapped in."""
    out = run(
        "train",
        "examples/quickstart.yaml",
        "--set",
        f"model.name={tiny_model_path}",
        "--set",
        "steps=2",
        "--set",
        "rollout.tasks_per_step=2",
        "--set",
        "rollout.group_size=2",
        "--set",
        "rollout.max_new_tokens=8",
        "--set",
        "eval.num_tasks=2",
        "--set",
        f"output_dir={tmp_path / 'run'}",
        "--set",
        "checkpoint.every=1",
    )
    assert out.returncode == 0, out.stderr[-3000:]
    run_dir = tmp_path / "run"
    lines = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines if "reward/mean" in x] == [1, 2]
    assert any("eval/success_rate" in x for x in lines)
    assert (run_dir / "reward_curve.png").stat().st_size > 1000
    assert (run_dir / "final_model" / "config.json").exists()
    assert (run_dir / "checkpoints" / "latest").read_text().strip()

    view = run("view", str(run_dir), "--step", "2", "--last", "1")
    assert view.returncode == 0, view.stderr
    assert view.stdout.startswith("== step 2 |") and "[user] What is" in view.stdout


def test_eval_prints_reward_and_success(tiny_model_path):
    out = run(
        "eval",
        "examples/quickstart.yaml",
        "--set",
        f"model.name={tiny_model_path}",
        "--set",
        "rollout.max_new_tokens=4",
        "--set",
        "eval.samples_per_task=3",
        "--num-tasks",
        "2",
        "--json",
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["episodes"] == 6 and 0.0 <= result["success_rate"] <= 1.0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--set", "optim.lrr=1"], "optim.lrr"),
        (["--set", "rollout.group_size=many"], "rollout.group_size"),
        (["--set", "env.id=turngym/CodeInterpretr-v0"], "turngym/CodeInterpreter-v0"),
        (["--set", "env.kwargs.nope=1"], "env.kwargs"),
        (["--set", "env.id=CartPole-v1", "--set", "env.kwargs={}"], "not a turngym text env"),
        (["--set", "model.device=cuda:0"], "model.device"),
    ],
)
def test_bad_config_fails_with_a_clear_message(tiny_model_path, args, message):
    out = run("train", "examples/quickstart.yaml", "--set", f"model.name={tiny_model_path}", *args)
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr


def test_missing_config_file():
    out = run("train", "no/such/config.yaml")
    assert out.returncode == 2 and "no/such/config.yaml" in out.stderr


def test_play_runs_a_scripted_session():
    session = "```python\nprint(40 + 2)\n```\n.\nSo the answer is \\boxed{0}\n.\n"
    out = run("play", "turngym/CodeInterpreter-v0", "--kwargs", '{"levels": [1]}', stdin=session)
    assert out.returncode == 0, out.stderr
    assert "[tool/python]" in out.stdout and "42" in out.stdout
    assert "episode over: terminated" in out.stdout


def test_view_without_a_run(tmp_path):
    out = run("view", str(tmp_path))
    assert out.returncode == 2 and "rollouts.jsonl does not exist" in out.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--kwargs", "{bad"], "not valid JSON"),
        (["--kwargs", "[1]"], "JSON object"),
        (["--max-turns", "0"], "--max-turns"),
        (["--split", "dev"], "split must be one of"),
        (["--kwargs", '{"nope": 1}'], "does not accept"),
    ],
)
def test_play_bad_arguments(args, message):
    out = run("play", "turngym/CodeInterpreter-v0", *args, stdin="")
    assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr


def test_play_unknown_env():
    out = run("play", "turngym/Nope-v0", stdin="")
    assert out.returncode == 2 and "No env registered" in out.stderr


def test_play_a_multi_agent_game_hot_seat():
    # X takes 4, 5, 3 (the middle row) while O takes 0 and 1
    moves = "".join(f"[{m}]\n.\n" for m in (4, 0, 5, 1, 3))
    out = run("play", "turngym/TicTacToe-v0", stdin=moves)
    assert out.returncode == 0, out.stderr
    assert "X wins" in out.stdout and "player_0=+1.000, player_1=-1.000" in out.stdout
    out = run("play", "turngym/TicTacToe-v0", "--max-turns", "3", stdin="")
    assert out.returncode == 2 and "--kwargs entry" in out.stderr


def test_eval_through_an_openai_compatible_server(llama_server):
    """``turngym eval`` with the policy served by a real llama.cpp server (default GGUF)."""
    out = run(
        "eval",
        "examples/quickstart.yaml",
        "--set", "env.id=turngym/Keyword-v0",
        "--set", "env.kwargs={}",
        "--set", "model.backend=openai",
        "--set", f"openai.base_url={llama_server.base_url}",
        "--set", f"openai.model={llama_server.model}",
        "--set", "openai.extra_body={repeat_penalty: 1.0, min_p: 0.0, top_k: 0}",
        "--set", "eval.temperature=0",
        "--set", "eval.samples_per_task=1",
        "--set", "rollout.max_new_tokens=8",
        "--num-tasks", "2",
        "--json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["episodes"] == 2 and result["failed"] == 0
    assert llama_server.base_url in result["model"]
    out = run("train", "examples/quickstart.yaml", "--set", "model.backend=openai")
    assert out.returncode == 2 and "model.backend" in out.stderr

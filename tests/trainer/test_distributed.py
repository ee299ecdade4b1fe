"""Data-parallel training: 2 CPU processes (gloo) take the same steps as 1 process.

The launched run (``accelerate launch --multi_gpu --num_processes 2`` on this very file, on CPU) records the
episodes each rank played; the single-process reference trains on the same global batch (the
episodes of rank 0 then rank 1, the order of the global task list) and must end with the same
parameters, losses and gradient norms. Sampling itself differs between the two runs (a batch
of generation draws depends on its members), which is why the reference replays episodes
instead of sampling them again.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from turngym.trainer.config import ConfigError, TrainConfig
from turngym.trainer.distributed import Distributed, DistributedError
from turngym.trainer.trainer import Trainer

STEPS = 2


def distributed_config(model: Path, out: Path, **over: Any) -> TrainConfig:
    """Keyword-v0 on the tiny model; 3 tasks over 2 ranks (uneven shares), 2 micro-batches."""
    data = {
        "model": {"name": str(model), "device": "cpu"},
        "env": {"id": "turngym/Keyword-v0", "kwargs": {"keyword": "ing"}},
        "rollout": {"tasks_per_step": 3, "group_size": 4, "max_new_tokens": 4},
        "optim": {"lr": 3e-2, "micro_batch_size": 2, "grad_clip": 1.0},
        "steps": STEPS,
        "seed": 3,
        "output_dir": str(out),
        "progress": False,
        "plot": False,
        "log_samples": 0,
        "checkpoint": {"every": 0, "resume": False, "save_final_model": False},
    }
    cfg = TrainConfig.from_dict(data)
    return cfg.apply_overrides([f"{k}={v}" for k, v in over.items()])


def _use_sgd(trainer: Trainer) -> None:
    """Plain SGD instead of AdamW, in both runs.

    AdamW's first step is about ``lr * sign(grad)`` per element, so a gradient entry that is
    float noise around 0 (its summation order differs between 1 and 2 processes) flips a
    whole ``lr`` step; SGD keeps parameters a linear function of the gradients, so equal
    gradients show up as equal parameters.
    """
    trainer.optimizer = torch.optim.SGD(trainer.trainable, lr=trainer.cfg.optim.lr)
    trainer.scheduler = torch.optim.lr_scheduler.LambdaLR(trainer.optimizer, lambda s: 1.0)


# ---- the launched side ------------------------------------------------------------------


def _worker(model: str, out: str, overrides: list[str]) -> None:
    """One rank: train, recording every rollout this rank played and its final parameters."""
    cfg = distributed_config(Path(model), Path(out)).apply_overrides(overrides)
    trainer = Trainer(cfg, log=lambda s: None)
    _use_sgd(trainer)
    rank = trainer.dist.rank
    assert trainer.dist.world_size == 2, "launch this worker with 2 processes"
    real_rollout = trainer._rollout

    def recording_rollout(step: int, round_: int, indices: list[int], first: int = 0) -> Any:
        result = real_rollout(step, round_, indices, first)
        with open(Path(out) / f"rollout_rank{rank}_step{step}_round{round_}.pkl", "wb") as f:
            pickle.dump(result.groups, f)
        return result

    trainer._rollout = recording_rollout  # type: ignore[method-assign]
    trainer.fit()
    params = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    torch.save(params, Path(out) / f"params_rank{rank}.pt")


# ---- the test side ----------------------------------------------------------------------


def _launch(model: Path, out: Path, overrides: list[str]) -> subprocess.CompletedProcess[str]:
    accelerate = shutil.which("accelerate") or str(Path(sys.executable).parent / "accelerate")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    env.pop("WORLD_SIZE", None)
    cmd = [
        accelerate,
        "launch",
        # accelerate's multi-process launcher (torchrun); on a machine without CUDA the ranks
        # join as MULTI_CPU with gloo. (``--cpu`` alone would need mpirun for 2 processes.)
        "--multi_gpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "--main_process_port",
        str(29500 + os.getpid() % 1000),
        __file__,
        str(model),
        str(out),
        json.dumps(overrides),
    ]
    return subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=240, cwd=Path(__file__).parents[2]
    )


def _replay_single_process(
    model: Path, launched: Path, out: Path, overrides: list[str]
) -> tuple[Trainer, list[dict[str, float]]]:
    """One process trains on the episodes both ranks played, in global task order."""
    from turngym.agents.rollout import RolloutResult

    cfg = distributed_config(model, out).apply_overrides(overrides)
    trainer = Trainer(cfg, log=lambda s: None, distributed=Distributed())
    _use_sgd(trainer)

    def replay(step: int, round_: int, indices: list[int], first: int = 0) -> RolloutResult:
        groups = []
        for rank in range(2):
            with open(launched / f"rollout_rank{rank}_step{step}_round{round_}.pkl", "rb") as f:
                groups.extend(pickle.load(f))
        assert len(groups) == len(indices) == cfg.rollout.tasks_per_step
        flat = [t for g in groups for t in g]
        return RolloutResult(groups=groups, all_trajectories=flat, metrics={"perf/rollout_s": 1.0})

    trainer._rollout = replay  # type: ignore[method-assign]
    return trainer, [trainer.train_step() for _ in range(STEPS)]


def test_two_cpu_processes_match_one_process_on_the_same_global_batch(
    tiny_model_path: Path, tmp_path: Path
) -> None:
    overrides: list[str] = []  # GRPO, the default; one launch keeps the test under a minute
    launched = tmp_path / "launched"
    launched.mkdir()
    proc = _launch(tiny_model_path, launched, overrides)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]

    # Rank 0 alone wrote the run's files; both ranks hold the same weights.
    logged = [json.loads(line) for line in (launched / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in logged] == list(range(1, STEPS + 1))
    assert (launched / "checkpoints" / "step_000002").is_dir()
    rank0 = torch.load(launched / "params_rank0.pt")
    rank1 = torch.load(launched / "params_rank1.pt")
    for name, p in rank0.items():
        assert torch.equal(p, rank1[name]), f"replicas drifted apart at {name}"
    # Rank 0 played 2 of the 3 tasks, rank 1 the third; 4 episodes each.
    for step in range(STEPS):
        sizes = []
        for rank in range(2):
            with open(launched / f"rollout_rank{rank}_step{step}_round0.pkl", "rb") as f:
                sizes.append([len(g) for g in pickle.load(f)])
        assert sizes == [[4, 4], [4]], sizes
    assert all(m["rollout/episodes"] == 12.0 for m in logged), logged

    trainer, single = _replay_single_process(
        tiny_model_path, launched, tmp_path / "single", overrides
    )
    for m_launched, m_single in zip(logged, single, strict=True):
        for key in ("loss/total", "optim/grad_norm", "reward/mean", "adv/abs_mean"):
            assert m_launched[key] == pytest.approx(m_single[key], rel=1e-4, abs=1e-6), key
    assert any(m["optim/grad_norm"] > 1e-3 for m in single), "no gradient: the test shows nothing"

    moved = 0.0
    for name, p in trainer.model.named_parameters():
        torch.testing.assert_close(rank0[name], p.detach(), rtol=1e-5, atol=1e-6, msg=name)
    initial = Trainer(
        distributed_config(tiny_model_path, tmp_path / "init"), distributed=Distributed()
    )
    for name, p in initial.model.named_parameters():
        moved = max(moved, float((rank0[name] - p.detach()).abs().max()))
    assert moved > 1e-3, "training did not change the weights: equality would prove nothing"


# ---- fast checks (no launch) ------------------------------------------------------------


def test_shard_gives_contiguous_shares_that_concatenate_back() -> None:
    items = list(range(7))
    shares = [Distributed(rank, 3).shard(items) for rank in range(3)]
    assert shares == [(0, [0, 1, 2]), (3, [3, 4]), (5, [5, 6])]
    assert Distributed().shard(items) == (0, items)


def test_rank_outside_the_world_is_refused() -> None:
    with pytest.raises(ValueError, match="rank 2 / world_size 2"):
        Distributed(2, 2)


def test_fewer_tasks_than_processes_is_a_config_error(tiny_model_path: Path, tmp_path: Path):
    cfg = distributed_config(tiny_model_path, tmp_path, **{"rollout.tasks_per_step": 1})
    with pytest.raises(ConfigError, match="tasks_per_step = 1 is less than the 2 processes"):
        Trainer(cfg, distributed=Distributed(0, 2))


def test_batch_whitened_gae_is_refused_in_data_parallel(tiny_model_path: Path, tmp_path: Path):
    cfg = distributed_config(tiny_model_path, tmp_path, **{"algo.advantage": "gae"})
    with pytest.raises(ConfigError, match="whiten_advantages=false"):
        Trainer(cfg, distributed=Distributed(0, 2))


@pytest.mark.parametrize("flag", ["ACCELERATE_USE_FSDP", "ACCELERATE_USE_DEEPSPEED"])
def test_sharded_launch_modes_are_refused(monkeypatch: pytest.MonkeyPatch, flag: str) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv(flag, "true")
    with pytest.raises(DistributedError, match="data parallelism"):
        Distributed.from_environment()


def test_reinforce_pp_statistics_span_every_rank() -> None:
    from types import SimpleNamespace

    from turngym.trainer.advantages import compute_advantages

    dist = Distributed(1, 2)  # rank 1 of 2; rank 0 holds two groups of 2 episodes
    rank0 = ([2, 2], [1.0, 0.0, 1.0, 1.0])
    dist.gather = lambda obj: [rank0, obj]  # type: ignore[method-assign]
    owner = SimpleNamespace(
        dist=dist, cfg=SimpleNamespace(algo=SimpleNamespace(std_normalize=True))
    )
    rewards = [0.0, 0.5, 0.0]
    adv = Trainer._global_advantages(owner, [[object()] * 3], rewards, "reinforce_pp")  # type: ignore[arg-type]
    whole = compute_advantages(
        torch.tensor(rank0[1] + rewards),
        torch.tensor([0, 0, 1, 1, 2, 2, 2]),
        estimator="reinforce_pp",
    )
    torch.testing.assert_close(adv, whole[4:])
    local = compute_advantages(torch.tensor(rewards), torch.zeros(3), estimator="reinforce_pp")
    assert not torch.allclose(adv, local), "the share alone would whiten differently"


def _sum_gradients_worker(rank: int, store_path: str, out: str) -> None:
    store = torch.distributed.FileStore(store_path, 2)
    torch.distributed.init_process_group("gloo", store=store, rank=rank, world_size=2)
    try:
        both, only_rank1, neither = (torch.nn.Parameter(torch.zeros(3)) for _ in range(3))
        both.grad = torch.full((3,), float(rank + 1))  # 1 on rank 0, 2 on rank 1
        if rank == 1:
            only_rank1.grad = torch.tensor([1.0, 2.0, 3.0])
        Distributed(rank, 2).sum_gradients([both, only_rank1, neither])
        torch.save([p.grad for p in (both, only_rank1, neither)], f"{out}/grads{rank}.pt")
    finally:
        torch.distributed.destroy_process_group()


def test_sum_gradients_adds_over_ranks_and_keeps_untouched_parameters_gradless(tmp_path):
    torch.multiprocessing.spawn(
        _sum_gradients_worker, args=(str(tmp_path / "store"), str(tmp_path)), nprocs=2
    )
    for rank in range(2):
        both, only_rank1, neither = torch.load(tmp_path / f"grads{rank}.pt")
        torch.testing.assert_close(both, torch.full((3,), 3.0))
        torch.testing.assert_close(only_rank1, torch.tensor([1.0, 2.0, 3.0]))
        assert neither is None  # AdamW skips it, as it would in one process


def test_metrics_are_summed_maxed_or_weighted_by_kind() -> None:
    dist = Distributed(0, 2)
    rank1 = ({"rollout/episodes": 4.0, "reward/mean": 1.0, "reward/std": 0.0, "reward/max": 1.0,
              "perf/rollout_s": 5.0}, 4.0)  # fmt: skip
    dist.gather = lambda obj: [obj, rank1]  # type: ignore[method-assign]
    rank0 = {"rollout/episodes": 8.0, "reward/mean": 0.25, "reward/std": 0.0, "reward/max": 0.5,
             "perf/rollout_s": 2.0, "stop/answered": 1.0}  # fmt: skip
    out = dist.reduce_metrics(rank0, weight=8.0)
    assert out["rollout/episodes"] == 12.0
    assert out["reward/mean"] == pytest.approx((0.25 * 8 + 1.0 * 4) / 12)
    # Two constant halves (0.25 x 8, 1.0 x 4): the pooled std is that of the union.
    union = torch.tensor([0.25] * 8 + [1.0] * 4)
    assert out["reward/std"] == pytest.approx(float(union.std(unbiased=False)), rel=1e-6)
    assert out["reward/max"] == 1.0 and out["perf/rollout_s"] == 5.0
    assert out["stop/answered"] == pytest.approx(8 / 12)  # rank 1 had no such episode


if __name__ == "__main__":  # the launched worker: test_distributed.py MODEL OUT OVERRIDES_JSON
    _worker(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))

"""NaN/inf losses and gradients: skipped, logged, counted, and a run that stops resumable.

One NaN update would poison the weights and Adam's moments for good, so the trainer drops it
(``optim/nonfinite_skipped``) and stops with :class:`NonFiniteLossError` after more than
``optim.max_nonfinite_steps`` such steps in a row, leaving a checkpoint to resume from. The
NaN is injected by wrapping ``policy_loss`` in the trainer module (as the sign-flip test of
``test_training_loop.py`` does), on chosen steps only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

import turngym.trainer.trainer as trainer_module
from turngym.trainer import TrainConfig
from turngym.trainer.checkpoint import CheckpointManager
from turngym.trainer.trainer import NonFiniteLossError, Trainer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def keyword_config(model: Path, out: Path, **over: Any) -> TrainConfig:
    data = {
        "model": {"name": str(model)},
        # ~20% of random 4-token replies contain "ing": reward variance from the first step.
        "env": {"id": "turngym/Keyword-v0", "kwargs": {"keyword": "ing"}},
        "rollout": {"tasks_per_step": 2, "group_size": 6, "max_new_tokens": 4},
        "optim": {"lr": 1e-2, "micro_batch_size": 16},
        "steps": 5,
        "seed": 0,
        "output_dir": str(out),
        "progress": False,
        "plot": False,
        "checkpoint": {"every": 0, "resume": False, "save_final_model": False},
    }
    return TrainConfig.from_dict(data).apply_overrides([f"{k}={v}" for k, v in over.items()])


class _InfGrad(torch.autograd.Function):
    """Identity forward, infinite gradient backward: a finite loss with a non-finite grad."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        return x.clone()

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        return grad * float("inf")


def inject(monkeypatch: pytest.MonkeyPatch, faults: dict[int, str]) -> list[Trainer]:
    """Make ``policy_loss`` non-finite on chosen training steps (0-based).

    ``faults`` maps a step to ``"nan"`` (NaN loss), ``"inf"`` (infinite loss) or ``"grad"``
    (finite loss, infinite gradient); ``"nan+"`` at step k means NaN from step k on. Returns a
    list to put the trainer in (the wrapper reads its current step).
    """
    real = trainer_module.policy_loss
    holder: list[Trainer] = []

    def kind_at(step: int) -> str | None:
        if step in faults:
            return faults[step].rstrip("+")
        starts = [k for k, v in faults.items() if v.endswith("+") and k <= step]
        return faults[max(starts)].rstrip("+") if starts else None

    def faulty(*args: Any, **kwargs: Any) -> tuple[torch.Tensor, dict[str, float]]:
        loss, metrics = real(*args, **kwargs)
        kind = kind_at(holder[0].step)
        if kind == "nan":
            loss = loss * float("nan")
        elif kind == "inf":
            loss = loss + float("inf")
        elif kind == "grad":
            loss = _InfGrad.apply(loss)
        return loss, metrics

    monkeypatch.setattr(trainer_module, "policy_loss", faulty)
    return holder


def params_of(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in trainer.model.named_parameters()}


def same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[n], b[n]) for n in a)


def test_nonfinite_steps_are_skipped_logged_and_counted(
    tiny_model_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder = inject(monkeypatch, {1: "nan", 2: "grad", 3: "inf"})
    messages: list[str] = []
    trainer = Trainer(keyword_config(tiny_model_path, tmp_path), log=messages.append)
    holder.append(trainer)
    before = [params_of(trainer)]
    metrics = []
    for _ in range(5):
        metrics.append(trainer.train_step())
        before.append(params_of(trainer))
    skipped = [m["optim/nonfinite_skipped"] for m in metrics]
    assert skipped == [0.0, 1.0, 1.0, 1.0, 0.0]
    for step, m in enumerate(metrics):
        changed = not same(before[step], before[step + 1])
        # Every update with a signal moves the weights; the skipped ones leave them bit-exact.
        assert changed == (m["optim/nonfinite_skipped"] == 0.0), (step, m)
        assert all(v == v for v in m.values()), m  # no NaN reaches the step's metrics
    # Adam's moments were never touched by a NaN/inf gradient.
    for state in trainer.optimizer.state.values():
        assert all(torch.isfinite(v).all() for v in state.values() if torch.is_tensor(v))
    # Each skipped step said so, with the streak; a good step resets the streak.
    assert [m for m in messages if "skipped" in m] == [
        "step 2: 1 of 1 updates skipped (NaN/inf loss or gradient), 1 step(s) in a row",
        "step 3: 1 of 1 updates skipped (NaN/inf loss or gradient), 2 step(s) in a row",
        "step 4: 1 of 1 updates skipped (NaN/inf loss or gradient), 3 step(s) in a row",
    ]
    assert trainer.nonfinite_streak == 0


def test_too_many_nonfinite_steps_stop_fit_with_a_resumable_checkpoint(
    tiny_model_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    over = {"optim.max_nonfinite_steps": 1, "checkpoint.every": 1, "steps": 6}
    holder = inject(monkeypatch, {2: "nan+"})
    trainer = Trainer(keyword_config(tiny_model_path, tmp_path, **over), log=lambda s: None)
    holder.append(trainer)
    good: dict[str, torch.Tensor] = {}
    real_step = trainer.train_step

    def recording_step() -> dict[str, float]:
        out = real_step()
        if trainer.step == 2:  # the last step with a finite loss
            good.update(params_of(trainer))
        return out

    trainer.train_step = recording_step  # type: ignore[method-assign]
    with pytest.raises(NonFiniteLossError, match=r"optim\.max_nonfinite_steps = 1") as info:
        trainer.fit()
    # Steps 3 and 4 were NaN: the second in a row (more than 1) stops the run at step 4.
    assert "2 training steps in a row" in str(info.value) and "step 4" in str(info.value)
    assert trainer.step == 4 and same(params_of(trainer), good)

    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [1, 2, 3, 4]
    assert [x["optim/nonfinite_skipped"] for x in lines] == [0.0, 0.0, 1.0, 1.0]

    # The checkpoint named in the message is complete, hash-verified and holds the good weights.
    path = Path(str(info.value).split("the checkpoint ")[1].split(" resumes")[0])
    assert path == tmp_path / "checkpoints" / "step_000004"
    assert CheckpointManager(tmp_path / "checkpoints").latest_pointer() == path.name

    # Resume without the fault: training goes on from step 4 to the end.
    monkeypatch.undo()
    resumed = Trainer(
        keyword_config(tiny_model_path, tmp_path, **{**over, "checkpoint.resume": True}),
        log=lambda s: None,
    )
    assert resumed.step == 4 and resumed.nonfinite_streak == 2
    assert same(params_of(resumed), good)
    last = resumed.fit()
    assert resumed.step == 6 and resumed.nonfinite_streak == 0
    assert last["optim/nonfinite_skipped"] == 0.0
    assert not same(params_of(resumed), good)
    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == list(range(1, 7))


def test_zero_tolerance_stops_at_the_first_nonfinite_step(
    tiny_model_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder = inject(monkeypatch, {0: "inf"})
    cfg = keyword_config(tiny_model_path, tmp_path, **{"optim.max_nonfinite_steps": 0})
    trainer = Trainer(cfg, log=lambda s: None)
    holder.append(trainer)
    start = params_of(trainer)
    with pytest.raises(NonFiniteLossError, match=r"optim\.max_nonfinite_steps = 0"):
        trainer.fit()
    assert trainer.step == 1 and same(params_of(trainer), start)
    assert (tmp_path / "checkpoints" / "step_000001" / "manifest.json").is_file()


def test_a_negative_tolerance_is_rejected(tiny_model_path: Path, tmp_path: Path) -> None:
    from turngym.trainer.config import ConfigError

    cfg = keyword_config(tiny_model_path, tmp_path, **{"optim.max_nonfinite_steps": -1})
    with pytest.raises(ConfigError, match="optim.max_nonfinite_steps"):
        cfg.validate()

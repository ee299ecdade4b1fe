"""CheckpointManager: roundtrip, corruption fallback, crash leftovers, retention, resume."""

from __future__ import annotations

import logging
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from turngym.trainer.checkpoint import CheckpointError, CheckpointManager, rng_state, set_rng_state


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.q_proj = nn.Linear(4, 8)
        self.drop = nn.Dropout(0.25)
        self.out = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.drop(torch.relu(self.q_proj(x))))


def make(seed: int) -> tuple[nn.Module, torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    torch.manual_seed(seed)
    model = Tiny()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 3))
    return model, opt, sched


def train_step(model: nn.Module, opt: torch.optim.Optimizer, sched) -> None:
    # Data and dropout both draw from the global torch RNG, so the RNG state matters.
    x = torch.randn(16, 4)
    y = torch.randn(16, 2)
    loss = ((model(x) - y) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()


def params(model: nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def draws() -> tuple:
    return random.random(), np.random.rand(3).tolist(), torch.rand(3).tolist()


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_roundtrip_restores_params_optimizer_scheduler_extra_and_rng(tmp_path: Path) -> None:
    model, opt, sched = make(0)
    for _ in range(3):
        train_step(model, opt, sched)
    mgr = CheckpointManager(tmp_path / "ckpt")
    path = mgr.save(
        3, model, opt, sched, extra={"rng": rng_state(), "sampler": 17, "config": {"a": [1]}}
    )
    assert path == tmp_path / "ckpt" / "step_000003"
    assert mgr.latest_pointer() == "step_000003"
    expected_draws = draws()
    saved_params, saved_opt, saved_sched = params(model), opt.state_dict(), sched.state_dict()

    model2, opt2, sched2 = make(1)
    random.seed(99)
    np.random.seed(99)
    assert not torch.equal(params(model2)["out.weight"], saved_params["out.weight"])
    ckpt = CheckpointManager(tmp_path / "ckpt").load_latest(model2, opt2, sched2)
    assert ckpt is not None and ckpt["step"] == 3 and ckpt["path"] == path
    assert ckpt["extra"]["sampler"] == 17 and ckpt["extra"]["config"] == {"a": [1]}
    for name, value in params(model2).items():
        assert torch.equal(value, saved_params[name]), name
    for pid, state in saved_opt["state"].items():
        loaded = opt2.state_dict()["state"][pid]
        for key in ("step", "exp_avg", "exp_avg_sq"):
            assert torch.equal(loaded[key], state[key])
    assert sched2.state_dict()["last_epoch"] == saved_sched["last_epoch"] == 3
    set_rng_state(ckpt["extra"]["rng"])
    assert draws() == expected_draws


def test_resume_is_exactly_equivalent_to_an_uninterrupted_run(tmp_path: Path) -> None:
    n, m = 3, 4
    model, opt, sched = make(0)
    for _ in range(n + m):
        train_step(model, opt, sched)
    uninterrupted = params(model)

    model, opt, sched = make(0)
    for _ in range(n):
        train_step(model, opt, sched)
    CheckpointManager(tmp_path).save(n, model, opt, sched, extra={"rng": rng_state()})
    del model, opt, sched  # the "crash"

    model, opt, sched = make(123)
    torch.manual_seed(555)
    ckpt = CheckpointManager(tmp_path).load_latest(model, opt, sched)
    assert ckpt is not None
    set_rng_state(ckpt["extra"]["rng"])
    for _ in range(ckpt["step"], n + m):
        train_step(model, opt, sched)
    resumed = params(model)
    for name in uninterrupted:
        assert torch.equal(resumed[name], uninterrupted[name]), name


def _save_steps(root: Path, steps: list[int], keep: int | None = None) -> CheckpointManager:
    model, opt, sched = make(0)
    mgr = CheckpointManager(root, keep=keep)
    for s in steps:
        train_step(model, opt, sched)
        mgr.save(s, model, opt, sched, extra={"marker": s})
    return mgr


@pytest.mark.parametrize("damage", ["truncate", "flip_byte", "delete_manifest", "delete_file"])
def test_damaged_newest_checkpoint_falls_back(tmp_path: Path, damage: str, caplog) -> None:
    mgr = _save_steps(tmp_path, [1, 2])
    newest = tmp_path / "step_000002"
    target = newest / "trainable.safetensors"
    if damage == "truncate":
        with open(target, "r+b") as f:
            f.truncate(target.stat().st_size // 2)
    elif damage == "flip_byte":
        data = bytearray(target.read_bytes())
        data[-1] ^= 0xFF
        target.write_bytes(bytes(data))
    elif damage == "delete_manifest":
        (newest / "manifest.json").unlink()
    else:
        (newest / "optimizer.pt").unlink()
    model, opt, sched = make(5)
    with caplog.at_level(logging.WARNING, logger="turngym.trainer.checkpoint"):
        ckpt = mgr.load_latest(model, opt, sched)
    assert ckpt is not None and ckpt["step"] == 1 and ckpt["extra"]["marker"] == 1
    assert "step_000002" in caplog.text and "skipping" in caplog.text
    if damage in ("truncate", "delete_manifest", "delete_file"):
        assert [p.name for p in mgr.list_complete()] == ["step_000001"]


def test_crash_leftovers_are_cleaned_and_bad_latest_pointer_is_survived(
    tmp_path: Path, caplog
) -> None:
    _save_steps(tmp_path, [1, 2])
    stale = tmp_path / f"step_000003.tmp-{dead_pid()}-abcd1234"
    stale.mkdir()
    (stale / "trainable.safetensors").write_bytes(b"partial")
    stale_latest = tmp_path / f"latest.tmp-{dead_pid()}-00ff"
    stale_latest.write_text("step_000003")
    live = tmp_path / f"step_000004.tmp-{os.getppid()}-beef"  # a live process may be saving
    live.mkdir()
    (tmp_path / "latest").write_text("step_000099\n")  # points to a folder that never landed

    mgr = CheckpointManager(tmp_path)
    assert not stale.exists() and not stale_latest.exists()
    assert live.exists()
    with caplog.at_level(logging.WARNING, logger="turngym.trainer.checkpoint"):
        ckpt = mgr.load_latest(*make(7))
    assert ckpt is not None and ckpt["step"] == 2
    assert "step_000099" in caplog.text

    (tmp_path / "latest").unlink()
    ckpt = CheckpointManager(tmp_path).load_latest(*make(7))
    assert ckpt is not None and ckpt["step"] == 2


def test_a_stale_pointer_does_not_hide_a_newer_complete_checkpoint(tmp_path: Path) -> None:
    _save_steps(tmp_path, [1, 2])
    (tmp_path / "latest").write_text("step_000001\n")  # crash between rename and pointer write
    ckpt = CheckpointManager(tmp_path).load_latest(*make(7))
    assert ckpt is not None and ckpt["step"] == 2


def test_retention_keeps_the_newest_n(tmp_path: Path) -> None:
    mgr = _save_steps(tmp_path, [1, 2, 3, 4, 5], keep=2)
    assert [p.name for p in mgr.list_complete()] == ["step_000004", "step_000005"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "step_000004", "step_000005"]
    assert mgr.latest_pointer() == "step_000005"


def test_resaving_a_step_replaces_it_and_keeps_the_just_written_one(tmp_path: Path) -> None:
    mgr = _save_steps(tmp_path, [10, 20], keep=1)
    assert [p.name for p in mgr.list_complete()] == ["step_000020"]
    model, opt, sched = make(3)
    mgr.save(20, model, opt, sched, extra={"marker": "again"})
    mgr.save(5, model, opt, sched, extra={"marker": 5})  # an older step: retention spares it
    assert [p.name for p in mgr.list_complete()] == ["step_000005", "step_000020"]
    ckpt = mgr.load_latest(*make(4))
    assert ckpt is not None and ckpt["extra"]["marker"] == "again"
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


def test_no_checkpoint_gives_none(tmp_path: Path) -> None:
    assert CheckpointManager(tmp_path / "new").load_latest(*make(0)) is None


def test_lora_only_saves_adapters_and_mismatch_is_explained(tmp_path: Path) -> None:
    peft = pytest.importorskip("peft")
    torch.manual_seed(0)
    lora_model = peft.get_peft_model(Tiny(), peft.LoraConfig(r=2, target_modules=["q_proj"]))
    mgr = CheckpointManager(tmp_path)
    path = mgr.save(1, lora_model, None)
    from safetensors.torch import load_file

    names = sorted(load_file(path / "trainable.safetensors"))
    assert names and all("lora_" in n for n in names)

    full = Tiny()
    before = params(full)
    with pytest.raises(CheckpointError, match="saved with LoRA but model has none") as info:
        mgr.load_latest(full)
    assert "q_proj.weight" in str(info.value)
    assert all(torch.equal(before[n], v) for n, v in params(full).items())  # untouched


def test_tied_weights_roundtrip(tmp_path: Path) -> None:
    class TiedLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(5, 3)
            self.head = nn.Linear(3, 5, bias=False)
            self.head.weight = self.embed.weight

    model = TiedLM()
    mgr = CheckpointManager(tmp_path)
    mgr.save(1, model, None)
    other = TiedLM()
    assert mgr.load_latest(other) is not None
    assert torch.equal(other.embed.weight, model.embed.weight)
    assert other.head.weight is other.embed.weight


def test_unloadable_extra_and_frozen_model_fail_cleanly(tmp_path: Path) -> None:
    model, opt, _ = make(0)
    mgr = CheckpointManager(tmp_path)
    with pytest.raises(CheckpointError, match="weights_only"):
        mgr.save(1, model, opt, extra={"state": np.zeros(3)})
    frozen = Tiny().requires_grad_(False)
    with pytest.raises(CheckpointError, match="no trainable parameters"):
        mgr.save(2, frozen, None)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_kill_between_setting_aside_and_publishing_keeps_the_old_copy(tmp_path: Path) -> None:
    _save_steps(tmp_path, [1, 2])
    # the state a re-save of step 2 leaves when killed after moving the old copy aside
    aside = tmp_path / f"step_000002.tmp-replaced-{dead_pid()}-abcd1234"
    os.rename(tmp_path / "step_000002", aside)
    partial = tmp_path / f"step_000002.tmp-{dead_pid()}-beefbeef"
    partial.mkdir()
    mgr = CheckpointManager(tmp_path)
    assert not aside.exists() and not partial.exists()
    ckpt = mgr.load_latest(*make(7))
    assert ckpt is not None and ckpt["step"] == 2

"""Atomic checkpoints: a run that never loses work and never resumes from a half-written save.

Layout under ``root``::

    root/
      latest                      # text: name of the newest checkpoint (a hint, see below)
      step_000010/
        trainable.safetensors     # parameters with requires_grad (LoRA adapters, or all)
        optimizer.pt              # optimizer.state_dict()       (if an optimizer was given)
        scheduler.pt              # scheduler.state_dict()       (if a scheduler was given)
        extra.pt                  # {"step": 10, "extra": {...}}: RNG states, sampler position, config
        manifest.json             # written last: every file's size and sha256

A save writes into ``step_000010.tmp-<pid>-<rand>/``, fsyncs every file, writes the manifest,
renames the folder to ``step_000010/`` (atomic on POSIX), then replaces ``latest``. A crash at
any point leaves either the previous checkpoints untouched or a complete new one. Only then
are old checkpoints beyond ``keep`` removed.

What this module does NOT cover: saving the frozen base model (it is re-loaded from
``model.name``), exporting a transformers folder for inference, distributed (sharded) state.
Save from one process only (rank 0); models wrapped by DDP carry a ``module.`` prefix in their
parameter names, so save and load the same wrapping.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import random
import re
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

__all__ = ["CheckpointError", "CheckpointManager", "rng_state", "set_rng_state"]

logger = logging.getLogger(__name__)

PARAMS_FILE = "trainable.safetensors"
OPTIMIZER_FILE = "optimizer.pt"
SCHEDULER_FILE = "scheduler.pt"
EXTRA_FILE = "extra.pt"
MANIFEST_FILE = "manifest.json"
LATEST_FILE = "latest"
_STEP_DIR_RE = re.compile(r"^step_(\d+)$")
_TMP_RE = re.compile(r"^(?:step_\d+|latest)\.tmp-(?:[a-z]+-)?(\d+)-[0-9a-f]+$")


class CheckpointError(ValueError):
    """A checkpoint cannot be saved, or does not fit the model it is loaded into."""


# ---------------------------------------------------------------------------------------------
# RNG state
# ---------------------------------------------------------------------------------------------


def rng_state() -> dict[str, Any]:
    """Capture the state of every global random number generator.

    Covers Python's ``random``, NumPy's legacy global generator, torch's CPU generator and,
    when CUDA is available, every CUDA device's generator. The result holds only plain Python
    values and tensors, so it can go in a checkpoint's ``extra``.

    Returns:
        A dict for :func:`set_rng_state`.
    """
    np_state = np.random.get_state(legacy=False)
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {
            "bit_generator": np_state["bit_generator"],
            "key": [int(k) for k in np_state["state"]["key"]],
            "pos": int(np_state["state"]["pos"]),
            "has_gauss": int(np_state["has_gauss"]),
            "gauss": float(np_state["gauss"]),
        },
        "torch": torch.get_rng_state(),
        "torch_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the generators captured by :func:`rng_state`.

    CUDA states are restored only when CUDA is available; if the number of devices differs,
    the common ones are restored and a warning is logged.
    """
    py = state["python"]
    # A state that went through torch.save/load may come back with lists for tuples.
    random.setstate((py[0], tuple(py[1]), py[2]))
    npst = state["numpy"]
    np.random.set_state(
        {
            "bit_generator": npst["bit_generator"],
            "state": {"key": np.asarray(npst["key"], dtype=np.uint32), "pos": npst["pos"]},
            "has_gauss": npst["has_gauss"],
            "gauss": npst["gauss"],
        }
    )
    torch.set_rng_state(state["torch"].cpu())
    cuda_states = state.get("torch_cuda")
    if cuda_states and torch.cuda.is_available():
        count = torch.cuda.device_count()
        if count != len(cuda_states):
            logger.warning(
                "checkpoint has CUDA RNG states for %d devices, this machine has %d; "
                "restoring the first %d",
                len(cuda_states),
                count,
                min(count, len(cuda_states)),
            )
        for device, s in enumerate(cuda_states[:count]):
            torch.cuda.set_rng_state(s.cpu(), device)


# ---------------------------------------------------------------------------------------------
# Durable file helpers
# ---------------------------------------------------------------------------------------------


def _fsync_path(path: Path) -> None:
    """fsync a file or a directory (directories: best effort, not every OS allows it)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        if path.is_dir():
            return
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not path.is_dir():
            raise
    finally:
        os.close(fd)


def _write_bytes(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _torch_bytes(obj: Any, what: str) -> bytes:
    """Serialise with torch.save and check it loads back with ``weights_only=True``."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    data = buf.getvalue()
    try:
        torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(
            f"the checkpoint's {what} would not load back safely (weights_only=True): {exc}. "
            "Keep it to dicts, lists, tuples, numbers, strings, None and tensors "
            "(convert numpy arrays with .tolist() or torch.from_numpy)."
        ) from exc
    return data


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # our own leftovers: this manager is not saving while it initialises
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


# ---------------------------------------------------------------------------------------------
# The manager
# ---------------------------------------------------------------------------------------------


class CheckpointManager:
    """Saves and restores training state atomically under one folder.

    Args:
        root: The checkpoint folder (created if missing), e.g. ``<output_dir>/checkpoints``.
        keep: How many of the newest complete checkpoints to keep; ``None`` keeps all.

    On creation, leftovers of interrupted saves (``*.tmp-<pid>-*`` entries whose process is
    no longer alive) are removed.

    By convention ``extra`` carries ``{"rng": rng_state(), "sampler": ..., "config": ...}``;
    restoring the RNG is the caller's choice (``set_rng_state(ckpt["extra"]["rng"])``).
    """

    def __init__(self, root: str | Path, keep: int | None = 3) -> None:
        if keep is not None and keep < 1:
            raise ValueError(f"CheckpointManager keep must be >= 1 or None, got {keep}")
        self.root = Path(root)
        self.keep = keep
        self.root.mkdir(parents=True, exist_ok=True)
        self._clean_stale_tmp()

    # -- saving ---------------------------------------------------------------------------

    def save(
        self,
        step: int,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer | None = None,
        scheduler: Any | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Path:
        """Write a complete checkpoint for ``step`` atomically, then apply retention.

        Args:
            step: The number of optimizer steps done (names the folder ``step_{step:06d}``).
            model: Its parameters with ``requires_grad`` are saved.
            optimizer: Its ``state_dict()`` is saved when given.
            scheduler: A learning-rate scheduler; its ``state_dict()`` is saved when given.
            extra: Anything else to restore (plain containers, numbers, strings, tensors).

        Returns:
            The checkpoint folder.

        Raises:
            CheckpointError: If the model has no trainable parameter or ``extra`` would not
                load back; nothing is left on disk in that case.
        """
        if step < 0:
            raise ValueError(f"checkpoint step must be >= 0, got {step}")
        name = f"step_{step:06d}"
        tmp = self.root / f"{name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
        final = self.root / name
        aside: Path | None = None
        tmp.mkdir()
        try:
            tensors = {
                n: p.detach().to("cpu", copy=True).contiguous()  # a copy: tied weights stay apart
                for n, p in model.named_parameters()
                if p.requires_grad
            }
            if not tensors:
                raise CheckpointError("the model has no trainable parameters to checkpoint")
            save_file(tensors, tmp / PARAMS_FILE, metadata={"step": str(step)})
            _fsync_path(tmp / PARAMS_FILE)
            del tensors
            files = [PARAMS_FILE]
            if optimizer is not None:
                _write_bytes(
                    tmp / OPTIMIZER_FILE, _torch_bytes(optimizer.state_dict(), "optimizer")
                )
                files.append(OPTIMIZER_FILE)
            if scheduler is not None:
                _write_bytes(
                    tmp / SCHEDULER_FILE, _torch_bytes(scheduler.state_dict(), "scheduler")
                )
                files.append(SCHEDULER_FILE)
            payload = {"step": step, "extra": dict(extra or {})}
            _write_bytes(tmp / EXTRA_FILE, _torch_bytes(payload, "extra"))
            files.append(EXTRA_FILE)
            manifest = {
                "format": "turngym-checkpoint",
                "version": 1,
                "step": step,
                "created_unix": time.time(),
                "files": {
                    f: {"bytes": (tmp / f).stat().st_size, "sha256": _sha256(tmp / f)}
                    for f in files
                },
            }
            _write_bytes(tmp / MANIFEST_FILE, json.dumps(manifest, indent=2).encode())
            _fsync_path(tmp)
            if final.exists():  # re-saving a step after resuming from an earlier checkpoint
                aside = self.root / f"{name}.tmp-replaced-{os.getpid()}-{secrets.token_hex(4)}"
                os.rename(final, aside)
            os.rename(tmp, final)
            _fsync_path(self.root)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)
        self._write_latest(name)
        self._apply_retention(final)
        return final

    def _write_latest(self, name: str) -> None:
        tmp = self.root / f"{LATEST_FILE}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
        _write_bytes(tmp, (name + "\n").encode())
        os.replace(tmp, self.root / LATEST_FILE)
        _fsync_path(self.root)

    def _apply_retention(self, just_saved: Path) -> None:
        if self.keep is None:
            return
        complete = self.list_complete()
        for path in complete[: max(len(complete) - self.keep, 0)]:
            if path == just_saved:
                continue
            # Rename first, so a crash mid-delete leaves a stale tmp, not a broken step folder.
            doomed = self.root / f"{path.name}.tmp-deleting-{os.getpid()}-{secrets.token_hex(4)}"
            try:
                os.rename(path, doomed)
            except OSError as exc:
                logger.warning("could not remove old checkpoint %s: %s", path, exc)
                continue
            shutil.rmtree(doomed, ignore_errors=True)

    def _clean_stale_tmp(self) -> None:
        for entry in self.root.iterdir():
            match = _TMP_RE.match(entry.name)
            if match is None or _pid_alive(int(match.group(1))):
                continue
            original = self.root / entry.name.split(".tmp-", 1)[0]
            if ".tmp-replaced-" in entry.name and not original.exists():
                # Killed between moving the old copy aside and publishing the new one: the
                # old copy is complete, keep it.
                logger.info("restoring %s, set aside by an interrupted re-save", original)
                os.rename(entry, original)
                continue
            logger.info("removing leftover of an interrupted checkpoint save: %s", entry)
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)

    # -- finding --------------------------------------------------------------------------

    def _step_dirs(self) -> list[tuple[int, Path]]:
        found = []
        for entry in self.root.iterdir():
            match = _STEP_DIR_RE.match(entry.name)
            if match and entry.is_dir():
                found.append((int(match.group(1)), entry))
        return sorted(found)

    def _problem(self, path: Path, verify_hashes: bool) -> str | None:
        """Why ``path`` is not a complete checkpoint, or None if it is."""
        manifest_path = path / MANIFEST_FILE
        if not manifest_path.is_file():
            return f"no {MANIFEST_FILE} (an incomplete or damaged save)"
        try:
            files = json.loads(manifest_path.read_text())["files"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            return f"{MANIFEST_FILE} is unreadable ({exc})"
        for required in (PARAMS_FILE, EXTRA_FILE):
            if required not in files:
                return f"{MANIFEST_FILE} does not list {required}"
        for fname, meta in files.items():
            fpath = path / fname
            if not fpath.is_file():
                return f"{fname} is missing"
            size = fpath.stat().st_size
            if size != meta["bytes"]:
                return f"{fname} has {size} bytes, the manifest says {meta['bytes']}"
            if verify_hashes and _sha256(fpath) != meta["sha256"]:
                return f"{fname} does not match its sha256 in the manifest"
        return None

    def list_complete(self) -> list[Path]:
        """Checkpoint folders with a manifest whose files all exist with the listed sizes.

        Cheap (no hashing); :meth:`load_latest` also verifies the sha256 of the one it loads.

        Returns:
            Folders sorted by step, oldest first.
        """
        return [p for _, p in self._step_dirs() if self._problem(p, verify_hashes=False) is None]

    def latest_pointer(self) -> str | None:
        """The folder name the ``latest`` file names, or None if there is none."""
        try:
            return (self.root / LATEST_FILE).read_text().strip() or None
        except OSError:
            return None

    # -- loading --------------------------------------------------------------------------

    def load_latest(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer | None = None,
        scheduler: Any | None = None,
    ) -> dict[str, Any] | None:
        """Restore the newest checkpoint that verifies completely.

        Candidates are tried newest step first; one whose manifest is missing, or whose files
        are missing, truncated or fail their sha256, is skipped with a warning naming it. The
        ``latest`` pointer is a hint: if it is missing, stale or names a damaged checkpoint,
        the newest complete one is used and a warning says so.

        Args:
            model: Receives the saved trainable parameters (in place).
            optimizer: Receives the saved optimizer state, when given.
            scheduler: Receives the saved scheduler state, when given.

        Returns:
            ``{"step": int, "extra": dict, "path": Path}``, or None if no checkpoint verifies.

        Raises:
            CheckpointError: If the saved parameter names or shapes do not match the model's
                trainable parameters (e.g. LoRA on one side only). Nothing is modified then.
        """
        pointer = self.latest_pointer()
        dirs = self._step_dirs()
        if not dirs:
            if pointer is not None:
                logger.warning("'latest' names %s, but %s holds no checkpoint", pointer, self.root)
            return None
        names = {p.name for _, p in dirs}
        if pointer is None:
            logger.warning(
                "no 'latest' pointer in %s; using the newest complete checkpoint", self.root
            )
        elif pointer not in names:
            logger.warning("'latest' names %s, which does not exist; falling back", pointer)
        for _, path in reversed(dirs):
            problem = self._problem(path, verify_hashes=True)
            if problem is not None:
                logger.warning("skipping checkpoint %s: %s", path, problem)
                continue
            if pointer is not None and pointer in names and pointer != path.name:
                logger.warning(
                    "'latest' names %s; loading the newest complete one, %s", pointer, path.name
                )
            return self._load(path, model, optimizer, scheduler)
        logger.warning("no complete checkpoint in %s; starting from scratch", self.root)
        return None

    def _load(
        self,
        path: Path,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer | None,
        scheduler: Any | None,
    ) -> dict[str, Any]:
        saved = load_file(path / PARAMS_FILE, device="cpu")
        trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
        _check_names(saved, trainable, path)
        optimizer_state = scheduler_state = None
        if optimizer is not None:
            if (path / OPTIMIZER_FILE).is_file():
                optimizer_state = torch.load(
                    path / OPTIMIZER_FILE, map_location="cpu", weights_only=True
                )
            else:
                logger.warning(
                    "checkpoint %s has no optimizer state; the optimizer starts fresh", path
                )
        if scheduler is not None:
            if (path / SCHEDULER_FILE).is_file():
                scheduler_state = torch.load(
                    path / SCHEDULER_FILE, map_location="cpu", weights_only=True
                )
            else:
                logger.warning(
                    "checkpoint %s has no scheduler state; the scheduler starts fresh", path
                )
        payload = torch.load(path / EXTRA_FILE, map_location="cpu", weights_only=True)
        with torch.no_grad():
            for n, p in trainable.items():
                p.copy_(saved[n])
        if optimizer_state is not None:
            optimizer.load_state_dict(optimizer_state)  # type: ignore[union-attr]
        if scheduler_state is not None:
            scheduler.load_state_dict(scheduler_state)
        logger.info("resumed from %s (step %d)", path, payload["step"])
        return {"step": int(payload["step"]), "extra": payload["extra"], "path": path}


def _check_names(
    saved: dict[str, torch.Tensor], trainable: dict[str, torch.nn.Parameter], path: Path
) -> None:
    missing = sorted(set(trainable) - set(saved))
    unexpected = sorted(set(saved) - set(trainable))
    shapes = sorted(
        f"{n}: saved {tuple(saved[n].shape)}, model {tuple(trainable[n].shape)}"
        for n in set(saved) & set(trainable)
        if saved[n].shape != trainable[n].shape
    )
    if not (missing or unexpected or shapes):
        return

    def some(names: list[str]) -> str:
        return ", ".join(names[:8]) + (f", ... ({len(names)} in all)" if len(names) > 8 else "")

    saved_lora = any("lora_" in n for n in saved)
    model_lora = any("lora_" in n for n in trainable)
    lines = [f"checkpoint {path} does not fit the model's trainable parameters"]
    if saved_lora and not model_lora:
        lines.append("checkpoint was saved with LoRA but model has none (enable lora.enabled)")
    elif model_lora and not saved_lora:
        lines.append(
            "model has LoRA adapters but checkpoint was saved without LoRA (full fine-tuning)"
        )
    if missing:
        lines.append(f"trainable in the model, absent from the checkpoint: {some(missing)}")
    if unexpected:
        lines.append(f"in the checkpoint, not trainable in the model: {some(unexpected)}")
    if shapes:
        lines.append(f"shape mismatches: {some(shapes)}")
    raise CheckpointError("\n  ".join(lines))

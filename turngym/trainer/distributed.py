"""Data-parallel training: several processes share one step's B x G episodes.

Launch ``turngym train`` under ``accelerate launch`` (or ``torchrun``) and every process runs
the same :class:`~turngym.trainer.trainer.Trainer`. Accelerate's ``PartialState`` sets up the
process group (gloo on CPU, NCCL on GPUs) and picks each process's device; this module then
gives the trainer the few collectives it needs. The design:

- Tasks come from ``(seed, step)``, so every rank knows the step's global task list and plays
  its own contiguous share (:meth:`Distributed.shard`). A group of G episodes lives on one
  rank, so group-relative advantages (GRPO, RLOO, GiGPO, GAE) are computed locally; the
  batch-wide REINFORCE++ statistics are computed from the gathered rewards of all ranks.
- The loss of every micro-batch is divided by the *global* normalizers (sampled tokens,
  sequences, value targets of all ranks), and the gradients are then summed over ranks
  (:meth:`Distributed.sum_gradients`), not averaged. The sum of local losses with global
  normalizers is the single-process loss of the whole batch, so 2 processes x half a batch
  take exactly the optimizer step that 1 process takes on the full batch (up to float
  summation order).
- Every rank applies the same clipped, summed gradient with the same optimizer, so the
  replicas stay identical without broadcasting weights after each step.

This is what DDP does, written as one explicit all-reduce after gradient accumulation: the
number of micro-batches may differ between ranks (episodes differ in length and in how many
carry signal), which DDP's per-backward synchronisation does not allow without dummy passes.

What it does NOT cover: sharded training (FSDP, DeepSpeed ZeRO). Generation needs the full
weights on every rank and the optimizer step is the trainer's own; the trainer refuses those
launch modes with a clear error (see ``docs/distributed.md``). Evaluation is not split: every
rank plays the same evaluation episodes (no speed-up, no waiting on rank 0 either).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

import torch

__all__ = ["Distributed", "DistributedError", "launched_world_size"]

T = TypeVar("T")

# Gradients are all-reduced in flat buckets of about this size (fewer, larger messages).
_BUCKET_BYTES = 64 * 2**20


class DistributedError(RuntimeError):
    """A launch mode or setting that data-parallel training does not support."""


def launched_world_size() -> int:
    """Processes in this launch: ``WORLD_SIZE`` as set by accelerate/torchrun, else 1."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_world_size()
    raw = os.environ.get("WORLD_SIZE", "1")
    try:
        return int(raw)
    except ValueError:
        raise DistributedError(
            f"WORLD_SIZE={raw!r} is not an integer; launch with accelerate launch or torchrun"
        ) from None


class Distributed:
    """This process's place in a data-parallel run, and the collectives the trainer uses.

    With one process every method is the identity and nothing distributed is imported, so a
    plain ``turngym train`` behaves exactly as without this module.

    Attributes:
        rank: This process's index, 0 .. world_size - 1.
        world_size: Number of processes.
        device: The device accelerate assigned to this process (``None`` with one process:
            the trainer's ``model.device`` setting decides).
    """

    def __init__(
        self, rank: int = 0, world_size: int = 1, device: torch.device | None = None
    ) -> None:
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} / world_size {world_size}: need 0 <= rank < world")
        self.rank = rank
        self.world_size = world_size
        self.device = device

    @property
    def _comm_device(self) -> torch.device:
        # NCCL only moves CUDA tensors; gloo only CPU ones.
        if self.device is not None and torch.distributed.get_backend() == "nccl":
            return self.device
        return torch.device("cpu")

    @classmethod
    def from_environment(cls, *, cpu: bool = False) -> Distributed:
        """Join the launch this process belongs to (one process if it was not launched so).

        Args:
            cpu: Force CPU processes (gloo) even where CUDA is available.

        Raises:
            DistributedError: Under an FSDP or DeepSpeed launch (not supported).
        """
        if launched_world_size() <= 1:
            return cls()
        for flag, name in (
            ("ACCELERATE_USE_FSDP", "FSDP"),
            ("ACCELERATE_USE_DEEPSPEED", "DeepSpeed"),
        ):
            if os.environ.get(flag, "false").lower() == "true":
                raise DistributedError(
                    f"accelerate launched this run with {name}: the turngym trainer supports "
                    "data parallelism (distributed_type: MULTI_GPU or MULTI_CPU) only, because "
                    "every rank generates with the full weights. Use "
                    "examples/accelerate/multi_gpu.yaml; see docs/distributed.md"
                )
        from accelerate import PartialState

        # Without CUDA, accelerate treats a launch as distributed only when told it is on CPU.
        cpu = cpu or os.environ.get("ACCELERATE_USE_CPU") == "true"
        state = PartialState(cpu=cpu or not torch.cuda.is_available())
        return cls(state.process_index, state.num_processes, state.device)

    # ---- who does what ------------------------------------------------------------------

    @property
    def enabled(self) -> bool:
        """Whether there is more than one process."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that writes checkpoints, metrics, samples and logs."""
        return self.rank == 0

    def shard(self, items: Sequence[T]) -> tuple[int, list[T]]:
        """This rank's contiguous share of ``items`` and the global index of its first one.

        Shares differ by at most one item; rank order is item order, so concatenating the
        shares of ranks 0, 1, ... gives ``items`` back.
        """
        n = len(items)
        base, extra = divmod(n, self.world_size)
        start = self.rank * base + min(self.rank, extra)
        stop = start + base + (1 if self.rank < extra else 0)
        return start, list(items[start:stop])

    # ---- collectives --------------------------------------------------------------------

    def all_reduce(self, values: Sequence[float], op: str = "sum") -> list[float]:
        """Element-wise ``sum``, ``max`` or ``min`` of a list of numbers over all ranks."""
        if not self.enabled:
            return [float(v) for v in values]
        ops = {
            "sum": torch.distributed.ReduceOp.SUM,
            "max": torch.distributed.ReduceOp.MAX,
            "min": torch.distributed.ReduceOp.MIN,
        }
        if op not in ops:
            raise ValueError(f"unknown reduction {op!r}; use sum, max or min")
        # float64: token counts and loss sums stay exact well past float32's 2**24.
        t = torch.tensor(list(values), dtype=torch.float64, device=self._comm_device)
        torch.distributed.all_reduce(t, op=ops[op])
        return t.tolist()

    def gather(self, obj: T) -> list[T]:
        """Every rank's ``obj`` (picklable), in rank order, on every rank."""
        if not self.enabled:
            return [obj]
        out: list[Any] = [None] * self.world_size
        torch.distributed.all_gather_object(out, obj)
        return out

    def broadcast(self, obj: T) -> T:
        """Rank 0's ``obj`` (picklable), on every rank."""
        if not self.enabled:
            return obj
        box = [obj if self.is_main else None]
        torch.distributed.broadcast_object_list(box, src=0)
        return box[0]  # type: ignore[return-value]

    def barrier(self) -> None:
        """Wait until every rank gets here."""
        if self.enabled:
            torch.distributed.barrier()

    def broadcast_parameters(self, params: Iterable[torch.Tensor]) -> None:
        """Copy rank 0's values into every rank's tensors (identical replicas at the start)."""
        if not self.enabled:
            return
        with torch.no_grad():
            for p in params:
                buf = p.data.to(self._comm_device)
                torch.distributed.broadcast(buf, src=0)
                if buf is not p.data:
                    p.data.copy_(buf)

    def sum_gradients(self, params: Iterable[torch.nn.Parameter]) -> None:
        """Replace each parameter's gradient by its sum over ranks.

        A parameter that got no gradient on some ranks counts as zero there; one that got no
        gradient on any rank keeps ``grad = None``, as in a single process (AdamW skips it).
        """
        if not self.enabled:
            return
        params = list(params)
        if not params:
            return
        has_grad = self.all_reduce([float(p.grad is not None) for p in params], op="max")
        live = [p for p, flag in zip(params, has_grad, strict=True) if flag > 0]
        for p in live:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        for bucket in _buckets(live):
            flat = torch.cat([p.grad.reshape(-1) for p in bucket]).to(self._comm_device)
            torch.distributed.all_reduce(flat, op=torch.distributed.ReduceOp.SUM)
            offset = 0
            for p in bucket:
                n = p.grad.numel()
                p.grad.copy_(flat[offset : offset + n].view_as(p.grad))
                offset += n

    def reduce_metrics(
        self, metrics: dict[str, float], weight: float, *, summed: Iterable[str] = ()
    ) -> dict[str, float]:
        """Combine per-rank metrics into the metrics of the whole step.

        Rules, by key: names in ``summed`` and counters (``rollout/episodes``, ``*_dropped``,
        ...) add up; ``*/max`` and ``*_s`` timings take the maximum; ``*/min`` the minimum;
        ``X/std`` next to ``X/mean`` is pooled; everything else is a mean weighted by each
        rank's ``weight`` (its episode count). A key missing on a rank is left out of that
        rank's share, except ``stop/<reason>`` shares, which are 0 there. Weighted means of
        means are exact for plain averages over episodes.
        """
        if not self.enabled:
            return dict(metrics)
        parts = self.gather((dict(metrics), float(weight)))
        summed = set(summed)
        keys: list[str] = []
        for m, _ in parts:
            keys.extend(k for k in m if k not in keys)
        out: dict[str, float] = {}
        for key in keys:
            # A stop reason no episode of a rank had is a share of 0 there, not a gap.
            default = 0.0 if key.startswith("stop/") else None
            present = [
                (m.get(key, default), w) for m, w in parts if key in m or default is not None
            ]
            values = [v for v, _ in present]
            if key in summed or _is_counter(key):
                out[key] = float(sum(values))
            elif key.endswith("/max") or key.endswith("_s"):
                out[key] = float(max(values))
            elif key.endswith("/min"):
                out[key] = float(min(values))
            else:
                total = sum(w for _, w in present)
                if total <= 0:
                    out[key] = float(sum(values) / len(values))
                else:
                    out[key] = float(sum(v * w for v, w in present) / total)
        for key in keys:  # pooled std: E[x^2] - E[x]^2 over the union of the ranks' samples
            mean_key = key[: -len("std")] + "mean"
            if key.endswith("/std") and mean_key in out:
                present = [(m[key], m[mean_key], w) for m, w in parts if key in m and mean_key in m]
                total = sum(w for _, _, w in present)
                if total > 0:
                    second = sum((s * s + mu * mu) * w for s, mu, w in present) / total
                    out[key] = float(max(second - out[mean_key] ** 2, 0.0) ** 0.5)
        return out


_COUNTERS = (
    "rollout/episodes",
    "rollout/failed",
    "rollout/retried",
    "rollout/groups_kept",
    "rollout/groups_dropped",
    "data/void_dropped",
    "data/zero_variance_groups",
    "perf/train_sequences",
    "perf/sampled_tokens_per_s",
)


def _is_counter(key: str) -> bool:
    return key in _COUNTERS


def _buckets(params: list[torch.nn.Parameter]) -> list[list[torch.nn.Parameter]]:
    """Group parameters by (dtype, device) into buckets of about ``_BUCKET_BYTES``."""
    by_kind: dict[tuple[torch.dtype, torch.device], list[torch.nn.Parameter]] = {}
    for p in params:
        by_kind.setdefault((p.grad.dtype, p.grad.device), []).append(p)
    out: list[list[torch.nn.Parameter]] = []
    for group in by_kind.values():
        bucket: list[torch.nn.Parameter] = []
        size = 0
        for p in group:
            bucket.append(p)
            size += p.grad.numel() * p.grad.element_size()
            if size >= _BUCKET_BYTES:
                out.append(bucket)
                bucket, size = [], 0
        if bucket:
            out.append(bucket)
    return out

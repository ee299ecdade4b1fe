"""Context policies on the same long-horizon tasks: full history vs sliding window vs summaries.

Usage (quick smoke run, tiny random model, CPU, well under a minute on an idle machine)::

    python benchmarks/context_policies.py --tiny --tasks 2 --group-size 2 --num-records 4

A real comparison (the default model; use a GPU for anything larger)::

    python benchmarks/context_policies.py --model smollm2-135m-instruct --tasks 8 \\
        --group-size 4 --num-records 12 --max-context 1024 --max-new-tokens 48

For each policy it plays the same ``turngym/LongCount-v0`` tasks with the same seeds, then runs
one training-like pass (forward, masked logprob sum, backward) over every segment, and prints:
success rate, stop reasons, segments and summaries per episode, peak working context, tokens
saved against the full history, time of the rollout and of the training pass, peak Python
memory of the rollout (tracemalloc) and peak memory of the training pass (CUDA allocator on a
GPU; peak RSS growth on CPU, read from /proc after resetting the high-water mark).

A tiny random model never sums the ledger, so its success rate is 0 for every policy: the tiny
run checks that the machinery works and shows the cost side only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from turngym.agents.backend import SamplingParams
from turngym.agents.chat import ChatRenderer
from turngym.agents.context import ContextConfig, context_metrics
from turngym.agents.hf import HFBackend, pick_device
from turngym.agents.models import DEFAULT_MODEL, resolve_model
from turngym.agents.rollout import GroupSpec, RolloutRunner
from turngym.core.trajectory import Trajectory
from turngym.envs.long_horizon import LongCountEnv
from turngym.trainer.losses import sequence_logprobs


class CappedBackend:
    """The backend with a smaller context window than the model's (what the policies manage)."""

    def __init__(self, inner: HFBackend, max_context: int):
        self.inner = inner
        self.max_context = max_context

    def generate(self, prompts: Any, params: SamplingParams, max_new_tokens: Any = None) -> Any:
        return self.inner.generate(prompts, params, max_new_tokens)


def _rss_kib(field: str) -> int | None:
    with contextlib.suppress(OSError), open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux)
        return True
    except OSError:
        return False


def training_pass(model: Any, trajectories: list[Trajectory], device: torch.device) -> dict:
    """Forward + backward of the masked logprob sum over every segment, one at a time."""
    model.zero_grad(set_to_none=True)
    on_cuda = device.type == "cuda"
    if on_cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    base_rss = _rss_kib("VmRSS") if _reset_peak_rss() else None
    t0 = time.perf_counter()
    tokens = 0
    for t in trajectories:
        for seg in t.segments:
            ids = torch.tensor([seg.token_ids], device=device)
            mask = torch.tensor([seg.loss_mask], device=device, dtype=torch.float32)
            lp = sequence_logprobs(model(input_ids=ids).logits, ids)
            (-(lp * mask).sum()).backward()
            tokens += len(seg)
    if on_cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    if on_cuda:
        peak_mib = torch.cuda.max_memory_allocated() / 2**20
    elif base_rss is not None:
        peak_mib = ((_rss_kib("VmHWM") or base_rss) - base_rss) / 1024
    else:
        peak_mib = float("nan")
    model.zero_grad(set_to_none=True)
    return {"train_s": seconds, "train_tokens": tokens, "train_peak_mib": peak_mib}


def run_policy(args: argparse.Namespace, name: str, context: ContextConfig, model, tok, device):
    runner = RolloutRunner(
        lambda: LongCountEnv(num_records=args.num_records, filler_lines=args.filler_lines),
        CappedBackend(HFBackend(model, pad_token_id=tok.pad_token_id), args.max_context),
        ChatRenderer(tok),
        sampling=SamplingParams(max_new_tokens=args.max_new_tokens, temperature=1.0, seed=0),
        max_episode_tokens=args.max_episode_tokens,
        failure_policy="min_group",
        context=context,
    )
    groups = [
        GroupSpec({"task_index": i, "split": "test"}, seed=1000 + i) for i in range(args.tasks)
    ]
    tracemalloc.start()
    t0 = time.perf_counter()
    with torch.no_grad():
        result = runner.run_groups(groups, args.group_size)
    rollout_s = time.perf_counter() - t0
    _, rollout_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    trajs = result.all_trajectories
    ok = [t for t in trajs if not t.failed]
    stops = Counter(t.stop_reason.value for t in trajs)
    out: dict[str, Any] = {
        "policy": name,
        "episodes": len(trajs),
        "success_rate": sum(bool(t.info.get("success")) for t in ok) / max(len(ok), 1),
        "stops": dict(stops),
        "turns_mean": sum(t.num_turns for t in ok) / max(len(ok), 1),
        "sampled_tokens": sum(t.num_sampled_tokens for t in ok),
        "rollout_s": rollout_s,
        "rollout_py_peak_mib": rollout_peak / 2**20,
        **{k.split("/")[1]: v for k, v in context_metrics(ok).items()},
    }
    model.train()
    out.update(training_pass(model, ok, device))
    model.eval()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", default=DEFAULT_MODEL, help="built-in name or model folder")
    ap.add_argument("--tiny", action="store_true", help="a tiny random model (smoke run)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--tasks", type=int, default=4)
    ap.add_argument("--group-size", type=int, default=2)
    ap.add_argument("--num-records", type=int, default=8)
    ap.add_argument("--filler-lines", type=int, default=8)
    ap.add_argument("--max-context", type=int, default=512)
    ap.add_argument("--max-new-tokens", type=int, default=16)
    ap.add_argument("--max-episode-tokens", type=int, default=50_000)
    ap.add_argument("--window-turns", type=int, default=2)
    ap.add_argument("--max-summary-rounds", type=int, default=8)
    ap.add_argument("--trigger-fraction", type=float, default=0.5)
    ap.add_argument("--json", type=Path, help="also write the rows here")
    args = ap.parse_args()

    device = pick_device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        if args.tiny:
            from turngym.agents.tiny import make_tiny_model

            path = make_tiny_model(
                Path(tmp) / "tiny", tokenizer_from=str(resolve_model(args.model))
            )
        else:
            path = resolve_model(args.model)
        tok = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).to(device).eval()
    policies = {
        "full": ContextConfig(),
        "sliding_window": ContextConfig("sliding_window", window_turns=args.window_turns),
        "summarize": ContextConfig(
            "summarize",
            max_summary_rounds=args.max_summary_rounds,
            summary_trigger_fraction=args.trigger_fraction,
        ),
    }
    rows = [run_policy(args, name, cfg, model, tok, device) for name, cfg in policies.items()]
    print(
        f"model={'tiny' if args.tiny else args.model} device={device} tasks={args.tasks}x"
        f"{args.group_size} records={args.num_records} filler={args.filler_lines} "
        f"max_context={args.max_context} max_new_tokens={args.max_new_tokens}"
    )
    header = (
        f"{'policy':<15}{'success':>8}{'turns':>7}{'segs':>6}{'summ':>6}{'peak_ctx':>9}"
        f"{'saved':>7}{'roll_s':>8}{'train_s':>8}{'roll_MiB':>9}{'train_MiB':>10}  stops"
    )
    print(header)
    for r in rows:
        print(
            f"{r['policy']:<15}{r['success_rate']:>8.2f}{r['turns_mean']:>7.1f}"
            f"{r.get('segments_mean', 0):>6.1f}{r.get('summary_rounds_mean', 0):>6.1f}"
            f"{r.get('peak_tokens_mean', 0):>9.0f}{r.get('tokens_saved_mean', 0):>7.0f}"
            f"{r['rollout_s']:>8.2f}{r['train_s']:>8.2f}{r['rollout_py_peak_mib']:>9.1f}"
            f"{r['train_peak_mib']:>10.1f}  {r['stops']}"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()

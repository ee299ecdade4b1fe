"""Context policies on the same long-horizon tasks: full history vs sliding window vs summaries.

Usage (quick smoke run, tiny random model, CPU, well under a minute on an idle machine)::

    python benchmarks/context_policies.py --tiny --tasks 2 --group-size 2 --num-records 4

The comparison with the default model (SmolLM2-135M-Instruct) on a task it can solve with full
history (recall record 1; see docs/long_horizon.md for the numbers; one policy per process
keeps each run short on a CPU, ``--merge`` prints the table of all of them)::

    for p in full sliding_window summarize; do
      python benchmarks/context_policies.py --model smollm2-135m-instruct --small-model-task \\
          --tasks 48 --group-size 1 --temperature 0 --max-context 384 --policies $p \\
          --threads 1 --train-episodes 16 --json /tmp/ctx_$p.json
    done
    python benchmarks/context_policies.py --merge /tmp/ctx_*.json

For each policy it plays the same ``turngym/LongCount-v0`` tasks with the same seeds, then runs
one training-like pass (forward, masked logprob sum, backward) over every segment (of the first
``--train-episodes`` episodes), and prints: success rate, stop reasons, segments and summaries
per episode, peak working context, tokens saved against the full history, time of the rollout
and of the training pass, peak memory of the rollout (peak RSS growth, read from /proc after
trimming the heap and resetting the high-water mark; tracemalloc's Python-only peak is in the
JSON) and of the training pass (CUDA allocator on a GPU; peak RSS growth on CPU).

Success is reported as ``k/n`` with its standard error; for ``summarize`` it also counts the
summaries that still hold the correct answer (for ``--question first`` a summary without
record 1's value cannot lead to a right answer). A tiny random model never succeeds, so the
tiny run checks that the machinery works and shows the cost side only.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import math
import re
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
from turngym.envs.long_horizon import QUESTIONS, LongCountEnv, answer
from turngym.trainer.losses import sequence_logprobs

_INTEGER = re.compile(r"-?\d+")


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
    # Freed heap memory stays in the process (glibc keeps it), so without a trim the high-water
    # mark would start at whatever the previous phase left behind and hide this phase's peak.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux)
        return True
    except OSError:
        return False


def training_pass(model: Any, trajectories: list[Trajectory], device: torch.device) -> dict:
    """Forward + backward of the masked logprob sum over every segment, one at a time.

    Peak memory: the CUDA allocator's on a GPU; on CPU the growth of the peak RSS over the RSS
    at the start (after trimming the heap), i.e. activations, gradients and their workspace.
    """
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
    return {
        "train_s": seconds,
        "train_episodes": len(trajectories),
        "train_s_per_episode": seconds / max(len(trajectories), 1),
        "train_tokens": tokens,
        "train_peak_mib": peak_mib,
    }


def make_env(args: argparse.Namespace) -> LongCountEnv:
    return LongCountEnv(
        num_records=args.num_records,
        filler_lines=args.filler_lines,
        max_value=args.max_value,
        question=args.question,
        answer_format=args.answer_format,
        ask_for_notes=args.ask_for_notes,
    )


def summaries_with_answer(
    trajectories: list[Trajectory], env: LongCountEnv, examples: list[str]
) -> tuple[int, int]:
    """(summaries that contain the correct answer as an integer, all summaries); the first few
    summary texts are appended to ``examples``."""
    kept = total = 0
    for t in trajectories:
        values = env.get_task(int(t.metadata["task_index"]), "test")["values"]
        target = answer(values, env.question)
        for i in t.metadata.get("summary_message_indices", ()):
            m = t.messages[i]
            if m.role != "assistant":
                continue  # the request
            total += 1
            kept += target in {int(x) for x in _INTEGER.findall(m.text)}
            if len(examples) < 6:
                examples.append(f"[answer {target}] {m.text}")
    return kept, total


def run_policy(args: argparse.Namespace, name: str, context: ContextConfig, model, tok, device):
    runner = RolloutRunner(
        lambda: make_env(args),
        CappedBackend(HFBackend(model, pad_token_id=tok.pad_token_id), args.max_context),
        ChatRenderer(tok),
        sampling=SamplingParams(
            max_new_tokens=args.max_new_tokens, temperature=args.temperature, seed=args.seed
        ),
        max_episode_tokens=args.max_episode_tokens,
        failure_policy="min_group",
        context=context,
    )
    groups = [
        GroupSpec({"task_index": i, "split": "test"}, seed=1000 + i, metadata={"task_index": i})
        for i in range(args.tasks)
    ]
    base_rss = _rss_kib("VmRSS") if _reset_peak_rss() else None
    tracemalloc.start()
    t0 = time.perf_counter()
    with torch.no_grad():
        result = runner.run_groups(groups, args.group_size)
    rollout_s = time.perf_counter() - t0
    _, rollout_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rollout_rss = (
        ((_rss_kib("VmHWM") or base_rss) - base_rss) / 1024 if base_rss is not None else math.nan
    )
    trajs = result.all_trajectories
    ok = [t for t in trajs if not t.failed]
    stops = Counter(t.stop_reason.value for t in trajs)
    successes = sum(bool(t.info.get("success")) for t in trajs)
    rate = successes / max(len(trajs), 1)
    examples: list[str] = []
    kept, summaries = summaries_with_answer(ok, make_env(args), examples)
    out: dict[str, Any] = {
        "policy": name,
        "episodes": len(trajs),
        "successes": successes,
        "success_rate": rate,
        "success_se": math.sqrt(rate * (1 - rate) / max(len(trajs), 1)),
        "summaries_with_answer": kept,
        "summaries": summaries,
        "summary_examples": examples,
        "episode_tokens_mean": sum(t.metadata.get("episode_tokens", 0) for t in ok)
        / max(len(ok), 1),
        "stops": dict(stops),
        "turns_mean": sum(t.num_turns for t in ok) / max(len(ok), 1),
        "sampled_tokens": sum(t.num_sampled_tokens for t in ok),
        "rollout_s": rollout_s,
        "rollout_py_peak_mib": rollout_peak / 2**20,
        "rollout_peak_rss_mib": rollout_rss,
        **{k.split("/")[1]: v for k, v in context_metrics(ok).items()},
    }
    model.train()
    train_on = ok if args.train_episodes is None else ok[: args.train_episodes]
    out.update(training_pass(model, train_on, device))
    model.eval()
    return out


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table (what docs/long_horizon.md shows)."""
    lines = [
        "| policy | success | stops | summaries/ep (with answer) | peak ctx | tokens saved "
        "| rollout s | training pass s/episode | rollout peak MiB | training peak MiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        stops = ", ".join(f"{k} {v}" for k, v in sorted(r["stops"].items()))
        summ = f"{r.get('summary_rounds_mean', 0):.1f}"
        if r.get("summaries"):
            summ += f" ({r['summaries_with_answer']}/{r['summaries']})"
        lines.append(
            f"| {r['policy']} | {r['successes']}/{r['episodes']} = {r['success_rate']:.2f} "
            f"± {r['success_se']:.2f} | {stops} | {summ} | {r.get('peak_tokens_mean', 0):.0f} "
            f"| {r.get('tokens_saved_mean', 0):.0f} | {r['rollout_s']:.0f} "
            f"| {r.get('train_s_per_episode', r['train_s'] / max(r['episodes'], 1)):.1f} | {r.get('rollout_peak_rss_mib', math.nan):.0f} "
            f"| {r['train_peak_mib']:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", default=DEFAULT_MODEL, help="built-in name or model folder")
    ap.add_argument("--tiny", action="store_true", help="a tiny random model (smoke run)")
    ap.add_argument("--device", default="auto")
    ap.add_argument(
        "--threads", type=int, help="torch CPU threads (1 avoids oversubscribing a busy CPU)"
    )
    ap.add_argument("--tasks", type=int, default=4)
    ap.add_argument("--group-size", type=int, default=2)
    ap.add_argument("--num-records", type=int, default=8)
    ap.add_argument("--filler-lines", type=int, default=8)
    ap.add_argument("--max-value", type=int, default=20)
    ap.add_argument("--question", choices=QUESTIONS, default="sum")
    ap.add_argument("--answer-format", choices=("boxed", "first_line_number"), default="boxed")
    ap.add_argument("--ask-for-notes", action="store_true")
    ap.add_argument(
        "--small-model-task",
        action="store_true",
        help="the setting SmolLM2-135M can solve with full history: --question first "
        "--answer-format first_line_number --ask-for-notes --num-records 4 --filler-lines 2 "
        "--max-new-tokens 24 (explicit flags still win)",
    )
    ap.add_argument("--max-context", type=int, default=512)
    ap.add_argument("--max-new-tokens", type=int, default=16)
    ap.add_argument("--temperature", type=float, default=1.0, help="0: greedy")
    ap.add_argument("--seed", type=int, default=0, help="sampling seed")
    ap.add_argument(
        "--policies",
        default="full,sliding_window,summarize",
        help="comma-separated subset of full,sliding_window,summarize",
    )
    ap.add_argument("--summary-max-new-tokens", type=int, default=None)
    ap.add_argument(
        "--summary-request", help="the message asking for a summary (default: ContextConfig's)"
    )
    ap.add_argument(
        "--train-episodes",
        type=int,
        help="run the training pass on the first N finished episodes only (time per episode "
        "is reported; keeps a CPU run short)",
    )
    ap.add_argument("--max-episode-tokens", type=int, default=50_000)
    ap.add_argument("--window-turns", type=int, default=2)
    ap.add_argument("--max-summary-rounds", type=int, default=8)
    ap.add_argument("--trigger-fraction", type=float, default=0.5)
    ap.add_argument("--json", type=Path, help="also write the rows here")
    ap.add_argument("--merge", type=Path, nargs="+", help="print the table of these --json files")
    args = ap.parse_args()
    if args.small_model_task:  # defaults only: flags given explicitly still win
        ap.set_defaults(
            question="first",
            answer_format="first_line_number",
            ask_for_notes=True,
            num_records=4,
            filler_lines=2,
            max_new_tokens=24,
        )
        args = ap.parse_args()
    if args.merge:
        rows = [r for f in args.merge for r in json.loads(f.read_text())]
        print(markdown_table(rows))
        return
    wanted = [p.strip() for p in args.policies.split(",") if p.strip()]
    unknown = set(wanted) - {"full", "sliding_window", "summarize"}
    if unknown or not wanted:
        ap.error(f"--policies takes full, sliding_window, summarize; got {args.policies!r}")

    if args.threads:
        torch.set_num_threads(args.threads)
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
            summary_max_new_tokens=args.summary_max_new_tokens,
            **({"summary_request": args.summary_request} if args.summary_request else {}),
        ),
    }
    rows = [run_policy(args, name, policies[name], model, tok, device) for name in wanted]
    print(
        f"model={'tiny' if args.tiny else args.model} device={device} tasks={args.tasks}x"
        f"{args.group_size} records={args.num_records} filler={args.filler_lines} "
        f"question={args.question} answer_format={args.answer_format} "
        f"notes={args.ask_for_notes} max_value={args.max_value} temperature={args.temperature} "
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
            f"{r['rollout_s']:>8.2f}{r['train_s']:>8.2f}{r['rollout_peak_rss_mib']:>9.1f}"
            f"{r['train_peak_mib']:>10.1f}  {r['stops']}"
        )
    print()
    print(markdown_table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()

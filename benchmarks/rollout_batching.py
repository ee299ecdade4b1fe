"""Rollout throughput: all active episodes of a turn in one batch vs one episode at a time.

Usage:
    python benchmarks/rollout_batching.py [--model smollm2-135m-instruct] [--episodes 8]

Prints sampled tokens per second for both ways on the same tasks and seeds, and the ratio.
The baseline (one episode at a time) is measured in the same run.
"""

from __future__ import annotations

import argparse
import time

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

import turngym
from turngym.agents.backend import SamplingParams
from turngym.agents.chat import ChatRenderer
from turngym.agents.hf import HFBackend
from turngym.agents.models import resolve_model
from turngym.agents.rollout import GroupSpec, RolloutRunner


def run(runner: RolloutRunner, episodes: int, batched: bool) -> tuple[float, int]:
    groups = [GroupSpec({"task_index": i, "split": "test"}, seed=i) for i in range(episodes)]
    t0 = time.perf_counter()
    if batched:
        trajs = runner.run_groups(groups, 1).all_trajectories
    else:
        trajs = [t for g in groups for t in runner.run_groups([g], 1).all_trajectories]
    return time.perf_counter() - t0, sum(t.num_sampled_tokens for t in trajs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--env", default="turngym/CodeInterpreter-v0")
    ap.add_argument("--episodes", type=int, default=8)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    args = ap.parse_args()

    torch.set_num_threads(torch.get_num_threads())
    path = resolve_model(args.model)
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    runner = RolloutRunner(
        lambda: turngym.make(args.env, max_turns=2),
        HFBackend(model, pad_token_id=tok.pad_token_id),
        ChatRenderer(tok),
        sampling=SamplingParams(max_new_tokens=args.max_new_tokens, temperature=1.0, seed=0),
    )
    seq_s, seq_tok = run(runner, args.episodes, batched=False)
    bat_s, bat_tok = run(runner, args.episodes, batched=True)
    print(
        f"model={args.model} env={args.env} episodes={args.episodes} threads={torch.get_num_threads()}"
    )
    print(f"one at a time : {seq_tok:5d} tokens in {seq_s:6.1f} s = {seq_tok / seq_s:6.1f} tok/s")
    print(f"batched turns : {bat_tok:5d} tokens in {bat_s:6.1f} s = {bat_tok / bat_s:6.1f} tok/s")
    print(f"speed-up (tok/s): {(bat_tok / bat_s) / (seq_tok / seq_s):.2f}x")


if __name__ == "__main__":
    main()

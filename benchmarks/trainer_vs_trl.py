"""One GRPO training step: turngym's ``Trainer`` vs TRL's ``GRPOTrainer``, same workload.

Usage:
    python benchmarks/trainer_vs_trl.py [--steps 4] [--model smollm2-135m-instruct] [--lr 1e-6]

Both sides are measured in the same run, on the same machine, one after the other:

- the default model (SmolLM2-135M-Instruct, from the local cache), fp32, CPU;
- one single-turn prompt per step, "Reply with the word 'yes'.", as a chat (user) message,
  8 generations, at most 64 new tokens, temperature 1.0, no top-k / top-p;
- reward 1.0 when the reply contains "yes" (turngym: ``turngym/Keyword-v0`` with
  ``keyword="yes"``; TRL: a reward function doing the same);
- beta / KL coefficient 0, one optimizer step per batch (AdamW, constant learning rate,
  gradient clipping at 1.0), one forward/backward micro-batch of 8 sequences.

The first step on each side is a warm-up and is discarded; ``--steps`` more are timed
(turngym: around ``Trainer.train_step()``; TRL: ``on_step_begin`` to ``on_step_end`` of a
``TrainerCallback``, which spans generation, scoring, the loss and the optimizer step).
Sampling differs between the two, so replies differ in length: sampled tokens per step and
sampled tokens per second of step time are printed too. TRL is optional: without it, the
script says so and exits with status 2.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import statistics
import sys
import tempfile
import time
from typing import Any

import torch

from turngym.agents.models import resolve_model

PROMPT = "Reply with the word 'yes'."
KEYWORD = "yes"
GENERATIONS = 8
MAX_NEW_TOKENS = 64


def bench_turngym(model: str, lr: float, steps: int, seed: int) -> list[tuple[float, float]]:
    """(seconds, sampled tokens) for each timed step of turngym's trainer."""
    from turngym.trainer import TrainConfig
    from turngym.trainer.trainer import Trainer

    out = tempfile.mkdtemp(prefix="bench_turngym_")
    cfg = TrainConfig.from_dict(
        {
            "model": {"name": model, "dtype": "float32", "device": "cpu"},
            "env": {"id": "turngym/Keyword-v0", "kwargs": {"keyword": KEYWORD}},
            "rollout": {
                "tasks_per_step": 1,
                "group_size": GENERATIONS,
                "max_new_tokens": MAX_NEW_TOKENS,
                "temperature": 1.0,
                "top_p": 1.0,
                "top_k": 0,
            },
            "algo": {"kl_coef": 0.0},
            "optim": {"lr": lr, "micro_batch_size": GENERATIONS, "grad_clip": 1.0},
            "steps": steps + 1,
            "seed": seed,
            "output_dir": out,
            "progress": False,
            "plot": False,
            "checkpoint": {"every": 0, "resume": False, "save_final_model": False},
        }
    )
    trainer = Trainer(cfg, log=lambda s: None)
    results: list[tuple[float, float]] = []
    for i in range(steps + 1):
        t0 = time.perf_counter()
        metrics = trainer.train_step()
        elapsed = time.perf_counter() - t0
        tokens = metrics["perf/sampled_tokens_per_s"] * metrics["perf/rollout_s"]
        print(
            f"  turngym step {i}{' (warm-up)' if i == 0 else ''}: {elapsed:.2f} s, "
            f"{tokens:.0f} sampled tokens, reward {metrics.get('reward/mean', 0.0):.3f}",
            flush=True,
        )
        if i > 0:
            results.append((elapsed, tokens))
    del trainer
    gc.collect()
    return results


def bench_trl(model: str, lr: float, steps: int, seed: int) -> list[tuple[float, float]]:
    """(seconds, sampled tokens) for each timed step of TRL's GRPOTrainer."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, PrinterCallback, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    def keyword_reward(completions: list[Any], **kwargs: Any) -> list[float]:
        texts = [c[-1]["content"] if isinstance(c, list) else str(c) for c in completions]
        return [1.0 if KEYWORD in t.lower() else 0.0 for t in texts]

    class StepTimer(TrainerCallback):
        def __init__(self) -> None:
            self.t0 = 0.0
            self.times: list[float] = []
            self.tokens: list[float] = []

        def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.t0 = time.perf_counter()

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.times.append(time.perf_counter() - self.t0)

        def on_log(
            self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any
        ) -> None:
            if logs and "completions/mean_length" in logs:
                self.tokens.append(float(logs["completions/mean_length"]) * GENERATIONS)
                i = len(self.tokens) - 1
                t = self.times[i] if i < len(self.times) else float("nan")
                print(
                    f"  TRL step {i}{' (warm-up)' if i == 0 else ''}: {t:.2f} s, "
                    f"{self.tokens[-1]:.0f} sampled tokens, reward {logs.get('reward', 0.0):.3f}",
                    flush=True,
                )

    tokenizer = AutoTokenizer.from_pretrained(model)
    policy = AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32)
    rows = [{"prompt": [{"role": "user", "content": PROMPT}]}] * (steps + 1)
    args = GRPOConfig(
        output_dir=tempfile.mkdtemp(prefix="bench_trl_"),
        per_device_train_batch_size=GENERATIONS,
        gradient_accumulation_steps=1,
        num_generations=GENERATIONS,
        max_completion_length=MAX_NEW_TOKENS,
        temperature=1.0,
        top_p=1.0,
        top_k=0,
        beta=0.0,
        learning_rate=lr,
        lr_scheduler_type="constant",
        weight_decay=0.0,
        max_grad_norm=1.0,
        logging_steps=1,
        report_to=[],
        use_cpu=True,
        bf16=False,
        fp16=False,
        max_steps=steps + 1,
        save_strategy="no",
        seed=seed,
        disable_tqdm=True,
    )
    timer = StepTimer()
    trainer = GRPOTrainer(
        model=policy,
        reward_funcs=keyword_reward,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        callbacks=[timer],
    )
    trainer.remove_callback(PrinterCallback)  # its raw log dicts would drown the step lines
    trainer.train()
    results = list(zip(timer.times[1:], timer.tokens[1:], strict=False))
    del trainer, policy
    gc.collect()
    return results


def summarize(name: str, results: list[tuple[float, float]]) -> dict[str, float]:
    times = [t for t, _ in results]
    tokens = [n for _, n in results]
    s = {
        "median": statistics.median(times),
        "mean": statistics.fmean(times),
        "tokens": statistics.fmean(tokens),
        "tok_per_s": sum(tokens) / sum(times),
    }
    print(
        f"{name:<8} median {s['median']:6.2f} s/step | mean {s['mean']:6.2f} s/step | "
        f"{s['tokens']:6.1f} sampled tokens/step | {s['tok_per_s']:6.1f} sampled tokens/s"
    )
    return s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--steps", type=int, default=4, help="timed steps per side (after 1 warm-up)")
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--lr", type=float, default=1e-6)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    if importlib.util.find_spec("trl") is None or importlib.util.find_spec("datasets") is None:
        print(
            "TRL is not installed, so there is nothing to compare against. Install it without "
            "touching torch: pip install trl --no-deps && pip install datasets",
            file=sys.stderr,
        )
        sys.exit(2)
    import trl

    model = str(resolve_model(args.model))
    print(
        f"model {model}, torch {torch.__version__}, trl {trl.__version__}, "
        f"{torch.get_num_threads()} threads, 1 prompt x {GENERATIONS} generations x "
        f"<= {MAX_NEW_TOKENS} tokens, lr {args.lr}, 1 warm-up + {args.steps} timed steps",
        flush=True,
    )
    ours_raw = bench_turngym(model, args.lr, args.steps, args.seed)
    theirs_raw = bench_trl(model, args.lr, args.steps, args.seed)
    print("--- timed steps only (warm-up discarded) ---")
    ours = summarize("turngym", ours_raw)
    theirs = summarize("TRL", theirs_raw)
    print(
        f"turngym / TRL: median step time {ours['median'] / theirs['median']:.2f}x, "
        f"mean step time {ours['mean'] / theirs['mean']:.2f}x, "
        f"sampled tokens per second {ours['tok_per_s'] / theirs['tok_per_s']:.2f}x "
        "(time < 1 and tokens/s > 1 mean turngym is faster)"
    )


if __name__ == "__main__":
    main()

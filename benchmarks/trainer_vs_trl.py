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

The two sides run interleaved in one process (a TRL step, then a turngym step, from a TRL
callback), so a change in the machine's load hits both alike. The first step on each side is a
warm-up and is discarded; ``--steps`` more are timed (turngym: around ``Trainer.train_step()``;
TRL: ``on_step_begin`` to ``on_step_end`` of a ``TrainerCallback``, which spans generation,
scoring, the loss and the optimizer step). Each step is also broken down into generation
(turngym: the rollout; TRL: ``_generate_and_score_completions``), the loss forward (turngym:
``_micro_batch_loss``; TRL: ``_get_per_token_logps_and_entropies``), and the rest (backward,
clipping, optimizer step, bookkeeping); for turngym also the padding fraction of the tensor the
loss forward ran on.
Sampling differs between the two, so replies differ in length: sampled tokens per step and
sampled tokens per second of step time are printed too. TRL is optional: without it, the
script says so and exits with status 2.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from turngym.agents.models import resolve_model

PROMPT = "Reply with the word 'yes'."
KEYWORD = "yes"
GENERATIONS = 8
MAX_NEW_TOKENS = 64


@dataclass
class StepTiming:
    """Where one timed step's seconds went."""

    total: float
    generation: float = 0.0
    forward: float = 0.0
    padding_fraction: float = float("nan")
    tokens: float = 0.0
    reward: float = float("nan")

    @property
    def rest(self) -> float:
        """Backward, clipping, optimizer step and bookkeeping."""
        return self.total - self.generation - self.forward


def _timed(obj: Any, name: str, sink: dict[str, float]) -> None:
    """Wrap the bound method ``obj.name`` so that its wall time adds up in ``sink[name]``."""
    inner = getattr(obj, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            sink[name] = sink.get(name, 0.0) + time.perf_counter() - t0

    setattr(obj, name, wrapper)


def make_turngym(model: str, lr: float, steps: int, seed: int) -> Any:
    """turngym's ``Trainer`` on the benchmark's workload."""
    from turngym.trainer import TrainConfig
    from turngym.trainer.trainer import Trainer

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
            "output_dir": tempfile.mkdtemp(prefix="bench_turngym_"),
            "progress": False,
            "plot": False,
            "checkpoint": {"every": 0, "resume": False, "save_final_model": False},
        }
    )
    return Trainer(cfg, log=lambda s: None)


def turngym_step(trainer: Any, name: str = "turngym", index: int = 0) -> StepTiming:
    """One ``train_step`` of ``trainer``, timed and broken down."""
    sink: dict[str, float] = {}
    _timed(trainer, "_micro_batch_loss", sink)
    try:
        t0 = time.perf_counter()
        metrics = trainer.train_step()
        elapsed = time.perf_counter() - t0
    finally:
        del trainer._micro_batch_loss  # back to the class's method
    timing = StepTiming(
        total=elapsed,
        generation=metrics["perf/rollout_s"],
        forward=sink.get("_micro_batch_loss", 0.0),
        padding_fraction=metrics.get("perf/padding_fraction", float("nan")),
        tokens=metrics["perf/sampled_tokens_per_s"] * metrics["perf/rollout_s"],
        reward=metrics.get("reward/mean", 0.0),
    )
    _print_step(name, index, timing)
    return timing


def _print_step(name: str, index: int, t: StepTiming) -> None:
    print(
        f"  {name} step {index}{' (warm-up)' if index == 0 else ''}: {t.total:.2f} s "
        f"(generation {t.generation:.2f}, loss forward {t.forward:.2f}, rest {t.rest:.2f}), "
        f"{t.tokens:.0f} sampled tokens, reward {t.reward:.3f}, "
        f"padding {t.padding_fraction:.2f}",
        flush=True,
    )


def bench_interleaved(
    model: str,
    lr: float,
    steps: int,
    seed: int,
    others: dict[str, Callable[[int], StepTiming]],
) -> tuple[list[StepTiming], dict[str, list[StepTiming]]]:
    """Run TRL's GRPOTrainer; after each of its steps, one step of each of ``others``.

    Returns:
        TRL's timed steps and, per name in ``others``, its timed steps (warm-ups dropped).
    """
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, PrinterCallback, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    def keyword_reward(completions: list[Any], **kwargs: Any) -> list[float]:
        texts = [c[-1]["content"] if isinstance(c, list) else str(c) for c in completions]
        return [1.0 if KEYWORD in t.lower() else 0.0 for t in texts]

    sink: dict[str, float] = {}
    trl_steps: list[StepTiming] = []
    other_steps: dict[str, list[StepTiming]] = {name: [] for name in others}

    class Interleave(TrainerCallback):
        def __init__(self) -> None:
            self.t0 = 0.0
            self.index = 0

        def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            sink.clear()
            self.t0 = time.perf_counter()

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            trl_steps.append(
                StepTiming(
                    total=time.perf_counter() - self.t0,
                    generation=sink.get("_generate_and_score_completions", 0.0),
                    forward=sink.get("_get_per_token_logps_and_entropies", 0.0),
                )
            )

        def on_log(
            self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any
        ) -> None:
            if not logs or "completions/mean_length" not in logs or not trl_steps:
                return
            t = trl_steps[-1]
            t.tokens = float(logs["completions/mean_length"]) * GENERATIONS
            t.reward = float(logs.get("reward", 0.0))
            _print_step("TRL", self.index, t)
            for name, step in others.items():  # interleave: one step of each other side
                other_steps[name].append(step(self.index))
            self.index += 1

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
    trainer = GRPOTrainer(
        model=policy,
        reward_funcs=keyword_reward,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        callbacks=[Interleave()],
    )
    trainer.remove_callback(PrinterCallback)  # its raw log dicts would drown the step lines
    _timed(trainer, "_generate_and_score_completions", sink)
    _timed(trainer, "_get_per_token_logps_and_entropies", sink)
    trainer.train()
    del trainer, policy
    gc.collect()
    return trl_steps[1:], {name: steps_[1:] for name, steps_ in other_steps.items()}


def summarize(name: str, results: list[StepTiming]) -> dict[str, float]:
    """Median step time and its parts, mean tokens, tokens per second; printed and returned."""
    med = statistics.median
    s = {
        "median": med(t.total for t in results),
        "mean": statistics.fmean(t.total for t in results),
        "generation": med(t.generation for t in results),
        "forward": med(t.forward for t in results),
        "rest": med(t.rest for t in results),
        "padding": med(
            [t.padding_fraction for t in results if not math.isnan(t.padding_fraction)]
            or [float("nan")]
        ),
        "tokens": statistics.fmean(t.tokens for t in results),
        "tok_per_s": sum(t.tokens for t in results) / sum(t.total for t in results),
    }
    print(
        f"{name:<8} median {s['median']:6.2f} s/step (generation {s['generation']:.2f}, loss "
        f"forward {s['forward']:.2f}, rest {s['rest']:.2f}; padding {s['padding']:.2f}) | mean "
        f"{s['mean']:6.2f} s/step | {s['tokens']:6.1f} sampled tokens/step | "
        f"{s['tok_per_s']:6.1f} sampled tokens/s"
    )
    return s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--steps", type=int, default=4, help="timed steps per side (after 1 warm-up)")
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--lr", type=float, default=1e-6)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch threads for both sides (0: torch's default); 1 is steadier on a loaded machine",
    )
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)

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
    print(f"load average at start: {os.getloadavg()}", flush=True)
    ours = make_turngym(model, args.lr, args.steps, args.seed)
    theirs_raw, others = bench_interleaved(
        model, args.lr, args.steps, args.seed, {"turngym": lambda i: turngym_step(ours, index=i)}
    )
    print(f"load average at end: {os.getloadavg()}")
    print("--- timed steps only (warm-up discarded) ---")
    mine = summarize("turngym", others["turngym"])
    theirs = summarize("TRL", theirs_raw)
    print(
        f"turngym / TRL: median step time {mine['median'] / theirs['median']:.2f}x, "
        f"mean step time {mine['mean'] / theirs['mean']:.2f}x, "
        f"sampled tokens per second {mine['tok_per_s'] / theirs['tok_per_s']:.2f}x "
        "(time < 1 and tokens/s > 1 mean turngym is faster)"
    )


if __name__ == "__main__":
    main()

"""``turngym``: the command line.

turngym envs                                  list registered envs
turngym train CONFIG.yaml [--set k=v ...]     train with GRPO
turngym eval CONFIG.yaml [--set k=v ...]      mean reward and success rate, no training
turngym play ENV_ID [--kwargs JSON]           type the agent's turns yourself
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

END_OF_TURN = "."


class UsageError(ValueError):
    """A command-line argument is wrong; reported without a traceback."""


def _load_config(path: str, overrides: Sequence[str]):  # noqa: ANN202 - lazy import of torch-side types
    from turngym.trainer.config import TrainConfig

    return TrainConfig.from_yaml(path, overrides=list(overrides))


def cmd_envs(args: argparse.Namespace) -> int:
    import turngym

    ids = turngym.registered_ids()
    width = max((len(i) for i in ids), default=0)
    for env_id in ids:
        print(f"{env_id:<{width}}  {turngym.describe(env_id)}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from turngym.trainer.trainer import Trainer

    cfg = _load_config(args.config, args.set)
    if cfg.model.backend != "hf":
        raise UsageError(
            f"model.backend = {cfg.model.backend!r} only samples; training needs the weights "
            "here: use model.backend=hf for `turngym train` (an OpenAI-compatible server works "
            "with `turngym eval`)"
        )
    trainer = Trainer(cfg)
    last = trainer.fit()
    if not trainer.dist.is_main:  # under accelerate launch, rank 0 reports
        return 0
    print(f"done: {trainer.step} steps, output in {cfg.output_dir}")
    if last:
        keys = [k for k in ("reward/mean", "eval/reward_mean", "eval/success_rate") if k in last]
        print("  " + ", ".join(f"{k}={last[k]:.3f}" for k in keys))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from turngym.trainer.trainer import Trainer

    cfg = _load_config(args.config, args.set)
    cfg = replace(
        cfg,
        lora=replace(cfg.lora, enabled=False),
        checkpoint=replace(cfg.checkpoint, resume=False),
        algo=replace(cfg.algo, kl_coef=0.0),
    )
    trainer = Trainer(cfg)
    result = trainer.evaluate(num_tasks=args.num_tasks, split=args.split)
    model = (
        cfg.model.name
        if cfg.model.backend == "hf"
        else f"{cfg.openai.model} @ {cfg.openai.base_url}"
    )
    result = {"model": model, "env": cfg.env.id, **result}
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{cfg.env.id} [{args.split or cfg.eval.split}] with {model}: "
            f"reward_mean={result['reward_mean']:.3f} success_rate={result['success_rate']:.3f} "
            f"over {int(result['episodes'])} episodes ({int(result['failed'])} failed)"
        )
    return 0


def _read_turns(stream: TextIO, interactive: bool) -> Iterator[str]:
    """Yield one action per turn: lines up to a line holding only '.', or EOF."""
    lines: list[str] = []
    while True:
        if interactive:
            print("> " if not lines else ". ", end="", flush=True)
        line = stream.readline()
        if not line:
            if lines:
                yield "\n".join(lines)
            return
        line = line.rstrip("\n")
        if line == END_OF_TURN:
            yield "\n".join(lines)
            lines = []
        elif line == "/quit" and not lines:
            return
        else:
            lines.append(line)


def cmd_play(args: argparse.Namespace) -> int:
    import turngym

    try:
        kwargs = json.loads(args.kwargs) if args.kwargs else {}
    except json.JSONDecodeError as exc:
        raise UsageError(f"--kwargs is not valid JSON ({exc}); e.g. '{{\"levels\": [1]}}'") from exc
    if not isinstance(kwargs, dict):
        raise UsageError("--kwargs must be a JSON object, e.g. '{\"levels\": [1]}'")
    if args.max_turns is not None and args.max_turns <= 0:
        raise UsageError(f"--max-turns must be positive, got {args.max_turns}")
    if turngym.multi_agent_api(args.env_id) is not None:
        return _play_multi_agent(args, kwargs)
    try:
        env = turngym.make(args.env_id, max_turns=args.max_turns, **kwargs)
    except TypeError as exc:
        raise UsageError(f"{args.env_id} does not accept --kwargs {kwargs}: {exc}") from exc
    try:
        _play(env, args)
    finally:
        env.close()
    return 0


def _play_multi_agent(args: argparse.Namespace, kwargs: dict) -> int:
    """Hot seat: every player's turns come from stdin, in the game's order."""
    import turngym
    from turngym.envs.multiagent.play import play_multi_agent

    if args.max_turns is not None:
        raise UsageError(
            f"{args.env_id} is a multi-agent env: it takes its cap as a --kwargs entry, "
            "not --max-turns"
        )
    try:
        env = turngym.make(args.env_id, **kwargs)
    except TypeError as exc:
        raise UsageError(f"{args.env_id} does not accept --kwargs {kwargs}: {exc}") from exc
    try:
        totals = play_multi_agent(env, sys.stdin, seed=args.seed)
    finally:
        env.close()
    print("totals: " + ", ".join(f"{a}={r:+.3f}" for a, r in totals.items()))
    return 0


def _play(env, args: argparse.Namespace) -> None:  # noqa: ANN001 - any turngym text env
    options = {"split": args.split}
    if args.task_index is not None:
        options["task_index"] = args.task_index
    try:
        obs, info = env.reset(seed=args.seed, options=options)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    print(f"== {args.env_id} | task {info.get('task_id', '')} ==")
    if info.get("tools"):
        print("tools: " + ", ".join(t["function"]["name"] for t in info["tools"]))
    _print_messages(obs, args.image_dir)
    print(
        f"(type the assistant's turn; end it with a line holding only '{END_OF_TURN}'; /quit to stop)"
    )
    total = 0.0
    for action in _read_turns(sys.stdin, sys.stdin.isatty()):
        obs, reward, terminated, truncated, info = env.step(action)
        total += float(reward)
        _print_messages(obs, args.image_dir)
        print(f"-- reward {reward:+.3f} (total {total:+.3f})")
        if terminated or truncated:
            shown = {k: v for k, v in info.items() if k != "tools"}
            print(
                f"== episode over: {info.get('stop_reason')} | return {total:+.3f} | info {shown}"
            )
            break


def cmd_view(args: argparse.Namespace) -> int:
    from pathlib import Path

    path = Path(args.run_dir) / "rollouts.jsonl"
    if not path.exists():
        raise FileNotFoundError(
            f"{path} does not exist: point at a run's output_dir (sample logging is "
            "config key log_samples)"
        )
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if args.step is not None:
        records = [r for r in records if r["step"] == args.step]
    for r in records[-args.last :]:
        print(
            f"== step {r['step']} | task {_task_label(r)} | reward {r['reward']:+.3f} | "
            f"{r['stop_reason']} | {r['sampled_tokens']}/{r['tokens']} tokens sampled"
            + (f" | {r['segments']} segments" if r["segments"] > 1 else "")
        )
        if r.get("error"):
            print(f"   error: {r['error']}")
        for m in r["messages"]:
            print(f"[{m['role']}{'/' + m['name'] if m.get('name') else ''}] {m['text']}")
        print()
    return 0


def _print_messages(messages: Sequence, image_dir: str | None = None) -> None:
    for m in messages:
        print(f"[{m.role}{'/' + m.name if m.name else ''}]")
        if isinstance(m.content, str):
            print(m.content)
            continue
        # a terminal cannot show pixels: images are saved for an image viewer, named in place
        print(
            "".join(
                part.text
                if hasattr(part, "text")
                else f"[image saved to {_save_image(part.image, image_dir)}]"
                for part in m.content
            )
        )


@functools.lru_cache(maxsize=1)
def _default_image_dir() -> str:
    """One temp folder per process, made only when an image is first shown."""
    import tempfile

    return tempfile.mkdtemp(prefix="turngym-play-")


def _save_image(image: object, image_dir: str | None) -> str:
    """Write an observation image (PIL image, HxWxC array or path) as PNG; return its path."""
    import os

    if isinstance(image, str):
        return image
    from PIL import Image

    folder = image_dir or _default_image_dir()
    os.makedirs(folder, exist_ok=True)
    count = len([f for f in os.listdir(folder) if f.endswith(".png")])
    path = os.path.join(folder, f"image_{count:03d}.png")
    pil = image if isinstance(image, Image.Image) else Image.fromarray(image)  # type: ignore[arg-type]
    pil.save(path)
    return path


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    p = argparse.ArgumentParser(
        prog="turngym", description="RL for multi-turn tool-using LLM agents"
    )
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("envs", help="list registered envs")
    s.set_defaults(func=cmd_envs)

    for name, func, helptext in (
        ("train", cmd_train, "train a policy with GRPO"),
        ("eval", cmd_eval, "evaluate a model on an env without training"),
    ):
        s = sub.add_parser(name, help=helptext)
        s.add_argument("config", help="YAML config (see examples/quickstart.yaml)")
        s.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="override a config key, e.g. --set optim.lr=1e-5 (repeatable)",
        )
        s.set_defaults(func=func)
        if name == "eval":
            s.add_argument("--num-tasks", type=int, default=None, help="held-out tasks to play")
            s.add_argument("--split", default=None, help="task split (default: eval.split)")
            s.add_argument("--json", action="store_true", help="print the result as JSON")

    s = sub.add_parser("play", help="play an env yourself, typing the agent's turns")
    s.add_argument("env_id")
    s.add_argument("--kwargs", default=None, help="env constructor arguments as JSON")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--task-index", type=int, default=None)
    s.add_argument("--split", default="train")
    s.add_argument("--max-turns", type=int, default=None)
    s.add_argument(
        "--image-dir",
        default=None,
        help="where observation images are saved as PNG (default: a new temp folder)",
    )
    s.set_defaults(func=cmd_play)

    s = sub.add_parser("view", help="read sampled episodes of a training run")
    s.add_argument("run_dir", help="the run's output_dir")
    s.add_argument("--step", type=int, default=None, help="only this step")
    s.add_argument("--last", type=int, default=4, help="how many episodes (default 4)")
    s.set_defaults(func=cmd_view)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``turngym`` command."""
    args = build_parser().parse_args(argv)
    from turngym.core.registry import EnvEntryPointError, UnknownEnvError

    known: tuple[type[BaseException], ...] = (
        UnknownEnvError,
        EnvEntryPointError,
        FileNotFoundError,
        UsageError,
    )
    try:  # the trainer's errors, when its dependencies are installed
        from turngym.trainer.checkpoint import CheckpointError
        from turngym.trainer.config import ConfigError

        known = (*known, ConfigError, CheckpointError)
    except ImportError:
        pass
    try:
        return int(args.func(args) or 0)
    except known as exc:
        print(f"turngym {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())


def _task_label(record: dict[str, Any]) -> str:
    """The env's task id when the episode got one, else the task's index in its split."""
    task_id = record.get("task_id")
    return str(task_id if task_id is not None else record.get("task_index"))

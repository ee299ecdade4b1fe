"""Play a multi-agent game yourself, typing every player's turns (hot seat).

``python -m turngym.envs.multiagent.play turngym/TicTacToe-v0 --seed 0``: for each turn the
acting player's new messages are printed, then its action is read from stdin: lines up to a
line holding only ``.`` (or the end of input). ``/quit`` on its own line stops. Parallel games
ask every player whose move is pending, in order. ``turngym play`` handles single-agent envs;
this is its multi-agent counterpart.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

from turngym.core.messages import Message

__all__ = ["main", "play_multi_agent"]

END_OF_TURN = "."


def _turns(stream: TextIO) -> Iterator[str]:
    lines: list[str] = []
    for raw in stream:
        line = raw.rstrip("\n")
        if line == END_OF_TURN:
            yield "\n".join(lines)
            lines = []
        elif line == "/quit" and not lines:
            return
        else:
            lines.append(line)
    if lines:
        yield "\n".join(lines)


def _show(agent: str, role: str, messages: Sequence[Message], out: TextIO) -> None:
    print(f"--- {agent} ({role}) ---", file=out)
    for m in messages:
        print(f"[{m.role}] {m.text}", file=out)


def play_multi_agent(
    env: Any,
    stream: TextIO,
    out: TextIO = sys.stdout,
    *,
    seed: int | None = None,
    options: dict[str, Any] | None = None,
) -> dict[str, float]:
    """Play one game of a turngym PettingZoo env from ``stream``; return each agent's total.

    Stops early (returning the totals so far) when the input ends or says ``/quit``.
    """
    from turngym.envs.multiagent.base import SimultaneousTextGameEnv

    totals = dict.fromkeys(env.possible_agents, 0.0)
    turns = _turns(stream)
    if isinstance(env, SimultaneousTextGameEnv):
        observations, infos = env.reset(seed=seed, options=options)
        while env.agents:
            actions = {}
            for agent in [a for a in env.agents if infos[a]["awaiting_move"]]:
                _show(agent, infos[agent]["role"], observations[agent], out)
                action = next(turns, None)
                if action is None:
                    return totals
                actions[agent] = action
            observations, rewards, _, _, infos = env.step(actions)
            for agent, value in rewards.items():
                totals[agent] += value
        for agent, messages in observations.items():
            _show(agent, infos[agent]["role"], messages, out)
    else:
        env.reset(seed=seed, options=options)
        for agent in env.agent_iter():
            observation, reward, terminated, truncated, info = env.last()
            totals[agent] += reward
            if terminated or truncated:
                _show(agent, info["role"], observation, out)
                env.step(None)
                continue
            _show(agent, info["role"], observation, out)
            action = next(turns, None)
            if action is None:
                return totals
            env.step(action)
    print(f"=== game over | rewards {totals}", file=out)
    return totals


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    import turngym

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("env_id", help="a multi-agent id, e.g. turngym/TicTacToe-v0")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--kwargs", default="", help="constructor arguments as JSON")
    args = parser.parse_args(argv)
    kwargs = json.loads(args.kwargs) if args.kwargs else {}
    if not isinstance(kwargs, dict):
        parser.error("--kwargs must be a JSON object, e.g. '{\"max_retries\": 0}'")
    if turngym.core.registry.multi_agent_api(args.env_id) is None:
        parser.error(f"{args.env_id} is single-agent: use `turngym play {args.env_id}`")
    env = turngym.make(args.env_id, **kwargs)
    try:
        play_multi_agent(env, sys.stdin, seed=args.seed)
    finally:
        env.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Register your own env, check it, and play a scripted episode: ``python examples/custom_env.py``.

To train on it, point a config at the id (see README, "Train on it"): the env must be
importable where the trainer runs, e.g. from your installed package.
"""

from __future__ import annotations

import turngym
from turngym import Message
from turngym.envs.base import StepOutcome, Task, TextEnv

WORDS = ("alpha", "beta", "gamma")


class EchoEnv(TextEnv):
    """Say the requested word; a wrong reply gets one more chance per remaining turn."""

    def num_tasks(self, split: str = "train") -> int:
        return len(WORDS)

    def get_task(self, index: int, split: str = "train") -> Task:
        return {"id": f"{split}-{index}", "word": WORDS[index % len(WORDS)]}

    def initial_messages(self, task: Task) -> list[Message]:
        return [
            Message("system", "Follow the instruction."),
            Message("user", f"Say {task['word']}."),
        ]

    def on_action(self, action: str) -> StepOutcome:
        assert self.task is not None
        hit = self.task["word"] in action.lower()
        feedback = [] if hit else [Message("user", "That was not the word. Try again.")]
        return StepOutcome(messages=feedback, reward=float(hit), done=hit, info={"success": hit})

    def probe_actions(self) -> list[str]:
        return ["alpha beta gamma", "nothing"]


def main() -> None:
    turngym.register(id="examples/Echo-v0", entry_point=EchoEnv, max_turns=3)
    env = turngym.make("examples/Echo-v0")
    turngym.check_env(env)
    obs, info = env.reset(seed=0, options={"task_index": 1})
    print("task:", obs[-1].text)
    for action in ("hello", "beta!"):
        obs, reward, terminated, truncated, info = env.step(action)
        print(
            f"{action!r} -> reward {reward}, terminated={terminated}, {info['stop_reason'] if terminated else obs[0].text}"
        )
        if terminated or truncated:
            break


if __name__ == "__main__":
    main()

r"""``turngym/CodeInterpreter-v0``: math problems solved by writing Python that the env runs.

Each episode is one math task (generated, see :mod:`turngym.envs.math_tasks`, or from a JSONL
file). The first observation is a system prompt and the question. Each assistant turn is
handled in this order:

1. **A final answer** (``\boxed{...}`` or ``<answer>...</answer>``, outside code) is scored
   and ends the episode: reward 1.0 when correct, plus ``format_reward`` when the answer is a
   well-formed number or expression. Code in the same message is NOT run: the final answer
   wins.
2. **Tool calls** (```` ```python ```` blocks, or ``<tool_call>`` with ``tool_format="hermes"``)
   are all run, in order, in a sandboxed :class:`~turngym.tools.PythonInterpreter` that keeps
   state across the episode; each gives a ``tool`` message named ``python``. At most
   ``max_calls_per_turn`` run per turn.
3. **Malformed calls** (an unclosed fence, bad JSON) get a ``user`` message explaining the
   problem; the episode goes on.
4. **Anything else** is a void turn: a ``user`` message nudges the model.

Errors in the model's code (exceptions, timeouts, memory bombs, output floods) are tool
output, never exceptions of the env. ``info`` counts them; it holds no timings, so seeded
episodes give equal infos.

Code runs in bubblewrap (:class:`~turngym.tools.sandbox.BwrapSandbox`) when its binary is
installed, else in the ``local`` runner, which is NOT a security boundary (see
:class:`~turngym.tools.sandbox.LocalSandbox`). With ``python_state="auto"`` an episode keeps
one persistent interpreter session (notebook semantics: a failed cell's partial state stays).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from turngym.core.messages import Message, ToolCall
from turngym.envs.base import StepOutcome, Task, TextEnv
from turngym.envs.math_answers import answers_match, extract_answer, is_well_formed_answer
from turngym.envs.math_tasks import MathTaskGenerator, TaskSet, TaskSource
from turngym.tools.base import ToolArgumentError
from turngym.tools.formats import ParseResult, get_format
from turngym.tools.python import PythonInterpreter
from turngym.tools.sandbox import find_bwrap, make_sandbox
from turngym.tools.tool_turns import run_tool_calls

__all__ = ["CodeInterpreterEnv"]

_ANSWER_RULES = (
    "When you know the answer, write it as \\boxed{ANSWER}, for example \\boxed{42}. "
    "A message with a \\boxed{} answer ends the episode, and code in that message is not run, "
    "so run your code first and give the answer in a later message."
)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:/\d+)?")
_NUDGE = {
    "python": (
        "No code or final answer found. Write Python in a ```python block to run it, or give "
        "your final answer as \\boxed{ANSWER}."
    ),
    "hermes": (
        "No tool call or final answer found. Call the python tool inside <tool_call></tool_call> "
        "tags to run code, or give your final answer as \\boxed{ANSWER}."
    ),
}


class CodeInterpreterEnv(TextEnv):
    r"""Math problems solved by writing Python that the env runs; answer in \boxed{}.

    See the module docstring for how a turn is handled.

    ``info`` of every step holds ``turns``, ``tool_calls`` (well-formed calls, run or
    rejected), ``tool_errors`` (calls that did not run ``ok``: exceptions, timeouts, unknown
    tools, bad arguments), ``parse_errors`` (malformed calls) and ``void_turns``; the last step
    adds ``answer``, ``correct`` and ``success``. ``info["tools"]`` of ``reset`` holds the
    python tool's schema for ``tool_format="hermes"``, and is empty for ``"python"`` (code
    blocks are not function calls; the system prompt explains them).

    Args:
        levels: Difficulty levels of generated tasks (None: ``[1, 2, 3]``). With
            ``tasks_file``, keep only tasks with these ``"level"`` values (None: all).
        seed: Seed of the task generator: which problems, not the episode RNG (``reset(seed=)``
            picks the task index).
        tasks_file: JSONL of ``{"question", "answer"}`` tasks instead of generated ones.
        test_file: JSONL of test tasks; without it, ``tasks_file`` is split by a hash of the
            question.
        test_fraction: Share of tasks held out for the test split.
        num_test_tasks: Size of the generated test split.
        tool_format: ``"python"`` (fenced code blocks) or ``"hermes"`` (``<tool_call>`` JSON
            calling ``python(code)``).
        timeout_s: Wall-clock limit per code run (including the replay of earlier cells).
        max_output_bytes: Output cap per run and stream.
        memory_mb: Memory limit of the code, in MiB.
        max_calls_per_turn: Code blocks run per turn at most; further ones are skipped.
        format_reward: Bonus added to the final reward when the answer is well formed (a
            ``\boxed{}`` or ``<answer>`` answer; never for a lenient one).
        lenient_answers: Also accept a message with neither code nor a marked answer as final
            when it contains a number: its last number is the answer (the GSM8K convention).
            Useful for small models that answer in plain words; off by default.
        system_prompt: Replaces the default system prompt (used as is).
        tools_in_prompt: With ``tool_format="hermes"``, write the tool schema and calling
            instructions into the default system prompt. Set it to False when the agent's chat
            template renders ``info["tools"]`` itself (Qwen, Hermes), to avoid saying it twice.
        sandbox_backend: Backend for :func:`~turngym.tools.sandbox.make_sandbox`; ``"auto"``
            picks ``"bwrap"`` when installed, else ``"local"``.
        python_state: How the interpreter keeps state within an episode (see
            :class:`~turngym.tools.python.PythonInterpreter`): ``"auto"`` (a persistent session
            when the backend has sessions), ``"session"`` or ``"replay"``.
        render_mode: ``"ansi"`` or None.
    """

    def __init__(
        self,
        *,
        levels: Sequence[int] | None = None,
        seed: int = 0,
        tasks_file: str | Path | None = None,
        test_file: str | Path | None = None,
        test_fraction: float = 0.1,
        num_test_tasks: int = 200,
        tool_format: str = "python",
        timeout_s: float = 5.0,
        max_output_bytes: int = 4096,
        memory_mb: int | None = 1024,
        max_calls_per_turn: int = 4,
        format_reward: float = 0.0,
        lenient_answers: bool = False,
        system_prompt: str | None = None,
        tools_in_prompt: bool = True,
        sandbox_backend: str = "auto",
        python_state: str = "auto",
        render_mode: str | None = None,
    ):
        super().__init__(render_mode=render_mode)
        if format_reward < 0:
            raise ValueError(f"format_reward must be >= 0, got {format_reward!r}")
        if max_calls_per_turn < 1:
            raise ValueError(f"max_calls_per_turn must be >= 1, got {max_calls_per_turn!r}")
        if test_file is not None and tasks_file is None:
            raise ValueError("test_file needs tasks_file (the training tasks)")
        self.format = get_format(tool_format)
        self.tool_format = tool_format
        self.timeout_s = float(timeout_s)
        self.max_calls_per_turn = max_calls_per_turn
        self.format_reward = float(format_reward)
        self.lenient_answers = bool(lenient_answers)
        self.tools_in_prompt = tools_in_prompt
        self._sandbox_limits = {
            "timeout_s": self.timeout_s,
            "max_output_bytes": max_output_bytes,
            "memory_mb": memory_mb,
        }
        if sandbox_backend == "auto":
            # bubblewrap when it is installed (scripts/setup.sh installs it); else the local
            # runner, which is not a security boundary (make_sandbox warns about that).
            sandbox_backend = "bwrap" if find_bwrap() is not None else "auto"
        self.sandbox_backend = sandbox_backend
        self.python_state = python_state
        self.tasks: TaskSource
        if tasks_file is not None:
            self.tasks = TaskSet.from_jsonl(
                tasks_file, test_path=test_file, test_fraction=test_fraction, levels=levels
            )
        else:
            self.tasks = MathTaskGenerator(
                seed=seed,
                levels=levels if levels is not None else (1, 2, 3),
                test_fraction=test_fraction,
                num_test_tasks=num_test_tasks,
            )
        # Built now so that a bad backend fails here, not at the first code block.
        self._python: PythonInterpreter | None = self._new_interpreter()
        self.system_prompt = system_prompt if system_prompt is not None else self._default_prompt()
        self._counts = self._zero_counts()

    # ---- tasks --------------------------------------------------------------------------

    def num_tasks(self, split: str = "train") -> int | None:
        return self.tasks.num_tasks(split)

    def get_task(self, index: int, split: str = "train") -> Task:
        return self.tasks.get_task(index, split)

    def on_reset(self, task: Task) -> None:
        missing = [key for key in ("question", "answer") if key not in task]
        if missing:
            raise ValueError(f"CodeInterpreterEnv task {task.get('id', '?')!r} lacks {missing}")
        self._interpreter().reset()
        self._counts = self._zero_counts()

    def initial_messages(self, task: Task) -> list[Message]:
        return [Message("system", self.system_prompt), Message("user", str(task["question"]))]

    def tool_schemas(self) -> list[dict[str, Any]]:
        if self.tool_format == "python":
            return []
        return [self._interpreter().schema()]

    # ---- one turn -----------------------------------------------------------------------

    def on_action(self, action: str) -> StepOutcome:
        assert self.task is not None
        answer = extract_answer(self.format.strip_calls(action))
        if answer is not None:
            correct = answers_match(answer, str(self.task["answer"]))
            bonus = self.format_reward if is_well_formed_answer(answer) else 0.0
            return StepOutcome(
                reward=(1.0 if correct else 0.0) + bonus,
                done=True,
                info={"answer": answer, "correct": correct, "success": correct},
            )
        parsed: ParseResult = self.format.parse(action)
        messages = run_tool_calls(
            parsed,
            self._run_call,
            max_calls=self.max_calls_per_turn,
            skip_note=(
                "Only the first {limit} code blocks of a message are run; "
                "{skipped} more were skipped."
            ),
            counts=self._counts,
        )
        if not parsed.attempted and self.lenient_answers:
            numbers = _NUMBER.findall(action.replace(",", ""))
            if numbers:
                answer = numbers[-1]
                correct = answers_match(answer, str(self.task["answer"]))
                return StepOutcome(
                    reward=1.0 if correct else 0.0,
                    done=True,
                    info={"answer": answer, "correct": correct, "success": correct},
                )
        if not parsed.attempted:
            self._counts["void_turns"] += 1
            messages.append(Message("user", _NUDGE[self.tool_format]))
        return StepOutcome(messages=messages)

    def _run_call(self, call: ToolCall) -> Message:
        self._counts["tool_calls"] += 1
        python = self._interpreter()
        if call.name != python.name:
            self._counts["tool_errors"] += 1
            text = f"Error: unknown tool {call.name!r}; the only tool is 'python'."
            return Message("tool", text, name=call.name, tool_call_id=call.id)
        try:
            arguments = python.validate(call.arguments)
        except ToolArgumentError as exc:
            self._counts["tool_errors"] += 1
            return Message("tool", f"Error: {exc}", name=python.name, tool_call_id=call.id)
        result = python.execute(arguments["code"])
        if not result.ok:
            self._counts["tool_errors"] += 1
        return Message("tool", python.format(result), name=python.name, tool_call_id=call.id)

    # ---- info, probes, lifecycle --------------------------------------------------------

    def episode_info(self) -> dict[str, Any]:
        return {"turns": self.turn, **self._counts}

    def probe_actions(self) -> list[str]:
        probes = []
        if self.task is not None:
            probes.append(f"The answer is \\boxed{{{self.task['answer']}}}.")
        if self.tool_format == "hermes":
            probes += [
                self.format.render([ToolCall("python", {"code": "print(6 * 7)"})]),
                self.format.render([ToolCall("python", {"code": "print(1 / 0)"})]),
                '<tool_call>{"name": "python", "arguments": </tool_call>',
            ]
        else:
            probes += [
                "```python\nprint(6 * 7)\n```",
                "```python\nprint(1 / 0)\n```",
                "```python\nprint('never closed')\n",
            ]
        return [*probes, "\\boxed{0}", "I am not sure yet."]

    def close(self) -> None:
        """Close the sandbox; safe to call more than once (a later ``reset`` opens a new one)."""
        if self._python is not None:
            self._python.close()
            self._python = None
        super().close()

    # ---- helpers ------------------------------------------------------------------------

    def _new_interpreter(self) -> PythonInterpreter:
        sandbox = make_sandbox(self.sandbox_backend, **self._sandbox_limits)
        return PythonInterpreter(sandbox, timeout_s=self.timeout_s, state=self.python_state)

    def _interpreter(self) -> PythonInterpreter:
        if self._python is None:
            self._python = self._new_interpreter()
        return self._python

    @staticmethod
    def _zero_counts() -> dict[str, int]:
        return {"tool_calls": 0, "tool_errors": 0, "parse_errors": 0, "void_turns": 0}

    def _default_prompt(self) -> str:
        if self.tool_format == "hermes":
            intro = "You solve math problems. You can run Python code with the python tool."
            tools = (
                self.format.instructions([self._interpreter().schema()])
                if self.tools_in_prompt
                else "Call it with a JSON object inside <tool_call></tool_call> tags."
            )
        else:
            tools = self.format.instructions([])
            intro = "You solve math problems. You have a Python interpreter."
        return (
            f"{intro}\n\n{tools}\n\n"
            "Variables, functions and imports persist between your messages. Each run has a "
            f"{self.timeout_s:g} second time limit. The standard library, sympy and numpy are "
            f"available.\n\n{_ANSWER_RULES}"
        )

"""``turngym/FunctionCalling-v0``: calling typed APIs correctly (BFCL- and AppWorld-style).

See :class:`FunctionCallingEnv` for the protocol and the reward.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from turngym.core.messages import Message, ToolCall
from turngym.envs.base import StepOutcome, Task, TextEnv
from turngym.envs.function_calling.apps import Apps, ToolError, build_tools, tool_schemas
from turngym.envs.function_calling.matching import check_assertions, match_turn
from turngym.envs.function_calling.retrieval import rank_tools
from turngym.envs.function_calling.tasks import (
    CALLING_CATEGORIES,
    FunctionCallingTaskGenerator,
    FunctionCallingTaskSet,
    reference_solution,
    validate_task,
)
from turngym.tools.base import FunctionTool, ToolArgumentError
from turngym.tools.formats import get_format
from turngym.tools.tool_turns import run_tool_calls

__all__ = ["FunctionCallingEnv"]

_INTRO = (
    "You are a helpful assistant that can call functions (tools) to act for the user. "
    "Call a tool only when it serves the request, with exactly the arguments the request "
    "gives; call several tools in one message when they are independent. If no tool fits "
    "the request, do not call any: answer in plain text. Tool results come back to you as "
    "tool messages. When you are done, reply without a tool call; that ends the conversation."
)


class FunctionCallingEnv(TextEnv):
    """Calling typed APIs correctly: pick the right tools, fill their arguments, reach goals.

    **Episode.** The first observation is a system prompt (the protocol and, with
    ``tools_in_prompt``, the offered tools' JSON schemas in Hermes ``<tools>`` form) and the
    user's request. ``info["tools"]`` of ``reset`` holds the offered schemas.

    **Action.** The assistant's text. Calls are written as
    ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``, any number per turn (at most
    ``max_calls_per_turn`` run). Each call runs, in order, against the episode's in-memory apps
    (calendar, messages, files, bank, shop, conversions, lookups; see :mod:`.apps`) and its
    result (JSON, or ``Error: ...`` for an unknown tool, arguments that fail the schema, or an
    app refusal) comes back as a ``tool`` message. A malformed call gets a ``user`` message and
    the episode goes on. A turn **without any call attempt ends the episode** (terminated); a
    turn cap (``make``'s ``TurnLimit``) truncates it with reward 0.

    **Reward** (only on the final step; every other step gives 0):

    * ``simple`` / ``multiple`` / ``parallel`` / ``parallel_multiple``: the calls of the
      *first turn that made calls* are matched to the expected calls (name, schema-valid
      arguments and types, accepted values, unrequested arguments left at their defaults;
      order-insensitive; see :func:`.matching.match_turn`): 1.0 for an exact match, else 0.0,
      or ``matched / max(expected, made)`` with ``partial_credit``.
    * ``irrelevance``: 1.0 when the agent attempted no call during the episode, else 0.0.
    * ``multi_turn``: the goal assertions checked on the final app state (never on the text):
      1.0 when all pass, else 0.0, or the fraction passed with ``partial_credit``.

    **Info.** Every step: ``turns``, ``tool_calls``, ``tool_errors``, ``parse_errors``. The
    final step adds ``category``, ``success``, ``expected_calls``, ``made_calls`` (per turn),
    ``call_matches`` (per expected call: matched and why not), ``assertions`` (description,
    passed, detail), ``offered_tools`` and ``retrieval_recall`` (share of the tools the
    reference solution needs that were offered; None when it needs none).

    Args:
        categories: Task categories to generate or keep (None: all six; see
            :data:`.tasks.CATEGORIES`).
        seed: Seed of the task generator (which tasks), not of the episode RNG.
        tasks_file: JSONL of tasks instead of generated ones (format in
            ``docs/function_calling.md``).
        test_file: JSONL of test tasks; without it, ``tasks_file`` is split by a hash of the
            request.
        test_fraction: Share of requests held out for the test split.
        num_test_tasks: Size of the generated test split.
        partial_credit: Give partial rewards (see Reward) instead of all or nothing.
        tool_top_k: Offer only the ``k`` candidate tools that BM25 ranks highest for the
            request (see :mod:`.retrieval`); None offers all candidates.
        expose_all_tools: Make the whole catalog the candidates of every task (a large-catalog
            setting; pair it with ``tool_top_k``), instead of the task's own ``tools``.
        max_calls_per_turn: Calls run per turn at most; further ones are skipped (and still
            count as made for matching).
        system_prompt: Replaces the default system prompt (used as is).
        tools_in_prompt: Write the offered schemas and calling instructions into the default
            system prompt. Set False when the agent's chat template renders ``info["tools"]``.
        render_mode: ``"ansi"`` or None.
    """

    def __init__(
        self,
        *,
        categories: Sequence[str] | None = None,
        seed: int = 0,
        tasks_file: str | Path | None = None,
        test_file: str | Path | None = None,
        test_fraction: float = 0.2,
        num_test_tasks: int = 120,
        partial_credit: bool = False,
        tool_top_k: int | None = None,
        expose_all_tools: bool = False,
        max_calls_per_turn: int = 8,
        system_prompt: str | None = None,
        tools_in_prompt: bool = True,
        render_mode: str | None = None,
    ):
        super().__init__(render_mode=render_mode)
        if tool_top_k is not None and (isinstance(tool_top_k, bool) or tool_top_k < 1):
            raise ValueError(f"tool_top_k must be a positive int or None, got {tool_top_k!r}")
        if max_calls_per_turn < 1:
            raise ValueError(f"max_calls_per_turn must be >= 1, got {max_calls_per_turn!r}")
        if test_file is not None and tasks_file is None:
            raise ValueError("test_file needs tasks_file (the training tasks)")
        self.format = get_format("hermes")
        self.partial_credit = bool(partial_credit)
        self.tool_top_k = tool_top_k
        self.expose_all_tools = bool(expose_all_tools)
        self.max_calls_per_turn = max_calls_per_turn
        self.custom_system_prompt = system_prompt
        self.tools_in_prompt = tools_in_prompt
        self.tasks: FunctionCallingTaskGenerator | FunctionCallingTaskSet
        if tasks_file is not None:
            self.tasks = FunctionCallingTaskSet.from_jsonl(
                tasks_file, test_path=test_file, test_fraction=test_fraction, categories=categories
            )
        else:
            self.tasks = FunctionCallingTaskGenerator(
                seed=seed,
                categories=categories,
                test_fraction=test_fraction,
                num_test_tasks=num_test_tasks,
            )
        self._catalog = tool_schemas()
        self.apps = Apps()
        self._tools: dict[str, FunctionTool] = {}
        self.offered: list[str] = []
        self._made_turns: list[list[ToolCall]] = []
        self._attempted = False
        self._counts = self._zero_counts()

    # ---- tasks --------------------------------------------------------------------------

    def num_tasks(self, split: str = "train") -> int | None:
        return self.tasks.num_tasks(split)

    def get_task(self, index: int, split: str = "train") -> Task:
        return self.tasks.get_task(index, split)

    def on_reset(self, task: Task) -> None:
        checked = validate_task(task, f"FunctionCallingEnv task {task.get('id', '?')!r}")
        self.task = checked
        self.apps = Apps(checked.get("state"))
        self._tools = build_tools(self.apps)
        self.offered = self.offered_tools(checked)
        self._made_turns = []
        self._attempted = False
        self._counts = self._zero_counts()

    def offered_tools(self, task: Task) -> list[str]:
        """Names of the tools offered for ``task`` (its candidates, cut to the top k)."""
        candidates = list(self._catalog) if self.expose_all_tools else list(task["tools"])
        if self.tool_top_k is None or self.tool_top_k >= len(candidates):
            return candidates
        ranked = rank_tools(task["request"], [self._catalog[n] for n in candidates])
        return [name for name, _ in ranked[: self.tool_top_k]]

    def initial_messages(self, task: Task) -> list[Message]:
        return [Message("system", self._system_prompt()), Message("user", task["request"])]

    def tool_schemas(self) -> list[dict[str, Any]]:
        return [self._catalog[name] for name in self.offered]

    # ---- one turn -----------------------------------------------------------------------

    def on_action(self, action: str) -> StepOutcome:
        parsed = self.format.parse(action)
        if parsed.attempted:
            self._attempted = True
        if not parsed.attempted:
            return self._finish()
        if parsed.calls:
            self._made_turns.append(list(parsed.calls))
        messages = run_tool_calls(
            parsed,
            self._run_call,
            max_calls=self.max_calls_per_turn,
            skip_note="Only the first {limit} calls of a message run; {skipped} more were skipped.",
            counts=self._counts,
        )
        return StepOutcome(messages=messages)

    def _run_call(self, call: ToolCall) -> Message:
        self._counts["tool_calls"] += 1
        if call.name not in self.offered:
            self._counts["tool_errors"] += 1
            text = f"Error: unknown tool {call.name!r}; available tools: {', '.join(self.offered)}"
            return Message("tool", text, name=call.name, tool_call_id=call.id)
        tool = self._tools[call.name]
        try:
            text = tool.run(**tool.validate(call.arguments))
        except (ToolArgumentError, ToolError) as exc:
            self._counts["tool_errors"] += 1
            text = f"Error: {exc}"
        return Message("tool", text, name=call.name, tool_call_id=call.id)

    def _finish(self) -> StepOutcome:
        assert self.task is not None
        task = self.task
        category = task["category"]
        info: dict[str, Any] = {
            "category": category,
            "expected_calls": task.get("expected_calls", []),
            "made_calls": [
                [{"name": c.name, "arguments": dict(c.arguments)} for c in turn]
                for turn in self._made_turns
            ],
            "call_matches": [],
            "assertions": [],
            "offered_tools": list(self.offered),
            "retrieval_recall": self._retrieval_recall(task),
        }
        if category in CALLING_CATEGORIES:
            judged = self._made_turns[0] if self._made_turns else []
            parameters = {n: self._catalog[n]["function"]["parameters"] for n in self.offered}
            verdict = match_turn(
                judged, task["expected_calls"], parameters, partial_credit=self.partial_credit
            )
            info["call_matches"] = [dict(d) for d in verdict.details]
            reward = verdict.score
            success = verdict.matched == len(task["expected_calls"]) == len(judged)
        elif category == "irrelevance":
            success = not self._attempted
            reward = 1.0 if success else 0.0
        else:
            results = check_assertions(self.apps.snapshot(), task["assertions"])
            info["assertions"] = [
                {"description": r.description, "passed": r.passed, "detail": r.detail}
                for r in results
            ]
            passed = sum(r.passed for r in results)
            success = passed == len(results)
            reward = passed / len(results) if self.partial_credit else float(success)
        info["success"] = success
        return StepOutcome(reward=float(reward), done=True, info=info)

    def _retrieval_recall(self, task: Task) -> float | None:
        needed = {c["name"] for turn in reference_solution(task) for c in turn}
        if not needed:
            return None
        return len(needed & set(self.offered)) / len(needed)

    # ---- info, probes, prompt -----------------------------------------------------------

    def episode_info(self) -> dict[str, Any]:
        return {"turns": self.turn, **self._counts}

    def probe_actions(self) -> list[str]:
        probes = []
        if self.task is not None:
            for turn in reference_solution(self.task)[:1]:
                probes.append(
                    self.format.render([ToolCall(c["name"], c["arguments"]) for c in turn])
                )
        probes += [
            self.format.render([ToolCall("no_such_tool", {})]),
            self.format.render([ToolCall("convert_units", {"value": "ten"})]),
            '<tool_call>{"name": "convert_units", "arguments": </tool_call>',
            "I cannot help with that using the available tools.",
        ]
        return probes

    @staticmethod
    def _zero_counts() -> dict[str, int]:
        return {"tool_calls": 0, "tool_errors": 0, "parse_errors": 0}

    def _system_prompt(self) -> str:
        if self.custom_system_prompt is not None:
            return self.custom_system_prompt
        if not self.tools_in_prompt:
            return (
                f"{_INTRO}\n\nCall a tool with a JSON object inside <tool_call></tool_call> tags: "
                '<tool_call>{"name": <function-name>, "arguments": <args-json-object>}</tool_call>'
            )
        return f"{_INTRO}\n\n{self.format.instructions(self.tool_schemas())}"

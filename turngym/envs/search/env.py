r"""``turngym/Search-v0``: multi-hop questions answered by searching an encyclopedia.

Each episode is one question about a corpus: by default a seeded fictional encyclopedia
(:mod:`turngym.envs.search.world`) whose names are invented, so the answer cannot be known
without searching; or the user's own JSONL corpus and QA set. This is the setting of Search-R1
(Jin et al., 2025) and ReSearch (Chen et al., 2025): the model interleaves reasoning with
search calls, reads the passages, and gives a short answer.

**Observation.** The first observation is a system prompt (the tool schema and calling rules,
unless ``tools_in_prompt=False``) and the question as a ``user`` message; ``info["tools"]`` of
``reset`` holds the ``search`` tool's schema. Later observations are ``tool`` messages named
``search`` holding ranked passages (``[rank] (id: ...) title`` then the text) and ``user``
messages for malformed calls or turns that did nothing.

**Action.** The assistant's text. Each turn is handled in this order:

1. **A final answer** ``<answer>...</answer>`` (outside tool calls) is scored and ends the
   episode; tool calls in the same message are not run.
2. **Tool calls** ``<tool_call>{"name": "search", "arguments": {"query": ..., "k": 3}}
   </tool_call>`` (the hermes format) are run in order, at most ``max_calls_per_turn``.
   Bad arguments, unknown tools and retriever failures are ``tool`` messages starting with
   ``Error:``; the episode goes on.
3. **Malformed calls** get a ``user`` message explaining the problem.
4. **Anything else** is a void turn: a ``user`` message nudges the model.

**Reward** (only at the answer; 0 on every other turn), by ``reward``:

* ``"em"``: 1 when the answer equals a gold answer after SQuAD normalization, else 0;
* ``"f1"``: token F1 with the best gold answer;
* ``"ternary"`` (TruthRL, Wei et al., 2025): 1 correct (exact match), 0 when the answer is the
  ``abstain_phrase`` ("I don't know"), ``wrong_reward`` (-1) otherwise.

An abstention scores 0 in every mode. An episode cut by the turn limit gets no answer reward
(0), in every mode: it is a truncation, not a wrong answer.

**Info.** Every step: ``turns``, ``search_calls``, ``tool_errors``, ``parse_errors``,
``void_turns``, ``hops`` (passages needed; None when unknown), ``passages_retrieved``
(distinct passages shown so far), ``gold_found`` (how many gold passages were shown) and
``gold_retrieved`` (whether any gold passage was shown; None without gold labels). The last
step adds ``answer``, ``exact_match``, ``f1``, ``abstained``, ``correct`` and ``success``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from turngym.core.messages import Message, ToolCall
from turngym.envs.base import StepOutcome, Task, TextEnv
from turngym.envs.math_tasks import TaskSet, split_by_hash
from turngym.envs.search.scoring import REWARD_MODES, extract_tagged_answer, score_answer
from turngym.envs.search.tasks import QAFileError, load_qa_jsonl
from turngym.envs.search.world import KINDS, QuestionGenerator, generate_world
from turngym.tools.base import ToolArgumentError
from turngym.tools.formats import get_format
from turngym.tools.retrieval import (
    BM25Retriever,
    HttpRetriever,
    Passage,
    Retriever,
    RetrieverError,
    SearchTool,
    load_corpus_jsonl,
)
from turngym.tools.tool_turns import run_tool_calls

__all__ = ["SearchEnv"]

RETRIEVERS: tuple[str, ...] = ("bm25", "dense", "http")
"""Retriever names the env builds itself (or pass a :class:`Retriever` instance)."""

_NUDGE = (
    "No search call or final answer found. Call the search tool inside <tool_call></tool_call> "
    "tags, or give your final answer as <answer>ANSWER</answer>."
)


@lru_cache(maxsize=4)
def _bm25_for_world(seed: int, num_passages: int, cache: bool) -> BM25Retriever:
    # One index per process and world: make() is called often (checker, rollout workers).
    return BM25Retriever(generate_world(seed, num_passages).passages, cache=cache)


class SearchEnv(TextEnv):
    r"""Multi-hop QA with a ``search(query, k)`` tool; answer in ``<answer>...</answer>``.

    Observation: a system prompt and the question, then ``tool`` messages of ranked passages
    (``[rank] (id: ...) title`` and the text). Action: hermes ``<tool_call>`` calls of
    ``search``, or a final ``<answer>...</answer>`` that ends the episode. Reward, at the
    answer only: exact match (``"em"``), token F1 (``"f1"``) or TruthRL's 1 / 0 / -1 for
    correct / abstain / wrong (``"ternary"``); 0 on every other turn and on truncation. The
    module docstring has the details.

    Args:
        seed: Seed of the generated encyclopedia and its questions (not the episode RNG:
            ``reset(seed=)`` picks the task index).
        num_passages: Size of the generated encyclopedia (one passage per entity).
        hops: Hop counts of generated questions (each in 1..4).
        kinds: Kinds of generated questions: ``"bridge"`` and/or ``"comparison"``.
        num_test_tasks: Size of the generated test split (train is unbounded).
        corpus_file: JSONL corpus ``{"id", "title", "text"}`` instead of the generated one
            (needs ``qa_file``).
        qa_file: JSONL questions ``{"question", "answers"}`` (needs ``corpus_file``).
        test_qa_file: JSONL test questions; without it, ``qa_file`` is split by a hash of the
            question.
        test_fraction: Share of questions (user files) or of entities (generated) held out.
        retriever: ``"bm25"``, ``"dense"`` (bundled all-MiniLM-L6-v2; needs
            sentence-transformers), ``"http"`` (needs ``retriever_url``), or a
            :class:`~turngym.tools.retrieval.Retriever` instance.
        retriever_url: The endpoint of a retrieval server (``retriever="http"``).
        top_k: Passages per search when the call gives no ``k``.
        max_k: Most passages one search returns.
        max_passage_chars: Each passage is cut to this many characters.
        max_calls_per_turn: Search calls run per turn at most; further ones are skipped.
        reward: ``"em"``, ``"f1"`` or ``"ternary"``.
        abstain_phrase: The answer that counts as abstaining (compared after normalization).
        wrong_reward: Reward of a wrong answer in ``"ternary"`` mode (must be negative).
        tool_format: Only ``"hermes"`` (``<tool_call>`` JSON) is supported.
        system_prompt: Replaces the default system prompt (used as is).
        tools_in_prompt: Write the tool schema into the default system prompt; set False when
            the chat template renders ``info["tools"]`` itself.
        cache_index: Keep the BM25 index / dense embeddings on disk (``~/.cache/turngym``).
        render_mode: ``"ansi"`` or None.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        num_passages: int = 3000,
        hops: Sequence[int] = (1, 2, 3, 4),
        kinds: Sequence[str] = KINDS,
        num_test_tasks: int = 200,
        corpus_file: str | Path | None = None,
        qa_file: str | Path | None = None,
        test_qa_file: str | Path | None = None,
        test_fraction: float = 0.1,
        retriever: str | Retriever = "bm25",
        retriever_url: str | None = None,
        top_k: int = 3,
        max_k: int = 10,
        max_passage_chars: int = 600,
        max_calls_per_turn: int = 3,
        reward: str = "em",
        abstain_phrase: str = "I don't know",
        wrong_reward: float = -1.0,
        tool_format: str = "hermes",
        system_prompt: str | None = None,
        tools_in_prompt: bool = True,
        cache_index: bool = True,
        render_mode: str | None = None,
    ):
        super().__init__(render_mode=render_mode)
        if reward not in REWARD_MODES:
            raise ValueError(f"reward must be one of {REWARD_MODES}, got {reward!r}")
        if wrong_reward >= 0:
            raise ValueError(
                f"wrong_reward must be negative (below abstaining), got {wrong_reward}"
            )
        if max_calls_per_turn < 1:
            raise ValueError(f"max_calls_per_turn must be >= 1, got {max_calls_per_turn!r}")
        if tool_format != "hermes":
            raise ValueError(
                f"Search-v0 supports tool_format='hermes' only (<tool_call> JSON), got "
                f"{tool_format!r}"
            )
        if (corpus_file is None) != (qa_file is None):
            raise ValueError(
                "corpus_file and qa_file go together: questions about your corpus need both "
                "(leave both out for the generated encyclopedia)"
            )
        if test_qa_file is not None and qa_file is None:
            raise ValueError("test_qa_file needs qa_file (the training questions)")
        self.format = get_format(tool_format)
        self.tool_format = tool_format
        self.reward_mode = reward
        self.abstain_phrase = abstain_phrase
        self.wrong_reward = float(wrong_reward)
        self.max_calls_per_turn = max_calls_per_turn
        self.tools_in_prompt = tools_in_prompt

        passages: Sequence[Passage]
        self.tasks: QuestionGenerator | TaskSet
        if corpus_file is not None and qa_file is not None:
            passages = load_corpus_jsonl(corpus_file)
            self.tasks = _user_tasks(qa_file, test_qa_file, test_fraction)
        else:
            world = generate_world(seed, num_passages, test_fraction)
            passages = world.passages
            self.tasks = QuestionGenerator(
                world,
                seed=seed,
                hops=tuple(hops),
                kinds=tuple(kinds),
                num_test_tasks=num_test_tasks,
            )
        self.retriever = self._build_retriever(
            retriever,
            retriever_url,
            passages,
            cache_index,
            generated=(seed, num_passages) if corpus_file is None else None,
        )
        self.search_tool = SearchTool(
            self.retriever, default_k=top_k, max_k=max_k, max_passage_chars=max_passage_chars
        )
        self.system_prompt = system_prompt if system_prompt is not None else self._default_prompt()
        self._counts = self._zero_counts()
        self._seen: set[str] = set()

    @staticmethod
    def _build_retriever(
        retriever: str | Retriever,
        url: str | None,
        passages: Sequence[Passage],
        cache: bool,
        generated: tuple[int, int] | None,
    ) -> Retriever:
        if not isinstance(retriever, str):
            if not isinstance(retriever, Retriever):
                raise TypeError(
                    f"retriever must be one of {RETRIEVERS} or have a search(query, k) method, "
                    f"got {type(retriever).__name__}"
                )
            return retriever
        if retriever not in RETRIEVERS:
            raise ValueError(f"retriever must be one of {RETRIEVERS}, got {retriever!r}")
        if retriever == "http":
            if not url:
                raise ValueError(
                    "retriever='http' needs retriever_url, e.g. http://host:8000/search"
                )
            return HttpRetriever(url)
        if url is not None:
            raise ValueError(f"retriever_url is only used with retriever='http', not {retriever!r}")
        if retriever == "dense":
            from turngym.tools.retrieval.dense import DenseRetriever

            return DenseRetriever(passages, cache=cache)
        if generated is not None:
            return _bm25_for_world(*generated, cache)
        return BM25Retriever(passages, cache=cache)

    # ---- tasks --------------------------------------------------------------------------

    def num_tasks(self, split: str = "train") -> int | None:
        return self.tasks.num_tasks(split)

    def get_task(self, index: int, split: str = "train") -> Task:
        return self.tasks.get_task(index, split)

    def on_reset(self, task: Task) -> None:
        missing = [key for key in ("question", "answers") if key not in task]
        if missing:
            raise ValueError(f"SearchEnv task {task.get('id', '?')!r} lacks {missing}")
        if isinstance(task["answers"], str) or not task["answers"]:
            raise ValueError(
                f"SearchEnv task {task.get('id', '?')!r}: 'answers' must be a non-empty list"
            )
        self._counts = self._zero_counts()
        self._seen = set()

    def initial_messages(self, task: Task) -> list[Message]:
        return [Message("system", self.system_prompt), Message("user", str(task["question"]))]

    def tool_schemas(self) -> list[dict[str, Any]]:
        return [self.search_tool.schema()]

    # ---- one turn -----------------------------------------------------------------------

    def on_action(self, action: str) -> StepOutcome:
        assert self.task is not None
        answer = extract_tagged_answer(self.format.strip_calls(action))
        if answer is not None:
            score = score_answer(
                answer,
                self.task["answers"],
                mode=self.reward_mode,
                abstain_phrase=self.abstain_phrase,
                wrong_reward=self.wrong_reward,
            )
            correct = score.exact_match == 1.0
            return StepOutcome(
                reward=score.reward,
                done=True,
                info={
                    "answer": answer,
                    "exact_match": score.exact_match,
                    "f1": score.f1,
                    "abstained": score.abstained,
                    "correct": correct,
                    "success": correct,
                },
            )
        parsed = self.format.parse(action)
        messages = run_tool_calls(
            parsed,
            self._run_call,
            max_calls=self.max_calls_per_turn,
            skip_note=(
                "Only the first {limit} tool calls of a message are run; "
                "{skipped} more were skipped."
            ),
            counts=self._counts,
        )
        if not parsed.attempted:
            self._counts["void_turns"] += 1
            messages.append(Message("user", _NUDGE))
        return StepOutcome(messages=messages)

    def _run_call(self, call: ToolCall) -> Message:
        tool = self.search_tool
        if call.name != tool.name:
            self._counts["tool_errors"] += 1
            text = f"Error: unknown tool {call.name!r}; the only tool is 'search'."
            return Message("tool", text, name=call.name, tool_call_id=call.id)
        self._counts["search_calls"] += 1
        try:
            arguments = tool.validate(call.arguments)
            hits = tool.hits(arguments["query"], arguments["k"])
        except ToolArgumentError as exc:
            self._counts["tool_errors"] += 1
            return Message("tool", f"Error: {exc}", name=tool.name, tool_call_id=call.id)
        except RetrieverError as exc:
            # Errors are data: a retrieval server that fails is shown to the model and counted.
            self._counts["tool_errors"] += 1
            return Message(
                "tool", f"Error: search failed: {exc}", name=tool.name, tool_call_id=call.id
            )
        self._seen.update(hit.id for hit in hits)
        text = tool.format(hits, requested_k=arguments["k"])
        return Message("tool", text, name=tool.name, tool_call_id=call.id)

    # ---- info, probes -------------------------------------------------------------------

    def episode_info(self) -> dict[str, Any]:
        task = self.task or {}
        gold = task.get("gold_ids")
        found = len(self._seen & set(gold)) if gold else 0
        return {
            "turns": self.turn,
            **self._counts,
            "hops": task.get("hops"),
            "passages_retrieved": len(self._seen),
            "gold_found": found,
            "gold_retrieved": (found > 0) if gold else None,
        }

    def probe_actions(self) -> list[str]:
        probes = []
        if self.task is not None:
            probes.append(f"<answer>{self.task['answers'][0]}</answer>")
            probes.append(
                self.format.render([ToolCall("search", {"query": str(self.task["question"])})])
            )
        probes += [
            self.format.render([ToolCall("search", {"query": "city founded", "k": 50})]),
            self.format.render([ToolCall("search", {"query": "", "k": 2})]),
            self.format.render([ToolCall("search", {"query": "x", "k": "three"})]),
            self.format.render([ToolCall("lookup", {"query": "x"})]),
            '<tool_call>{"name": "search", "arguments": </tool_call>',
            f"<answer>{self.abstain_phrase}</answer>",
            "<answer>Nobody</answer>",
            "I am not sure yet.",
        ]
        return probes

    # ---- helpers ------------------------------------------------------------------------

    @staticmethod
    def _zero_counts() -> dict[str, int]:
        return {"search_calls": 0, "tool_errors": 0, "parse_errors": 0, "void_turns": 0}

    def _default_prompt(self) -> str:
        tools = (
            self.format.instructions([self.search_tool.schema()])
            if self.tools_in_prompt
            else "Call it with a JSON object inside <tool_call></tool_call> tags."
        )
        abstain = (
            f" If you cannot find the answer, write <answer>{self.abstain_phrase}</answer>: "
            "that is better than a wrong answer."
            if self.reward_mode == "ternary"
            else ""
        )
        return (
            "You answer questions using an encyclopedia that you can search with the search "
            "tool. Do not rely on your own knowledge: look facts up.\n\n"
            f"{tools}\n\n"
            "Search for names from the question. A question may need several searches: find a "
            "fact, then search for the entity it mentions. When you know the answer, write it "
            "as <answer>ANSWER</answer>, giving only the name or number, e.g. "
            "<answer>1850</answer>. A message with <answer> ends the episode, and tool calls "
            f"in that message are not run.{abstain}"
        )


def _user_tasks(qa_file: str | Path, test_file: str | Path | None, fraction: float) -> TaskSet:
    train = load_qa_jsonl(qa_file)
    if test_file is not None:
        return TaskSet(train, load_qa_jsonl(test_file))
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"test_fraction must be in [0, 1), got {fraction!r}")
    train, test = split_by_hash(train, fraction)
    if not train:
        raise QAFileError(f"{qa_file}: no training questions left after the test split")
    return TaskSet(train, test)

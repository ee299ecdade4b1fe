"""turngym/Search-v0: scoring, user files, the turn protocol, info, and scripted policies."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import turngym
from turngym.core.messages import ToolCall
from turngym.envs.search import (
    QAFileError,
    answer_reward,
    exact_match,
    load_qa_jsonl,
    normalize_answer,
    score_answer,
    ternary_reward,
    token_f1,
)
from turngym.tools.formats import HermesFormat

HERMES = HermesFormat()
SMALL = {"num_passages": 300, "num_test_tasks": 40}


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TURNGYM_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def search(query: str, k: int | None = None) -> str:
    arguments: dict = {"query": query} if k is None else {"query": query, "k": k}
    return HERMES.render([ToolCall("search", arguments)])


# ---- scoring ---------------------------------------------------------------------------


def test_normalization_is_squads():
    assert normalize_answer("  The Velmora-Guild!  ") == "velmoraguild"
    assert normalize_answer("An  apple, a pear") == "apple pear"
    assert normalize_answer("THE") == ""


@pytest.mark.parametrize(
    "prediction, answers, em, f1",
    [
        ("the Velmora Guild", ["Velmora Guild"], 1.0, 1.0),
        ("Velmora guild.", ["Oskaveth", "Velmora Guild"], 1.0, 1.0),  # best of the answers
        ("Velmora Guild of Art", ["the Velmora Guild"], 0.0, 2 * 0.5 * 1.0 / 1.5),
        ("Guild", ["Velmora Guild"], 0.0, 2 * 1.0 * 0.5 / 1.5),
        ("1712", ["1713"], 0.0, 0.0),
        ("a", ["the"], 1.0, 1.0),  # both normalize to nothing: SQuAD counts that as a match
        ("the", ["Oskaveth"], 0.0, 0.0),
    ],
)
def test_exact_match_and_f1(prediction: str, answers: list[str], em: float, f1: float):
    assert exact_match(prediction, answers) == em
    assert token_f1(prediction, answers) == pytest.approx(f1)


def test_ternary_reward_orders_correct_abstain_wrong():
    assert ternary_reward(True, False) == 1.0
    assert ternary_reward(False, True) == 0.0
    assert ternary_reward(False, False) == -1.0
    assert ternary_reward(False, False, wrong_reward=-0.5) == -0.5
    gold = ["Oskaveth"]
    assert score_answer("oskaveth", gold, mode="ternary").reward == 1.0
    idk = score_answer("I don't know.", gold, mode="ternary")
    assert idk.abstained and idk.reward == 0.0
    assert score_answer("Velmora", gold, mode="ternary").reward == -1.0
    custom = score_answer("no idea", gold, mode="ternary", abstain_phrase="No idea")
    assert custom.abstained and custom.reward == 0.0
    # abstaining is never "correct", even with a gold answer that looks like the phrase
    assert score_answer("I don't know", ["I don't know"], mode="em").reward == 0.0


def test_score_modes_and_rubric_function():
    partial = score_answer("Velmora Guild of Art", ["Velmora Guild"], mode="f1")
    assert partial.exact_match == 0.0 and partial.reward == pytest.approx(2 / 3)
    assert score_answer("Velmora Guild of Art", ["Velmora Guild"], mode="em").reward == 0.0
    with pytest.raises(ValueError, match="reward mode must be one of"):
        score_answer("x", ["x"], mode="bleu")
    completions = ["<answer>Oskaveth</answer>", "no tag", "<answer>I don't know</answer>"]
    golds = [["Oskaveth"]] * 3
    assert answer_reward(completions, golds) == [1.0, 0.0, 0.0]
    assert answer_reward(completions, golds, mode="ternary") == [1.0, -1.0, 0.0]
    with pytest.raises(ValueError, match="one each"):
        answer_reward(completions, golds[:1])


# ---- user files ------------------------------------------------------------------------


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text(
        "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def user_files(tmp_path: Path) -> tuple[Path, Path]:
    corpus = write_jsonl(
        tmp_path / "corpus.jsonl",
        [
            {
                "id": "d1",
                "title": "Mount Quell",
                "text": "Mount Quell rises above the town of Brisk.",
            },
            {"id": "d2", "title": "Brisk", "text": "Brisk is a mining town founded in 1802."},
            {"id": "d3", "title": "Lake Omber", "text": "Lake Omber is a cold lake in the north."},
        ],
    )
    qa = write_jsonl(
        tmp_path / "qa.jsonl",
        [
            {
                "question": "When was the town below Mount Quell founded?",
                "answers": ["1802"],
                "gold_ids": ["d1", "d2"],
                "hops": 2,
                "id": "q1",
            },
            {"question": "Which town lies below Mount Quell?", "answers": "Brisk"},
        ],
    )
    return corpus, qa


def test_load_qa_jsonl(user_files: tuple[Path, Path]):
    tasks = load_qa_jsonl(user_files[1])
    assert tasks[0] == {
        "id": "q1",
        "question": "When was the town below Mount Quell founded?",
        "answers": ["1802"],
        "gold_ids": ["d1", "d2"],
        "hops": 2,
    }
    assert tasks[1] == {
        "id": "qa-2",
        "question": "Which town lies below Mount Quell?",
        "answers": ["Brisk"],
    }


@pytest.mark.parametrize(
    "bad_line, message",
    [
        ('{"question": "q", "answers": ["a"]', "not valid JSON"),
        ('"just a string"', "expected a JSON object"),
        ('{"question": "q"}', "missing field(s) ['answers']"),
        ('{"question": "", "answers": ["a"]}', '"question" must be a non-empty string'),
        ('{"question": "q", "answers": []}', '"answers" must be a non-empty list'),
        ('{"question": "q", "answers": [1]}', '"answers" must be a non-empty list'),
        ('{"question": "q", "answers": ["a"], "gold_ids": "d1"}', '"gold_ids" must be a list'),
        ('{"question": "q", "answers": ["a"], "hops": 0}', '"hops" must be a positive integer'),
    ],
)
def test_malformed_qa_lines_name_the_line(tmp_path: Path, bad_line: str, message: str):
    good = json.dumps({"question": "q", "answers": ["a"]})
    path = write_jsonl(tmp_path / "qa.jsonl", [good, "", good, bad_line])
    with pytest.raises(QAFileError) as info:
        load_qa_jsonl(path)
    assert f"{path}:4" in str(info.value) and message in str(info.value)


def test_search_env_on_user_files(user_files: tuple[Path, Path]):
    corpus, qa = user_files
    env = turngym.make(
        "turngym/Search-v0", corpus_file=str(corpus), qa_file=str(qa), test_fraction=0.0
    )
    assert env.unwrapped.num_tasks("train") == 2 and env.unwrapped.num_tasks("test") == 0
    env.reset(seed=0, options={"task_index": 0})
    obs, _, _, _, info = env.step(search("Mount Quell"))
    assert "(id: d1) Mount Quell" in obs[0].text
    assert info["gold_retrieved"] is True and info["gold_found"] == 1 and info["hops"] == 2
    obs, _, _, _, info = env.step(search("Brisk town founded"))
    assert info["gold_found"] == 2
    _, reward, terminated, _, info = env.step("It was founded in 1802. <answer>1802</answer>")
    assert terminated and reward == 1.0 and info["correct"] is True
    # a user question without gold labels: gold_retrieved is unknown, not False
    env.reset(seed=0, options={"task_index": 1})
    _, _, _, _, info = env.step(search("Mount Quell"))
    assert info["gold_retrieved"] is None and info["hops"] is None
    env.close()


def test_search_env_rejects_inconsistent_file_arguments(user_files: tuple[Path, Path]):
    corpus, qa = user_files
    with pytest.raises(ValueError, match="corpus_file and qa_file go together"):
        turngym.make("turngym/Search-v0", corpus_file=str(corpus))
    with pytest.raises(ValueError, match="test_qa_file needs qa_file"):
        turngym.make("turngym/Search-v0", test_qa_file=str(qa), **SMALL)
    with pytest.raises(ValueError, match="retriever must be one of"):
        turngym.make("turngym/Search-v0", retriever="google", **SMALL)
    with pytest.raises(ValueError, match="needs retriever_url"):
        turngym.make("turngym/Search-v0", retriever="http", **SMALL)
    with pytest.raises(ValueError, match="reward must be one of"):
        turngym.make("turngym/Search-v0", reward="bleu", **SMALL)
    with pytest.raises(ValueError, match="hermes"):
        turngym.make("turngym/Search-v0", tool_format="python", **SMALL)
    with pytest.raises(ValueError, match="default_k"):
        turngym.make("turngym/Search-v0", top_k=5, max_k=2, **SMALL)


def test_test_fraction_sizes_the_generated_test_pool():
    few = turngym.make("turngym/Search-v0", test_fraction=0.05, **SMALL).unwrapped
    many = turngym.make("turngym/Search-v0", test_fraction=0.5, **SMALL).unwrapped
    assert len(few.tasks.world.test_ids) < len(many.tasks.world.test_ids)
    assert few.retriever is many.retriever  # same passages: one index per process


# ---- the turn protocol -----------------------------------------------------------------


@pytest.fixture
def env():
    env = turngym.make("turngym/Search-v0", **SMALL)
    yield env
    env.close()


def gold_titles(env, task: dict) -> list[str]:
    passages = env.unwrapped.retriever.passages
    by_id = {p.id: p.title for p in passages}
    return [by_id[g] for g in task["gold_ids"]]


def test_first_observation_and_tools(env):
    obs, info = env.reset(seed=0)
    assert [m.role for m in obs] == ["system", "user"]
    assert "<answer>" in obs[0].text and '"name": "search"' in obs[0].text
    assert obs[1].text == env.unwrapped.task["question"]
    assert [t["function"]["name"] for t in info["tools"]] == ["search"]


def test_a_searching_episode(env):
    env.reset(seed=0, options={"task_index": 0, "split": "test"})
    task = env.unwrapped.task
    first = gold_titles(env, task)[0]
    obs, reward, terminated, truncated, info = env.step(f"Let me look.\n{search(first, k=2)}")
    assert (reward, terminated, truncated) == (0.0, False, False)
    assert len(obs) == 1 and obs[0].role == "tool" and obs[0].name == "search"
    assert obs[0].text.startswith(f"[1] (id: {task['gold_ids'][0]}) {first}")
    assert info["search_calls"] == 1 and info["passages_retrieved"] == 2
    assert info["gold_retrieved"] is True and info["gold_found"] >= 1
    assert info["hops"] == task["hops"] == len(task["gold_ids"])
    _, reward, terminated, _, info = env.step(f"<answer>{task['answers'][0]}</answer>")
    assert terminated and reward == 1.0
    assert info["success"] is True and info["exact_match"] == 1.0 and info["f1"] == 1.0
    assert info["stop_reason"] == "terminated"


def test_errors_are_observations(env):
    env.reset(seed=0)
    bad = HERMES.render(
        [
            ToolCall("lookup", {"query": "x"}),
            ToolCall("search", {"query": "x", "k": "two"}),
            ToolCall("search", {"query": " "}),
        ]
    )
    obs, reward, terminated, _, info = env.step(bad)
    assert not terminated and reward == 0.0
    assert [m.role for m in obs] == ["tool"] * 3
    assert obs[0].text == "Error: unknown tool 'lookup'; the only tool is 'search'."
    assert obs[1].text.startswith("Error: tool 'search': argument 'k'")
    assert "must not be empty" in obs[2].text
    assert info["tool_errors"] == 3 and info["search_calls"] == 2
    obs, _, terminated, _, info = env.step('<tool_call>{"name": "search", </tool_call>')
    assert not terminated and obs[-1].role == "user" and "malformed tool call" in obs[-1].text
    assert info["parse_errors"] == 1
    obs, _, _, _, info = env.step("Hmm, let me think about it.")
    assert info["void_turns"] == 1 and "<answer>" in obs[-1].text


def test_answer_wins_over_tool_calls_and_calls_are_capped():
    env = turngym.make("turngym/Search-v0", max_calls_per_turn=2, **SMALL)
    env.reset(seed=0)
    obs, _, _, _, info = env.step(search("a") + search("b") + search("c"))
    assert [m.role for m in obs] == ["tool", "tool", "user"] and "1 more were skipped" in obs[
        2
    ].text
    assert info["search_calls"] == 2
    _, _, terminated, _, info = env.step(search("city") + "<answer>Nobody</answer>")
    assert terminated and info["search_calls"] == 2  # the call next to the answer did not run
    env.close()


@pytest.mark.parametrize(
    "mode, answer_text, expected",
    [
        ("f1", "GOLD Extra", 2 / 3),
        ("em", "GOLD Extra", 0.0),
        ("ternary", "I don't know", 0.0),
        ("ternary", "Nobody", -1.0),
        ("ternary", "GOLD", 1.0),
        ("em", "I don't know", 0.0),
    ],
)
def test_reward_modes_in_the_env(mode: str, answer_text: str, expected: float):
    env = turngym.make("turngym/Search-v0", reward=mode, hops=[1], kinds=["bridge"], **SMALL)
    env.reset(seed=0)
    gold = env.unwrapped.task["answers"][0]
    if len(gold.split()) == 2 and "GOLD Extra" in answer_text:  # a two-word name: F1 is 0.8
        expected = {"f1": 0.8, "em": 0.0}[mode]
    _, reward, terminated, _, info = env.step(
        f"<answer>{answer_text.replace('GOLD', gold)}</answer>"
    )
    assert terminated and reward == pytest.approx(expected)
    assert info["abstained"] == (answer_text == "I don't know")
    env.close()


def test_ternary_prompt_mentions_abstaining():
    env = turngym.make("turngym/Search-v0", reward="ternary", abstain_phrase="Unknown", **SMALL)
    obs, _ = env.reset(seed=0)
    assert "<answer>Unknown</answer>" in obs[0].text
    env.close()


@pytest.mark.parametrize("kwargs", [{}, {"reward": "ternary"}, {"reward": "f1", "top_k": 1}])
def test_check_env_passes(kwargs: dict):
    env = turngym.make("turngym/Search-v0", **{**SMALL, **kwargs})
    turngym.check_env(env)


def test_registered_turn_cap_truncates_without_reward():
    env = turngym.make("turngym/Search-v0", **SMALL)
    env.reset(seed=0)
    for turn in range(8):
        _, reward, terminated, truncated, info = env.step(search(f"query {turn}"))
        assert reward == 0.0 and not terminated
    assert truncated and info["stop_reason"] == "turn_limit"
    env.close()


# ---- scripted policies -----------------------------------------------------------------


def run_policy(env, policy, tasks: int, mode: str) -> float:
    total = 0.0
    for index in range(tasks):
        obs, info = env.reset(seed=index, options={"task_index": index, "split": "test"})
        done, turn = False, 0
        while not done:
            action = policy(env, turn, info)
            obs, reward, terminated, truncated, info = env.step(action)
            total += reward
            done, turn = terminated or truncated, turn + 1
    return total / tasks


def oracle(env, turn: int, info: dict) -> str:
    """Searches the gold entities one per turn, then answers only if it saw all of them."""
    task = env.unwrapped.task
    titles = gold_titles(env, task)
    if turn < len(titles):
        return search(titles[turn], k=1)
    if info["gold_found"] == len(task["gold_ids"]):
        return f"<answer>{task['answers'][0]}</answer>"
    return "<answer>I don't know</answer>"


def answer_now(env, turn: int, info: dict) -> str:
    return "<answer>1850</answer>"


@pytest.mark.parametrize("mode", ["em", "ternary"])
def test_oracle_policy_scores_far_above_answering_at_once(mode: str):
    env = turngym.make("turngym/Search-v0", reward=mode, **SMALL)
    searched = run_policy(env, oracle, 40, mode)
    immediate = run_policy(env, answer_now, 40, mode)
    env.close()
    assert searched >= 0.9, searched
    assert immediate <= {"em": 0.1, "ternary": -0.8}[mode], immediate
    assert searched - immediate >= 0.8


def test_play_from_the_command_line():
    session = f"{search('city')}\n.\n<answer>Nobody</answer>\n.\n"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "turngym.cli",
            "play",
            "turngym/Search-v0",
            "--kwargs",
            json.dumps(SMALL),
        ],
        input=session,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "tools: search" in out.stdout and "[tool/search]" in out.stdout
    assert "episode over: terminated" in out.stdout and "'gold_retrieved'" in out.stdout

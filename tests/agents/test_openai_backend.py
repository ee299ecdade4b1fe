"""OpenAIBackend: config and argument checks, and generation against a real llama.cpp server.

The server tests use the ``llama_server`` fixture (tests/llama_server.py): a
llama-cpp-python server with the default model's GGUF; they skip when it is not installed.
"""

from __future__ import annotations

import socket
import time
from dataclasses import replace
from types import SimpleNamespace

import pytest

from tests.llama_server import PeakInFlight

pytest.importorskip("openai")

from turngym.agents.backend import Backend, SamplingParams  # noqa: E402
from turngym.agents.chat import ChatRenderer  # noqa: E402
from turngym.agents.openai_backend import (  # noqa: E402
    LLAMA_CPP_NEUTRAL_SAMPLING,
    OpenAIBackend,
    TokenMismatchError,
    make_backend_from_config,
)
from turngym.core.messages import Message  # noqa: E402
from turngym.tools.openai_chat import ServerResponseError, ServerUnreachableError  # noqa: E402

PROMPT = "What is 2+2? Answer with one number."  # the default model ends its turn within ~7 tokens


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def renderer(tokenizer) -> ChatRenderer:
    return ChatRenderer(tokenizer)


@pytest.fixture(scope="module")
def backend(llama_server, tokenizer) -> OpenAIBackend:
    return OpenAIBackend(
        llama_server.base_url,
        llama_server.model,
        tokenizer,
        extra_body=LLAMA_CPP_NEUTRAL_SAMPLING,
        max_context=2048,
    )


def _greedy(renderer: ChatRenderer, cap: int = 24) -> SamplingParams:
    return SamplingParams(
        max_new_tokens=cap, temperature=0.0, stop_token_ids=renderer.stop_token_ids
    )


# ---- without a server ----------------------------------------------------------------------


def test_config_factory_builds_a_backend_and_names_bad_keys(tokenizer) -> None:
    backend = make_backend_from_config(
        {"base_url": "http://127.0.0.1:8000", "model": "smollm2", "max_concurrency": 3},
        tokenizer,
        max_context=1024,
    )
    assert isinstance(backend, Backend)
    assert backend.connection.base_url == "http://127.0.0.1:8000/v1"
    assert backend.connection.max_concurrency == 3 and backend.max_context == 1024
    with pytest.raises(ValueError, match="needs base_url"):
        make_backend_from_config({"model": "m"}, tokenizer)
    with pytest.raises(ValueError, match=r"unknown openai backend option\(s\) \['temprature'\]"):
        make_backend_from_config(
            {"base_url": "http://h:1", "model": "m", "temprature": 0}, tokenizer
        )


def test_bad_arguments_are_refused(tokenizer) -> None:
    url = "http://127.0.0.1:9/v1"
    with pytest.raises(ValueError, match="prompt_format"):
        OpenAIBackend(url, "m", tokenizer, prompt_format="ids")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="token_exact"):
        OpenAIBackend(url, "m", tokenizer, token_exact="maybe")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Hugging Face tokenizer"):
        OpenAIBackend(url, "m", object())
    backend = OpenAIBackend(url, "m", tokenizer)
    with pytest.raises(ValueError, match="at least one token"):
        backend.generate([[]], SamplingParams())
    with pytest.raises(ValueError, match="one entry per prompt"):
        backend.generate([[1]], SamplingParams(), max_new_tokens=[1, 2])
    with pytest.raises(ValueError, match="positive"):
        backend.generate([[1]], SamplingParams(), max_new_tokens=[0])
    assert backend.stats["requests"] == 0  # refused before anything was sent


def test_unreachable_server_is_a_quick_clear_error(tokenizer) -> None:
    port = _closed_port()
    backend = OpenAIBackend(
        f"http://127.0.0.1:{port}/v1", "m", tokenizer, timeout_s=2, max_retries=1, backoff_s=0.01
    )
    t0 = time.monotonic()
    with pytest.raises(ServerUnreachableError, match=rf"127\.0\.0\.1:{port}/v1.*2 attempts"):
        backend.generate([[1, 2, 3]], SamplingParams(max_new_tokens=4))
    assert time.monotonic() - t0 < 5
    assert backend.stats["retries"] == 1 and backend.stats["failed"] == 1


def _choice(text: str, pieces: list[str], finish: str = "stop") -> SimpleNamespace:
    """A completion choice as the openai SDK parses it (legacy logprobs format)."""
    logprobs = [-0.25 * (k + 1) for k in range(len(pieces))]
    return SimpleNamespace(
        text=text,
        finish_reason=finish,
        logprobs=SimpleNamespace(tokens=pieces, token_logprobs=logprobs),
    )


def test_vllm_token_id_pieces_are_taken_verbatim(tokenizer) -> None:
    backend = OpenAIBackend("http://127.0.0.1:9/v1", "m", tokenizer)
    eos = tokenizer.eos_token_id
    ids = [*tokenizer("Hello world", add_special_tokens=False)["input_ids"], eos]
    gen = backend._to_generation(
        _choice("Hello world", [f"token_id:{i}" for i in ids]),
        cap=8,
        params=SamplingParams(stop_token_ids=(eos,)),
    )
    assert gen.token_ids == tuple(ids) and gen.finish_reason == "stop"
    assert gen.logprobs == tuple(-0.25 * (k + 1) for k in range(len(ids)))
    assert backend.stats["stop_logprob_missing"] == 0  # the server returned the stop token


def test_llama_server_entries_give_ids_and_a_stop_is_cut_client_side(tokenizer) -> None:
    backend = OpenAIBackend("http://127.0.0.1:9/v1", "m", tokenizer)
    ids = tokenizer("one two three", add_special_tokens=False)["input_ids"]
    entries = [{"id": t, "token": "?", "logprob": -0.5} for t in ids]
    choice = SimpleNamespace(
        text="one two three", finish_reason="length", logprobs={"content": entries}
    )
    gen = backend._to_generation(choice, 8, SamplingParams(stop_token_ids=(ids[1],)))
    assert gen.token_ids == tuple(ids[:2]) and gen.finish_reason == "stop"
    assert gen.logprobs == (-0.5, -0.5)


def test_pieces_no_token_decodes_to_fail_or_are_counted(tokenizer) -> None:
    params = SamplingParams(stop_token_ids=(tokenizer.eos_token_id,))
    choice = _choice("Hello world", ["Hello world"], finish="length")  # one piece, two tokens
    strict = OpenAIBackend("http://127.0.0.1:9/v1", "m", tokenizer)
    with pytest.raises(TokenMismatchError, match="no single token decodes to.*'Hello world'"):
        strict._to_generation(choice, cap=8, params=params)
    lenient = OpenAIBackend("http://127.0.0.1:9/v1", "m", tokenizer, token_exact="best_effort")
    gen = lenient._to_generation(choice, cap=8, params=params)
    assert gen.token_ids == tuple(tokenizer("Hello world", add_special_tokens=False)["input_ids"])
    assert len(gen.logprobs) == len(gen.token_ids) and lenient.stats["inexact"] == 1
    with pytest.raises(ServerResponseError, match="finish_reason 'content_filter'"):
        lenient._to_generation(_choice("x", ["x"], finish="content_filter"), 8, params)


def test_unverifiable_text_prompts_need_best_effort(tokenizer) -> None:
    ids = tokenizer("hello there", add_special_tokens=False)["input_ids"]
    strict = OpenAIBackend("http://127.0.0.1:9/v1", "m", tokenizer)
    strict._server_tokenize = lambda text: None  # a server without a tokenizer endpoint
    with pytest.raises(TokenMismatchError, match="no tokenizer endpoint"):
        strict._text_prompt(ids)
    lenient = OpenAIBackend("http://127.0.0.1:9/v1", "m", tokenizer, token_exact="best_effort")
    lenient._server_tokenize = lambda text: None
    assert lenient._text_prompt(ids) == "hello there"
    assert lenient.stats["prompt_unverified"] == 1
    lenient._server_tokenize = lambda text: [*ids, 5]  # tokenized differently
    lenient._text_prompt(ids)
    assert lenient.stats["inexact"] == 1
    strict._server_tokenize = lambda text: [*ids, 5]
    with pytest.raises(TokenMismatchError, match="first difference at position 2"):
        strict._text_prompt(ids)


# ---- against a real llama-cpp-python server ------------------------------------------------


def test_generation_ids_decode_to_the_servers_own_text(
    backend: OpenAIBackend, renderer: ChatRenderer, llama_server
) -> None:
    prompt = renderer.prompt_ids([Message("user", PROMPT)])
    [gen] = backend.generate([prompt], _greedy(renderer, cap=12))
    # llama-cpp-python refuses token-id prompts; the text fallback was checked token by token.
    assert backend.prompt_format == "text"
    assert backend.stats["text_prompts"] >= 1 and backend.stats["prompt_unverified"] == 0
    assert backend.stats["failed"] == 0  # the refused token-id probe is not a failure
    assert len(gen.token_ids) == len(gen.logprobs) > 1
    assert all(lp <= 0.0 for lp in gen.logprobs)
    assert gen.finish_reason == "stop" and gen.token_ids[-1] in renderer.stop_token_ids
    assert backend.stats["stop_logprob_missing"] >= 1
    # The same request sent directly: the backend's ids must decode to exactly its text.
    direct = backend.connection.client.completions.create(
        model=llama_server.model,
        prompt=renderer.decode(prompt),
        max_tokens=12,
        temperature=0.0,
        extra_body=LLAMA_CPP_NEUTRAL_SAMPLING,
    )
    text, stop = renderer.split_action(gen.token_ids)
    assert stop is not None and text == direct.choices[0].text


def test_logprobs_belong_to_the_sampled_tokens(
    backend: OpenAIBackend, renderer: ChatRenderer, default_model_path
) -> None:
    """The server's logprobs match the local fp32 model's for the same ids (up to quantization)."""
    import torch
    from transformers import AutoModelForCausalLM

    prompt = renderer.prompt_ids([Message("user", PROMPT)])
    [gen] = backend.generate([prompt], _greedy(renderer, cap=12))
    sampled = list(gen.token_ids[:-1] if gen.finish_reason == "stop" else gen.token_ids)
    model = AutoModelForCausalLM.from_pretrained(default_model_path, dtype=torch.float32)
    with torch.no_grad():
        logits = model(torch.tensor([prompt + sampled])).logits[0, len(prompt) - 1 : -1]
    local = torch.log_softmax(logits, -1).gather(-1, torch.tensor(sampled)[:, None]).squeeze(-1)
    server = torch.tensor(gen.logprobs[: len(sampled)])
    # Q4_1 weights vs fp32: close per token; a shift by one position would be far off.
    assert (local - server).abs().max().item() < 0.25  # measured: 0.08
    assert (local[1:] - server[:-1]).abs().max().item() > 0.5  # measured: 1.7


def test_token_caps_and_greedy_determinism(backend: OpenAIBackend, renderer: ChatRenderer) -> None:
    prompt = renderer.prompt_ids([Message("user", "Count from one to twenty.")])
    params = _greedy(renderer, cap=6)
    first = backend.generate([prompt, prompt], params, max_new_tokens=[3, 6])
    assert [len(g.token_ids) for g in first] == [3, 6]
    assert all(g.finish_reason == "length" for g in first)
    assert first[1].token_ids[:3] == first[0].token_ids  # greedy: the short one is a prefix
    again = backend.generate([prompt], params)
    assert again[0].token_ids == first[1].token_ids
    assert again[0].logprobs == pytest.approx(first[1].logprobs, abs=1e-4)


def test_stop_token_ids_end_the_turn(backend: OpenAIBackend, renderer: ChatRenderer) -> None:
    prompt = renderer.prompt_ids([Message("user", "Count from one to twenty.")])
    free = backend.generate([prompt], _greedy(renderer, cap=8))[0].token_ids
    stop_at = next(i for i in range(2, len(free)) if free[i] not in free[:i])
    params = replace(_greedy(renderer, cap=8), stop_token_ids=(free[stop_at],))
    [gen] = backend.generate([prompt], params)
    assert gen.token_ids == free[: stop_at + 1]
    assert gen.finish_reason == "stop"


def test_seeded_sampling_repeats_and_parallel_requests_respect_the_limit(
    llama_server, tokenizer, renderer: ChatRenderer
) -> None:
    hooks = PeakInFlight()
    backend = OpenAIBackend(
        llama_server.base_url,
        llama_server.model,
        tokenizer,
        extra_body=LLAMA_CPP_NEUTRAL_SAMPLING,
        prompt_format="text",
        max_concurrency=2,
        http_client=hooks.client(),
    )
    prompt = renderer.prompt_ids([Message("user", "Write a short poem.")])
    params = SamplingParams(max_new_tokens=4, temperature=1.0, seed=7)
    first = backend.generate([prompt] * 3, params)
    second = backend.generate([prompt] * 3, params)
    assert [g.token_ids for g in first] == [g.token_ids for g in second]
    assert len({g.token_ids for g in first}) > 1  # each prompt of a group has its own seed
    assert hooks.peak == 2  # requests did run in parallel, never more than the limit


def test_keyword_rollout_through_the_runner(backend: OpenAIBackend, renderer: ChatRenderer) -> None:
    import turngym
    from turngym.agents.rollout import GroupSpec, RolloutRunner

    runner = RolloutRunner(
        lambda: turngym.make("turngym/Keyword-v0"),
        backend,
        renderer,
        sampling=SamplingParams(max_new_tokens=8, temperature=0.0),
        max_episode_tokens=512,
        failure_policy="fail_fast",
    )
    try:
        result = runner.run_groups(
            [GroupSpec(options={"task_index": i, "split": "test"}, seed=i) for i in range(2)],
            group_size=1,
        )
    finally:
        runner.close()
    assert result.metrics["rollout/failed"] == 0
    for traj in result.all_trajectories:
        assert traj.terminated and traj.turn_rewards[0] in (0.0, 1.0)
        [seg] = traj.segments
        start, end = seg.turn_spans[0]
        sampled = seg.token_ids[start:end]
        assert all(seg.loss_mask[start:end]) and not any(seg.loss_mask[:start])
        text, _ = renderer.split_action(sampled)
        assert traj.messages[-1].role == "assistant" and traj.messages[-1].text == text
        [ask] = [m.text for m in traj.messages if "Reply with the word" in m.text]
        keyword = ask.split("'")[1]
        assert traj.turn_rewards[0] == float(keyword in text.lower())


def test_llama_cpp_server_takes_token_prompts_and_returns_ids(
    llama_cpp_server, tokenizer, renderer: ChatRenderer
) -> None:
    """llama.cpp's own server: token-id prompts, sampled ids and the stop token's logprob."""
    backend = OpenAIBackend(
        llama_cpp_server.base_url,
        llama_cpp_server.model,
        tokenizer,
        extra_body=LLAMA_CPP_NEUTRAL_SAMPLING,
    )
    prompt = renderer.prompt_ids([Message("user", PROMPT)])
    [gen] = backend.generate([prompt], _greedy(renderer, cap=12))
    assert backend.prompt_format == "tokens" and backend.stats["text_prompts"] == 0
    assert gen.finish_reason == "stop" and gen.token_ids[-1] in renderer.stop_token_ids
    assert backend.stats["stop_logprob_missing"] == 0 and gen.logprobs[-1] < 0.0
    direct = backend.connection.client.completions.create(
        model=llama_cpp_server.model,
        prompt=prompt,
        max_tokens=12,
        temperature=0.0,
        extra_body=LLAMA_CPP_NEUTRAL_SAMPLING,
    )
    text, _ = renderer.split_action(gen.token_ids)
    assert text == direct.choices[0].text

"""HFBackend's speed paths (shared prefill of identical prompts, finished rows leaving the batch,
last-position logits only) give the straightforward sampler's tokens and log-probabilities."""

from __future__ import annotations

import pytest
import torch

from tests.micro_models import micro_llama
from turngym.agents.backend import SamplingParams
from turngym.agents.hf import HFBackend
from turngym.trainer.losses import sequence_logprobs

PAD = 0


@pytest.fixture(scope="module")
def tiny_llama() -> torch.nn.Module:
    return micro_llama(61)


def _greedy_without_cache(
    model: torch.nn.Module, prompt: list[int], steps: int, stop: set[int]
) -> tuple[list[int], list[float]]:
    """One prompt at a time, the whole sequence re-run every step: nothing to get wrong."""
    ids = list(prompt)
    tokens: list[int] = []
    logprobs: list[float] = []
    with torch.no_grad():
        for _ in range(steps):
            logits = model(input_ids=torch.tensor([ids])).logits[0, -1]
            logp = torch.log_softmax(logits.float(), dim=-1)
            nxt = int(logp.argmax())
            tokens.append(nxt)
            logprobs.append(float(logp[nxt]))
            ids.append(nxt)
            if nxt in stop:
                break
    return tokens, logprobs


def _prompts() -> list[list[int]]:
    g = torch.Generator().manual_seed(2)
    shared = torch.randint(1, 61, (7,), generator=g).tolist()
    other = torch.randint(1, 61, (4,), generator=g).tolist()
    # a group of identical prompts, another shorter group (left padding), and a loner
    return [shared] * 3 + [other] * 2 + [torch.randint(1, 61, (5,), generator=g).tolist()]


def test_greedy_matches_one_prompt_at_a_time(tiny_llama: torch.nn.Module) -> None:
    prompts = _prompts()
    # Stop on the tokens the rows pick first, so rows finish at different steps.
    first = {_greedy_without_cache(tiny_llama, p, 1, set())[0][0] for p in prompts}
    stop = set(list(first)[:1])
    caps = [9, 9, 3, 9, 6, 9]
    backend = HFBackend(tiny_llama, pad_token_id=PAD)
    params = SamplingParams(max_new_tokens=9, temperature=0.0, stop_token_ids=tuple(stop))
    out = backend.generate(prompts, params, max_new_tokens=caps)
    lengths = set()
    for p, cap, gen in zip(prompts, caps, out, strict=True):
        tokens, logprobs = _greedy_without_cache(tiny_llama, p, cap, stop)
        assert list(gen.token_ids) == tokens
        assert gen.logprobs == pytest.approx(logprobs, abs=1e-4)
        assert gen.finish_reason == ("stop" if tokens[-1] in stop else "length")
        lengths.add(len(tokens))
    assert len(lengths) > 1, "rows should finish at different steps for this test to mean much"


def test_sampled_logprobs_match_a_full_forward(tiny_llama: torch.nn.Module) -> None:
    prompts = _prompts()
    backend = HFBackend(tiny_llama, pad_token_id=PAD)
    params = SamplingParams(max_new_tokens=12, temperature=0.8, stop_token_ids=(3, 5, 7), seed=1)
    out = backend.generate(prompts, params)
    assert len({len(g.token_ids) for g in out}) > 1  # some rows left the batch early
    for p, gen in zip(prompts, out, strict=True):
        ids = torch.tensor([p + list(gen.token_ids)])
        with torch.no_grad():
            lp = sequence_logprobs(tiny_llama(input_ids=ids).logits, ids, temperature=0.8)
        torch.testing.assert_close(
            lp[0, len(p) :], torch.tensor(gen.logprobs), atol=1e-4, rtol=1e-4
        )
        stopped = gen.token_ids[-1] in (3, 5, 7)
        assert gen.finish_reason == ("stop" if stopped else "length")
        assert stopped or len(gen.token_ids) == 12


def test_same_seed_same_samples(tiny_llama: torch.nn.Module) -> None:
    backend = HFBackend(tiny_llama, pad_token_id=PAD)
    params = SamplingParams(max_new_tokens=8, temperature=1.0, stop_token_ids=(3,), seed=5)
    a = backend.generate(_prompts(), params)
    b = backend.generate(_prompts(), params)
    assert [g.token_ids for g in a] == [g.token_ids for g in b]


def test_bad_max_new_tokens_is_rejected(tiny_llama: torch.nn.Module) -> None:
    backend = HFBackend(tiny_llama, pad_token_id=PAD)
    with pytest.raises(ValueError, match="one entry per prompt"):
        backend.generate(_prompts(), SamplingParams(max_new_tokens=4), max_new_tokens=[1])

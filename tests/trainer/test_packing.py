"""Packing and sparse log-probabilities give the padded path's numbers (values and gradients)."""

from __future__ import annotations

import pytest
import torch

from tests.micro_models import micro_llama
from turngym.trainer.losses import policy_loss, sequence_logprobs, token_entropy
from turngym.trainer.packing import (
    masked_logprobs,
    pack_sequences,
    pack_shared_prefix,
    supports_logits_to_keep,
    supports_packing,
)

PAD = 0


@pytest.fixture(scope="module")
def tiny_llama() -> torch.nn.Module:
    return micro_llama(97, attn_implementation="sdpa")


def _batch(seed: int = 1) -> tuple[list[list[int]], list[list[int]]]:
    """Uneven sequences: a group sharing a 6-token prompt (mask 0) with completions of varying
    length, a second group with another prompt, and a loner."""
    g = torch.Generator().manual_seed(seed)
    prompt = torch.randint(1, 97, (6,), generator=g).tolist()
    other = torch.randint(1, 97, (9,), generator=g).tolist()
    ids, masks = [], []
    for p, n in [(prompt, 17), (prompt, 3), (other, 5), (prompt, 9), (prompt, 1), (other, 8)]:
        completion = torch.randint(1, 97, (n,), generator=g).tolist()
        ids.append(p + completion)
        masks.append([0] * len(p) + [1] * n)
    # a multi-turn-like sequence: an observation (mask 0) between two sampled spans
    ids.append(prompt + [5, 6, 7, 8, 9, 10, 11])
    masks.append([0] * 6 + [1, 1, 0, 0, 1, 1, 1])
    # a loner whose prompt starts like the group's but is longer
    ids.append(prompt + [3, 3, 4, 4])
    masks.append([0] * 8 + [1, 1])
    return ids, masks


def _padded(
    model: torch.nn.Module, ids: list[list[int]], masks: list[list[int]], temperature: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    L = max(len(t) for t in ids)
    ids_BT = torch.full((len(ids), L), PAD)
    attn_BT = torch.zeros((len(ids), L), dtype=torch.long)
    mask_BT = torch.zeros((len(ids), L))
    for i, (t, m) in enumerate(zip(ids, masks, strict=True)):
        ids_BT[i, : len(t)] = torch.tensor(t)
        attn_BT[i, : len(t)] = 1
        mask_BT[i, : len(t)] = torch.tensor(m, dtype=torch.float32)
    logits = model(input_ids=ids_BT, attention_mask=attn_BT).logits
    lp = sequence_logprobs(logits, ids_BT, temperature=temperature)
    ent = token_entropy(logits, temperature=temperature)
    return lp, ent, mask_BT, ids_BT


def test_pack_sequences_layout() -> None:
    packed = pack_sequences([[1, 2, 3, 4], [5, 6], [7], [8, 9]], pad_id=PAD)
    # capacity = longest (4): [1 2 3 4] | [5 6 8 9] | [7 pad pad pad] -> 3 rows, not 4
    assert packed.input_ids_RC.shape == (3, 4)
    for i, seq in enumerate([[1, 2, 3, 4], [5, 6], [7], [8, 9]]):
        row, col = packed.placement[i]
        assert packed.input_ids_RC[row, col : col + len(seq)].tolist() == seq
        assert packed.position_ids_RC[row, col : col + len(seq)].tolist() == list(range(len(seq)))
    assert packed.padding_fraction == pytest.approx(1 - 9 / 12)


def test_pack_sequences_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="no sequences"):
        pack_sequences([], pad_id=PAD)
    with pytest.raises(ValueError, match="at least one token"):
        pack_sequences([[1], []], pad_id=PAD)
    with pytest.raises(ValueError, match="capacity 2"):
        pack_sequences([[1, 2, 3]], pad_id=PAD, capacity=2)


@pytest.mark.parametrize(("pack", "share"), [(True, True), (True, False), (False, False)])
@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_masked_logprobs_match_padded_forward(
    tiny_llama: torch.nn.Module, pack: bool, share: bool, temperature: float
) -> None:
    ids, masks = _batch()
    with torch.no_grad():
        ref_lp, ref_ent, mask_BT, _ = _padded(tiny_llama, ids, masks, temperature)
        lp, ent, stats = masked_logprobs(
            tiny_llama,
            ids,
            masks,
            pad_id=PAD,
            temperature=temperature,
            entropy=True,
            pack=pack,
            share_prefix=share,
        )
    assert ent is not None
    on = mask_BT.bool()
    on[:, 0] = False
    assert lp.shape == ref_lp.shape
    torch.testing.assert_close(lp[on], ref_lp[on], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ent[on], ref_ent[on], atol=1e-5, rtol=1e-5)
    assert bool((lp[~on] == 0).all()) and bool((ent[~on] == 0).all())
    assert stats["logit_positions"] == float(on.sum())
    if pack:  # packing removed most of the padding of this uneven batch
        padded_fraction = 1 - sum(map(len, ids)) / (len(ids) * max(map(len, ids)))
        assert stats["padding_fraction"] < padded_fraction / 2
    # 5 sequences share 5 prompt tokens (4 copies saved), 2 share 8 (1 saved), the loner none
    assert stats["shared_prefix_tokens"] == (5 * 4 + 8 * 1 if share else 0)


@pytest.mark.parametrize("share", [True, False])
def test_policy_loss_and_gradients_match_padded_path(
    tiny_llama: torch.nn.Module, share: bool
) -> None:
    ids, masks = _batch(seed=3)
    g = torch.Generator().manual_seed(4)
    advantages = torch.randn(len(ids), generator=g)
    kwargs = {"clip_eps": 0.2, "token_normalizer": float(sum(map(sum, masks)))}

    def grads_of(fast: bool) -> tuple[float, list[torch.Tensor]]:
        tiny_llama.zero_grad(set_to_none=True)
        if fast:
            lp, _, _ = masked_logprobs(
                tiny_llama, ids, masks, pad_id=PAD, pack=True, share_prefix=share
            )
            mask_BT = _padded(tiny_llama, ids, masks, 1.0)[2]
        else:
            lp, _, mask_BT, _ = _padded(tiny_llama, ids, masks, 1.0)
        # old logprobs a little off-policy so the clip and the ratio both matter
        old = lp.detach() + 0.05 * torch.randn(lp.shape, generator=torch.Generator().manual_seed(5))
        loss, _ = policy_loss(lp, old, advantages, mask_BT, **kwargs)
        loss.backward()
        return float(loss.detach()), [p.grad.clone() for p in tiny_llama.parameters()]

    fast_loss, fast_grads = grads_of(True)
    slow_loss, slow_grads = grads_of(False)
    assert fast_loss == pytest.approx(slow_loss, rel=1e-5, abs=1e-6)
    assert any(float(g.abs().sum()) > 0 for g in slow_grads)
    for a, b in zip(fast_grads, slow_grads, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_pack_shared_prefix_layout() -> None:
    ids = [[1, 2, 3, 4, 5], [1, 2, 3, 6], [9, 8, 7]]
    masks = [[0, 0, 0, 1, 1], [0, 0, 0, 1], [0, 1, 1]]
    tree = pack_shared_prefix(ids, masks, pad_id=PAD)
    # [1 2] stored once, then [3 4 5] and [3 6]; the third sequence alone: 7 + 3 = 10 slots
    assert tree.shared_tokens == 2
    flat_ids = tree.input_ids_RC.flatten()
    flat_pos = tree.position_ids_RC.flatten()
    for seq, slots in zip(ids, tree.slots, strict=True):
        assert flat_ids[slots].tolist() == seq
        assert flat_pos[slots].tolist() == list(range(len(seq)))
    # the token 6 (second branch) sees 1 2 (prefix) and its own 3, not the first branch's
    width = tree.input_ids_RC.shape[1]
    allowed = tree.attention_R1CC[:, 0].reshape(-1, width) == 0  # (row * width + query, key)
    query = int(tree.slots[1][3])
    row = query // width
    seen = {int(flat_ids[row * width + k]) for k in allowed[query].nonzero().flatten()}
    assert seen == {1, 2, 3, 6}
    # a unit limit of 6 tokens splits the 2-sequence cluster: nothing shared, same tokens
    split = pack_shared_prefix(ids, masks, pad_id=PAD, max_unit_tokens=6)
    assert split.shared_tokens == 0
    for seq, slots in zip(ids, split.slots, strict=True):
        assert split.input_ids_RC.flatten()[slots].tolist() == seq
    with pytest.raises(ValueError, match="loss mask of 1"):
        pack_shared_prefix([[1, 2]], [[1]], pad_id=PAD)
    with pytest.raises(ValueError, match="no sequences"):
        pack_shared_prefix([], [], pad_id=PAD)


def test_masked_logprobs_without_masked_tokens_skips_the_model(tiny_llama: torch.nn.Module) -> None:
    lp, ent, stats = masked_logprobs(tiny_llama, [[1, 2, 3]], [[0, 0, 0]], pad_id=PAD)
    assert lp.shape == (1, 3) and ent is None and stats["logit_positions"] == 0.0
    assert bool((lp == 0).all())


def test_masked_logprobs_rejects_bad_input(tiny_llama: torch.nn.Module) -> None:
    with pytest.raises(ValueError, match="loss mask of 2"):
        masked_logprobs(tiny_llama, [[1, 2, 3]], [[1, 1]], pad_id=PAD)
    with pytest.raises(ValueError, match="1 sequences but 2 loss masks"):
        masked_logprobs(tiny_llama, [[1, 2, 3]], [[1, 1, 1], [1]], pad_id=PAD)
    with pytest.raises(ValueError, match="temperature"):
        masked_logprobs(tiny_llama, [[1, 2, 3]], [[0, 1, 1]], pad_id=PAD, temperature=0.0)


def test_support_checks(tiny_llama: torch.nn.Module) -> None:
    assert supports_logits_to_keep(tiny_llama)
    assert supports_packing(tiny_llama)

    class NoKeep(torch.nn.Module):
        def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
            return input_ids

    assert not supports_logits_to_keep(NoKeep())
    assert not supports_packing(NoKeep())

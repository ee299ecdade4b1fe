"""policy_loss, kl_penalty and sequence_logprobs against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from turngym.trainer.losses import kl_penalty, policy_loss, sequence_logprobs


def _inputs(ratios: list[float], advantage: float, masked_garbage: float = 100.0):
    """One sequence: position 0 is masked (with a garbage log-prob), then the given ratios."""
    old = torch.tensor([[0.0] + [-1.0] * len(ratios)])
    new = torch.tensor(
        [[masked_garbage] + [-1.0 + math.log(r) for r in ratios]], requires_grad=True
    )
    mask = torch.tensor([[0] + [1] * len(ratios)])
    return new, old, torch.tensor([advantage]), mask


def test_ratio_above_the_clip_range_is_clipped() -> None:
    new, old, adv, mask = _inputs([1.5, 0.9], advantage=1.0)
    loss, m = policy_loss(new, old, adv, mask, clip_eps=0.2)
    # token 1: min(1.5, 1.2) = 1.2; token 2: min(0.9, 0.9) = 0.9; mean of negatives
    assert loss.item() == pytest.approx(-(1.2 + 0.9) / 2, abs=1e-6)
    assert m["loss/clip_frac"] == pytest.approx(0.5)
    assert m["loss/ratio_mean"] == pytest.approx(1.2, abs=1e-6)
    approx_kl = ((1.5 - 1 - math.log(1.5)) + (0.9 - 1 - math.log(0.9))) / 2
    assert m["loss/approx_kl"] == pytest.approx(approx_kl, abs=1e-6)
    assert m["loss/tokens"] == 2.0
    assert "loss/kl" not in m
    loss.backward()
    # clipped token: no gradient; unclipped: d(-ratio * A)/dlogp / 2 = -0.9 / 2; masked: 0
    assert torch.allclose(new.grad, torch.tensor([[0.0, 0.0, -0.45]]), atol=1e-6)


def test_clip_eps_high_widens_the_upper_range() -> None:
    new, old, adv, mask = _inputs([1.5, 0.9], advantage=1.0)
    loss, m = policy_loss(new, old, adv, mask, clip_eps=0.2, clip_eps_high=0.6)
    assert loss.item() == pytest.approx(-(1.5 + 0.9) / 2, abs=1e-6)
    assert m["loss/clip_frac"] == 0.0


def test_negative_advantage_is_clipped_below_and_pessimistic_above() -> None:
    new, old, adv, mask = _inputs([0.5, 1.5], advantage=-1.0)
    loss, m = policy_loss(new, old, adv, mask, clip_eps=0.2)
    # ratio 0.5: -min(-0.5, -0.8) = 0.8 (clipped); ratio 1.5: -min(-1.5, -1.2) = 1.5 (not)
    assert loss.item() == pytest.approx((0.8 + 1.5) / 2, abs=1e-6)
    assert m["loss/clip_frac"] == pytest.approx(0.5)


def _two_sequences():
    lp = torch.zeros(3, 3, requires_grad=True)
    old = torch.zeros(3, 3)  # ratio 1 everywhere
    adv = torch.tensor([1.0, -2.0, 5.0])
    mask = torch.tensor([[1, 1, 1], [1, 0, 0], [0, 0, 0]])  # the third sequence is empty
    return lp, old, adv, mask


def test_token_and_sequence_aggregation_differ() -> None:
    lp, old, adv, mask = _two_sequences()
    # per-token losses: sequence 0 -> -1, -1, -1; sequence 1 -> 2
    token, _ = policy_loss(lp, old, adv, mask, clip_eps=0.2, loss_agg="token")
    assert token.item() == pytest.approx((-3 + 2) / 4)
    seq, m = policy_loss(lp, old, adv, mask, clip_eps=0.2, loss_agg="sequence")
    assert seq.item() == pytest.approx((-1 + 2) / 2)  # the empty sequence does not count
    assert m["loss/policy"] == pytest.approx(0.5)


def test_explicit_normalizers() -> None:
    lp, old, adv, mask = _two_sequences()
    token, m = policy_loss(lp, old, adv, mask, clip_eps=0.2, token_normalizer=10.0)
    assert token.item() == pytest.approx(-1 / 10)
    assert m["loss/total"] == pytest.approx(-0.1)
    assert m["loss/policy"] == pytest.approx(-0.25)  # metrics ignore the normalizers
    seq, _ = policy_loss(lp, old, adv, mask, clip_eps=0.2, loss_agg="sequence", seq_normalizer=4)
    assert seq.item() == pytest.approx(1 / 4)


def test_kl_estimators_by_hand() -> None:
    logp = torch.tensor([[-1.0, -2.0]])
    ref = torch.tensor([[-1.5, -1.0]])
    k1 = kl_penalty(logp, ref, "k1")
    k3 = kl_penalty(logp, ref, "k3")
    assert torch.allclose(k1, torch.tensor([[0.5, -1.0]]))
    # k3 = exp(ref - logp) - (ref - logp) - 1
    expected_k3 = [math.exp(-0.5) + 0.5 - 1, math.exp(1.0) - 1.0 - 1]
    assert torch.allclose(k3, torch.tensor([expected_k3]), atol=1e-6)
    with pytest.raises(ValueError, match="estimator"):
        kl_penalty(logp, ref, "k4")  # type: ignore[arg-type]


def test_kl_term_enters_the_loss() -> None:
    logp = torch.tensor([[-1.0, -2.0, 7.0]], requires_grad=True)
    ref = torch.tensor([[-1.5, -1.0, 0.0]])
    mask = torch.tensor([[1, 1, 0]])
    kw = {"clip_eps": 0.2, "ref_logprobs_BT": ref, "kl_coef": 0.1}
    # advantage 0 and ratio 1: only the KL term is left
    loss, m = policy_loss(logp, logp.detach(), torch.zeros(1), mask, **kw, kl_estimator="k3")
    k3_mean = ((math.exp(-0.5) + 0.5 - 1) + (math.exp(1.0) - 2)) / 2
    assert m["loss/kl"] == pytest.approx(k3_mean, abs=1e-6)
    assert loss.item() == pytest.approx(0.1 * k3_mean, abs=1e-6)
    loss, m = policy_loss(logp, logp.detach(), torch.zeros(1), mask, **kw, kl_estimator="k1")
    assert m["loss/kl"] == pytest.approx((0.5 - 1.0) / 2)
    assert loss.item() == pytest.approx(0.1 * -0.25)


def test_masked_garbage_never_produces_nan() -> None:
    new, old, adv, mask = _inputs([1.0], advantage=1.0, masked_garbage=1e4)
    ref = torch.tensor([[-1e4, -1.0]])
    loss, m = policy_loss(new, old, adv, mask, clip_eps=0.2, ref_logprobs_BT=ref, kl_coef=1.0)
    loss.backward()
    assert math.isfinite(loss.item()) and all(math.isfinite(v) for v in m.values())
    assert torch.isfinite(new.grad).all()


def test_all_masked_batch_gives_zero_loss_with_a_graph() -> None:
    lp = torch.randn(2, 3, requires_grad=True)
    loss, m = policy_loss(lp, lp.detach(), torch.ones(2), torch.zeros(2, 3), clip_eps=0.2)
    loss.backward()
    assert loss.item() == 0.0 and m["loss/tokens"] == 0.0
    assert torch.equal(lp.grad, torch.zeros(2, 3))


def test_shape_errors() -> None:
    with pytest.raises(ValueError, match="one shape"):
        policy_loss(
            torch.zeros(2, 3), torch.zeros(2, 4), torch.zeros(2), torch.ones(2, 3), clip_eps=0.2
        )
    with pytest.raises(ValueError, match="advantages"):
        policy_loss(
            torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(3), torch.ones(2, 3), clip_eps=0.2
        )
    with pytest.raises(ValueError, match="loss_agg"):
        policy_loss(
            torch.zeros(2, 3),
            torch.zeros(2, 3),
            torch.zeros(2),
            torch.ones(2, 3),
            clip_eps=0.2,
            loss_agg="mean",  # type: ignore[arg-type]
        )


@pytest.mark.parametrize("loss_agg", ["token", "sequence"])
def test_micro_batches_with_normalizers_give_the_full_batch_gradient(loss_agg: str) -> None:
    gen = torch.Generator().manual_seed(0)
    B, T = 6, 7
    base = torch.randn(B, T, generator=gen)
    old = base + 0.3 * torch.randn(B, T, generator=gen)
    ref = base + 0.2 * torch.randn(B, T, generator=gen)
    adv = torch.randn(B, generator=gen)
    lengths = torch.tensor([7, 3, 0, 5, 1, 6])
    mask = (torch.arange(T)[None, :] < lengths[:, None]).long()
    kw = {
        "clip_eps": 0.2,
        "clip_eps_high": 0.28,
        "loss_agg": loss_agg,
        "ref_logprobs_BT": None,
        "kl_coef": 0.05,
    }

    full_lp = base.clone().requires_grad_(True)
    loss, _ = policy_loss(full_lp, old, adv, mask, **{**kw, "ref_logprobs_BT": ref})
    loss.backward()

    def accumulate(normalize: bool) -> torch.Tensor:
        lp = base.clone().requires_grad_(True)
        total = 0.0
        for s in range(0, B, 2):
            sl = slice(s, s + 2)
            norms = {}
            if normalize:
                norms = {
                    "token_normalizer": float(mask.sum()),
                    "seq_normalizer": float((lengths > 0).sum()),
                }
            part, m = policy_loss(
                lp[sl], old[sl], adv[sl], mask[sl], **{**kw, "ref_logprobs_BT": ref[sl]}, **norms
            )
            part.backward()
            total += m["loss/total"]
        if normalize:
            assert total == pytest.approx(loss.item(), abs=1e-6)
        return lp.grad

    assert torch.allclose(accumulate(normalize=True), full_lp.grad, atol=1e-7)
    assert not torch.allclose(accumulate(normalize=False), full_lp.grad, atol=1e-4)


def test_sequence_logprobs_by_hand() -> None:
    ln3 = math.log(3.0)
    logits = torch.tensor([[[0.0, ln3], [0.0, 0.0], [9.0, -9.0]]])  # (1, 3, 2)
    ids = torch.tensor([[1, 1, 0]])
    lp = sequence_logprobs(logits, ids)
    # token 1 after softmax [0.25, 0.75] -> log 0.75; token 0 after [0.5, 0.5] -> log 0.5
    assert torch.allclose(lp, torch.tensor([[0.0, math.log(0.75), math.log(0.5)]]), atol=1e-6)
    lp_t2 = sequence_logprobs(logits, ids, temperature=2.0)
    s3 = math.sqrt(3.0)
    assert lp_t2[0, 1].item() == pytest.approx(math.log(s3 / (1 + s3)), abs=1e-6)


def test_sequence_logprobs_chunked_matches_log_softmax() -> None:
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(3, 9, 11, generator=gen)
    ids = torch.randint(0, 11, (3, 9), generator=gen)
    ref = torch.log_softmax(logits[:, :-1] / 0.7, dim=-1).gather(-1, ids[:, 1:, None]).squeeze(-1)
    for chunk in (None, 1, 3, 100):
        lp = sequence_logprobs(logits, ids, temperature=0.7, chunk_size=chunk)
        assert lp.shape == (3, 9) and lp.dtype == torch.float32
        assert torch.equal(lp[:, 0], torch.zeros(3))
        assert torch.allclose(lp[:, 1:], ref, atol=1e-5)
    bf16 = sequence_logprobs(logits.bfloat16(), ids)
    assert bf16.dtype == torch.float32
    with pytest.raises(ValueError, match="temperature"):
        sequence_logprobs(logits, ids, temperature=0.0)

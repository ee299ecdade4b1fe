"""Every algorithm switch of AlgoConfig against values computed by hand in the test.

Advantage estimators (RLOO, REINFORCE++, REINFORCE++ w/ Baseline) and their dispatcher; the
GSPO sequence-level ratio; truncated importance sampling; the k2 KL estimator; the entropy
bonus and ``token_entropy``; the config checks of the new fields.
"""

from __future__ import annotations

import math

import pytest
import torch

from turngym.trainer.advantages import (
    ADVANTAGE_ESTIMATORS,
    compute_advantages,
    reinforce_pp_advantages,
    rloo_advantages,
)
from turngym.trainer.config import AlgoConfig, ConfigError, TrainConfig
from turngym.trainer.losses import kl_penalty, policy_loss, token_entropy

# ---------------------------------------------------------------------------------------------
# Advantage estimators
# ---------------------------------------------------------------------------------------------


def test_rloo_leave_one_out_by_hand() -> None:
    # rewards [1, 0, 0, 1]: for a 1, the others are [0, 0, 1] -> mean 1/3 -> 1 - 1/3 = 2/3;
    # for a 0, the others are [1, 0, 1] -> mean 2/3 -> 0 - 2/3 = -2/3.
    adv = rloo_advantages(torch.tensor([1.0, 0.0, 0.0, 1.0]), torch.zeros(4, dtype=torch.long))
    assert torch.allclose(adv, torch.tensor([2 / 3, -2 / 3, -2 / 3, 2 / 3]), atol=1e-7)


def test_rloo_interleaved_groups_and_singletons() -> None:
    rewards = torch.tensor([1.0, 2.0, 3.0, 10.0, 20.0, 7.0])
    groups = torch.tensor([7, 3, 7, 3, 7, 5])
    # group 7 = [1, 3, 20]: 1 - (3+20)/2 = -10.5; 3 - (1+20)/2 = -7.5; 20 - (1+3)/2 = 18
    # group 3 = [2, 10]: 2 - 10 = -8; 10 - 2 = 8
    # group 5 = [7] alone: no other sample -> 0
    adv = compute_advantages(rewards, groups, estimator="rloo")
    assert adv.tolist() == [-10.5, -8.0, -7.5, 8.0, 18.0, 0.0]
    # std_normalize does not apply to RLOO
    assert compute_advantages(rewards, groups, estimator="rloo", std_normalize=False).equal(adv)


def test_reinforce_pp_whitens_with_batch_statistics_ignoring_groups() -> None:
    rewards = torch.tensor([1.0, 0.0, 0.0, 0.0])
    # batch mean 1/4; centred [3/4, -1/4, -1/4, -1/4]; population variance
    # (9/16 + 3 * 1/16) / 4 = 12/64 = 3/16 -> std sqrt(3)/4
    # -> [3/4, -1/4, ...] / (sqrt(3)/4) = [3/sqrt(3), -1/sqrt(3), ...] = [sqrt(3), -1/sqrt(3), ...]
    s3 = math.sqrt(3.0)
    expected = torch.tensor([s3, -1 / s3, -1 / s3, -1 / s3])
    by_group = compute_advantages(
        rewards, torch.tensor([0, 0, 1, 1]), estimator="reinforce_pp", eps=0.0
    )
    assert torch.allclose(by_group, expected, atol=1e-6)
    # groups do not matter: group 1 = [0, 0] is constant, yet its episodes get -1/sqrt(3)
    one_group = reinforce_pp_advantages(rewards, eps=0.0)
    assert torch.allclose(one_group, expected, atol=1e-6)
    # without the std: only the batch mean is subtracted
    centred = compute_advantages(
        rewards, torch.tensor([0, 0, 1, 1]), estimator="reinforce_pp", std_normalize=False
    )
    assert centred.tolist() == [0.75, -0.25, -0.25, -0.25]


def test_reinforce_pp_baseline_group_mean_then_batch_std() -> None:
    rewards = torch.tensor([1.0, 0.0, 3.0, 1.0])
    groups = torch.tensor([0, 0, 1, 1])
    # group 0 = [1, 0], mean 0.5 -> [0.5, -0.5]; group 1 = [3, 1], mean 2 -> [1, -1]
    # batch mean of these is 0; population std sqrt((0.25 + 0.25 + 1 + 1) / 4) = sqrt(5/8)
    std = math.sqrt(5 / 8)
    adv = compute_advantages(rewards, groups, estimator="reinforce_pp_baseline", eps=0.0)
    assert torch.allclose(adv, torch.tensor([0.5, -0.5, 1.0, -1.0]) / std, atol=1e-6)
    # GRPO divides each group by its own std (0.5 and 1) instead: [1, -1, 1, -1]
    grpo = compute_advantages(rewards, groups, estimator="grpo", eps=0.0)
    assert grpo.tolist() == [1.0, -1.0, 1.0, -1.0]
    assert not torch.allclose(adv, grpo)
    # without the std it is Dr. GRPO's centring
    centred = compute_advantages(
        rewards, groups, estimator="reinforce_pp_baseline", std_normalize=False
    )
    assert centred.tolist() == [0.5, -0.5, 1.0, -1.0]


def test_reinforce_pp_default_eps_and_constant_batch() -> None:
    rewards = torch.tensor([2.0, 0.0])
    # mean 1, centred [1, -1], std 1 -> 1 / (1 + 1e-6)
    adv = compute_advantages(rewards, torch.tensor([0, 1]), estimator="reinforce_pp")
    assert adv[0].item() == pytest.approx(1 / (1 + 1e-6), rel=1e-7)
    constant = compute_advantages(torch.full((3,), 5.0), torch.arange(3), estimator="reinforce_pp")
    assert constant.tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="group_ids_N"):
        reinforce_pp_advantages(rewards, baseline=True)


def test_dispatcher_grpo_matches_and_rejects_unknown_names() -> None:
    rewards = torch.tensor([1.0, 0.0, 0.0, 1.0])
    groups = torch.zeros(4, dtype=torch.long)
    # GRPO: mean 0.5, population std 0.5 -> [1, -1, -1, 1]; Dr. GRPO -> [0.5, -0.5, ...]
    assert compute_advantages(rewards, groups, eps=0.0).tolist() == [1.0, -1.0, -1.0, 1.0]
    dr = compute_advantages(rewards, groups, std_normalize=False)
    assert dr.tolist() == [0.5, -0.5, -0.5, 0.5]
    with pytest.raises(ValueError, match=r"unknown advantage estimator 'ppo'.*'rloo'"):
        compute_advantages(rewards, groups, estimator="ppo")
    assert set(ADVANTAGE_ESTIMATORS) == {"grpo", "rloo", "reinforce_pp", "reinforce_pp_baseline"}


@pytest.mark.parametrize("estimator", ["grpo", "rloo", "reinforce_pp", "reinforce_pp_baseline"])
def test_every_estimator_handles_empty_integer_and_bad_inputs(estimator: str) -> None:
    empty = compute_advantages(
        torch.zeros(0), torch.zeros(0, dtype=torch.long), estimator=estimator
    )
    assert empty.shape == (0,)
    ints = compute_advantages(torch.tensor([1, 0]), torch.tensor([0, 0]), estimator=estimator)
    assert ints.dtype == torch.float32
    with pytest.raises(ValueError, match="equal length"):
        compute_advantages(torch.tensor([1.0, 0.0]), torch.tensor([0]), estimator=estimator)


# ---------------------------------------------------------------------------------------------
# GSPO: the sequence-level ratio
# ---------------------------------------------------------------------------------------------


def _gspo_batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    # Two sequences of two sampled tokens each (position 0 is masked, with a garbage value).
    # Sequence 0: token log-ratios 0.3 and 0.1 -> mean 0.2 -> s_0 = e^0.2 = 1.2214 (> 1.2)
    # Sequence 1: token log-ratios 0.2 and -0.4 -> mean -0.1 -> s_1 = e^-0.1 = 0.9048
    old = torch.full((2, 3), -1.0)
    new = torch.tensor([[50.0, -0.7, -0.9], [50.0, -0.8, -1.4]], requires_grad=True)
    mask = torch.tensor([[0, 1, 1], [0, 1, 1]])
    adv = torch.tensor([1.0, -1.0])
    return new, old, adv, mask


def test_gspo_clips_whole_sequences_by_hand() -> None:
    new, old, adv, mask = _gspo_batch()
    s0, s1 = math.exp(0.2), math.exp(-0.1)
    loss, m = policy_loss(new, old, adv, mask, clip_eps=0.2, loss_type="gspo", loss_agg="sequence")
    # seq 0, A = +1: -min(1.2214 * 1, clip(1.2214, 0.8, 1.2) * 1) = -1.2 (clipped)
    # seq 1, A = -1: -min(-0.9048, -0.9048) = 0.9048 (inside the range)
    # sequence aggregation: (-1.2 + 0.9048) / 2
    assert loss.item() == pytest.approx((-1.2 + s1) / 2, abs=1e-6)
    assert m["loss/clip_frac"] == pytest.approx(0.5)  # 2 of the 4 tokens: all of sequence 0
    assert m["loss/ratio_mean"] == pytest.approx((2 * s0 + 2 * s1) / 4, abs=1e-6)
    loss.backward()
    # seq 0 is clipped: no gradient at all (token-level PPO would still push its second
    # token, whose own ratio e^0.1 = 1.105 is inside the range).
    # seq 1: d(s_1)/d(logp_t) = s_1 * 1/2 (mean over 2 tokens), times 1/2 (two sequences)
    expected = torch.tensor([[0.0, 0.0, 0.0], [0.0, s1 / 4, s1 / 4]])
    assert torch.allclose(new.grad, expected, atol=1e-6)


def test_gspo_differs_from_token_level_ppo_on_the_same_batch() -> None:
    new, old, adv, mask = _gspo_batch()
    ppo, m = policy_loss(new, old, adv, mask, clip_eps=0.2, loss_agg="sequence")
    # seq 0 tokens, A = +1: ratios e^0.3 = 1.35 -> clipped to 1.2; e^0.1 -> 1.1052 (kept)
    # seq 1 tokens, A = -1: e^0.2 = 1.2214 -> -min(-1.2214, -1.2) = 1.2214;
    #                       e^-0.4 = 0.6703 -> -min(-0.6703, -0.8) = 0.8 (clipped)
    seq0 = -(1.2 + math.exp(0.1)) / 2
    seq1 = (math.exp(0.2) + 0.8) / 2
    assert ppo.item() == pytest.approx((seq0 + seq1) / 2, abs=1e-6)
    assert m["loss/clip_frac"] == pytest.approx(0.5)  # tokens 1 of seq 0 and 2 of seq 1


def test_gspo_token_aggregation_weighs_sequences_by_length() -> None:
    old = torch.zeros(2, 3)
    # seq 0: 3 tokens, log-ratios 0.1, 0, -0.1 -> mean 0 -> s_0 = 1; seq 1: 1 token, ratio 1
    new = torch.tensor([[0.1, 0.0, -0.1], [0.0, 9.0, 9.0]], requires_grad=True)
    mask = torch.tensor([[1, 1, 1], [1, 0, 0]])
    adv = torch.tensor([2.0, -1.0])
    loss, _ = policy_loss(new, old, adv, mask, clip_eps=0.2, loss_type="gspo")
    # per token: seq 0 -> -1 * 2 = -2 (x3 tokens); seq 1 -> 1 (x1); token mean (-6 + 1) / 4
    assert loss.item() == pytest.approx(-5 / 4, abs=1e-6)
    loss.backward()
    # d/dlogp_t of sum_t(-A s_0) / 4 with ds_0/dlogp_t = s_0 / 3: -2 * 3 * (1/3) / 4 = -0.5
    # seq 1: d(-A s_1)/dlogp = 1 * 1 / 4 = 0.25
    expected = torch.tensor([[-0.5, -0.5, -0.5], [0.25, 0.0, 0.0]])
    assert torch.allclose(new.grad, expected, atol=1e-6)


def test_unknown_loss_type_is_rejected() -> None:
    with pytest.raises(ValueError, match="loss_type"):
        policy_loss(
            torch.zeros(1, 2),
            torch.zeros(1, 2),
            torch.zeros(1),
            torch.ones(1, 2),
            clip_eps=0.2,
            loss_type="gspo_token",  # type: ignore[arg-type]
        )


# ---------------------------------------------------------------------------------------------
# Truncated importance sampling
# ---------------------------------------------------------------------------------------------


def test_tis_weights_are_capped_and_detached() -> None:
    old = torch.tensor([[-1.0, -1.0, -1.0, -1.0]])
    new = old.clone().requires_grad_(True)  # ratio 1: only the TIS weight changes the loss
    # behaviour log-probs: old - behav = [0.5, -0.5, 0, garbage at the masked position]
    behav = torch.tensor([[-1.5, -0.5, -1.0, 1e4]], requires_grad=True)
    mask = torch.tensor([[1, 1, 1, 0]])
    adv = torch.tensor([1.0])
    loss, m = policy_loss(
        new, old, adv, mask, clip_eps=0.2, behaviour_logprobs_BT=behav, tis_cap=1.5
    )
    # weights min(e^0.5 = 1.6487, 1.5) = 1.5, e^-0.5 = 0.6065, e^0 = 1
    w = [1.5, math.exp(-0.5), 1.0]
    assert loss.item() == pytest.approx(-sum(w) / 3, abs=1e-6)
    assert m["loss/tis_weight_mean"] == pytest.approx(sum(w) / 3, abs=1e-6)
    assert m["loss/tis_clip_frac"] == pytest.approx(1 / 3)
    assert m["loss/policy"] == pytest.approx(-sum(w) / 3, abs=1e-6)
    loss.backward()
    # d(-w_t * ratio_t * A / 3)/dlogp_t = -w_t / 3; nothing flows into the weights
    assert torch.allclose(new.grad, torch.tensor([[-w[0] / 3, -w[1] / 3, -1 / 3, 0.0]]))
    assert behav.grad is None


def test_tis_needs_both_arguments_and_a_positive_cap() -> None:
    lp = torch.zeros(1, 2)
    args = (lp, lp, torch.zeros(1), torch.ones(1, 2))
    with pytest.raises(ValueError, match="both tis_cap and behaviour_logprobs_BT"):
        policy_loss(*args, clip_eps=0.2, tis_cap=2.0)
    with pytest.raises(ValueError, match="both tis_cap and behaviour_logprobs_BT"):
        policy_loss(*args, clip_eps=0.2, behaviour_logprobs_BT=lp)
    with pytest.raises(ValueError, match="tis_cap must be > 0"):
        policy_loss(*args, clip_eps=0.2, behaviour_logprobs_BT=lp, tis_cap=0.0)
    with pytest.raises(ValueError, match="behaviour_logprobs"):
        policy_loss(*args, clip_eps=0.2, behaviour_logprobs_BT=torch.zeros(1, 3), tis_cap=2.0)


# ---------------------------------------------------------------------------------------------
# k2 KL estimator
# ---------------------------------------------------------------------------------------------


def test_k2_by_hand_in_the_estimator_and_the_loss() -> None:
    logp = torch.tensor([[-1.0, -2.0, 5.0]], requires_grad=True)
    ref = torch.tensor([[-1.5, -1.0, 0.0]])
    # k2 = 0.5 * (logp - ref)^2: 0.5 * 0.5^2 = 0.125, 0.5 * (-1)^2 = 0.5
    k2 = kl_penalty(logp.detach()[:, :2], ref[:, :2], "k2")
    assert torch.allclose(k2, torch.tensor([[0.125, 0.5]]))
    mask = torch.tensor([[1, 1, 0]])
    loss, m = policy_loss(
        logp,
        logp.detach(),
        torch.zeros(1),  # no policy-gradient term: only the KL is left
        mask,
        clip_eps=0.2,
        ref_logprobs_BT=ref,
        kl_coef=0.1,
        kl_estimator="k2",
    )
    assert m["loss/kl"] == pytest.approx((0.125 + 0.5) / 2)
    assert loss.item() == pytest.approx(0.1 * 0.3125, abs=1e-7)
    loss.backward()
    # d k2 / d logp = logp - ref = [0.5, -1]; times kl_coef / 2 tokens
    assert torch.allclose(logp.grad, torch.tensor([[0.025, -0.05, 0.0]]), atol=1e-7)


# ---------------------------------------------------------------------------------------------
# Entropy
# ---------------------------------------------------------------------------------------------


def test_entropy_of_a_uniform_distribution_is_log_v() -> None:
    V = 5
    ent = token_entropy(torch.zeros(2, 4, V))
    # position 0 has no prefix -> 0; every other position: uniform over 5 -> log 5
    expected = torch.tensor([[0.0] + [math.log(V)] * 3] * 2)
    assert ent.dtype == torch.float32 and torch.allclose(ent, expected, atol=1e-6)


def test_entropy_by_hand_with_temperature_banned_tokens_and_alignment() -> None:
    ln3 = math.log(3.0)
    logits = torch.tensor([[[0.0, ln3, -math.inf], [7.0, 7.0, -math.inf], [0.0, 0.0, 0.0]]])
    logits.requires_grad_(True)
    ent = token_entropy(logits)
    # position 1 uses logits[0]: p = [1/4, 3/4, 0] -> -(1/4 ln 1/4 + 3/4 ln 3/4); 0 log 0 = 0
    h1 = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    # position 2 uses logits[1]: p = [1/2, 1/2, 0] -> ln 2 (the last logits predict nothing)
    assert torch.allclose(ent, torch.tensor([[0.0, h1, math.log(2.0)]]), atol=1e-6)
    ent.sum().backward()
    assert torch.isfinite(logits.grad).all()
    # temperature 2 halves the logits: p = [1, sqrt 3] / (1 + sqrt 3)
    s3 = math.sqrt(3.0)
    p = [1 / (1 + s3), s3 / (1 + s3)]
    h1_t2 = -sum(q * math.log(q) for q in p)
    assert token_entropy(logits.detach(), temperature=2.0)[0, 1].item() == pytest.approx(
        h1_t2, abs=1e-6
    )


def test_entropy_chunked_matches_unchunked_values_and_gradients() -> None:
    gen = torch.Generator().manual_seed(3)
    base = torch.randn(2, 7, 11, generator=gen)
    full_logits = base.clone().requires_grad_(True)
    full = token_entropy(full_logits, temperature=0.7)
    # reference: -sum p log p through log_softmax
    logp = torch.log_softmax(base[:, :-1] / 0.7, dim=-1)
    assert torch.allclose(full[:, 1:], -(logp.exp() * logp).sum(-1), atol=1e-5)
    full.sum().backward()
    for chunk in (1, 3, 100):
        logits = base.clone().requires_grad_(True)
        ent = token_entropy(logits, temperature=0.7, chunk_size=chunk)
        assert torch.allclose(ent, full, atol=1e-6)
        ent.sum().backward()
        assert torch.allclose(logits.grad, full_logits.grad, atol=1e-6)
    assert token_entropy(base.bfloat16()).dtype == torch.float32
    with pytest.raises(ValueError, match="temperature"):
        token_entropy(base, temperature=0.0)
    with pytest.raises(ValueError, match="chunk_size"):
        token_entropy(base, chunk_size=0)


def test_entropy_bonus_enters_the_loss() -> None:
    lp = torch.zeros(1, 3)
    entropy = torch.tensor([[0.5, 1.0, 1e9]], requires_grad=True)  # the masked entry is garbage
    mask = torch.tensor([[1, 1, 0]])
    loss, m = policy_loss(
        lp, lp, torch.zeros(1), mask, clip_eps=0.2, entropy_BT=entropy, entropy_coef=0.1
    )
    # advantage 0: loss = -0.1 * mean(0.5, 1.0) = -0.075
    assert loss.item() == pytest.approx(-0.075)
    assert m["loss/entropy"] == pytest.approx(0.75)
    loss.backward()
    assert torch.allclose(entropy.grad, torch.tensor([[-0.05, -0.05, 0.0]]))
    # the metric is logged without the bonus, and the bonus needs the entropy
    no_bonus, m = policy_loss(lp, lp, torch.zeros(1), mask, clip_eps=0.2, entropy_BT=entropy)
    assert no_bonus.item() == 0.0 and m["loss/entropy"] == pytest.approx(0.75)
    with pytest.raises(ValueError, match="entropy_BT"):
        policy_loss(lp, lp, torch.zeros(1), mask, clip_eps=0.2, entropy_coef=0.1)


# ---------------------------------------------------------------------------------------------
# Micro-batch accumulation with GSPO (and TIS and entropy) stays exact
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("loss_agg", ["token", "sequence"])
def test_gspo_micro_batches_with_normalizers_give_the_full_batch_gradient(loss_agg: str) -> None:
    gen = torch.Generator().manual_seed(0)
    B, T = 6, 7
    base = torch.randn(B, T, generator=gen)
    old = base + 0.2 * torch.randn(B, T, generator=gen)
    behav = old + 0.3 * torch.randn(B, T, generator=gen)
    ref = base + 0.2 * torch.randn(B, T, generator=gen)
    ent = torch.rand(B, T, generator=gen)
    adv = torch.randn(B, generator=gen)
    lengths = torch.tensor([7, 3, 0, 5, 1, 6])
    mask = (torch.arange(T)[None, :] < lengths[:, None]).long()
    kw = {
        "clip_eps": 0.03,
        "clip_eps_high": 0.04,
        "loss_type": "gspo",
        "loss_agg": loss_agg,
        "kl_coef": 0.05,
        "kl_estimator": "k2",
        "tis_cap": 1.2,
        "entropy_coef": 0.01,
    }

    def run(lp: torch.Tensor, sl: slice, norms: dict[str, float]) -> tuple[torch.Tensor, dict]:
        return policy_loss(
            lp[sl],
            old[sl],
            adv[sl],
            mask[sl],
            ref_logprobs_BT=ref[sl],
            behaviour_logprobs_BT=behav[sl],
            entropy_BT=ent[sl],
            **kw,
            **norms,
        )

    full_lp = base.clone().requires_grad_(True)
    loss, full_m = run(full_lp, slice(0, B), {})
    loss.backward()
    assert 0.0 < full_m["loss/clip_frac"] < 1.0  # some sequences clipped, some not

    def accumulate(normalize: bool) -> torch.Tensor:
        lp = base.clone().requires_grad_(True)
        total = 0.0
        norms = {}
        if normalize:
            norms = {
                "token_normalizer": float(mask.sum()),
                "seq_normalizer": float((lengths > 0).sum()),
            }
        for s in range(0, B, 2):
            part, m = run(lp, slice(s, s + 2), norms)
            part.backward()
            total += m["loss/total"]
        if normalize:
            assert total == pytest.approx(loss.item(), abs=1e-6)
        return lp.grad

    assert torch.allclose(accumulate(normalize=True), full_lp.grad, atol=1e-7)
    assert not torch.allclose(accumulate(normalize=False), full_lp.grad, atol=1e-4)


# ---------------------------------------------------------------------------------------------
# Config
# ---------------------------------------------------------------------------------------------


def test_config_defaults_and_yaml_round_trip() -> None:
    algo = AlgoConfig()
    assert (algo.advantage, algo.policy_loss, algo.tis_cap, algo.entropy_coef) == (
        "grpo",
        "ppo_clip",
        None,
        0.0,
    )
    cfg = TrainConfig().apply_overrides(
        [
            "algo.advantage=rloo",
            "algo.policy_loss=gspo",
            "algo.kl_estimator=k2",
            "algo.tis_cap=2",
            "algo.entropy_coef=0.001",
        ]
    )
    assert cfg.validate().algo == AlgoConfig(
        advantage="rloo", policy_loss="gspo", kl_estimator="k2", tis_cap=2.0, entropy_coef=0.001
    )
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("algo.advantage=ppo", "algo.advantage"),
        ("algo.policy_loss=dpo", "algo.policy_loss"),
        ("algo.kl_estimator=k4", "algo.kl_estimator"),
    ],
)
def test_config_rejects_unknown_names_when_parsed(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TrainConfig().apply_overrides([override])


@pytest.mark.parametrize(
    ("algo", "message"),
    [
        (AlgoConfig(tis_cap=0.0), "algo.tis_cap"),
        (AlgoConfig(tis_cap=-1.0), "algo.tis_cap"),
        (AlgoConfig(tis_cap=math.inf), "algo.tis_cap"),
        (AlgoConfig(entropy_coef=-0.01), "algo.entropy_coef"),
        (AlgoConfig(advantage="ppo"), "algo.advantage"),  # type: ignore[arg-type]
        (AlgoConfig(policy_loss="dpo"), "algo.policy_loss"),  # type: ignore[arg-type]
        (AlgoConfig(kl_estimator="k4"), "algo.kl_estimator"),  # type: ignore[arg-type]
    ],
)
def test_validate_rejects_bad_algo_values(algo: AlgoConfig, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TrainConfig(algo=algo).validate()
    # the same config with the default AlgoConfig is valid
    TrainConfig().validate()

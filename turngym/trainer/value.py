"""Critics for PPO: a value head on the policy, or a separate critic model.

A critic maps a token sequence to one value per position: ``values_BT[b, p]`` estimates the
return from the state *after* token ``p`` has been read. The value of the state in which
the policy sampled token ``p`` is therefore ``values_BT[b, p - 1]``
(:func:`values_before_tokens`).

- ``"value_head"``: a linear head on the policy's last hidden state; policy and critic share
  the trunk, and the value loss is added to the policy loss with ``AlgoConfig.value_coef``
  (the layout of the original PPO-for-LM work and of TRL's former ``PPOTrainer``).
- ``"separate"``: its own transformer trunk (a copy of the initial policy, without the LM
  head) and head, trained by its own optimizer (the layout of OpenRLHF and veRL).

What this module does NOT cover: sharding or offloading the critic (use accelerate / FSDP as
for the policy); a critic of a different size than the policy.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["Critic", "ValueHead", "clipped_value_loss", "values_before_tokens"]


class ValueHead(nn.Module):
    """A linear map from hidden states to scalar values, initialised at zero output.

    Starting at exactly 0 keeps the first advantages equal to discounted returns, instead of
    returns minus noise from a random projection.
    """

    def __init__(self, hidden_size: int):
        super().__init__()
        self.proj = nn.Linear(hidden_size, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, hidden_BTH: Tensor) -> Tensor:
        """Values of shape ``(B, T)`` in float32."""
        return self.proj(hidden_BTH.to(self.proj.weight.dtype)).squeeze(-1).float()


class Critic(nn.Module):
    """A separate critic: a transformer trunk (no LM head) with a :class:`ValueHead`.

    Args:
        trunk: A transformers base model (``AutoModel``) returning ``last_hidden_state``.
    """

    def __init__(self, trunk: nn.Module):
        super().__init__()
        self.trunk = trunk
        self.head = ValueHead(int(trunk.config.hidden_size))

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        """Values of shape ``(B, T)``, one per position."""
        hidden = self.trunk(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.head(hidden)


def values_before_tokens(values_BT: Tensor) -> Tensor:
    """Shift values right by one: entry ``p`` becomes the value of the state before token ``p``.

    Position 0 (no state before the first token) gets 0; it is never a sampled token.
    """
    return torch.cat([values_BT.new_zeros(values_BT.shape[0], 1), values_BT[:, :-1]], dim=1)


def clipped_value_loss(
    values_BT: Tensor,
    old_values_BT: Tensor,
    returns_BT: Tensor,
    mask_BT: Tensor,
    *,
    clip: float | None,
    normalizer: float | None = None,
) -> tuple[Tensor, dict[str, float]]:
    """PPO's value loss, ``0.5 * max((V - R)^2, (V_old + clip(V - V_old, ±c) - R)^2)``.

    The clipped form keeps the critic from moving far from the values the advantages were
    computed with (Schulman et al. 2017; the form used by OpenAI's baselines ``ppo2``).

    Args:
        values_BT: Current values (with grad).
        old_values_BT: Values when the batch was collected (no grad).
        returns_BT: Regression targets (GAE returns).
        mask_BT: 1 where a value is trained (decision points), 0 elsewhere.
        clip: Clip range ``c``; None uses the unclipped squared error.
        normalizer: Denominator of the sum over masked positions; default this batch's count
            (pass the whole batch's count when accumulating micro-batches).

    Returns:
        ``(loss, metrics)`` with ``value/loss``, ``value/clip_frac``, ``value/mean`` and
        ``value/explained_variance`` on this batch's masked positions.
    """
    on = mask_BT.bool()
    zero = values_BT.new_zeros(())
    old = old_values_BT.detach()
    ret = returns_BT.detach()
    err = (values_BT - ret) ** 2
    if clip is not None:
        clipped = old + torch.clamp(values_BT - old, -clip, clip)
        err = torch.maximum(err, (clipped - ret) ** 2)
    err = torch.where(on, err, zero)
    count = float(on.sum())
    denom = normalizer if normalizer is not None else max(count, 1.0)
    loss = 0.5 * err.sum() / denom
    metrics: dict[str, float] = {"value/loss": float(loss.detach())}
    if count:
        v, r = values_BT.detach()[on], ret[on]
        metrics["value/mean"] = float(v.mean())
        var_r = float(r.var(unbiased=False))
        metrics["value/explained_variance"] = (
            1.0 - float((r - v).var(unbiased=False)) / var_r if var_r > 0 else 0.0
        )
        if clip is not None:
            metrics["value/clip_frac"] = float(
                ((values_BT.detach() - old)[on].abs() > clip).float().mean()
            )
    return loss, metrics

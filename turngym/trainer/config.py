"""The training configuration: one typed tree of dataclasses, read from YAML and ``--set``.

:class:`TrainConfig` is the single source of truth for a run. The CLI and YAML files are
derived from it: every YAML key is a dataclass field, and ``--set a.b.c=value`` overrides any
field by its dotted path. Values are type-checked against the field annotations by one
generic recursive converter, so a typo or an ill-typed value fails before any model loads,
with an error that names the dotted path.

What this module does NOT cover: loading models or envs (it only names them), and checks
that need them (e.g. whether ``env.id`` is registered, whether ``model.max_context`` fits the
model). Those happen where the objects are built.

Example:
    >>> cfg = TrainConfig.from_dict({"optim": {"lr": 3e-5}})
    >>> cfg.apply_overrides(["rollout.group_size=4"]).rollout.group_size
    4
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import math
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

import yaml

from turngym.agents.context import ContextConfig

__all__ = [
    "AlgoConfig",
    "CheckpointConfig",
    "ConfigError",
    "EnvConfig",
    "EvalConfig",
    "LoraConfig",
    "ModelConfig",
    "OpenAIBackendConfig",
    "OptimConfig",
    "RolloutConfig",
    "TrainConfig",
]


class ConfigError(ValueError):
    """A configuration is malformed: unknown key, ill-typed value, unreadable file, bad range."""


# ---------------------------------------------------------------------------------------------
# The config tree
# ---------------------------------------------------------------------------------------------


@dataclass
class ModelConfig:
    """Which policy model to train and how to hold it in memory."""

    name: str = "smollm2-135m-instruct"
    """A built-in model name or a local transformers folder (never a hub download)."""
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    """Parameter dtype; ``auto`` picks bfloat16 on GPUs that support it, float32 on CPU."""
    device: str = "auto"
    """``auto``, ``cpu``, ``cuda``, ``cuda:1``, ...; ``auto`` picks CUDA when available."""
    gradient_checkpointing: bool = False
    """Recompute activations in the backward pass to save memory."""
    max_context: int | None = None
    """Context window in tokens; ``None`` uses the model's own limit."""
    backend: Literal["hf", "openai"] = "hf"
    """Who samples the policy's turns: the model itself through transformers, or an
    OpenAI-compatible server (``openai.*``; evaluation only, since the server's weights are
    not trained). ``name`` still gives the local tokenizer, which must match the server's."""


@dataclass
class OpenAIBackendConfig:
    """An OpenAI-compatible server as the policy (``model.backend: openai``).

    See :mod:`turngym.agents.openai_backend` for what is token-exact with which server.
    """

    base_url: str = "http://127.0.0.1:8000/v1"
    """The API root, e.g. ``http://127.0.0.1:8000/v1``."""
    model: str = "smollm2-135m-instruct"
    """The model name the server knows."""
    api_key_env: str = "OPENAI_API_KEY"
    """Environment variable holding the API key (unset: a placeholder key is sent)."""
    prompt_format: Literal["auto", "tokens", "text"] = "auto"
    """Send token ids (exact), decoded text (checked against the server's tokenizer), or
    whichever the server accepts."""
    token_exact: Literal["require", "best_effort"] = "require"
    """Fail when sampled token ids cannot be recovered exactly, or accept a best effort."""
    timeout_s: float = 120.0
    """Per-request timeout."""
    max_retries: int = 3
    """Retries with exponential backoff on connection errors, timeouts, 408/409/429 and 5xx."""
    max_concurrency: int = 8
    """Requests in flight at once."""
    extra_body: dict[str, Any] = field(default_factory=dict)
    """Extra request fields (e.g. llama.cpp's ``{repeat_penalty: 1.0, min_p: 0.0}``)."""


@dataclass
class LoraConfig:
    """Low-rank adapters (peft). When disabled, every parameter is trained."""

    enabled: bool = False
    """Train LoRA adapters instead of the full model."""
    r: int = 16
    """Adapter rank."""
    alpha: int = 32
    """LoRA scaling numerator (the update is scaled by ``alpha / r``)."""
    dropout: float = 0.0
    """Dropout on the adapter input."""
    target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"]
    )
    """Names of the linear modules that get adapters."""


@dataclass
class EnvConfig:
    """Which registered environment to train on."""

    id: str = "turngym/CodeInterpreter-v0"
    """A registered env id, ``turngym/Name-vN``."""
    kwargs: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments for the env's constructor (passed to ``make``)."""
    max_turns: int | None = None
    """Turn cap per episode; ``None`` keeps the env's registered default."""


@dataclass
class RolloutConfig:
    """How episodes are sampled each step: B tasks times G episodes per task."""

    tasks_per_step: int = 4
    """B: distinct tasks per training step."""
    group_size: int = 8
    """G: episodes per task; advantages are computed within each group."""
    max_new_tokens: int = 256
    """Token cap of one assistant turn."""
    temperature: float = 1.0
    """Sampling temperature (0 means greedy)."""
    top_p: float = 1.0
    """Nucleus sampling mass, in (0, 1]."""
    top_k: int = 0
    """Top-k sampling; 0 disables it."""
    max_episode_tokens: int = 2048
    """Token budget of a whole episode: the tokens it adds (first prompt, sampled and
    observation tokens), not the prefixes a context restart re-encodes, so it does not cap
    the tokens trained on (see docs/long_horizon.md)."""
    episode_timeout_s: float | None = None
    """Wall-clock limit of one episode; ``None`` means no limit."""
    failure_policy: Literal["fail_fast", "retry", "min_group"] = "retry"
    """On a failed episode: stop the run, retry with a fresh env, or keep groups that still
    have at least ``min_group_size`` good episodes."""
    max_retries: int = 2
    """Retries per failed episode under the ``retry`` policy."""
    min_group_size: int = 2
    """Smallest group that still reaches the trainer (a group of 1 has no advantage signal)."""
    generation_batch_size: int = 32
    """Most sequences one generation call of the backend handles at once."""


@dataclass
class AlgoConfig:
    """The policy-gradient objective: advantage estimator, policy loss and regularisers.

    The defaults are GRPO with PPO's clipped surrogate and token-level aggregation. The
    functions behind each switch (and the papers they come from) are documented in
    :mod:`turngym.trainer.advantages` and :func:`turngym.trainer.losses.policy_loss`.
    """

    advantage: Literal[
        "grpo", "rloo", "reinforce_pp", "reinforce_pp_baseline", "gae", "gae_turn", "gigpo"
    ] = "grpo"
    """Advantage estimator: GRPO (group mean/std), RLOO (leave-one-out group mean),
    REINFORCE++ (batch whitening), REINFORCE++ w/ Baseline (group mean, batch std), PPO's GAE
    over sampled tokens with a learned critic (``gae``), GAE over assistant turns with a
    turn-level critic (``gae_turn``, VL-DAC), or GiGPO (GRPO plus step-level groups of turns
    taken from the same env state). See :mod:`turngym.trainer.credit`."""
    critic: Literal["value_head", "separate"] = "value_head"
    """For ``gae`` / ``gae_turn``: a value head on the policy's trunk (trained with the policy,
    weighted by ``value_coef``) or a separate critic model with its own optimizer."""
    gamma: float = 1.0
    """Discount per decision point (token for ``gae``, turn for ``gae_turn`` and ``gigpo``)."""
    gae_lambda: float = 0.95
    """GAE's lambda."""
    value_coef: float = 0.5
    """Weight of the value loss next to the policy loss (``critic: value_head``)."""
    value_clip: float | None = 0.2
    """Clip range of PPO's clipped value loss; ``None`` for the plain squared error."""
    critic_lr: float | None = None
    """Learning rate of a separate critic; ``None`` uses ``optim.lr``."""
    whiten_advantages: bool = True
    """For ``gae`` / ``gae_turn``: normalize advantages over the batch's sampled tokens."""
    gigpo_step_weight: float = 1.0
    """GiGPO: weight of the step-level advantage added to the episode-level one."""
    ppo_epochs: int = 1
    """Passes over each step's batch (PPO reuses a batch for several epochs)."""
    num_minibatches: int = 1
    """Optimizer updates per epoch; the batch's sequences are shuffled and split evenly."""
    std_normalize: bool = True
    """Divide by a std: the group's for ``grpo`` (off is Dr. GRPO), the batch's for the
    REINFORCE++ variants; ``rloo`` never divides."""
    policy_loss: Literal["ppo_clip", "gspo"] = "ppo_clip"
    """Importance ratio per token (PPO/DAPO clipping) or per sequence (GSPO; use clip ranges
    around 3e-4 / 4e-4 and ``loss_agg: sequence`` for the paper's objective)."""
    loss_agg: Literal["token", "sequence"] = "token"
    """Average the loss over all sampled tokens of the batch, or per sequence first."""
    clip_eps: float = 0.2
    """Clip range below 1: ratios are clipped to ``[1 - clip_eps, 1 + clip_eps_high]``."""
    clip_eps_high: float | None = None
    """Clip range above 1 (DAPO's clip-higher); ``None`` uses ``clip_eps``."""
    kl_coef: float = 0.0
    """Weight of the KL penalty to the reference (initial) policy; 0 disables it."""
    kl_schedule: Literal["constant", "linear", "cosine"] = "constant"
    """How the KL weight moves from ``kl_coef`` at step 0 to ``kl_coef_final`` at the last step."""
    kl_coef_final: float | None = None
    """KL weight at the last step (``None``: ``kl_coef``, i.e. constant)."""
    ref_refresh_every: int = 0
    """Copy the policy into the reference every this many steps (0: never). Needs full
    fine-tuning: with LoRA the reference is the base model."""
    kl_estimator: Literal["k1", "k2", "k3"] = "k3"
    """Schulman's per-token KL estimator."""
    tis_cap: float | None = None
    """Truncated importance sampling: weight each token's policy-gradient term by
    ``min(pi_old / pi_behaviour, tis_cap)`` to correct for a sampler that differs from the
    trained policy (Yao et al. 2025); ``None`` disables it."""
    entropy_coef: float = 0.0
    """Weight of the entropy bonus subtracted from the loss; 0 disables it."""
    dynamic_sampling: bool = False
    """Drop groups whose rewards are all equal (no learning signal) and refill the batch with
    groups of new tasks (DAPO, Yu et al. 2025)."""
    max_refill_rounds: int = 3
    """With ``dynamic_sampling``, extra rollout rounds per step at most."""
    task_selection: Literal["uniform", "mopps"] = "uniform"
    """Which tasks a step trains on: a uniform schedule, or MoPPS (Qu et al. 2025): tasks whose
    estimated success rate (a Beta posterior from earlier rollouts) is closest to
    ``selection_target``."""
    selection_target: float = 0.5
    """MoPPS: the success rate to aim for (0.5: most reward variance)."""
    selection_candidates: int = 4
    """MoPPS: candidate tasks drawn per selected task."""
    selection_decay: float = 0.9
    """MoPPS: forgetting factor of the posteriors per step (1: none)."""
    drop_void_turns: bool = False
    """Leave out episodes with a void turn (neither a tool call nor an answer; the env's
    ``info["void_turns"]``), as SimpleTIR does (Xue et al. 2025)."""
    mask_truncated: bool = False
    """Over-length masking (DAPO): truncated episodes count in their group's baseline but carry
    no loss."""


@dataclass
class OptimConfig:
    """AdamW and the learning-rate schedule."""

    lr: float = 1e-5
    """Peak learning rate."""
    weight_decay: float = 0.0
    """AdamW decoupled weight decay."""
    betas: tuple[float, float] = (0.9, 0.999)
    """AdamW betas (a two-element list in YAML)."""
    grad_clip: float = 1.0
    """Max global gradient norm; 0 disables clipping."""
    micro_batch_size: int = 4
    """Sequences per forward/backward pass; gradients are accumulated over micro-batches."""
    warmup_steps: int = 0
    """Linear learning-rate warmup, in optimizer updates."""
    max_nonfinite_steps: int = 3
    """Consecutive training steps with a NaN/inf loss or gradient (each skipped, logged and
    counted) after which the run stops with a checkpoint; 0 stops at the first."""


@dataclass
class EvalConfig:
    """Periodic evaluation on held-out tasks."""

    every: int = 0
    """Evaluate every this many training steps; 0 turns evaluation off."""
    num_tasks: int = 32
    """Tasks per evaluation."""
    split: str = "test"
    """Task split to evaluate on."""
    before_training: bool = False
    """Also evaluate once before the first training step."""
    temperature: float = 0.0
    """Sampling temperature for evaluation (0 means greedy)."""
    samples_per_task: int = 1
    """Episodes per evaluation task (more than 1 only makes sense with temperature > 0)."""
    max_new_tokens: int | None = None
    """Token cap of one assistant turn; ``None`` uses ``rollout.max_new_tokens``."""


@dataclass
class CheckpointConfig:
    """Atomic checkpoints and resumption."""

    every: int = 10
    """Save every this many steps; 0 saves only at the end of the run."""
    keep: int = 3
    """Newest complete checkpoints to keep on disk."""
    resume: bool = True
    """Resume from the newest complete checkpoint in ``output_dir`` if there is one."""
    save_final_model: bool = True
    """Write the trained model (or merged adapters) as a transformers folder at the end."""


@dataclass
class RewardTermConfig:
    """One reward function of the rubric (see :mod:`turngym.trainer.rubric`)."""

    fn: str = "turngym.trainer.rubric:has_boxed_answer"
    """``"package.module:function"`` with TRL's signature ``fn(completions, **kwargs)``."""
    weight: float = 1.0
    """Weight in the training reward; 0 logs the term without training on it."""
    name: str | None = None
    """Metric name (``reward/<name>``); defaults to the function's name."""


@dataclass
class TrainConfig:
    """Everything a training run needs. The root of the config tree."""

    model: ModelConfig = field(default_factory=ModelConfig)
    """The policy model."""
    openai: OpenAIBackendConfig = field(default_factory=OpenAIBackendConfig)
    """The server, when ``model.backend`` is ``openai``."""
    lora: LoraConfig = field(default_factory=LoraConfig)
    """Low-rank adapters."""
    env: EnvConfig = field(default_factory=EnvConfig)
    """The environment."""
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    """Episode sampling."""
    algo: AlgoConfig = field(default_factory=AlgoConfig)
    """The objective."""
    optim: OptimConfig = field(default_factory=OptimConfig)
    """The optimizer."""
    eval: EvalConfig = field(default_factory=EvalConfig)
    """Evaluation."""
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    """Checkpointing."""
    context: ContextConfig = field(default_factory=ContextConfig)
    """Context management of each episode: full history, sliding window, tool-output
    truncation, summarization (see :mod:`turngym.agents.context`). ``rollout.max_episode_tokens``
    counts the tokens an episode adds, not the prefixes restated when its context restarts."""
    rewards: list[RewardTermConfig] = field(default_factory=list)
    """Extra reward functions (a rubric) added to the env's return."""
    env_reward_weight: float = 1.0
    """Weight of the env's own return in the training reward (0: train on the rubric alone)."""
    steps: int = 100
    """Training steps (one optimizer step per B x G episodes)."""
    seed: int = 0
    """Seed of every random number generator of the run."""
    output_dir: str = "runs/default"
    """Where checkpoints, metrics and plots go."""
    progress: bool = True
    """Show a live progress display on the console."""
    plot: bool = True
    """Write a reward-curve PNG next to the metrics."""
    log_samples: int = 2
    """Episodes per step written to ``rollouts.jsonl`` (for ``turngym view``); 0 turns it off."""

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        """Build a config from a nested mapping; missing keys keep their defaults.

        Args:
            data: Nested mapping, e.g. the parsed YAML file.

        Raises:
            ConfigError: On an unknown key or an ill-typed value (naming its dotted path).
        """
        return _convert(data, cls, "")

    @classmethod
    def from_yaml(cls, path: str | Path, overrides: Iterable[str] = ()) -> TrainConfig:
        """Read a YAML file, then apply ``--set``-style overrides.

        Args:
            path: A YAML file whose top level is a mapping (an empty file means all defaults).
            overrides: ``dotted.path=value`` strings, applied in order.

        Raises:
            ConfigError: If the file does not exist, is not valid YAML or not a mapping, or on
                any error of :meth:`from_dict` / :meth:`apply_overrides`.
        """
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {str(path)!r} does not exist (or is not a file)")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {str(path)!r} is not valid YAML: {exc}") from exc
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise ConfigError(
                f"config file {str(path)!r} must contain a YAML mapping at the top level, "
                f"got {type(data).__name__}"
            )
        try:
            cfg = cls.from_dict(data)
        except ConfigError as exc:
            raise ConfigError(f"in {str(path)!r}: {exc}") from exc
        overrides = list(overrides)
        return cfg.apply_overrides(overrides) if overrides else cfg

    def apply_overrides(self, overrides: Iterable[str]) -> TrainConfig:
        """Return a new config with ``dotted.path=value`` overrides applied in order.

        Values are parsed as YAML (``3e-5``, ``true``, ``null``, ``[1, 2]``, ``{a: 1}``); for a
        string field, a value YAML would read as a number or bool stays the literal string.
        Keys under a ``dict`` field (``env.kwargs.levels=[1,2]``) may be new.

        Args:
            overrides: Strings like ``"optim.lr=3e-5"``.

        Raises:
            ConfigError: On a malformed override, an unknown key or an ill-typed value.
        """
        data = self.to_dict()
        for override in overrides:
            _apply_override(data, override)
        return TrainConfig.from_dict(data)

    # -- output ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The config as plain nested dicts, lists and scalars (YAML- and JSON-safe)."""
        return _plain(self)

    def to_yaml(self, path: str | Path | None = None) -> str:
        """Serialise the config as YAML, writing it to ``path`` when given.

        Returns:
            The YAML text.
        """
        text = yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=False)
        if path is not None:
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return text

    # -- checks ---------------------------------------------------------------------------

    def validate(self) -> TrainConfig:
        """Check value ranges and cross-field constraints.

        Returns:
            ``self``, so that ``TrainConfig.from_yaml(p).validate()`` chains.

        Raises:
            ConfigError: Listing every violated constraint, each by its dotted path.
        """
        problems: list[str] = []

        def need(ok: bool, path: str, rule: str) -> None:
            if not ok:
                value = _get_path(self, path)
                problems.append(f"{path} = {value!r}: {rule}")

        m, lo, e, r = self.model, self.lora, self.env, self.rollout
        a, o, ev, c = self.algo, self.optim, self.eval, self.checkpoint
        need(bool(m.name), "model.name", "must not be empty")
        need(m.max_context is None or m.max_context > 0, "model.max_context", "must be > 0 or null")
        need(lo.r > 0, "lora.r", "must be > 0")
        need(lo.alpha > 0, "lora.alpha", "must be > 0")
        need(0.0 <= lo.dropout < 1.0, "lora.dropout", "must be in [0, 1)")
        need(not lo.enabled or bool(lo.target_modules), "lora.target_modules", "must not be empty")
        need(bool(e.id), "env.id", "must not be empty")
        need(e.max_turns is None or e.max_turns > 0, "env.max_turns", "must be > 0 or null")
        need(r.tasks_per_step > 0, "rollout.tasks_per_step", "must be > 0")
        need(r.group_size > 0, "rollout.group_size", "must be > 0")
        need(r.max_new_tokens > 0, "rollout.max_new_tokens", "must be > 0")
        need(r.temperature >= 0.0, "rollout.temperature", "must be >= 0")
        need(0.0 < r.top_p <= 1.0, "rollout.top_p", "must be in (0, 1]")
        need(r.top_k >= 0, "rollout.top_k", "must be >= 0 (0 disables top-k)")
        need(r.max_episode_tokens > 0, "rollout.max_episode_tokens", "must be > 0")
        need(
            r.episode_timeout_s is None or r.episode_timeout_s > 0,
            "rollout.episode_timeout_s",
            "must be > 0 or null",
        )
        need(r.max_retries >= 0, "rollout.max_retries", "must be >= 0")
        need(
            1 <= r.min_group_size <= r.group_size,
            "rollout.min_group_size",
            f"must be in [1, rollout.group_size = {r.group_size}]",
        )
        need(r.generation_batch_size > 0, "rollout.generation_batch_size", "must be > 0")
        need(0.0 < a.clip_eps < 1.0, "algo.clip_eps", "must be in (0, 1)")
        need(
            a.clip_eps_high is None or a.clip_eps_high > 0,
            "algo.clip_eps_high",
            "must be > 0 or null",
        )
        need(a.kl_coef >= 0.0, "algo.kl_coef", "must be >= 0")
        need(a.max_refill_rounds >= 0, "algo.max_refill_rounds", "must be >= 0")
        need(0.0 < a.selection_target < 1.0, "algo.selection_target", "must be in (0, 1)")
        need(a.selection_candidates >= 1, "algo.selection_candidates", "must be >= 1")
        need(0.0 < a.selection_decay <= 1.0, "algo.selection_decay", "must be in (0, 1]")
        need(a.kl_coef_final is None or a.kl_coef_final >= 0, "algo.kl_coef_final", "must be >= 0")
        need(a.ref_refresh_every >= 0, "algo.ref_refresh_every", "must be >= 0 (0: never)")
        need(
            not (a.ref_refresh_every and self.lora.enabled),
            "algo.ref_refresh_every",
            "needs full fine-tuning (with LoRA the reference is the base model)",
        )
        for name in ("advantage", "policy_loss", "loss_agg", "kl_estimator"):
            choices = typing.get_args(typing.get_type_hints(AlgoConfig)[name])
            need(getattr(a, name) in choices, f"algo.{name}", f"must be one of {choices}")
        need(
            a.tis_cap is None or (a.tis_cap > 0 and math.isfinite(a.tis_cap)),
            "algo.tis_cap",
            "must be a finite number > 0 or null",
        )
        need(a.entropy_coef >= 0.0, "algo.entropy_coef", "must be >= 0")
        need(0.0 <= a.gamma <= 1.0, "algo.gamma", "must be in [0, 1]")
        need(0.0 <= a.gae_lambda <= 1.0, "algo.gae_lambda", "must be in [0, 1]")
        need(a.value_coef > 0.0, "algo.value_coef", "must be > 0")
        need(a.value_clip is None or a.value_clip > 0, "algo.value_clip", "must be > 0 or null")
        need(a.critic_lr is None or a.critic_lr > 0, "algo.critic_lr", "must be > 0 or null")
        need(a.gigpo_step_weight >= 0.0, "algo.gigpo_step_weight", "must be >= 0")
        need(a.ppo_epochs >= 1, "algo.ppo_epochs", "must be >= 1")
        need(a.num_minibatches >= 1, "algo.num_minibatches", "must be >= 1")
        need(
            a.critic in ("value_head", "separate"), "algo.critic", "must be value_head or separate"
        )
        need(o.max_nonfinite_steps >= 0, "optim.max_nonfinite_steps", "must be >= 0")
        need(o.lr > 0.0, "optim.lr", "must be > 0")
        need(o.weight_decay >= 0.0, "optim.weight_decay", "must be >= 0")
        need(all(0.0 <= b < 1.0 for b in o.betas), "optim.betas", "both must be in [0, 1)")
        need(o.grad_clip >= 0.0, "optim.grad_clip", "must be >= 0 (0 disables clipping)")
        need(o.micro_batch_size > 0, "optim.micro_batch_size", "must be > 0")
        need(o.warmup_steps >= 0, "optim.warmup_steps", "must be >= 0")
        need(ev.every >= 0, "eval.every", "must be >= 0 (0 turns evaluation off)")
        need(self.log_samples >= 0, "log_samples", "must be >= 0 (0 turns sample logging off)")
        need(ev.num_tasks > 0, "eval.num_tasks", "must be > 0")
        need(bool(ev.split), "eval.split", "must not be empty")
        need(ev.temperature >= 0.0, "eval.temperature", "must be >= 0")
        need(ev.samples_per_task > 0, "eval.samples_per_task", "must be > 0")
        need(
            ev.max_new_tokens is None or ev.max_new_tokens > 0,
            "eval.max_new_tokens",
            "must be > 0 or null",
        )
        need(c.every >= 0, "checkpoint.every", "must be >= 0 (0 saves only at the end)")
        need(c.keep >= 1, "checkpoint.keep", "must be >= 1")
        need(self.steps > 0, "steps", "must be > 0")
        need(bool(self.output_dir), "output_dir", "must not be empty")
        if problems:
            raise ConfigError("invalid config:\n  " + "\n  ".join(problems))
        return self


# ---------------------------------------------------------------------------------------------
# Generic conversion: one recursive function over the annotations
# ---------------------------------------------------------------------------------------------

T = TypeVar("T")
_NoneType = type(None)
# PyYAML follows YAML 1.1, which reads "3e-5" (no dot) as a string: accept those for floats.
_FLOAT_RE = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?|[-+]?(inf|\.inf|nan|\.nan)", re.I)


def _type_name(tp: Any) -> str:
    if tp is Any:
        return "any"
    if tp is _NoneType:
        return "null"
    if isinstance(tp, type) and not typing.get_args(tp):
        return tp.__name__
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args)
    if origin is not None and args:
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{', '.join('...' if a is Ellipsis else _type_name(a) for a in args)}]"
    return str(tp)


def _fail(path: str, tp: Any, value: Any) -> ConfigError:
    where = path or "<root>"
    return ConfigError(
        f"{where}: expected {_type_name(tp)}, got {value!r} ({type(value).__name__})"
    )


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def load_callable(spec: str, what: str, error: type[Exception] = ValueError) -> Callable[..., Any]:
    """Import ``"package.module:function"`` named in a config.

    Args:
        spec: The ``"package.module:function"`` string.
        what: What the function is for, named in the error (e.g. ``"reward function"``).
        error: The exception type to raise (a subclass of ``ValueError`` by convention).

    Raises:
        error: The spec is malformed, cannot be imported, or is not callable.
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise error(f"{what} {spec!r} must look like 'package.module:function'")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise error(f"cannot load {what} {spec!r}: {exc}") from exc
    if not callable(fn):
        raise error(f"{what} {spec!r} is not callable")
    return fn


def _convert(value: Any, tp: Any, path: str) -> Any:
    """Check ``value`` against annotation ``tp`` and return it converted (dicts to dataclasses,
    lists to tuples, ints to floats). Raises :class:`ConfigError` naming ``path``."""
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _convert_dataclass(value, tp, path)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Literal:
        for choice in args:
            # Compare type too: True == 1 and 1 == 1.0 must not select a Literal choice.
            if type(value) is type(choice) and value == choice:
                return value
        raise _fail(path, tp, value)
    if origin in (Union, types.UnionType):
        if value is None:
            if _NoneType in args:
                return None
            raise _fail(path, tp, value)
        options = [a for a in args if a is not _NoneType]
        errors: list[ConfigError] = []
        for option in options:
            try:
                return _convert(value, option, path)
            except ConfigError as exc:
                errors.append(exc)
        # Optional[container]: the inner error names the offending item more precisely.
        if len(options) == 1 and isinstance(value, (list, tuple, Mapping)):
            raise errors[0]
        raise _fail(path, tp, value)
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise _fail(path, tp, value)
        (item_tp,) = args or (Any,)
        return [_convert(v, item_tp, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise _fail(path, tp, value)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0], f"{path}[{i}]") for i, v in enumerate(value))
        if args and len(value) != len(args):
            raise ConfigError(
                f"{path}: expected {_type_name(tp)} ({len(args)} items), got {value!r} "
                f"({len(value)} items)"
            )
        item_tps = args or (Any,) * len(value)
        return tuple(
            _convert(v, t, f"{path}[{i}]")
            for i, (v, t) in enumerate(zip(value, item_tps, strict=True))
        )
    if origin is dict:
        if not isinstance(value, Mapping):
            raise _fail(path, tp, value)
        key_tp, val_tp = args or (Any, Any)
        return {
            _convert(k, key_tp, f"{path}.<key {k!r}>"): _convert(v, val_tp, _join(path, k))
            for k, v in value.items()
        }
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _fail(path, tp, value)
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _fail(path, tp, value)
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str) and _FLOAT_RE.fullmatch(value.strip()):
            return float(value.strip().replace(".inf", "inf").replace(".nan", "nan"))
        raise _fail(path, tp, value)
    if tp is str:
        if isinstance(value, str):
            return value
        raise _fail(path, tp, value)
    if isinstance(tp, type):
        if isinstance(value, tp):
            return value
        raise _fail(path, tp, value)
    raise ConfigError(f"{path}: unsupported annotation {tp!r} in the config schema")


def _unknown_key(path: str, key: str, valid: list[str]) -> ConfigError:
    close = difflib.get_close_matches(key, valid, n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(repr(_join(path, c)) for c in close)}?" if close else ""
    return ConfigError(
        f"unknown config key {_join(path, key)!r}.{hint} "
        f"Valid keys{' under ' + repr(path) if path else ''}: {', '.join(valid)}"
    )


def _convert_dataclass(value: Any, cls: type[T], path: str) -> T:
    if isinstance(value, cls):
        value = _plain(value)
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{path or '<root>'}: expected a mapping of {cls.__name__} fields, got {value!r} "
            f"({type(value).__name__})"
        )
    hints = typing.get_type_hints(cls)
    fields = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str) or key not in hints:
            raise _unknown_key(path, str(key), fields)
        kwargs[key] = _convert(item, hints[key], _join(path, key))
    try:
        return cls(**kwargs)
    except ValueError as exc:  # a dataclass that checks its own values (ContextConfig)
        raise ConfigError(f"{path or '<root>'}: {exc}") from exc


def _plain(obj: Any) -> Any:
    """Dataclasses to dicts and tuples to lists, recursively (YAML-safe)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def _get_path(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


# ---------------------------------------------------------------------------------------------
# Overrides
# ---------------------------------------------------------------------------------------------


def _accepts_str(tp: Any) -> bool:
    if tp is str:
        return True
    if typing.get_origin(tp) in (Union, types.UnionType):
        return any(_accepts_str(a) for a in typing.get_args(tp))
    if typing.get_origin(tp) is Literal:
        return any(isinstance(a, str) for a in typing.get_args(tp))
    return False


def _apply_override(data: dict[str, Any], override: str) -> None:
    """Set one ``dotted.path=value`` in the plain-dict form of a :class:`TrainConfig`."""
    key, sep, raw = override.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"override {override!r} must look like 'dotted.path=value'")
    parts = key.split(".")
    if any(not p for p in parts):
        raise ConfigError(f"override {override!r}: empty component in key {key!r}")
    node: dict[str, Any] = data
    tp: Any = TrainConfig
    path = ""
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if dataclasses.is_dataclass(tp):
            hints = typing.get_type_hints(tp)
            if part not in hints:
                raise _unknown_key(path, part, [f.name for f in dataclasses.fields(tp)])
            tp = hints[part]
        elif typing.get_origin(tp) is dict or tp is dict:
            args = typing.get_args(tp)
            tp = args[1] if args else Any
        elif tp is Any:
            pass
        else:
            raise ConfigError(
                f"override {override!r}: {path!r} is a {_type_name(tp)}, not a mapping, so it "
                f"has no key {part!r}"
            )
        path = _join(path, part)
        if last:
            node[part] = _parse_value(raw, tp, path)
        else:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ConfigError(f"override {override!r}: {path!r} holds {child!r}, not a mapping")
            node = child


def _parse_value(raw: str, tp: Any, path: str) -> Any:
    raw = raw.strip()
    try:
        value = yaml.safe_load(raw) if raw else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"override of {path!r}: cannot parse {raw!r} as YAML: {exc}") from exc
    # "--set model.name=123" means the string "123" when the field is a string.
    if (
        isinstance(value, (bool, int, float))
        and _accepts_str(tp)
        and not _accepts_scalar(tp, value)
    ):
        return raw
    return value


def _accepts_scalar(tp: Any, value: Any) -> bool:
    try:
        _convert(value, tp, "")
    except ConfigError:
        return False
    return True

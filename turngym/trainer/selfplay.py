"""Self-play, adversarial and cooperative training of one LLM on multi-agent text games.

SPIRAL-style (Liu et al., 2025): one shared model plays every role of a PettingZoo game (the
game's system prompt tells each seat its role), against itself, against frozen snapshots of
itself drawn from an opponent pool, or against fixed opponents (the games' scripted
policies, any ``(messages) -> str`` chat model, any token backend). Reads top to bottom; one
step:

1. pick an opponent per game (weighted ``selfplay.opponents``; a pool opponent is a snapshot
   sampled by recency or rating) and alternate the learner's role between games,
2. play all games with :class:`~turngym.agents.multiagent.MultiAgentRunner` (every learner
   prompt of a round sampled in one batch; per-seat token-exact trajectories),
3. route the game's returns to each seat (``individual``, ``zero_sum`` or ``shared``) and take
   role-conditioned advantages (SPIRAL's RAE: return minus an EMA baseline per (game, role)),
4. one optimizer update through the :class:`~turngym.trainer.trainer.Trainer`'s own
   :meth:`~turngym.trainer.trainer.Trainer.update` (same loss, clipping, KL, micro-batching and
   non-finite guard); with ``selfplay.role_adapters`` each role trains its own LoRA adapter on
   one frozen base model (see :class:`SelfPlaySettings`),
5. Elo updates of the learner against every rated opponent it met, a snapshot into the pool on
   schedule, metrics (JSONL, like the Trainer's), evaluation against a fixed opponent and
   atomic checkpoints.

Run it: ``python -m turngym.trainer.selfplay examples/selfplay_tictactoe.yaml
[--set selfplay.games_per_step=64 ...]``. The YAML holds a :class:`TrainConfig` (model,
optimizer, algo, rollout sampling, ...) plus a ``selfplay:`` section
(:class:`SelfPlaySettings`); ``rollout.tasks_per_step``, ``rollout.group_size`` and the
single-agent ``eval`` section are not used here.

What it does NOT cover: more than one optimizer update per step, per-turn credit inside a
game, games with more than two seats (in the seat map and the Elo ratings), and, with
per-role adapters: a critic (``algo.advantage: gae``), full fine-tuning (they need
``lora.enabled``), games whose roles depend on the seed rather than on ``swap_roles``
(refused when seen), and per-adapter gradient clipping (the clip is over all adapters).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import math
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import yaml

import turngym
from turngym.agents.backend import SamplingParams
from turngym.agents.hf import HFBackend
from turngym.agents.multiagent import (
    AdapterBackend,
    GameResult,
    MatchSpec,
    ModelPolicy,
    MultiAgentRunner,
    SeatPolicy,
    activate_adapter,
    as_policy,
)
from turngym.agents.rollout import derive_seed
from turngym.core.registry import multi_agent_api
from turngym.trainer.checkpoint import rng_state, set_rng_state
from turngym.trainer.config import ConfigError, TrainConfig, _convert, _plain, load_callable
from turngym.trainer.metrics import MetricsLogger
from turngym.trainer.rae import (
    REWARD_ROUTINGS,
    EloRatings,
    RoleBaselines,
    route_rewards,
)
from turngym.trainer.trainer import Sequence, Trainer, kl_coef_at

__all__ = [
    "EloConfig",
    "OpponentPool",
    "OpponentSpec",
    "PoolConfig",
    "SelfPlayConfig",
    "SelfPlayEvalConfig",
    "SelfPlaySettings",
    "SelfPlayTrainer",
    "Snapshot",
    "game_score",
]

LEARNER = "learner"


# =============================================================================================
# Config
# =============================================================================================


@dataclass
class OpponentSpec:
    """One kind of opponent the learner meets, with its share of the games."""

    kind: Literal["self", "pool", "scripted", "chat", "custom"] = "self"
    """``self``: the learner plays every seat; ``pool``: a frozen snapshot from the opponent
    pool (the learner itself while the pool is empty); ``scripted``: a game's
    ``(env, agent, rng) -> str`` policy; ``chat``: a ``(messages) -> str`` callable; ``custom``:
    a policy passed to :class:`SelfPlayTrainer` as ``policies={name: ...}``."""
    weight: float = 1.0
    """Relative share of the games."""
    policy: str | None = None
    """``"package.module:function"`` for ``scripted`` and ``chat``."""
    name: str | None = None
    """Name in ratings and metrics (default: the function's name); the key for ``custom``."""


@dataclass
class PoolConfig:
    """The pool of frozen snapshots of the learner."""

    snapshot_every: int = 10
    """Add a snapshot every this many steps (0: never)."""
    max_size: int = 8
    """Most snapshots kept; the oldest leaves first."""
    sampling: Literal["latest", "uniform", "recency", "rating"] = "recency"
    """``latest``: the newest; ``uniform``; ``recency``: weight ``recency_decay ** age``
    (age 0 = newest); ``rating``: weight ``exp(-|R_snapshot - R_learner| / rating_scale)``
    (opponents of about the learner's strength)."""
    recency_decay: float = 0.7
    """Weight decay per snapshot of age for ``recency``."""
    rating_scale: float = 200.0
    """Elo points per e-fold of weight for ``rating``."""


@dataclass
class EloConfig:
    """Elo ratings of the learner and its opponents."""

    k: float = 32.0
    """Update step size."""
    initial: float = 1000.0
    """Rating of the learner at the start and of a new opponent."""
    anchors: dict[str, float] = field(default_factory=lambda: {"random": 1000.0})
    """Opponents with a fixed rating (by name), so ratings are comparable across runs."""


@dataclass
class SelfPlayEvalConfig:
    """Periodic evaluation against a fixed opponent (not rated, not trained on)."""

    every: int = 0
    """Evaluate every this many steps; 0 turns periodic evaluation off."""
    before_training: bool = False
    """Also evaluate before the first step (and after the last)."""
    games: int = 32
    """Games per evaluation (the learner's role alternates)."""
    opponent: str = "turngym.envs.multiagent.tictactoe:random_move"
    """``"package.module:function"``: a scripted ``(env, agent, rng)`` or chat policy."""
    opponent_name: str = "random"
    """Name in the metrics (``eval/<name>/win_rate``)."""
    temperature: float = 1.0
    """The learner's sampling temperature in evaluation (0: greedy)."""


@dataclass
class SelfPlaySettings:
    """The ``selfplay:`` section of a self-play YAML."""

    games_per_step: int = 16
    """Games played per training step."""
    opponents: list[OpponentSpec] = field(default_factory=lambda: [OpponentSpec()])
    """Who the learner meets, with weights (default: pure self-play)."""
    swap_roles: bool = True
    """Alternate the learner's role between games (``reset(options={"swap_roles": ...})``)."""
    reward_routing: Literal["individual", "zero_sum", "shared"] = "individual"
    """Each seat's training reward from the game's returns (see
    :func:`turngym.trainer.rae.route_rewards`): ``shared`` for cooperative games."""
    advantage: Literal["rae", "none"] = "rae"
    """``rae``: return minus the (game, role) EMA baseline (SPIRAL); ``none``: the raw return
    (REINFORCE without a baseline, for comparison)."""
    rae_decay: float = 0.95
    """EMA decay of the role baselines."""
    max_moves: int = 60
    """Moves per game at most (a guard; games end long before)."""
    pool: PoolConfig = field(default_factory=PoolConfig)
    """Opponent pool."""
    elo: EloConfig = field(default_factory=EloConfig)
    """Ratings."""
    eval: SelfPlayEvalConfig = field(default_factory=SelfPlayEvalConfig)
    """Evaluation against a fixed opponent."""
    role_adapters: dict[str, str] = field(default_factory=dict)
    """Per-role LoRA adapters, ``{role: adapter name}`` (empty: one policy plays every role).
    Keys are the game's roles, ``env.role(agent)`` after ``reset`` (``x``/``o``,
    ``attacker``/``defender``): the roles RAE's baselines use, which follow the policy when
    ``swap_roles`` moves it to the other seat; agent ids (``player_0``) are keys only in games
    without roles. Each adapter (same ``lora`` settings) samples and trains only its roles'
    turns on one frozen base model. Needs ``lora.enabled: true``."""


_ADAPTER_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass
class SelfPlayConfig:
    """A self-play run: a :class:`TrainConfig` (model, optimizer, algo, sampling, output) and
    the ``selfplay`` section. In YAML both live at the top level (``selfplay:`` next to
    ``model:``, ``optim:``, ...)."""

    train: TrainConfig = field(default_factory=TrainConfig)
    """Model, LoRA, env id and kwargs, rollout sampling, algo, optim, checkpoint, steps, seed."""
    selfplay: SelfPlaySettings = field(default_factory=SelfPlaySettings)
    """Opponents, reward routing, RAE, pool, Elo, evaluation."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SelfPlayConfig:
        """Build from one mapping: the ``selfplay`` key, everything else a TrainConfig.

        Raises:
            ConfigError: On an unknown key or an ill-typed value (naming its dotted path).
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"a self-play config must be a mapping, got {type(data).__name__}")
        rest = dict(data)
        section = rest.pop("selfplay", None) or {}
        return cls(
            train=TrainConfig.from_dict(rest),
            selfplay=_convert(section, SelfPlaySettings, "selfplay"),
        )

    @classmethod
    def from_yaml(cls, path: str | Path, overrides: Iterable[str] = ()) -> SelfPlayConfig:
        """Read a YAML file and apply ``dotted.path=value`` overrides (``selfplay.*`` too)."""
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {str(path)!r} does not exist (or is not a file)")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {str(path)!r} is not valid YAML: {exc}") from exc
        try:
            cfg = cls.from_dict(data)
        except ConfigError as exc:
            raise ConfigError(f"in {str(path)!r}: {exc}") from exc
        return cfg.apply_overrides(overrides)

    def apply_overrides(self, overrides: Iterable[str]) -> SelfPlayConfig:
        """A new config with ``dotted.path=value`` overrides (``selfplay.*`` or TrainConfig's)."""
        train_over, sp_over = [], []
        for o in overrides:
            (sp_over if o.strip().startswith("selfplay.") else train_over).append(o)
        train = self.train.apply_overrides(train_over) if train_over else self.train
        selfplay = self.selfplay
        if sp_over:
            data = {"selfplay": _plain(selfplay)}
            for o in sp_over:
                _set_dotted(data, o.strip())
            selfplay = _convert(data["selfplay"], SelfPlaySettings, "selfplay")
        return SelfPlayConfig(train=train, selfplay=selfplay)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dicts (the YAML layout: TrainConfig keys plus ``selfplay``)."""
        return {**self.train.to_dict(), "selfplay": _plain(self.selfplay)}

    def validate(self) -> SelfPlayConfig:
        """Check ranges of the ``selfplay`` section (the TrainConfig checks itself).

        Raises:
            ConfigError: Listing every violated constraint by its dotted path.
        """
        self.train.validate()
        s, problems = self.selfplay, []

        def need(ok: bool, path: str, rule: str) -> None:
            if not ok:
                problems.append(f"selfplay.{path}: {rule}")

        need(s.games_per_step > 0, "games_per_step", f"must be > 0, got {s.games_per_step}")
        need(bool(s.opponents), "opponents", "must name at least one opponent kind")
        for i, o in enumerate(s.opponents):
            need(o.weight > 0, f"opponents[{i}].weight", f"must be > 0, got {o.weight}")
            if o.kind in ("scripted", "chat"):
                need(
                    bool(o.policy) and ":" in (o.policy or ""),
                    f"opponents[{i}].policy",
                    f"a {o.kind} opponent needs policy: 'package.module:function'",
                )
            if o.kind == "custom":
                need(bool(o.name), f"opponents[{i}].name", "a custom opponent needs its name")
        need(s.reward_routing in REWARD_ROUTINGS, "reward_routing", f"one of {REWARD_ROUTINGS}")
        need(0.0 <= s.rae_decay < 1.0, "rae_decay", f"must be in [0, 1), got {s.rae_decay}")
        need(s.max_moves > 0, "max_moves", "must be > 0")
        p = s.pool
        need(p.snapshot_every >= 0, "pool.snapshot_every", "must be >= 0 (0: never)")
        need(p.max_size >= 1, "pool.max_size", "must be >= 1")
        need(0.0 < p.recency_decay <= 1.0, "pool.recency_decay", "must be in (0, 1]")
        need(p.rating_scale > 0, "pool.rating_scale", "must be > 0")
        need(s.elo.k > 0, "elo.k", "must be > 0")
        need(s.eval.every >= 0, "eval.every", "must be >= 0 (0: off)")
        need(s.eval.games > 0, "eval.games", "must be > 0")
        need(s.eval.temperature >= 0, "eval.temperature", "must be >= 0")
        if any(o.kind == "pool" for o in s.opponents):
            need(p.snapshot_every > 0, "pool.snapshot_every", "must be > 0 with a pool opponent")
        if s.role_adapters:
            need(
                self.train.lora.enabled,
                "role_adapters",
                "per-role adapters are LoRA adapters on one frozen base model: set "
                "lora.enabled: true (or remove selfplay.role_adapters to train one policy)",
            )
            need(
                self.train.algo.advantage not in ("gae", "gae_turn"),
                "role_adapters",
                f"cannot be used with algo.advantage = {self.train.algo.advantage!r} (the "
                "critic is not per role); self-play uses selfplay.advantage (rae or none)",
            )
            need(
                self.train.model.backend == "hf",
                "role_adapters",
                "each role samples with its own adapter of the local model, so model.backend "
                f"must be 'hf', got {self.train.model.backend!r} (a server would sample every "
                "role with the same weights)",
            )
            for role, name in s.role_adapters.items():
                need(
                    bool(_ADAPTER_NAME.match(str(name))),
                    f"role_adapters.{role}",
                    f"adapter name {name!r} must be letters, digits, '_' or '-' (a peft module "
                    "key)",
                )
        if problems:
            raise ConfigError("invalid self-play config:\n  " + "\n  ".join(problems))
        return self


def _set_dotted(data: dict[str, Any], override: str) -> None:
    """Set ``a.b.c=value`` (value parsed as YAML) in nested dicts; types are checked later."""
    key, sep, raw = override.partition("=")
    parts = key.strip().split(".")
    if not sep or any(not p for p in parts):
        raise ConfigError(f"override {override!r} must look like 'dotted.path=value'")
    node = data
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if not isinstance(child, dict):
            raise ConfigError(
                f"override {override!r}: {'.'.join(parts[: i + 1])!r} is not a section"
            )
        node = child
    if parts[-1] not in node and not (len(parts) > 2 and parts[-2] == "anchors"):
        raise ConfigError(
            f"override {override!r}: unknown key {parts[-1]!r}; valid: {sorted(node)}"
        )
    try:
        node[parts[-1]] = yaml.safe_load(raw.strip()) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"override {override!r}: cannot parse the value: {exc}") from exc


def load_function(spec: str, what: str) -> Callable[..., Any]:
    """Import ``"package.module:function"``; a clear ConfigError names ``what`` needed it."""
    return load_callable(spec, what, ConfigError)


# =============================================================================================
# Opponent pool
# =============================================================================================


@dataclass(frozen=True)
class Snapshot:
    """A frozen copy of the learner's trainable weights."""

    name: str
    """Name in ratings and metrics, ``learner@<step>``."""
    step: int
    """Training step it was taken at."""
    state: Mapping[str, torch.Tensor]
    """Trainable parameters (all weights, or only the LoRA adapters), on CPU."""


class OpponentPool:
    """Frozen snapshots of the learner, sampled by recency or by rating.

    Args:
        max_size: Most snapshots kept (the oldest is dropped first).
        sampling: ``latest``, ``uniform``, ``recency`` or ``rating`` (see :class:`PoolConfig`).
        recency_decay: Weight ratio between a snapshot and the next newer one.
        rating_scale: Elo points per e-fold of weight under ``rating``.
    """

    SAMPLINGS: tuple[str, ...] = ("latest", "uniform", "recency", "rating")

    def __init__(
        self,
        max_size: int = 8,
        sampling: str = "recency",
        *,
        recency_decay: float = 0.7,
        rating_scale: float = 200.0,
    ):
        if max_size < 1:
            raise ValueError(f"pool max_size must be >= 1, got {max_size}")
        if sampling not in self.SAMPLINGS:
            raise ValueError(f"pool sampling must be one of {self.SAMPLINGS}, got {sampling!r}")
        if not 0.0 < recency_decay <= 1.0:
            raise ValueError(f"recency_decay must be in (0, 1], got {recency_decay}")
        if rating_scale <= 0:
            raise ValueError(f"rating_scale must be > 0, got {rating_scale}")
        self.max_size = max_size
        self.sampling = sampling
        self.recency_decay = recency_decay
        self.rating_scale = rating_scale
        self.snapshots: list[Snapshot] = []

    def __len__(self) -> int:
        return len(self.snapshots)

    def add(self, snapshot: Snapshot) -> Snapshot | None:
        """Add a snapshot (oldest first order); returns the one evicted, if any."""
        if any(s.name == snapshot.name for s in self.snapshots):
            raise ValueError(f"the pool already holds a snapshot named {snapshot.name!r}")
        self.snapshots.append(snapshot)
        if len(self.snapshots) > self.max_size:
            return self.snapshots.pop(0)
        return None

    def probabilities(
        self, ratings: EloRatings | None = None, learner: str = LEARNER
    ) -> list[float]:
        """Sampling probability of each snapshot, oldest first."""
        n = len(self.snapshots)
        if n == 0:
            return []
        if self.sampling == "latest":
            weights = [0.0] * (n - 1) + [1.0]
        elif self.sampling == "uniform":
            weights = [1.0] * n
        elif self.sampling == "recency":
            weights = [self.recency_decay ** (n - 1 - i) for i in range(n)]
        else:
            if ratings is None:
                raise ValueError("rating-based pool sampling needs the Elo ratings")
            target = ratings.rating(learner)
            gaps = [abs(ratings.rating(s.name) - target) for s in self.snapshots]
            weights = [math.exp(-(g - min(gaps)) / self.rating_scale) for g in gaps]
        total = sum(weights)
        return [w / total for w in weights]

    def sample(
        self, rng: np.random.Generator, ratings: EloRatings | None = None, learner: str = LEARNER
    ) -> Snapshot:
        """Draw one snapshot.

        Raises:
            LookupError: The pool is empty.
        """
        if not self.snapshots:
            raise LookupError("the opponent pool is empty; add a snapshot first")
        probs = self.probabilities(ratings, learner)
        return self.snapshots[int(rng.choice(len(self.snapshots), p=probs))]


# =============================================================================================
# Scoring
# =============================================================================================


def game_score(result: GameResult, agent: str) -> float:
    """``agent``'s score for Elo: 1 win, 0.5 draw, 0 loss.

    Uses the game's ``winner`` (None: a draw) and ``forfeited_by`` when it reports them;
    otherwise compares the agent's return with the best other return.
    """
    outcome = result.outcome
    forfeited = outcome.get("forfeited_by")
    if forfeited:
        losers = forfeited if isinstance(forfeited, list | tuple) else [forfeited]
        if agent in losers:
            return 0.0 if len(losers) < len(result.returns) else 0.5
        return 1.0
    if "winner" in outcome and result.stop_reason.value == "terminated":
        winner = outcome["winner"]
        return 0.5 if winner is None else float(winner == agent)
    mine = result.returns[agent]
    best_other = max(r for a, r in result.returns.items() if a != agent)
    return 1.0 if mine > best_other else 0.5 if mine == best_other else 0.0


# =============================================================================================
# The trainer
# =============================================================================================


@dataclass
class _RoleSequence(Sequence):
    """A training sequence sampled by one role's LoRA adapter, which its loss trains."""

    adapter: str = ""
    """The adapter that sampled it."""


def _adapter_of_parameter(name: str) -> str | None:
    """``...q_proj.lora_A.attacker.weight`` -> ``attacker``; None for a non-LoRA parameter."""
    parts = name.split(".")
    for i, part in enumerate(parts[:-1]):
        if part.startswith("lora_"):
            return parts[i + 1]
    return None


class _GamePolicyTrainer(Trainer):
    """The single-agent Trainer's model, optimizer, loss and checkpoints, on a game id."""

    role_adapters: tuple[str, ...] = ()
    """Adapter names when each role trains its own LoRA adapter (empty: one policy)."""

    def _check_env(self, cfg: TrainConfig) -> None:
        if multi_agent_api(cfg.env.id) is None:
            raise ConfigError(
                f"env.id = {cfg.env.id!r} is a single-agent env; self-play needs a multi-agent "
                f"game, one of {turngym.registered_ids(kind='multi')}"
            )
        self.num_train_tasks = None
        self.num_tasks_by_split = {}

    def use_role_adapters(self, names: list[str]) -> None:
        """Replace the LoRA adapter with one adapter per name (same ``LoraConfig``), all trained.

        Called before the first update: the optimizer's only parameter group is given the
        adapters' parameters (one AdamW over all of them; see :meth:`micro_batches`).
        """
        if self.optimizer.state or len(self.optimizer.param_groups) != 1:
            raise RuntimeError("role adapters must be set up before the first optimizer step")
        model = self.model
        lora_config = model.peft_config["default"]
        for name in names:
            if name not in model.peft_config:
                model.add_adapter(name, copy.deepcopy(lora_config))
        activate_adapter(model, names[0])
        if "default" not in names:
            model.delete_adapter("default")
        self.role_adapters = tuple(names)
        self.train_role_adapters()
        self.trainable = [p for p in model.parameters() if p.requires_grad]
        self.optimizer.param_groups[0]["params"] = self.trainable

    def train_role_adapters(self) -> None:
        """Mark every role adapter trainable again (peft's switches freeze inactive ones)."""
        for name, p in self.model.named_parameters():
            if _adapter_of_parameter(name) in self.role_adapters:
                p.requires_grad_(True)

    def micro_batches(self, seqs: list[Sequence]) -> Iterator[list[Sequence]]:
        """Per role adapter: activate it, then yield its sequences' micro-batches.

        The loss and its normalizers are the Trainer's over the whole batch; each sequence is
        scored by the adapter that sampled it, so its gradient reaches only that adapter (the
        others are not in the forward pass). Without role adapters: the Trainer's batches.
        """
        if not self.role_adapters:
            yield from super().micro_batches(seqs)
            return
        by_adapter: dict[str, list[Sequence]] = {}
        for s in seqs:
            adapter = getattr(s, "adapter", "")
            if adapter not in self.role_adapters:
                raise ValueError(
                    f"a sequence names adapter {adapter!r}; the role adapters are "
                    f"{list(self.role_adapters)}"
                )
            by_adapter.setdefault(adapter, []).append(s)
        for adapter in self.role_adapters:
            part = by_adapter.get(adapter, [])
            if not part:
                continue
            activate_adapter(self.model, adapter)
            self.train_role_adapters()  # the KL reference pass (disable_adapter) froze some
            yield from super().micro_batches(part)
        self.train_role_adapters()

    def save_model(self, out: Path) -> Path:
        """With role adapters: peft's folder of every adapter (``out/<adapter>/``) + tokenizer."""
        if not self.role_adapters:
            return super().save_model(out)
        self.model.save_pretrained(out)
        self.tokenizer.save_pretrained(out)
        return out


Learner = ModelPolicy | Mapping[str, ModelPolicy]
"""The learner's seat policy: one policy, or one per role adapter (by adapter name)."""


@dataclass
class _Plan:
    opponent: str
    """Name of the opponent (``learner`` for self-play)."""
    policy: SeatPolicy | None
    """Its policy (None: a pool snapshot, loaded per chunk)."""
    snapshot: Snapshot | None = None


class SelfPlayTrainer:
    """Trains one model by self-play on a PettingZoo text game (see the module docstring).

    Args:
        config: The run's configuration.
        policies: Opponents for ``kind: custom`` entries, by name: any seat policy, a
            :class:`~turngym.agents.backend.Backend` wrapped with the learner's renderer, a
            ``(messages) -> str`` callable (e.g. an OpenAI-compatible chat client) or a
            scripted ``(env, agent, rng) -> str`` function.
        log: Where progress lines go.
    """

    def __init__(
        self,
        config: SelfPlayConfig,
        *,
        policies: Mapping[str, Any] | None = None,
        log: Callable[[str], None] = print,
    ):
        self.cfg = config.validate()
        self.log = log
        train = copy.deepcopy(config.train)
        # Resumption restores the self-play state too: done here, not by the inner Trainer.
        train.checkpoint.resume = False
        train.progress = False
        self.trainer = _GamePolicyTrainer(train, log=log)
        self.model = self.trainer.model
        self.renderer = self.trainer.renderer
        self.out_dir = Path(config.train.output_dir)
        self.step = 0
        sp = self.cfg.selfplay
        env_cfg = config.train.env
        self.game_name = env_cfg.id.rpartition("/")[2]
        self.env_factory = lambda: turngym.make(env_cfg.id, **dict(env_cfg.kwargs))
        self.runner = MultiAgentRunner(
            self.env_factory,
            max_seat_tokens=config.train.rollout.max_episode_tokens,
            max_moves=sp.max_moves,
        )
        r = config.train.rollout
        self.sampling = SamplingParams(
            max_new_tokens=r.max_new_tokens, temperature=r.temperature, top_p=r.top_p, top_k=r.top_k
        )
        self.rae = RoleBaselines(sp.rae_decay)
        self.elo = EloRatings(k=sp.elo.k, initial=sp.elo.initial, anchors=dict(sp.elo.anchors))
        self.elo.add(LEARNER)
        self.pool = OpponentPool(
            sp.pool.max_size,
            sp.pool.sampling,
            recency_decay=sp.pool.recency_decay,
            rating_scale=sp.pool.rating_scale,
        )
        self._custom = dict(policies or {})
        self.fixed_opponents = {
            i: self._fixed_policy(o) for i, o in enumerate(sp.opponents) if o.kind != "self"
        }
        self._eval_policy = as_policy(
            load_function(sp.eval.opponent, "selfplay.eval.opponent"), sp.eval.opponent_name
        )
        self._opponent_backend: HFBackend | None = None
        self.last_results: list[GameResult] = []
        self.role_adapters: dict[str, str] = dict(sp.role_adapters)
        """``{role: adapter}`` (empty: one policy plays every role)."""
        self._seat_roles: dict[bool, dict[str, str]] = {}
        if self.role_adapters:
            self._setup_role_adapters()
        if config.train.checkpoint.resume:
            self._resume()

    # ---- per-role adapters ----------------------------------------------------------------

    def _setup_role_adapters(self) -> None:
        """Check ``selfplay.role_adapters`` against the game's roles; add the adapters."""
        swaps = (False, True) if self.cfg.selfplay.swap_roles else (False,)
        self._seat_roles = {swap: self._probe_roles(swap) for swap in swaps}
        roles = sorted({r for seats in self._seat_roles.values() for r in seats.values()})
        unknown = sorted(set(self.role_adapters) - set(roles))
        missing = [r for r in roles if r not in self.role_adapters]
        if unknown or missing:
            agents = sorted(self._seat_roles[False])
            raise ConfigError(
                f"selfplay.role_adapters must map every role of {self.game_name} to an adapter: "
                f"its roles are {roles} (env.role(agent) after reset, the roles RAE uses; agent "
                f"ids {agents} change roles under swap_roles)"
                + (f"; not roles: {unknown}" if unknown else "")
                + (f"; missing: {missing}" if missing else "")
            )
        self.trainer.use_role_adapters(list(dict.fromkeys(self.role_adapters.values())))

    def _probe_roles(self, swap: bool) -> dict[str, str]:
        """``{agent id: role}`` after ``reset(options={"swap_roles": swap})``."""
        env = self.env_factory()
        try:
            env.reset(seed=self.cfg.train.seed, options={"swap_roles": swap})
            agents = list(env.possible_agents)
            return {a: str(env.role(a)) if hasattr(env, "role") else a for a in agents}
        finally:
            env.close()

    def _learner(self, temperature: float | None, *seed: int | str) -> Learner:
        """The learner's policy (sampling seed from ``seed``), or one per role adapter."""
        if not self.role_adapters:
            sampling = self._sampling(temperature, seed=derive_seed(*seed))
            return ModelPolicy(LEARNER, self.trainer.backend, self.renderer, sampling)
        return {
            a: ModelPolicy(
                f"{LEARNER}:{a}",
                AdapterBackend(self.trainer.backend, self.model, a),
                self.renderer,
                self._sampling(temperature, seed=derive_seed(*seed, a)),
            )
            for a in self.trainer.role_adapters
        }

    def _seat(self, policy: SeatPolicy | Learner, agent: str, swap: bool) -> SeatPolicy:
        """The policy of ``agent``'s seat: the adapter of its role, for per-role policies."""
        if isinstance(policy, Mapping):
            return policy[self.role_adapters[self._seat_roles[swap][agent]]]
        return policy

    # ---- opponents ------------------------------------------------------------------------

    def _fixed_policy(self, spec: OpponentSpec) -> SeatPolicy | None:
        if spec.kind == "pool":
            return None
        if spec.kind == "custom":
            assert spec.name is not None
            if spec.name not in self._custom:
                raise ConfigError(
                    f"opponent {spec.name!r} (kind: custom) was not passed to SelfPlayTrainer("
                    f"policies={{...}}); given: {sorted(self._custom)}"
                )
            return as_policy(
                self._custom[spec.name], spec.name, renderer=self.renderer, sampling=self.sampling
            )
        assert spec.policy is not None
        fn = load_function(spec.policy, f"selfplay.opponents ({spec.kind})")
        name = spec.name or spec.policy.rpartition(":")[2]
        try:
            policy = as_policy(fn, name)
        except TypeError as exc:
            raise ConfigError(f"selfplay.opponents: {exc}") from exc
        expected = "ScriptedPolicy" if spec.kind == "scripted" else "ChatPolicy"
        if type(policy).__name__ != expected:
            raise ConfigError(
                f"opponent {spec.policy!r} is declared kind: {spec.kind} but takes "
                f"{'3 arguments (env, agent, rng)' if expected == 'ChatPolicy' else '1 (messages)'}"
            )
        return policy

    def _snapshot_policy(self, snapshot: Snapshot) -> Learner:
        """Load a snapshot into the (single) frozen opponent model and name a policy for it.

        With role adapters the snapshot holds every adapter, and each seat of the frozen copy
        plays with the adapter of its role (``learner@<step>:<adapter>``).
        """
        if self._opponent_backend is None:
            frozen = copy.deepcopy(self.model).eval().requires_grad_(False)
            self._opponent_backend = HFBackend(
                frozen,
                pad_token_id=self.trainer.pad_id,
                batch_size=self.cfg.train.rollout.generation_batch_size,
            )
        model = self._opponent_backend.model
        missing = set(snapshot.state) - {n for n, _ in model.named_parameters()}
        if missing:
            raise RuntimeError(
                f"snapshot {snapshot.name} has unknown parameters {sorted(missing)[:3]}"
            )
        model.load_state_dict(dict(snapshot.state), strict=False)
        if self.role_adapters:
            return {
                a: ModelPolicy(
                    f"{snapshot.name}:{a}",
                    AdapterBackend(self._opponent_backend, model, a),
                    self.renderer,
                    self._sampling(),
                    trainable=False,
                )
                for a in self.trainer.role_adapters
            }
        return ModelPolicy(
            snapshot.name, self._opponent_backend, self.renderer, self._sampling(), trainable=False
        )

    def take_snapshot(self) -> Snapshot:
        """Copy the learner's trainable weights into the pool, rated as the learner is now."""
        self.trainer.train_role_adapters()  # all of them, whichever sampled last
        state = {
            n: p.detach().to("cpu", copy=True)
            for n, p in self.model.named_parameters()
            if p.requires_grad
        }
        snapshot = Snapshot(f"{LEARNER}@{self.step}", self.step, state)
        evicted = self.pool.add(snapshot)
        self.elo.add(snapshot.name, self.elo.rating(LEARNER))
        if evicted is not None:
            self.log(f"pool: {evicted.name} left the pool")
        return snapshot

    def _sampling(
        self, temperature: float | None = None, seed: int | None = None
    ) -> SamplingParams:
        params = self.sampling
        if temperature is not None:
            params = dataclasses.replace(params, temperature=temperature)
        return dataclasses.replace(params, seed=seed)

    # ---- rollouts -------------------------------------------------------------------------

    def _plans(self, step: int) -> list[_Plan]:
        sp = self.cfg.selfplay
        rng = np.random.default_rng(derive_seed(self.cfg.train.seed, "opponents", step))
        weights = np.array([o.weight for o in sp.opponents], dtype=float)
        plans = []
        for _ in range(sp.games_per_step):
            i = int(rng.choice(len(weights), p=weights / weights.sum()))
            kind = sp.opponents[i].kind
            if kind == "self" or (kind == "pool" and not self.pool.snapshots):
                plans.append(_Plan(LEARNER, None))
            elif kind == "pool":
                snap = self.pool.sample(rng, self.elo)
                plans.append(_Plan(snap.name, None, snap))
            else:
                policy = self.fixed_opponents[i]
                assert policy is not None
                plans.append(_Plan(policy.name, policy))
        return plans

    def play(
        self, plans: list[_Plan], *, learner: Learner, seed_tag: str, step: int
    ) -> list[GameResult]:
        """Play one game per plan; the learner sits at ``player_0``, its role alternating.

        With role adapters (``learner`` maps adapter names to policies) every model seat plays
        with the adapter of the role it has in that game.
        """
        swap = self.cfg.selfplay.swap_roles
        chunks: dict[str, list[int]] = {}
        for gi, plan in enumerate(plans):
            chunks.setdefault(plan.snapshot.name if plan.snapshot else "", []).append(gi)
        results: list[GameResult | None] = [None] * len(plans)
        for ci, (key, members) in enumerate(chunks.items()):
            opponent_policy: Learner | None = None
            if key:
                snapshot = plans[members[0]].snapshot
                assert snapshot is not None
                opponent_policy = self._snapshot_policy(snapshot)
            specs = []
            for gi in members:
                plan = plans[gi]
                other = opponent_policy or plan.policy or learner
                swapped = bool(swap and gi % 2)
                specs.append(
                    MatchSpec(
                        seats={
                            "player_0": self._seat(learner, "player_0", swapped),
                            "player_1": self._seat(other, "player_1", swapped),
                        },
                        seed=derive_seed(self.cfg.train.seed, seed_tag, step, gi),
                        options={"swap_roles": swapped},
                        metadata={"step": step, "opponent": plan.opponent, "slot": gi},
                    )
                )
            played = self.runner.play(specs, seed=derive_seed(seed_tag, step, ci))
            for gi, res in zip(members, played, strict=True):
                results[gi] = res
        return [r for r in results if r is not None]

    # ---- one step -------------------------------------------------------------------------

    def train_step(self) -> dict[str, float]:
        """Play a step's games, update the policy once, rate, snapshot; return the metrics."""
        cfg, sp, step = self.cfg, self.cfg.selfplay, self.step
        t0 = time.perf_counter()

        # ---- 1-2. opponents and games ------------------------------------------------------
        learner = self._learner(None, cfg.train.seed, "sample", step)
        plans = self._plans(step)
        calls_before = self.runner.generate_calls
        results = self.play(plans, learner=learner, seed_tag="env", step=step)
        self.last_results = results
        rollout_s = time.perf_counter() - t0
        good = [r for r in results if not r.failed]

        # ---- 3. routed rewards and role-conditioned advantages -----------------------------
        trajectories, keys, rewards, adapters = [], [], [], []
        for r in good:
            routed = route_rewards(r.returns, sp.reward_routing)
            for agent, t in r.trajectories.items():
                if t.metadata.get("trainable") and t.segments:
                    trajectories.append(t)
                    keys.append(RoleBaselines.key(self.game_name, r.roles[agent]))
                    rewards.append(routed[agent])
                    adapters.append(self._adapter_that_sampled(learner, r, agent))
        baselines_before = {k: self.rae.baseline(k) for k in set(keys)}
        # SPIRAL's RAE, or the raw return (REINFORCE without a baseline) for comparison.
        advantages = self.rae.advantages(keys, rewards) if sp.advantage == "rae" else list(rewards)
        mask_truncated = cfg.train.algo.mask_truncated
        seqs: list[Sequence] = [
            _RoleSequence(
                list(s.token_ids),
                list(s.loss_mask),
                list(s.logprobs),
                float(adv),
                i,
                adapter=adapters[i],
            )
            for i, (t, adv) in enumerate(zip(trajectories, advantages, strict=True))
            if not (mask_truncated and t.truncated)
            for s in t.segments
            if s.num_sampled > 0
        ]

        # ---- 4. one policy update through the Trainer -------------------------------------
        t_update = time.perf_counter()
        a = cfg.train.algo
        kl = kl_coef_at(step, cfg.train.steps, a.kl_coef, a.kl_coef_final, a.kl_schedule)
        self.trainer._kl_coef = kl
        self.model.train()
        for module in self.model.modules():  # the sampler ran without dropout
            if isinstance(module, torch.nn.Dropout):
                module.eval()
        update_metrics: dict[str, float] = {}
        applied = True
        if seqs:
            skip_silent = kl == 0 and a.entropy_coef == 0
            # With role adapters, the Trainer's micro_batches hook scores each sequence with
            # the adapter that sampled it (see _GamePolicyTrainer.micro_batches).
            update_metrics, applied = self.trainer.update(seqs, skip_silent=skip_silent)
        self.step += 1
        self.trainer.step = self.step

        # ---- 5. ratings, pool, metrics ------------------------------------------------------
        for r in good:
            if r.metadata["opponent"] == LEARNER:
                continue  # self-play games are unrated
            self.elo.update(LEARNER, r.metadata["opponent"], game_score(r, "player_0"))
        if sp.pool.snapshot_every and self.step % sp.pool.snapshot_every == 0:
            self.take_snapshot()
        metrics: dict[str, float] = {
            "selfplay/games": float(len(results)),
            "selfplay/failed_games": float(len(results) - len(good)),
            "selfplay/trajectories": float(len(trajectories)),
            "selfplay/pool_size": float(len(self.pool)),
            "selfplay/generate_calls": float(self.runner.generate_calls - calls_before),
            "train/sequences": float(len(seqs)),
            "optim/update_applied": float(applied),
            "algo/kl_coef": kl,
        }
        if rewards:
            metrics["reward/mean"] = float(np.mean(rewards))
            metrics["adv/abs_mean"] = float(np.mean(np.abs(advantages)))
            metrics["turns/mean"] = float(np.mean([t.num_turns for t in trajectories]))
            metrics["tokens/sampled_mean"] = float(
                np.mean([t.num_sampled_tokens for t in trajectories])
            )
        for adapter in self.trainer.role_adapters:
            mine = [s for s in seqs if getattr(s, "adapter", "") == adapter]
            metrics[f"adapter/{adapter}/sequences"] = float(len(mine))
            metrics[f"adapter/{adapter}/sampled_tokens"] = float(
                sum(sum(s.loss_mask) for s in mine)
            )
        metrics.update(self._outcome_metrics(good, prefix="vs"))
        for key in sorted(set(keys)):
            role_returns = [rw for k, rw in zip(keys, rewards, strict=True) if k == key]
            metrics[f"role/{key}/return_mean"] = float(np.mean(role_returns))
            metrics[f"rae/{key}/baseline"] = self.rae.baseline(key)
            metrics[f"rae/{key}/baseline_before"] = baselines_before[key]
        for name, rating in self.elo.ratings.items():
            metrics[f"elo/{name}"] = rating
        stops: dict[str, int] = {}
        for r in results:
            reason = str(r.outcome.get("stop_reason", r.stop_reason.value))
            stops[reason] = stops.get(reason, 0) + 1
        for reason, n in stops.items():
            metrics[f"stop/{reason}"] = n / max(len(results), 1)
        metrics.update(update_metrics)
        metrics["perf/rollout_s"] = rollout_s
        metrics["perf/update_s"] = time.perf_counter() - t_update
        metrics["perf/step_s"] = time.perf_counter() - t0
        return metrics

    def _adapter_that_sampled(self, learner: Learner, result: GameResult, agent: str) -> str:
        """The role adapter of a learner seat ("" without role adapters), checked against the
        policy that actually played it: a sequence must be trained by the adapter that
        sampled it."""
        if not isinstance(learner, Mapping):
            return ""
        adapter = self.role_adapters[result.roles[agent]]
        played = result.policies[agent]
        if played != learner[adapter].name:
            raise RuntimeError(
                f"{agent} played role {result.roles[agent]!r} (adapter {adapter!r}) but was "
                f"seated with {played!r}: this game's roles are not fixed by swap_roles "
                f"(seen at reset: {self._seat_roles}); per-role adapters need roles that are"
            )
        return adapter

    def _outcome_metrics(self, results: list[GameResult], *, prefix: str) -> dict[str, float]:
        """Win/draw/loss rates and mean return of the learner (``player_0``) per opponent."""
        by_opponent: dict[str, list[GameResult]] = {}
        for r in results:
            by_opponent.setdefault(r.metadata["opponent"], []).append(r)
        out: dict[str, float] = {}
        for name, games in by_opponent.items():
            scores = [game_score(r, "player_0") for r in games]
            out[f"{prefix}/{name}/win_rate"] = float(np.mean([s == 1.0 for s in scores]))
            out[f"{prefix}/{name}/draw_rate"] = float(np.mean([s == 0.5 for s in scores]))
            out[f"{prefix}/{name}/loss_rate"] = float(np.mean([s == 0.0 for s in scores]))
            out[f"{prefix}/{name}/return_mean"] = float(
                np.mean([r.returns["player_0"] for r in games])
            )
            out[f"{prefix}/{name}/illegal_moves_mean"] = float(
                np.mean([r.trajectories["player_0"].info.get("illegal_moves", 0) for r in games])
            )
            out[f"{prefix}/{name}/games"] = float(len(games))
        return out

    # ---- evaluation -----------------------------------------------------------------------

    def evaluate(self, games: int | None = None, *, seed_tag: str = "eval") -> dict[str, float]:
        """Play the eval opponent (the learner alternating roles); not rated, not trained on.

        Returns:
            ``<name>/win_rate``, ``draw_rate``, ``loss_rate``, ``return_mean``,
            ``illegal_moves_mean`` and ``games`` for the learner, plus ``failed_games``.
        """
        ev = self.cfg.selfplay.eval
        n = ev.games if games is None else games
        if n <= 0:
            raise ValueError(f"the number of evaluation games must be > 0, got {n}")
        learner = self._learner(ev.temperature, self.cfg.train.seed, seed_tag)
        plans = [_Plan(ev.opponent_name, self._eval_policy) for _ in range(n)]
        # The same seeds every time: evaluations differ only by the policy.
        results = self.play(plans, learner=learner, seed_tag=seed_tag, step=-1)
        good = [r for r in results if not r.failed]
        out = self._outcome_metrics(good, prefix="eval")
        out = {k.removeprefix("eval/"): v for k, v in out.items()}
        out["failed_games"] = float(len(results) - len(good))
        return out

    # ---- the loop -------------------------------------------------------------------------

    def fit(self) -> dict[str, float]:
        """Train until ``steps``, evaluating, logging and checkpointing on schedule.

        Returns:
            The last step's metrics (plus the final evaluation when there is one).
        """
        cfg, ev = self.cfg, self.cfg.selfplay.eval
        every = cfg.train.checkpoint.every
        self.out_dir.mkdir(parents=True, exist_ok=True)
        (self.out_dir / "config.yaml").write_text(
            yaml.safe_dump(cfg.to_dict(), sort_keys=False), encoding="utf-8"
        )
        logger = MetricsLogger(self.out_dir / "metrics.jsonl", truncate_after_step=self.step)
        last: dict[str, float] = {}
        try:
            if ev.before_training and self.step == 0:
                first = {f"eval/{k}": v for k, v in self.evaluate().items()}
                logger.log(0, first)
                self.log(f"eval before training: {_fmt(first)}")
            while self.step < cfg.train.steps:
                last = self.train_step()
                if ev.every and self.step % ev.every == 0:
                    last.update({f"eval/{k}": v for k, v in self.evaluate().items()})
                logger.log(self.step, last)
                self.log(f"step {self.step}: {_fmt(_headline(last))}")
                if every and self.step % every == 0:
                    self.save_checkpoint()
            if self.step > 0 and (not every or self.step % every):  # not saved just above
                self.save_checkpoint()
            if ev.before_training and not (ev.every and self.step % ev.every == 0):
                final = {f"eval/{k}": v for k, v in self.evaluate().items()}
                logger.log(self.step, final)
                last.update(final)
                self.log(f"eval after training: {_fmt(final)}")
        finally:
            logger.close()
        if cfg.train.checkpoint.save_final_model:
            self.trainer.save_model(self.out_dir / "final_model")
        return last

    # ---- checkpoints ----------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The self-play state a checkpoint carries besides the model and optimizer."""
        return {
            "rae": self.rae.state_dict(),
            "elo": self.elo.state_dict(),
            "pool": [
                {"name": s.name, "step": s.step, "state": dict(s.state)}
                for s in self.pool.snapshots
            ],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        self.rae.load_state_dict(state["rae"])
        self.elo.load_state_dict(state["elo"])
        self.pool.snapshots = [
            Snapshot(str(s["name"]), int(s["step"]), dict(s["state"])) for s in state["pool"]
        ]

    def save_checkpoint(self) -> Path:
        """An atomic checkpoint: weights, optimizer, scheduler, RNG, baselines, Elo, pool."""
        t = self.trainer
        t.train_role_adapters()  # every adapter is saved, whichever sampled last
        extra = {"config": self.cfg.to_dict(), "rng": rng_state(), "selfplay": self.state_dict()}
        return t.checkpoints.save(self.step, t.model, t.optimizer, t.scheduler, extra=extra)

    def _resume(self) -> None:
        t = self.trainer
        t.train_role_adapters()
        state = t.checkpoints.load_latest(t.model, t.optimizer, t.scheduler)
        if state is None:
            return
        self.step = t.step = int(state["step"])
        extra = state["extra"]
        if "rng" in extra:
            set_rng_state(extra["rng"])
        if "selfplay" in extra:
            self.load_state_dict(extra["selfplay"])
        self.log(f"resumed from step {self.step} ({self.out_dir / 'checkpoints'})")


def _headline(metrics: Mapping[str, float]) -> dict[str, float]:
    keep = ("reward/mean", "elo/learner", "loss/policy", "eval/")
    return {k: v for k, v in metrics.items() if any(k.startswith(p) for p in keep)}


def _fmt(metrics: Mapping[str, float]) -> str:
    return ", ".join(
        f"{k}={v:.3f}" if isinstance(v, float) and math.isfinite(v) else f"{k}={v}"
        for k, v in metrics.items()
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m turngym.trainer.selfplay CONFIG.yaml [--set key=value ...]``."""
    parser = argparse.ArgumentParser(
        prog="python -m turngym.trainer.selfplay",
        description="Self-play training of one model on a multi-agent text game.",
    )
    parser.add_argument("config", help="YAML file: TrainConfig keys plus a 'selfplay:' section")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a field by its dotted path (repeatable), e.g. selfplay.games_per_step=64",
    )  # fmt: skip
    args = parser.parse_args(argv)
    try:
        cfg = SelfPlayConfig.from_yaml(args.config, args.overrides)
        SelfPlayTrainer(cfg).fit()
    except ConfigError as exc:
        parser.exit(2, f"error: {exc}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

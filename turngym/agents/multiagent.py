"""Multi-agent rollouts: many games at once, one token-exact Trajectory per model-played seat.

A *seat* is one agent id of a PettingZoo game (``player_0``, ``player_1``); a *policy* plays
it. Policies come in three kinds:

- :class:`ModelPolicy`: token ids sampled from a :class:`~turngym.agents.backend.Backend`
  (the trained model, a frozen snapshot, a LoRA adapter of the shared base, a vLLM or
  OpenAI-compatible token backend). Its seat keeps its own conversation and its own
  :class:`~turngym.core.Trajectory`, built exactly like a single-agent
  :class:`~turngym.agents.agent.Episode`: the sampled tokens carry loss (mask 1); the game's
  messages, which include what the other players did, arrive as observations rendered as the
  chat template's delta (mask 0). Sampled tokens are never re-tokenized.
- :class:`ChatPolicy`: any ``(messages) -> str`` callable over OpenAI-style message dicts
  (e.g. :class:`turngym.tools.openai_chat.OpenAIChatClient`, or a human at a keyboard).
- :class:`ScriptedPolicy`: the games' scripted ``(env, agent, rng) -> str`` policies
  (``strong_move``, ``random_move``, ...).

:class:`MultiAgentRunner` plays many :class:`MatchSpec` at once. Every round it collects the
prompts of all seats waiting for a model, groups them by policy (the same backend and
sampling parameters), and samples each group in ONE ``generate`` call, so a shared model
playing both seats of 32 games samples 32 prompts per call. Chat and scripted seats act
inline as soon as it is their turn.

Rewards: in the AEC API, ``last()`` returns what an agent accumulated since it last acted;
that amount is credited to the agent's previous turn (the turn that led to it), so a seat's
``turn_rewards`` sum to its game total, like ``play_episode`` counts them.

What it does NOT cover: context management other than full history (no sliding windows or
summaries inside games), images, more than one game per episode, and asynchronous play across
rounds (a round waits for its slowest generate call).
"""

from __future__ import annotations

import contextlib
import inspect
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from turngym.agents.agent import _SegmentBuilder
from turngym.agents.backend import Backend, Generation, SamplingParams
from turngym.agents.chat import ChatRenderer, TemplateMismatchError
from turngym.agents.rollout import derive_seed
from turngym.core.messages import Message
from turngym.core.trajectory import Segment, StopReason, Trajectory

__all__ = [
    "AdapterBackend",
    "ChatPolicy",
    "GameResult",
    "MatchSpec",
    "ModelPolicy",
    "MultiAgentRunner",
    "ScriptedPolicy",
    "SeatPolicy",
    "activate_adapter",
    "as_policy",
]


# =============================================================================================
# Policies
# =============================================================================================


@dataclass(frozen=True, eq=False)
class ModelPolicy:
    """A seat sampled token by token from a backend; its turns become a token-exact Trajectory.

    Seats with the same ``ModelPolicy`` object are sampled together in one ``generate`` call
    per round (one shared model playing every role).
    """

    name: str
    """Name in logs, metrics and ratings (e.g. ``learner``, ``snapshot@20``)."""
    backend: Backend
    """Samples token ids (an :class:`AdapterBackend` selects a LoRA adapter first)."""
    renderer: ChatRenderer
    """Chat renderer of the backend's tokenizer."""
    sampling: SamplingParams
    """Sampling parameters; empty ``stop_token_ids`` take the renderer's."""
    trainable: bool = True
    """Whether its trajectories are training data (False for frozen opponents)."""


@dataclass(frozen=True, eq=False)
class ChatPolicy:
    """A seat played by any ``(messages) -> reply text`` callable (OpenAI-style dicts).

    The callable sees the seat's whole conversation as ``[{"role", "content"}, ...]``, e.g. an
    :class:`~turngym.tools.openai_chat.OpenAIChatClient`. Its turns carry no tokens.
    """

    name: str
    """Name in logs, metrics and ratings."""
    reply: Callable[[list[dict[str, str]]], str]
    """The model: conversation in, reply text out."""


@dataclass(frozen=True, eq=False)
class ScriptedPolicy:
    """A seat played by a game's scripted policy ``(env, agent, rng) -> action text``."""

    name: str
    """Name in logs, metrics and ratings (e.g. ``random``, ``strong``)."""
    move: Callable[[Any, str, np.random.Generator], str]
    """E.g. :func:`turngym.envs.multiagent.tictactoe.random_move`."""


SeatPolicy = ModelPolicy | ChatPolicy | ScriptedPolicy


def as_policy(
    obj: Any,
    name: str,
    *,
    renderer: ChatRenderer | None = None,
    sampling: SamplingParams | None = None,
    trainable: bool = False,
) -> SeatPolicy:
    """Wrap a backend, a chat callable or a scripted function as a seat policy.

    Args:
        obj: A policy already (returned as is), a :class:`~turngym.agents.backend.Backend`
            (needs ``renderer``), a callable of one argument ``(messages) -> str``, or a
            callable of three ``(env, agent, rng) -> str``.
        name: The policy's name.
        renderer: Chat renderer, for a backend.
        sampling: Sampling parameters, for a backend (default: ``SamplingParams()``).
        trainable: For a backend, whether its trajectories are training data.

    Raises:
        TypeError: ``obj`` is none of these, or a backend comes without a renderer.
    """
    if isinstance(obj, ModelPolicy | ChatPolicy | ScriptedPolicy):
        return obj
    if isinstance(obj, Backend):
        if renderer is None:
            raise TypeError(
                f"policy {name!r} is a Backend: pass renderer= (the ChatRenderer of its tokenizer)"
            )
        return ModelPolicy(name, obj, renderer, sampling or SamplingParams(), trainable)
    if callable(obj):
        try:
            params = [
                p
                for p in inspect.signature(obj).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
            ]
        except (TypeError, ValueError):
            params = []
        if len(params) == 3:
            return ScriptedPolicy(name, obj)
        if len(params) == 1:
            return ChatPolicy(name, obj)
    raise TypeError(
        f"policy {name!r}: expected a Backend, a (messages) -> str callable or a scripted "
        f"(env, agent, rng) -> str function, got {type(obj).__name__}"
    )


class AdapterBackend:
    """A view of an :class:`~turngym.agents.hf.HFBackend` that samples with one LoRA adapter.

    Several roles can share one base model with a LoRA adapter each (peft's multiple
    adapters): each role's :class:`ModelPolicy` gets an ``AdapterBackend`` naming its adapter,
    and the runner samples each policy's prompts in its own call, after activating the adapter.

    Args:
        inner: The backend over the peft model.
        model: The ``peft.PeftModel`` holding the adapters.
        adapter: The adapter to activate before sampling.
    """

    def __init__(self, inner: Any, model: Any, adapter: str):
        if adapter not in getattr(model, "peft_config", {}):
            known = sorted(getattr(model, "peft_config", {}))
            raise ValueError(f"adapter {adapter!r} is not in the peft model (it has {known})")
        self.inner = inner
        self.model = model
        self.adapter = adapter

    @property
    def max_context(self) -> int | None:
        return self.inner.max_context

    def generate(
        self,
        prompts: Sequence[Sequence[int]],
        params: SamplingParams,
        max_new_tokens: Sequence[int] | None = None,
    ) -> list[Generation]:
        """Activate the adapter, then sample (see :class:`~turngym.agents.backend.Backend`)."""
        activate_adapter(self.model, self.adapter)
        return self.inner.generate(prompts, params, max_new_tokens)


def activate_adapter(model: Any, adapter: str) -> None:
    """Make ``adapter`` the peft model's active adapter without changing what trains.

    peft's ``set_adapter`` also freezes every other adapter (``requires_grad=False``), and so
    does leaving ``disable_adapter()``. A trainer that trains several adapters side by side
    (self-play's per-role adapters) selects its trainable parameters, checkpoints and
    snapshots by ``requires_grad``, so the flags are put back as they were.

    Args:
        model: A ``peft.PeftModel`` holding ``adapter``.
        adapter: The adapter to activate.
    """
    flags = [(p, p.requires_grad) for p in model.parameters()]
    model.set_adapter(adapter)
    for p, trainable in flags:
        if p.requires_grad != trainable:
            p.requires_grad_(trainable)


# =============================================================================================
# Records
# =============================================================================================


@dataclass(frozen=True)
class MatchSpec:
    """One game to play: who sits where, the seed and the reset options."""

    seats: Mapping[str, SeatPolicy]
    """Policy per agent id (``player_0``) or per role (``x``, ``attacker``); roles are
    resolved after ``reset``, so ``swap_roles`` moves a role's policy to the other seat."""
    seed: int
    """Seed of ``env.reset`` (and of the scripted policies' RNG)."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """``env.reset`` options, e.g. ``{"swap_roles": True}``."""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """Copied into every seat's trajectory metadata."""


@dataclass(frozen=True)
class GameResult:
    """A finished game: one trajectory per seat, the roles, the policies and the returns."""

    trajectories: Mapping[str, Trajectory]
    """Per agent id. Seats of chat or scripted policies have no segments."""
    roles: Mapping[str, str]
    """Role per agent id (``x``, ``o``, ...)."""
    policies: Mapping[str, str]
    """Policy name per agent id."""
    returns: Mapping[str, float]
    """The env's total reward per agent id (sum of its turn rewards)."""
    outcome: Mapping[str, Any]
    """The game's final info (``stop_reason``, ``winner``, ``forfeited_by``, ...)."""
    stop_reason: StopReason
    """Why the game ended (a failure when the env, a backend or a policy raised)."""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """The spec's metadata plus the seed."""

    @property
    def failed(self) -> bool:
        """Whether the game ended by an error outside the players' control."""
        return self.stop_reason.is_failure

    def trainable_trajectories(self) -> list[Trajectory]:
        """Trajectories of the seats played by trainable model policies."""
        return [t for t in self.trajectories.values() if t.metadata.get("trainable") and t.segments]


# =============================================================================================
# One seat and one game
# =============================================================================================


class _Seat:
    """One agent's side of a game: its conversation and, for model policies, its tokens."""

    def __init__(self, agent: str, policy: SeatPolicy, role: str):
        self.agent = agent
        self.policy = policy
        self.role = role
        self.messages: list[Message] = []
        """Everything this agent was shown and said (the game's ``conversation(agent)``)."""
        self.context: list[Message] = []
        """What the current segment renders."""
        self.segments: list[Segment] = []
        self.current = _SegmentBuilder()
        self.turn_rewards: list[float] = []
        self.reward_before_first_turn = 0.0
        self.stop_id: int | None = None
        self.unrendered: list[Message] = []
        self.rendered_once = False
        self.info: dict[str, Any] = {}

    @property
    def is_model(self) -> bool:
        return isinstance(self.policy, ModelPolicy)

    def credit(self, reward: float) -> None:
        """Reward that arrived since this agent last acted belongs to its last turn."""
        if self.turn_rewards:
            self.turn_rewards[-1] += reward
        else:
            self.reward_before_first_turn += reward

    def observe(self, new: Sequence[Message]) -> None:
        self.messages.extend(new)
        self.unrendered.extend(new)

    def render_prompt(self) -> None:
        """Append the unrendered messages to the token sequence, ending in a generation prompt."""
        assert isinstance(self.policy, ModelPolicy)
        renderer = self.policy.renderer
        new, self.unrendered = self.unrendered, []
        if not self.rendered_once:
            self.context = list(new)
            self.current.add_context(renderer.prompt_ids(self.context))
            self.rendered_once = True
            return
        try:
            ids = renderer.continuation_ids(self.context, self.stop_id, new)
        except TemplateMismatchError:
            # The template rewrote history: keep the old tokens as sampled and restart.
            self.segments.append(self.current.freeze())
            self.current = _SegmentBuilder()
            self.context = [*self.context, *new]
            self.current.add_context(renderer.prompt_ids(self.context))
            return
        self.current.add_context(ids)
        self.context.extend(new)

    def take_sampled(self, generation: Generation) -> str:
        assert isinstance(self.policy, ModelPolicy)
        turn = len(self.turn_rewards)
        self.current.add_sampled(generation.token_ids, generation.logprobs, turn)
        text, self.stop_id = self.policy.renderer.split_action(generation.token_ids)
        self.took_action(text)
        self.context.append(self.messages[-1])
        return text

    def took_action(self, text: str) -> None:
        self.messages.append(Message("assistant", text))
        self.turn_rewards.append(0.0)
        if self.reward_before_first_turn:
            self.turn_rewards[-1] += self.reward_before_first_turn
            self.reward_before_first_turn = 0.0

    def tokens_used(self) -> int:
        return sum(len(s) for s in self.segments) + len(self.current.token_ids)

    def finished_segments(self) -> tuple[Segment, ...]:
        segments = list(self.segments)
        cur = self.current
        last = max((end for _, end in cur.turn_spans), default=0)
        if cur.turn_spans:
            # Context after the last sampled token prompted a turn that never happened.
            segments.append(
                Segment(
                    token_ids=tuple(cur.token_ids[:last]),
                    loss_mask=tuple(cur.loss_mask[:last]),
                    logprobs=tuple(cur.logprobs[:last]),
                    turn_spans=tuple(cur.turn_spans),
                    turn_indices=tuple(cur.turn_indices),
                )
            )
        return tuple(s for s in segments if s.num_sampled > 0)


@dataclass
class _Request:
    game: _Game
    seat: _Seat


class _Game:
    """Drives one PettingZoo game (AEC or Parallel) until a model seat must move."""

    def __init__(
        self,
        env: Any,
        spec: MatchSpec,
        index: int,
        *,
        max_seat_tokens: int,
        max_moves: int,
    ):
        self.env = env
        self.spec = spec
        self.index = index
        self.max_seat_tokens = max_seat_tokens
        self.max_moves = max_moves
        self.parallel = not hasattr(env, "agent_iter")
        self.rng = np.random.default_rng(spec.seed + 1_000_003)
        self.seats: dict[str, _Seat] = {}
        self.pending: list[_Seat] = []
        self.actions: dict[str, str] = {}
        self.stop_reason: StopReason | None = None
        self.outcome: dict[str, Any] = {}
        self.error: str | None = None
        self.moves = 0

    @property
    def done(self) -> bool:
        return self.stop_reason is not None

    # ---- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        try:
            if self.parallel:
                observations, infos = self.env.reset(
                    seed=self.spec.seed, options=dict(self.spec.options)
                )
            else:
                self.env.reset(seed=self.spec.seed, options=dict(self.spec.options))
                observations = infos = None
        except Exception as exc:  # noqa: BLE001 - errors are data: this game fails, the run lives
            self._fail(StopReason.ENV_ERROR, exc)
            return
        # A seat map that does not fit the game is the caller's mistake: raise, don't hide it.
        self._seat_policies()
        try:
            if self.parallel:
                for agent, seat in self.seats.items():
                    seat.observe(observations.get(agent, ()))
                    seat.info = dict(infos.get(agent, {}))
            self._run()
        except Exception as exc:  # noqa: BLE001 - errors are data: this game fails, the run lives
            self._fail(StopReason.ENV_ERROR, exc)

    def _seat_policies(self) -> None:
        agents = list(self.env.possible_agents)
        roles = {a: str(self.env.role(a)) if hasattr(self.env, "role") else a for a in agents}
        for key, policy in self.spec.seats.items():
            if key in agents:
                targets = [key]
            else:
                targets = [a for a in agents if roles[a] == key]
                if not targets:
                    raise ValueError(
                        f"seat {key!r} is neither an agent id {agents} nor a role "
                        f"{sorted(set(roles.values()))} of this game"
                    )
            for agent in targets:
                if agent in self.seats:
                    raise ValueError(f"agent {agent!r} is given two policies (key {key!r})")
                self.seats[agent] = _Seat(agent, policy, roles[agent])
        missing = [a for a in agents if a not in self.seats]
        if missing:
            raise ValueError(f"no policy for {missing}; give one per agent id or role")

    def _act_inline(self, seat: _Seat) -> str:
        policy = seat.policy
        if isinstance(policy, ScriptedPolicy):
            text = policy.move(self.env, seat.agent, self.rng)
        else:
            assert isinstance(policy, ChatPolicy)
            text = policy.reply([{"role": m.role, "content": m.text} for m in seat.messages])
        if not isinstance(text, str):
            raise TypeError(f"policy {policy.name!r} returned {type(text).__name__}, not str")
        seat.took_action(text)
        seat.unrendered = []
        return text

    def _needs_model(self, seat: _Seat) -> bool:
        """Render the seat's prompt and queue it, unless a budget ends the game first."""
        try:
            seat.render_prompt()
        except Exception as exc:  # noqa: BLE001
            self._fail(StopReason.AGENT_ERROR, exc)
            return False
        if self.token_cap(seat) <= 0:
            reason = StopReason.TOKEN_BUDGET
            limit = self._max_context(seat)
            if limit is not None and len(seat.current.token_ids) >= limit:
                reason = StopReason.CONTEXT_LIMIT
            self._end(reason)
            return False
        self.pending.append(seat)
        return True

    def _run(self) -> None:
        """Play inline seats until a model seat must move or the game ends."""
        if self.parallel:
            self._run_parallel()
        else:
            self._run_aec()

    def _run_aec(self) -> None:
        env = self.env
        while not self.done:
            if not env.agents:
                self._end(StopReason.TERMINATED)
                return
            agent = env.agent_selection
            obs, reward, terminated, truncated, info = env.last()
            seat = self.seats[agent]
            seat.credit(float(reward))
            seat.info = dict(info)
            if terminated or truncated:
                seat.observe(obs)
                self.outcome = dict(info)
                env.step(None)
                continue
            if self.moves >= self.max_moves:
                self._end(StopReason.TURN_LIMIT)
                return
            seat.observe(obs)
            if seat.is_model:
                self._needs_model(seat)
                return
            text = self._act_inline(seat)
            self.moves += 1
            env.step(text)

    def _run_parallel(self) -> None:
        while not self.done:
            if not self.env.agents:
                self._end(StopReason.TERMINATED)
                return
            if self.moves >= self.max_moves:
                self._end(StopReason.TURN_LIMIT)
                return
            waiting = [
                s
                for a, s in self.seats.items()
                if a in self.env.agents
                and s.info.get("awaiting_move", True)
                and a not in self.actions
            ]
            for seat in waiting:
                if seat.is_model:
                    if not self._needs_model(seat):
                        return
                else:
                    self.actions[seat.agent] = self._act_inline(seat)
            if self.pending:
                return
            self._step_parallel()

    def _step_parallel(self) -> None:
        actions, self.actions = self.actions, {}
        self.moves += 1
        observations, rewards, terms, truncs, infos = self.env.step(actions)
        for agent, seat in self.seats.items():
            seat.credit(float(rewards.get(agent, 0.0)))
            seat.observe(observations.get(agent, ()))
            if agent in infos:
                seat.info = dict(infos[agent])
                self.outcome = dict(infos[agent])
        if all(terms.get(a, False) or truncs.get(a, False) for a in self.seats):
            self._end(StopReason.TERMINATED)

    def token_cap(self, seat: _Seat) -> int:
        assert isinstance(seat.policy, ModelPolicy)
        cap = min(seat.policy.sampling.max_new_tokens, self.max_seat_tokens - seat.tokens_used())
        limit = self._max_context(seat)
        if limit is not None:
            cap = min(cap, limit - len(seat.current.token_ids))
        return cap

    @staticmethod
    def _max_context(seat: _Seat) -> int | None:
        assert isinstance(seat.policy, ModelPolicy)
        return seat.policy.backend.max_context

    def feed(self, seat: _Seat, generation: Generation) -> None:
        """Give a model seat its sampled turn and play on until the next model turn."""
        self.pending.remove(seat)
        try:
            text = seat.take_sampled(generation)
            self.moves += 1
            if self.parallel:
                self.actions[seat.agent] = text
                if not self.pending:
                    self._step_parallel()
                    self._run()
            else:
                self.env.step(text)
                self._run()
        except Exception as exc:  # noqa: BLE001 - errors are data
            self._fail(StopReason.ENV_ERROR, exc)

    def abort(self, reason: StopReason, exc: BaseException) -> None:
        if not self.done:
            self._fail(reason, exc)

    def _end(self, reason: StopReason) -> None:
        self.stop_reason = reason
        self.pending = []

    def _fail(self, reason: StopReason, exc: BaseException) -> None:
        self.error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        self._end(reason)

    # ---- result ---------------------------------------------------------------------------

    def result(self) -> GameResult:
        assert self.stop_reason is not None
        reason = self.stop_reason
        policies = {a: s.policy.name for a, s in self.seats.items()}
        roles = {a: s.role for a, s in self.seats.items()}
        trajectories: dict[str, Trajectory] = {}
        for agent, seat in self.seats.items():
            if seat.reward_before_first_turn:  # a seat that never moved keeps what it got
                seat.turn_rewards.append(seat.reward_before_first_turn)
                seat.reward_before_first_turn = 0.0
            info = {**seat.info, "role": seat.role}
            info.setdefault("stop_reason", reason.value)
            trajectories[agent] = Trajectory(
                segments=seat.finished_segments() if seat.is_model else (),
                messages=tuple(seat.messages),
                turn_rewards=tuple(seat.turn_rewards),
                terminated=reason is StopReason.TERMINATED,
                truncated=reason.is_truncation,
                stop_reason=reason,
                info=info,
                metadata={
                    **self.spec.metadata,
                    "seed": self.spec.seed,
                    "game": self.index,
                    "agent": agent,
                    "role": seat.role,
                    "policy": seat.policy.name,
                    "opponents": {a: p for a, p in policies.items() if a != agent},
                    "trainable": isinstance(seat.policy, ModelPolicy) and seat.policy.trainable,
                    "error": self.error,
                },
            )
        return GameResult(
            trajectories=trajectories,
            roles=roles,
            policies=policies,
            returns={a: t.reward for a, t in trajectories.items()},
            outcome=dict(self.outcome),
            stop_reason=reason,
            metadata={**self.spec.metadata, "seed": self.spec.seed, "error": self.error},
        )


# =============================================================================================
# The runner
# =============================================================================================


class MultiAgentRunner:
    """Plays many multi-agent games at once, batching every model policy's prompts per round.

    Args:
        env_factory: Builds a fresh PettingZoo env (e.g. ``lambda: turngym.make(id)``).
        max_seat_tokens: Token budget of one seat's whole conversation; a seat that runs out
            ends its game as ``token_budget`` (a truncation, for every seat).
        max_moves: Moves per game at most (legal or not), after which it ends as
            ``turn_limit``: a guard against games that never end.

    Example:
        >>> runner = MultiAgentRunner(lambda: turngym.make("turngym/TicTacToe-v0"))  # doctest: +SKIP
        >>> learner = ModelPolicy("learner", backend, renderer, SamplingParams(max_new_tokens=16))
        >>> games = runner.play([MatchSpec({"x": learner, "o": learner}, seed=s) for s in range(8)])
    """

    def __init__(
        self,
        env_factory: Callable[[], Any],
        *,
        max_seat_tokens: int = 4096,
        max_moves: int = 200,
    ):
        if max_seat_tokens <= 0:
            raise ValueError(f"max_seat_tokens must be > 0, got {max_seat_tokens}")
        if max_moves <= 0:
            raise ValueError(f"max_moves must be > 0, got {max_moves}")
        self.env_factory = env_factory
        self.max_seat_tokens = max_seat_tokens
        self.max_moves = max_moves
        self.generate_calls = 0
        """How many ``generate`` calls the runner made (for metrics and tests)."""

    def play(self, matches: Sequence[MatchSpec], *, seed: int = 0) -> list[GameResult]:
        """Play every match to its end; one result per match, in order.

        Args:
            matches: The games.
            seed: Mixed with the round number into each call's sampling seed (for policies
                whose ``sampling.seed`` is set; a None seed is left alone).
        """
        for i, m in enumerate(matches):
            if not isinstance(m, MatchSpec):
                raise TypeError(f"matches[{i}] must be a MatchSpec, got {type(m).__name__}")
        games = [
            _Game(
                self.env_factory(),
                m,
                i,
                max_seat_tokens=self.max_seat_tokens,
                max_moves=self.max_moves,
            )
            for i, m in enumerate(matches)
        ]
        try:
            for g in games:
                g.start()
            round_ = 0
            while True:
                requests = [_Request(g, s) for g in games if not g.done for s in g.pending]
                if not requests:
                    break
                by_policy: dict[int, list[_Request]] = {}
                for r in requests:
                    by_policy.setdefault(id(r.seat.policy), []).append(r)
                for batch in by_policy.values():
                    self._sample(batch, seed, round_)
                round_ += 1
        finally:
            for g in games:
                with contextlib.suppress(Exception):
                    g.env.close()
        return [g.result() for g in games]

    def _sample(self, batch: list[_Request], seed: int, round_: int) -> None:
        policy = batch[0].seat.policy
        assert isinstance(policy, ModelPolicy)
        params = policy.sampling
        if not params.stop_token_ids:
            params = replace(params, stop_token_ids=policy.renderer.stop_token_ids)
        if params.seed is not None:
            params = replace(params, seed=derive_seed(params.seed, seed, round_))
        try:
            self.generate_calls += 1
            gens = policy.backend.generate(
                [r.seat.current.token_ids for r in batch],
                params,
                max_new_tokens=[r.game.token_cap(r.seat) for r in batch],
            )
            if len(gens) != len(batch):
                raise RuntimeError(
                    f"backend of {policy.name!r} returned {len(gens)} generations for "
                    f"{len(batch)} prompts"
                )
        except Exception as exc:  # noqa: BLE001 - the backend failing ends these games
            for r in batch:
                r.game.abort(StopReason.AGENT_ERROR, exc)
            return
        for r, gen in zip(batch, gens, strict=True):
            if not r.game.done:
                r.game.feed(r.seat, gen)

"""Multi-agent rollouts: per-seat token-exact trajectories, masks, batching, policy kinds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

import turngym
from turngym.agents.backend import Generation, SamplingParams
from turngym.agents.chat import ChatRenderer
from turngym.agents.multiagent import (
    AdapterBackend,
    ChatPolicy,
    MatchSpec,
    ModelPolicy,
    MultiAgentRunner,
    ScriptedPolicy,
    as_policy,
)
from turngym.core.messages import Message
from turngym.core.trajectory import StopReason
from turngym.envs.multiagent.base import SimultaneousTextGameEnv
from turngym.envs.multiagent.tictactoe import random_move

TTT = "turngym/TicTacToe-v0"


@dataclass
class Call:
    prompts: list[list[int]]
    generations: list[Generation]


class RecordingBackend:
    """Wraps a backend and records every call (prompts and what came back)."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.calls: list[Call] = []

    @property
    def max_context(self) -> int | None:
        return self.inner.max_context

    def generate(self, prompts, params, max_new_tokens=None):
        gens = self.inner.generate(prompts, params, max_new_tokens)
        self.calls.append(Call([list(p) for p in prompts], list(gens)))
        return gens


class ScriptedTokens:
    """A fake backend that 'samples' fixed texts (tokenized once) in turn, with a stop token."""

    def __init__(self, renderer: ChatRenderer, texts: list[str]):
        self.renderer = renderer
        self.texts = texts
        self.i = 0
        self.batch_sizes: list[int] = []

    @property
    def max_context(self) -> int | None:
        return None

    def generate(self, prompts, params, max_new_tokens=None):
        self.batch_sizes.append(len(prompts))
        out = []
        for _ in prompts:
            ids = tuple(self.renderer.encode(self.texts[self.i % len(self.texts)]))
            self.i += 1
            out.append(
                Generation(
                    ids + (self.renderer.stop_token_ids[0],), (-0.5,) * (len(ids) + 1), "stop"
                )
            )
        return out


@pytest.fixture(scope="module")
def tiny(tiny_model_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from turngym.agents.hf import HFBackend

    tok = AutoTokenizer.from_pretrained(tiny_model_path)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_path)
    renderer = ChatRenderer(tok)
    return model, renderer, HFBackend(model, pad_token_id=tok.pad_token_id)


@pytest.fixture(scope="module")
def renderer(tokenizer) -> ChatRenderer:
    return ChatRenderer(tokenizer)


def _runner(**kwargs) -> MultiAgentRunner:
    return MultiAgentRunner(lambda: turngym.make(TTT), **kwargs)


# ---- masks and token exactness ---------------------------------------------------------------


def test_each_seat_is_token_exact_and_only_its_own_samples_carry_loss(tiny):
    model, renderer, backend = tiny
    rec = RecordingBackend(backend)
    learner = ModelPolicy("learner", rec, renderer, SamplingParams(max_new_tokens=5, seed=3))
    # Scripted legal moves on the other seat keep the game going for several turns.
    games = _runner().play(
        [
            MatchSpec({"x": learner, "o": ScriptedPolicy("random", random_move)}, seed=0),
            MatchSpec({"x": ScriptedPolicy("random", random_move), "o": learner}, seed=1),
        ]
    )
    sampled_by_call = {
        tuple(p): g
        for call in rec.calls
        for p, g in zip(call.prompts, call.generations, strict=True)
    }
    checked_turns = 0
    for game in games:
        assert not game.failed
        for agent, t in game.trajectories.items():
            if game.policies[agent] != "learner":
                assert t.segments == () and not t.metadata["trainable"]
                continue
            assert t.metadata["trainable"] and t.metadata["role"] == game.roles[agent]
            (seg,) = t.segments
            assert len(seg.turn_spans) == t.num_turns
            on = {i for a, b in seg.turn_spans for i in range(a, b)}
            assert [i for i, m in enumerate(seg.loss_mask) if m] == sorted(on)
            assert all(seg.logprobs[i] == 0.0 for i in range(len(seg)) if i not in on)
            # Each turn: the prompt sent to the backend is exactly the tokens before the span,
            # and the span holds exactly the sampled ids (never re-tokenized).
            for a, b in seg.turn_spans:
                gen = sampled_by_call[tuple(seg.token_ids[:a])]
                assert seg.token_ids[a:b] == gen.token_ids
                assert seg.logprobs[a:b] == pytest.approx(gen.logprobs)
            # The first prompt is the chat template of the seat's opening messages.
            first = t.messages[: next(i for i, m in enumerate(t.messages) if m.role == "assistant")]
            assert list(seg.token_ids[: seg.turn_spans[0][0]]) == renderer.prompt_ids(first)
            # Context between turns: the template's delta of that seat's own new messages.
            assistant_at = [i for i, m in enumerate(t.messages) if m.role == "assistant"]
            for k in range(1, len(seg.turn_spans)):
                prev_end, start = seg.turn_spans[k - 1][1], seg.turn_spans[k][0]
                history = list(t.messages[: assistant_at[k - 1] + 1])
                new = list(t.messages[assistant_at[k - 1] + 1 : assistant_at[k]])
                stop = seg.token_ids[prev_end - 1]
                stop = stop if stop in renderer.stop_token_ids else None
                expected = renderer.continuation_ids(history, stop, new)
                assert list(seg.token_ids[prev_end:start]) == expected
                checked_turns += 1
            # The opponent's moves reach this seat only as context (mask 0).
            context_text = renderer.decode(
                [i for i, m in zip(seg.token_ids, seg.loss_mask, strict=True) if not m]
            )
            other_mark = "O" if game.roles[agent] == "x" else "X"
            if any(
                m.role == "user" and f"{other_mark} played" in m.text
                for m in t.messages[: assistant_at[-1]]
            ):
                assert f"{other_mark} played" in context_text
            assert t.reward == pytest.approx(game.returns[agent])
    assert checked_turns >= 1


def test_shared_policy_prompts_of_all_games_are_sampled_in_one_call_per_round(renderer):
    # Both seats of 6 games are the same policy: each round one generate call holds every
    # game's pending prompt; the fake backend plays legal moves 0, 1, 2, ... per call order.
    class RoundMoves(ScriptedTokens):
        def generate(self, prompts, params, max_new_tokens=None):
            move = ["[0]", "[3]", "[1]", "[4]", "[2]"][len(self.batch_sizes)]
            self.texts = [move]
            return super().generate(prompts, params, max_new_tokens)

    backend = RoundMoves(renderer, ["[0]"])
    shared = ModelPolicy("learner", backend, renderer, SamplingParams(max_new_tokens=8))
    runner = _runner()
    games = runner.play(
        [MatchSpec({"player_0": shared, "player_1": shared}, seed=s) for s in range(6)]
    )
    # X takes 0, 1, 2 (top row) and wins on the 5th move: 5 rounds of 6 prompts each.
    assert backend.batch_sizes == [6, 6, 6, 6, 6]
    assert runner.generate_calls == 5
    for g in games:
        assert g.outcome["winner"] == "player_0" and g.stop_reason is StopReason.TERMINATED
        assert g.returns == {"player_0": 1.0, "player_1": -1.0}
        # per-role trajectories: X sampled 3 turns, O 2, each with its own tokens
        assert g.trajectories["player_0"].num_turns == 3
        assert g.trajectories["player_1"].num_turns == 2
        assert g.trajectories["player_0"].turn_rewards[-1] == 1.0
        assert g.trajectories["player_1"].turn_rewards[-1] == -1.0


def test_roles_follow_swap_and_rewards_credit_the_previous_turn(renderer):
    # Illegal moves cost 0.1 each, credited to the turn that made them.
    backend = ScriptedTokens(renderer, ["[9]", "[4]"])
    learner = ModelPolicy("learner", backend, renderer, SamplingParams(max_new_tokens=8))
    strong = ScriptedPolicy("random", random_move)
    (game,) = _runner().play(
        [MatchSpec({"x": learner, "o": strong}, seed=0, options={"swap_roles": True})]
    )
    assert game.roles == {"player_1": "x", "player_0": "o"}
    assert game.policies["player_1"] == "learner"
    t = game.trajectories["player_1"]
    assert t.turn_rewards[0] == pytest.approx(-0.1)  # "[9]" is not a cell
    assert sum(t.turn_rewards) == pytest.approx(game.returns["player_1"])


# ---- policy kinds -----------------------------------------------------------------------------


def test_chat_policy_sees_its_own_conversation_as_openai_dicts(renderer):
    seen: list[list[dict[str, str]]] = []

    def chat(messages: list[dict[str, str]]) -> str:
        seen.append(messages)
        free = [c for c in range(9) if f"[{c}]" not in str(messages)]
        return f"I pick [{free[0]}]"

    policy = as_policy(chat, "chat-model")
    assert isinstance(policy, ChatPolicy)
    (game,) = _runner().play(
        [MatchSpec({"x": policy, "o": ScriptedPolicy("random", random_move)}, seed=2)]
    )
    assert not game.failed
    assert seen[0][0]["role"] == "system" and "as X" in seen[0][0]["content"]
    assert all(isinstance(m, dict) and set(m) == {"role", "content"} for m in seen[-1])
    assert [m["role"] for m in seen[1]].count("assistant") == 1  # its own first move


def test_as_policy_recognises_each_kind_and_rejects_the_rest(renderer, tiny):
    _, _, backend = tiny
    assert isinstance(as_policy(random_move, "random"), ScriptedPolicy)
    assert isinstance(as_policy(backend, "b", renderer=renderer), ModelPolicy)
    with pytest.raises(TypeError, match="pass renderer="):
        as_policy(backend, "b")
    with pytest.raises(TypeError, match="expected a Backend"):
        as_policy(42, "x")
    with pytest.raises(TypeError, match="expected a Backend"):
        as_policy(lambda a, b: "x", "two-args")


def test_bad_seat_maps_raise_and_failures_are_data(renderer):
    learner = ModelPolicy("learner", ScriptedTokens(renderer, ["[4]"]), renderer, SamplingParams())
    with pytest.raises(ValueError, match="neither an agent id"):
        _runner().play([MatchSpec({"attacker": learner, "o": learner}, seed=0)])
    with pytest.raises(ValueError, match="no policy for"):
        _runner().play([MatchSpec({"x": learner}, seed=0)])
    with pytest.raises(TypeError, match="MatchSpec"):
        _runner().play([{"x": learner}])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="max_seat_tokens"):
        MultiAgentRunner(lambda: turngym.make(TTT), max_seat_tokens=0)

    class Broken:
        max_context = None

        def generate(self, prompts, params, max_new_tokens=None):
            raise RuntimeError("server down")

    broken = ModelPolicy("broken", Broken(), renderer, SamplingParams())
    games = _runner().play(
        [
            MatchSpec({"x": broken, "o": learner}, seed=0),
            MatchSpec({"x": learner, "o": learner}, seed=1),
        ]
    )
    assert games[0].failed and games[0].stop_reason is StopReason.AGENT_ERROR
    assert "server down" in games[0].metadata["error"]
    assert not games[1].failed  # the other game played on


def test_token_budget_truncates_the_whole_game(renderer):
    learner = ModelPolicy(
        "learner", ScriptedTokens(renderer, ["[4]"]), renderer, SamplingParams(max_new_tokens=8)
    )
    env = turngym.make(TTT)
    env.reset(seed=0)
    budget = len(renderer.prompt_ids(list(env.observe("player_0")))) + 10
    rnd = ScriptedPolicy("random", random_move)
    (game,) = _runner(max_seat_tokens=budget).play([MatchSpec({"x": learner, "o": rnd}, seed=0)])
    # X's first move fits; the board after O's answer does not: the game is cut, not scored.
    assert game.stop_reason is StopReason.TOKEN_BUDGET
    t = game.trajectories["player_0"]
    assert t.truncated and not t.terminated and t.num_turns == 1
    assert t.num_tokens <= budget  # the unanswered prompt is not kept


# ---- parallel (simultaneous) games ------------------------------------------------------------


class HigherNumber(SimultaneousTextGameEnv):
    """Both write a number 0-9 at once; the higher wins (+1/-1). For the runner's parallel path."""

    metadata = {"render_modes": ["ansi"], "name": "higher_v0"}

    def new_game(self, rng, options):
        return {
            a: [Message("system", "Say a number 0-9."), Message("user", "Your number?")]
            for a in self.possible_agents
        }

    def check_move(self, agent, text):
        return "" if text.strip().isdigit() else "write a digit"

    def resolve(self, moves):
        a, b = self.possible_agents
        x, y = (int(moves[a]) if moves[a] else -1), (int(moves[b]) if moves[b] else -1)
        r = 0.0 if x == y else (1.0 if x > y else -1.0)
        done = [Message("user", f"{x} vs {y}")]
        return {a: r, b: -r}, {a: done, b: done}, {"winner": a if r > 0 else b if r < 0 else None}

    def board_text(self):
        return ""

    def role(self, agent):
        return "first" if agent == "player_0" else "second"


def test_parallel_game_batches_both_seats_and_handles_retries(renderer):
    backend = ScriptedTokens(renderer, ["seven", "7", "3"])  # p0: illegal then 7... in call order
    learner = ModelPolicy("learner", backend, renderer, SamplingParams(max_new_tokens=8))
    runner = MultiAgentRunner(HigherNumber)
    (game,) = runner.play([MatchSpec({"first": learner, "second": learner}, seed=0)])
    assert not game.failed
    # round 1: both seats in one call ("seven" illegal for p0, "7" for p1); round 2: p0 only.
    assert backend.batch_sizes == [2, 1]
    assert game.returns["player_1"] == pytest.approx(1.0)  # 7 beats 3
    assert game.returns["player_0"] == pytest.approx(-1.1)  # lost, plus one retry penalty
    t0 = game.trajectories["player_0"]
    assert t0.num_turns == 2 and len(t0.segments[0].turn_spans) == 2


# ---- LoRA adapters per role ------------------------------------------------------------------


def test_adapter_backend_switches_adapters_per_role(tiny):
    peft = pytest.importorskip("peft")
    import copy

    import torch

    from turngym.agents.hf import HFBackend

    model, renderer, _ = tiny
    base = copy.deepcopy(model)
    config = peft.LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    torch.manual_seed(0)
    pm = peft.get_peft_model(base, config, adapter_name="role_x")
    pm.add_adapter("role_o", config)
    inner = HFBackend(pm, pad_token_id=renderer.stop_token_ids[0])
    ids = torch.tensor([renderer.prompt_ids([Message("user", "hi")])])
    logits = {}
    for name in ("role_x", "role_o"):
        pm.set_adapter(name)
        with torch.no_grad():
            logits[name] = pm(input_ids=ids).logits[0, -1]
    assert not torch.allclose(logits["role_x"], logits["role_o"])  # the adapters really differ

    switched: list[str] = []
    real_set = pm.set_adapter
    pm.set_adapter = lambda name: (switched.append(name), real_set(name))[1]  # type: ignore[method-assign]
    params = SamplingParams(max_new_tokens=3, seed=0)
    px = ModelPolicy("x-adapter", AdapterBackend(inner, pm, "role_x"), renderer, params)
    po = ModelPolicy("o-adapter", AdapterBackend(inner, pm, "role_o"), renderer, params)
    rnd = ScriptedPolicy("random", random_move)
    # Each role's adapter samples that role's turns (the other seat is scripted, so each
    # adapter gets to move even when the tiny model's moves are illegal).
    games = _runner().play(
        [MatchSpec({"x": px, "o": rnd}, seed=0), MatchSpec({"x": rnd, "o": po}, seed=1)]
    )
    assert switched and set(switched) == {"role_x", "role_o"}
    for g in games:
        for agent, t in g.trajectories.items():
            if t.segments:
                assert t.metadata["policy"] == f"{g.roles[agent]}-adapter"
    with pytest.raises(ValueError, match="not in the peft model"):
        AdapterBackend(inner, pm, "z")


# ---- every game, scripted seats: the runner plays exactly like play_episode ------------------

SCRIPTED = {
    "turngym/TicTacToe-v0": ("tictactoe", "strong_move", "random_move"),
    "turngym/KuhnPoker-v0": ("kuhn_poker", "strong_move", "random_move"),
    "turngym/Negotiation-v0": ("negotiation", "strong_move", "random_move"),
    "turngym/RedTeam-v0": ("red_team", "strong_attacker", "gullible_defender"),
    "turngym/CoopAnswer-v0": ("cooperative", "strong_answer", "random_answer"),
}


@pytest.mark.parametrize("env_id", sorted(SCRIPTED))
def test_runner_matches_play_episode_on_every_turn_based_game(env_id):
    import importlib

    from turngym.envs.multiagent import play_episode

    module, first, second = SCRIPTED[env_id]
    mod = importlib.import_module(f"turngym.envs.multiagent.{module}")
    fns = {"player_0": getattr(mod, first), "player_1": getattr(mod, second)}
    policies = {a: ScriptedPolicy(fn.__name__, fn) for a, fn in fns.items()}
    runner = MultiAgentRunner(lambda: turngym.make(env_id))
    games = runner.play([MatchSpec(policies, seed=s) for s in range(4)])
    assert runner.generate_calls == 0
    for s, game in enumerate(games):
        expected = play_episode(turngym.make(env_id), fns, seed=s)
        assert game.returns == pytest.approx(expected), (env_id, s)
        assert game.stop_reason is StopReason.TERMINATED
        assert set(game.roles) == {"player_0", "player_1"}

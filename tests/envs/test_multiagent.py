"""The shared multi-agent protocol: PettingZoo conformance of every registered game, seeding,
illegal-move rules, private reasoning, observations and infos."""

import warnings

import pytest
from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.test import api_test, parallel_api_test

import turngym
from turngym.core import ConversationSpace, Message, TextSpace
from turngym.envs.multiagent import (
    AgentObservation,
    parse_bracketed_move,
    play_episode,
    strip_private_reasoning,
)
from turngym.envs.multiagent import tictactoe as ttt

AEC_IDS = turngym.registered_ids("turngym", kind="aec")
PARALLEL_IDS = turngym.registered_ids("turngym", kind="parallel")


def test_every_multi_agent_game_is_registered():
    assert set(turngym.registered_ids("turngym", kind="multi")) == {
        "turngym/TicTacToe-v0",
        "turngym/KuhnPoker-v0",
        "turngym/Negotiation-v0",
        "turngym/RedTeam-v0",
        "turngym/CoopAnswer-v0",
        "turngym/CodeTestDuel-v0",
    }
    assert PARALLEL_IDS == ["turngym/CodeTestDuel-v0"]


@pytest.mark.parametrize("env_id", AEC_IDS)
def test_pettingzoo_api_test_passes(env_id):
    env = turngym.make(env_id)
    assert isinstance(env, AECEnv)
    with warnings.catch_warnings():
        # PettingZoo warns that text spaces are not Box/Discrete and about our dummy option
        warnings.simplefilter("ignore")
        api_test(env, num_cycles=100)


@pytest.mark.parametrize("env_id", PARALLEL_IDS)
def test_pettingzoo_parallel_api_test_passes(env_id):
    env = turngym.make(env_id)
    assert isinstance(env, ParallelEnv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parallel_api_test(env, num_cycles=20)
    env.close()


@pytest.mark.parametrize("env_id", AEC_IDS)
def test_observations_spaces_infos_and_render(env_id):
    env = turngym.make(env_id, render_mode="ansi")
    env.reset(seed=3)
    agent = env.agent_selection
    obs = env.observe(agent)
    assert isinstance(obs, AgentObservation) and obs in env.observation_space(agent)
    assert obs[0].role == "system" and obs.text
    assert isinstance(env.observation_space(agent), ConversationSpace)
    assert isinstance(env.action_space(agent), TextSpace)
    for a in env.agents:
        assert set(env.infos[a]) >= {"role", "illegal_moves", "turn"}
        assert env.infos[a]["illegal_moves"] == 0
    roles = {env.infos[a]["role"] for a in env.agents}
    assert len(roles) == 2  # each player has its own role
    assert isinstance(env.render(), str) and env.render()
    assert turngym.make(env_id).render() is None  # no render_mode, no rendering


@pytest.mark.parametrize("env_id", AEC_IDS)
def test_seeded_reset_is_reproducible(env_id):
    env = turngym.make(env_id)
    env.reset(seed=11)
    first = {a: env.observe(a) for a in env.agents}
    env.reset(seed=11)
    assert {a: env.observe(a) for a in env.agents} == first


def test_seeded_reset_reproduces_parallel_observations():
    env = turngym.make("turngym/CodeTestDuel-v0")
    obs_a, _ = env.reset(seed=5)
    obs_b, _ = env.reset(seed=5)
    assert obs_a == obs_b
    seen = {env.reset(seed=s)[0]["player_0"][1].text for s in range(12)}
    assert len(seen) > 1  # different seeds give different tasks
    env.close()


def test_retry_rule_penalises_and_lets_the_same_player_move_again():
    env = ttt.TicTacToeEnv(illegal_move_rule="retry", max_retries=2, illegal_move_penalty=0.25)
    env.reset(seed=0)
    env.step("[4]")  # X
    env.step("[4]")  # O: taken
    assert env.agent_selection == "player_1"
    assert env.rewards["player_1"] == pytest.approx(-0.25)
    assert env.infos["player_1"]["illegal_moves"] == 1
    assert (
        "taken" in env.observe("player_1").text and "2 tries left" in env.observe("player_1").text
    )
    env.step("hello there, no move in this message at all, really none")
    env.step("[9]")  # third illegal in a row: forfeit
    assert all(env.terminations.values())
    assert env.infos["player_0"]["stop_reason"] == "forfeit"
    assert env.infos["player_0"]["forfeited_by"] == "player_1"
    assert env._cumulative_rewards["player_0"] == pytest.approx(1.0)
    assert env._cumulative_rewards["player_1"] == pytest.approx(-1.0)


def test_retry_strikes_reset_after_a_legal_move():
    env = ttt.TicTacToeEnv(max_retries=1)
    env.reset(seed=0)
    env.step("[x]")  # illegal, X retries
    env.step("[0]")
    env.step("[1]")
    env.step("[x]")  # X's first illegal move of this turn: not a forfeit
    assert not any(env.terminations.values())
    assert env.infos["player_0"]["illegal_moves"] == 2


def test_forfeit_rule_ends_the_game_at_the_first_illegal_move():
    env = turngym.make("turngym/TicTacToe-v0", illegal_move_rule="forfeit")
    env.reset(seed=0)
    env.step("I pass")
    assert all(env.terminations.values())
    assert env.rewards == {"player_0": -1.0, "player_1": 1.0}
    assert sum(env.rewards.values()) == 0  # a forfeit keeps the game zero-sum


def test_random_move_rule_penalises_and_plays_a_random_legal_move_for_the_mover():
    env = ttt.TicTacToeEnv(illegal_move_rule="random_move", illegal_move_penalty=0.25)
    env.reset(seed=3)
    env.step("[4]")  # X
    env.step("[4]")  # O: taken -> a random free cell is played for O
    assert env.agent_selection == "player_0"  # O's turn is over
    assert env.board.count("O") == 1 and env.board[4] == "X"
    assert env.rewards["player_1"] == pytest.approx(-0.25)
    assert env.infos["player_1"]["illegal_moves"] == 1
    cell = env.board.index("O")
    # X sees O's move as usual; O is told which move was played for it when it next acts.
    assert f"O played [{cell}]" in env.observe("player_0").text
    env.step(f"[{next(c for c in env.legal_cells())}]")
    assert f"A random legal move, [{cell}], was played for you" in env.observe("player_1").text
    # The same seed picks the same substitute.
    again = ttt.TicTacToeEnv(illegal_move_rule="random_move")
    again.reset(seed=3)
    again.step("[4]")
    again.step("nonsense")
    assert again.board.index("O") == cell


def test_random_move_rule_can_end_the_game_and_keeps_the_outcome_zero_sum():
    env = turngym.make(
        "turngym/TicTacToe-v0", illegal_move_rule="random_move", illegal_move_penalty=0.0
    )
    env.reset(seed=0)
    while not any(env.terminations.values()):
        env.step("[9]")  # never legal: every move is a random one
    assert env.infos["player_0"]["stop_reason"] == "terminated"
    assert env._cumulative_rewards["player_0"] == -env._cumulative_rewards["player_1"]
    assert env.infos["player_0"]["illegal_moves"] >= 3


def test_random_move_rule_needs_listed_legal_moves_and_turns():
    with pytest.raises(ValueError, match="legal_moves"):
        turngym.make("turngym/Negotiation-v0", illegal_move_rule="random_move")
    with pytest.raises(ValueError, match="simultaneous"):
        turngym.make("turngym/CodeTestDuel-v0", illegal_move_rule="random_move")
    kuhn = turngym.make("turngym/KuhnPoker-v0", illegal_move_rule="random_move")
    api_test(kuhn, num_cycles=20)


def test_bad_constructor_arguments_are_named():
    with pytest.raises(ValueError, match="illegal_move_rule"):
        turngym.make("turngym/TicTacToe-v0", illegal_move_rule="lose")
    with pytest.raises(ValueError, match="max_retries"):
        turngym.make("turngym/KuhnPoker-v0", max_retries=-1)
    with pytest.raises(ValueError, match="illegal_move_penalty"):
        turngym.make("turngym/KuhnPoker-v0", illegal_move_penalty=-1.0)
    with pytest.raises(ValueError, match="render_mode"):
        turngym.make("turngym/KuhnPoker-v0", render_mode="human")


def test_non_text_actions_and_unknown_options_are_reported():
    env = turngym.make("turngym/TicTacToe-v0")
    env.reset(seed=0)
    with pytest.raises(TypeError, match="reply text"):
        env.step(4)
    with pytest.warns(UserWarning, match="ignores unknown options"):
        env.reset(seed=0, options={"swap_role": True})


def test_private_reasoning_is_stripped_before_the_other_player_sees_it():
    assert strip_private_reasoning("<think>secret plan</think> [4]") == "[4]"
    assert strip_private_reasoning("plan</think>[4]") == "[4]"  # opening tag in the prompt
    assert strip_private_reasoning("[4] <think>never closed") == "[4]"
    env = turngym.make("turngym/RedTeam-v0", rounds=2)
    env.reset(seed=0)
    attacker, defender = env.agent_selection, env.other(env.agent_selection)
    env.step("<think>I will trick it with role-play</think>Hi, how are you?")
    shown = env.observe(defender).text
    assert "Hi, how are you?" in shown and "role-play" not in shown
    # the attacker's own conversation keeps its full text
    assert "role-play" in env.conversation(attacker)[-1].text
    env.step("<think>the password is secret</think>I'm fine, thanks!")
    assert "password" not in env.observe(attacker).text


def test_observations_are_the_messages_new_since_the_agent_last_acted():
    env = turngym.make("turngym/TicTacToe-v0")
    env.reset(seed=0)
    assert [m.role for m in env.observe("player_0")] == ["system", "user"]
    assert env.observe("player_0") == env.observe("player_0")  # observing consumes nothing
    env.step("[0]")
    assert env.observe("player_0") == ()
    new = env.observe("player_1")
    assert [m.role for m in new] == ["system", "user"] and "X played [0]" in new[-1].text
    env.step("[4]")
    assert [m.text.split("\n")[0] for m in env.observe("player_0")] == ["O played [4]."]
    conversation = env.conversation("player_0")
    assert [m.role for m in conversation] == ["system", "user", "assistant", "user"]
    assert conversation[2] == Message("assistant", "[0]")


def test_parse_bracketed_move():
    assert parse_bracketed_move("I think [3] or maybe [ Bet ]") == "bet"
    assert parse_bracketed_move("Answer: [HELLO]", lower=False) == "HELLO"
    assert parse_bracketed_move(" check. ") == "check"
    assert parse_bracketed_move("a long text\nwith lines and no brackets") is None
    assert parse_bracketed_move("") is None


def test_play_episode_is_reproducible_with_a_seed():
    env = turngym.make("turngym/TicTacToe-v0", render_mode="ansi")
    policies = {"player_0": ttt.random_move, "player_1": ttt.random_move}
    first = play_episode(env, policies, seed=4)
    log = env.render()
    assert play_episode(env, policies, seed=4) == first and env.render() == log
    logs = set()
    for seed in range(6):
        play_episode(env, policies, seed=seed)
        logs.add(env.render())
    assert len(logs) > 1


def test_step_after_the_game_needs_none_then_reset():
    env = turngym.make("turngym/KuhnPoker-v0")
    env.reset(seed=0)
    env.step("[bet]")
    env.step("[fold]")
    with pytest.raises(ValueError, match="None"):
        env.step("[bet]")
    env.step(None)
    env.step(None)
    assert env.agents == []
    with pytest.raises(RuntimeError, match="reset"):
        env.step("[bet]")


def test_hot_seat_play_from_text_input():
    import io

    from turngym.envs.multiagent.play import main, play_multi_agent

    env = turngym.make("turngym/TicTacToe-v0")
    moves = "[0]\n.\n[3]\n.\n<think>row</think>\n[1]\n.\n[4]\n.\n[2]\n.\n"
    out = io.StringIO()
    totals = play_multi_agent(env, io.StringIO(moves), out, seed=0)
    assert totals == {"player_0": 1.0, "player_1": -1.0}
    assert "X wins" in out.getvalue() and "game over" in out.getvalue()
    partial = play_multi_agent(env, io.StringIO("[0]\n.\n/quit\n"), io.StringIO(), seed=0)
    assert partial == {"player_0": 0.0, "player_1": 0.0} and not any(env.terminations.values())
    with pytest.raises(SystemExit):
        main(["turngym/Keyword-v0"])  # single-agent ids are refused with a pointer

import gymnasium as gym
import pytest

import turngym
from turngym.core.registry import EnvEntryPointError, UnknownEnvError
from turngym.envs.base import EpisodeOverError


def test_builtin_ids_listed_with_descriptions():
    ids = turngym.registered_ids("turngym")
    assert "turngym/CodeInterpreter-v0" in ids and "turngym/Keyword-v0" in ids
    for env_id in ids:
        assert turngym.describe(env_id), env_id


def test_unknown_id_lists_close_matches():
    with pytest.raises(UnknownEnvError) as err:
        turngym.make("turngym/CodeInterpretr-v0")
    assert "turngym/CodeInterpreter-v0" in str(err.value)
    assert "turngym envs" in str(err.value)


def test_bad_entry_point_module_and_attribute():
    turngym.register(id="testpkg/BadModule-v0", entry_point="no_such_module_xyz:Env")
    with pytest.raises(EnvEntryPointError, match="no_such_module_xyz"):
        turngym.make("testpkg/BadModule-v0")
    turngym.register(id="testpkg/BadAttr-v0", entry_point="turngym.envs.keyword:NoSuchEnv")
    with pytest.raises(EnvEntryPointError, match="NoSuchEnv"):
        turngym.make("testpkg/BadAttr-v0")


@pytest.mark.parametrize("bad", ["no-colon", ":Cls", "mod:"])
def test_malformed_entry_point_rejected_at_register(bad):
    with pytest.raises(ValueError, match="Entry point"):
        turngym.register(id="testpkg/Malformed-v0", entry_point=bad)


def test_malformed_id_rejected():
    with pytest.raises(ValueError, match="malformed"):
        turngym.register(id="bad id with spaces", entry_point="a:b")


def test_user_env_registration_turn_limit_and_gymnasium_make():
    turngym.register(
        id="testpkg/Echo-v0",
        entry_point="turngym.envs.keyword:KeywordEnv",
        max_turns=3,
        keyword="x",
    )
    env = turngym.make("testpkg/Echo-v0")
    assert env.unwrapped.keyword == "x"
    assert gym.make("testpkg/Echo-v0").unwrapped.keyword == "x"
    # the TurnLimit wrapper is outermost and carries the registered cap
    assert type(env).__name__ == "TurnLimit" and env.max_turns == 3
    assert turngym.make("testpkg/Echo-v0", max_turns=7).max_turns == 7


def test_order_enforcing_and_step_after_end():
    env = turngym.make("turngym/Keyword-v0")
    with pytest.raises(gym.error.ResetNeeded):
        env.step("hello")
    env.reset(seed=0)
    env.step("hello")
    with pytest.raises(EpisodeOverError):
        env.step("again")


def test_turn_limit_sets_stop_reason():
    turngym.register(
        id="testpkg/NeverEnds-v0", entry_point="tests.core.helpers:NeverEndingEnv", max_turns=2
    )
    env = turngym.make("testpkg/NeverEnds-v0")
    env.reset(seed=0)
    _, _, term, trunc, _ = env.step("a")
    assert not term and not trunc
    _, _, term, trunc, info = env.step("b")
    assert trunc and not term and info["stop_reason"] == "turn_limit"


def test_core_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, turngym, turngym.core; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_reregistering_replaces_the_description():
    turngym.register(
        id="testpkg/Desc-v0", entry_point="turngym.envs.keyword:KeywordEnv", description="first"
    )
    turngym.register(id="testpkg/Desc-v0", entry_point="turngym.envs.keyword:KeywordEnv")
    assert turngym.describe("testpkg/Desc-v0").startswith("Single-turn")


def test_multi_agent_registration_make_and_kind_filter():
    from pettingzoo import AECEnv

    from turngym.core.registry import multi_agent_api

    turngym.register(
        id="testpkg/TTT-v0",
        entry_point="turngym.envs.multiagent.tictactoe:TicTacToeEnv",
        multi_agent="aec",
        max_retries=0,
    )
    env = turngym.make("testpkg/TTT-v0", illegal_move_penalty=0.5)
    # no gymnasium wrappers: the PettingZoo env itself, with registered and given kwargs
    assert type(env).__name__ == "TicTacToeEnv" and isinstance(env, AECEnv)
    assert env.max_retries == 0 and env.illegal_move_penalty == 0.5
    assert "testpkg/TTT-v0" in turngym.registered_ids("testpkg", kind="aec")
    assert "testpkg/TTT-v0" in turngym.registered_ids("testpkg", kind="multi")
    assert "testpkg/TTT-v0" not in turngym.registered_ids("testpkg", kind="single")
    assert "testpkg/TTT-v0" not in turngym.registered_ids("testpkg", kind="parallel")
    assert "testpkg/TTT-v0" in turngym.registered_ids("testpkg")
    assert multi_agent_api("testpkg/TTT-v0") == "aec"
    assert multi_agent_api("turngym/Keyword-v0") is None
    with pytest.raises(ValueError, match="max_turns is not supported"):
        turngym.make("testpkg/TTT-v0", max_turns=3)
    # re-registering as single-agent clears the multi-agent mark
    turngym.register(id="testpkg/TTT-v0", entry_point="turngym.envs.keyword:KeywordEnv")
    assert "testpkg/TTT-v0" in turngym.registered_ids("testpkg", kind="single")


def test_multi_agent_registration_errors():
    with pytest.raises(ValueError, match="multi_agent"):
        turngym.register(id="testpkg/Bad-v0", entry_point="a:b", multi_agent="turns")
    with pytest.raises(ValueError, match="max_turns is not supported"):
        turngym.register(id="testpkg/Bad-v0", entry_point="a:b", multi_agent="aec", max_turns=3)
    with pytest.raises(ValueError, match="kind"):
        turngym.registered_ids(kind="multiagent")
    turngym.register(
        id="testpkg/NotPz-v0", entry_point="turngym.envs.keyword:KeywordEnv", multi_agent="parallel"
    )
    with pytest.raises(EnvEntryPointError, match="pettingzoo.ParallelEnv"):
        turngym.make("testpkg/NotPz-v0")

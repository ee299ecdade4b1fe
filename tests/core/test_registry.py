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

import pytest

import turngym
from turngym.core import ConversationSpace, EnvCheckError, Message, TextPart, TextSpace
from turngym.core.trajectory import Segment, StopReason


@pytest.mark.parametrize("env_id", turngym.registered_ids("turngym", kind="single"))
def test_check_env_passes_for_every_builtin(env_id):
    env = turngym.make(env_id)
    turngym.check_env(env)


def test_check_env_rejects_a_broken_env():
    turngym.register(id="testpkg/Broken-v0", entry_point="tests.core.helpers:BrokenContractEnv")
    with pytest.raises(EnvCheckError, match="terminated and truncated both True"):
        turngym.check_env(turngym.make("testpkg/Broken-v0"), gymnasium_checks=False)


def test_check_env_rejects_an_env_that_never_ends_and_ignores_cap():
    # NeverEndingEnv is fine under TurnLimit: the checker's cap ends it with turn_limit
    turngym.register(id="testpkg/Never2-v0", entry_point="tests.core.helpers:NeverEndingEnv")
    turngym.check_env(turngym.make("testpkg/Never2-v0"))


def test_messages_validate_and_compare_by_value():
    assert Message("user", "hi") == Message("user", "hi")
    with pytest.raises(ValueError, match="role"):
        Message("robot", "hi")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Message("user", 3)  # type: ignore[arg-type]
    multi = Message("user", [TextPart("a"), TextPart("b")])
    assert isinstance(multi.content, tuple) and multi.text == "ab"
    assert multi.to_dict()["content"] == [
        {"type": "text", "text": "a"},
        {"type": "text", "text": "b"},
    ]
    assert Message.from_dict(multi.to_dict()) == multi


def test_spaces():
    assert "any text ✓ {}" in TextSpace()
    assert 3 not in TextSpace()
    assert "x" * 11 not in TextSpace(max_length=10)
    space = ConversationSpace()
    assert (Message("user", "a"),) in space
    assert [Message("user", "a")] not in space  # observations are tuples
    assert space.sample() in space


def test_segment_validates_lengths_and_stop_reasons():
    with pytest.raises(ValueError, match="disagree"):
        Segment((1, 2), (0,), (0.0, 0.0), (), ())
    assert StopReason.TURN_LIMIT.is_truncation and not StopReason.TERMINATED.is_truncation
    assert StopReason.ENV_ERROR.is_failure


def test_reset_rejects_out_of_range_task_index():
    env = turngym.make("turngym/Keyword-v0")
    with pytest.raises(ValueError, match="out of range"):
        env.reset(options={"task_index": -1})
    with pytest.raises(ValueError, match="out of range"):
        env.reset(options={"task_index": 10_000})


def test_bool_is_not_a_turn_cap_and_openai_none_content():
    with pytest.raises(ValueError, match="max_turns"):
        turngym.make("turngym/Keyword-v0", max_turns=True)
    assert Message.from_dict({"role": "assistant", "content": None}).text == ""

"""Through a whole rollout: bad model output ends as observations and stop reasons."""

from __future__ import annotations

import turngym
from tests.agents.test_token_exactness import ScriptedBackend
from turngym.agents.backend import SamplingParams
from turngym.agents.chat import ChatRenderer
from turngym.agents.rollout import GroupSpec, RolloutRunner
from turngym.core import StopReason


def test_malformed_call_python_error_and_infinite_loop_are_observations(tokenizer):
    renderer = ChatRenderer(tokenizer)
    replies = [
        "```python\nprint('never closed')\n",  # malformed call
        "```python\n1 / 0\n```",  # python error
        "```python\nwhile True:\n    pass\n```",  # infinite loop
        "I give up, \\boxed{0}",
    ]
    backend = ScriptedBackend(renderer, replies, [True] * 4)
    runner = RolloutRunner(
        lambda: turngym.make("turngym/CodeInterpreter-v0", levels=[1], timeout_s=1.0),
        backend,
        renderer,
        sampling=SamplingParams(max_new_tokens=64),
        failure_policy="fail_fast",  # any crash would raise here
    )
    result = runner.run_groups([GroupSpec({"task_index": 0, "split": "test"}, seed=0)], 1)
    (t,) = result.all_trajectories
    assert t.stop_reason is StopReason.TERMINATED and t.num_turns == 4
    texts = [m.text for m in t.messages if m.role in ("tool", "user")][1:]
    assert "malformed" in texts[0]
    assert "ZeroDivisionError" in texts[1]
    assert "timed out" in texts[2]
    assert t.info["parse_errors"] == 1 and t.info["tool_errors"] == 2
    # every observation went into the tokens as context, only replies carry loss
    (seg,) = t.segments
    assert seg.num_sampled == sum(b - a for a, b in seg.turn_spans)
    runner.close()

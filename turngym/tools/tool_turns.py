"""One assistant turn's tool calls, run and answered: the part tool-using envs share.

An env parses the turn with a :class:`~turngym.tools.formats.ToolCallFormat`, then
:func:`run_tool_calls` runs at most ``max_calls`` of the calls (one ``tool`` message each),
says how many were skipped, and turns malformed calls into one ``user`` message (counted in
``counts["parse_errors"]``), so that the agent learns what went wrong instead of silence.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping, Sequence

from turngym.core.messages import Message, ToolCall
from turngym.tools.formats import ParseResult, ToolCallParseError

__all__ = ["parse_error_text", "run_tool_calls"]


def parse_error_text(errors: Sequence[ToolCallParseError]) -> str:
    """The ``user`` message that lists a turn's malformed tool calls."""
    lines = ["Your message has a malformed tool call, which was not run:"]
    lines += [f"- {error.message}" for error in errors]
    return "\n".join(lines)


def run_tool_calls(
    parsed: ParseResult,
    run_call: Callable[[ToolCall], Message],
    *,
    max_calls: int,
    skip_note: str,
    counts: MutableMapping[str, int],
) -> list[Message]:
    """The replies to one parsed turn: ``run_call`` of its first ``max_calls`` calls, then a
    note on skipped calls and one on malformed calls (when there are any).

    Args:
        parsed: The turn, parsed by the env's tool-call format.
        run_call: Runs one call and returns its ``tool`` message.
        max_calls: Calls run per turn at most.
        skip_note: The note on skipped calls, with ``{limit}`` and ``{skipped}`` fields, e.g.
            ``"Only the first {limit} tool calls of a message are run; {skipped} more were
            skipped."``.
        counts: The env's episode counters; ``"parse_errors"`` grows by the malformed calls.
    """
    messages = [run_call(call) for call in parsed.calls[:max_calls]]
    skipped = len(parsed.calls) - max_calls
    if skipped > 0:
        messages.append(Message("user", skip_note.format(limit=max_calls, skipped=skipped)))
    if parsed.errors:
        counts["parse_errors"] += len(parsed.errors)
        messages.append(Message("user", parse_error_text(parsed.errors)))
    return messages

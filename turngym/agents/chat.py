"""Token-exact rendering of a conversation through a model's chat template.

Sampled tokens are never re-tokenized. After a turn, the tokens appended to the sequence are:

1. the part of the template's closing of the assistant turn that the model did not sample
   (e.g. the newline after ``<|im_end|>``, or the whole closing when generation hit the
   length cap), and
2. the template delta of the new messages: ``render(history + new, generation prompt)``
   minus ``render(history)``, tokenized on its own.

Both are context (loss mask 0). If the template does not render ``history + new`` as an
extension of ``history`` (templates that rewrite earlier turns, e.g. by stripping reasoning),
:class:`TemplateMismatchError` is raised and the caller starts a new segment, so mismatched
tokens are never trained on.

What it does NOT cover: images (:class:`turngym.agents.vision.VisionChatRenderer` renders
them through a model's processor; this class refuses them with a clear error), and templates
whose closing of an assistant turn depends on later messages.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from turngym.core.messages import Message

if TYPE_CHECKING:
    from turngym.agents.vision import VisionInputs


class TemplateMismatchError(ValueError):
    """The chat template does not extend the previous rendering; start a new segment."""


@dataclass(frozen=True, eq=False)
class RenderedTokens:
    """Token ids of rendered messages and, for a vision-language model, their images."""

    token_ids: tuple[int, ...]
    """The ids (image placeholders expanded by the processor)."""
    vision: VisionInputs | None = None
    """The images among ``token_ids``, spans relative to its start (None: text only)."""


class ChatRenderer:
    """Renders conversations to token ids with a tokenizer's chat template.

    Args:
        tokenizer: A Hugging Face tokenizer with a chat template.
        chat_template: A Jinja template overriding the tokenizer's own.
        tool_role: How tool results are rendered: as ``"tool"`` messages (the default), or
            as ``"user"`` messages for templates that know no tool role.
        stop_token_ids: Tokens that end an assistant turn; default: the tokenizer's EOS and
            the special token the template puts right after an assistant message.
    """

    def __init__(
        self,
        tokenizer: Any,
        *,
        chat_template: str | None = None,
        tool_role: Literal["tool", "user"] = "tool",
        stop_token_ids: Sequence[int] | None = None,
    ):
        self.tokenizer = tokenizer
        self.chat_template = chat_template
        if chat_template is None and not getattr(tokenizer, "chat_template", None):
            raise ValueError(
                "The tokenizer has no chat template; pass chat_template= (a Jinja string)."
            )
        if tool_role not in ("tool", "user"):
            raise ValueError(f"tool_role must be 'tool' or 'user', got {tool_role!r}")
        self.tool_role = tool_role
        # Rust tokenizers may refuse concurrent use ("Already borrowed"); env threads share this.
        self._lock = threading.RLock()
        self.stop_token_ids: tuple[int, ...] = (
            tuple(stop_token_ids) if stop_token_ids is not None else self._default_stop_ids()
        )
        if not self.stop_token_ids:
            raise ValueError("No stop token found; pass stop_token_ids= explicitly.")

    # ---- text ---------------------------------------------------------------------------

    def _dicts(self, messages: Sequence[Message]) -> list[dict[str, Any]]:
        images = sum(len(m.images) for m in messages)
        if images:
            # A text template would crash on, or silently drop, the image parts.
            raise ValueError(
                f"ChatRenderer renders text only, but the conversation holds {images} image(s); "
                "use turngym.agents.vision.VisionChatRenderer with the model's processor, or "
                "an env observation mode without images"
            )
        out = []
        for m in messages:
            d = m.to_dict()
            if m.role == "tool" and self.tool_role == "user":
                d = {"role": "user", "content": m.text}
            out.append(d)
        return out

    def render_text(
        self,
        messages: Sequence[Message],
        *,
        add_generation_prompt: bool,
        tools: list[dict[str, Any]] | None = None,
    ) -> str:
        """The template's text for ``messages``."""
        kwargs: dict[str, Any] = {}
        if self.chat_template is not None:
            kwargs["chat_template"] = self.chat_template
        if tools:
            kwargs["tools"] = tools
        with self._lock:
            return self.tokenizer.apply_chat_template(
                self._dicts(messages),
                tokenize=False,
                add_generation_prompt=add_generation_prompt,
                **kwargs,
            )

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` exactly as written (special-token strings map to their ids)."""
        with self._lock:
            return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def decode(self, token_ids: Sequence[int]) -> str:
        """Text of token ids, special tokens included."""
        with self._lock:
            return self.tokenizer.decode(list(token_ids), skip_special_tokens=False)

    # ---- tokens -------------------------------------------------------------------------

    def prompt_ids(
        self, messages: Sequence[Message], *, tools: list[dict[str, Any]] | None = None
    ) -> list[int]:
        """Token ids of a conversation followed by the generation prompt."""
        return self.encode(self.render_text(messages, add_generation_prompt=True, tools=tools))

    def render_prompt(
        self, messages: Sequence[Message], *, tools: list[dict[str, Any]] | None = None
    ) -> RenderedTokens:
        """:meth:`prompt_ids` with the images among them (none for a text renderer)."""
        return RenderedTokens(tuple(self.prompt_ids(messages, tools=tools)))

    def render_continuation(
        self,
        history: Sequence[Message],
        stop_token_id: int | None,
        new_messages: Sequence[Message],
        *,
        tools: list[dict[str, Any]] | None = None,
    ) -> RenderedTokens:
        """:meth:`continuation_ids` with the images among them (none for a text renderer)."""
        ids = self.continuation_ids(history, stop_token_id, new_messages, tools=tools)
        return RenderedTokens(tuple(ids))

    def split_action(self, sampled_ids: Sequence[int]) -> tuple[str, int | None]:
        """The assistant's text from sampled ids, and the stop token that ended it (if any)."""
        ids = list(sampled_ids)
        stop = ids[-1] if ids and ids[-1] in self.stop_token_ids else None
        if stop is not None:
            ids = ids[:-1]
        return self.decode(ids), stop

    def continuation_ids(
        self,
        history: Sequence[Message],
        stop_token_id: int | None,
        new_messages: Sequence[Message],
        *,
        tools: list[dict[str, Any]] | None = None,
    ) -> list[int]:
        """Context tokens to append after an assistant turn's sampled tokens.

        The tokens of :meth:`continuation_text`; see there for the arguments.
        """
        return self.encode(
            self.continuation_text(history, stop_token_id, new_messages, tools=tools)
        )

    def continuation_text(
        self,
        history: Sequence[Message],
        stop_token_id: int | None,
        new_messages: Sequence[Message],
        *,
        tools: list[dict[str, Any]] | None = None,
    ) -> str:
        """Text of the context to append after an assistant turn's sampled tokens.

        Args:
            history: The conversation up to and including the assistant message whose text
                is exactly the decoded sampled tokens (without the stop token).
            stop_token_id: The stop token the model sampled, or None when generation was cut
                at the length cap.
            new_messages: The env's new messages.
            tools: Tool schemas, when the template renders them.

        Raises:
            TemplateMismatchError: The template rendered the assistant turn differently from
                what was sampled, or ``history + new`` is not an extension of ``history``.
        """
        if not history or history[-1].role != "assistant":
            raise ValueError("history must end with the assistant message just sampled")
        content = history[-1].text
        before = self.render_text(history[:-1], add_generation_prompt=True, tools=tools)
        prev = self.render_text(history, add_generation_prompt=False, tools=tools)
        if not prev.startswith(before):
            raise TemplateMismatchError(
                "rendering the assistant turn changed the text before it (the template rewrites "
                "history)"
            )
        turn_text = prev[len(before) :]
        if not turn_text.startswith(content):
            raise TemplateMismatchError(
                "the template does not render the assistant's text verbatim (it trims or rewrites it)"
            )
        closing = turn_text[len(content) :]
        if stop_token_id is not None:
            stop_text = self.decode([stop_token_id])
            if closing.startswith(stop_text):
                closing = closing[len(stop_text) :]
        full = self.render_text(
            list(history) + list(new_messages), add_generation_prompt=True, tools=tools
        )
        if not full.startswith(prev):
            raise TemplateMismatchError(
                "the template renders the earlier conversation differently once new messages "
                "follow (it rewrites history)"
            )
        return closing + full[len(prev) :]

    def _default_stop_ids(self) -> tuple[int, ...]:
        ids: list[int] = []
        eos = getattr(self.tokenizer, "eos_token_id", None)
        if isinstance(eos, int):
            ids.append(eos)
        marker = "\x00TURNGYM\x00"
        try:
            text = self.render_text(
                [Message("user", "hi"), Message("assistant", marker)], add_generation_prompt=False
            )
        except Exception:  # noqa: BLE001 - a template may refuse this probe; EOS then suffices
            return tuple(ids)
        after = text.split(marker, 1)[1] if marker in text else ""
        if after:
            first = self.encode(after)[:1]
            special = set(getattr(self.tokenizer, "all_special_ids", []))
            special |= set(getattr(self.tokenizer, "added_tokens_decoder", {}).keys())
            if first and first[0] in special and first[0] not in ids:
                ids.append(first[0])
        return tuple(ids)

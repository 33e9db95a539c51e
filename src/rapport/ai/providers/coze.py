"""Coze adapter: the ``dating_assistant`` bot over ``/v3/chat`` on coze.com, coze.cn or a
self-hosted Coze Studio. All five capabilities go to the bot as one user message carrying our
instructions and the JSON schema (persona: ``integrations/coze/dating_assistant.md``).

- ``mode="stream"``: ``stream: true``; answer deltas are collected per message and the chat
  ends on ``conversation.chat.completed``; ``done`` (hosted) and ``conversation.stream.done``
  (Coze Studio) both end the stream; unknown events are ignored.
- ``mode="poll"``: ``stream: false``, then ``GET /v3/chat/retrieve`` every ``poll_interval``
  until a terminal status, then ``GET /v3/chat/message/list`` for the answer.

Coze reports errors as HTTP 200 with ``{"code": non-zero, "msg": ...}``; 4016 (a chat already
running in the conversation), HTTP 429 and 5xx are retried, everything else (4100 auth, 4000
bad parameters, ...) is not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from contextlib import aclosing
from typing import Any, Literal, TypeVar, get_args

import httpx
from pydantic import BaseModel

from rapport.ai.providers.base import ProviderError
from rapport.ai.providers.http import (
    DEFAULT_HTTP_TIMEOUT,
    DEFAULT_TOTAL_TIMEOUT,
    HTTPProvider,
    Task,
    analyze_task,
    enhance_task,
    event_json,
    health_task,
    icebreaker_task,
    pseudonymous_user,
    replies_task,
)
from rapport.ai.providers.resilience import CircuitBreaker, RetryPolicy, Sleep
from rapport.ai.schemas import (
    ConversationContext,
    ConversationHealth,
    Enhancement,
    Icebreaker,
    MessageAnalysis,
    ProfileBrief,
    ReplySuggestions,
)

M = TypeVar("M", bound=BaseModel)
CozeMode = Literal["stream", "poll"]

COZE_COM = "https://api.coze.com"
COZE_CN = "https://api.coze.cn"
CHAT = "/v3/chat"
RETRIEVE = "/v3/chat/retrieve"
MESSAGE_LIST = "/v3/chat/message/list"
TERMINAL_STATUSES = frozenset({"completed", "failed", "requires_action", "canceled"})
STREAM_END_EVENTS = frozenset({"done", "conversation.stream.done"})
RETRYABLE_CODES = frozenset({4016})


class CozeProvider(HTTPProvider):
    name = "coze"

    def __init__(
        self,
        base_url: str = COZE_COM,
        token: str = "",
        bot_id: str = "",
        *,
        mode: CozeMode = "stream",
        poll_interval: float = 1.0,
        user_prefix: str = "rapport-",
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout | float = DEFAULT_HTTP_TIMEOUT,
        breaker: CircuitBreaker | None = None,
        retry: RetryPolicy | None = None,
        total_timeout: float | None = DEFAULT_TOTAL_TIMEOUT,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not token or not bot_id:
            raise ValueError("Coze needs a token (PAT) and a bot_id")
        if mode not in get_args(CozeMode):
            raise ValueError(f"Coze mode must be stream or poll, not {mode!r}")
        super().__init__(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            transport=transport,
            breaker=breaker,
            retry=retry,
            total_timeout=total_timeout,
            sleep=sleep,
        )
        self.bot_id = bot_id
        self.mode: CozeMode = mode
        self.poll_interval = poll_interval
        self.user_prefix = user_prefix

    # ---- capabilities ------------------------------------------------------------------

    async def analyze_message(
        self, text: str, context: ConversationContext | None
    ) -> MessageAnalysis:
        return await self._ask(analyze_task(text, context), context.me.ref if context else None)

    async def suggest_replies(self, context: ConversationContext) -> ReplySuggestions:
        return await self._ask(replies_task(context), context.me.ref)

    async def icebreaker(self, a: ProfileBrief, b: ProfileBrief, context: str) -> Icebreaker:
        return await self._ask(icebreaker_task(a, b, context), a.ref)

    async def enhance_message(self, draft: str, context: ConversationContext) -> Enhancement:
        return await self._ask(enhance_task(draft, context), context.me.ref)

    async def conversation_health(self, context: ConversationContext) -> ConversationHealth:
        return await self._ask(health_task(context), context.me.ref)

    # ---- one chat ----------------------------------------------------------------------

    async def _ask(self, task: Task[M], ref: str | None) -> M:
        body = {
            "bot_id": self.bot_id,
            "user_id": pseudonymous_user(self.user_prefix, ref),
            "stream": self.mode == "stream",
            "additional_messages": [
                {
                    "role": "user",
                    "type": "question",
                    "content": task.prompt(),
                    "content_type": "text",
                }
            ],
        }

        async def once() -> M:
            answers = await (
                self._stream_answers(body) if self.mode == "stream" else self._poll_answers(body)
            )
            return pick_answer(task, answers)

        return await self._guarded(once)

    async def _stream_answers(self, body: Any) -> list[str]:
        deltas: dict[str, list[str]] = {}
        completed: dict[str, str] = {}
        finished = False
        async with aclosing(self._stream_events("POST", CHAT, json=body)) as events:
            async for event in events:
                if event.event in STREAM_END_EVENTS:
                    finished = True
                    break
                payload = event_json(event) or {}
                if event.event == "conversation.message.delta" and is_answer(payload):
                    deltas.setdefault(str(payload.get("id", "")), []).append(
                        str(payload.get("content") or "")
                    )
                elif event.event == "conversation.message.completed" and is_answer(payload):
                    completed[str(payload.get("id", ""))] = str(payload.get("content") or "")
                elif event.event == "conversation.chat.completed":
                    finished = True
                elif event.event in (
                    "conversation.chat.failed",
                    "conversation.chat.requires_action",
                ):
                    raise chat_error(payload)
                elif event.event == "error":
                    raise coze_error(payload, 200)
        if not finished:
            raise ProviderError(
                "coze: stream ended before the chat completed",
                code="coze_stream_incomplete",
                retryable=True,
            )
        ids = [*deltas, *(i for i in completed if i not in deltas)]
        return [completed.get(i, "".join(deltas.get(i, []))) for i in ids]

    async def _poll_answers(self, body: Any) -> list[str]:
        chat = (await self._request_json("POST", CHAT, json=body)).get("data") or {}
        where = {
            "conversation_id": str(chat.get("conversation_id")),
            "chat_id": str(chat.get("id")),
        }
        while chat.get("status") not in TERMINAL_STATUSES:
            await self._sleep(self.poll_interval)
            chat = (await self._request_json("GET", RETRIEVE, params=where)).get("data") or {}
        if chat.get("status") != "completed":
            raise chat_error(chat)
        listing = await self._request_json("GET", MESSAGE_LIST, params=where)
        messages = listing.get("data") or []
        return [str(m.get("content") or "") for m in messages if is_answer(m)]

    # ---- errors ------------------------------------------------------------------------

    def _error_from_response(self, response: httpx.Response, body: Any) -> ProviderError:
        return coze_error(body, response.status_code, response.headers.get("x-tt-logid"))

    def _check_body(self, body: Any) -> None:
        if isinstance(body, Mapping) and body.get("code") not in (0, None):
            raise coze_error(body, 200)


def is_answer(message: Mapping[str, Any]) -> bool:
    return message.get("type") == "answer" and message.get("role", "assistant") == "assistant"


def pick_answer(task: Task[M], answers: list[str]) -> M:
    """The bot's last answer that fits the schema (multi-answer bots may send a preface)."""
    if not answers:
        raise ProviderError("coze: the bot sent no answer", code="invalid_output")
    error: ProviderError | None = None
    for answer in reversed(answers):
        try:
            return task.parse(answer)
        except ProviderError as exc:
            error = error or exc
    assert error is not None
    raise error


def coze_error(body: Any, status: int, logid: str | None = None) -> ProviderError:
    """Map ``{"code", "msg", "detail": {"logid"}}`` (or a bare HTTP failure)."""
    envelope = body if isinstance(body, Mapping) else {}
    code = envelope.get("code")
    detail = envelope.get("detail")
    logid = logid or (detail.get("logid") if isinstance(detail, Mapping) else None)
    retryable = code in RETRYABLE_CODES or status == 429 or status >= 500
    suffix = f" (logid {logid})" if logid else ""
    return ProviderError(
        f"coze: {code if code is not None else f'HTTP {status}'}: "
        f"{envelope.get('msg') or 'no detail'}{suffix}",
        code=f"coze_{code if code is not None else status}",
        retryable=retryable,
    )


def chat_error(chat: Mapping[str, Any]) -> ProviderError:
    """A chat that ended other than completed: failed (``last_error``), canceled, or waiting
    for tool outputs we do not provide."""
    status = chat.get("status") or "failed"
    last_error = chat.get("last_error")
    if isinstance(last_error, Mapping) and last_error.get("code"):
        error = coze_error(last_error, 200)
        return ProviderError(
            f"coze: chat {status}: {error}", code=error.code, retryable=error.retryable
        )
    return ProviderError(f"coze: chat {status}", code=f"coze_chat_{status}")

"""Dify adapter: two published workflow apps and an optional chat app, over Dify's service API.

- ``enhance_message`` → ``POST /v1/workflows/run`` on the ``conversation_enhancer`` app
  (inputs ``message``, ``sender_id``, ``receiver_id``, ``conversation_history``).
- ``icebreaker`` → the ``icebreaker_generator`` app (``user_a_profile``, ``user_b_profile``,
  ``context``). Importable DSL for both: ``integrations/dify/``.
- ``suggest_replies``, ``analyze_message``, ``conversation_health`` → ``POST /v1/chat-messages``
  on a chat app whose query carries our instructions and JSON schema; without a chat key they
  raise ``ProviderError(code="unsupported")``.

Every app has its own API key, so ``Authorization`` is set per request. Blocking and streaming
replies meet in one place per endpoint (:func:`_run_outputs`, the chat answer), then the same
validation. Retried: ``too_many_requests``, 5xx, network errors and timeouts; never
``rate_limit_error`` (quota) or the ``provider_*`` configuration codes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
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
    event_json,
    extract_json,
    health_task,
    parse_model,
    profile_payload,
    pseudonymous_user,
    replies_task,
)
from rapport.ai.providers.resilience import CircuitBreaker, RetryPolicy, Sleep
from rapport.ai.schemas import (
    ChatLine,
    ConversationContext,
    ConversationHealth,
    Enhancement,
    Icebreaker,
    MessageAnalysis,
    ProfileBrief,
    ReplySuggestions,
)

M = TypeVar("M", bound=BaseModel)
DifyMode = Literal["blocking", "streaming"]
WorkflowCapability = Literal["enhance_message", "icebreaker"]

WORKFLOW_RUN = "/v1/workflows/run"
CHAT_MESSAGES = "/v1/chat-messages"
HISTORY_LINES = 10  # "最近10条对话历史" in the design article
# Input limits; integrations/dify/*.yml declares the same max_length (a test keeps them equal).
INPUT_LIMITS = {
    "message": 4000,
    "sender_id": 64,
    "receiver_id": 64,
    "conversation_history": 8000,
    "user_a_profile": 3000,
    "user_b_profile": 3000,
    "context": 1000,
}
_OK_STATUSES = frozenset({"succeeded", "partial-succeeded"})


class DifyProvider(HTTPProvider):
    name = "dify"

    def __init__(
        self,
        base_url: str,
        workflow_keys: Mapping[str, str],
        chat_key: str | None = None,
        *,
        user_prefix: str = "rapport-",
        mode: DifyMode = "blocking",
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout | float = DEFAULT_HTTP_TIMEOUT,
        breaker: CircuitBreaker | None = None,
        retry: RetryPolicy | None = None,
        total_timeout: float | None = DEFAULT_TOTAL_TIMEOUT,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        unknown = set(workflow_keys) - set(get_args(WorkflowCapability))
        if unknown:
            raise ValueError(f"no Dify workflow serves {sorted(unknown)}")
        if mode not in get_args(DifyMode):
            raise ValueError(f"Dify response mode must be blocking or streaming, not {mode!r}")
        super().__init__(
            base_url=api_root(base_url),
            timeout=timeout,
            transport=transport,
            breaker=breaker,
            retry=retry,
            total_timeout=total_timeout,
            sleep=sleep,
        )
        self.workflow_keys = {k: v for k, v in workflow_keys.items() if v}
        self.chat_key = chat_key or None
        self.user_prefix = user_prefix
        self.mode: DifyMode = mode

    # ---- capabilities ------------------------------------------------------------------

    async def enhance_message(self, draft: str, context: ConversationContext) -> Enhancement:
        inputs = {
            "message": draft,
            "sender_id": context.me.ref,
            "receiver_id": context.peer.ref,
            "conversation_history": history_text(context.lines),
        }
        return await self._workflow("enhance_message", Enhancement, inputs, context.me.ref)

    async def icebreaker(self, a: ProfileBrief, b: ProfileBrief, context: str) -> Icebreaker:
        inputs = {
            "user_a_profile": json.dumps(profile_payload(a), ensure_ascii=False),
            "user_b_profile": json.dumps(profile_payload(b), ensure_ascii=False),
            "context": context,
        }
        return await self._workflow("icebreaker", Icebreaker, inputs, a.ref)

    async def suggest_replies(self, context: ConversationContext) -> ReplySuggestions:
        return await self._chat(replies_task(context), context.me.ref)

    async def analyze_message(
        self, text: str, context: ConversationContext | None
    ) -> MessageAnalysis:
        return await self._chat(analyze_task(text, context), context.me.ref if context else None)

    async def conversation_health(self, context: ConversationContext) -> ConversationHealth:
        return await self._chat(health_task(context), context.me.ref)

    # ---- workflow apps -----------------------------------------------------------------

    async def _workflow(
        self,
        capability: WorkflowCapability,
        output: type[M],
        inputs: dict[str, str],
        ref: str | None,
    ) -> M:
        key = self.workflow_keys.get(capability)
        if not key:
            raise ProviderError(f"dify: no workflow app key for {capability}", code="unsupported")
        body = {
            "inputs": {name: clip(name, value) for name, value in inputs.items()},
            "response_mode": self.mode,
            "user": pseudonymous_user(self.user_prefix, ref),
        }
        headers = {"Authorization": f"Bearer {key}"}

        async def once() -> M:
            return outputs_model(output, await self._run_outputs(body, headers))

        return await self._guarded(once)

    async def _run_outputs(self, body: Any, headers: Mapping[str, str]) -> dict[str, Any]:
        if self.mode == "blocking":
            reply = await self._request_json("POST", WORKFLOW_RUN, json=body, headers=headers)
            return run_outputs(reply.get("data"), "")
        text: list[str] = []
        async with aclosing(
            self._stream_events("POST", WORKFLOW_RUN, json=body, headers=headers)
        ) as events:
            async for event in events:
                message = event_json(event)
                kind = message.get("event") if message else None
                if message is None or kind == "ping":
                    continue
                if kind == "error":
                    raise envelope_error(message, int(message.get("status") or 500))
                if kind == "text_chunk":
                    text.append(str((message.get("data") or {}).get("text", "")))
                elif kind == "workflow_finished":
                    return run_outputs(message.get("data"), "".join(text))
        raise ProviderError(
            "dify: stream ended before workflow_finished",
            code="dify_stream_incomplete",
            retryable=True,
        )

    # ---- chat app ----------------------------------------------------------------------

    async def _chat(self, task: Task[M], ref: str | None) -> M:
        if not self.chat_key:
            raise ProviderError(
                f"dify: {task.capability} needs a chat app (no chat key)", code="unsupported"
            )
        body = {
            "inputs": {},
            "query": task.prompt(),
            "response_mode": self.mode,
            "user": pseudonymous_user(self.user_prefix, ref),
            "auto_generate_name": False,
        }
        headers = {"Authorization": f"Bearer {self.chat_key}"}

        async def once() -> M:
            return task.parse(await self._chat_answer(body, headers))

        return await self._guarded(once)

    async def _chat_answer(self, body: Any, headers: Mapping[str, str]) -> str:
        if self.mode == "blocking":
            reply = await self._request_json("POST", CHAT_MESSAGES, json=body, headers=headers)
            return str(reply.get("answer") or "")
        answer: list[str] = []
        async with aclosing(
            self._stream_events("POST", CHAT_MESSAGES, json=body, headers=headers)
        ) as events:
            async for event in events:
                message = event_json(event)
                kind = message.get("event") if message else None
                if message is None or kind == "ping":
                    continue
                if kind == "error":
                    raise envelope_error(message, int(message.get("status") or 500))
                if kind in ("message", "agent_message"):
                    answer.append(str(message.get("answer") or ""))
                elif kind == "message_replace":  # moderation replaced the whole answer
                    answer = [str(message.get("answer") or "")]
                elif kind == "workflow_finished":  # chatflow apps
                    check_run(message.get("data"))
                elif kind == "message_end":
                    return "".join(answer)
        raise ProviderError(
            "dify: stream ended before message_end", code="dify_stream_incomplete", retryable=True
        )

    # ---- errors ------------------------------------------------------------------------

    def _error_from_response(self, response: httpx.Response, body: Any) -> ProviderError:
        return envelope_error(body, response.status_code)


def api_root(base_url: str) -> str:
    """Accept the documented API base (``https://api.dify.ai/v1``) or the bare host."""
    root = base_url.rstrip("/")
    return root.removesuffix("/v1") or root


def envelope_error(body: Any, status: int) -> ProviderError:
    """Map Dify's ``{code, message, status}`` (HTTP error or ``error`` stream event)."""
    envelope = body if isinstance(body, Mapping) else {}
    code = envelope.get("code")
    status = int(envelope.get("status") or status)
    retryable = code == "too_many_requests" or status >= 500 or (status == 429 and not code)
    if code == "rate_limit_error" or str(code or "").startswith("provider_"):
        retryable = False
    message = envelope.get("message") or "no error envelope"
    return ProviderError(
        f"dify: HTTP {status} {code or 'error'}: {message}",
        code=f"dify_{code or status}",
        retryable=retryable,
    )


def check_run(data: Any) -> Mapping[str, Any]:
    """A finished run's data, or the error it ended with (failed, stopped, paused)."""
    if not isinstance(data, Mapping):
        raise ProviderError("dify: run result missing", code="bad_response")
    status = data.get("status")
    if status not in _OK_STATUSES:
        raise ProviderError(
            f"dify: workflow {status}: {data.get('error') or 'no detail'}",
            code=f"dify_workflow_{status or 'unknown'}",
        )
    return data


def run_outputs(data: Any, streamed_text: str) -> dict[str, Any]:
    """The outputs of a finished run (blocking ``data`` or ``workflow_finished.data``)."""
    outputs = check_run(data).get("outputs")
    if isinstance(outputs, Mapping) and outputs:
        return dict(outputs)
    if streamed_text:
        return {"text": streamed_text}
    raise ProviderError("dify: workflow returned no outputs", code="invalid_output")


def outputs_model(model_cls: type[M], outputs: Mapping[str, Any]) -> M:
    """Validate workflow outputs. Values may arrive as lists/objects or as strings holding
    JSON; a run whose only output is one string holding the whole JSON object also works."""
    fields = model_cls.model_fields
    if not fields.keys() & outputs.keys():
        strings = [v for v in outputs.values() if isinstance(v, str)]
        if len(strings) == 1:
            return parse_model(model_cls, strings[0])
    decoded = {
        name: value if name in fields and fields[name].annotation is str else _maybe_json(value)
        for name, value in outputs.items()
    }
    return parse_model(model_cls, decoded)


def _maybe_json(value: Any) -> Any:
    if not isinstance(value, str) or value.strip()[:1] not in ("{", "[", "`"):
        return value
    try:
        return extract_json(value)
    except ProviderError:
        return value


def history_text(lines: Sequence[ChatLine], limit: int = HISTORY_LINES) -> str:
    return "\n".join(f"{line.speaker}: {line.text}" for line in list(lines)[-limit:])


def clip(name: str, value: str) -> str:
    """Fit the workflow's input length check; the history keeps its newest end."""
    limit = INPUT_LIMITS[name]
    if len(value) <= limit:
        return value
    return value[-limit:] if name == "conversation_history" else value[:limit]

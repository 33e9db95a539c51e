"""The shared base of remote providers and the translation helpers every adapter uses.

- :class:`ResilientProvider` runs each call through breaker → overall timeout → retries.
- :class:`HTTPProvider` adds the ``httpx.AsyncClient`` (base URL, auth headers, timeout,
  injectable ``transport=``) plus JSON and SSE request helpers that turn transport failures,
  HTTP errors and vendor error envelopes into :class:`ProviderError`.
- :class:`Task` is one capability call rendered for a model: per-capability instructions
  (reply in the conversation's language), the output's JSON schema, and the pseudonymous input.
- :func:`parse_model` validates model output, tolerating ```json fences and surrounding prose.

Error codes raised here: ``timeout`` and ``network`` (retryable), ``http_<status>`` (retryable
for 429 and 5xx), ``bad_response``, ``invalid_output``. Adapters add ``<vendor>_<code>``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from rapport.ai.providers.base import ProviderError
from rapport.ai.providers.resilience import (
    CircuitBreaker,
    RetryPolicy,
    Sleep,
    retry_call,
    with_timeout,
)
from rapport.ai.providers.sse import SSEEvent, aiter_events
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

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
Capability = Literal[
    "analyze_message", "suggest_replies", "icebreaker", "enhance_message", "conversation_health"
]

# Read timeout stays well above the 10 s keep-alive interval of streaming vendors.
DEFAULT_HTTP_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
DEFAULT_TOTAL_TIMEOUT = 60.0


class ResilientProvider:
    """Breaker, retry policy and overall timeout shared by every remote provider."""

    name: str = "remote"

    def __init__(
        self,
        *,
        breaker: CircuitBreaker | None = None,
        retry: RetryPolicy | None = None,
        total_timeout: float | None = DEFAULT_TOTAL_TIMEOUT,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.breaker = breaker or CircuitBreaker(self.name)
        self.retry = retry or RetryPolicy()
        self.total_timeout = total_timeout
        self._sleep = sleep

    async def _guarded(self, op: Callable[[], Awaitable[T]]) -> T:
        """Run ``op`` under the breaker, the overall timeout and the retry policy. Anything
        unexpected (a vendor reply of an unforeseen shape) also becomes a ProviderError."""

        async def attempts() -> T:
            try:
                return await with_timeout(
                    retry_call(op, self.retry, sleep=self._sleep),
                    self.total_timeout,
                    what=self.name,
                )
            except ProviderError:
                raise
            except Exception as exc:
                raise ProviderError(
                    f"{self.name}: unexpected response ({exc!r})", code="bad_response"
                ) from exc

        return await self.breaker.call(attempts)


class HTTPProvider(ResilientProvider):
    """A remote provider that owns one ``httpx.AsyncClient``."""

    def __init__(
        self,
        *,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        timeout: httpx.Timeout | float = DEFAULT_HTTP_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        breaker: CircuitBreaker | None = None,
        retry: RetryPolicy | None = None,
        total_timeout: float | None = DEFAULT_TOTAL_TIMEOUT,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        super().__init__(breaker=breaker, retry=retry, total_timeout=total_timeout, sleep=sleep)
        self.client = httpx.AsyncClient(
            base_url=base_url, headers=headers, timeout=timeout, transport=transport
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    # ---- vendor hooks ------------------------------------------------------------------

    def _error_from_response(self, response: httpx.Response, body: Any) -> ProviderError:
        """Map a non-2xx response; vendors override to read their error envelope."""
        status = response.status_code
        return ProviderError(
            f"{self.name}: HTTP {status}",
            code=f"http_{status}",
            retryable=status == 429 or status >= 500,
        )

    def _check_body(self, body: Any) -> None:
        """Raise for an error reported inside a 2xx body (Coze's ``{"code": non-zero}``)."""

    # ---- requests ----------------------------------------------------------------------

    async def _request_json(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        try:
            response = await self.client.request(
                method, url, json=json, params=params, headers=headers
            )
        except httpx.TransportError as exc:
            raise self._transport_error(exc) from exc
        body = _json_or_none(response.content)
        if response.is_error:
            raise self._error_from_response(response, body)
        if body is None:
            raise ProviderError(f"{self.name}: response is not JSON", code="bad_response")
        self._check_body(body)
        return body

    async def _stream_events(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncGenerator[SSEEvent, None]:
        """Yield the SSE events of a streaming response. Use under ``contextlib.aclosing``
        so the connection is released when the consumer stops early."""
        try:
            async with self.client.stream(method, url, json=json, headers=headers) as response:
                if response.is_error or "event-stream" not in response.headers.get(
                    "content-type", ""
                ):
                    body = _json_or_none(await response.aread())
                    if response.is_error:
                        raise self._error_from_response(response, body)
                    self._check_body(body)
                    raise ProviderError(
                        f"{self.name}: expected an event stream", code="bad_response"
                    )
                async with aclosing(aiter_events(response.aiter_bytes())) as events:
                    async for event in events:
                        yield event
        except httpx.TransportError as exc:
            raise self._transport_error(exc) from exc

    def _transport_error(self, exc: httpx.TransportError) -> ProviderError:
        if isinstance(exc, httpx.TimeoutException):
            return ProviderError(
                f"{self.name}: {type(exc).__name__}", code="timeout", retryable=True
            )
        return ProviderError(
            f"{self.name}: {type(exc).__name__}: {exc}", code="network", retryable=True
        )


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def event_json(event: SSEEvent) -> dict[str, Any] | None:
    """The JSON object an event carries, or None (keep-alive, empty or non-object data)."""
    if not event.data.strip():
        return None
    data = _json_or_none(event.data.encode())
    return data if isinstance(data, dict) else None


# ---- output parsing ------------------------------------------------------------------------

_FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\r?\n?(.*?)```", re.DOTALL)
_MAX_SCAN = 64


def extract_json(text: str) -> Any:
    """Decode the JSON a model wrote: bare, inside a ``` fence, or embedded in prose (the first
    decodable object or array wins). A JSON string that itself holds JSON is unwrapped once."""
    stripped = text.strip()
    if not stripped:
        raise ProviderError("model output is blank", code="invalid_output")
    candidates = [stripped, *(m.group(1).strip() for m in _FENCE.finditer(stripped))]
    for candidate in candidates:
        try:
            return _unwrap(json.loads(candidate))
        except ValueError:
            continue
    decoder = json.JSONDecoder()
    for n, match in enumerate(re.finditer(r"[{\[]", stripped)):
        if n >= _MAX_SCAN:
            break
        try:
            value, _ = decoder.raw_decode(stripped, match.start())
        except ValueError:
            continue
        return _unwrap(value)
    raise ProviderError("model output holds no JSON", code="invalid_output")


def _unwrap(value: Any) -> Any:
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def parse_model(model_cls: type[M], raw: str | Mapping[str, Any]) -> M:
    """Validate model output against ``model_cls``; ``ProviderError(code="invalid_output")``
    when it is blank, holds no JSON object, or does not fit the schema."""
    data = extract_json(raw) if isinstance(raw, str) else raw
    if not isinstance(data, Mapping):
        raise ProviderError(
            f"model output is not a JSON object for {model_cls.__name__}", code="invalid_output"
        )
    try:
        return model_cls.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or model_cls.__name__
        raise ProviderError(
            f"model output does not fit {model_cls.__name__}: {where}: {first['msg']}",
            code="invalid_output",
        ) from exc


def schema_instructions(model_cls: type[BaseModel]) -> str:
    """Instructions asking for exactly ``model_cls``'s JSON schema."""
    schema = json.dumps(model_cls.model_json_schema(), ensure_ascii=False, separators=(",", ":"))
    return (
        "Output format: exactly ONE JSON object (json only) - no prose, no Markdown fences, "
        "no comments. It must validate against this JSON Schema; use the enum values verbatim "
        f"and respect every min/max length and range:\n{schema}"
    )


# ---- capability prompts --------------------------------------------------------------------

PERSONA = (
    "You are Rapport's dating-chat assistant. You help two adults who matched on a dating app "
    "start and keep a good conversation: warm, respectful, specific, never pushy. People are "
    "identified only by pseudonymous refs. Never ask for or suggest sharing phone numbers, "
    "social handles, addresses, money or explicit content; flag such requests instead."
)

_LANGUAGE_NAMES = {"zh": "Simplified Chinese (简体中文)", "en": "English"}

_INSTRUCTIONS: dict[Capability, str] = {
    "analyze_message": (
        "Task analyze_message: analyse `message` (sent in the chat described by `context`, if "
        "any). sentiment positive|neutral|negative; score in [-1, 1] (below 0 for negative); "
        "confidence in [0, 1]; emotions: up to 3 short words; warning_flags: only the schema's "
        "flags that the message clearly shows (harassment, sexual, scam, money_request, "
        "off_platform_contact, self_harm, minor_risk), otherwise []; topics: up to 3 short "
        "topics; language: 'zh' or 'en', the language the message is written in."
    ),
    "suggest_replies": (
        "Task suggest_replies: suggest exactly 3 replies that `me` could send `peer` next - "
        "tones warm, playful and curious, in that order. Each under 200 characters, natural, "
        "tied to what was said last, no pickup lines. topics: up to 5 short topics worth "
        "exploring; language: 'zh' or 'en', the language of the replies."
    ),
    "icebreaker": (
        "Task icebreaker: `a` and `b` just matched; `scene` says where. opening_lines: 2 to 5 "
        "first messages `a` could send `b`, friendly and specific to both profiles, each under "
        "150 characters. shared_interests: interests both have (may be empty). "
        "conversation_starters: up to 5 {question, topic} follow-up questions."
    ),
    "enhance_message": (
        "Task enhance_message: `me` is about to send `draft` to `peer`. enhanced_message: the "
        "draft made clearer, warmer and more engaging while keeping its meaning, facts, voice "
        "and language - return it nearly unchanged when it is already good; add no claims. "
        "topic_suggestions: exactly 3 short follow-up topics. emotion_analysis: sentiment and "
        "confidence of the draft. warning_flags: flags the draft clearly shows, otherwise []."
    ),
    "conversation_health": (
        "Task conversation_health: assess `lines` (oldest first, `at` in unix seconds). "
        "response_time_median_s: median seconds before the other person replies, null if "
        "unknown; reciprocity 0..1 (1 = both write equally); depth 0..1 (share of substantive, "
        "personal messages); emotion_trend -1..1 (recent minus earlier sentiment); "
        "topic_diversity 0..1; stage opening|getting_to_know|building_rapport|planning_to_meet|"
        "cooling; intervention: none unless help is needed - suggest_topics (stalling), "
        "positive_topics (mood dropping), deepen (shallow small talk), shared_interest_prompt "
        "(a shared interest is unexplored)."
    ),
}

MAX_LINES = 20


@dataclass(frozen=True, slots=True)
class Task(Generic[M]):
    """One capability call, rendered for a model that is asked for ``output``'s schema."""

    capability: Capability
    output: type[M]
    language: str | None
    payload: dict[str, Any] = field(default_factory=dict)

    def system_prompt(self) -> str:
        if self.language in _LANGUAGE_NAMES:
            lang = f"write them in {_LANGUAGE_NAMES[self.language]}"
        else:
            lang = "write them in the language the people use (zh or en; latest messages win)"
        language_rule = (
            f"Language: every human-readable string is for the people in the chat, so {lang}. "
            "用对话所使用的语言回复。JSON keys and enum values stay exactly as in the schema."
        )
        return "\n\n".join(
            [
                PERSONA,
                _INSTRUCTIONS[self.capability],
                language_rule,
                schema_instructions(self.output),
            ]
        )

    def user_prompt(self) -> str:
        return "Input (JSON):\n" + json.dumps(self.payload, ensure_ascii=False)

    def prompt(self) -> str:
        """System and user parts in one message, for chat bots that take a single query."""
        return f"{self.system_prompt()}\n\n{self.user_prompt()}"

    def parse(self, raw: str | Mapping[str, Any]) -> M:
        return parse_model(self.output, raw)


def profile_payload(profile: ProfileBrief) -> dict[str, Any]:
    """The pseudonymous profile fields a model may see (ProfileBrief holds nothing else)."""
    return profile.model_dump(mode="json", exclude_defaults=True)


def lines_payload(lines: Sequence[ChatLine], limit: int = MAX_LINES) -> list[dict[str, Any]]:
    return [line.model_dump(mode="json", exclude_none=True) for line in list(lines)[-limit:]]


def context_payload(context: ConversationContext) -> dict[str, Any]:
    return {
        "me": profile_payload(context.me),
        "peer": profile_payload(context.peer),
        "lines": lines_payload(context.lines),
    }


def common_language(a: ProfileBrief, b: ProfileBrief) -> str | None:
    shared = [lang for lang in a.languages if lang in b.languages and lang in _LANGUAGE_NAMES]
    if shared:
        return shared[0]
    return next((lang for lang in a.languages if lang in _LANGUAGE_NAMES), None)


def analyze_task(text: str, context: ConversationContext | None) -> Task[MessageAnalysis]:
    payload: dict[str, Any] = {"message": text}
    if context is not None:
        payload["context"] = context_payload(context)
    language = context.language if context else None
    return Task("analyze_message", MessageAnalysis, language, payload)


def replies_task(context: ConversationContext) -> Task[ReplySuggestions]:
    return Task("suggest_replies", ReplySuggestions, context.language, context_payload(context))


def icebreaker_task(a: ProfileBrief, b: ProfileBrief, scene: str) -> Task[Icebreaker]:
    payload = {"a": profile_payload(a), "b": profile_payload(b), "scene": scene}
    return Task("icebreaker", Icebreaker, common_language(a, b), payload)


def enhance_task(draft: str, context: ConversationContext) -> Task[Enhancement]:
    payload = {"draft": draft, **context_payload(context)}
    return Task("enhance_message", Enhancement, context.language, payload)


def health_task(context: ConversationContext) -> Task[ConversationHealth]:
    return Task(
        "conversation_health", ConversationHealth, context.language, context_payload(context)
    )


def pseudonymous_user(prefix: str, ref: str | None) -> str:
    """The vendor-side user id: prefix + the caller's pseudonymous ref. Anything that looks
    like an email (or is empty) is replaced by a hash, so no address ever leaves."""
    if not ref or "@" in ref:
        ref = hashlib.sha256((ref or "anonymous").encode()).hexdigest()[:16]
    return f"{prefix}{ref}"

"""OpenAI-compatible adapter (OpenAI, Ollama, vLLM, DeepSeek, Qwen/DashScope, Zhipu GLM, ...)
through the official ``openai`` SDK's chat completions.

The portable recipe: ``response_format={"type": "json_object"}`` (json_schema is not portable),
a system prompt that says "JSON" and carries the schema, validation of the reply, and ONE more
request when the reply is blank or does not validate (DeepSeek documents blank JSON-mode
replies). The SDK's own retries are off: the shared breaker/retry/timeout policy applies.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, TypeVar

import httpx
import openai
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam
from pydantic import BaseModel

from rapport.ai.providers.base import ProviderError
from rapport.ai.providers.http import (
    DEFAULT_HTTP_TIMEOUT,
    DEFAULT_TOTAL_TIMEOUT,
    ResilientProvider,
    Task,
    analyze_task,
    enhance_task,
    health_task,
    icebreaker_task,
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


class OpenAICompatProvider(ResilientProvider):
    name = "openai"

    def __init__(
        self,
        base_url: str,
        api_key: str,
        model: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout | float = DEFAULT_HTTP_TIMEOUT,
        max_tokens: int = 1024,
        temperature: float = 0.7,
        extra_body: Mapping[str, Any] | None = None,
        breaker: CircuitBreaker | None = None,
        retry: RetryPolicy | None = None,
        total_timeout: float | None = DEFAULT_TOTAL_TIMEOUT,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not model:
            raise ValueError("an OpenAI-compatible provider needs an explicit model name")
        super().__init__(breaker=breaker, retry=retry, total_timeout=total_timeout, sleep=sleep)
        self.model = model
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.extra_body = dict(extra_body) if extra_body else None
        self.client = AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or "unused",  # Ollama and keyless vLLM ignore it; the SDK needs one
            max_retries=0,
            timeout=timeout,
            http_client=httpx.AsyncClient(transport=transport, timeout=timeout),
        )

    async def aclose(self) -> None:
        await self.client.close()

    # ---- capabilities ------------------------------------------------------------------

    async def analyze_message(
        self, text: str, context: ConversationContext | None
    ) -> MessageAnalysis:
        return await self._complete(analyze_task(text, context))

    async def suggest_replies(self, context: ConversationContext) -> ReplySuggestions:
        return await self._complete(replies_task(context))

    async def icebreaker(self, a: ProfileBrief, b: ProfileBrief, context: str) -> Icebreaker:
        return await self._complete(icebreaker_task(a, b, context))

    async def enhance_message(self, draft: str, context: ConversationContext) -> Enhancement:
        return await self._complete(enhance_task(draft, context))

    async def conversation_health(self, context: ConversationContext) -> ConversationHealth:
        return await self._complete(health_task(context))

    # ---- one completion ----------------------------------------------------------------

    async def _complete(self, task: Task[M]) -> M:
        async def once() -> M:
            try:
                return task.parse(await self._create(task))
            except ProviderError as first:
                if first.code != "invalid_output":
                    raise
            return task.parse(await self._create(task))  # one more try, then invalid_output

        return await self._guarded(once)

    async def _create(self, task: Task[Any]) -> str:
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": task.system_prompt()},
            {"role": "user", "content": task.user_prompt()},
        ]
        try:
            completion = await self.client.chat.completions.create(
                model=self.model,
                messages=messages,
                response_format={"type": "json_object"},
                max_tokens=self.max_tokens,
                temperature=self.temperature,
                extra_body=self.extra_body,
            )
        except openai.APIError as exc:
            raise sdk_error(exc) from exc
        if not completion.choices:
            return ""
        return completion.choices[0].message.content or ""


def sdk_error(exc: openai.APIError) -> ProviderError:
    if isinstance(exc, openai.APITimeoutError):
        return ProviderError("openai: request timed out", code="timeout", retryable=True)
    if isinstance(exc, openai.APIConnectionError):
        return ProviderError(f"openai: {exc}", code="network", retryable=True)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        quota = exc.code == "insufficient_quota"  # a 429 that waiting will not fix
        return ProviderError(
            f"openai: HTTP {status}: {exc.message}",
            code=f"openai_{exc.code or status}",
            retryable=(status == 429 and not quota) or status >= 500,
        )
    return ProviderError(f"openai: {exc}", code="bad_response")

"""OpenAICompatProvider: the official SDK over an httpx.MockTransport that answers like
``POST {base_url}/chat/completions`` (JSON mode, OpenAI error objects)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from rapport.ai.providers.base import Provider, ProviderError
from rapport.ai.providers.openai_compat import OpenAICompatProvider
from rapport.ai.providers.resilience import RetryPolicy
from rapport.ai.schemas import ReplySuggestions
from tests.ai import (
    ANALYSIS,
    ENHANCEMENT,
    HEALTH,
    ICEBREAKER,
    REPLIES,
    Script,
    Sleeps,
    conversation,
    profile,
)

BASE = "https://llm.example.com/v1"
KEY = "sk-test"
MODEL = "deepseek-chat"


def provider_for(script: Script, *, attempts: int = 3, **kwargs: Any) -> OpenAICompatProvider:
    options: dict[str, Any] = {
        "retry": RetryPolicy(max_attempts=attempts, base_delay=0.01),
        "sleep": Sleeps(),
    }
    options.update(kwargs)
    return OpenAICompatProvider(BASE, KEY, MODEL, transport=script.transport, **options)


def completion(content: str | None, finish_reason: str = "stop") -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "id": "chatcmpl-123",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "logprobs": None,
                    "finish_reason": finish_reason,
                }
            ],
            "usage": {"prompt_tokens": 120, "completion_tokens": 80, "total_tokens": 200},
        },
    )


def api_error(status: int, code: str, type_: str, message: str = "x") -> httpx.Response:
    return httpx.Response(
        status, json={"error": {"message": message, "type": type_, "param": None, "code": code}}
    )


async def test_json_mode_request_and_validated_result() -> None:
    script = Script(completion(json.dumps(REPLIES)))
    provider = provider_for(script, max_tokens=700, temperature=0.4)
    result = await provider.suggest_replies(conversation())
    await provider.aclose()

    assert result == ReplySuggestions.model_validate(REPLIES)
    [request] = script.requests
    assert (request.method, str(request.url)) == ("POST", f"{BASE}/chat/completions")
    assert request.headers["authorization"] == f"Bearer {KEY}"
    body = script.body()
    assert body["model"] == MODEL
    assert body["response_format"] == {"type": "json_object"}
    assert body["max_tokens"] == 700
    assert body["temperature"] == 0.4
    system, user = body["messages"]
    assert system["role"] == "system" and user["role"] == "user"
    assert "JSON" in system["content"] and "json" in system["content"]
    assert '"replies"' in system["content"]  # the schema itself
    assert json.loads(user["content"].removeprefix("Input (JSON):\n"))["peer"]["ref"] == "B"


async def test_extra_body_is_passed_through() -> None:
    script = Script(completion(json.dumps(ANALYSIS)))
    provider = provider_for(script, extra_body={"enable_thinking": False})
    await provider.analyze_message("hi", None)
    await provider.aclose()
    assert script.body()["enable_thinking"] is False


@pytest.mark.parametrize("first", ["", "   \n  ", None, "Sure! Here it is:"])
async def test_blank_or_unparsable_then_valid_succeeds_with_two_calls(first: str | None) -> None:
    script = Script(completion(first), completion("```json\n" + json.dumps(HEALTH) + "\n```"))
    provider = provider_for(script)
    assert (await provider.conversation_health(conversation())).stage == "getting_to_know"
    await provider.aclose()
    assert len(script.requests) == 2


async def test_twice_bad_output_is_invalid_output() -> None:
    bad = {**ENHANCEMENT, "topic_suggestions": ["just one"]}
    script = Script(completion(""), completion(json.dumps(bad)))
    provider = provider_for(script)
    with pytest.raises(ProviderError) as info:
        await provider.enhance_message("hi", conversation())
    await provider.aclose()
    assert (info.value.code, info.value.retryable) == ("invalid_output", False)
    assert len(script.requests) == 2


@pytest.mark.parametrize(
    ("response", "code", "retried"),
    [
        (api_error(500, "server_error", "server_error"), "openai_server_error", True),
        (api_error(429, "rate_limit_exceeded", "requests"), "openai_rate_limit_exceeded", True),
        (
            api_error(429, "insufficient_quota", "insufficient_quota"),
            "openai_insufficient_quota",
            False,
        ),
        (
            api_error(401, "invalid_api_key", "invalid_request_error"),
            "openai_invalid_api_key",
            False,
        ),
        (
            api_error(400, "invalid_request_error", "invalid_request_error"),
            "openai_invalid_request_error",
            False,
        ),
    ],
)
async def test_status_errors_and_which_are_retried(
    response: httpx.Response, code: str, retried: bool
) -> None:
    script = Script(*[response] * 2)
    provider = provider_for(script, attempts=2)
    with pytest.raises(ProviderError) as info:
        await provider.icebreaker(profile("A"), profile("B"), "hiking")
    await provider.aclose()
    assert (info.value.code, info.value.retryable) == (code, retried)
    assert len(script.requests) == (2 if retried else 1)


async def test_a_5xx_then_success() -> None:
    script = Script(
        api_error(503, "overloaded", "server_error"), completion(json.dumps(ICEBREAKER))
    )
    provider = provider_for(script)
    assert (await provider.icebreaker(profile("A"), profile("B"), "hiking")).shared_interests
    await provider.aclose()
    assert len(script.requests) == 2


async def test_read_timeout_is_a_retryable_timeout() -> None:
    script = Script(httpx.ReadTimeout("slow"))
    provider = provider_for(script, attempts=1)
    with pytest.raises(ProviderError) as info:
        await provider.analyze_message("hi", None)
    await provider.aclose()
    assert (info.value.code, info.value.retryable) == ("timeout", True)
    assert len(script.requests) == 1  # the SDK's own retries are off


async def test_connection_error_is_retryable_network() -> None:
    script = Script(httpx.ConnectError("refused"))
    provider = provider_for(script, attempts=1)
    with pytest.raises(ProviderError) as info:
        await provider.analyze_message("hi", None)
    await provider.aclose()
    assert (info.value.code, info.value.retryable) == ("network", True)


async def test_a_handler_slower_than_the_total_timeout_times_out() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return completion(json.dumps(ANALYSIS))

    script = Script(slow)
    provider = provider_for(script, total_timeout=0.05)
    with pytest.raises(ProviderError) as info:
        await provider.analyze_message("hi", None)
    await provider.aclose()
    assert (info.value.code, info.value.retryable) == ("timeout", True)


@pytest.mark.parametrize(
    ("capability", "answer"),
    [
        ("analyze_message", ANALYSIS),
        ("suggest_replies", REPLIES),
        ("icebreaker", ICEBREAKER),
        ("enhance_message", ENHANCEMENT),
        ("conversation_health", HEALTH),
    ],
)
async def test_all_five_capabilities(capability: str, answer: dict[str, Any]) -> None:
    script = Script(completion(json.dumps(answer, ensure_ascii=False)))
    provider = provider_for(script)
    calls: dict[str, Callable[[], Awaitable[BaseModel]]] = {
        "analyze_message": lambda: provider.analyze_message("你好", conversation(language="zh")),
        "suggest_replies": lambda: provider.suggest_replies(conversation()),
        "icebreaker": lambda: provider.icebreaker(
            profile("A", languages=["zh"]), profile("B", languages=["zh", "en"]), "徒步"
        ),
        "enhance_message": lambda: provider.enhance_message("hi", conversation()),
        "conversation_health": lambda: provider.conversation_health(conversation()),
    }
    result = await calls[capability]()
    await provider.aclose()
    assert result == type(result).model_validate(answer)
    assert f"Task {capability}" in script.body()["messages"][0]["content"]


async def test_icebreaker_language_follows_the_profiles() -> None:
    script = Script(completion(json.dumps(ICEBREAKER)))
    provider = provider_for(script)
    await provider.icebreaker(
        profile("A", languages=["zh", "en"]), profile("B", languages=["zh"]), "徒步"
    )
    await provider.aclose()
    assert "Simplified Chinese" in script.body()["messages"][0]["content"]


def test_model_is_required() -> None:
    with pytest.raises(ValueError, match="model"):
        OpenAICompatProvider(BASE, KEY, "")


async def test_implements_the_provider_protocol() -> None:
    provider: Provider = OpenAICompatProvider("http://localhost:11434/v1", "", "qwen2.5")
    assert provider.name == "openai"
    await provider.aclose()

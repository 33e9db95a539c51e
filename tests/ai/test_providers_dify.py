"""DifyProvider against httpx.MockTransport handlers that answer in Dify's documented shapes
(service API: /v1/workflows/run, /v1/chat-messages; error envelope {code, message, status};
SSE with bare ``event: ping`` keep-alives)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest

from rapport.ai.providers.base import Provider, ProviderError
from rapport.ai.providers.dify import INPUT_LIMITS, DifyProvider
from rapport.ai.providers.resilience import CircuitBreaker, RetryPolicy
from rapport.ai.schemas import Enhancement, Icebreaker, ReplySuggestions
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
    sse_response,
)

ENHANCER_KEY = "app-enhancer-key"
ICEBREAKER_KEY = "app-icebreaker-key"
CHAT_KEY = "app-chat-key"


def dify(script: Script, *, chat: bool = True, attempts: int = 3, **kwargs: Any) -> DifyProvider:
    options: dict[str, Any] = {
        "retry": RetryPolicy(max_attempts=attempts, base_delay=0.01),
        "sleep": Sleeps(),
    }
    options.update(kwargs)
    return DifyProvider(
        "https://api.dify.ai/v1",
        {"enhance_message": ENHANCER_KEY, "icebreaker": ICEBREAKER_KEY},
        CHAT_KEY if chat else None,
        transport=script.transport,
        **options,
    )


def run_blocking(outputs: dict[str, Any], status: str = "succeeded") -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "task_id": "c3800678-a077-43df-a102-53f23ed20b88",
            "workflow_run_id": "dfjasklfjdslag",
            "data": {
                "id": "fdlsjfjejkghjda",
                "workflow_id": "fldjaslkfjlsda",
                "status": status,
                "outputs": outputs,
                "error": "LLM node failed" if status == "failed" else None,
                "elapsed_time": 0.875,
                "total_tokens": 3562,
                "total_steps": 4,
                "created_at": 1705407629,
                "finished_at": 1727807631,
            },
        },
    )


def envelope(status: int, code: str, message: str = "x") -> httpx.Response:
    return httpx.Response(status, json={"code": code, "message": message, "status": status})


def frame(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


def chat_blocking(answer: str) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "event": "message",
            "task_id": "c3800678-a077-43df-a102-53f23ed20b88",
            "id": "9da23599-e713-473b-982c-4328d4f5c78a",
            "message_id": "9da23599-e713-473b-982c-4328d4f5c78a",
            "conversation_id": "45701982-8118-4bc5-8e9b-64562b4555f2",
            "mode": "chat",
            "answer": answer,
            "metadata": {"usage": {"prompt_tokens": 1033, "total_tokens": 1161}},
            "created_at": 1705407629,
        },
    )


# ---- workflow apps ---------------------------------------------------------------------


async def test_enhance_message_blocking_sends_the_article_inputs() -> None:
    outputs = {  # Dify often hands structured values over as strings holding JSON
        "enhanced_message": ENHANCEMENT["enhanced_message"],
        "topic_suggestions": json.dumps(ENHANCEMENT["topic_suggestions"]),
        "emotion_analysis": json.dumps(ENHANCEMENT["emotion_analysis"]),
        "warning_flags": "[]",
    }
    script = Script(run_blocking(outputs))
    provider = dify(script)
    result = await provider.enhance_message("coastal trail, u?", conversation())
    await provider.aclose()

    assert result == Enhancement.model_validate(ENHANCEMENT)
    [request] = script.requests
    assert request.method == "POST"
    assert str(request.url) == "https://api.dify.ai/v1/workflows/run"
    assert request.headers["authorization"] == f"Bearer {ENHANCER_KEY}"
    assert request.headers["content-type"] == "application/json"
    body = script.body()
    assert body["response_mode"] == "blocking"
    assert body["user"] == "rapport-A"
    assert body["inputs"] == {
        "message": "coastal trail, u?",
        "sender_id": "A",
        "receiver_id": "B",
        "conversation_history": "B: Hi! Saw you hike too\nA: Yes, mostly on weekends\n"
        "B: Favourite trail?",
    }


async def test_outputs_may_be_objects_or_one_string_holding_everything() -> None:
    script = Script(
        run_blocking(dict(ICEBREAKER)),
        run_blocking({"text": "```json\n" + json.dumps(ICEBREAKER) + "\n```"}),
    )
    provider = dify(script)
    for _ in range(2):
        result = await provider.icebreaker(profile("A"), profile("B"), "matched on hiking")
        assert result == Icebreaker.model_validate(ICEBREAKER)
    await provider.aclose()


async def test_icebreaker_streaming_through_pings_comments_and_multi_line_data() -> None:
    finished = {
        "event": "workflow_finished",
        "task_id": "t1",
        "workflow_run_id": "r1",
        "data": {
            "id": "r1",
            "workflow_id": "w1",
            "status": "succeeded",
            "outputs": {**ICEBREAKER, "opening_lines": ["你好！也喜欢徒步？", "Hi Sam!"]},
            "error": None,
            "elapsed_time": 1.2,
            "total_tokens": 900,
            "total_steps": 4,
            "created_at": 1705407629,
            "finished_at": 1705407631,
            "exceptions_count": 0,
            "files": [],
        },
    }
    head, tail = json.dumps(finished, ensure_ascii=False).split('"data": ', 1)
    stream = (
        "event: ping\n\n"
        + frame(
            {
                "event": "workflow_started",
                "task_id": "t1",
                "workflow_run_id": "r1",
                "data": {"id": "r1", "workflow_id": "w1", "created_at": 1705407629},
            }
        )
        + ": keep-alive comment\n\n"
        + frame(
            {
                "event": "node_started",
                "task_id": "t1",
                "workflow_run_id": "r1",
                "data": {"id": "n1", "node_id": "llm", "node_type": "llm", "index": 2},
            }
        )
        + "event: ping\n\n"
        + frame(
            {
                "event": "text_chunk",
                "task_id": "t1",
                "workflow_run_id": "r1",
                "data": {"text": "{", "from_variable_selector": ["llm", "text"]},
            }
        )
        + f'data: {head}\r\ndata: "data": {tail}\r\n\r\n'  # one event over two data lines, CRLF
        + "event: ping\n\n"
    )
    script = Script(sse_response(stream, chunk=5))
    provider = dify(script, mode="streaming")
    result = await provider.icebreaker(
        profile("A", interests=["hiking"]), profile("B"), "matched on hiking"
    )
    await provider.aclose()

    assert result.opening_lines == ["你好！也喜欢徒步？", "Hi Sam!"]
    body = script.body()
    assert script.requests[0].headers["authorization"] == f"Bearer {ICEBREAKER_KEY}"
    assert body["response_mode"] == "streaming"
    assert set(body["inputs"]) == {"user_a_profile", "user_b_profile", "context"}
    assert json.loads(body["inputs"]["user_a_profile"]) == {"ref": "A", "interests": ["hiking"]}
    assert body["inputs"]["context"] == "matched on hiking"


async def test_error_event_inside_a_200_stream_is_mapped_and_not_retried() -> None:
    stream = (
        "event: ping\n\n"
        + frame({"event": "workflow_started", "task_id": "t", "workflow_run_id": "r", "data": {}})
        + frame(
            {
                "event": "error",
                "task_id": "t",
                "status": 400,
                "code": "invalid_param",
                "message": "message is required",
            }
        )
    )
    script = Script(sse_response(stream))
    provider = dify(script, mode="streaming")
    with pytest.raises(ProviderError) as info:
        await provider.enhance_message("hi", conversation())
    await provider.aclose()
    assert info.value.code == "dify_invalid_param"
    assert not info.value.retryable
    assert "message is required" in str(info.value)
    assert len(script.requests) == 1


async def test_a_5xx_error_event_in_a_stream_is_retried() -> None:
    bad = frame(
        {"event": "error", "status": 500, "code": "internal_server_error", "message": "oops"}
    )
    good = frame(
        {
            "event": "workflow_finished",
            "task_id": "t",
            "workflow_run_id": "r",
            "data": {"status": "succeeded", "outputs": ENHANCEMENT},
        }
    )
    script = Script(sse_response(bad), sse_response(good))
    provider = dify(script, mode="streaming")
    assert (await provider.enhance_message("hi", conversation())).warning_flags == []
    await provider.aclose()
    assert len(script.requests) == 2


async def test_a_stream_that_stops_before_workflow_finished_is_retryable() -> None:
    script = Script(sse_response("event: ping\n\n"))
    provider = dify(script, mode="streaming", attempts=1)
    with pytest.raises(ProviderError) as info:
        await provider.enhance_message("hi", conversation())
    await provider.aclose()
    assert info.value.code == "dify_stream_incomplete"
    assert info.value.retryable


async def test_failed_workflow_run_is_an_error() -> None:
    script = Script(run_blocking({}, status="failed"))
    provider = dify(script)
    with pytest.raises(ProviderError) as info:
        await provider.enhance_message("hi", conversation())
    await provider.aclose()
    assert info.value.code == "dify_workflow_failed"
    assert "LLM node failed" in str(info.value)
    assert len(script.requests) == 1


# ---- errors, retries, timeouts ---------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "code", "retried"),
    [
        (envelope(429, "too_many_requests"), "dify_too_many_requests", True),
        (envelope(429, "rate_limit_error"), "dify_rate_limit_error", False),
        (envelope(400, "provider_quota_exceeded"), "dify_provider_quota_exceeded", False),
        (envelope(400, "provider_not_initialize"), "dify_provider_not_initialize", False),
        (envelope(400, "invalid_param"), "dify_invalid_param", False),
        (envelope(401, "unauthorized"), "dify_unauthorized", False),
        (envelope(500, "internal_server_error"), "dify_internal_server_error", True),
        (httpx.Response(502, text="<html>Bad Gateway</html>"), "dify_502", True),
    ],
)
async def test_error_envelope_mapping_and_which_errors_are_retried(
    response: httpx.Response, code: str, retried: bool
) -> None:
    script = Script(*[response] * 3)
    provider = dify(script, attempts=3)
    with pytest.raises(ProviderError) as info:
        await provider.enhance_message("hi", conversation())
    await provider.aclose()
    assert info.value.code == code
    assert info.value.retryable is retried
    assert len(script.requests) == (3 if retried else 1)


async def test_a_retried_error_followed_by_success() -> None:
    sleeps = Sleeps()
    script = Script(envelope(429, "too_many_requests"), run_blocking(ENHANCEMENT))
    provider = dify(script, sleep=sleeps)
    assert (await provider.enhance_message("hi", conversation())).enhanced_message
    await provider.aclose()
    assert len(script.requests) == 2
    assert len(sleeps.calls) == 1


async def test_network_errors_are_retried() -> None:
    script = Script(httpx.ConnectError("refused"), httpx.ConnectError("refused"))
    provider = dify(script, attempts=2)
    with pytest.raises(ProviderError) as info:
        await provider.enhance_message("hi", conversation())
    await provider.aclose()
    assert (info.value.code, info.value.retryable) == ("network", True)
    assert len(script.requests) == 2


async def test_read_timeout_is_a_retryable_timeout() -> None:
    script = Script(httpx.ReadTimeout("slow"))
    provider = dify(script, attempts=1)
    with pytest.raises(ProviderError) as info:
        await provider.enhance_message("hi", conversation())
    await provider.aclose()
    assert (info.value.code, info.value.retryable) == ("timeout", True)


async def test_a_handler_slower_than_the_total_timeout_times_out() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return run_blocking(ENHANCEMENT)

    script = Script(slow)
    provider = dify(script, total_timeout=0.05)
    started = time.monotonic()
    with pytest.raises(ProviderError) as info:
        await provider.enhance_message("hi", conversation())
    await provider.aclose()
    assert time.monotonic() - started < 2
    assert (info.value.code, info.value.retryable) == ("timeout", True)


@pytest.mark.parametrize(
    "outputs",
    [
        {**ENHANCEMENT, "topic_suggestions": ["only", "two"]},
        {**ENHANCEMENT, "emotion_analysis": "{not json"},
        {"text": "Sorry, I can't help with that."},
    ],
)
async def test_malformed_output_is_invalid_output(outputs: dict[str, Any]) -> None:
    script = Script(run_blocking(outputs))
    provider = dify(script)
    with pytest.raises(ProviderError) as info:
        await provider.enhance_message("hi", conversation())
    await provider.aclose()
    assert info.value.code == "invalid_output"
    assert not info.value.retryable
    assert len(script.requests) == 1


async def test_breaker_opens_after_failures_and_half_opens_after_the_cool_down() -> None:
    now = [0.0]
    breaker = CircuitBreaker("dify", failure_threshold=2, reset_timeout=30, clock=lambda: now[0])
    script = Script(
        envelope(500, "internal_server_error"),
        envelope(500, "internal_server_error"),
        run_blocking(ENHANCEMENT),
    )
    provider = dify(script, attempts=1, breaker=breaker)
    for _ in range(2):
        with pytest.raises(ProviderError):
            await provider.enhance_message("hi", conversation())
    with pytest.raises(ProviderError) as info:
        await provider.enhance_message("hi", conversation())
    assert info.value.code == "circuit_open"
    assert len(script.requests) == 2  # the open breaker sent nothing

    now[0] += 30
    assert breaker.state == "half_open"
    assert (await provider.enhance_message("hi", conversation())).enhanced_message
    assert breaker.state == "closed"
    await provider.aclose()


# ---- chat app --------------------------------------------------------------------------


async def test_suggest_replies_via_chat_app_blocking() -> None:
    answer = "Here you go:\n```json\n" + json.dumps(REPLIES) + "\n```"
    script = Script(chat_blocking(answer))
    provider = dify(script)
    result = await provider.suggest_replies(conversation())
    await provider.aclose()

    assert result == ReplySuggestions.model_validate(REPLIES)
    [request] = script.requests
    assert (request.method, str(request.url)) == (
        "POST",
        "https://api.dify.ai/v1/chat-messages",
    )
    assert request.headers["authorization"] == f"Bearer {CHAT_KEY}"
    body = script.body()
    assert body["inputs"] == {}
    assert body["user"] == "rapport-A"
    assert body["response_mode"] == "blocking"
    assert "JSON Schema" in body["query"] and "suggest_replies" in body["query"]
    assert '"Favourite trail?"' in body["query"]


async def test_chat_app_streaming_concatenates_message_chunks() -> None:
    text = json.dumps(ANALYSIS)
    pieces = [text[i : i + 9] for i in range(0, len(text), 9)]
    stream = (
        "event: ping\n\n"
        + "".join(
            frame(
                {
                    "event": "message",
                    "task_id": "t",
                    "message_id": "m",
                    "conversation_id": "c",
                    "answer": piece,
                    "created_at": 1705398420,
                }
            )
            for piece in pieces
        )
        + frame(
            {
                "event": "message_end",
                "task_id": "t",
                "message_id": "m",
                "conversation_id": "c",
                "metadata": {"usage": {"total_tokens": 10}},
            }
        )
    )
    script = Script(sse_response(stream, chunk=11))
    provider = dify(script, mode="streaming")
    result = await provider.analyze_message("Favourite trail?", None)
    await provider.aclose()
    assert result.sentiment == "positive"
    assert script.body()["response_mode"] == "streaming"
    assert script.body()["user"].startswith("rapport-")


async def test_conversation_health_via_chat_app() -> None:
    script = Script(chat_blocking(json.dumps(HEALTH)))
    provider = dify(script)
    assert (await provider.conversation_health(conversation())).stage == "getting_to_know"
    await provider.aclose()


async def test_without_a_chat_key_chat_capabilities_are_unsupported() -> None:
    script = Script()
    breaker = CircuitBreaker("dify", failure_threshold=1)
    provider = dify(script, chat=False, breaker=breaker)
    for call in (
        provider.suggest_replies(conversation()),
        provider.analyze_message("hi", None),
        provider.conversation_health(conversation()),
    ):
        with pytest.raises(ProviderError) as info:
            await call
        assert info.value.code == "unsupported"
    await provider.aclose()
    assert script.requests == []
    assert breaker.state == "closed"


# ---- identity, configuration -----------------------------------------------------------


async def test_user_is_pseudonymous_never_an_email() -> None:
    script = Script(run_blocking(ENHANCEMENT))
    provider = dify(script, user_prefix="rp-")
    context = conversation(me=profile("alice@example.com"))
    await provider.enhance_message("hi", context)
    await provider.aclose()
    user = script.body()["user"]
    assert user.startswith("rp-") and "@" not in user and "alice" not in user


@pytest.mark.parametrize(
    "base_url",
    ["https://dify.example.org", "https://dify.example.org/v1/", "https://dify.example.org/v1"],
)
async def test_base_url_with_or_without_v1(base_url: str) -> None:
    script = Script(run_blocking(ENHANCEMENT))
    provider = DifyProvider(base_url, {"enhance_message": "k"}, transport=script.transport)
    await provider.enhance_message("hi", conversation())
    await provider.aclose()
    assert str(script.requests[0].url) == "https://dify.example.org/v1/workflows/run"


async def test_long_inputs_are_clipped_to_the_workflow_limits() -> None:
    script = Script(run_blocking(ENHANCEMENT))
    provider = dify(script)
    await provider.enhance_message("x" * 10_000, conversation())
    await provider.aclose()
    assert len(script.body()["inputs"]["message"]) == INPUT_LIMITS["message"]


def test_configuration_is_checked() -> None:
    with pytest.raises(ValueError, match="no Dify workflow"):
        DifyProvider("https://api.dify.ai/v1", {"suggest_replies": "k"})
    with pytest.raises(ValueError, match="blocking or streaming"):
        DifyProvider("https://api.dify.ai/v1", {}, mode="stream")  # type: ignore[arg-type]


async def test_implements_the_provider_protocol() -> None:
    provider: Provider = DifyProvider("https://api.dify.ai/v1", {})
    assert provider.name == "dify"
    await provider.aclose()


async def test_failed_chatflow_run_inside_a_chat_stream_is_an_error() -> None:
    stream = (
        frame({"event": "workflow_started", "task_id": "t", "workflow_run_id": "r", "data": {}})
        + frame({"event": "message", "task_id": "t", "message_id": "m", "answer": "{"})
        + frame(
            {
                "event": "workflow_finished",
                "task_id": "t",
                "workflow_run_id": "r",
                "data": {"status": "failed", "error": "model quota exceeded", "outputs": {}},
            }
        )
        + frame(
            {
                "event": "error",
                "task_id": "t",
                "status": 400,
                "code": "completion_request_error",
                "message": "model quota exceeded",
            }
        )
    )
    script = Script(sse_response(stream))
    provider = dify(script, mode="streaming")
    with pytest.raises(ProviderError) as info:
        await provider.suggest_replies(conversation())
    await provider.aclose()
    assert info.value.code == "dify_workflow_failed"
    assert not info.value.retryable

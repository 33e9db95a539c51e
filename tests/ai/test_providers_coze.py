"""CozeProvider against httpx.MockTransport handlers in Coze's documented shapes: POST /v3/chat
(stream true: ``event:``/``data:`` SSE ending in ``done`` or Coze Studio's
``conversation.stream.done``; stream false: poll GET /v3/chat/retrieve, then GET
/v3/chat/message/list) and errors as HTTP 200 ``{"code": non-zero, "msg"}``."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from rapport.ai.providers.base import Provider, ProviderError
from rapport.ai.providers.coze import COZE_CN, CozeProvider
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
    sse_response,
)

TOKEN = "pat_test_token"
BOT = "7350000000000000001"
CONV = "7400000000000000001"
CHAT_ID = "7400000000000000002"


def coze(script: Script, *, attempts: int = 3, **kwargs: Any) -> CozeProvider:
    options: dict[str, Any] = {
        "retry": RetryPolicy(max_attempts=attempts, base_delay=0.01),
        "sleep": Sleeps(),
    }
    options.update(kwargs)
    return CozeProvider("https://api.coze.com", TOKEN, BOT, transport=script.transport, **options)


def chat(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": CHAT_ID,
        "conversation_id": CONV,
        "bot_id": BOT,
        "created_at": 1718792949,
        "status": status,
        **extra,
    }


def message(content: str, type_: str = "answer", msg_id: str = "m1") -> dict[str, Any]:
    return {
        "id": msg_id,
        "conversation_id": CONV,
        "bot_id": BOT,
        "chat_id": CHAT_ID,
        "role": "assistant",
        "type": type_,
        "content": content,
        "content_type": "text",
    }


def event(name: str, data: Any) -> str:
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"event:{name}\ndata:{payload}\n\n"


def answer_stream(answer: str, *, terminal: str = "done", completed: bool = True) -> str:
    pieces = [answer[i : i + 13] for i in range(0, len(answer), 13)]
    stream = event("conversation.chat.created", chat("created"))
    stream += event("conversation.chat.in_progress", chat("in_progress"))
    stream += "".join(event("conversation.message.delta", message(p)) for p in pieces)
    if completed:
        stream += event("conversation.message.completed", message(answer))
    stream += event(
        "conversation.message.completed",
        message('{"msg_type":"generate_answer_finish","data":""}', "verbose", "m2"),
    )
    stream += event("conversation.message.completed", message("Any trail tips?", "follow_up", "m3"))
    stream += event("conversation.some_future_event", {"whatever": True})
    stream += event(
        "conversation.chat.completed",
        chat("completed", usage={"token_count": 120, "output_count": 80, "input_count": 40}),
    )
    return stream + event(terminal, '"[DONE]"')


def ok(data: Any) -> httpx.Response:
    return httpx.Response(200, json={"code": 0, "msg": "", "data": data})


def coze_error(code: int, msg: str) -> httpx.Response:
    return httpx.Response(
        200,
        json={"code": code, "msg": msg, "detail": {"logid": "20241210152726467C48D89D6DB2F3"}},
        headers={"x-tt-logid": "20241210152726467C48D89D6DB2F3"},
    )


# ---- streaming -------------------------------------------------------------------------


@pytest.mark.parametrize("terminal", ["done", "conversation.stream.done"])
async def test_stream_collects_the_answer_and_accepts_both_terminal_events(
    terminal: str,
) -> None:
    script = Script(sse_response(answer_stream(json.dumps(REPLIES), terminal=terminal)))
    provider = coze(script)
    result = await provider.suggest_replies(conversation())
    await provider.aclose()

    assert result == ReplySuggestions.model_validate(REPLIES)
    [request] = script.requests
    assert (request.method, str(request.url)) == ("POST", "https://api.coze.com/v3/chat")
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    body = script.body()
    assert body["bot_id"] == BOT
    assert body["user_id"] == "rapport-A"
    assert body["stream"] is True
    [question] = body["additional_messages"]
    assert {k: question[k] for k in ("role", "type", "content_type")} == {
        "role": "user",
        "type": "question",
        "content_type": "text",
    }
    assert "Task suggest_replies" in question["content"]
    assert "JSON Schema" in question["content"]


async def test_deltas_alone_suffice_when_no_completed_message_arrives() -> None:
    stream = answer_stream(
        json.dumps(ANALYSIS), terminal="conversation.stream.done", completed=False
    )
    script = Script(sse_response(stream, chunk=3))
    provider = coze(script)
    assert (await provider.analyze_message("hi", None)).language == "en"
    await provider.aclose()


async def test_chat_failed_event_is_an_error() -> None:
    stream = (
        event("conversation.chat.created", chat("created"))
        + event(
            "conversation.chat.failed",
            chat("failed", last_error={"code": 4011, "msg": "insufficient balance"}),
        )
        + event("done", '"[DONE]"')
    )
    script = Script(sse_response(stream))
    provider = coze(script)
    with pytest.raises(ProviderError) as info:
        await provider.suggest_replies(conversation())
    await provider.aclose()
    assert info.value.code == "coze_4011"
    assert not info.value.retryable
    assert "insufficient balance" in str(info.value)
    assert len(script.requests) == 1


async def test_error_event_is_an_error() -> None:
    stream = event("error", {"code": 4000, "msg": "invalid bot_id"})
    script = Script(sse_response(stream))
    provider = coze(script)
    with pytest.raises(ProviderError) as info:
        await provider.suggest_replies(conversation())
    await provider.aclose()
    assert (info.value.code, info.value.retryable) == ("coze_4000", False)


async def test_requires_action_is_unsupported_by_us() -> None:
    stream = event("conversation.chat.requires_action", chat("requires_action"))
    script = Script(sse_response(stream))
    provider = coze(script)
    with pytest.raises(ProviderError) as info:
        await provider.suggest_replies(conversation())
    await provider.aclose()
    assert info.value.code == "coze_chat_requires_action"


async def test_a_stream_cut_before_completion_is_retryable() -> None:
    cut = event("conversation.message.delta", message('{"replies": ['))
    script = Script(sse_response(cut), sse_response(answer_stream(json.dumps(REPLIES))))
    provider = coze(script)
    assert len((await provider.suggest_replies(conversation())).replies) == 3
    await provider.aclose()
    assert len(script.requests) == 2


async def test_unparsable_answer_is_invalid_output() -> None:
    script = Script(sse_response(answer_stream("I'd love to help! Try asking about trails.")))
    provider = coze(script)
    with pytest.raises(ProviderError) as info:
        await provider.suggest_replies(conversation())
    await provider.aclose()
    assert info.value.code == "invalid_output"


# ---- errors ----------------------------------------------------------------------------


async def test_conversation_busy_4016_is_retried() -> None:
    script = Script(
        coze_error(4016, "conversation occupied"),
        sse_response(answer_stream(json.dumps(REPLIES))),
    )
    provider = coze(script)
    assert (await provider.suggest_replies(conversation())).language == "en"
    await provider.aclose()
    assert len(script.requests) == 2


async def test_auth_error_4100_is_not_retried() -> None:
    script = Script(coze_error(4100, "authentication is invalid"))
    provider = coze(script)
    with pytest.raises(ProviderError) as info:
        await provider.suggest_replies(conversation())
    await provider.aclose()
    assert (info.value.code, info.value.retryable) == ("coze_4100", False)
    assert "logid 20241210152726467C48D89D6DB2F3" in str(info.value)
    assert len(script.requests) == 1


@pytest.mark.parametrize(("status", "retried"), [(429, True), (503, True), (401, False)])
async def test_http_errors(status: int, retried: bool) -> None:
    script = Script(*[httpx.Response(status, text="nope")] * 2)
    provider = coze(script, attempts=2)
    with pytest.raises(ProviderError) as info:
        await provider.suggest_replies(conversation())
    await provider.aclose()
    assert (info.value.code, info.value.retryable) == (f"coze_{status}", retried)
    assert len(script.requests) == (2 if retried else 1)


async def test_read_timeout_is_a_retryable_timeout() -> None:
    script = Script(httpx.ReadTimeout("slow"), httpx.ReadTimeout("slow"))
    provider = coze(script, attempts=2)
    with pytest.raises(ProviderError) as info:
        await provider.suggest_replies(conversation())
    await provider.aclose()
    assert (info.value.code, info.value.retryable) == ("timeout", True)
    assert len(script.requests) == 2


# ---- polling ---------------------------------------------------------------------------


def poll_script(final: dict[str, Any], messages: list[dict[str, Any]]) -> Script:
    def expect(method: str, path: str, reply: httpx.Response) -> Callable[[httpx.Request], Any]:
        def check(request: httpx.Request) -> httpx.Response:
            assert (request.method, request.url.path) == (method, path)
            assert request.headers["authorization"] == f"Bearer {TOKEN}"
            if method == "GET":
                assert dict(request.url.params) == {"conversation_id": CONV, "chat_id": CHAT_ID}
            return reply

        return check

    return Script(
        expect("POST", "/v3/chat", ok(chat("created"))),
        expect("GET", "/v3/chat/retrieve", ok(chat("in_progress"))),
        expect("GET", "/v3/chat/retrieve", ok(final)),
        expect("GET", "/v3/chat/message/list", ok(messages)),
    )


async def test_poll_mode_posts_then_gets_retrieve_and_message_list() -> None:
    messages = [
        message("Let me think", "verbose", "m0"),
        message(json.dumps(HEALTH)),
        message("Ask about weekend plans?", "follow_up", "m3"),
    ]
    script = poll_script(chat("completed"), messages)
    sleeps = Sleeps()
    provider = CozeProvider(
        COZE_CN,
        TOKEN,
        BOT,
        mode="poll",
        poll_interval=0.5,
        transport=script.transport,
        sleep=sleeps,
    )
    result = await provider.conversation_health(conversation(language="zh"))
    await provider.aclose()

    assert result.intervention == "deepen"
    assert str(script.requests[0].url) == "https://api.coze.cn/v3/chat"
    assert script.body(0)["stream"] is False
    assert sleeps.calls == [0.5, 0.5]
    assert "Simplified Chinese" in script.body(0)["additional_messages"][0]["content"]


async def test_poll_mode_failed_chat_is_an_error() -> None:
    failed = chat("failed", last_error={"code": 4016, "msg": "conversation occupied"})
    script = poll_script(failed, [])
    script.steps.pop()  # no message list for a failed chat
    provider = coze(script, mode="poll", attempts=1)
    with pytest.raises(ProviderError) as info:
        await provider.suggest_replies(conversation())
    await provider.aclose()
    assert (info.value.code, info.value.retryable) == ("coze_4016", True)


async def test_poll_mode_error_code_in_a_200_body() -> None:
    script = Script(coze_error(4100, "authentication is invalid"))
    provider = coze(script, mode="poll")
    with pytest.raises(ProviderError) as info:
        await provider.suggest_replies(conversation())
    await provider.aclose()
    assert info.value.code == "coze_4100"
    assert len(script.requests) == 1


# ---- every capability goes through the bot ---------------------------------------------


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
    script = Script(sse_response(answer_stream("```json\n" + json.dumps(answer) + "\n```")))
    provider = coze(script)
    calls: dict[str, Callable[[], Awaitable[BaseModel]]] = {
        "analyze_message": lambda: provider.analyze_message("hi", conversation()),
        "suggest_replies": lambda: provider.suggest_replies(conversation()),
        "icebreaker": lambda: provider.icebreaker(profile("A"), profile("B"), "hiking"),
        "enhance_message": lambda: provider.enhance_message("hi", conversation()),
        "conversation_health": lambda: provider.conversation_health(conversation()),
    }
    result = await calls[capability]()
    await provider.aclose()
    assert result.model_dump(mode="json") == type(result).model_validate(answer).model_dump(
        mode="json"
    )
    assert f"Task {capability}" in script.body()["additional_messages"][0]["content"]


def test_configuration_is_checked() -> None:
    with pytest.raises(ValueError, match="token"):
        CozeProvider("https://api.coze.com", "", BOT)
    with pytest.raises(ValueError, match="stream or poll"):
        CozeProvider("https://api.coze.com", TOKEN, BOT, mode="blocking")  # type: ignore[arg-type]


async def test_implements_the_provider_protocol() -> None:
    provider: Provider = CozeProvider("http://localhost:8888", TOKEN, BOT)
    assert provider.name == "coze"
    await provider.aclose()

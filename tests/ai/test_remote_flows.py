"""The same flows with a remote provider behind a mock server: its answers are used when
valid, and the local provider answers when it is slow, down or talks nonsense."""

from __future__ import annotations

import asyncio
import json

import httpx
from sqlalchemy import select

from rapport.ai import tasks as ai_tasks
from rapport.ai.models import AIResult
from rapport.ai.providers.coze import CozeProvider
from rapport.ai.providers.dify import DifyProvider
from rapport.ai.providers.openai_compat import OpenAICompatProvider
from rapport.ai.router import AIRouter
from rapport.runtime import Runtime
from tests.ai import ICEBREAKER, REPLIES, sse_response
from tests.ai.test_providers_coze import answer_stream
from tests.factories import create_pair, match


def openai_answering(content: str) -> httpx.MockTransport:
    async def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path.endswith("/chat/completions")
        return httpx.Response(
            200,
            json={
                "id": "c1",
                "object": "chat.completion",
                "created": 1,
                "model": "m",
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "logprobs": None,
                        "message": {"role": "assistant", "content": content},
                    }
                ],
            },
        )

    return httpx.MockTransport(handler)


def silent(seconds: float) -> httpx.MockTransport:
    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(seconds)
        return httpx.Response(504)

    return httpx.MockTransport(handler)


async def test_openai_replies_are_used(client: httpx.AsyncClient, rt: Runtime) -> None:
    provider = OpenAICompatProvider(
        "https://llm.test/v1", "k", "m", transport=openai_answering(json.dumps(REPLIES))
    )
    rt.ai = AIRouter({"replies": provider}, timeout_s=5)
    a, b = await create_pair(client)
    conv = (await match(client, a, b))["conversation_id"]
    r = await client.post(f"/api/v1/conversations/{conv}/ai/suggestions", headers=a.headers)
    assert [x["text"] for x in r.json()["replies"]] == [x["text"] for x in REPLIES["replies"]]


async def test_coze_replies_are_used(client: httpx.AsyncClient, rt: Runtime) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v3/chat"
        return sse_response(answer_stream(json.dumps(REPLIES), terminal="conversation.stream.done"))

    provider = CozeProvider(
        "https://api.coze.cn", "pat_x", "bot1", transport=httpx.MockTransport(handler)
    )
    rt.ai = AIRouter({"replies": provider}, timeout_s=5)
    a, b = await create_pair(client)
    conv = (await match(client, a, b))["conversation_id"]
    r = await client.post(f"/api/v1/conversations/{conv}/ai/suggestions", headers=a.headers)
    assert r.json()["replies"][1]["text"] == REPLIES["replies"][1]["text"]


async def test_dify_icebreaker_on_match(
    client: httpx.AsyncClient, rt: Runtime, session: object
) -> None:
    seen: list[dict[str, object]] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/workflows/run"
        body = json.loads(request.content)
        seen.append(body)
        return httpx.Response(
            200,
            json={
                "task_id": "t",
                "workflow_run_id": "r",
                "data": {
                    "id": "r",
                    "workflow_id": "w",
                    "status": "succeeded",
                    "error": None,
                    "outputs": ICEBREAKER,
                    "elapsed_time": 0.4,
                    "total_tokens": 10,
                    "total_steps": 3,
                    "created_at": 1,
                    "finished_at": 2,
                },
            },
        )

    dify = DifyProvider(
        "https://dify.test", {"icebreaker": "app-key"}, transport=httpx.MockTransport(handler)
    )
    rt.ai = AIRouter({"icebreaker": dify}, timeout_s=5)
    ai_tasks.install(rt)
    a, b = await create_pair(client)
    m = await match(client, a, b)
    await rt.bus.drain()
    assert len(seen) == 2 and all(body["user"].startswith("rapport-") for body in seen)
    assert "@" not in json.dumps(seen)  # no email leaves the server
    r = await client.get(
        f"/api/v1/conversations/{m['conversation_id']}/ai/icebreaker", headers=a.headers
    )
    assert r.json()["icebreaker"]["opening_lines"] == ICEBREAKER["opening_lines"]
    providers = set(await session.scalars(select(AIResult.provider)))
    assert providers == {"dify"}


async def test_slow_or_garbled_remote_falls_back_to_local(
    client: httpx.AsyncClient, rt: Runtime
) -> None:
    a, b = await create_pair(client)
    conv = (await match(client, a, b))["conversation_id"]
    for transport in (silent(2.0), openai_answering("not json at all")):
        provider = OpenAICompatProvider("https://llm.test/v1", "k", "m", transport=transport)
        rt.ai = AIRouter({"replies": provider}, timeout_s=0.5)
        r = await client.post(f"/api/v1/conversations/{conv}/ai/suggestions", headers=a.headers)
        assert r.status_code == 200
        texts = [x["text"] for x in r.json()["replies"]]
        assert len(texts) == 3 and texts != [x["text"] for x in REPLIES["replies"]]

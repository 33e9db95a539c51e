"""AI flows end to end through the API and the event bus."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.ai import service
from rapport.ai import tasks as ai_tasks
from rapport.ai.providers.local import LocalProvider
from rapport.ai.router import FALLBACKS, AIRouter
from rapport.events.schemas import DomainEvent
from rapport.kit.clock import FrozenClock, set_clock
from rapport.moderation.models import Report
from rapport.runtime import Runtime
from tests.factories import create_pair, create_user, match

Recorder = Callable[[str], list[DomainEvent]]


def ai(conv: str, what: str) -> str:
    return f"/api/v1/conversations/{conv}/ai/{what}"


async def settle(rt: Runtime) -> None:
    await rt.bus.drain()
    await rt.analysis.drain()
    await rt.bus.drain()


async def test_match_gives_each_member_an_icebreaker(
    client: httpx.AsyncClient, rt: Runtime, record_events: Recorder
) -> None:
    ai_tasks.install(rt)
    pushed = record_events("ai.icebreaker")
    a, b = await create_pair(client)  # both like hiking, jazz, hotpot
    m = await match(client, a, b)
    await settle(rt)
    assert sorted(e.data["recipients"][0] for e in pushed) == sorted([str(a.id), str(b.id)])
    r = await client.get(ai(m["conversation_id"], "icebreaker"), headers=a.headers)
    ice = r.json()["icebreaker"]
    assert {"Hiking", "Jazz", "Hotpot"} & set(ice["shared_interests"])
    assert len(ice["opening_lines"]) >= 2


async def test_help_returns_three_replies_and_marks_unchanged_sends(
    client: httpx.AsyncClient, rt: Runtime
) -> None:
    a, b = await create_pair(client)
    conv = (await match(client, a, b))["conversation_id"]
    await client.post(
        f"/api/v1/conversations/{conv}/messages",
        headers=b.headers,
        json={"client_msg_id": uuid.uuid4().hex, "body": "你周末一般做什么？"},
    )
    r = await client.post(ai(conv, "suggestions"), headers=a.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["language"] == "zh" and len(body["replies"]) == 3
    pick = body["replies"][1]["text"]
    sent = await client.post(
        f"/api/v1/conversations/{conv}/messages",
        headers=a.headers,
        json={"client_msg_id": uuid.uuid4().hex, "body": pick, "ai_suggestion": True},
    )
    assert sent.json()["ai_assisted"] is True
    edited = await client.post(
        f"/api/v1/conversations/{conv}/messages",
        headers=a.headers,
        json={"client_msg_id": uuid.uuid4().hex, "body": pick + "!", "ai_suggestion": True},
    )
    assert edited.json()["ai_assisted"] is False


async def test_scam_message_warns_recipient_and_queues_review(
    client: httpx.AsyncClient, rt: Runtime, session: AsyncSession, record_events: Recorder
) -> None:
    ai_tasks.install(rt)
    warnings = record_events("safety.warning")
    a, b = await create_pair(client)
    conv = (await match(client, a, b))["conversation_id"]
    # The test shares one connection between all sessions: let the icebreakers finish first.
    await settle(rt)
    r = await client.post(
        f"/api/v1/conversations/{conv}/messages",
        headers=a.headers,
        json={"client_msg_id": uuid.uuid4().hex, "body": "加我微信 xxx，带你投资赚钱"},
    )
    await settle(rt)
    assert len(warnings) == 1
    warning = warnings[0].data
    assert warning["recipients"] == [str(b.id)]
    assert {"scam", "off_platform_contact"} <= set(warning["payload"]["flags"])
    assert warning["payload"]["message_id"] == r.json()["id"]
    reports = (await session.scalars(select(Report).where(Report.reported_user_id == a.id))).all()
    assert len(reports) == 1 and reports[0].reason.startswith("auto:")
    assert reports[0].evidence["messages"][0]["id"] == r.json()["id"]


async def test_opt_out_and_membership(client: httpx.AsyncClient) -> None:
    a, b = await create_pair(client)
    conv = (await match(client, a, b))["conversation_id"]
    eve = await create_user(client, display_name="Eve")
    for what in ("suggestions",):
        r = await client.post(ai(conv, what), headers=eve.headers)
        assert r.status_code == 404
    await client.patch("/api/v1/me/settings", json={"ai_enabled": False}, headers=a.headers)
    r = await client.post(ai(conv, "suggestions"), headers=a.headers)
    assert r.status_code == 403 and r.json()["code"] == "ai_disabled"


class Broken:
    """A remote provider that fails in every way a network service can."""

    name = "broken"

    def __init__(self, mode: str) -> None:
        self.mode = mode

    async def _fail(self) -> Any:
        if self.mode == "slow":
            await asyncio.sleep(5)
        raise RuntimeError("upstream exploded")

    async def analyze_message(self, *a: Any) -> Any:
        return await self._fail()

    async def suggest_replies(self, *a: Any) -> Any:
        return await self._fail()

    async def icebreaker(self, *a: Any) -> Any:
        return await self._fail()

    async def enhance_message(self, *a: Any) -> Any:
        return await self._fail()

    async def conversation_health(self, *a: Any) -> Any:
        return await self._fail()

    async def aclose(self) -> None:
        return None


async def test_remote_failure_falls_back_to_local_and_is_counted(
    client: httpx.AsyncClient, rt: Runtime
) -> None:
    a, b = await create_pair(client)
    conv = (await match(client, a, b))["conversation_id"]
    for mode, reason in (("error", "RuntimeError"), ("slow", "timeout")):
        broken = Broken(mode)
        rt.ai = AIRouter({"replies": broken}, LocalProvider(), timeout_s=0.2)  # type: ignore[dict-item]
        before = FALLBACKS.labels("replies", "broken", reason)._value.get()
        r = await client.post(ai(conv, "suggestions"), headers=a.headers)
        assert r.status_code == 200 and len(r.json()["replies"]) == 3
        assert FALLBACKS.labels("replies", "broken", reason)._value.get() == before + 1


async def test_enhance_and_health(client: httpx.AsyncClient) -> None:
    a, b = await create_pair(client)
    conv = (await match(client, a, b))["conversation_id"]
    r = await client.post(ai(conv, "enhance"), headers=a.headers, json={"draft": "i like jazz"})
    assert r.status_code == 200
    assert r.json()["enhanced_message"].startswith("I like jazz.")
    h = await client.get(ai(conv, "health"), headers=a.headers)
    assert h.status_code == 200 and h.json()["stage"] == "opening"


async def test_stalled_question_gets_one_coach_nudge(
    client: httpx.AsyncClient, rt: Runtime, record_events: Recorder
) -> None:
    nudges = record_events("ai.coach")
    a, b = await create_pair(client)
    conv = (await match(client, a, b))["conversation_id"]
    previous = set_clock(FrozenClock(datetime.now(UTC) - timedelta(hours=30)))
    try:
        await client.post(
            f"/api/v1/conversations/{conv}/messages",
            headers=a.headers,
            json={"client_msg_id": uuid.uuid4().hex, "body": "What's your favourite hiking trail?"},
        )
    finally:
        set_clock(previous)
    window = timedelta(hours=12)
    assert await service.coach_stalled(rt.sessionmaker, rt.ai, timedelta(hours=24), window) == 1
    await rt.bus.drain()
    assert nudges[0].data["recipients"] == [str(b.id)]
    assert nudges[0].data["payload"]["reason"] == "stalled" and nudges[0].data["payload"]["topics"]
    # Scanning again (or from another node) sends nothing new.
    assert await service.coach_stalled(rt.sessionmaker, rt.ai, timedelta(hours=24), window) == 0


async def test_negative_trend_brings_private_advice(
    client: httpx.AsyncClient, rt: Runtime, record_events: Recorder
) -> None:
    ai_tasks.install(rt)
    coach = record_events("ai.coach")
    a, b = await create_pair(client)
    conv = (await match(client, a, b))["conversation_id"]
    await settle(rt)
    lines = [
        (a, "I had such a wonderful time, thank you! 😊"),
        (b, "Me too, that was really great!"),
        (a, "Honestly I'm upset and annoyed now."),
        (b, "This is terrible, I'm so sad."),
    ]
    for who, text in lines:
        await client.post(
            f"/api/v1/conversations/{conv}/messages",
            headers=who.headers,
            json={"client_msg_id": uuid.uuid4().hex, "body": text},
        )
        await settle(rt)
    advice = [e for e in coach if e.data["payload"]["reason"] == "negative_trend"]
    assert sorted(e.data["recipients"][0] for e in advice) == sorted([str(a.id), str(b.id)])
    assert all(e.data["payload"]["topics"] for e in advice)

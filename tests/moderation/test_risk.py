"""Conversation risk over a whole conversation, and copy-pasted openers (after delivery)."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.config import Settings
from rapport.moderation import risk
from rapport.moderation import tasks as moderation_tasks
from rapport.moderation.models import ConversationRisk, Report
from rapport.runtime import Runtime
from tests.conftest import make_settings
from tests.factories import create_user, match
from tests.moderation.helpers import chatting_pair, send, staff


@pytest.fixture
def settings() -> Settings:
    return make_settings(moderation_opener_max_repeats=2)


@pytest.fixture
def queue(rt: Runtime) -> moderation_tasks.RiskQueue:
    """The after-delivery worker, driven by hand: in tests every session shares one
    connection, so nothing may run concurrently with a request."""
    risk_queue = moderation_tasks.RiskQueue(rt)
    rt.bus.subscribe_sync("message.created", risk_queue.on_message)
    return risk_queue


async def settle(rt: Runtime, queue: moderation_tasks.RiskQueue) -> None:
    await rt.bus.drain()
    batch = []
    while not queue.queue.empty():
        batch.append(queue.queue.get_nowait())
    await queue.process(batch)
    await rt.bus.drain()


def test_score_weighs_kinds_and_stages() -> None:
    assert risk.score({}) == 0
    assert risk.score({"romance": 1}) == 6
    assert risk.score({"finance": 3}) == 20  # repeats count less: 10 × (1 + 0.5 × 2)
    assert risk.score({"finance": 9}) == 20  # and are capped
    pig_butchering = {"romance": 1, "finance": 2, "scam": 1, "contact": 1}
    assert risk.score(pig_butchering) == 6 + 15 + 30 + 10 + 30
    assert risk.score({"scam": 3, "money": 3, "finance": 3, "contact": 3, "urgency": 3}) == 100


async def test_scam_sequence_raises_risk_and_flags_the_conversation(
    client: httpx.AsyncClient,
    rt: Runtime,
    session: AsyncSession,
    queue: moderation_tasks.RiskQueue,
) -> None:
    a, b, conv = await chatting_pair(client)
    lines = [
        (a, "你好呀，亲爱的，认识你真开心"),
        (b, "你好！你平时做什么工作？"),
        (a, "我在做比特币投资，我叔叔是交易所的"),
        (b, "哇，听起来很厉害"),
        (a, "这个平台收益很高，我可以带你一起赚钱"),
    ]
    for who, text in lines:
        assert (await send(client, conv, who, text)).status_code == 201
    await settle(rt, queue)
    row = await session.get(ConversationRisk, uuid.UUID(conv))
    assert row is not None and row.score >= rt.settings.moderation_risk_threshold
    assert row.flagged_at is not None
    report = await session.get(Report, row.report_id)
    assert report is not None and report.reason == "auto:conversation_risk"
    assert report.reported_user_id == a.id and report.priority == 1
    assert [m["body"] for m in report.evidence["messages"]] == [t for _, t in lines]
    moderator = await staff(client, rt, "moderator")
    seen = await client.get(f"/api/v1/admin/conversations/{conv}/risk", headers=moderator.headers)
    assert seen.json()["score"] == row.score
    assert set(seen.json()["signals"]["senders"]) == {str(a.id)}
    # More of the same does not queue the conversation again.
    await send(client, conv, a, "快点充值，名额有限")
    await settle(rt, queue)
    flagged = await session.scalars(
        select(Report).where(
            Report.reason == "auto:conversation_risk", Report.reported_user_id == a.id
        )
    )
    assert len(flagged.all()) == 1


async def test_ordinary_money_talk_stays_below_the_threshold(
    client: httpx.AsyncClient,
    rt: Runtime,
    session: AsyncSession,
    queue: moderation_tasks.RiskQueue,
) -> None:
    a, b, conv = await chatting_pair(client)
    for who, text in [
        (a, "我在银行做投资分析，有点累"),
        (b, "辛苦啦，周末去爬山放松一下？"),
        (a, "好呀，我们加个微信方便约时间"),
    ]:
        await send(client, conv, who, text)
    await settle(rt, queue)
    row = await session.get(ConversationRisk, uuid.UUID(conv))
    assert row is not None and row.score < rt.settings.moderation_risk_threshold
    assert row.flagged_at is None


async def test_copy_pasted_opener_to_many_matches_is_flagged(
    client: httpx.AsyncClient,
    rt: Runtime,
    session: AsyncSession,
    queue: moderation_tasks.RiskQueue,
) -> None:
    spammer = await create_user(client, display_name="Spam")
    opener = "Hey gorgeous, you look amazing, tell me about your dreams!"
    for i in range(3):
        peer = await create_user(
            client,
            display_name=f"Peer {i}",
            gender="man",
            seeking={"genders": ["woman"], "age_min": 25, "age_max": 40},
        )
        conv = str((await match(client, spammer, peer))["conversation_id"])
        # Small changes in case and spacing do not make it a different opener.
        text = opener.upper() if i == 1 else opener.replace(" ", "  ")
        assert (await send(client, conv, spammer, text)).status_code == 201
    await settle(rt, queue)
    reports = await session.scalars(
        select(Report).where(
            Report.reported_user_id == spammer.id, Report.reason == "auto:copy_paste_opener"
        )
    )
    assert len(reports.all()) == 1


async def test_plain_replies_are_scored_without_a_transaction(
    client: httpx.AsyncClient,
    rt: Runtime,
    session: AsyncSession,
    queue: moderation_tasks.RiskQueue,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worker sees every delivered message; only a signal or a first message (the
    copy-paste check) is worth a transaction."""
    a, b, conv = await chatting_pair(client)
    await send(client, conv, a, "Hi! How was the hike?")
    await send(client, conv, b, "Great, thanks")
    await settle(rt, queue)
    opened: list[int] = []
    real = moderation_tasks.transaction

    def counting(factory):  # type: ignore[no-untyped-def]
        opened.append(1)
        return real(factory)

    monkeypatch.setattr(moderation_tasks, "transaction", counting)
    for text in ("Same here, see you Saturday", "Bring snacks"):
        await send(client, conv, a, text)
    await settle(rt, queue)
    assert opened == []
    # contact: a signal, recorded (sent through the "Are you sure?" nudge)
    assert (await send(client, conv, a, "加我微信聊吧", confirm=True)).status_code == 201
    await settle(rt, queue)
    assert opened == [1]
    row = await session.get(ConversationRisk, uuid.UUID(conv))
    assert row is not None and row.signals["senders"][str(a.id)]["counts"] == {"contact": 1}

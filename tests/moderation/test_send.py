"""Moderation on the message path over REST: the contact policy, "Are you sure?", masking,
warnings and reports, sanctions and trust limits."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.chat import service as chat
from rapport.chat.schemas import MessageOut, MessageSend
from rapport.config import Settings
from rapport.events.schemas import DomainEvent
from rapport.moderation.gate import ConfirmRequired, ContentBlocked
from rapport.moderation.models import ModeratedMessage, Report
from rapport.runtime import Runtime
from tests.conftest import make_settings
from tests.factories import create_user, match
from tests.moderation.helpers import chatting_pair, history, sanction, send, staff

Recorder = Callable[[str], list[DomainEvent]]


@pytest.fixture
def settings() -> Settings:
    return make_settings(
        moderation_contact_early_messages=3,
        trust_new_first_messages_per_hour=3,
        moderation_limited_send_burst=2,
    )


async def test_wechat_id_in_the_first_exchange_is_blocked_then_nudged(
    client: httpx.AsyncClient,
) -> None:
    a, b, conv = await chatting_pair(client)
    r = await send(client, conv, a, "我的微信 xiaomei_88 加我")
    assert r.status_code == 422
    problem = r.json()
    assert problem["code"] == "content_blocked"
    assert problem["reasons"] == [{"category": "contact", "label": "Moving off Rapport"}]
    assert await history(client, conv, a) == []  # nothing stored
    for who, text in ((a, "hi!"), (b, "hey, how was your day?"), (a, "great, went hiking")):
        assert (await send(client, conv, who, text)).status_code == 201
    later = await send(client, conv, a, "我的微信 xiaomei_88 加我", client_msg_id="wx-later-1")
    assert later.status_code == 409 and later.json()["code"] == "confirm_required"
    confirmed = await send(
        client, conv, a, "我的微信 xiaomei_88 加我", client_msg_id="wx-later-1", confirm=True
    )
    assert confirmed.status_code == 201


async def test_a_mention_without_an_id_is_delivered_with_a_warning(
    client: httpx.AsyncClient, rt: Runtime, record_events: Recorder
) -> None:
    warnings = record_events("safety.warning")
    a, b, conv = await chatting_pair(client)
    r = await send(client, conv, a, "我们可以加微信吗？")
    assert r.status_code == 201
    await rt.bus.drain()
    assert [w.data["payload"]["categories"] for w in warnings] == [["contact"]]
    assert warnings[0].data["recipients"] == [str(b.id)]


async def test_are_you_sure_then_confirm_delivers_and_counts(
    client: httpx.AsyncClient, rt: Runtime, session: AsyncSession, record_events: Recorder
) -> None:
    warnings = record_events("safety.warning")
    a, b, conv = await chatting_pair(client)
    await send(client, conv, b, "hi there")
    first = await send(client, conv, a, "you're so stupid", client_msg_id="nudge-0001")
    assert first.status_code == 409
    body = first.json()
    assert body["code"] == "confirm_required" and body["status"] == 409
    assert body["reasons"] == [{"category": "abuse", "label": "Insulting or harassing language"}]
    assert [m["body"] for m in await history(client, conv, b)] == ["hi there"]
    sent = await send(client, conv, a, "you're so stupid", client_msg_id="nudge-0001", confirm=True)
    assert sent.status_code == 201
    message = sent.json()
    row = await session.get(ModeratedMessage, uuid.UUID(message["id"]))
    assert row is not None and row.actions == ["confirmed"] and row.categories == ["abuse"]
    # The recipient is asked "Does this bother you?" and can report that exact message.
    await rt.bus.drain()
    (warning,) = warnings
    assert warning.data["recipients"] == [str(b.id)]
    assert warning.data["payload"]["message_id"] == message["id"]
    assert warning.data["payload"]["prompt"] == "does_this_bother_you"
    report = await client.post(
        "/api/v1/reports",
        headers=b.headers,
        json={"user_id": str(a.id), "reason": "harassment", "message_ids": [message["id"]]},
    )
    assert report.status_code == 201, report.text
    stored = await session.get(Report, uuid.UUID(report.json()["id"]))
    assert stored is not None
    assert [m["id"] for m in stored.evidence["messages"] if m["reported"]] == [message["id"]]
    # A retry without the flag answers with the stored message, not with a new question.
    again = await send(client, conv, a, "you're so stupid", client_msg_id="nudge-0001")
    assert again.status_code == 200 and again.json()["id"] == message["id"]


async def test_blocked_categories_store_nothing(client: httpx.AsyncClient) -> None:
    a, b, conv = await chatting_pair(client)
    r = await send(client, conv, a, "I will kill you")
    assert r.status_code == 422 and r.json()["reasons"][0]["category"] == "violence"
    assert await history(client, conv, b) == []


async def test_flagged_message_is_delivered_and_queued(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    a, b, conv = await chatting_pair(client)
    r = await send(client, conv, a, "稳赚不赔的投资平台，带你赚钱")
    assert r.status_code == 201
    reports = (await session.scalars(select(Report).where(Report.reported_user_id == a.id))).all()
    assert [(x.reason, x.priority, str(x.conversation_id)) for x in reports] == [
        ("auto:scam", 1, conv)
    ]


async def test_mask_action_rewrites_the_message(client: httpx.AsyncClient, rt: Runtime) -> None:
    admin = await staff(client, rt, "admin")
    r = await client.put(
        "/api/v1/admin/moderation/categories/abuse", headers=admin.headers, json={"action": "mask"}
    )
    assert r.status_code == 200 and r.json()["action"] == "mask"
    a, b, conv = await chatting_pair(client)
    sent = await send(client, conv, a, "well fuck you then")
    assert sent.status_code == 201 and sent.json()["body"] == "well **** *** then"
    assert [m["body"] for m in await history(client, conv, b)] == ["well **** *** then"]


async def test_shadow_ban_reaches_no_one_silently(
    client: httpx.AsyncClient, rt: Runtime, record_events: Recorder
) -> None:
    created = record_events("message.created")
    admin = await staff(client, rt, "admin")
    a, b, conv = await chatting_pair(client)
    await send(client, conv, b, "hello")
    await sanction(client, admin, a, "shadow_ban")
    r = await send(client, conv, a, "hi, nice to meet you")
    assert r.status_code == 201  # a normal ack
    assert [m["body"] for m in await history(client, conv, a)] == [
        "hello",
        "hi, nice to meet you",
    ]
    assert [m["body"] for m in await history(client, conv, b)] == ["hello"]
    mine = (await client.get("/api/v1/conversations", headers=b.headers)).json()
    assert mine[0]["last_message"]["body"] == "hello" and mine[0]["unread_count"] == 0
    await rt.bus.drain()
    assert created[-1].data["recipients"] == [str(a.id)]
    # Never shown to the user; others no longer see them in their match list.
    standing = (await client.get("/api/v1/me/standing", headers=a.headers)).json()
    assert standing["level"] is None
    assert (await client.get("/api/v1/matches", headers=b.headers)).json() == []


async def test_mute_stops_new_chats_not_replies(client: httpx.AsyncClient, rt: Runtime) -> None:
    admin = await staff(client, rt, "admin")
    a, b, conv = await chatting_pair(client)
    assert (await send(client, conv, a, "hello")).status_code == 201
    c = await create_user(client, display_name="Cat", gender="man", birth_date="1994-01-01")
    c_conv = str((await match(client, a, c))["conversation_id"])
    await sanction(client, admin, a, "mute")
    assert (await send(client, conv, a, "still here")).status_code == 201
    refused = await send(client, c_conv, a, "hi Cat")
    assert refused.status_code == 403 and refused.json()["code"] == "muted"
    d = await create_user(client, display_name="Dan", gender="man", birth_date="1992-01-01")
    like = await client.post(f"/api/v1/users/{d.id}/like", headers=a.headers)
    assert like.status_code == 403 and like.json()["code"] == "muted"
    standing = (await client.get("/api/v1/me/standing", headers=a.headers)).json()
    assert standing["level"] == "mute" and standing["can_start_chats"] is False


async def test_rate_limit_sanction_slows_sends(client: httpx.AsyncClient, rt: Runtime) -> None:
    admin = await staff(client, rt, "admin")
    a, _, conv = await chatting_pair(client)
    assert (await send(client, conv, a, "one")).status_code == 201
    await sanction(client, admin, a, "rate_limit")
    codes = [(await send(client, conv, a, f"message {i}")).status_code for i in range(3)]
    assert codes == [201, 201, 429]


async def test_trust_limits_new_conversations(client: httpx.AsyncClient, rt: Runtime) -> None:
    a = await create_user(client, display_name="Ann")
    convs = []
    for i in range(4):
        peer = await create_user(
            client,
            display_name=f"Peer {i}",
            gender="man",
            seeking={"genders": ["woman"], "age_min": 25, "age_max": 40},
        )
        convs.append(str((await match(client, a, peer))["conversation_id"]))
    codes = [(await send(client, c, a, "hello there")).status_code for c in convs]
    assert codes == [201, 201, 201, 429]
    refused = await send(client, convs[3], a, "hello there")
    assert refused.json()["code"] == "trust_limit"
    assert (await send(client, convs[0], a, "second message")).status_code == 201
    admin = await staff(client, rt, "admin")
    r = await client.put(
        f"/api/v1/admin/users/{a.id}/verification", headers=admin.headers, json={"verified": True}
    )
    assert r.status_code == 200 and r.json()["verified_at"]
    standing = (await client.get("/api/v1/me/standing", headers=a.headers)).json()
    assert standing["trust_tier"] == "verified"


async def test_profile_text_is_screened(client: httpx.AsyncClient, session: AsyncSession) -> None:
    a = await create_user(client, display_name="Ann")
    r = await client.patch(
        "/api/v1/me", headers=a.headers, json={"bio": "no time here, add my wechat: anna_1990"}
    )
    assert r.status_code == 422 and r.json()["reasons"][0]["category"] == "contact"
    r = await client.patch("/api/v1/me", headers=a.headers, json={"display_name": "傻逼"})
    assert r.status_code == 422 and r.json()["code"] == "content_blocked"
    me = (await client.get("/api/v1/me", headers=a.headers)).json()
    assert me["display_name"] == "Ann" and "wechat" not in me["bio"]
    r = await client.patch("/api/v1/me", headers=a.headers, json={"bio": "稳赚不赔，带你赚钱"})
    assert r.status_code == 200
    reports = (await session.scalars(select(Report).where(Report.reported_user_id == a.id))).all()
    assert [x.reason for x in reports] == ["auto:scam"]
    assert reports[0].evidence["profile"]["bio"] == "稳赚不赔，带你赚钱"


async def test_batched_sends_take_the_gate(client: httpx.AsyncClient, rt: Runtime) -> None:
    a, b, conv = await chatting_pair(client)
    await send(client, conv, a, "warming up")
    await send(client, conv, b, "hello")
    conv_id = uuid.UUID(conv)
    items = [
        (a.id, conv_id, MessageSend(client_msg_id="batch-plain-1", body="plain message")),
        (a.id, conv_id, MessageSend(client_msg_id="batch-nudge-1", body="you're so stupid")),
        (a.id, conv_id, MessageSend(client_msg_id="batch-block-1", body="I will kill you")),
        (
            a.id,
            conv_id,
            MessageSend(client_msg_id="batch-nudge-2", body="you're so stupid", confirm=True),
        ),
    ]
    async with rt.sessionmaker() as session:
        results = await chat.send_batch(session, items)
        await session.commit()
    assert isinstance(results[0], MessageOut)
    assert isinstance(results[1], ConfirmRequired)
    assert isinstance(results[2], ContentBlocked)
    assert isinstance(results[3], MessageOut)
    assert [m["body"] for m in await history(client, conv, b)][-2:] == [
        "plain message",
        "you're so stupid",
    ]

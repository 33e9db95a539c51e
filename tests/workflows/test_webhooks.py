"""Outbox → signed webhooks, end to end against a real local receiver (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select

from rapport.events.models import OutboxEvent
from rapport.kit.clock import FrozenClock, set_clock
from rapport.kit.db import transaction
from rapport.runtime import Runtime
from rapport.workflows.dispatcher import Dispatcher
from rapport.workflows.models import WebhookDelivery
from tests.factories import create_pair, match
from tests.workflows.conftest import make_admin, subscribe
from tests.workflows.receiver import Receiver


async def drain(d: Dispatcher, rounds: int = 20) -> None:
    for _ in range(rounds):
        if not await d.run_once():
            return


async def send(client: httpx.AsyncClient, user: object, conv: str, text: str) -> dict[str, object]:
    r = await client.post(
        f"/api/v1/conversations/{conv}/messages",
        json={"client_msg_id": f"m-{uuid.uuid4().hex}", "body": text},
        headers=user.headers,  # type: ignore[attr-defined]
    )
    assert r.status_code in (200, 201), r.text
    body: dict[str, object] = r.json()
    return body


async def test_events_reach_the_receiver_signed_with_the_catalog_shapes(
    rt: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    admin = await make_admin(client, rt)
    await subscribe(client, admin, receiver)
    a, b = await create_pair(client)
    m = await match(client, a, b)
    await send(client, a, m["conversation_id"], "hello there")
    d = Dispatcher(rt.sessionmaker, rt.settings)
    try:
        await drain(d)
    finally:
        await d.aclose()
    assert receiver.rejected == []
    registered = receiver.of_type("user.registered")
    assert {e["data"]["user_id"] for e in registered} >= {str(a.id), str(b.id)}
    assert all(set(e["data"]) == {"user_id", "locale"} for e in registered)  # no email
    [matched] = receiver.of_type("match.created")
    assert set(matched["data"]["user_ids"]) == {str(a.id), str(b.id)}
    [message] = receiver.of_type("message.created")
    assert message["version"] == 1 and message["data"]["body"] == "hello there"
    assert message["data"]["sender_id"] == str(a.id)
    assert message["data"]["recipient_ids"] == [str(b.id)]
    headers = receiver.raw[-1]["headers"]
    assert headers["webhook-signature"].startswith("v1,")
    # The id is the event id, stable across retries.
    assert {r["headers"]["webhook-id"] for r in receiver.raw} == {e["id"] for e in receiver.events}


async def test_the_spec_reference_verifier_accepts_our_deliveries(
    rt: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    from standardwebhooks.webhooks import Webhook

    admin = await make_admin(client, rt)
    await subscribe(client, admin, receiver, ["user.registered"])
    await create_pair(client)
    d = Dispatcher(rt.sessionmaker, rt.settings)
    try:
        await drain(d)
    finally:
        await d.aclose()
    assert len(receiver.raw) >= 2
    async with transaction(rt.sessionmaker) as session:
        bodies = {
            str(row.event_id): row.body for row in await session.scalars(select(WebhookDelivery))
        }
    import json

    for raw in receiver.raw:
        body = json.dumps(
            bodies[raw["headers"]["webhook-id"]], separators=(",", ":"), ensure_ascii=False
        )
        assert Webhook(receiver.secret).verify(body, raw["headers"])["id"] == raw["event"]["id"]


async def test_nothing_is_recorded_when_the_change_rolls_back(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    from rapport.events.publish import emit

    async def count() -> int:
        async with transaction(rt.sessionmaker) as session:
            return int(await session.scalar(select(func.count()).select_from(OutboxEvent)) or 0)

    async def failing_change() -> None:
        async with transaction(rt.sessionmaker) as session:
            emit(session, "user.registered", {"user_id": str(uuid.uuid4()), "locale": "en"})
            raise RuntimeError("the change failed")

    before = await count()
    with pytest.raises(RuntimeError):
        await failing_change()
    assert await count() == before
    async with transaction(rt.sessionmaker) as session:
        emit(session, "user.registered", {"user_id": str(uuid.uuid4()), "locale": "en"})
        emit(session, "typing", {"user_id": "x"})  # internal: never in the outbox
    assert await count() == before + 1


async def test_receiver_down_then_back_gets_everything_once_in_order_per_conversation(
    rt: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    admin = await make_admin(client, rt)
    await subscribe(client, admin, receiver, ["message.created"])
    a, b = await create_pair(client)
    m = await match(client, a, b)
    frozen = FrozenClock(datetime.now(UTC))
    previous = set_clock(frozen)
    d = Dispatcher(rt.sessionmaker, rt.settings)
    try:
        receiver.status_when_down = 503
        for i in range(6):
            await send(client, a if i % 2 else b, m["conversation_id"], f"message {i}")
        for _ in range(3):  # a few failed rounds while the receiver is down
            await drain(d)
            frozen.advance(seconds=2)
        assert receiver.events == []
        receiver.status_when_down = None
        for _ in range(30):
            frozen.advance(seconds=5)
            await drain(d)
            if len(receiver.events) == 6:
                break
    finally:
        await d.aclose()
        set_clock(previous)
    seqs = [e["data"]["seq"] for e in receiver.events]
    assert seqs == sorted(seqs) == list(range(1, 7))
    assert receiver.rejected == []


async def test_a_crash_after_the_post_redelivers_the_same_id_and_the_receiver_dedupes(
    rt: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    admin = await make_admin(client, rt)
    await subscribe(client, admin, receiver, ["user.registered"])
    await create_pair(client)
    frozen = FrozenClock(datetime.now(UTC))
    previous = set_clock(frozen)
    crashed = Dispatcher(rt.sessionmaker, rt.settings)

    async def lost(*_args: object) -> None:  # the process died before recording the outcome
        return None

    crashed._record = lost  # type: ignore[method-assign,assignment]
    survivor = Dispatcher(rt.sessionmaker, rt.settings)
    try:
        await crashed.fan_out()
        sent = await crashed.deliver_due()
        assert sent >= 2 and len(receiver.events) == sent  # the admin and the pair registered
        assert await survivor.deliver_due() == 0  # still leased by the dead worker
        frozen.advance(seconds=rt.settings.webhook_timeout_s * 2 + 31)
        assert await survivor.deliver_due() == sent  # the lease ran out: sent again
    finally:
        await crashed.aclose()
        await survivor.aclose()
        set_clock(previous)
    assert len(receiver.events) == sent  # deduped by webhook-id
    assert sum("replay" in r for r in receiver.rejected) == sent
    async with transaction(rt.sessionmaker) as session:
        statuses = set(await session.scalars(select(WebhookDelivery.status)))
    assert statuses == {"delivered"}


async def test_dead_letter_after_the_last_attempt_and_admin_replay(
    rt: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    admin = await make_admin(client, rt)
    await subscribe(client, admin, receiver, ["user.registered"])
    frozen = FrozenClock(datetime.now(UTC))
    previous = set_clock(frozen)
    d = Dispatcher(rt.sessionmaker, rt.settings)
    receiver.status_when_down = 500
    try:
        await create_pair(client)
        for _ in range(rt.settings.webhook_max_attempts + 2):
            await drain(d)
            frozen.advance(seconds=rt.settings.webhook_backoff_max_s)
        dead = (
            await client.get("/api/v1/admin/webhook-dead-letters", headers=admin.headers)
        ).json()
        assert len(dead) >= 2 and {x["event_type"] for x in dead} == {"user.registered"}
        detail = await client.get(
            f"/api/v1/admin/webhook-deliveries/{dead[0]['delivery_id']}", headers=admin.headers
        )
        log = detail.json()["log"]
        assert [x["attempt"] for x in log] == list(range(1, rt.settings.webhook_max_attempts + 1))
        assert {x["status"] for x in log} == {500}
        receiver.status_when_down = None
        r = await client.post(
            f"/api/v1/admin/webhook-dead-letters/{dead[0]['id']}/replay", headers=admin.headers
        )
        assert r.status_code == 200 and r.json()["status"] == "pending"
        again = await client.post(
            f"/api/v1/admin/webhook-dead-letters/{dead[0]['id']}/replay", headers=admin.headers
        )
        assert again.status_code == 409
        await drain(d)
    finally:
        await d.aclose()
        set_clock(previous)
    assert len(receiver.events) == 1


async def test_opted_out_users_events_are_not_sent(
    rt: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    admin = await make_admin(client, rt)
    await subscribe(client, admin, receiver, ["message.created", "match.created"])
    a, b = await create_pair(client)
    r = await client.patch(
        "/api/v1/me/settings", json={"automation_enabled": False}, headers=b.headers
    )
    assert r.status_code == 200 and r.json()["automation_enabled"] is False
    m = await match(client, a, b)
    await send(client, a, m["conversation_id"], "hi")
    d = Dispatcher(rt.sessionmaker, rt.settings)
    try:
        await drain(d)
    finally:
        await d.aclose()
    assert receiver.events == []


async def test_private_addresses_are_refused_unless_allowed(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    admin = await make_admin(client, rt)
    for url in ("http://10.0.0.5/hook", "http://169.254.169.254/latest", "ftp://example.com/x"):
        r = await client.post(
            "/api/v1/admin/webhooks", json={"name": "x", "url": url}, headers=admin.headers
        )
        assert r.status_code == 400, url
        assert r.json()["code"] == "webhook_url_refused"
    r = await client.post(
        "/api/v1/admin/webhooks",
        json={"name": "x", "url": "http://user:pw@127.0.0.1/h"},
        headers=admin.headers,
    )
    assert r.status_code == 400


async def test_admin_routes_need_the_admin_role(rt: Runtime, client: httpx.AsyncClient) -> None:
    a, _ = await create_pair(client)
    for method, path in (
        ("GET", "/api/v1/admin/webhooks"),
        ("GET", "/api/v1/admin/api-keys"),
        ("GET", "/api/v1/admin/webhook-dead-letters"),
        ("GET", "/api/v1/admin/webhook-deliveries"),
    ):
        r = await client.request(method, path, headers=a.headers)
        assert r.status_code == 403 and r.json()["code"] == "role_required", path


async def test_settings_subscription_is_synced_and_not_editable(
    rt: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    rt.settings = rt.settings.model_copy(
        update={"webhook_url": receiver.url, "webhook_events": ["user.registered"]}
    )
    from pydantic import SecretStr

    rt.settings.webhook_secret = SecretStr(receiver.secret)
    d = Dispatcher(rt.sessionmaker, rt.settings)
    try:
        await d.sync_settings_subscription()
        assert d.gate.wanted == {"user.registered"}
        await create_pair(client)
        await drain(d)
    finally:
        await d.aclose()
    assert len(receiver.of_type("user.registered")) >= 2
    admin = await make_admin(client, rt)
    [sub] = [
        s
        for s in (await client.get("/api/v1/admin/webhooks", headers=admin.headers)).json()
        if s["name"] == "settings"
    ]
    r = await client.patch(
        f"/api/v1/admin/webhooks/{sub['id']}", json={"active": False}, headers=admin.headers
    )
    assert r.status_code == 409 and r.json()["code"] == "managed_by_settings"


async def test_backoff_grows_with_jitter_and_is_capped(rt: Runtime) -> None:
    from rapport.workflows.dispatcher import backoff_s

    s = rt.settings
    waits = [backoff_s(n, s) for n in range(1, 30)]
    for n, w in enumerate(waits, start=1):
        cap = min(s.webhook_backoff_s * 2 ** (n - 1), s.webhook_backoff_max_s)
        assert cap / 2 <= w <= cap
    assert max(waits) <= s.webhook_backoff_max_s

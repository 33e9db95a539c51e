from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.chat import repository as repo
from rapport.chat.batcher import SendBatcher
from rapport.chat.models import Message
from rapport.chat.schemas import MessageSend
from rapport.kit import clock
from rapport.kit.db import transaction
from rapport.kit.errors import NotFound
from rapport.runtime import Runtime
from tests import factories
from tests.factories import create_pair, create_user, match


async def test_one_commit_many_messages_each_judged_alone(
    client: httpx.AsyncClient, rt: Runtime
) -> None:
    a, b = await create_pair(client)
    conv = uuid.UUID((await match(client, a, b))["conversation_id"])
    eve = await create_user(client, display_name="Eve")
    batcher = SendBatcher(rt.sessionmaker)
    worker = asyncio.create_task(batcher.run())
    try:

        def msg(cid: str) -> MessageSend:
            return MessageSend(client_msg_id=cid, body=f"body {cid}")

        jobs = [batcher.submit(a.id, conv, msg(f"batch-{i:04d}")) for i in range(10)]
        jobs.append(batcher.submit(eve.id, conv, msg("intruder-1")))
        jobs.append(batcher.submit(a.id, conv, msg("batch-0003")))  # a retry inside the batch
        results = await asyncio.gather(*jobs, return_exceptions=True)
    finally:
        worker.cancel()
    stored = results[:10]
    assert [m.seq for m in stored] == list(range(1, 11))  # type: ignore[union-attr]
    assert isinstance(results[10], NotFound)
    assert results[11] == stored[3]
    page = (await client.get(f"/api/v1/conversations/{conv}/messages", headers=b.headers)).json()
    assert [m["seq"] for m in page["messages"]] == list(range(1, 11))


@pytest.mark.parametrize("size", [1, 3])
async def test_batches_respect_max_size(client: httpx.AsyncClient, rt: Runtime, size: int) -> None:
    a, b = await create_pair(client)
    conv = uuid.UUID((await match(client, a, b))["conversation_id"])
    batcher = SendBatcher(rt.sessionmaker, max_batch=size)
    worker = asyncio.create_task(batcher.run())
    try:
        out = await asyncio.gather(
            *[
                batcher.submit(a.id, conv, MessageSend(client_msg_id=f"size-{size}-{i}", body="x"))
                for i in range(7)
            ]
        )
    finally:
        worker.cancel()
    assert sorted(m.seq for m in out) == list(range(1, 8))


async def test_mixed_batch_keeps_every_guarantee(client: httpx.AsyncClient, rt: Runtime) -> None:
    a, b = await create_pair(client)
    conv1 = uuid.UUID((await match(client, a, b))["conversation_id"])
    c = await create_user(
        client,
        display_name="Cal",
        gender="man",
        seeking={"genders": ["woman"], "age_min": 25, "age_max": 40},
    )
    m2 = await match(client, a, c)
    conv2 = uuid.UUID(m2["conversation_id"])
    first = await client.post(
        f"/api/v1/conversations/{conv1}/messages",
        headers=a.headers,
        json={"client_msg_id": "stored-0001", "body": "already here"},
    )
    await client.delete(f"/api/v1/matches/{m2['id']}", headers=c.headers)  # conv2 closes
    batcher = SendBatcher(rt.sessionmaker)
    worker = asyncio.create_task(batcher.run())

    def msg(cid: str, **kw: object) -> MessageSend:
        return MessageSend(client_msg_id=cid, body=f"body {cid}", **kw)  # type: ignore[arg-type]

    try:
        results = await asyncio.gather(
            batcher.submit(a.id, conv1, msg("new-000001")),
            batcher.submit(b.id, conv1, msg("new-000002")),
            batcher.submit(a.id, conv1, msg("stored-0001")),  # a retry of a stored message
            batcher.submit(a.id, conv1, msg("new-000001")),  # a twin inside the batch
            batcher.submit(a.id, conv2, msg("closed-001")),  # conversation closed
            batcher.submit(c.id, conv1, msg("intruder-1")),  # not a member
            batcher.submit(b.id, conv1, msg("reply-0001", reply_to=first.json()["id"])),
            return_exceptions=True,
        )
    finally:
        worker.cancel()
    new1, new2, retry, twin, closed, intruder, reply = results
    assert retry.id == uuid.UUID(first.json()["id"]) and retry.seq == 1  # type: ignore[union-attr]
    assert twin == new1
    assert isinstance(closed, NotFound) and isinstance(intruder, NotFound)
    seqs = sorted(r.seq for r in (new1, new2, reply))  # type: ignore[union-attr]
    assert seqs == [2, 3, 4]
    page = (await client.get(f"/api/v1/conversations/{conv1}/messages", headers=b.headers)).json()
    assert [m["seq"] for m in page["messages"]] == [1, 2, 3, 4]
    assert any(m["reply_to"] == first.json()["id"] for m in page["messages"])


async def _chat_with_one_message(
    client: httpx.AsyncClient, client_msg_id: str
) -> tuple[factories.TestUser, uuid.UUID]:
    """A matched pair whose first member has sent one message (by REST: the full path)."""
    a, b = await create_pair(client)
    conv = uuid.UUID((await match(client, a, b))["conversation_id"])
    r = await client.post(
        f"/api/v1/conversations/{conv}/messages",
        headers=a.headers,
        json={"client_msg_id": client_msg_id, "body": "first, by the full path"},
    )
    assert r.status_code == 201, r.text
    return a, conv


async def test_fast_path_rows_read_back_as_written(
    client: httpx.AsyncClient, rt: Runtime, session: AsyncSession
) -> None:
    """The batch fast path writes straight to sqlite3 on SQLite (Core on PostgreSQL): what the
    ORM reads back must equal what the sender was acknowledged with, field by field."""
    a, conv = await _chat_with_one_message(client, "fast-0000")
    batcher = SendBatcher(rt.sessionmaker)
    worker = asyncio.create_task(batcher.run())
    try:
        acked = await asyncio.gather(
            *[
                batcher.submit(
                    a.id, conv, MessageSend(client_msg_id=f"fast-{i:04d}", body=f"{i} 你好")
                )
                for i in range(1, 4)
            ]
        )
    finally:
        worker.cancel()
    rows = {
        m.id: m
        for m in await session.scalars(select(Message).where(Message.conversation_id == conv))
    }
    for out in acked:
        row = rows[out.id]
        assert (row.seq, row.sender_id, row.client_msg_id, row.kind, row.body) == (
            out.seq,
            a.id,
            out.client_msg_id,
            "text",
            out.body,
        )
        assert row.created_at == out.created_at and row.created_at.tzinfo is not None
        assert (row.ai_assisted, row.shadowed, row.reply_to_id, row.redacted_at) == (
            False,
            False,
            None,
            None,
        )
    assert sorted(m.seq for m in acked) == [2, 3, 4]


async def test_fast_insert_of_a_stored_key_raises_sqlalchemy_integrity_error(
    client: httpx.AsyncClient, rt: Runtime
) -> None:
    """The raw sqlite3 path reports a unique clash as SQLAlchemy's IntegrityError, which the
    batch relies on to redo the batch one by one."""
    a, conv = await _chat_with_one_message(client, "clash-0001")
    row = {
        "id": uuid.uuid4(),
        "conversation_id": conv,
        "seq": 99,
        "sender_id": a.id,
        "client_msg_id": "clash-0001",
        "kind": "text",
        "body": "twin",
        "reply_to_id": None,
        "ai_assisted": False,
        "shadowed": False,
        "created_at": clock.now(),
        "redacted_at": None,
    }
    with pytest.raises(IntegrityError):
        async with transaction(rt.sessionmaker) as s:
            await repo.insert_many(s, [row])


async def test_stored_keys_matches_whole_pairs_only(client: httpx.AsyncClient, rt: Runtime) -> None:
    """A sender's id and another sender's client_msg_id are not a stored pair: the batch's
    retry check looks keys up as (sender, client_msg_id) pairs, on both databases."""
    a, b = await create_pair(client)
    conv = uuid.UUID((await match(client, a, b))["conversation_id"])
    for user, key in ((a, "pair-aaaa"), (b, "pair-bbbb")):
        r = await client.post(
            f"/api/v1/conversations/{conv}/messages",
            headers=user.headers,
            json={"client_msg_id": key, "body": "hello"},
        )
        assert r.status_code == 201, r.text
    asked = [
        (a.id, "pair-aaaa"),
        (a.id, "pair-bbbb"),
        (b.id, "pair-aaaa"),
        (b.id, "pair-bbbb"),
        (a.id, "pair-cccc"),
        (a.id, "pair-aaaa"),  # asked twice in one batch
    ]
    async with transaction(rt.sessionmaker) as s:
        found = await repo.stored_keys(s, asked)
    assert found == {(a.id, "pair-aaaa"), (b.id, "pair-bbbb")}


class _Recording(SendBatcher):
    """A batcher that remembers the size of each batch it committed."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.sizes: list[int] = []

    async def _commit(self, batch: list) -> None:  # type: ignore[type-arg]
        self.sizes.append(len(batch))
        await super()._commit(batch)


async def test_a_lone_send_is_never_kept_waiting(client: httpx.AsyncClient, rt: Runtime) -> None:
    a, b = await create_pair(client)
    conv = uuid.UUID((await match(client, a, b))["conversation_id"])
    batcher = _Recording(rt.sessionmaker, linger_s=60.0)  # a linger would time this out
    worker = asyncio.create_task(batcher.run())
    try:
        for i in range(3):
            send = MessageSend(client_msg_id=f"lone-send-{i}", body="hello?")
            await asyncio.wait_for(batcher.submit(a.id, conv, send), timeout=10)
    finally:
        worker.cancel()
    assert batcher.sizes == [1, 1, 1]


async def test_sends_that_keep_coming_together_share_a_commit(
    client: httpx.AsyncClient, rt: Runtime
) -> None:
    a, b = await create_pair(client)
    conv = uuid.UUID((await match(client, a, b))["conversation_id"])
    batcher = _Recording(rt.sessionmaker, linger_s=0.5)
    worker = asyncio.create_task(batcher.run())

    def send(name: str) -> MessageSend:
        return MessageSend(client_msg_id=f"linger-{name}", body=name)

    try:
        # Two at once: taken together, no wait (the batch before had one message or none).
        await asyncio.gather(*(batcher.submit(a.id, conv, send(f"pair-{i}")) for i in range(2)))
        # Traffic is up now: the next batch waits for the send that comes 50 ms later.
        first = asyncio.create_task(batcher.submit(a.id, conv, send("early")))
        await asyncio.sleep(0.05)
        second = asyncio.create_task(batcher.submit(b.id, conv, send("late")))
        stored = await asyncio.gather(first, second)
    finally:
        worker.cancel()
    assert batcher.sizes == [2, 2]
    assert [m.seq for m in stored] == [3, 4]

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from rapport.chat.batcher import SendBatcher
from rapport.chat.schemas import MessageSend
from rapport.kit.errors import NotFound
from rapport.runtime import Runtime
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

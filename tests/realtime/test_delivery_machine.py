"""Stateful property test of the delivery contract against a live server.

Hypothesis drives a sender and a receiver through sends, retries under the same id, sends
whose ack is dropped, connection drops and resyncs. However it interleaves them: nothing acked
is lost, nothing is stored twice, and the receiver ends with seq 1..n in order.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Coroutine
from typing import Any, ClassVar, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from rapport.client import Message, RapportClient, RapportClientError
from tests.realtime.conftest import make_pair

pytestmark = pytest.mark.slow
T = TypeVar("T")


class LoopThread:
    """An event loop on its own thread, so synchronous Hypothesis rules can drive async I/O."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


async def _client(base: str, user_id: str, token: str) -> RapportClient:
    client = RapportClient(base, ack_timeout=2)
    client._take(
        {
            "access_token": token,
            "refresh_token": "x" * 20,
            "access_expires_at": "2999-01-01T00:00:00+00:00",
            "user_id": user_id,
        }
    )
    await client.connect()
    return client


class Delivery(RuleBasedStateMachine):
    base: ClassVar[str] = ""
    io: ClassVar[LoopThread]

    def __init__(self) -> None:
        super().__init__()
        a, b, self.conv = self.io.run(make_pair(self.base))
        self.sender = self.io.run(_client(self.base, a.id, a.token))
        self.receiver = self.io.run(_client(self.base, b.id, b.token))
        self.acked: dict[str, Message] = {}
        self.pending: list[str] = []

    # Any text the protocol accepts: not blank, no NUL (refused as validation_error, see
    # tests/realtime/test_socket.py).
    @rule(
        body=st.text(st.characters(exclude_characters="\x00"), min_size=1, max_size=40).filter(
            lambda s: s.strip() != ""
        )
    )
    def send(self, body: str) -> None:
        cid = uuid.uuid4().hex
        try:
            message = self.io.run(self.sender.send(self.conv, body, client_msg_id=cid))
        except RapportClientError as exc:
            # Random text can trip moderation (Hypothesis once drew "SB", an insult): a refusal
            # stores nothing, and "Are you sure?" is answered as a user would, sending anyway
            # under the same id.
            if exc.code == "content_blocked":
                return
            if exc.code != "confirm_required":
                raise
            send_anyway = self.sender.send(self.conv, body, client_msg_id=cid, confirm=True)
            message = self.io.run(send_anyway)
        self.acked[cid] = message

    @precondition(lambda self: bool(self.acked))
    @rule(data=st.data())
    def retry_acked(self, data: st.DataObject) -> None:
        cid = data.draw(st.sampled_from(sorted(self.acked)))
        again = self.io.run(self.sender.send(self.conv, "retried", client_msg_id=cid))
        assert (again["id"], again["seq"]) == (self.acked[cid]["id"], self.acked[cid]["seq"])

    @rule()
    def send_and_drop_ack(self) -> None:
        cid = uuid.uuid4().hex
        payload = {"conversation_id": self.conv, "client_msg_id": cid, "body": "ack lost"}
        self.io.run(self.sender.sio.emit("message:send", payload))
        self.pending.append(cid)

    @precondition(lambda self: bool(self.pending))
    @rule()
    def retry_after_lost_ack(self) -> None:
        cid = self.pending.pop(0)
        self.acked[cid] = self.io.run(self.sender.send(self.conv, "ack lost", client_msg_id=cid))

    @rule()
    def receiver_connection_drops(self) -> None:
        ws = self.receiver.sio.eio.ws
        if ws is not None:
            self.io.run(ws.close())

    @rule()
    def receiver_syncs(self) -> None:
        self.io.run(self.receiver.sync())

    @invariant()
    def no_duplicates_held(self) -> None:
        held = self.receiver.history(self.conv)
        assert len({m["id"] for m in held}) == len(held)
        assert [m["seq"] for m in held] == sorted({m["seq"] for m in held})

    def teardown(self) -> None:
        try:
            while self.pending:
                self.retry_after_lost_ack()
            self.io.run(self._settle())
            held = self.receiver.history(self.conv)
            acked_ids = {m["id"] for m in self.acked.values()}
            assert acked_ids <= {m["id"] for m in held}, "an acked message was lost"
            assert [m["seq"] for m in held] == list(range(1, len(held) + 1)), "gap or disorder"
            assert len(held) == len(acked_ids), "a message was stored twice"
        finally:
            self.io.run(self.sender.close())
            self.io.run(self.receiver.close())

    async def _settle(self) -> None:
        await asyncio.wait_for(self.receiver._connected.wait(), 15)
        await self.receiver.sync()


def test_delivery_contract_holds_under_any_interleaving(server: str) -> None:
    Delivery.base = server
    Delivery.io = LoopThread()
    try:
        run_state_machine_as_test(
            Delivery,
            settings=settings(
                max_examples=8,
                stateful_step_count=12,
                deadline=None,
                suppress_health_check=list(HealthCheck),
            ),
        )
    finally:
        Delivery.io.stop()


def test_a_moderated_body_keeps_the_contract(server: str) -> None:
    """The case Hypothesis found: a first message ("SB") that gets "Are you sure?" is sent
    anyway under the same id and is then acked, stored once and delivered."""
    Delivery.base = server
    Delivery.io = LoopThread()
    try:
        machine = Delivery()
        machine.send("SB")
        machine.send("hello")
        machine.no_duplicates_held()
        assert [m["body"] for m in machine.acked.values()] == ["SB", "hello"]
        machine.teardown()
    finally:
        Delivery.io.stop()

"""docs/events.md stays true: it holds the catalog's tables, and every event the code emits is
either public (in the catalog) or listed as internal."""

from __future__ import annotations

import re
import uuid

import pytest
from pydantic import ValidationError

from rapport.events.catalog import CATALOG, envelope, markdown
from rapport.events.schemas import DomainEvent
from tests.conftest import ROOT

DOC = (ROOT / "docs" / "events.md").read_text("utf-8")


def test_the_doc_holds_the_catalog_tables() -> None:
    assert markdown() in DOC, "regenerate the tables with rapport.events.catalog.markdown()"


def test_every_emitted_type_is_documented() -> None:
    source = "\n".join(p.read_text("utf-8") for p in (ROOT / "src" / "rapport").rglob("*.py"))
    emitted = set(re.findall(r'emit\(\s*session,\s*"([a-z_]+\.[a-z_]+)"', source))
    assert {"message.created", "match.created", "user.registered"} <= emitted
    internal = DOC.split("## Internal events", 1)[1]
    for event_type in emitted - set(CATALOG):
        assert f"`{event_type}`" in internal, f"{event_type} is neither public nor listed"


def test_message_bodies_of_encrypted_kinds_never_leave() -> None:
    sender, peer = str(uuid.uuid4()), str(uuid.uuid4())
    message = {
        "id": str(uuid.uuid4()),
        "conversation_id": str(uuid.uuid4()),
        "seq": 3,
        "sender_id": sender,
        "kind": "e2ee",
        "body": "c2VjcmV0IGNpcGhlcnRleHQ=",
        "created_at": "2026-11-26T08:00:00+00:00",
    }
    data = {"message": message, "recipients": [sender, peer]}
    body = envelope(DomainEvent(type="message.created", data=data))
    assert body["data"]["body"] is None and body["data"]["recipient_ids"] == [peer]
    plain = envelope(
        DomainEvent(type="message.created", data={**data, "message": {**message, "kind": "text"}})
    )
    assert plain["data"]["body"] == message["body"]


def test_a_malformed_internal_payload_fails_loudly() -> None:
    with pytest.raises(ValidationError):
        envelope(DomainEvent(type="match.created", data={"match_id": "not-a-uuid"}))

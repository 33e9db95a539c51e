"""The public event catalog: which domain events leave Rapport (webhooks), in what shape.

Internal events (``receipt.updated``, ``typing``…) stay on the in-process bus. Each public
type has a versioned pydantic schema; the webhook body is the envelope
``{id, type, version, occurred_at, data}`` with ``data`` validated against it. Payloads are
built from the internal event so that no field leaks by accident: end-to-end-encrypted
bodies are never included, and every type names the users it concerns so a user's
automation opt-out can be honoured (docs/events.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from rapport.events.schemas import DomainEvent

#: Message kinds whose body is ciphertext or otherwise private to the members: never exported.
PRIVATE_KINDS = frozenset({"e2ee", "ciphertext"})


class UserRegistered(BaseModel):
    user_id: uuid.UUID
    locale: str


class MatchCreated(BaseModel):
    match_id: uuid.UUID
    conversation_id: uuid.UUID
    user_ids: list[uuid.UUID]


class MatchEnded(BaseModel):
    match_id: uuid.UUID
    user_ids: list[uuid.UUID]
    ended_by: uuid.UUID | None
    reason: str


class MessageCreated(BaseModel):
    message_id: uuid.UUID
    conversation_id: uuid.UUID
    seq: int
    sender_id: uuid.UUID | None
    recipient_ids: list[uuid.UUID]
    kind: str
    body: str | None  # None for end-to-end-encrypted kinds
    ai_assisted: bool
    created_at: datetime


class MessageRead(BaseModel):
    conversation_id: uuid.UUID
    user_id: uuid.UUID
    read_seq: int


class ConversationStalled(BaseModel):
    conversation_id: uuid.UUID
    member_ids: list[uuid.UUID]
    last_sender_id: uuid.UUID | None
    last_message_at: datetime | None
    quiet_for_s: int


class ReportCreated(BaseModel):
    report_id: uuid.UUID
    reporter_id: uuid.UUID | None
    reported_user_id: uuid.UUID
    reason: str


class ModerationFlagged(BaseModel):
    report_id: uuid.UUID
    reported_user_id: uuid.UUID
    reason: str


@dataclass(frozen=True)
class EventType:
    """One public event type: its schema, how to build it, whom it concerns, its order key."""

    name: str
    version: int
    schema: type[BaseModel]
    summary: str
    build: Callable[[dict[str, Any]], dict[str, Any]]
    subjects: Callable[[dict[str, Any]], list[str]]
    order_key: Callable[[dict[str, Any]], str]


def _same(data: dict[str, Any]) -> dict[str, Any]:
    return data


def _message(data: dict[str, Any]) -> dict[str, Any]:
    m = data["message"]
    return {
        "message_id": m["id"],
        "conversation_id": m["conversation_id"],
        "seq": m["seq"],
        "sender_id": m["sender_id"],
        "recipient_ids": [u for u in data["recipients"] if u != m["sender_id"]],
        "kind": m["kind"],
        "body": None if m["kind"] in PRIVATE_KINDS else m["body"],
        "ai_assisted": m.get("ai_assisted", False),
        "created_at": m["created_at"],
    }


def _field(name: str) -> Callable[[dict[str, Any]], str]:
    return lambda data: str(data[name])


def _users(*names: str) -> Callable[[dict[str, Any]], list[str]]:
    def pick(data: dict[str, Any]) -> list[str]:
        out: list[str] = []
        for name in names:
            value = data.get(name)
            if isinstance(value, list):
                out += [str(v) for v in value]
            elif value is not None:
                out.append(str(value))
        return out

    return pick


def _no_subjects(_data: dict[str, Any]) -> list[str]:
    """Safety events go to moderation workflows whatever the users' automation choice."""
    return []


CATALOG: dict[str, EventType] = {
    t.name: t
    for t in (
        EventType(
            "user.registered",
            1,
            UserRegistered,
            "An account was created (no email or other contact data).",
            _same,
            _users("user_id"),
            _field("user_id"),
        ),
        EventType(
            "match.created",
            1,
            MatchCreated,
            "Two people liked each other; their conversation exists.",
            _same,
            _users("user_ids"),
            _field("conversation_id"),
        ),
        EventType(
            "match.ended",
            1,
            MatchEnded,
            "A match ended: unmatched, blocked or an account deleted.",
            _same,
            _users("user_ids"),
            _field("match_id"),
        ),
        EventType(
            "message.created",
            1,
            MessageCreated,
            "A message was stored (user, system or bot).",
            _message,
            lambda d: [str(u) for u in d["recipients"]],
            lambda d: str(d["message"]["conversation_id"]),
        ),
        EventType(
            "message.read",
            1,
            MessageRead,
            "A member's read cursor moved forward (only when read receipts are on).",
            _same,
            _users("user_id"),
            _field("conversation_id"),
        ),
        EventType(
            "conversation.stalled",
            1,
            ConversationStalled,
            "A live conversation has been quiet longer than the stall threshold.",
            _same,
            _users("member_ids"),
            _field("conversation_id"),
        ),
        EventType(
            "report.created",
            1,
            ReportCreated,
            "A member reported another; the report is in the moderation queue.",
            _same,
            _no_subjects,
            _field("reported_user_id"),
        ),
        EventType(
            "moderation.flagged",
            1,
            ModerationFlagged,
            "Automatic moderation queued something for review.",
            _same,
            _no_subjects,
            _field("reported_user_id"),
        ),
    )
}


def envelope(event: DomainEvent) -> dict[str, Any]:
    """The webhook body for a public event (raises KeyError for an internal one)."""
    kind = CATALOG[event.type]
    data = kind.schema.model_validate(kind.build(event.data)).model_dump(mode="json")
    return {
        "id": str(event.id),
        "type": event.type,
        "version": kind.version,
        "occurred_at": event.occurred_at.isoformat(),
        "data": data,
    }


def markdown() -> str:
    """The per-type field tables of docs/events.md (a test keeps the doc equal to this)."""
    out: list[str] = []
    for name, kind in CATALOG.items():
        schema = kind.schema.model_json_schema()
        required = set(schema.get("required", []))
        out += [f"### `{name}` (version {kind.version})", "", kind.summary, ""]
        out += ["| field | type | required |", "|---|---|---|"]
        for field, spec in schema["properties"].items():
            out.append(f"| `{field}` | {_type_of(spec)} | {'yes' if field in required else ''} |")
        out.append("")
    return "\n".join(out)


def _type_of(spec: dict[str, Any]) -> str:
    if "anyOf" in spec:
        return " or ".join(_type_of(s) for s in spec["anyOf"])
    kind = str(spec.get("type", "any"))
    if kind == "array":
        return f"array of {_type_of(spec['items'])}"
    return f"{kind} ({spec['format']})" if "format" in spec else kind

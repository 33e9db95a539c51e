"""Every query of the chat domain."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, or_, select, tuple_, update
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.chat.models import Conversation, ConversationMember, Message, OfferedSuggestion
from rapport.kit.db import raw_errors, raw_sqlite, sqlite_binders


async def by_match(session: AsyncSession, match_id: uuid.UUID) -> Conversation | None:
    return await session.scalar(select(Conversation).where(Conversation.match_id == match_id))


async def by_matches(
    session: AsyncSession, match_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Conversation]:
    if not match_ids:
        return {}
    rows = await session.scalars(
        select(Conversation).where(Conversation.match_id.in_(list(match_ids)))
    )
    return {c.match_id: c for c in rows if c.match_id is not None}


async def members(session: AsyncSession, conversation_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(ConversationMember.user_id).where(
            ConversationMember.conversation_id == conversation_id
        )
    )
    return list(rows)


async def messages_in(
    session: AsyncSession, conversation_id: uuid.UUID, ids: Collection[uuid.UUID]
) -> list[Message]:
    rows = await session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.id.in_(list(ids)))
        .order_by(Message.seq)
    )
    return list(rows)


async def messages_at(
    session: AsyncSession, conversation_id: uuid.UUID, seqs: Collection[int]
) -> list[Message]:
    rows = await session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.seq.in_(sorted(seqs)))
        .order_by(Message.seq)
    )
    return list(rows)


async def sent_by(session: AsyncSession, user_id: uuid.UUID) -> list[Message]:
    rows = await session.scalars(
        select(Message).where(Message.sender_id == user_id).order_by(Message.created_at)
    )
    return list(rows)


async def conversations_of(session: AsyncSession, user_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(ConversationMember.conversation_id).where(ConversationMember.user_id == user_id)
    )
    return list(rows)


async def redact_sent(session: AsyncSession, user_id: uuid.UUID, at: datetime) -> int:
    result = await session.execute(
        update(Message)
        .where(Message.sender_id == user_id)
        .values(body="", kind="deleted", redacted_at=at, client_msg_id=None, sender_id=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def has_sent(session: AsyncSession, conversation_id: uuid.UUID, sender_id: uuid.UUID) -> bool:
    row = await session.scalar(
        select(Message.id)
        .where(Message.conversation_id == conversation_id, Message.sender_id == sender_id)
        .limit(1)
    )
    return row is not None


async def by_client_id(
    session: AsyncSession, sender_id: uuid.UUID, client_msg_id: str
) -> Message | None:
    return await session.scalar(
        select(Message).where(
            Message.sender_id == sender_id, Message.client_msg_id == client_msg_id
        )
    )


async def get(session: AsyncSession, conversation_id: uuid.UUID) -> Conversation | None:
    return await session.get(Conversation, conversation_id)


async def membership(
    session: AsyncSession, conversation_id: uuid.UUID, user_id: uuid.UUID
) -> ConversationMember | None:
    return await session.get(ConversationMember, (conversation_id, user_id))


async def next_seq(session: AsyncSession, conversation_id: uuid.UUID) -> int | None:
    """Atomically take the next seq of an open conversation (row lock on PostgreSQL)."""
    seq = await session.scalar(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.closed_at.is_(None))
        .values(last_seq=Conversation.last_seq + 1)
        .returning(Conversation.last_seq)
    )
    return int(seq) if seq is not None else None


async def message_in(
    session: AsyncSession, conversation_id: uuid.UUID, message_id: uuid.UUID
) -> Message | None:
    return await session.scalar(
        select(Message).where(Message.id == message_id, Message.conversation_id == conversation_id)
    )


def visible_to(viewer: uuid.UUID) -> Any:
    """Messages a member may see: all but those withheld from them by a shadow-ban (which
    their sender still sees)."""
    return or_(Message.shadowed.is_(False), Message.sender_id == viewer)


async def page(
    session: AsyncSession,
    conversation_id: uuid.UUID,
    *,
    after: int | None,
    before: int | None,
    limit: int,
    viewer: uuid.UUID | None = None,
) -> list[Message]:
    """Up to ``limit`` messages by seq: the oldest after ``after``, else the newest before
    ``before`` (or the newest of all), always returned in ascending seq."""
    stmt = select(Message).where(Message.conversation_id == conversation_id)
    if viewer is not None:
        stmt = stmt.where(visible_to(viewer))
    if after is not None:
        stmt = stmt.where(Message.seq > after).order_by(Message.seq.asc())
    else:
        if before is not None:
            stmt = stmt.where(Message.seq < before)
        stmt = stmt.order_by(Message.seq.desc())
    rows = list(await session.scalars(stmt.limit(limit)))
    return sorted(rows, key=lambda m: m.seq)


async def live_conversations_of(
    session: AsyncSession, user_id: uuid.UUID
) -> list[tuple[Conversation, ConversationMember]]:
    rows = await session.execute(
        select(Conversation, ConversationMember)
        .join(ConversationMember, ConversationMember.conversation_id == Conversation.id)
        .where(ConversationMember.user_id == user_id, Conversation.closed_at.is_(None))
        .order_by(Conversation.last_seq.desc(), Conversation.created_at.desc())
    )
    return [(c, m) for c, m in rows]


async def other_members(
    session: AsyncSession, conversation_ids: Collection[uuid.UUID], user_id: uuid.UUID
) -> dict[uuid.UUID, ConversationMember]:
    if not conversation_ids:
        return {}
    rows = await session.scalars(
        select(ConversationMember).where(
            ConversationMember.conversation_id.in_(list(conversation_ids)),
            ConversationMember.user_id != user_id,
        )
    )
    return {m.conversation_id: m for m in rows}


async def last_messages(
    session: AsyncSession, conversations: Collection[Conversation], viewer: uuid.UUID
) -> dict[uuid.UUID, Message]:
    """The newest message of each conversation that ``viewer`` may see."""
    wanted = [(c.id, c.last_seq) for c in conversations if c.last_seq > 0]
    if not wanted:
        return {}
    rows = await session.scalars(
        select(Message).where(
            or_(*[(Message.conversation_id == cid) & (Message.seq == seq) for cid, seq in wanted])
        )
    )
    out = {m.conversation_id: m for m in rows}
    hidden = [c for c, m in out.items() if m.shadowed and m.sender_id != viewer]
    for cid in hidden:  # rare: the newest one was withheld; take the newest visible one
        del out[cid]
        newest = await session.scalar(
            select(Message)
            .where(Message.conversation_id == cid, visible_to(viewer))
            .order_by(Message.seq.desc())
            .limit(1)
        )
        if newest is not None:
            out[cid] = newest
    return out


async def unread_count(
    session: AsyncSession, conversation_id: uuid.UUID, user_id: uuid.UUID, read_seq: int
) -> int:
    n = await session.scalar(
        select(func.count())
        .select_from(Message)
        .where(
            Message.conversation_id == conversation_id,
            Message.seq > read_seq,
            or_(Message.sender_id.is_(None), Message.sender_id != user_id),
            Message.shadowed.is_(False),
        )
    )
    return int(n or 0)


async def advance_cursor(
    session: AsyncSession, conversation_id: uuid.UUID, user_id: uuid.UUID, column: str, to: int
) -> bool:
    """Move a receipt cursor forward only (atomic on every backend); True if it moved."""
    col = getattr(ConversationMember, column)
    result = await session.execute(
        update(ConversationMember)
        .where(
            ConversationMember.conversation_id == conversation_id,
            ConversationMember.user_id == user_id,
            col < to,
        )
        .values({column: to})
    )
    return bool(getattr(result, "rowcount", 0))


async def conversation_changes(
    session: AsyncSession, user_id: uuid.UUID, known: Collection[uuid.UUID]
) -> list[uuid.UUID]:
    """Of the conversation ids a client knows, those that are closed now (or not its own)."""
    if not known:
        return []
    live = set(
        await session.scalars(
            select(Conversation.id)
            .join(ConversationMember, ConversationMember.conversation_id == Conversation.id)
            .where(
                ConversationMember.user_id == user_id,
                Conversation.closed_at.is_(None),
                Conversation.id.in_(list(known)),
            )
        )
    )
    return [c for c in known if c not in live]


async def offered(
    session: AsyncSession,
    user_id: uuid.UUID,
    conversation_id: uuid.UUID,
    text_hash: str,
    since: datetime,
) -> bool:
    row = await session.scalar(
        select(OfferedSuggestion.id)
        .where(
            OfferedSuggestion.user_id == user_id,
            OfferedSuggestion.conversation_id == conversation_id,
            OfferedSuggestion.text_hash == text_hash,
            OfferedSuggestion.created_at >= since,
        )
        .limit(1)
    )
    return row is not None


async def recent_messages(
    session: AsyncSession, conversation_id: uuid.UUID, limit: int
) -> list[Message]:
    rows = list(
        await session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.shadowed.is_(False))
            .order_by(Message.seq.desc())
            .limit(limit)
        )
    )
    return rows[::-1]


async def quiet_since(
    session: AsyncSession, before: datetime, after: datetime, limit: int
) -> list[tuple[Conversation, Message]]:
    """Live conversations whose last message was sent between ``after`` and ``before``."""
    rows = await session.execute(
        select(Conversation, Message)
        .join(
            Message,
            (Message.conversation_id == Conversation.id) & (Message.seq == Conversation.last_seq),
        )
        .where(
            Conversation.closed_at.is_(None),
            Message.created_at < before,
            Message.created_at >= after,
        )
        .order_by(Message.created_at)
        .limit(limit)
    )
    return [(c, m) for c, m in rows]


async def stored_keys(
    session: AsyncSession, keys: Collection[tuple[uuid.UUID, str]]
) -> set[tuple[uuid.UUID, str]]:
    """Which (sender, client_msg_id) pairs are already stored (one query for a batch)."""
    if not keys:
        return set()
    raw = await raw_sqlite(session)
    if raw is not None:
        # A join against the keys as a VALUES list: one index probe per key. (``sender_id IN
        # (…) AND client_msg_id IN (…)`` probes every sender with every id, which costs
        # milliseconds for a full batch.) Only "(?, ?)" placeholders are formatted in.
        unique = list(set(keys))
        sql = (
            f"WITH k(s, c) AS (VALUES {', '.join(['(?, ?)'] * len(unique))}) "  # noqa: S608
            "SELECT m.sender_id, m.client_msg_id FROM k "
            "JOIN messages AS m ON m.sender_id = k.s AND m.client_msg_id = k.c"
        )
        cursor = raw.execute(sql, [v for s, c in unique for v in (s.hex, c)])
        return {(uuid.UUID(s), c) for s, c in cursor.fetchall()}
    rows = await session.execute(
        select(Message.sender_id, Message.client_msg_id).where(
            tuple_(Message.sender_id, Message.client_msg_id).in_(list(set(keys)))
        )
    )
    return {(s, c) for s, c in rows if s is not None and c is not None}  # (typed nullable)


_TAKE_SEQS = (
    "UPDATE conversations SET last_seq = last_seq + ? WHERE id = ? AND closed_at IS NULL "
    "RETURNING last_seq"
)


async def take_seqs(
    session: AsyncSession, counts: dict[uuid.UUID, int]
) -> dict[uuid.UUID, int | None]:
    """Reserve ``count`` consecutive seqs in each open conversation of ``counts``; returns the
    last one of each (``None`` for a closed or missing conversation)."""
    raw = await raw_sqlite(session)
    if raw is not None:  # this runs for every batch of sends
        rows = {c: raw.execute(_TAKE_SEQS, (n, c.hex)).fetchone() for c, n in counts.items()}
        return {c: int(row[0]) if row is not None else None for c, row in rows.items()}
    table = Conversation.metadata.tables["conversations"]
    conn = await session.connection()
    out: dict[uuid.UUID, int | None] = {}
    for conversation_id, count in counts.items():
        seq = (
            await conn.execute(
                update(table)
                .where(table.c.id == conversation_id, table.c.closed_at.is_(None))
                .values(last_seq=table.c.last_seq + count)
                .returning(table.c.last_seq)
            )
        ).scalar()
        out[conversation_id] = int(seq) if seq is not None else None
    return out


_MESSAGE_COLUMNS = (
    "id",
    "conversation_id",
    "seq",
    "sender_id",
    "client_msg_id",
    "kind",
    "body",
    "reply_to_id",
    "ai_assisted",
    "shadowed",
    "created_at",
    "redacted_at",
)


@functools.cache
def _insert_messages() -> tuple[str, list[Callable[[Any], Any]]]:
    """The SQLite INSERT of a message row, positional, and each column's value conversion."""
    table = Message.metadata.tables["messages"]
    sql = str(insert(table).compile(dialect=sqlite_dialect(), column_keys=list(_MESSAGE_COLUMNS)))
    return sql, sqlite_binders(table, _MESSAGE_COLUMNS)


async def insert_many(session: AsyncSession, rows: list[dict[str, object]]) -> None:
    """One multi-row INSERT of new messages (no ORM unit of work; straight to sqlite3 on
    SQLite). Every row has every column of ``_MESSAGE_COLUMNS``."""
    raw = await raw_sqlite(session)
    if raw is not None:
        sql, binders = _insert_messages()
        pairs = list(zip(_MESSAGE_COLUMNS, binders, strict=True))
        params = [tuple(bind(row[name]) for name, bind in pairs) for row in rows]
        with raw_errors(sql, params):
            raw.executemany(sql, params)
        return
    conn = await session.connection()
    await conn.execute(insert(Message.metadata.tables["messages"]), rows)


async def automation_message(
    session: AsyncSession, conversation_id: uuid.UUID, key: str
) -> Message | None:
    return await session.scalar(
        select(Message).where(
            Message.conversation_id == conversation_id,
            Message.sender_id.is_(None),
            Message.client_msg_id == key,
        )
    )

"""Chat: conversations and messages with per-conversation seq and idempotent sends.

Delivery contract: a send is committed before it is acknowledged; the same
``(sender, client_msg_id)`` returns the stored message (same id and seq) instead of a second
row; seq is taken from the conversation row inside the insert transaction, so it increases
without holes; fan-out (``message.created``) happens only after commit.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.accounts import service as accounts
from rapport.accounts.schemas import Preferences
from rapport.chat import repository as repo
from rapport.chat.models import Conversation, ConversationMember, Message, OfferedSuggestion
from rapport.chat.schemas import (
    ConversationOut,
    MessageOut,
    MessagePage,
    MessageSend,
    ReceiptState,
)
from rapport.events.publish import emit
from rapport.kit import clock
from rapport.kit.db import after_commit, savepoint
from rapport.kit.errors import BadRequest, Conflict, NotFound, RapportError, Unprocessable
from rapport.kit.ids import new_id
from rapport.moderation import gate as moderation
from rapport.moderation import sanctions

REPORT_CONTEXT = 5


async def open_for_match(
    session: AsyncSession, match_id: uuid.UUID, user_ids: Collection[uuid.UUID]
) -> Conversation:
    """Create the 1:1 conversation of a new match (inside the caller's transaction)."""
    conv = Conversation(match_id=match_id, kind="direct")
    session.add(conv)
    await session.flush()
    session.add_all(ConversationMember(conversation_id=conv.id, user_id=u) for u in user_ids)
    await session.flush()
    return conv


async def close_for_match(session: AsyncSession, match_id: uuid.UUID, reason: str) -> None:
    """Close a match's conversation for both members: no more sends or reads of new messages."""
    conv = await repo.by_match(session, match_id)
    if conv is not None and conv.closed_at is None:
        conv.closed_at = clock.now()
        conv.close_reason = reason
        members = await repo.members(session, conv.id)
        emit(
            session,
            "conversation.closed",
            {
                "conversation_id": str(conv.id),
                "reason": reason,
                "recipients": [str(u) for u in members],
            },
        )


async def conversations_for_matches(
    session: AsyncSession, match_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Conversation]:
    """Conversation of each match id."""
    return await repo.by_matches(session, match_ids)


def to_out(m: Message) -> MessageOut:
    return MessageOut(
        id=m.id,
        conversation_id=m.conversation_id,
        seq=m.seq,
        sender_id=m.sender_id,
        kind=m.kind,
        body=m.body,
        created_at=m.created_at,
        client_msg_id=m.client_msg_id,
        reply_to=m.reply_to_id,
        ai_assisted=m.ai_assisted,
    )


def message_view(m: Message) -> dict[str, Any]:
    return to_out(m).model_dump(mode="json")


async def require_member(
    session: AsyncSession, user_id: uuid.UUID, conversation_id: uuid.UUID
) -> Conversation:
    """The live conversation if ``user_id`` is a member; 404 otherwise (closed ones too)."""
    conv = await repo.get(session, conversation_id)
    if (
        conv is None
        or conv.closed_at is not None
        or await repo.membership(session, conversation_id, user_id) is None
    ):
        raise NotFound("No such conversation.", code="conversation_not_found")
    return conv


_members: dict[uuid.UUID, frozenset[uuid.UUID]] = {}
_MEMBERS_MAX = 200_000


async def members_of(session: AsyncSession, conversation_id: uuid.UUID) -> frozenset[uuid.UUID]:
    """Members of a conversation (empty if it does not exist). Membership never changes after
    a conversation is opened, so it is cached; whether it is still open is checked atomically
    when a seq is taken."""
    members = _members.get(conversation_id)
    if members is None:
        members = frozenset(await repo.members(session, conversation_id))
        if members:
            if len(_members) >= _MEMBERS_MAX:
                _members.clear()
            _members[conversation_id] = members
    return members


async def send(
    session: AsyncSession, sender: uuid.UUID, conversation_id: uuid.UUID, payload: MessageSend
) -> tuple[MessageOut, bool]:
    """Store a message (or return the one already stored under its client_msg_id).

    Returns ``(message, created)``; a retry of a committed send gets ``created=False``. The
    common path is four statements: SAVEPOINT, take the next seq from the open conversation
    (``UPDATE … RETURNING``), INSERT, RELEASE. A retry is recognised by the unique
    ``(sender_id, client_msg_id)`` key: its savepoint rolls back, seq included.
    """
    members = await members_of(session, conversation_id)
    if sender not in members:
        raise NotFound("No such conversation.", code="conversation_not_found")
    if (
        payload.reply_to is not None
        and await repo.message_in(session, conversation_id, payload.reply_to) is None
    ):
        raise Unprocessable("reply_to is not a message of this conversation.", code="bad_reply_to")
    assisted = payload.ai_suggestion and await _was_offered(
        session, sender, conversation_id, payload.body
    )
    guard = moderation.of(session)
    first = not await _has_entered(session, sender, conversation_id)
    conv = await repo.get(session, conversation_id)
    try:
        verdict = await guard.screen_send(
            session,
            sender,
            payload.body,
            confirm=payload.confirm,
            first=first,
            position=conv.last_seq if conv is not None else 0,
        )
    except RapportError:
        # Refused now; but a retry of a message stored earlier still gets its answer.
        existing = await repo.by_client_id(session, sender, payload.client_msg_id)
        if existing is None:
            raise
        return _same_send(existing, conversation_id), False
    try:
        async with session.begin_nested():
            seq = await repo.next_seq(session, conversation_id)
            if seq is not None:
                msg = Message(
                    conversation_id=conversation_id,
                    seq=seq,
                    sender_id=sender,
                    client_msg_id=payload.client_msg_id,
                    kind=payload.kind,
                    body=verdict.body,
                    reply_to_id=payload.reply_to,
                    ai_assisted=assisted,
                    shadowed=verdict.shadowed,
                )
                session.add(msg)
                await session.flush()
    except IntegrityError:
        seq = None  # a retry of a stored message (or a concurrent twin): answer with it
    if seq is None:
        existing = await repo.by_client_id(session, sender, payload.client_msg_id)
        if existing is None:
            raise NotFound("No such conversation.", code="conversation_not_found")
        return _same_send(existing, conversation_id), False
    out = to_out(msg)
    # A shadow-banned sender's message reaches no one else: only their own devices.
    recipients = [str(sender)] if verdict.shadowed else [str(u) for u in members]
    view = out.model_dump(mode="json")
    emit(
        session,
        "message.created",
        {
            "message": view,
            "recipients": recipients,
            "first_from_sender": first,
            "shadowed": verdict.shadowed,
        },
    )
    if verdict.remarkable:
        await guard.after_send(session, view, verdict, recipients)
    if first:
        after_commit(session, lambda: _remember_entered(sender, conversation_id))
    return out, True


_entered: set[tuple[uuid.UUID, uuid.UUID]] = set()


async def _has_entered(
    session: AsyncSession, sender: uuid.UUID, conversation_id: uuid.UUID
) -> bool:
    """Has the user sent a message in this conversation before? (Cached once true: it
    never becomes false again.)"""
    if (sender, conversation_id) in _entered:
        return True
    if await repo.has_sent(session, conversation_id, sender):
        _remember_entered(sender, conversation_id)
        return True
    return False


def _remember_entered(sender: uuid.UUID, conversation_id: uuid.UUID) -> None:
    if len(_entered) >= _MEMBERS_MAX:
        _entered.clear()
    _entered.add((sender, conversation_id))


def _same_send(existing: Message, conversation_id: uuid.UUID) -> MessageOut:
    if existing.conversation_id != conversation_id:
        raise Conflict(
            "client_msg_id was already used for a message in another conversation.",
            code="client_msg_id_reused",
        )
    return to_out(existing)


async def history(
    session: AsyncSession,
    user_id: uuid.UUID,
    conversation_id: uuid.UUID,
    *,
    after: int | None,
    before: int | None,
    limit: int,
) -> MessagePage:
    """A page of history by seq, in either direction; members of live conversations only."""
    await require_member(session, user_id, conversation_id)
    rows = await repo.page(
        session, conversation_id, after=after, before=before, limit=limit + 1, viewer=user_id
    )
    has_more = len(rows) > limit
    if has_more:
        rows = rows[:limit] if after is not None else rows[1:]
    return MessagePage(
        messages=[to_out(m) for m in rows],
        has_more=has_more,
        next_before=rows[0].seq if rows else None,
        next_after=rows[-1].seq if rows else after,
    )


async def conversations(
    session: AsyncSession, user_id: uuid.UUID, presence: PresenceLookup | None = None
) -> list[ConversationOut]:
    """The user's live conversations with last message, unread count and (where both people
    allow it) the peer's read cursor and presence; most recent first."""
    pairs = await repo.live_conversations_of(session, user_id)
    convs = [c for c, _ in pairs]
    peers = await repo.other_members(session, [c.id for c in convs], user_id)
    last = await repo.last_messages(session, convs, user_id)
    prefs = await accounts.preferences_of(session, [user_id, *(m.user_id for m in peers.values())])
    states = await presence([m.user_id for m in peers.values()]) if presence else {}
    out = []
    for conv, me in pairs:
        peer = peers.get(conv.id)
        last_msg = last.get(conv.id)
        receipts_on = peer is not None and _both(prefs, user_id, peer.user_id, "read_receipts")
        presence_on = peer is not None and _both(prefs, user_id, peer.user_id, "show_presence")
        online: bool | None = None
        seen: datetime | None = None
        if peer is not None and presence_on and presence is not None:
            online, seen = states.get(peer.user_id, (False, None))
        out.append(
            ConversationOut(
                id=conv.id,
                match_id=conv.match_id,
                peer_id=peer.user_id if peer else None,
                created_at=conv.created_at,
                closed=conv.closed_at is not None,
                last_seq=conv.last_seq,
                last_message=to_out(last_msg) if last_msg else None,
                unread_count=await repo.unread_count(session, conv.id, user_id, me.read_seq),
                read_seq=me.read_seq,
                peer_delivered_seq=peer.delivered_seq if peer else 0,
                peer_read_seq=peer.read_seq if peer and receipts_on else None,
                peer_online=online,
                peer_last_seen_at=seen,
            )
        )
    return out


async def evidence_for_report(
    session: AsyncSession,
    reporter_id: uuid.UUID,
    reported_id: uuid.UUID,
    message_ids: Collection[uuid.UUID],
) -> list[dict[str, Any]]:
    """Snapshot reported messages plus surrounding context from the pair's conversation.

    Every id must be a message of a conversation both users belong to; otherwise nothing is
    revealed and the report is refused.
    """
    if not message_ids:
        return []
    for conv_id in await repo.conversations_of(session, reporter_id):
        if set(await repo.members(session, conv_id)) != {reporter_id, reported_id}:
            continue
        found = await repo.messages_in(session, conv_id, message_ids)
        if len(found) != len(set(message_ids)):
            break
        # Context is taken around each reported message, not across the span between them.
        seqs = {n for m in found for n in range(m.seq - REPORT_CONTEXT, m.seq + REPORT_CONTEXT + 1)}
        reported = {m.id for m in found}
        return [
            {**message_view(m), "reported": m.id in reported}
            for m in await repo.messages_at(session, conv_id, seqs)
        ]
    raise Unprocessable(
        "message_ids must be messages of your conversation with this user.",
        code="unknown_messages",
    )


async def export_for(session: AsyncSession, user_id: uuid.UUID) -> dict[str, Any]:
    """Messages this user sent and the conversations they belong to."""
    return {
        "conversations": [str(c) for c in await repo.conversations_of(session, user_id)],
        "messages_sent": [message_view(m) for m in await repo.sent_by(session, user_id)],
    }


async def erase_for(session: AsyncSession, user_id: uuid.UUID) -> dict[str, int]:
    """Redact every message the user sent (seq kept so the peer's history has no hole)."""
    return {"messages_redacted": await repo.redact_sent(session, user_id, clock.now())}


PresenceLookup = Callable[
    [list[uuid.UUID]], Awaitable[dict[uuid.UUID, tuple[bool, datetime | None]]]
]


def _both(prefs: dict[uuid.UUID, Preferences], a: uuid.UUID, b: uuid.UUID, switch: str) -> bool:
    """A symmetric privacy switch: on only when both people have it on."""
    return a in prefs and b in prefs and getattr(prefs[a], switch) and getattr(prefs[b], switch)


async def mark(
    session: AsyncSession,
    user_id: uuid.UUID,
    conversation_id: uuid.UUID,
    kind: Literal["delivered", "read"],
    up_to_seq: int,
) -> ReceiptState:
    """Advance the user's delivered (or read, which implies delivered) cursor; never backwards.

    Announces ``receipt.updated`` to the other member when a cursor moved; the read cursor is
    shown only when both people have read receipts on.
    """
    conv = await require_member(session, user_id, conversation_id)
    target = min(up_to_seq, conv.last_seq)
    moved = await repo.advance_cursor(session, conv.id, user_id, "delivered_seq", target)
    if kind == "read":
        moved = await repo.advance_cursor(session, conv.id, user_id, "read_seq", target) or moved
    member = await repo.membership(session, conv.id, user_id)
    assert member is not None
    await session.refresh(member)
    others = [u for u in await repo.members(session, conv.id) if u != user_id]
    prefs = await accounts.preferences_of(session, [user_id, *others])
    visible = bool(others) and all(_both(prefs, user_id, o, "read_receipts") for o in others)
    state = ReceiptState(
        conversation_id=conv.id,
        user_id=user_id,
        delivered_seq=member.delivered_seq,
        read_seq=member.read_seq if visible else None,
    )
    if moved:
        emit(
            session,
            "receipt.updated",
            {"receipt": state.model_dump(mode="json"), "recipients": [str(o) for o in others]},
        )
        if kind == "read" and member.read_seq == target:
            emit(
                session,
                "message.read",
                {
                    "conversation_id": str(conv.id),
                    "user_id": str(user_id),
                    "read_seq": member.read_seq,
                },
            )
    return state


async def peer_ids(
    session: AsyncSession, user_id: uuid.UUID, conversation_id: uuid.UUID
) -> list[uuid.UUID]:
    """The other members of a live conversation the user belongs to (404 otherwise)."""
    conv = await require_member(session, user_id, conversation_id)
    return [u for u in await repo.members(session, conv.id) if u != user_id]


async def closed_among(
    session: AsyncSession, user_id: uuid.UUID, known: list[uuid.UUID]
) -> list[uuid.UUID]:
    """Which of the conversations a client holds are no longer live for this user."""
    return await repo.conversation_changes(session, user_id, known)


SUGGESTION_TTL = timedelta(hours=6)


def _suggestion_hash(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()


async def remember_offered(
    session: AsyncSession, user_id: uuid.UUID, conversation_id: uuid.UUID, texts: list[str]
) -> None:
    """Record suggestions shown to a member, so an unchanged send is marked ai_assisted."""
    session.add_all(
        OfferedSuggestion(
            user_id=user_id, conversation_id=conversation_id, text_hash=_suggestion_hash(t)
        )
        for t in texts
    )
    await session.flush()


async def _was_offered(
    session: AsyncSession, sender: uuid.UUID, conversation_id: uuid.UUID, body: str
) -> bool:
    return await repo.offered(
        session, sender, conversation_id, _suggestion_hash(body), clock.now() - SUGGESTION_TTL
    )


async def recent_lines(
    session: AsyncSession, conversation_id: uuid.UUID, limit: int = 20
) -> list[MessageOut]:
    """The last messages of a conversation, oldest first (for AI context; messages withheld
    by a shadow-ban are left out)."""
    return [to_out(m) for m in await repo.recent_messages(session, conversation_id, limit)]


async def quiet_conversations(
    session: AsyncSession, quiet_for: timedelta, window: timedelta, limit: int = 200
) -> list[tuple[uuid.UUID, MessageOut, list[uuid.UUID]]]:
    """Live conversations silent for at least ``quiet_for`` (but not longer than
    ``quiet_for + window``): (conversation id, last message, member ids)."""
    now = clock.now()
    out = []
    for conv, last in await repo.quiet_since(
        session, now - quiet_for, now - quiet_for - window, limit
    ):
        out.append((conv.id, to_out(last), await repo.members(session, conv.id)))
    return out


SendItem = tuple[uuid.UUID, uuid.UUID, MessageSend]


async def send_batch(
    session: AsyncSession, items: list[SendItem]
) -> list[MessageOut | RapportError]:
    """Store many sends in the caller's transaction with a handful of statements.

    The fast path covers plain new messages: one SELECT finds retries, one
    ``UPDATE … RETURNING`` per conversation reserves consecutive seqs, one multi-row INSERT
    stores them all. Everything else — retries, replies, claimed suggestions, closed
    conversations, or a twin racing in from another node — goes through :func:`send` one by
    one, with the same guarantees.
    """
    results: list[MessageOut | RapportError | None] = [None] * len(items)
    slow: list[int] = []
    fast: list[int] = []
    seen: set[tuple[uuid.UUID, str]] = set()
    guard = moderation.of(session)
    lists = await guard.lists.ensure(session)
    standing = await sanctions.standings(session, list({sender for sender, _, _ in items}))
    for i, (sender, conversation_id, payload) in enumerate(items):
        if sender not in await members_of(session, conversation_id):
            results[i] = NotFound("No such conversation.", code="conversation_not_found")
        elif (
            payload.reply_to is not None
            or payload.ai_suggestion
            or (sender, payload.client_msg_id) in seen
            # Moderation: anything the gate may act on, a sanctioned sender, or a user's
            # first message in a conversation (trust limits) takes the full path.
            or standing[sender].rank > sanctions.RANK["warn"]
            or (sender, conversation_id) not in _entered
            or guard.needs_screening(lists, payload.body)
        ):
            slow.append(i)
        else:
            seen.add((sender, payload.client_msg_id))
            fast.append(i)
    stored = await repo.stored_keys(
        session, [(items[i][0], items[i][2].client_msg_id) for i in fast]
    )
    slow += [i for i in fast if (items[i][0], items[i][2].client_msg_id) in stored]
    fast = [i for i in fast if (items[i][0], items[i][2].client_msg_id) not in stored]
    created = await _insert_fast(session, items, fast, results, slow)
    for i in sorted(slow):
        sender, conversation_id, payload = items[i]
        try:
            results[i], _ = await send(session, sender, conversation_id, payload)
        except RapportError as exc:
            results[i] = exc
        # The full path takes a few statements per message and, on SQLite, none of them yields
        # (ADR 0004): let the node's sockets through between two, or a batch of first
        # messages (say, after a restart) holds the loop for hundreds of milliseconds.
        await asyncio.sleep(0)
    for i in created:
        out = results[i]
        assert isinstance(out, MessageOut)
        emit(
            session,
            "message.created",
            {
                "message": out.model_dump(mode="json"),
                "recipients": [str(u) for u in await members_of(session, out.conversation_id)],
                "first_from_sender": False,
            },
        )
    return [r if r is not None else NotFound("Not stored.") for r in results]


async def _insert_fast(
    session: AsyncSession,
    items: list[SendItem],
    fast: list[int],
    results: list[MessageOut | RapportError | None],
    slow: list[int],
) -> list[int]:
    """Reserve seqs per conversation and insert in one statement; returns the indices stored."""
    by_conversation: dict[uuid.UUID, list[int]] = {}
    for i in fast:
        by_conversation.setdefault(items[i][1], []).append(i)
    rows: list[dict[str, object]] = []
    created: list[int] = []
    now = clock.now()
    try:
        async with savepoint(session):
            lasts = await repo.take_seqs(
                session, {conv: len(indices) for conv, indices in by_conversation.items()}
            )
            for conversation_id, indices in by_conversation.items():
                last = lasts[conversation_id]
                if last is None:  # closed: send() tells a retry from a refusal
                    slow.extend(indices)
                    continue
                for offset, i in enumerate(indices):
                    sender, _, payload = items[i]
                    out = MessageOut(
                        id=new_id(),
                        conversation_id=conversation_id,
                        seq=last - len(indices) + 1 + offset,
                        sender_id=sender,
                        kind=payload.kind,
                        body=payload.body,
                        created_at=now,
                        client_msg_id=payload.client_msg_id,
                    )
                    rows.append(
                        {
                            "id": out.id,
                            "conversation_id": conversation_id,
                            "seq": out.seq,
                            "sender_id": sender,
                            "client_msg_id": payload.client_msg_id,
                            "kind": payload.kind,
                            "body": payload.body,
                            "reply_to_id": None,
                            "ai_assisted": False,
                            "shadowed": False,
                            "created_at": now,
                            "redacted_at": None,
                        }
                    )
                    results[i] = out
                    created.append(i)
            if rows:
                await repo.insert_many(session, rows)
    except IntegrityError:
        # A twin of one of these was stored meanwhile (another node): redo them one by one.
        for i in created:
            results[i] = None
        slow.extend(i for i in fast if i not in slow)
        return []
    return created


AUTOMATION_KINDS = ("system", "bot")


async def send_automated(
    session: AsyncSession, conversation_id: uuid.UUID, kind: str, body: str, key: str
) -> tuple[MessageOut, bool]:
    """Store a system or bot message (no sender) in a live conversation, idempotent per
    ``key``; fan-out after commit like any message. Returns ``(message, created)``."""
    if kind not in AUTOMATION_KINDS:
        raise BadRequest("Automated messages are 'system' or 'bot'.", code="invalid_kind")
    existing = await repo.automation_message(session, conversation_id, key)
    if existing is not None:
        return to_out(existing), False
    conv = await repo.get(session, conversation_id)
    if conv is None:
        raise NotFound("No such conversation.", code="conversation_not_found")
    try:
        async with session.begin_nested():
            seq = await repo.next_seq(session, conversation_id)
            if seq is None:
                raise Conflict("This conversation has ended.", code="conversation_closed")
            msg = Message(
                conversation_id=conversation_id,
                seq=seq,
                sender_id=None,
                client_msg_id=key,
                kind=kind,
                body=body,
            )
            session.add(msg)
            await session.flush()
    except IntegrityError:
        again = await repo.automation_message(session, conversation_id, key)
        if again is None:
            raise
        return to_out(again), False
    out = to_out(msg)
    emit(
        session,
        "message.created",
        {
            "message": out.model_dump(mode="json"),
            "recipients": [str(u) for u in await members_of(session, conversation_id)],
        },
    )
    return out, True


async def first_message_state(
    session: AsyncSession, conversation_id: uuid.UUID
) -> tuple[bool, int, list[uuid.UUID]]:
    """(live, last seq, members) of a conversation; (False, 0, []) when it does not exist."""
    conv = await repo.get(session, conversation_id)
    if conv is None:
        return False, 0, []
    return conv.closed_at is None, conv.last_seq, await repo.members(session, conversation_id)

"""AI flows: icebreakers on a match, reply help, message analysis with safety warnings, draft
polishing and conversation health.

Reads and writes happen in short transactions; provider calls happen between them, never while
a transaction (and on SQLite the write lock) is held. Only pseudonymous profile data and the
minimum of text leave the server; users who turned the assistant off get no AI features and
their text never goes to a remote provider (local safety analysis still runs).
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rapport.accounts import service as accounts
from rapport.accounts.schemas import Preferences
from rapport.ai import repository as repo
from rapport.ai.models import AIResult
from rapport.ai.providers.base import Provider
from rapport.ai.router import AIRouter
from rapport.ai.schemas import (
    ChatLine,
    ConversationContext,
    ConversationHealth,
    Enhancement,
    Icebreaker,
    MessageAnalysis,
    ProfileBrief,
    ReplySuggestions,
)
from rapport.chat import service as chat
from rapport.events.publish import emit
from rapport.kit import clock
from rapport.kit.db import transaction
from rapport.kit.errors import Forbidden, NotFound, RapportError
from rapport.profiles import service as profiles

CONTEXT_LINES = 20
Factory = async_sessionmaker[AsyncSession]


@dataclass
class Prepared:
    context: ConversationContext
    peer_id: uuid.UUID
    remote_allowed: bool


async def _brief(session: AsyncSession, user_id: uuid.UUID, ref: str) -> ProfileBrief:
    profile = await profiles.profile_of(session, user_id)
    tags = (await profiles.interests_map(session, [user_id]))[user_id]
    if profile is None:
        return ProfileBrief(ref=ref, interests=tags)
    return ProfileBrief(
        ref=ref,
        display_name=profile.display_name or "",
        age=profiles.age_on(profile.birth_date, clock.today()) if profile.birth_date else None,
        interests=tags,
        interest_labels=[lab.en for lab in profiles.labels(tags)],
        languages=list(profile.languages),
        bio=profile.bio[:300],
    )


async def prepare(
    session: AsyncSession, user_id: uuid.UUID, conversation_id: uuid.UUID
) -> Prepared:
    """The pseudonymous context of a conversation as seen by one member (404 if not one)."""
    peers = await chat.peer_ids(session, user_id, conversation_id)
    peer = peers[0]
    prefs = await accounts.preferences_of(session, [user_id, peer])
    if user_id in prefs and not prefs[user_id].ai_enabled:
        raise Forbidden("The assistant is turned off in your settings.", code="ai_disabled")
    me_b, peer_b = await _brief(session, user_id, "A"), await _brief(session, peer, "B")
    lines = [
        ChatLine(
            speaker="A" if m.sender_id == user_id else "B", text=m.body, at=m.created_at.timestamp()
        )
        for m in await chat.recent_lines(session, conversation_id, CONTEXT_LINES)
        if m.kind == "text"
    ]
    # The peer's words go to a remote provider only if the peer allows AI too.
    both = all(p.ai_enabled for p in prefs.values()) and len(prefs) == 2
    return Prepared(ConversationContext(me=me_b, peer=peer_b, lines=lines), peer, both)


async def icebreakers_for_match(
    factory: Factory, router: AIRouter, conversation_id: uuid.UUID, user_ids: list[uuid.UUID]
) -> dict[uuid.UUID, Icebreaker]:
    """Icebreakers for each member of a new match who uses the assistant; stored and pushed."""
    out: dict[uuid.UUID, Icebreaker] = {}
    for user in user_ids:
        async with transaction(factory) as session:
            try:
                prepared = await prepare(session, user, conversation_id)
            except Forbidden:
                continue
        result, provider = await router.call(
            "icebreaker",
            _icebreaker_call(prepared.context),
            remote_allowed=prepared.remote_allowed,
        )
        async with transaction(factory) as session:
            session.add(
                AIResult(
                    kind="icebreaker",
                    provider=provider,
                    user_id=user,
                    conversation_id=conversation_id,
                    payload=result.model_dump(mode="json"),
                )
            )
            emit(
                session,
                "ai.icebreaker",
                {
                    "recipients": [str(user)],
                    "payload": {
                        "conversation_id": str(conversation_id),
                        "icebreaker": result.model_dump(mode="json"),
                    },
                },
            )
        out[user] = result
    return out


def _icebreaker_call(ctx: ConversationContext) -> Callable[[Provider], Awaitable[Icebreaker]]:
    hint = "zh" if ctx.me.languages[:1] == ["zh"] else ""
    return lambda p: p.icebreaker(ctx.me, ctx.peer, hint)


async def stored_icebreaker(
    session: AsyncSession, user_id: uuid.UUID, conversation_id: uuid.UUID
) -> Icebreaker | None:
    """The icebreaker prepared for this member when the match was made, if any."""
    await chat.peer_ids(session, user_id, conversation_id)
    row = await repo.latest(session, "icebreaker", conversation_id, user_id)
    return Icebreaker.model_validate(row.payload) if row else None


async def suggestions(
    factory: Factory, router: AIRouter, user_id: uuid.UUID, conversation_id: uuid.UUID
) -> ReplySuggestions:
    """Three replies (warm, playful, curious) and topic ideas, in the conversation's language."""
    async with transaction(factory) as session:
        prepared = await prepare(session, user_id, conversation_id)
    result, provider = await router.call(
        "replies",
        lambda p: p.suggest_replies(prepared.context),
        remote_allowed=prepared.remote_allowed,
    )
    async with transaction(factory) as session:
        session.add(
            AIResult(
                kind="suggestions",
                provider=provider,
                user_id=user_id,
                conversation_id=conversation_id,
                payload=result.model_dump(mode="json"),
            )
        )
        await chat.remember_offered(
            session, user_id, conversation_id, [r.text for r in result.replies]
        )
    return result


async def enhance(
    factory: Factory,
    router: AIRouter,
    user_id: uuid.UUID,
    conversation_id: uuid.UUID,
    draft: str,
) -> Enhancement:
    """Polish a draft and check it before sending (the sender's own text only)."""
    async with transaction(factory) as session:
        prepared = await prepare(session, user_id, conversation_id)
    result, _ = await router.call(
        "enhance",
        lambda p: p.enhance_message(draft, prepared.context),
        remote_allowed=prepared.remote_allowed,
    )
    async with transaction(factory) as session:
        await chat.remember_offered(session, user_id, conversation_id, [result.enhanced_message])
    return result


async def health(
    factory: Factory, router: AIRouter, user_id: uuid.UUID, conversation_id: uuid.UUID
) -> ConversationHealth:
    """How the conversation is going and what might help."""
    async with transaction(factory) as session:
        prepared = await prepare(session, user_id, conversation_id)
    result, _ = await router.call(
        "health",
        lambda p: p.conversation_health(prepared.context),
        remote_allowed=prepared.remote_allowed,
    )
    return result


async def analyze_batch(
    factory: Factory,
    router: AIRouter,
    items: list[tuple[dict[str, Any], list[str]]],
    on_cpu: Callable[[float], None] | None = None,
) -> list[MessageAnalysis]:
    """Analyse new text messages (after delivery) and store the results in one transaction.
    Safety warnings and the moderation queue are moderation's, decided on the send path
    with the same detector (rapport.moderation.gate).

    ``on_cpu`` is told the CPU time of each local analysis, measured between two yields to the
    loop, so it is the analysis's own and none of the traffic that ran in between."""
    texts = [(m, r) for m, r in items if m.get("kind") == "text" and m.get("sender_id")]
    if not texts:
        return []
    senders = list({uuid.UUID(m["sender_id"]) for m, _ in texts})
    prefs: dict[uuid.UUID, Preferences] = {}
    if router.provider_for("analysis") is not router.local:  # opt-outs matter only for remote
        async with transaction(factory) as session:
            prefs = await accounts.preferences_of(session, senders)
    results = []
    for message, _ in texts:
        sender = uuid.UUID(message["sender_id"])
        remote = sender in prefs and prefs[sender].ai_enabled
        started = time.process_time()
        result, provider = await router.call(
            "analysis", _analysis_call(message["body"]), remote_allowed=remote
        )
        if on_cpu is not None and provider == "local":  # a remote call awaited the network
            on_cpu(time.process_time() - started)
        results.append((result, provider))
        await asyncio.sleep(0)  # local analysis never awaits: let sends through between two
    souring = {
        m["conversation_id"]: m
        for (m, _), (r, _) in zip(texts, results, strict=True)
        if r.sentiment == "negative"
    }
    rows = [
        {
            "kind": "analysis",
            "provider": provider,
            "user_id": uuid.UUID(message["sender_id"]),
            "conversation_id": uuid.UUID(message["conversation_id"]),
            "message_id": uuid.UUID(message["id"]),
            "payload": result.model_dump(mode="json"),
        }
        for (message, _recipients), (result, provider) in zip(texts, results, strict=True)
    ]
    async with transaction(factory) as session:
        await repo.add_many(session, rows)
    for message in souring.values():
        await _advise_on_negative_trend(factory, router, message)
    return [r for r, _ in results]


async def _advise_on_negative_trend(
    factory: Factory, router: AIRouter, message: dict[str, Any]
) -> None:
    """When a conversation's mood turns negative, each member who uses the assistant gets
    private advice with lighter topics (at most once a day per conversation)."""
    conversation_id = uuid.UUID(message["conversation_id"])
    async with transaction(factory) as session:
        members = await chat.members_of(session, conversation_id)
    for user in members:
        try:
            async with transaction(factory) as session:
                prepared = await prepare(session, user, conversation_id)
        except RapportError:
            continue
        health = await router.local.conversation_health(prepared.context)
        if health.intervention != "positive_topics":
            return
        ideas = await router.local.suggest_replies(prepared.context)
        try:
            async with transaction(factory) as session:
                # At most one piece of advice per member and conversation a day.
                key = f"advice:{conversation_id}:{user}:{clock.today().isoformat()}"
                await _coach(session, user, conversation_id, "negative_trend", ideas, "local", key)
        except IntegrityError:
            continue


def _analysis_call(text: str) -> Callable[[Provider], Awaitable[MessageAnalysis]]:
    return lambda p: p.analyze_message(text, None)


async def export_for(session: AsyncSession, user_id: uuid.UUID) -> list[dict[str, Any]]:
    """AI results produced for or about the user."""
    return [
        {
            "kind": r.kind,
            "provider": r.provider,
            "conversation_id": str(r.conversation_id),
            "created_at": r.created_at.isoformat(),
            "payload": r.payload,
        }
        for r in await repo.of_user(session, user_id)
    ]


async def erase_for(session: AsyncSession, user_id: uuid.UUID) -> dict[str, int]:
    return {"ai_results_deleted": await repo.erase_user(session, user_id)}


QUESTION = re.compile(r"[?？]\s*$|[吗呢]\s*[?？]?\s*$")


async def coach_stalled(
    factory: Factory, router: AIRouter, stall_after: timedelta, window: timedelta
) -> int:
    """Nudge conversations that went quiet after a question: the member whose turn it is gets
    topic ideas. Each point of a conversation is nudged once, across every node."""
    async with transaction(factory) as session:
        quiet = await chat.quiet_conversations(session, stall_after, window)
    sent = 0
    for conversation_id, last, members in quiet:
        if not QUESTION.search(last.body) or last.sender_id is None:
            continue
        owes = [m for m in members if m != last.sender_id]
        for user in owes:
            if await _nudge(factory, router, user, conversation_id, last.seq):
                sent += 1
    return sent


async def _nudge(
    factory: Factory, router: AIRouter, user: uuid.UUID, conversation_id: uuid.UUID, seq: int
) -> bool:
    try:
        async with transaction(factory) as session:
            prepared = await prepare(session, user, conversation_id)
    except RapportError:
        return False  # assistant off, or no longer a member
    ideas, provider = await router.call(
        "replies",
        lambda p: p.suggest_replies(prepared.context),
        remote_allowed=prepared.remote_allowed,
    )
    try:
        async with transaction(factory) as session:
            key = f"nudge:{conversation_id}:{seq}:{user}"
            await _coach(session, user, conversation_id, "stalled", ideas, provider, key)
            await chat.remember_offered(
                session, user, conversation_id, [r.text for r in ideas.replies]
            )
    except IntegrityError:
        return False  # another node nudged this point already
    return True


async def _coach(
    session: AsyncSession,
    user: uuid.UUID,
    conversation_id: uuid.UUID,
    reason: str,
    ideas: ReplySuggestions,
    provider: str,
    dedupe_key: str,
) -> None:
    """Record a coaching message once (IntegrityError if ``dedupe_key`` exists) and push it."""
    session.add(
        AIResult(
            kind="coach",
            provider=provider,
            user_id=user,
            conversation_id=conversation_id,
            dedupe_key=dedupe_key,
            payload={"reason": reason, "topics": ideas.topics},
        )
    )
    await session.flush()
    emit(
        session,
        "ai.coach",
        {
            "recipients": [str(user)],
            "payload": {
                "conversation_id": str(conversation_id),
                "reason": reason,
                "topics": ideas.topics,
                "replies": [r.model_dump() for r in ideas.replies],
            },
        },
    )


async def attach_result(
    session: AsyncSession,
    conversation_id: uuid.UUID,
    kind: str,
    user_id: uuid.UUID | None,
    payload: dict[str, Any],
    key: str,
) -> tuple[uuid.UUID, bool]:
    """Store a result an external workflow computed (provider ``automation``) and show it to
    the member(s) as ``ai:result``; idempotent per ``key``. Returns ``(id, created)``."""
    members = await chat.members_of(session, conversation_id)
    if not members:
        raise NotFound("No such conversation.", code="conversation_not_found")
    if user_id is not None and user_id not in members:
        raise NotFound("That user is not in this conversation.", code="not_a_member")
    dedupe = f"automation:{key}"
    existing = await repo.by_dedupe_key(session, dedupe)
    if existing is not None:
        return existing.id, False
    for_users = [user_id] if user_id is not None else sorted(members)
    prefs = await accounts.preferences_of(session, list(for_users))
    # The assistant is opt-in per member: results never reach someone who turned it off.
    for_users = [u for u in for_users if u in prefs and prefs[u].ai_enabled]
    result = AIResult(
        kind=kind,
        provider="automation",
        user_id=user_id,
        conversation_id=conversation_id,
        payload=payload,
        dedupe_key=dedupe,
    )
    try:
        async with session.begin_nested():
            session.add(result)
            await session.flush()
    except IntegrityError:
        again = await repo.by_dedupe_key(session, dedupe)
        if again is None:
            raise
        return again.id, False
    if for_users:
        emit(
            session,
            "ai.result",
            {
                "recipients": [str(u) for u in for_users],
                "payload": {
                    "conversation_id": str(conversation_id),
                    "kind": kind,
                    "result": payload,
                },
            },
        )
    return result.id, True

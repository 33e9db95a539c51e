"""Discovery, likes and passes, mutual matches, unmatch and block."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from rapport.accounts import service as accounts
from rapport.chat import service as chat
from rapport.config import Settings
from rapport.events.publish import emit
from rapport.kit import clock
from rapport.kit.errors import BadRequest, NotFound
from rapport.kit.ratelimit import Limiter, enforce
from rapport.matching import repository as repo
from rapport.matching import scoring
from rapport.matching.models import Match, Swipe
from rapport.matching.schemas import (
    Candidate,
    DiscoverPage,
    Explanation,
    LikeResult,
    MatchOut,
)
from rapport.moderation import service as moderation
from rapport.profiles import service as profiles
from rapport.profiles.models import Profile

LIKES_PER_DAY = 500


def _side(p: Profile, interests: list[str]) -> scoring.Side:
    assert p.birth_date is not None
    return scoring.Side(
        age=profiles.age_on(p.birth_date, clock.today()),
        age_min=p.age_min,
        age_max=p.age_max,
        interests=interests,
        languages=p.languages,
    )


def _summaries(shared: list[dict[str, str]]) -> tuple[str, str]:
    if not shared:
        return (
            "New to each other: a chance to discover something.",
            "还没有共同兴趣，正好互相发现。",
        )
    en = [s["en"] for s in shared[:3]]
    zh = [s["zh"] for s in shared[:3]]
    en_list = en[0] if len(en) == 1 else ", ".join(en[:-1]) + " and " + en[-1]
    return f"You both like {en_list}.", f"你们都喜欢{'、'.join(zh)}。"


async def discover(
    session: AsyncSession, me: uuid.UUID, settings: Settings, limit: int, max_km: float | None
) -> DiscoverPage:
    """Ranked candidates that fit both people's preferences, not blocked and not yet swiped."""
    max_km = max_km if max_km is not None else settings.discovery_max_distance_km
    exclude = (await repo.swiped_by(session, me)) | (await moderation.hidden_from(session, me))
    viewer, found = await profiles.candidates(
        session, me, exclude, max_km, settings.discovery_candidate_pool
    )
    if not found:
        return DiscoverPage(candidates=[])
    cards = await profiles.cards(session, viewer, found)
    ids = [p.user_id for p in found if p.user_id in cards]
    interests = await profiles.interests_map(session, [me, *ids])
    freq, n = await profiles.tag_rarity(session, {t for ts in interests.values() for t in ts})
    activity = await accounts.activity(session, ids)
    now = clock.now()
    mine = _side(viewer, interests[me])
    ranked: list[Candidate] = []
    for p in found:
        card = cards.get(p.user_id)
        if card is None:
            continue
        s = scoring.score(
            mine,
            _side(p, interests[p.user_id]),
            freq=freq,
            n=n,
            last_active=activity[p.user_id][1],
            now=now,
            km=profiles.distance_between(viewer, p),
            max_km=max_km,
        )
        shared = [lab.model_dump() for lab in profiles.labels(s.shared)]
        en, zh = _summaries(shared)
        ranked.append(
            Candidate(
                profile=card,
                score=s.total,
                explanation=Explanation(
                    shared_interests=profiles.labels(s.shared),
                    parts=s.parts,
                    summary_en=en,
                    summary_zh=zh,
                ),
            )
        )
    ranked.sort(key=lambda c: (-c.score, str(c.profile.id)))
    return DiscoverPage(candidates=ranked[:limit])


async def _match_out(session: AsyncSession, me: uuid.UUID, match: Match) -> MatchOut | None:
    peer_id = match.peer_of(me)
    viewer = await profiles.profile_of(session, me)
    peer = await profiles.profiles_of(session, [peer_id])
    cards = await profiles.cards(session, viewer, peer)
    if peer_id not in cards:
        return None
    conv = (await chat.conversations_for_matches(session, [match.id])).get(match.id)
    return MatchOut(
        id=match.id,
        created_at=match.created_at,
        conversation_id=conv.id if conv else None,
        peer=cards[peer_id],
    )


async def like(
    session: AsyncSession, me: uuid.UUID, target: uuid.UUID, limiter: Limiter
) -> LikeResult:
    """Like someone; a like back creates the match and its conversation in this transaction."""
    if me == target:
        raise BadRequest("You cannot like yourself.", code="self_action")
    await profiles.require_visible(session, me, target)
    await moderation.ensure_may_start_chats(session, me)
    await enforce(limiter, f"likes:{me}", LIKES_PER_DAY, 86400, "likes today")
    await repo.lock_pair(session, me, target)
    swipe = await repo.get_swipe(session, me, target)
    if swipe is None:
        session.add(Swipe(swiper_id=me, target_id=target, action="like"))
    else:
        swipe.action = "like"
    await session.flush()
    match = await repo.match_between(session, me, target)
    if match is None:
        back = await repo.get_swipe(session, target, me)
        if back is None or back.action != "like":
            return LikeResult(liked=True, matched=False)
        low, high = repo.ordered(me, target)
        match = Match(user_low=low, user_high=high)
        session.add(match)
        await session.flush()
        conv = await chat.open_for_match(session, match.id, [low, high])
        emit(
            session,
            "match.created",
            {
                "match_id": str(match.id),
                "conversation_id": str(conv.id),
                "user_ids": [str(low), str(high)],
            },
        )
    if match.ended_at is not None:
        return LikeResult(liked=True, matched=False)
    return LikeResult(liked=True, matched=True, match=await _match_out(session, me, match))


async def pass_(session: AsyncSession, me: uuid.UUID, target: uuid.UUID) -> None:
    """Pass on someone: they leave your discovery. A like already given stays a like."""
    if me == target:
        raise BadRequest("You cannot pass on yourself.", code="self_action")
    await profiles.require_visible(session, me, target)
    if await repo.get_swipe(session, me, target) is None:
        session.add(Swipe(swiper_id=me, target_id=target, action="pass"))
        await session.flush()


async def list_matches(session: AsyncSession, me: uuid.UUID) -> list[MatchOut]:
    """Active matches with each peer's public profile and the conversation id."""
    matches = await repo.matches_of(session, me, active=True)
    if not matches:
        return []
    hidden = await moderation.hidden_from(session, me)
    matches = [m for m in matches if m.peer_of(me) not in hidden]
    viewer = await profiles.profile_of(session, me)
    peers = await profiles.profiles_of(session, [m.peer_of(me) for m in matches])
    cards = await profiles.cards(session, viewer, peers)
    convs = await chat.conversations_for_matches(session, [m.id for m in matches])
    return [
        MatchOut(
            id=m.id,
            created_at=m.created_at,
            conversation_id=convs[m.id].id if m.id in convs else None,
            peer=cards[m.peer_of(me)],
        )
        for m in matches
        if m.peer_of(me) in cards
    ]


async def _end(session: AsyncSession, match: Match, by: uuid.UUID, reason: str) -> None:
    match.ended_at = clock.now()
    match.ended_by = by
    match.end_reason = reason
    await chat.close_for_match(session, match.id, reason)
    emit(
        session,
        "match.ended",
        {
            "match_id": str(match.id),
            "user_ids": [str(match.user_low), str(match.user_high)],
            "ended_by": str(by),
            "reason": reason,
        },
    )


async def unmatch(session: AsyncSession, me: uuid.UUID, match_id: uuid.UUID) -> Match:
    """End a match for both people; its conversation closes."""
    match = await repo.get_match(session, match_id)
    if match is None or me not in (match.user_low, match.user_high) or match.ended_at:
        raise NotFound("No such match.", code="match_not_found")
    await _end(session, match, me, "unmatched")
    return match


async def block(session: AsyncSession, me: uuid.UUID, target: uuid.UUID) -> None:
    """Block someone: symmetric in effect, ends any match, hides both from each other."""
    if me == target:
        raise BadRequest("You cannot block yourself.", code="self_action")
    if await accounts.get_user(session, target) is None:
        raise NotFound("No such user.", code="user_not_found")
    await repo.lock_pair(session, me, target)
    await moderation.add_block(session, me, target)
    match = await repo.match_between(session, me, target)
    if match is not None and match.ended_at is None:
        await _end(session, match, me, "blocked")


async def export_for(session: AsyncSession, user_id: uuid.UUID) -> dict[str, object]:
    """Swipes made and matches held."""
    return {
        "swipes": [
            {
                "target_id": str(s.target_id),
                "action": s.action,
                "created_at": s.created_at.isoformat(),
            }
            for s in await repo.swipes_made(session, user_id)
        ],
        "matches": [
            {
                "id": str(m.id),
                "peer_id": str(m.peer_of(user_id)),
                "created_at": m.created_at.isoformat(),
                "ended_at": m.ended_at.isoformat() if m.ended_at else None,
                "end_reason": m.end_reason,
            }
            for m in await repo.matches_of(session, user_id, active=False)
        ],
    }


async def erase_for(session: AsyncSession, user_id: uuid.UUID) -> dict[str, int]:
    """End every match (closing conversations) and delete swipes both ways."""
    ended = 0
    for m in await repo.matches_of(session, user_id, active=True):
        await _end(session, m, user_id, "account_deleted")
        ended += 1
    return {"matches_ended": ended, "swipes_deleted": await repo.delete_swipes(session, user_id)}


async def match_peers(session: AsyncSession, me: uuid.UUID) -> list[uuid.UUID]:
    """Everyone the user has a live match with (the audience of their presence); nobody for
    a shadow-banned user."""
    if await moderation.is_shadowed(session, me):
        return []
    hidden = await moderation.hidden_from(session, me)
    return [
        m.peer_of(me)
        for m in await repo.matches_of(session, me, active=True)
        if m.peer_of(me) not in hidden
    ]

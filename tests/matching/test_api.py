from __future__ import annotations

from collections.abc import Callable

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.chat.models import Conversation, ConversationMember
from rapport.events.schemas import DomainEvent
from rapport.runtime import Runtime
from tests.factories import create_pair, create_user, match


async def discover_ids(client: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    r = await client.get("/api/v1/discover", headers=headers)
    assert r.status_code == 200, r.text
    return [c["profile"]["id"] for c in r.json()["candidates"]]


async def test_mutual_like_creates_one_match_and_conversation(
    client: httpx.AsyncClient,
    session: AsyncSession,
    rt: Runtime,
    record_events: Callable[[str], list[DomainEvent]],
) -> None:
    seen = record_events("match.created")
    a, b = await create_pair(client)
    first = await client.post(f"/api/v1/users/{b.id}/like", headers=a.headers)
    assert first.json() == {"liked": True, "matched": False, "match": None}
    m = await match(client, a, b)
    await rt.bus.drain()
    assert len(seen) == 1 and seen[0].data["match_id"] == m["id"]
    for me, peer in ((a, b), (b, a)):
        matches = (await client.get("/api/v1/matches", headers=me.headers)).json()
        assert [x["id"] for x in matches] == [m["id"]]
        assert matches[0]["peer"]["id"] == str(peer.id)
        assert matches[0]["conversation_id"] == m["conversation_id"]
    convs = (await session.scalars(select(Conversation))).all()
    assert [str(c.id) for c in convs] == [m["conversation_id"]]
    members = (await session.scalars(select(ConversationMember.user_id))).all()
    assert sorted(members) == sorted([a.id, b.id])
    # Liking again is idempotent: still one match.
    again = await client.post(f"/api/v1/users/{b.id}/like", headers=a.headers)
    assert again.json()["match"]["id"] == m["id"]


async def test_block_hides_both_ways_everywhere(client: httpx.AsyncClient) -> None:
    a, b = await create_pair(client)
    await match(client, a, b)
    c = await create_user(
        client,
        display_name="Cat",
        gender="man",
        seeking={"genders": ["woman"], "age_min": 25, "age_max": 40},
    )
    assert str(c.id) in await discover_ids(client, a.headers)
    r = await client.post(f"/api/v1/users/{b.id}/block", headers=a.headers)
    assert r.status_code == 200
    for me, other in ((a, b), (b, a)):
        assert str(other.id) not in await discover_ids(client, me.headers)
        assert (
            await client.get(f"/api/v1/users/{other.id}", headers=me.headers)
        ).status_code == 404
        assert (await client.get("/api/v1/matches", headers=me.headers)).json() == []
        assert (
            await client.post(f"/api/v1/users/{other.id}/like", headers=me.headers)
        ).status_code == 404
    # Blocking twice is fine.
    assert (await client.post(f"/api/v1/users/{b.id}/block", headers=a.headers)).status_code == 200


async def test_discovery_respects_both_preferences(client: httpx.AsyncClient) -> None:
    a = await create_user(client)  # woman, 31, seeks men 25-40, Shanghai
    fits = await create_user(
        client, gender="man", seeking={"genders": ["woman"], "age_min": 25, "age_max": 40}
    )
    wrong_gender = await create_user(
        client, gender="woman", seeking={"genders": ["woman"], "age_min": 25, "age_max": 40}
    )
    not_into_her = await create_user(
        client, gender="man", seeking={"genders": ["man"], "age_min": 25, "age_max": 40}
    )
    too_young_for_him = await create_user(
        client, gender="man", seeking={"genders": ["woman"], "age_min": 18, "age_max": 24}
    )
    too_old = await create_user(
        client,
        gender="man",
        birth_date="1970-01-01",
        seeking={"genders": ["woman"], "age_min": 25, "age_max": 60},
    )
    far = await create_user(
        client,
        gender="man",
        seeking={"genders": ["woman"], "age_min": 25, "age_max": 40},
        location={"lat": 39.9042, "lon": 116.4074},
    )
    ids = await discover_ids(client, a.headers)
    assert str(fits.id) in ids
    for excluded in (wrong_gender, not_into_her, too_young_for_him, too_old, far):
        assert str(excluded.id) not in ids
    wide = await client.get("/api/v1/discover?max_distance_km=2000", headers=a.headers)
    assert str(far.id) in [c["profile"]["id"] for c in wide.json()["candidates"]]
    await client.post(f"/api/v1/users/{fits.id}/pass", headers=a.headers)
    assert str(fits.id) not in await discover_ids(client, a.headers)


async def test_ranking_and_explanation(client: httpx.AsyncClient) -> None:
    a = await create_user(client, interests=["outdoors.hiking", "music.jazz", "books.poetry"])
    close = await create_user(
        client,
        gender="man",
        seeking={"genders": ["woman"], "age_min": 25, "age_max": 40},
        interests=["music.jazz", "books.poetry"],
    )
    meh = await create_user(
        client,
        gender="man",
        seeking={"genders": ["woman"], "age_min": 25, "age_max": 40},
        interests=["gaming.esports"],
        languages=["fr"],
    )
    r = await client.get("/api/v1/discover", headers=a.headers)
    cands = r.json()["candidates"]
    order = [c["profile"]["id"] for c in cands]
    assert order.index(str(close.id)) < order.index(str(meh.id))
    top = next(c for c in cands if c["profile"]["id"] == str(close.id))
    assert {i["id"] for i in top["explanation"]["shared_interests"]} == {
        "music.jazz",
        "books.poetry",
    }
    assert set(top["explanation"]["parts"]) == {
        "interests",
        "preference",
        "language",
        "activity",
        "distance",
    }
    assert top["explanation"]["summary_en"].startswith("You both like")
    assert top["explanation"]["summary_zh"].startswith("你们都喜欢")


async def test_discovery_needs_complete_profile(client: httpx.AsyncClient) -> None:
    from tests.factories import register

    user = await register(client)
    r = await client.get("/api/v1/discover", headers=user.headers)
    assert r.status_code == 422 and r.json()["code"] == "profile_incomplete"


async def test_unmatch_closes_conversation(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    a, b = await create_pair(client)
    m = await match(client, a, b)
    r = await client.delete(f"/api/v1/matches/{m['id']}", headers=b.headers)
    assert r.status_code == 200
    assert (await client.get("/api/v1/matches", headers=a.headers)).json() == []
    conv = await session.get(Conversation, __import__("uuid").UUID(m["conversation_id"]))
    assert conv is not None and conv.closed_at is not None
    assert (await client.delete(f"/api/v1/matches/{m['id']}", headers=a.headers)).status_code == 404


async def test_self_actions_are_refused(client: httpx.AsyncClient) -> None:
    a = await create_user(client)
    for action in ("like", "pass", "block"):
        r = await client.post(f"/api/v1/users/{a.id}/{action}", headers=a.headers)
        assert r.status_code in (400, 404)


async def test_report_with_block(client: httpx.AsyncClient) -> None:
    a, b = await create_pair(client)
    await match(client, a, b)
    r = await client.post(
        "/api/v1/reports",
        headers=a.headers,
        json={"user_id": str(b.id), "reason": "harassment", "details": "rude", "block": True},
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "open" and r.json()["blocked"] is True
    assert (await client.get("/api/v1/matches", headers=a.headers)).json() == []
    bad = await client.post(
        "/api/v1/reports",
        headers=a.headers,
        json={
            "user_id": str(b.id),
            "reason": "scam",
            "message_ids": ["01a2158a-3ff2-7a03-aa3d-5f0f4c365991"],
        },
    )
    assert bad.status_code == 422 and bad.json()["code"] == "unknown_messages"

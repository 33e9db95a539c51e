"""Admin and moderator REST: roles, the report queue, sanctions (with events, ban effects
and reversal), runtime word-list edits reloaded on every node."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx

from rapport.events.schemas import DomainEvent
from rapport.kit import clock
from rapport.kit.db import transaction
from rapport.moderation import repository as repo
from rapport.moderation import sanctions
from rapport.moderation.gate import Moderation
from rapport.runtime import Runtime
from tests.factories import PASSWORD, create_user
from tests.moderation.helpers import chatting_pair, sanction, send, staff

Recorder = Callable[[str], list[DomainEvent]]


async def test_roles(client: httpx.AsyncClient, rt: Runtime) -> None:
    member = await create_user(client)
    moderator = await staff(client, rt, "moderator")
    admin = await staff(client, rt, "admin")
    assert (await client.get("/api/v1/admin/reports", headers=member.headers)).status_code == 403
    assert (await client.get("/api/v1/admin/reports", headers=moderator.headers)).status_code == 200
    body = {"level": "warn", "reason": "test"}
    url = f"/api/v1/admin/users/{member.id}/sanctions"
    assert (await client.post(url, headers=moderator.headers, json=body)).status_code == 403
    assert (await client.post(url, headers=admin.headers, json=body)).status_code == 201
    r = await client.post(
        "/api/v1/admin/moderation/terms",
        headers=moderator.headers,
        json={"category": "abuse", "term": "zorbulon"},
    )
    assert r.status_code == 403 and r.json()["code"] == "role_required"


async def test_queue_assign_resolve_and_escalate(
    client: httpx.AsyncClient, rt: Runtime, record_events: Recorder
) -> None:
    sanctioned = record_events("user.sanctioned")
    moderator = await staff(client, rt, "moderator")
    a, b, conv = await chatting_pair(client)
    sent = (await send(client, conv, a, "you're so ugly", confirm=True)).json()
    reports = []
    for _ in range(2):
        r = await client.post(
            "/api/v1/reports",
            headers=b.headers,
            json={"user_id": str(a.id), "reason": "harassment", "message_ids": [sent["id"]]},
        )
        reports.append(r.json()["id"])
    page = await client.get(
        "/api/v1/admin/reports",
        headers=moderator.headers,
        params={"status": "open", "reported_user_id": str(a.id)},
    )
    assert {x["id"] for x in page.json()["reports"]} == set(reports)
    detail = await client.get(f"/api/v1/admin/reports/{reports[0]}", headers=moderator.headers)
    evidence = detail.json()["evidence"]["messages"]
    assert [m["body"] for m in evidence if m["reported"]] == ["you're so ugly"]
    assigned = await client.post(
        f"/api/v1/admin/reports/{reports[0]}/assign", headers=moderator.headers, json={}
    )
    assert assigned.json()["status"] == "in_review"
    assert assigned.json()["assignee_id"] == str(moderator.id)
    mine = await client.get(
        "/api/v1/admin/reports", headers=moderator.headers, params={"assignee": "me"}
    )
    assert [x["id"] for x in mine.json()["reports"]] == [reports[0]]
    levels = []
    for report_id in reports:
        done = await client.post(
            f"/api/v1/admin/reports/{report_id}/resolve",
            headers=moderator.headers,
            json={"outcome": "confirmed", "note": "clear insult"},
        )
        assert done.status_code == 200, done.text
        assert done.json()["report"]["status"] == "resolved"
        levels.append(done.json()["sanction"]["level"])
    assert levels == ["warn", "rate_limit"]  # each confirmed report is one step up
    again = await client.post(
        f"/api/v1/admin/reports/{reports[0]}/resolve",
        headers=moderator.headers,
        json={"outcome": "dismissed"},
    )
    assert again.status_code == 409 and again.json()["code"] == "report_resolved"
    await rt.bus.drain()
    assert [e.data["level"] for e in sanctioned] == ["warn", "rate_limit"]
    assert all(e.data["user_id"] == str(a.id) for e in sanctioned)


async def test_ban_refuses_login_and_refresh_until_lifted(
    client: httpx.AsyncClient, rt: Runtime, record_events: Recorder
) -> None:
    lifted = record_events("user.sanction_lifted")
    revoked = record_events("auth.sessions_revoked")
    admin = await staff(client, rt, "admin")
    user = await create_user(client)
    ban = await sanction(client, admin, user, "ban")
    assert ban["expires_at"] is None and ban["active"] is True
    assert (await client.get("/api/v1/me", headers=user.headers)).status_code == 401
    login = await client.post(
        "/api/v1/auth/login", json={"email": user.email, "password": PASSWORD}
    )
    assert login.status_code == 403 and login.json()["code"] == "account_banned"
    refresh = await client.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert refresh.status_code == 401
    await rt.bus.drain()
    assert revoked[-1].data["user_id"] == str(user.id)  # this node closes sockets at once
    r = await client.post(
        f"/api/v1/admin/sanctions/{ban['id']}/lift",
        headers=admin.headers,
        json={"reason": "appeal"},
    )
    assert r.status_code == 200 and r.json()["active"] is False
    again = await client.post(
        f"/api/v1/admin/sanctions/{ban['id']}/lift", headers=admin.headers, json={"reason": "x"}
    )
    assert again.status_code == 409
    login = await client.post(
        "/api/v1/auth/login", json={"email": user.email, "password": PASSWORD}
    )
    assert login.status_code == 200
    await rt.bus.drain()
    assert [(e.data["level"], e.data["reason"]) for e in lifted] == [("ban", "appeal")]
    history = await client.get(f"/api/v1/admin/users/{user.id}/sanctions", headers=admin.headers)
    assert [(s["level"], s["lift_reason"]) for s in history.json()] == [("ban", "appeal")]


async def test_expired_sanctions_are_lifted(client: httpx.AsyncClient, rt: Runtime) -> None:
    admin = await staff(client, rt, "admin")
    user = await create_user(client)
    mute = await sanction(client, admin, user, "mute", duration_s=60)
    async with transaction(rt.sessionmaker) as s:
        row = await repo.get_sanction(s, uuid.UUID(mute["id"]))
        assert row is not None
        row.expires_at = clock.now()
    async with transaction(rt.sessionmaker) as s:
        assert await sanctions.expire_due(s) >= 1
    history = await client.get(f"/api/v1/admin/users/{user.id}/sanctions", headers=admin.headers)
    assert history.json()[0]["lift_reason"] == "expired"


async def test_word_list_edits_apply_on_every_node(client: httpx.AsyncClient, rt: Runtime) -> None:
    admin = await staff(client, rt, "admin")
    other_node = Moderation(rt.settings)
    async with transaction(rt.sessionmaker) as s:
        await other_node.lists.ensure(s)
    a, b, conv = await chatting_pair(client)
    assert (await send(client, conv, a, "you zorbulon")).status_code == 201
    before = (await client.get("/api/v1/admin/moderation/lists", headers=admin.headers)).json()
    r = await client.post(
        "/api/v1/admin/moderation/terms",
        headers=admin.headers,
        json={"category": "abuse", "term": "Zorbulon"},
    )
    assert r.status_code == 200, r.text
    term_id = r.json()["id"]
    # This node reloaded right after the commit: the next send is a nudge.
    assert (await send(client, conv, a, "you ZORBULON")).json()["code"] == "confirm_required"
    after = (await client.get("/api/v1/admin/moderation/lists", headers=admin.headers)).json()
    assert after["version"] > before["version"]
    # Another node sees the new version and rebuilds (what its reload loop does).
    assert "abuse" not in other_node.lists.current.filter.scan("you zorbulon").categories
    assert await other_node.lists.refresh_with(rt.sessionmaker)
    assert "abuse" in other_node.lists.current.filter.scan("you zorbulon").categories
    assert not await other_node.lists.refresh_with(rt.sessionmaker)  # nothing new
    listed = await client.get(
        "/api/v1/admin/moderation/terms", headers=admin.headers, params={"category": "abuse"}
    )
    assert [t["term"] for t in listed.json()["terms"]] == ["Zorbulon"]
    gone = await client.delete(f"/api/v1/admin/moderation/terms/{term_id}", headers=admin.headers)
    assert gone.status_code == 204
    assert (await send(client, conv, a, "you zorbulon again")).status_code == 201
    # Switching a shipped term off, and the allowlist.
    await client.post(
        "/api/v1/admin/moderation/terms",
        headers=admin.headers,
        json={"category": "abuse", "term": "傻逼", "enabled": False},
    )
    assert (await send(client, conv, a, "傻逼")).status_code == 201
    bad = await client.post(
        "/api/v1/admin/moderation/terms",
        headers=admin.headers,
        json={"category": "abuse", "term": " x "},
    )
    assert bad.status_code == 422


async def test_category_actions_and_dry_run(client: httpx.AsyncClient, rt: Runtime) -> None:
    admin = await staff(client, rt, "admin")
    dry = await client.post(
        "/api/v1/admin/moderation/screen",
        headers=admin.headers,
        json={"text": "加我微信 xiaomei_88", "position": 0},
    )
    assert dry.json()["outcome"] == "content_blocked"
    assert dry.json()["actions"] == {"contact": "block"}
    later = await client.post(
        "/api/v1/admin/moderation/screen",
        headers=admin.headers,
        json={"text": "加我微信 xiaomei_88", "position": 50},
    )
    assert later.json()["outcome"] == "confirm_required"
    r = await client.put(
        "/api/v1/admin/moderation/categories/contact",
        headers=admin.headers,
        json={"action": "flag"},
    )
    assert r.json()["action"] == "flag"
    dry = await client.post(
        "/api/v1/admin/moderation/screen",
        headers=admin.headers,
        json={"text": "加我微信 xiaomei_88"},
    )
    assert dry.json()["outcome"] == "deliver"
    r = await client.put(
        "/api/v1/admin/moderation/categories/contact", headers=admin.headers, json={"action": None}
    )
    assert r.json()["action"] == "policy"
    missing = await client.put(
        "/api/v1/admin/moderation/categories/allow", headers=admin.headers, json={"action": "block"}
    )
    assert missing.status_code == 404


async def test_standings_see_expiry_and_lower_steps_between_snapshot_reads(
    client: httpx.AsyncClient, rt: Runtime
) -> None:
    """The per-node snapshot of sanctions is read at most every couple of seconds, but an
    expiry takes effect at the look-up: the next step down shows, then nothing."""
    admin = await staff(client, rt, "admin")
    user = await create_user(client)
    frozen = clock.FrozenClock(clock.now())
    previous = clock.set_clock(frozen)
    try:
        await sanction(client, admin, user, "warn", duration_s=600)
        await sanction(client, admin, user, "mute", duration_s=60)
        async with transaction(rt.sessionmaker) as s:
            assert (await sanctions.standing(s, user.id)).level == "mute"
        frozen.advance(seconds=61)  # no forget(): the snapshot is still fresh
        async with transaction(rt.sessionmaker) as s:
            assert (await sanctions.standing(s, user.id)).level == "warn"
        frozen.advance(seconds=600)
        async with transaction(rt.sessionmaker) as s:
            assert (await sanctions.standing(s, user.id)) == sanctions.CLEAR
    finally:
        clock.set_clock(previous)

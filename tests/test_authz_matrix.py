"""No IDOR: for every route that takes an object id, a user who may not touch that object gets
404 or 403, and the object is unchanged. A new id-taking route fails this test until it is
added to the matrix."""

from __future__ import annotations

import re
import uuid

import httpx

from rapport.app import create_app
from tests.factories import create_pair, create_user, match

# (method, path template) -> how the outsider calls it
MATRIX = {
    ("GET", "/api/v1/users/{user_id}"),
    ("POST", "/api/v1/users/{user_id}/like"),
    ("POST", "/api/v1/users/{user_id}/pass"),
    ("POST", "/api/v1/users/{user_id}/block"),
    ("DELETE", "/api/v1/matches/{match_id}"),
    ("GET", "/api/v1/conversations/{conversation_id}/messages"),
    ("POST", "/api/v1/conversations/{conversation_id}/messages"),
    ("GET", "/api/v1/conversations/{conversation_id}/ai/icebreaker"),
    ("POST", "/api/v1/conversations/{conversation_id}/ai/suggestions"),
    ("POST", "/api/v1/conversations/{conversation_id}/ai/enhance"),
    ("GET", "/api/v1/conversations/{conversation_id}/ai/health"),
    # Admin routes: a member gets 403 role_required whatever the id.
    ("GET", "/api/v1/admin/webhooks/{subscription_id}"),
    ("PATCH", "/api/v1/admin/webhooks/{subscription_id}"),
    ("DELETE", "/api/v1/admin/webhooks/{subscription_id}"),
    ("POST", "/api/v1/admin/webhooks/{subscription_id}/rotate-secret"),
    ("GET", "/api/v1/admin/webhook-deliveries/{delivery_id}"),
    ("POST", "/api/v1/admin/webhook-dead-letters/{dead_letter_id}/replay"),
    ("DELETE", "/api/v1/admin/api-keys/{key_id}"),
    # Moderation admin: moderators (queue, risk) and admins (sanctions, lists) only.
    ("GET", "/api/v1/admin/reports/{report_id}"),
    ("POST", "/api/v1/admin/reports/{report_id}/assign"),
    ("POST", "/api/v1/admin/reports/{report_id}/resolve"),
    ("GET", "/api/v1/admin/conversations/{conversation_id}/risk"),
    ("GET", "/api/v1/admin/users/{user_id}/sanctions"),
    ("POST", "/api/v1/admin/users/{user_id}/sanctions"),
    ("POST", "/api/v1/admin/sanctions/{sanction_id}/lift"),
    ("PUT", "/api/v1/admin/users/{user_id}/verification"),
    ("DELETE", "/api/v1/admin/moderation/terms/{term_id}"),
    ("PUT", "/api/v1/admin/moderation/categories/{category}"),
}
# Automation routes take an API key, never a user's token (tested below).
AUTOMATION = {
    ("POST", "/api/v1/automation/conversations/{conversation_id}/messages"),
    ("POST", "/api/v1/automation/conversations/{conversation_id}/ai-results"),
    ("POST", "/api/v1/automation/users/{user_id}/notifications"),
}


def test_matrix_covers_every_id_route() -> None:
    paths = create_app().openapi()["paths"]
    routes = {
        (method.upper(), path) for path, ops in paths.items() if "{" in path for method in ops
    }
    assert routes == MATRIX | AUTOMATION


async def test_outsider_cannot_touch_foreign_objects(client: httpx.AsyncClient) -> None:
    a, b = await create_pair(client)
    m = await match(client, a, b)
    outsider = await create_user(client, display_name="Eve")
    # Eve blocks-by-being-blocked: Ann blocked her, so Ann's profile is off-limits to Eve.
    await client.post(f"/api/v1/users/{outsider.id}/block", headers=a.headers)
    ids = {
        "{user_id}": str(a.id),
        "{match_id}": str(m["id"]),
        "{conversation_id}": str(m["conversation_id"]),
    }
    bodies = {
        "/messages": {"client_msg_id": "outsider-01", "body": "hi"},
        "/enhance": {"draft": "hi"},
    }
    for method, path in sorted(MATRIX - {("POST", "/api/v1/users/{user_id}/block")}):
        url = path
        for key, value in ids.items():
            url = url.replace(key, value)
        url = re.sub(r"\{[a-z_]+\}", str(uuid.uuid4()), url)  # admin objects: any id
        body = next((b for suffix, b in bodies.items() if path.endswith(suffix)), None)
        r = await client.request(
            method, url, headers=outsider.headers, json=body if method == "POST" else None
        )
        assert r.status_code in (403, 404), (method, url, r.status_code)
    # The match between Ann and Ben is intact for both.
    for user in (a, b):
        assert [
            x["id"] for x in (await client.get("/api/v1/matches", headers=user.headers)).json()
        ] == [m["id"]]
    # Blocking is allowed on anyone (it only protects the caller) but never ends others' matches.
    r = await client.post(f"/api/v1/users/{a.id}/block", headers=outsider.headers)
    assert r.status_code == 200
    assert [x["id"] for x in (await client.get("/api/v1/matches", headers=b.headers)).json()] == [
        m["id"]
    ]


async def test_anonymous_calls_are_refused(client: httpx.AsyncClient) -> None:
    a, _ = await create_pair(client)
    for method, path in MATRIX:
        url = (
            path.replace("{user_id}", str(a.id))
            .replace("{match_id}", str(a.id))
            .replace("{conversation_id}", str(a.id))
        )
        url = re.sub(r"\{[a-z_]+\}", str(uuid.uuid4()), url)
        assert (await client.request(method, url)).status_code == 401


async def test_automation_routes_take_only_api_keys_with_the_scope(
    client: httpx.AsyncClient,
) -> None:
    from rapport.kit.db import transaction
    from rapport.workflows import service

    a, b = await create_pair(client)
    m = await match(client, a, b)
    rt = client._transport.app.state.runtime  # type: ignore[attr-defined]
    async with transaction(rt.sessionmaker) as session:
        _, key = await service.create_api_key(session, "ai only", ["ai:write"], None)
    for method, path in AUTOMATION:
        url = path.replace("{user_id}", str(a.id)).replace(
            "{conversation_id}", str(m["conversation_id"])
        )
        # A member's own token is not an API key, even for their own conversation.
        assert (await client.request(method, url, headers=a.headers)).status_code == 401
    r = await client.post(
        f"/api/v1/automation/conversations/{m['conversation_id']}/messages",
        json={"body": "x", "idempotency_key": "scope-test-1"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert r.status_code == 403 and r.json()["code"] == "scope_required"
    page = await client.get(
        f"/api/v1/conversations/{m['conversation_id']}/messages", headers=a.headers
    )
    assert page.json()["messages"] == []

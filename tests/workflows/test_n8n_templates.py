"""The importable n8n workflows in integrations/n8n/: their JSON shape, and their behaviour.

No n8n runs here. The structural tests check what n8n's importer and webhook registration rely
on (node ids and names, webhookIds, connections keyed by name, the Respond to Webhook wiring).
The behavioural tests run each workflow's own JavaScript under Node with a small stand-in for
n8n (``RUNNER`` below): Code nodes with ``$input``/``$``/``$getWorkflowStaticData``/``$env``,
IF conditions, Respond to Webhook, and HTTP Request nodes whose URL and JSON body expressions
are evaluated and recorded instead of sent. Requests are checked against the automation API's
own pydantic schemas and routes, deliveries are signed with ``rapport.workflows.signing``.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel

from rapport.events.catalog import CATALOG, ConversationStalled, MatchCreated, MessageCreated
from rapport.workflows import signing
from rapport.workflows.api import automation
from rapport.workflows.schemas import AutomatedMessageIn, NotificationIn, ReminderIn

DIR = Path(__file__).resolve().parents[2] / "integrations" / "n8n"
#: file → (webhook path, the event type the workflow handles)
FILES = {
    "new-message-pipeline.json": ("rapport/messages", "message.created"),
    "match-success-guide.json": ("rapport/matches", "match.created"),
    "follow-up-reminder.json": ("rapport/stalled", "conversation.stalled"),
}
SECRET_PLACEHOLDER = "REPLACE_WITH_RAPPORT_WEBHOOK_SECRET"
URL_PLACEHOLDER = "REPLACE_WITH_RAPPORT_URL"
RAPPORT = "http://rapport.test"
WEBHOOK = "n8n-nodes-base.webhook"
RESPOND = "n8n-nodes-base.respondToWebhook"
HTTP = "n8n-nodes-base.httpRequest"
TRIGGERS = {WEBHOOK}
SECRET = signing.new_secret()

Doc = dict[str, Any]


def load(name: str) -> Doc:
    doc: Doc = json.loads((DIR / name).read_text(encoding="utf-8"))
    return doc


def by_type(doc: Doc, node_type: str) -> list[Doc]:
    return [n for n in doc["nodes"] if n["type"] == node_type]


def node(doc: Doc, name: str) -> Doc:
    return next(n for n in doc["nodes"] if n["name"] == name)


def edges(doc: Doc) -> Iterator[tuple[str, int, Doc]]:
    for source, kinds in doc["connections"].items():
        for kind, outputs in kinds.items():
            assert kind == "main", f"{source}: unexpected connection kind {kind}"
            for index, targets in enumerate(outputs):
                for target in targets:
                    yield source, index, target


def is_uuid(value: object) -> bool:
    try:
        return str(uuid.UUID(str(value))) == value
    except ValueError:
        return False


# -- structure --------------------------------------------------------------------------------


def test_the_three_workflows_and_nothing_else_are_shipped() -> None:
    assert sorted(p.name for p in DIR.glob("*.json")) == sorted(FILES)


@pytest.mark.parametrize("name", FILES)
def test_workflow_has_the_import_shape(name: str) -> None:
    doc = load(name)
    assert {"name", "nodes", "connections", "settings"} <= doc.keys()
    assert isinstance(doc["name"], str) and doc["name"]
    assert doc["settings"] == {"executionOrder": "v1"}
    assert doc["active"] is False
    assert isinstance(doc["connections"], dict)


@pytest.mark.parametrize("name", FILES)
def test_every_node_is_complete_and_unique(name: str) -> None:
    nodes = load(name)["nodes"]
    for n in nodes:
        assert is_uuid(n["id"]), n
        assert isinstance(n["name"], str) and n["name"], n
        assert n["type"].startswith("n8n-nodes-base."), n
        assert isinstance(n["typeVersion"], int | float), n
        assert isinstance(n["position"], list) and len(n["position"]) == 2, n
        assert all(isinstance(c, int | float) for c in n["position"]), n
        assert isinstance(n["parameters"], dict), n
    assert len({n["id"] for n in nodes}) == len(nodes)
    assert len({n["name"] for n in nodes}) == len(nodes)


@pytest.mark.parametrize("name", FILES)
def test_the_webhook_node_registers_a_fixed_post_path(name: str) -> None:
    doc = load(name)
    path, _ = FILES[name]
    (hook,) = by_type(doc, WEBHOOK)
    assert is_uuid(hook["webhookId"]), "without webhookId an imported webhook is never registered"
    params = hook["parameters"]
    assert params["httpMethod"] == "POST"
    assert params["path"] == path and ":" not in path  # no :param, so the URL is /webhook/<path>
    assert params["responseMode"] == "responseNode"
    assert params["options"]["rawBody"] is True  # the signature covers the exact bytes


def test_webhook_ids_and_paths_are_unique_across_files() -> None:
    hooks = [h for name in FILES for h in by_type(load(name), WEBHOOK)]
    assert len({h["webhookId"] for h in hooks}) == len(hooks)
    assert len({h["parameters"]["path"] for h in hooks}) == len(hooks)


@pytest.mark.parametrize("name", FILES)
def test_connections_join_existing_nodes_and_nothing_dangles(name: str) -> None:
    doc = load(name)
    names = {n["name"] for n in doc["nodes"]}
    targeted: set[str] = set()
    for source, index, target in edges(doc):
        assert source in names, f"connection from unknown node {source!r}"
        assert target["node"] in names, f"{source} → unknown node {target['node']!r}"
        assert target["type"] == "main" and target["index"] == 0
        if node(doc, source)["type"] == "n8n-nodes-base.if":
            assert index in (0, 1)  # main[0] true, main[1] false
        else:
            assert index == 0
        targeted.add(target["node"])
    for n in doc["nodes"]:
        if n["type"] in TRIGGERS:
            assert n["name"] not in targeted and n["name"] in doc["connections"]
        else:
            assert n["name"] in targeted, f"{n['name']!r} has no incoming connection"


@pytest.mark.parametrize("name", FILES)
def test_respond_nodes_answer_204_when_valid_and_401_when_not(name: str) -> None:
    doc = load(name)
    (hook,) = by_type(doc, WEBHOOK)
    check = doc["connections"][hook["name"]]["main"][0][0]["node"]
    assert check == "Verify signature"
    (gate,) = [t["node"] for source, _, t in edges(doc) if source == "Verify signature"]
    outputs = doc["connections"][gate]["main"]
    true_branch, false_branch = ([node(doc, t["node"]) for t in out] for out in outputs)
    assert [(n["type"], n["parameters"]["options"]["responseCode"]) for n in true_branch] == [
        (RESPOND, 204)
    ]
    assert [(n["type"], n["parameters"]["options"]["responseCode"]) for n in false_branch] == [
        (RESPOND, 401)
    ]


@pytest.mark.parametrize("name", FILES)
def test_all_verify_nodes_share_one_implementation(name: str) -> None:
    code = node(load(name), "Verify signature")["parameters"]["jsCode"]
    reference = node(load("new-message-pipeline.json"), "Verify signature")["parameters"]
    assert code == reference["jsCode"]
    assert code.count(SECRET_PLACEHOLDER) == 1
    assert "require('crypto')" in code


def route_pattern(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{[a-z_]+\}", "[^/]+", path) + "$")


ROUTES = [route_pattern(r.path) for r in automation.routes if isinstance(r, APIRoute)]


@pytest.mark.parametrize("name", FILES)
def test_rapport_calls_use_the_placeholders_and_a_header_credential(name: str) -> None:
    doc = load(name)
    calls = [n for n in by_type(doc, HTTP) if not n.get("disabled")]
    assert calls
    for n in calls:
        p = n["parameters"]
        assert p["url"].startswith(f"={URL_PLACEHOLDER}/api/v1/automation/"), n["name"]
        path = re.sub(r"\{\{.*?\}\}", "x", p["url"].removeprefix(f"={URL_PLACEHOLDER}"))
        assert any(r.match(path) for r in ROUTES), f"{n['name']}: {path} is not an automation route"
        assert p["method"] == "POST"
        assert (p["authentication"], p["genericAuthType"]) == (
            "genericCredentialType",
            "httpHeaderAuth",
        )
        assert n["credentials"]["httpHeaderAuth"]["name"] == "Rapport automation API key"
        assert (p["sendBody"], p["specifyBody"]) == (True, "json")
        assert p["jsonBody"].startswith("={{") and p["jsonBody"].endswith("}}")


def test_no_secret_or_key_is_shipped() -> None:
    for name in FILES:
        text = (DIR / name).read_text(encoding="utf-8")
        assert not re.search(r"whsec_[A-Za-z0-9+/]{20,}", text), name
        assert not re.search(r"\brk_[A-Za-z0-9_\-]{8,}", text), name
        assert not re.search(r"Bearer [A-Za-z0-9]", text), name


def test_the_ai_node_is_an_opt_in_placeholder() -> None:
    ai = node(load("new-message-pipeline.json"), "AI enhancement")
    assert ai["type"] == HTTP and ai["disabled"] is True and ai["notes"]
    assert ai["parameters"]["url"].endswith("/v1/chat/completions")
    assert ai["onError"] == "continueRegularOutput"


# -- a stand-in for n8n that runs the workflows' JavaScript -----------------------------------

RUNNER = r"""
'use strict';
const fs = require('fs');
const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const wf = input.workflow;
const byName = new Map(wf.nodes.map((n) => [n.name, n]));
const outputs = {}; // node name → its output items
const seen = {}; // node name → their json, reported back
const staticData = input.static || {};
const log = { executed: [], responses: [], requests: [], outputs: seen };
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
const env = input.env || new Proxy({}, { get() { throw new Error('access to env vars denied'); } });
const allowed = new Set(input.allowBuiltins || []);
const requireBuiltin = (m) => {
  if (allowed.has(m)) return require(m);
  throw new Error(`Cannot find module '${m}'`);
};
const helpers = {
  async getBinaryDataBuffer(index, prop) {
    const ref = current[index] && current[index].binary && current[index].binary[prop];
    const stored = ref && ref.id && (input.binaryStore || {})[ref.id];
    if (!stored) throw new Error('binary data not found');
    return Buffer.from(stored, 'base64');
  },
};
let current = [];

function nodeData(name) {
  const items = outputs[name];
  if (!items) throw new Error(`node "${name}" has not been executed`);
  return { first: () => items[0], last: () => items[items.length - 1], all: () => items };
}
const clone = (items) => items.map((i) => ({ ...i, json: JSON.parse(JSON.stringify(i.json)) }));

function evaluate(expr, item) {
  return new Function('$json', '$', `return (${expr});`)(item.json, nodeData);
}
function resolve(value, item) {
  if (typeof value !== 'string' || !value.startsWith('=')) return value;
  const tpl = value.slice(1);
  const whole = tpl.match(/^\{\{([\s\S]*)\}\}$/);
  if (whole && !whole[1].includes('}}')) return evaluate(whole[1], item);
  return tpl.replace(/\{\{([\s\S]*?)\}\}/g, (_, e) => String(evaluate(e, item)));
}

async function runCode(node, items) {
  const p = node.parameters;
  if ((p.mode || 'runOnceForAllItems') !== 'runOnceForAllItems') throw new Error('mode');
  const $input = { first: () => items[0], last: () => items[items.length - 1], all: () => items };
  const fn = new AsyncFunction(
    '$input', '$json', 'items', '$', '$getWorkflowStaticData', '$env', 'require', 'helpers',
    p.jsCode,
  );
  current = items;
  const result = await fn.call(
    { helpers }, $input, items[0] && items[0].json, items, nodeData, () => staticData, env,
    requireBuiltin, helpers,
  );
  const list = Array.isArray(result) ? result : [result];
  return [list.map((r) => (r && typeof r.json === 'object' ? r : { json: r }))];
}

function runIf(node, items) {
  const c = node.parameters.conditions;
  if (c.options.typeValidation !== 'strict') throw new Error('expected strict type validation');
  const yes = [];
  const no = [];
  for (const item of items) {
    const results = c.conditions.map((cond) => {
      const left = resolve(cond.leftValue, item);
      const right = resolve(cond.rightValue, item);
      const { type, operation } = cond.operator;
      if (typeof left !== type && left !== undefined && left !== null) {
        throw new Error(`${node.name}: ${JSON.stringify(left)} is not a ${type} (strict)`);
      }
      if (type === 'boolean' && operation === 'true') return left === true;
      if (type === 'boolean' && operation === 'false') return left === false;
      if (type === 'string' && operation === 'equals') return left === right;
      throw new Error(`unsupported operator ${type}/${operation}`);
    });
    const pass = c.combinator === 'or' ? results.some(Boolean) : results.every(Boolean);
    (pass ? yes : no).push(item);
  }
  return [yes, no];
}

function respond(node, items) {
  const p = node.parameters;
  let body = null;
  if (p.respondWith === 'json') {
    body = resolve(p.responseBody, items[0]);
    if (typeof body === 'string') body = JSON.parse(body);
  } else if (p.respondWith !== 'noData') throw new Error(`respondWith ${p.respondWith}`);
  log.responses.push({ node: node.name, code: (p.options || {}).responseCode || 200, body });
  return [items];
}

function fakeResponse(url, body) {
  if (url.endsWith('/chat/completions')) {
    return { choices: [{ index: 0, message: { role: 'assistant', content: input.aiAnswer } }] };
  }
  if (url.endsWith('/notifications')) return { delivered: true, id: `n${log.requests.length}` };
  if (url.endsWith('/reminders')) return { id: `j${log.requests.length}`, scheduled: true };
  if (url.endsWith('/messages')) return { id: `m${log.requests.length}`, kind: body.kind };
  throw new Error(`no fake response for ${url}`);
}

function http(node, items) {
  const p = node.parameters;
  return [items.map((item) => {
    const url = resolve(p.url, item);
    let body = p.sendBody ? resolve(p.jsonBody, item) : null;
    if (typeof body === 'string') body = JSON.parse(body);
    log.requests.push({ node: node.name, method: p.method, url, body });
    return { json: fakeResponse(url, body) };
  })];
}

async function execute(name, items) {
  const node = byName.get(name);
  log.executed.push(name);
  let result;
  if (node.disabled) result = [items];
  else if (node.type === 'n8n-nodes-base.webhook') result = [items];
  else if (node.type === 'n8n-nodes-base.code') result = await runCode(node, items);
  else if (node.type === 'n8n-nodes-base.if') result = runIf(node, items);
  else if (node.type === 'n8n-nodes-base.respondToWebhook') result = respond(node, items);
  else if (node.type === 'n8n-nodes-base.httpRequest') result = http(node, items);
  else throw new Error(`the runner does not know ${node.type}`);
  outputs[name] = result.flat();
  seen[name] = outputs[name].map((i) => i.json);
  const outs = ((wf.connections[name] || {}).main) || [];
  for (let i = 0; i < outs.length; i++) {
    if (!result[i] || result[i].length === 0) continue;
    for (const target of outs[i]) await execute(target.node, clone(result[i]));
  }
}

(async () => {
  const trigger = wf.nodes.find((n) => n.type === 'n8n-nodes-base.webhook');
  await execute(trigger.name, [input.item]);
  process.stdout.write(JSON.stringify({ ...log, static: staticData }));
})().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e));
  process.exit(1);
});
"""


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("node") is None:
        pytest.skip("node is not on PATH, so the Code nodes' JavaScript cannot be run")
    path = tmp_path_factory.mktemp("n8n") / "runner.js"
    path.write_text(RUNNER, encoding="utf-8")
    return path


def configured(name: str, secret: str | None = SECRET) -> Doc:
    """The workflow as an operator would import it: placeholders replaced."""
    text = (DIR / name).read_text(encoding="utf-8").replace(URL_PLACEHOLDER, RAPPORT)
    if secret is not None:
        text = text.replace(SECRET_PLACEHOLDER, secret)
    doc: Doc = json.loads(text)
    return doc


def run(runner: Path, workflow: Doc, item: Doc, **options: Any) -> Doc:
    payload = {"workflow": workflow, "item": item, "allowBuiltins": ["crypto"], **options}
    done = subprocess.run(
        ["node", str(runner)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: Doc = json.loads(done.stdout)
    return result


def envelope(event_type: str, data: BaseModel) -> Doc:
    return {
        "id": str(uuid.uuid4()),
        "type": event_type,
        "version": CATALOG[event_type].version,
        "occurred_at": datetime.now(UTC).isoformat(),
        "data": data.model_dump(mode="json"),
    }


def delivery(
    event: Doc,
    secrets: list[str] | None = None,
    *,
    timestamp: int | None = None,
    sent: bytes | None = None,
    raw: bool = True,
) -> Doc:
    """The item n8n's Webhook node (v2, Raw Body on) emits for a delivery signed like the
    dispatcher signs it; ``sent`` replaces the body after signing (tampering)."""
    body = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
    stamp = int(time.time()) if timestamp is None else timestamp
    headers = signing.headers(secrets or [SECRET], event["id"], stamp, body)
    on_wire = body if sent is None else sent
    item: Doc = {
        "json": {
            "headers": {
                "host": "n8n:5678",
                "content-type": "application/json",
                "user-agent": "Rapport-Webhooks/test",
                **headers,
            },
            "params": {},
            "query": {},
            "body": json.loads(on_wire),
        }
    }
    if raw:
        item["binary"] = {
            "data": {"data": base64.b64encode(on_wire).decode(), "mimeType": "application/json"}
        }
    return item


def ids(n: int) -> list[uuid.UUID]:
    return [uuid.uuid4() for _ in range(n)]


def message_event(body: str | None, kind: str = "text", sender: bool = True) -> Doc:
    a, b, conversation, message = ids(4)
    return envelope(
        "message.created",
        MessageCreated(
            message_id=message,
            conversation_id=conversation,
            seq=7,
            sender_id=a if sender else None,
            recipient_ids=[b],
            kind=kind,
            body=body,
            ai_assisted=False,
            created_at=datetime.now(UTC),
        ),
    )


def match_event() -> Doc:
    match, conversation, a, b = ids(4)
    return envelope(
        "match.created", MatchCreated(match_id=match, conversation_id=conversation, user_ids=[a, b])
    )


def stalled_event(last_sender: int | None) -> Doc:
    conversation, a, b = ids(3)
    members = [a, b]
    return envelope(
        "conversation.stalled",
        ConversationStalled(
            conversation_id=conversation,
            member_ids=members,
            last_sender_id=None if last_sender is None else members[last_sender],
            last_message_at=None if last_sender is None else datetime.now(UTC),
            quiet_for_s=3 * 24 * 3600,
        ),
    )


EVENTS: dict[str, Callable[[], Doc]] = {
    "new-message-pipeline.json": lambda: message_event("Hi! Do you like hiking?"),
    "match-success-guide.json": match_event,
    "follow-up-reminder.json": lambda: stalled_event(0),
}


def codes(result: Doc) -> list[int]:
    return [r["code"] for r in result["responses"]]


# -- Verify signature -------------------------------------------------------------------------


@pytest.mark.parametrize("name", FILES)
def test_a_signed_delivery_is_accepted_with_204(runner: Path, name: str) -> None:
    event = EVENTS[name]()
    result = run(runner, configured(name), delivery(event))
    (verified,) = result["outputs"]["Verify signature"]
    assert verified == {
        "valid": True,
        "duplicate": False,
        "webhook_id": event["id"],
        "event": event,
    }
    assert codes(result) == [204]
    assert f"Is {FILES[name][1]}?" in result["executed"]


@pytest.mark.parametrize("name", FILES)
def test_a_tampered_body_is_rejected_with_401(runner: Path, name: str) -> None:
    event = EVENTS[name]()
    forged = {**event, "data": {**event["data"], "conversation_id": str(uuid.uuid4())}}
    sent = json.dumps(forged, separators=(",", ":"), ensure_ascii=False).encode()
    result = run(runner, configured(name), delivery(event, sent=sent))
    assert result["outputs"]["Verify signature"] == [
        {"valid": False, "reason": "no matching signature"}
    ]
    assert codes(result) == [401]
    assert result["responses"][0]["body"] == {
        "error": "invalid_signature",
        "reason": "no matching signature",
    }
    assert result["requests"] == []
    assert "Respond 204" not in result["executed"]


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("skew", [-310, 310, -3600])
def test_a_stale_or_future_timestamp_is_rejected(runner: Path, name: str, skew: int) -> None:
    item = delivery(EVENTS[name](), timestamp=int(time.time()) + skew)
    result = run(runner, configured(name), item)
    (verified,) = result["outputs"]["Verify signature"]
    assert verified == {"valid": False, "reason": "webhook-timestamp is outside the tolerance"}
    assert codes(result) == [401] and result["requests"] == []


def test_a_timestamp_inside_the_tolerance_is_accepted(runner: Path) -> None:
    name = "follow-up-reminder.json"
    result = run(
        runner, configured(name), delivery(stalled_event(0), timestamp=int(time.time()) - 240)
    )
    assert codes(result) == [204]


@pytest.mark.parametrize(
    ("signed_with", "configured_with", "valid"),
    [
        pytest.param(["other"], "mine", False, id="wrong-secret"),
        pytest.param(["mine", "other"], "mine", True, id="rotation-new-first"),
        pytest.param(["other", "mine"], "mine", True, id="rotation-old-first"),
    ],
)
def test_secrets_and_rotation(
    runner: Path, signed_with: list[str], configured_with: str, valid: bool
) -> None:
    secrets = {"mine": signing.new_secret(), "other": signing.new_secret()}
    name = "match-success-guide.json"
    item = delivery(match_event(), [secrets[s] for s in signed_with])
    result = run(runner, configured(name, secrets[configured_with]), item)
    assert codes(result) == ([204] if valid else [401])


def test_the_unreplaced_placeholder_fails_closed(runner: Path) -> None:
    name = "follow-up-reminder.json"
    result = run(runner, configured(name, secret=None), delivery(stalled_event(0)))
    (verified,) = result["outputs"]["Verify signature"]
    assert verified["reason"] == "no valid webhook secret is configured in this node"
    assert codes(result) == [401]


def test_the_secret_may_come_from_the_environment_where_n8n_allows_it(runner: Path) -> None:
    name = "follow-up-reminder.json"
    item = delivery(stalled_event(0))
    result = run(
        runner, configured(name, secret=None), item, env={"RAPPORT_WEBHOOK_SECRET": SECRET}
    )
    assert codes(result) == [204]


def test_missing_headers_are_rejected(runner: Path) -> None:
    item = delivery(stalled_event(0))
    del item["json"]["headers"]["webhook-signature"]
    result = run(runner, configured("follow-up-reminder.json"), item)
    assert result["outputs"]["Verify signature"][0]["reason"].startswith("missing webhook-id")
    assert codes(result) == [401]


def test_without_the_crypto_builtin_it_says_what_to_set(runner: Path) -> None:
    name = "follow-up-reminder.json"
    result = run(runner, configured(name), delivery(stalled_event(0)), allowBuiltins=[])
    (verified,) = result["outputs"]["Verify signature"]
    assert "NODE_FUNCTION_ALLOW_BUILTIN=crypto" in verified["reason"]
    assert codes(result) == [401]


def test_a_redelivered_webhook_id_is_acknowledged_but_not_processed_again(runner: Path) -> None:
    name = "follow-up-reminder.json"
    event = stalled_event(0)
    first = run(runner, configured(name), delivery(event))
    assert len(first["requests"]) == 1
    again = run(runner, configured(name), delivery(event), static=first["static"])
    assert codes(again) == [204]
    assert again["outputs"]["Verify signature"][0]["duplicate"] is True
    assert again["requests"] == []


def test_the_parsed_body_is_a_fallback_when_raw_body_is_off(runner: Path) -> None:
    # Rapport sends compact UTF-8 JSON (ensure_ascii=False): re-serialising gives the same bytes.
    event = message_event('见面前先多聊聊 🙂 "quotes", back\\slash\nnew line')
    result = run(runner, configured("new-message-pipeline.json"), delivery(event, raw=False))
    assert codes(result) == [204]


def test_raw_body_held_outside_the_execution_is_read_with_the_helper(runner: Path) -> None:
    event = match_event()
    item = delivery(event)
    raw = item["binary"]["data"]["data"]
    item["binary"]["data"] = {"id": "filesystem-v2:abc", "data": "filesystem-v2", "mimeType": "x"}
    result = run(
        runner,
        configured("match-success-guide.json"),
        item,
        binaryStore={"filesystem-v2:abc": raw},
    )
    assert codes(result) == [204]


def test_another_event_type_is_acknowledged_and_ignored(runner: Path) -> None:
    result = run(runner, configured("new-message-pipeline.json"), delivery(match_event()))
    assert codes(result) == [204]
    assert "Moderation screen" not in result["executed"] and result["requests"] == []


# -- what the workflows send ------------------------------------------------------------------


def request_path(url: str) -> str:
    assert url.startswith(RAPPORT + "/api/v1/automation/"), url
    path = url.removeprefix(RAPPORT)
    assert any(r.match(path) for r in ROUTES), path
    return path


def test_off_platform_contact_notifies_the_recipient(runner: Path) -> None:
    event = message_event("Add me on WhatsApp: +1 (415) 555-0134, or mail me at ana@example.com")
    result = run(runner, configured("new-message-pipeline.json"), delivery(event))
    assert codes(result) == [204]
    (request,) = result["requests"]
    (recipient,) = event["data"]["recipient_ids"]
    conversation = event["data"]["conversation_id"]
    assert request_path(request["url"]) == f"/api/v1/automation/users/{recipient}/notifications"
    note = NotificationIn.model_validate(request["body"])
    assert note.collapse_key == f"safety:{conversation}"
    assert note.data["conversation_id"] == conversation
    (record,) = result["outputs"]["Analytics"]
    assert record["flagged"] is True
    assert set(record["reasons"]) == {"phone_number", "email", "messenger"}
    assert record["notifications_attempted"] == record["notifications_delivered"] == 1
    assert record["ai_checked"] is False
    assert "text" not in record and "body" not in record


@pytest.mark.parametrize(
    ("body", "kind", "sender"),
    [
        pytest.param("Saturday at 10:30? The café opens 2024-05-01", "text", True, id="clean"),
        pytest.param(None, "e2ee", True, id="encrypted"),
        pytest.param("Call +1 415 555 0134", "system", False, id="system-message"),
    ],
)
def test_unflagged_messages_only_reach_analytics(
    runner: Path, body: str | None, kind: str, sender: bool
) -> None:
    event = message_event(body, kind, sender)
    result = run(runner, configured("new-message-pipeline.json"), delivery(event))
    assert result["requests"] == []
    (record,) = result["outputs"]["Analytics"]
    assert record["flagged"] is False and record["message_id"] == event["data"]["message_id"]
    assert record["screened"] is (kind == "text")


def test_full_width_digits_are_caught(runner: Path) -> None:
    event = message_event("我的电话是１３８ ００１３ ８０００，加我微信")
    result = run(runner, configured("new-message-pipeline.json"), delivery(event))
    (record,) = result["outputs"]["Analytics"]
    assert {"phone_number", "messenger"} <= set(record["reasons"])


def test_the_enabled_ai_node_can_flag_what_keywords_miss(runner: Path) -> None:
    workflow = configured("new-message-pipeline.json")
    node(workflow, "AI enhancement")["disabled"] = False
    event = message_event("find me on the bird app, same name as here")
    result = run(runner, workflow, delivery(event), aiAnswer="Yes")
    completion, notification = result["requests"]
    assert completion["url"] == "https://api.openai.com/v1/chat/completions"
    assert completion["body"]["messages"][-1] == {"role": "user", "content": event["data"]["body"]}
    NotificationIn.model_validate(notification["body"])
    (record,) = result["outputs"]["Analytics"]
    assert record["reasons"] == ["ai"] and record["ai_flag"] is True


def test_a_match_gets_a_welcome_and_one_reminder_per_member(runner: Path) -> None:
    event = match_event()
    data = event["data"]
    result = run(runner, configured("match-success-guide.json"), delivery(event))
    assert codes(result) == [204]
    post, *reminders = result["requests"]
    assert request_path(post["url"]) == (
        f"/api/v1/automation/conversations/{data['conversation_id']}/messages"
    )
    message = AutomatedMessageIn.model_validate(post["body"])
    assert message.kind == "system"
    assert message.idempotency_key == f"welcome:{event['id']}"
    assert "match" in message.body and "配对成功" in message.body
    assert [request_path(r["url"]) for r in reminders] == ["/api/v1/automation/reminders"] * 2
    parsed = [ReminderIn.model_validate(r["body"]) for r in reminders]
    assert [str(r.user_id) for r in parsed] == data["user_ids"]
    assert {r.delay_s for r in parsed} == {86400} and {r.run_at for r in parsed} == {None}
    assert {str(r.conversation_id) for r in parsed} == {data["conversation_id"]}
    keys = [r.idempotency_key for r in parsed]
    assert len(set(keys)) == 2
    # The same event (a redelivery) yields the same keys, so nothing is scheduled twice.
    again = run(runner, configured("match-success-guide.json"), delivery(event))
    assert [r["body"]["idempotency_key"] for r in again["requests"][1:]] == keys
    assert again["requests"][0]["body"] == post["body"]


@pytest.mark.parametrize(("last_sender", "nudged"), [(0, [1]), (1, [0]), (None, [0, 1])])
def test_a_stalled_conversation_nudges_who_did_not_write_last(
    runner: Path, last_sender: int | None, nudged: list[int]
) -> None:
    event = stalled_event(last_sender)
    data = event["data"]
    result = run(runner, configured("follow-up-reminder.json"), delivery(event))
    assert codes(result) == [204]
    members = data["member_ids"]
    assert [request_path(r["url"]) for r in result["requests"]] == [
        f"/api/v1/automation/users/{members[i]}/notifications" for i in nudged
    ]
    for r in result["requests"]:
        note = NotificationIn.model_validate(r["body"])
        assert note.kind == "reminder"
        assert note.collapse_key == f"stalled:{data['conversation_id']}"
        assert note.data == {"conversation_id": data["conversation_id"], "event_id": event["id"]}

"""The outbox dispatcher: fans committed events out to subscriptions and delivers them.

Two steps, each in its own short transaction, safe with any number of workers:

1. **Fan-out** takes undispatched outbox rows in commit order and creates one delivery per
   matching active subscription (skipping events about users who opted out of automation).
   On PostgreSQL one worker fans out at a time (a try-advisory lock), which keeps the
   delivery positions in outbox order.
2. **Delivery** claims due deliveries that are first in line for their (subscription, order
   key) under a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), POSTs them signed the
   Standard Webhooks way outside any transaction, then records the outcome: delivered, or a
   retry after exponential backoff with jitter, or — after the last attempt — dead, with a
   dead-letter row an admin can replay.

Delivery is at least once: a crash between the POST and the record re-sends the same
``webhook-id`` after the lease runs out, and receivers dedupe on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import structlog
from prometheus_client import Counter, Gauge
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rapport import __version__
from rapport.accounts import service as accounts
from rapport.config import Settings
from rapport.events.catalog import CATALOG
from rapport.events.outbox import OutboxGate
from rapport.kit import clock
from rapport.kit.db import transaction
from rapport.workflows import repository as repo
from rapport.workflows import signing, urls
from rapport.workflows.models import (
    WebhookAttempt,
    WebhookDeadLetter,
    WebhookDelivery,
    WebhookSubscription,
)

log = structlog.get_logger(__name__)
Factory = async_sessionmaker[AsyncSession]

ATTEMPTS = Counter(
    "rapport_webhook_attempts_total", "Webhook delivery attempts by outcome", ["outcome"]
)
DEAD = Counter("rapport_webhook_dead_total", "Webhook deliveries that used up their attempts")
LAG = Gauge("rapport_outbox_lag_seconds", "Age of the oldest event not yet fanned out")
FANOUT_BATCH = 500
GATE_REFRESH_S = 5.0


@dataclass
class _Outcome:
    delivery_id: uuid.UUID
    ok: bool
    status: int | None
    error: str | None
    duration_ms: int
    retry_after_s: float | None = None


def backoff_s(attempt: int, settings: Settings) -> float:
    """Delay before attempt ``attempt + 1``: exponential, capped, with equal jitter (half
    fixed, half random) so retries spread out but still grow."""
    cap = min(settings.webhook_backoff_s * 2 ** max(attempt - 1, 0), settings.webhook_backoff_max_s)
    return float(cap / 2 + random.uniform(0, cap / 2))  # noqa: S311 (jitter, not security)


class Dispatcher:
    def __init__(
        self,
        factory: Factory,
        settings: Settings,
        gate: OutboxGate | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.factory = factory
        self.settings = settings
        self.gate = gate or OutboxGate()
        self.client = httpx.AsyncClient(
            timeout=settings.webhook_timeout_s, follow_redirects=False, transport=transport
        )
        self._gate_refreshed = 0.0

    async def aclose(self) -> None:
        await self.client.aclose()

    # -- subscriptions from settings and the gate ------------------------------------------

    async def sync_settings_subscription(self) -> None:
        """Make the subscription named "settings" match RAPPORT_WEBHOOK_* (or deactivate it)."""
        from rapport.workflows import service

        async with transaction(self.factory) as session:
            await service.sync_settings_subscription(session, self.settings)
        await self.refresh_gate(force=True)

    async def refresh_gate(self, force: bool = False) -> None:
        """Tell this node's sessions which event types some subscription wants."""
        if not force and time.monotonic() - self._gate_refreshed < GATE_REFRESH_S:
            return
        async with transaction(self.factory) as session:
            subs = await repo.active_subscriptions(session)
        wanted: set[str] = set()
        for sub in subs:
            wanted |= set(sub.event_types or CATALOG)  # no types listed = every type
        self.gate.wanted = wanted
        self._gate_refreshed = time.monotonic()

    # -- step 1: fan-out -------------------------------------------------------------------

    async def fan_out(self) -> int:
        """Turn undispatched outbox rows into deliveries; returns how many rows were taken."""
        async with transaction(self.factory) as session:
            if not await repo.take_fanout_lock(session):
                return 0
            events = await repo.undispatched(session, FANOUT_BATCH)
            if not events:
                LAG.set(0)
                return 0
            subs = await repo.active_subscriptions(session)
            subjects = {u for e in events for u in e.subjects}
            opted_out = await accounts.automation_opted_out(session, subjects)
            now = clock.now()
            for event in events:
                event.dispatched_at = now
                if opted_out.intersection(event.subjects):
                    continue
                for sub in subs:
                    if sub.event_types and event.type not in sub.event_types:
                        continue
                    session.add(
                        WebhookDelivery(
                            subscription_id=sub.id,
                            event_id=event.event_id,
                            event_type=event.type,
                            order_key=event.order_key,
                            position=event.position,
                            body=event.body,
                            next_attempt_at=now,
                        )
                    )
            LAG.set(max((now - events[0].created_at).total_seconds(), 0))
            return len(events)

    # -- step 2: delivery ------------------------------------------------------------------

    async def deliver_due(self, limit: int | None = None) -> int:
        """Attempt every delivery that is due and first in line; returns attempts made."""
        now = clock.now()
        lease = timedelta(seconds=self.settings.webhook_timeout_s * 2 + 30)
        async with transaction(self.factory) as session:
            claimed = await repo.claim_due(
                session, now, now + lease, limit or self.settings.webhook_concurrency * 4
            )
            subs = {s.id: s for s in await repo.active_subscriptions(session)}
            work = [(d.id, d.event_id, d.body, subs[d.subscription_id]) for d in claimed]
        if not work:
            return 0
        gate = asyncio.Semaphore(self.settings.webhook_concurrency)

        async def one(
            item: tuple[uuid.UUID, uuid.UUID, dict[str, object], WebhookSubscription],
        ) -> _Outcome:
            async with gate:
                return await self._post(*item, now=now)

        outcomes = await asyncio.gather(*(one(w) for w in work))
        async with transaction(self.factory) as session:
            for outcome in outcomes:
                await self._record(session, outcome)
        return len(outcomes)

    async def _post(
        self,
        delivery_id: uuid.UUID,
        event_id: uuid.UUID,
        body: dict[str, object],
        sub: WebhookSubscription,
        now: datetime,
    ) -> _Outcome:
        payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        active = [sub.secret]
        if sub.previous_secret and sub.previous_secret_until and sub.previous_secret_until > now:
            active.append(sub.previous_secret)
        headers = signing.headers(active, str(event_id), int(now.timestamp()), payload)
        headers["content-type"] = "application/json"
        headers["user-agent"] = f"Rapport-Webhooks/{__version__}"
        started = time.perf_counter()
        try:
            await urls.check(sub.url, self.settings.webhook_allowed_hosts)
            response = await self.client.post(sub.url, content=payload, headers=headers)
        except urls.UrlRefused as exc:
            return _Outcome(delivery_id, False, None, f"refused: {exc}", 0)
        except httpx.HTTPError as exc:
            elapsed = int((time.perf_counter() - started) * 1000)
            return _Outcome(delivery_id, False, None, f"{type(exc).__name__}: {exc}"[:500], elapsed)
        elapsed = int((time.perf_counter() - started) * 1000)
        ok = 200 <= response.status_code < 300
        return _Outcome(
            delivery_id,
            ok,
            response.status_code,
            None if ok else f"HTTP {response.status_code}",
            elapsed,
            _retry_after(response) if response.status_code in (429, 503) else None,
        )

    async def _record(self, session: AsyncSession, outcome: _Outcome) -> None:
        delivery = await repo.delivery(session, outcome.delivery_id)
        if delivery is None or delivery.status != "pending":
            return
        now = clock.now()
        delivery.attempts += 1
        delivery.leased_until = None
        delivery.last_status = outcome.status
        delivery.last_error = outcome.error
        session.add(
            WebhookAttempt(
                delivery_id=delivery.id,
                attempt=delivery.attempts,
                at=now,
                status=outcome.status,
                error=outcome.error,
                duration_ms=outcome.duration_ms,
            )
        )
        if outcome.ok:
            ATTEMPTS.labels("delivered").inc()
            delivery.status = "delivered"
            delivery.delivered_at = now
            return
        ATTEMPTS.labels("failed").inc()
        if delivery.attempts >= self.settings.webhook_max_attempts:
            DEAD.inc()
            delivery.status = "dead"
            session.add(
                WebhookDeadLetter(
                    delivery_id=delivery.id,
                    subscription_id=delivery.subscription_id,
                    event_id=delivery.event_id,
                    event_type=delivery.event_type,
                    reason=(outcome.error or "failed")[:500],
                    died_at=now,
                )
            )
            log.warning(
                "webhook_dead",
                delivery_id=str(delivery.id),
                event_type=delivery.event_type,
                attempts=delivery.attempts,
                error=outcome.error,
            )
            return
        wait = backoff_s(delivery.attempts, self.settings)
        if outcome.retry_after_s is not None:
            wait = min(max(wait, outcome.retry_after_s), self.settings.webhook_backoff_max_s)
        delivery.next_attempt_at = now + timedelta(seconds=wait)

    # -- the loop ----------------------------------------------------------------------------

    async def run_once(self) -> int:
        """One round: refresh the gate, fan out, deliver. Returns work done."""
        await self.refresh_gate()
        fanned = await self.fan_out()
        delivered = await self.deliver_due()
        return fanned + delivered

    async def run(self) -> None:
        """Until cancelled: work while there is work, else wait for a commit or the poll."""
        await self.sync_settings_subscription()
        while True:
            try:
                busy = await self.run_once()
            except Exception:
                log.exception("dispatch_round_failed")
                busy = 0
            if busy:
                continue
            self.gate.pending.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.gate.pending.wait(), self.settings.dispatch_poll_s)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None

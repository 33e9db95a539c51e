"""Conversation risk: money, crypto and investment signals weighed over a whole conversation.

A romance scam rarely says anything damning in one message; it moves through stages —
affection, a move off the app, talk of investing or crypto, urgency, a request for money.
Every delivered text message adds its filter categories to its sender's counts in the
conversation (``conversation_risk.signals``). A sender's score (0-100) is

    Σ weight(kind) × (1 + 0.5 × (min(count, 3) − 1))   over the kinds seen
    + 10 × (number of different kinds − 1)

with weights scam 30, money 25, finance 10, contact 10, urgency 8, romance 6. The
conversation's score is its highest sender's. Past ``RAPPORT_MODERATION_RISK_THRESHOLD``
(60), with signals from at least two messages, the conversation is queued for review once
(``auto:conversation_risk``, the last 30 messages as evidence).

Worked example, one sender: "亲爱的…" (romance 6), "我叔叔做比特币投资" (finance 10), "带你
一起赚钱" (scam 30, finance again: 10 → 15), "加我微信" (contact 10): 6 + 15 + 30 + 10 +
10 × 3 = 91 → flagged. A single "加我微信 xxx，带你投资赚钱" scores 70 but is one message:
it is flagged for its scam words, not for conversation risk, until more signals follow.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from rapport.kit import clock
from rapport.moderation import repository as repo
from rapport.moderation import review
from rapport.moderation.models import ConversationRisk

WEIGHTS = {"scam": 30, "money": 25, "finance": 10, "contact": 10, "urgency": 8, "romance": 6}
REPEAT_CAP = 3
COMBO = 10
MIN_MESSAGES = 2
EVIDENCE_LINES = 30


def score(counts: dict[str, int]) -> int:
    """One sender's score from their signal counts."""
    kinds = [k for k in WEIGHTS if counts.get(k, 0) > 0]
    base = sum(WEIGHTS[k] * (1 + 0.5 * (min(counts[k], REPEAT_CAP) - 1)) for k in kinds)
    combo = COMBO * (len(kinds) - 1) if len(kinds) > 1 else 0
    return min(100, round(base + combo))


def signals_of(categories: frozenset[str] | set[str]) -> set[str]:
    return {c for c in categories if c in WEIGHTS}


async def observe(
    session: AsyncSession,
    conversation_id: uuid.UUID,
    sender: uuid.UUID,
    signals: set[str],
    threshold: int,
) -> ConversationRisk | None:
    """Add one message's signals; returns the row when it just crossed the threshold."""
    row = await repo.get_risk(session, conversation_id)
    if row is None:
        row = ConversationRisk(conversation_id=conversation_id, score=0, signals={})
        session.add(row)
    senders: dict[str, Any] = dict(row.signals.get("senders", {}))
    mine = dict(senders.get(str(sender), {"counts": {}, "messages": 0}))
    counts = dict(mine["counts"])
    for kind in signals:
        counts[kind] = counts.get(kind, 0) + 1
    mine = {"counts": counts, "messages": int(mine["messages"]) + 1, "score": score(counts)}
    senders[str(sender)] = mine
    row.signals = {"senders": senders}  # reassigned so the JSON change is saved
    row.score = max(int(s["score"]) for s in senders.values())
    row.updated_at = clock.now()
    await session.flush()
    crossed = (
        row.flagged_at is None and mine["score"] >= threshold and mine["messages"] >= MIN_MESSAGES
    )
    return row if crossed else None


async def flag(
    session: AsyncSession,
    row: ConversationRisk,
    sender: uuid.UUID,
    evidence: list[dict[str, Any]],
) -> None:
    """Queue a conversation whose risk crossed the threshold (once)."""
    breakdown = row.signals["senders"][str(sender)]
    report = await review.flag_for_review(
        session,
        sender,
        "auto:conversation_risk",
        f"Conversation risk {row.score}: {breakdown['counts']}",
        evidence,
        priority=1,
        conversation_id=row.conversation_id,
        extra={"risk": {"score": row.score, "signals": row.signals}},
    )
    row.flagged_at = clock.now()
    row.report_id = report.id
    await session.flush()

"""Moderation on the message path: what happens to a text a user writes.

``Moderation`` is one object per node (``Runtime.moderation``; sessions reach it through
``session.info["moderation"]``). For a message it decides, before anything is stored:

1. the word filter's hits and each category's action (``categories.py``); the contact
   policy for identifiers (block in the first N messages of a conversation, nudge after);
2. ``block`` → :class:`ContentBlocked`; an unconfirmed ``nudge`` → :class:`ConfirmRequired`
   ("Are you sure?"), both with ``reasons: [{category, label}]``;
3. the sender's standing (sanctions) and trust limits: muted users cannot start chats,
   rate-limited ones send through a slow bucket, new accounts enter a limited number of
   conversations per day and per hour;
4. ``mask`` rewrites the body; ``flag`` / ``warn`` / a confirmed nudge are carried to
   :meth:`Moderation.after_send`, which (inside the same transaction) queues the message
   for review and asks the recipient "Does this bother you?" (``safety.warning``).

Everything here is sub-millisecond CPU work plus, for the rare message that needs it, a
few indexed queries; the filter itself is rebuilt in a worker thread (``lists.py``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.accounts import service as accounts
from rapport.config import Settings
from rapport.events.publish import emit
from rapport.kit import clock
from rapport.kit.errors import Conflict, Forbidden, RateLimited, Unprocessable
from rapport.kit.ratelimit import Bucket, Limiter, MemoryBucket, MemoryLimiter
from rapport.moderation import repository as repo
from rapport.moderation import review, sanctions
from rapport.moderation.categories import CATEGORIES, Action, ai_flags
from rapport.moderation.filter import Scan
from rapport.moderation.lists import FilterStore, Lists
from rapport.moderation.models import ModeratedMessage

DECISIONS = Counter(
    "rapport_moderation_decisions_total",
    "Texts moderation acted on, by action and category",
    ["surface", "action", "category"],
)
NUDGES = Counter(
    "rapport_moderation_nudges_total",
    "'Are you sure?' prompts shown, and sends the user confirmed after one",
    ["outcome"],
)
TRUST_REFUSALS = Counter(
    "rapport_moderation_trust_refusals_total", "Sends refused by trust limits", ["limit"]
)


def reasons(categories: list[str]) -> list[dict[str, str]]:
    """The ``reasons`` member of a refusal: ``[{category, label}]``, strongest first."""
    return [{"category": c, "label": CATEGORIES[c].label} for c in categories]


class ConfirmRequired(Conflict):
    """An "Are you sure?" nudge: resend the same message with ``confirm: true``."""

    code = "confirm_required"

    def __init__(self, categories: list[str]) -> None:
        super().__init__(
            "This message may upset the recipient. Send it anyway? Resend with confirm: true.",
            extra={"reasons": reasons(categories)},
        )


class ContentBlocked(Unprocessable):
    """A text moderation refuses; nothing was stored."""

    code = "content_blocked"

    def __init__(self, categories: list[str], message: str | None = None) -> None:
        super().__init__(
            message or "This can't be sent on Rapport.", extra={"reasons": reasons(categories)}
        )


@dataclass
class SendVerdict:
    """What the gate decided for one message that may be stored."""

    body: str
    shadowed: bool = False
    flag: list[str] = field(default_factory=list)
    warn: list[str] = field(default_factory=list)
    confirmed: list[str] = field(default_factory=list)
    masked: list[str] = field(default_factory=list)

    @property
    def remarkable(self) -> bool:
        return bool(self.flag or self.warn or self.confirmed or self.masked or self.shadowed)


def _ordered(categories: set[str]) -> list[str]:
    order = list(CATEGORIES)
    return sorted(categories, key=order.index)


class Moderation:
    """One node's moderation: current lists, settings, and the limiters trust uses."""

    def __init__(
        self,
        settings: Settings,
        limiter: Limiter | None = None,
        bucket: Bucket | None = None,
    ) -> None:
        self.settings = settings
        self.limiter = limiter or MemoryLimiter()
        self.bucket = bucket or MemoryBucket()
        self.lists = FilterStore()
        self.risk: Any = None  # tasks.RiskQueue once the node runs its background work

    # -- decisions ------------------------------------------------------------------------

    def actions_for(self, lists: Lists, scan: Scan, position: int | None) -> dict[str, Action]:
        """Each hit category's action; ``position`` is the number of messages already in the
        conversation (None for profile text, where contact identifiers are always refused)."""
        out: dict[str, Action] = {}
        for category in scan.categories:
            if category == "contact":
                out[category] = self._contact_action(lists, scan, position)
            else:
                out[category] = lists.action(category)
        return out

    def _contact_action(self, lists: Lists, scan: Scan, position: int | None) -> Action:
        if not scan.has("contact", "identifier"):
            return "warn"  # a mention ("加微信吗") without an id: the recipient's prompt only
        if "contact" in lists.actions:
            return lists.actions["contact"]
        if position is None:
            return "block"
        s = self.settings
        if position < s.moderation_contact_early_messages:
            return s.moderation_contact_early_action
        return s.moderation_contact_later_action

    def needs_screening(self, lists: Lists, text: str) -> bool:
        """False when a text has no hit whose action does anything to the message itself
        (the batch fast path stores such texts without the full gate)."""
        scan = lists.filter.scan(text)
        return any(c == "contact" or lists.action(c) != "none" for c in scan.categories)

    async def screen_send(
        self,
        session: AsyncSession,
        sender: uuid.UUID,
        body: str,
        *,
        confirm: bool,
        first: bool,
        position: int,
    ) -> SendVerdict:
        """Decide a message before it is stored (raises when it must not be)."""
        lists = await self.lists.ensure(session)
        scan = lists.filter.scan(body)
        actions = self.actions_for(lists, scan, position)
        by_action: dict[str, list[str]] = {}
        for category, action in actions.items():
            by_action.setdefault(action, []).append(category)
        if "block" in by_action:
            self._count("message", "block", by_action["block"])
            raise ContentBlocked(_ordered(set(by_action["block"])))
        nudges = _ordered(set(by_action.get("nudge", [])))
        if nudges and not confirm:
            self._count("message", "nudge", nudges)
            NUDGES.labels("shown").inc()
            raise ConfirmRequired(nudges)
        standing = await sanctions.standing(session, sender)
        if first:
            await self._may_enter(session, sender, standing)
        if standing.limited:
            s = self.settings
            wait = await self.bucket.take(
                f"sanctioned:{sender}",
                s.moderation_limited_send_rate_per_s,
                s.moderation_limited_send_burst,
            )
            if wait:
                raise RateLimited("Sending too fast.", retry_after_s=max(1, round(wait)))
        verdict = SendVerdict(body=body, shadowed=standing.shadowed)
        verdict.masked = _ordered(set(by_action.get("mask", [])))
        if verdict.masked:
            verdict.body = lists.filter.mask(body, verdict.masked)
        verdict.flag = _ordered(set(by_action.get("flag", [])))
        verdict.warn = _ordered(set(by_action.get("warn", [])))
        verdict.confirmed = nudges
        if nudges:
            NUDGES.labels("confirmed").inc()
        for action in ("mask", "flag", "warn", "nudge"):
            if action in by_action:
                self._count(
                    "message", "confirmed" if action == "nudge" else action, by_action[action]
                )
        return verdict

    async def _may_enter(
        self, session: AsyncSession, sender: uuid.UUID, standing: sanctions.Standing
    ) -> None:
        """A user's first message in a conversation: muted users may not; everyone else
        within the limits of their trust tier."""
        if standing.muted:
            until = (
                f" until {standing.expires_at:%Y-%m-%d %H:%M} UTC" if standing.expires_at else ""
            )
            raise Forbidden(f"You can't start new chats{until}.", code="muted")
        tier = await self.tier(session, sender, standing)
        s = self.settings
        per_day = getattr(s, f"trust_{tier}_conversations_per_day")
        per_hour = getattr(s, f"trust_{tier}_first_messages_per_hour")
        for key, limit, window, what in (
            (f"trust:day:{sender}", per_day, 86400, "new conversations today"),
            (f"trust:hour:{sender}", per_hour, 3600, "new conversations this hour"),
        ):
            wait = await self.limiter.hit(key, limit, window)
            if wait:
                TRUST_REFUSALS.labels("day" if window == 86400 else "hour").inc()
                raise RateLimited(
                    f"Too many {what} for a {tier} account; try again in {wait} s.",
                    retry_after_s=wait,
                    code="trust_limit",
                )

    async def tier(
        self, session: AsyncSession, user_id: uuid.UUID, standing: sanctions.Standing
    ) -> str:
        """``new``, ``established`` or ``verified`` (a rate-limited user counts as new)."""
        user = await accounts.get_user(session, user_id)
        if user is None or standing.limited:
            return "new"
        if user.verified_at is not None:
            return "verified"
        age = clock.now() - user.created_at
        if age < timedelta(days=self.settings.trust_new_account_days):
            return "new"
        return "established"

    async def after_send(
        self,
        session: AsyncSession,
        message: dict[str, Any],
        verdict: SendVerdict,
        recipients: list[str],
    ) -> None:
        """Once a remarkable message is stored: the recipient's "Does this bother you?"
        prompt, the review queue, and a record of what moderation did."""
        sender = uuid.UUID(message["sender_id"])
        conversation_id = uuid.UUID(message["conversation_id"])
        shown = _ordered(set(verdict.flag) | set(verdict.warn) | set(verdict.confirmed))
        others = [r for r in recipients if r != message["sender_id"]]
        if shown and others and not verdict.shadowed:
            emit(
                session,
                "safety.warning",
                {
                    "recipients": others,
                    "payload": {
                        "conversation_id": message["conversation_id"],
                        "message_id": message["id"],
                        "flags": ai_flags(set(shown)),
                        "categories": shown,
                        "prompt": "does_this_bother_you",
                    },
                },
            )
        if verdict.flag:
            top = verdict.flag[0]
            await review.flag_for_review(
                session,
                sender,
                f"auto:{top}",
                f"Automatic flags: {', '.join(verdict.flag)}",
                [message],
                priority=max(CATEGORIES[c].review_priority for c in verdict.flag),
                conversation_id=conversation_id,
            )
        actions = [
            name
            for name, on in (
                ("masked", verdict.masked),
                ("flagged", verdict.flag),
                ("warned", verdict.warn),
                ("confirmed", verdict.confirmed),
                ("shadowed", verdict.shadowed),
            )
            if on
        ]
        await repo.add_moderated(
            session,
            ModeratedMessage(
                message_id=uuid.UUID(message["id"]),
                conversation_id=conversation_id,
                sender_id=sender,
                actions=actions,
                categories=_ordered(
                    set(verdict.flag)
                    | set(verdict.warn)
                    | set(verdict.confirmed)
                    | set(verdict.masked)
                ),
            ),
        )

    # -- profile text -----------------------------------------------------------------------

    async def screen_profile(
        self, session: AsyncSession, user_id: uuid.UUID, fields: dict[str, str]
    ) -> dict[str, str]:
        """Screen what a user writes on their profile (display name, bio, city, free
        interests). Block and nudge refuse the change (there is no "send anyway" for a
        profile); contact identifiers are always refused; mask rewrites; flag saves it and
        queues the profile for review."""
        lists = await self.lists.ensure(session)
        out = dict(fields)
        refused: set[str] = set()
        flagged: set[str] = set()
        for name, text in fields.items():
            scan = lists.filter.scan(text)
            actions = self.actions_for(lists, scan, None)
            refused |= {c for c, a in actions.items() if a in ("block", "nudge")}
            masked = [c for c, a in actions.items() if a == "mask"]
            if masked:
                out[name] = lists.filter.mask(text, masked)
            flagged |= {c for c, a in actions.items() if a == "flag"}
        if refused:
            self._count("profile", "block", list(refused))
            raise ContentBlocked(
                _ordered(refused), "Your profile can't say that on Rapport; please change it."
            )
        if flagged:
            self._count("profile", "flag", list(flagged))
            ordered = _ordered(flagged)
            await review.flag_for_review(
                session,
                user_id,
                f"auto:{ordered[0]}",
                f"Profile text flagged: {', '.join(ordered)}",
                [],
                priority=max(CATEGORIES[c].review_priority for c in ordered),
                extra={"profile": out},
            )
        return out

    @staticmethod
    def _count(surface: str, action: str, categories: list[str]) -> None:
        for category in categories:
            DECISIONS.labels(surface, action, category).inc()


def of(session: AsyncSession) -> Moderation:
    """The node's moderation, from the session (set by ``build_runtime``); a default one,
    built from settings, when the session's factory has none (scripts, bare sessions)."""
    found = session.info.get("moderation")
    if isinstance(found, Moderation):
        return found
    if not _default:
        from rapport.config import get_settings

        _default.append(Moderation(get_settings()))
    return _default[0]


_default: list[Moderation] = []

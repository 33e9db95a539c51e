"""Filter categories: what each one means, its default action and the AI flag it raises.

Actions, from the strongest:

- ``block``: the text is refused (``content_blocked``); nothing is stored.
- ``nudge``: "Are you sure?" — refused with ``confirm_required`` unless the sender resends it
  with ``confirm: true``; then it is delivered and the recipient is asked "Does this bother
  you?".
- ``mask``: delivered with the matched words replaced by ``*``.
- ``flag``: delivered; queued for moderator review, and the recipient is asked "Does this
  bother you?".
- ``warn``: delivered; only the recipient's "Does this bother you?" prompt.
- ``none``: nothing for the message itself; the hit only feeds the conversation risk score.

Admins may change a category's action at runtime (``PUT /api/v1/admin/moderation/categories/
{category}``). ``contact`` is special: an identifier (phone, WeChat or QQ id, email, link…)
follows the contact policy in settings unless an admin set an explicit action; a mere
mention ("加微信吗") is ``warn``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Action = Literal["block", "nudge", "mask", "flag", "warn", "none"]
ACTIONS: tuple[Action, ...] = ("block", "nudge", "mask", "flag", "warn", "none")
ALLOW = "allow"  # the pseudo-category of allowlisted phrases


@dataclass(frozen=True)
class Category:
    name: str
    label: str
    label_zh: str
    default_action: Action
    ai_flag: str | None = None  # the assistant's warning flag for this category
    review_priority: int = 0  # 1 = urgent in the moderation queue


CATEGORIES: dict[str, Category] = {
    c.name: c
    for c in (
        Category(
            "abuse", "Insulting or harassing language", "侮辱或骚扰性言语", "nudge", "harassment"
        ),
        Category("sexual", "Sexual content", "性相关内容", "nudge", "sexual"),
        Category("violence", "Threats of violence", "暴力威胁", "block", "harassment"),
        Category("scam", "Scam or investment lure", "诈骗或投资诱导", "flag", "scam", 1),
        Category("minors", "Someone may be under 18", "可能涉及未成年人", "flag", "minor_risk", 1),
        Category(
            "contact", "Moving off Rapport", "引导到站外联系", "block", "off_platform_contact"
        ),
        Category("self_harm", "Self-harm", "自我伤害", "flag", "self_harm", 1),
        Category("money", "Asking for money", "索要钱财", "warn", "money_request"),
        # Risk signals only: weighed over a whole conversation (moderation.risk).
        Category("finance", "Investment or crypto talk", "投资或加密货币话题", "none"),
        Category("romance", "Early declarations of love", "过早的示爱", "none"),
        Category("urgency", "Pressure and urgency", "催促和施压", "none"),
    )
}

AI_FLAG_ORDER = (
    "minor_risk",
    "self_harm",
    "harassment",
    "sexual",
    "scam",
    "money_request",
    "off_platform_contact",
)


def ai_flags(categories: set[str] | frozenset[str]) -> list[str]:
    """The assistant's warning flags for these categories, most severe first."""
    flags = {CATEGORIES[c].ai_flag for c in categories if c in CATEGORIES}
    return [f for f in AI_FLAG_ORDER if f in flags]

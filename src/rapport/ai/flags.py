"""Warning flags of the local assistant: the moderation word filter's categories, renamed.

One detector serves both the assistant and moderation (rapport.moderation.filter): the flags
here are the filter's hits mapped onto the assistant's vocabulary (``harassment`` for abuse
and threats, ``minor_risk`` for minors, ``off_platform_contact`` for contact…), so a word an
admin adds to a list shows up in both.
"""

from __future__ import annotations

from rapport.moderation.categories import AI_FLAG_ORDER, ai_flags
from rapport.moderation.lists import active_filter

ORDER = AI_FLAG_ORDER


def detect(text: str) -> list[str]:
    """The warning flags raised by one message, most severe first."""
    return ai_flags(active_filter().scan(text).categories)

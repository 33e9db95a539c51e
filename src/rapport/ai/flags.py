"""Warning flags from lexicons and patterns (src/rapport/ai/data/flags.json).

Terms are matched on normalised text (full-width folded, case-folded) and, for longer terms,
also with separators removed, so 'w.e.c.h.a.t' and '微 信' are caught; patterns catch phone
numbers, handles, links and ages.
"""

from __future__ import annotations

from rapport.ai.lexicons import flag_rules
from rapport.ai.text import normalise, squeeze

ORDER = (
    "minor_risk",
    "self_harm",
    "harassment",
    "sexual",
    "scam",
    "money_request",
    "off_platform_contact",
)


def detect(text: str) -> list[str]:
    """The warning flags raised by one message, most severe first."""
    rules = flag_rules()
    plain, tight = normalise(text), squeeze(text)
    hit: set[str] = set()
    for automaton, haystack in ((rules.plain_automaton, plain), (rules.squeezed_automaton, tight)):
        if len(automaton):
            for _, flags in automaton.iter(haystack):
                hit |= flags
    for flag in ORDER:
        if flag not in hit and any(
            p.search(plain) or p.search(tight) for p in rules.patterns.get(flag, ())
        ):
            hit.add(flag)
    return [flag for flag in ORDER if flag in hit]

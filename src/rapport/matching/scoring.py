"""Compatibility score: shared interests weighted by rarity, mutual preference fit, language
overlap, recent activity and closeness. Pure functions; docs/subsystems/matching.md explains it."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

WEIGHTS = {
    "interests": 0.45,
    "preference": 0.15,
    "language": 0.15,
    "activity": 0.15,
    "distance": 0.10,
}
UNKNOWN_DISTANCE = 0.3


@dataclass(frozen=True)
class Side:
    """What scoring needs to know about one person."""

    age: int
    age_min: int
    age_max: int
    interests: Sequence[str]
    languages: Sequence[str]


@dataclass(frozen=True)
class Score:
    total: float
    parts: dict[str, float]
    shared: list[str]


def idf(df: int, n: int) -> float:
    """Rarity weight of a tag carried by ``df`` of ``n`` profiles (rarer weighs more)."""
    return math.log((n + 1) / (df + 1)) + 1.0


def interest_part(
    a: Sequence[str], b: Sequence[str], freq: Mapping[str, int], n: int
) -> tuple[float, list[str]]:
    """Weighted overlap coefficient: rarity mass of shared tags over the smaller side's mass."""
    if not a or not b:
        return 0.0, []
    shared = sorted(set(a) & set(b), key=lambda t: (freq.get(t, 0), t))
    mass_a = sum(idf(freq.get(t, 0), n) for t in set(a))
    mass_b = sum(idf(freq.get(t, 0), n) for t in set(b))
    mass_shared = sum(idf(freq.get(t, 0), n) for t in shared)
    return min(1.0, mass_shared / min(mass_a, mass_b)), shared


def fit(age: int, lo: int, hi: int) -> float:
    """1 at the centre of someone's preferred age range, falling to 0.5 at its edges."""
    mid, half = (lo + hi) / 2, max((hi - lo) / 2, 1.0)
    return max(0.0, 1.0 - 0.5 * min(1.0, abs(age - mid) / half))


def language_part(a: Sequence[str], b: Sequence[str]) -> float:
    if not a or not b:
        return 0.0
    return len(set(a) & set(b)) / min(len(set(a)), len(set(b)))


def activity_part(last_active: datetime, now: datetime) -> float:
    days = max(0.0, (now - last_active).total_seconds() / 86400)
    return math.exp(-days / 7)


def distance_part(km: float | None, max_km: float) -> float:
    if km is None:
        return UNKNOWN_DISTANCE
    return max(0.0, 1.0 - km / max(max_km, 1.0))


def score(
    viewer: Side,
    other: Side,
    *,
    freq: Mapping[str, int],
    n: int,
    last_active: datetime,
    now: datetime,
    km: float | None,
    max_km: float,
) -> Score:
    interests, shared = interest_part(viewer.interests, other.interests, freq, n)
    parts = {
        "interests": interests,
        "preference": (
            fit(other.age, viewer.age_min, viewer.age_max)
            + fit(viewer.age, other.age_min, other.age_max)
        )
        / 2,
        "language": language_part(viewer.languages, other.languages),
        "activity": activity_part(last_active, now),
        "distance": distance_part(km, max_km),
    }
    total = 100 * sum(WEIGHTS[k] * v for k, v in parts.items())
    return Score(
        total=round(total, 2), parts={k: round(v, 3) for k, v in parts.items()}, shared=shared
    )

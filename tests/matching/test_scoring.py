from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rapport.matching import scoring

NOW = datetime(2026, 11, 25, tzinfo=UTC)


def side(interests: list[str], langs: list[str] | None = None, age: int = 30) -> scoring.Side:
    return scoring.Side(
        age=age, age_min=25, age_max=35, interests=interests, languages=langs or ["en"]
    )


def run(a: scoring.Side, b: scoring.Side, freq: dict[str, int], **kw: object) -> scoring.Score:
    args: dict[str, object] = {
        "freq": freq,
        "n": 1000,
        "last_active": NOW,
        "now": NOW,
        "km": 3.0,
        "max_km": 100,
    }
    args.update(kw)
    return scoring.score(a, b, **args)  # type: ignore[arg-type]


def test_rare_shared_interest_outweighs_common_one() -> None:
    freq = {"common": 900, "rare": 5, "x": 100, "y": 100}
    rare = run(side(["rare", "x"]), side(["rare", "y"]), freq)
    common = run(side(["common", "x"]), side(["common", "y"]), freq)
    assert rare.parts["interests"] > common.parts["interests"]
    assert rare.total > common.total
    assert rare.shared == ["rare"]


def test_parts_are_bounded_and_explain_total() -> None:
    s = run(side(["a", "b"], ["en", "zh"]), side(["a", "b"], ["zh"]), {"a": 1, "b": 1})
    assert all(0 <= v <= 1 for v in s.parts.values())
    assert s.parts["interests"] == 1.0 and s.parts["language"] == 1.0
    expected = 100 * sum(scoring.WEIGHTS[k] * v for k, v in s.parts.items())
    assert abs(s.total - expected) < 0.05


def test_activity_and_distance_decay() -> None:
    fresh = run(side(["a"]), side(["a"]), {"a": 1})
    stale = run(side(["a"]), side(["a"]), {"a": 1}, last_active=NOW - timedelta(days=30), km=90.0)
    assert stale.parts["activity"] < 0.02 and stale.parts["distance"] < 0.2
    assert fresh.total > stale.total


def test_no_interests_scores_zero_interest_part() -> None:
    assert run(side([]), side(["a"]), {"a": 1}).parts["interests"] == 0.0

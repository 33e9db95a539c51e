"""Regression guard on the labelled set: quality must not silently drop (no timing here)."""

from __future__ import annotations

from bench.ai_eval import evaluate, load


def test_local_provider_quality_on_the_labelled_set() -> None:
    rows = load()
    assert len(rows) >= 200
    assert {r["lang"] for r in rows} == {"zh", "en"}
    report = evaluate(rows, repeats=1)
    assert report["sentiment_accuracy"]["all"] >= 0.75
    for flag, m in report["flags"].items():
        assert m["support"] >= 10, flag
        assert m["recall"] >= 0.9 and m["precision"] >= 0.9, (flag, m)

"""Regression guards: the filter's quality on the labelled corpus must not drop below the
floors documented in docs/moderation.md, and the benchmark must run."""

from __future__ import annotations

from bench import filter as filter_bench
from bench.moderation_eval import CATEGORIES, evaluate, load

PRECISION_FLOOR = 0.9
RECALL_FLOOR = 0.9


def test_precision_and_recall_per_category() -> None:
    rows = load()
    assert len(rows) >= 300
    assert {r["lang"] for r in rows} == {"zh", "en"}
    report = evaluate(rows)
    for category in CATEGORIES:
        m = report["categories"][category]
        assert m["support"] >= 10, category
        assert m["precision"] >= PRECISION_FLOOR, (category, m)
        assert m["recall"] >= RECALL_FLOOR, (category, m)
    assert report["benign_flagged"] <= 2


def test_filter_benchmark_runs() -> None:
    report = filter_bench.run(n_texts=10, rounds=1)
    assert report["extra_words"] == 10_000
    for row in (
        "with_extra_words",
        "shipped_only",
        "dense_with_extra_words",
        "short_with_extra_words",
    ):
        assert report[row]["samples"] == 10
        # A loose ceiling (the documented p99 is far lower): a regression by an order of
        # magnitude fails here even on a busy machine.
        assert report[row]["p50_ms"] < 10, (row, report[row])

"""Evaluate the local AI provider on the labelled zh + en set (tests/data/ai_eval.jsonl):
sentiment accuracy, per-flag precision and recall, and analysis latency.

    .venv/bin/python -m bench.ai_eval            # prints a table, writes bench/results/ai_eval.json
    .venv/bin/python -m bench.ai_eval --docs     # also refreshes the table in docs/ai.md
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from rapport.ai.providers.local import analyze
from rapport.ai.text import warm_up

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "ai_eval.jsonl"
FLAGS = (
    "harassment",
    "sexual",
    "scam",
    "money_request",
    "off_platform_contact",
    "self_harm",
    "minor_risk",
)
BEGIN, END = "<!-- ai-eval:begin -->", "<!-- ai-eval:end -->"


def load() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line]


def evaluate(rows: list[dict[str, Any]], repeats: int = 20) -> dict[str, Any]:
    warm_up()
    for row in rows:  # warm caches and lazy loads before timing
        analyze(row["text"])
    timings: list[float] = []
    predictions = []
    for _ in range(repeats):
        for row in rows:
            started = time.perf_counter()
            analyze(row["text"])
            timings.append((time.perf_counter() - started) * 1000)
        predictions = [analyze(row["text"]) for row in rows]
    by_lang: dict[str, list[bool]] = {"zh": [], "en": []}
    for row, pred in zip(rows, predictions, strict=True):
        by_lang[row["lang"]].append(pred.sentiment == row["sentiment"])
    flags = {}
    for flag in FLAGS:
        tp = sum(
            1
            for r, p in zip(rows, predictions, strict=True)
            if flag in r["flags"] and flag in p.warning_flags
        )
        fp = sum(
            1
            for r, p in zip(rows, predictions, strict=True)
            if flag not in r["flags"] and flag in p.warning_flags
        )
        fn = sum(
            1
            for r, p in zip(rows, predictions, strict=True)
            if flag in r["flags"] and flag not in p.warning_flags
        )
        flags[flag] = {
            "support": tp + fn,
            "precision": round(tp / (tp + fp), 3) if tp + fp else None,
            "recall": round(tp / (tp + fn), 3) if tp + fn else None,
        }
    timings.sort()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "messages": len(rows),
        "sentiment_accuracy": {
            lang: round(sum(hits) / len(hits), 3) for lang, hits in by_lang.items() if hits
        }
        | {"all": round(sum(sum(h) for h in by_lang.values()) / len(rows), 3)},
        "flags": flags,
        "latency_ms": {
            "p50": round(statistics.median(timings), 3),
            "p99": round(timings[int(len(timings) * 0.99) - 1], 3),
            "max": round(timings[-1], 3),
            "samples": len(timings),
        },
    }


def markdown(report: dict[str, Any]) -> str:
    acc = report["sentiment_accuracy"]
    lat = report["latency_ms"]
    lines = [
        f"Measured {report['date']} on {report['machine']}, {report['messages']} labelled "
        "messages (tests/data/ai_eval.jsonl).",
        "",
        "| sentiment accuracy | zh | en | all |",
        "|---|---|---|---|",
        f"| local provider | {acc.get('zh')} | {acc.get('en')} | {acc['all']} |",
        "",
        "| flag | support | precision | recall |",
        "|---|---|---|---|",
    ]
    for flag, m in report["flags"].items():
        lines.append(f"| {flag} | {m['support']} | {m['precision']} | {m['recall']} |")
    lines += [
        "",
        "| analysis latency (one message) | p50 | p99 | max |",
        "|---|---|---|---|",
        f"| local provider, {lat['samples']} runs | {lat['p50']} ms | {lat['p99']} ms | "
        f"{lat['max']} ms |",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", action="store_true", help="refresh the table in docs/ai.md")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ai_eval.json")
    args = parser.parse_args()
    report = evaluate(load())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    console = Console()
    table = Table(title="Local AI provider")
    table.add_column("metric")
    table.add_column("value")
    for lang, value in report["sentiment_accuracy"].items():
        table.add_row(f"sentiment accuracy ({lang})", str(value))
    for flag, m in report["flags"].items():
        table.add_row(f"{flag} P / R (n={m['support']})", f"{m['precision']} / {m['recall']}")
    table.add_row(
        "analysis p50 / p99 ms", f"{report['latency_ms']['p50']} / {report['latency_ms']['p99']}"
    )
    console.print(table)
    if args.docs:
        doc = ROOT / "docs" / "ai.md"
        text = doc.read_text(encoding="utf-8")
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        doc.write_text(f"{head}{BEGIN}\n{markdown(report)}\n{END}{tail}", encoding="utf-8")


if __name__ == "__main__":
    main()

"""Evaluate the moderation word filter on the labelled zh + en corpus
(tests/data/moderation_corpus.jsonl): precision and recall per category.

    .venv/bin/python -m bench.moderation_eval           # table, bench/results/moderation_eval.json
    .venv/bin/python -m bench.moderation_eval --docs    # also refreshes docs/moderation.md
    .venv/bin/python -m bench.moderation_eval --errors  # also lists every miss and false alarm

A line's prediction is the set of moderation categories the shipped filter raises for it (the
risk-signal categories finance, romance and urgency are not moderation decisions and are not
scored). The corpus was written for Rapport: evasions (加我v信, 扣扣, w.e.c.h.a.t, full width,
homoglyphs, traditional characters, pinyin) and benign near-misses (体操, 死海, "we chat").
"""

from __future__ import annotations

import argparse
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from rapport.moderation.lists import shipped_filter

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "moderation_corpus.jsonl"
OUT = ROOT / "bench" / "results" / "moderation_eval.json"
DOC = ROOT / "docs" / "moderation.md"
CATEGORIES = ("abuse", "sexual", "violence", "scam", "minors", "contact", "self_harm", "money")
BEGIN, END = "<!-- moderation-eval:begin -->", "<!-- moderation-eval:end -->"


def load() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line]


def predict(text: str) -> set[str]:
    return set(shipped_filter().scan_uncached(text).categories) & set(CATEGORIES)


def evaluate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    predictions = [predict(r["text"]) for r in rows]
    per: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    for category in CATEGORIES:
        tp = fp = fn = 0
        for row, pred in zip(rows, predictions, strict=True):
            truth = category in row["labels"]
            said = category in pred
            tp += truth and said
            fp += said and not truth
            fn += truth and not said
            if truth != said:
                kind = "miss" if truth else "false alarm"
                errors.append(
                    {"id": row["id"], "category": category, "kind": kind, "text": row["text"]}
                )
        per[category] = {
            "support": tp + fn,
            "precision": round(tp / (tp + fp), 3) if tp + fp else None,
            "recall": round(tp / (tp + fn), 3) if tp + fn else None,
        }
    clean = [p for r, p in zip(rows, predictions, strict=True) if not r["labels"]]
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "lines": len(rows),
        "languages": {lang: sum(r["lang"] == lang for r in rows) for lang in ("zh", "en")},
        "benign_lines": len(clean),
        "benign_flagged": sum(1 for p in clean if p),
        "categories": per,
        "errors": errors,
    }


def table(report: dict[str, Any]) -> str:
    lines = [
        "| category | support | precision | recall |",
        "|---|---:|---:|---:|",
    ]
    for category, m in report["categories"].items():
        lines.append(f"| {category} | {m['support']} | {m['precision']} | {m['recall']} |")
    lines.append(
        f"\n{report['lines']} lines ({report['languages']['zh']} zh, "
        f"{report['languages']['en']} en); {report['benign_lines']} benign lines, "
        f"{report['benign_flagged']} of them flagged. Measured {report['measured_at']} with "
        "`.venv/bin/python -m bench.moderation_eval --docs`."
    )
    return "\n".join(lines)


def write_docs(report: dict[str, Any]) -> None:
    text = DOC.read_text(encoding="utf-8")
    block = f"{BEGIN}\n{table(report)}\n{END}"
    DOC.write_text(
        re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), block, text, flags=re.S),
        encoding="utf-8",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", action="store_true", help="refresh docs/moderation.md")
    parser.add_argument("--errors", action="store_true", help="list misses and false alarms")
    args = parser.parse_args()
    report = evaluate(load())
    console = Console()
    out = Table(title="Moderation filter on the labelled corpus")
    for column in ("category", "support", "precision", "recall"):
        out.add_column(column)
    for category, m in report["categories"].items():
        out.add_row(category, str(m["support"]), str(m["precision"]), str(m["recall"]))
    console.print(out)
    if args.errors:
        for e in report["errors"]:
            console.print(f"{e['kind']:12} {e['category']:10} {e['id']:16} {e['text']}")
    OUT.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if args.docs:
        write_docs(report)


if __name__ == "__main__":
    main()

"""Benchmark of the moderation word filter: one scan of a 1,000-character text with the
shipped lists plus 10,000 more words loaded.

    .venv/bin/python -m bench.filter            # prints, writes bench/results/filter.json
    .venv/bin/python -m bench.filter --docs     # also refreshes docs/moderation.md

The 10,000 extra words are real vocabulary, so the automaton has a realistic shape: 5,000
Chinese words from jieba's dictionary (by frequency rank, skipping the 20,000 most common)
and 5,000 English entries of the VADER lexicon plus two-word phrases of them. The texts are
built from the two labelled corpora (chat lines in Chinese and English, offensive ones
included) joined until 1,000 characters, so each text has hits, evasions and emoji. Every
scan is uncached (``scan_uncached``) and timed on its own.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rapport.moderation.filter import FilterSpec, WordFilter
from rapport.moderation.lists import shipped, shipped_filter

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "results" / "filter.json"
DOC = ROOT / "docs" / "moderation.md"
BEGIN, END = "<!-- filter-bench:begin -->", "<!-- filter-bench:end -->"
TEXT_CHARS = 1000
SHORT_CHARS = 200  # a long chat message; most are far shorter


def extra_words(count: int = 10_000) -> list[str]:
    import jieba
    import vaderSentiment

    dict_path = Path(jieba.__file__).with_name("dict.txt")
    rows = [line.split() for line in dict_path.read_text(encoding="utf-8").splitlines()]
    zh = sorted((r for r in rows if len(r) >= 2 and 2 <= len(r[0]) <= 4), key=lambda r: -int(r[1]))
    chinese = [r[0] for r in zh[20_000 : 20_000 + count // 2]]
    lexicon = Path(vaderSentiment.__file__).with_name("vader_lexicon.txt")
    english = [
        line.split("\t")[0]
        for line in lexicon.read_text(encoding="utf-8").splitlines()
        if re.fullmatch(r"[a-z]{3,}", line.split("\t")[0])
    ]
    rng = random.Random(11)  # noqa: S311
    while len(english) < count - len(chinese):
        english.append(f"{rng.choice(english)} {rng.choice(english)}")
    return chinese + english[: count - len(chinese)]


def corpus_lines() -> tuple[list[str], list[str]]:
    """(benign, flagged) chat lines from the two labelled sets."""
    rows: list[dict[str, Any]] = []
    for name in ("ai_eval.jsonl", "moderation_corpus.jsonl"):
        path = ROOT / "tests" / "data" / name
        rows += [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    benign = [r["text"] for r in rows if not r.get("flags") and not r.get("labels")]
    flagged = [r["text"] for r in rows if r.get("flags") or r.get("labels")]
    return benign, flagged


def texts(n: int, dense: bool = False, seed: int = 7, chars: int = TEXT_CHARS) -> list[str]:
    """1,000-character texts of chat lines: one line in twenty flagged (a chat), or every
    line from the offensive set (adversarial)."""
    benign, flagged = corpus_lines()
    rng = random.Random(seed)  # noqa: S311 (a reproducible benchmark, not a secret)
    out = []
    for _ in range(n):
        text = ""
        while len(text) < chars:
            line = rng.choice(flagged) if dense or rng.random() < 0.05 else rng.choice(benign)
            text += line + rng.choice([" ", "。", "! ", "😊 "])
        out.append(text[:chars])
    return out


def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def measure(flt: WordFilter, samples: list[str], rounds: int) -> dict[str, float]:
    for text in samples:
        flt.scan_uncached(text)  # warm caches
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(rounds):
        for text in samples:
            started, started_cpu = time.perf_counter_ns(), time.thread_time_ns()
            flt.scan_uncached(text)
            cpu.append((time.thread_time_ns() - started_cpu) / 1e6)
            wall.append((time.perf_counter_ns() - started) / 1e6)
    wall.sort()
    cpu.sort()
    return {
        "samples": len(wall),
        "p50_ms": round(percentile(wall, 0.50), 4),
        "p95_ms": round(percentile(wall, 0.95), 4),
        "p99_ms": round(percentile(wall, 0.99), 4),
        "max_ms": round(wall[-1], 4),
        "mean_ms": round(statistics.fmean(wall), 4),
        "cpu_p50_ms": round(percentile(cpu, 0.50), 4),
        "cpu_p99_ms": round(percentile(cpu, 0.99), 4),
    }


def run(n_texts: int = 300, rounds: int = 20) -> dict[str, Any]:
    base = shipped()
    words = extra_words()
    started = time.perf_counter()
    terms = {c: set(t) for c, t in base.terms.items()}
    terms["abuse"] |= set(words)
    loaded = WordFilter(
        FilterSpec({c: frozenset(t) for c, t in terms.items()}, base.allow, base.patterns)
    )
    build_s = time.perf_counter() - started
    typical, dense = texts(n_texts), texts(n_texts, dense=True)
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "load_average_1m": round(os.getloadavg()[0], 2),
        "text_chars": TEXT_CHARS,
        "texts": n_texts,
        "shipped_terms": base_terms(base),
        "extra_words": len(words),
        "build_s_with_extra_words": round(build_s, 3),
        "hits_per_text": round(hits_per(loaded, typical), 1),
        "hits_per_dense_text": round(hits_per(loaded, dense), 1),
        "with_extra_words": measure(loaded, typical, rounds),
        "shipped_only": measure(shipped_filter(), typical, rounds),
        "dense_with_extra_words": measure(loaded, dense, rounds),
        "short_with_extra_words": measure(loaded, texts(n_texts, chars=SHORT_CHARS), rounds),
    }


def hits_per(flt: WordFilter, samples: list[str]) -> float:
    return sum(len(flt.scan_uncached(t).hits) for t in samples) / len(samples)


def base_terms(base: Any) -> int:
    return sum(len(t) for t in base.terms.values())


def table(r: dict[str, Any]) -> str:
    rows = [
        (
            f"shipped ({r['shipped_terms']} terms) + {r['extra_words']:,} words",
            "chat",
            r["with_extra_words"],
        ),
        ("shipped only", "chat", r["shipped_only"]),
        (f"shipped + {r['extra_words']:,} words", "adversarial", r["dense_with_extra_words"]),
        (
            f"shipped + {r['extra_words']:,} words",
            f"chat, {SHORT_CHARS} characters",
            r["short_with_extra_words"],
        ),
    ]
    lines = [
        "| lists loaded | texts | p50 ms | p95 ms | p99 ms | max ms | CPU p50 / p99 ms |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, kind, m in rows:
        lines.append(
            f"| {name} | {kind} | {m['p50_ms']} | {m['p95_ms']} | {m['p99_ms']} | "
            f"{m['max_ms']} | {m['cpu_p50_ms']} / {m['cpu_p99_ms']} |"
        )
    lines += [
        "",
        f"{r['with_extra_words']['samples']} scans per row of {r['texts']} different "
        f"{r['text_chars']}-character texts: *chat* texts (one line in twenty from the "
        f"offensive set) average {r['hits_per_text']} hits, "
        f"*adversarial* ones (the moderation corpus, mostly offensive) "
        f"{r['hits_per_dense_text']}. Building the filter with the extra words took "
        f"{r['build_s_with_extra_words']} s (in a worker thread on a live node). "
        f"{r['machine']}, load average {r['load_average_1m']} while measuring (other "
        "work shared the two cores: wall times include being descheduled, CPU times do "
        f"not); measured {r['measured_at']} with "
        "`.venv/bin/python -m bench.filter --docs`.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", action="store_true")
    parser.add_argument("--texts", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    report = run(args.texts, args.rounds)
    print(json.dumps(report, indent=2))
    OUT.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if args.docs:
        text = DOC.read_text(encoding="utf-8")
        block = f"{BEGIN}\n{table(report)}\n{END}"
        DOC.write_text(
            re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), block, text, flags=re.S),
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()

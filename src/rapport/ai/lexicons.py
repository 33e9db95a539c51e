"""Data files of the local AI (src/rapport/ai/data), loaded once."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).with_name("data")


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class ZhLexicon:
    words: dict[str, float]
    negations: frozenset[str]
    degree: dict[str, float]
    emoji: dict[str, float]
    emoji_re: re.Pattern[str]
    emotions: dict[str, str]  # word -> emotion


@lru_cache(maxsize=1)
def zh_lexicon() -> ZhLexicon:
    raw = load("lexicon_zh.json")
    emoji = {k: float(v) for k, v in raw["emoji"].items()}
    keys = sorted(emoji, key=len, reverse=True)
    return ZhLexicon(
        words={k: float(v) for k, v in raw["words"].items()},
        negations=frozenset(raw["negations"]),
        degree={k: float(v) for k, v in raw["degree"].items()},
        emoji=emoji,
        emoji_re=re.compile("|".join(re.escape(k) for k in keys)),
        emotions={w: emotion for emotion, words in raw["emotions"].items() for w in words},
    )


@lru_cache(maxsize=1)
def en_extra() -> tuple[dict[str, float], dict[str, str]]:
    raw = load("lexicon_en_extra.json")
    emotions = {w.lower(): e for e, words in raw["emotions"].items() for w in words}
    return {k.lower(): float(v) for k, v in raw["words"].items()}, emotions

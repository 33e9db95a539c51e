"""Data files of the local AI (src/rapport/ai/data), loaded once."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import ahocorasick

from rapport.ai.text import normalise

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


@dataclass(frozen=True)
class FlagRules:
    terms: dict[str, tuple[str, ...]]  # flag -> normalised terms (both languages)
    squeezed: dict[str, tuple[str, ...]]  # flag -> terms without separators (evasion check)
    patterns: dict[str, tuple[re.Pattern[str], ...]]
    plain_automaton: Any  # Aho-Corasick over ``terms`` -> set of flags
    squeezed_automaton: Any  # Aho-Corasick over ``squeezed`` -> set of flags


@lru_cache(maxsize=1)
def flag_rules() -> FlagRules:
    raw: dict[str, dict[str, list[str]]] = load("flags.json")
    terms: dict[str, tuple[str, ...]] = {}
    squeezed: dict[str, tuple[str, ...]] = {}
    patterns: dict[str, tuple[re.Pattern[str], ...]] = {}
    for flag, spec in raw.items():
        words = {normalise(t) for lang in ("zh", "en") for t in spec.get(lang, []) if t.strip()}
        terms[flag] = tuple(sorted(words))
        # Only longer terms are matched with separators removed: short ones would collide.
        squeezed[flag] = tuple(sorted({w.replace(" ", "") for w in words if len(w) >= 4}))
        patterns[flag] = tuple(re.compile(p, re.IGNORECASE) for p in spec.get("patterns", []))
    return FlagRules(terms, squeezed, patterns, _automaton(terms), _automaton(squeezed))


def _automaton(by_flag: dict[str, tuple[str, ...]]) -> Any:
    """One Aho-Corasick automaton for every term of every flag: a single pass over the text."""
    automaton = ahocorasick.Automaton()
    owners: dict[str, set[str]] = {}
    for flag, terms in by_flag.items():
        for term in terms:
            owners.setdefault(term, set()).add(flag)
    for term, flags in owners.items():
        automaton.add_word(term, frozenset(flags))
    if owners:
        automaton.make_automaton()
    return automaton

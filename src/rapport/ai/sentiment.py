"""Lexicon sentiment, Chinese and English, with negation, degree words and emoji.

English: VADER (Hutto & Gilbert 2014) extended with a dating-chat lexicon. Chinese: the
project's lexicon (src/rapport/ai/data/lexicon_zh.json, method in its "source" field) scored
over jieba tokens: a word's polarity is multiplied by degree words and flipped (damped) by
negations in the three tokens before it; clauses after 但是/不过/可是 weigh more; emoji add
their own polarity. The sum is squashed into -1..1 like VADER's compound score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from rapport.ai.lexicons import en_extra, zh_lexicon
from rapport.ai.text import tokens

CONTRAST = frozenset({"但是", "但", "不过", "可是", "然而", "只是"})
NEGATION_DAMP = -0.75
THRESHOLD = 0.15


@dataclass(frozen=True)
class Polarity:
    score: float  # -1..1
    label: str  # positive | neutral | negative
    confidence: float  # 0..1
    emotions: tuple[str, ...]


@lru_cache(maxsize=1)
def _vader() -> SentimentIntensityAnalyzer:
    analyzer = SentimentIntensityAnalyzer()
    words, _ = en_extra()
    analyzer.lexicon.update(words)
    return analyzer


def _label(score: float, threshold: float) -> str:
    if score >= threshold:
        return "positive"
    if score <= -threshold:
        return "negative"
    return "neutral"


def _confidence(score: float, hits: int) -> float:
    if hits == 0:
        return 0.55  # nothing emotional found: a fairly safe "neutral"
    return round(min(0.95, 0.45 + 0.35 * abs(score) + 0.05 * min(hits, 3)), 3)


def english(text: str) -> Polarity:
    compound = float(_vader().polarity_scores(text)["compound"])
    _, emotion_words = en_extra()
    toks = tokens(text)
    emotions = tuple(sorted({emotion_words[t] for t in toks if t in emotion_words}))
    hits = sum(1 for t in toks if t in _vader().lexicon)
    return Polarity(
        round(compound, 4), _label(compound, 0.05), _confidence(compound, hits), emotions
    )


def chinese(text: str) -> Polarity:
    lex = zh_lexicon()
    toks = tokens(text)
    total, hits = 0.0, 0
    weight = 1.0
    emotions: set[str] = set()
    for i, tok in enumerate(toks):
        if tok in CONTRAST:
            total *= 0.6
            weight = 1.5
            continue
        value = lex.words.get(tok)
        if tok in lex.emotions:
            emotions.add(lex.emotions[tok])
        if value is None:
            continue
        hits += 1
        for prev in toks[max(0, i - 3) : i]:
            if prev in lex.degree:
                value *= lex.degree[prev]
            elif prev in lex.negations:
                value *= NEGATION_DAMP
        total += value * weight
    for emoji in lex.emoji_re.findall(text):
        total += lex.emoji[emoji]
        hits += 1
    total += 0.3 * text.count("!") * (1 if total >= 0 else -1) if total else 0.0
    score = total / math.sqrt(total * total + 15) if total else 0.0
    return Polarity(
        round(score, 4), _label(score, THRESHOLD), _confidence(score, hits), tuple(sorted(emotions))
    )


def polarity(text: str, language: str) -> Polarity:
    """Sentiment of one message in its language ('zh' or 'en')."""
    return chinese(text) if language == "zh" else english(text)
